/*
 * bounds.h - every limit on what comes from the wire, in one place.
 * doc/protocol.md lists the same numbers; keep them in step.
 */
#ifndef SHELTER_BOUNDS_H
#define SHELTER_BOUNDS_H

#define PROTO_VERSION_MIN	2
#define PROTO_VERSION_MAX	2

#define MAX_FRAME		262144u		/* frame payload bytes */
#define MAX_PATH_LEN		4095u		/* relative path bytes */
#define MAX_NAME_LEN		255u		/* one path component */
#define MAX_TARGET_LEN		4095u		/* symlink target bytes */
#define MAX_ROOT_LEN		4095u		/* root path in START */
#define MAX_MSG_LEN		8192u		/* MSG and ERROR text */
#define MAX_EXCLUDES		10000u		/* patterns in START */
#define MAX_PATTERN_LEN		4095u
#define MAX_SIG_LEN		(64u << 20)	/* one signature, bytes */
/* The largest basis updated by delta (its signature is 37.7 MB); a larger
 * file is sent whole. rs_sig_args() misbehaves far above this (2^62). */
#define MAX_DELTA_BASIS		(1ULL << 40)
#define MAX_PLAN_ITEMS		(1u << 24)	/* PLANENTs in one sync phase */
#define MAX_TIMEOUT		604800u		/* --timeout seconds (a week) */
#define MAX_KEEP		1000000u	/* --keep-last/daily/weekly/monthly N */
#define MAX_KEEP_WITHIN		(100ull * 366 * 86400)	/* --keep-within: 100 years */
#define DEFAULT_TIMEOUT		600u		/* --timeout when not given */
#define DEFAULT_RETRIES		2u		/* --retries when not given */
#define MAX_RETRIES		100u
#define DEFAULT_RETRY_WAIT	10u		/* --retry-wait: the first wait, in seconds */
#define MAX_RETRY_WAIT		3600u		/* no wait is longer than an hour */
#define MAX_IN_FLIGHT		64u		/* requests the receiver keeps open */
#define MAX_READS		4u		/* reads of a file that keeps changing */

/* How much file data one DATA frame carries, and one read from disk. */
#define IO_CHUNK		(128u << 10)

#endif
