/*
 * store_memory: the store backend that keeps nothing. Definitions and
 * counters live in a sorted array in this process and vanish when it
 * exits; for tests and throw-away use (store.type "memory").
 *
 * All calls may come from several store threads at once: one mutex guards
 * the table, held only for in-memory work (nothing here blocks).
 */
#include "store.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct mem_seq {
    struct seqdef def;
    uint64_t max_id;              /* next unclaimed counter */
};

struct mem_store {
    pthread_mutex_t lock;
    struct mem_seq **seqs;        /* sorted by name (strcmp) */
    size_t nseqs;
    size_t cap;
};

/* Binary search: the index of name in m->seqs if *found, else the index
 * where it would be inserted. */
static size_t mem_search(const struct mem_store *m, const char *name, bool *found)
{
    size_t lo = 0, hi = m->nseqs;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->seqs[mid]->def.name, name);
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

static struct mem_seq *mem_get(const struct mem_store *m, const char *name)
{
    bool found;
    size_t i = mem_search(m, name, &found);
    return found ? m->seqs[i] : NULL;
}

static int mem_open(struct store *st, const struct config *cfg, char *err, size_t errlen)
{
    struct mem_store *m = xcalloc(1, sizeof(*m));

    pthread_mutex_init(&m->lock, NULL);
    st->priv = m;
    return 0;
}

static void mem_close(struct store *st)
{
    struct mem_store *m = st->priv;
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->nseqs; i++)
        free(m->seqs[i]);
    free(m->seqs);
    pthread_mutex_destroy(&m->lock);
    free(m);
    st->priv = NULL;
}

static void *mem_session_open(struct store *st)
{
    return st;
}

static void mem_session_close(struct store *st, void *sess)
{
}

static int mem_claim(struct store *st, void *sess, const char *name, uint64_t want,
                     struct claim *out, char *err, size_t errlen)
{
    struct mem_store *m = st->priv;
    struct mem_seq *s;
    uint64_t n;
    int rc = STORE_OK;

    pthread_mutex_lock(&m->lock);
    s = mem_get(m, name);
    if (s == NULL) {
        snprintf(err, errlen, "no such sequence '%s'", name);
        rc = STORE_NOT_FOUND;
        goto out;
    }
    n = want > s->def.segment ? want : s->def.segment;
    if (n > UINT64_MAX - s->max_id) {
        snprintf(err, errlen, "sequence counter overflow (max_id %" PRIu64 ", claim %" PRIu64 ")",
                 s->max_id, n);
        rc = STORE_ERROR;
        goto out;
    }
    out->start = s->max_id;
    out->count = n;
    out->def = s->def;
    s->max_id += n;
out:
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mem_give_back(struct store *st, void *sess, const char *name, uint64_t from,
                         uint64_t to, char *err, size_t errlen)
{
    struct mem_store *m = st->priv;
    struct mem_seq *s;
    int rc = STORE_OK;

    pthread_mutex_lock(&m->lock);
    s = mem_get(m, name);
    if (s == NULL) {
        snprintf(err, errlen, "no such sequence '%s'", name);
        rc = STORE_NOT_FOUND;
    } else if (from <= to && s->max_id == to) {
        s->max_id = from;
    } else {
        rc = STORE_STALE;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mem_create(struct store *st, void *sess, const struct seqdef *def,
                      char *err, size_t errlen)
{
    struct mem_store *m = st->priv;
    struct mem_seq *s;
    bool found;
    size_t i;
    int rc = STORE_OK;

    /* Refuse what could not be served, as the persistent backends do. */
    if (seqdef_validate(def, err, errlen) != 0)
        return STORE_ERROR;

    pthread_mutex_lock(&m->lock);
    i = mem_search(m, def->name, &found);
    if (found) {
        snprintf(err, errlen, "sequence '%s' already exists", def->name);
        rc = STORE_EXISTS;
        goto out;
    }
    if (m->nseqs == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->seqs = xrealloc(m->seqs, m->cap * sizeof(*m->seqs));
    }
    s = xcalloc(1, sizeof(*s));
    s->def = *def;
    s->max_id = 0;
    memmove(&m->seqs[i + 1], &m->seqs[i], (m->nseqs - i) * sizeof(*m->seqs));
    m->seqs[i] = s;
    m->nseqs++;
out:
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mem_drop(struct store *st, void *sess, const char *name, char *err, size_t errlen)
{
    struct mem_store *m = st->priv;
    bool found;
    size_t i;
    int rc = STORE_OK;

    pthread_mutex_lock(&m->lock);
    i = mem_search(m, name, &found);
    if (!found) {
        snprintf(err, errlen, "no such sequence '%s'", name);
        rc = STORE_NOT_FOUND;
    } else {
        free(m->seqs[i]);
        memmove(&m->seqs[i], &m->seqs[i + 1], (m->nseqs - i - 1) * sizeof(*m->seqs));
        m->nseqs--;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mem_lookup(struct store *st, void *sess, const char *name, struct seqdef *def,
                      char *err, size_t errlen)
{
    struct mem_store *m = st->priv;
    struct mem_seq *s;
    int rc = STORE_OK;

    pthread_mutex_lock(&m->lock);
    s = mem_get(m, name);
    if (s == NULL) {
        snprintf(err, errlen, "no such sequence '%s'", name);
        rc = STORE_NOT_FOUND;
    } else {
        *def = s->def;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* Calls each() on a snapshot taken under the lock, so that the callback
 * runs unlocked and may itself call into the store. */
static int mem_list(struct store *st, void *sess, store_list_fn *each, void *arg,
                    char *err, size_t errlen)
{
    struct mem_store *m = st->priv;
    struct seqdef *defs;
    size_t i, n;

    pthread_mutex_lock(&m->lock);
    n = m->nseqs;
    defs = xmalloc(n * sizeof(*defs));
    for (i = 0; i < n; i++)
        defs[i] = m->seqs[i]->def;
    pthread_mutex_unlock(&m->lock);

    for (i = 0; i < n; i++)
        each(&defs[i], arg);
    free(defs);
    return STORE_OK;
}

const struct store_ops store_memory_ops = {
    .name = "memory",
    .shared = false,
    .open = mem_open,
    .close = mem_close,
    .session_open = mem_session_open,
    .session_close = mem_session_close,
    .claim = mem_claim,
    .give_back = mem_give_back,
    .create = mem_create,
    .drop = mem_drop,
    .lookup = mem_lookup,
    .list = mem_list,
};
