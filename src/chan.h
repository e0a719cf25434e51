/*
 * chan.h - the channel: frames over one file descriptor (a socketpair or
 * ssh's stdio), with an input buffer, an output queue and byte counters.
 *
 * The descriptor is non-blocking. Frames are queued by chan_send and
 * written by chan_flush; chan_recv returns complete frames only. A process
 * that must not deadlock against its peer (the receiver) never blocks on a
 * write: it polls with chan_wait and reads whatever arrives. The sender may
 * block on writes (chan_flush with block set), because its peer always
 * reads.
 *
 * Frame layout (doc/protocol.md): u8 type, u32 big-endian length, payload.
 */
#ifndef SHELTER_CHAN_H
#define SHELTER_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct chan {
	int in_fd, out_fd;	/* the same fd for a socketpair */
	struct buf in;		/* bytes read; those before in_off are consumed */
	size_t in_off;		/* start of the unconsumed bytes */
	size_t in_used;		/* bytes the frame returned last occupies */
	struct buf out;		/* bytes queued, not yet written */
	size_t out_off;		/* bytes of `out` already written */
	uint64_t sent, received;	/* bytes on the wire */
	int eof;		/* the peer closed its end */
	int idle_ms;		/* give up after this long without a byte moving; 0 = never */
	int64_t last_io;	/* monotonic ms of the last byte read or written */
	int timed_out;		/* the idle limit ended the connection (eof is set too) */
};

#define FRAME_HEADER 5

/* Set up a channel on IN_FD / OUT_FD (made non-blocking). */
void chan_init(struct chan *c, int in_fd, int out_fd);
void chan_release(struct chan *c);

/* Queue one frame. The payload is copied. */
void chan_send(struct chan *c, uint8_t type, const void *payload, size_t len);

/* Bytes queued and not yet written. */
size_t chan_pending(const struct chan *c);

/*
 * Write queued bytes. With BLOCK, wait until all are written. Returns 0, or
 * -1 with an error printed when the peer is gone.
 */
int chan_flush(struct chan *c, int block);

/*
 * Take the next complete frame. Returns 1 with *TYPE, *PAYLOAD, *LEN set
 * (the payload stays valid until the next chan_recv or chan_wait), 0 when no complete
 * frame is buffered and (without BLOCK) none can be read now, or -1 on a
 * malformed frame or a lost connection, with an error printed; c->eof tells
 * the two apart. With BLOCK, queued output is written while waiting.
 */
int chan_recv(struct chan *c, uint8_t *type, const unsigned char **payload,
	      size_t *len, int block);

/* 1 when a complete frame is already buffered. */
int chan_has_frame(const struct chan *c);

/*
 * Wait until the channel is readable, or writable when output is queued,
 * then move bytes both ways. Returns 0, or -1 on a lost connection.
 * TIMEOUT_MS < 0 waits forever.
 */
int chan_wait(struct chan *c, int timeout_ms);

/*
 * The idle limit (--timeout): when no byte moves either way for SECONDS,
 * a wait reports the connection lost, with c->timed_out set. 0 = never.
 */
void chan_set_timeout(struct chan *c, unsigned seconds);

/*
 * Keepalive for long local work (hashing or copying a huge file) while the
 * peer waits: chan_keepalive(C) names the channel of this process (NULL to
 * stop); chan_tick(), cheap enough to call per block, queues a NOOP frame
 * when nothing was sent for a quarter of the idle limit and writes what the
 * socket takes without blocking. It never prints: a lost peer is reported
 * by the next real wait.
 */
void chan_keepalive(struct chan *c);
void chan_tick(void);

#endif
