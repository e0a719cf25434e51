/* report.c - itemize, -v, --stats and --progress; see report.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "report.h"

static int itemize;
static int verbosity = 1;

void report_setup(int it, int v)
{
	itemize = it;
	verbosity = v;
}

void report_item(const char *code, const char *path, int is_dir, const char *target)
{
	const char *slash = is_dir ? "/" : "";
	const char *arrow = target ? " -> " : "";

	if (!target)
		target = "";
	if (itemize)
		output("%-11s %s%s%s%s", code, path, slash, arrow, target);
	else if (verbosity >= 2)
		output("%s%s%s%s%s", strncmp(code, "*deleting", 9) ? "" : "deleting ", path, slash,
		       arrow, target);
}

void report_stats(const struct stats *st, uint64_t sent, uint64_t received)
{
	printf("Number of files: %llu (reg: %llu, dir: %llu, link: %llu)\n",
	       (unsigned long long)st->files, (unsigned long long)st->regular,
	       (unsigned long long)st->dirs, (unsigned long long)st->links);
	printf("Number of created files: %llu\n", (unsigned long long)st->created);
	printf("Number of deleted files: %llu\n", (unsigned long long)st->deleted);
	printf("Number of regular files transferred: %llu\n", (unsigned long long)st->transferred);
	printf("Total file size: %llu bytes\n", (unsigned long long)st->total_size);
	printf("Total transferred file size: %llu bytes\n", (unsigned long long)st->xfer_size);
	printf("Literal data: %llu bytes\n", (unsigned long long)st->literal);
	printf("Matched data: %llu bytes\n", (unsigned long long)st->matched);
	printf("Total bytes sent: %llu\n", (unsigned long long)sent);
	printf("Total bytes received: %llu\n", (unsigned long long)received);
	fflush(stdout);
}

static int progress_on;
static uint64_t progress_bytes, progress_total;
static struct timespec progress_start, progress_last;

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void progress_enable(int on)
{
	progress_on = on && isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &progress_start);
	progress_last = progress_start;
}

static void progress_show(const struct timespec *now)
{
	double t = since(&progress_start, now);
	double rate = t > 0 ? (double)progress_bytes / t : 0;

	double left = rate > 0 ? (double)(progress_total - progress_bytes) / rate : 0;

	/* A total from the peer is only a hint: show time left when it is sane. */
	if (progress_total && rate > 0 && progress_bytes <= progress_total && left < 360000) {
		fprintf(stderr, "\r%10.1f / %.1f MiB %3.0f%%  %8.1f MiB/s  %3d:%02d left ",
			(double)progress_bytes / 1048576.0, (double)progress_total / 1048576.0,
			100.0 * (double)progress_bytes / (double)progress_total, rate / 1048576.0,
			(int)(left / 60), (int)left % 60);
	} else {
		fprintf(stderr, "\r%10.1f MiB  %8.1f MiB/s  %5.0f s ", (double)progress_bytes / 1048576.0,
			rate / 1048576.0, t);
	}
}

void progress_plan(uint64_t bytes)
{
	progress_total = bytes;
}

void progress_add(uint64_t bytes)
{
	struct timespec now;

	progress_bytes += bytes;
	if (!progress_on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (since(&progress_last, &now) < 0.25)
		return;
	progress_last = now;
	progress_show(&now);
}

void progress_end(void)
{
	struct timespec now;

	if (!progress_on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	progress_show(&now);
	fputc('\n', stderr);
}
