/*
 * check_snowflake: type 5 ids, their layout and decoding, and the clock
 * rules of snowflake_take (strictly increasing, 4096 a ms, the floor and
 * the reservation, a clock that moves back), driven with a fake time.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "seqdef.h"
#include "snowflake.h"

#define EPOCH SNOWFLAKE_DEFAULT_EPOCH_MS
#define T0 (UINT64_C(1767225600000))      /* 2026-01-01T00:00:00Z */

static struct snowflake_clock clock_at(uint64_t now, int worker)
{
    struct snowflake_clock c = { now, EPOCH, worker, 0, now + 100000 };
    return c;
}

START_TEST(compose_and_decode_round_trip)
{
    static const struct { uint64_t ms; int worker, seq; } cases[] = {
        { (uint64_t)EPOCH, 0, 0 }, { T0, 5, 17 }, { T0 + 123, 1023, 4095 },
        { (uint64_t)EPOCH + SNOWFLAKE_TIME_MAX, 1023, 4095 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t id = snowflake_compose(EPOCH, cases[i].ms, cases[i].worker, cases[i].seq);
        struct snowflake_parts p;
        ck_assert_int_ge(id, 0);
        ck_assert_int_eq(snowflake_decode(id, EPOCH, &p), 0);
        ck_assert_uint_eq(p.time_ms, cases[i].ms);
        ck_assert_int_eq(p.worker, cases[i].worker);
        ck_assert_int_eq(p.sequence, cases[i].seq);
    }
    /* The layout: 41 | 10 | 12 bits. */
    ck_assert_int_eq(snowflake_compose(EPOCH, (uint64_t)EPOCH + 1, 0, 0), INT64_C(1) << 22);
    ck_assert_int_eq(snowflake_compose(EPOCH, (uint64_t)EPOCH, 1, 0), INT64_C(1) << 12);
    struct snowflake_parts p;
    ck_assert_int_eq(snowflake_decode(-1, EPOCH, &p), -1);
}
END_TEST

START_TEST(format_time_is_iso_utc_with_ms)
{
    char buf[40];
    snowflake_format_time(T0 + 1234, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2026-01-01T00:00:01.234Z");
    snowflake_format_time((uint64_t)EPOCH, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2020-01-01T00:00:00.000Z");
}
END_TEST

START_TEST(ids_increase_and_4096_per_ms)
{
    struct snowflake_gen g;
    struct snowflake_clock c = clock_at(T0, 7);
    static int64_t out[5000];
    uint64_t got = 0, behind = 0;

    snowflake_gen_init(&g);
    ck_assert_int_eq(snowflake_take(&g, &c, out, 5000, &got, &behind), SNOWFLAKE_NEXT_MS);
    ck_assert_uint_eq(got, SNOWFLAKE_PER_MS);
    for (uint64_t i = 1; i < got; i++)
        ck_assert_int_gt(out[i], out[i - 1]);
    int64_t last = out[got - 1];
    /* The same ms again: still used up. */
    ck_assert_int_eq(snowflake_take(&g, &c, out, 1, &got, &behind), SNOWFLAKE_NEXT_MS);
    ck_assert_uint_eq(got, 0);
    c.now_ms++;
    ck_assert_int_eq(snowflake_take(&g, &c, out, 10, &got, &behind), SNOWFLAKE_OK);
    ck_assert_uint_eq(got, 10);
    ck_assert_int_gt(out[0], last);
    struct snowflake_parts p;
    snowflake_decode(out[9], EPOCH, &p);
    ck_assert_uint_eq(p.time_ms, T0 + 1);
    ck_assert_int_eq(p.worker, 7);
    ck_assert_int_eq(p.sequence, 9);
}
END_TEST

START_TEST(clock_moving_back_gives_no_id)
{
    struct snowflake_gen g;
    struct snowflake_clock c = clock_at(T0, 1);
    int64_t out[4];
    uint64_t got = 0, behind = 0;

    snowflake_gen_init(&g);
    ck_assert_int_eq(snowflake_take(&g, &c, out, 2, &got, &behind), SNOWFLAKE_OK);
    int64_t last = out[1];
    c.now_ms = T0 - 250;
    ck_assert_int_eq(snowflake_take(&g, &c, out, 1, &got, &behind), SNOWFLAKE_BEHIND);
    ck_assert_uint_eq(got, 0);
    ck_assert_uint_eq(behind, 250);
    /* Back at the same ms: the rest of it. */
    c.now_ms = T0;
    ck_assert_int_eq(snowflake_take(&g, &c, out, 1, &got, &behind), SNOWFLAKE_OK);
    ck_assert_int_gt(out[0], last);
}
END_TEST

START_TEST(floor_and_reservation_bound_the_ms)
{
    struct snowflake_gen g;
    struct snowflake_clock c = clock_at(T0, 3);
    int64_t out[4];
    uint64_t got = 0, behind = 0;

    snowflake_gen_init(&g);
    /* A restart found the reservation T0 + 500: nothing at or below it. */
    c.floor_ms = T0 + 500;
    ck_assert_int_eq(snowflake_take(&g, &c, out, 1, &got, &behind), SNOWFLAKE_BEHIND);
    ck_assert_uint_eq(behind, 500);
    c.now_ms = T0 + 500;
    ck_assert_int_eq(snowflake_take(&g, &c, out, 1, &got, &behind), SNOWFLAKE_NEXT_MS);
    c.now_ms = T0 + 501;
    c.reserved_ms = T0 + 501;
    ck_assert_int_eq(snowflake_take(&g, &c, out, 1, &got, &behind), SNOWFLAKE_OK);
    /* Past the reservation: it must be extended first. */
    c.now_ms = T0 + 502;
    ck_assert_int_eq(snowflake_take(&g, &c, out, 1, &got, &behind), SNOWFLAKE_RESERVE);
    ck_assert_uint_eq(got, 0);
}
END_TEST

START_TEST(new_worker_id_waits_for_a_later_ms)
{
    struct snowflake_gen g;
    struct snowflake_clock c = clock_at(T0, 900);
    int64_t out[2];
    uint64_t got = 0, behind = 0;

    snowflake_gen_init(&g);
    ck_assert_int_eq(snowflake_take(&g, &c, out, 1, &got, &behind), SNOWFLAKE_OK);
    int64_t last = out[0];
    c.worker = 2;          /* a lower id in the same ms would be a smaller number */
    ck_assert_int_eq(snowflake_take(&g, &c, out, 1, &got, &behind), SNOWFLAKE_NEXT_MS);
    c.now_ms++;
    ck_assert_int_eq(snowflake_take(&g, &c, out, 1, &got, &behind), SNOWFLAKE_OK);
    ck_assert_int_gt(out[0], last);
}
END_TEST

START_TEST(before_epoch_and_end_of_41_bits)
{
    struct snowflake_gen g;
    struct snowflake_clock c = clock_at((uint64_t)EPOCH - 1, 0);
    int64_t out[1];
    uint64_t got = 0, behind = 0;

    snowflake_gen_init(&g);
    ck_assert_int_eq(snowflake_take(&g, &c, out, 1, &got, &behind), SNOWFLAKE_BEFORE_EPOCH);
    c.now_ms = (uint64_t)EPOCH + SNOWFLAKE_TIME_MAX + 1;
    c.reserved_ms = c.now_ms;
    ck_assert_int_eq(snowflake_take(&g, &c, out, 1, &got, &behind), SNOWFLAKE_EXHAUSTED);
}
END_TEST

START_TEST(worker_ids_by_step_and_offset)
{
    ck_assert_int_eq(snowflake_worker_nth(1, 0, 0), 0);
    ck_assert_int_eq(snowflake_worker_nth(1, 0, 1023), 1023);
    ck_assert_int_eq(snowflake_worker_nth(1, 0, 1024), -1);
    ck_assert_int_eq(snowflake_worker_nth(2, 1, 0), 1);
    ck_assert_int_eq(snowflake_worker_nth(2, 1, 511), 1023);
    ck_assert_int_eq(snowflake_worker_nth(2, 1, 512), -1);
    ck_assert_int_eq(snowflake_worker_nth(3, 2, 1), 5);
    ck_assert(snowflake_worker_allowed(3, 2, 5));
    ck_assert(!snowflake_worker_allowed(3, 2, 6));
    ck_assert(!snowflake_worker_allowed(2, 2, 0));
}
END_TEST

START_TEST(hset_type_5_fields)
{
    struct seqdef def;
    char err[256];
    const char *ok[] = { "type", "5" };
    size_t okl[] = { 4, 1 };
    ck_assert_int_eq(seqdef_from_fields(&def, "sf", 2, 2, ok, okl, 1000, 1, err, sizeof(err)), 0);
    ck_assert_int_eq(def.kind, SEQ_SNOWFLAKE);
    ck_assert_int_eq(def.epoch_ms, SNOWFLAKE_DEFAULT_EPOCH_MS);
    ck_assert_int_eq(seqdef_validate(&def, err, sizeof(err)), 0);

    const char *ep[] = { "type", "5", "epoch", "1288834974657" };
    size_t epl[] = { 4, 1, 5, 13 };
    ck_assert_int_eq(seqdef_from_fields(&def, "sf", 2, 4, ep, epl, 1000, 1, err, sizeof(err)), 0);
    ck_assert_int_eq(def.epoch_ms, INT64_C(1288834974657));

    const char *bad[] = { "type", "5", "length", "5" };
    size_t badl[] = { 4, 1, 6, 1 };
    ck_assert_int_eq(seqdef_from_fields(&def, "sf", 2, 4, bad, badl, 1000, 1, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "type 5 takes no length"));

    const char *neg[] = { "type", "5", "epoch", "-1" };
    size_t negl[] = { 4, 1, 5, 2 };
    ck_assert_int_eq(seqdef_from_fields(&def, "sf", 2, 4, neg, negl, 1000, 1, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "epoch must be"));

    const char *other[] = { "type", "3", "epoch", "0" };
    size_t otherl[] = { 4, 1, 5, 1 };
    ck_assert_int_eq(seqdef_from_fields(&def, "sf", 2, 4, other, otherl, 1000, 1, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "only type 5"));
}
END_TEST

static Suite *snowflake_suite(void)
{
    Suite *s = suite_create("snowflake");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, compose_and_decode_round_trip);
    tcase_add_test(tc, format_time_is_iso_utc_with_ms);
    tcase_add_test(tc, ids_increase_and_4096_per_ms);
    tcase_add_test(tc, clock_moving_back_gives_no_id);
    tcase_add_test(tc, floor_and_reservation_bound_the_ms);
    tcase_add_test(tc, new_worker_id_waits_for_a_later_ms);
    tcase_add_test(tc, before_epoch_and_end_of_41_bits);
    tcase_add_test(tc, worker_ids_by_step_and_offset);
    tcase_add_test(tc, hset_type_5_fields);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(snowflake_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
