/* retention.c - the --keep-... policy; see retention.h and doc/history.md. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "retention.h"

int retention_any(const struct keep_rules *r)
{
	return r->last || r->daily || r->weekly || r->monthly || r->has_within;
}

static int newest_first(const void *pa, const void *pb)
{
	const struct snap *a = pa, *b = pb;

	if (a->t.tv_sec != b->t.tv_sec)
		return a->t.tv_sec > b->t.tv_sec ? -1 : 1;
	if (a->t.tv_nsec != b->t.tv_nsec)
		return a->t.tv_nsec > b->t.tv_nsec ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

enum { B_DAILY, B_WEEKLY, B_MONTHLY, NBUCKET };

/* The snapshot's bucket for rule B, in local time. */
static long bucket(int b, const struct timespec *t)
{
	struct tm tm;
	char iso[16];

	localtime_r(&t->tv_sec, &tm);
	switch (b) {
	case B_DAILY:
		return (tm.tm_year + 1900L) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
	case B_WEEKLY:
		/* ISO 8601 week-numbering year and week. */
		strftime(iso, sizeof(iso), "%G%V", &tm);
		return atol(iso);
	default:
		return (tm.tm_year + 1900L) * 100 + tm.tm_mon + 1;
	}
}

size_t retention_apply(const struct keep_rules *r, struct snap *s, size_t n)
{
	static const unsigned bit[NBUCKET] = { KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY };
	unsigned left[NBUCKET] = { r->daily, r->weekly, r->monthly };
	int used[NBUCKET] = { 0, 0, 0 };
	long last[NBUCKET] = { 0, 0, 0 };
	unsigned last_left = r->last;
	size_t i, kept = 0;
	int b;

	if (!n)
		return 0;
	qsort(s, n, sizeof(*s), newest_first);
	for (i = 0; i < n; i++) {
		s[i].keep = 0;
		if (last_left) {
			s[i].keep |= KEEP_LAST;
			last_left--;
		}
		if (r->has_within) {
			/* After newest - within, to the nanosecond. */
			long long ds = (long long)s[0].t.tv_sec - s[i].t.tv_sec;
			long dn = s[0].t.tv_nsec - s[i].t.tv_nsec;

			if (dn < 0) {
				dn += 1000000000L;
				ds--;
			}
			if (ds < r->within)
				s[i].keep |= KEEP_WITHIN;
		}
		for (b = 0; b < NBUCKET; b++) {
			long k;

			if (!left[b])
				continue;
			k = bucket(b, &s[i].t);
			if (!used[b] || k != last[b]) {
				s[i].keep |= bit[b];
				last[b] = k;
				used[b] = 1;
				left[b]--;
			}
		}
	}
	/* A bucket rule that found fewer buckets than asked keeps the oldest too. */
	for (b = 0; b < NBUCKET; b++)
		if (left[b] && !(s[n - 1].keep & bit[b]))
			s[n - 1].keep |= KEEP_OLDEST;
	s[0].keep |= KEEP_NEWEST;
	for (i = 0; i < n; i++)
		kept += !!s[i].keep;
	return kept;
}

void retention_reasons(unsigned keep, char *out, size_t n)
{
	static const char *const names[] = {
		"last", "within", "daily", "weekly", "monthly", "oldest", "newest"
	};
	size_t i, len = 0;

	if (n)
		out[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (keep & (1u << i)) {
			int w = snprintf(out + len, n - len, "%s%s", len ? "," : "", names[i]);

			if (w < 0 || (size_t)w >= n - len)
				return;
			len += (size_t)w;
		}
}
