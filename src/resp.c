/*
 * resp: the Redis protocol parser and reply writers. Pure: no I/O, no
 * globals beyond constant tables.
 *
 * The parser follows Redis' networking.c (processMultibulkBuffer and
 * processInlineBuffer) and its limits: header and inline lines are bounded,
 * so a client cannot make it scan without end; counts are checked against
 * the limits before anything is trusted, and nothing is ever allocated from
 * a count the client claims (argv is a fixed array, arguments point into
 * the caller's bytes). Like Redis (multibulklen, bulklen) it can keep its
 * place in a partial request between reads (struct resp_progress), so a
 * request that arrives in many small pieces costs work in proportion to
 * its bytes, not to its bytes times its pieces; resp_parse() is the same
 * parse from the start, for a caller that looks ahead without keeping a
 * place. Bulk data is never scanned: it is skipped by its length.
 */
#include "resp.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* ---- parser ----------------------------------------------------------- */

/* "expected '$', got 'X'" for every byte, as constants so *err can stay a
 * static string: printable bytes as themselves, the rest as \xHH so a log
 * line never carries a raw control byte. */
#define G(c) "expected '$', got '" c "'"
static const char *const resp_err_dollar_printable[0x7f - 0x20] = {
    G(" "), G("!"), G("\""), G("#"), G("$"), G("%"), G("&"), G("'"), G("("), G(")"), G("*"), G("+"),
    G(","), G("-"), G("."), G("/"), G("0"), G("1"), G("2"), G("3"), G("4"), G("5"), G("6"), G("7"),
    G("8"), G("9"), G(":"), G(";"), G("<"), G("="), G(">"), G("?"), G("@"), G("A"), G("B"), G("C"),
    G("D"), G("E"), G("F"), G("G"), G("H"), G("I"), G("J"), G("K"), G("L"), G("M"), G("N"), G("O"),
    G("P"), G("Q"), G("R"), G("S"), G("T"), G("U"), G("V"), G("W"), G("X"), G("Y"), G("Z"), G("["),
    G("\\"), G("]"), G("^"), G("_"), G("`"), G("a"), G("b"), G("c"), G("d"), G("e"), G("f"), G("g"),
    G("h"), G("i"), G("j"), G("k"), G("l"), G("m"), G("n"), G("o"), G("p"), G("q"), G("r"), G("s"),
    G("t"), G("u"), G("v"), G("w"), G("x"), G("y"), G("z"), G("{"), G("|"), G("}"), G("~"),
};
#define RESP_HEX(h, l) G("\\x" #h #l),
#define RESP_HEX_ROW(h)                                                                        \
    RESP_HEX(h, 0) RESP_HEX(h, 1) RESP_HEX(h, 2) RESP_HEX(h, 3) RESP_HEX(h, 4) RESP_HEX(h, 5) \
    RESP_HEX(h, 6) RESP_HEX(h, 7) RESP_HEX(h, 8) RESP_HEX(h, 9) RESP_HEX(h, a) RESP_HEX(h, b) \
    RESP_HEX(h, c) RESP_HEX(h, d) RESP_HEX(h, e) RESP_HEX(h, f)
static const char *const resp_err_dollar_hex[256] = {
    RESP_HEX_ROW(0) RESP_HEX_ROW(1) RESP_HEX_ROW(2) RESP_HEX_ROW(3)
    RESP_HEX_ROW(4) RESP_HEX_ROW(5) RESP_HEX_ROW(6) RESP_HEX_ROW(7)
    RESP_HEX_ROW(8) RESP_HEX_ROW(9) RESP_HEX_ROW(a) RESP_HEX_ROW(b)
    RESP_HEX_ROW(c) RESP_HEX_ROW(d) RESP_HEX_ROW(e) RESP_HEX_ROW(f)
};
#undef RESP_HEX_ROW
#undef RESP_HEX
#undef G

static const char *resp_err_dollar(unsigned char c)
{
    if (c >= 0x20 && c < 0x7f)
        return resp_err_dollar_printable[c - 0x20];
    return resp_err_dollar_hex[c];
}

/* Find the end of a header line (the digits after '*' or '$') in
 * p[0..avail). RESP_OK: *linelen bytes before the CRLF. RESP_AGAIN: no CR
 * yet, or CR is the last byte. RESP_ERR: no CR within RESP_MAX_LINE bytes
 * (*err = too_big), or a CR not followed by LF (*err = bad). */
static enum resp_status resp_header_line(const char *p, size_t avail, size_t *linelen,
                                         const char *too_big, const char *bad,
                                         const char **err)
{
    size_t scan = avail < RESP_MAX_LINE + 1 ? avail : RESP_MAX_LINE + 1;
    const char *cr = memchr(p, '\r', scan);

    if (cr == NULL) {
        if (avail > RESP_MAX_LINE) {
            *err = too_big;
            return RESP_ERR;
        }
        return RESP_AGAIN;
    }
    *linelen = (size_t)(cr - p);
    if (*linelen + 1 >= avail)
        return RESP_AGAIN;
    if (cr[1] != '\n') {
        *err = bad;
        return RESP_ERR;
    }
    return RESP_OK;
}

/* Go on with the multibulk request at buf[0..len) from where *pr says the
 * last call stopped (all zero: from its start). Arguments that this call
 * completes are put into req->argv (when req is not NULL); those of earlier
 * calls are not, as their bytes may have moved since. RESP_OK: the request
 * ends at pr->pos and has pr->args arguments (0 for *0 and *-1). */
static enum resp_status resp_multibulk_step(const char *buf, size_t len, size_t max_args,
                                            size_t max_bulk, bool unauthenticated,
                                            struct resp_progress *pr,
                                            struct resp_request *req, const char **err)
{
    enum resp_status st;
    size_t linelen, pos;
    int64_t n, blen;

    if (pr->args == 0) {
        st = resp_header_line(buf + 1, len - 1, &linelen, "too big mbulk count string",
                              "invalid multibulk length", err);
        if (st != RESP_OK)
            return st;
        if (!parse_i64(buf + 1, linelen, &n)) {
            *err = "invalid multibulk length";
            return RESP_ERR;
        }
        pr->pos = 1 + linelen + 2;
        if (n <= 0)
            return RESP_OK; /* Redis ignores *0 and *-1: nothing to run */
        if ((uint64_t)n > max_args) {
            *err = unauthenticated ? "unauthenticated multibulk length" : "invalid multibulk length";
            return RESP_ERR;
        }
        pr->args = (size_t)n;
        pr->done = 0;
        pr->bulklen = -1;
    }

    pos = pr->pos;
    while (pr->done < pr->args) {
        if (pr->bulklen < 0) {
            if (pos >= len)
                break;
            if (buf[pos] != '$') {
                *err = resp_err_dollar((unsigned char)buf[pos]);
                return RESP_ERR;
            }
            st = resp_header_line(buf + pos + 1, len - pos - 1, &linelen,
                                  "too big bulk count string", "invalid bulk length", err);
            if (st == RESP_AGAIN)
                break;
            if (st != RESP_OK)
                return st;
            bool number = parse_i64(buf + pos + 1, linelen, &blen);
            if (!number || blen < 0 || (uint64_t)blen > max_bulk) {
                /* Only a good length past the limit is Redis' "unauthenticated"
                 * one: blen is not set when the line is not a number. */
                *err = number && blen >= 0 && unauthenticated ? "unauthenticated bulk length"
                                                              : "invalid bulk length";
                return RESP_ERR;
            }
            pos += 1 + linelen + 2;
            pr->bulklen = blen;
        }
        blen = pr->bulklen;
        /* The data and its CRLF; written so that no sum can overflow. */
        if (len - pos < 2 || len - pos - 2 < (uint64_t)blen)
            break;
        if (buf[pos + blen] != '\r' || buf[pos + blen + 1] != '\n') {
            *err = "expected CRLF after bulk data";
            return RESP_ERR;
        }
        if (req != NULL) {
            req->argv[pr->done] = buf + pos;
            req->argl[pr->done] = (size_t)blen;
        }
        pos += (size_t)blen + 2;
        pr->done++;
        pr->bulklen = -1;
    }
    pr->pos = pos;
    return pr->done < pr->args ? RESP_AGAIN : RESP_OK;
}

/* The separators of an inline command: C's isspace() in the "C" locale,
 * spelled out so that the locale cannot change it. */
static bool resp_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Split line[0..n) into arguments the way Redis' sdssplitargs() does.
 * An argument without quotes points into line; one with quotes is
 * unescaped into req->scratch. Unescaping never lengthens an argument and
 * n <= RESP_MAX_LINE, so scratch cannot overflow. Returns NULL or the
 * error text. */
static const char *resp_split_inline(const char *line, size_t n, size_t max_args,
                                     struct resp_request *req)
{
    char *scratch = req->scratch;
    size_t i = 0, sp = 0, argc = 0;

    for (;;) {
        size_t start, tok;
        bool plain = true, inq = false, insq = false;

        while (i < n && resp_is_space(line[i]))
            i++;
        if (i == n)
            break;
        if (argc == max_args)
            return "too many arguments";
        start = i;
        tok = sp;

        for (;;) {
            char c;
            if (inq) {
                if (i == n)
                    return "unbalanced quotes in request";
                c = line[i];
                if (c == '\\' && i + 3 < n && line[i + 1] == 'x' &&
                    hex_digit_value(line[i + 2]) >= 0 && hex_digit_value(line[i + 3]) >= 0) {
                    scratch[sp++] = (char)(hex_digit_value(line[i + 2]) * 16 +
                                           hex_digit_value(line[i + 3]));
                    i += 4;
                } else if (c == '\\' && i + 1 < n) {
                    switch (line[i + 1]) {
                    case 'n': c = '\n'; break;
                    case 'r': c = '\r'; break;
                    case 't': c = '\t'; break;
                    case 'b': c = '\b'; break;
                    case 'a': c = '\a'; break;
                    default: c = line[i + 1]; break;
                    }
                    scratch[sp++] = c;
                    i += 2;
                } else if (c == '"') {
                    /* A closing quote must end the argument: "a"b is an
                     * error in Redis too. */
                    if (i + 1 < n && !resp_is_space(line[i + 1]))
                        return "unbalanced quotes in request";
                    i++;
                    break;
                } else {
                    scratch[sp++] = c;
                    i++;
                }
            } else if (insq) {
                if (i == n)
                    return "unbalanced quotes in request";
                c = line[i];
                if (c == '\\' && i + 1 < n && line[i + 1] == '\'') {
                    scratch[sp++] = '\'';
                    i += 2;
                } else if (c == '\'') {
                    if (i + 1 < n && !resp_is_space(line[i + 1]))
                        return "unbalanced quotes in request";
                    i++;
                    break;
                } else {
                    scratch[sp++] = c;
                    i++;
                }
            } else {
                if (i == n || resp_is_space(line[i]))
                    break;
                c = line[i];
                if (c == '"' || c == '\'') {
                    if (plain) {
                        /* From here on the argument differs from the
                         * input: move what came before the quote over. */
                        memcpy(scratch + sp, line + start, i - start);
                        sp += i - start;
                        plain = false;
                    }
                    if (c == '"')
                        inq = true;
                    else
                        insq = true;
                } else if (!plain) {
                    scratch[sp++] = c;
                }
                i++;
            }
        }

        if (plain) {
            req->argv[argc] = line + start;
            req->argl[argc] = i - start;
        } else {
            req->argv[argc] = scratch + tok;
            req->argl[argc] = sp - tok;
        }
        argc++;
    }
    req->argc = (int)argc;
    return NULL;
}

/* Go on looking for the end of an inline line in buf[0..len): the first
 * pr->pos bytes are known to hold no LF. RESP_OK: the line (LF included)
 * is pr->pos bytes long. */
static enum resp_status resp_inline_step(const char *buf, size_t len, struct resp_progress *pr,
                                         const char **err)
{
    size_t scan = len < RESP_MAX_LINE + 1 ? len : RESP_MAX_LINE + 1;
    const char *nl = NULL;

    if (pr->pos < scan)
        nl = memchr(buf + pr->pos, '\n', scan - pr->pos);
    if (nl == NULL) {
        if (len > RESP_MAX_LINE) {
            *err = "too big inline request";
            return RESP_ERR;
        }
        pr->pos = len;
        return RESP_AGAIN;
    }
    pr->pos = (size_t)(nl - buf) + 1;
    return RESP_OK;
}

/* Split the inline line buf[0..n) (its LF included) into req. */
static enum resp_status resp_inline_split(const char *buf, size_t n, size_t max_args,
                                          struct resp_request *req, const char **err)
{
    n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    *err = resp_split_inline(buf, n, max_args, req);
    return *err == NULL ? RESP_OK : RESP_ERR;
}

static void resp_limits_get(const struct resp_limits *lim, size_t *max_args, size_t *max_bulk,
                            bool *unauthenticated)
{
    *max_args = RESP_MAX_ARGS;
    *max_bulk = RESP_MAX_BULK;
    *unauthenticated = lim != NULL && lim->unauthenticated;
    if (lim != NULL) {
        /* argv has RESP_MAX_ARGS slots, whatever the caller asks for. */
        *max_args = lim->max_args < RESP_MAX_ARGS ? lim->max_args : RESP_MAX_ARGS;
        *max_bulk = lim->max_bulk;
    }
}

void resp_progress_reset(struct resp_progress *pr)
{
    memset(pr, 0, sizeof(*pr));
}

/* The one parse: from *pr on (zeroed: from the start), filling req with
 * what this call reads. A request completed by a resumed call is parsed
 * once more from its start, in one go, to point argv at its bytes where
 * they are now. */
static enum resp_status resp_parse_from(struct resp_progress *pr, const char *buf, size_t len,
                                        const struct resp_limits *lim,
                                        struct resp_request *req, size_t *consumed,
                                        const char **err)
{
    size_t max_args, max_bulk;
    bool resumed = pr->pos > 0, unauth;
    enum resp_status st;

    resp_limits_get(lim, &max_args, &max_bulk, &unauth);
    req->argc = 0;
    *err = NULL;
    if (len == 0)
        return RESP_AGAIN;
    if (buf[0] == '*')
        st = resp_multibulk_step(buf, len, max_args, max_bulk, unauth, pr, resumed ? NULL : req, err);
    else
        st = resp_inline_step(buf, len, pr, err);
    if (st != RESP_OK)
        return st;

    if (buf[0] != '*') {
        st = resp_inline_split(buf, pr->pos, max_args, req, err);
        if (st != RESP_OK)
            return st;
    } else {
        if (resumed && pr->args > 0) {
            struct resp_progress whole;
            resp_progress_reset(&whole);
            st = resp_multibulk_step(buf, pr->pos, max_args, max_bulk, unauth, &whole, req, err);
            if (st != RESP_OK) /* cannot be: these bytes were all checked */
                return st;
        }
        req->argc = (int)pr->args;
    }
    *consumed = pr->pos;
    return RESP_OK;
}

enum resp_status resp_parse(const char *buf, size_t len, const struct resp_limits *lim,
                            struct resp_request *req, size_t *consumed, const char **err)
{
    struct resp_progress pr;

    resp_progress_reset(&pr);
    return resp_parse_from(&pr, buf, len, lim, req, consumed, err);
}

enum resp_status resp_parse_more(struct resp_progress *pr, const char *buf, size_t len,
                                 const struct resp_limits *lim, struct resp_request *req,
                                 size_t *consumed, const char **err)
{
    enum resp_status st = resp_parse_from(pr, buf, len, lim, req, consumed, err);

    if (st != RESP_AGAIN)
        resp_progress_reset(pr);
    return st;
}

/* ---- writers ---------------------------------------------------------- */

/* Writes the decimal digits of v backwards, ending just before end (at
 * most 20 of them); returns where they start. */
static char *resp_u64_digits(char *end, uint64_t v)
{
    char *p = end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return p;
}

/* <type><v>\r\n, the shape of every length and integer line. */
static void resp_add_line_i64(struct buf *b, char type, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof(tmp) - 2;
    char *p;

    end[0] = '\r';
    end[1] = '\n';
    /* 0 - (uint64_t)v is |v| even for INT64_MIN. */
    p = resp_u64_digits(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
    if (v < 0)
        *--p = '-';
    *--p = type;
    buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void resp_add_line_u64(struct buf *b, char type, uint64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof(tmp) - 2;
    char *p;

    end[0] = '\r';
    end[1] = '\n';
    p = resp_u64_digits(end, v);
    *--p = type;
    buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* A simple string or error is one line: CR or LF inside would end it
 * early and let the rest be read as another reply. */
static void resp_sanitize(char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] == '\r' || p[i] == '\n')
            p[i] = ' ';
}

static void resp_add_line_text(struct buf *b, char type, const char *s)
{
    size_t n = strlen(s);
    buf_reserve(b, n + 3);
    b->data[b->len] = type;
    memcpy(b->data + b->len + 1, s, n);
    resp_sanitize(b->data + b->len + 1, n);
    memcpy(b->data + b->len + 1 + n, "\r\n", 2);
    b->len += n + 3;
}

void resp_add_simple(struct buf *b, const char *s)
{
    resp_add_line_text(b, '+', s);
}

void resp_add_error(struct buf *b, const char *s)
{
    resp_add_line_text(b, '-', s);
}

void resp_add_errorf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    size_t start;
    int n;

    buf_append(b, "-", 1);
    start = b->len;
    /* Format straight into the buffer: try the room there is, grow to the
     * exact size on a short write. */
    buf_reserve(b, 128);
    va_start(ap, fmt);
    n = vsnprintf(b->data + start, b->cap - start, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= b->cap - start) {
        buf_reserve(b, (size_t)n + 1);
        va_start(ap, fmt);
        n = vsnprintf(b->data + start, b->cap - start, fmt, ap);
        va_end(ap);
        if (n < 0)
            n = 0;
    }
    /* NUL bytes from %c or %s of odd data would also be invisible on the
     * wire, but cannot break framing: only CR and LF are replaced. */
    resp_sanitize(b->data + start, (size_t)n);
    b->len = start + (size_t)n;
    buf_append(b, "\r\n", 2);
}

void resp_add_int(struct buf *b, int64_t v)
{
    resp_add_line_i64(b, ':', v);
}

void resp_add_bulk(struct buf *b, const char *p, size_t n)
{
    resp_add_line_u64(b, '$', n);
    buf_reserve(b, n + 2);
    if (n > 0) /* p may be NULL for an empty bulk */
        memcpy(b->data + b->len, p, n);
    memcpy(b->data + b->len + n, "\r\n", 2);
    b->len += n + 2;
}

void resp_add_bulk_cstr(struct buf *b, const char *s)
{
    resp_add_bulk(b, s, strlen(s));
}

void resp_add_bulk_i64(struct buf *b, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof(tmp);
    char *p = resp_u64_digits(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
    if (v < 0)
        *--p = '-';
    resp_add_bulk(b, p, (size_t)(end - p));
}

/* resp_add_bulk_i64s keeps the decimal text of the last number in
 * dec[start..DEC_END): room for 20 digits and a sign. */
#define DEC_END 24
/* The most one bulk number takes: "$20\r\n" and 20 characters and "\r\n". */
#define BULK_I64_MAX 27

/* Add d to the decimal number whose digits are dec[*start..DEC_END), in
 * place, as on paper: digit by digit with a carry, so adding a small d
 * (a sequence's step) touches one or two digits. The sum must fit in 20
 * digits. */
static void dec_add(char *dec, size_t *start, uint64_t d)
{
    size_t i = DEC_END;
    uint64_t carry = d;

    while (carry != 0) {
        i--;
        if (i < *start) {           /* the number grows a digit */
            dec[i] = '0';
            *start = i;
        }
        uint64_t x = (uint64_t)(dec[i] - '0') + carry % 10;
        carry /= 10;
        if (x >= 10) {
            x -= 10;
            carry++;
        }
        dec[i] = (char)('0' + x);
    }
}

void resp_add_bulk_i64s(struct buf *b, const int64_t *v, size_t n)
{
    char dec[DEC_END];
    size_t start = DEC_END;

    if (n == 0)
        return;
    buf_reserve(b, n * BULK_I64_MAX);     /* once for all of them */
    char *o = b->data + b->len;
    memset(dec, '0', sizeof(dec));
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && v[i - 1] >= 0 && v[i] > v[i - 1]) {
            /* The hot case (a run of increasing numbers): the last text
             * plus the distance, without a division per digit. */
            dec_add(dec, &start, (uint64_t)v[i] - (uint64_t)v[i - 1]);
        } else {
            uint64_t u = v[i] < 0 ? 0 - (uint64_t)v[i] : (uint64_t)v[i];
            start = (size_t)(resp_u64_digits(dec + DEC_END, u) - dec);
            if (v[i] < 0)
                dec[--start] = '-';
        }
        size_t len = DEC_END - start;
        *o++ = '$';
        if (len >= 10)
            *o++ = (char)('0' + len / 10);
        *o++ = (char)('0' + len % 10);
        *o++ = '\r';
        *o++ = '\n';
        /* Byte by byte: a wide load of dec right after dec_add's byte
         * stores would wait for them (no store forwarding); measured
         * slower than this loop. */
        for (size_t k = start; k < DEC_END; k++)
            *o++ = dec[k];
        *o++ = '\r';
        *o++ = '\n';
    }
    b->len = (size_t)(o - b->data);
}

void resp_add_null(struct buf *b, int proto)
{
    if (proto >= 3)
        buf_append(b, "_\r\n", 3);
    else
        buf_append(b, "$-1\r\n", 5);
}

void resp_add_array(struct buf *b, size_t n)
{
    resp_add_line_u64(b, '*', n);
}

void resp_add_map(struct buf *b, size_t pairs, int proto)
{
    if (proto >= 3)
        resp_add_line_u64(b, '%', pairs);
    else
        resp_add_line_u64(b, '*', (uint64_t)pairs * 2);
}

void resp_add_set(struct buf *b, size_t n, int proto)
{
    resp_add_line_u64(b, proto >= 3 ? '~' : '*', n);
}

void resp_add_verbatim(struct buf *b, const char *p, size_t n, int proto)
{
    if (proto < 3) {
        resp_add_bulk(b, p, n);
        return;
    }
    /* The length counts the "txt:" format prefix. */
    resp_add_line_u64(b, '=', (uint64_t)n + 4);
    buf_reserve(b, n + 6);
    memcpy(b->data + b->len, "txt:", 4);
    if (n > 0)
        memcpy(b->data + b->len + 4, p, n);
    memcpy(b->data + b->len + 4 + n, "\r\n", 2);
    b->len += n + 6;
}
