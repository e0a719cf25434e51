/*
 * replay.c - a stand-in for libFuzzer: call a target's
 * LLVMFuzzerTestOneInput once on each file named, so that gcc (and the
 * sanitizer build in CI) compiles the targets and replays the seed corpora
 * and the reproducers of past findings in `make check`.
 *
 *   replay-TARGET FILE...
 *
 * Exit status 0 when every file ran; a broken invariant aborts.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"

#define MAX_INPUT (1u << 20)	/* larger than any input the targets are run with */

static int replay(const char *name)
{
	FILE *f = fopen(name, "rb");
	unsigned char *data;
	size_t n;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", name, strerror(errno));
		return -1;
	}
	data = xmalloc(MAX_INPUT + 1);
	n = fread(data, 1, MAX_INPUT + 1, f);
	if (ferror(f) || n > MAX_INPUT) {
		fprintf(stderr, "replay: %s: %s\n", name, ferror(f) ? "read error" : "larger than 1 MiB");
		fclose(f);
		free(data);
		return -1;
	}
	fclose(f);
	/* An exact-size copy, so the sanitizers see a read past its end. */
	{
		unsigned char *exact = xmalloc(n);

		memcpy(exact, data, n);
		free(data);
		LLVMFuzzerTestOneInput(exact, n);
		free(exact);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int i, bad = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
		if (replay(argv[i]))
			bad = 1;
	return bad;
}
