/*
 * verify.c - `shelter verify [-v] [--json] DEST`: re-hash every file of a
 * backup's mirror against DEST/.shelter/mirror.index and every kept file
 * of its history against its history record; report what is damaged,
 * missing or unrecorded, and flag damaged mirror records so the next
 * backup sends them again (doc/history.md "verify").
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <popt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beneath.h"
#include "bounds.h"
#include "durable.h"
#include "escape.h"
#include "exitcode.h"
#include "histindex.h"
#include "log.h"
#include "mirrorindex.h"
#include "opts.h"
#include "path.h"
#include "proto.h"
#include "remote.h"
#include "runlog.h"
#include "scan.h"
#include "session.h"
#include "verify.h"

/* One finding, kept for --json (and counted). */
struct finding {
	char *path;		/* raw, relative to DEST */
	int has_hashes;
	unsigned char want[HASH_LEN], got[HASH_LEN];
};

struct findings {
	struct finding *v;
	size_t n, cap;
};

struct verify {
	int verbose, json;
	uint64_t files, bytes;
	struct findings damaged, missing, unrecorded;
	const char *index_state;	/* "ok", "missing", "damaged", "unreadable" */
	int code;
};

static void add(struct findings *f, const char *path, const unsigned char *want,
		const unsigned char *got)
{
	struct finding *x;

	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 16;
		f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	x = &f->v[f->n++];
	memset(x, 0, sizeof(*x));
	x->path = xstrdup(path);
	if (want) {
		x->has_hashes = 1;
		memcpy(x->want, want, HASH_LEN);
		memcpy(x->got, got, HASH_LEN);
	}
}

static void release(struct findings *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->v[i].path);
	free(f->v);
}

/* Print one finding as text (not with --json). */
static void say(const struct verify *v, const char *what, const char *path,
		const unsigned char *want, const unsigned char *got)
{
	char *p;

	if (v->json)
		return;
	p = escape_bytes(path, strlen(path));
	if (want) {
		char a[2 * HASH_LEN + 1], b[2 * HASH_LEN + 1];

		hash_hex(want, a);
		hash_hex(got, b);
		output("%s: %s: expected %s, got %s", what, p, a, b);
	} else {
		output("%s: %s", what, p);
	}
	free(p);
}

/* Hash NAME in DIRFD; 0, or -1 with an error naming PATH printed. */
static int hash_at(int dirfd, const char *name, const char *path, unsigned char h[HASH_LEN],
		   uint64_t *size)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 || hash_fd(fd, h, size) < 0) {
		error("cannot read %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * PATH was moved into the history at or after SINCE (by a pass that died
 * before it wrote the index): the history has it, the index is just older.
 */
static int kept_since(const struct hlist *l, const char *path, const struct timespec *since)
{
	size_t lo = 0, hi = l->n, i;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (path_cmp(l->v[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < l->n && !strcmp(l->v[i].path, path); i++)
		if (l->v[i].event != HV_CURRENT && l->v[i].has_inode &&
		    ts_cmp(&l->v[i].kept_at, since) >= 0)
			return 1;
	return 0;
}

/* A record with no regular file: missing, unless a later pass kept it (it is then dropped). */
static void missing(struct verify *v, struct miwriter *w, const struct mrec *m,
		    const struct hlist *l, const struct timespec *since)
{
	if (kept_since(l, m->path, since)) {
		if (v->verbose && !v->json) {
			char *p = escape_bytes(m->path, strlen(m->path));

			output("kept since: %s (a pass that did not finish moved it into the "
			       "history)", p);
			free(p);
		}
		return;
	}
	add(&v->missing, m->path, NULL, NULL);
	say(v, "missing", m->path, NULL, NULL);
	if (w)
		miwriter_put(w, m);
}

/*
 * The mirror: merge a walk of DEST with the index, hash every file, and
 * rewrite the index when a damaged flag changes. *UNREADABLE counts files
 * that could not be read.
 */
static void verify_mirror(struct verify *v, int dest_fd, const struct hlist *l,
			  unsigned *unreadable)
{
	struct timespec since = { 0, 0 };
	char why[600];
	struct mireader *rd = NULL;
	struct miwriter w;
	struct mrec rec;
	int have = 0, have_e = 0, more = 1, got = 1, sfd, wopen = 0, changed = 0;
	struct scan *sc;
	struct entry e;
	struct stat st;

	sfd = openat(dest_fd, ".shelter", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	got = sfd < 0 ? (errno == ENOENT ? 1 : -1) : mireader_open(sfd, MI_FILE, MI_FILE, &rd, why,
								    sizeof(why));
	if (sfd < 0 && got < 0)
		snprintf(why, sizeof(why), "%s", strerror(errno));
	if (got) {
		v->index_state = got > 0 ? "missing" : "damaged";
		if (got > 0)
			error("DEST/.shelter/%s is missing: the mirror cannot be verified (a backup "
			      "pass writes it; DEST was made by an older shelter, or never backed up)",
			      MI_FILE);
		else
			error("DEST/.shelter/%s: %s; the mirror cannot be verified (the next backup "
			      "rewrites the index, hashing every file once)", MI_FILE, why);
		v->code = EXIT_VERIFY;
		if (sfd >= 0)
			close(sfd);
		return;
	}
	got = 1;
	if (fstatat(sfd, MI_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0)
		since = st.st_mtim;	/* when the index was written */
	if (miwriter_open(&w, sfd, MI_TMP) == 0)
		wopen = 1;
	sc = scan_open(dest_fd, NULL, SCAN_QUIET);
	for (;;) {
		int c;

		if (!have_e && more) {
			while ((more = scan_next(sc, &e, &st)) &&
			       (e.type != 'f' || is_tmp_name(path_base(e.path))))
				;
			have_e = more;
		}
		if (!have && got == 1) {
			got = mireader_next(rd, &rec);
			have = got == 1;
		}
		if (got < 0 || (!have_e && !have))
			break;
		c = !have_e ? -1 : !have ? 1 : path_cmp(rec.path, e.path);
		if (c < 0) {
			missing(v, wopen ? &w : NULL, &rec, l, &since);
			have = 0;
			continue;
		}
		if (c > 0) {
			add(&v->unrecorded, e.path, NULL, NULL);
			say(v, "no record", e.path, NULL, NULL);
			have_e = 0;
			continue;
		}
		/* Both: hash it. */
		{
			unsigned char h[HASH_LEN];
			uint64_t size;

			have = have_e = 0;
			if (rec.ino != (uint64_t)st.st_ino) {
				/* Replaced since (a pass that died, or by hand): nothing to check. */
				add(&v->unrecorded, e.path, NULL, NULL);
				say(v, "no record", e.path, NULL, NULL);
				if (wopen)
					miwriter_put(&w, &rec);
				continue;
			}
			if (hash_at(scan_dirfd(sc), path_base(e.path), e.path, h, &size)) {
				(*unreadable)++;
				if (wopen)
					miwriter_put(&w, &rec);
				continue;
			}
			v->files++;
			v->bytes += size;
			if (memcmp(h, rec.hash, HASH_LEN)) {
				add(&v->damaged, e.path, rec.hash, h);
				say(v, "damaged", e.path, rec.hash, h);
				changed |= !rec.damaged;
				rec.damaged = 1;
			} else {
				if (v->verbose && !v->json) {
					char *p = escape_bytes(e.path, strlen(e.path));

					output("ok: %s", p);
					free(p);
				}
				changed |= rec.damaged;
				rec.damaged = 0;
			}
			if (wopen)
				miwriter_put(&w, &rec);
		}
	}
	scan_close(sc);
	if (got < 0) {
		v->index_state = "damaged";
		error("DEST/.shelter/%s: %s; the mirror cannot be verified past that point (the "
		      "next backup rewrites the index, hashing every file once)", MI_FILE,
		      mireader_why(rd));
		v->code = EXIT_VERIFY;
		changed = 0;
	} else {
		v->index_state = "ok";
	}
	if (wopen && changed) {
		/* The flags tell the next backup what to send again. */
		if (miwriter_finish(&w, MI_FILE))
			error("the damaged files are not flagged in DEST/.shelter/%s; the next backup "
			      "will not know to send them again (run it with -c)", MI_FILE);
	} else if (wopen) {
		miwriter_abort(&w);
	}
	mireader_close(rd);
	close(sfd);
}

/* The history: every kept file with a hash, against its record. */
static void verify_history(struct verify *v, int dest_fd, const struct hlist *hl,
			   unsigned *unreadable)
{
	const struct hlist *l = hl;
	struct beneath bn;
	size_t i;

	beneath_init(&bn, dest_fd);
	for (i = 0; i < l->n; i++) {
		const struct hversion *h = &l->v[i];
		unsigned char got[HASH_LEN];
		const char *base;
		char *rel;
		uint64_t size;
		size_t n;
		int dirfd;

		if (h->event == HV_CURRENT || h->type != 'f' || !h->has_hash || !h->has_inode)
			continue;
		n = strlen(h->pass) + strlen(h->path) + 32;
		rel = xmalloc(n);
		snprintf(rel, n, ".shelter/history/%s/tree/%s", h->pass, h->path);
		dirfd = beneath_parent(&bn, rel, &base);
		if (dirfd < 0 || hash_at(dirfd, base, rel, got, &size)) {
			if (dirfd < 0)
				error("cannot open the directory of %s: %s", rel, strerror(errno));
			(*unreadable)++;
			free(rel);
			continue;
		}
		v->files++;
		v->bytes += size;
		if (memcmp(got, h->hash, HASH_LEN)) {
			add(&v->damaged, rel, h->hash, got);
			say(v, "damaged", rel, h->hash, got);
		} else if (v->verbose && !v->json) {
			char *p = escape_bytes(rel, strlen(rel));

			output("ok: %s", p);
			free(p);
		}
		free(rel);
	}
	if (l->problems) {
		error("%u problems with the history (above): those records could not be verified",
		      l->problems);
		(*unreadable) += l->problems;
	}
	beneath_release(&bn);
}

static void json_list(const struct findings *f, const char *name)
{
	size_t i;

	printf(", \"%s\": [", name);
	for (i = 0; i < f->n; i++) {
		size_t n = strlen(f->v[i].path);
		char *s = xmalloc(6 * n + 3);

		json_string(s, f->v[i].path, n);
		if (f->v[i].has_hashes) {
			char a[2 * HASH_LEN + 1], b[2 * HASH_LEN + 1];

			hash_hex(f->v[i].want, a);
			hash_hex(f->v[i].got, b);
			printf("%s{\"path\": %s, \"expected\": \"%s\", \"got\": \"%s\"}", i ? ", " : "",
			       s, a, b);
		} else {
			printf("%s%s", i ? ", " : "", s);
		}
		free(s);
	}
	fputs("]", stdout);
}

/* Verify the DEST open as FD with V's settings (doc/history.md "verify"); the exit code. */
static int verify_run(struct verify *v, int fd)
{
	struct hlist hl;
	unsigned unreadable = 0;

	hist_load(&hl, fd, "", 0);
	verify_mirror(v, fd, &hl, &unreadable);
	verify_history(v, fd, &hl, &unreadable);
	hist_release(&hl);
	if (v->damaged.n || v->missing.n)
		v->code = EXIT_VERIFY;
	else if (unreadable && !v->code)
		v->code = EXIT_PARTIAL;
	if (v->json) {
		printf("{\"files\": %llu, \"bytes\": %llu, \"index\": \"%s\", \"unreadable\": %u",
		       (unsigned long long)v->files, (unsigned long long)v->bytes,
		       v->index_state ? v->index_state : "ok", unreadable);
		json_list(&v->damaged, "damaged");
		json_list(&v->missing, "missing");
		json_list(&v->unrecorded, "unrecorded");
		printf(", \"exit\": %d}\n", v->code);
	} else {
		output("verified %llu files, %llu bytes: %zu damaged, %zu missing, %zu without a "
		       "record%s", (unsigned long long)v->files, (unsigned long long)v->bytes,
		       v->damaged.n, v->missing.n, v->unrecorded.n,
		       unreadable ? ", some unreadable (above)" : "");
	}
	fflush(stdout);
	release(&v->damaged);
	release(&v->missing);
	release(&v->unrecorded);
	return v->code;
}

int verify_main(int argc, const char **argv, const char *usage)
{
	const char *arg = NULL;
	struct poptOption table[] = {
		{ "verbose", 'v', POPT_ARG_NONE, NULL, 'v', NULL, NULL },
		{ "json", 0, POPT_ARG_NONE, NULL, 'j', NULL, NULL },
		REMOTE_OPTIONS(&arg),
		{ "run-log", 0, POPT_ARG_STRING, &arg, 'l', NULL, NULL },
		{ "help", 'h', POPT_ARG_NONE, NULL, 'h', NULL, NULL },
		POPT_TABLEEND
	};
	poptContext pc = poptGetContext("shelter verify", argc, argv, table, 0);
	struct verify v;
	struct opts o;
	struct runlog *rl;
	const char **rest;
	char *run_log = NULL;
	int rc, fd, bad = 0;

	memset(&v, 0, sizeof(v));
	memset(&o, 0, sizeof(o));
	o.timeout = DEFAULT_TIMEOUT;
	while ((rc = poptGetNextOpt(pc)) > 0) {
		if (rc == 'v')
			v.verbose = 1;
		else if (rc == 'j')
			v.json = 1;
		else if (rc == 'e' || rc == 'r' || rc == 't')
			bad |= remote_option(&o, rc, &arg) != 0;
		else if (rc == 'l') {
			free(run_log);
			run_log = (char *)arg;
			arg = NULL;
		}
		else if (rc == 'h') {
			fputs(usage, stdout);
			rc = EXIT_OK;
			goto out;
		}
	}
	if (bad) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (rc < -1) {
		popt_error(pc, rc);
		rc = EXIT_USAGE;
		goto out;
	}
	rest = poptGetArgs(pc);
	if (!rest || !rest[0] || rest[1]) {
		fprintf(stderr, "shelter: verify needs exactly one path: DEST\n"
			"Try 'shelter --help' for more information.\n");
		rc = EXIT_USAGE;
		goto out;
	}
	if (is_remote_arg(rest[0]) && v.json) {
		fprintf(stderr, "shelter: verify --json %s: --json is for a local DEST; over ssh "
			"the lines come as text\nTry 'shelter --help' for more information.\n",
			rest[0]);
		rc = EXIT_USAGE;
		goto out;
	}
	rl = runlog_begin("verify", rest, 1, run_log);
	runlog_arm(rl);
	if (is_remote_arg(rest[0])) {
		rc = remote_dest_command(&o, ROLE_VERIFY, rest[0], NULL, 0, v.verbose);
	} else if ((fd = open(rest[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		error("DEST %s: %s", rest[0], strerror(errno));
		rc = EXIT_ROOTS;
	} else {
		rc = verify_run(&v, fd);
		close(fd);
	}
	runlog_finish(rl, rc);
out:
	free((void *)arg);
	free((void *)o.rsh);
	free((void *)o.remote_cmd);
	free(run_log);
	poptFreeContext(pc);
	return rc;
}

int verify_dest(int dest_fd, int verbose)
{
	struct verify v;

	memset(&v, 0, sizeof(v));
	v.verbose = verbose;
	return verify_run(&v, dest_fd);
}
