/*
 * main.c - the command line: options (popt), the command, and the hand-off
 * to session.c. Exit codes: exitcode.h and the man page.
 */
#include "config.h"

#include <errno.h>
#include <popt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "exclude.h"
#include "exitcode.h"
#include "hash.h"
#include "hooks.h"
#include "log.h"
#include "opts.h"
#include "prune.h"
#include "remote.h"
#include "report.h"
#include "restore.h"
#include "verify.h"
#include "retention.h"
#include "rsx.h"
#include "runlog.h"
#include "session.h"
#include "sync.h"

enum {
	O_EXCLUDE = 1, O_EXCLUDE_FROM, O_NO_HISTORY, O_STATS, O_PROGRESS, O_HELP, O_VERSION,
	O_SERVER, O_VERBOSE, O_QUIET, O_DRY, O_CHECKSUM, O_ITEMIZE, O_RSH, O_REMOTE_CMD,
	O_TIMEOUT, O_RESTRICT, O_READ_ONLY, O_STATE, O_RESYNC, O_PREFER, O_MAX_DELETE, O_LOCK_WAIT,
	O_RETRIES, O_RETRY_WAIT,
	/* monitoring */
	O_RUN_LOG, O_PRE, O_POST, O_NOTIFY, O_MAIL_TO, O_MAIL_ON, O_SYSLOG,
	O_KEEP_LAST, O_KEEP_WITHIN, O_KEEP_DAILY, O_KEEP_WEEKLY, O_KEEP_MONTHLY,
};

static const char usage_text[] =
	"Usage: shelter backup [OPTIONS] SRC DEST\n"
	"       shelter sync [OPTIONS] ROOT1 ROOT2\n"
	"       shelter conflicts [OPTIONS] ROOT\n"
	"       shelter versions [--json] DEST[/PATH]\n"
	"       shelter restore [--at=TIME] [--in-place] [-n] [-v] [-e COMMAND]\n"
	"                       [--remote-cmd=PATH] [--timeout=SECONDS] DEST[/PATH] TARGET\n"
	"       shelter status [--max-age=AGE] [--json] [--run-log=FILE] [ROOT...]\n"
	"       shelter verify [-v] [--json] DEST\n"
	"       shelter prune [--keep-last=N] [--keep-within=AGE] [--keep-daily=N]\n"
	"                     [--keep-weekly=N] [--keep-monthly=N] [-n] [-v] DEST\n"
	"       shelter --help | --version\n"
	"\n"
	"backup makes DEST an exact mirror of the directory SRC; what a pass\n"
	"replaces or deletes in DEST is kept under DEST/.shelter/history/.\n"
	"sync brings the changes on either side to the other, keeps both versions\n"
	"of a conflict, and keeps what it replaces or deletes under that root's\n"
	".shelter/history/. conflicts lists the conflict copies under a local ROOT.\n"
	"One side (not both) may be remote, as [user@]host:path, reached over ssh.\n"
	"\n"
	"Options (backup and sync):\n"
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
	"      --timeout=SECONDS    give up when no data moves for SECONDS (default 600,\n"
	"                           0 = never)\n"
	"      --retries=N          run a pass again after a lost connection or a timeout,\n"
	"                           up to N times (default 2; 0 = never)\n"
	"      --retry-wait=SECONDS wait before the first retry, doubled each time (default 10)\n"
	"\n"
	"Monitoring options (backup and sync):\n"
	"      --run-log=FILE       append the run's JSON line to FILE (default\n"
	"                           $XDG_STATE_HOME/shelter/runs.jsonl)\n"
	"      --pre=COMMAND        run COMMAND (sh -c) first; if it fails, stop (exit 18)\n"
	"      --post=COMMAND       run COMMAND after the pass, even a failed one, with\n"
	"                           SHELTER_RESULT, SHELTER_EXIT_CODE... in its environment\n"
	"      --notify=COMMAND     run COMMAND after the pass, with the same environment\n"
	"      --mail-to=ADDR       mail a report to ADDR through sendmail\n"
	"      --mail-on=WHEN       failure (default: any result but ok) or always\n"
	"      --syslog             log the summary and each error to syslog\n"
	"\n"
	"Sync options:\n"
	"      --state=FILE         the pair's state file (default under\n"
	"                           $XDG_STATE_HOME/shelter/)\n"
	"      --resync             forget the state: a first pass, which deletes nothing\n"
	"      --prefer=WHICH       settle conflicts: newer, older, ROOT1 or ROOT2\n"
	"                           (default: keep both, the loser renamed)\n"
	"      --max-delete=PERCENT stop before deleting more than PERCENT of a side's\n"
	"                           files (default 50)\n"
	"      --lock-wait=SECONDS  wait this long for another sync of the pair (default 0)\n"
	"\n"
	"  -h, --help               show this help\n"
	"  -V, --version            show the version\n"
	"\n"
	"Versions options (list what DEST holds of PATH: kept and current versions):\n"
	"      --json               one JSON array instead of one line per version\n"
	"\n"
	"Restore options (write PATH as it was into TARGET, which stands for DEST):\n"
	"      --at=TIME            as it was at TIME: 2026-11-25, 2026-11-25T14:00:00\n"
	"                           (local time; add Z for UTC), @SECONDS, or an age:\n"
	"                           30m, 12h, 3d, 2w (default: the mirror as it is)\n"
	"      --in-place           restore over a TARGET that is not empty (the original\n"
	"                           SRC); what it replaces is kept in TARGET/.shelter/\n"
	"  -n, --dry-run            list what would be restored, change nothing\n"
	"  -v, --verbose            list each path restored\n"
	"  -e, --rsh, --remote-cmd, --timeout: as for backup, when DEST or TARGET\n"
	"                           (not both) is [user@]host:path\n"
	"      --run-log=FILE       append the run's JSON line to FILE\n"
	"\n"
	"Status options (the last run of each pair, from the run log):\n"
	"      --max-age=AGE        exit 17 if a pair's last run failed or is older than\n"
	"                           AGE: 30m, 26h, 3d, 2w (a cron or Nagios check)\n"
	"      --json               one JSON array of the last runs' lines\n"
	"      --run-log=FILE       read FILE instead of the default run log\n"
	"\n"
	"Verify options (re-hash DEST's mirror and history against their records;\n"
	"damaged mirror files are sent again by the next backup):\n"
	"  -v, --verbose            list every file checked, not only problems\n"
	"      --json               one JSON object: counts and the damaged, missing\n"
	"                           and unrecorded paths\n"
	"\n"
	"Retention (prune, and backup: prune DEST after the pass):\n"
	"      --keep-last=N        keep the N newest snapshots (completed passes)\n"
	"      --keep-within=AGE    keep the snapshots within AGE of the newest: 30m, 12h,\n"
	"                           3d, 2w\n"
	"      --keep-daily=N       keep the newest snapshot of each of the last N days\n"
	"      --keep-weekly=N      ... of each of the last N ISO weeks\n"
	"      --keep-monthly=N     ... of each of the last N months (rules are ORed;\n"
	"                           the newest snapshot is always kept)\n"
	"  -n, --dry-run            (prune) list what would go, change nothing\n"
	"  -v, --verbose            (prune) list kept snapshots and removed versions\n"
	"  -e, --rsh, --remote-cmd, --timeout: (prune, verify) as for backup, when DEST\n"
	"                           is [user@]host:path\n"
	"      --run-log=FILE       (prune, verify) append the run's JSON line to FILE\n"
	"\n"
	"Server options (for a command=\"...\" line in authorized_keys; see shelter(1)):\n"
	"      --server             speak the protocol on stdin/stdout\n"
	"      --restrict=DIR       take every path the client names inside DIR\n"
	"      --read-only          refuse to be a DEST: serve pulls only\n"
	"\n"
	"Exit codes: 0 ok, 1 usage, 2 protocol version, 3 bad SRC/DEST/ROOT,\n"
	"7 sync conflicts (both kept), 8 sync locked, 9 bad sync state, 10 connection,\n"
	"11 destination I/O, 12 protocol data, 20 signal, 23 partial, 24 vanished,\n"
	"25 --max-delete, 26 files kept changing while read, 30 timeout, 70 internal error.\n"
	"Monitoring: 17 status check failed, 18 --pre failed.\n"
	"verify: 16 files damaged or missing, or the mirror index damaged or missing.\n"
	"See shelter(1).\n";

static int parse_prefer(const char *arg, int *out)
{
	static const char *const names[] = { "newer", "older", "ROOT1", "ROOT2" };
	int i;

	for (i = 0; i < 4; i++)
		if (!strcmp(arg, names[i])) {
			*out = PREFER_NEWER + i;
			return 0;
		}
	fprintf(stderr, "shelter: --prefer '%s': give newer, older, ROOT1 or ROOT2\n"
		"Try 'shelter --help' for more information.\n", arg);
	return -1;
}

/* A string option given again replaces the first; popt's copy moves to *FIELD. */
static void take_arg(const char **field, const char **arg)
{
	free((void *)*field);
	*field = *arg;
	*arg = NULL;
}

static void opts_release(struct opts *o)
{
	exclude_free(o->excludes);
	free((void *)o->rsh);
	free((void *)o->remote_cmd);
	free((void *)o->state);
	free((void *)o->run_log);
	free((void *)o->pre);
	free((void *)o->post);
	free((void *)o->notify);
	free((void *)o->mail_to);
}

static void server_opts_release(struct server_opts *so)
{
	free((void *)so->restrict_dir);
}

/*
 * A backup or sync pass with its run log line, --pre, --post, --notify,
 * --mail-to and --syslog around it. The pass's exit code is what counts:
 * nothing after the pass changes it.
 */
static int monitored(const struct opts *o, const char *command, const char **roots)
{
	struct runcounts counts;
	struct runlog *rl;
	int code;

	memset(&counts, 0, sizeof(counts));
	rl = runlog_begin(command, roots, 2, o->run_log);
	rl->dry_run = !!(o->flags & OPT_DRY_RUN);
	runlog_arm(rl);
	if (o->syslog)
		runlog_syslog(rl);
	/* A signal from here on still leaves the run's line (exit 20). */
	session_signals();
	code = hook_pre(o, rl);
	if (!code)
		code = !strcmp(command, "sync") ? client_sync(o, roots[0], roots[1], &counts)
						: client_backup(o, roots[0], roots[1], &counts);
	runlog_set_counts(rl, &counts);
	runlog_end(rl, code);
	hooks_after(o, rl);
	runlog_syslog_summary(rl);
	runlog_write(rl);
	runlog_free(rl);
	return code;
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
	struct server_opts so;
	const char *arg = NULL;
	int server = 0, rc, verbose_n = 0, quiet = 0, bad = 0;
	const char *sync_only = NULL;
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
		{ "timeout", 0, POPT_ARG_STRING, &arg, O_TIMEOUT, NULL, NULL },
		{ "retries", 0, POPT_ARG_STRING, &arg, O_RETRIES, NULL, NULL },
		{ "retry-wait", 0, POPT_ARG_STRING, &arg, O_RETRY_WAIT, NULL, NULL },
		{ "restrict", 0, POPT_ARG_STRING, &arg, O_RESTRICT, NULL, NULL },
		{ "read-only", 0, POPT_ARG_NONE, NULL, O_READ_ONLY, NULL, NULL },
		{ "state", 0, POPT_ARG_STRING, &arg, O_STATE, NULL, NULL },
		{ "resync", 0, POPT_ARG_NONE, NULL, O_RESYNC, NULL, NULL },
		{ "prefer", 0, POPT_ARG_STRING, &arg, O_PREFER, NULL, NULL },
		{ "max-delete", 0, POPT_ARG_STRING, &arg, O_MAX_DELETE, NULL, NULL },
		{ "lock-wait", 0, POPT_ARG_STRING, &arg, O_LOCK_WAIT, NULL, NULL },
		{ "run-log", 0, POPT_ARG_STRING, &arg, O_RUN_LOG, NULL, NULL },
		{ "pre", 0, POPT_ARG_STRING, &arg, O_PRE, NULL, NULL },
		{ "post", 0, POPT_ARG_STRING, &arg, O_POST, NULL, NULL },
		{ "notify", 0, POPT_ARG_STRING, &arg, O_NOTIFY, NULL, NULL },
		{ "mail-to", 0, POPT_ARG_STRING, &arg, O_MAIL_TO, NULL, NULL },
		{ "mail-on", 0, POPT_ARG_STRING, &arg, O_MAIL_ON, NULL, NULL },
		{ "syslog", 0, POPT_ARG_NONE, NULL, O_SYSLOG, NULL, NULL },
		{ "keep-last", 0, POPT_ARG_STRING, &arg, O_KEEP_LAST, NULL, NULL },
		{ "keep-within", 0, POPT_ARG_STRING, &arg, O_KEEP_WITHIN, NULL, NULL },
		{ "keep-daily", 0, POPT_ARG_STRING, &arg, O_KEEP_DAILY, NULL, NULL },
		{ "keep-weekly", 0, POPT_ARG_STRING, &arg, O_KEEP_WEEKLY, NULL, NULL },
		{ "keep-monthly", 0, POPT_ARG_STRING, &arg, O_KEEP_MONTHLY, NULL, NULL },
		{ "help", 'h', POPT_ARG_NONE, NULL, O_HELP, NULL, NULL },
		{ "version", 'V', POPT_ARG_NONE, NULL, O_VERSION, NULL, NULL },
		{ "server", 0, POPT_ARG_NONE | POPT_ARGFLAG_DOC_HIDDEN, NULL, O_SERVER, NULL, NULL },
		POPT_TABLEEND
	};
	poptContext pc;
	static const char *const keep_names[] = {
		"--keep-last", "--keep-within", "--keep-daily", "--keep-weekly", "--keep-monthly"
	};

	/* The commands that read a DEST back have options of their own. */
	if (argc > 1 && !strcmp(argv[1], "versions"))
		return versions_main(argc - 1, argv + 1, usage_text);
	if (argc > 1 && !strcmp(argv[1], "restore"))
		return restore_main(argc - 1, argv + 1, usage_text);
	if (argc > 1 && !strcmp(argv[1], "status"))
		return status_main(argc - 1, argv + 1, usage_text);
	if (argc > 1 && !strcmp(argv[1], "verify"))
		return verify_main(argc - 1, argv + 1, usage_text);
	if (argc > 1 && !strcmp(argv[1], "prune"))
		return prune_main(argc - 1, argv + 1, usage_text);
	memset(&o, 0, sizeof(o));
	memset(&so, 0, sizeof(so));
	o.excludes = exclude_new();
	o.timeout = DEFAULT_TIMEOUT;
	o.retries = DEFAULT_RETRIES;
	o.retry_wait = DEFAULT_RETRY_WAIT;
	o.max_delete = 50;
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
			take_arg(&o.rsh, &arg);
			break;
		case O_REMOTE_CMD:
			take_arg(&o.remote_cmd, &arg);
			break;
		case O_TIMEOUT:
			if (parse_number("--timeout", arg, MAX_TIMEOUT, "a number of seconds",
					 &o.timeout))
				bad = 1;
			free((void *)arg);
			arg = NULL;
			break;
		case O_RETRIES:
		case O_RETRY_WAIT:
			if (rc == O_RETRIES ? parse_number("--retries", arg, MAX_RETRIES, "a number",
							   &o.retries)
					    : parse_number("--retry-wait", arg, MAX_RETRY_WAIT,
							   "a number of seconds", &o.retry_wait))
				bad = 1;
			free((void *)arg);
			arg = NULL;
			break;
		case O_RESTRICT:
			take_arg(&so.restrict_dir, &arg);
			break;
		case O_STATE:
			take_arg(&o.state, &arg);
			sync_only = "--state";
			break;
		case O_RESYNC:
			o.resync = 1;
			sync_only = "--resync";
			break;
		case O_PREFER:
			if (parse_prefer(arg, &o.prefer))
				bad = 1;
			free((void *)arg);
			arg = NULL;
			sync_only = "--prefer";
			break;
		case O_MAX_DELETE:
			if (parse_number("--max-delete", arg, 100, "a percentage from 0 to 100",
					 &o.max_delete))
				bad = 1;
			free((void *)arg);
			arg = NULL;
			sync_only = "--max-delete";
			break;
		case O_LOCK_WAIT:
			if (parse_number("--lock-wait", arg, MAX_TIMEOUT, "a number of seconds",
					 &o.lock_wait))
				bad = 1;
			free((void *)arg);
			arg = NULL;
			sync_only = "--lock-wait";
			break;
		case O_READ_ONLY: so.read_only = 1; break;
		/* monitoring */
		case O_RUN_LOG: take_arg(&o.run_log, &arg); break;
		case O_PRE: take_arg(&o.pre, &arg); break;
		case O_POST: take_arg(&o.post, &arg); break;
		case O_NOTIFY: take_arg(&o.notify, &arg); break;
		case O_SYSLOG: o.syslog = 1; break;
		case O_MAIL_TO:
			if (!*arg || *arg == '-' || strpbrk(arg, "\r\n")) {
				usage_error("--mail-to '%s': give one mail address", arg);
				bad = 1;
			}
			take_arg(&o.mail_to, &arg);
			break;
		case O_MAIL_ON:
			if (!strcmp(arg, "always") || !strcmp(arg, "failure")) {
				o.mail_always = !strcmp(arg, "always");
			} else {
				usage_error("--mail-on '%s': give failure or always", arg);
				bad = 1;
			}
			free((void *)arg);
			arg = NULL;
			break;
		case O_KEEP_LAST: case O_KEEP_WITHIN: case O_KEEP_DAILY: case O_KEEP_WEEKLY:
		case O_KEEP_MONTHLY:
			if (keep_option(&o.keep, keep_names[rc - O_KEEP_LAST], arg))
				bad = 1;
			free((void *)arg);
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
			server_opts_release(&so);
			return EXIT_OK;
		case O_VERSION:
			printf("shelter %s (protocol %d; %s, xxHash %s)\n", PACKAGE_VERSION,
			       PROTO_VERSION_MAX, rsx_lib_version(), hash_lib_version());
			poptFreeContext(pc);
			opts_release(&o);
			server_opts_release(&so);
			return EXIT_OK;
		}
	}
	if (rc < -1) {
		popt_error(pc, rc);
		poptFreeContext(pc);
		opts_release(&o);
		server_opts_release(&so);
		return EXIT_USAGE;
	}
	if (bad) {
		poptFreeContext(pc);
		opts_release(&o);
		server_opts_release(&so);
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
		opts_release(&o);
		if (nrest)
			rc = usage_error("--server takes no arguments (got '%s')", rest[0]);
		else if (so.restrict_dir && *so.restrict_dir != '/')
			rc = usage_error("--restrict '%s': give an absolute directory", so.restrict_dir);
		else
			rc = server_main(0, 1, &so);
		poptFreeContext(pc);
		server_opts_release(&so);
		return rc;
	}
	if (so.restrict_dir || so.read_only) {
		rc = usage_error("%s is an option of the server side (shelter --server, in an "
				 "authorized_keys command); see shelter(1)",
				 so.restrict_dir ? "--restrict" : "--read-only");
		poptFreeContext(pc);
		opts_release(&o);
		server_opts_release(&so);
		return rc;
	}
	if (nrest == 0) {
		fputs(usage_text, stderr);
		poptFreeContext(pc);
		opts_release(&o);
		server_opts_release(&so);
		return EXIT_USAGE;
	}
	if (!strcmp(rest[0], "backup") && sync_only) {
		rc = usage_error("%s is an option of shelter sync, not of backup", sync_only);
	} else if (retention_any(&o.keep) && strcmp(rest[0], "backup")) {
		rc = usage_error("--keep-... are options of shelter backup and shelter prune, not "
				 "of %s", rest[0]);
	} else if (!strcmp(rest[0], "backup")) {
		if (nrest != 3)
			rc = usage_error("%s", "backup needs exactly two paths: SRC DEST");
		else if (is_remote_arg(rest[1]) && is_remote_arg(rest[2]))
			rc = usage_error("both SRC and DEST are remote ('%s'): one side must be local",
					 rest[1]);
		else
			rc = monitored(&o, "backup", rest + 1);
	} else if (!strcmp(rest[0], "sync")) {
		if (nrest != 3)
			rc = usage_error("%s", "sync needs exactly two paths: ROOT1 ROOT2");
		else if (is_remote_arg(rest[1]) && is_remote_arg(rest[2]))
			rc = usage_error("both ROOT1 and ROOT2 are remote ('%s'): one side must be "
					 "local", rest[1]);
		else
			rc = monitored(&o, "sync", rest + 1);
	} else if (!strcmp(rest[0], "conflicts")) {
		if (nrest != 2)
			rc = usage_error("%s", "conflicts needs exactly one path: ROOT");
		else if (is_remote_arg(rest[1]))
			rc = usage_error("conflicts looks at a local ROOT only ('%s' is remote)", rest[1]);
		else
			rc = client_conflicts(&o, rest[1]);
	} else {
		rc = usage_error("unknown command '%s' (this release has: backup, sync, conflicts, "
				 "versions, restore, status, verify, prune; options of versions, "
				 "restore, status, verify and prune go after the command)", rest[0]);
	}
	poptFreeContext(pc);
	opts_release(&o);
	server_opts_release(&so);
	return rc;
}
