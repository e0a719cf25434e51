/*
 * fuzz_path.c - the wire path rules and the listing order (src/path.c).
 *
 * The whole input is one candidate path, NUL bytes and all; split at its
 * NUL bytes it is up to three strings a, b, c. Checked against pathref.h,
 * a second plain reading of doc/protocol.md:
 *   - path_valid accepts exactly the paths the protocol allows;
 *   - path_cmp is the listing order (so a total order);
 *   - parent, base, join and "within" agree with each other: a valid path
 *     is its parent joined with its base, a parent sorts before its
 *     children, and a directory's subtree is contiguous in listing order
 *     (what the receiver's merge relies on).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "buf.h"
#include "fuzz.h"
#include "path.h"
#include "pathref.h"

static int valid(const char *p, size_t n)
{
	char why[256];
	int ok;

	why[0] = '\0';
	ok = path_valid(p, n, why, sizeof(why)) == 0;
	FUZZ_CHECK(ok == ref_path_ok(p, n));
	FUZZ_CHECK(ok || why[0] != '\0');	/* a refusal says why */
	return ok;
}

static int ref_within(const char *a, const char *b)
{
	size_t n = strlen(a);

	return strcmp(a, b) == 0 || (strncmp(a, b, n) == 0 && b[n] == '/');
}

/* Parent, base and join of one valid path. */
static void check_parts(const char *a)
{
	size_t n = strlen(a), pl = path_parent_len(a, n);
	const char *slash = strrchr(a, '/');
	char *parent, *joined;

	FUZZ_CHECK(slash ? pl == (size_t)(slash - a) : pl == 0);
	FUZZ_CHECK(path_base(a) == (slash ? slash + 1 : a));
	FUZZ_CHECK(path_is_within(a, a));
	parent = xstrndup(a, pl);
	joined = path_join(parent, path_base(a));
	FUZZ_CHECK(strcmp(joined, a) == 0);
	if (pl) {
		FUZZ_CHECK(ref_path_ok(parent, pl));
		FUZZ_CHECK(path_cmp(parent, a) < 0);
		FUZZ_CHECK(path_is_within(parent, a));
		FUZZ_CHECK(!path_is_within(a, parent));
	}
	free(joined);
	free(parent);
}

/* Order and nesting of three strings (valid or not: the order is total). */
static void check_order(const char *a, const char *b, const char *c, int a_ok, int c_ok)
{
	char *child;

	FUZZ_CHECK(sign(path_cmp(a, b)) == ref_path_cmp(a, b));
	FUZZ_CHECK(sign(path_cmp(b, a)) == -ref_path_cmp(a, b));
	FUZZ_CHECK((path_cmp(a, b) == 0) == (strcmp(a, b) == 0));
	FUZZ_CHECK(path_cmp(a, a) == 0);
	FUZZ_CHECK(path_is_within(a, b) == ref_within(a, b));
	if (!a_ok || !c_ok)
		return;
	child = path_join(a, c);
	FUZZ_CHECK(path_parent_len(child, strlen(child)) >= strlen(a));
	FUZZ_CHECK(path_is_within(a, child));
	FUZZ_CHECK(path_cmp(a, child) < 0);
	/* Everything below A sorts before anything after A that is not below it. */
	if (path_cmp(a, b) < 0 && !path_is_within(a, b))
		FUZZ_CHECK(path_cmp(child, b) < 0);
	if (strlen(child) <= MAX_PATH_LEN)
		FUZZ_CHECK(ref_path_ok(child, strlen(child)));
	free(child);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s[3];
	int ok[3];
	size_t off = 0;
	int i;

	fuzz_log_reset();
	valid((const char *)data, size);
	for (i = 0; i < 3; i++) {
		const uint8_t *end = off < size ? memchr(data + off, '\0', size - off) : NULL;
		size_t n = end ? (size_t)(end - data) - off : size - off;

		s[i] = xstrndup((const char *)data + off, n);
		ok[i] = valid(s[i], n);
		if (ok[i])
			check_parts(s[i]);
		off = end ? off + n + 1 : size;
	}
	check_order(s[0], s[1], s[2], ok[0], ok[2]);
	check_order(s[1], s[2], s[0], ok[1], ok[0]);
	check_order(s[2], s[0], s[1], ok[2], ok[1]);
	for (i = 0; i < 3; i++)
		free(s[i]);
	return 0;
}
