/*
 * log.h - every message a user sees goes through here.
 *
 * In the client, messages are printed: errors and warnings on stderr,
 * output and verbose lines on stdout, subject to the verbosity. In a server
 * a sink is installed (log_set_sink) and each message travels to the client
 * as a MSG frame instead, so local and remote passes print the same way.
 *
 * error() and warning() return -1 so a failing site reads
 *     return error("open %s: %s", path, strerror(errno));
 */
#ifndef SHELTER_LOG_H
#define SHELTER_LOG_H

#include <stdarg.h>

enum log_kind {
	LOG_ERROR = 0,		/* stderr, always */
	LOG_WARNING = 1,	/* stderr, unless -q */
	LOG_OUTPUT = 2,		/* stdout: itemize and -v lines, unless -q */
	LOG_VERBOSE = 3,	/* stdout, only with -vv */
};

/* 0 = quiet, 1 = normal, 2 = -v, 3 = -vv. */
extern int log_verbosity;

/* Where a server sends its messages; NULL prints locally. */
typedef void log_sink_fn(enum log_kind kind, const char *text, void *arg);
void log_set_sink(log_sink_fn *fn, void *arg);

/*
 * Also hand each error and warning printed here (not those that go to a
 * sink) to FN: the run log collects them. NULL stops it.
 */
void log_set_tap(log_sink_fn *fn, void *arg);

/* Program name prefix for locally printed errors ("shelter"). */
void log_set_prefix(const char *prefix);

int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void output(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_vmsg(enum log_kind kind, const char *fmt, va_list ap);

/* A message already formatted (one from the peer): sink or print. */
void log_text(enum log_kind kind, const char *text);

/* Print a message that came from the peer, with its kind, as is. */
void log_print(enum log_kind kind, const char *text);

/* For impossible states: prints and aborts. */
void bug(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
