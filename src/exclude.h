/*
 * exclude.h - rsync-style exclude patterns.
 *
 * Semantics (rsync's, for --exclude without include rules):
 *   - `*` matches any run of bytes except `/`; `**` matches any run
 *     including `/`; `?` one byte except `/`; `[...]` a byte class
 *     (`[!...]` or `[^...]` negates, `a-z` ranges); `\` escapes the next byte.
 *   - A trailing `/` makes the pattern match directories only (it is
 *     stripped before matching).
 *   - A leading `/` anchors the pattern at the root of the transfer: it is
 *     matched against the whole relative path.
 *   - An unanchored pattern without `/` (after stripping a trailing one) is
 *     matched against the last component (the name) of every path.
 *   - An unanchored pattern containing `/` or `**` is matched against the
 *     path and every tail of it that starts after a `/` ("a/b" matches
 *     "a/b" and "x/a/b", not "xa/b").
 *   - An excluded directory excludes everything below it (callers do not
 *     descend into it, so exclude_match is never asked about its contents).
 *
 * Paths given to exclude_match are relative to the root, no leading `/`.
 */
#ifndef SHELTER_EXCLUDE_H
#define SHELTER_EXCLUDE_H

#include <stddef.h>

struct exclude;

/* An empty list. Never NULL (aborts on out of memory). */
struct exclude *exclude_new(void);

/* Add one pattern. Returns 0, or -1 with an error printed for an empty
 * pattern or one longer than 4095 bytes. */
int exclude_add(struct exclude *ex, const char *pattern);

/* Add one pattern per line of FILE ("-" is stdin). Blank lines and lines
 * starting with `#` or `;` are ignored; a trailing CR is removed. Returns 0,
 * or -1 with "exclude-from FILE: <strerror>" printed. */
int exclude_add_file(struct exclude *ex, const char *file);

/* 1 if PATH (of a directory when IS_DIR) is excluded, else 0. */
int exclude_match(const struct exclude *ex, const char *path, int is_dir);

/* The patterns as given, to send them to the other side. */
size_t exclude_count(const struct exclude *ex);
const char *exclude_pattern(const struct exclude *ex, size_t i);

/* Frees the list and its patterns; NULL is fine. */
/*
 * 1 if a listing could never hold PATH, a directory if IS_DIR: it, or a
 * directory above it, is excluded. EX may be NULL.
 */
int exclude_hides(const struct exclude *ex, const char *path, int is_dir);

void exclude_free(struct exclude *ex);

#endif
