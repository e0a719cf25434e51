/*
 * rsx.h - librsync jobs behind a push-buffer interface. rsx.c is the only
 * file that includes librsync.h, so the library's quirks live there
 * (../shared/notes/librsync.md).
 *
 * A job is fed input in chunks (rsx_feed) and hands every byte it produces
 * to the sink given at creation, in pieces of at most 64 KiB. The caller
 * owns its buffers; nothing here reads or writes the channel.
 *
 *   signature: basis bytes in -> signature bytes out
 *   delta:     new file bytes in -> delta bytes out (against a signature)
 *   patch:     delta bytes in -> new file bytes out (basis read by pread)
 */
#ifndef SHELTER_RSX_H
#define SHELTER_RSX_H

#include <stddef.h>
#include <stdint.h>

/* Receives output; returns 0, or -1 to fail the job (message already printed). */
typedef int rsx_sink_fn(void *arg, const void *p, size_t n);

struct rsx;

/* Route librsync's own messages into log.c, once at start-up. */
void rsx_setup(void);
const char *rsx_lib_version(void);

/* Signature of a basis of BASIS_SIZE bytes (RabinKarp + BLAKE2; the block
 * and strong sum lengths of doc/protocol.md). */
struct rsx *rsx_sig_new(uint64_t basis_size, rsx_sink_fn *sink, void *arg);

/* Its block length: the signature's entries past the header each cover
 * that many bytes of the basis (the last one the rest). */
size_t rsx_sig_block(uint64_t basis_size);

/* Exact length of the signature rsx_sig_new makes for BASIS_SIZE;
 * UINT64_MAX above MAX_DELTA_BASIS (such files are sent whole). */
uint64_t rsx_sig_len(uint64_t basis_size);

/*
 * Load a signature the peer sent for its basis of BASIS_SIZE bytes and
 * start a delta job against it. The header and length must be exactly
 * what rsx_sig_new would make; anything else is refused with the reason in
 * WHY, before librsync sees a byte. SIG is not kept.
 */
struct rsx *rsx_delta_new(const unsigned char *sig, size_t siglen, uint64_t basis_size,
			  rsx_sink_fn *sink, void *arg, char *why, size_t whylen);

/* Patch against the open basis BASIS_FD of BASIS_SIZE bytes (kept open by the caller). */
struct rsx *rsx_patch_new(int basis_fd, uint64_t basis_size, rsx_sink_fn *sink, void *arg);

/*
 * Feed N bytes (N may be 0); EOF marks the end of the input. Returns 1 when
 * the job is complete (only after EOF), 0 when it wants more input, -1 on
 * failure with the reason in WHY.
 */
int rsx_feed(struct rsx *j, const void *in, size_t n, int eof, char *why, size_t whylen);

/* Literal and matched (copied from the basis) bytes so far: delta and patch jobs. */
void rsx_counts(const struct rsx *j, uint64_t *literal, uint64_t *matched);

void rsx_free(struct rsx *j);

#endif
