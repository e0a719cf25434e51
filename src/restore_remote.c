/*
 * restore_remote.c - `shelter restore` when DEST or TARGET is remote
 * (doc/protocol.md, "Restore"). The side that holds DEST sends the state
 * the plan chose (restore.c's restore source) through the usual sender; the
 * side that holds TARGET runs the receiver in restore mode: no scan of
 * TARGET, nothing deleted, what it replaces kept in TARGET/.shelter/.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exclude.h"
#include "exitcode.h"
#include "histindex.h"
#include "log.h"
#include "opts.h"
#include "proto.h"
#include "remote.h"
#include "restore.h"
#include "role.h"
#include "session.h"

#define WHYLEN 1024

static void role_defaults(struct role_args *ra, struct conn *cn, const struct opts *o)
{
	memset(ra, 0, sizeof(*ra));
	ra->c = &cn->c;
	ra->ex = o->excludes;
	ra->in_client = 1;
}

/* host:DEST[/PATH] into a local TARGET: the server sends, this side receives. */
static int restore_pull(const struct opts *o, const char *arg, const char *target,
			const struct timespec *t, uint32_t flags)
{
	char *host = NULL, *rpath = NULL;
	struct role_args ra;
	struct stats stats;
	struct start st;
	struct conn cn;
	int code, missing = 0, made = 0, fd = -1, dry = !!(flags & OPT_DRY_RUN);

	remote_parse(arg, &host, &rpath);
	code = restore_check_target(target, NULL, !!(flags & OPT_IN_PLACE), &missing);
	if (code)
		goto out;
	if (missing && !dry) {
		if (mkdir(target, 0777) < 0) {
			error("TARGET %s: cannot create it: %s", target, strerror(errno));
			code = EXIT_DEST_IO;
			goto out;
		}
		made = 1;
	}
	if (!missing || !dry) {
		fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			error("TARGET %s: %s", target, strerror(errno));
			code = EXIT_DEST_IO;
			goto out;
		}
	}
	memset(&st, 0, sizeof(st));
	st.role = ROLE_RESTORE;
	st.flags = flags & OPT_DRY_RUN;
	st.root = *rpath ? rpath : (char *)".";
	if (t) {
		st.has_at = 1;
		st.at_sec = t->tv_sec;
		st.at_nsec = (uint32_t)t->tv_nsec;
	}
	code = session_open(o, host, &st, &cn);
	if (!code) {
		role_defaults(&ra, &cn, o);
		ra.root_fd = fd;
		ra.root_name = target;
		ra.flags = flags;
		ra.sync = 1;
		code = receiver_run(&ra, &stats);
	}
	code = session_close(&cn, code);
	/* Nothing came (no such DEST, nothing at that time): no TARGET left behind. */
	if (made && code && code != EXIT_PARTIAL)
		rmdir(target);
out:
	if (fd >= 0)
		close(fd);
	free(host);
	free(rpath);
	return code;
}

/* A local DEST[/PATH] into host:TARGET: this side sends, the server receives. */
static int restore_push(const struct opts *o, const char *arg, const char *target,
			const struct timespec *t, uint32_t flags)
{
	char why[WHYLEN], *host = NULL, *rpath = NULL, *dest = NULL, *path = NULL;
	struct restore_src *src = NULL;
	struct role_args ra;
	struct stats stats;
	struct start st;
	struct conn cn;
	unsigned problems = 0;
	int code, fd = -1;

	remote_parse(target, &host, &rpath);
	if (hist_split(arg, &dest, &path)) {
		code = EXIT_USAGE;
		goto out;
	}
	fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		error("DEST %s: %s", dest, strerror(errno));
		code = EXIT_ROOTS;
		goto out;
	}
	src = restore_src_new(fd, arg, path, t, &problems, why, sizeof(why));
	if (!src) {
		error("%s", why);
		code = EXIT_ROOTS;
		goto out;
	}
	memset(&st, 0, sizeof(st));
	st.role = ROLE_RECEIVER;
	st.flags = flags;
	st.root = *rpath ? rpath : (char *)".";
	code = session_open(o, host, &st, &cn);
	if (!code) {
		role_defaults(&ra, &cn, o);
		ra.root_fd = fd;
		ra.root_name = dest;
		ra.flags = flags;
		ra.rsrc = src;
		ra.start_code = problems ? EXIT_PARTIAL : EXIT_OK;
		code = sender_run(&ra, &stats);
	}
	code = session_close(&cn, code);
out:
	restore_src_free(src);
	if (fd >= 0)
		close(fd);
	free(dest);
	free(path);
	free(host);
	free(rpath);
	return code;
}

int restore_remote(const struct opts *o, const char *arg, const char *target,
		   const struct timespec *t, int in_place)
{
	uint32_t flags = OPT_RESTORE | (in_place ? OPT_IN_PLACE : 0) | (o->flags & OPT_DRY_RUN);

	session_signals();
	if (is_remote_arg(arg))
		return restore_pull(o, arg, target, t, flags);
	return restore_push(o, arg, target, t, flags);
}
