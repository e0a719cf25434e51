/* durable.c - batched durability with syncfs; see durable.h. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "log.h"

void durable_init(struct durable *d)
{
	d->n = 0;
}

void durable_note(struct durable *d, int dirfd)
{
	struct stat st;
	int i;

	if (dirfd < 0 || fstat(dirfd, &st) < 0)
		return;
	for (i = 0; i < d->n; i++)
		if (d->dev[i] == st.st_dev)
			return;
	if (d->n == DURABLE_MAX_FS) {
		/* More filesystems under DEST than slots: sync this one now. */
		if (syncfs(dirfd) < 0)
			warning("syncfs: %s", strerror(errno));
		return;
	}
	d->fd[d->n] = dup(dirfd);
	if (d->fd[d->n] < 0) {
		if (syncfs(dirfd) < 0)
			warning("syncfs: %s", strerror(errno));
		return;
	}
	d->dev[d->n++] = st.st_dev;
}

int durable_sync(struct durable *d)
{
	int i, r = 0;

	for (i = 0; i < d->n; i++)
		if (syncfs(d->fd[i]) < 0)
			r = error("syncfs of DEST: %s", strerror(errno));
	return r;
}

void durable_release(struct durable *d)
{
	int i;

	for (i = 0; i < d->n; i++)
		close(d->fd[i]);
	d->n = 0;
}
