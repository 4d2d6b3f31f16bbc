/*
 * check_perm: the keyed permutation behind type 1 sequences is a bijection
 * of [0, domain) for every domain, depends on the key, and is the same on
 * every run (and so on every node); a derived key (a UDP pair's) is pinned
 * and tells names and rule keys apart.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perm.h"

static const uint64_t keys[] = { 0, 1, 0x9e3779b97f4a7c15ULL, UINT64_MAX };

/* Apply p to all of [0, domain) and fail unless every image is in range and
 * none repeats. */
static void assert_bijection(const struct perm *p)
{
    uint64_t domain = p->domain;
    unsigned char *seen = calloc(domain, 1);

    ck_assert_ptr_nonnull(seen);
    for (uint64_t x = 0; x < domain; x++) {
        uint64_t y = perm_apply(p, x);
        /* Plain ifs: each ck_assert costs Check a write() in fork mode. */
        if (y >= domain)
            ck_abort_msg("domain %llu: perm(%llu) = %llu out of range",
                         (unsigned long long)domain, (unsigned long long)x,
                         (unsigned long long)y);
        if (seen[y])
            ck_abort_msg("domain %llu: %llu produced twice",
                         (unsigned long long)domain, (unsigned long long)y);
        seen[y] = 1;
    }
    free(seen);
}

START_TEST(test_perm_is_bijection_for_every_domain_up_to_2000)
{
    struct perm p;

    for (uint64_t domain = 1; domain <= 2000; domain++) {
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            perm_init(&p, domain, keys[k]);
            assert_bijection(&p);
        }
    }
}
END_TEST

START_TEST(test_perm_is_bijection_on_type1_domains_length_1_to_6)
{
    static const uint64_t domains[] = { 9, 90, 900, 9000, 90000, 900000 };
    struct perm p;

    for (size_t d = 0; d < sizeof(domains) / sizeof(domains[0]); d++) {
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            perm_init(&p, domains[d], keys[k]);
            assert_bijection(&p);
        }
    }
}
END_TEST

START_TEST(test_perm_domain_one_always_gives_zero)
{
    struct perm p;

    perm_init(&p, 1, 12345);
    ck_assert_uint_eq(perm_apply(&p, 0), 0);
    ck_assert_uint_ge(p.half_bits, 1);
}
END_TEST

START_TEST(test_perm_half_bits_is_smallest_that_holds_domain)
{
    static const struct { uint64_t domain; unsigned half; } cases[] = {
        { 1, 1 }, { 2, 1 }, { 4, 1 }, { 5, 2 }, { 16, 2 }, { 17, 3 },
        { 9, 2 }, { 90, 4 }, { 900, 5 }, { 9000000000ULL, 17 },
        { 900000000000000000ULL, 30 }, { 1000000000000000000ULL, 30 },
    };
    struct perm p;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        perm_init(&p, cases[i].domain, 7);
        ck_assert_msg(p.half_bits == cases[i].half, "domain %llu: half_bits %u, want %u",
                      (unsigned long long)cases[i].domain, p.half_bits, cases[i].half);
        ck_assert_uint_eq(p.half_mask, (UINT64_C(1) << cases[i].half) - 1);
    }
}
END_TEST

START_TEST(test_perm_same_key_gives_same_sequence)
{
    struct perm a, b;

    perm_init(&a, 900000, 42);
    perm_init(&b, 900000, 42);
    for (uint64_t x = 0; x < 900000; x += 7)
        if (perm_apply(&a, x) != perm_apply(&b, x))
            ck_abort_msg("same key, different image of %llu", (unsigned long long)x);
    /* Pinned values: the permutation must not change between releases, or
     * a restarted node would hand out numbers another one already did. */
    {
        static const uint64_t want900[] = { 351, 769, 534, 13, 299 };
        static const uint64_t want10[] = { 458203758ULL, 3078788627ULL, 7020108668ULL };

        perm_init(&a, 900, 1);
        for (uint64_t x = 0; x < 5; x++)
            ck_assert_uint_eq(perm_apply(&a, x), want900[x]);
        perm_init(&a, 9000000000ULL, 0x5eed);
        for (uint64_t x = 0; x < 3; x++)
            ck_assert_uint_eq(perm_apply(&a, x), want10[x]);
    }
}
END_TEST

START_TEST(test_perm_different_keys_give_different_orders)
{
    struct perm a, b;
    uint64_t same = 0;

    for (size_t k = 1; k < sizeof(keys) / sizeof(keys[0]); k++) {
        perm_init(&a, 90000, keys[0]);
        perm_init(&b, 90000, keys[k]);
        same = 0;
        for (uint64_t x = 0; x < 90000; x++)
            same += perm_apply(&a, x) == perm_apply(&b, x);
        /* Two unrelated permutations agree on about one point. */
        ck_assert_msg(same < 100, "keys %zu and 0 agree on %llu of 90000 points",
                      k, (unsigned long long)same);
    }
    /* Even a small domain is reordered by the key. */
    perm_init(&a, 9, 1);
    perm_init(&b, 9, 2);
    same = 0;
    for (uint64_t x = 0; x < 9; x++)
        same += perm_apply(&a, x) == perm_apply(&b, x);
    ck_assert_uint_lt(same, 9);
}
END_TEST

START_TEST(test_perm_output_does_not_follow_counter_order)
{
    struct perm p;
    uint64_t up = 0, fixed = 0, prev;

    perm_init(&p, 900000, 99);
    prev = perm_apply(&p, 0);
    for (uint64_t x = 1; x < 100000; x++) {
        uint64_t y = perm_apply(&p, x);
        up += y > prev;
        fixed += y == x;
        prev = y;
    }
    /* A random order rises about half the time and fixes almost nothing. */
    ck_assert_msg(up > 45000 && up < 55000, "rises %llu of 99999", (unsigned long long)up);
    ck_assert_uint_lt(fixed, 10);
}
END_TEST

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* n images of 0..n-1 (and of a far stretch) in a large domain are distinct. */
static void assert_sample_distinct(uint64_t domain, uint64_t key, uint64_t n)
{
    struct perm p;
    uint64_t *out = malloc(n * 2 * sizeof(*out));

    ck_assert_ptr_nonnull(out);
    perm_init(&p, domain, key);
    for (uint64_t x = 0; x < n; x++) {
        out[x] = perm_apply(&p, x);
        out[n + x] = perm_apply(&p, domain - 1 - x);
        if (out[x] >= domain || out[n + x] >= domain)
            ck_abort_msg("domain %llu: image of %llu out of range",
                         (unsigned long long)domain, (unsigned long long)x);
    }
    qsort(out, n * 2, sizeof(*out), cmp_u64);
    for (uint64_t i = 1; i < n * 2; i++)
        if (out[i] == out[i - 1])
            ck_abort_msg("domain %llu: %llu produced twice",
                         (unsigned long long)domain, (unsigned long long)out[i]);
    free(out);
}

START_TEST(test_perm_length10_sample_of_a_million_is_distinct)
{
    assert_sample_distinct(9000000000ULL, 0x5eed, 1000000);
}
END_TEST

START_TEST(test_perm_length18_sample_is_distinct)
{
    assert_sample_distinct(900000000000000000ULL, 3, 200000);
}
END_TEST

/* A pair's key (the UDP door's RULE:APP of a type 1 rule) is computed, not
 * drawn: every store that has a copy of the rule makes the same one. */
START_TEST(test_perm_derived_key_is_pinned_and_the_same_everywhere)
{
    /* Pinned (checked against an independent FNV-1a + splitmix64): nodes of
     * different releases on independent stores must agree. */
    ck_assert_uint_eq(perm_derive_key(0x5eed, "o2o:test", 8), 0xcd42cae57824e060ULL);
    ck_assert_uint_eq(perm_derive_key(1, "o2o:a", 5), 0x2c0fee54c836c160ULL);
    ck_assert_uint_eq(perm_derive_key(0, "", 0), 0x21fa69a58f3d62f5ULL);
    /* Only the bytes given count (the name is not NUL-terminated there). */
    ck_assert_uint_eq(perm_derive_key(0x5eed, "o2o:testXYZ", 8), perm_derive_key(0x5eed, "o2o:test", 8));
}
END_TEST

/* Two apps of one rule get different keys; a rule made again (a new key)
 * gives the same app a new key, never the old one (a bijection of the
 * rule's key for a fixed name), so a shared table tells the pairs apart. */
START_TEST(test_perm_derived_key_differs_by_name_and_by_rule_key)
{
    enum { N = 4096 };
    static uint64_t seen[N];
    char name[32];

    for (int i = 0; i < N; i++) {
        int len = snprintf(name, sizeof(name), "rule:app%d", i);
        seen[i] = perm_derive_key(0x5eed, name, (size_t)len);
        ck_assert_uint_ne(seen[i], 0x5eed);             /* not the rule's own key */
    }
    qsort(seen, N, sizeof(seen[0]), cmp_u64);
    for (int i = 1; i < N; i++)
        ck_assert_uint_ne(seen[i], seen[i - 1]);
    for (uint64_t k = 0; k < N; k++)
        seen[k] = perm_derive_key(k * 0x9e3779b97f4a7c15ULL, "rule:app", 8);
    qsort(seen, N, sizeof(seen[0]), cmp_u64);
    for (int i = 1; i < N; i++)
        ck_assert_uint_ne(seen[i], seen[i - 1]);
    /* A one-bit change of either input changes about half the key's bits. */
    int bits = __builtin_popcountll(perm_derive_key(2, "o2o:a", 5) ^ perm_derive_key(3, "o2o:a", 5));
    ck_assert_int_gt(bits, 16);
    bits = __builtin_popcountll(perm_derive_key(2, "o2o:a", 5) ^ perm_derive_key(2, "o2o:c", 5));
    ck_assert_int_gt(bits, 16);
}
END_TEST

static Suite *perm_suite(void)
{
    Suite *s = suite_create("perm");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_perm_is_bijection_for_every_domain_up_to_2000);
    tcase_add_test(tc, test_perm_is_bijection_on_type1_domains_length_1_to_6);
    tcase_add_test(tc, test_perm_domain_one_always_gives_zero);
    tcase_add_test(tc, test_perm_half_bits_is_smallest_that_holds_domain);
    tcase_add_test(tc, test_perm_same_key_gives_same_sequence);
    tcase_add_test(tc, test_perm_different_keys_give_different_orders);
    tcase_add_test(tc, test_perm_output_does_not_follow_counter_order);
    tcase_add_test(tc, test_perm_length10_sample_of_a_million_is_distinct);
    tcase_add_test(tc, test_perm_length18_sample_is_distinct);
    tcase_add_test(tc, test_perm_derived_key_is_pinned_and_the_same_everywhere);
    tcase_add_test(tc, test_perm_derived_key_differs_by_name_and_by_rule_key);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(perm_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
