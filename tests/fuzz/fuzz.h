/*
 * fuzz.h - what every fuzz target shares.
 *
 * A target defines LLVMFuzzerTestOneInput. clang links it with libFuzzer
 * (`make fuzz`); gcc links it with replay.c, which feeds it the files of
 * the seed corpora and of tests/fuzz/regress (`make check`).
 *
 * FUZZ_CHECK states an invariant. It is not assert(): NDEBUG must not turn
 * a target into a "does not crash" test, and a broken invariant names the
 * line before it aborts, so libFuzzer keeps the input as a crash.
 */
#ifndef SHELTER_FUZZ_H
#define SHELTER_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}

#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
			fuzz_fail(__FILE__, __LINE__, #cond); \
	} while (0)

/*
 * Messages the code under test prints (a protocol error is the expected
 * outcome of most inputs) go here instead of stderr: millions of them
 * would drown libFuzzer's report. The last error is kept for checks.
 */
struct fuzz_log {
	unsigned errors;	/* LOG_ERROR messages since fuzz_log_reset */
};

static struct fuzz_log fuzz_log_seen;

static inline void fuzz_log_sink(enum log_kind kind, const char *text, void *arg)
{
	(void)text;
	(void)arg;
	if (kind == LOG_ERROR)
		fuzz_log_seen.errors++;
}

static inline void fuzz_log_reset(void)
{
	log_set_sink(fuzz_log_sink, NULL);
	fuzz_log_seen.errors = 0;
}

#endif
