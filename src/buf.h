/*
 * buf: a growable byte buffer with a read offset, used for each
 * connection's input and output.
 */
#ifndef SEQD_BUF_H
#define SEQD_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
    char *data;
    size_t len;   /* bytes written */
    size_t off;   /* bytes already consumed from the front */
    size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
/* Make room for at least n more bytes after len (may move data). */
void buf_reserve(struct buf *b, size_t n);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append a C string, or a number in decimal (no printf: for large reports). */
void buf_add_str(struct buf *b, const char *s);
void buf_add_u64(struct buf *b, uint64_t v);
void buf_add_i64(struct buf *b, int64_t v);
/* Unconsumed bytes and their count. A buffer that holds no memory (never
 * written, or given back by buf_compact) has an empty head, not NULL + 0,
 * which C leaves undefined (clang's UBSan reports it). */
static inline const char *buf_head(const struct buf *b) { return b->data ? b->data + b->off : ""; }
static inline size_t buf_used(const struct buf *b) { return b->len - b->off; }
void buf_consume(struct buf *b, size_t n);
/* Move unconsumed bytes to the front; shrink a large idle buffer. */
void buf_compact(struct buf *b);
void buf_reset(struct buf *b);

/* Append s as a JSON string, quotes included. Control bytes and bytes
 * above 0x7e become \u00XX (names are printable ASCII; a row's
 * description or a store's error text may not be, and the text must stay
 * valid UTF-8). */
void buf_json_string(struct buf *out, const char *s);

#endif
