/*
 * tz: a small reader of TZif files and POSIX TZ strings (see tz.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tz.h"
#include "util.h"

#define TZ_FILE_MAX (1 << 20)       /* the largest zone file is a few KB */
#define TZ_POSIX_MAX 256

/* A POSIX TZ rule: standard time, and daylight time between two dates. */
struct tz_date {
    char kind;                      /* 'J' (1..365, no Feb 29), 'n' (0..365), 'M' */
    int n, m, w, d;                 /* J/n: day; M: month, week 1..5, weekday 0..6 */
    int32_t time;                   /* seconds after local midnight (may be < 0 or > 24h) */
};

struct tz_rule {
    bool valid;                     /* a footer string was there */
    int32_t std_off, dst_off;       /* seconds east of UTC */
    bool has_dst;
    struct tz_date start, end;
};

struct tz {
    size_t ntrans;
    int64_t *trans;                 /* transition instants, increasing */
    uint8_t *idx;                   /* the type after each transition */
    size_t ntypes;
    int32_t *type_off;              /* each type's offset, seconds east */
    struct tz_rule rule;            /* after the last transition */
};

/* ---- civil dates ------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's). */
int64_t tz_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int64_t tz_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t year_of_days(int64_t days)
{
    int64_t y;
    int m, d;
    tz_civil_from_days(days, &y, &m, &d);
    return y;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* ---- POSIX TZ strings ---------------------------------------------------- */

static const char *posix_name(const char *p)
{
    if (*p == '<') {
        const char *q = strchr(p, '>');
        return q && q - p >= 4 ? q + 1 : NULL;
    }
    const char *q = p;
    while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'))
        q++;
    return q - p >= 3 ? q : NULL;
}

/* [+-]hh[:mm[:ss]], hours up to max_h; into *secs (sign applied). */
static const char *posix_hms(const char *p, int max_h, int32_t *secs)
{
    int sign = 1, part[3] = { 0, 0, 0 };

    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            if (*p != ':')
                break;
            p++;
        }
        if (*p < '0' || *p > '9')
            return NULL;
        int v = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 3) {
            v = v * 10 + (*p++ - '0');
            digits++;
        }
        part[i] = v;
    }
    if (part[0] > max_h || part[1] > 59 || part[2] > 59)
        return NULL;
    *secs = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
    return p;
}

static const char *posix_int(const char *p, int lo, int hi, int *out)
{
    int v = 0, digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 4) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (digits == 0 || v < lo || v > hi)
        return NULL;
    *out = v;
    return p;
}

static const char *posix_date(const char *p, struct tz_date *dt)
{
    if (*p == 'J') {
        dt->kind = 'J';
        p = posix_int(p + 1, 1, 365, &dt->n);
    } else if (*p == 'M') {
        dt->kind = 'M';
        if ((p = posix_int(p + 1, 1, 12, &dt->m)) == NULL || *p++ != '.' ||
            (p = posix_int(p, 1, 5, &dt->w)) == NULL || *p++ != '.')
            return NULL;
        p = posix_int(p, 0, 6, &dt->d);
    } else {
        dt->kind = 'n';
        p = posix_int(p, 0, 365, &dt->n);
    }
    if (p == NULL)
        return NULL;
    dt->time = 7200;
    if (*p == '/')
        p = posix_hms(p + 1, 167, &dt->time);
    return p;
}

static int parse_rule(const char *s, struct tz_rule *r)
{
    const char *p = posix_name(s);
    int32_t off;

    memset(r, 0, sizeof(*r));
    if (p == NULL || (p = posix_hms(p, 24, &off)) == NULL)
        return -1;
    r->std_off = -off;              /* POSIX counts west of UTC */
    r->dst_off = r->std_off + 3600;
    if (*p != '\0') {
        if ((p = posix_name(p)) == NULL)
            return -1;
        r->has_dst = true;
        if (*p != ',' && *p != '\0') {
            if ((p = posix_hms(p, 24, &off)) == NULL)
                return -1;
            r->dst_off = -off;
        }
        if (*p == '\0') {           /* no rule given: the US rule, as glibc */
            r->start = (struct tz_date){ 'M', 0, 3, 2, 0, 7200 };
            r->end = (struct tz_date){ 'M', 0, 11, 1, 0, 7200 };
        } else if (*p++ != ',' || (p = posix_date(p, &r->start)) == NULL || *p++ != ',' ||
                   (p = posix_date(p, &r->end)) == NULL || *p != '\0') {
            return -1;
        }
    }
    r->valid = true;
    return 0;
}

/* Local midnight (as wall-clock seconds) of the rule's date in year y,
 * plus the date's time of day. */
static int64_t rule_local(const struct tz_date *dt, int64_t y)
{
    int64_t day;

    if (dt->kind == 'J') {
        day = tz_days_from_civil(y, 1, 1) + dt->n - 1 + (is_leap(y) && dt->n >= 60);
    } else if (dt->kind == 'n') {
        day = tz_days_from_civil(y, 1, 1) + dt->n;
    } else {
        int64_t first = tz_days_from_civil(y, dt->m, 1);
        int wday_first = (int)((first % 7 + 7 + 4) % 7);    /* 1970-01-01 was a Thursday */
        int mday = 1 + (dt->d - wday_first + 7) % 7 + 7 * (dt->w - 1);
        while (mday > month_days(y, dt->m))
            mday -= 7;
        day = first + mday - 1;
    }
    return day * 86400 + dt->time;
}

static int32_t rule_offset(const struct tz_rule *r, int64_t t)
{
    if (!r->has_dst)
        return r->std_off;
    int64_t y = year_of_days(tz_floor_div(t + r->std_off, 86400));
    /* The latest change at or before t among the years around t's (a
     * rule time past 24 h or a southern rule puts a change near another
     * year); before all of them, the state of the end of the year before. */
    int64_t latest = INT64_MIN;
    int32_t off = r->std_off;
    for (int64_t yy = y - 1; yy <= y + 1; yy++) {
        int64_t start = rule_local(&r->start, yy) - r->std_off;
        int64_t end = rule_local(&r->end, yy) - r->dst_off;
        if (start <= t && start > latest) {
            latest = start;
            off = r->dst_off;
        }
        if (end <= t && end > latest) {
            latest = end;
            off = r->std_off;
        }
    }
    return off;
}

struct tz *tz_parse_posix(const char *s, char *err, size_t errlen)
{
    struct tz *z = xcalloc(1, sizeof(*z));
    if (parse_rule(s, &z->rule) != 0) {
        snprintf(err, errlen, "not a POSIX TZ string");
        free(z);
        return NULL;
    }
    return z;
}

/* ---- TZif ------------------------------------------------------------------ */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_header {
    int version;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int tzif_header(const unsigned char *p, size_t len, struct tzif_header *h)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return -1;
    h->version = p[4] == 0 ? 1 : p[4] - '0';
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    if (h->typecnt == 0 || h->typecnt > 256 || h->timecnt > 100000 || h->charcnt > 100000 ||
        h->leapcnt > 10000 || (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
        return -1;
    return 0;
}

static size_t tzif_block(const struct tzif_header *h, int timesize)
{
    return (size_t)h->timecnt * (size_t)timesize + h->timecnt + (size_t)h->typecnt * 6 + h->charcnt +
           (size_t)h->leapcnt * (size_t)(timesize + 4) + h->isstdcnt + h->isutcnt;
}

struct tz *tz_parse(const unsigned char *data, size_t len, char *err, size_t errlen)
{
    struct tzif_header h;
    const unsigned char *p = data;
    int timesize = 4;

    if (tzif_header(p, len, &h) != 0)
        goto bad;
    if (h.version >= 2) {
        size_t skip = 44 + tzif_block(&h, 4);
        if (skip > len)
            goto bad;
        p += skip;
        len -= skip;
        if (tzif_header(p, len, &h) != 0)
            goto bad;
        timesize = 8;
    }
    size_t block = tzif_block(&h, timesize);
    if (44 + block > len)
        goto bad;
    const unsigned char *d = p + 44;
    struct tz *z = xcalloc(1, sizeof(*z));
    z->ntrans = h.timecnt;
    z->trans = xcalloc(h.timecnt ? h.timecnt : 1, sizeof(*z->trans));
    z->idx = xcalloc(h.timecnt ? h.timecnt : 1, 1);
    z->ntypes = h.typecnt;
    z->type_off = xcalloc(h.typecnt, sizeof(*z->type_off));
    for (uint32_t i = 0; i < h.timecnt; i++) {
        z->trans[i] = timesize == 8 ? be64(d + 8 * i) : (int32_t)be32(d + 4 * i);
        if (i > 0 && z->trans[i] <= z->trans[i - 1])
            goto bad_free;
    }
    d += (size_t)h.timecnt * (size_t)timesize;
    for (uint32_t i = 0; i < h.timecnt; i++) {
        z->idx[i] = d[i];
        if (d[i] >= h.typecnt)
            goto bad_free;
    }
    d += h.timecnt;
    for (uint32_t i = 0; i < h.typecnt; i++)
        z->type_off[i] = (int32_t)be32(d + 6 * i);
    if (h.version >= 2) {
        const unsigned char *f = p + 44 + block, *end = p + len;
        if (f < end && *f == '\n') {
            const unsigned char *nl = memchr(f + 1, '\n', (size_t)(end - f - 1));
            if (nl && nl - f - 1 > 0 && nl - f - 1 < TZ_POSIX_MAX) {
                char s[TZ_POSIX_MAX];
                memcpy(s, f + 1, (size_t)(nl - f - 1));
                s[nl - f - 1] = '\0';
                if (parse_rule(s, &z->rule) != 0)
                    goto bad_free;
            }
        }
    }
    return z;
bad_free:
    tz_free(z);
bad:
    snprintf(err, errlen, "not a valid TZif file");
    return NULL;
}

void tz_free(struct tz *z)
{
    if (z == NULL)
        return;
    free(z->trans);
    free(z->idx);
    free(z->type_off);
    free(z);
}

int32_t tz_offset(const struct tz *z, int64_t t)
{
    if (z->ntrans == 0 || t < z->trans[0]) {
        if (z->ntrans == 0 && z->rule.valid)
            return rule_offset(&z->rule, t);
        return z->ntypes ? z->type_off[0] : z->rule.std_off;
    }
    if (t >= z->trans[z->ntrans - 1] && z->rule.valid)
        return rule_offset(&z->rule, t);
    size_t lo = 0, hi = z->ntrans;          /* trans[lo] <= t < trans[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->type_off[z->idx[lo]];
}

int64_t tz_local_to_utc(const struct tz *z, int64_t local)
{
    /* Offsets are within a day: the instant is in [local - 26 h, local +
     * 26 h]. Local time t + offset(t) rises with t except at an overlap,
     * where it steps back; the first instant whose local time reaches
     * `local`: try each offset near it, else (a gap) search. */
    int64_t best = INT64_MAX;
    int64_t probes[] = { local - 86400, local, local + 86400 };
    for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
        int64_t c = local - tz_offset(z, probes[i] - tz_offset(z, probes[i]));
        if (c + tz_offset(z, c) == local && c < best)
            best = c;
    }
    if (best != INT64_MAX)
        return best;
    int64_t lo = local - 26 * 3600, hi = local + 26 * 3600;   /* local(lo) < local <= local(hi) */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (mid + tz_offset(z, mid) >= local)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

/* ---- the zones of this process ----------------------------------------------- */

bool tz_name_ok(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > TZ_NAME_MAX || name[0] == '/' || strstr(name, "..") != NULL)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
              c == '_' || c == '-' || c == '+'))
            return false;
    }
    return true;
}

struct tz_entry {
    char name[TZ_NAME_MAX + 1];
    struct tz *zone;
    struct tz_entry *next;
};

static struct {
    pthread_mutex_t lock;
    struct tz_entry *zones;
} tz_cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct tz *tz_load(const char *name, char *err, size_t errlen)
{
    char path[sizeof(TZ_DIR) + TZ_NAME_MAX + 2];
    unsigned char *buf = NULL;
    size_t got = 0;
    struct tz *z = NULL;

    snprintf(path, sizeof(path), "%s/%s", TZ_DIR, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (strcmp(name, "UTC") == 0)
            return tz_parse_posix("UTC0", err, errlen);
        snprintf(err, errlen, "unknown time zone '%s' (an IANA name such as UTC or Asia/Shanghai: a file "
                 "under %s)", name, TZ_DIR);
        return NULL;
    }
    buf = xmalloc(TZ_FILE_MAX);
    for (;;) {
        ssize_t n = read(fd, buf + got, TZ_FILE_MAX - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got == TZ_FILE_MAX)
            break;
    }
    close(fd);
    char why[128];
    z = tz_parse(buf, got, why, sizeof(why));
    if (z == NULL)
        snprintf(err, errlen, "time zone '%s': %s is %s", name, path, why);
    free(buf);
    return z;
}

const struct tz *tz_get(const char *name, char *err, size_t errlen)
{
    struct tz *z = NULL;

    if (!tz_name_ok(name)) {
        snprintf(err, errlen, "time zone must be an IANA name such as UTC or Asia/Shanghai (letters, "
                 "digits, '/', '_', '-', '+'; at most %d bytes)", TZ_NAME_MAX);
        return NULL;
    }
    pthread_mutex_lock(&tz_cache.lock);
    for (struct tz_entry *e = tz_cache.zones; e; e = e->next)
        if (strcmp(e->name, name) == 0) {
            z = e->zone;
            break;
        }
    if (z == NULL && (z = tz_load(name, err, errlen)) != NULL) {
        struct tz_entry *e = xcalloc(1, sizeof(*e));
        strlcpy_safe(e->name, name, sizeof(e->name));
        e->zone = z;
        e->next = tz_cache.zones;
        tz_cache.zones = e;
    }
    pthread_mutex_unlock(&tz_cache.lock);
    return z;
}
