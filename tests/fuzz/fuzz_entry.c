/*
 * fuzz_entry.c - the listing decoder (entry_decode in src/proto.c), as
 * the receiver calls it on each ENTRY payload: with the hash when the
 * pass runs with --checksum, without it otherwise. The input is one
 * payload, decoded both ways.
 *
 * Checked for what decodes: every field within the bounds of
 * doc/protocol.md, the path valid by the protocol's rules (pathref.h, not
 * path.c), encoding it again gives the very same bytes, a copy is equal
 * and independent; and the hash flag changes the verdict only for a
 * regular file, whose 16 hash bytes are trailing garbage without it.
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

	entry_encode(&b, e, with_hash);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct entry e[2];
	char why[256];
	int ok[2], h;

	fuzz_log_reset();
	for (h = 0; h < 2; h++) {
		why[0] = '\0';
		ok[h] = entry_decode(data, size, &e[h], h, why, sizeof(why)) == 0;
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
	return 0;
}
