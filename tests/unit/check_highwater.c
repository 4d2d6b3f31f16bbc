/*
 * check_highwater: the node's durable per-sequence high-water marks
 * (highwater.h). What they promise: a mark raised is still there after a
 * close and a reopen, it never goes down for the same definition (only a
 * give-back of exactly its top lowers it), a torn last line is dropped and
 * anything else damaged stops the open naming the line, one process holds
 * the directory, the file is rewritten compactly without losing a mark,
 * and concurrent raises leave every name at its maximum. And what a
 * mark costs in memory: the mysql store keeps one per sequence.
 *
 * Every test works in its own mkdtemp() directory, removed at the end.
 */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "highwater.h"
#include "util.h"

#include "test_heap.h"
#include "test_tmpdir.h"

/* The documented compaction threshold (highwater.c HIGHWATER_COMPACT_MIN):
 * the tests that make one exact change cross it rely on it. */
#define COMPACT_MIN (64 * 1024)
#define LINE_MAX_BYTES 256

/* ---- helpers ------------------------------------------------------------ */

static char hw_dir[4300];        /* the state directory, not created yet */
static char hw_path[4400];       /* hw_dir/highwater */
static char err[1024];

/* Checked fixture (teardown: tmp_teardown). */
static void tmp_setup(void)
{
    tmp_make();
    snprintf(hw_dir, sizeof(hw_dir), "%s/state", tmp_root);
    snprintf(hw_path, sizeof(hw_path), "%s/%s", hw_dir, HIGHWATER_FILE);
    err[0] = '\0';
}

static struct highwater_mark mk(uint64_t def_id, int64_t period, uint64_t top)
{
    struct highwater_mark m = { def_id, period, top };
    return m;
}

static struct highwater *open_ok(void)
{
    err[0] = '\0';
    struct highwater *hw = highwater_open(hw_dir, err, sizeof(err));
    ck_assert_msg(hw != NULL, "highwater_open(%s): %s", hw_dir, err);
    return hw;
}

static struct highwater *reopen(struct highwater *hw)
{
    highwater_close(hw);
    return open_ok();
}

static void raise_ok(struct highwater *hw, const char *name, struct highwater_mark m)
{
    err[0] = '\0';
    ck_assert_msg(highwater_raise(hw, name, &m, err, sizeof(err)) == 0, "raise %s: %s", name, err);
}

/* name's mark is exactly (def_id, period, top). */
#define ck_mark(hw, name, d, p, t)                                                                  \
    do {                                                                                            \
        struct highwater_mark got_;                                                                 \
        ck_assert_msg(highwater_get((hw), (name), &got_), "no mark for %s", (name));                \
        ck_assert_msg(got_.def_id == (uint64_t)(d) && got_.period == (int64_t)(p) &&                \
                      got_.top == (uint64_t)(t),                                                    \
                      "%s: mark (%016" PRIx64 ", %" PRId64 ", %" PRIu64 "), want (%016" PRIx64     \
                      ", %" PRId64 ", %" PRIu64 ")", (name), got_.def_id, got_.period, got_.top,    \
                      (uint64_t)(d), (int64_t)(p), (uint64_t)(t));                                  \
    } while (0)

#define ck_no_mark(hw, name)                                                                        \
    do {                                                                                            \
        struct highwater_mark got_;                                                                 \
        ck_assert_msg(!highwater_get((hw), (name), &got_), "%s still has a mark (top %" PRIu64 ")", \
                      (name), got_.top);                                                            \
    } while (0)

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    char *text = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void write_text(const char *path, const char *text, const char *how)
{
    FILE *f = fopen(path, how);
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    ck_assert_int_eq(fclose(f), 0);
}

static off_t file_size(const char *path)
{
    struct stat sb;
    ck_assert_msg(stat(path, &sb) == 0, "cannot stat %s", path);
    return sb.st_size;
}

/* A line in the documented format, with its hash (FNV-1a of the rest). */
static void format_line(char *out, size_t outlen, const char *body)
{
    uint64_t h = fnv1a64(FNV1A64_INIT, body, strlen(body));
    snprintf(out, outlen, "%s %016" PRIx64 "\n", body, h);
}

/* The record of marks a and b, a line each, as highwater itself wrote
 * them: lines[0], lines[1] (to free). The directory is left closed. */
static void two_written_lines(char **l1, char **l2)
{
    struct highwater *hw = open_ok();
    raise_ok(hw, "a", mk(0xa1, 3, 100));
    raise_ok(hw, "b", mk(0xb2, 0, 200));
    highwater_close(hw);

    char *text = read_text(hw_path);
    char *nl = strchr(text, '\n');
    ck_assert_ptr_nonnull(nl);
    ck_assert_msg(nl[1] != '\0' && strchr(nl + 1, '\n') != NULL && strchr(nl + 1, '\n')[1] == '\0',
                  "expected two lines: %s", text);
    *l1 = strndup(text, (size_t)(nl + 1 - text));
    *l2 = strdup(nl + 1);
    free(text);
}

/* Raises the (short) name "filler" until one more change of next_len
 * bytes would take the file past COMPACT_MIN while it is not past it yet,
 * so that change is the one that makes the record compact itself. */
static void fill_until_next_crosses(struct highwater *hw, size_t next_len, uint64_t *filler_top)
{
    ck_assert_uint_gt(next_len, 60);  /* longer than a filler line: the window cannot be stepped over */
    while (highwater_file_bytes(hw) + next_len <= COMPACT_MIN) {
        raise_ok(hw, "filler", mk(1, 0, ++*filler_top));
        ck_assert_uint_le(highwater_file_bytes(hw), COMPACT_MIN);
    }
}

/* The change just made is the one that made the record compact itself:
 * the file is smaller than the `before` bytes it had. */
static void ck_compacted(struct highwater *hw, uint64_t before)
{
    ck_assert_msg(highwater_file_bytes(hw) < before, "no compaction (%" PRIu64 " bytes)",
                  highwater_file_bytes(hw));
}

/* A record that holds text does not open, and the reason names `what`
 * ("line 2 ", say). */
static void ck_open_fails_naming(const char *text, const char *what)
{
    write_text(hw_path, text, "w");
    err[0] = '\0';
    ck_assert_ptr_null(highwater_open(hw_dir, err, sizeof(err)));
    ck_assert_msg(strstr(err, what) != NULL, "%s", err);
}

/* ---- open, get, close --------------------------------------------------- */

START_TEST(open_creates_a_missing_directory_mode_0700)
{
    struct stat sb;

    ck_assert_int_ne(stat(hw_dir, &sb), 0);
    struct highwater *hw = open_ok();
    ck_assert_int_eq(stat(hw_dir, &sb), 0);
    ck_assert(S_ISDIR(sb.st_mode));
    ck_assert_uint_eq(sb.st_mode & 07777, 0700);
    ck_assert_uint_eq(highwater_count(hw), 0);
    ck_assert_uint_eq(highwater_file_bytes(hw), 0);
    ck_no_mark(hw, "never");
    highwater_close(hw);
}
END_TEST

START_TEST(open_fails_with_a_reason_when_the_directory_cannot_be_made)
{
    char path[4500];

    /* A missing parent: the directory is not made recursively. */
    snprintf(path, sizeof(path), "%s/no/such/parent", tmp_root);
    err[0] = '\0';
    ck_assert_ptr_null(highwater_open(path, err, sizeof(err)));
    ck_assert_msg(strstr(err, path) != NULL, "%s", err);

    /* A regular file where the directory should be. */
    snprintf(path, sizeof(path), "%s/plain", tmp_root);
    write_text(path, "x", "w");
    err[0] = '\0';
    ck_assert_ptr_null(highwater_open(path, err, sizeof(err)));
    ck_assert_msg(strstr(err, path) != NULL, "%s", err);
}
END_TEST

START_TEST(a_raised_mark_survives_close_and_reopen)
{
    struct highwater *hw = open_ok();

    raise_ok(hw, "orders", mk(0x0123456789abcdefULL, 20240131, 4200));
    raise_ok(hw, "plain", mk(7, 0, 1));
    /* The extremes of every field, and a negative period. */
    raise_ok(hw, "edge.max", mk(UINT64_MAX, INT64_MAX, UINT64_MAX));
    raise_ok(hw, "edge.min", mk(0, INT64_MIN, 0));
    raise_ok(hw, "neg", mk(9, -5, 77));
    ck_assert_uint_eq(highwater_count(hw), 5);
    ck_assert_uint_eq(highwater_file_bytes(hw), (uint64_t)file_size(hw_path));

    hw = reopen(hw);
    ck_assert_uint_eq(highwater_count(hw), 5);
    ck_mark(hw, "orders", 0x0123456789abcdefULL, 20240131, 4200);
    ck_mark(hw, "plain", 7, 0, 1);
    ck_mark(hw, "edge.max", UINT64_MAX, INT64_MAX, UINT64_MAX);
    ck_mark(hw, "edge.min", 0, INT64_MIN, 0);
    ck_mark(hw, "neg", 9, -5, 77);
    ck_no_mark(hw, "unknown");
    ck_no_mark(hw, "order");          /* no prefix matching */
    ck_assert_uint_eq(highwater_file_bytes(hw), (uint64_t)file_size(hw_path));

    /* And again: the rewrite at open keeps them too. */
    hw = reopen(hw);
    ck_assert_uint_eq(highwater_count(hw), 5);
    ck_mark(hw, "orders", 0x0123456789abcdefULL, 20240131, 4200);
    ck_mark(hw, "edge.min", 0, INT64_MIN, 0);
    highwater_close(hw);
}
END_TEST

/* The on-disk format is the one highwater.c documents, so a record
 * written by an earlier seqd (or by hand) reads. */
START_TEST(a_record_in_the_documented_format_reads)
{
    char l1[LINE_MAX_BYTES], l2[LINE_MAX_BYTES], l3[LINE_MAX_BYTES], l4[LINE_MAX_BYTES];
    char text[4 * LINE_MAX_BYTES];

    ck_assert_int_eq(mkdir(hw_dir, 0700), 0);
    format_line(l1, sizeof(l1), "s x 00000000000000ff 3 10");
    format_line(l2, sizeof(l2), "s y 0000000000000001 -2 5");
    format_line(l3, sizeof(l3), "s x 00000000000000ff 4 1");
    format_line(l4, sizeof(l4), "f y");
    snprintf(text, sizeof(text), "%s%s%s%s", l1, l2, l3, l4);
    write_text(hw_path, text, "w");

    struct highwater *hw = open_ok();
    ck_assert_uint_eq(highwater_count(hw), 1);
    ck_mark(hw, "x", 0xff, 4, 1);     /* the last line of a name wins */
    ck_no_mark(hw, "y");              /* forgotten */
    highwater_close(hw);
}
END_TEST

/* ---- raise, below, lower, forget ---------------------------------------- */

START_TEST(raise_never_lowers_a_mark_of_the_same_definition)
{
    struct highwater *hw = open_ok();

    raise_ok(hw, "s", mk(0xd, 5, 100));
    uint64_t bytes = highwater_file_bytes(hw);
    raise_ok(hw, "s", mk(0xd, 5, 50));      /* lower top: no change */
    ck_mark(hw, "s", 0xd, 5, 100);
    raise_ok(hw, "s", mk(0xd, 4, 1000));    /* earlier period, higher top: no change */
    ck_mark(hw, "s", 0xd, 5, 100);
    raise_ok(hw, "s", mk(0xd, 5, 100));     /* the same: no change */
    ck_mark(hw, "s", 0xd, 5, 100);
    /* What changes nothing writes nothing (no fdatasync per no-op). */
    ck_assert_uint_eq(highwater_file_bytes(hw), bytes);

    raise_ok(hw, "s", mk(0xd, 5, 101));
    ck_mark(hw, "s", 0xd, 5, 101);
    raise_ok(hw, "s", mk(0xd, 6, 0));       /* a newer period from 0 is higher */
    ck_mark(hw, "s", 0xd, 6, 0);

    hw = reopen(hw);
    ck_mark(hw, "s", 0xd, 6, 0);
    raise_ok(hw, "s", mk(0xd, 5, UINT64_MAX));
    ck_mark(hw, "s", 0xd, 6, 0);
    hw = reopen(hw);
    ck_mark(hw, "s", 0xd, 6, 0);
    highwater_close(hw);
}
END_TEST

/* A batch of claims records its marks with one write: each name as
 * highwater_raise would (never lower, another definition replaces), a
 * name twice ends at its highest, a bad name fails only itself, and all
 * of it survives a reopen. */
START_TEST(raise_many_records_each_mark_as_raise_would_in_one_write)
{
    struct highwater *hw = open_ok();

    raise_ok(hw, "kept", mk(1, 0, 500));
    raise_ok(hw, "redefined", mk(2, 0, 900));
    struct highwater_raise items[] = {
        { "a", mk(1, 0, 100), -9 },
        { "kept", mk(1, 0, 400), -9 },          /* lower: stays at 500 */
        { "redefined", mk(3, 0, 10), -9 },      /* another definition: replaced */
        { "twice", mk(4, 0, 20), -9 },
        { "twice", mk(4, 0, 30), -9 },          /* met again: recorded after, and higher */
        { "twice", mk(4, 0, 25), -9 },          /* ... never lower */
        { "b", mk(1, 7, 0), -9 },
    };
    size_t n = sizeof(items) / sizeof(items[0]);
    uint64_t before = highwater_file_bytes(hw);
    ck_assert_int_eq(highwater_raise_many(hw, items, n, err, sizeof(err)), 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(items[i].rc, 0);
    ck_assert_uint_gt(highwater_file_bytes(hw), before);
    ck_assert_uint_eq(highwater_file_bytes(hw), (uint64_t)file_size(hw_path));
    for (int pass = 0; pass < 2; pass++) {
        ck_mark(hw, "a", 1, 0, 100);
        ck_mark(hw, "kept", 1, 0, 500);
        ck_mark(hw, "redefined", 3, 0, 10);
        ck_mark(hw, "twice", 4, 0, 30);
        ck_mark(hw, "b", 1, 7, 0);
        hw = reopen(hw);
    }

    struct highwater_raise bad[] = { { "ok", mk(1, 0, 1), -9 }, { "has space", mk(1, 0, 1), -9 } };
    ck_assert_int_eq(highwater_raise_many(hw, bad, 2, err, sizeof(err)), -1);
    ck_assert_int_eq(bad[0].rc, 0);
    ck_assert_int_eq(bad[1].rc, -1);
    ck_mark(hw, "ok", 1, 0, 1);
    ck_assert_int_eq(highwater_raise_many(hw, NULL, 0, err, sizeof(err)), 0);
    highwater_close(hw);
}
END_TEST

START_TEST(raise_with_another_definition_replaces_the_mark)
{
    struct highwater *hw = open_ok();

    raise_ok(hw, "s", mk(0xd1, 5, 100));
    raise_ok(hw, "s", mk(0xd2, 0, 3));      /* re-created: lower, yet replaces */
    ck_mark(hw, "s", 0xd2, 0, 3);
    ck_assert_uint_eq(highwater_count(hw), 1);
    raise_ok(hw, "s", mk(0xd2, 0, 2));      /* and now the new definition's rule holds */
    ck_mark(hw, "s", 0xd2, 0, 3);

    hw = reopen(hw);
    ck_mark(hw, "s", 0xd2, 0, 3);
    ck_assert_uint_eq(highwater_count(hw), 1);
    highwater_close(hw);
}
END_TEST

START_TEST(below_is_lexicographic_on_period_then_top_of_the_same_definition)
{
    struct highwater *hw = open_ok();
    struct highwater_mark at, mark;

    raise_ok(hw, "s", mk(0xd, 5, 100));

#define BELOW(d, p, t) (at = mk((d), (p), (t)), memset(&mark, 0, sizeof(mark)), highwater_below(hw, "s", &at, &mark))
    ck_assert(BELOW(0xd, 5, 99));
    ck_assert(mark.def_id == 0xd && mark.period == 5 && mark.top == 100);
    ck_assert(BELOW(0xd, 5, 0));
    ck_assert(!BELOW(0xd, 5, 100));                 /* at the mark: not below */
    ck_assert(!BELOW(0xd, 5, 101));
    ck_assert(!BELOW(0xd, 5, UINT64_MAX));
    ck_assert(BELOW(0xd, 4, UINT64_MAX));           /* an earlier period, whatever its top */
    ck_assert(BELOW(0xd, -1, 0));
    ck_assert(BELOW(0xd, INT64_MIN, UINT64_MAX));
    ck_assert(!BELOW(0xd, 6, 0));                   /* a newer period never is */
    ck_assert(!BELOW(0xd, INT64_MAX, 0));
    ck_assert(!BELOW(0xe, 5, 0));                   /* another definition never is */
    ck_assert(!BELOW(0xe, 4, 0));
    ck_assert(mark.def_id == 0xd && mark.top == 100);   /* yet the mark is told */
#undef BELOW

    at = mk(0xd, 0, 0);
    ck_assert(!highwater_below(hw, "unknown", &at, &mark));

    /* The same after a reopen. */
    hw = reopen(hw);
    at = mk(0xd, 5, 99);
    ck_assert(highwater_below(hw, "s", &at, &mark));
    at = mk(0xd, 5, 100);
    ck_assert(!highwater_below(hw, "s", &at, &mark));
    highwater_close(hw);
}
END_TEST

START_TEST(lower_moves_only_a_mark_exactly_at_the_given_back_top)
{
    struct highwater *hw = open_ok();

    raise_ok(hw, "s", mk(0xd, 5, 100));
    ck_assert_int_eq(highwater_lower(hw, "s", 5, 40, 99, err, sizeof(err)), 0);    /* not its top */
    ck_mark(hw, "s", 0xd, 5, 100);
    ck_assert_int_eq(highwater_lower(hw, "s", 5, 40, 101, err, sizeof(err)), 0);
    ck_mark(hw, "s", 0xd, 5, 100);
    ck_assert_int_eq(highwater_lower(hw, "s", 4, 40, 100, err, sizeof(err)), 0);   /* not its period */
    ck_mark(hw, "s", 0xd, 5, 100);
    ck_assert_int_eq(highwater_lower(hw, "s", 6, 40, 100, err, sizeof(err)), 0);
    ck_mark(hw, "s", 0xd, 5, 100);
    ck_assert_int_eq(highwater_lower(hw, "s", 5, 100, 100, err, sizeof(err)), 0);  /* empty range */
    ck_mark(hw, "s", 0xd, 5, 100);
    ck_assert_int_eq(highwater_lower(hw, "s", 5, 150, 100, err, sizeof(err)), 0);  /* never raises */
    ck_mark(hw, "s", 0xd, 5, 100);

    ck_assert_int_eq(highwater_lower(hw, "s", 5, 40, 100, err, sizeof(err)), 0);
    ck_mark(hw, "s", 0xd, 5, 40);                    /* the definition is kept */
    ck_assert_int_eq(highwater_lower(hw, "s", 5, 10, 100, err, sizeof(err)), 0);   /* top is 40 now */
    ck_mark(hw, "s", 0xd, 5, 40);

    /* An unknown name, or one that cannot have a mark: nothing. */
    ck_assert_int_eq(highwater_lower(hw, "nope", 5, 0, 40, err, sizeof(err)), 0);
    ck_no_mark(hw, "nope");
    ck_assert_int_eq(highwater_lower(hw, "", 5, 0, 40, err, sizeof(err)), 0);
    ck_assert_uint_eq(highwater_count(hw), 1);

    hw = reopen(hw);
    ck_mark(hw, "s", 0xd, 5, 40);
    ck_assert_int_eq(highwater_lower(hw, "s", 5, 0, 40, err, sizeof(err)), 0);
    ck_mark(hw, "s", 0xd, 5, 0);
    raise_ok(hw, "s", mk(0xd, 5, 10));          /* and it goes up again from there */
    ck_mark(hw, "s", 0xd, 5, 10);
    hw = reopen(hw);
    ck_mark(hw, "s", 0xd, 5, 10);
    highwater_close(hw);
}
END_TEST

/* A batch of lowerings decides each item as highwater_lower does, and
 * what it writes survives a reopen. */
START_TEST(a_batch_of_lowerings_decides_as_lower_does)
{
    struct highwater *hw = open_ok();

    raise_ok(hw, "new", mk(0xc, 0, 10));
    raise_ok(hw, "high", mk(0xa, 0, 500));
    raise_ok(hw, "twice", mk(0xd, 3, 70));
    raise_ok(hw, "other", mk(0xe, 0, 5));
    struct highwater_lower_item down[] = {
        { "new", 0, 4, 10 },              /* exactly its top: lowered */
        { "high", 0, 100, 499 },          /* not its top */
        { "twice", 2, 1, 70 },            /* not its period */
        { "nope", 0, 1, 2 },              /* no mark */
        { "other", 0, 5, 5 },             /* empty range */
        { "a b", 0, 1, 2 },               /* cannot have a mark */
    };
    ck_assert_msg(highwater_lower_many(hw, down, 6, err, sizeof(err)) == 0, "lower_many: %s", err);
    ck_mark(hw, "new", 0xc, 0, 4);
    ck_mark(hw, "high", 0xa, 0, 500);
    ck_mark(hw, "twice", 0xd, 3, 70);
    ck_mark(hw, "other", 0xe, 0, 5);
    ck_no_mark(hw, "nope");
    hw = reopen(hw);
    ck_mark(hw, "new", 0xc, 0, 4);
    ck_mark(hw, "high", 0xa, 0, 500);
    ck_mark(hw, "twice", 0xd, 3, 70);
    ck_assert_uint_eq(highwater_count(hw), 4);
    highwater_close(hw);
}
END_TEST

START_TEST(forget_removes_the_mark_also_after_reopen)
{
    struct highwater *hw = open_ok();

    raise_ok(hw, "a", mk(1, 0, 10));
    raise_ok(hw, "b", mk(2, 0, 20));
    ck_assert_int_eq(highwater_forget(hw, "a", err, sizeof(err)), 0);
    ck_no_mark(hw, "a");
    ck_mark(hw, "b", 2, 0, 20);
    ck_assert_uint_eq(highwater_count(hw), 1);
    ck_assert_int_eq(highwater_forget(hw, "never", err, sizeof(err)), 0);
    ck_assert_uint_eq(highwater_count(hw), 1);

    hw = reopen(hw);
    ck_no_mark(hw, "a");
    ck_mark(hw, "b", 2, 0, 20);
    ck_assert_uint_eq(highwater_count(hw), 1);

    /* A new sequence of the same name counts from its own start. */
    raise_ok(hw, "a", mk(1, 0, 3));
    ck_mark(hw, "a", 1, 0, 3);
    /* Forget, raise, forget again before a reopen: the last change wins. */
    ck_assert_int_eq(highwater_forget(hw, "b", err, sizeof(err)), 0);
    raise_ok(hw, "b", mk(2, 0, 5));
    ck_assert_int_eq(highwater_forget(hw, "b", err, sizeof(err)), 0);
    hw = reopen(hw);
    ck_mark(hw, "a", 1, 0, 3);
    ck_no_mark(hw, "b");
    ck_assert_uint_eq(highwater_count(hw), 1);
    highwater_close(hw);
}
END_TEST

START_TEST(a_name_that_cannot_be_a_line_field_is_refused)
{
    struct highwater *hw = open_ok();
    struct highwater_mark m = mk(1, 0, 10);
    char longest[130], too_long[131];
    const char *bad[] = { "", "a b", " a", "a\n", "a\nb", "a\tb", "caf\xc3\xa9", "del\x7f" };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        ck_assert_msg(highwater_raise(hw, bad[i], &m, err, sizeof(err)) == -1, "name %zu accepted", i);
        ck_assert_msg(err[0] != '\0', "no reason for name %zu", i);
        ck_no_mark(hw, bad[i]);
    }
    memset(too_long, 'x', 129);
    too_long[129] = '\0';
    err[0] = '\0';
    ck_assert_int_eq(highwater_raise(hw, too_long, &m, err, sizeof(err)), -1);
    ck_assert(err[0] != '\0');
    ck_assert_uint_eq(highwater_count(hw), 0);
    ck_assert_uint_eq(highwater_file_bytes(hw), 0);

    memset(longest, 'y', 128);
    longest[128] = '\0';
    raise_ok(hw, longest, m);
    raise_ok(hw, "!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", m);   /* all printable but space */
    hw = reopen(hw);
    ck_assert_uint_eq(highwater_count(hw), 2);
    ck_mark(hw, longest, 1, 0, 10);
    ck_mark(hw, "!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", 1, 0, 10);
    highwater_close(hw);
}
END_TEST

/* ---- damage ----------------------------------------------------------- */

START_TEST(a_torn_last_line_without_newline_is_dropped)
{
    char *l1, *l2;

    two_written_lines(&l1, &l2);
    write_text(hw_path, "s c 00000000000000c3 0 9", "a");   /* cut short by a crash */

    struct highwater *hw = open_ok();
    ck_assert_uint_eq(highwater_count(hw), 2);
    ck_mark(hw, "a", 0xa1, 3, 100);
    ck_mark(hw, "b", 0xb2, 0, 200);
    ck_no_mark(hw, "c");
    /* The tail is gone from the file: a line appended now is a line of
     * its own, not the end of the torn one. */
    char *text = read_text(hw_path);
    ck_assert_msg(strstr(text, "s c ") == NULL, "torn tail kept: %s", text);
    ck_assert_uint_eq(highwater_file_bytes(hw), strlen(text));
    free(text);
    raise_ok(hw, "c", mk(0xc3, 0, 9));
    raise_ok(hw, "d", mk(0xd4, 0, 1));
    hw = reopen(hw);
    ck_assert_uint_eq(highwater_count(hw), 4);
    ck_mark(hw, "a", 0xa1, 3, 100);
    ck_mark(hw, "c", 0xc3, 0, 9);
    ck_mark(hw, "d", 0xd4, 0, 1);
    highwater_close(hw);
    free(l1);
    free(l2);
}
END_TEST

START_TEST(a_last_line_with_a_bad_hash_is_dropped)
{
    char *l1, *l2;

    two_written_lines(&l1, &l2);
    /* b's line with its top changed, the hash left: the last line no longer reads. */
    char *p = strstr(l2, " 200 ");
    ck_assert_ptr_nonnull(p);
    p[1] = '9';
    char text[2 * LINE_MAX_BYTES];
    snprintf(text, sizeof(text), "%s%s", l1, l2);
    write_text(hw_path, text, "w");

    struct highwater *hw = open_ok();
    ck_assert_uint_eq(highwater_count(hw), 1);
    ck_mark(hw, "a", 0xa1, 3, 100);
    ck_no_mark(hw, "b");
    raise_ok(hw, "b", mk(0xb2, 0, 201));
    hw = reopen(hw);
    ck_mark(hw, "a", 0xa1, 3, 100);
    ck_mark(hw, "b", 0xb2, 0, 201);
    highwater_close(hw);
    free(l1);
    free(l2);
}
END_TEST

/* A damaged line that is not the last: the open fails naming the line,
 * and leaves the file as it was (for the operator to look at). */
START_TEST(a_damaged_line_before_others_fails_the_open_naming_it)
{
    char *l1, *l2, text[4 * LINE_MAX_BYTES], bad1[LINE_MAX_BYTES];
    struct highwater *hw;

    two_written_lines(&l1, &l2);

    /* Garbage as line 2 of 3. */
    snprintf(text, sizeof(text), "%sgarbage here\n%s", l1, l2);
    ck_open_fails_naming(text, "line 2 ");
    ck_assert_msg(strstr(err, HIGHWATER_FILE) != NULL, "%s", err);
    char *after = read_text(hw_path);
    ck_assert_str_eq(after, text);
    free(after);

    /* Line 1 with a bad hash (a flipped digit), then a good line. */
    snprintf(bad1, sizeof(bad1), "%s", l1);
    char *p = strstr(bad1, " 100 ");
    ck_assert_ptr_nonnull(p);
    p[1] = '7';
    snprintf(text, sizeof(text), "%s%s", bad1, l2);
    ck_open_fails_naming(text, "line 1 ");

    /* A line torn in the middle of the file (its '\n' lost). */
    snprintf(text, sizeof(text), "%s%.10s%s%s", l1, l2, l2, l1);
    ck_open_fails_naming(text, "line 2 ");

    /* An empty line is damage too. */
    snprintf(text, sizeof(text), "\n%s%s", l1, l2);
    ck_open_fails_naming(text, "line 1 ");

    /* The failed opens left the directory free: mended, it opens. */
    snprintf(text, sizeof(text), "%s%s", l1, l2);
    write_text(hw_path, text, "w");
    hw = open_ok();
    ck_mark(hw, "a", 0xa1, 3, 100);
    ck_mark(hw, "b", 0xb2, 0, 200);
    highwater_close(hw);
    free(l1);
    free(l2);
}
END_TEST

/* Lines whose hash is right but whose fields are not a mark are refused
 * like any damage, never taken in (nor crash the reader). */
START_TEST(a_well_hashed_line_with_bad_fields_fails_the_open)
{
    char good[LINE_MAX_BYTES], bad[1024], body[1024], text[2048];
    char name[301];
    const char *bodies[] = {
        "s x 00000000000000ff 3",                 /* a field short */
        "s x 00000000000000ff 3 10 11",           /* a field too many */
        "s x zz 3 10",                            /* def_id not hex */
        "s x 00000000000000ff 3 -10",             /* negative top */
        "s x -0000000000000ff 3 10",              /* negative def_id */
        "s x 00000000000000ff 3x 10",             /* period not a number */
        "s x 00000000000000ff 3 99999999999999999999999",   /* top past 64 bits */
        "q x 00000000000000ff 3 10",              /* unknown kind */
        "f",                                      /* forget without a name */
        NULL,                                     /* a name longer than 128 bytes */
    };

    memset(name, 'n', 300);
    name[300] = '\0';
    ck_assert_int_eq(mkdir(hw_dir, 0700), 0);
    format_line(good, sizeof(good), "s ok 0000000000000001 0 1");
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        if (bodies[i] != NULL)
            snprintf(body, sizeof(body), "%s", bodies[i]);
        else
            snprintf(body, sizeof(body), "s %s 00000000000000ff 3 10", name);
        format_line(bad, sizeof(bad), body);
        snprintf(text, sizeof(text), "%s%s", bad, good);
        write_text(hw_path, text, "w");
        err[0] = '\0';
        struct highwater *hw = highwater_open(hw_dir, err, sizeof(err));
        ck_assert_msg(hw == NULL, "line %zu (%.40s) was taken in", i, body);
        ck_assert_msg(strstr(err, "line 1 ") != NULL, "line %zu: %s", i, err);
    }
}
END_TEST

/* ---- one process per directory ----------------------------------------- */

START_TEST(a_second_open_of_a_held_directory_fails_in_use)
{
    struct highwater *hw = open_ok();
    raise_ok(hw, "a", mk(1, 0, 10));

    err[0] = '\0';
    ck_assert_ptr_null(highwater_open(hw_dir, err, sizeof(err)));
    ck_assert_msg(strstr(err, "in use") != NULL, "%s", err);
    ck_assert_msg(strstr(err, hw_dir) != NULL, "%s", err);

    /* The refused open took nothing from the holder. */
    raise_ok(hw, "a", mk(1, 0, 11));
    ck_mark(hw, "a", 1, 0, 11);
    highwater_close(hw);

    hw = open_ok();                             /* free once closed */
    ck_mark(hw, "a", 1, 0, 11);
    highwater_close(hw);
}
END_TEST

/* ---- compaction -------------------------------------------------------- */

/* Thousands of raises of a few names: the file is rewritten compactly
 * again and again, stays small, and a reopen right after each rewrite
 * (and at the end) gives the latest mark of every name. */
START_TEST(compaction_keeps_the_file_small_and_the_latest_marks)
{
    static const char *names[] = { "cmp.a", "cmp.b", "cmp.c" };
    uint64_t tops[3] = { 0, 0, 0 };
    int64_t periods[3] = { 0, 0, 0 };
    struct highwater *hw = open_ok();
    uint64_t prev = 0;
    int compactions = 0;

    for (int i = 0; i < 6000; i++) {
        int k = i % 3;
        tops[k] += 1 + (uint64_t)i % 5;
        periods[k] = i / 2000;
        raise_ok(hw, names[k], mk(0xc0 + (uint64_t)k, periods[k], tops[k]));
        uint64_t bytes = highwater_file_bytes(hw);
        ck_assert_uint_le(bytes, COMPACT_MIN + LINE_MAX_BYTES);
        if (bytes < prev) {
            compactions++;
            ck_assert_uint_eq((uint64_t)file_size(hw_path), bytes);
            hw = reopen(hw);
            for (int j = 0; j < 3 && j <= i; j++)
                ck_mark(hw, names[j], 0xc0 + (uint64_t)j, periods[j], tops[j]);
            bytes = highwater_file_bytes(hw);
        }
        prev = bytes;
    }
    ck_assert_int_ge(compactions, 3);
    ck_assert_uint_le((uint64_t)file_size(hw_path), COMPACT_MIN + LINE_MAX_BYTES);
    ck_assert_uint_eq((uint64_t)file_size(hw_path), highwater_file_bytes(hw));

    hw = reopen(hw);
    ck_assert_uint_eq(highwater_count(hw), 3);
    for (int j = 0; j < 3; j++)
        ck_mark(hw, names[j], 0xc0 + (uint64_t)j, periods[j], tops[j]);
    /* The rewrite at open holds one line a name. */
    ck_assert_uint_lt(highwater_file_bytes(hw), 3 * 100);
    ck_assert_uint_eq((uint64_t)file_size(hw_path), highwater_file_bytes(hw));
    highwater_close(hw);
}
END_TEST

/* The very raise that makes the file compact itself is in the rewritten
 * file: a new name, and a new top of a known name. */
START_TEST(the_raise_that_triggers_compaction_is_kept)
{
    char victim[129];
    uint64_t filler = 0;

    memset(victim, 'v', 128);
    victim[128] = '\0';
    struct highwater *hw = open_ok();

    /* A new name. "s " victim def period top hash "\n": 169 bytes. */
    fill_until_next_crosses(hw, 169, &filler);
    uint64_t before = highwater_file_bytes(hw);
    raise_ok(hw, victim, mk(0xee, 0, 7));
    ck_compacted(hw, before);
    ck_mark(hw, victim, 0xee, 0, 7);
    hw = reopen(hw);
    ck_mark(hw, victim, 0xee, 0, 7);
    ck_mark(hw, "filler", 1, 0, filler);

    /* A known name going up. */
    fill_until_next_crosses(hw, 169, &filler);
    before = highwater_file_bytes(hw);
    raise_ok(hw, victim, mk(0xee, 0, 8));
    ck_compacted(hw, before);
    hw = reopen(hw);
    ck_mark(hw, victim, 0xee, 0, 8);
    ck_mark(hw, "filler", 1, 0, filler);
    highwater_close(hw);
}
END_TEST

/* Likewise the forget that makes the file compact itself. */
START_TEST(the_forget_that_triggers_compaction_is_kept)
{
    char victim[129];
    uint64_t filler = 0;

    memset(victim, 'v', 128);
    victim[128] = '\0';
    struct highwater *hw = open_ok();

    raise_ok(hw, victim, mk(0xee, 0, 7));
    /* "f " victim hash "\n": 148 bytes. */
    fill_until_next_crosses(hw, 148, &filler);
    uint64_t before = highwater_file_bytes(hw);
    ck_assert_int_eq(highwater_forget(hw, victim, err, sizeof(err)), 0);
    ck_compacted(hw, before);
    ck_no_mark(hw, victim);
    hw = reopen(hw);
    ck_no_mark(hw, victim);
    ck_mark(hw, "filler", 1, 0, filler);
    ck_assert_uint_eq(highwater_count(hw), 1);
    highwater_close(hw);
}
END_TEST

/* ---- threads ------------------------------------------------------------ */

#define NTHREADS 4
#define NRAISES 2000
#define NSHARED 3

struct worker {
    struct highwater *hw;
    int id;
    int failures;
    struct highwater_mark max_own, max_shared[NSHARED];
    char why[256];
};

static bool mark_lt(const struct highwater_mark *a, const struct highwater_mark *b)
{
    return a->period < b->period || (a->period == b->period && a->top < b->top);
}

/* The (period, top) of thread t's i-th raise of shared name k: a
 * scramble, so the threads' raises interleave up and down. */
static struct highwater_mark shared_at(int t, int i, int k)
{
    uint64_t x = (uint64_t)(t + 1) * 2654435761u ^ (uint64_t)i * 40503u ^ (uint64_t)k * 97u;
    x = (x * 6364136223846793005ULL + 1442695040888963407ULL) >> 33;
    return mk(0x5000 + (uint64_t)k, (int64_t)(x % 4), x % 100000);
}

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    char own[32], shared[32];
    char why[256];

    snprintf(own, sizeof(own), "own.%d", w->id);
    for (int i = 0; i < NRAISES; i++) {
        struct highwater_mark m, got;
        const char *name;
        if (i % 2 == 0) {
            m = mk(0x1000 + (uint64_t)w->id, i / 500, (uint64_t)i);
            name = own;
            if (i == 0 || mark_lt(&w->max_own, &m))
                w->max_own = m;
        } else {
            int k = (i / 2) % NSHARED;
            m = shared_at(w->id, i, k);
            snprintf(shared, sizeof(shared), "shared.%d", k);
            name = shared;
            if (i / 2 < NSHARED || mark_lt(&w->max_shared[k], &m))
                w->max_shared[k] = m;
        }
        if (highwater_raise(w->hw, name, &m, why, sizeof(why)) != 0) {
            if (w->failures++ == 0)
                snprintf(w->why, sizeof(w->why), "%s", why);
            continue;
        }
        /* Right after a raise, the mark is at least what was raised. */
        if (!highwater_get(w->hw, name, &got) || got.def_id != m.def_id || mark_lt(&got, &m)) {
            if (w->failures++ == 0)
                snprintf(w->why, sizeof(w->why), "%s below %" PRId64 "/%" PRIu64 " right after its raise",
                         name, m.period, m.top);
        }
    }
    return NULL;
}

START_TEST(concurrent_raises_leave_every_name_at_its_maximum)
{
    struct worker w[NTHREADS];
    pthread_t th[NTHREADS];
    struct highwater *hw = open_ok();

    memset(w, 0, sizeof(w));
    for (int t = 0; t < NTHREADS; t++) {
        w[t].hw = hw;
        w[t].id = t;
        ck_assert_int_eq(pthread_create(&th[t], NULL, worker_run, &w[t]), 0);
    }
    for (int t = 0; t < NTHREADS; t++)
        ck_assert_int_eq(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < NTHREADS; t++)
        ck_assert_msg(w[t].failures == 0, "thread %d: %d failures, first: %s", t, w[t].failures, w[t].why);

    struct highwater_mark max_shared[NSHARED];
    for (int k = 0; k < NSHARED; k++) {
        max_shared[k] = w[0].max_shared[k];
        for (int t = 1; t < NTHREADS; t++) {
            if (mark_lt(&max_shared[k], &w[t].max_shared[k]))
                max_shared[k] = w[t].max_shared[k];
        }
    }

    for (int pass = 0; pass < 2; pass++) {
        char name[32];
        ck_assert_uint_eq(highwater_count(hw), NTHREADS + NSHARED);
        for (int t = 0; t < NTHREADS; t++) {
            snprintf(name, sizeof(name), "own.%d", t);
            ck_mark(hw, name, w[t].max_own.def_id, w[t].max_own.period, w[t].max_own.top);
        }
        for (int k = 0; k < NSHARED; k++) {
            snprintf(name, sizeof(name), "shared.%d", k);
            ck_mark(hw, name, max_shared[k].def_id, max_shared[k].period, max_shared[k].top);
        }
        ck_assert_uint_le(highwater_file_bytes(hw), COMPACT_MIN + LINE_MAX_BYTES);
        hw = reopen(hw);                        /* the second pass reads the file */
    }
    highwater_close(hw);
}
END_TEST

/* Raises the names prefix followed by i in `digits` digits, for i in
 * [0, n), to (i + 1, 0, i * 10), in batches of one write each. */
static void raise_numbered(struct highwater *hw, const char *prefix, int digits, int n)
{
    struct highwater_raise items[1000];
    char names[1000][32];

    for (int i = 0; i < n;) {
        size_t k = 0;
        for (; k < ARRAY_SIZE(items) && i < n; k++, i++) {
            snprintf(names[k], sizeof(names[k]), "%s%0*d", prefix, digits, i);
            items[k].name = names[k];
            items[k].mark = mk((uint64_t)i + 1, 0, (uint64_t)i * 10);
        }
        ck_assert_msg(highwater_raise_many(hw, items, k, err, sizeof(err)) == 0, "raise_many: %s", err);
    }
}

/* The marks are kept in an open-addressed table whose entries move back
 * when one before them is forgotten: through growths and forgets in any
 * order, every mark left is found, and none of the forgotten ones. */
START_TEST(every_mark_stays_found_through_growth_and_forgets)
{
    enum { N = 3000 };
    struct highwater *hw = open_ok();
    char name[32];

    raise_numbered(hw, "seq.", 5, N);
    ck_assert_uint_eq(highwater_count(hw), N);
    /* Every third, from the end: holes are made on every probe path. */
    for (int i = N - 1; i >= 0; i -= 3) {
        snprintf(name, sizeof(name), "seq.%05d", i);
        ck_assert_int_eq(highwater_forget(hw, name, err, sizeof(err)), 0);
    }
    for (int pass = 0; pass < 2; pass++) {
        ck_assert_uint_eq(highwater_count(hw), N - N / 3);
        for (int i = 0; i < N; i++) {
            snprintf(name, sizeof(name), "seq.%05d", i);
            if ((N - 1 - i) % 3 == 0)
                ck_no_mark(hw, name);
            else
                ck_mark(hw, name, (uint64_t)i + 1, 0, (uint64_t)i * 10);
        }
        hw = reopen(hw);                        /* the second pass reads the file */
    }
    highwater_close(hw);
}
END_TEST

/* Heap growth per mark for 100,000 names of 10 bytes (the mysql store's
 * one per sequence): 58 measured, a 48-byte chunk (24 bytes of mark and
 * the name, no chain pointer) and the slots at a load of 0.76. A chained
 * entry (a 64-byte chunk) breaks the bound. */
START_TEST(a_mark_costs_about_sixty_bytes)
{
    enum { N = 100000 };
    struct highwater *hw = open_ok();
    size_t before = heap_in_use(), per;

    raise_numbered(hw, "mem", 7, N);
    per = (heap_in_use() - before) / N;
    printf("highwater: %zu heap bytes per mark (names of 10 bytes)\n", per);
    fflush(stdout);
    if (HEAP_MEASURED)
        ck_assert_uint_le(per, 64);
    ck_mark(hw, "mem0012345", 12346, 0, 123450);
    highwater_close(hw);
}
END_TEST

/* ---- the suite ---------------------------------------------------------- */

static Suite *highwater_suite(void)
{
    Suite *s = suite_create("highwater");
    TCase *basic = tcase_create("basic");
    TCase *marks = tcase_create("marks");
    TCase *damage = tcase_create("damage");
    TCase *growth = tcase_create("growth");

    tcase_add_checked_fixture(basic, tmp_setup, tmp_teardown);
    tcase_add_test(basic, open_creates_a_missing_directory_mode_0700);
    tcase_add_test(basic, open_fails_with_a_reason_when_the_directory_cannot_be_made);
    tcase_add_test(basic, a_raised_mark_survives_close_and_reopen);
    tcase_add_test(basic, a_record_in_the_documented_format_reads);
    tcase_add_test(basic, a_second_open_of_a_held_directory_fails_in_use);
    suite_add_tcase(s, basic);

    tcase_add_checked_fixture(marks, tmp_setup, tmp_teardown);
    tcase_add_test(marks, raise_never_lowers_a_mark_of_the_same_definition);
    tcase_add_test(marks, raise_with_another_definition_replaces_the_mark);
    tcase_add_test(marks, raise_many_records_each_mark_as_raise_would_in_one_write);
    tcase_add_test(marks, below_is_lexicographic_on_period_then_top_of_the_same_definition);
    tcase_add_test(marks, lower_moves_only_a_mark_exactly_at_the_given_back_top);
    tcase_add_test(marks, a_batch_of_lowerings_decides_as_lower_does);
    tcase_add_test(marks, forget_removes_the_mark_also_after_reopen);
    tcase_add_test(marks, a_name_that_cannot_be_a_line_field_is_refused);
    suite_add_tcase(s, marks);

    tcase_add_checked_fixture(damage, tmp_setup, tmp_teardown);
    tcase_add_test(damage, a_torn_last_line_without_newline_is_dropped);
    tcase_add_test(damage, a_last_line_with_a_bad_hash_is_dropped);
    tcase_add_test(damage, a_damaged_line_before_others_fails_the_open_naming_it);
    tcase_add_test(damage, a_well_hashed_line_with_bad_fields_fails_the_open);
    suite_add_tcase(s, damage);

    /* Thousands of fdatasync()s each: a slow disk needs time. */
    tcase_add_checked_fixture(growth, tmp_setup, tmp_teardown);
    tcase_set_timeout(growth, 300);
    tcase_add_test(growth, compaction_keeps_the_file_small_and_the_latest_marks);
    tcase_add_test(growth, the_raise_that_triggers_compaction_is_kept);
    tcase_add_test(growth, the_forget_that_triggers_compaction_is_kept);
    tcase_add_test(growth, concurrent_raises_leave_every_name_at_its_maximum);
    tcase_add_test(growth, every_mark_stays_found_through_growth_and_forgets);
    tcase_add_test(growth, a_mark_costs_about_sixty_bytes);
    suite_add_tcase(s, growth);
    return s;
}

int main(void)
{
    return tmp_run(highwater_suite, "seqd-check-highwater");
}
