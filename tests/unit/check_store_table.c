/*
 * check_store_table: the table and the claim / give-back arithmetic that
 * the memory and file stores share, driven directly (no store, no disk).
 * Each test fails if the rule it is named for breaks: claims never
 * overlap and take at least a segment, a claim that would pass UINT64_MAX
 * takes nothing, a give-back applies only while max_id is still its `to`
 * and the entry is still the definition it was claimed from, and an empty
 * or reversed one never moves max_id.
 *
 * And what an entry costs: the file store keeps one per sequence beside
 * the registry's struct seq, so 100,000 of them must stay small (the
 * Performance issue's 300 bytes a sequence are for both together).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_table.h"
#include "util.h"

#include "test_defs.h"
#include "test_heap.h"

static char err[512];

/* A table holding one increasing sequence `name` at max_id. */
static void table_with(struct store_table *t, const char *name, uint64_t segment, uint64_t max_id)
{
    struct seqdef d = def_increasing(name, segment);

    store_table_init(t);
    ck_assert_int_eq(store_table_add(t, &d, max_id, err, sizeof(err)), STORE_OK);
}

/* The definition table_with's sequence was claimed from (seqdef_same
 * ignores the segment). */
static const struct seqdef *served(const char *name)
{
    static struct seqdef d;

    d = def_increasing(name, 1);
    return &d;
}

static uint64_t max_id_of(const struct store_table *t, const char *name)
{
    const struct table_seq *s = store_table_find(t, name);

    ck_assert_ptr_nonnull(s);
    return s->max_id;
}

/* ---- the table ---------------------------------------------------------- */

START_TEST(test_names_stay_sorted_and_are_found_after_any_insert_order)
{
    static const char *const names[] = { "m", "c", "x", "a", "q", "b" };
    static const char *const sorted[] = { "a", "b", "c", "m", "q", "x" };
    struct store_table t;
    struct seqdef *defs, got;
    size_t i, n;

    store_table_init(&t);
    for (i = 0; i < ARRAY_SIZE(names); i++) {
        struct seqdef d = def_increasing(names[i], 10 + i);
        ck_assert_int_eq(store_table_add(&t, &d, i, err, sizeof(err)), STORE_OK);
    }
    defs = store_table_defs(&t, &n);
    ck_assert_uint_eq(n, ARRAY_SIZE(sorted));
    for (i = 0; i < n; i++)
        ck_assert_str_eq(defs[i].name, sorted[i]);
    free(defs);
    for (i = 0; i < ARRAY_SIZE(names); i++) {
        ck_assert_int_eq(store_table_lookup(&t, names[i], &got, err, sizeof(err)), STORE_OK);
        ck_assert_uint_eq(got.segment, 10 + i);
        ck_assert_uint_eq(max_id_of(&t, names[i]), i);
    }
    store_table_free(&t);
}
END_TEST

START_TEST(test_add_refuses_a_taken_name_and_keeps_the_first)
{
    struct store_table t;
    struct seqdef again = def_increasing("dup", 5), got;

    table_with(&t, "dup", 100, 700);
    ck_assert_int_eq(store_table_add(&t, &again, 0, err, sizeof(err)), STORE_EXISTS);
    ck_assert_ptr_nonnull(strstr(err, "already exists"));
    ck_assert_int_eq(store_table_lookup(&t, "dup", &got, err, sizeof(err)), STORE_OK);
    ck_assert_uint_eq(got.segment, 100);
    ck_assert_uint_eq(max_id_of(&t, "dup"), 700);
    store_table_free(&t);
}
END_TEST

START_TEST(test_add_refuses_what_could_not_be_served)
{
    struct store_table t;
    struct seqdef bad = def_increasing("bad", 100), nosegment = def_increasing("zero", 0);
    size_t n;

    store_table_init(&t);
    bad.kind = 7;
    ck_assert_int_eq(store_table_add(&t, &bad, 0, err, sizeof(err)), STORE_ERROR);
    /* A segment of 0 would make an empty claim possible. */
    ck_assert_int_eq(store_table_add(&t, &nosegment, 0, err, sizeof(err)), STORE_ERROR);
    free(store_table_defs(&t, &n));
    ck_assert_uint_eq(n, 0);
    store_table_free(&t);
}
END_TEST

START_TEST(test_remove_and_unknown_names)
{
    struct store_table t;
    struct seqdef got;
    struct claim c;

    table_with(&t, "gone", 10, 0);
    ck_assert_int_eq(store_table_remove(&t, "gone", err, sizeof(err)), STORE_OK);
    ck_assert_ptr_null(store_table_find(&t, "gone"));
    ck_assert_int_eq(store_table_remove(&t, "gone", err, sizeof(err)), STORE_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err, "'gone'"));
    ck_assert_int_eq(store_table_lookup(&t, "gone", &got, err, sizeof(err)), STORE_NOT_FOUND);
    ck_assert_int_eq(store_table_claim(&t, "gone", 1, 0, NULL, &c, err, sizeof(err)), STORE_NOT_FOUND);
    ck_assert_int_eq(store_table_give_back(&t, "gone", 0, 1, 0, served("gone"), err, sizeof(err)), STORE_NOT_FOUND);
    store_table_free(&t);
}
END_TEST

/* ---- claims ------------------------------------------------------------- */

START_TEST(test_claims_follow_each_other_and_take_at_least_a_segment)
{
    static const uint64_t wants[] = { 0, 1, 99, 100, 101, 5000, 3 };
    struct store_table t;
    uint64_t next = 40;
    size_t i;

    table_with(&t, "s", 100, 40);
    for (i = 0; i < ARRAY_SIZE(wants); i++) {
        struct claim c;
        ck_assert_int_eq(store_table_claim(&t, "s", wants[i], 0, NULL, &c, err, sizeof(err)), STORE_OK);
        ck_assert_uint_eq(c.start, next);
        ck_assert_uint_eq(c.count, wants[i] > 100 ? wants[i] : 100);
        ck_assert_str_eq(c.def.name, "s");
        next = c.start + c.count;
        ck_assert_uint_eq(max_id_of(&t, "s"), next);
    }
    store_table_free(&t);
}
END_TEST

START_TEST(test_claim_for_another_definition_of_the_name_takes_nothing)
{
    struct store_table t;
    struct claim c;
    struct seqdef served = def_increasing("s", 100), old = served;

    table_with(&t, "s", 100, 0);
    /* The definition the caller serves: claims as usual (the segment may
     * have changed in the store; that is the same sequence). */
    served.segment = 7;
    ck_assert_int_eq(store_table_claim(&t, "s", 1, 0, &served, &c, err, sizeof(err)), STORE_OK);
    ck_assert_uint_eq(c.start, 0);
    /* A claim on its way for a deleted "s" whose name now holds another
     * definition (another key): nothing is taken from the new one. */
    old.perm_key = 99;
    ck_assert_int_eq(store_table_claim(&t, "s", 1, 0, &old, &c, err, sizeof(err)), STORE_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err, "deleted and created again"));
    ck_assert_uint_eq(max_id_of(&t, "s"), 100);
    old = def_increasing("s", 100);
    old.starting = 5;
    ck_assert_int_eq(store_table_claim(&t, "s", 1, 0, &old, &c, err, sizeof(err)), STORE_NOT_FOUND);
    ck_assert_uint_eq(max_id_of(&t, "s"), 100);
    store_table_free(&t);
}
END_TEST

START_TEST(test_claim_range_changes_nothing_until_the_caller_records_it)
{
    struct store_table t;
    struct claim c;

    table_with(&t, "s", 100, 500);
    ck_assert_int_eq(store_table_claim_range(store_table_find(&t, "s"), 0, 0, NULL, &c, err, sizeof(err)),
                     STORE_OK);
    ck_assert_uint_eq(c.start, 500);
    ck_assert_uint_eq(c.count, 100);
    ck_assert_uint_eq(max_id_of(&t, "s"), 500);
    store_table_free(&t);
}
END_TEST

/* The counter's own limit: a claim may end exactly at UINT64_MAX; one more
 * counter is an error that takes nothing. */
START_TEST(test_claim_at_the_counter_limit_takes_the_rest_then_fails_changing_nothing)
{
    struct store_table t;
    struct claim c;

    table_with(&t, "big", 100, UINT64_MAX - 250);
    ck_assert_int_eq(store_table_claim(&t, "big", 250, 0, NULL, &c, err, sizeof(err)), STORE_OK);
    ck_assert_uint_eq(c.start, UINT64_MAX - 250);
    ck_assert_uint_eq(c.count, 250);
    ck_assert_uint_eq(max_id_of(&t, "big"), UINT64_MAX);

    ck_assert_int_eq(store_table_claim(&t, "big", 0, 0, NULL, &c, err, sizeof(err)), STORE_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "sequence counter overflow"));
    ck_assert_uint_eq(max_id_of(&t, "big"), UINT64_MAX);
    store_table_free(&t);
}
END_TEST

START_TEST(test_claim_larger_than_what_is_left_fails_changing_nothing)
{
    struct store_table t;
    struct claim c;

    /* 500 counters are left: less than a segment, and less than wanted. */
    table_with(&t, "big", 1000, UINT64_MAX - 500);
    ck_assert_int_eq(store_table_claim(&t, "big", 0, 0, NULL, &c, err, sizeof(err)), STORE_ERROR);
    ck_assert_int_eq(store_table_claim(&t, "big", 501, 0, NULL, &c, err, sizeof(err)), STORE_ERROR);
    ck_assert_uint_eq(max_id_of(&t, "big"), UINT64_MAX - 500);
    store_table_free(&t);
}
END_TEST

/* A kind's limit (here 900 three-digit numbers) is the sequence's business
 * (segment.c cuts the range): the table takes a full segment past it. */
START_TEST(test_claim_past_a_kinds_limit_is_taken_whole)
{
    struct store_table t;
    struct seqdef d = def_increasing("three", 1000);
    struct claim c;

    d.kind = SEQ_FIXED;
    d.length = 3;
    d.starting = 100;
    ck_assert_uint_eq(seqdef_limit(&d), 900);
    store_table_init(&t);
    ck_assert_int_eq(store_table_add(&t, &d, 850, err, sizeof(err)), STORE_OK);
    ck_assert_int_eq(store_table_claim(&t, "three", 0, 0, NULL, &c, err, sizeof(err)), STORE_OK);
    ck_assert_uint_eq(c.start, 850);
    ck_assert_uint_eq(c.count, 1000);
    ck_assert_uint_eq(max_id_of(&t, "three"), 1850);
    store_table_free(&t);
}
END_TEST

/* ---- give-back ---------------------------------------------------------- */

START_TEST(test_give_back_at_the_top_lowers_max_id_to_from)
{
    struct store_table t;
    struct claim c;

    table_with(&t, "gb", 100, 0);
    ck_assert_int_eq(store_table_claim(&t, "gb", 0, 0, NULL, &c, err, sizeof(err)), STORE_OK);
    ck_assert_int_eq(store_table_give_back(&t, "gb", 40, 100, 0, served("gb"), err, sizeof(err)), STORE_OK);
    ck_assert_uint_eq(max_id_of(&t, "gb"), 40);
    /* The given-back counters are the next claim's. */
    ck_assert_int_eq(store_table_claim(&t, "gb", 0, 0, NULL, &c, err, sizeof(err)), STORE_OK);
    ck_assert_uint_eq(c.start, 40);
    store_table_free(&t);
}
END_TEST

START_TEST(test_give_back_after_max_id_moved_on_is_stale_and_changes_nothing)
{
    struct store_table t;

    table_with(&t, "gb", 100, 300);
    /* [150, 200) was claimed, then someone claimed [200, 300). */
    ck_assert_int_eq(store_table_give_back(&t, "gb", 150, 200, 0, served("gb"), err, sizeof(err)), STORE_STALE);
    ck_assert_uint_eq(max_id_of(&t, "gb"), 300);
    /* max_id below `to` (it was given back already) is stale too. */
    ck_assert_int_eq(store_table_give_back(&t, "gb", 250, 400, 0, served("gb"), err, sizeof(err)), STORE_STALE);
    ck_assert_uint_eq(max_id_of(&t, "gb"), 300);
    ck_assert_int_eq(store_table_give_back_check(store_table_find(&t, "gb"), 150, 200, 0, served("gb")),
                     STORE_STALE);
    store_table_free(&t);
}
END_TEST

START_TEST(test_give_back_of_an_empty_range_changes_nothing)
{
    struct store_table t;

    table_with(&t, "gb", 100, 300);
    /* At the top: the compare holds, the set is a no-op. */
    ck_assert_int_eq(store_table_give_back(&t, "gb", 300, 300, 0, served("gb"), err, sizeof(err)), STORE_OK);
    ck_assert_uint_eq(max_id_of(&t, "gb"), 300);
    /* Below the top: the compare fails, as for any other range. */
    ck_assert_int_eq(store_table_give_back(&t, "gb", 200, 200, 0, served("gb"), err, sizeof(err)), STORE_STALE);
    ck_assert_uint_eq(max_id_of(&t, "gb"), 300);
    store_table_free(&t);
}
END_TEST

/* DEL + HSET of the name with the same step: after as many claims the
 * new definition stands at the old range's `to`. The old range's
 * give-back must not apply to it, or [0, 100) of the new definition
 * would be claimed and served twice (tests/model/README.md, GB_ANY_DEF). */
START_TEST(test_give_back_of_a_deleted_definition_is_stale_on_the_new_one)
{
    struct store_table t;
    struct seqdef old = def_increasing("re", 100), now = old;
    struct claim a, b, c;

    old.perm_key = 1;
    now.perm_key = 2;               /* HSET draws a fresh key */
    store_table_init(&t);
    ck_assert_int_eq(store_table_add(&t, &old, 0, err, sizeof(err)), STORE_OK);
    ck_assert_int_eq(store_table_claim(&t, "re", 0, 0, &old, &a, err, sizeof(err)), STORE_OK);
    ck_assert_int_eq(store_table_remove(&t, "re", err, sizeof(err)), STORE_OK);
    ck_assert_int_eq(store_table_add(&t, &now, 0, err, sizeof(err)), STORE_OK);
    ck_assert_int_eq(store_table_claim(&t, "re", 0, 0, &now, &b, err, sizeof(err)), STORE_OK);
    ck_assert_uint_eq(b.start, 0);
    ck_assert_uint_eq(max_id_of(&t, "re"), a.start + a.count);     /* the old `to`, by chance */
    ck_assert_int_eq(store_table_give_back(&t, "re", a.start, a.start + a.count, 0, &old, err, sizeof(err)),
                     STORE_STALE);
    ck_assert_uint_eq(max_id_of(&t, "re"), 100);
    ck_assert_int_eq(store_table_claim(&t, "re", 0, 0, &now, &c, err, sizeof(err)), STORE_OK);
    ck_assert_uint_eq(c.start, 100);
    /* The definition served gives back as ever (its segment may differ). */
    now.segment = 7;
    ck_assert_int_eq(store_table_give_back(&t, "re", 150, 200, 0, &now, err, sizeof(err)), STORE_OK);
    ck_assert_uint_eq(max_id_of(&t, "re"), 150);
    store_table_free(&t);
}
END_TEST

/* Each column seqdef_same compares tells a definition from another: a
 * range of any other one is not given back, whatever the row's max_id. */
START_TEST(test_give_back_check_compares_every_definition_column)
{
    struct store_table t;
    struct seqdef d[8];
    size_t i;

    table_with(&t, "gb", 100, 300);
    for (i = 0; i < ARRAY_SIZE(d); i++)
        d[i] = *served("gb");
    d[0].kind = SEQ_RANDOM;
    d[1].length = 8;
    d[2].starting = 2;
    d[3].increment = 2;
    d[4].perm_key = 42;
    d[5].epoch_ms = 1;
    snprintf(d[6].prefix, sizeof(d[6].prefix), "X");
    snprintf(d[7].tz, sizeof(d[7].tz), "UTC");
    for (i = 0; i < ARRAY_SIZE(d); i++)
        ck_assert_msg(store_table_give_back_check(store_table_find(&t, "gb"), 250, 300, 0, &d[i]) == STORE_STALE,
                      "definition %zu", i);
    ck_assert_int_eq(store_table_give_back_check(store_table_find(&t, "gb"), 250, 300, 0, served("gb")), STORE_OK);
    store_table_free(&t);
}
END_TEST

/* from > to would move max_id up over counters nobody claimed. */
START_TEST(test_give_back_of_a_reversed_range_never_applies)
{
    struct store_table t;

    table_with(&t, "gb", 100, 300);
    ck_assert_int_eq(store_table_give_back(&t, "gb", 400, 300, 0, served("gb"), err, sizeof(err)), STORE_STALE);
    ck_assert_uint_eq(max_id_of(&t, "gb"), 300);
    ck_assert_int_eq(store_table_give_back_check(store_table_find(&t, "gb"), 301, 300, 0, served("gb")),
                     STORE_STALE);
    store_table_free(&t);
}
END_TEST

START_TEST(test_give_back_check_changes_nothing_until_the_caller_records_it)
{
    struct store_table t;

    table_with(&t, "gb", 100, 300);
    ck_assert_int_eq(store_table_give_back_check(store_table_find(&t, "gb"), 250, 300, 0, served("gb")), STORE_OK);
    ck_assert_uint_eq(max_id_of(&t, "gb"), 300);
    store_table_free(&t);
}
END_TEST

/* Type 4's periods (store.h): a claim for a newer period moves the entry
 * there with its counter at 0; one for an older period is taken in the
 * entry's own, so a period's counter never restarts; a give-back applies
 * only in the period it names. */
START_TEST(test_periods_move_forward_only)
{
    struct store_table t;
    struct claim c;
    struct seqdef d = def_dated("d", 100);
    const int64_t day1 = 1796169600, day2 = day1 + 86400;

    store_table_init(&t);
    ck_assert_int_eq(store_table_add(&t, &d, 0, err, sizeof(err)), STORE_OK);
    ck_assert_int_eq(table_seq_period(store_table_find(&t, "d")), 0);
    ck_assert_int_eq(store_table_claim(&t, "d", 1, day1, NULL, &c, err, sizeof(err)), STORE_OK);
    ck_assert_uint_eq(c.start, 0);
    ck_assert_int_eq(c.period, day1);
    ck_assert_int_eq(store_table_claim(&t, "d", 1, day1, NULL, &c, err, sizeof(err)), STORE_OK);
    ck_assert_uint_eq(c.start, 100);
    /* Midnight: the first claim of day 2 restarts the counter. */
    ck_assert_int_eq(store_table_claim(&t, "d", 1, day2, NULL, &c, err, sizeof(err)), STORE_OK);
    ck_assert_uint_eq(c.start, 0);
    ck_assert_int_eq(c.period, day2);
    /* A node whose clock is still on day 1 gets day 2's next range. */
    ck_assert_int_eq(store_table_claim(&t, "d", 1, day1, NULL, &c, err, sizeof(err)), STORE_OK);
    ck_assert_uint_eq(c.start, 100);
    ck_assert_int_eq(c.period, day2);
    /* A give-back of day 1's numbers no longer applies; day 2's does. */
    ck_assert_int_eq(store_table_give_back(&t, "d", 100, 200, day1, &d, err, sizeof(err)), STORE_STALE);
    ck_assert_uint_eq(max_id_of(&t, "d"), 200);
    ck_assert_int_eq(store_table_give_back(&t, "d", 100, 200, day2, &d, err, sizeof(err)), STORE_OK);
    ck_assert_uint_eq(max_id_of(&t, "d"), 100);
    ck_assert_int_eq(table_seq_period(store_table_find(&t, "d")), day2);
    /* The period kept after the packed definition leaves it whole. */
    ck_assert_int_eq(store_table_lookup(&t, "d", &c.def, err, sizeof(err)), STORE_OK);
    ck_assert_mem_eq(&c.def, &d, sizeof(d));
    store_table_free(&t);
}
END_TEST

/* Only type 4 has periods (store.h): another kind's entry keeps no
 * period, so a claim that passes one by mistake neither restarts its
 * counter (that would hand its numbers out again) nor moves it. */
START_TEST(test_other_kinds_count_in_period_0_whatever_a_claim_passes)
{
    struct store_table t;
    struct claim c;

    table_with(&t, "s", 100, 300);
    ck_assert_int_eq(store_table_claim(&t, "s", 1, 1796169600, NULL, &c, err, sizeof(err)), STORE_OK);
    ck_assert_uint_eq(c.start, 300);
    ck_assert_int_eq(c.period, 0);
    ck_assert_int_eq(table_seq_period(store_table_find(&t, "s")), 0);
    ck_assert_uint_eq(max_id_of(&t, "s"), 400);
    store_table_free(&t);
}
END_TEST

/* ---- memory --------------------------------------------------------------- */

#define MEM_ENTRIES 100000

/* Heap growth per entry, the sorted array of pointers included, for
 * 100,000 type 3 sequences with names of 10 bytes, as bench.py defines
 * them: 58 measured (a 48-byte chunk for 8 + 27 bytes asked, the array's
 * pointer grown by doubling: 8 to 16 bytes). An entry back in a 64-byte
 * chunk (the numbers unpacked again, or a period for every kind) breaks
 * the bound. Every entry still gives its definition back. */
START_TEST(test_an_entry_costs_about_sixty_bytes)
{
    struct store_table t;
    struct seqdef d = def_increasing("x", 1000), got;
    size_t before, per;

    store_table_init(&t);
    before = heap_in_use();
    for (int i = 0; i < MEM_ENTRIES; i++) {
        snprintf(d.name, sizeof(d.name), "mem%07d", i);
        ck_assert_int_eq(store_table_add(&t, &d, (uint64_t)i, err, sizeof(err)), STORE_OK);
    }
    per = (heap_in_use() - before) / MEM_ENTRIES;
    printf("store_table: %zu heap bytes per entry (names of 10 bytes)\n", per);
    fflush(stdout);
    if (HEAP_MEASURED)
        ck_assert_uint_le(per, 64);
    ck_assert_int_eq(store_table_lookup(&t, "mem0012345", &got, err, sizeof(err)), STORE_OK);
    snprintf(d.name, sizeof(d.name), "mem0012345");
    ck_assert_mem_eq(&got, &d, sizeof(d));
    ck_assert_uint_eq(max_id_of(&t, "mem0012345"), 12345);
    store_table_free(&t);
}
END_TEST

static Suite *store_table_suite(void)
{
    Suite *s = suite_create("store_table");
    TCase *table = tcase_create("table");
    TCase *claim = tcase_create("claim");
    TCase *give_back = tcase_create("give-back");
    TCase *memory = tcase_create("memory");

    tcase_add_test(table, test_names_stay_sorted_and_are_found_after_any_insert_order);
    tcase_add_test(table, test_claim_for_another_definition_of_the_name_takes_nothing);
    tcase_add_test(table, test_add_refuses_a_taken_name_and_keeps_the_first);
    tcase_add_test(table, test_add_refuses_what_could_not_be_served);
    tcase_add_test(table, test_remove_and_unknown_names);
    suite_add_tcase(s, table);

    tcase_add_test(claim, test_claims_follow_each_other_and_take_at_least_a_segment);
    tcase_add_test(claim, test_claim_range_changes_nothing_until_the_caller_records_it);
    tcase_add_test(claim, test_claim_at_the_counter_limit_takes_the_rest_then_fails_changing_nothing);
    tcase_add_test(claim, test_claim_larger_than_what_is_left_fails_changing_nothing);
    tcase_add_test(claim, test_claim_past_a_kinds_limit_is_taken_whole);
    suite_add_tcase(s, claim);

    tcase_add_test(give_back, test_give_back_at_the_top_lowers_max_id_to_from);
    tcase_add_test(give_back, test_give_back_after_max_id_moved_on_is_stale_and_changes_nothing);
    tcase_add_test(give_back, test_give_back_of_a_deleted_definition_is_stale_on_the_new_one);
    tcase_add_test(give_back, test_give_back_check_compares_every_definition_column);
    tcase_add_test(give_back, test_give_back_of_an_empty_range_changes_nothing);
    tcase_add_test(give_back, test_give_back_of_a_reversed_range_never_applies);
    tcase_add_test(give_back, test_give_back_check_changes_nothing_until_the_caller_records_it);
    tcase_add_test(give_back, test_periods_move_forward_only);
    tcase_add_test(give_back, test_other_kinds_count_in_period_0_whatever_a_claim_passes);
    suite_add_tcase(s, give_back);

    tcase_add_test(memory, test_an_entry_costs_about_sixty_bytes);
    suite_add_tcase(s, memory);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_table_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
