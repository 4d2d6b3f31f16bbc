/*
 * store_memory: the store backend that keeps nothing. Definitions and
 * counters live in a store_table in this process and vanish when it
 * exits; for tests and throw-away use (store.type "memory").
 *
 * All calls may come from several store threads at once: one mutex guards
 * the table, held only for in-memory work (nothing here blocks).
 */
#include "store.h"

#include <pthread.h>
#include <stdlib.h>

#include "store_reserve.h"
#include "store_table.h"
#include "util.h"

struct mem_store {
    pthread_mutex_t lock;
    struct store_table table;
    struct store_reserve reserve;     /* type 5: in memory only */
};

static int mem_open(struct store *st, const struct config *cfg, char *err, size_t errlen)
{
    struct mem_store *m = xcalloc(1, sizeof(*m));

    pthread_mutex_init(&m->lock, NULL);
    store_table_init(&m->table);
    store_reserve_open(&m->reserve, NULL, err, errlen);
    st->priv = m;
    return 0;
}

static void mem_close(struct store *st)
{
    struct mem_store *m = st->priv;

    if (m == NULL)
        return;
    store_table_free(&m->table);
    store_reserve_close(&m->reserve);
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

static int mem_claim(struct store *st, void *sess, const char *name, uint64_t want, int64_t period,
                     const struct seqdef *expect, struct claim *out, char *err, size_t errlen)
{
    struct mem_store *m = st->priv;
    int rc;

    pthread_mutex_lock(&m->lock);
    rc = store_table_claim(&m->table, name, want, period, expect, out, err, errlen);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mem_give_back(struct store *st, void *sess, const char *name, uint64_t from,
                         uint64_t to, int64_t period, const struct seqdef *expect, char *err, size_t errlen)
{
    struct mem_store *m = st->priv;
    int rc;

    pthread_mutex_lock(&m->lock);
    rc = store_table_give_back(&m->table, name, from, to, period, expect, err, errlen);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mem_create(struct store *st, void *sess, const struct seqdef *def,
                      char *err, size_t errlen)
{
    struct mem_store *m = st->priv;
    int rc;

    pthread_mutex_lock(&m->lock);
    rc = store_table_add(&m->table, def, 0, err, errlen);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mem_drop(struct store *st, void *sess, const char *name, char *err, size_t errlen)
{
    struct mem_store *m = st->priv;
    int rc;

    pthread_mutex_lock(&m->lock);
    rc = store_table_remove(&m->table, name, err, errlen);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mem_lookup(struct store *st, void *sess, const char *name, struct seqdef *def,
                      char *err, size_t errlen)
{
    struct mem_store *m = st->priv;
    int rc;

    pthread_mutex_lock(&m->lock);
    rc = store_table_lookup(&m->table, name, def, err, errlen);
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
    defs = store_table_defs(&m->table, &n);
    pthread_mutex_unlock(&m->lock);

    for (i = 0; i < n; i++)
        each(&defs[i], arg);
    free(defs);
    return STORE_OK;
}

static int mem_worker_lease(struct store *st, void *sess, struct worker_lease *lease, char *err,
                            size_t errlen)
{
    struct mem_store *m = st->priv;
    return store_reserve_lease(&m->reserve, lease, err, errlen);
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
    .worker_lease = mem_worker_lease,
};
