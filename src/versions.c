/*
 * versions.c - `shelter versions [--json] DEST[/PATH]`: every version of a
 * file or a tree that DEST holds, kept or current (doc/history.md).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <popt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "escape.h"
#include "exitcode.h"
#include "histindex.h"
#include "log.h"
#include "opts.h"
#include "remote.h"
#include "restore.h"

static const char *event_name(enum hv_event e)
{
	return e == HV_CHANGED ? "changed" : e == HV_DELETED ? "deleted" : "current";
}

static void print_text(const struct hversion *v)
{
	char kept[40] = "-", mtime[40], hex[2 * HASH_LEN + 1] = "-";
	char *path = escape_bytes(v->path, strlen(v->path));
	char *target = v->target ? escape_bytes(v->target, strlen(v->target)) : NULL;

	if (v->event != HV_CURRENT)
		iso_time(kept, sizeof(kept), &v->kept_at, 0);
	iso_time(mtime, sizeof(mtime), &v->mtime, 0);
	if (v->has_hash)
		hash_hex(v->hash, hex);
	printf("%-20s %-7s %c %12llu %s %04o %-32s %s%s%s\n", kept, event_name(v->event), v->type,
	       (unsigned long long)v->size, mtime, v->mode, hex, path, target ? " -> " : "",
	       target ? target : "");
	free(path);
	free(target);
}

static void print_json_string(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(6 * n + 3);

	json_string(out, s, n);
	fputs(out, stdout);
	free(out);
}

static void print_json(const struct hversion *v, int first)
{
	char t[40], hex[2 * HASH_LEN + 1];

	fputs(first ? "[\n  {\"path\": " : ",\n  {\"path\": ", stdout);
	print_json_string(v->path);
	iso_time(t, sizeof(t), &v->mtime, 1);
	printf(", \"event\": \"%s\", \"type\": \"%c\", \"size\": %llu, \"mtime\": \"%s\", "
	       "\"mode\": \"%04o\", \"hash\": ", event_name(v->event), v->type,
	       (unsigned long long)v->size, t, v->mode);
	if (v->has_hash) {
		hash_hex(v->hash, hex);
		printf("\"%s\"", hex);
	} else {
		fputs("null", stdout);
	}
	if (v->event != HV_CURRENT) {
		iso_time(t, sizeof(t), &v->kept_at, 1);
		printf(", \"kept_at\": \"%s\", \"pass\": ", t);
		print_json_string(v->pass);
	} else {
		fputs(", \"kept_at\": null, \"pass\": null", stdout);
	}
	if (v->target) {
		fputs(", \"target\": ", stdout);
		print_json_string(v->target);
	}
	fputs("}", stdout);
}

int versions_main(int argc, const char **argv, const char *usage)
{
	struct poptOption table[] = {
		{ "json", 0, POPT_ARG_NONE, NULL, 'j', NULL, NULL },
		{ "help", 'h', POPT_ARG_NONE, NULL, 'h', NULL, NULL },
		POPT_TABLEEND
	};
	poptContext pc = poptGetContext("shelter versions", argc, argv, table, 0);
	const char **rest;
	char *dest = NULL, *path = NULL;
	struct hlist l;
	int rc, json = 0, fd = -1;
	size_t i;

	while ((rc = poptGetNextOpt(pc)) > 0) {
		if (rc == 'j')
			json = 1;
		else if (rc == 'h') {
			fputs(usage, stdout);
			poptFreeContext(pc);
			return EXIT_OK;
		}
	}
	if (rc < -1) {
		popt_error(pc, rc);
		poptFreeContext(pc);
		return EXIT_USAGE;
	}
	rest = poptGetArgs(pc);
	if (!rest || !rest[0] || rest[1]) {
		fprintf(stderr, "shelter: versions needs exactly one path: DEST or DEST/PATH\n"
			"Try 'shelter --help' for more information.\n");
		poptFreeContext(pc);
		return EXIT_USAGE;
	}
	if (is_remote_arg(rest[0])) {
		fprintf(stderr, "shelter: versions %s: a remote DEST is not supported yet; run "
			"shelter versions on the machine that holds DEST (ssh HOST shelter versions "
			"PATH)\n", rest[0]);
		poptFreeContext(pc);
		return EXIT_USAGE;
	}
	if (hist_split(rest[0], &dest, &path)) {
		poptFreeContext(pc);
		return EXIT_USAGE;
	}
	fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		error("DEST %s: %s", dest, strerror(errno));
		rc = EXIT_ROOTS;
		goto out;
	}
	hist_load(&l, fd, path, HIST_HASH_CURRENT);
	for (i = 0; i < l.n; i++) {
		if (json)
			print_json(&l.v[i], i == 0);
		else
			print_text(&l.v[i]);
	}
	if (json)
		fputs(l.n ? "\n]\n" : "[]\n", stdout);
	fflush(stdout);
	rc = l.problems ? EXIT_PARTIAL : EXIT_OK;
	if (!l.n && *path) {
		error("%s: no versions: %s is neither in DEST's mirror nor in its history (DEST "
		      "taken to be %s)", rest[0], path, dest);
		rc = EXIT_ROOTS;
	}
	hist_release(&l);
out:
	if (fd >= 0)
		close(fd);
	free(dest);
	free(path);
	poptFreeContext(pc);
	return rc;
}
