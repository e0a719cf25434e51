/* path.c - wire path rules and listing order; see path.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bounds.h"
#include "buf.h"
#include "path.h"

int path_valid(const char *p, size_t n, char *why, size_t whylen)
{
	size_t i = 0;

	if (n == 0 || n > MAX_PATH_LEN) {
		snprintf(why, whylen, "path length %zu outside 1..%u", n, MAX_PATH_LEN);
		return -1;
	}
	if (memchr(p, '\0', n)) {
		snprintf(why, whylen, "path contains a NUL byte");
		return -1;
	}
	if (p[0] == '/') {
		snprintf(why, whylen, "absolute path");
		return -1;
	}
	while (i < n) {
		const char *c = p + i;
		const char *slash = memchr(c, '/', n - i);
		size_t len = slash ? (size_t)(slash - c) : n - i;

		if (len == 0) {
			snprintf(why, whylen, "empty path component");
			return -1;
		}
		if (len > MAX_NAME_LEN) {
			snprintf(why, whylen, "path component of %zu bytes (limit %u)", len, MAX_NAME_LEN);
			return -1;
		}
		if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.')) {
			snprintf(why, whylen, "path component \"%.*s\"", (int)len, c);
			return -1;
		}
		i += len;
		if (slash) {
			i++;
			if (i == n) {
				snprintf(why, whylen, "trailing slash");
				return -1;
			}
		}
	}
	return 0;
}

int path_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

	for (;; x++, y++) {
		int cx, cy;

		if (*x == *y) {
			if (!*x)
				return 0;
			continue;
		}
		/* End of string sorts first, then '/', then everything else. */
		cx = !*x ? 0 : *x == '/' ? 1 : *x + 1;
		cy = !*y ? 0 : *y == '/' ? 1 : *y + 1;
		return cx - cy;
	}
}

size_t path_parent_len(const char *p, size_t n)
{
	while (n > 0 && p[n - 1] != '/')
		n--;
	return n ? n - 1 : 0;
}

const char *path_base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

int path_is_within(const char *a, const char *b)
{
	size_t n = strlen(a);

	return strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '/');
}

char *path_join(const char *dir, const char *name)
{
	size_t d = strlen(dir), n = strlen(name);
	char *s;

	if (!d)
		return xstrdup(name);
	s = xmalloc(d + 1 + n + 1);
	memcpy(s, dir, d);
	s[d] = '/';
	memcpy(s + d + 1, name, n + 1);
	return s;
}
