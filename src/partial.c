/* partial.c - the partial files of an interrupted pass (partial.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "beneath.h"
#include "hash.h"
#include "log.h"
#include "partial.h"

#define PARTIAL_DIR ".shelter/partial"

static void partial_name(const char *path, char out[2 * HASH_LEN + 1])
{
	unsigned char h[HASH_LEN];

	hash_bytes(path, strlen(path), h);
	hash_hex(h, out);
}

int partial_dir_open(int dest_fd)
{
	int sh, fd;

	if (dest_fd < 0 || (sh = open_dir_at(dest_fd, ".shelter")) < 0)
		return -1;
	fd = open_dir_at(sh, "partial");
	close(sh);
	return fd;
}

int partial_save(int dest_fd, int dirfd, const char *tmp, const char *path)
{
	char name[2 * HASH_LEN + 1];
	int pdir = mkdir_beneath(dest_fd, PARTIAL_DIR, 0700);

	if (pdir < 0) {
		warning("cannot keep what arrived of %s in DEST/%s: %s (the next pass sends it "
			"whole)", path, PARTIAL_DIR, strerror(errno));
		return -1;
	}
	partial_name(path, name);
	if (renameat(dirfd, tmp, pdir, name) < 0) {
		warning("cannot keep what arrived of %s in DEST/%s: %s (the next pass sends it "
			"whole)", path, PARTIAL_DIR, strerror(errno));
		close(pdir);
		return -1;
	}
	close(pdir);
	return 0;
}

int partial_open(int pdir, const char *path, struct stat *st)
{
	char name[2 * HASH_LEN + 1];
	int fd;

	if (pdir < 0)
		return -1;
	partial_name(path, name);
	fd = openat(pdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

void partial_clear(int dest_fd)
{
	int pdir = partial_dir_open(dest_fd), sh;
	struct dirent *de;
	DIR *d;

	if (pdir < 0)
		return;
	d = fdopendir(pdir);
	if (!d) {
		close(pdir);
		return;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(pdir, de->d_name, 0);
	closedir(d);
	sh = open_dir_at(dest_fd, ".shelter");
	if (sh >= 0) {
		unlinkat(sh, "partial", AT_REMOVEDIR);
		close(sh);
	}
}
