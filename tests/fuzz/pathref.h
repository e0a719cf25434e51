/*
 * pathref.h - the wire path rules and the listing order written a second
 * time, as plainly as possible, from doc/protocol.md ("Paths") rather than
 * from src/path.c, so the fuzz targets can hold the real code to them.
 */
#ifndef SHELTER_FUZZ_PATHREF_H
#define SHELTER_FUZZ_PATHREF_H

#include <stddef.h>
#include <string.h>

#include "bounds.h"

/* 1 if P (N bytes) is a path the protocol allows. */
static inline int ref_path_ok(const char *p, size_t n)
{
	size_t start = 0, i;

	if (n < 1 || n > MAX_PATH_LEN)
		return 0;
	/* Components are what lies between slashes, the ends included. */
	for (i = 0; i <= n; i++) {
		size_t len;

		if (i < n && p[i] == '\0')
			return 0;
		if (i < n && p[i] != '/')
			continue;
		len = i - start;
		if (len < 1 || len > MAX_NAME_LEN)
			return 0;	/* also a leading, trailing or double slash */
		if (len == 1 && p[start] == '.')
			return 0;
		if (len == 2 && p[start] == '.' && p[start + 1] == '.')
			return 0;
		start = i + 1;
	}
	return 1;
}

/* The rank of one byte in listing order: the end first, then '/', then the rest. */
static inline int ref_rank(const char *s, size_t i, size_t n)
{
	unsigned char c;

	if (i >= n)
		return 0;
	c = (unsigned char)s[i];
	return c == '/' ? 1 : c + 2;
}

/* Listing order of two strings, -1, 0 or 1. */
static inline int ref_path_cmp(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b), i;

	for (i = 0; i <= na || i <= nb; i++) {
		int x = ref_rank(a, i, na), y = ref_rank(b, i, nb);

		if (x != y)
			return x < y ? -1 : 1;
		if (x == 0)
			break;
	}
	return 0;
}

static inline int sign(int v)
{
	return (v > 0) - (v < 0);
}

#endif
