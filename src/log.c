/* log.c - message output; see log.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "log.h"

int log_verbosity = 1;

static log_sink_fn *sink;
static void *sink_arg;
static log_sink_fn *tap;
static void *tap_arg;
static const char *prefix = "shelter";

void log_set_sink(log_sink_fn *fn, void *arg)
{
	sink = fn;
	sink_arg = arg;
}

void log_set_tap(log_sink_fn *fn, void *arg)
{
	tap = fn;
	tap_arg = arg;
}

void log_set_prefix(const char *p)
{
	prefix = p;
}

static int wanted(enum log_kind kind)
{
	switch (kind) {
	case LOG_ERROR:
		return 1;
	case LOG_WARNING:
	case LOG_OUTPUT:
		return log_verbosity >= 1;
	case LOG_VERBOSE:
		return log_verbosity >= 3;
	}
	return 1;
}

void log_print(enum log_kind kind, const char *text)
{
	if (!wanted(kind))
		return;
	switch (kind) {
	case LOG_ERROR:
		fflush(stdout);
		fprintf(stderr, "%s: error: %s\n", prefix, text);
		break;
	case LOG_WARNING:
		fflush(stdout);
		fprintf(stderr, "%s: warning: %s\n", prefix, text);
		break;
	case LOG_OUTPUT:
	case LOG_VERBOSE:
		fprintf(stdout, "%s\n", text);
		break;
	}
}

void log_vmsg(enum log_kind kind, const char *fmt, va_list ap)
{
	char text[8192];

	vsnprintf(text, sizeof(text), fmt, ap);
	log_text(kind, text);
}

void log_text(enum log_kind kind, const char *text)
{
	if (sink) {
		sink(kind, text, sink_arg);
		return;
	}
	if (tap && kind <= LOG_WARNING)
		tap(kind, text, tap_arg);
	log_print(kind, text);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERROR, fmt, ap);
	va_end(ap);
	return -1;
}

int warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, fmt, ap);
	va_end(ap);
	return -1;
}

void output(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_OUTPUT, fmt, ap);
	va_end(ap);
}

void verbose(const char *fmt, ...)
{
	va_list ap;

	if (log_verbosity < 3)
		return;
	va_start(ap, fmt);
	log_vmsg(LOG_VERBOSE, fmt, ap);
	va_end(ap);
}

void bug(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: BUG: ", prefix);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
