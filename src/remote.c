/* remote.c - remote paths, the -e command and starting it; see remote.h. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "remote.h"

int remote_parse(const char *arg, char **host, char **path)
{
	const char *colon, *slash;

	if (arg[0] == '[') {
		/* [v6-address]:path, or [user@v6]:path */
		const char *close = strchr(arg, ']');

		if (!close || close == arg + 1 || close[1] != ':')
			return 0;
		*host = xstrndup(arg + 1, (size_t)(close - arg - 1));
		*path = xstrdup(close + 2);
		return 1;
	}
	colon = strchr(arg, ':');
	slash = strchr(arg, '/');
	if (!colon || colon == arg || (slash && slash < colon))
		return 0;
	*host = xstrndup(arg, (size_t)(colon - arg));
	*path = xstrdup(colon + 1);
	return 1;
}

void remote_argv_free(char **argv)
{
	int i;

	if (!argv)
		return;
	for (i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

char **remote_split(const char *cmd, int *n)
{
	size_t len = strlen(cmd);
	char **argv = xmalloc(sizeof(char *) * (len / 2 + 2));
	char *word = xmalloc(len + 1);
	int count = 0;
	const char *p = cmd;

	for (;;) {
		size_t w = 0;
		int in_word = 0;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
			in_word = 1;
			if (*p == '\'') {
				const char *end = strchr(p + 1, '\'');

				if (!end)
					goto bad;
				memcpy(word + w, p + 1, (size_t)(end - p - 1));
				w += (size_t)(end - p - 1);
				p = end + 1;
			} else if (*p == '"') {
				for (p++; *p && *p != '"'; p++) {
					if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
						p++;
					word[w++] = *p;
				}
				if (*p != '"')
					goto bad;
				p++;
			} else {
				if (*p == '\\' && p[1])
					p++;
				word[w++] = *p++;
			}
		}
		if (in_word)
			argv[count++] = xstrndup(word, w);
	}
	free(word);
	if (!count) {
		free(argv);
		return NULL;
	}
	argv[count] = NULL;
	*n = count;
	return argv;
bad:
	free(word);
	argv[count] = NULL;
	remote_argv_free(argv);
	return NULL;
}

int fork_channel(pid_t *pid, int *child_fd)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		error("socketpair: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	*pid = fork();
	if (*pid < 0) {
		error("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (*pid == 0) {
		close(sv[0]);
		*child_fd = sv[1];
		return -2;
	}
	close(sv[1]);
	return sv[0];
}

int remote_spawn(char *const argv[], pid_t *pid)
{
	int cfd, fd = fork_channel(pid, &cfd);

	if (fd != -2)
		return fd;
	/* The child: Ctrl-C is the client's to handle; it ends ssh when it exits. */
	signal(SIGINT, SIG_IGN);
	if (dup2(cfd, 0) < 0 || dup2(cfd, 1) < 0)
		_exit(127);
	execvp(argv[0], argv);
	error("cannot run %s: %s", argv[0], strerror(errno));
	_exit(127);
}

int is_remote_arg(const char *arg)
{
	char *host, *path;

	if (!remote_parse(arg, &host, &path))
		return 0;
	free(host);
	free(path);
	return 1;
}
