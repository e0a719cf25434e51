/*
 * fuzz_frame.c - the receive path: bytes from the peer through the
 * channel (chan_recv in src/chan.c) and each frame's payload through the
 * decoder the receiver, sender or session calls for its type
 * (src/proto.c).
 *
 * Input: one control byte, then the byte stream the peer sends. The
 * stream goes into a pipe in pieces whose sizes the control byte picks,
 * and after each piece the frames are taken as the receiver takes them
 * (chan_recv without blocking until it has nothing); after the last, the
 * pipe is closed and the rest is taken as the sender does (blocking).
 * That is when bits 4 and 5 of the control byte are both set; otherwise
 * the frames go straight to the decoders: a channel costs a pipe and a
 * 128 KiB buffer (a fresh mapping under ASan, about 1 ms an execution),
 * and the decoders deserve more executions than the framing.
 *
 * Checked: chan_recv returns exactly the frames a plain reading of the
 * stream finds, with their bytes, as soon as they are complete and no
 * sooner; it fails at the first length above MAX_FRAME and not before;
 * at the end it reports the lost connection; chan_has_frame agrees; the
 * byte counter is right. Each payload that decodes encodes back to the
 * same bytes (MSG: the same but for control bytes made '?', none left).
 *
 * END_LIST, SIG_END and PLAN are parsed in place by receiver.c and
 * sender.c with the rd_* cursor every decoder here uses; READY and NOOP
 * are taken by their type alone; SIG and DATA are raw bytes (fuzz_rsx.c).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "buf.h"
#include "chan.h"
#include "fuzz.h"
#include "opts.h"
#include "pathref.h"
#include "proto.h"

#define WHYLEN 512

static void same(const struct buf *b, const unsigned char *p, size_t n)
{
	FUZZ_CHECK(b->len == n && (n == 0 || memcmp(b->data, p, n) == 0));
}

static void decode_start(const unsigned char *p, size_t n, char *why)
{
	struct start s;
	struct buf b = BUF_INIT;
	uint32_t i;

	if (start_decode(p, n, &s, why, WHYLEN))
		return;
	/* 3 sync, 4 restore (its time), 5 prune (its rules), 6 verify: doc/protocol.md */
	FUZZ_CHECK(s.role >= ROLE_SENDER && s.role <= ROLE_VERIFY);
	FUZZ_CHECK(s.role != ROLE_PRUNE || (s.flags & OPT_KEEP));
	FUZZ_CHECK(s.role != ROLE_RESTORE || s.has_at || (!s.at_sec && !s.at_nsec));
	FUZZ_CHECK(s.at_nsec <= 999999999u);
	FUZZ_CHECK((s.flags & ~OPT_KNOWN_FLAGS) == 0 && s.verbosity <= 3);
	FUZZ_CHECK(s.timeout <= MAX_TIMEOUT);
	FUZZ_CHECK(strlen(s.root) >= 1 && strlen(s.root) <= MAX_ROOT_LEN);
	FUZZ_CHECK(s.npatterns <= MAX_EXCLUDES);
	for (i = 0; i < s.npatterns; i++)
		FUZZ_CHECK(strlen(s.patterns[i]) >= 1 && strlen(s.patterns[i]) <= MAX_PATTERN_LEN);
	start_encode(&b, &s);
	same(&b, p, n);
	buf_release(&b);
	start_release(&s);
}

static void decode_entry(const unsigned char *p, size_t n, int with_hash, char *why)
{
	struct entry e;
	struct buf b = BUF_INIT;

	/* A single frame: a listing's first entry. */
	if (entry_decode(p, n, &e, with_hash, &(struct entry_ctx)ENTRY_CTX_INIT, why, WHYLEN))
		return;
	FUZZ_CHECK(ref_path_ok(e.path, e.path_len));
	entry_encode(&b, &e, with_hash, &(struct entry_ctx)ENTRY_CTX_INIT);
	same(&b, p, n);
	buf_release(&b);
	entry_release(&e);
}

static void decode_msg(const unsigned char *p, size_t n)
{
	struct buf b = BUF_INIT;
	uint8_t kind;
	char *text;
	size_t i, len;

	if (msg_decode(p, n, &kind, &text))
		return;
	len = strlen(text);
	FUZZ_CHECK(len <= MAX_MSG_LEN && n == 5 + len && kind == p[0]);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		/* What reaches a terminal (doc/protocol.md, MSG kinds): the peer's
		 * byte, or '?' for a control byte (below 0x20 but tab, and 0x7f). */
		FUZZ_CHECK(c == p[5 + i] || c == '?');
		FUZZ_CHECK((c >= 0x20 && c != 0x7f) || c == '\t');
	}
	msg_encode(&b, kind, text);
	FUZZ_CHECK(b.len == n && memcmp(b.data, p, 5) == 0);
	buf_release(&b);
	free(text);
}

/* One frame's payload, through the decoder its receiver uses. */
static void decode(uint8_t type, const unsigned char *p, size_t n, int with_hash)
{
	char why[WHYLEN];
	struct buf b = BUF_INIT;

	FUZZ_CHECK(frame_name(type) != NULL);
	switch (type) {
	case F_HELLO: {
		struct hello h;

		if (hello_decode(p, n, &h, why, sizeof(why)))
			break;
		FUZZ_CHECK(h.vmin <= h.vmax);
		hello_encode(&b, &h);
		same(&b, p, n);
		break;
	}
	case F_START:
		decode_start(p, n, why);
		break;
	case F_ENTRY:
		decode_entry(p, n, with_hash, why);
		break;
	case F_MSG:
	case F_ERROR:
		decode_msg(p, n);
		break;
	case F_REQ: {
		struct req q;

		if (req_decode(p, n, &q, why, sizeof(why)))
			break;
		FUZZ_CHECK(ref_path_ok(q.path, strlen(q.path)));
		FUZZ_CHECK(q.has_sig <= 1 && q.basis_size <= INT64_MAX);
		req_encode(&b, &q);
		same(&b, p, n);
		free(q.path);
		break;
	}
	case F_FILE: {
		struct file_hdr f;

		/* Like the receiver: nothing to release when the decoder refuses. */
		if (file_decode(p, n, &f, why, sizeof(why)))
			break;
		FUZZ_CHECK(f.status <= FILE_UNREADABLE);
		FUZZ_CHECK((f.status == FILE_OK) == (f.reason == NULL));
		if (f.status == FILE_OK)
			FUZZ_CHECK(f.encoding <= ENC_DELTA && f.size <= INT64_MAX &&
				   f.mtime_nsec < 1000000000u && f.mode <= 07777);
		file_encode(&b, &f);
		same(&b, p, n);
		free(f.reason);
		break;
	}
	case F_FILE_END: {
		struct file_end f;

		if (file_end_decode(p, n, &f))
			break;
		FUZZ_CHECK(f.changed <= 1);
		file_end_encode(&b, &f);
		same(&b, p, n);
		break;
	}
	case F_DONE: {
		struct stats st;
		uint8_t code;

		if (done_decode(p, n, &code, &st))
			break;
		done_encode(&b, code, &st);
		same(&b, p, n);
		break;
	}
	}
	buf_release(&b);
}

/* The frames a plain reading of S (N bytes) finds. */
struct script {
	const unsigned char *s;
	size_t n;
	size_t next;		/* offset of the next frame to expect */
	int oversize;		/* the frame at `next` claims too much */
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Is the frame at sc->next complete within the first AVAIL bytes? */
static int complete(struct script *sc, size_t avail)
{
	uint32_t len;

	if (avail - sc->next < FRAME_HEADER)
		return 0;
	len = be32(sc->s + sc->next + 1);
	if (len > MAX_FRAME) {
		sc->oversize = 1;
		return 0;
	}
	return avail - sc->next >= FRAME_HEADER + (size_t)len;
}

/* A frame chan_recv returned must be the next one of the script. */
static void expect(struct script *sc, uint8_t t, const unsigned char *p, size_t n, size_t written,
		   int with_hash)
{
	FUZZ_CHECK(complete(sc, written));
	FUZZ_CHECK(t == sc->s[sc->next] && n == be32(sc->s + sc->next + 1));
	FUZZ_CHECK(n == 0 || memcmp(p, sc->s + sc->next + FRAME_HEADER, n) == 0);
	sc->next += FRAME_HEADER + n;
	decode(t, p, n, with_hash);
}

static void put(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		FUZZ_CHECK(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

/*
 * Piece sizes: 1, up to 8, up to 300 or up to 16 KiB, from a small PRNG.
 * After MAX_PIECES, 16 KiB at a time: each piece costs system calls, and a
 * boundary in the first frames tests the same code as one later. A piece
 * never exceeds what a pipe holds, so writing it never blocks.
 */
#define MAX_PIECES 48
#define BIG_PIECE 16384

static size_t piece(uint32_t *state, unsigned kind, unsigned count)
{
	static const uint32_t max[4] = { 1, 8, 300, BIG_PIECE };

	if (count >= MAX_PIECES)
		return BIG_PIECE;
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return 1 + *state % max[kind];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script sc;
	struct chan c;
	const unsigned char *p;
	size_t n, written = 0;
	unsigned pieces = 0;
	uint32_t state;
	uint8_t t;
	int fds[2], r, with_hash, block;

	if (size < 1)
		return 0;
	fuzz_log_reset();
	state = 0x9e3779b9u ^ data[0];
	with_hash = data[0] >> 2 & 1;
	block = data[0] >> 3 & 1;
	memset(&sc, 0, sizeof(sc));
	sc.s = data + 1;
	sc.n = size - 1;
	if ((data[0] & 0x30) != 0x30) {
		while (complete(&sc, sc.n)) {
			n = be32(sc.s + sc.next + 1);
			decode(sc.s[sc.next], sc.s + sc.next + FRAME_HEADER, n, with_hash);
			sc.next += FRAME_HEADER + n;
		}
		return 0;
	}
	FUZZ_CHECK(pipe(fds) == 0);
	chan_init(&c, fds[0], fds[0]);
	while (written < sc.n && !sc.oversize) {
		size_t k = piece(&state, data[0] & 3, pieces++);

		if (k > sc.n - written)
			k = sc.n - written;
		put(fds[1], sc.s + written, k);
		written += k;
		/* The receiver's way: take frames until none is complete. */
		for (;;) {
			int has = chan_has_frame(&c);

			/* Of the bytes read so far, is the next frame complete? */
			FUZZ_CHECK(has == complete(&sc, (size_t)c.received));
			r = chan_recv(&c, &t, &p, &n, 0);
			FUZZ_CHECK(!has || r == 1);
			if (r != 1)
				break;
			expect(&sc, t, p, n, written, with_hash);
		}
		FUZZ_CHECK(!c.eof);
		if (r < 0) {
			/* Only a length above the limit, once its header is in. */
			FUZZ_CHECK(!complete(&sc, written) && sc.oversize);
			FUZZ_CHECK(fuzz_log_seen.errors > 0);
			break;
		}
		/* Nothing complete is left behind, and no bad length unreported. */
		FUZZ_CHECK(!complete(&sc, written) && !sc.oversize);
	}
	close(fds[1]);
	if (!sc.oversize) {
		/* The sender's way (or the receiver's): the rest, then the end. */
		while ((r = chan_recv(&c, &t, &p, &n, block)) == 1)
			expect(&sc, t, p, n, written, with_hash);
		FUZZ_CHECK(r == -1 && c.eof && fuzz_log_seen.errors > 0);
		FUZZ_CHECK(written == sc.n && c.received == sc.n);
		FUZZ_CHECK(!complete(&sc, sc.n) && !sc.oversize);
	}
	close(fds[0]);
	chan_release(&c);
	return 0;
}
