/*
 * store_table: definitions and max_ids of the memory and file stores in a
 * sorted array, and their claim and give-back arithmetic. The rules are
 * in store_table.h; the callers' locking too.
 */
#include "store_table.h"

#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Binary search: the index of name if *found, else where it would go. */
static size_t table_search(const struct store_table *t, const char *name, bool *found)
{
    size_t lo = 0, hi = t->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(table_seq_name(t->seqs[mid]), name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

void table_seq_def(const struct table_seq *s, struct seqdef *out)
{
    seqdef_unpack(table_seq_packed(s), out);
}

/* Bytes an entry of this kind keeps after its packed definition for its
 * period: only type 4 has periods (store.h). */
static size_t period_bytes_of_kind(int kind)
{
    return kind == SEQ_DATED ? sizeof(int64_t) : 0;
}

/* Does s keep a period (after its packed definition)? */
static bool table_seq_has_period(const struct table_seq *s)
{
    return period_bytes_of_kind(table_seq_packed(s)->kind) != 0;
}

/* Where s's period is kept (table_seq_has_period): its offset in s. */
static size_t table_seq_period_offset(const struct table_seq *s)
{
    return sizeof(*s) + seqdef_packed_bytes(table_seq_packed(s));
}

int64_t table_seq_period(const struct table_seq *s)
{
    int64_t period = 0;

    if (table_seq_has_period(s))
        memcpy(&period, (const unsigned char *)s + table_seq_period_offset(s), sizeof(period));
    return period;
}

void table_seq_set_period(struct table_seq *s, int64_t period)
{
    assert(period == 0 || table_seq_has_period(s));
    if (table_seq_has_period(s))
        memcpy((unsigned char *)s + table_seq_period_offset(s), &period, sizeof(period));
}

void store_table_init(struct store_table *t)
{
    memset(t, 0, sizeof(*t));
}

void store_table_free(struct store_table *t)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        free(t->seqs[i]);
    free(t->seqs);
    store_table_init(t);
}

struct table_seq *store_table_find(const struct store_table *t, const char *name)
{
    bool found;
    size_t i = table_search(t, name, &found);

    return found ? t->seqs[i] : NULL;
}

struct table_seq *store_table_get(const struct store_table *t, const char *name,
                                  char *err, size_t errlen)
{
    struct table_seq *s = store_table_find(t, name);

    if (s == NULL)
        snprintf(err, errlen, "no such sequence '%s'", name);
    return s;
}

int store_table_check_new(const struct store_table *t, const struct seqdef *def,
                          char *err, size_t errlen)
{
    if (seqdef_validate(def, err, errlen) != 0)
        return STORE_ERROR;
    if (store_table_find(t, def->name) != NULL) {
        snprintf(err, errlen, "sequence '%s' already exists", def->name);
        return STORE_EXISTS;
    }
    return STORE_OK;
}

int store_table_add(struct store_table *t, const struct seqdef *def, uint64_t max_id,
                    char *err, size_t errlen)
{
    struct table_seq *s;
    bool found;
    size_t i;
    int rc = store_table_check_new(t, def, err, errlen);

    if (rc != STORE_OK)
        return rc;
    i = table_search(t, def->name, &found);
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->seqs = xrealloc(t->seqs, t->cap * sizeof(*t->seqs));
    }
    /* calloc: a type 4 entry's period starts at 0. */
    s = xcalloc(1, sizeof(*s) + seqdef_packed_size(def) + period_bytes_of_kind(def->kind));
    seqdef_pack((struct seqdef_packed *)(s + 1), def);
    s->max_id = max_id;
    memmove(&t->seqs[i + 1], &t->seqs[i], (t->n - i) * sizeof(*t->seqs));
    t->seqs[i] = s;
    t->n++;
    return STORE_OK;
}

int store_table_remove(struct store_table *t, const char *name, char *err, size_t errlen)
{
    bool found;
    size_t i = table_search(t, name, &found);

    if (!found) {
        snprintf(err, errlen, "no such sequence '%s'", name);
        return STORE_NOT_FOUND;
    }
    free(t->seqs[i]);
    memmove(&t->seqs[i], &t->seqs[i + 1], (t->n - i - 1) * sizeof(*t->seqs));
    t->n--;
    return STORE_OK;
}

int store_table_lookup(const struct store_table *t, const char *name, struct seqdef *def,
                       char *err, size_t errlen)
{
    const struct table_seq *s = store_table_get(t, name, err, errlen);

    if (s == NULL)
        return STORE_NOT_FOUND;
    table_seq_def(s, def);
    return STORE_OK;
}

struct seqdef *store_table_defs(const struct store_table *t, size_t *n)
{
    struct seqdef *defs = xmalloc((t->n ? t->n : 1) * sizeof(*defs));
    size_t i;

    for (i = 0; i < t->n; i++)
        table_seq_def(t->seqs[i], &defs[i]);
    *n = t->n;
    return defs;
}

int store_table_claim_range(const struct table_seq *s, uint64_t want, int64_t period,
                            const struct seqdef *expect, struct claim *out, char *err, size_t errlen)
{
    int64_t entry_period = table_seq_period(s);
    /* A newer period restarts the counter; an older one is served in the
     * entry's. Only type 4 has periods. */
    bool moves = table_seq_has_period(s) && period > entry_period;
    uint64_t max_id = moves ? 0 : s->max_id;
    uint64_t n;

    table_seq_def(s, &out->def);
    n = want > out->def.segment ? want : out->def.segment;
    if (expect && !seqdef_same(&out->def, expect)) {
        snprintf(err, errlen, "'%s' was deleted and created again", table_seq_name(s));
        return STORE_NOT_FOUND;
    }
    if (n > UINT64_MAX - max_id) {
        snprintf(err, errlen, "sequence counter overflow (max_id %" PRIu64 ", claim %" PRIu64 ")",
                 max_id, n);
        return STORE_ERROR;
    }
    out->start = max_id;
    out->count = n;
    out->period = moves ? period : entry_period;
    return STORE_OK;
}

int store_table_give_back_check(const struct table_seq *s, uint64_t from, uint64_t to, int64_t period,
                                const struct seqdef *expect)
{
    /* Another definition's max_id may stand at `to` by chance: its
     * numbers are not this range's to give back. */
    if (from > to || s->max_id != to || table_seq_period(s) != period)
        return STORE_STALE;
    struct seqdef def;
    table_seq_def(s, &def);
    return seqdef_same(&def, expect) ? STORE_OK : STORE_STALE;
}

int store_table_claim(struct store_table *t, const char *name, uint64_t want, int64_t period,
                      const struct seqdef *expect, struct claim *out, char *err, size_t errlen)
{
    struct table_seq *s = store_table_get(t, name, err, errlen);
    int rc;

    if (s == NULL)
        return STORE_NOT_FOUND;
    rc = store_table_claim_range(s, want, period, expect, out, err, errlen);
    if (rc == STORE_OK) {
        table_seq_set_period(s, out->period);
        s->max_id = out->start + out->count;
    }
    return rc;
}

int store_table_give_back(struct store_table *t, const char *name, uint64_t from, uint64_t to,
                          int64_t period, const struct seqdef *expect, char *err, size_t errlen)
{
    struct table_seq *s = store_table_get(t, name, err, errlen);
    int rc;

    if (s == NULL)
        return STORE_NOT_FOUND;
    rc = store_table_give_back_check(s, from, to, period, expect);
    if (rc == STORE_OK)
        s->max_id = from;
    return rc;
}
