/* optnum.c - whole-number option values, for every command's options (opts.h). */
#include "config.h"

#include <errno.h>
#include <popt.h>
#include <stdio.h>
#include <stdlib.h>

#include "bounds.h"
#include "opts.h"

int parse_number(const char *option, const char *arg, unsigned max, const char *what,
		 unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (!*arg || *end || errno || arg[0] == '-' || v > max) {
		fprintf(stderr, "shelter: %s '%s': not %s up to %u\n"
			"Try 'shelter --help' for more information.\n", option, arg, what, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

int remote_option(struct opts *o, int val, const char **arg)
{
	int rc = 0;

	if (val == 't') {
		rc = parse_number("--timeout", *arg, MAX_TIMEOUT, "a number of seconds", &o->timeout);
		free((void *)*arg);
	} else {
		const char **field = val == 'e' ? &o->rsh : &o->remote_cmd;

		free((void *)*field);
		*field = *arg;
	}
	*arg = NULL;
	return rc;
}

void popt_error(poptContext pc, int rc)
{
	fprintf(stderr, "shelter: %s: %s\nTry 'shelter --help' for more information.\n",
		poptBadOption(pc, POPT_BADOPTION_NOALIAS), poptStrerror(rc));
}
