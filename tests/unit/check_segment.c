/*
 * check_segment: the double buffer (take, switch, prefetch trigger,
 * install, exhaustion at limit) and Leaf's dynamic segment size.
 */
#include <check.h>
#include <stdlib.h>

#include "segment.h"

/* Take n counters, which must be consecutive from first. */
static void take_run(struct segbuf *sb, uint64_t first, uint64_t n)
{
    uint64_t c;

    for (uint64_t i = 0; i < n; i++) {
        ck_assert_int_eq(segbuf_take(sb, &c), SEG_TAKEN);
        ck_assert_uint_eq(c, first + i);
    }
}

START_TEST(test_segment_fresh_buffer_is_empty_and_wants_a_claim)
{
    struct segbuf sb;
    uint64_t c = 77;

    segbuf_init(&sb, UINT64_MAX);
    ck_assert_int_eq(segbuf_take(&sb, &c), SEG_EMPTY);
    ck_assert_uint_eq(c, 77);
    ck_assert(segbuf_wants_claim(&sb));
    ck_assert_uint_eq(segbuf_unused(&sb), 0);
}
END_TEST

/* segbuf_take_run takes as many as asked from one segment: a take across
 * cur's end stops there, and the next goes on in next; an empty buffer
 * and one at its limit answer as segbuf_take. */
START_TEST(test_segment_take_run_stops_at_the_end_of_a_segment)
{
    struct segbuf sb;
    uint64_t first = 77, n = 77;

    segbuf_init(&sb, 1030);
    ck_assert_int_eq(segbuf_take_run(&sb, 5, &first, &n), SEG_EMPTY);
    ck_assert_uint_eq(first, 77);
    ck_assert_uint_eq(n, 77);
    segbuf_install(&sb, 0, 10);
    ck_assert_int_eq(segbuf_take_run(&sb, 4, &first, &n), SEG_TAKEN);
    ck_assert_uint_eq(first, 0);
    ck_assert_uint_eq(n, 4);
    segbuf_install(&sb, 1000, 50);                  /* next, cut at the limit 1030 */
    ck_assert_int_eq(segbuf_take_run(&sb, 100, &first, &n), SEG_TAKEN);
    ck_assert_uint_eq(first, 4);
    ck_assert_uint_eq(n, 6);                        /* cur's rest only */
    ck_assert_int_eq(segbuf_take_run(&sb, 100, &first, &n), SEG_TAKEN);
    ck_assert_uint_eq(first, 1000);
    ck_assert_uint_eq(n, 30);
    ck_assert(!segbuf_has_next(&sb));
    ck_assert_int_eq(segbuf_take_run(&sb, 1, &first, &n), SEG_EXHAUSTED);
    ck_assert_uint_eq(segbuf_unused(&sb), 0);
}
END_TEST

START_TEST(test_segment_first_install_goes_to_cur)
{
    struct segbuf sb;

    segbuf_init(&sb, UINT64_MAX);
    ck_assert(segbuf_install(&sb, 1000, 10));
    ck_assert(!segbuf_has_next(&sb));
    ck_assert_uint_eq(segbuf_unused(&sb), 10);
    take_run(&sb, 1000, 10);
}
END_TEST

START_TEST(test_segment_switches_from_cur_to_next)
{
    struct segbuf sb;
    uint64_t c;

    segbuf_init(&sb, UINT64_MAX);
    segbuf_install(&sb, 0, 10);
    take_run(&sb, 0, 3);
    ck_assert(segbuf_install(&sb, 500, 20));      /* cur not used up: into next */
    ck_assert(segbuf_has_next(&sb));
    ck_assert_uint_eq(segbuf_unused(&sb), 7 + 20);
    take_run(&sb, 3, 7);
    ck_assert(segbuf_has_next(&sb));              /* switch happens on the next take */
    ck_assert_int_eq(segbuf_take(&sb, &c), SEG_TAKEN);
    ck_assert_uint_eq(c, 500);
    ck_assert(!segbuf_has_next(&sb));
    ck_assert_uint_eq(sb.cur.start, 500);
    take_run(&sb, 501, 19);
    ck_assert_int_eq(segbuf_take(&sb, &c), SEG_EMPTY);
    ck_assert_uint_eq(segbuf_unused(&sb), 0);
}
END_TEST

START_TEST(test_segment_prefetch_at_ten_percent_not_nine)
{
    struct segbuf sb;

    segbuf_init(&sb, UINT64_MAX);
    segbuf_install(&sb, 0, 100);
    ck_assert(!segbuf_wants_claim(&sb));          /* 0% used */
    take_run(&sb, 0, 9);
    ck_assert(!segbuf_wants_claim(&sb));          /* 9% used */
    take_run(&sb, 9, 1);
    ck_assert(segbuf_wants_claim(&sb));           /* 10% used */
    take_run(&sb, 10, 50);
    ck_assert(segbuf_wants_claim(&sb));           /* still, while no next */
}
END_TEST

START_TEST(test_segment_prefetch_rounds_ten_percent_up)
{
    struct segbuf sb;

    /* 10% of 15 is 1.5: two takes. */
    segbuf_init(&sb, UINT64_MAX);
    segbuf_install(&sb, 0, 15);
    take_run(&sb, 0, 1);
    ck_assert(!segbuf_wants_claim(&sb));
    take_run(&sb, 1, 1);
    ck_assert(segbuf_wants_claim(&sb));

    /* A segment of one wants the next claim after its one take. */
    segbuf_init(&sb, UINT64_MAX);
    segbuf_install(&sb, 7, 1);
    ck_assert(!segbuf_wants_claim(&sb));
    take_run(&sb, 7, 1);
    ck_assert(segbuf_wants_claim(&sb));
}
END_TEST

START_TEST(test_segment_no_second_prefetch_while_next_is_there)
{
    struct segbuf sb;

    segbuf_init(&sb, UINT64_MAX);
    segbuf_install(&sb, 0, 10);
    take_run(&sb, 0, 5);
    ck_assert(segbuf_wants_claim(&sb));
    ck_assert(segbuf_install(&sb, 10, 10));
    ck_assert(!segbuf_wants_claim(&sb));
    take_run(&sb, 5, 5);                          /* cur used up, next waiting */
    ck_assert(!segbuf_wants_claim(&sb));
    /* A second install while next is there is refused and changes nothing. */
    ck_assert(!segbuf_install(&sb, 99, 10));
    ck_assert_uint_eq(sb.next_start, 10);
    ck_assert_uint_eq(segbuf_unused(&sb), 10);
    take_run(&sb, 10, 1);                         /* switched: 1 of 10 used */
    ck_assert(segbuf_wants_claim(&sb));
}
END_TEST

START_TEST(test_segment_install_into_cur_when_used_up)
{
    struct segbuf sb;

    segbuf_init(&sb, UINT64_MAX);
    segbuf_install(&sb, 0, 2);
    take_run(&sb, 0, 2);
    ck_assert(segbuf_install(&sb, 40, 5));        /* cur used up: replace it */
    ck_assert(!segbuf_has_next(&sb));
    ck_assert_uint_eq(sb.cur.start, 40);
    ck_assert_uint_eq(segbuf_unused(&sb), 5);
    take_run(&sb, 40, 5);
}
END_TEST

START_TEST(test_segment_exhausted_when_claim_crosses_limit)
{
    struct segbuf sb;
    uint64_t c;

    segbuf_init(&sb, 25);
    segbuf_install(&sb, 0, 10);
    take_run(&sb, 0, 1);
    segbuf_install(&sb, 10, 10);
    take_run(&sb, 1, 19);
    ck_assert(segbuf_wants_claim(&sb));           /* cur [10,20) ended below 25 */
    ck_assert(segbuf_install(&sb, 20, 10));       /* crosses the limit: cut to [20,25) */
    ck_assert_uint_eq(sb.cur.end, 25);
    ck_assert_uint_eq(segbuf_unused(&sb), 5);
    ck_assert(!segbuf_wants_claim(&sb));          /* nothing left to claim */
    take_run(&sb, 20, 5);
    ck_assert_int_eq(segbuf_take(&sb, &c), SEG_EXHAUSTED);
    ck_assert_int_eq(segbuf_take(&sb, &c), SEG_EXHAUSTED);
    ck_assert(!segbuf_wants_claim(&sb));
}
END_TEST

START_TEST(test_segment_exhausted_when_claim_starts_at_or_past_limit)
{
    struct segbuf sb;
    uint64_t c;

    /* Another node took the last counters: our claim starts at the limit. */
    segbuf_init(&sb, 100);
    ck_assert(segbuf_install(&sb, 100, 10));
    ck_assert_uint_eq(segbuf_unused(&sb), 0);
    ck_assert_int_eq(segbuf_take(&sb, &c), SEG_EXHAUSTED);
    ck_assert(!segbuf_wants_claim(&sb));

    segbuf_init(&sb, 100);
    ck_assert(segbuf_install(&sb, 250, 10));
    ck_assert_int_eq(segbuf_take(&sb, &c), SEG_EXHAUSTED);

    /* Into next: cur is served to its end, then exhausted. */
    segbuf_init(&sb, 100);
    segbuf_install(&sb, 90, 5);
    ck_assert(segbuf_install(&sb, 120, 10));
    ck_assert_uint_eq(segbuf_unused(&sb), 5);
    take_run(&sb, 90, 5);
    ck_assert_int_eq(segbuf_take(&sb, &c), SEG_EXHAUSTED);
}
END_TEST

START_TEST(test_segment_limit_zero_is_exhausted_at_once)
{
    struct segbuf sb;
    uint64_t c;

    segbuf_init(&sb, 0);
    ck_assert_int_eq(segbuf_take(&sb, &c), SEG_EXHAUSTED);
    ck_assert(!segbuf_wants_claim(&sb));
}
END_TEST

START_TEST(test_segment_empty_not_exhausted_below_limit)
{
    struct segbuf sb;
    uint64_t c;

    segbuf_init(&sb, 1000);
    segbuf_install(&sb, 0, 10);
    take_run(&sb, 0, 10);
    ck_assert_int_eq(segbuf_take(&sb, &c), SEG_EMPTY);
    ck_assert(segbuf_wants_claim(&sb));
}
END_TEST

START_TEST(test_segment_install_near_uint64_max_does_not_wrap)
{
    struct segbuf sb;
    uint64_t c;

    /* start + count overflows: the end saturates instead of wrapping. */
    segbuf_init(&sb, UINT64_MAX);
    ck_assert(segbuf_install(&sb, UINT64_MAX - 3, 10));
    ck_assert_uint_eq(sb.cur.end, UINT64_MAX);
    ck_assert_uint_eq(segbuf_unused(&sb), 3);
    take_run(&sb, UINT64_MAX - 3, 3);
    ck_assert_int_eq(segbuf_take(&sb, &c), SEG_EXHAUSTED);

    /* unused saturates rather than wrapping (two huge overlapping ranges:
     * out of contract for a store, but the sum must not wrap). */
    segbuf_init(&sb, UINT64_MAX);
    segbuf_install(&sb, 0, UINT64_MAX);
    take_run(&sb, 0, 1);
    segbuf_install(&sb, 0, UINT64_MAX);
    ck_assert_uint_eq(segbuf_unused(&sb), UINT64_MAX);

    /* The 10% test on a huge segment does not overflow: size is
     * UINT64_MAX - 1 = 18446744073709551614, 10% rounded up is
     * 1844674407370955162. */
    segbuf_init(&sb, UINT64_MAX);
    segbuf_install(&sb, 0, UINT64_MAX - 1);
    ck_assert(!segbuf_wants_claim(&sb));
    sb.cur.pos = 1844674407370955161ULL;
    ck_assert(!segbuf_wants_claim(&sb));
    sb.cur.pos = 1844674407370955162ULL;
    ck_assert(segbuf_wants_claim(&sb));
}
END_TEST

/* Leaf's rule, with duration 900000 ms (15 minutes), min 1000, max 10^6. */
#define DUR 900000ULL
START_TEST(test_segment_size_first_claim_keeps_prev)
{
    ck_assert_uint_eq(segment_next_size(5000, 0, DUR, 1000, 1000000), 5000);
    ck_assert_uint_eq(segment_next_size(5, 0, DUR, 1000, 1000000), 1000);
    ck_assert_uint_eq(segment_next_size(5000000, 0, DUR, 1000, 1000000), 1000000);
}
END_TEST

START_TEST(test_segment_size_doubles_when_used_up_fast)
{
    ck_assert_uint_eq(segment_next_size(5000, 1, DUR, 1000, 1000000), 10000);
    ck_assert_uint_eq(segment_next_size(5000, DUR - 1, DUR, 1000, 1000000), 10000);
}
END_TEST

START_TEST(test_segment_size_keeps_between_one_and_two_durations)
{
    ck_assert_uint_eq(segment_next_size(5000, DUR, DUR, 1000, 1000000), 5000);
    ck_assert_uint_eq(segment_next_size(5000, 2 * DUR - 1, DUR, 1000, 1000000), 5000);
}
END_TEST

START_TEST(test_segment_size_halves_when_slow)
{
    ck_assert_uint_eq(segment_next_size(5000, 2 * DUR, DUR, 1000, 1000000), 2500);
    ck_assert_uint_eq(segment_next_size(5000, UINT64_MAX, DUR, 1000, 1000000), 2500);
}
END_TEST

START_TEST(test_segment_size_clamps_to_min_and_max)
{
    ck_assert_uint_eq(segment_next_size(1500, 3 * DUR, DUR, 1000, 1000000), 1000);
    ck_assert_uint_eq(segment_next_size(1000, 3 * DUR, DUR, 1000, 1000000), 1000);
    ck_assert_uint_eq(segment_next_size(800000, 1, DUR, 1000, 1000000), 1000000);
    ck_assert_uint_eq(segment_next_size(1000000, 1, DUR, 1000, 1000000), 1000000);
    /* min wins when the row's step is above segment.max */
    ck_assert_uint_eq(segment_next_size(5000, 1, DUR, 2000000, 1000000), 2000000);
    ck_assert_uint_eq(segment_next_size(5000, 3 * DUR, DUR, 2000000, 1000000), 2000000);
    /* never 0, even with a zero min */
    ck_assert_uint_eq(segment_next_size(1, 3 * DUR, DUR, 0, 1000000), 1);
}
END_TEST

START_TEST(test_segment_size_no_overflow_near_uint64_max)
{
    ck_assert_uint_eq(segment_next_size(UINT64_MAX, 1, DUR, 1, UINT64_MAX), UINT64_MAX);
    ck_assert_uint_eq(segment_next_size(UINT64_MAX / 2 + 1, 1, DUR, 1, UINT64_MAX), UINT64_MAX);
    ck_assert_uint_eq(segment_next_size(UINT64_MAX / 2, 1, DUR, 1, UINT64_MAX), UINT64_MAX - 1);
    /* 2 * duration would overflow: elapsed just below it still keeps prev */
    ck_assert_uint_eq(segment_next_size(5000, UINT64_MAX - 1, UINT64_MAX / 2 + 1, 1, 1000000),
                      5000);
    ck_assert_uint_eq(segment_next_size(5000, UINT64_MAX, UINT64_MAX, 1, 1000000), 5000);
}
END_TEST

START_TEST(test_segment_size_settles_for_steady_traffic)
{
    /* 100 counters/s, 15 minutes wanted: the size climbs from the min to
     * the first size that lasts at least 15 minutes (128000: 1280 s) and
     * stays there (1280 s < 1800 s). */
    uint64_t size = 1000;

    for (int i = 0; i < 20; i++) {
        uint64_t elapsed = size * 10;         /* ms at 100/s */
        size = segment_next_size(size, elapsed, DUR, 1000, 1000000);
    }
    ck_assert_uint_eq(size, 128000);
}
END_TEST

START_TEST(test_segment_give_back_covers_the_contiguous_unused_tail)
{
    struct segbuf sb;

    /* Nothing claimed: nothing to give back. */
    segbuf_init(&sb, UINT64_MAX);
    ck_assert_uint_eq(segbuf_giveback_from(&sb, 0), 0);

    /* Only cur: its rest up to the top. */
    segbuf_install(&sb, 100, 50);
    take_run(&sb, 100, 7);
    ck_assert_uint_eq(segbuf_giveback_from(&sb, 150), 107);

    /* next right after cur: cur's rest and all of next. */
    ck_assert(segbuf_install(&sb, 150, 50));
    ck_assert_uint_eq(segbuf_giveback_from(&sb, 200), 107);

    /* Used up entirely: the top itself, an empty range. */
    take_run(&sb, 107, 93);
    ck_assert_uint_eq(segbuf_giveback_from(&sb, 200), 200);
}
END_TEST

START_TEST(test_segment_give_back_skips_cur_when_another_node_claimed_between)
{
    struct segbuf sb;

    segbuf_init(&sb, UINT64_MAX);
    segbuf_install(&sb, 0, 100);
    take_run(&sb, 0, 20);
    /* Another node took [100, 300): our next starts at 300. cur's rest is
     * not below the top any more; only next can go back. */
    ck_assert(segbuf_install(&sb, 300, 100));
    ck_assert_uint_eq(segbuf_giveback_from(&sb, 400), 300);
}
END_TEST

START_TEST(test_segment_give_back_reaches_past_a_limit_cut)
{
    struct segbuf sb;

    /* A fixed-length kind with 120 counters: the claim [100, 200) is cut to
     * [100, 120), but the store's max_id is 200: the compare-and-set needs
     * the uncut top, and the range starts at what is unused. */
    segbuf_init(&sb, 120);
    segbuf_install(&sb, 100, 100);
    take_run(&sb, 100, 5);
    ck_assert_uint_eq(segbuf_giveback_from(&sb, 200), 105);
}
END_TEST

static Suite *segment_suite(void)
{
    Suite *s = suite_create("segment");
    TCase *tc = tcase_create("buffer");
    TCase *ts = tcase_create("size");

    tcase_add_test(tc, test_segment_take_run_stops_at_the_end_of_a_segment);
    tcase_add_test(tc, test_segment_fresh_buffer_is_empty_and_wants_a_claim);
    tcase_add_test(tc, test_segment_first_install_goes_to_cur);
    tcase_add_test(tc, test_segment_switches_from_cur_to_next);
    tcase_add_test(tc, test_segment_prefetch_at_ten_percent_not_nine);
    tcase_add_test(tc, test_segment_prefetch_rounds_ten_percent_up);
    tcase_add_test(tc, test_segment_no_second_prefetch_while_next_is_there);
    tcase_add_test(tc, test_segment_install_into_cur_when_used_up);
    tcase_add_test(tc, test_segment_exhausted_when_claim_crosses_limit);
    tcase_add_test(tc, test_segment_exhausted_when_claim_starts_at_or_past_limit);
    tcase_add_test(tc, test_segment_limit_zero_is_exhausted_at_once);
    tcase_add_test(tc, test_segment_empty_not_exhausted_below_limit);
    tcase_add_test(tc, test_segment_install_near_uint64_max_does_not_wrap);
    tcase_add_test(tc, test_segment_give_back_covers_the_contiguous_unused_tail);
    tcase_add_test(tc, test_segment_give_back_skips_cur_when_another_node_claimed_between);
    tcase_add_test(tc, test_segment_give_back_reaches_past_a_limit_cut);
    suite_add_tcase(s, tc);
    tcase_add_test(ts, test_segment_size_first_claim_keeps_prev);
    tcase_add_test(ts, test_segment_size_doubles_when_used_up_fast);
    tcase_add_test(ts, test_segment_size_keeps_between_one_and_two_durations);
    tcase_add_test(ts, test_segment_size_halves_when_slow);
    tcase_add_test(ts, test_segment_size_clamps_to_min_and_max);
    tcase_add_test(ts, test_segment_size_no_overflow_near_uint64_max);
    tcase_add_test(ts, test_segment_size_settles_for_steady_traffic);
    suite_add_tcase(s, ts);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(segment_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
