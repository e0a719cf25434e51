/*
 * plan.h - what a sync pass asks one side's sender to list: paths in
 * listing order, each with what the receiver must do (doc/sync.md).
 */
#ifndef SHELTER_PLAN_H
#define SHELTER_PLAN_H

#include <stddef.h>
#include <stdint.h>

#define PLAN_CONTENT 1		/* create or replace (content, symlink, directory) */
#define PLAN_META 2		/* mode and mtime only */
#define PLAN_DELETE 3		/* remove, keeping it as history */

struct plan_item {
	char *path;
	uint8_t op;		/* PLAN_* */
	char type;		/* 'f', 'd', 'l': for PLAN_DELETE, the type to remove */
};

struct plan {
	struct plan_item *v;
	size_t n, cap;
};

/* Append (the caller keeps listing order); PATH is copied. */
void plan_add(struct plan *p, const char *path, uint8_t op, char type);
void plan_release(struct plan *p);

#endif
