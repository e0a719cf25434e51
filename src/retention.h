/*
 * retention.h - which snapshots a --keep-... policy keeps (restic's forget
 * policy; doc/history.md "Retention"). Pure: no I/O. Calendar buckets use
 * local time (TZ).
 */
#ifndef SHELTER_RETENTION_H
#define SHELTER_RETENTION_H

#include <stddef.h>
#include <time.h>

struct keep_rules {
	unsigned last, daily, weekly, monthly;	/* 0: rule not given */
	int has_within;
	long long within;			/* seconds */
};

/* Why a snapshot is kept (bits of struct snap.keep). */
#define KEEP_LAST	0x01u
#define KEEP_WITHIN	0x02u
#define KEEP_DAILY	0x04u
#define KEEP_WEEKLY	0x08u
#define KEEP_MONTHLY	0x10u
#define KEEP_OLDEST	0x20u
#define KEEP_NEWEST	0x40u

struct snap {
	struct timespec t;	/* the snapshot's time */
	size_t id;		/* the caller's, untouched */
	unsigned keep;		/* KEEP_* reasons; 0: forgotten */
};

/* Some rule is given. */
int retention_any(const struct keep_rules *r);

/*
 * Sort S[0..N) newest first (ties: by id) and set each one's keep bits by
 * the rules R. The newest is always kept. Returns how many are kept.
 */
size_t retention_apply(const struct keep_rules *r, struct snap *s, size_t n);

/* "last,daily,..." for KEEP bits, into OUT. */
void retention_reasons(unsigned keep, char *out, size_t n);

#endif
