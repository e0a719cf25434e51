/* proto.c - payload codecs (doc/protocol.md); see proto.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "opts.h"
#include "path.h"
#include "proto.h"

#define WHY(...) (snprintf(why, whylen, __VA_ARGS__), -1)

const char *frame_name(uint8_t type)
{
	switch (type) {
	case F_HELLO: return "HELLO";
	case F_START: return "START";
	case F_READY: return "READY";
	case F_ERROR: return "ERROR";
	case F_MSG: return "MSG";
	case F_NOOP: return "NOOP";
	case F_ENTRY: return "ENTRY";
	case F_END_LIST: return "END_LIST";
	case F_REQ: return "REQ";
	case F_SIG: return "SIG";
	case F_SIG_END: return "SIG_END";
	case F_PLAN: return "PLAN";
	case F_FILE: return "FILE";
	case F_DATA: return "DATA";
	case F_FILE_END: return "FILE_END";
	case F_DONE: return "DONE";
	case F_SENTRY: return "SENTRY";
	case F_HASHREQ: return "HASHREQ";
	case F_HASH_END: return "HASH_END";
	case F_HASH: return "HASH";
	case F_PHASE: return "PHASE";
	case F_RENAME: return "RENAME";
	case F_RENAME_END: return "RENAME_END";
	case F_RENAMED: return "RENAMED";
	case F_PLANENT: return "PLANENT";
	case F_PLAN_END: return "PLAN_END";
	}
	return "unknown";
}

void hello_encode(struct buf *b, const struct hello *h)
{
	buf_put(b, HELLO_MAGIC, 4);
	buf_put_u16(b, h->vmin);
	buf_put_u16(b, h->vmax);
	buf_put_u64(b, h->caps);
}

int hello_decode(const unsigned char *p, size_t n, struct hello *h, char *why, size_t whylen)
{
	struct rd r;
	char magic[4];

	rd_init(&r, p, n);
	if (rd_bytes(&r, magic, 4) || memcmp(magic, HELLO_MAGIC, 4))
		return WHY("bad magic in HELLO");
	rd_u16(&r, &h->vmin);
	rd_u16(&r, &h->vmax);
	rd_u64(&r, &h->caps);
	if (rd_end(&r))
		return WHY("malformed HELLO (%zu bytes)", n);
	if (h->vmin > h->vmax)
		return WHY("HELLO version range %u..%u is empty", h->vmin, h->vmax);
	return 0;
}

void start_encode(struct buf *b, const struct start *s)
{
	uint32_t i;

	buf_put_u8(b, s->role);
	buf_put_u32(b, s->flags);
	buf_put_u8(b, s->verbosity);
	buf_put_u32(b, s->timeout);
	buf_put_str(b, s->root, strlen(s->root));
	buf_put_u32(b, s->npatterns);
	for (i = 0; i < s->npatterns; i++)
		buf_put_str(b, s->patterns[i], strlen(s->patterns[i]));
	if (s->flags & OPT_KEEP) {
		buf_put_u32(b, s->keep.last);
		buf_put_u32(b, s->keep.daily);
		buf_put_u32(b, s->keep.weekly);
		buf_put_u32(b, s->keep.monthly);
		buf_put_u64(b, s->keep.has_within ? (uint64_t)s->keep.within : 0);
	}
	if (s->role == ROLE_RESTORE) {
		buf_put_u8(b, s->has_at ? 1 : 0);
		buf_put_i64(b, s->has_at ? s->at_sec : 0);
		buf_put_u32(b, s->has_at ? s->at_nsec : 0);
	}
}

void start_release(struct start *s)
{
	uint32_t i;

	free(s->root);
	for (i = 0; i < s->npatterns; i++)
		free(s->patterns[i]);
	free(s->patterns);
	memset(s, 0, sizeof(*s));
}

int start_decode(const unsigned char *p, size_t n, struct start *s, char *why, size_t whylen)
{
	struct rd r;
	uint32_t count, i;

	memset(s, 0, sizeof(*s));
	rd_init(&r, p, n);
	if (rd_u8(&r, &s->role) || rd_u32(&r, &s->flags) || rd_u8(&r, &s->verbosity) ||
	    rd_u32(&r, &s->timeout))
		return WHY("malformed START");
	if (s->role < ROLE_SENDER || s->role > ROLE_VERIFY)
		return WHY("START asks for unknown role %u", s->role);
	if (s->flags & ~OPT_KNOWN_FLAGS)
		return WHY("START has unknown flags 0x%x", s->flags & ~OPT_KNOWN_FLAGS);
	if (s->role == ROLE_PRUNE && !(s->flags & OPT_KEEP))
		return WHY("START asks to prune without --keep rules");
	if (s->verbosity > 3)
		return WHY("START verbosity %u out of range", s->verbosity);
	if (s->timeout > MAX_TIMEOUT)
		return WHY("START timeout %u s out of range (limit %u)", s->timeout, MAX_TIMEOUT);
	if (rd_cstr(&r, &s->root, 1, MAX_ROOT_LEN))
		return WHY("START root path missing, too long or with a NUL byte");
	if (rd_u32(&r, &count) || count > MAX_EXCLUDES) {
		start_release(s);
		return WHY("START exclude count out of range");
	}
	/* Each pattern needs at least 5 bytes, so a count the payload cannot hold is refused before allocating. */
	if ((size_t)count * 5 > r.left) {
		start_release(s);
		return WHY("START claims %u patterns in %zu bytes", count, r.left);
	}
	s->patterns = xmalloc(sizeof(char *) * (count ? count : 1));
	for (i = 0; i < count; i++) {
		if (rd_cstr(&r, &s->patterns[i], 1, MAX_PATTERN_LEN)) {
			s->npatterns = i;
			start_release(s);
			return WHY("START exclude pattern %u malformed", i);
		}
		s->npatterns = i + 1;
	}
	if (s->flags & OPT_KEEP) {
		uint64_t within;

		if (rd_u32(&r, &s->keep.last) || rd_u32(&r, &s->keep.daily) ||
		    rd_u32(&r, &s->keep.weekly) || rd_u32(&r, &s->keep.monthly) ||
		    rd_u64(&r, &within) || s->keep.last > MAX_KEEP || s->keep.daily > MAX_KEEP ||
		    s->keep.weekly > MAX_KEEP || s->keep.monthly > MAX_KEEP ||
		    within > MAX_KEEP_WITHIN) {
			start_release(s);
			return WHY("START retention rules malformed or out of range");
		}
		s->keep.has_within = within != 0;
		s->keep.within = (long long)within;
	}
	if (s->role == ROLE_RESTORE) {
		uint8_t has;

		if (rd_u8(&r, &has) || rd_i64(&r, &s->at_sec) || rd_u32(&r, &s->at_nsec) || has > 1 ||
		    s->at_nsec > 999999999u || (!has && (s->at_sec || s->at_nsec))) {
			start_release(s);
			return WHY("START restore time malformed");
		}
		s->has_at = has;
	}
	if (rd_end(&r)) {
		start_release(s);
		return WHY("trailing bytes in START");
	}
	return 0;
}

/* The form byte of a version 2 ENTRY (doc/protocol.md): which fields it omits or shortens. */
#define FORM_MODE 0x1u		/* mode as in the previous entry */
#define FORM_UID 0x2u		/* uid as in the previous entry */
#define FORM_GID 0x4u		/* gid as in the previous entry */
#define FORM_SIZE32 0x8u	/* the size is a u32 */
#define FORM_PREV (FORM_MODE | FORM_UID | FORM_GID)

/* E becomes the previous entry of X. */
static void ctx_set(struct entry_ctx *x, const struct entry *e)
{
	if (e->path_len > MAX_PATH_LEN) {
		x->has_prev = 0;	/* never sent whole: the next one goes in full */
		return;
	}
	memcpy(x->path, e->path, e->path_len);
	x->path[e->path_len] = '\0';
	x->path_len = e->path_len;
	x->mode = e->mode;
	x->uid = e->uid;
	x->gid = e->gid;
	x->has_prev = 1;
}

void entry_encode(struct buf *b, const struct entry *e, int with_hash, struct entry_ctx *x)
{
	size_t shared = 0;
	unsigned form = 0;

	if (x->has_prev) {
		size_t max = x->path_len < e->path_len ? x->path_len : e->path_len;

		while (shared < max && x->path[shared] == e->path[shared])
			shared++;
		if (shared && shared == e->path_len)
			shared--;	/* the rest is never empty */
		form |= (e->mode == x->mode ? FORM_MODE : 0) | (e->uid == x->uid ? FORM_UID : 0) |
			(e->gid == x->gid ? FORM_GID : 0);
	}
	if (e->size <= UINT32_MAX)
		form |= FORM_SIZE32;
	buf_put_u16(b, (uint16_t)shared);
	buf_put_str(b, e->path + shared, e->path_len - shared);
	buf_put_u8(b, (uint8_t)e->type);
	buf_put_u8(b, e->flags);
	buf_put_u8(b, (uint8_t)form);
	if (!(form & FORM_MODE))
		buf_put_u16(b, (uint16_t)e->mode);
	if (!(form & FORM_UID))
		buf_put_u32(b, e->uid);
	if (!(form & FORM_GID))
		buf_put_u32(b, e->gid);
	if (form & FORM_SIZE32)
		buf_put_u32(b, (uint32_t)e->size);
	else
		buf_put_u64(b, e->size);
	buf_put_i64(b, e->mtime_sec);
	buf_put_u32(b, e->mtime_nsec);
	if (e->type == 'l')
		buf_put_str(b, e->target, strlen(e->target));
	if (with_hash && e->type == 'f')
		buf_put(b, e->hash, 16);
	ctx_set(x, e);
}

void entry_release(struct entry *e)
{
	free(e->path);
	free(e->target);
	e->path = e->target = NULL;
}

void entry_copy(struct entry *dst, const struct entry *src)
{
	*dst = *src;
	dst->path = xstrndup(src->path, src->path_len);
	dst->target = src->target ? xstrdup(src->target) : NULL;
}

int entry_decode(const unsigned char *p, size_t n, struct entry *e, int with,
		 struct entry_ctx *x, char *why, size_t whylen)
{
	struct rd r;
	const unsigned char *s;
	char path[MAX_PATH_LEN + 1];
	size_t len, plen, prev_len = x->has_prev ? x->path_len : 0;
	uint16_t shared, mode16 = 0;
	uint32_t size32 = 0;
	uint8_t type = 0, form = 0;

	memset(e, 0, sizeof(*e));
	rd_init(&r, p, n);
	if (rd_u16(&r, &shared) || rd_str(&r, &s, &len, 1, MAX_PATH_LEN))
		return WHY("malformed ENTRY path");
	/* A peer's count of bytes to take from the previous path: never past its end. */
	if (shared > prev_len)
		return WHY("ENTRY path shares %u bytes with a previous path of %zu", shared,
			   prev_len);
	plen = shared + len;
	if (plen > MAX_PATH_LEN)
		return WHY("ENTRY path of %zu bytes is too long (limit %u)", plen, MAX_PATH_LEN);
	memcpy(path, x->path, shared);
	memcpy(path + shared, s, len);
	path[plen] = '\0';
	if (path_valid(path, plen, why, whylen))
		return -1;
	rd_u8(&r, &type);
	rd_u8(&r, &e->flags);
	rd_u8(&r, &form);
	if (!r.bad && (form & ~(FORM_PREV | FORM_SIZE32)))
		return WHY("ENTRY form 0x%02x has unknown bits", form);
	if (!r.bad && (form & FORM_PREV) && !x->has_prev)
		return WHY("the first ENTRY refers to a previous one (form 0x%02x)", form);
	if (form & FORM_MODE)
		e->mode = x->mode;
	else if (!rd_u16(&r, &mode16))
		e->mode = mode16;
	if (form & FORM_UID)
		e->uid = x->uid;
	else
		rd_u32(&r, &e->uid);
	if (form & FORM_GID)
		e->gid = x->gid;
	else
		rd_u32(&r, &e->gid);
	if (form & FORM_SIZE32) {
		if (!rd_u32(&r, &size32))
			e->size = size32;
	} else {
		rd_u64(&r, &e->size);
	}
	rd_i64(&r, &e->mtime_sec);
	if (rd_u32(&r, &e->mtime_nsec))
		return WHY("truncated ENTRY");
	if (type != 'f' && type != 'd' && type != 'l')
		return WHY("ENTRY of unknown type 0x%02x", type);
	e->type = (char)type;
	if (e->mode & ~07777u)
		return WHY("ENTRY mode 0%o has bits beyond 07777", e->mode);
	if (e->mtime_nsec >= 1000000000u)
		return WHY("ENTRY mtime nanoseconds %u out of range", e->mtime_nsec);
	if (e->size > INT64_MAX)
		return WHY("ENTRY size %llu out of range", (unsigned long long)e->size);
	if (!(form & FORM_SIZE32) && e->size <= UINT32_MAX)
		return WHY("ENTRY size %llu sent in 8 bytes (form 0x%02x)",
			   (unsigned long long)e->size, form);
	if ((e->flags & ~(ENTRY_DIR_UNREAD | ((with & ENTRY_WITH_SYNC) ? ENTRY_SYNC_FLAGS : 0))) ||
	    ((e->flags & ENTRY_DIR_UNREAD) && type != 'd') ||
	    ((e->flags & ENTRY_CONTEXT) && (type != 'd' || e->flags != ENTRY_CONTEXT)) ||
	    ((e->flags & ENTRY_DELETE) && e->flags != ENTRY_DELETE) ||
	    ((e->flags & ENTRY_META) && e->flags != ENTRY_META))
		return WHY("ENTRY flags 0x%x invalid for its type", e->flags);
	if (type == 'l') {
		const unsigned char *t;
		size_t tl;

		if (rd_str(&r, &t, &tl, 1, MAX_TARGET_LEN) || memchr(t, '\0', tl))
			return WHY("malformed symlink target in ENTRY");
		e->target = xstrndup((const char *)t, tl);
	}
	if ((with & ENTRY_WITH_HASH) && type == 'f') {
		rd_bytes(&r, e->hash, 16);
		e->has_hash = 1;
	}
	if (rd_end(&r)) {
		free(e->target);
		e->target = NULL;
		return WHY("malformed ENTRY (%zu bytes)", n);
	}
	e->path = xstrndup(path, plen);
	e->path_len = plen;
	ctx_set(x, e);
	return 0;
}

void msg_encode(struct buf *b, uint8_t kind, const char *text)
{
	size_t n = strlen(text);

	buf_put_u8(b, kind);
	buf_put_str(b, text, n > MAX_MSG_LEN ? MAX_MSG_LEN : n);
}

int msg_decode(const unsigned char *p, size_t n, uint8_t *kind, char **text)
{
	struct rd r;
	const unsigned char *s;
	size_t len, i;
	char *t;

	rd_init(&r, p, n);
	if (rd_u8(&r, kind) || rd_str(&r, &s, &len, 0, MAX_MSG_LEN) || rd_end(&r))
		return -1;
	/*
	 * A peer's text reaches a terminal and a log: replace control bytes,
	 * newline and DEL included, so it can neither drive the terminal nor
	 * forge a line that looks like this side's own.
	 */
	t = xstrndup((const char *)s, len);
	for (i = 0; i < len; i++)
		if (((unsigned char)t[i] < 0x20 && t[i] != '\t') || t[i] == 0x7f)
			t[i] = '?';
	*text = t;
	return 0;
}

void req_encode(struct buf *b, const struct req *q)
{
	buf_put_u32(b, q->id);
	buf_put_str(b, q->path, strlen(q->path));
	buf_put_u64(b, q->basis_size);
	buf_put_u8(b, q->has_sig);
}

int req_decode(const unsigned char *p, size_t n, struct req *q, char *why, size_t whylen)
{
	struct rd r;
	const unsigned char *s;
	size_t len;

	rd_init(&r, p, n);
	if (rd_u32(&r, &q->id) || rd_str(&r, &s, &len, 1, MAX_PATH_LEN))
		return WHY("malformed REQ");
	if (path_valid((const char *)s, len, why, whylen))
		return -1;
	rd_u64(&r, &q->basis_size);
	rd_u8(&r, &q->has_sig);
	if (rd_end(&r) || q->has_sig > 1 || q->basis_size > INT64_MAX)
		return WHY("malformed REQ");
	q->path = xstrndup((const char *)s, len);
	return 0;
}

void file_encode(struct buf *b, const struct file_hdr *f)
{
	buf_put_u32(b, f->id);
	buf_put_u8(b, f->status);
	if (f->status != FILE_OK) {
		buf_put_str(b, f->reason, strlen(f->reason));
		return;
	}
	buf_put_u8(b, f->encoding);
	buf_put_u64(b, f->size);
	buf_put_i64(b, f->mtime_sec);
	buf_put_u32(b, f->mtime_nsec);
	buf_put_u32(b, f->mode);
}

int file_decode(const unsigned char *p, size_t n, struct file_hdr *f, char *why, size_t whylen)
{
	struct rd r;

	memset(f, 0, sizeof(*f));
	rd_init(&r, p, n);
	if (rd_u32(&r, &f->id) || rd_u8(&r, &f->status))
		return WHY("malformed FILE");
	if (f->status != FILE_OK) {
		if (f->status > FILE_UNREADABLE)
			return WHY("FILE status %u unknown", f->status);
		if (rd_cstr(&r, &f->reason, 0, MAX_MSG_LEN) || rd_end(&r)) {
			/* The caller owns nothing of a refused header. */
			free(f->reason);
			f->reason = NULL;
			return WHY("malformed FILE");
		}
		return 0;
	}
	rd_u8(&r, &f->encoding);
	rd_u64(&r, &f->size);
	rd_i64(&r, &f->mtime_sec);
	rd_u32(&r, &f->mtime_nsec);
	rd_u32(&r, &f->mode);
	if (rd_end(&r))
		return WHY("malformed FILE");
	if (f->encoding > ENC_DELTA || f->size > INT64_MAX || f->mtime_nsec >= 1000000000u ||
	    (f->mode & ~07777u))
		return WHY("FILE header out of range");
	return 0;
}

void file_end_encode(struct buf *b, const struct file_end *f)
{
	buf_put_u8(b, f->changed);
	buf_put(b, f->hash, 16);
	buf_put_u64(b, f->literal);
	buf_put_u64(b, f->matched);
}

int file_end_decode(const unsigned char *p, size_t n, struct file_end *f)
{
	struct rd r;

	rd_init(&r, p, n);
	rd_u8(&r, &f->changed);
	rd_bytes(&r, f->hash, 16);
	rd_u64(&r, &f->literal);
	rd_u64(&r, &f->matched);
	return (rd_end(&r) || f->changed > 1) ? -1 : 0;
}

void done_encode(struct buf *b, uint8_t code, const struct stats *st)
{
	buf_put_u8(b, code);
	buf_put_u64(b, st->files);
	buf_put_u64(b, st->regular);
	buf_put_u64(b, st->dirs);
	buf_put_u64(b, st->links);
	buf_put_u64(b, st->created);
	buf_put_u64(b, st->deleted);
	buf_put_u64(b, st->transferred);
	buf_put_u64(b, st->total_size);
	buf_put_u64(b, st->xfer_size);
	buf_put_u64(b, st->literal);
	buf_put_u64(b, st->matched);
}

int done_decode(const unsigned char *p, size_t n, uint8_t *code, struct stats *st)
{
	struct rd r;

	rd_init(&r, p, n);
	rd_u8(&r, code);
	rd_u64(&r, &st->files);
	rd_u64(&r, &st->regular);
	rd_u64(&r, &st->dirs);
	rd_u64(&r, &st->links);
	rd_u64(&r, &st->created);
	rd_u64(&r, &st->deleted);
	rd_u64(&r, &st->transferred);
	rd_u64(&r, &st->total_size);
	rd_u64(&r, &st->xfer_size);
	rd_u64(&r, &st->literal);
	rd_u64(&r, &st->matched);
	return rd_end(&r);
}

int order_check(struct order *o, const struct entry *e, char *why, size_t whylen)
{
	size_t plen = path_parent_len(e->path, e->path_len);

	if (o->prev && path_cmp(o->prev, e->path) >= 0)
		return snprintf(why, whylen, "listing entry %s is not after %s", e->path, o->prev), -1;
	while (o->n) {
		const char *top = o->dirs[o->n - 1];

		if (strlen(top) == plen && !memcmp(top, e->path, plen))
			break;
		free(o->dirs[--o->n]);
	}
	if (plen && !o->n)
		return snprintf(why, whylen, "listing entry %s has no directory entry before it",
				e->path), -1;
	if (e->type == 'd') {
		if (o->n == o->cap) {
			o->cap = o->cap ? o->cap * 2 : 16;
			o->dirs = xrealloc(o->dirs, o->cap * sizeof(*o->dirs));
		}
		o->dirs[o->n++] = xstrdup(e->path);
	}
	free(o->prev);
	o->prev = xstrdup(e->path);
	return 0;
}

void order_release(struct order *o)
{
	while (o->n)
		free(o->dirs[--o->n]);
	free(o->dirs);
	free(o->prev);
	memset(o, 0, sizeof(*o));
}
