/*
 * check_dated: type 4's patterns (what is accepted, what is refused and
 * why), period keys and their successors in several zones, rendering
 * (id_server's %01d%02d%02d%04d among them) and the ISO 8601 form of an
 * instant.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dated.h"

static enum dated_unit unit_of(const char *pattern)
{
    enum dated_unit u = DATED_NONE;
    char err[256];
    ck_assert_msg(dated_parse(pattern, strlen(pattern), &u, err, sizeof(err)) == 0, "%s: %s", pattern, err);
    return u;
}

static void refused(const char *pattern, const char *why)
{
    enum dated_unit u;
    char err[256] = "";
    ck_assert_msg(dated_parse(pattern, strlen(pattern), &u, err, sizeof(err)) == -1, "%s accepted", pattern);
    ck_assert_msg(strstr(err, why) != NULL, "%s: '%s' lacks '%s'", pattern, err, why);
}

START_TEST(test_pattern_units)
{
    ck_assert_int_eq(unit_of("%y%m%d"), DATED_DAY);
    ck_assert_int_eq(unit_of("%1y%m%d"), DATED_DAY);
    ck_assert_int_eq(unit_of("ORD%Y%j"), DATED_DAY);
    ck_assert_int_eq(unit_of("%Y%m%d%H"), DATED_HOUR);
    ck_assert_int_eq(unit_of("%y%jH%H"), DATED_HOUR);
    ck_assert_int_eq(unit_of("%Y%m"), DATED_MONTH);
    ck_assert_int_eq(unit_of("%Y"), DATED_YEAR);
    ck_assert_int_eq(unit_of("A1%%%y"), DATED_YEAR);
}
END_TEST

START_TEST(test_pattern_refusals)
{
    refused("", "1..32 bytes");
    refused("%Y%m%d%H%Y%m%d%H%Y%m%d%H%Y%m%d%H%Y", "1..32 bytes");
    refused("ABC", "type 2");
    refused("12%%", "type 2");
    refused("%y-%m", "byte 3");
    refused("%y%m%", "byte 5");
    refused("%y%M", "unknown token");
    refused("%2y", "unknown token");
    refused("%m%d", "the year");
    refused("%y%d", "the month");
    refused("%y%H", "the day (%m%d or %j)");
    refused("%y%m%H", "the day (%d)");
    refused("%y%d%H", "the month (%m)");
}
END_TEST

/* 2026-12-02 23:59:59 and 2026-12-03 00:00:00 UTC. */
#define T_LAST 1796255999LL
#define T_NEXT 1796256000LL

START_TEST(test_periods_utc)
{
    char err[128];
    const struct tz *utc = tz_get("UTC", err, sizeof(err));
    ck_assert_int_eq(dated_period_at(DATED_DAY, utc, T_LAST), T_NEXT - 86400);
    ck_assert_int_eq(dated_period_at(DATED_DAY, utc, T_NEXT), T_NEXT);
    ck_assert_int_eq(dated_period_at(DATED_HOUR, utc, T_LAST), T_NEXT - 3600);
    ck_assert_int_eq(dated_period_at(DATED_MONTH, utc, T_LAST), 1796083200);     /* 2026-12-01 */
    ck_assert_int_eq(dated_period_at(DATED_YEAR, utc, T_LAST), 1767225600);      /* 2026-01-01 */
    ck_assert_int_eq(dated_period_next(DATED_MONTH, 1796083200), 1798761600);    /* 2027-01-01 */
    ck_assert_int_eq(dated_period_next(DATED_MONTH, 1769904000), 1772323200);    /* Feb -> Mar 2026 */
    ck_assert_int_eq(dated_period_next(DATED_YEAR, 1767225600), 1798761600);
    ck_assert_int_eq(dated_period_next(DATED_DAY, T_NEXT), T_NEXT + 86400);
    /* Before 1970 too. */
    ck_assert_int_eq(dated_period_of(DATED_DAY, -1), -86400);
    ck_assert_int_eq(dated_period_of(DATED_HOUR, -1), -3600);
}
END_TEST

START_TEST(test_periods_in_zones)
{
    char err[128];
    const struct tz *sh = tz_get("Asia/Shanghai", err, sizeof(err));
    /* Shanghai's day begins at 16:00 UTC the day before. */
    ck_assert_int_eq(dated_period_at(DATED_DAY, sh, T_NEXT - 8 * 3600 - 1), T_NEXT - 86400);
    ck_assert_int_eq(dated_period_at(DATED_DAY, sh, T_NEXT - 8 * 3600), T_NEXT);
    const struct tz *ny = tz_get("America/New_York", err, sizeof(err));
    /* The day of the spring change has 23 hours, the day of the autumn
     * one 25: both are one period each, and keys stay 86400 apart. */
    int64_t mar8 = 1772928000, nov1 = 1793491200;               /* local midnights, 2026 */
    ck_assert_int_eq(dated_period_at(DATED_DAY, ny, tz_local_to_utc(ny, mar8)), mar8);
    ck_assert_int_eq(dated_period_at(DATED_DAY, ny, tz_local_to_utc(ny, mar8 + 86400) - 1), mar8);
    ck_assert_int_eq(tz_local_to_utc(ny, mar8 + 86400) - tz_local_to_utc(ny, mar8), 23 * 3600);
    ck_assert_int_eq(tz_local_to_utc(ny, nov1 + 86400) - tz_local_to_utc(ny, nov1), 25 * 3600);
    /* The hour 01 of the autumn change happens twice: one period. */
    int64_t first_one = tz_local_to_utc(ny, nov1 + 3600);
    ck_assert_int_eq(dated_period_at(DATED_HOUR, ny, first_one), nov1 + 3600);
    ck_assert_int_eq(dated_period_at(DATED_HOUR, ny, first_one + 3600), nov1 + 3600);
    ck_assert_int_eq(dated_period_at(DATED_HOUR, ny, first_one + 7200), nov1 + 7200);
}
END_TEST

START_TEST(test_render)
{
    char buf[DATED_TEXT_MAX];
    /* id_server's %01d%02d%02d%04d of year%10, month, day, counter. */
    ck_assert_uint_eq(dated_render("%1y%m%d", T_NEXT, 1, 4, buf, sizeof(buf)), 9);
    ck_assert_str_eq(buf, "612030001");
    dated_render("%y%m%d", T_NEXT, 1, 4, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2612030001");
    dated_render("ORD%Y%j", T_NEXT, 42, 6, buf, sizeof(buf));
    ck_assert_str_eq(buf, "ORD2026337000042");
    dated_render("%Y%m%d%H", T_NEXT - 1, 9999, 4, buf, sizeof(buf));
    ck_assert_str_eq(buf, "20261202239999");
    dated_render("%y%%x", T_NEXT, 7, 1, buf, sizeof(buf));
    ck_assert_str_eq(buf, "26%x7");
    dated_render("%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y%Y", T_NEXT, 999999999999999999LL, 18, buf, sizeof(buf));
    ck_assert_uint_eq(strlen(buf), 64 + 18);
    /* Too small a buffer: nothing. */
    ck_assert_uint_eq(dated_render("%y%m%d", T_NEXT, 1, 4, buf, 10), 0);
    ck_assert_uint_eq(dated_render("%y%m%d", T_NEXT, 1, 4, buf, 11), 10);
}
END_TEST

START_TEST(test_iso8601)
{
    char err[128], buf[64];
    dated_iso8601(tz_get("UTC", err, sizeof(err)), T_NEXT, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2026-12-03T00:00:00+00:00");
    dated_iso8601(tz_get("Asia/Shanghai", err, sizeof(err)), T_NEXT - 8 * 3600, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2026-12-03T00:00:00+08:00");
    dated_iso8601(tz_get("America/New_York", err, sizeof(err)), T_NEXT + 5 * 3600, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2026-12-03T00:00:00-05:00");
    dated_iso8601(tz_get("Australia/Lord_Howe", err, sizeof(err)), T_NEXT, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2026-12-03T11:00:00+11:00");
}
END_TEST

static Suite *dated_suite(void)
{
    Suite *s = suite_create("dated");
    TCase *tc = tcase_create("dated");
    tcase_add_test(tc, test_pattern_units);
    tcase_add_test(tc, test_pattern_refusals);
    tcase_add_test(tc, test_periods_utc);
    tcase_add_test(tc, test_periods_in_zones);
    tcase_add_test(tc, test_render);
    tcase_add_test(tc, test_iso8601);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dated_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
