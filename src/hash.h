/*
 * hash.h - XXH3-128 content hashes. The only file that includes xxhash.h
 * is hash.c. A hash is 16 bytes in canonical (big-endian, high half first)
 * order, printed as 32 lowercase hex digits.
 */
#ifndef SHELTER_HASH_H
#define SHELTER_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_LEN 16

struct hasher;

struct hasher *hasher_new(void);		/* aborts on out of memory */
void hasher_update(struct hasher *h, const void *p, size_t n);
void hasher_final(struct hasher *h, unsigned char out[HASH_LEN]);	/* does not reset */
void hasher_reset(struct hasher *h);
void hasher_free(struct hasher *h);

/* Hash N bytes at once. */
void hash_bytes(const void *p, size_t n, unsigned char out[HASH_LEN]);

/*
 * Hash a whole open file from offset 0 with pread. *SIZE gets the bytes
 * read. Returns 0, or -1 with errno set.
 */
int hash_fd(int fd, unsigned char out[HASH_LEN], uint64_t *size);

void hash_hex(const unsigned char h[HASH_LEN], char out[2 * HASH_LEN + 1]);

/* Version string of the xxHash library in use. */
const char *hash_lib_version(void);

#endif
