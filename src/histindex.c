/* histindex.c - reading a DEST's history back; see histindex.h. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "bounds.h"
#include "buf.h"
#include "escape.h"
#include "hash.h"
#include "histindex.h"
#include "log.h"
#include "path.h"
#include "scan.h"

#define WHYLEN 256

/* ---- DEST[/PATH] -------------------------------------------------------------- */

/* A valid relative path, or "" (the whole tree). */
static int check_path(const char *path, const char *arg)
{
	char why[WHYLEN];

	if (!*path)
		return 0;
	if (path_valid(path, strlen(path), why, sizeof(why)))
		return error("%s: the part after DEST is not a usable path: %s", arg, why);
	if (!strcmp(path, ".shelter") || !strncmp(path, ".shelter/", 9))
		return error("%s: DEST/.shelter is shelter's own data, not part of the backup "
			     "(name a path in the mirror)", arg);
	return 0;
}

/* 1 if DIR/.shelter is a directory (not a symlink to one). */
static int has_shelter(const char *dir)
{
	char *p = xmalloc(strlen(dir) + 10);
	struct stat st;
	int r;

	sprintf(p, "%s/.shelter", dir);
	r = lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
	free(p);
	return r;
}

int hist_split(const char *arg, char **dest, char **path)
{
	char *s = xmalloc(strlen(arg) + 1), *o = s, *mark, *cut;
	const char *p;

	/* Collapse runs of '/', drop trailing ones (not a lone "/"). */
	for (p = arg; *p; p++)
		if (!(*p == '/' && o > s && o[-1] == '/'))
			*o++ = *p;
	*o = '\0';
	while (o > s + 1 && o[-1] == '/')
		*--o = '\0';

	*dest = *path = NULL;
	mark = strstr(s, "/./");
	if (mark) {
		*mark = '\0';
		*dest = xstrdup(*s ? s : "/");
		*path = xstrdup(mark + 3);
	} else if (strlen(s) >= 2 && !strcmp(s + strlen(s) - 2, "/.")) {
		s[strlen(s) - 2] = '\0';
		*dest = xstrdup(*s ? s : "/");
		*path = xstrdup("");
	} else {
		/* The deepest prefix that holds .shelter/; the rest must be a path. */
		cut = s + strlen(s);
		for (;;) {
			char *prefix = xstrndup(s, (size_t)(cut - s));
			const char *rest = *cut == '/' ? cut + 1 : cut;
			char why[WHYLEN];

			if (!*prefix) {
				free(prefix);
				prefix = xstrdup(*s == '/' ? "/" : ".");
			}
			if ((!*rest || !path_valid(rest, strlen(rest), why, sizeof(why))) &&
			    has_shelter(prefix)) {
				*dest = prefix;
				*path = xstrdup(rest);
				break;
			}
			free(prefix);
			if (cut == s)
				break;
			while (cut > s && *--cut != '/')
				;
		}
		if (!*dest) {
			struct stat st;
			char *slash = strrchr(s, '/');

			if (lstat(s, &st) < 0 || S_ISDIR(st.st_mode) ||
			    (stat(s, &st) == 0 && S_ISDIR(st.st_mode))) {
				*dest = xstrdup(s);
				*path = xstrdup("");
			} else if (slash && slash[1]) {
				*dest = slash == s ? xstrdup("/") : xstrndup(s, (size_t)(slash - s));
				*path = xstrdup(slash + 1);
			} else {
				*dest = xstrdup(".");
				*path = xstrdup(s);
			}
		}
	}
	free(s);
	if (!**dest || check_path(*path, arg)) {
		if (!**dest)
			error("%s: no DEST before /./", arg);
		free(*dest);
		free(*path);
		*dest = *path = NULL;
		return -1;
	}
	return 0;
}

/* ---- times -------------------------------------------------------------------- */

int ts_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	if (a->tv_nsec != b->tv_nsec)
		return a->tv_nsec < b->tv_nsec ? -1 : 1;
	return 0;
}

void iso_time(char *out, size_t n, const struct timespec *ts, int with_nsec)
{
	struct tm tm;
	time_t t = ts->tv_sec;

	if (!gmtime_r(&t, &tm)) {
		snprintf(out, n, "@%lld", (long long)ts->tv_sec);
		return;
	}
	if (with_nsec)
		snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (long)ts->tv_nsec);
	else
		snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Exactly N decimal digits at *P into *V; advances *P. */
static int digits(const char **p, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

/* ".fraction" (1 to 9 digits) at *P, if any, into *NSEC. */
static int fraction(const char **p, long *nsec)
{
	long scale = 100000000;
	int n = 0;

	*nsec = 0;
	if (**p != '.' && **p != ',')
		return 0;
	(*p)++;
	while (isdigit((unsigned char)**p)) {
		if (++n > 9)
			return -1;
		*nsec += (**p - '0') * scale;
		scale /= 10;
		(*p)++;
	}
	return n ? 0 : -1;
}

static int bad_when(char *why, size_t n, const char *what)
{
	snprintf(why, n, "%s", what);
	return -1;
}

#define WHEN_FORMS "give YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS (local time; add Z for UTC), " \
	"@SECONDS, or an age like 30m, 12h, 3d, 2w"

int parse_when(const char *s, const struct timespec *now, struct timespec *out,
	       char *why, size_t whylen)
{
	const char *p = s;
	struct tm tm, check;
	time_t t;
	long nsec = 0;
	int y, mo, d, h = 0, mi = 0, sec = 0, zone = 0, off = 0;

	if (!*s)
		return bad_when(why, whylen, "empty time; " WHEN_FORMS);
	if (*p == '@') {
		char *end;
		long long v;

		p++;
		errno = 0;
		v = strtoll(p, &end, 10);
		if (end == p || !isdigit((unsigned char)*p) || errno)
			return bad_when(why, whylen, "not a number of seconds after @");
		p = end;
		if (fraction(&p, &nsec) || *p)
			return bad_when(why, whylen, "not a number of seconds after @");
		out->tv_sec = (time_t)v;
		out->tv_nsec = nsec;
		return 0;
	}
	if (isdigit((unsigned char)*p) && strlen(s) < 10 && !strchr(s, '-')) {
		/* An age: N and one unit. */
		static const struct { char c; long long secs; } units[] = {
			{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 },
		};
		char *end;
		unsigned long long v;
		size_t i;

		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno || end == p || !end[0] || end[1])
			return bad_when(why, whylen, "an age is a number and one unit, s, m, h, d or w "
					"(like 3d)");
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (units[i].c == *end)
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return bad_when(why, whylen, "unknown unit; an age ends in s, m, h, d or w "
					"(like 3d)");
		if (v > (unsigned long long)now->tv_sec / (unsigned long long)units[i].secs)
			return bad_when(why, whylen, "that age is before 1970");
		out->tv_sec = now->tv_sec - (time_t)(v * (unsigned long long)units[i].secs);
		out->tv_nsec = now->tv_nsec;
		return 0;
	}
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return bad_when(why, whylen, WHEN_FORMS);
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return bad_when(why, whylen, "bad time of day; " WHEN_FORMS);
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec) || fraction(&p, &nsec))
				return bad_when(why, whylen, "bad seconds; " WHEN_FORMS);
		}
	}
	if (*p == 'Z' || *p == 'z') {
		zone = 1;
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om = 0;

		if (digits(&p, 2, &oh))
			return bad_when(why, whylen, "bad UTC offset; write +HH:MM");
		if (*p == ':')
			p++;
		if (*p && digits(&p, 2, &om))
			return bad_when(why, whylen, "bad UTC offset; write +HH:MM");
		if (oh > 23 || om > 59)
			return bad_when(why, whylen, "bad UTC offset; write +HH:MM");
		zone = 1;
		off = sign * (oh * 3600 + om * 60);
	}
	if (*p)
		return bad_when(why, whylen, WHEN_FORMS);
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return bad_when(why, whylen, "no such date or time");
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	check = tm;
	t = zone ? timegm(&tm) : mktime(&tm);
	if (t == (time_t)-1 && !(y == 1969 || y == 1970))
		return bad_when(why, whylen, "no such date or time");
	/* 2026-02-30 would become March 2: refuse what normalisation moved. */
	if (tm.tm_mday != check.tm_mday && sec < 60)
		return bad_when(why, whylen, "no such date");
	out->tv_sec = t - off;
	out->tv_nsec = nsec;
	return 0;
}

/* ---- JSON strings --------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at S (N bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

size_t json_string(char *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0;

	out[o++] = '"';
	while (i < len) {
		unsigned char c = u[i];
		size_t n = utf8_len(u + i, len - i);

		if (n == 0) {
			/* Not UTF-8: the byte as a lone surrogate, U+DC80..U+DCFF. */
			memcpy(out + o, "\\udc", 4);
			out[o + 4] = hex[c >> 4];
			out[o + 5] = hex[c & 15];
			o += 6;
			i++;
		} else if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(out + o, "\\u00", 4);
			out[o + 4] = hex[c >> 4];
			out[o + 5] = hex[c & 15];
			o += 6;
			i++;
		} else {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return o;
}

/* ---- loading ------------------------------------------------------------------- */

void hist_release(struct hlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].target);
		free(l->v[i].pass);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static struct hversion *add(struct hlist *l)
{
	struct hversion *v;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	v = &l->v[l->n++];
	memset(v, 0, sizeof(*v));
	return v;
}

/* PATH ("" = all) is PATH2 or above it. */
static int within(const char *path, const char *p2)
{
	return !*path || path_is_within(path, p2);
}

/* P2 is a directory above PATH. */
static int above(const char *path, const char *p2)
{
	return *path && strcmp(path, p2) && path_is_within(p2, path);
}

/* A pass folder's name, YYYYMMDDTHHMMSS.NNNNNNNNNZ, as a time; -1 if it is not one. */
static int pass_time(const char *pass, struct timespec *ts)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, ns;
	const char *p = pass;

	if (strlen(pass) != 26 || digits(&p, 4, &y) || digits(&p, 2, &mo) || digits(&p, 2, &d) ||
	    *p++ != 'T' || digits(&p, 2, &h) || digits(&p, 2, &mi) || digits(&p, 2, &sec) ||
	    *p++ != '.' || digits(&p, 9, &ns) || strcmp(p, "Z"))
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	ts->tv_sec = timegm(&tm);
	ts->tv_nsec = ns;
	return 0;
}

/* The inode's owner and birth time (statx), for V. */
static void inode_facts(struct hversion *v, int dirfd, const char *name, const struct stat *st)
{
	struct statx sx;

	v->has_inode = 1;
	v->uid = st->st_uid;
	v->gid = st->st_gid;
	if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_BTIME, &sx) == 0 &&
	    (sx.stx_mask & STATX_BTIME)) {
		v->has_birth = 1;
		v->birth.tv_sec = sx.stx_btime.tv_sec;
		v->birth.tv_nsec = sx.stx_btime.tv_nsec;
	}
}

/* "SECONDS.NNNNNNNNN" (SECONDS may be negative). */
static int parse_ts(const char *s, struct timespec *ts)
{
	char *end;
	long long v;
	const char *p;
	int nsec;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end != '.' || !(isdigit((unsigned char)*s) || *s == '-'))
		return -1;
	p = end + 1;
	if (strlen(p) != 9 || digits(&p, 9, &nsec))
		return -1;
	ts->tv_sec = (time_t)v;
	ts->tv_nsec = nsec;
	return 0;
}

static int parse_hex_hash(const char *s, unsigned char out[HASH_LEN])
{
	int i;

	if (strlen(s) != 2 * HASH_LEN)
		return -1;
	for (i = 0; i < 2 * HASH_LEN; i++) {
		int c = s[i], x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (x < 0)
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (unsigned char)(x << 4);
		else
			out[i / 2] |= (unsigned char)x;
	}
	return 0;
}

/* One index record (LINE, without its LF) into V; -1 when malformed. */
static int parse_record(char *line, struct hversion *v)
{
	char *f[10], *p = line, *end;
	int n = 0;
	size_t len;
	unsigned long long size;
	unsigned long mode;
	char why[WHYLEN];

	while (n < 10) {
		f[n++] = p;
		p = strchr(p, '\t');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (n != 8 && n != 9)
		return -1;
	if (!strcmp(f[0], "changed"))
		v->event = HV_CHANGED;
	else if (!strcmp(f[0], "deleted"))
		v->event = HV_DELETED;
	else
		return -1;
	if (strlen(f[1]) != 1 || !strchr("fdl", f[1][0]))
		return -1;
	v->type = f[1][0];
	if ((v->type == 'l') != (n == 9))
		return -1;
	errno = 0;
	size = strtoull(f[2], &end, 10);
	if (errno || *end || !isdigit((unsigned char)f[2][0]))
		return -1;
	v->size = size;
	if (parse_ts(f[3], &v->mtime) || parse_ts(f[6], &v->kept_at))
		return -1;
	mode = strtoul(f[4], &end, 8);
	if (*end || strlen(f[4]) != 4 || mode > 07777)
		return -1;
	v->mode = (unsigned)mode;
	if (strcmp(f[5], "-")) {
		if (v->type != 'f' || parse_hex_hash(f[5], v->hash))
			return -1;
		v->has_hash = 1;
	}
	v->path = unescape_bytes(f[7], &len);
	if (!v->path || strlen(v->path) != len || path_valid(v->path, len, why, sizeof(why)) ||
	    !strcmp(v->path, ".shelter") || !strncmp(v->path, ".shelter/", 9))
		return -1;
	if (n == 9) {
		v->target = unescape_bytes(f[8], &len);
		if (!v->target || strlen(v->target) != len || len == 0 || len > MAX_TARGET_LEN)
			return -1;
	}
	return 0;
}

/* Read one pass folder's index; the records at or below PATH go into L. */
static void load_pass(struct hlist *l, int hist_fd, const char *pass, const char *path, int flags)
{
	struct timespec started;
	int have_start = pass_time(pass, &started) == 0;

	int pass_fd = open_dir_at(hist_fd, pass), fd, tree_fd;
	struct beneath bn;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	unsigned lineno = 0;

	if (pass_fd < 0) {
		warning("DEST/.shelter/history/%s: %s (skipped)", pass, strerror(errno));
		l->problems++;
		return;
	}
	fd = openat(pass_fd, "index", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		warning("DEST/.shelter/history/%s/index: %s (the versions that pass kept are not "
			"listed)", pass, strerror(errno));
		l->problems++;
		if (fd >= 0)
			close(fd);
		close(pass_fd);
		return;
	}
	tree_fd = open_dir_at(pass_fd, "tree");
	beneath_init(&bn, tree_fd);
	while ((got = getline(&line, &cap, f)) > 0) {
		struct hversion *v;
		const char *base;
		struct stat st;
		int dfd;

		lineno++;
		if (line[got - 1] == '\n')
			line[--got] = '\0';
		if (lineno == 1) {
			if (strcmp(line, "shelter-history 1")) {
				warning("DEST/.shelter/history/%s/index: not a version 1 history index "
					"(skipped)", pass);
				l->problems++;
				break;
			}
			continue;
		}
		if ((size_t)got > 4 * (MAX_PATH_LEN + MAX_TARGET_LEN) + 256) {
			warning("DEST/.shelter/history/%s/index, line %u: too long (skipped)", pass,
				lineno);
			l->problems++;
			continue;
		}
		v = add(l);
		if (parse_record(line, v)) {
			warning("DEST/.shelter/history/%s/index, line %u: malformed record (skipped)",
				pass, lineno);
			l->problems++;
			goto drop;
		}
		if (!within(path, v->path) && !((flags & HIST_ANCESTORS) && above(path, v->path)))
			goto drop;
		v->pass = xstrdup(pass);
		dfd = tree_fd >= 0 ? beneath_parent(&bn, v->path, &base) : -1;
		if (dfd >= 0 && fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			char t = S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' :
				 S_ISREG(st.st_mode) ? 'f' : '?';

			if (t != v->type) {
				warning("DEST/.shelter/history/%s/tree/%s is not what the index says "
					"(skipped)", pass, v->path);
				l->problems++;
				goto drop;
			}
			inode_facts(v, dfd, base, &st);
			/*
			 * A directory in tree/ is the mirror's own, renamed there whole, or
			 * one that history made for what it holds, during this pass: only a
			 * birth well before the pass started tells the first kind.
			 */
			if (t == 'd' && v->has_birth) {
				struct timespec lim = started;

				lim.tv_nsec -= 10000000;	/* 10 ms: coarse inode clocks */
				if (lim.tv_nsec < 0) {
					lim.tv_nsec += 1000000000;
					lim.tv_sec--;
				}
				if (!have_start || ts_cmp(&v->birth, &lim) >= 0)
					v->has_birth = 0;
			}
		} else if (v->type != 'd') {
			/* The move did not happen (doc/history.md): the mirror still has it. */
			goto drop;
		}
		continue;
drop:
		free(v->path);
		free(v->target);
		free(v->pass);
		l->n--;
	}
	if (ferror(f)) {
		warning("DEST/.shelter/history/%s/index: %s", pass, strerror(errno));
		l->problems++;
	}
	free(line);
	beneath_release(&bn);
	if (tree_fd >= 0)
		close(tree_fd);
	fclose(f);
	close(pass_fd);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_history(struct hlist *l, int dest_fd, const char *path, int flags)
{
	int sh = open_dir_at(dest_fd, ".shelter"), hist = -1;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;

	if (sh >= 0)
		hist = open_dir_at(sh, "history");
	if (hist < 0) {
		if (errno != ENOENT) {
			warning("DEST/.shelter/history: %s (no kept versions are listed)",
				strerror(errno));
			l->problems++;
		}
		if (sh >= 0)
			close(sh);
		return;
	}
	close(sh);
	d = fdopendir(hist);
	if (!d) {
		warning("DEST/.shelter/history: %s", strerror(errno));
		l->problems++;
		close(hist);
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		load_pass(l, dirfd(d), names[i], path, flags);
		free(names[i]);
	}
	free(names);
	closedir(d);
}

/* The mirror entry NAME in DIRFD, whose path is PATH, as a current version. */
static void add_current(struct hlist *l, int dirfd, const char *name, const char *path,
			const struct stat *st, const char *target, int hash_it)
{
	struct hversion *v;

	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode) && !S_ISLNK(st->st_mode))
		return;
	v = add(l);
	v->path = xstrdup(path);
	v->event = HV_CURRENT;
	v->type = S_ISDIR(st->st_mode) ? 'd' : S_ISLNK(st->st_mode) ? 'l' : 'f';
	v->size = v->type == 'd' ? 0 : (uint64_t)st->st_size;
	v->mtime = st->st_mtim;
	v->mode = st->st_mode & 07777;
	inode_facts(v, dirfd, name, st);
	if (v->type == 'l') {
		char buf[MAX_TARGET_LEN + 1];
		ssize_t r = target ? (ssize_t)strlen(target) : readlinkat(dirfd, name, buf, sizeof(buf));

		if (target)
			v->target = xstrdup(target);
		else if (r > 0 && (size_t)r < sizeof(buf))
			v->target = xstrndup(buf, (size_t)r);
		else
			v->target = xstrdup("");
	}
	if (v->type == 'f' && hash_it) {
		int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		uint64_t size;

		if (fd >= 0 && hash_fd(fd, v->hash, &size) == 0)
			v->has_hash = 1;
		else {
			warning("cannot read %s in DEST: %s", path, strerror(errno));
			l->problems++;
		}
		if (fd >= 0)
			close(fd);
	}
}

static void load_mirror(struct hlist *l, int dest_fd, const char *path, int flags)
{
	int hash_current = flags & HIST_HASH_CURRENT;
	struct beneath bn;
	struct scan *sc;
	struct entry e;
	struct stat st;
	const char *base;
	int fd, top;

	beneath_init(&bn, dest_fd);
	if (*path && (flags & HIST_ANCESTORS)) {
		char *dir = xstrdup(path);
		size_t k;

		while ((k = path_parent_len(dir, strlen(dir))) > 0) {
			dir[k] = '\0';
			fd = beneath_parent(&bn, dir, &base);
			if (fd >= 0 && fstatat(fd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISDIR(st.st_mode))
				add_current(l, fd, base, dir, &st, NULL, 0);
		}
		free(dir);
	}
	if (*path) {
		fd = beneath_parent(&bn, path, &base);
		if (fd < 0 || fstatat(fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP) {
				warning("%s in DEST: %s", path, strerror(errno));
				l->problems++;
			}
			beneath_release(&bn);
			return;
		}
		add_current(l, fd, base, path, &st, NULL, hash_current);
		if (!S_ISDIR(st.st_mode)) {
			beneath_release(&bn);
			return;
		}
		top = open_dir_at(fd, base);
	} else {
		top = dup(dest_fd);
	}
	beneath_release(&bn);
	if (top < 0) {
		warning("cannot read %s in DEST: %s", *path ? path : ".", strerror(errno));
		l->problems++;
		return;
	}
	sc = scan_open(top, NULL, SCAN_QUIET);
	while (scan_next(sc, &e, &st)) {
		char *full = *path ? path_join(path, e.path) : xstrdup(e.path);

		add_current(l, scan_dirfd(sc), path_base(e.path), full, &st, e.target, hash_current);
		free(full);
	}
	if (scan_errors(sc))
		l->problems++;
	scan_close(sc);
	close(top);
}

static int cmp_versions(const void *pa, const void *pb)
{
	const struct hversion *a = pa, *b = pb;
	int c = path_cmp(a->path, b->path);

	if (c)
		return c;
	if ((a->event == HV_CURRENT) != (b->event == HV_CURRENT))
		return a->event == HV_CURRENT ? 1 : -1;
	c = ts_cmp(&a->kept_at, &b->kept_at);
	if (c)
		return c;
	return strcmp(a->pass ? a->pass : "", b->pass ? b->pass : "");
}

int hist_load(struct hlist *l, int dest_fd, const char *path, int flags)
{
	size_t i;

	memset(l, 0, sizeof(*l));
	load_history(l, dest_fd, path, flags);
	load_mirror(l, dest_fd, path, flags);
	/* A kept inode born after it was kept: DEST is a copy; births mean nothing. */
	for (i = 0; i < l->n; i++) {
		struct hversion *v = &l->v[i];
		struct timespec late = v->kept_at;

		late.tv_sec += 1;
		if (v->event != HV_CURRENT && v->type != 'd' && v->has_birth &&
		    ts_cmp(&v->birth, &late) > 0)
			break;
	}
	if (i < l->n) {
		warning("DEST's files were born after they were kept (%s): DEST was copied, so "
			"inode birth times cannot tell when a version appeared; versions created "
			"after --at TIME and never replaced since may be restored too", l->v[i].path);
		for (i = 0; i < l->n; i++)
			l->v[i].has_birth = 0;
	}
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_versions);
	return 0;
}

const struct hversion *hist_candidate(const struct hversion *v, size_t n,
				      const struct timespec *t)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].event != HV_CURRENT && ts_cmp(&v[i].kept_at, t) > 0)
			return &v[i];
	return n && v[n - 1].event == HV_CURRENT ? &v[n - 1] : NULL;
}

const struct hversion *hist_at(const struct hversion *v, size_t n, const struct timespec *t)
{
	const struct hversion *live = hist_candidate(v, n, t);

	if (live && live->has_birth && ts_cmp(&live->birth, t) > 0)
		return NULL;	/* born after T */
	if (live && live->type == 'd' && live->event != HV_CURRENT && !live->has_birth)
		return NULL;	/* unknown: it exists at T if something in it does */
	return live;
}
