/* optnum.c - whole-number option values, for every command's options (opts.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

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
