/*
 * sender.c - the sender role: list SRC, then answer the receiver's
 * requests with whole files or librsync deltas, each followed by the
 * XXH3-128 of what was read.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "bounds.h"
#include "exclude.h"
#include "exitcode.h"
#include "hash.h"
#include "log.h"
#include "opts.h"
#include "path.h"
#include "plan.h"
#include "proto.h"
#include "report.h"
#include "role.h"
#include "restore.h"
#include "rsx.h"
#include "scan.h"

struct sender {
	const struct role_args *a;
	struct chan *c;
	struct beneath bn;
	uint32_t next_id;
	int code;
	int done;		/* DONE received */
	int planned;		/* PLAN received */
	struct stats peer_stats;
	struct buf data;	/* DATA bytes not yet framed */
	size_t try_at;		/* queued listing bytes at which to write and poll next */
	struct entry_ctx ectx;	/* the previous ENTRY sent (version 2 encoding) */
};

#define WHYLEN 512

static int proto_fail(struct sender *s, const char *what)
{
	s->code = EXIT_PROTOCOL;
	return error("protocol error from the receiver: %s", what);
}

/*
 * A path the listing can never hold: below the top-level .shelter, or
 * excluded (itself, or a directory above it). A receiver asking for one is
 * reaching for what the user kept out of the backup.
 */
static int never_listed(const struct sender *s, const char *path)
{
	if (!strncmp(path, ".shelter", 8) && (path[8] == '\0' || path[8] == '/'))
		return 1;
	return exclude_hides(s->a->ex, path, 0);	/* a REQ is for a file */
}

static void flush_data(struct sender *s)
{
	if (s->data.len) {
		chan_send(s->c, F_DATA, s->data.data, s->data.len);
		buf_reset(&s->data);
	}
}

/* Sink for file bytes and deltas: frame them, keep the queue short. */
static int data_sink(void *arg, const void *p, size_t n)
{
	struct sender *s = arg;

	while (n) {
		size_t room = IO_CHUNK - s->data.len, take = n < room ? n : room;

		buf_put(&s->data, p, take);
		p = (const char *)p + take;
		n -= take;
		if (s->data.len == IO_CHUNK)
			flush_data(s);
	}
	if (chan_pending(s->c) > (1u << 20) && chan_flush(s->c, 1))
		return -1;
	return 0;
}

static void send_status(struct sender *s, uint32_t id, uint8_t status, const char *reason)
{
	struct buf b = BUF_INIT;
	struct file_hdr f = { .id = id, .status = status, .reason = (char *)reason };

	file_encode(&b, &f);
	chan_send(s->c, F_FILE, b.data, b.len);
	buf_release(&b);
}

static int same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec && a->st_ino == b->st_ino;
}

/* Send one file: FILE, DATA..., FILE_END. A local failure is a status, not an abort. */
static int serve(struct sender *s, const struct req *q, const struct buf *sig)
{
	char why[WHYLEN];
	const char *base;
	struct rsx *job = NULL;
	struct hasher *h = NULL;
	unsigned char *chunk = NULL;
	struct stat st, st2;
	struct file_hdr fh;
	struct file_end fe;
	struct restore_file rf = { .fd = -1 };
	struct buf b = BUF_INIT;
	uint64_t off = 0;
	int dirfd, fd = -1, ret = -1;

	if (s->a->rsrc) {
		/* A restore: the version the plan chose, from the mirror or the history. */
		if (restore_src_open(s->a->rsrc, q->path, &rf) < 0) {
			if (errno == ENOENT) {
				snprintf(why, sizeof(why), "request for %s, which the restore did not "
					 "list as a file", q->path);
				return proto_fail(s, why);
			}
			send_status(s, q->id, FILE_UNREADABLE, strerror(errno));
			s->code = exit_worse(s->code, EXIT_PARTIAL);
			return 0;
		}
		fd = rf.fd;
	} else {
		dirfd = beneath_parent(&s->bn, q->path, &base);
		if (dirfd >= 0)
			fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC |
				    O_NONBLOCK);
	}
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = fd < 0 ? errno : EINVAL;

		if (e == ENOENT || e == ENOTDIR || e == ELOOP || (fd >= 0 && e == EINVAL)) {
			warning("%s vanished before it could be sent", q->path);
			send_status(s, q->id, FILE_VANISHED, "vanished");
			s->code = exit_worse(s->code, EXIT_VANISHED);
		} else {
			error("cannot read %s: %s", q->path, strerror(e));
			send_status(s, q->id, FILE_UNREADABLE, strerror(e));
			s->code = exit_worse(s->code, EXIT_PARTIAL);
		}
		if (fd >= 0)
			close(fd);
		free(rf.where);
		return 0;
	}
	if (q->has_sig) {
		job = rsx_delta_new(sig->data, sig->len, q->basis_size, data_sink, s, why, sizeof(why));
		if (!job) {
			close(fd);
			free(rf.where);
			return proto_fail(s, why);
		}
	}
	memset(&fh, 0, sizeof(fh));
	fh.id = q->id;
	fh.status = FILE_OK;
	fh.encoding = job ? ENC_DELTA : ENC_RAW;
	fh.size = (uint64_t)st.st_size;
	fh.mtime_sec = st.st_mtim.tv_sec;
	fh.mtime_nsec = (uint32_t)st.st_mtim.tv_nsec;
	fh.mode = st.st_mode & 07777;
	if (s->a->rsrc) {
		/* A kept version comes back with the metadata its record holds. */
		fh.mtime_sec = rf.mtime.tv_sec;
		fh.mtime_nsec = (uint32_t)rf.mtime.tv_nsec;
		fh.mode = rf.mode & 07777;
	}
	file_encode(&b, &fh);
	chan_send(s->c, F_FILE, b.data, b.len);
	buf_reset(&b);

	h = hasher_new();
	chunk = xmalloc(IO_CHUNK);
	memset(&fe, 0, sizeof(fe));
	for (;;) {
		ssize_t n = pread(fd, chunk, IO_CHUNK, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* The FILE header is out: end the file with a hash that cannot match. */
			error("read %s: %s", q->path, strerror(errno));
			s->code = exit_worse(s->code, EXIT_PARTIAL);
			fe.changed = 1;
			break;
		}
		/* Never send more than announced: a growing file is "changed". */
		if ((uint64_t)n > fh.size - off)
			n = (ssize_t)(fh.size - off);
		if (n > 0)
			hasher_update(h, chunk, (size_t)n);
		if (job) {
			int r = rsx_feed(job, chunk, (size_t)n, n == 0, why, sizeof(why));

			if (r < 0) {
				/* A lost connection was reported by the sink already. */
				if (s->c->eof) {
					s->code = exit_worse(s->code, EXIT_CONNECTION);
				} else {
					error("delta of %s: %s", q->path, why);
					s->code = exit_worse(s->code, EXIT_INTERNAL);
				}
				goto out;
			}
		} else if (n > 0 && data_sink(s, chunk, (size_t)n)) {
			s->code = exit_worse(s->code, EXIT_CONNECTION);
			goto out;
		}
		if (n == 0)
			break;
		off += (uint64_t)n;
		progress_add((uint64_t)n);
		chan_tick();
	}
	flush_data(s);
	if (fstat(fd, &st2) < 0 || !same_stat(&st, &st2) || off != fh.size)
		fe.changed = 1;
	hasher_final(h, fe.hash);
	if (rf.has_hash && !fe.changed && (off != rf.size || memcmp(fe.hash, rf.hash, HASH_LEN))) {
		/* The receiver checks what it got against the record: it will refuse it. */
		error("%s: DEST/%s does not match the XXH3-128 its history index records (the kept "
		      "copy is damaged); not restored", q->path, rf.where);
		s->code = exit_worse(s->code, EXIT_PARTIAL);
		memcpy(fe.hash, rf.hash, HASH_LEN);
	}
	if (job)
		rsx_counts(job, &fe.literal, &fe.matched);
	else
		fe.literal = off;
	file_end_encode(&b, &fe);
	chan_send(s->c, F_FILE_END, b.data, b.len);
	ret = 0;
out:
	buf_release(&b);
	free(chunk);
	hasher_free(h);
	rsx_free(job);
	close(fd);
	free(rf.where);
	return ret;
}

/* Read a REQ's signature frames into SIG, bounded by what the basis needs. */
static int read_sig(struct sender *s, const struct req *q, struct buf *sig)
{
	uint64_t want = rsx_sig_len(q->basis_size);

	if (q->basis_size > MAX_DELTA_BASIS || want > MAX_SIG_LEN)
		return proto_fail(s, "signature would exceed the size limit");
	for (;;) {
		const unsigned char *p;
		size_t n;
		uint8_t t;
		int code;

		if (chan_recv(s->c, &t, &p, &n, 1) < 0)
			return s->code = exit_worse(s->code, s->c->eof ? EXIT_CONNECTION : EXIT_PROTOCOL), -1;
		if (t == F_SIG) {
			if (n == 0 || sig->len + n > want)
				return proto_fail(s, "signature longer than its basis allows");
			buf_put(sig, p, n);
		} else if (t == F_SIG_END) {
			struct rd r;
			uint64_t total;

			rd_init(&r, p, n);
			if (rd_u64(&r, &total) || rd_end(&r) || total != sig->len)
				return proto_fail(s, "SIG_END does not match the signature sent");
			return 0;
		} else {
			int c = role_common_frame(t, p, n, &code);

			if (c < 0) {
				s->code = peer_code(code);
				return -1;
			}
			if (c == 0)
				return proto_fail(s, "unexpected frame inside a signature");
		}
	}
}

static int handle(struct sender *s, uint8_t t, const unsigned char *p, size_t n)
{
	char why[WHYLEN];
	int code, c;

	if (t == F_REQ) {
		struct req q;
		struct buf sig = BUF_INIT;
		int r;

		if (req_decode(p, n, &q, why, sizeof(why)))
			return proto_fail(s, why);
		if (q.id != s->next_id) {
			free(q.path);
			return proto_fail(s, "request out of order");
		}
		s->next_id++;
		if (never_listed(s, q.path)) {
			snprintf(why, sizeof(why), "request for %s, which is never listed (excluded, "
				 "or below .shelter)", q.path);
			free(q.path);
			return proto_fail(s, why);
		}
		r = q.has_sig ? read_sig(s, &q, &sig) : 0;
		if (!r)
			r = serve(s, &q, &sig);
		buf_release(&sig);
		free(q.path);
		return r;
	}
	if (t == F_PLAN) {
		struct rd r;
		uint64_t bytes, files;

		rd_init(&r, p, n);
		if (rd_u64(&r, &bytes) || rd_u64(&r, &files) || rd_end(&r) || s->planned)
			return proto_fail(s, "malformed or repeated PLAN");
		s->planned = 1;
		progress_plan(bytes);
		return 0;
	}
	if (t == F_DONE) {
		uint8_t rc;

		if (done_decode(p, n, &rc, &s->peer_stats))
			return proto_fail(s, "malformed DONE");
		if (peer_code(rc) != rc) {
			snprintf(why, sizeof(why), "DONE with exit code %u, which shelter does not define",
				 rc);
			return proto_fail(s, why);
		}
		s->code = exit_worse(s->code, rc);
		s->done = 1;
		return 0;
	}
	c = role_common_frame(t, p, n, &code);
	if (c < 0) {
		s->code = peer_code(code);
		return -1;
	}
	if (c == 0) {
		snprintf(why, sizeof(why), "unexpected %s frame", frame_name(t));
		return proto_fail(s, why);
	}
	return 0;
}

/* Serve whatever requests are already buffered, without waiting. */
static int poll_requests(struct sender *s)
{
	const unsigned char *p;
	size_t n;
	uint8_t t;
	int r;

	while ((r = chan_recv(s->c, &t, &p, &n, 0)) == 1)
		if (handle(s, t, p, n) || s->done)
			return s->done ? proto_fail(s, "DONE before the listing ended") : -1;
	if (r < 0)
		s->code = exit_worse(s->code, s->c->eof ? EXIT_CONNECTION : EXIT_PROTOCOL);
	return r < 0 ? -1 : 0;
}

/* Stream one entry; between entries, serve what requests already came. */
static int send_entry(struct sender *s, struct buf *b, const struct entry *e, int checksum)
{
	buf_reset(b);
	entry_encode(b, e, checksum, &s->ectx);
	chan_send(s->c, F_ENTRY, b->data, b->len);
	if (chan_pending(s->c) > s->try_at) {
		if (chan_flush(s->c, 0) || poll_requests(s))
			return -1;
		if (chan_pending(s->c) > (4u << 20) && chan_flush(s->c, 1))
			return -1;
		/*
		 * While the peer is busy the write takes nothing: try again
		 * after another 64 KiB, not after every entry (W5 spent a
		 * failed write and a failed read on 45,000 entries).
		 */
		s->try_at = chan_pending(s->c) + (64u << 10);
		if (s->try_at < (256u << 10))
			s->try_at = 256u << 10;
	}
	return 0;
}

/* END_LIST: the count, then the root's own metadata (DEST mirrors SRC's root). */
static void send_end_list(struct sender *s, struct buf *b, uint64_t count)
{
	struct stat root;

	if (fstat(s->a->root_fd, &root) < 0)
		memset(&root, 0, sizeof(root));
	buf_reset(b);
	buf_put_u64(b, count);
	buf_put_u32(b, root.st_mode & 07777);
	buf_put_u32(b, root.st_uid);
	buf_put_u32(b, root.st_gid);
	buf_put_i64(b, root.st_mtim.tv_sec);
	buf_put_u32(b, (uint32_t)root.st_mtim.tv_nsec);
	chan_send(s->c, F_END_LIST, b->data, b->len);
}

/*
 * The entry PATH as it is now, or 0 (gone: the next pass will see it), or
 * -1 (an error, reported).
 */
static int plan_stat(struct sender *s, const char *path, struct entry *e)
{
	struct stat st;
	const char *base;
	int dirfd = beneath_parent(&s->bn, path, &base), r;

	if (dirfd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	r = entry_at(dirfd, base, path, e, &st);
	if (r < 0)
		error("%s: %s", path, strerror(errno));
	else if (r > 0 && e->type == 's')
		entry_release(e), r = 0;
	return r;
}

/*
 * Sync mode: list the plan's paths as they are now (doc/sync.md), each
 * after its parent directories, which go as context when the plan does not
 * name them.
 */
static int list_plan(struct sender *s)
{
	const struct plan *pl = s->a->plan;
	struct buf b = BUF_INIT;
	char **dirs = NULL;
	size_t ndirs = 0, i;
	uint64_t count = 0;
	int ret = 0;

	dirs = xmalloc(sizeof(*dirs) * (MAX_PATH_LEN / 2 + 2));
	for (i = 0; i < pl->n && !ret; i++) {
		const struct plan_item *it = &pl->v[i];
		size_t plen = path_parent_len(it->path, strlen(it->path)), at;
		struct entry e;
		int r;

		/* Pop what is not a parent of this path; list the parents not yet listed. */
		while (ndirs && !(strlen(dirs[ndirs - 1]) <= plen &&
				  path_is_within(dirs[ndirs - 1], it->path)))
			free(dirs[--ndirs]);
		at = ndirs ? strlen(dirs[ndirs - 1]) + 1 : 0;
		while (at < plen && !ret) {
			const char *slash = memchr(it->path + at, '/', plen - at);
			size_t end = slash ? (size_t)(slash - it->path) : plen;
			char *dir = xstrndup(it->path, end);

			r = plan_stat(s, dir, &e);
			if (r <= 0 || e.type != 'd') {
				if (r > 0)
					entry_release(&e);
				free(dir);
				break;	/* the item is skipped below */
			}
			e.flags = ENTRY_CONTEXT;
			ret = send_entry(s, &b, &e, 0);
			entry_release(&e);
			count++;
			dirs[ndirs++] = dir;
			at = end + 1;
		}
		if (ret || at < plen) {
			if (!ret)
				warning("%s: its directory changed during the pass; left for the next "
					"pass", it->path);
			continue;
		}
		if (it->op == PLAN_DELETE) {
			memset(&e, 0, sizeof(e));
			e.path = it->path;
			e.path_len = strlen(it->path);
			e.type = it->type;
			e.flags = ENTRY_DELETE;
			e.target = it->type == 'l' ? (char *)"-" : NULL;
			ret = send_entry(s, &b, &e, 0);
			count++;
			if (it->type == 'd')
				dirs[ndirs++] = xstrdup(it->path);	/* its deleted contents follow */
			continue;
		}
		r = plan_stat(s, it->path, &e);
		if (r <= 0) {
			if (r == 0)
				warning("%s vanished during the pass; left for the next pass", it->path);
			else
				s->code = exit_worse(s->code, EXIT_PARTIAL);
			continue;
		}
		if (e.type != it->type) {
			/* Decided for another kind of thing: the next pass decides anew. */
			warning("%s changed type during the pass; left for the next pass", it->path);
			entry_release(&e);
			continue;
		}
		if (it->op == PLAN_META)
			e.flags = ENTRY_META;
		ret = send_entry(s, &b, &e, 0);
		count++;
		if (e.type == 'd')
			dirs[ndirs++] = xstrdup(it->path);
		entry_release(&e);
	}
	while (ndirs)
		free(dirs[--ndirs]);
	free(dirs);
	if (!ret)
		send_end_list(s, &b, count);
	buf_release(&b);
	return ret;
}

/* A restore: the plan's items, in listing order (doc/protocol.md, "Restore"). */
static int list_restore(struct sender *s)
{
	size_t i, n = restore_src_count(s->a->rsrc);
	struct buf b = BUF_INIT;
	struct entry e;
	int ret = 0;

	for (i = 0; i < n && !ret; i++) {
		restore_src_entry(s->a->rsrc, i, &e);
		ret = send_entry(s, &b, &e, 0);
	}
	if (!ret)
		send_end_list(s, &b, n);
	buf_release(&b);
	return ret;
}

static int list(struct sender *s)
{
	struct scan *sc = scan_open(s->a->root_fd, s->a->ex, 0);
	int checksum = !!(s->a->flags & OPT_CHECKSUM);
	struct buf b = BUF_INIT;
	struct entry e;
	struct stat st;
	uint64_t count = 0;
	int ret = 0;

	if (scan_errors(sc))
		s->code = exit_worse(s->code, EXIT_PARTIAL);
	while (scan_next(sc, &e, &st)) {
		if (e.type == 'f' && checksum) {
			int fd = openat(scan_dirfd(sc), path_base(e.path),
					O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
			uint64_t size;

			if (fd < 0 || hash_fd(fd, e.hash, &size) < 0) {
				error("cannot read %s: %s", e.path, strerror(errno));
				if (fd >= 0)
					close(fd);
				s->code = exit_worse(s->code, EXIT_PARTIAL);
				continue;
			}
			close(fd);
		}
		count++;
		if (send_entry(s, &b, &e, checksum)) {
			ret = -1;
			break;
		}
	}
	if (scan_errors(sc))
		s->code = exit_worse(s->code, EXIT_PARTIAL);
	scan_close(sc);
	if (!ret)
		send_end_list(s, &b, count);
	buf_release(&b);
	return ret;
}

int sender_run(const struct role_args *a, struct stats *stats)
{
	struct sender s;
	struct buf b = BUF_INIT;

	memset(&s, 0, sizeof(s));
	s.a = a;
	s.c = a->c;
	s.next_id = 1;
	s.try_at = 256u << 10;
	s.code = a->start_code;
	beneath_init(&s.bn, a->root_fd);
	if ((a->rsrc ? list_restore(&s) : a->plan ? list_plan(&s) : list(&s)) == 0) {
		while (!s.done) {
			const unsigned char *p;
			size_t n;
			uint8_t t;

			if (chan_recv(s.c, &t, &p, &n, 1) < 0) {
				s.code = exit_worse(s.code, s.c->eof ? EXIT_CONNECTION : EXIT_PROTOCOL);
				break;
			}
			if (handle(&s, t, p, n))
				break;
		}
	}
	if (s.done) {
		done_encode(&b, (uint8_t)s.code, &(struct stats){ 0 });
		chan_send(s.c, F_DONE, b.data, b.len);
		chan_flush(s.c, 1);
	} else if (!s.c->eof) {
		buf_reset(&b);
		msg_encode(&b, (uint8_t)(s.code ? s.code : EXIT_INTERNAL), "sender stopped");
		chan_send(s.c, F_ERROR, b.data, b.len);
		chan_flush(s.c, 1);
	}
	buf_release(&b);
	buf_release(&s.data);
	beneath_release(&s.bn);
	*stats = s.peer_stats;
	return s.code;
}
