/*
 * escape.h - the byte escaping used by the history index (doc/history.md):
 * `\\`, `\t`, `\n`, and `\xHH` (lowercase) for every other byte below 0x20
 * and for 0x7f; all other bytes, 0x80..0xff included, stand for themselves.
 */
#ifndef SHELTER_ESCAPE_H
#define SHELTER_ESCAPE_H

#include <stddef.h>

/* Escape LEN bytes of S into a new NUL-terminated string (caller frees).
 * Aborts on out of memory. */
char *escape_bytes(const char *s, size_t len);

/* Unescape S (NUL-terminated) into a new buffer; *LEN gets the length (the
 * buffer is also NUL-terminated). Returns NULL for a malformed escape
 * (a lone `\` at the end, `\x` without two hex digits, an unknown letter),
 * and for a raw TAB, LF or byte below 0x20 in S. Caller frees. */
char *unescape_bytes(const char *s, size_t *len);

#endif
