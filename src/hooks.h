/*
 * hooks.h - what runs around a pass on the client host: --pre, --post,
 * --notify (each with /bin/sh -c), and the --mail-to report piped to
 * sendmail. The environment they get is in shelter(1) and doc/runlog.md.
 */
#ifndef SHELTER_HOOKS_H
#define SHELTER_HOOKS_H

struct opts;
struct runlog;

/* --pre: 0, or EXIT_PRE with an error naming the command and how it ended. */
int hook_pre(const struct opts *o, const struct runlog *rl);

/*
 * After the pass (ended in RL): --post, then --notify, then the mail. Each
 * failure is an error or warning message (collected in RL); none changes
 * the pass's exit code.
 */
void hooks_after(const struct opts *o, const struct runlog *rl);

/* The text of the mail report into a malloc'd string (for the tests too). */
char *mail_compose(const char *to, const struct runlog *rl);

#endif
