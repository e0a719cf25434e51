/*
 * tap.h - run a Check suite and report each test case as TAP on stdout,
 * so automake's TAP driver counts every case, not every program.
 */
#ifndef SHELTER_TEST_TAP_H
#define SHELTER_TEST_TAP_H

#include <check.h>
#include <stdlib.h>

static inline int tap_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_set_tap(sr, "-");
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
