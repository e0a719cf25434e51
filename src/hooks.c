/*
 * hooks.c - --pre, --post, --notify and --mail-to; see hooks.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "exitcode.h"
#include "histindex.h"
#include "hooks.h"
#include "log.h"
#include "opts.h"
#include "runlog.h"

static void set_num(const char *name, unsigned long long v)
{
	char t[32];

	snprintf(t, sizeof(t), "%llu", v);
	setenv(name, t, 1);
}

/* In the child: what the command learns about the run. */
static void set_env(const struct runlog *rl, int ended)
{
	int sync = !strcmp(rl->command, "sync");
	const struct stats *s = &rl->counts.s;

	setenv("SHELTER_COMMAND", rl->command, 1);
	if (rl->nroots > 0)
		setenv(sync ? "SHELTER_ROOT1" : "SHELTER_SRC", rl->roots[0], 1);
	if (rl->nroots > 1)
		setenv(sync ? "SHELTER_ROOT2" : "SHELTER_DEST", rl->roots[1], 1);
	setenv("SHELTER_HOST", rl->host, 1);
	setenv("SHELTER_RUN_LOG", rl->file, 1);
	if (!ended)
		return;
	setenv("SHELTER_RESULT", runlog_result(rl), 1);
	set_num("SHELTER_EXIT_CODE", (unsigned long long)rl->code);
	setenv("SHELTER_EXIT_MEANING", exit_meaning(rl->code), 1);
	set_num("SHELTER_FILES", s->files);
	set_num("SHELTER_TRANSFERRED", s->transferred);
	set_num("SHELTER_CREATED", s->created);
	set_num("SHELTER_DELETED", s->deleted);
	set_num("SHELTER_BYTES", s->xfer_size);
	set_num("SHELTER_ERRORS", rl->nerrors);
	set_num("SHELTER_WARNINGS", rl->nwarnings);
	if (sync)
		set_num("SHELTER_CONFLICTS", rl->counts.conflicts);
}

/* How a child ended, in words, into OUT. */
static void describe_status(int status, char *out, size_t n)
{
	if (WIFSIGNALED(status))
		snprintf(out, n, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(out, n, "exited %d", WEXITSTATUS(status));
}

/*
 * /bin/sh -c CMD with stdin from /dev/null and the SHELTER_* environment.
 * Returns the wait status, or -1 with an error printed.
 */
static int run_shell(const char *what, const char *cmd, const struct runlog *rl, int ended)
{
	pid_t pid;
	int status, fd;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		error("%s '%s': cannot start it: fork: %s", what, cmd, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0 && fd != 0) {
			dup2(fd, 0);
			close(fd);
		}
		set_env(rl, ended);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		fprintf(stderr, "shelter: error: %s '%s': cannot run /bin/sh: %s\n", what, cmd,
			strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			error("%s '%s': waitpid: %s", what, cmd, strerror(errno));
			return -1;
		}
	return status;
}

int hook_pre(const struct opts *o, const struct runlog *rl)
{
	char how[128];
	int st;

	if (!o->pre)
		return 0;
	st = run_shell("--pre", o->pre, rl, 0);
	if (st < 0)
		return EXIT_PRE;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	describe_status(st, how, sizeof(how));
	error("--pre '%s' %s: the %s did not run and nothing was changed (fix the command, or "
	      "run without --pre)", o->pre, how, rl->command);
	return EXIT_PRE;
}

static void after(const char *what, const char *cmd, const struct runlog *rl)
{
	char how[128];
	int st;

	if (!cmd)
		return;
	st = run_shell(what, cmd, rl, 1);
	if (st < 0 || (WIFEXITED(st) && WEXITSTATUS(st) == 0))
		return;
	describe_status(st, how, sizeof(how));
	error("%s '%s' %s (the %s itself ended with exit code %d: %s)", what, cmd, how,
	      rl->command, rl->code, exit_meaning(rl->code));
}

/* ---- mail ----------------------------------------------------------------------- */

/* Where to go from here, for a person reading the report. */
static const char *advice(int code)
{
	switch (code) {
	case EXIT_OK:
		return "Nothing: the pass finished.";
	case EXIT_PARTIAL:
	case EXIT_VANISHED:
	case EXIT_CHANGING:
		return "Look at the messages above: each names the file and the cause. Fix the "
		       "cause (permissions, a disk, a file being rewritten) and run the pass again; "
		       "everything else was done.";
	case EXIT_ROOTS:
		return "Check that both roots exist and are mounted, and that the paths are right.";
	case EXIT_CONNECTION:
	case EXIT_TIMEOUT:
		return "Check the network, ssh access to the remote host (ssh HOST true), and that "
		       "shelter is installed there; then run the pass again.";
	case EXIT_DEST_IO:
		return "Check the destination's disk: free space, errors in the kernel log, the "
		       "file system mounted read-write.";
	case EXIT_PRE:
		return "The --pre command failed, so nothing was copied: run it by hand to see why.";
	case EXIT_LOCKED:
		return "Another sync of this pair was running: if none is, look for a stuck process.";
	case EXIT_CONFLICTS:
		return "Run shelter conflicts ROOT and decide which version to keep.";
	case EXIT_MAX_DELETE:
		return "Check that the side that lost files is the right one (an unmounted disk?); "
		       "if the deletions are wanted, run again with a higher --max-delete.";
	}
	return "Read the messages above and the man page's EXIT STATUS; run the pass again by "
	       "hand to see the full output.";
}

/* S with line breaks and other control bytes as '?': it goes into a header. */
static void put_header_text(struct buf *b, const char *s)
{
	for (; *s; s++)
		buf_put_u8(b, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : (uint8_t)*s);
}

static void put_s(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void put_f(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_f(struct buf *b, const char *fmt, ...)
{
	char t[1200];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t, sizeof(t), fmt, ap);
	va_end(ap);
	if (n > 0)
		buf_put(b, t, (size_t)n < sizeof(t) ? (size_t)n : sizeof(t) - 1);
}

char *mail_compose(const char *to, const struct runlog *rl)
{
	const char *res = runlog_result(rl);
	int sync = !strcmp(rl->command, "sync");
	const struct stats *s = &rl->counts.s;
	struct buf b = BUF_INIT;
	char t0[40], t1[40], date[64], *out;
	struct tm tm;
	time_t now = time(NULL);
	size_t i;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	iso_time(t0, sizeof(t0), &rl->start, 0);
	iso_time(t1, sizeof(t1), &rl->end, 0);
	put_s(&b, "To: ");
	put_header_text(&b, to);
	put_s(&b, "\nSubject: shelter ");
	put_header_text(&b, rl->command);
	put_s(&b, !strcmp(res, "ok") ? " ok" : !strcmp(res, "warning") ? " WARNING" : " FAILED");
	put_s(&b, " on ");
	put_header_text(&b, rl->host);
	put_s(&b, ": ");
	put_header_text(&b, rl->nroots > 0 ? rl->roots[0] : "");
	put_s(&b, " -> ");
	put_header_text(&b, rl->nroots > 1 ? rl->roots[1] : "");
	put_f(&b, "\nDate: %s\nAuto-Submitted: auto-generated\nMIME-Version: 1.0\n"
	      "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n", date);
	put_f(&b, "shelter %s on %s: %s, exit code %d (%s).\n\n", rl->command, rl->host, res,
	      rl->code, exit_meaning(rl->code));
	put_f(&b, "  %-8s %s\n", sync ? "ROOT1:" : "SRC:", rl->nroots > 0 ? rl->roots[0] : "");
	put_f(&b, "  %-8s %s\n", sync ? "ROOT2:" : "DEST:", rl->nroots > 1 ? rl->roots[1] : "");
	put_f(&b, "  started  %s\n  ended    %s\n\n", t0, t1);
	if (rl->nmsgs) {
		put_f(&b, "What went wrong (%llu errors, %llu warnings):\n",
		      (unsigned long long)rl->nerrors, (unsigned long long)rl->nwarnings);
		for (i = 0; i < rl->nmsgs; i++)
			put_f(&b, "  %s: %s\n", rl->msgs[i].error ? "error" : "warning",
			      rl->msgs[i].text);
		if (rl->nerrors + rl->nwarnings > rl->nmsgs)
			put_f(&b, "  ... and %llu more (run the pass by hand to see them all)\n",
			      (unsigned long long)(rl->nerrors + rl->nwarnings - rl->nmsgs));
		put_s(&b, "\n");
	}
	put_f(&b, "What to do: %s\n\n", advice(rl->code));
	if (rl->counts.known) {
		put_f(&b, "Counts: %llu entries, %llu files transferred (%llu bytes), %llu created, "
		      "%llu deleted", (unsigned long long)s->files,
		      (unsigned long long)s->transferred, (unsigned long long)s->xfer_size,
		      (unsigned long long)s->created, (unsigned long long)s->deleted);
		if (sync)
			put_f(&b, ", %llu conflicts", (unsigned long long)rl->counts.conflicts);
		put_s(&b, ".\n");
	} else {
		put_s(&b, "Counts: none (the pass did not get that far).\n");
	}
	if (rl->counts.wire_known)
		put_f(&b, "On the wire: %llu bytes sent, %llu received.\n",
		      (unsigned long long)rl->counts.wire_sent,
		      (unsigned long long)rl->counts.wire_received);
	put_f(&b, "Run log: %s (shelter status --run-log %s)\n", rl->file, rl->file);
	buf_put_u8(&b, 0);
	out = xstrdup((const char *)b.data);
	buf_release(&b);
	return out;
}

/*
 * Mail problems are errors, not warnings, so that -q (the usual in cron)
 * still shows them; like every message after the pass, they leave its exit
 * code alone.
 */

/* The first sendmail on PATH, then the usual places; NULL if none. */
static char *find_sendmail(void)
{
	static const char *const fixed[] = { "/usr/sbin/sendmail", "/usr/lib/sendmail" };
	const char *path = getenv("PATH"), *p, *e;
	char *f;
	size_t i, n;

	for (p = path; p && *p; p = *e ? e + 1 : e) {
		e = strchr(p, ':');
		if (!e)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (!n)
			continue;
		f = xmalloc(n + 10);
		memcpy(f, p, n);
		memcpy(f + n, "/sendmail", 10);
		if (access(f, X_OK) == 0)
			return f;
		free(f);
	}
	for (i = 0; i < 2; i++)
		if (access(fixed[i], X_OK) == 0)
			return xstrdup(fixed[i]);
	return NULL;
}

static void send_mail(const struct opts *o, const struct runlog *rl)
{
	struct sigaction ign, old;
	char *sm, *msg, how[128];
	int p[2], status, werr = 0;
	size_t n, off = 0;
	ssize_t w;
	pid_t pid;

	sm = find_sendmail();
	if (!sm) {
		error("mail to %s: no sendmail found (looked on PATH, /usr/sbin/sendmail, "
			"/usr/lib/sendmail); the report was not sent: install an MTA or msmtp-mta",
			o->mail_to);
		return;
	}
	if (pipe(p) < 0) {
		error("mail to %s: pipe: %s; the report was not sent", o->mail_to, strerror(errno));
		free(sm);
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		error("mail to %s: fork: %s; the report was not sent", o->mail_to, strerror(errno));
		close(p[0]);
		close(p[1]);
		free(sm);
		return;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		execl(sm, "sendmail", "-t", "-oi", (char *)NULL);
		fprintf(stderr, "shelter: error: mail to %s: cannot run %s: %s\n", o->mail_to, sm,
			strerror(errno));
		_exit(127);
	}
	close(p[0]);
	msg = mail_compose(o->mail_to, rl);
	n = strlen(msg);
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old);
	while (off < n) {
		w = write(p[1], msg + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			werr = errno;
			break;
		}
		off += (size_t)w;
	}
	close(p[1]);
	sigaction(SIGPIPE, &old, NULL);
	free(msg);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			error("mail to %s: waitpid: %s", o->mail_to, strerror(errno));
			free(sm);
			return;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		describe_status(status, how, sizeof(how));
		error("mail to %s: %s %s; the report was not sent (check the mail setup: %s -t "
			"-oi < a test message)", o->mail_to, sm, how, sm);
	} else if (werr) {
		error("mail to %s: writing to %s: %s; the report may be incomplete", o->mail_to,
			sm, strerror(werr));
	}
	free(sm);
}

void hooks_after(const struct opts *o, const struct runlog *rl)
{
	after("--post", o->post, rl);
	after("--notify", o->notify, rl);
	if (o->mail_to && (o->mail_always || strcmp(runlog_result(rl), "ok")))
		send_mail(o, rl);
}
