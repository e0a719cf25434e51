/*
 * fuzz_entry.c - the listing decoder (entry_decode in src/proto.c), as
 * the receiver calls it on each ENTRY payload: with the hash when the
 * pass runs with --checksum, without it otherwise. The input is one
 * payload, decoded both ways as a listing's first entry; then again after
 * a previous entry (version 2 encodes an entry against the one before it:
 * its path's shared start, its mode, uid and gid).
 *
 * Checked for what decodes: every field within the bounds of
 * doc/protocol.md, the path valid by the protocol's rules (pathref.h, not
 * path.c), encoding it again gives the very same bytes, a copy is equal
 * and independent; and the hash flag changes the verdict only for a
 * regular file, whose 16 hash bytes are trailing garbage without it.
 * After a previous entry: the shared start never reaches past the
 * previous path, the fields are within bounds, and encoding against the
 * same previous entry decodes to the same entry.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "buf.h"
#include "fuzz.h"
#include "proto.h"
#include "pathref.h"

static void check_fields(const struct entry *e, int with_hash)
{
	FUZZ_CHECK(e->path != NULL);
	FUZZ_CHECK(strlen(e->path) == e->path_len);
	FUZZ_CHECK(ref_path_ok(e->path, e->path_len));
	FUZZ_CHECK(e->type == 'f' || e->type == 'd' || e->type == 'l');
	FUZZ_CHECK(e->flags == 0 || (e->flags == ENTRY_DIR_UNREAD && e->type == 'd'));
	FUZZ_CHECK(e->mode <= 07777);
	FUZZ_CHECK(e->size <= INT64_MAX);
	FUZZ_CHECK(e->mtime_nsec < 1000000000u);
	if (e->type == 'l') {
		FUZZ_CHECK(e->target != NULL);
		FUZZ_CHECK(strlen(e->target) >= 1 && strlen(e->target) <= MAX_TARGET_LEN);
	} else {
		FUZZ_CHECK(e->target == NULL);
	}
	FUZZ_CHECK(e->has_hash == (with_hash && e->type == 'f'));
}

static void check_round_trip(const struct entry *e, int with_hash, const uint8_t *data, size_t size)
{
	struct buf b = BUF_INIT;
	struct entry copy;

	entry_encode(&b, e, with_hash, &(struct entry_ctx)ENTRY_CTX_INIT);
	FUZZ_CHECK(b.len == size && memcmp(b.data, data, size) == 0);
	buf_release(&b);

	entry_copy(&copy, e);
	FUZZ_CHECK(copy.path != e->path && strcmp(copy.path, e->path) == 0);
	FUZZ_CHECK((copy.target == NULL) == (e->target == NULL));
	FUZZ_CHECK(!copy.target || (copy.target != e->target && strcmp(copy.target, e->target) == 0));
	FUZZ_CHECK(copy.path_len == e->path_len && copy.type == e->type && copy.flags == e->flags &&
		   copy.mode == e->mode && copy.uid == e->uid && copy.gid == e->gid &&
		   copy.size == e->size && copy.mtime_sec == e->mtime_sec &&
		   copy.mtime_nsec == e->mtime_nsec && copy.has_hash == e->has_hash &&
		   memcmp(copy.hash, e->hash, sizeof(e->hash)) == 0);
	entry_release(&copy);
	FUZZ_CHECK(copy.path == NULL && copy.target == NULL);
}

/* The entry before: a directory whose path the input may share a start with. */
static void prime(struct entry_ctx *x)
{
	static const char prev[] = "d0/d1/f012345.dat";

	memset(x, 0, sizeof(*x));
	memcpy(x->path, prev, sizeof(prev));
	x->path_len = sizeof(prev) - 1;
	x->mode = 0755;
	x->uid = 1000;
	x->gid = 100;
	x->has_prev = 1;
}

/* The input as the entry after prime()'s. */
static void after_previous(const uint8_t *data, size_t size, int with_hash)
{
	struct entry_ctx x, y;
	struct entry e, g;
	struct buf b = BUF_INIT;
	char why[256];

	prime(&x);
	why[0] = '\0';
	if (entry_decode(data, size, &e, with_hash, &x, why, sizeof(why))) {
		FUZZ_CHECK(why[0] != '\0');
		return;
	}
	check_fields(&e, with_hash);
	FUZZ_CHECK(size >= 2 && (size_t)(data[0] << 8 | data[1]) <= strlen("d0/d1/f012345.dat"));
	/* It is now the previous entry. */
	FUZZ_CHECK(x.has_prev && x.path_len == e.path_len && !strcmp(x.path, e.path));
	FUZZ_CHECK(x.mode == e.mode && x.uid == e.uid && x.gid == e.gid);
	prime(&x);
	prime(&y);
	entry_encode(&b, &e, with_hash, &x);
	FUZZ_CHECK(entry_decode(b.data, b.len, &g, with_hash, &y, why, sizeof(why)) == 0);
	FUZZ_CHECK(g.path_len == e.path_len && !strcmp(g.path, e.path) && g.type == e.type &&
		   g.flags == e.flags && g.mode == e.mode && g.uid == e.uid && g.gid == e.gid &&
		   g.size == e.size && g.mtime_sec == e.mtime_sec && g.mtime_nsec == e.mtime_nsec &&
		   g.has_hash == e.has_hash && !memcmp(g.hash, e.hash, sizeof(e.hash)));
	FUZZ_CHECK((g.target == NULL) == (e.target == NULL));
	FUZZ_CHECK(!g.target || !strcmp(g.target, e.target));
	FUZZ_CHECK(b.len <= size);	/* the encoder shares at least as much */
	buf_release(&b);
	entry_release(&g);
	entry_release(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct entry e[2];
	char why[256];
	int ok[2], h;

	fuzz_log_reset();
	for (h = 0; h < 2; h++) {
		why[0] = '\0';
		ok[h] = entry_decode(data, size, &e[h], h, &(struct entry_ctx)ENTRY_CTX_INIT, why,
				     sizeof(why)) == 0;
		if (!ok[h]) {
			FUZZ_CHECK(why[0] != '\0');	/* the receiver prints it */
			continue;
		}
		check_fields(&e[h], h);
		check_round_trip(&e[h], h, data, size);
	}
	if (ok[0] && ok[1]) {
		FUZZ_CHECK(e[0].type != 'f');
		FUZZ_CHECK(strcmp(e[0].path, e[1].path) == 0);
	} else if (ok[0] || ok[1]) {
		FUZZ_CHECK(e[ok[0] ? 0 : 1].type == 'f');
	}
	for (h = 0; h < 2; h++)
		if (ok[h])
			entry_release(&e[h]);
	for (h = 0; h < 2; h++)
		after_previous(data, size, h);
	return 0;
}
