/*
 * status.c - shelter status: the last run of each pair (command and roots)
 * from the run log (doc/runlog.md), for people, for scripts (--json), and
 * as a check (--max-age) that cron, systemd or Nagios can call as is.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <popt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "buf.h"
#include "exitcode.h"
#include "histindex.h"
#include "log.h"
#include "opts.h"
#include "runlog.h"

#define MAX_DEPTH 16

/* What status needs of one line. */
struct run {
	char *line;			/* as read, for --json */
	char *start, *end, *command, *result;
	char *roots[2];
	int nroots;
	int dry_run;
	uint64_t exit_code, errors, files, transferred, deleted;
	char *first_msg;
};

struct jp {
	const char *p, *e;
	int depth;
};

static void ws(struct jp *j)
{
	while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

static int hex4(const char *p, unsigned *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		if (!isxdigit((unsigned char)p[i]))
			return -1;
		*v = *v * 16 + (unsigned)(isdigit((unsigned char)p[i]) ? p[i] - '0'
							      : (tolower((unsigned char)p[i]) - 'a' + 10));
	}
	return 0;
}

static void put_utf8(struct buf *b, unsigned c)
{
	if (c < 0x80) {
		buf_put_u8(b, (uint8_t)c);
	} else if (c < 0x800) {
		buf_put_u8(b, (uint8_t)(0xc0 | c >> 6));
		buf_put_u8(b, (uint8_t)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		buf_put_u8(b, (uint8_t)(0xe0 | c >> 12));
		buf_put_u8(b, (uint8_t)(0x80 | ((c >> 6) & 0x3f)));
		buf_put_u8(b, (uint8_t)(0x80 | (c & 0x3f)));
	} else {
		buf_put_u8(b, (uint8_t)(0xf0 | c >> 18));
		buf_put_u8(b, (uint8_t)(0x80 | ((c >> 12) & 0x3f)));
		buf_put_u8(b, (uint8_t)(0x80 | ((c >> 6) & 0x3f)));
		buf_put_u8(b, (uint8_t)(0x80 | (c & 0x3f)));
	}
}

/* A string into *OUT (malloc'd; OUT NULL: skip). \udcHH is the byte HH. */
static int jstring(struct jp *j, char **out)
{
	struct buf b = BUF_INIT;
	unsigned c, lo;

	ws(j);
	if (j->p >= j->e || *j->p != '"')
		return -1;
	j->p++;
	while (j->p < j->e && *j->p != '"') {
		if ((unsigned char)*j->p < 0x20)
			goto bad;
		if (*j->p != '\\') {
			buf_put_u8(&b, (uint8_t)*j->p++);
			continue;
		}
		if (++j->p >= j->e)
			goto bad;
		switch (*j->p++) {
		case '"': buf_put_u8(&b, '"'); break;
		case '\\': buf_put_u8(&b, '\\'); break;
		case '/': buf_put_u8(&b, '/'); break;
		case 'b': buf_put_u8(&b, '\b'); break;
		case 'f': buf_put_u8(&b, '\f'); break;
		case 'n': buf_put_u8(&b, '\n'); break;
		case 'r': buf_put_u8(&b, '\r'); break;
		case 't': buf_put_u8(&b, '\t'); break;
		case 'u':
			if (j->e - j->p < 4 || hex4(j->p, &c))
				goto bad;
			j->p += 4;
			if (c >= 0xdc80 && c <= 0xdcff) {
				buf_put_u8(&b, (uint8_t)(c & 0xff));
			} else if (c >= 0xd800 && c < 0xdc00 && j->e - j->p >= 6 && j->p[0] == '\\' &&
				   j->p[1] == 'u' && !hex4(j->p + 2, &lo) && lo >= 0xdc00 &&
				   lo < 0xe000) {
				j->p += 6;
				put_utf8(&b, 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00));
			} else if (c >= 0xd800 && c < 0xe000) {
				goto bad;
			} else {
				put_utf8(&b, c);
			}
			break;
		default:
			goto bad;
		}
	}
	if (j->p >= j->e)
		goto bad;
	j->p++;
	buf_put_u8(&b, 0);
	if (out)
		*out = xstrdup((const char *)b.data);
	buf_release(&b);
	return 0;
bad:
	buf_release(&b);
	return -1;
}

static int jnumber(struct jp *j, uint64_t *v)
{
	char *end;
	unsigned long long n;

	ws(j);
	if (j->p >= j->e || !isdigit((unsigned char)*j->p))
		return -1;
	errno = 0;
	n = strtoull(j->p, &end, 10);
	if (errno || end > j->e)
		return -1;
	j->p = end;
	*v = n;
	return 0;
}

static int lit(struct jp *j, const char *w)
{
	size_t n = strlen(w);

	ws(j);
	if ((size_t)(j->e - j->p) < n || memcmp(j->p, w, n))
		return -1;
	j->p += n;
	return 0;
}

static int skip(struct jp *j);

/* An object or array: ITEM for each member (key set for objects). */
static int members(struct jp *j, int object, int (*item)(struct jp *, const char *, void *),
		   void *arg)
{
	char *key = NULL;
	int first = 1, r;

	if (++j->depth > MAX_DEPTH)
		return -1;
	ws(j);
	j->p++;
	for (;;) {
		ws(j);
		if (j->p < j->e && *j->p == (object ? '}' : ']')) {
			j->p++;
			j->depth--;
			return 0;
		}
		if (!first && lit(j, ","))
			return -1;
		first = 0;
		if (object) {
			if (jstring(j, &key) || lit(j, ":")) {
				free(key);
				return -1;
			}
		}
		r = item ? item(j, key, arg) : skip(j);
		free(key);
		key = NULL;
		if (r)
			return -1;
	}
}

static int skip(struct jp *j)
{
	uint64_t v;

	ws(j);
	if (j->p >= j->e)
		return -1;
	switch (*j->p) {
	case '"': return jstring(j, NULL);
	case '{': return members(j, 1, NULL, NULL);
	case '[': return members(j, 0, NULL, NULL);
	case 't': return lit(j, "true");
	case 'f': return lit(j, "false");
	case 'n': return lit(j, "null");
	case '-':
		j->p++;
		/* fall through */
	default:
		if (jnumber(j, &v))
			return -1;
		if (j->p < j->e && (*j->p == '.' || *j->p == 'e' || *j->p == 'E')) {
			j->p++;
			while (j->p < j->e && (isdigit((unsigned char)*j->p) || *j->p == '-' ||
					       *j->p == '+' || *j->p == 'e' || *j->p == 'E'))
				j->p++;
		}
		return 0;
	}
}

static int root_item(struct jp *j, const char *key, void *arg)
{
	struct run *r = arg;

	(void)key;
	if (r->nroots >= 2)
		return -1;
	return jstring(j, &r->roots[r->nroots++]);
}

static int count_item(struct jp *j, const char *key, void *arg)
{
	struct run *r = arg;

	if (!strcmp(key, "files"))
		return jnumber(j, &r->files);
	if (!strcmp(key, "transferred"))
		return jnumber(j, &r->transferred);
	if (!strcmp(key, "deleted"))
		return jnumber(j, &r->deleted);
	return skip(j);
}

static int msg_item(struct jp *j, const char *key, void *arg)
{
	struct run *r = arg;

	if (key && !strcmp(key, "text") && !r->first_msg)
		return jstring(j, &r->first_msg);
	ws(j);
	if (!key && j->p < j->e && *j->p == '{')
		return members(j, 1, msg_item, r);
	return skip(j);
}

static int field(char **f, struct jp *j)
{
	if (*f)
		return -1;		/* twice */
	return jstring(j, f);
}

static int top_item(struct jp *j, const char *key, void *arg)
{
	struct run *r = arg;

	ws(j);
	if (!strcmp(key, "start"))
		return field(&r->start, j);
	if (!strcmp(key, "end"))
		return field(&r->end, j);
	if (!strcmp(key, "command"))
		return field(&r->command, j);
	if (!strcmp(key, "result"))
		return field(&r->result, j);
	if (!strcmp(key, "exit_code"))
		return jnumber(j, &r->exit_code);
	if (!strcmp(key, "errors"))
		return jnumber(j, &r->errors);
	if (!strcmp(key, "dry_run")) {
		r->dry_run = !lit(j, "true");
		return r->dry_run ? 0 : lit(j, "false");
	}
	if (!strcmp(key, "roots") && j->p < j->e && *j->p == '[' && !r->nroots)
		return members(j, 0, root_item, r);
	if (!strcmp(key, "counts") && j->p < j->e && *j->p == '{')
		return members(j, 1, count_item, r);
	if (!strcmp(key, "messages") && j->p < j->e && *j->p == '[')
		return members(j, 0, msg_item, r);
	return skip(j);
}

static void run_release(struct run *r)
{
	free(r->line);
	free(r->start);
	free(r->end);
	free(r->command);
	free(r->result);
	free(r->roots[0]);
	free(r->roots[1]);
	free(r->first_msg);
	memset(r, 0, sizeof(*r));
}

/* Parse LINE (N bytes, no newline) into R: 0, or -1 with R released. */
static int parse_run(const char *line, size_t n, struct run *r)
{
	struct jp j = { line, line + n, 0 };
	struct timespec ts;
	char why[256];

	memset(r, 0, sizeof(*r));
	ws(&j);
	if (j.p >= j.e || *j.p != '{' || members(&j, 1, top_item, r))
		goto bad;
	ws(&j);
	if (j.p != j.e || !r->end || !r->command || !r->result || !r->nroots)
		goto bad;
	if (parse_when(r->end, &ts, &ts, why, sizeof(why)) || !strchr(r->end, 'Z'))
		goto bad;
	r->line = xstrndup(line, n);
	return 0;
bad:
	run_release(r);
	return -1;
}

static int same_pair(const struct run *a, const struct run *b)
{
	int i;

	if (strcmp(a->command, b->command) || a->nroots != b->nroots)
		return 0;
	for (i = 0; i < a->nroots; i++)
		if (strcmp(a->roots[i], b->roots[i]))
			return 0;
	return 1;
}

static int wanted(const struct run *r, const char **roots)
{
	int i;

	if (!roots || !roots[0])
		return 1;
	for (; *roots; roots++)
		for (i = 0; i < r->nroots; i++)
			if (!strcmp(*roots, r->roots[i]))
				return 1;
	return 0;
}

static void age_text(char *out, size_t n, long long secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		snprintf(out, n, "%llds", secs);
	else if (secs < 3600)
		snprintf(out, n, "%lldm", secs / 60);
	else if (secs < 86400)
		snprintf(out, n, "%lldh%02lldm", secs / 3600, secs / 60 % 60);
	else
		snprintf(out, n, "%lldd%02lldh", secs / 86400, secs / 3600 % 24);
}

static void pair_name(char *out, size_t n, const struct run *r)
{
	snprintf(out, n, "%s %s%s%s", r->command, r->roots[0], r->nroots > 1 ? " -> " : "",
		 r->nroots > 1 ? r->roots[1] : "");
}

/* Read FILE's runs; keep the last of each pair among the wanted ones. */
static int load(const char *file, const char **roots, struct run **out, size_t *nout)
{
	FILE *f = fopen(file, "re");
	char *line = NULL;
	size_t cap = 0, lineno = 0, bad = 0, i, n = 0;
	struct run *v = NULL, r;
	ssize_t len;

	if (!f)
		return errno == ENOENT ? 1 : error("run log %s: %s", file, strerror(errno));
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (len && line[len - 1] == '\n')
			len--;
		if (!len)
			continue;
		if (parse_run(line, (size_t)len, &r)) {
			if (++bad <= 3)
				warning("run log %s line %zu: not a run log line (damaged or cut "
					"short); skipped", file, lineno);
			continue;
		}
		if (r.dry_run || !wanted(&r, roots)) {
			run_release(&r);
			continue;
		}
		for (i = 0; i < n; i++)
			if (same_pair(&v[i], &r))
				break;
		if (i < n) {
			/* Lines are appended as runs end: the later line is the last run. */
			run_release(&v[i]);
			v[i] = r;
		} else {
			v = xrealloc(v, sizeof(*v) * (n + 1));
			v[n++] = r;
		}
	}
	if (bad > 3)
		warning("run log %s: %zu more lines that are not run log lines skipped", file,
			bad - 3);
	free(line);
	fclose(f);
	*out = v;
	*nout = n;
	return 0;
}

int status_main(int argc, const char **argv, const char *usage)
{
	const char *max_age = NULL, *run_log = NULL;
	struct poptOption table[] = {
		{ "max-age", 0, POPT_ARG_STRING, &max_age, 'm', NULL, NULL },
		{ "json", 0, POPT_ARG_NONE, NULL, 'j', NULL, NULL },
		{ "run-log", 0, POPT_ARG_STRING, &run_log, 'r', NULL, NULL },
		{ "help", 'h', POPT_ARG_NONE, NULL, 'h', NULL, NULL },
		POPT_TABLEEND
	};
	poptContext pc = poptGetContext("shelter status", argc, argv, table, 0);
	char *age_arg = NULL, *file = NULL, why[256], name[8400], age[32];
	struct timespec now, limit, end;
	struct run *v = NULL;
	size_t n = 0, i;
	const char **roots;
	int rc, json = 0, problems = 0;

	while ((rc = poptGetNextOpt(pc)) > 0) {
		switch (rc) {
		case 'm':
			free(age_arg);
			age_arg = (char *)max_age;
			max_age = NULL;
			break;
		case 'r':
			free(file);
			file = (char *)run_log;
			run_log = NULL;
			break;
		case 'j': json = 1; break;
		case 'h':
			fputs(usage, stdout);
			rc = EXIT_OK;
			goto out;
		}
	}
	if (rc < -1) {
		popt_error(pc, rc);
		rc = EXIT_USAGE;
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (age_arg) {
		size_t l = strlen(age_arg);

		if (!l || !strchr("smhdw", age_arg[l - 1]) || !isdigit((unsigned char)age_arg[0]) ||
		    parse_when(age_arg, &now, &limit, why, sizeof(why))) {
			fprintf(stderr, "shelter: --max-age '%s': give an age, a number and one unit: "
				"30m, 26h, 3d, 2w\nTry 'shelter --help' for more information.\n",
				age_arg);
			rc = EXIT_USAGE;
			goto out;
		}
	}
	if (!file)
		file = runlog_default_path();
	roots = poptGetArgs(pc);
	rc = load(file, roots, &v, &n);
	if (rc < 0) {
		rc = age_arg ? EXIT_STATUS : EXIT_ROOTS;
		goto out;
	}
	if (rc == 1) {
		if (json) {
			printf("[]\n");
		} else {
			printf("shelter status: no run log at %s yet: no backup or sync has run with "
			       "it%s\n", file, age_arg ? " (PROBLEM under --max-age)" : "");
		}
		rc = age_arg ? EXIT_STATUS : EXIT_OK;
		goto out;
	}
	if (json) {
		printf("[");
		for (i = 0; i < n; i++)
			printf("%s\n%s", i ? "," : "", v[i].line);
		printf("\n]\n");
	}
	for (i = 0; i < n; i++) {
		end.tv_sec = 0;
		end.tv_nsec = 0;
		parse_when(v[i].end, &now, &end, why, sizeof(why));
		age_text(age, sizeof(age), (long long)(now.tv_sec - end.tv_sec));
		pair_name(name, sizeof(name), &v[i]);
		if (!json)
			printf("%s: %s, exit %llu (%s), ended %s (%s ago); %llu entries, %llu "
			       "transferred, %llu deleted, %llu errors\n", name, v[i].result,
			       (unsigned long long)v[i].exit_code, exit_meaning((int)v[i].exit_code),
			       v[i].end, age, (unsigned long long)v[i].files,
			       (unsigned long long)v[i].transferred, (unsigned long long)v[i].deleted,
			       (unsigned long long)v[i].errors);
		if (!age_arg)
			continue;
		if (!strcmp(v[i].result, "failed")) {
			printf("PROBLEM: %s: the last run failed with exit %llu (%s) at %s%s%s\n", name,
			       (unsigned long long)v[i].exit_code,
			       exit_meaning((int)v[i].exit_code), v[i].end,
			       v[i].first_msg ? ": " : "", v[i].first_msg ? v[i].first_msg : "");
			problems++;
		}
		if (ts_cmp(&end, &limit) < 0) {
			printf("PROBLEM: %s: the last run ended %s ago (%s), longer than --max-age "
			       "%s\n", name, age, v[i].end, age_arg);
			problems++;
		}
	}
	if (age_arg && !n) {
		printf("PROBLEM: no run%s%s in %s\n", roots && roots[0] ? " of " : "",
		       roots && roots[0] ? roots[0] : "", file);
		problems++;
	}
	rc = problems ? EXIT_STATUS : EXIT_OK;
	if (age_arg && !problems && !json)
		printf("OK: %zu pair%s, each last run within %s and not failed\n", n,
		       n == 1 ? "" : "s", age_arg);
out:
	for (i = 0; i < n; i++)
		run_release(&v[i]);
	free(v);
	free(age_arg);
	free(file);
	free((char *)max_age);
	free((char *)run_log);
	poptFreeContext(pc);
	return rc;
}
