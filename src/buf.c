/*
 * buf: a growable byte buffer with a read offset.
 *
 * Writers append at len; readers take from off. Growing keeps off and len
 * (only data may move), so offsets a caller holds stay valid; bytes move to
 * the front only in buf_compact(), or when everything has been consumed.
 */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define BUF_MIN_CAP 256
/* An empty buffer bigger than this is given back on compaction, so one
 * large burst does not pin memory on an idle connection. */
#define BUF_IDLE_MAX_CAP (64 * 1024)

void buf_init(struct buf *b)
{
    b->data = NULL;
    b->len = b->off = b->cap = 0;
}

void buf_free(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

void buf_reserve(struct buf *b, size_t n)
{
    size_t need, cap;

    if (b->cap - b->len >= n)
        return;
    if (n > SIZE_MAX / 2 - b->len)
        abort(); /* no real request comes near this; a caller bug */
    need = b->len + n;
    cap = b->cap ? b->cap : BUF_MIN_CAP;
    while (cap < need)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void buf_add_str(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_add_u64(struct buf *b, uint64_t v)
{
    char tmp[20];
    size_t n = 0;

    do {
        tmp[sizeof(tmp) - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    buf_append(b, tmp + sizeof(tmp) - n, n);
}

void buf_add_i64(struct buf *b, int64_t v)
{
    if (v < 0) {
        buf_append(b, "-", 1);
        buf_add_u64(b, (uint64_t)0 - (uint64_t)v);     /* INT64_MIN too */
        return;
    }
    buf_add_u64(b, (uint64_t)v);
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    /* Try in the room there is; on a short write, grow to the exact size
     * vsnprintf reported and format again. */
    buf_reserve(b, 128);
    va_start(ap, fmt);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        buf_reserve(b, (size_t)n + 1);
        va_start(ap, fmt);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
    }
    b->len += (size_t)n;
}

void buf_consume(struct buf *b, size_t n)
{
    if (n > b->len - b->off)
        n = b->len - b->off;
    b->off += n;
    /* Fully read: start over at the front for free, no memmove needed. */
    if (b->off == b->len)
        b->off = b->len = 0;
}

void buf_compact(struct buf *b)
{
    if (b->off > 0) {
        size_t used = b->len - b->off;
        if (used > 0)
            memmove(b->data, b->data + b->off, used);
        b->len = used;
        b->off = 0;
    }
    if (b->len == 0 && b->cap > BUF_IDLE_MAX_CAP)
        buf_free(b);
}

void buf_reset(struct buf *b)
{
    b->len = b->off = 0;
}

void buf_json_string(struct buf *out, const char *s)
{
    const char *run = s;

    buf_append(out, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            continue;
        buf_append(out, run, (size_t)(s - run));
        if (c == '"' || c == '\\') {
            char esc[2] = { '\\', (char)c };
            buf_append(out, esc, 2);
        } else {
            char esc[8];
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            buf_append(out, esc, 6);
        }
        run = s + 1;
    }
    buf_append(out, run, (size_t)(s - run));
    buf_append(out, "\"", 1);
}
