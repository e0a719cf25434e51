/* plan.c - the list of paths a sync pass gives one side's sender. */
#include "config.h"

#include <stdlib.h>

#include "buf.h"
#include "plan.h"

void plan_add(struct plan *p, const char *path, uint8_t op, char type)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
	}
	p->v[p->n].path = xstrdup(path);
	p->v[p->n].op = op;
	p->v[p->n].type = type;
	p->n++;
}

void plan_release(struct plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->v[i].path);
	free(p->v);
	p->v = NULL;
	p->n = p->cap = 0;
}
