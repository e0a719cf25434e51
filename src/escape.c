/* escape.c - byte escaping for the history index; see escape.h. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

/* Out of memory is not something a backup can carry on from. */
static void *esc_alloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "shelter: error: out of memory allocating %zu bytes\n", n);
		abort();
	}
	return p;
}

/* Bytes that the index cannot hold raw: its field and record separators,
 * the escape byte itself, and the other control bytes so a record stays
 * one readable line. */
static int needs_escape(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == '\\';
}

/* Write the escape for C at OUT; returns the number of bytes written. */
static size_t put_escape(char *out, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	out[0] = '\\';
	switch (c) {
	case '\\':
		out[1] = '\\';
		return 2;
	case '\t':
		out[1] = 't';
		return 2;
	case '\n':
		out[1] = 'n';
		return 2;
	default:
		out[1] = 'x';
		out[2] = hex[c >> 4];
		out[3] = hex[c & 15];
		return 4;
	}
}

char *escape_bytes(const char *s, size_t len)
{
	char *out, *o;
	size_t i;

	/* Every byte takes at most 4 ("\xHH"), plus the NUL. */
	if (len > (SIZE_MAX - 1) / 4) {
		fprintf(stderr, "shelter: error: out of memory escaping %zu bytes\n", len);
		abort();
	}
	o = out = esc_alloc(len * 4 + 1);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (needs_escape(c))
			o += put_escape(o, c);
		else
			*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

/* Value of hex digit C, or -1. Upper case is taken too: it is unambiguous,
 * even though escape_bytes only writes lower case. */
static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode the escape at S (just after the `\`) into *C; returns how many
 * bytes of S it used, or 0 when malformed. */
static size_t get_escape(const char *s, unsigned char *c)
{
	int hi, lo;

	switch (s[0]) {
	case '\\':
		*c = '\\';
		return 1;
	case 't':
		*c = '\t';
		return 1;
	case 'n':
		*c = '\n';
		return 1;
	case 'x':
		/* s[1] is NUL at worst, so s[2] is read only when s[1] is not */
		hi = hex_value((unsigned char)s[1]);
		if (hi < 0)
			return 0;
		lo = hex_value((unsigned char)s[2]);
		if (lo < 0)
			return 0;
		*c = (unsigned char)(hi << 4 | lo);
		return 3;
	default:	/* an unknown letter, or the end of S */
		return 0;
	}
}

char *unescape_bytes(const char *s, size_t *len)
{
	/* Unescaping never makes the text longer. */
	char *out = esc_alloc(strlen(s) + 1);
	size_t n = 0, used;
	unsigned char c;

	while (*s) {
		c = (unsigned char)*s;
		if (c < 0x20)
			goto bad;	/* raw TAB, LF or other control byte */
		if (c == '\\') {
			used = get_escape(s + 1, &c);
			if (!used)
				goto bad;
			s += 1 + used;
		} else {
			s++;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	*len = n;
	return out;
bad:
	free(out);
	return NULL;
}
