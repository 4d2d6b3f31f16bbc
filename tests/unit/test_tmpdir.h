/*
 * test_tmpdir: the temporary directories of the unit tests that write
 * files. main() runs the suite with tmp_run(), inside a directory of the
 * whole run (run_root, under $TMPDIR or /tmp), removed at the end. Each
 * test makes its own inside it (tmp_root): the test's checked fixture
 * calls tmp_make() and has tmp_teardown() as its teardown. A failing test
 * skips the teardown, so the run's removal catches what it left.
 */
#ifndef SEQD_TEST_TMPDIR_H
#define SEQD_TEST_TMPDIR_H

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char run_root[4096];      /* mkdtemp() of the whole run, removed by tmp_run() */
static char tmp_root[4200];      /* mkdtemp() of this test, inside run_root */

static inline int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* Remove path and everything below it. */
static inline void rm_tree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The start of a checked fixture (it runs in the test's own process):
 * tmp_root, a new directory inside run_root. */
static inline void tmp_make(void)
{
    snprintf(tmp_root, sizeof(tmp_root), "%s/t-XXXXXX", run_root);
    ck_assert_ptr_nonnull(mkdtemp(tmp_root));
}

static inline void tmp_teardown(void)
{
    rm_tree(tmp_root);
}

/* main(): run the suite make() builds inside a new run_root,
 * $TMPDIR/<prefix>-XXXXXX, and remove it; returns main()'s exit status. */
static inline int tmp_run(Suite *(*make)(void), const char *prefix)
{
    const char *base = getenv("TMPDIR");
    SRunner *sr;
    int failed;

    snprintf(run_root, sizeof(run_root), "%s/%s-XXXXXX", base && *base ? base : "/tmp", prefix);
    if (mkdtemp(run_root) == NULL) {
        perror(run_root);
        return EXIT_FAILURE;
    }
    sr = srunner_create(make());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    rm_tree(run_root);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
