/*
 * runlog.c - the run log (doc/runlog.md): one JSON line per run, appended
 * in one write so that concurrent runs never interleave; and syslog.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "ckfile.h"
#include "exitcode.h"
#include "histindex.h"
#include "log.h"
#include "runlog.h"
#include "state.h"
#include "syslogging.h"

static struct runlog *current;
static int use_syslog;

/*
 * The line of a run that a signal ends, made in advance (runlog_arm): the
 * handler may only fill in digits and write(2) it.
 */
static char *sig_line;
static size_t sig_len, sig_end_at, sig_num_at;
static pid_t sig_pid;
#define SIG_TEXT "stopped by signal 00"

char *runlog_default_path(void)
{
	return state_dir_file("runs.jsonl");
}

const char *exit_meaning(int code)
{
	switch (code) {
	case EXIT_OK: return "ok";
	case EXIT_USAGE: return "bad option or arguments";
	case EXIT_PROTO_VERSION: return "no protocol version in common with the peer";
	case EXIT_ROOTS: return "a root (SRC, DEST, ROOT1, ROOT2) is missing or of the wrong type";
	case EXIT_CONFLICTS: return "sync finished with conflicts (both versions kept)";
	case EXIT_LOCKED: return "another sync of the same pair is running";
	case EXIT_STATE: return "the sync state file is unreadable or damaged";
	case EXIT_CONNECTION: return "could not start the peer, or lost the connection";
	case EXIT_DEST_IO: return "an I/O error on the destination stopped the pass";
	case EXIT_PROTOCOL: return "malformed data from the peer";
	case EXIT_VERIFY: return "verify found damaged or missing files";
	case EXIT_STATUS: return "the last run failed or is too old";
	case EXIT_PRE: return "the --pre command failed: the pass did not run";
	case EXIT_SIGNAL: return "stopped by a signal";
	case EXIT_PARTIAL: return "some files failed, the rest was done";
	case EXIT_VANISHED: return "some source files vanished while the pass ran";
	case EXIT_MAX_DELETE: return "sync stopped: it would delete more than --max-delete";
	case EXIT_CHANGING: return "files kept changing while read";
	case EXIT_TIMEOUT: return "no data moved for --timeout seconds";
	case EXIT_INTERNAL: return "internal error (a bug)";
	}
	return "unknown exit code";
}

const char *runlog_result(const struct runlog *rl)
{
	switch (rl->code) {
	case EXIT_OK:
		return rl->nwarnings || rl->nerrors ? "warning" : "ok";
	case EXIT_VANISHED:
	case EXIT_CONFLICTS:
	case EXIT_CHANGING:
		return "warning";
	}
	return "failed";
}

static void tap(enum log_kind kind, const char *text, void *arg)
{
	struct runlog *rl = arg;
	size_t n;

	if (use_syslog)
		sys_msg(kind == LOG_ERROR ? SYS_ERR : SYS_WARNING, "%s: %s",
		       kind == LOG_ERROR ? "error" : "warning", text);
	if (kind == LOG_ERROR)
		rl->nerrors++;
	else
		rl->nwarnings++;
	if (rl->nmsgs >= RUNLOG_MAX_ERRORS)
		return;
	n = strlen(text);
	if (n > RUNLOG_MAX_TEXT)
		n = RUNLOG_MAX_TEXT;
	rl->msgs[rl->nmsgs].error = kind == LOG_ERROR;
	rl->msgs[rl->nmsgs].text = xstrndup(text, n);
	rl->nmsgs++;
}

struct runlog *runlog_begin(const char *command, const char *const *roots, int nroots,
			    const char *file)
{
	struct runlog *rl = xmalloc(sizeof(*rl));
	int i;

	memset(rl, 0, sizeof(*rl));
	rl->file = file ? xstrdup(file) : runlog_default_path();
	rl->command = command;
	rl->nroots = nroots > 2 ? 2 : nroots;
	for (i = 0; i < rl->nroots; i++)
		rl->roots[i] = roots[i];
	if (gethostname(rl->host, sizeof(rl->host) - 1) < 0)
		snprintf(rl->host, sizeof(rl->host), "unknown");
	clock_gettime(CLOCK_REALTIME, &rl->start);
	rl->msgs = xmalloc(sizeof(*rl->msgs) * RUNLOG_MAX_ERRORS);
	current = rl;
	log_set_tap(tap, rl);
	return rl;
}

void runlog_set_counts(struct runlog *rl, const struct runcounts *c)
{
	rl->counts = *c;
}

void runlog_end(struct runlog *rl, int code)
{
	clock_gettime(CLOCK_REALTIME, &rl->end);
	rl->code = code;
	rl->ended = 1;
}

static void put_json(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	buf_grow(b, 6 * n + 3);
	b->len += json_string((char *)b->data + b->len, s, n);
}

static void put_fmt(struct buf *b, const char *fmt, unsigned long long v)
{
	char t[64];

	snprintf(t, sizeof(t), fmt, v);
	buf_put(b, t, strlen(t));
}

static void put_raw(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

/* The line, with its newline, into B. */
static void format_line(const struct runlog *rl, struct buf *b)
{
	static const char *const names[STATS_FIELDS] = {
		"files", "regular", "dirs", "links", "created", "deleted", "transferred",
		"total_size", "xfer_size", "literal", "matched",
	};
	const struct stats *s = &rl->counts.s;
	const uint64_t v[STATS_FIELDS] = {
		s->files, s->regular, s->dirs, s->links, s->created, s->deleted, s->transferred,
		s->total_size, s->xfer_size, s->literal, s->matched,
	};
	char t[64];
	size_t i;
	int k;

	put_raw(b, "{\"v\":1,\"start\":\"");
	iso_time(t, sizeof(t), &rl->start, 0);
	put_raw(b, t);
	put_raw(b, "\",\"end\":\"");
	iso_time(t, sizeof(t), &rl->end, 0);
	put_raw(b, t);
	put_raw(b, "\",\"command\":");
	put_json(b, rl->command);
	put_raw(b, ",\"roots\":[");
	for (k = 0; k < rl->nroots; k++) {
		if (k)
			put_raw(b, ",");
		put_json(b, rl->roots[k]);
	}
	put_raw(b, rl->dry_run ? "],\"dry_run\":true,\"host\":" : "],\"host\":");
	put_json(b, rl->host);
	put_fmt(b, ",\"pid\":%llu", (unsigned long long)getpid());
	put_raw(b, ",\"result\":\"");
	put_raw(b, runlog_result(rl));
	put_fmt(b, "\",\"exit_code\":%llu", (unsigned long long)rl->code);
	put_raw(b, ",\"counts\":");
	if (rl->counts.known) {
		for (i = 0; i < STATS_FIELDS; i++) {
			put_raw(b, i ? ",\"" : "{\"");
			put_raw(b, names[i]);
			put_fmt(b, "\":%llu", (unsigned long long)v[i]);
		}
		if (!strcmp(rl->command, "sync"))
			put_fmt(b, ",\"conflicts\":%llu", (unsigned long long)rl->counts.conflicts);
		put_raw(b, "}");
	} else {
		put_raw(b, "null");
	}
	if (rl->counts.wire_known) {
		put_fmt(b, ",\"wire\":{\"sent\":%llu", (unsigned long long)rl->counts.wire_sent);
		put_fmt(b, ",\"received\":%llu}", (unsigned long long)rl->counts.wire_received);
	} else {
		put_raw(b, ",\"wire\":null");
	}
	put_fmt(b, ",\"errors\":%llu", (unsigned long long)rl->nerrors);
	put_fmt(b, ",\"warnings\":%llu", (unsigned long long)rl->nwarnings);
	put_raw(b, ",\"messages\":[");
	for (i = 0; i < rl->nmsgs; i++) {
		put_raw(b, i ? "," : "");
		put_raw(b, rl->msgs[i].error ? "{\"kind\":\"error\",\"text\":"
					     : "{\"kind\":\"warning\",\"text\":");
		put_json(b, rl->msgs[i].text);
		put_raw(b, "}");
	}
	put_fmt(b, "],\"messages_more\":%llu}\n",
		(unsigned long long)(rl->nerrors + rl->nwarnings - rl->nmsgs));
}

void runlog_arm(struct runlog *rl)
{
	struct runlog copy = *rl;
	struct runmsg m = { 1, (char *)SIG_TEXT " before it finished; its --post, --notify and "
			    "mail did not run" };
	struct buf b = BUF_INIT;
	char *p, *q;

	copy.code = EXIT_SIGNAL;
	copy.ended = 1;
	copy.end = rl->start;
	copy.msgs = &m;
	copy.nmsgs = 1;
	copy.nerrors = rl->nerrors + 1;
	format_line(&copy, &b);
	buf_put_u8(&b, 0);
	free(sig_line);
	sig_line = NULL;
	p = strstr((char *)b.data, "\"end\":\"");
	q = strstr((char *)b.data, SIG_TEXT);
	if (p && q) {
		sig_end_at = (size_t)(p + 7 - (char *)b.data);
		sig_num_at = (size_t)(q + strlen(SIG_TEXT) - 2 - (char *)b.data);
		sig_len = b.len - 1;
		sig_line = xstrdup((char *)b.data);
		sig_pid = getpid();
	}
	buf_release(&b);
}

/* Two digits of V at P. */
static void digits2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

void runlog_on_signal(int sig)
{
	struct timespec now;
	long long days, y, era, doe, yoe, doy, mp, d, m, secs;
	int fd;

	if (!sig_line || !current || getpid() != sig_pid)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	/* UTC date from days since 1970 (the civil calendar, integers only). */
	secs = (long long)now.tv_sec;
	days = secs / 86400 + 719468;
	era = days / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	digits2(sig_line + sig_end_at, (unsigned)(y / 100));
	digits2(sig_line + sig_end_at + 2, (unsigned)(y % 100));
	digits2(sig_line + sig_end_at + 5, (unsigned)m);
	digits2(sig_line + sig_end_at + 8, (unsigned)d);
	digits2(sig_line + sig_end_at + 11, (unsigned)(secs % 86400 / 3600));
	digits2(sig_line + sig_end_at + 14, (unsigned)(secs % 3600 / 60));
	digits2(sig_line + sig_end_at + 17, (unsigned)(secs % 60));
	digits2(sig_line + sig_num_at, (unsigned)sig);
	fd = open(current->file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, sig_line, sig_len) < 0) {
			/* Nothing more can be done in a signal handler. */
		}
		close(fd);
	}
}

int runlog_write(struct runlog *rl)
{
	struct buf b = BUF_INIT;
	ssize_t w;
	int fd, ret = 0;

	log_set_tap(NULL, NULL);
	free(sig_line);
	sig_line = NULL;
	if (!rl->ended)
		runlog_end(rl, rl->code);
	format_line(rl, &b);
	if (ckw_make_parents(AT_FDCWD, rl->file) < 0) {
		warning("run log %s: cannot create its directory: %s; this run is not logged (give "
			"another file with --run-log)", rl->file, strerror(errno));
		ret = -1;
		goto out;
	}
	fd = open(rl->file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		warning("run log %s: %s; this run is not logged (give another file with "
			"--run-log)", rl->file, strerror(errno));
		ret = -1;
		goto out;
	}
	/* One write: O_APPEND puts it whole at the end, after any other run's. */
	w = write(fd, b.data, b.len);
	if (w != (ssize_t)b.len) {
		warning("run log %s: %s; this run's line may be cut short", rl->file,
			w < 0 ? strerror(errno) : "short write (disk full?)");
		ret = -1;
	}
	if (close(fd) < 0 && !ret) {
		warning("run log %s: %s", rl->file, strerror(errno));
		ret = -1;
	}
out:
	buf_release(&b);
	return ret;
}

int runlog_finish(struct runlog *rl, int code)
{
	runlog_end(rl, code);
	runlog_write(rl);
	runlog_free(rl);
	return code;
}

void runlog_free(struct runlog *rl)
{
	size_t i;

	if (!rl)
		return;
	if (current == rl) {
		log_set_tap(NULL, NULL);
		current = NULL;
		free(sig_line);
		sig_line = NULL;
	}
	for (i = 0; i < rl->nmsgs; i++)
		free(rl->msgs[i].text);
	free(rl->msgs);
	free((void *)rl->file);
	free(rl);
}

void runlog_syslog(struct runlog *rl)
{
	(void)rl;
	sys_open();
	use_syslog = 1;
}

void runlog_syslog_summary(const struct runlog *rl)
{
	const char *res = runlog_result(rl);

	if (!use_syslog)
		return;
	sys_msg(!strcmp(res, "failed") ? SYS_ERR : !strcmp(res, "warning") ? SYS_WARNING : SYS_INFO,
	       "%s %s%s%s%s: %s, exit %d (%s); %llu files, %llu transferred, %llu deleted, "
	       "%llu errors", rl->command, rl->nroots > 0 ? rl->roots[0] : "",
	       rl->nroots > 1 ? " " : "", rl->nroots > 1 ? rl->roots[1] : "", "", res, rl->code,
	       exit_meaning(rl->code), (unsigned long long)rl->counts.s.files,
	       (unsigned long long)rl->counts.s.transferred,
	       (unsigned long long)rl->counts.s.deleted, (unsigned long long)rl->nerrors);
}
