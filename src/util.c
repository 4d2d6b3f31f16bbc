/*
 * util: allocation that aborts on failure, strict number parsing, a
 * monotonic clock, two small string helpers and a peer address for logs.
 *
 * Every x* allocator fails through xalloc_fail(): seqd's allocations are
 * bounded, so running out of memory is not a condition worth unwinding;
 * one line on stderr and abort() leave a core to look at.
 */
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Writes with write(2), not stdio or the log module: both may allocate,
 * and the log module may itself be the caller that ran out. */
static void __attribute__((noreturn)) xalloc_fail(void)
{
    static const char msg[] = "seqd: out of memory\n";
    ssize_t r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)r;
    abort();
}

void *xmalloc(size_t size)
{
    /* malloc(0) may legally return NULL; ask for one byte so that NULL
     * always means failure. */
    void *p = malloc(size ? size : 1);
    if (p == NULL)
        xalloc_fail();
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p;
    if (n == 0 || size == 0)
        n = size = 1;
    p = calloc(n, size); /* calloc checks n * size for overflow */
    if (p == NULL)
        xalloc_fail();
    return p;
}

void *xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (q == NULL)
        xalloc_fail();
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* The digits part shared by both parsers: s[0..len) must be "0" or a
 * non-zero digit followed by digits, and the value must fit in limit. */
static bool parse_digits(const char *s, size_t len, uint64_t limit, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (len == 0)
        return false;
    if (s[0] == '0') {
        if (len != 1)
            return false;
        *out = 0;
        return true;
    }
    for (i = 0; i < len; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return false;
        if (v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool parse_i64(const char *s, size_t len, int64_t *out)
{
    uint64_t v;

    if (len > 0 && s[0] == '-') {
        /* "-0" is refused like any other leading zero: parse_digits
         * accepts "0", so catch it here. */
        if (!parse_digits(s + 1, len - 1, (uint64_t)INT64_MAX + 1, &v) || v == 0)
            return false;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
        return true;
    }
    if (!parse_digits(s, len, INT64_MAX, &v))
        return false;
    *out = (int64_t)v;
    return true;
}

bool parse_u64(const char *s, size_t len, uint64_t *out)
{
    return parse_digits(s, len, UINT64_MAX, out);
}

uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ASCII only, on purpose: command names and keywords are ASCII, and the
 * result must not depend on the locale. */
static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

bool str_ieq(const char *s, size_t len, const char *cstr)
{
    size_t i;
    for (i = 0; i < len; i++) {
        if (cstr[i] == '\0')
            return false;
        if (ascii_lower((unsigned char)s[i]) != ascii_lower((unsigned char)cstr[i]))
            return false;
    }
    return cstr[len] == '\0';
}

int hex_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t strlcpy_safe(char *dst, const char *src, size_t dstlen)
{
    size_t srclen = strlen(src);
    if (dstlen > 0) {
        size_t n = srclen < dstlen - 1 ? srclen : dstlen - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return srclen;
}

char *str_printable(const char *p, size_t len, char *out, size_t outlen)
{
    if (outlen == 0)
        return out;
    size_t n = len < outlen - 1 ? len : outlen - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = ((unsigned char)p[i] >= 0x20 && (unsigned char)p[i] < 0x7f) ? p[i] : '?';
    out[n] = '\0';
    return out;
}

void addr_format(const struct sockaddr_storage *ss, char *out, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        port = ntohs(sin->sin_port);
        snprintf(out, len, "%s:%d", host, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        port = ntohs(sin6->sin6_port);
        snprintf(out, len, "[%s]:%d", host, port);
    } else {
        snprintf(out, len, "unix");
    }
}

uint64_t fnv1a64(uint64_t h, const void *p, size_t len)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}
