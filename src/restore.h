/*
 * restore.h - getting files back out of a local DEST: the commands
 * `shelter versions` (versions.c) and `shelter restore` (restore.c). How
 * they read the history: doc/history.md, "Reading the history".
 */
#ifndef SHELTER_RESTORE_H
#define SHELTER_RESTORE_H

/*
 * Each takes the words after the command name's own (ARGV[0] is the
 * command) and USAGE, the text --help prints; returns an exit code
 * (exitcode.h).
 */
int versions_main(int argc, const char **argv, const char *usage);
int restore_main(int argc, const char **argv, const char *usage);

#endif
