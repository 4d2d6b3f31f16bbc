/*
 * seqdef: a sequence's definition (built from HSET fields or read from a
 * store and checked) and the mapping from a counter to the number a client
 * sees. Pure: no I/O, no globals. Every error message says what to send
 * instead, because it goes back to the user as "-ERR <msg>".
 */
#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "seqdef.h"
#include "snowflake.h"
#include "util.h"

#define SEQ_SEGMENT_MAX 1000000000ULL

#define SEQ_FIELD_LIST "type, length, starting, step, segment, description, auto_disk, prefix, tz, epoch"
#define SEQ_KIND_HELP "1 random fixed-length, 2 fixed-length increasing, 3 increasing, 4 dated, 5 snowflake ids"

/* 10^0 .. 10^18: every power a length 1..18 needs. */
static const uint64_t seqdef_pow10[SEQ_LENGTH_MAX + 1] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
    100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
    1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
    1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
    1000000000000000000ULL,
};

enum seqdef_field {
    FIELD_TYPE, FIELD_LENGTH, FIELD_STARTING, FIELD_STEP, FIELD_SEGMENT,
    FIELD_DESCRIPTION, FIELD_AUTO_DISK, FIELD_PREFIX, FIELD_TZ, FIELD_EPOCH, FIELD_COUNT
};

static const char *const seqdef_field_names[FIELD_COUNT] = {
    "type", "length", "starting", "step", "segment", "description", "auto_disk", "prefix", "tz", "epoch",
};

/* Names for INFO, indexed by enum seq_auto_disk ("default": none given);
 * seqdef_auto_disk_parse also takes them with '-' for '_'. */
static const char *const seqdef_auto_disk_names[] = {
    "default", "memory", "pre_base", "pre_checkpoint", "elegant_close", "pre_close",
};

/* An int64 from its two's complement bits, without implementation-defined
 * conversion: number arithmetic is done in uint64 so it cannot overflow. */
static int64_t seqdef_i64_from_bits(uint64_t u)
{
    if (u <= (uint64_t)INT64_MAX)
        return (int64_t)u;
    return -(int64_t)(~u) - 1;
}

/* A user-given token for an error message: at most 32 bytes, shown by the
 * one printable rule (str_printable), "..." when it was longer, so the
 * reply stays one short clean line ("..." only when dst has room). */
#define SEQDEF_SHOWN_MAX 32
static void seqdef_shown(char *dst, size_t dstlen, const char *s, size_t len)
{
    size_t outlen = dstlen < SEQDEF_SHOWN_MAX + 1 ? dstlen : SEQDEF_SHOWN_MAX + 1;

    str_printable(s, len, dst, outlen);
    if (len > SEQDEF_SHOWN_MAX && dstlen >= SEQDEF_SHOWN_MAX + 4)
        memcpy(dst + SEQDEF_SHOWN_MAX, "...", 4);
}

static bool seqdef_length_ok(int64_t length)
{
    return length >= 1 && length <= SEQ_LENGTH_MAX;
}

/* Smallest and largest number with `length` digits (length 1..18). */
static int64_t seqdef_fixed_lo(int length) { return (int64_t)seqdef_pow10[length - 1]; }
static int64_t seqdef_fixed_hi(int length) { return (int64_t)(seqdef_pow10[length] - 1); }

bool seqdef_name_ok(const char *name, size_t len, char *err, size_t errlen)
{
    if (len == 0 || len > SEQ_NAME_MAX) {
        snprintf(err, errlen, "sequence name must be 1..%d bytes long", SEQ_NAME_MAX);
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x21 || c > 0x7e) {
            snprintf(err, errlen, "sequence name may only hold printable ASCII "
                     "without spaces (byte %zu is not)", i + 1);
            return false;
        }
    }
    return true;
}

/* Matches s[0..len) against the INFO names, case-insensitively and with '-'
 * and '_' alike, so "pre-base", "PRE_BASE" and "pre_base" are one value. */
int seqdef_auto_disk_parse(const char *s, size_t len)
{
    for (size_t a = 0; a < ARRAY_SIZE(seqdef_auto_disk_names); a++) {
        const char *name = seqdef_auto_disk_names[a];
        size_t i;

        for (i = 0; i < len && name[i] != '\0'; i++) {
            char c = s[i] == '-' ? '_' : s[i];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != name[i])
                break;
        }
        if (i == len && name[i] == '\0')
            return (int)a;
    }
    return -1;
}

const char *seqdef_auto_disk_name(int auto_disk)
{
    if (auto_disk < 0 || (size_t)auto_disk >= ARRAY_SIZE(seqdef_auto_disk_names))
        return "unknown";
    return seqdef_auto_disk_names[auto_disk];
}

const char *seqdef_kind_name(int kind)
{
    switch (kind) {
    case SEQ_RANDOM: return "random";
    case SEQ_FIXED: return "fixed";
    case SEQ_INCREASING: return "increasing";
    case SEQ_DATED: return "dated";
    case SEQ_SNOWFLAKE: return "snowflake";
    default: return "unknown";
    }
}

/* Type 5 takes only epoch (and segment, description, auto_disk, which
 * every kind keeps); epoch belongs to type 5 alone. */
static int seqdef_snowflake_unwanted(int kind, const bool *has, char *err, size_t errlen)
{
    if (kind != SEQ_SNOWFLAKE && has[FIELD_EPOCH]) {
        snprintf(err, errlen, "only type 5 (snowflake ids) takes an epoch");
        return -1;
    }
    if (kind == SEQ_SNOWFLAKE && (has[FIELD_LENGTH] || has[FIELD_STARTING] || has[FIELD_STEP])) {
        snprintf(err, errlen, "type 5 takes no %s (its ids are made of time, worker id and sequence; "
                 "it takes only epoch)",
                 has[FIELD_LENGTH] ? "length" : has[FIELD_STARTING] ? "starting" : "step");
        return -1;
    }
    return 0;
}

/* Type 5's epoch: Unix ms, 0..SNOWFLAKE_EPOCH_MAX_MS (default 2020-01-01). */
static int seqdef_snowflake_epoch(struct seqdef *def, bool has, const char *val, size_t len,
                                  char *err, size_t errlen)
{
    def->epoch_ms = 0;
    if (def->kind != SEQ_SNOWFLAKE)
        return 0;
    def->epoch_ms = SNOWFLAKE_DEFAULT_EPOCH_MS;
    if (has && (!parse_i64(val, len, &def->epoch_ms) || def->epoch_ms < 0 ||
                def->epoch_ms > SNOWFLAKE_EPOCH_MAX_MS)) {
        snprintf(err, errlen, "epoch must be milliseconds since 1970 from 0 to %" PRId64
                 " (default %" PRId64 ", 2020-01-01T00:00:00Z)", SNOWFLAKE_EPOCH_MAX_MS,
                 SNOWFLAKE_DEFAULT_EPOCH_MS);
        return -1;
    }
    return 0;
}

/* Fields a kind does not take: checked before any value is parsed, so the
 * user hears about the field that should not be there at all. */
static int seqdef_check_unwanted(int kind, const bool *has, char *err, size_t errlen)
{
    if (seqdef_snowflake_unwanted(kind, has, err, errlen) < 0)
        return -1;
    if (kind == SEQ_INCREASING && has[FIELD_LENGTH]) {
        snprintf(err, errlen, "type 3 takes no length (use type 2 for fixed-length numbers)");
        return -1;
    }
    if (kind != SEQ_DATED && (has[FIELD_PREFIX] || has[FIELD_TZ])) {
        snprintf(err, errlen, "type %d takes no %s (dated numbers are type 4: HSET name type 4 "
                 "prefix %%y%%m%%d length 4)", kind, has[FIELD_PREFIX] ? "prefix" : "tz");
        return -1;
    }
    if (kind == SEQ_RANDOM && (has[FIELD_STARTING] || has[FIELD_STEP])) {
        snprintf(err, errlen, "type 1 takes no %s (it hands out every number of its "
                 "length once, in a random-looking order; use type 2 for a starting "
                 "value and step)", has[FIELD_STARTING] ? "starting" : "step");
        return -1;
    }
    return 0;
}

/* The kind's rules on length and starting, once every field has been
 * parsed. has[] says which fields were given. */
static int seqdef_check_kind(struct seqdef *def, const bool *has, int64_t length,
                             char *err, size_t errlen)
{
    switch (def->kind) {
    case SEQ_RANDOM:
    case SEQ_FIXED:
        if (!has[FIELD_LENGTH] || !seqdef_length_ok(length)) {
            snprintf(err, errlen, "type %d needs length 1..%d (the number of digits)",
                     def->kind, SEQ_LENGTH_MAX);
            return -1;
        }
        def->length = (int)length;
        break;
    case SEQ_INCREASING:
    case SEQ_SNOWFLAKE:
        def->length = 0;
        break;
    case SEQ_DATED:
        if (!has[FIELD_PREFIX] || !has[FIELD_LENGTH] || !seqdef_length_ok(length)) {
            snprintf(err, errlen, "type 4 needs prefix PATTERN (e.g. %%y%%m%%d) and length 1..%d (the "
                     "digits of each period's counter)", SEQ_LENGTH_MAX);
            return -1;
        }
        def->length = (int)length;
        break;
    }

    if (def->kind == SEQ_RANDOM) {
        def->starting = 0;
        def->increment = 1;
    } else if (def->kind == SEQ_FIXED) {
        int64_t lo = seqdef_fixed_lo(def->length), hi = seqdef_fixed_hi(def->length);
        if (!has[FIELD_STARTING])
            def->starting = lo;
        if (def->starting < lo || def->starting > hi) {
            snprintf(err, errlen, "type 2 length %d needs starting %" PRId64 "..%" PRId64
                     " (a %d-digit number)", def->length, lo, hi, def->length);
            return -1;
        }
    } else if (def->kind == SEQ_SNOWFLAKE) {
        def->starting = 0;
        def->increment = 1;
    } else if (!has[FIELD_STARTING]) {
        def->starting = 1;
    }
    if (def->kind == SEQ_DATED && (def->starting < 0 || def->starting > seqdef_fixed_hi(def->length))) {
        snprintf(err, errlen, "type 4 length %d needs starting 0..%" PRId64 " (the first counter of "
                 "each period)", def->length, seqdef_fixed_hi(def->length));
        return -1;
    }
    return 0;
}

/* Type 4's prefix and zone (the zone's name only: whether it exists is
 * tz_get's, at HSET and when a sequence is loaded). */
static int seqdef_check_dated(struct seqdef *def, const char *prefix, size_t prefixlen, const char *tz,
                              size_t tzlen, char *err, size_t errlen)
{
    enum dated_unit unit;

    if (dated_parse(prefix, prefixlen, &unit, err, errlen) != 0)
        return -1;
    memcpy(def->prefix, prefix, prefixlen);
    def->prefix[prefixlen] = '\0';
    if (tzlen > SEQ_TZ_MAX || memchr(tz, '\0', tzlen) != NULL) {
        snprintf(err, errlen, "tz must be an IANA time zone name such as UTC or Asia/Shanghai");
        return -1;
    }
    memcpy(def->tz, tz, tzlen);
    def->tz[tzlen] = '\0';
    if (!tz_name_ok(def->tz)) {
        snprintf(err, errlen, "tz must be an IANA time zone name such as UTC or Asia/Shanghai");
        return -1;
    }
    return 0;
}

enum dated_unit seqdef_dated_unit(const struct seqdef *def)
{
    enum dated_unit unit;
    char err[8];

    if (def->kind != SEQ_DATED ||
        dated_parse(def->prefix, strnlen(def->prefix, sizeof(def->prefix)), &unit, err, sizeof(err)) != 0)
        return DATED_NONE;
    return unit;
}

int seqdef_from_fields(struct seqdef *def, const char *name, size_t namelen,
                       int argc, const char *const *argv, const size_t *argl,
                       uint64_t default_segment, uint64_t key, char *err, size_t errlen)
{
    bool has[FIELD_COUNT] = { false };
    const char *val[FIELD_COUNT] = { NULL };
    size_t vlen[FIELD_COUNT] = { 0 };
    char shown[40];
    int64_t type, length = 0;
    uint64_t segment;

    memset(def, 0, sizeof(*def));
    if (!seqdef_name_ok(name, namelen, err, errlen))
        return -1;
    if (argc <= 0 || argc % 2 != 0) {
        snprintf(err, errlen, "wrong number of arguments for 'hset' command");
        return -1;
    }

    for (int i = 0; i < argc; i += 2) {
        int f;
        for (f = 0; f < FIELD_COUNT; f++)
            if (str_ieq(argv[i], argl[i], seqdef_field_names[f]))
                break;
        if (f == FIELD_COUNT) {
            seqdef_shown(shown, sizeof(shown), argv[i], argl[i]);
            snprintf(err, errlen, "unknown field '%s' (fields: " SEQ_FIELD_LIST ")", shown);
            return -1;
        }
        if (has[f]) {
            snprintf(err, errlen, "field '%s' given twice (give each field once)",
                     seqdef_field_names[f]);
            return -1;
        }
        has[f] = true;
        val[f] = argv[i + 1];
        vlen[f] = argl[i + 1];
    }

    memcpy(def->name, name, namelen);
    def->name[namelen] = '\0';

    if (!has[FIELD_TYPE]) {
        snprintf(err, errlen, "type is required: HSET %s type 1|2|3|4|5 ... (" SEQ_KIND_HELP ")",
                 def->name);
        return -1;
    }
    if (!parse_i64(val[FIELD_TYPE], vlen[FIELD_TYPE], &type) || type < 1 || type > 5) {
        snprintf(err, errlen, "type must be 1, 2, 3, 4 or 5 (" SEQ_KIND_HELP ")");
        return -1;
    }
    def->kind = (int)type;
    if (seqdef_check_unwanted(def->kind, has, err, errlen) < 0)
        return -1;

    if (has[FIELD_LENGTH] && !parse_i64(val[FIELD_LENGTH], vlen[FIELD_LENGTH], &length))
        length = -1;                     /* reported by the kind's rule below */

    if (has[FIELD_STARTING] &&
        !parse_i64(val[FIELD_STARTING], vlen[FIELD_STARTING], &def->starting)) {
        snprintf(err, errlen, "starting must be an integer from %" PRId64 " to %" PRId64,
                 INT64_MIN, INT64_MAX);
        return -1;
    }

    def->increment = 1;
    if (has[FIELD_STEP] &&
        (!parse_i64(val[FIELD_STEP], vlen[FIELD_STEP], &def->increment) || def->increment < 1)) {
        snprintf(err, errlen, "step must be an integer >= 1 (the increment between numbers)");
        return -1;
    }

    segment = default_segment ? default_segment : 1;
    if (has[FIELD_SEGMENT] &&
        (!parse_u64(val[FIELD_SEGMENT], vlen[FIELD_SEGMENT], &segment) ||
         segment < 1 || segment > SEQ_SEGMENT_MAX)) {
        snprintf(err, errlen, "segment must be an integer 1..%llu (counters claimed at a time)",
                 SEQ_SEGMENT_MAX);
        return -1;
    }
    def->segment = segment;

    if (has[FIELD_DESCRIPTION]) {
        bool ok = vlen[FIELD_DESCRIPTION] <= SEQ_DESC_MAX;
        for (size_t i = 0; ok && i < vlen[FIELD_DESCRIPTION]; i++)
            ok = val[FIELD_DESCRIPTION][i] >= 0x20 && val[FIELD_DESCRIPTION][i] <= 0x7e;
        if (!ok) {
            snprintf(err, errlen, "description must be at most %d printable ASCII characters",
                     SEQ_DESC_MAX);
            return -1;
        }
        memcpy(def->description, val[FIELD_DESCRIPTION], vlen[FIELD_DESCRIPTION]);
        def->description[vlen[FIELD_DESCRIPTION]] = '\0';
    }

    def->auto_disk = AUTO_DISK_DEFAULT;
    if (has[FIELD_AUTO_DISK]) {
        def->auto_disk = seqdef_auto_disk_parse(val[FIELD_AUTO_DISK], vlen[FIELD_AUTO_DISK]);
        if (def->auto_disk < 0) {
            snprintf(err, errlen, "auto_disk must be one of " SEQDEF_AUTO_DISK_VALUES);
            return -1;
        }
    }

    if (seqdef_check_kind(def, has, length, err, errlen) < 0)
        return -1;
    if (seqdef_snowflake_epoch(def, has[FIELD_EPOCH], val[FIELD_EPOCH], vlen[FIELD_EPOCH], err, errlen) < 0)
        return -1;
    if (def->kind == SEQ_DATED &&
        seqdef_check_dated(def, val[FIELD_PREFIX], vlen[FIELD_PREFIX], has[FIELD_TZ] ? val[FIELD_TZ] : "UTC",
                           has[FIELD_TZ] ? vlen[FIELD_TZ] : 3, err, errlen) < 0)
        return -1;
    /* Every kind keeps the key: for type 1 it drives the permutation, for
     * all kinds it tells this definition from a later one of the same name
     * (seqdef_same), so nodes notice a DEL + HSET on a shared table. */
    def->perm_key = key;
    return 0;
}

/* A type 5 row: epoch in range, no length; the others have epoch 0. */
static int seqdef_snowflake_validate(const struct seqdef *def, char *err, size_t errlen)
{
    if (def->kind != SEQ_SNOWFLAKE) {
        if (def->epoch_ms != 0) {
            snprintf(err, errlen, "kind %d takes no epoch, has %" PRId64 " (set it to 0)", def->kind,
                     def->epoch_ms);
            return -1;
        }
        return 0;
    }
    if (def->length != 0) {
        snprintf(err, errlen, "kind 5 takes no length, has %d (set it to 0)", def->length);
        return -1;
    }
    if (def->epoch_ms < 0 || def->epoch_ms > SNOWFLAKE_EPOCH_MAX_MS) {
        snprintf(err, errlen, "kind 5 needs an epoch from 0 to %" PRId64 " (ms since 1970), has %" PRId64,
                 SNOWFLAKE_EPOCH_MAX_MS, def->epoch_ms);
        return -1;
    }
    return 0;
}

int seqdef_validate(const struct seqdef *def, char *err, size_t errlen)
{
    size_t namelen = strnlen(def->name, sizeof(def->name));

    if (namelen > SEQ_NAME_MAX) {
        snprintf(err, errlen, "sequence name is not terminated");
        return -1;
    }
    if (!seqdef_name_ok(def->name, namelen, err, errlen))
        return -1;
    if (def->kind < SEQ_RANDOM || def->kind > SEQ_SNOWFLAKE) {
        snprintf(err, errlen, "kind %d is not 1, 2, 3, 4 or 5 (" SEQ_KIND_HELP ")", def->kind);
        return -1;
    }
    if (seqdef_snowflake_validate(def, err, errlen) < 0)
        return -1;
    if (def->kind == SEQ_INCREASING && def->length != 0) {
        snprintf(err, errlen, "kind 3 takes no length, has %d (set it to 0, or use "
                 "kind 2 for fixed-length numbers)", def->length);
        return -1;
    }
    if ((def->kind == SEQ_RANDOM || def->kind == SEQ_FIXED) && !seqdef_length_ok(def->length)) {
        snprintf(err, errlen, "kind %d needs length 1..%d, has %d",
                 def->kind, SEQ_LENGTH_MAX, def->length);
        return -1;
    }
    if (def->kind == SEQ_FIXED &&
        (def->starting < seqdef_fixed_lo(def->length) ||
         def->starting > seqdef_fixed_hi(def->length))) {
        snprintf(err, errlen, "kind 2 length %d needs starting %" PRId64 "..%" PRId64
                 ", has %" PRId64, def->length, seqdef_fixed_lo(def->length),
                 seqdef_fixed_hi(def->length), def->starting);
        return -1;
    }
    if (def->kind == SEQ_DATED) {
        struct seqdef copy = *def;
        size_t plen = strnlen(def->prefix, sizeof(def->prefix)), tlen = strnlen(def->tz, sizeof(def->tz));
        if (plen > SEQ_PREFIX_MAX || tlen > SEQ_TZ_MAX) {
            snprintf(err, errlen, "prefix or tz is not terminated");
            return -1;
        }
        if (seqdef_check_dated(&copy, def->prefix, plen, def->tz, tlen, err, errlen) != 0)
            return -1;
        if (def->starting < 0 || def->starting > seqdef_fixed_hi(def->length)) {
            snprintf(err, errlen, "kind 4 length %d needs starting 0..%" PRId64 ", has %" PRId64,
                     def->length, seqdef_fixed_hi(def->length), def->starting);
            return -1;
        }
    } else if (def->prefix[0] != '\0' || def->tz[0] != '\0') {
        snprintf(err, errlen, "kind %d takes no prefix or tz (those are kind 4's)", def->kind);
        return -1;
    }
    if (def->increment < 1) {
        snprintf(err, errlen, "increment must be >= 1, has %" PRId64, def->increment);
        return -1;
    }
    if (def->segment < 1) {
        snprintf(err, errlen, "segment (the table's step) must be >= 1");
        return -1;
    }
    if (def->auto_disk < 0 || (size_t)def->auto_disk >= ARRAY_SIZE(seqdef_auto_disk_names)) {
        snprintf(err, errlen, "auto_disk %d is not a known value", def->auto_disk);
        return -1;
    }
    if (strnlen(def->description, sizeof(def->description)) > SEQ_DESC_MAX) {
        snprintf(err, errlen, "description is not terminated");
        return -1;
    }
    return 0;
}

uint64_t seqdef_limit(const struct seqdef *def)
{
    uint64_t span, steps;

    switch (def->kind) {
    case SEQ_RANDOM:
        if (!seqdef_length_ok(def->length))
            return 0;
        return 9 * seqdef_pow10[def->length - 1];
    case SEQ_FIXED:
    case SEQ_DATED:
        if (!seqdef_length_ok(def->length) || def->increment < 1 ||
            def->starting > seqdef_fixed_hi(def->length))
            return 0;
        /* hi - starting as a true integer: uint64 wrap-around makes it exact
         * even for a negative starting. */
        span = (uint64_t)seqdef_fixed_hi(def->length) - (uint64_t)def->starting;
        break;
    case SEQ_INCREASING:
        if (def->increment < 1)
            return 0;
        span = (uint64_t)INT64_MAX - (uint64_t)def->starting;
        break;
    case SEQ_SNOWFLAKE:
        return 0;                        /* takes no counters (seq.c's own path) */
    default:
        return 0;
    }
    steps = span / (uint64_t)def->increment;
    return steps == UINT64_MAX ? UINT64_MAX : steps + 1;
}

int64_t seqdef_number(const struct seqdef *def, const struct perm *perm, uint64_t counter)
{
    return seqdef_number_of(def->kind, def->length, def->starting, def->increment, perm, counter);
}

int64_t seqdef_number_of(int kind, int length, int64_t starting, int64_t increment, const struct perm *perm,
                         uint64_t counter)
{
    if (kind == SEQ_RANDOM)
        return seqdef_fixed_lo(length) + (int64_t)perm_apply(perm, counter);
    /* counter < limit keeps the true result within int64; the uint64 sum is
     * that result's bit pattern. */
    return seqdef_i64_from_bits((uint64_t)starting + counter * (uint64_t)increment);
}

uint64_t seqdef_spread(uint64_t counter, uint64_t step, uint64_t offset)
{
    return counter * step + offset;
}

uint64_t seqdef_spread_limit(uint64_t limit, uint64_t step, uint64_t offset)
{
    if (step == 0)
        step = 1;
    if (limit <= offset)
        return 0;
    /* ceil((limit - offset) / step), without overflowing. */
    return (limit - offset) / step + ((limit - offset) % step != 0);
}

void seqdef_perm_init(const struct seqdef *def, struct perm *perm)
{
    uint64_t domain = seqdef_length_ok(def->length) ? 9 * seqdef_pow10[def->length - 1] : 1;
    perm_init(perm, domain, def->perm_key);
}

uint64_t seqdef_identity(const struct seqdef *d)
{
    int64_t nums[] = { d->kind, d->length, d->starting, d->increment, (int64_t)d->perm_key, d->epoch_ms };
    uint64_t h = fnv1a64(FNV1A64_INIT, d->name, strlen(d->name) + 1);
    h = fnv1a64(h, nums, sizeof(nums));
    h = fnv1a64(h, d->prefix, strlen(d->prefix) + 1);
    return fnv1a64(h, d->tz, strlen(d->tz) + 1);
}

bool seqdef_same(const struct seqdef *a, const struct seqdef *b)
{
    return strcmp(a->name, b->name) == 0 && a->kind == b->kind && a->length == b->length &&
           a->starting == b->starting && a->increment == b->increment &&
           a->perm_key == b->perm_key && a->epoch_ms == b->epoch_ms && strcmp(a->prefix, b->prefix) == 0 &&
           strcmp(a->tz, b->tz) == 0;
}

/* ---- the packed form (seqdef.h: struct seqdef_packed) ---------------- */

/* Zigzag: 0, -1, 1, -2, ... as 0, 1, 2, 3, ..., so a small number of
 * either sign makes a short varint. Done on the bits (uint64), where
 * shifts are defined for every value. */
static uint64_t seqdef_zigzag(int64_t v)
{
    uint64_t u = (uint64_t)v;
    return (u << 1) ^ (0 - (u >> 63));
}

static int64_t seqdef_unzigzag(uint64_t z)
{
    return seqdef_i64_from_bits((z >> 1) ^ (0 - (z & 1)));
}

static size_t seqdef_varint_size(uint64_t v)
{
    size_t n = 1;

    for (; v >= 0x80; v >>= 7)
        n++;
    return n;
}

/* Writes v at `at`; returns the byte after it. */
static unsigned char *seqdef_varint_put(unsigned char *at, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        *at++ = (unsigned char)(v | 0x80);
    *at++ = (unsigned char)v;
    return at;
}

/* Reads the varint at *at and moves *at past it. */
static uint64_t seqdef_varint_get(const unsigned char **at)
{
    uint64_t v = 0;
    unsigned shift = 0;
    unsigned char byte;

    do {
        byte = *(*at)++;
        v |= (uint64_t)(byte & 0x7f) << shift;
        shift += 7;
    } while (byte & 0x80);
    return v;
}

/* The optional texts, in the order they follow the numbers, and the
 * `parts` bit that says each is there. */
#define SEQDEF_OPTIONAL_TEXTS(d) { (d)->description, (d)->prefix, (d)->tz }
static const uint8_t seqdef_text_parts[] = {
    SEQDEF_PACKED_HAS_DESCRIPTION, SEQDEF_PACKED_HAS_PREFIX, SEQDEF_PACKED_HAS_TZ,
};

/* What `parts` says of def: which optional fields are not empty (zero). */
static uint8_t seqdef_parts_of(const struct seqdef *def)
{
    const char *texts[] = SEQDEF_OPTIONAL_TEXTS(def);
    uint8_t parts = def->epoch_ms != 0 ? SEQDEF_PACKED_HAS_EPOCH : 0;

    for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
        if (texts[i][0] != '\0')
            parts |= seqdef_text_parts[i];
    return parts;
}

size_t seqdef_packed_size(const struct seqdef *def)
{
    const char *texts[] = SEQDEF_OPTIONAL_TEXTS(def);
    size_t size = offsetof(struct seqdef_packed, name) + strlen(def->name) + 1 + sizeof(def->perm_key) +
                  seqdef_varint_size(seqdef_zigzag(def->starting)) +
                  seqdef_varint_size(seqdef_zigzag(def->increment)) + seqdef_varint_size(def->segment);

    if (def->epoch_ms != 0)
        size += seqdef_varint_size(seqdef_zigzag(def->epoch_ms));
    for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
        if (texts[i][0] != '\0')
            size += strlen(texts[i]) + 1;
    return size;
}

void seqdef_pack(struct seqdef_packed *p, const struct seqdef *def)
{
    const char *texts[] = SEQDEF_OPTIONAL_TEXTS(def);
    size_t n = strlen(def->name) + 1;
    unsigned char *at = (unsigned char *)p->name + n;

    assert(def->kind >= SEQ_RANDOM && def->kind <= SEQ_SNOWFLAKE &&
           def->length >= 0 && def->length <= SEQ_LENGTH_MAX &&
           def->auto_disk >= 0 && def->auto_disk <= AUTO_DISK_PRE_CLOSE);
    p->kind = (uint8_t)def->kind;
    p->length = (uint8_t)def->length;
    p->auto_disk = (uint8_t)def->auto_disk;
    p->parts = seqdef_parts_of(def);
    memcpy(p->name, def->name, n);
    memcpy(at, &def->perm_key, sizeof(def->perm_key));
    at += sizeof(def->perm_key);
    at = seqdef_varint_put(at, seqdef_zigzag(def->starting));
    at = seqdef_varint_put(at, seqdef_zigzag(def->increment));
    at = seqdef_varint_put(at, def->segment);
    if (p->parts & SEQDEF_PACKED_HAS_EPOCH)
        at = seqdef_varint_put(at, seqdef_zigzag(def->epoch_ms));
    for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
        if (p->parts & seqdef_text_parts[i]) {
            n = strlen(texts[i]) + 1;
            memcpy(at, texts[i], n);
            at += n;
        }
    }
    assert((size_t)(at - (unsigned char *)p) == seqdef_packed_size(def));
}

/* Decodes p into out (when not NULL); returns the bytes p takes. One walk
 * for both, so that they can never disagree on the layout. */
static size_t seqdef_packed_walk(const struct seqdef_packed *p, struct seqdef *out)
{
    struct seqdef skip;
    struct seqdef *d = out ? out : &skip;
    char *texts[] = SEQDEF_OPTIONAL_TEXTS(d);
    const size_t sizes[] = { sizeof(d->description), sizeof(d->prefix), sizeof(d->tz) };
    size_t n = strlen(p->name) + 1;
    const unsigned char *at = (const unsigned char *)p->name + n;

    if (out != NULL) {
        memset(out, 0, sizeof(*out));
        out->kind = p->kind;
        out->length = p->length;
        out->auto_disk = p->auto_disk;
        memcpy(out->name, p->name, n);
    }
    memcpy(&d->perm_key, at, sizeof(d->perm_key));
    at += sizeof(d->perm_key);
    d->starting = seqdef_unzigzag(seqdef_varint_get(&at));
    d->increment = seqdef_unzigzag(seqdef_varint_get(&at));
    d->segment = seqdef_varint_get(&at);
    d->epoch_ms = (p->parts & SEQDEF_PACKED_HAS_EPOCH) ? seqdef_unzigzag(seqdef_varint_get(&at)) : 0;
    for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
        if (p->parts & seqdef_text_parts[i]) {
            n = strlen((const char *)at) + 1;
            if (out != NULL)
                strlcpy_safe(texts[i], (const char *)at, sizes[i]);
            at += n;
        }
    }
    return (size_t)(at - (const unsigned char *)p);
}

void seqdef_unpack(const struct seqdef_packed *p, struct seqdef *out)
{
    seqdef_packed_walk(p, out);
}

size_t seqdef_packed_bytes(const struct seqdef_packed *p)
{
    return seqdef_packed_walk(p, NULL);
}
