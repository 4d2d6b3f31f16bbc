/*
 * check_tz: the TZif reader against glibc. glibc's localtime_r with
 * setenv("TZ") is a perfect oracle for the offset of a zone at an instant;
 * this test is single-threaded, so changing TZ here is safe (seqd itself
 * never does). Instants: every hour of several years around DST changes,
 * random ones from 1902 to 2200 (the far future runs on the POSIX footer
 * rule), and the seconds around every transition of the zone.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tz.h"

static const char *const zones[] = {
    "UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
    "America/Santiago", "Asia/Kolkata", "Pacific/Chatham", "Africa/Casablanca", "Europe/Dublin",
};

static long glibc_offset(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    ck_assert_ptr_nonnull(localtime_r(&tt, &tm));
    return tm.tm_gmtoff;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void check_zone(const char *name)
{
    char err[256];
    const struct tz *z = tz_get(name, err, sizeof(err));
    ck_assert_msg(z != NULL, "%s: %s", name, err);
    setenv("TZ", name, 1);
    tzset();
    int64_t checked = 0;

    /* Every hour (and a half, for Lord Howe's 30-minute DST) of 2019..2027. */
    for (int64_t t = 1546300800; t < 1830297600; t += 1800, checked++)
        ck_assert_msg(tz_offset(z, t) == glibc_offset(t), "%s at %lld: %d, glibc %ld", name, (long long)t,
                      tz_offset(z, t), glibc_offset(t));
    /* Random instants, 1902..2200. */
    for (int i = 0; i < 50000; i++, checked++) {
        int64_t t = -2145916800LL + (int64_t)(next_rand() % (7258118400ULL + 2145916800ULL));
        ck_assert_msg(tz_offset(z, t) == glibc_offset(t), "%s at %lld: %d, glibc %ld", name, (long long)t,
                      tz_offset(z, t), glibc_offset(t));
    }
    /* Both sides of every change glibc sees, 1970..2040: found by scanning
     * hours, then the exact second by bisection. */
    long prev = glibc_offset(0);
    for (int64_t t = 0; t < 2208988800LL; t += 3600) {
        long after = glibc_offset(t + 3600);
        bool same = after == prev;
        prev = after;
        if (same)
            continue;
        int64_t lo = t, hi = t + 3600;
        while (hi - lo > 1) {
            int64_t mid = lo + (hi - lo) / 2;
            if (glibc_offset(mid) == glibc_offset(lo))
                lo = mid;
            else
                hi = mid;
        }
        for (int64_t s = lo - 1; s <= hi + 1; s++, checked++)
            ck_assert_msg(tz_offset(z, s) == glibc_offset(s), "%s at %lld (a change): %d, glibc %ld", name,
                          (long long)s, tz_offset(z, s), glibc_offset(s));
    }
    ck_assert_int_gt(checked, 150000);
}

START_TEST(test_offsets_match_glibc)
{
    check_zone(zones[_i]);
}
END_TEST

/* The first instant of a local time: mktime's answer where the time
 * exists once; in an overlap the earlier one; in a gap the transition. */
START_TEST(test_local_to_utc)
{
    char err[256];
    const struct tz *ny = tz_get("America/New_York", err, sizeof(err));
    ck_assert_ptr_nonnull(ny);
    /* 2026-03-08 02:30 does not exist in New York: the day's 03:00 EDT
     * begins at 07:00 UTC. */
    ck_assert_int_eq(tz_local_to_utc(ny, 1772937000), 1772953200);
    /* 2026-11-01 01:30 happens twice: the first is 05:30 UTC (EDT). */
    ck_assert_int_eq(tz_local_to_utc(ny, 1793496600), 1793511000);
    /* An ordinary local midnight: 2026-12-03 00:00 EST is 05:00 UTC. */
    ck_assert_int_eq(tz_local_to_utc(ny, 1796256000), 1796274000);
    const struct tz *sh = tz_get("Asia/Shanghai", err, sizeof(err));
    ck_assert_int_eq(tz_local_to_utc(sh, 1796256000), 1796256000 - 8 * 3600);
    /* Every local midnight of Lord Howe 2019..2027 against mktime. */
    const struct tz *lh = tz_get("Australia/Lord_Howe", err, sizeof(err));
    setenv("TZ", "Australia/Lord_Howe", 1);
    tzset();
    for (int64_t local = 1546300800; local < 1830297600; local += 86400) {
        time_t tt = (time_t)local;
        struct tm tm;
        gmtime_r(&tt, &tm);
        tm.tm_isdst = -1;
        time_t want = mktime(&tm);
        ck_assert_int_eq(tz_local_to_utc(lh, local), (int64_t)want);
    }
}
END_TEST

START_TEST(test_unknown_zones)
{
    char err[256];
    ck_assert_ptr_null(tz_get("Mars/Olympus_Mons", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "unknown time zone 'Mars/Olympus_Mons'"));
    ck_assert_ptr_null(tz_get("../etc/passwd", err, sizeof(err)));
    ck_assert_ptr_null(tz_get("/etc/localtime", err, sizeof(err)));
    ck_assert_ptr_null(tz_get("Asia", err, sizeof(err)));       /* a directory */
    ck_assert_ptr_null(tz_get("", err, sizeof(err)));
    /* The same zone is parsed once and shared. */
    ck_assert_ptr_eq(tz_get("Europe/Berlin", err, sizeof(err)), tz_get("Europe/Berlin", err, sizeof(err)));
}
END_TEST

START_TEST(test_bad_files_and_posix_strings)
{
    char err[256];
    const unsigned char junk[] = "TZif2 not really a zone file at all, far too short";
    ck_assert_ptr_null(tz_parse(junk, sizeof(junk), err, sizeof(err)));
    ck_assert_ptr_null(tz_parse((const unsigned char *)"", 0, err, sizeof(err)));
    struct tz *z = tz_parse_posix("CST-8", err, sizeof(err));
    ck_assert_ptr_nonnull(z);
    ck_assert_int_eq(tz_offset(z, 0), 28800);
    tz_free(z);
    z = tz_parse_posix("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", err, sizeof(err));
    ck_assert_ptr_nonnull(z);
    ck_assert_int_eq(tz_offset(z, 1782864000), 37800);   /* 2026-07-01: winter there */
    ck_assert_int_eq(tz_offset(z, 1767225600), 39600);   /* 2026-01-01: summer */
    tz_free(z);
    ck_assert_ptr_null(tz_parse_posix("X1", err, sizeof(err)));
    ck_assert_ptr_null(tz_parse_posix("EST5EDT,M3.2", err, sizeof(err)));
}
END_TEST

static Suite *tz_suite(void)
{
    Suite *s = suite_create("tz");
    TCase *tc = tcase_create("tz");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_offsets_match_glibc, 0, (int)(sizeof(zones) / sizeof(zones[0])));
    tcase_add_test(tc, test_local_to_utc);
    tcase_add_test(tc, test_unknown_zones);
    tcase_add_test(tc, test_bad_files_and_posix_strings);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tz_suite());
    /* One process: the zone cache and TZ are this test's alone. */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
