/*
 * fuzz_resp: libFuzzer target for the RESP parser (src/resp.c).
 *
 * The property: feeding the bytes in pieces to resp_parse_more(), as a
 * connection does when a request arrives in several reads, gives exactly
 * what resp_parse() gives on the whole input: the same requests with the
 * same arguments, then the same end (more bytes needed, or the same
 * protocol error). Any difference abort()s. Every parsed request is also
 * written back with the reply writers as a multibulk array and parsed
 * again: it must come back argument for argument.
 *
 * Input: [mode] [n] [n piece sizes] [RESP bytes]
 *   mode: bits 0-1 pick the limits: 0 after AUTH, 1 before AUTH, 2 tiny
 *         (3 arguments, 8-byte bulks) so that the limit paths are reached
 *         often; 3 as 0.
 *   n (mod 16) piece sizes, each byte b meaning b+1 bytes; they repeat
 *   until the input is used up; n = 0 feeds the whole input at once.
 *
 * Each parse reads from a heap block of exactly the bytes it may look at,
 * so a read past them is an ASan report; the incremental parse gets a
 * fresh block for every piece, as its bytes move when a buffer grows.
 * No state is kept between runs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "resp.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PIECES 16

static const struct resp_limits lim_authed = { RESP_MAX_ARGS, RESP_MAX_BULK, false };
static const struct resp_limits lim_preauth = { RESP_PREAUTH_MAX_ARGS, RESP_PREAUTH_MAX_BULK, true };
static const struct resp_limits lim_tiny = { 3, 8, false };

/* ~130 KB each: not on the stack. Scratch, overwritten by every parse. */
static struct resp_request req, again;

static void fail(const char *what, const struct buf *a, const struct buf *b)
{
    char pa[512], pb[512];
    fprintf(stderr, "fuzz_resp: %s\n", what);
    if (a != NULL && b != NULL) {
        str_printable(a->data, a->len, pa, sizeof(pa));
        str_printable(b->data, b->len, pb, sizeof(pb));
        fprintf(stderr, "  whole parse: %s\n  in pieces:   %s\n", pa, pb);
    }
    abort();
}

/* Arguments point into the request's bytes or into its scratch, never
 * elsewhere; their count is within the limits. */
static void check_request(const struct resp_request *r, const char *buf, size_t consumed,
                          const struct resp_limits *lim)
{
    if (r->argc < 0 || (size_t)r->argc > lim->max_args)
        fail("argument count out of limits", NULL, NULL);
    for (int i = 0; i < r->argc; i++) {
        const char *p = r->argv[i];
        size_t n = r->argl[i];
        bool in_buf = p >= buf && p <= buf + consumed && n <= (size_t)(buf + consumed - p);
        bool in_scratch = p >= r->scratch && p <= r->scratch + sizeof(r->scratch) &&
                          n <= (size_t)(r->scratch + sizeof(r->scratch) - p);
        if (!in_buf && !in_scratch)
            fail("an argument points outside the request and its scratch", NULL, NULL);
        if (buf[0] == '*' && (!in_buf || n > lim->max_bulk))
            fail("a multibulk argument is not a bulk of the request within the limit", NULL, NULL);
    }
}

/* The request, written back as *N $len arg ..., must parse to itself. */
static void check_round_trip(const struct resp_request *r)
{
    struct buf out;
    size_t consumed = 0;
    const char *err = NULL;

    buf_init(&out);
    resp_add_array(&out, (size_t)r->argc);
    for (int i = 0; i < r->argc; i++)
        resp_add_bulk(&out, r->argv[i], r->argl[i]);
    char *block = xmalloc(out.len);
    memcpy(block, out.data, out.len);
    enum resp_status st = resp_parse(block, out.len, &lim_authed, &again, &consumed, &err);
    bool same = st == RESP_OK && consumed == out.len && again.argc == r->argc;
    for (int i = 0; same && i < r->argc; i++)
        same = again.argl[i] == r->argl[i] && memcmp(again.argv[i], r->argv[i], r->argl[i]) == 0;
    /* *0 is "nothing to run", so an empty inline line comes back as
     * argc 0 too: the same. */
    free(block);
    buf_free(&out);
    if (!same)
        fail("a request written back with the reply writers parses differently", NULL, NULL);
}

/* One parsed request into the transcript: its arguments, length-prefixed. */
static void note_request(struct buf *t, const struct resp_request *r, size_t consumed)
{
    buf_printf(t, "OK %zu bytes, %d args:", consumed, r->argc);
    for (int i = 0; i < r->argc; i++) {
        buf_printf(t, " %zu:", r->argl[i]);
        buf_append(t, r->argv[i], r->argl[i]);
    }
    buf_append(t, "\n", 1);
}

static void note_end(struct buf *t, enum resp_status st, const char *err, size_t left)
{
    if (st == RESP_ERR)
        buf_printf(t, "ERR %s\n", err ? err : "(no message)");
    else
        buf_printf(t, "AGAIN with %zu bytes left\n", left);
}

/* resp_parse() from the start of each request of the whole input. */
static void parse_whole(const char *in, size_t len, const struct resp_limits *lim, struct buf *t)
{
    char *block = xmalloc(len ? len : 1);
    size_t off = 0;
    enum resp_status st;
    const char *err = NULL;

    memcpy(block, in, len);
    for (;;) {
        size_t consumed = 0;
        st = resp_parse(block + off, len - off, lim, &req, &consumed, &err);
        if (st != RESP_OK)
            break;
        if (consumed == 0 || consumed > len - off)
            fail("resp_parse consumed no bytes or more than it had", NULL, NULL);
        check_request(&req, block + off, consumed, lim);
        note_request(t, &req, consumed);
        check_round_trip(&req);
        off += consumed;
    }
    note_end(t, st, err, len - off);
    free(block);
}

/* resp_parse_more() as a connection calls it: after each piece, on the
 * bytes not yet consumed (in a fresh block of exactly that size), until
 * it needs more. */
static void parse_pieces(const char *in, size_t len, const struct resp_limits *lim,
                         const uint8_t *sizes, size_t nsizes, struct buf *t)
{
    struct resp_progress pr;
    size_t start = 0, fed = 0, piece = 0;
    enum resp_status st = RESP_AGAIN;
    const char *err = NULL;

    resp_progress_reset(&pr);
    while (fed < len) {
        size_t n = nsizes == 0 ? len : (size_t)sizes[piece++ % nsizes] + 1;
        fed += n < len - fed ? n : len - fed;
        for (;;) {
            size_t avail = fed - start, consumed = 0;
            char *block = xmalloc(avail ? avail : 1);
            memcpy(block, in + start, avail);
            st = resp_parse_more(&pr, block, avail, lim, &req, &consumed, &err);
            if (st == RESP_OK) {
                if (consumed == 0 || consumed > avail)
                    fail("resp_parse_more consumed no bytes or more than it had", NULL, NULL);
                check_request(&req, block, consumed, lim);
                note_request(t, &req, consumed);
                start += consumed;
            }
            free(block);
            if (st != RESP_OK)
                break;
        }
        if (st == RESP_ERR)
            break;
    }
    note_end(t, st, err, len - start);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct resp_limits *const limits[] = { &lim_authed, &lim_preauth, &lim_tiny, &lim_authed };
    struct buf whole, pieces;

    if (size < 2)
        return 0;
    const struct resp_limits *lim = limits[data[0] & 3];
    size_t nsizes = data[1] % MAX_PIECES;
    if (size < 2 + nsizes)
        return 0;
    const uint8_t *sizes = data + 2;
    const char *in = (const char *)data + 2 + nsizes;
    size_t len = size - 2 - nsizes;

    buf_init(&whole);
    buf_init(&pieces);
    parse_whole(in, len, lim, &whole);
    parse_pieces(in, len, lim, sizes, nsizes, &pieces);
    if (whole.len != pieces.len || memcmp(whole.data, pieces.data, whole.len) != 0)
        fail("the parse in pieces differs from the parse of the whole input", &whole, &pieces);
    buf_free(&whole);
    buf_free(&pieces);
    return 0;
}
