/*
 * check_resp: the RESP parser and writers.
 *
 * Every input is copied into a heap block of exactly its own size before it
 * is parsed, so a read one byte past the end is caught by ASan or valgrind.
 * Valid requests are also fed in every possible split: all shorter prefixes
 * must say "again", never an error or a wrong request. The incremental
 * parse (resp_parse_more, which keeps its place between calls) is fed the
 * same inputs in two pieces split at every byte and byte by byte, into a
 * fresh block each time (the bytes move between calls, as in a growing
 * buffer), and must give what the parse of the whole gives.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "resp.h"
#include "util.h"

#define S(lit) lit, sizeof(lit) - 1

static const struct resp_limits lim_full = { RESP_MAX_ARGS, RESP_MAX_BULK, false };
static const struct resp_limits lim_preauth = { RESP_PREAUTH_MAX_ARGS, RESP_PREAUTH_MAX_BULK, true };

/* ~130 KB: too big for a comfortable stack frame. */
static struct resp_request req;

/* prefix, then fill_n copies of fill, in a block of exactly that size. */
static char *make_input(const char *prefix, size_t prefix_len, char fill, size_t fill_n,
                        size_t *len)
{
    char *p = xmalloc(prefix_len + fill_n);
    memcpy(p, prefix, prefix_len);
    memset(p + prefix_len, fill, fill_n);
    *len = prefix_len + fill_n;
    return p;
}

static enum resp_status parse_exact(const char *in, size_t k, const struct resp_limits *lim,
                                    size_t *consumed, const char **err)
{
    char *copy = xmalloc(k);
    enum resp_status st;
    memcpy(copy, in, k);
    st = resp_parse(copy, k, lim, &req, consumed, err);
    /* argv points into copy: callers of this helper look at status, counts
     * and errors only. */
    free(copy);
    return st;
}

/* resp_parse_more() on the first k bytes of in, copied into a fresh block
 * of exactly k bytes: between two calls the bytes move, as they do when a
 * connection's buffer grows or is compacted. Returns the status; argv of
 * an RESP_OK points into *block, which the caller frees. */
static enum resp_status feed(struct resp_progress *pr, const char *in, size_t k,
                             const struct resp_limits *lim, char **block, size_t *consumed,
                             const char **err)
{
    *block = xmalloc(k > 0 ? k : 1);
    memcpy(*block, in, k);
    return resp_parse_more(pr, *block, k, lim, &req, consumed, err);
}

/* ---- malformed input ---------------------------------------------------- */

struct bad_row {
    const char *name;
    const char *prefix;
    size_t prefix_len;
    char fill;
    size_t fill_n;
    const struct resp_limits *lim;
    const char *err;
};

static const struct bad_row bad_rows[] = {
    { "count not a number", S("*abc\r\n"), 0, 0, &lim_full, "invalid multibulk length" },
    { "count with plus sign", S("*+3\r\n"), 0, 0, &lim_full, "invalid multibulk length" },
    { "count with leading zero", S("*03\r\n"), 0, 0, &lim_full, "invalid multibulk length" },
    { "count minus zero", S("*-0\r\n"), 0, 0, &lim_full, "invalid multibulk length" },
    { "count with space", S("* 1\r\n"), 0, 0, &lim_full, "invalid multibulk length" },
    { "empty count", S("*\r\n"), 0, 0, &lim_full, "invalid multibulk length" },
    { "count overflows int64", S("*9223372036854775808\r\n"), 0, 0, &lim_full,
      "invalid multibulk length" },
    { "count above max args", S("*4097\r\n"), 0, 0, &lim_full, "invalid multibulk length" },
    { "count above pre-auth max args", S("*11\r\n"), 0, 0, &lim_preauth,
      "unauthenticated multibulk length" },
    { "count not a number before auth", S("*x\r\n"), 0, 0, &lim_preauth,
      "invalid multibulk length" },
    { "count line CR without LF", S("*1\rX"), 0, 0, &lim_full, "invalid multibulk length" },
    { "count line without CRLF too long", S("*"), '1', RESP_MAX_LINE + 1, &lim_full,
      "too big mbulk count string" },
    { "bulk header missing $", S("*1\r\nPING\r\n"), 0, 0, &lim_full, "expected '$', got 'P'" },
    { "bulk header is a simple string", S("*2\r\n$3\r\nGET\r\n+x\r\n"), 0, 0, &lim_full,
      "expected '$', got '+'" },
    { "bulk header non-printable byte", S("*1\r\n\x01"), 0, 0, &lim_full,
      "expected '$', got '\\x01'" },
    { "bulk header 8-bit byte", S("*1\r\n\xff"), 0, 0, &lim_full, "expected '$', got '\\xff'" },
    { "bulk length not a number", S("*1\r\n$abc\r\n"), 0, 0, &lim_full, "invalid bulk length" },
    { "bulk length empty", S("*1\r\n$\r\n"), 0, 0, &lim_full, "invalid bulk length" },
    { "bulk length leading zero", S("*1\r\n$04\r\nPING\r\n"), 0, 0, &lim_full,
      "invalid bulk length" },
    { "bulk length negative", S("*1\r\n$-1\r\n"), 0, 0, &lim_full, "invalid bulk length" },
    { "bulk length above max bulk", S("*1\r\n$65537\r\n"), 0, 0, &lim_full,
      "invalid bulk length" },
    { "bulk length above pre-auth max bulk", S("*1\r\n$16385\r\n"), 0, 0, &lim_preauth,
      "unauthenticated bulk length" },
    { "bulk length negative before auth", S("*1\r\n$-5\r\n"), 0, 0, &lim_preauth,
      "invalid bulk length" },
    /* Not a number: no length was read, so none can be "unauthenticated"
     * (valgrind saw the message chosen from an unset length). */
    { "bulk length not a number before auth", S("*1\r\n$abc\r\n"), 0, 0, &lim_preauth,
      "invalid bulk length" },
    { "bulk length overflows int64 before auth", S("*1\r\n$99999999999999999999\r\n"), 0, 0,
      &lim_preauth, "invalid bulk length" },
    { "bulk length overflows int64", S("*1\r\n$99999999999999999999\r\n"), 0, 0, &lim_full,
      "invalid bulk length" },
    { "bulk length line CR without LF", S("*1\r\n$4\rPING"), 0, 0, &lim_full,
      "invalid bulk length" },
    { "bulk length line without CRLF too long", S("*1\r\n$"), '1', RESP_MAX_LINE + 1,
      &lim_full, "too big bulk count string" },
    { "bulk data longer than its length", S("*1\r\n$4\r\nPINGxx"), 0, 0, &lim_full,
      "expected CRLF after bulk data" },
    { "bulk data followed by LF only", S("*1\r\n$4\r\nPING\n\n"), 0, 0, &lim_full,
      "expected CRLF after bulk data" },
    { "second bulk missing CRLF", S("*2\r\n$3\r\nGET\r\n$1\r\nab\r\n"), 0, 0, &lim_full,
      "expected CRLF after bulk data" },
    { "inline unbalanced double quote", S("ECHO \"abc\r\n"), 0, 0, &lim_full,
      "unbalanced quotes in request" },
    { "inline unbalanced single quote", S("ECHO 'abc\r\n"), 0, 0, &lim_full,
      "unbalanced quotes in request" },
    { "inline closing quote followed by text", S("ECHO \"a\"b\r\n"), 0, 0, &lim_full,
      "unbalanced quotes in request" },
    { "inline closing single quote followed by text", S("ECHO 'a'b\r\n"), 0, 0, &lim_full,
      "unbalanced quotes in request" },
    { "inline backslash before end of quote", S("ECHO \"abc\\\"\r\n"), 0, 0, &lim_full,
      "unbalanced quotes in request" },
    { "inline line without newline too long", S(""), 'A', RESP_MAX_LINE + 1, &lim_full,
      "too big inline request" },
    { "inline above pre-auth max args", S("a b c d e f g h i j k\r\n"), 0, 0, &lim_preauth,
      "too many arguments" },
};

START_TEST(test_malformed_input_gives_its_protocol_error)
{
    const struct bad_row *row = &bad_rows[_i];
    size_t len, consumed = 12345, k;
    const char *err = NULL;
    char *in = make_input(row->prefix, row->prefix_len, row->fill, row->fill_n, &len);
    enum resp_status st = parse_exact(in, len, row->lim, &consumed, &err);

    ck_assert_msg(st == RESP_ERR, "%s: status %d, not RESP_ERR", row->name, (int)st);
    ck_assert_msg(err != NULL && strcmp(err, row->err) == 0, "%s: error '%s', expected '%s'",
                  row->name, err ? err : "(null)", row->err);
    ck_assert_msg(consumed == 12345, "%s: consumed changed on error", row->name);
    ck_assert_int_eq(req.argc, 0);

    /* Shorter prefixes wait for more bytes or already see the same fault;
     * none is taken for a request. The long rows are checked at a few
     * points, since a full sweep would scan 64 KB 64 K times. */
    for (k = 0; k < len; k++) {
        if (len > 1024 && k > 16 && k < len - 16)
            k = len - 16;
        err = NULL;
        st = parse_exact(in, k, row->lim, &consumed, &err);
        ck_assert_msg(st == RESP_AGAIN || (st == RESP_ERR && strcmp(err, row->err) == 0),
                      "%s: prefix of %zu bytes gave status %d (%s)", row->name, k, (int)st,
                      err ? err : "no error");
    }
    free(in);
}
END_TEST

/* The same rows fed to resp_parse_more() a byte at a time (the long rows
 * in a few large steps) and in two pieces split at every byte: each call
 * waits or gives the row's error, and the whole input gives it. */
START_TEST(test_malformed_input_fed_in_pieces_gives_the_same_error)
{
    const struct bad_row *row = &bad_rows[_i];
    size_t len, k, split, consumed = 12345;
    const char *err = NULL;
    char *in = make_input(row->prefix, row->prefix_len, row->fill, row->fill_n, &len);
    size_t step = len > 1024 ? 4093 : 1;
    struct resp_progress pr;
    enum resp_status st = RESP_AGAIN;
    char *block;

    resp_progress_reset(&pr);
    for (k = step < len ? step : len; st == RESP_AGAIN; k = k + step < len ? k + step : len) {
        err = NULL;
        st = feed(&pr, in, k, row->lim, &block, &consumed, &err);
        free(block);
        ck_assert_msg(st == RESP_AGAIN || (st == RESP_ERR && strcmp(err, row->err) == 0),
                      "%s: fed %zu bytes: status %d (%s)", row->name, k, (int)st,
                      err ? err : "no error");
        ck_assert_msg(st == RESP_ERR || k < len, "%s: whole input fed: status %d", row->name,
                      (int)st);
    }
    ck_assert_msg(consumed == 12345, "%s: consumed changed on error", row->name);
    ck_assert_int_eq(req.argc, 0);

    for (split = 1; split < len; split += step) {
        resp_progress_reset(&pr);
        st = feed(&pr, in, split, row->lim, &block, &consumed, &err);
        free(block);
        if (st == RESP_ERR)
            continue;   /* the first piece already holds the fault */
        ck_assert_int_eq(st, RESP_AGAIN);
        st = feed(&pr, in, len, row->lim, &block, &consumed, &err);
        free(block);
        ck_assert_msg(st == RESP_ERR && strcmp(err, row->err) == 0,
                      "%s: split at %zu: status %d (%s)", row->name, split, (int)st,
                      err ? err : "no error");
    }
    free(in);
}
END_TEST

/* ---- valid input --------------------------------------------------------- */

struct arg {
    const char *p;
    size_t n;
};
#define A(lit) { lit, sizeof(lit) - 1 }

struct good_row {
    const char *name;
    const char *in;
    size_t len;
    const struct resp_limits *lim;
    size_t first_len; /* bytes of the first request */
    int argc;         /* of the first request */
    struct arg args[12];
    int nreq;         /* requests in the whole input */
};

static const struct good_row good_rows[] = {
    { "multibulk PING", S("*1\r\n$4\r\nPING\r\n"), &lim_full, 14, 1, { A("PING") }, 1 },
    { "multibulk SET with empty value", S("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"),
      &lim_full, 26, 3, { A("SET"), A("k"), A("") }, 1 },
    { "multibulk lower-case hello 3", S("*2\r\n$5\r\nhello\r\n$1\r\n3\r\n"), &lim_full, 22, 2,
      { A("hello"), A("3") }, 1 },
    { "binary-safe bulk with CRLF and NUL inside",
      S("*2\r\n$4\r\nECHO\r\n$7\r\na\r\n\0b\n\r\r\n"), &lim_full, 27, 2,
      { A("ECHO"), A("a\r\n\0b\n\r") }, 1 },
    { "bulk holding a fake request",
      S("*2\r\n$4\r\nECHO\r\n$14\r\n*1\r\n$4\r\nPING\r\n\r\n"), &lim_full, 35, 2,
      { A("ECHO"), A("*1\r\n$4\r\nPING\r\n") }, 1 },
    { "multibulk at pre-auth max args",
      S("*10\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"
        "$1\r\nf\r\n$1\r\ng\r\n$1\r\nh\r\n$1\r\ni\r\n$1\r\nj\r\n"),
      &lim_preauth, 75, 10,
      { A("a"), A("b"), A("c"), A("d"), A("e"), A("f"), A("g"), A("h"), A("i"), A("j") }, 1 },
    { "multibulk *0 is empty", S("*0\r\n"), &lim_full, 4, 0, { { NULL, 0 } }, 1 },
    { "multibulk *-1 is empty", S("*-1\r\n"), &lim_full, 5, 0, { { NULL, 0 } }, 1 },
    { "pipelined multibulk pair", S("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nx\r\n"),
      &lim_full, 14, 1, { A("PING") }, 2 },
    { "pipelined inline then multibulk", S("PING\r\n*1\r\n$4\r\nPING\r\n"), &lim_full, 6, 1,
      { A("PING") }, 2 },
    { "pipelined *0 then request", S("*0\r\n*1\r\n$4\r\nPING\r\n"), &lim_full, 4, 0,
      { { NULL, 0 } }, 2 },
    { "inline PING", S("PING\r\n"), &lim_full, 6, 1, { A("PING") }, 1 },
    { "inline with bare LF", S("PING\n"), &lim_full, 5, 1, { A("PING") }, 1 },
    { "inline with extra spaces and tab", S("  GET \t order_id  \r\n"), &lim_full, 20, 2,
      { A("GET"), A("order_id") }, 1 },
    { "inline double-quoted argument", S("ECHO \"a b\"\r\n"), &lim_full, 12, 2,
      { A("ECHO"), A("a b") }, 1 },
    { "inline double-quote escapes", S("ECHO \"\\x41\\n\\r\\t\\b\\a\\\\\\\"\\q\"\r\n"),
      &lim_full, 29, 2, { A("ECHO"), A("A\n\r\t\b\a\\\"q") }, 1 },
    { "inline bad hex escape taken literally", S("ECHO \"\\xZZ\\x4\"\r\n"), &lim_full, 16, 2,
      { A("ECHO"), A("xZZx4") }, 1 },
    { "inline single quotes keep backslashes", S("ECHO 'it\\'s' 'a\\nb \"c\"'\r\n"),
      &lim_full, 25, 3, { A("ECHO"), A("it's"), A("a\\nb \"c\"") }, 1 },
    { "inline quote inside a word", S("SET k\"e y\" v\r\n"), &lim_full, 14, 3,
      { A("SET"), A("ke y"), A("v") }, 1 },
    { "inline empty quoted argument", S("ECHO \"\" ''\r\n"), &lim_full, 12, 3,
      { A("ECHO"), A(""), A("") }, 1 },
    { "inline at pre-auth max args", S("a b c d e f g h i j\r\n"), &lim_preauth, 21, 10,
      { A("a"), A("b"), A("c"), A("d"), A("e"), A("f"), A("g"), A("h"), A("i"), A("j") }, 1 },
    { "empty line is empty", S("\r\n"), &lim_full, 2, 0, { { NULL, 0 } }, 1 },
    { "blank line is empty", S("   \t \r\n"), &lim_full, 7, 0, { { NULL, 0 } }, 1 },
    { "pipelined inline pair", S("PING\r\nGET x\r\n"), &lim_full, 6, 1, { A("PING") }, 2 },
};

static void check_args(const struct good_row *row, size_t k)
{
    int i;
    ck_assert_msg(req.argc == row->argc, "%s (%zu bytes): argc %d, expected %d", row->name, k,
                  req.argc, row->argc);
    for (i = 0; i < row->argc; i++) {
        ck_assert_msg(req.argl[i] == row->args[i].n && memcmp(req.argv[i], row->args[i].p,
                                                              row->args[i].n) == 0,
                      "%s (%zu bytes): argument %d is '%.*s'", row->name, k, i,
                      (int)req.argl[i], req.argv[i]);
    }
}

START_TEST(test_valid_request_parses_whole_and_pipelined)
{
    const struct good_row *row = &good_rows[_i];
    char *in = xmalloc(row->len);
    size_t pos = 0, consumed = 0;
    const char *err = NULL;
    enum resp_status st;
    int nreq = 0;

    memcpy(in, row->in, row->len);
    st = resp_parse(in, row->len, row->lim, &req, &consumed, &err);
    ck_assert_msg(st == RESP_OK, "%s: status %d (%s)", row->name, (int)st,
                  err ? err : "no error");
    ck_assert_msg(consumed == row->first_len, "%s: consumed %zu, expected %zu", row->name,
                  consumed, row->first_len);
    check_args(row, row->len);

    /* Pipelined input: the rest parses as further requests, to the byte. */
    while (pos < row->len) {
        st = resp_parse(in + pos, row->len - pos, row->lim, &req, &consumed, &err);
        ck_assert_msg(st == RESP_OK, "%s: request %d at byte %zu: status %d", row->name,
                      nreq + 1, pos, (int)st);
        ck_assert(consumed > 0 && consumed <= row->len - pos);
        pos += consumed;
        nreq++;
    }
    ck_assert_int_eq(nreq, row->nreq);
    free(in);
}
END_TEST

START_TEST(test_valid_request_split_at_every_byte)
{
    const struct good_row *row = &good_rows[_i];
    size_t k;

    for (k = 0; k <= row->len; k++) {
        char *in = xmalloc(k);
        size_t consumed = 0;
        const char *err = NULL;
        enum resp_status st;

        memcpy(in, row->in, k);
        st = resp_parse(in, k, row->lim, &req, &consumed, &err);
        if (k < row->first_len) {
            ck_assert_msg(st == RESP_AGAIN, "%s: first %zu of %zu bytes gave status %d (%s)",
                          row->name, k, row->first_len, (int)st, err ? err : "no error");
        } else {
            ck_assert_msg(st == RESP_OK, "%s: first %zu bytes gave status %d (%s)", row->name,
                          k, (int)st, err ? err : "no error");
            ck_assert_msg(consumed == row->first_len, "%s: %zu bytes: consumed %zu", row->name,
                          k, consumed);
            check_args(row, k);
        }
        free(in);
    }
}
END_TEST

/* Every split of every valid input, fed to resp_parse_more() in two pieces
 * (the first k bytes, then all of them), and byte by byte: the same
 * request as resp_parse() of the whole; then the rest of a pipelined input
 * parses on from a fresh place. */
static void check_fed_whole(const struct good_row *row, struct resp_progress *pr,
                            const char *how, size_t k)
{
    size_t consumed = 0, pos;
    const char *err = NULL;
    char *block;
    enum resp_status st = feed(pr, row->in, row->len, row->lim, &block, &consumed, &err);
    int nreq = 1;

    ck_assert_msg(st == RESP_OK, "%s: %s %zu: status %d (%s)", row->name, how, k, (int)st,
                  err ? err : "no error");
    ck_assert_msg(consumed == row->first_len, "%s: %s %zu: consumed %zu", row->name, how, k,
                  consumed);
    check_args(row, k);
    free(block);
    for (pos = consumed; pos < row->len; pos += consumed, nreq++) {
        st = feed(pr, row->in + pos, row->len - pos, row->lim, &block, &consumed, &err);
        free(block);
        ck_assert_msg(st == RESP_OK && consumed > 0, "%s: %s %zu: request %d: status %d",
                      row->name, how, k, nreq + 1, (int)st);
    }
    ck_assert_int_eq(nreq, row->nreq);
}

START_TEST(test_valid_request_fed_in_pieces_parses_as_whole)
{
    const struct good_row *row = &good_rows[_i];
    struct resp_progress pr;
    size_t k, consumed = 0;
    const char *err = NULL;
    enum resp_status st;
    char *block;

    for (k = 0; k < row->first_len; k++) {
        resp_progress_reset(&pr);
        st = feed(&pr, row->in, k, row->lim, &block, &consumed, &err);
        free(block);
        ck_assert_msg(st == RESP_AGAIN, "%s: first piece of %zu bytes: status %d (%s)",
                      row->name, k, (int)st, err ? err : "no error");
        check_fed_whole(row, &pr, "split at", k);
    }

    resp_progress_reset(&pr);
    for (k = 0; k < row->first_len; k++) {
        st = feed(&pr, row->in, k, row->lim, &block, &consumed, &err);
        free(block);
        ck_assert_msg(st == RESP_AGAIN, "%s: fed %zu bytes one by one: status %d", row->name, k,
                      (int)st);
    }
    check_fed_whole(row, &pr, "fed one by one to", k);
}
END_TEST

/* ---- limits, exactly at and just past them ------------------------------ */

/* *n followed by n one-byte bulks. */
static char *make_multibulk(size_t n, size_t *len)
{
    struct buf b;
    size_t i;
    char *p;

    buf_init(&b);
    buf_printf(&b, "*%zu\r\n", n);
    for (i = 0; i < n; i++)
        buf_append(&b, "$1\r\nx\r\n", 7);
    *len = buf_used(&b);
    p = xmalloc(*len);
    memcpy(p, buf_head(&b), *len);
    buf_free(&b);
    return p;
}

START_TEST(test_max_args_accepted_one_more_refused)
{
    size_t len, consumed = 0;
    const char *err = NULL;
    char *in = make_multibulk(RESP_MAX_ARGS, &len);

    ck_assert_int_eq(resp_parse(in, len, &lim_full, &req, &consumed, &err), RESP_OK);
    ck_assert_int_eq(req.argc, RESP_MAX_ARGS);
    ck_assert_uint_eq(consumed, len);
    ck_assert(req.argl[RESP_MAX_ARGS - 1] == 1 && req.argv[RESP_MAX_ARGS - 1][0] == 'x');
    free(in);

    in = make_multibulk(RESP_MAX_ARGS + 1, &len);
    ck_assert_int_eq(resp_parse(in, len, &lim_full, &req, &consumed, &err), RESP_ERR);
    ck_assert_str_eq(err, "invalid multibulk length");
    free(in);
}
END_TEST

START_TEST(test_limits_above_argv_size_are_capped)
{
    /* A caller passing a larger max_args must not make argv overflow. */
    const struct resp_limits huge = { 1000000, RESP_MAX_BULK, false };
    size_t len, consumed = 0;
    const char *err = NULL;
    char *in = make_multibulk(RESP_MAX_ARGS + 1, &len);

    ck_assert_int_eq(resp_parse(in, len, &huge, &req, &consumed, &err), RESP_ERR);
    ck_assert_str_eq(err, "invalid multibulk length");
    free(in);
}
END_TEST

/* *2 $4 ECHO $<n> <n bytes of 'v'> */
static char *make_echo(size_t n, size_t *len)
{
    struct buf b;
    char *p;

    buf_init(&b);
    buf_printf(&b, "*2\r\n$4\r\nECHO\r\n$%zu\r\n", n);
    buf_reserve(&b, n);
    memset(b.data + b.len, 'v', n);
    b.len += n;
    buf_append(&b, "\r\n", 2);
    *len = buf_used(&b);
    p = xmalloc(*len);
    memcpy(p, buf_head(&b), *len);
    buf_free(&b);
    return p;
}

static void check_bulk_limit(const struct resp_limits *lim)
{
    size_t len, consumed = 0;
    const char *err = NULL;
    char *in = make_echo(lim->max_bulk, &len);

    ck_assert_int_eq(resp_parse(in, len, lim, &req, &consumed, &err), RESP_OK);
    ck_assert_uint_eq(req.argl[1], lim->max_bulk);
    ck_assert_uint_eq(consumed, len);
    free(in);

    in = make_echo(lim->max_bulk + 1, &len);
    ck_assert_int_eq(resp_parse(in, len, lim, &req, &consumed, &err), RESP_ERR);
    ck_assert_str_eq(err, lim->unauthenticated ? "unauthenticated bulk length" : "invalid bulk length");
    free(in);
}

START_TEST(test_max_bulk_accepted_one_more_refused)
{
    check_bulk_limit(&lim_full);
    check_bulk_limit(&lim_preauth);
}
END_TEST

START_TEST(test_large_bulk_split_at_every_byte)
{
    size_t len, k;
    char *full = make_echo(3000, &len);

    for (k = 0; k <= len; k++) {
        char *in = xmalloc(k);
        size_t consumed = 0;
        const char *err = NULL;
        enum resp_status st;

        memcpy(in, full, k);
        st = resp_parse(in, k, &lim_full, &req, &consumed, &err);
        if (k < len) {
            ck_assert_msg(st == RESP_AGAIN, "%zu bytes: status %d", k, (int)st);
        } else {
            ck_assert_int_eq(st, RESP_OK);
            ck_assert_uint_eq(req.argl[1], 3000);
        }
        free(in);
    }
    free(full);
}
END_TEST

/* The largest requests, as a slow client sends them: in 64-byte pieces
 * (4096 arguments) and 7-byte pieces (a 3000-byte argument). */
static void check_dribbled(const char *in, size_t len, size_t piece, int argc, size_t last_len,
                           char last_byte)
{
    struct resp_progress pr;
    size_t k, consumed = 0;
    const char *err = NULL;
    enum resp_status st = RESP_AGAIN;
    char *block = NULL;

    resp_progress_reset(&pr);
    for (k = piece; st == RESP_AGAIN; k = k + piece < len ? k + piece : len) {
        free(block);
        st = feed(&pr, in, k, &lim_full, &block, &consumed, &err);
        ck_assert_msg(st == RESP_OK || (st == RESP_AGAIN && k < len), "%zu of %zu bytes: status %d",
                      k, len, (int)st);
    }
    ck_assert_int_eq(req.argc, argc);
    ck_assert_uint_eq(consumed, len);
    ck_assert(req.argv[argc - 1] >= block && req.argv[argc - 1] + req.argl[argc - 1] < block + len);
    ck_assert_uint_eq(req.argl[argc - 1], last_len);
    ck_assert_int_eq(req.argv[argc - 1][last_len - 1], last_byte);
    free(block);
}

START_TEST(test_largest_requests_dribbled_parse_as_whole)
{
    size_t len;
    char *in = make_multibulk(RESP_MAX_ARGS, &len);

    check_dribbled(in, len, 64, RESP_MAX_ARGS, 1, 'x');
    free(in);
    in = make_echo(3000, &len);
    check_dribbled(in, len, 7, 2, 3000, 'v');
    free(in);
}
END_TEST

START_TEST(test_claimed_counts_alone_wait_for_data)
{
    /* Large claims with nothing behind them are not errors and are not
     * acted on: the parser only waits. */
    size_t consumed = 0;
    const char *err = NULL;

    ck_assert_int_eq(parse_exact(S("*4096\r\n"), &lim_full, &consumed, &err), RESP_AGAIN);
    ck_assert_int_eq(parse_exact(S("*1\r\n$65536\r\n"), &lim_full, &consumed, &err),
                     RESP_AGAIN);
    ck_assert_int_eq(parse_exact(S("*1\r\n$65536\r\nabc"), &lim_full, &consumed, &err),
                     RESP_AGAIN);
}
END_TEST

START_TEST(test_inline_at_line_limit_accepted_one_more_refused)
{
    /* A quoted argument filling the whole line, so all of it goes through
     * scratch: the largest unescaped argument there can be. */
    size_t len = RESP_MAX_LINE + 1, consumed = 0;
    const char *err = NULL;
    char *in = xmalloc(len + 1);

    in[0] = '"';
    memset(in + 1, 'a', RESP_MAX_LINE - 2);
    in[RESP_MAX_LINE - 1] = '"';
    in[RESP_MAX_LINE] = '\n';
    ck_assert_int_eq(resp_parse(in, len, &lim_full, &req, &consumed, &err), RESP_OK);
    ck_assert_int_eq(req.argc, 1);
    ck_assert_uint_eq(req.argl[0], RESP_MAX_LINE - 2);
    ck_assert_ptr_eq(req.argv[0], req.scratch);
    ck_assert_uint_eq(consumed, len);

    /* One more byte before the newline is one too many. */
    in[RESP_MAX_LINE - 1] = 'a';
    in[RESP_MAX_LINE] = '"';
    in[RESP_MAX_LINE + 1] = '\n';
    ck_assert_int_eq(resp_parse(in, len + 1, &lim_full, &req, &consumed, &err), RESP_ERR);
    ck_assert_str_eq(err, "too big inline request");
    free(in);
}
END_TEST

START_TEST(test_arguments_point_into_input_unless_unescaped)
{
    static const char inl[] = "SET plain \"quoted\"\r\n";
    static const char mb[] = "*1\r\n$4\r\nPING\r\n";
    size_t consumed = 0;
    const char *err = NULL;

    ck_assert_int_eq(resp_parse(inl, sizeof(inl) - 1, &lim_full, &req, &consumed, &err),
                     RESP_OK);
    ck_assert_ptr_eq(req.argv[0], inl);
    ck_assert_ptr_eq(req.argv[1], inl + 4);
    ck_assert(req.argv[2] >= req.scratch && req.argv[2] < req.scratch + sizeof(req.scratch));
    ck_assert_int_eq(memcmp(req.argv[2], "quoted", 6), 0);

    ck_assert_int_eq(resp_parse(mb, sizeof(mb) - 1, &lim_full, &req, &consumed, &err),
                     RESP_OK);
    ck_assert_ptr_eq(req.argv[0], mb + 8);
}
END_TEST

/* ---- writers --------------------------------------------------------------- */

static struct buf out;

static void out_setup(void)
{
    buf_init(&out);
}

static void out_teardown(void)
{
    buf_free(&out);
}

#define ck_out(lit)                                                                          \
    do {                                                                                     \
        ck_assert_msg(buf_used(&out) == sizeof(lit) - 1 &&                                    \
                          memcmp(buf_head(&out), lit, sizeof(lit) - 1) == 0,                  \
                      "wrote '%.*s', expected '%s'", (int)buf_used(&out), buf_head(&out),     \
                      lit);                                                                  \
        buf_reset(&out);                                                                     \
    } while (0)

START_TEST(test_simple_and_error_lines_never_hold_crlf)
{
    resp_add_simple(&out, "OK");
    ck_out("+OK\r\n");
    resp_add_simple(&out, "a\r\nb");
    ck_out("+a  b\r\n");
    resp_add_error(&out, "ERR no such sequence 'x'");
    ck_out("-ERR no such sequence 'x'\r\n");
    resp_add_error(&out, "ERR bad\r\n+OK");
    ck_out("-ERR bad  +OK\r\n");
}
END_TEST

START_TEST(test_errorf_formats_and_sanitizes)
{
    char big[1001];

    resp_add_errorf(&out, "ERR unknown command '%s', with args beginning with: ", "FOO");
    ck_out("-ERR unknown command 'FOO', with args beginning with: \r\n");
    resp_add_errorf(&out, "ERR wrong number of arguments for '%s' command", "get");
    ck_out("-ERR wrong number of arguments for 'get' command\r\n");
    resp_add_errorf(&out, "ERR unknown command '%s'", "a\r\n:1");
    ck_out("-ERR unknown command 'a  :1'\r\n");

    /* Longer than any first guess at the size. */
    memset(big, 'z', 1000);
    big[1000] = '\0';
    buf_append(&out, "keep", 4);
    resp_add_errorf(&out, "ERR %s!", big);
    ck_assert_uint_eq(buf_used(&out), 4 + 1 + 4 + 1000 + 1 + 2);
    ck_assert_int_eq(memcmp(buf_head(&out), "keep-ERR zzz", 12), 0);
    ck_assert_int_eq(memcmp(buf_head(&out) + buf_used(&out) - 4, "z!\r\n", 4), 0);
    buf_reset(&out);
}
END_TEST

START_TEST(test_integers)
{
    resp_add_int(&out, 0);
    ck_out(":0\r\n");
    resp_add_int(&out, 42);
    ck_out(":42\r\n");
    resp_add_int(&out, -42);
    ck_out(":-42\r\n");
    resp_add_int(&out, INT64_MAX);
    ck_out(":9223372036854775807\r\n");
    resp_add_int(&out, INT64_MIN);
    ck_out(":-9223372036854775808\r\n");
}
END_TEST

START_TEST(test_bulk_strings)
{
    resp_add_bulk(&out, "abc", 3);
    ck_out("$3\r\nabc\r\n");
    resp_add_bulk(&out, "", 0);
    ck_out("$0\r\n\r\n");
    resp_add_bulk(&out, NULL, 0);
    ck_out("$0\r\n\r\n");
    resp_add_bulk(&out, "a\r\n\0b", 5);
    ck_out("$5\r\na\r\n\0b\r\n");
    resp_add_bulk_cstr(&out, "100000000000");
    ck_out("$12\r\n100000000000\r\n");
    resp_add_bulk_i64(&out, 100000000001);
    ck_out("$12\r\n100000000001\r\n");
    resp_add_bulk_i64(&out, -7);
    ck_out("$2\r\n-7\r\n");
    resp_add_bulk_i64(&out, 0);
    ck_out("$1\r\n0\r\n");
    resp_add_bulk_i64(&out, INT64_MIN);
    ck_out("$20\r\n-9223372036854775808\r\n");
}
END_TEST

/* resp_add_bulk_i64s writes exactly what resp_add_bulk_i64 writes one
 * by one, for the runs it is made for (carries into a new digit, steps
 * of several digits) and for what it must still get right: numbers going
 * down, crossing zero, the ends of int64, a buffer with bytes before. */
START_TEST(test_bulk_number_arrays_match_one_by_one)
{
    static const int64_t cases[][8] = {
        { 0, 1, 2, 9, 10, 11, 99, 100 },
        { 998, 999, 1000, 1001, 9999, 10000, 99999, 100000 },
        { 7, 14, 21, 994, 1001, 1000001, 100000000001, 100000000008 },
        { -3, -2, -1, 0, 1, 2, -100, 5 },
        { INT64_MAX - 2, INT64_MAX - 1, INT64_MAX, INT64_MIN, INT64_MIN + 1, 0, INT64_MAX, 1 },
        { 999999999999999999, 1000000000000000000, 1000000000000000001, 9, 8, 7, 6, 5 },
        { 5, 5, 5, 4, 123456789, 987654321, 100000007, 100000014 },
    };
    struct buf one;

    for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
        for (size_t n = 0; n <= 8; n++) {
            buf_init(&one);
            buf_append(&one, "x", 1);
            buf_reset(&out);
            buf_append(&out, "x", 1);
            for (size_t i = 0; i < n; i++)
                resp_add_bulk_i64(&one, cases[c][i]);
            resp_add_bulk_i64s(&out, cases[c], n);
            ck_assert_uint_eq(out.len, one.len);
            ck_assert_mem_eq(out.data, one.data, one.len);
            buf_free(&one);
        }
    }
    /* A long run: every number from 0 to 100000, then by 1000003. */
    static int64_t run[200000];
    for (size_t i = 0; i < 100000; i++)
        run[i] = (int64_t)i;
    for (size_t i = 100000; i < ARRAY_SIZE(run); i++)
        run[i] = 5 + (int64_t)(i - 100000) * 1000003;
    buf_init(&one);
    buf_reset(&out);
    for (size_t i = 0; i < ARRAY_SIZE(run); i++)
        resp_add_bulk_i64(&one, run[i]);
    resp_add_bulk_i64s(&out, run, ARRAY_SIZE(run));
    ck_assert_uint_eq(out.len, one.len);
    ck_assert_mem_eq(out.data, one.data, one.len);
    buf_free(&one);
}
END_TEST

START_TEST(test_null_per_protocol)
{
    resp_add_null(&out, 2);
    ck_out("$-1\r\n");
    resp_add_null(&out, 3);
    ck_out("_\r\n");
}
END_TEST

START_TEST(test_aggregates_per_protocol)
{
    resp_add_array(&out, 0);
    ck_out("*0\r\n");
    resp_add_array(&out, 3);
    ck_out("*3\r\n");
    resp_add_map(&out, 7, 2);
    ck_out("*14\r\n");
    resp_add_map(&out, 7, 3);
    ck_out("%7\r\n");
    resp_add_map(&out, 0, 3);
    ck_out("%0\r\n");
    resp_add_set(&out, 2, 2);
    ck_out("*2\r\n");
    resp_add_set(&out, 2, 3);
    ck_out("~2\r\n");
}
END_TEST

START_TEST(test_verbatim_per_protocol)
{
    resp_add_verbatim(&out, "hello", 5, 3);
    ck_out("=9\r\ntxt:hello\r\n");
    resp_add_verbatim(&out, "hello", 5, 2);
    ck_out("$5\r\nhello\r\n");
    resp_add_verbatim(&out, "# Server\r\nport:6380\r\n", 21, 3);
    ck_out("=25\r\ntxt:# Server\r\nport:6380\r\n\r\n");
    resp_add_verbatim(&out, "", 0, 3);
    ck_out("=4\r\ntxt:\r\n");
}
END_TEST

/* What HELLO answers, composed from the writers, byte for byte. */
static void write_hello(int proto)
{
    resp_add_map(&out, 3, proto);
    resp_add_bulk_cstr(&out, "server");
    resp_add_bulk_cstr(&out, "seqd");
    resp_add_bulk_cstr(&out, "proto");
    resp_add_int(&out, proto);
    resp_add_bulk_cstr(&out, "modules");
    resp_add_array(&out, 0);
}

START_TEST(test_composed_reply_in_both_protocols)
{
    write_hello(2);
    ck_out("*6\r\n$6\r\nserver\r\n$4\r\nseqd\r\n$5\r\nproto\r\n:2\r\n$7\r\nmodules\r\n*0\r\n");
    write_hello(3);
    ck_out("%3\r\n$6\r\nserver\r\n$4\r\nseqd\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n*0\r\n");
}
END_TEST

static Suite *resp_suite(void)
{
    Suite *s = suite_create("resp");
    TCase *tc;

    tc = tcase_create("malformed");
    tcase_add_loop_test(tc, test_malformed_input_gives_its_protocol_error, 0,
                        (int)ARRAY_SIZE(bad_rows));
    tcase_add_loop_test(tc, test_malformed_input_fed_in_pieces_gives_the_same_error, 0,
                        (int)ARRAY_SIZE(bad_rows));
    suite_add_tcase(s, tc);

    tc = tcase_create("valid");
    tcase_add_loop_test(tc, test_valid_request_parses_whole_and_pipelined, 0,
                        (int)ARRAY_SIZE(good_rows));
    tcase_add_loop_test(tc, test_valid_request_split_at_every_byte, 0,
                        (int)ARRAY_SIZE(good_rows));
    tcase_add_loop_test(tc, test_valid_request_fed_in_pieces_parses_as_whole, 0,
                        (int)ARRAY_SIZE(good_rows));
    suite_add_tcase(s, tc);

    tc = tcase_create("limits");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_max_args_accepted_one_more_refused);
    tcase_add_test(tc, test_limits_above_argv_size_are_capped);
    tcase_add_test(tc, test_max_bulk_accepted_one_more_refused);
    tcase_add_test(tc, test_large_bulk_split_at_every_byte);
    tcase_add_test(tc, test_largest_requests_dribbled_parse_as_whole);
    tcase_add_test(tc, test_claimed_counts_alone_wait_for_data);
    tcase_add_test(tc, test_inline_at_line_limit_accepted_one_more_refused);
    tcase_add_test(tc, test_arguments_point_into_input_unless_unescaped);
    suite_add_tcase(s, tc);

    tc = tcase_create("writers");
    tcase_add_checked_fixture(tc, out_setup, out_teardown);
    tcase_add_test(tc, test_simple_and_error_lines_never_hold_crlf);
    tcase_add_test(tc, test_errorf_formats_and_sanitizes);
    tcase_add_test(tc, test_integers);
    tcase_add_test(tc, test_bulk_strings);
    tcase_add_test(tc, test_bulk_number_arrays_match_one_by_one);
    tcase_add_test(tc, test_null_per_protocol);
    tcase_add_test(tc, test_aggregates_per_protocol);
    tcase_add_test(tc, test_verbatim_per_protocol);
    tcase_add_test(tc, test_composed_reply_in_both_protocols);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(resp_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
