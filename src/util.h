/*
 * util: the few helpers every module uses.
 *
 * Out-of-memory rule: seqd is a small server whose allocations are bounded;
 * when one fails anyway, it aborts through xalloc_fail() with a log line.
 * No caller checks for NULL from the x* functions.
 */
#ifndef SEQD_UTIL_H
#define SEQD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Strict decimal parsers: the whole of s[0..len) must be an optional '-'
 * (signed only) followed by digits, no spaces, no '+', no leading zeros
 * except "0" itself, no overflow. Return true and set *out on success. */
bool parse_i64(const char *s, size_t len, int64_t *out);
bool parse_u64(const char *s, size_t len, uint64_t *out);

/* Milliseconds from CLOCK_MONOTONIC: for durations, never affected by a
 * change of the wall clock. */
uint64_t mono_ms(void);
/* The same clock in microseconds (latencies). */
uint64_t mono_us(void);

/* Case-insensitive compare of a counted string with a C string. */
bool str_ieq(const char *s, size_t len, const char *cstr);

/* Copy at most dstlen-1 bytes and always terminate. Returns strlen(src). */
size_t strlcpy_safe(char *dst, const char *src, size_t dstlen);
/* The value of hex digit c (either case), or -1. */
int hex_digit_value(char c);

/* Make untrusted bytes safe to show in a log line or an error reply: copy
 * at most outlen-1 bytes of p[0..len) into out, printable ASCII (0x20..0x7e)
 * as it is and every other byte as '?'; always terminated. The one rule
 * for quoting what a client, a file or a database row sent. Returns out. */
char *str_printable(const char *p, size_t len, char *out, size_t outlen);

struct sockaddr_storage;
/* A peer's address for log lines: "1.2.3.4:5000", "[::1]:5000" (IPv6),
 * "unix" for any other family; always terminated. */
void addr_format(const struct sockaddr_storage *ss, char *out, size_t len);

/* 64-bit FNV-1a over p[0..len), continuing from h (FNV1A64_INIT to
 * start): a stable, platform-independent hash (file names, row digests,
 * derived keys). Not for anything an attacker chooses against us. */
#define FNV1A64_INIT UINT64_C(14695981039346656037)
uint64_t fnv1a64(uint64_t h, const void *p, size_t len);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The struct `type` that embeds `member` at ptr (a core_waiter in a
 * connection, say). The cast goes through void *: the struct's alignment
 * is its own, and clang's -Wcast-align cannot know that from a char *. */
#define CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
