/*
 * discovery: the periodic rescan of a shared store (see discovery.h).
 *
 * The timer runs on the main thread and only submits a JOB_LIST; the
 * store thread that runs it also applies the result to the registry
 * (which is thread-safe), so the main thread never waits for the store.
 */
#include <event2/event.h>
#include <inttypes.h>
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
    uint64_t full_rescans;       /* atomic: those that read every row */
    uint64_t counts;             /* atomic: those that counted the rows */
    bool in_flight;              /* atomic: one rescan at a time */
    bool failing;                /* the last rescan failed (log once) */
    /* Between rescans (one runs at a time, in_flight orders them): */
    int64_t since_s;             /* the next one reads rows changed since; 0: every row */
    bool counted;                /* rows and added hold the last rescan's figures */
    uint64_t rows;               /* the table's rows at the last rescan */
    uint64_t added;              /* seq_added_total() at its end */
    unsigned since_full;         /* rescans since the last full one */
    bool loading;                /* atomic: the first full read, which loads every
                                    definition after start-up, has not completed yet */
    uint64_t load_started_ms;
} disc;

struct rescan_ctx {
    uint32_t scan_id;            /* seq_rescan_begin: what this rescan meets is marked */
    size_t added, redefined;
    char (*gone)[SEQ_NAME_MAX + 1];
    size_t ngone, capgone;
};

/* Each definition read: register a new one, take up a changed step, and
 * replace one that was deleted and created again by another node (this
 * node's buffers belong to the old sequence). */
static void rescan_row(const struct seqdef *def, void *arg)
{
    struct rescan_ctx *r = arg;
    size_t len = strlen(def->name);
    struct seq *s = seq_find(def->name, len);

    if (s && !seq_def_same(s, def)) {
        log_notice("sequence '%s' was redefined in the store; dropping this node's buffers", def->name);
        seq_release(s);
        seq_remove(def->name, len);
        s = NULL;
        r->redefined++;
    }
    if (s) {
        seq_set_segment(s, def->segment);
    } else {
        s = seq_add(def);
        r->added++;
    }
    seq_mark_seen(s, r->scan_id);
    seq_release(s);
}

/* After a full read: registered sequences it did not meet are gone from
 * the store, unless they were added after it began (a HSET racing it),
 * which seq_add marks as met by it. */
static void find_stale(struct seq *s, void *arg)
{
    struct rescan_ctx *r = arg;
    if (seq_seen(s) == r->scan_id)
        return;
    if (r->ngone == r->capgone) {
        r->capgone = r->capgone ? r->capgone * 2 : 16;
        r->gone = xrealloc(r->gone, r->capgone * sizeof(*r->gone));
    }
    strlcpy_safe(r->gone[r->ngone++], seq_name(s), SEQ_NAME_MAX + 1);
}

/* What the next rescan reads: every row when it is time for a full read,
 * or when the table holds fewer rows than the last count plus the
 * sequences registered since (some row was deleted); else the rows
 * changed since this one began, looking back DISCOVERY_OVERLAP_S. */
static void plan_next(const struct store_rescan *done)
{
    uint64_t added = seq_added_total();
    bool deleted = done->counted && disc.counted && done->rows < disc.rows + (added - disc.added);

    disc.since_full = done->full ? 0 : disc.since_full + 1;
    if (deleted || disc.since_full + 1 >= DISCOVERY_FULL_EVERY || done->now_s <= DISCOVERY_OVERLAP_S)
        disc.since_s = 0;
    else
        disc.since_s = done->now_s - DISCOVERY_OVERLAP_S;
    if (deleted)
        log_verbose("rescan: the table has fewer rows than expected (%" PRIu64 " < %" PRIu64
                    " + %" PRIu64 "); the next rescan reads every row", done->rows, disc.rows,
                    added - disc.added);
    if (done->counted) {             /* else the last count stays the one to compare with */
        disc.rows = done->rows;
        disc.added = added;
        disc.counted = true;
        __atomic_add_fetch(&disc.counts, 1, __ATOMIC_RELAXED);
    }
}

static void rescan_done(struct store_job *job)
{
    struct rescan_ctx *r = job->each_arg;

    if (job->status != STORE_OK) {
        if (!disc.failing)
            log_warn("rescan of the store failed: %s (will retry every %d s)", job->err, disc.interval_s);
        disc.failing = true;
        disc.since_s = 0;                /* what it missed is read in full */
        disc.counted = false;
    } else {
        if (disc.failing)
            log_notice("rescan of the store works again");
        disc.failing = false;
        if (job->rescan.full) {
            seq_foreach(find_stale, r);
            for (size_t i = 0; i < r->ngone; i++) {
                log_notice("sequence '%s' is gone from the store; dropping it", r->gone[i]);
                seq_remove(r->gone[i], strlen(r->gone[i]));
            }
            __atomic_add_fetch(&disc.full_rescans, 1, __ATOMIC_RELAXED);
        }
        if (__atomic_load_n(&disc.loading, __ATOMIC_ACQUIRE) && job->rescan.full) {
            log_notice("loaded %zu sequences from the store in %.1f s", seq_count(),
                       (double)(mono_ms() - disc.load_started_ms) / 1000.0);
            __atomic_store_n(&disc.loading, false, __ATOMIC_RELEASE);
        } else if (r->added) {
            log_verbose("rescan: %zu new sequences", r->added);
        }
        plan_next(&job->rescan);
    }
    __atomic_add_fetch(&disc.rescans, 1, __ATOMIC_RELAXED);
    free(r->gone);
    free(r);
    free(job);
    __atomic_store_n(&disc.in_flight, false, __ATOMIC_RELEASE);
}

/* The next rescan in interval_s; while the first load has not completed
 * (it failed, say), a new attempt every DISCOVERY_LOAD_RETRY_S. */
static void arm(void)
{
    int s = disc.interval_s;
    if (__atomic_load_n(&disc.loading, __ATOMIC_ACQUIRE) && s > DISCOVERY_LOAD_RETRY_S)
        s = DISCOVERY_LOAD_RETRY_S;
    struct timeval tv = { s, 0 };
    evtimer_add(disc.timer, &tv);
}

static void submit_rescan(void)
{
    if (!__atomic_exchange_n(&disc.in_flight, true, __ATOMIC_ACQ_REL)) {
        struct store_job *job = xcalloc(1, sizeof(*job));
        struct rescan_ctx *r = xcalloc(1, sizeof(*r));
        job->kind = JOB_RESCAN;
        job->done = rescan_done;
        job->rescan.since_s = disc.since_s;
        job->rescan.first_load = __atomic_load_n(&disc.loading, __ATOMIC_ACQUIRE);
        /* Every rescan marks what it meets, not only those planned to
         * read every row: a store that cannot read changed rows alone
         * reads them all (rescan.full), and find_stale then runs too. */
        r->scan_id = seq_rescan_begin();
        job->each = rescan_row;
        job->each_arg = r;
        store_pool_submit(disc.pool, job);
    }
}

static void on_rescan_timer(evutil_socket_t fd, short what, void *arg)
{
    submit_rescan();
    arm();
}

void discovery_start(struct event_base *base, struct store_pool *pool, int interval_s, bool load)
{
    disc.pool = pool;
    disc.interval_s = interval_s;
    disc.timer = evtimer_new(base, on_rescan_timer, NULL);
    if (load) {
        /* The first rescan reads every row (since_s is 0) and runs now. */
        disc.load_started_ms = mono_ms();
        __atomic_store_n(&disc.loading, true, __ATOMIC_RELEASE);
        submit_rescan();
    }
    arm();
}

bool discovery_loading(void)
{
    return __atomic_load_n(&disc.loading, __ATOMIC_ACQUIRE);
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

uint64_t discovery_full_rescans(void)
{
    return __atomic_load_n(&disc.full_rescans, __ATOMIC_RELAXED);
}

uint64_t discovery_counted_rescans(void)
{
    return __atomic_load_n(&disc.counts, __ATOMIC_RELAXED);
}

void discovery_stop(void)
{
    if (disc.timer) {
        event_free(disc.timer);
        disc.timer = NULL;
    }
}
