/*
 * path.h - relative paths as they travel on the wire, and their order.
 *
 * A valid relative path: 1..MAX_PATH_LEN bytes, components separated by
 * single `/`, each 1..MAX_NAME_LEN bytes, none `.` or `..`, no NUL, no
 * leading or trailing `/`.
 *
 * Listing order is pre-order with siblings in byte order, which is the
 * order of path_cmp: byte by byte, with `/` below every other byte and a
 * prefix before its extensions.
 */
#ifndef SHELTER_PATH_H
#define SHELTER_PATH_H

#include <stddef.h>

/* 0 if P (N bytes) is a valid relative path; -1 with the reason in WHY. */
int path_valid(const char *p, size_t n, char *why, size_t whylen);

/* <0, 0, >0 in listing order. */
int path_cmp(const char *a, const char *b);

/* Length of the parent directory part ("a/b/c" -> 3, "c" -> 0). */
size_t path_parent_len(const char *p, size_t n);

/* The last component. */
const char *path_base(const char *p);

/* 1 if A is B or a directory above B ("a" is under "a" and "a/b"). */
int path_is_within(const char *a, const char *b);

/* "dir" + "/" + "name" (or "name" when dir is empty); caller frees. */
char *path_join(const char *dir, const char *name);

#endif
