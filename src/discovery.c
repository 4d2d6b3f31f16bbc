/*
 * discovery: the periodic rescan of a shared store (see discovery.h).
 *
 * The timer runs on the main thread and only submits a JOB_LIST; the
 * store thread that runs it also applies the result to the registry
 * (which is thread-safe), so the main thread never waits for the store.
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "discovery.h"
#include "log.h"
#include "seq.h"
#include "store_pool.h"
#include "util.h"

static struct {
    struct event *timer;
    struct store_pool *pool;
    int interval_s;
    uint64_t rescans;            /* atomic: completed rescans, for INFO */
    bool in_flight;              /* atomic: one rescan at a time */
    bool failing;                /* the last rescan failed (log once) */
} disc;

struct stale_ctx {
    const struct seqdef *defs;
    size_t ndefs;
    uint64_t scan_started_ms;
    char (*gone)[SEQ_NAME_MAX + 1];
    size_t ngone, capgone;
};

static int def_cmp(const void *a, const void *b)
{
    return strcmp(((const struct seqdef *)a)->name, ((const struct seqdef *)b)->name);
}

/* Registered sequences missing from the scan are gone from the store,
 * unless they were added after the scan started (a HSET racing it). */
static void find_stale(struct seq *s, void *arg)
{
    struct stale_ctx *ctx = arg;
    if (s->added_ms >= ctx->scan_started_ms)
        return;
    if (bsearch(&s->def, ctx->defs, ctx->ndefs, sizeof(*ctx->defs), def_cmp))
        return;
    if (ctx->ngone == ctx->capgone) {
        ctx->capgone = ctx->capgone ? ctx->capgone * 2 : 16;
        ctx->gone = xrealloc(ctx->gone, ctx->capgone * sizeof(*ctx->gone));
    }
    strlcpy_safe(ctx->gone[ctx->ngone++], s->def.name, SEQ_NAME_MAX + 1);
}

static void rescan_done(struct store_job *job)
{
    if (job->status != STORE_OK) {
        if (!disc.failing)
            log_warn("rescan of the store failed: %s (will retry every %d s)", job->err, disc.interval_s);
        disc.failing = true;
    } else {
        if (disc.failing)
            log_notice("rescan of the store works again");
        disc.failing = false;
        size_t added = 0;
        for (size_t i = 0; i < job->ndefs; i++) {
            const char *name = job->defs[i].name;
            struct seq *s = seq_find(name, strlen(name));
            if (s && !seqdef_same(&s->def, &job->defs[i])) {
                /* Deleted and created again by another node: this node's
                 * buffers belong to the old sequence. */
                log_notice("sequence '%s' was redefined in the store; dropping this node's buffers", name);
                seq_release(s);
                seq_remove(name, strlen(name));
                s = NULL;
            }
            if (s) {
                seq_set_segment(s, job->defs[i].segment);
            } else {
                s = seq_add(&job->defs[i]);
                added++;
            }
            seq_release(s);
        }
        qsort(job->defs, job->ndefs, sizeof(*job->defs), def_cmp);
        struct stale_ctx ctx = { job->defs, job->ndefs, job->not_before_ms, NULL, 0, 0 };
        seq_foreach(find_stale, &ctx);
        for (size_t i = 0; i < ctx.ngone; i++) {
            log_notice("sequence '%s' is gone from the store; dropping it", ctx.gone[i]);
            seq_remove(ctx.gone[i], strlen(ctx.gone[i]));
        }
        if (added)
            log_verbose("rescan: %zu new sequences", added);
        free(ctx.gone);
    }
    __atomic_add_fetch(&disc.rescans, 1, __ATOMIC_RELAXED);
    free(job->defs);
    free(job);
    __atomic_store_n(&disc.in_flight, false, __ATOMIC_RELEASE);
}

static void arm(void)
{
    struct timeval tv = { disc.interval_s, 0 };
    evtimer_add(disc.timer, &tv);
}

static void on_rescan_timer(evutil_socket_t fd, short what, void *arg)
{
    if (!__atomic_exchange_n(&disc.in_flight, true, __ATOMIC_ACQ_REL)) {
        struct store_job *job = xcalloc(1, sizeof(*job));
        job->kind = JOB_LIST;
        job->done = rescan_done;
        /* not_before_ms doubles as the scan's start time for find_stale. */
        job->not_before_ms = mono_ms();
        store_pool_submit(disc.pool, job);
    }
    arm();
}

void discovery_start(struct event_base *base, struct store_pool *pool, int interval_s)
{
    disc.pool = pool;
    disc.interval_s = interval_s;
    disc.timer = evtimer_new(base, on_rescan_timer, NULL);
    arm();
}

void discovery_set_interval(int seconds)
{
    if (!disc.timer || seconds == disc.interval_s)
        return;
    disc.interval_s = seconds;
    evtimer_del(disc.timer);
    arm();
}

uint64_t discovery_rescans(void)
{
    return __atomic_load_n(&disc.rescans, __ATOMIC_RELAXED);
}

void discovery_stop(void)
{
    if (disc.timer) {
        event_free(disc.timer);
        disc.timer = NULL;
    }
}
