/*
 * durable.h - making a pass's writes survive a power cut, in batches.
 *
 * An fsync per file costs a journal commit each (20,000 small files: 10 s
 * of fsync against 4 s of work). Instead the receiver collects finished
 * temporary files and makes them durable together with one syncfs(2) per
 * filesystem, before any of them is renamed into place; the renames and
 * deletions of the pass are made durable by the final syncfs.
 *
 * A batch's syncfs may run in a thread of its own (durable_sync_start)
 * while the receiver goes on writing the next batch; durable_sync_wait
 * then says whether it succeeded, and only then are its files renamed.
 */
#ifndef SHELTER_DURABLE_H
#define SHELTER_DURABLE_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#define DURABLE_MAX_FS 16

struct durable {
	dev_t dev[DURABLE_MAX_FS];
	int fd[DURABLE_MAX_FS];		/* a directory fd on each filesystem */
	int n;
	/* The syncfs running in the background, if any. */
	int busy;			/* started, not yet waited for */
	int threaded;			/* in thread t (else it ran at start) */
	pthread_t t;
	int job_fd[DURABLE_MAX_FS];	/* the filesystems it syncs */
	int job_n;
	int job_errno;			/* of its first failed syncfs, or 0 */
};

void durable_init(struct durable *d);

/* Note that something was written beneath DIRFD's filesystem. */
void durable_note(struct durable *d, int dirfd);

/* syncfs every filesystem noted so far; 0, or -1 with an error printed. */
int durable_sync(struct durable *d);

/* Note in D every filesystem noted in FROM (a later durable_sync of D covers them). */
void durable_add(struct durable *d, const struct durable *from);

/* Start durable_sync in the background (at most one at a time: it waits for
 * an earlier one, whose result is then lost; call durable_sync_wait first). */
void durable_sync_start(struct durable *d);

/* Wait for the background syncfs: 0, or -1 with an error printed; 0 when
 * none was started. */
int durable_sync_wait(struct durable *d);

/* Waits for a background syncfs, then closes the descriptors. */
void durable_release(struct durable *d);

/*
 * Temporary files: a file is written under TMP_PREFIX + 16 random hex
 * digits in its final directory, then renamed. OUT gets such a name.
 */
#define TMP_PREFIX ".shelter-tmp-"
void tmp_name(char *out, size_t n);

/* 1 if NAME is one of those (a leftover of an interrupted pass). */
int is_tmp_name(const char *name);

/* Write all N bytes of P to FD, again after EINTR: 0, or -1 with errno set. */
int write_all(int fd, const void *p, size_t n);

#endif
