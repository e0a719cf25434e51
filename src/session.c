/*
 * session.c - how a pass starts and ends, on both sides.
 *
 * The client checks its local root, starts the server (a forked child over
 * a socketpair for two local paths, ssh for a remote one), sends HELLO and
 * START, and runs its role: the sender for a local pass or a push, the
 * receiver for a pull. The server answers HELLO, opens the root START names,
 * and runs the other role; its messages travel back as MSG frames.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "beneath.h"
#include "bounds.h"
#include "chan.h"
#include "exclude.h"
#include "exitcode.h"
#include "log.h"
#include "path.h"
#include "proto.h"
#include "remote.h"
#include "report.h"
#include "prune.h"
#include "restore.h"
#include "verify.h"
#include "histindex.h"
#include "role.h"
#include "runlog.h"
#include "session.h"
#include "syncpeer.h"

#define WHYLEN 512

/* ---- signals: remove the temporary file, exit 20 ---------------------------- */

static volatile int tmp_dirfd = -1;
static const char *volatile tmp_name;

void session_set_tmp(int dirfd, const char *name)
{
	tmp_name = name;
	tmp_dirfd = dirfd;
}

static void on_signal(int sig)
{
	if (tmp_dirfd >= 0 && tmp_name)
		unlinkat(tmp_dirfd, tmp_name, 0);
	runlog_on_signal(sig);
	_exit(EXIT_SIGNAL);
}

void session_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- frames both roles accept ------------------------------------------------ */

static const char *peer_host;

/* "host: text" into OUT, which has room for both plus 3 bytes. */
static void sprintf_host(char *out, const char *host, const char *text)
{
	size_t h = strlen(host), t = strlen(text);

	memcpy(out, host, h);
	memcpy(out + h, ": ", 2);
	memcpy(out + h + 2, text, t + 1);
}

int role_common_frame(uint8_t type, const unsigned char *p, size_t n, int *code)
{
	uint8_t kind;
	char *text;

	if (type == F_NOOP) {
		/* A keepalive from a peer busy with a huge file. */
		if (n == 0)
			return 1;
		*code = EXIT_PROTOCOL;
		error("protocol error: NOOP frame with a payload");
		return -1;
	}
	if (type != F_MSG && type != F_ERROR)
		return 0;
	if (msg_decode(p, n, &kind, &text)) {
		*code = EXIT_PROTOCOL;
		error("protocol error: malformed %s frame", frame_name(type));
		return -1;
	}
	if (peer_host && (type == F_ERROR || kind != LOG_OUTPUT)) {
		/* Remote warnings and errors say where they happened. */
		char *t = xmalloc(strlen(peer_host) + strlen(text) + 3);

		sprintf_host(t, peer_host, text);
		free(text);
		text = t;
	}
	if (type == F_ERROR) {
		/* The peer is ending the pass; its code is kind. */
		if (*text)
			log_text(LOG_ERROR, text);
		*code = kind ? peer_code(kind) : EXIT_PROTOCOL;
		free(text);
		return -1;
	}
	if (kind > LOG_VERBOSE)
		kind = LOG_WARNING;
	log_text((enum log_kind)kind, text);
	free(text);
	return 1;
}

/* ---- handshake ----------------------------------------------------------------- */

static void send_hello(struct chan *c)
{
	struct hello h = { PROTO_VERSION_MIN, PROTO_VERSION_MAX, 0 };
	struct buf b = BUF_INIT;

	hello_encode(&b, &h);
	chan_send(c, F_HELLO, b.data, b.len);
	buf_release(&b);
}

/* Show the first bytes of something that is not a frame of ours. */
static void describe(const unsigned char *p, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n && i < 40 && o + 5 < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, p[i] >= 0x20 && p[i] < 0x7f ? "%c" : "\\x%02x",
				      p[i]);
	out[o] = '\0';
}

/*
 * Read the peer's HELLO. Returns 0, or an exit code with the reason in WHY.
 * The first bytes are looked at before they are trusted as a frame header:
 * a login banner or a shell's "command not found" is text, and its
 * "length" would be nonsense.
 */
static int recv_hello(struct chan *c, char *why, size_t whylen)
{
	const unsigned char *h, *p;
	struct hello hello;
	char seen[200], reason[256];
	size_t avail, n;
	uint8_t t;

	while (c->in.len - c->in_off < FRAME_HEADER && !c->eof)
		if (chan_wait(c, -1) < 0)
			break;
	h = c->in.data + c->in_off;
	avail = c->in.len - c->in_off;
	if (avail == 0) {
		snprintf(why, whylen, "connection closed before the handshake");
		return EXIT_CONNECTION;
	}
	if (avail < FRAME_HEADER || h[0] != F_HELLO || h[1] || h[2] || h[3] || h[4] > 64) {
		if (!c->eof)
			chan_wait(c, 200);	/* a little more of the text, for the message */
		describe(c->in.data + c->in_off, c->in.len - c->in_off, seen, sizeof(seen));
		snprintf(why, whylen, "the other side does not speak shelter's protocol (it sent \"%s\")",
			 seen);
		return EXIT_PROTO_VERSION;
	}
	if (chan_recv(c, &t, &p, &n, 1) < 0) {
		snprintf(why, whylen, "connection lost during the handshake");
		return EXIT_CONNECTION;
	}
	if (n < 4 || memcmp(p, HELLO_MAGIC, 4)) {
		describe(p - FRAME_HEADER, n + FRAME_HEADER, seen, sizeof(seen));
		snprintf(why, whylen, "the other side does not speak shelter's protocol (it sent \"%s\")",
			 seen);
		return EXIT_PROTO_VERSION;
	}
	if (hello_decode(p, n, &hello, reason, sizeof(reason))) {
		snprintf(why, whylen, "protocol error in the handshake: %s", reason);
		return EXIT_PROTOCOL;
	}
	if (hello.vmax < PROTO_VERSION_MIN || hello.vmin > PROTO_VERSION_MAX) {
		snprintf(why, whylen, "no protocol version in common (local %u..%u, remote %u..%u); "
			 "install the same shelter release on both sides", PROTO_VERSION_MIN,
			 PROTO_VERSION_MAX, hello.vmin, hello.vmax);
		return EXIT_PROTO_VERSION;
	}
	return 0;
}

/* ---- the client ------------------------------------------------------------------ */

/* SRC must be an existing directory; RSRC gets its real path. */
static int check_src(const char *src, char *rsrc)
{
	struct stat st;

	if (stat(src, &st) < 0)
		return error("SRC %s: %s", src, strerror(errno)), EXIT_ROOTS;
	if (!S_ISDIR(st.st_mode))
		return error("SRC %s: Not a directory (shelter backs up directories)", src), EXIT_ROOTS;
	if (!realpath(src, rsrc))
		return error("SRC %s: %s", src, strerror(errno)), EXIT_ROOTS;
	return 0;
}

/* DEST is a directory or can be created (its parent exists); RDEST gets its real path. */
static int check_dest(const char *dest, char *rdest)
{
	struct stat st;
	char *copy, *slash, *name, rparent[PATH_MAX];
	size_t len;
	int code = 0;

	if (stat(dest, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return error("DEST %s exists and is not a directory; choose a directory", dest),
			       EXIT_ROOTS;
		if (!realpath(dest, rdest))
			return error("DEST %s: %s", dest, strerror(errno)), EXIT_ROOTS;
		return 0;
	}
	if (errno != ENOENT)
		return error("DEST %s: %s", dest, strerror(errno)), EXIT_ROOTS;
	/* DEST will be created: its parent must exist. */
	copy = xstrdup(dest);
	len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	name = xstrdup(path_base(copy));
	slash = strrchr(copy, '/');
	if (slash == copy)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	if (!realpath(slash ? copy : ".", rparent)) {
		error("DEST %s: parent directory %s: %s (create it first)", dest, slash ? copy : ".",
		      strerror(errno));
		code = EXIT_ROOTS;
	} else if ((size_t)snprintf(rdest, PATH_MAX, "%s/%s", strcmp(rparent, "/") ? rparent : "",
				    name) >= PATH_MAX) {
		error("DEST %s: path too long", dest);
		code = EXIT_ROOTS;
	}
	free(copy);
	free(name);
	return code;
}

/* Both local: check both, and that neither holds the other. */
static int check_roots(const char *src, const char *dest, char **dest_abs)
{
	char rsrc[PATH_MAX], rdest[PATH_MAX];
	int code = check_src(src, rsrc);

	if (code || (code = check_dest(dest, rdest)))
		return code;
	if (path_is_within(rsrc, rdest) || (strcmp(rsrc, "/") == 0))
		return error("DEST %s is inside SRC %s: the backup would copy itself; choose a DEST "
			     "outside SRC", dest, src), EXIT_ROOTS;
	if (path_is_within(rdest, rsrc) || strcmp(rdest, "/") == 0)
		return error("SRC %s is inside DEST %s: the backup would delete its own source; "
			     "choose a DEST outside SRC", src, dest), EXIT_ROOTS;
	*dest_abs = xstrdup(rdest);
	return 0;
}

static int not_for_server = -1;

void session_not_for_server(int fd)
{
	not_for_server = fd;
}

static int start_server(pid_t *pid)
{
	int cfd, fd = fork_channel(pid, &cfd);

	if (fd == -2) {
		static const struct server_opts none = { .local = 1 };

		/* A lock the client holds dies with the client, not with this child. */
		if (not_for_server >= 0)
			close(not_for_server);
		_exit(server_main(cfd, cfd, &none));
	}
	return fd;
}

/* ssh HOST REMOTE_CMD --server, or the -e command in its place. */
static int start_remote(const struct opts *o, const char *host, pid_t *pid)
{
	char **words, **argv;
	int n, fd;

	words = remote_split(o->rsh ? o->rsh : "ssh", &n);
	if (!words) {
		error("-e/--rsh '%s': empty command or unbalanced quote", o->rsh ? o->rsh : "");
		return -1;
	}
	argv = xmalloc(sizeof(char *) * ((size_t)n + 4));
	memcpy(argv, words, sizeof(char *) * (size_t)n);
	argv[n] = (char *)host;
	argv[n + 1] = (char *)(o->remote_cmd ? o->remote_cmd : "shelter");
	argv[n + 2] = (char *)"--server";
	argv[n + 3] = NULL;
	fd = remote_spawn(argv, pid);
	free(argv);
	remote_argv_free(words);
	return fd;
}

/*
 * Wait for the server (or ssh); explain how it ended when the pass could not
 * start. KILLED: this process stopped it (after a timeout), nothing to say.
 */
static int wait_server(pid_t pid, int code, const char *host, int started, int killed)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return code;
	if (killed)
		return code;
	if (WIFSIGNALED(status)) {
		error("the %s process was killed by signal %d (%s)", host ? "ssh" : "server",
		      WTERMSIG(status), strsignal(WTERMSIG(status)));
		return exit_worse(code, EXIT_CONNECTION);
	}
	if (host && !started && WIFEXITED(status)) {
		if (WEXITSTATUS(status) == 255)
			error("ssh could not connect to %s or log in (ssh's own message is above)", host);
		else if (WEXITSTATUS(status) == 127)
			error("shelter is not installed on %s, or not on the remote PATH (the remote "
			      "shell exited 127); install it there or name it with --remote-cmd", host);
		else if (WEXITSTATUS(status))
			error("the remote command on %s exited %d before the handshake", host,
			      WEXITSTATUS(status));
	}
	return code;
}

int session_open(const struct opts *o, const char *host, struct start *st, struct conn *cn)
{
	char why[WHYLEN];
	struct buf b = BUF_INIT;
	const unsigned char *p;
	size_t n, i;
	uint8_t t;
	int code, k;

	memset(cn, 0, sizeof(*cn));
	session_signals();
	cn->host = host;
	peer_host = host;
	cn->fd = host ? start_remote(o, host, &cn->pid) : start_server(&cn->pid);
	if (cn->fd < 0) {
		peer_host = NULL;
		return EXIT_CONNECTION;
	}
	chan_init(&cn->c, cn->fd, cn->fd);
	chan_set_timeout(&cn->c, o->timeout);
	send_hello(&cn->c);
	st->timeout = o->timeout;
	st->verbosity = (uint8_t)o->verbosity;
	st->npatterns = (uint32_t)exclude_count(o->excludes);
	st->patterns = xmalloc(sizeof(char *) * (st->npatterns + 1));
	for (i = 0; i < st->npatterns; i++)
		st->patterns[i] = (char *)exclude_pattern(o->excludes, i);
	start_encode(&b, st);
	free(st->patterns);
	st->patterns = NULL;
	chan_send(&cn->c, F_START, b.data, b.len);
	buf_release(&b);
	code = recv_hello(&cn->c, why, sizeof(why));
	if (code && !(host && code == EXIT_CONNECTION))
		error("%s", why);
	if (code)
		return code;
	cn->started = 1;
	do {
		/* Warnings the server had while it set up (a restore reading history). */
		if (chan_recv(&cn->c, &t, &p, &n, 1) < 0)
			return cn->c.eof ? EXIT_CONNECTION : EXIT_PROTOCOL;
	} while (t == F_MSG && role_common_frame(t, p, n, &k) == 1);
	if (t == F_MSG)
		return k;
	if (t == F_ERROR) {
		role_common_frame(t, p, n, &k);
		return peer_code(k);
	}
	if (t != F_READY) {
		error("protocol error: expected READY, got %s", frame_name(t));
		return EXIT_PROTOCOL;
	}
	chan_keepalive(&cn->c);
	return 0;
}

int session_close(struct conn *cn, int code)
{
	chan_keepalive(NULL);
	if (cn->fd < 0 || !cn->pid)
		return code;
	close(cn->fd);
	if (cn->c.timed_out) {
		kill(cn->pid, SIGTERM);
		code = EXIT_TIMEOUT;
	}
	code = wait_server(cn->pid, code, cn->host, cn->started, cn->c.timed_out);
	chan_release(&cn->c);
	peer_host = NULL;
	cn->fd = -1;
	return code;
}

/* One backup pass. *REACHED: the server answered READY (the pass started). */
static int backup_once(const struct opts *o, const char *src, const char *dest,
		       struct runcounts *out, int *reached)
{
	char why[WHYLEN], *host = NULL, *rpath = NULL, *dest_abs = NULL;
	char rlocal[PATH_MAX];
	struct start st;
	struct role_args ra;
	struct stats stats;
	struct chan c;
	struct buf b = BUF_INIT;
	int code, fd, root_fd = -1, pull = 0, started = 0, made_dest = 0, ready = 0;
	size_t i;
	pid_t pid;

	session_signals();
	if (remote_parse(src, &host, &rpath)) {
		/* Pull: the server sends, this process receives into DEST. */
		pull = 1;
		code = check_dest(dest, rlocal);
		if (code)
			goto out;
		root_fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (root_fd < 0 && errno == ENOENT && !(o->flags & OPT_DRY_RUN)) {
			if (mkdir(dest, 0777) < 0) {
				error("DEST %s: cannot create it: %s", dest, strerror(errno));
				code = EXIT_DEST_IO;
				goto out;
			}
			made_dest = 1;
			root_fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		}
		if (root_fd < 0 && !(errno == ENOENT && (o->flags & OPT_DRY_RUN))) {
			error("DEST %s: %s", dest, strerror(errno));
			code = EXIT_ROOTS;
			goto out;
		}
	} else if (remote_parse(dest, &host, &rpath)) {
		code = check_src(src, rlocal);
		if (code)
			goto out;
	} else {
		code = check_roots(src, dest, &dest_abs);
		if (code)
			goto out;
	}
	if (!pull) {
		root_fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (root_fd < 0) {
			error("SRC %s: %s", src, strerror(errno));
			code = EXIT_ROOTS;
			goto out;
		}
	}
	peer_host = host;
	fd = host ? start_remote(o, host, &pid) : start_server(&pid);
	if (fd < 0) {
		code = EXIT_CONNECTION;
		goto out;
	}
	chan_init(&c, fd, fd);
	chan_set_timeout(&c, o->timeout);
	send_hello(&c);
	memset(&st, 0, sizeof(st));
	st.role = pull ? ROLE_SENDER : ROLE_RECEIVER;
	st.flags = o->flags;
	st.verbosity = (uint8_t)o->verbosity;
	st.timeout = o->timeout;
	/* An empty remote path is the remote home directory, as with rsync. */
	st.root = host ? (*rpath ? rpath : (char *)".") : dest_abs;
	st.npatterns = (uint32_t)exclude_count(o->excludes);
	st.patterns = xmalloc(sizeof(char *) * (st.npatterns + 1));
	for (i = 0; i < st.npatterns; i++)
		st.patterns[i] = (char *)exclude_pattern(o->excludes, i);
	if (!pull && retention_any(&o->keep)) {
		st.flags |= OPT_KEEP;	/* the server's receiver prunes */
		st.keep = o->keep;
	}
	start_encode(&b, &st);
	free(st.patterns);
	chan_send(&c, F_START, b.data, b.len);
	buf_release(&b);
	code = recv_hello(&c, why, sizeof(why));
	if (code && !(host && code == EXIT_CONNECTION))
		error("%s", why);	/* for ssh, wait_server says why */
	if (!code) {
		const unsigned char *p;
		size_t n;
		uint8_t t;
		int k;

		started = 1;
		if (chan_recv(&c, &t, &p, &n, 1) < 0) {
			code = c.eof ? EXIT_CONNECTION : EXIT_PROTOCOL;
		} else if (t == F_ERROR) {
			role_common_frame(t, p, n, &k);
			code = k;
		} else if (t != F_READY) {
			error("protocol error: expected READY, got %s", frame_name(t));
			code = EXIT_PROTOCOL;
		} else {
			ready = *reached = 1;
		}
	}
	if (!code) {
		memset(&ra, 0, sizeof(ra));
		ra.c = &c;
		ra.root_fd = root_fd;
		ra.root_name = pull ? dest : src;
		ra.flags = o->flags;
		ra.ex = o->excludes;
		ra.in_client = 1;
		ra.keep = pull && retention_any(&o->keep) ? &o->keep : NULL;
		memset(&stats, 0, sizeof(stats));
		progress_enable(o->progress);
		chan_keepalive(&c);
		code = pull ? receiver_run(&ra, &stats) : sender_run(&ra, &stats);
		chan_keepalive(NULL);
		progress_end();
		if (o->stats)
			report_stats(&stats, c.sent, c.received);
		if (out) {
			out->known = 1;
			out->s = stats;
		}
	}
	if (out && started) {
		out->wire_known = 1;
		out->wire_sent = c.sent;
		out->wire_received = c.received;
	}
	close(fd);
	if (c.timed_out) {
		/* A hung peer may never read its EOF. */
		kill(pid, SIGTERM);
		code = EXIT_TIMEOUT;
	}
	code = wait_server(pid, code, host, started, c.timed_out);
	chan_release(&c);
out:
	peer_host = NULL;
	if (root_fd >= 0)
		close(root_fd);
	/* A pull that never started (bad remote SRC, no connection) leaves no
	 * DEST behind, as a local pass with a bad SRC creates none. */
	if (made_dest && !ready)
		rmdir(dest);
	free(dest_abs);
	free(host);
	free(rpath);
	return code;
}

/*
 * A pass that lost its connection or timed out after it had started is run
 * again, up to --retries times, after --retry-wait seconds, doubling each
 * time (capped at an hour). Files already installed are skipped by the
 * quick check; a file cut in the middle resumes from what arrived
 * (partial.h). A pass that never reached its server (a wrong host, a key
 * refused, no shelter there) is not retried: that is not transient.
 */
int session_retry(const struct opts *o, session_pass_fn *pass, const char *a, const char *b,
		  struct runcounts *out)
{
	unsigned attempt = 0, wait = o->retry_wait;
	int code;

	for (;;) {
		int reached = 0;

		code = pass(o, a, b, out, &reached);
		if (!reached || (code != EXIT_CONNECTION && code != EXIT_TIMEOUT) ||
		    attempt >= o->retries)
			return code;
		attempt++;
		warning("the pass ended with exit %d (%s); retrying in %u s (retry %u of %u)", code,
			code == EXIT_TIMEOUT ? "timeout" : "connection lost", wait, attempt, o->retries);
		if (wait)
			sleep(wait);
		wait = wait > MAX_RETRY_WAIT / 2 ? MAX_RETRY_WAIT : wait * 2;
	}
}

int client_backup(const struct opts *o, const char *src, const char *dest,
		  struct runcounts *out)
{
	return session_retry(o, backup_once, src, dest, out);
}

/* ---- the server ------------------------------------------------------------------- */

static void server_sink(enum log_kind kind, const char *text, void *arg)
{
	struct chan *c = arg;
	struct buf b = BUF_INIT;

	msg_encode(&b, (uint8_t)kind, text);
	chan_send(c, F_MSG, b.data, b.len);
	buf_release(&b);
}

static int server_fail(struct chan *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int server_fail(struct chan *c, int code, const char *fmt, ...)
{
	char text[MAX_MSG_LEN];
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	msg_encode(&b, (uint8_t)code, text);
	chan_send(c, F_ERROR, b.data, b.len);
	buf_release(&b);
	chan_flush(c, 1);
	return code;
}

/*
 * Under --restrict DIR: the root START names is taken inside DIR whatever
 * it looks like ("/x" and "x" are both DIR/x, "" and "." DIR itself), with
 * no "..", and resolved beneath DIR with no symlink on any component, so a
 * client can reach nothing outside DIR. A missing last component is
 * created for a receiver, as without --restrict.
 */
static int open_restricted(struct chan *c, const struct start *st, const char *dir, int *fd)
{
	const char *what = st->role == ROLE_SENDER ? "SRC" : st->role == ROLE_SYNC ? "ROOT" : "DEST",
		   *base;
	int create = st->role == ROLE_RECEIVER ||
		     (st->role == ROLE_SYNC && (st->flags & OPT_CREATE_ROOT));
	char why[WHYLEN], *rel;
	struct beneath b;
	size_t len;
	int dir_fd, pfd, code = 0;

	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return server_fail(c, EXIT_ROOTS, "the server's --restrict directory %s: %s (fix the "
				   "command in authorized_keys)", dir, strerror(errno));
	rel = xstrdup(st->root + strspn(st->root, "/"));
	len = strlen(rel);
	while (len && rel[len - 1] == '/')
		rel[--len] = '\0';
	if (len == 0 || strcmp(rel, ".") == 0) {
		*fd = dir_fd;
		free(rel);
		return 0;
	}
	if (strncmp(rel, "./", 2) == 0)
		memmove(rel, rel + 2, (len -= 2) + 1);
	if (path_valid(rel, len, why, sizeof(why))) {
		code = server_fail(c, EXIT_ROOTS, "%s %s: not allowed on this server, which is "
				   "restricted to one directory (--restrict): %s", what, st->root, why);
		goto out;
	}
	beneath_init(&b, dir_fd);
	pfd = beneath_parent(&b, rel, &base);
	*fd = pfd < 0 ? -1 : open_dir_at(pfd, base);
	if (*fd < 0 && errno == ENOENT && pfd >= 0 && create && !(st->flags & OPT_DRY_RUN)) {
		if (mkdirat(pfd, base, 0777) < 0 && errno != EEXIST)
			code = server_fail(c, EXIT_DEST_IO, "%s %s: cannot create it: %s", what,
					   st->root, strerror(errno));
		else
			*fd = open_dir_at(pfd, base);
	}
	if (*fd < 0 && !code && !(errno == ENOENT && pfd >= 0 && create))
		code = server_fail(c, EXIT_ROOTS, "%s %s: %s%s", what, st->root, strerror(errno),
				   errno == ELOOP ? " (a symlink: not followed on a restricted server)"
						  : "");
	beneath_release(&b);
out:
	free(rel);
	close(dir_fd);
	return code;
}

/* Open (and as receiver create) the root START names. */
static int open_root(struct chan *c, const struct start *st, const struct server_opts *so,
		     int *fd)
{
	const char *what = st->role == ROLE_SENDER ? "SRC" : st->role == ROLE_SYNC ? "ROOT" : "DEST";
	int create = st->role == ROLE_RECEIVER ||
		     (st->role == ROLE_SYNC && (st->flags & OPT_CREATE_ROOT));

	*fd = -1;
	if (so->read_only && st->role == ROLE_RECEIVER)
		return server_fail(c, EXIT_ROOTS, "DEST %s: this server is read-only (--read-only): "
				   "it can be the SRC of a pull, never a DEST", st->root);
	if (so->read_only && st->role == ROLE_PRUNE)
		return server_fail(c, EXIT_ROOTS, "DEST %s: this server is read-only (--read-only): "
				   "prune removes history", st->root);
	if (so->read_only && st->role == ROLE_SYNC)
		return server_fail(c, EXIT_ROOTS, "ROOT %s: this server is read-only (--read-only): "
				   "a sync writes to both sides", st->root);
	if (so->restrict_dir)
		return open_restricted(c, st, so->restrict_dir, fd);
	*fd = open(st->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	if (errno == ENOENT && create) {
		if (st->flags & OPT_DRY_RUN && st->role == ROLE_RECEIVER)
			return 0;	/* nothing to compare with; -1 means empty */
		if (mkdir(st->root, 0777) < 0)
			return server_fail(c, errno == ENOENT ? EXIT_ROOTS : EXIT_DEST_IO,
					   "%s %s: cannot create it: %s", what, st->root, strerror(errno));
		*fd = open(st->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (*fd >= 0)
			return 0;
	}
	return server_fail(c, EXIT_ROOTS, "%s %s: %s", what, st->root, strerror(errno));
}

/*
 * A restore's root is DEST[/PATH] (doc/protocol.md, "Restore"): split where
 * .shelter is, as `shelter restore` does, open DEST (beneath --restrict's
 * directory, like any root) and make the plan. Returns an exit code.
 */
static int open_restore(struct chan *c, const struct start *st, const struct server_opts *so,
			int *fd, struct restore_src **src, unsigned *problems)
{
	struct timespec at = { .tv_sec = st->at_sec, .tv_nsec = st->at_nsec };
	char why[WHYLEN], *arg, *dest = NULL, *path = NULL;
	int code = 0;

	*fd = -1;
	if (so->restrict_dir) {
		const char *rel = st->root + strspn(st->root, "/");

		arg = xmalloc(strlen(so->restrict_dir) + strlen(rel) + 2);
		sprintf(arg, "%s/%s", so->restrict_dir, rel);
	} else {
		arg = xstrdup(st->root);
	}
	if (hist_split(arg, &dest, &path)) {
		code = server_fail(c, EXIT_ROOTS, "restore %s: not DEST[/PATH] (see above)", st->root);
		goto out;
	}
	if (so->restrict_dir) {
		struct start sub = *st;

		/* DEST starts with the directory: what follows is taken inside it. */
		sub.root = dest + strlen(so->restrict_dir);
		code = open_restricted(c, &sub, so->restrict_dir, fd);
	} else if ((*fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		code = server_fail(c, EXIT_ROOTS, "DEST %s: %s", dest, strerror(errno));
	}
	if (!code) {
		*src = restore_src_new(*fd, st->root, path, st->has_at ? &at : NULL, problems, why,
				       sizeof(why));
		if (!*src)
			code = server_fail(c, EXIT_ROOTS, "%s", why);
	}
out:
	free(arg);
	free(dest);
	free(path);
	return code;
}

/* 1 if the directory FD holds nothing. */
static int dir_empty(int fd)
{
	int dup_fd = dup(fd), empty = 1;
	struct dirent *de;
	DIR *d;

	if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
		if (dup_fd >= 0)
			close(dup_fd);
		return 0;
	}
	while (empty && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

/*
 * Roles 5 and 6 (doc/protocol.md, "Prune and verify"): the server does the
 * work on its DEST, its output and messages going as MSG frames, then sends
 * DONE with the exit code and waits for the client's DONE.
 */
static int serve_dest_command(struct chan *c, const struct start *st, int root_fd)
{
	struct buf b = BUF_INIT;
	const unsigned char *p;
	size_t n;
	uint8_t t;
	int code;

	if (st->role == ROLE_PRUNE)
		code = prune_run(root_fd, st->root, &st->keep, !!(st->flags & OPT_DRY_RUN),
				 st->verbosity >= 2);
	else
		code = verify_dest(root_fd, st->verbosity >= 2);
	done_encode(&b, (uint8_t)code, &(struct stats){ 0 });
	chan_send(c, F_DONE, b.data, b.len);
	buf_release(&b);
	if (chan_flush(c, 1) == 0)
		while (chan_recv(c, &t, &p, &n, 1) == 0 && t != F_DONE)
			;
	return code;
}

int session_remote_command(const struct opts *o, const char *host, struct start *st)
{
	struct buf b = BUF_INIT;
	struct conn cn;
	const unsigned char *p;
	size_t n;
	uint8_t t;
	int code, k;

	code = session_open(o, host, st, &cn);
	while (!code) {
		if (chan_recv(&cn.c, &t, &p, &n, 1) < 0) {
			code = cn.c.eof ? EXIT_CONNECTION : EXIT_PROTOCOL;
			break;
		}
		if (t == F_DONE) {
			uint8_t rc;
			struct stats none;

			if (done_decode(p, n, &rc, &none) || peer_code(rc) != rc) {
				error("protocol error: malformed DONE");
				code = EXIT_PROTOCOL;
				break;
			}
			done_encode(&b, EXIT_OK, &(struct stats){ 0 });
			chan_send(&cn.c, F_DONE, b.data, b.len);
			chan_flush(&cn.c, 1);
			code = rc;
			break;
		}
		k = role_common_frame(t, p, n, &code);
		if (k < 0)
			break;
		if (k == 0) {
			error("protocol error: unexpected %s frame", frame_name(t));
			code = EXIT_PROTOCOL;
		}
	}
	buf_release(&b);
	return session_close(&cn, code);
}

int remote_dest_command(const struct opts *o, int role, const char *arg,
			const struct keep_rules *keep, int dry, int verbose)
{
	char *host = NULL, *rpath = NULL;
	struct opts oo = *o;
	struct start st;
	int code;

	remote_parse(arg, &host, &rpath);
	oo.excludes = exclude_new();
	oo.verbosity = verbose ? 2 : 1;
	memset(&st, 0, sizeof(st));
	st.role = (uint8_t)role;
	st.root = *rpath ? rpath : (char *)".";
	st.flags = dry ? OPT_DRY_RUN : 0;
	if (keep) {
		st.flags |= OPT_KEEP;
		st.keep = *keep;
	}
	session_signals();
	code = session_remote_command(&oo, host, &st);
	exclude_free(oo.excludes);
	free(host);
	free(rpath);
	return code;
}

int server_main(int in_fd, int out_fd, const struct server_opts *so)
{
	struct restore_src *rsrc = NULL;
	unsigned problems = 0;
	char why[WHYLEN];
	struct role_args ra;
	struct stats stats;
	struct start st;
	struct exclude *ex;
	struct chan c;
	const unsigned char *p;
	size_t n;
	uint8_t t;
	int code, root_fd = -1;
	uint32_t i;

	session_signals();
	chan_init(&c, in_fd, out_fd);
	chan_set_timeout(&c, DEFAULT_TIMEOUT);	/* until START names the client's */
	log_set_sink(server_sink, &c);
	send_hello(&c);
	memset(&st, 0, sizeof(st));
	ex = NULL;
	code = recv_hello(&c, why, sizeof(why));
	if (code) {
		server_fail(&c, code, "%s", why);
		goto out;
	}
	if (chan_recv(&c, &t, &p, &n, 1) < 0) {
		code = EXIT_CONNECTION;
		goto out;
	}
	if (t != F_START || start_decode(p, n, &st, why, sizeof(why))) {
		code = server_fail(&c, EXIT_PROTOCOL, "protocol error from the client: %s",
				   t != F_START ? "expected START" : why);
		goto out;
	}
	log_verbosity = st.verbosity;
	chan_set_timeout(&c, st.timeout);
	report_setup(!!(st.flags & OPT_ITEMIZE), st.verbosity);
	ex = exclude_new();
	for (i = 0; i < st.npatterns; i++)
		if (exclude_add(ex, st.patterns[i])) {
			code = server_fail(&c, EXIT_PROTOCOL, "protocol error from the client: bad "
					   "exclude pattern");
			goto out;
		}
	if (st.role == ROLE_RESTORE)
		code = open_restore(&c, &st, so, &root_fd, &rsrc, &problems);
	else
		code = open_root(&c, &st, so, &root_fd);
	if (!code && st.role == ROLE_RECEIVER && (st.flags & OPT_RESTORE) &&
	    !(st.flags & OPT_IN_PLACE) && root_fd >= 0 && !dir_empty(root_fd))
		code = server_fail(&c, EXIT_ROOTS, "TARGET %s exists and is not empty: restore into a "
				   "new or empty directory, or add --in-place to restore over what is "
				   "there (what it replaces is kept under TARGET/.shelter/history/)",
				   st.root);
	if (code)
		goto out;
	{
		struct buf b = BUF_INIT;

		buf_put_u32(&b, geteuid() == 0 ? 1u : 0u);
		chan_send(&c, F_READY, b.data, b.len);
		buf_release(&b);
		/* Out now: the client waits for it before it starts its own work. */
		chan_flush(&c, 0);
	}
	memset(&ra, 0, sizeof(ra));
	ra.c = &c;
	ra.root_fd = root_fd;
	ra.root_name = st.root;
	ra.flags = st.flags;
	ra.ex = ex;
	ra.sync = st.role == ROLE_RECEIVER && (st.flags & OPT_RESTORE);
	ra.rsrc = rsrc;
	ra.start_code = problems ? EXIT_PARTIAL : EXIT_OK;
	/* Retention is the receiver's, and only with a rule (none would keep one snapshot). */
	ra.keep = (st.flags & OPT_KEEP) && retention_any(&st.keep) ? &st.keep : NULL;
	chan_keepalive(&c);
	if (st.role == ROLE_SYNC)
		code = root_fd < 0 ? EXIT_ROOTS : syncpeer_serve(&c, root_fd, st.root, st.flags, ex,
								 so->local);
	else if (st.role == ROLE_RECEIVER)
		code = receiver_run(&ra, &stats);
	else if (st.role == ROLE_PRUNE || st.role == ROLE_VERIFY)
		code = root_fd < 0 ? EXIT_ROOTS : serve_dest_command(&c, &st, root_fd);
	else
		code = sender_run(&ra, &stats);
	chan_keepalive(NULL);
	chan_flush(&c, 1);
out:
	if (c.timed_out)
		code = EXIT_TIMEOUT;
	restore_src_free(rsrc);
	if (root_fd >= 0)
		close(root_fd);
	exclude_free(ex);
	start_release(&st);
	chan_release(&c);
	return code;
}
