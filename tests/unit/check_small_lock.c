/*
 * check_small_lock: the 4-byte lock of every sequence excludes: threads
 * that add to one counter under it, with a non-atomic read-modify-write
 * made slow enough to be interrupted, lose no addition; and it is free
 * again afterwards, in both the spinning and the sleeping paths.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "small_lock.h"

#define THREADS 4
#define ROUNDS 200000

static small_lock lock;
static volatile uint64_t counter;
static int hold_long;

static void *adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        small_lock_acquire(&lock);
        uint64_t v = counter;
        if (hold_long && i % 1000 == 0)
            sched_yield();          /* others spin out and sleep in futex(2) */
        counter = v + 1;
        small_lock_release(&lock);
    }
    return NULL;
}

static void run_adders(int long_holds)
{
    pthread_t t[THREADS];

    small_lock_init(&lock);
    counter = 0;
    hold_long = long_holds;
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, adder, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_eq(counter, (uint64_t)THREADS * ROUNDS);
    ck_assert_uint_eq(atomic_load(&lock.state), 0);
}

START_TEST(test_no_addition_is_lost)
{
    run_adders(0);
}
END_TEST

START_TEST(test_no_addition_is_lost_when_holders_sleep)
{
    run_adders(1);
}
END_TEST

START_TEST(test_four_bytes)
{
    ck_assert_uint_eq(sizeof(small_lock), 4);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("small_lock");
    TCase *tc = tcase_create("small_lock");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_no_addition_is_lost);
    tcase_add_test(tc, test_no_addition_is_lost_when_holders_sleep);
    tcase_add_test(tc, test_four_bytes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
