/*
 * check_heap_trim: memory freed by a burst goes back to the system, once
 * per burst. A burst of 32 MB in small blocks, freed behind one block
 * that is kept (so malloc cannot shrink its heap by itself), stays in the
 * RSS until heap_trim_look() runs; after it, the RSS is at least 16 MB
 * lower, and a second look with nothing new freed does not trim again.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap_trim.h"

#include "test_heap.h"

#define BURST_BLOCKS 65536
#define BURST_BLOCK_SIZE 512

static size_t rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%lu %lu", &size, &resident), 2);
    fclose(f);
    return resident * (size_t)sysconf(_SC_PAGESIZE);
}

START_TEST(test_a_trim_is_due_after_growth_of_the_free_heap_only)
{
    ck_assert(!heap_trim_due(0, 0));
    ck_assert(!heap_trim_due(HEAP_TRIM_GROWTH - 1, 0));
    ck_assert(heap_trim_due(HEAP_TRIM_GROWTH, 0));
    ck_assert(!heap_trim_due(HEAP_TRIM_GROWTH + 100, 200));   /* grown by less */
    ck_assert(heap_trim_due(3 * HEAP_TRIM_GROWTH, 2 * HEAP_TRIM_GROWTH));
    ck_assert(!heap_trim_due(HEAP_TRIM_GROWTH, 2 * HEAP_TRIM_GROWTH));  /* shrunk */
}
END_TEST

START_TEST(test_memory_freed_by_a_burst_goes_back_once)
{
    static char *blocks[BURST_BLOCKS];

    heap_trim_look();                               /* the base */
    for (int i = 0; i < BURST_BLOCKS; i++) {
        blocks[i] = malloc(BURST_BLOCK_SIZE);
        ck_assert_ptr_nonnull(blocks[i]);
        memset(blocks[i], 1, BURST_BLOCK_SIZE);
    }
    char *kept = malloc(BURST_BLOCK_SIZE);          /* above the burst: the heap cannot shrink */
    ck_assert_ptr_nonnull(kept);
    for (int i = 0; i < BURST_BLOCKS; i++)
        free(blocks[i]);

    size_t before = rss_bytes();
    bool trimmed = heap_trim_look();
    size_t after = rss_bytes();
    printf("RSS %zu KB before the trim, %zu KB after\n", before / 1024, after / 1024);
    fflush(stdout);
    if (HEAP_MEASURED) {
        ck_assert(trimmed);
        ck_assert_uint_ge(before - after, 16u << 20);
        ck_assert(!heap_trim_look());               /* nothing new freed */
    } else {
        ck_assert(!trimmed);                        /* not glibc's malloc: never */
    }
    free(kept);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("heap_trim");
    TCase *tc = tcase_create("trim");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_a_trim_is_due_after_growth_of_the_free_heap_only);
    tcase_add_test(tc, test_memory_freed_by_a_burst_goes_back_once);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
