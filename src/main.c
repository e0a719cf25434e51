/*
 * main.c - the command line: options (popt), the command, and the hand-off
 * to session.c. Exit codes: exitcode.h and the man page.
 */
#include "config.h"

#include <popt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exclude.h"
#include "exitcode.h"
#include "hash.h"
#include "log.h"
#include "opts.h"
#include "remote.h"
#include "report.h"
#include "rsx.h"
#include "session.h"

enum {
	O_EXCLUDE = 1, O_EXCLUDE_FROM, O_NO_HISTORY, O_STATS, O_PROGRESS, O_HELP, O_VERSION,
	O_SERVER, O_VERBOSE, O_QUIET, O_DRY, O_CHECKSUM, O_ITEMIZE, O_RSH, O_REMOTE_CMD,
};

static const char usage_text[] =
	"Usage: shelter backup [OPTIONS] SRC DEST\n"
	"       shelter --help | --version\n"
	"\n"
	"Make DEST an exact mirror of the directory SRC; what a pass replaces or\n"
	"deletes in DEST is kept under DEST/.shelter/history/. Either SRC or DEST\n"
	"(not both) may be remote, as [user@]host:path, reached over ssh.\n"
	"\n"
	"Backup options:\n"
	"  -n, --dry-run            show what would change, change nothing\n"
	"  -c, --checksum           compare files by XXH3-128, not size and mtime\n"
	"  -i, --itemize-changes    one line per change, rsync-style codes\n"
	"  -v, --verbose            list changed paths; -vv adds detail\n"
	"  -q, --quiet              print errors only\n"
	"      --exclude=PATTERN    exclude paths matching PATTERN (repeatable)\n"
	"      --exclude-from=FILE  read exclude patterns from FILE (- for stdin)\n"
	"      --no-history         do not keep replaced or deleted files\n"
	"      --stats              print transfer statistics at the end\n"
	"      --progress           show progress on stderr (terminals only)\n"
	"  -e, --rsh=COMMAND        run COMMAND instead of ssh to reach the remote side\n"
	"      --remote-cmd=PATH    the shelter binary on the remote side (default: shelter)\n"
	"  -h, --help               show this help\n"
	"  -V, --version            show the version\n"
	"\n"
	"Exit codes: 0 ok, 1 usage, 2 protocol version, 3 bad SRC/DEST, 10 connection,\n"
	"11 destination I/O, 12 protocol data, 20 signal, 23 partial, 24 vanished,\n"
	"70 internal error. See shelter(1).\n";

static int is_remote(const char *arg)
{
	char *host, *path;

	if (!remote_parse(arg, &host, &path))
		return 0;
	free(host);
	free(path);
	return 1;
}

static void opts_release(struct opts *o)
{
	exclude_free(o->excludes);
	free((void *)o->rsh);
	free((void *)o->remote_cmd);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "shelter: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'shelter --help' for more information.\n");
	return EXIT_USAGE;
}

int main(int argc, const char **argv)
{
	struct opts o;
	const char *arg = NULL;
	int server = 0, rc, verbose_n = 0, quiet = 0, bad = 0;
	const char **rest;
	int nrest = 0;
	struct poptOption table[] = {
		{ "dry-run", 'n', POPT_ARG_NONE, NULL, O_DRY, NULL, NULL },
		{ "checksum", 'c', POPT_ARG_NONE, NULL, O_CHECKSUM, NULL, NULL },
		{ "itemize-changes", 'i', POPT_ARG_NONE, NULL, O_ITEMIZE, NULL, NULL },
		{ "verbose", 'v', POPT_ARG_NONE, NULL, O_VERBOSE, NULL, NULL },
		{ "quiet", 'q', POPT_ARG_NONE, NULL, O_QUIET, NULL, NULL },
		{ "exclude", 0, POPT_ARG_STRING, &arg, O_EXCLUDE, NULL, NULL },
		{ "exclude-from", 0, POPT_ARG_STRING, &arg, O_EXCLUDE_FROM, NULL, NULL },
		{ "no-history", 0, POPT_ARG_NONE, NULL, O_NO_HISTORY, NULL, NULL },
		{ "stats", 0, POPT_ARG_NONE, NULL, O_STATS, NULL, NULL },
		{ "progress", 0, POPT_ARG_NONE, NULL, O_PROGRESS, NULL, NULL },
		{ "rsh", 'e', POPT_ARG_STRING, &arg, O_RSH, NULL, NULL },
		{ "remote-cmd", 0, POPT_ARG_STRING, &arg, O_REMOTE_CMD, NULL, NULL },
		{ "help", 'h', POPT_ARG_NONE, NULL, O_HELP, NULL, NULL },
		{ "version", 'V', POPT_ARG_NONE, NULL, O_VERSION, NULL, NULL },
		{ "server", 0, POPT_ARG_NONE | POPT_ARGFLAG_DOC_HIDDEN, NULL, O_SERVER, NULL, NULL },
		POPT_TABLEEND
	};
	poptContext pc;

	memset(&o, 0, sizeof(o));
	o.excludes = exclude_new();
	rsx_setup();
	pc = poptGetContext("shelter", argc, argv, table, 0);
	while ((rc = poptGetNextOpt(pc)) > 0) {
		switch (rc) {
		case O_DRY: o.flags |= OPT_DRY_RUN; break;
		case O_CHECKSUM: o.flags |= OPT_CHECKSUM; break;
		case O_ITEMIZE: o.flags |= OPT_ITEMIZE; break;
		case O_VERBOSE: verbose_n++; break;
		case O_QUIET: quiet = 1; break;
		case O_NO_HISTORY: o.flags |= OPT_NO_HISTORY; break;
		case O_STATS: o.stats = 1; break;
		case O_PROGRESS: o.progress = 1; break;
		case O_SERVER: server = 1; break;
		case O_RSH:
			free((void *)o.rsh);
			o.rsh = arg;
			arg = NULL;
			break;
		case O_REMOTE_CMD:
			free((void *)o.remote_cmd);
			o.remote_cmd = arg;
			arg = NULL;
			break;
		case O_EXCLUDE:
		case O_EXCLUDE_FROM:
			if (rc == O_EXCLUDE ? exclude_add(o.excludes, arg)
					    : exclude_add_file(o.excludes, arg))
				bad = 1;
			/* popt hands over a copy of each string argument. */
			free((void *)arg);
			arg = NULL;
			break;
		case O_HELP:
			fputs(usage_text, stdout);
			poptFreeContext(pc);
			opts_release(&o);
			return EXIT_OK;
		case O_VERSION:
			printf("shelter %s (protocol 1; %s, xxHash %s)\n", PACKAGE_VERSION,
			       rsx_lib_version(), hash_lib_version());
			poptFreeContext(pc);
			opts_release(&o);
			return EXIT_OK;
		}
	}
	if (rc < -1) {
		fprintf(stderr, "shelter: %s: %s\nTry 'shelter --help' for more information.\n",
			poptBadOption(pc, POPT_BADOPTION_NOALIAS), poptStrerror(rc));
		poptFreeContext(pc);
		opts_release(&o);
		return EXIT_USAGE;
	}
	if (bad) {
		poptFreeContext(pc);
		opts_release(&o);
		return EXIT_USAGE;
	}
	o.verbosity = quiet ? 0 : 1 + verbose_n;
	if (o.verbosity > 3)
		o.verbosity = 3;
	log_verbosity = o.verbosity;
	report_setup(!!(o.flags & OPT_ITEMIZE), o.verbosity);

	rest = poptGetArgs(pc);
	while (rest && rest[nrest])
		nrest++;
	if (server) {
		poptFreeContext(pc);
		opts_release(&o);
		if (nrest)
			return usage_error("--server takes no arguments (got '%s')", rest[0]);
		return server_main(0, 1);
	}
	if (nrest == 0) {
		fputs(usage_text, stderr);
		poptFreeContext(pc);
		opts_release(&o);
		return EXIT_USAGE;
	}
	if (strcmp(rest[0], "backup")) {
		rc = usage_error("unknown command '%s' (this release has: backup)", rest[0]);
	} else if (nrest != 3) {
		rc = usage_error("%s", "backup needs exactly two paths: SRC DEST");
	} else if (is_remote(rest[1]) && is_remote(rest[2])) {
		rc = usage_error("both SRC and DEST are remote ('%s'): one side must be local",
				 rest[1]);
	} else {
		rc = client_backup(&o, rest[1], rest[2]);
	}
	poptFreeContext(pc);
	opts_release(&o);
	return rc;
}
