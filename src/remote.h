/*
 * remote.h - the far side of a pass: telling a remote path from a local
 * one (rsync's rules), splitting the -e command, starting it.
 */
#ifndef SHELTER_REMOTE_H
#define SHELTER_REMOTE_H

#include <sys/types.h>

/*
 * ARG is remote when a ':' comes before any '/' and something stands
 * before it: "host:path", "user@host:path", "[::1]:path". "./a:b", "/a:b"
 * and "a/b:c" are local, and so is ":x". Returns 1 with *HOST ("user@host",
 * brackets removed) and *PATH (possibly empty) as new strings, or 0.
 */
int remote_parse(const char *arg, char **host, char **path);

/* 1 if ARG is remote by the same rule. */
int is_remote_arg(const char *arg);

/*
 * Split an -e/--rsh COMMAND into words as rsync does: blanks separate
 * words, '...' and "..." quote (backslash escapes inside "..." and outside
 * quotes). Returns a NULL-terminated vector of new strings, or NULL for an
 * unbalanced quote or an empty command. *N gets the number of words.
 */
char **remote_split(const char *cmd, int *n);
void remote_argv_free(char **argv);

/*
 * socketpair(2) + fork(2). In the parent: returns its end, *PID the child.
 * In the child: returns -2 with *CHILD_FD the child's end. On failure: -1
 * with an error printed.
 */
int fork_channel(pid_t *pid, int *child_fd);

/*
 * Run ARGV with its stdin and stdout on one end of a new socketpair and its
 * stderr left as ours (ssh's prompts and errors reach the user unchanged).
 * Returns our end, with *PID set, or -1 with an error printed.
 */
int remote_spawn(char *const argv[], pid_t *pid);

#endif
