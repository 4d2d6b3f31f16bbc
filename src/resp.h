/*
 * resp: the Redis protocol, both ways. Pure: no I/O, no globals.
 *
 * resp_parse() reads one request (a *N multibulk array or an inline line)
 * from the front of a byte range without copying: the argument pointers
 * point into that range. When the range holds only part of a request it
 * returns RESP_AGAIN and the caller retries with more bytes. A caller that
 * keeps a struct resp_progress per client and calls resp_parse_more()
 * instead has the parse go on where it stopped (Redis' multibulklen and
 * bulklen), so a request read in many pieces is not parsed again from its
 * start for each piece.
 *
 * The writers append replies to a struct buf, in RESP2 or RESP3 (proto).
 */
#ifndef SEQD_RESP_H
#define SEQD_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define RESP_MAX_LINE (64 * 1024)      /* inline and header lines, as Redis */
#define RESP_MAX_ARGS 4096             /* after authentication */
#define RESP_MAX_BULK (64 * 1024)      /* seqd's arguments are names and numbers */
#define RESP_PREAUTH_MAX_ARGS 10
#define RESP_PREAUTH_MAX_BULK (16 * 1024)

enum resp_status { RESP_OK, RESP_AGAIN, RESP_ERR };

struct resp_limits {
    size_t max_args;
    size_t max_bulk;
    /* Before AUTH: a count past these limits is refused as Redis does it,
     * "unauthenticated multibulk length" / "unauthenticated bulk length". */
    bool unauthenticated;
};

struct resp_request {
    int argc;                         /* 0: an empty inline line, skip it */
    const char *argv[RESP_MAX_ARGS];  /* into the parsed bytes, not NUL-terminated */
    size_t argl[RESP_MAX_ARGS];
    /* Inline arguments with quotes or escapes are unescaped into here. */
    char scratch[RESP_MAX_LINE];
};

/* Where the parse of a partial request stopped. Positions count from the
 * request's first byte, so the caller may move the bytes between calls
 * (compact or grow its buffer) as long as they stay the same bytes. */
struct resp_progress {
    size_t pos;       /* bytes of the request checked so far */
    size_t args;      /* multibulk: its argument count, once read (multibulklen) */
    size_t done;      /* multibulk: arguments read whole */
    int64_t bulklen;  /* multibulk: the length of the argument whose data is
                         awaited, -1 while its $ header is */
};

/* Parse one request from buf[0..len).
 * RESP_OK: *req filled, *consumed = bytes of this request.
 * RESP_AGAIN: not a whole request yet (nothing is wrong so far).
 * RESP_ERR: *err is a static message for "-ERR Protocol error: <err>",
 *           e.g. "invalid multibulk length"; the caller closes after replying. */
enum resp_status resp_parse(const char *buf, size_t len, const struct resp_limits *lim,
                            struct resp_request *req, size_t *consumed, const char **err);

/* A fresh progress: the next resp_parse_more() starts a request. */
void resp_progress_reset(struct resp_progress *pr);

/* resp_parse() going on from *pr: buf[0..len) is the same request as in the
 * previous call with more bytes behind (and with the same limits). Same
 * results as resp_parse() on the same bytes; RESP_AGAIN saves the place in
 * *pr, RESP_OK and RESP_ERR reset it for the next request. Each call costs
 * the new bytes' headers (bulk data is skipped), and the call that
 * completes a request one more pass over its headers to fill req. */
enum resp_status resp_parse_more(struct resp_progress *pr, const char *buf, size_t len,
                                 const struct resp_limits *lim, struct resp_request *req,
                                 size_t *consumed, const char **err);

/* Writers. proto is 2 or 3. */
void resp_add_simple(struct buf *b, const char *s);               /* +s */
void resp_add_error(struct buf *b, const char *s);                /* -s (s starts with ERR, NOAUTH, ...) */
void resp_add_errorf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void resp_add_int(struct buf *b, int64_t v);                      /* :v */
void resp_add_bulk(struct buf *b, const char *p, size_t n);       /* $n p */
void resp_add_bulk_cstr(struct buf *b, const char *s);
void resp_add_bulk_i64(struct buf *b, int64_t v);
/* n numbers, each as resp_add_bulk_i64 writes it (the bytes are the
 * same), for NEXT's long replies: the room is reserved once, and a number
 * above the one before it is written as that one's text plus the
 * difference, which is cheap for the runs an increasing sequence gives. */
void resp_add_bulk_i64s(struct buf *b, const int64_t *v, size_t n);
void resp_add_null(struct buf *b, int proto);                     /* $-1 or _ */
void resp_add_array(struct buf *b, size_t n);                     /* *n */
void resp_add_map(struct buf *b, size_t pairs, int proto);        /* %n, or *2n in RESP2 */
void resp_add_set(struct buf *b, size_t n, int proto);            /* ~n, or *n in RESP2 */
void resp_add_verbatim(struct buf *b, const char *p, size_t n, int proto); /* =n txt:..., or bulk */

#endif
