/* durable.c - batched durability with syncfs, and temporary names; see durable.h. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "durable.h"
#include "log.h"

void durable_init(struct durable *d)
{
	d->n = 0;
	d->busy = 0;
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

/* The background job: only syscalls here, no messages (log.c is not thread-safe). */
static void *sync_job(void *arg)
{
	struct durable *d = arg;
	int i;

	for (i = 0; i < d->job_n; i++)
		if (syncfs(d->job_fd[i]) < 0 && !d->job_errno)
			d->job_errno = errno;
	return NULL;
}

void durable_sync_start(struct durable *d)
{
	if (d->busy)
		durable_sync_wait(d);
	memcpy(d->job_fd, d->fd, sizeof(d->fd[0]) * (size_t)d->n);
	d->job_n = d->n;
	d->job_errno = 0;
	d->busy = 1;
	d->threaded = pthread_create(&d->t, NULL, sync_job, d) == 0;
	if (!d->threaded)
		sync_job(d);
}

int durable_sync_wait(struct durable *d)
{
	if (!d->busy)
		return 0;
	if (d->threaded)
		pthread_join(d->t, NULL);
	d->busy = 0;
	if (d->job_errno)
		return error("syncfs of DEST: %s", strerror(d->job_errno));
	return 0;
}

void durable_add(struct durable *d, const struct durable *from)
{
	int i;

	for (i = 0; i < from->n; i++)
		durable_note(d, from->fd[i]);
}

void durable_release(struct durable *d)
{
	int i;

	durable_sync_wait(d);
	for (i = 0; i < d->n; i++)
		close(d->fd[i]);
	d->n = 0;
}

void tmp_name(char *out, size_t n)
{
	uint64_t x;

	if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != sizeof(x)) {
		static uint64_t ctr;

		x = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ ++ctr * 0x9e3779b97f4a7c15ull;
	}
	snprintf(out, n, TMP_PREFIX "%016llx", (unsigned long long)x);
}

int is_tmp_name(const char *name)
{
	size_t i, n = strlen(TMP_PREFIX);

	if (strncmp(name, TMP_PREFIX, n) || strlen(name) != n + 16)
		return 0;
	for (i = n; name[i]; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return 1;
}

int write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}
