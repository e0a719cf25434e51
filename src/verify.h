/* verify.h - `shelter verify`: re-hash a backup against its records (doc/history.md "verify"). */
#ifndef SHELTER_VERIFY_H
#define SHELTER_VERIFY_H

int verify_main(int argc, const char **argv, const char *usage);

#endif
