/*
 * check_seqdef: HSET fields -> definition (or the error the user sees),
 * name rules, checking a definition read from a store, and the counter ->
 * number mapping with its limit for every kind, up to the int64 edge.
 */
#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seqdef.h"
#include "util.h"

#define DEFAULT_SEGMENT 1000
#define KEY 0x1234abcdULL

/* Split a space-separated field list into argv/argl (at most 32 words)
 * and call seqdef_from_fields for the name "seq". */
static int from_string(struct seqdef *def, const char *fields, char *err, size_t errlen)
{
    static char buf[1024];
    const char *argv[32];
    size_t argl[32];
    int argc = 0;

    snprintf(buf, sizeof(buf), "%s", fields);
    for (char *tok = strtok(buf, " "); tok != NULL; tok = strtok(NULL, " ")) {
        ck_assert_int_lt(argc, 32);
        argv[argc] = tok;
        argl[argc] = strlen(tok);
        argc++;
    }
    err[0] = '\0';
    return seqdef_from_fields(def, "seq", 3, argc, argv, argl, DEFAULT_SEGMENT, KEY,
                              err, errlen);
}

static const struct good_case {
    const char *fields;
    int kind, length;
    int64_t starting, increment;
    uint64_t segment;
    int auto_disk;
} good_cases[] = {
    { "type 3", 3, 0, 1, 1, DEFAULT_SEGMENT, AUTO_DISK_DEFAULT },
    { "TYPE 3 Starting 100 STEP 5 segment 2000", 3, 0, 100, 5, 2000, AUTO_DISK_DEFAULT },
    { "type 3 starting -50", 3, 0, -50, 1, DEFAULT_SEGMENT, AUTO_DISK_DEFAULT },
    { "type 3 starting 0", 3, 0, 0, 1, DEFAULT_SEGMENT, AUTO_DISK_DEFAULT },
    { "type 3 starting 9223372036854775807", 3, 0, INT64_MAX, 1, DEFAULT_SEGMENT, 0 },
    { "type 3 segment 1", 3, 0, 1, 1, 1, AUTO_DISK_DEFAULT },
    { "type 3 segment 1000000000", 3, 0, 1, 1, 1000000000, AUTO_DISK_DEFAULT },
    { "type 2 length 12 starting 100000000000", 2, 12, 100000000000LL, 1, DEFAULT_SEGMENT, 0 },
    { "type 2 length 3", 2, 3, 100, 1, DEFAULT_SEGMENT, AUTO_DISK_DEFAULT },
    { "type 2 length 1", 2, 1, 1, 1, DEFAULT_SEGMENT, AUTO_DISK_DEFAULT },
    { "type 2 length 18", 2, 18, 100000000000000000LL, 1, DEFAULT_SEGMENT, 0 },
    { "type 2 length 18 starting 999999999999999999", 2, 18, 999999999999999999LL, 1,
      DEFAULT_SEGMENT, 0 },
    { "length 3 starting 999 step 7 type 2", 2, 3, 999, 7, DEFAULT_SEGMENT, 0 },
    { "type 1 length 6", 1, 6, 0, 1, DEFAULT_SEGMENT, AUTO_DISK_DEFAULT },
    { "type 1 length 18 segment 50", 1, 18, 0, 1, 50, AUTO_DISK_DEFAULT },
    { "type 3 auto_disk memory", 3, 0, 1, 1, DEFAULT_SEGMENT, AUTO_DISK_MEMORY },
    { "type 4 prefix %y%m%d length 4", 4, 4, 1, 1, DEFAULT_SEGMENT, AUTO_DISK_DEFAULT },
    { "type 4 prefix %1y%m%d length 4 starting 0 step 3", 4, 4, 0, 3, DEFAULT_SEGMENT, 0 },
    { "type 3 auto_disk pre-base", 3, 0, 1, 1, DEFAULT_SEGMENT, AUTO_DISK_PRE_BASE },
    { "type 3 auto_disk pre_base", 3, 0, 1, 1, DEFAULT_SEGMENT, AUTO_DISK_PRE_BASE },
    { "type 3 auto_disk PRE-CHECKPOINT", 3, 0, 1, 1, DEFAULT_SEGMENT, AUTO_DISK_PRE_CHECKPOINT },
    { "type 3 auto_disk pre_checkpoint", 3, 0, 1, 1, DEFAULT_SEGMENT, AUTO_DISK_PRE_CHECKPOINT },
    { "type 3 auto_disk elegant_close", 3, 0, 1, 1, DEFAULT_SEGMENT, AUTO_DISK_ELEGANT_CLOSE },
    { "type 3 auto_disk elegant-close", 3, 0, 1, 1, DEFAULT_SEGMENT, AUTO_DISK_ELEGANT_CLOSE },
    { "type 3 AUTO_DISK pre_close", 3, 0, 1, 1, DEFAULT_SEGMENT, AUTO_DISK_PRE_CLOSE },
    { "type 3 auto_disk pre-close", 3, 0, 1, 1, DEFAULT_SEGMENT, AUTO_DISK_PRE_CLOSE },
    { "type 3 auto_disk default", 3, 0, 1, 1, DEFAULT_SEGMENT, AUTO_DISK_DEFAULT },
    { "type 3", 3, 0, 1, 1, DEFAULT_SEGMENT, AUTO_DISK_DEFAULT },
};

START_TEST(test_seqdef_hset_fields_build_the_definition)
{
    const struct good_case *c = &good_cases[_i];
    struct seqdef def;
    char err[256];

    ck_assert_msg(from_string(&def, c->fields, err, sizeof(err)) == 0,
                  "'%s' rejected: %s", c->fields, err);
    ck_assert_str_eq(def.name, "seq");
    ck_assert_int_eq(def.kind, c->kind);
    ck_assert_int_eq(def.length, c->length);
    ck_assert_int_eq(def.starting, c->starting);
    ck_assert_int_eq(def.increment, c->increment);
    ck_assert_uint_eq(def.segment, c->segment);
    ck_assert_int_eq(def.auto_disk, c->auto_disk);
    /* Every kind keeps the key: it tells this definition from a later one
     * of the same name. */
    ck_assert_uint_eq(def.perm_key, KEY);
    ck_assert_str_eq(def.description, "");
    /* What HSET builds, a store must accept back. */
    ck_assert_msg(seqdef_validate(&def, err, sizeof(err)) == 0,
                  "'%s' fails validate: %s", c->fields, err);
}
END_TEST

static const struct bad_case {
    const char *fields;
    const char *error;         /* the whole message */
} bad_cases[] = {
    { "", "wrong number of arguments for 'hset' command" },
    { "type", "wrong number of arguments for 'hset' command" },
    { "type 3 length", "wrong number of arguments for 'hset' command" },
    { "color red type 3", "unknown field 'color' (fields: type, length, starting, step, "
      "segment, description, auto_disk, prefix, tz, epoch)" },
    { "type 3 incr 2", "unknown field 'incr' (fields: type, length, starting, step, "
      "segment, description, auto_disk, prefix, tz, epoch)" },
    { "length 5", "type is required: HSET seq type 1|2|3|4|5 ... (1 random fixed-length, "
      "2 fixed-length increasing, 3 increasing, 4 dated, 5 snowflake ids)" },
    { "type 6", "type must be 1, 2, 3, 4 or 5 (1 random fixed-length, 2 fixed-length "
      "increasing, 3 increasing, 4 dated, 5 snowflake ids)" },
    { "type 4", "type 4 needs prefix PATTERN (e.g. %y%m%d) and length 1..18 (the digits of each "
      "period's counter)" },
    { "type 4 prefix %y%m%d", "type 4 needs prefix PATTERN (e.g. %y%m%d) and length 1..18 (the "
      "digits of each period's counter)" },
    { "type 4 prefix %y%m%d length 19", "type 4 needs prefix PATTERN (e.g. %y%m%d) and length 1..18 "
      "(the digits of each period's counter)" },
    { "type 4 prefix 2026 length 4", "prefix has no date or time (%Y %y %1y %m %d %H %j): numbers "
      "that never restart are type 2 (fixed length) or type 3" },
    { "type 4 prefix %y%d length 4", "prefix does not name the month (%m): its numbers would repeat "
      "while the counter restarts each day" },
    { "type 4 prefix %y%m%d length 4 starting 10000", "type 4 length 4 needs starting 0..9999 (the "
      "first counter of each period)" },
    { "type 4 prefix %y%m%d length 4 starting -1", "type 4 length 4 needs starting 0..9999 (the "
      "first counter of each period)" },
    { "type 4 prefix %y%m%d length 4 tz ../x", "tz must be an IANA time zone name such as UTC or "
      "Asia/Shanghai" },
    { "type 3 prefix %y%m%d", "type 3 takes no prefix (dated numbers are type 4: HSET name type 4 "
      "prefix %y%m%d length 4)" },
    { "type 2 length 4 tz UTC", "type 2 takes no tz (dated numbers are type 4: HSET name type 4 "
      "prefix %y%m%d length 4)" },
    { "type 0", "type must be 1, 2, 3, 4 or 5 (1 random fixed-length, 2 fixed-length "
      "increasing, 3 increasing, 4 dated, 5 snowflake ids)" },
    { "type x", "type must be 1, 2, 3, 4 or 5 (1 random fixed-length, 2 fixed-length "
      "increasing, 3 increasing, 4 dated, 5 snowflake ids)" },
    { "type 03", "type must be 1, 2, 3, 4 or 5 (1 random fixed-length, 2 fixed-length "
      "increasing, 3 increasing, 4 dated, 5 snowflake ids)" },
    { "type 2", "type 2 needs length 1..18 (the number of digits)" },
    { "type 2 length 0", "type 2 needs length 1..18 (the number of digits)" },
    { "type 2 length 19", "type 2 needs length 1..18 (the number of digits)" },
    { "type 2 length abc", "type 2 needs length 1..18 (the number of digits)" },
    { "type 1", "type 1 needs length 1..18 (the number of digits)" },
    { "type 1 length 19", "type 1 needs length 1..18 (the number of digits)" },
    { "type 1 length -3", "type 1 needs length 1..18 (the number of digits)" },
    { "type 3 length 5", "type 3 takes no length (use type 2 for fixed-length numbers)" },
    { "type 1 length 3 starting 100", "type 1 takes no starting (it hands out every number "
      "of its length once, in a random-looking order; use type 2 for a starting value and step)" },
    { "type 1 length 3 step 2", "type 1 takes no step (it hands out every number "
      "of its length once, in a random-looking order; use type 2 for a starting value and step)" },
    { "type 2 length 3 starting 99", "type 2 length 3 needs starting 100..999 (a 3-digit number)" },
    { "type 2 length 3 starting 1000", "type 2 length 3 needs starting 100..999 (a 3-digit number)" },
    { "type 2 length 1 starting 0", "type 2 length 1 needs starting 1..9 (a 1-digit number)" },
    { "type 2 length 18 starting 99999999999999999", "type 2 length 18 needs starting "
      "100000000000000000..999999999999999999 (a 18-digit number)" },
    { "type 3 starting 1.5", "starting must be an integer from -9223372036854775808 to "
      "9223372036854775807" },
    { "type 3 starting 9223372036854775808", "starting must be an integer from "
      "-9223372036854775808 to 9223372036854775807" },
    { "type 3 step 0", "step must be an integer >= 1 (the increment between numbers)" },
    { "type 3 step -1", "step must be an integer >= 1 (the increment between numbers)" },
    { "type 2 length 4 step x", "step must be an integer >= 1 (the increment between numbers)" },
    { "type 3 segment 0", "segment must be an integer 1..1000000000 (counters claimed at a time)" },
    { "type 3 segment 1000000001", "segment must be an integer 1..1000000000 (counters "
      "claimed at a time)" },
    { "type 3 segment -5", "segment must be an integer 1..1000000000 (counters claimed at a time)" },
    { "type 3 type 3", "field 'type' given twice (give each field once)" },
    { "type 3 step 2 STEP 3", "field 'step' given twice (give each field once)" },
    { "type 3 auto_disk sometimes", "auto_disk must be one of default, memory, pre_base, "
      "pre_checkpoint, elegant_close, pre_close ('-' for '_' works too)" },
    { "type 3 auto_disk pre__base", "auto_disk must be one of default, memory, pre_base, "
      "pre_checkpoint, elegant_close, pre_close ('-' for '_' works too)" },
};

START_TEST(test_seqdef_hset_bad_fields_give_a_helpful_error)
{
    const struct bad_case *c = &bad_cases[_i];
    struct seqdef def;
    char err[256];

    ck_assert_msg(from_string(&def, c->fields, err, sizeof(err)) == -1,
                  "'%s' accepted", c->fields);
    ck_assert_str_eq(err, c->error);
}
END_TEST

static int from_pairs(struct seqdef *def, const char *f1, const char *v1, size_t v1len,
                      char *err, size_t errlen)
{
    const char *argv[4] = { "type", "3", f1, v1 };
    size_t argl[4] = { 4, 1, strlen(f1), v1len };

    return seqdef_from_fields(def, "seq", 3, 4, argv, argl, DEFAULT_SEGMENT, KEY, err, errlen);
}

START_TEST(test_seqdef_description_is_kept_and_checked)
{
    struct seqdef def;
    char err[256], text[300];

    ck_assert_int_eq(from_pairs(&def, "description", "order numbers, shop 2", 21,
                                err, sizeof(err)), 0);
    ck_assert_str_eq(def.description, "order numbers, shop 2");

    memset(text, 'd', sizeof(text));
    ck_assert_int_eq(from_pairs(&def, "description", text, SEQ_DESC_MAX, err, sizeof(err)), 0);
    ck_assert_uint_eq(strlen(def.description), SEQ_DESC_MAX);
    ck_assert_int_eq(from_pairs(&def, "description", text, SEQ_DESC_MAX + 1,
                                err, sizeof(err)), -1);
    ck_assert_str_eq(err, "description must be at most 256 printable ASCII characters");
    ck_assert_int_eq(from_pairs(&def, "description", "two\nlines", 9, err, sizeof(err)), -1);
    ck_assert_int_eq(from_pairs(&def, "description", "nul\0byte", 8, err, sizeof(err)), -1);
    ck_assert_int_eq(from_pairs(&def, "description", "", 0, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_seqdef_unknown_field_is_shown_safely)
{
    struct seqdef def;
    char err[256], longname[200];
    const char *argv[2];
    size_t argl[2];

    /* CR/LF in a field name must not break the reply line. */
    argv[0] = "a\r\nb";
    argl[0] = 4;
    argv[1] = "1";
    argl[1] = 1;
    ck_assert_int_eq(seqdef_from_fields(&def, "seq", 3, 2, argv, argl, 1, 0, err,
                                        sizeof(err)), -1);
    ck_assert_ptr_null(strpbrk(err, "\r\n"));
    ck_assert_ptr_nonnull(strstr(err, "unknown field 'a??b'"));

    memset(longname, 'x', sizeof(longname));
    argv[0] = longname;
    argl[0] = sizeof(longname);
    ck_assert_int_eq(seqdef_from_fields(&def, "seq", 3, 2, argv, argl, 1, 0, err,
                                        sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "xxx...' (fields:"));
    ck_assert_uint_lt(strlen(err), 160);

    /* A small err buffer is filled, terminated, never overrun. */
    char small[8];
    memset(small, 'Z', sizeof(small));
    ck_assert_int_eq(seqdef_from_fields(&def, "seq", 3, 2, argv, argl, 1, 0, small, 5), -1);
    ck_assert_uint_eq(strlen(small), 4);
    ck_assert_int_eq(small[5], 'Z');
}
END_TEST

START_TEST(test_seqdef_default_segment_zero_becomes_one)
{
    struct seqdef def;
    char err[256];
    const char *argv[2] = { "type", "3" };
    size_t argl[2] = { 4, 1 };

    ck_assert_int_eq(seqdef_from_fields(&def, "seq", 3, 2, argv, argl, 0, 0, err,
                                        sizeof(err)), 0);
    ck_assert_uint_eq(def.segment, 1);
}
END_TEST

START_TEST(test_seqdef_name_rules)
{
    char err[256], name[SEQ_NAME_MAX + 2];

    memset(name, 'n', sizeof(name));
    ck_assert(seqdef_name_ok("order_id", 8, err, sizeof(err)));
    ck_assert(seqdef_name_ok("a", 1, err, sizeof(err)));
    ck_assert(seqdef_name_ok("!~{}:/.-", 8, err, sizeof(err)));
    ck_assert(seqdef_name_ok(name, SEQ_NAME_MAX, err, sizeof(err)));
    ck_assert(!seqdef_name_ok(name, SEQ_NAME_MAX + 1, err, sizeof(err)));
    ck_assert_str_eq(err, "sequence name must be 1..128 bytes long");
    ck_assert(!seqdef_name_ok("", 0, err, sizeof(err)));
    ck_assert_str_eq(err, "sequence name must be 1..128 bytes long");
    ck_assert(!seqdef_name_ok("a b", 3, err, sizeof(err)));
    ck_assert_str_eq(err, "sequence name may only hold printable ASCII without spaces "
                     "(byte 2 is not)");
    ck_assert(!seqdef_name_ok("ab\x7f", 3, err, sizeof(err)));
    ck_assert(!seqdef_name_ok("a\tb", 3, err, sizeof(err)));
    ck_assert(!seqdef_name_ok("caf\xc3\xa9", 5, err, sizeof(err)));
    ck_assert(!seqdef_name_ok("a\0b", 3, err, sizeof(err)));
}
END_TEST

START_TEST(test_seqdef_hset_rejects_a_bad_name)
{
    struct seqdef def;
    char err[256];
    const char *argv[2] = { "type", "3" };
    size_t argl[2] = { 4, 1 };

    ck_assert_int_eq(seqdef_from_fields(&def, "my seq", 6, 2, argv, argl, 1, 0, err,
                                        sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "sequence name"));
    ck_assert_int_eq(seqdef_from_fields(&def, "", 0, 2, argv, argl, 1, 0, err,
                                        sizeof(err)), -1);
}
END_TEST

/* A valid definition to break one field at a time. */
static struct seqdef good_def(int kind)
{
    struct seqdef d;

    memset(&d, 0, sizeof(d));
    strcpy(d.name, "order_id");
    d.kind = kind;
    d.length = kind == SEQ_INCREASING ? 0 : 4;
    d.starting = kind == SEQ_FIXED ? 1000 : kind == SEQ_INCREASING ? 1 : 0;
    d.increment = 1;
    d.segment = 1000;
    d.perm_key = 5;
    return d;
}

START_TEST(test_seqdef_validate_rejects_broken_store_rows)
{
    struct seqdef d;
    char err[256];

    for (int kind = 1; kind <= 3; kind++) {
        d = good_def(kind);
        ck_assert_msg(seqdef_validate(&d, err, sizeof(err)) == 0, "kind %d: %s", kind, err);
    }
    /* A Leaf-shaped row: kind 3, starting 0, increment 1. */
    d = good_def(SEQ_INCREASING);
    d.starting = 0;
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), 0);

    d = good_def(SEQ_INCREASING); d.kind = 0;
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "kind 0 is not 1, 2, 3, 4 or 5 (1 random fixed-length, 2 fixed-length "
                     "increasing, 3 increasing, 4 dated, 5 snowflake ids)");
    d = good_def(SEQ_INCREASING); d.kind = 4;
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), -1);
    d = good_def(SEQ_FIXED); d.length = 0;
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "kind 2 needs length 1..18, has 0");
    d = good_def(SEQ_RANDOM); d.length = 19;
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), -1);
    d = good_def(SEQ_FIXED); d.starting = 999;
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "kind 2 length 4 needs starting 1000..9999, has 999");
    d = good_def(SEQ_FIXED); d.starting = 10000;
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), -1);
    d = good_def(SEQ_INCREASING); d.length = 5;
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "kind 3 takes no length, has 5 (set it to 0, or use kind 2 for "
                     "fixed-length numbers)");
    d = good_def(SEQ_INCREASING); d.increment = 0;
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "increment must be >= 1, has 0");
    d = good_def(SEQ_FIXED); d.increment = -3;
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), -1);
    d = good_def(SEQ_INCREASING); d.segment = 0;
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "segment (the table's step) must be >= 1");
    d = good_def(SEQ_INCREASING); d.auto_disk = 6;
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), -1);
    d = good_def(SEQ_INCREASING); d.auto_disk = -1;
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), -1);
    d = good_def(SEQ_INCREASING); d.name[0] = '\0';
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), -1);
    d = good_def(SEQ_INCREASING); strcpy(d.name, "two words");
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), -1);
    d = good_def(SEQ_INCREASING); memset(d.name, 'n', sizeof(d.name));
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), -1);
    d = good_def(SEQ_INCREASING); memset(d.description, 'd', sizeof(d.description));
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), -1);
}
END_TEST

static struct seqdef make_def(int kind, int length, int64_t starting, int64_t increment)
{
    struct seqdef d = good_def(kind);

    d.length = length;
    d.starting = starting;
    d.increment = increment;
    return d;
}

START_TEST(test_seqdef_fixed_length_stops_at_its_last_number)
{
    struct seqdef d;
    char err[256];

    /* type 2 length 3 starting 998: 998, 999, then no more. */
    ck_assert_int_eq(from_string(&d, "type 2 length 3 starting 998", err, sizeof(err)), 0);
    ck_assert_uint_eq(seqdef_limit(&d), 2);
    ck_assert_int_eq(seqdef_number(&d, NULL, 0), 998);
    ck_assert_int_eq(seqdef_number(&d, NULL, 1), 999);

    d = make_def(SEQ_FIXED, 3, 100, 1);
    ck_assert_uint_eq(seqdef_limit(&d), 900);
    ck_assert_int_eq(seqdef_number(&d, NULL, 0), 100);
    ck_assert_int_eq(seqdef_number(&d, NULL, 899), 999);

    /* step 7 from 100: 100, 107, ..., 996 (129 numbers); 1003 has 4 digits. */
    d = make_def(SEQ_FIXED, 3, 100, 7);
    ck_assert_uint_eq(seqdef_limit(&d), 129);
    ck_assert_int_eq(seqdef_number(&d, NULL, 128), 996);

    d = make_def(SEQ_FIXED, 3, 999, 1000);
    ck_assert_uint_eq(seqdef_limit(&d), 1);

    d = make_def(SEQ_FIXED, 1, 1, 1);
    ck_assert_uint_eq(seqdef_limit(&d), 9);
    ck_assert_int_eq(seqdef_number(&d, NULL, 8), 9);

    d = make_def(SEQ_FIXED, 18, 100000000000000000LL, 1);
    ck_assert_uint_eq(seqdef_limit(&d), 900000000000000000ULL);
    ck_assert_int_eq(seqdef_number(&d, NULL, 899999999999999999ULL), 999999999999999999LL);

    d = make_def(SEQ_FIXED, 18, 100000000000000000LL, INT64_MAX);
    ck_assert_uint_eq(seqdef_limit(&d), 1);
}
END_TEST

START_TEST(test_seqdef_random_length3_gives_100_to_999_once_each)
{
    struct seqdef d;
    struct perm p;
    char err[256];
    int seen[1000] = { 0 };
    int in_order = 0;

    ck_assert_int_eq(from_string(&d, "type 1 length 3", err, sizeof(err)), 0);
    ck_assert_uint_eq(seqdef_limit(&d), 900);
    seqdef_perm_init(&d, &p);
    for (uint64_t c = 0; c < 900; c++) {
        int64_t n = seqdef_number(&d, &p, c);
        ck_assert_int_ge(n, 100);
        ck_assert_int_le(n, 999);
        ck_assert_int_eq(seen[n], 0);
        seen[n] = 1;
        in_order += n == (int64_t)(100 + c);
    }
    for (int n = 100; n <= 999; n++)
        ck_assert_int_eq(seen[n], 1);
    ck_assert_int_lt(in_order, 10);      /* not simply 100, 101, 102, ... */
}
END_TEST

/* id_step / id_offset: store counter c is the kind's counter c*step+offset. */
START_TEST(test_seqdef_spread_maps_store_counters_to_their_group)
{
    ck_assert_uint_eq(seqdef_spread(0, 1, 0), 0);
    ck_assert_uint_eq(seqdef_spread(41, 1, 0), 41);
    ck_assert_uint_eq(seqdef_spread(0, 3, 2), 2);
    ck_assert_uint_eq(seqdef_spread(5, 3, 2), 17);
    ck_assert_uint_eq(seqdef_spread(5, 2, 0), 10);
}
END_TEST

/* The store counters a kind has: those whose spread counter stays below
 * its limit, so it is exhausted exactly when the next one would leave it. */
START_TEST(test_seqdef_spread_limit_stops_at_the_last_counter_of_the_group)
{
    /* step 1 offset 0: the limit itself, including "no limit". */
    ck_assert_uint_eq(seqdef_spread_limit(900, 1, 0), 900);
    ck_assert_uint_eq(seqdef_spread_limit(UINT64_MAX, 1, 0), UINT64_MAX);
    /* limit 10, step 3: offset 2 has 2, 5, 8; offset 0 has 0, 3, 6, 9. */
    ck_assert_uint_eq(seqdef_spread_limit(10, 3, 2), 3);
    ck_assert_uint_eq(seqdef_spread_limit(10, 3, 0), 4);
    ck_assert_uint_eq(seqdef_spread_limit(10, 3, 1), 3);
    ck_assert_uint_eq(seqdef_spread_limit(9, 3, 2), 3);    /* 8 < 9 */
    ck_assert_uint_eq(seqdef_spread_limit(8, 3, 2), 2);    /* 8 is not < 8 */
    ck_assert_uint_eq(seqdef_spread_limit(2, 3, 2), 0);    /* the group has none */
    ck_assert_uint_eq(seqdef_spread_limit(0, 2, 1), 0);
    /* Near the top of uint64: the last counter's spread does not wrap. */
    uint64_t n = seqdef_spread_limit(UINT64_MAX, 2, 1);
    ck_assert_uint_eq(n, UINT64_MAX / 2);
    ck_assert_uint_lt(seqdef_spread(n - 1, 2, 1), UINT64_MAX);
    /* Every group together has exactly the kind's counters. */
    for (uint64_t limit = 0; limit < 50; limit++)
        for (uint64_t step = 1; step <= 7; step++) {
            uint64_t total = 0;
            for (uint64_t k = 0; k < step; k++) {
                uint64_t g = seqdef_spread_limit(limit, step, k);
                total += g;
                if (g > 0)
                    ck_assert_uint_lt(seqdef_spread(g - 1, step, k), limit);
                ck_assert_uint_ge(seqdef_spread(g, step, k), limit);
            }
            ck_assert_uint_eq(total, limit);
        }
}
END_TEST

/* type 2 length 2 (10..99) on two independent stores, id_step 2: offset 0
 * has 10, 12, ..., 98, offset 1 has 11, 13, ..., 99, 45 each, together
 * every number once. */
START_TEST(test_seqdef_fixed_length_split_by_id_step_is_disjoint_and_complete)
{
    struct seqdef d = make_def(SEQ_FIXED, 2, 10, 1);
    int seen[100] = { 0 };

    for (uint64_t k = 0; k < 2; k++) {
        uint64_t limit = seqdef_spread_limit(seqdef_limit(&d), 2, k);
        ck_assert_uint_eq(limit, 45);
        ck_assert_int_eq(seqdef_number(&d, NULL, seqdef_spread(0, 2, k)), 10 + (int64_t)k);
        ck_assert_int_eq(seqdef_number(&d, NULL, seqdef_spread(limit - 1, 2, k)), 98 + (int64_t)k);
        for (uint64_t c = 0; c < limit; c++) {
            int64_t n = seqdef_number(&d, NULL, seqdef_spread(c, 2, k));
            ck_assert_int_eq(seen[n], 0);
            seen[n] = 1;
        }
    }
    for (int n = 10; n <= 99; n++)
        ck_assert_int_eq(seen[n], 1);

    /* starting 95 step 2, id_step 2: offset 0 has 95, 99; offset 1 has 97. */
    d = make_def(SEQ_FIXED, 2, 95, 2);
    ck_assert_uint_eq(seqdef_limit(&d), 3);
    ck_assert_uint_eq(seqdef_spread_limit(3, 2, 0), 2);
    ck_assert_uint_eq(seqdef_spread_limit(3, 2, 1), 1);
}
END_TEST

/* type 1 length 3 on three stores: perm(c*3+k) of each group never meet,
 * and together are 100..999 once each. */
START_TEST(test_seqdef_random_split_by_id_step_is_disjoint_and_complete)
{
    struct seqdef d;
    struct perm p;
    char err[256];
    int seen[1000] = { 0 };

    ck_assert_int_eq(from_string(&d, "type 1 length 3", err, sizeof(err)), 0);
    seqdef_perm_init(&d, &p);
    for (uint64_t k = 0; k < 3; k++) {
        uint64_t limit = seqdef_spread_limit(seqdef_limit(&d), 3, k);
        ck_assert_uint_eq(limit, 300);
        for (uint64_t c = 0; c < limit; c++) {
            int64_t n = seqdef_number(&d, &p, seqdef_spread(c, 3, k));
            ck_assert_int_ge(n, 100);
            ck_assert_int_le(n, 999);
            ck_assert_int_eq(seen[n], 0);
            seen[n] = 1;
        }
    }
    for (int n = 100; n <= 999; n++)
        ck_assert_int_eq(seen[n], 1);
}
END_TEST

/* type 3 near INT64_MAX with id_step: the last number of the group is the
 * largest below the edge, then exhausted. */
START_TEST(test_seqdef_increasing_split_by_id_step_stops_before_int64_overflow)
{
    struct seqdef d = make_def(SEQ_INCREASING, 0, INT64_MAX - 10, 1);   /* 11 counters */
    uint64_t limit = seqdef_spread_limit(seqdef_limit(&d), 4, 3);     /* 3, 7: two */

    ck_assert_uint_eq(seqdef_limit(&d), 11);
    ck_assert_uint_eq(limit, 2);
    ck_assert_int_eq(seqdef_number(&d, NULL, seqdef_spread(1, 4, 3)), INT64_MAX - 3);
    ck_assert_uint_eq(seqdef_spread_limit(seqdef_limit(&d), 4, 2), 3);  /* 2, 6, 10 */
    ck_assert_int_eq(seqdef_number(&d, NULL, seqdef_spread(2, 4, 2)), INT64_MAX);
}
END_TEST

START_TEST(test_seqdef_random_every_length_stays_in_its_digits)
{
    struct seqdef d;
    struct perm p;
    uint64_t lo = 1;

    for (int len = 1; len <= SEQ_LENGTH_MAX; len++, lo *= 10) {
        d = make_def(SEQ_RANDOM, len, 0, 1);
        ck_assert_uint_eq(seqdef_limit(&d), 9 * lo);
        seqdef_perm_init(&d, &p);
        ck_assert_uint_eq(p.domain, 9 * lo);
        for (uint64_t c = 0; c < 2000 && c < 9 * lo; c++) {
            int64_t n = seqdef_number(&d, &p, c);
            uint64_t top = 9 * lo - 1 - c;
            int64_t m = seqdef_number(&d, &p, top);
            if (n < (int64_t)lo || n > (int64_t)(10 * lo - 1) ||
                m < (int64_t)lo || m > (int64_t)(10 * lo - 1))
                ck_abort_msg("length %d: counter %llu -> %lld, %llu -> %lld", len,
                             (unsigned long long)c, (long long)n,
                             (unsigned long long)top, (long long)m);
        }
    }
    /* The key picks the order: two keys, two different first numbers
     * (at length 12 a clash is a one in 9*10^11 chance). */
    {
        struct perm p2;
        d = make_def(SEQ_RANDOM, 12, 0, 1);
        d.perm_key = 1;
        seqdef_perm_init(&d, &p);
        d.perm_key = 2;
        seqdef_perm_init(&d, &p2);
        ck_assert_int_ne(seqdef_number(&d, &p, 0), seqdef_number(&d, &p2, 0));
    }
}
END_TEST

START_TEST(test_seqdef_increasing_steps_from_starting)
{
    struct seqdef d;
    char err[256];

    ck_assert_int_eq(from_string(&d, "type 3 starting 100 step 5", err, sizeof(err)), 0);
    ck_assert_int_eq(seqdef_number(&d, NULL, 0), 100);
    ck_assert_int_eq(seqdef_number(&d, NULL, 1), 105);
    ck_assert_int_eq(seqdef_number(&d, NULL, 10), 150);
    ck_assert_uint_eq(seqdef_limit(&d), (uint64_t)(INT64_MAX - 100) / 5 + 1);

    /* Defaults: 1, 2, 3, ... */
    ck_assert_int_eq(from_string(&d, "type 3", err, sizeof(err)), 0);
    ck_assert_int_eq(seqdef_number(&d, NULL, 0), 1);
    ck_assert_int_eq(seqdef_number(&d, NULL, 41), 42);
    ck_assert_uint_eq(seqdef_limit(&d), (uint64_t)INT64_MAX);
    ck_assert_int_eq(seqdef_number(&d, NULL, (uint64_t)INT64_MAX - 1), INT64_MAX);

    /* A Leaf-shaped row: the number is the counter (max_id). */
    d = make_def(SEQ_INCREASING, 0, 0, 1);
    ck_assert_int_eq(seqdef_number(&d, NULL, 0), 0);
    ck_assert_int_eq(seqdef_number(&d, NULL, 123456789), 123456789);
    ck_assert_uint_eq(seqdef_limit(&d), (uint64_t)INT64_MAX + 1);

    /* Negative starting crosses zero. */
    d = make_def(SEQ_INCREASING, 0, -5, 1);
    ck_assert_int_eq(seqdef_number(&d, NULL, 0), -5);
    ck_assert_int_eq(seqdef_number(&d, NULL, 5), 0);
    ck_assert_int_eq(seqdef_number(&d, NULL, 10), 5);
    ck_assert_uint_eq(seqdef_limit(&d), (uint64_t)INT64_MAX + 6);
}
END_TEST

START_TEST(test_seqdef_increasing_limit_stops_before_int64_overflow)
{
    struct seqdef d;
    uint64_t lim;

    d = make_def(SEQ_INCREASING, 0, INT64_MAX, 1);
    ck_assert_uint_eq(seqdef_limit(&d), 1);
    ck_assert_int_eq(seqdef_number(&d, NULL, 0), INT64_MAX);

    d = make_def(SEQ_INCREASING, 0, INT64_MAX - 10, 3);
    ck_assert_uint_eq(seqdef_limit(&d), 4);
    ck_assert_int_eq(seqdef_number(&d, NULL, 3), INT64_MAX - 1);

    d = make_def(SEQ_INCREASING, 0, INT64_MAX - 1, INT64_MAX);
    ck_assert_uint_eq(seqdef_limit(&d), 1);

    /* The last counter's number is the largest one that fits; one more
     * step would not. */
    d = make_def(SEQ_INCREASING, 0, 100, 5);
    lim = seqdef_limit(&d);
    ck_assert_int_eq(seqdef_number(&d, NULL, lim - 1), 100 + (int64_t)(lim - 1) * 5);
    ck_assert_int_gt(seqdef_number(&d, NULL, lim - 1), INT64_MAX - 5);

    /* The whole int64 range: the limit saturates instead of wrapping to 0. */
    d = make_def(SEQ_INCREASING, 0, INT64_MIN, 1);
    ck_assert_uint_eq(seqdef_limit(&d), UINT64_MAX);
    ck_assert_int_eq(seqdef_number(&d, NULL, 0), INT64_MIN);
    ck_assert_int_eq(seqdef_number(&d, NULL, (uint64_t)1 << 63), 0);
    ck_assert_int_eq(seqdef_number(&d, NULL, UINT64_MAX - 1), INT64_MAX - 1);

    d = make_def(SEQ_INCREASING, 0, INT64_MIN, 2);
    ck_assert_uint_eq(seqdef_limit(&d), (uint64_t)1 << 63);
    ck_assert_int_eq(seqdef_number(&d, NULL, ((uint64_t)1 << 63) - 1), INT64_MAX - 1);

    /* An invalid definition has no counters at all. */
    d = make_def(SEQ_INCREASING, 0, 1, 0);
    ck_assert_uint_eq(seqdef_limit(&d), 0);
    d = make_def(SEQ_FIXED, 0, 1, 1);
    ck_assert_uint_eq(seqdef_limit(&d), 0);
    d = make_def(9, 0, 1, 1);
    ck_assert_uint_eq(seqdef_limit(&d), 0);
}
END_TEST

START_TEST(test_seqdef_names_for_info_round_trip)
{
    ck_assert_str_eq(seqdef_kind_name(SEQ_RANDOM), "random");
    ck_assert_str_eq(seqdef_kind_name(SEQ_FIXED), "fixed");
    ck_assert_str_eq(seqdef_kind_name(SEQ_INCREASING), "increasing");
    ck_assert_str_eq(seqdef_kind_name(0), "unknown");
    for (int a = AUTO_DISK_DEFAULT; a <= AUTO_DISK_PRE_CLOSE; a++) {
        const char *name = seqdef_auto_disk_name(a);
        ck_assert_int_eq(seqdef_auto_disk_parse(name, strlen(name)), a);
    }
    ck_assert_str_eq(seqdef_auto_disk_name(AUTO_DISK_PRE_BASE), "pre_base");
    ck_assert_str_eq(seqdef_auto_disk_name(99), "unknown");
    ck_assert_int_eq(seqdef_auto_disk_parse("memoryx", 6), AUTO_DISK_MEMORY);
    ck_assert_int_eq(seqdef_auto_disk_parse("memoryx", 7), -1);
    ck_assert_int_eq(seqdef_auto_disk_parse("", 0), -1);
    /* Every value INFO prints is accepted with '-' for '_', in any case. */
    for (int a = AUTO_DISK_DEFAULT; a <= AUTO_DISK_PRE_CLOSE; a++) {
        char dashed[32];
        size_t n = strlen(seqdef_auto_disk_name(a));
        for (size_t i = 0; i <= n; i++) {
            char c = seqdef_auto_disk_name(a)[i];
            dashed[i] = c == '_' ? '-' : (c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c);
        }
        ck_assert_int_eq(seqdef_auto_disk_parse(dashed, n), a);
    }
    ck_assert_int_eq(seqdef_auto_disk_parse("pre-close", 9), AUTO_DISK_PRE_CLOSE);
    ck_assert_int_eq(seqdef_auto_disk_parse("pre_", 4), -1);
    ck_assert_int_eq(seqdef_auto_disk_parse("pre_base_", 9), -1);
    ck_assert_int_eq(seqdef_auto_disk_parse("pre base", 8), -1);
}
END_TEST

/* Type 4: prefix and zone kept (UTC by default), the counter's limit per
 * period like a fixed length from `starting`, and a row read from a store
 * with a broken prefix or zone refused. */
START_TEST(test_seqdef_dated_fields_limit_and_rows)
{
    struct seqdef d, e;
    char err[256];

    ck_assert_int_eq(from_string(&d, "type 4 prefix %y%m%d length 4", err, sizeof(err)), 0);
    ck_assert_str_eq(d.prefix, "%y%m%d");
    ck_assert_str_eq(d.tz, "UTC");
    ck_assert_int_eq(seqdef_dated_unit(&d), DATED_DAY);
    ck_assert_uint_eq(seqdef_limit(&d), 9999);              /* 0001..9999 */
    ck_assert_int_eq(seqdef_number(&d, NULL, 0), 1);
    ck_assert_int_eq(seqdef_number(&d, NULL, 9998), 9999);
    ck_assert_int_eq(seqdef_validate(&d, err, sizeof(err)), 0);
    ck_assert_int_eq(from_string(&e, "type 4 prefix %Y%m%d%H length 2 starting 0 step 10 tz Asia/Shanghai",
                                 err, sizeof(err)), 0);
    ck_assert_str_eq(e.tz, "Asia/Shanghai");
    ck_assert_int_eq(seqdef_dated_unit(&e), DATED_HOUR);
    ck_assert_uint_eq(seqdef_limit(&e), 10);                /* 00, 10, ..., 90 */
    /* Another prefix or zone is another sequence. */
    e = d;
    strcpy(e.tz, "Asia/Shanghai");
    ck_assert(!seqdef_same(&d, &e));
    e = d;
    strcpy(e.prefix, "%Y%m%d");
    ck_assert(!seqdef_same(&d, &e));
    /* Broken rows. */
    e = d;
    strcpy(e.prefix, "%m%d");
    ck_assert_int_eq(seqdef_validate(&e, err, sizeof(err)), -1);
    e = d;
    strcpy(e.tz, "../../etc/passwd");
    ck_assert_int_eq(seqdef_validate(&e, err, sizeof(err)), -1);
    e = d;
    e.starting = 10000;
    ck_assert_int_eq(seqdef_validate(&e, err, sizeof(err)), -1);
    /* Other kinds carry no prefix or zone. */
    ck_assert_int_eq(from_string(&e, "type 3", err, sizeof(err)), 0);
    ck_assert_int_eq(seqdef_dated_unit(&e), DATED_NONE);
    strcpy(e.prefix, "%y%m%d");
    ck_assert_int_eq(seqdef_validate(&e, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "kind 3 takes no prefix or tz (those are kind 4's)");
}
END_TEST

START_TEST(test_seqdef_same_tells_a_recreated_sequence_apart)
{
    struct seqdef a, b;
    char err[256];
    const char *f[] = { "type", "3" };
    const size_t l[] = { 4, 1 };

    ck_assert_int_eq(seqdef_from_fields(&a, "n", 1, 2, f, l, 1000, 1, err, sizeof(err)), 0);
    b = a;
    ck_assert(seqdef_same(&a, &b));
    b.segment = 5000;                   /* an admin changed the step: same sequence */
    ck_assert(seqdef_same(&a, &b));
    /* The same fields after DEL + HSET get a new key: another sequence. */
    ck_assert_int_eq(seqdef_from_fields(&b, "n", 1, 2, f, l, 1000, 2, err, sizeof(err)), 0);
    ck_assert(!seqdef_same(&a, &b));
    b = a;
    b.starting = 2;
    ck_assert(!seqdef_same(&a, &b));
}
END_TEST

/* Packs d, checks that it takes what seqdef_packed_size said (and that
 * seqdef_packed_bytes walks exactly that far), and that every byte of
 * the definition comes back. Returns the packed size. */
static size_t packed_round_trip(const struct seqdef *d)
{
    union {
        struct seqdef_packed p;
        char bytes[sizeof(struct seqdef) + 64];
    } buf;
    struct seqdef back;
    size_t size = seqdef_packed_size(d);

    ck_assert_uint_le(size, sizeof(buf));
    memset(&buf, 0xaa, sizeof(buf));
    seqdef_pack(&buf.p, d);
    ck_assert_uint_eq(seqdef_packed_bytes(&buf.p), size);
    ck_assert_str_eq(seqdef_packed_name(&buf.p), d->name);
    memset(&back, 0x55, sizeof(back));                  /* unpack must set every byte it keeps */
    seqdef_unpack(&buf.p, &back);
    ck_assert_mem_eq(&back, d, sizeof(*d));
    return size;
}

/* A packed definition (store_table's entries) gives back every field,
 * texts of every length and numbers of every size included, in far fewer
 * bytes than a seqdef: the numbers are varints, the empty texts absent. */
START_TEST(test_seqdef_packed_round_trips_every_field_in_few_bytes)
{
    static const int64_t signed_values[] = {
        0, 1, -1, 63, -64, 64, -65, 127, 128, 8191, -8192, 1700000000000, -7,
        INT32_MAX, INT32_MIN, (int64_t)1 << 62, -((int64_t)1 << 62), INT64_MAX - 1, INT64_MAX, INT64_MIN + 1,
        INT64_MIN,
    };
    static const uint64_t unsigned_values[] = {
        0, 1, 127, 128, 16383, 16384, 1000, 1000000000, (uint64_t)INT64_MAX, (uint64_t)INT64_MAX + 1,
        UINT64_MAX - 1, UINT64_MAX,
    };
    struct seqdef d = good_def(SEQ_DATED);

    /* Every text at its longest, every number at its widest. */
    memset(d.name, 'n', SEQ_NAME_MAX);
    memset(d.description, 'd', SEQ_DESC_MAX);
    memset(d.prefix, 'p', SEQ_PREFIX_MAX);
    memset(d.tz, 't', SEQ_TZ_MAX);
    d.length = SEQ_LENGTH_MAX;
    d.starting = INT64_MIN;
    d.increment = INT64_MAX;
    d.epoch_ms = INT64_MIN;
    d.auto_disk = AUTO_DISK_PRE_CLOSE;
    d.perm_key = UINT64_MAX;
    d.segment = UINT64_MAX;
    ck_assert_uint_eq(packed_round_trip(&d), offsetof(struct seqdef_packed, name) + SEQ_NAME_MAX + 1 + 8 +
                      4 * 10 + SEQ_DESC_MAX + 1 + SEQ_PREFIX_MAX + 1 + SEQ_TZ_MAX + 1);

    /* Each number on its own through every varint width, either sign. */
    for (size_t i = 0; i < ARRAY_SIZE(signed_values); i++) {
        struct seqdef e = d;
        e.starting = signed_values[i];
        packed_round_trip(&e);
        e = d;
        e.increment = signed_values[i];
        packed_round_trip(&e);
        e = d;
        e.epoch_ms = signed_values[i];
        packed_round_trip(&e);
    }
    for (size_t i = 0; i < ARRAY_SIZE(unsigned_values); i++) {
        struct seqdef e = d;
        e.segment = unsigned_values[i];
        packed_round_trip(&e);
        e = d;
        e.perm_key = unsigned_values[i];
        packed_round_trip(&e);
    }
    /* Every kind and auto_disk, and each text present or not on its own. */
    for (int kind = SEQ_RANDOM; kind <= SEQ_SNOWFLAKE; kind++) {
        for (int auto_disk = AUTO_DISK_DEFAULT; auto_disk <= AUTO_DISK_PRE_CLOSE; auto_disk++) {
            for (unsigned texts = 0; texts < 8; texts++) {
                struct seqdef e = good_def(kind);
                e.auto_disk = auto_disk;
                if (texts & 1)
                    strcpy(e.description, "orders, from 2026");
                if (texts & 2)
                    strcpy(e.prefix, "%y%m%d");
                if (texts & 4)
                    strcpy(e.tz, "Europe/Paris");
                packed_round_trip(&e);
            }
        }
    }

    /* What the stores keep most: a type 3 named in 10 bytes, counting
     * 1, 2, 3, ... with the default segment and empty texts: the header,
     * the name, perm_key and one byte each for starting and increment,
     * two for the segment. */
    d = good_def(SEQ_INCREASING);
    memset(d.name, 0, sizeof(d.name));
    strcpy(d.name, "mem0012345");
    d.perm_key = 0x9e3779b97f4a7c15ULL;
    ck_assert_uint_eq(packed_round_trip(&d), 4 + 11 + 8 + 1 + 1 + 2);
}
END_TEST


static Suite *seqdef_suite(void)
{
    Suite *s = suite_create("seqdef");
    TCase *tc = tcase_create("hset");
    tcase_add_test(tc, test_seqdef_same_tells_a_recreated_sequence_apart);
    tcase_add_test(tc, test_seqdef_packed_round_trips_every_field_in_few_bytes);
    tcase_add_test(tc, test_seqdef_dated_fields_limit_and_rows);
    TCase *tn = tcase_create("numbers");

    tcase_add_loop_test(tc, test_seqdef_hset_fields_build_the_definition, 0,
                        sizeof(good_cases) / sizeof(good_cases[0]));
    tcase_add_loop_test(tc, test_seqdef_hset_bad_fields_give_a_helpful_error, 0,
                        sizeof(bad_cases) / sizeof(bad_cases[0]));
    tcase_add_test(tc, test_seqdef_description_is_kept_and_checked);
    tcase_add_test(tc, test_seqdef_unknown_field_is_shown_safely);
    tcase_add_test(tc, test_seqdef_default_segment_zero_becomes_one);
    tcase_add_test(tc, test_seqdef_name_rules);
    tcase_add_test(tc, test_seqdef_hset_rejects_a_bad_name);
    tcase_add_test(tc, test_seqdef_validate_rejects_broken_store_rows);
    suite_add_tcase(s, tc);
    tcase_add_test(tn, test_seqdef_fixed_length_stops_at_its_last_number);
    tcase_add_test(tn, test_seqdef_random_length3_gives_100_to_999_once_each);
    tcase_add_test(tn, test_seqdef_random_every_length_stays_in_its_digits);
    tcase_add_test(tn, test_seqdef_increasing_steps_from_starting);
    tcase_add_test(tn, test_seqdef_increasing_limit_stops_before_int64_overflow);
    tcase_add_test(tn, test_seqdef_names_for_info_round_trip);
    tcase_add_test(tn, test_seqdef_spread_maps_store_counters_to_their_group);
    tcase_add_test(tn, test_seqdef_spread_limit_stops_at_the_last_counter_of_the_group);
    tcase_add_test(tn, test_seqdef_fixed_length_split_by_id_step_is_disjoint_and_complete);
    tcase_add_test(tn, test_seqdef_random_split_by_id_step_is_disjoint_and_complete);
    tcase_add_test(tn, test_seqdef_increasing_split_by_id_step_stops_before_int64_overflow);
    suite_add_tcase(s, tn);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(seqdef_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
