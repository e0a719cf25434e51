/*
 * fuzz_sync.c - the sync session's decoders and the state file reader:
 * the first byte picks SENTRY (sentry_decode), HASH (hashed_decode) or a
 * whole state file (sreader_mem, then every record to the end mark), the
 * rest is the input.
 *
 * Checked for what decodes: every field within its bound, paths valid by
 * the protocol's rules (pathref.h, not path.c), and encoding again gives
 * the very same bytes; a state file that reads to its end has its records
 * strictly in order, and writing them again gives the same file.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "buf.h"
#include "fuzz.h"
#include "path.h"
#include "pathref.h"
#include "state.h"
#include "syncpeer.h"

#define R1 "/a"
#define R2 "h:/b"

static void one_sentry(const uint8_t *data, size_t size)
{
	char why[512];
	struct entry e;
	struct skey k;
	struct buf b = BUF_INIT;

	if (sentry_decode(data, size, &e, &k, &(struct entry_ctx)ENTRY_CTX_INIT, why, sizeof(why)))
		return;
	FUZZ_CHECK(ref_path_ok(e.path, e.path_len));
	FUZZ_CHECK(e.type == 'f' || e.type == 'd' || e.type == 'l');
	FUZZ_CHECK(e.flags == 0 || (e.flags == ENTRY_DIR_UNREAD && e.type == 'd'));
	FUZZ_CHECK(e.mode <= 07777 && e.mtime_nsec < 1000000000u);
	FUZZ_CHECK(k.mtime_nsec < 1000000000u && k.ctime_nsec < 1000000000u);
	FUZZ_CHECK(k.size == e.size);
	FUZZ_CHECK(k.mtime_sec == e.mtime_sec && k.mtime_nsec == e.mtime_nsec);
	sentry_encode(&b, &e, &k, &(struct entry_ctx)ENTRY_CTX_INIT);
	FUZZ_CHECK(b.len == size && memcmp(b.data, data, size) == 0);
	buf_release(&b);
	entry_release(&e);
}

static void one_hash(const uint8_t *data, size_t size)
{
	struct hashed h;
	struct buf b = BUF_INIT;
	uint32_t id;

	if (hashed_decode(data, size, &id, &h))
		return;
	FUZZ_CHECK(h.status <= HASH_STATUS_UNREADABLE);
	FUZZ_CHECK((h.type == 0) == (h.status == HASH_STATUS_MISSING));
	FUZZ_CHECK(h.type == 0 || strchr("fdls", h.type));
	FUZZ_CHECK(h.mode <= 07777);
	hashed_encode(&b, id, &h);
	FUZZ_CHECK(b.len == size && memcmp(b.data, data, size) == 0);
	buf_release(&b);
}

static void one_state(const uint8_t *data, size_t size)
{
	char why[512];
	struct sreader *r;
	struct srec rec;
	struct buf again = BUF_INIT;
	struct swriter *w;
	char *prev = NULL;
	int k;

	if (sreader_mem(data, size, R1, R2, &r, why, sizeof(why)))
		return;
	w = swriter_mem(&again, R1, R2, sreader_scan_start(r));
	while ((k = sreader_next(r, &rec)) == 1) {
		FUZZ_CHECK(ref_path_ok(rec.path, strlen(rec.path)));
		FUZZ_CHECK(!prev || path_cmp(prev, rec.path) < 0);
		FUZZ_CHECK(rec.type == 'f' || rec.type == 'd' || rec.type == 'l');
		FUZZ_CHECK((rec.type == 'l') == (rec.target != NULL));
		FUZZ_CHECK(rec.mode <= 07777 && (rec.type == 'f' || rec.size == 0));
		free(prev);
		prev = strdup(rec.path);
		swriter_put(w, &rec);
	}
	free(prev);
	FUZZ_CHECK(k == 0 || sreader_why(r)[0] != '\0');
	FUZZ_CHECK(swriter_finish(w, NULL) == 0);
	if (k == 0)
		FUZZ_CHECK(again.len == size && memcmp(again.data, data, size) == 0);
	buf_release(&again);
	sreader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_log_reset();
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		one_sentry(data + 1, size - 1);
		break;
	case 1:
		one_hash(data + 1, size - 1);
		break;
	default:
		one_state(data + 1, size - 1);
		break;
	}
	return 0;
}
