/*
 * seq: live sequences, their claims, and the registry (see seq.h).
 *
 * Lock order: registry lock, then a sequence's lock. Store calls never
 * happen under either: claims run on the store pool, and only their
 * results are installed under the sequence's lock.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "seq.h"
#include "store.h"
#include "store_pool.h"
#include "util.h"

#define REGISTRY_BUCKETS 4096
#define CLAIM_BACKOFF_MIN_MS 100
#define CLAIM_BACKOFF_MAX_MS 5000

static struct {
    pthread_rwlock_t lock;
    struct seq *buckets[REGISTRY_BUCKETS];
    size_t count;
    struct seq_env env;
    bool stopping;           /* atomic: no new claims */
    struct hist claim_latency;
} reg;

/* Lock order: the registry's lock is never taken while holding a
 * sequence's lock (debug builds check it: seq_locks_held counts this
 * thread's sequence locks). */
#ifndef NDEBUG
static _Thread_local int seq_locks_held;
#endif

static void seq_lock(struct seq *s)
{
    pthread_mutex_lock(&s->lock);
#ifndef NDEBUG
    seq_locks_held++;
#endif
}

static void seq_unlock(struct seq *s)
{
#ifndef NDEBUG
    assert(seq_locks_held > 0);
    seq_locks_held--;
#endif
    pthread_mutex_unlock(&s->lock);
}

static void registry_lock(bool write)
{
#ifndef NDEBUG
    assert(seq_locks_held == 0);
#endif
    if (write)
        pthread_rwlock_wrlock(&reg.lock);
    else
        pthread_rwlock_rdlock(&reg.lock);
}

static uint32_t name_hash(const char *name, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)name[i];
        h *= 16777619u;
    }
    return h;
}

#define MISS_SLOTS 1024

static struct {
    pthread_mutex_t lock;
    struct {
        char name[SEQ_NAME_MAX + 1];
        uint64_t until_ms;
    } slot[MISS_SLOTS];
} misses = { .lock = PTHREAD_MUTEX_INITIALIZER };

void seq_miss_remember(const char *name, size_t len)
{
    if (len == 0 || len > SEQ_NAME_MAX)
        return;
    uint32_t i = name_hash(name, len) % MISS_SLOTS;
    pthread_mutex_lock(&misses.lock);
    memcpy(misses.slot[i].name, name, len);
    misses.slot[i].name[len] = '\0';
    misses.slot[i].until_ms = mono_ms() + SEQ_MISS_TTL_MS;
    pthread_mutex_unlock(&misses.lock);
}

bool seq_miss_recent(const char *name, size_t len)
{
    if (len == 0 || len > SEQ_NAME_MAX)
        return false;
    uint32_t i = name_hash(name, len) % MISS_SLOTS;
    pthread_mutex_lock(&misses.lock);
    bool hit = misses.slot[i].until_ms > mono_ms() && strlen(misses.slot[i].name) == len &&
               memcmp(misses.slot[i].name, name, len) == 0;
    pthread_mutex_unlock(&misses.lock);
    return hit;
}

void seq_miss_forget(const char *name, size_t len)
{
    if (len == 0 || len > SEQ_NAME_MAX)
        return;
    uint32_t i = name_hash(name, len) % MISS_SLOTS;
    pthread_mutex_lock(&misses.lock);
    misses.slot[i].until_ms = 0;
    pthread_mutex_unlock(&misses.lock);
}

static bool name_is(const struct seq *s, const char *name, size_t len)
{
    return strlen(s->def.name) == len && memcmp(s->def.name, name, len) == 0;
}

void seq_registry_init(const struct seq_env *env)
{
    pthread_rwlock_init(&reg.lock, NULL);
    reg.env = *env;
    if (reg.env.id_step == 0)
        reg.env.id_step = 1;
    reg.stopping = false;
}

void seq_registry_stop_claims(void)
{
    __atomic_store_n(&reg.stopping, true, __ATOMIC_RELEASE);
}

static void seq_free(struct seq *s)
{
    assert(s->waiters == NULL);     /* a waiter holds a reference */
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void seq_release(struct seq *s)
{
    if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
        seq_free(s);
}

void seq_ref(struct seq *s)
{
    __atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
}

void seq_registry_free(void)
{
    registry_lock(true);
    for (size_t i = 0; i < REGISTRY_BUCKETS; i++) {
        struct seq *s = reg.buckets[i];
        while (s) {
            struct seq *next = s->hnext;
            seq_release(s);
            s = next;
        }
        reg.buckets[i] = NULL;
    }
    reg.count = 0;
    pthread_rwlock_unlock(&reg.lock);
}

struct seq *seq_find(const char *name, size_t len)
{
    uint32_t b = name_hash(name, len) % REGISTRY_BUCKETS;
    struct seq *found = NULL;

    registry_lock(false);
    for (struct seq *s = reg.buckets[b]; s; s = s->hnext) {
        if (name_is(s, name, len)) {
            seq_ref(s);
            found = s;
            break;
        }
    }
    pthread_rwlock_unlock(&reg.lock);
    return found;
}

struct seq *seq_add(const struct seqdef *def)
{
    size_t len = strlen(def->name);
    uint32_t b = name_hash(def->name, len) % REGISTRY_BUCKETS;

    registry_lock(true);
    for (struct seq *s = reg.buckets[b]; s; s = s->hnext) {
        if (name_is(s, def->name, len)) {
            seq_ref(s);
            pthread_rwlock_unlock(&reg.lock);
            return s;
        }
    }
    struct seq *s = xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    s->def = *def;
    if (def->kind == SEQ_RANDOM)
        seqdef_perm_init(def, &s->perm);
    segbuf_init(&s->sb, seqdef_spread_limit(seqdef_limit(def), reg.env.id_step, reg.env.id_offset));
    s->added_ms = mono_ms();
    s->refs = 2;
    seq_miss_forget(def->name, len);                      /* the registry's and the caller's */
    s->hnext = reg.buckets[b];
    reg.buckets[b] = s;
    reg.count++;
    pthread_rwlock_unlock(&reg.lock);
    return s;
}

/* Tell the workers of a mask (bit i = worker i) that s changed; each
 * message carries its own reference. */
static void wake_mask(struct seq *s, uint64_t mask)
{
    for (int i = 0; mask; i++, mask >>= 1) {
        if (mask & 1) {
            seq_ref(s);
            reg.env.wake(i, s);
        }
    }
}

/* Remove the sequence of that name, or only `only` when it is not NULL
 * (a claim's result about one sequence object must not remove a newer
 * one of the same name). */
static void remove_named(const char *name, size_t len, const struct seq *only)
{
    uint32_t b = name_hash(name, len) % REGISTRY_BUCKETS;
    struct seq *victim = NULL;

    registry_lock(true);
    for (struct seq **link = &reg.buckets[b]; *link; link = &(*link)->hnext) {
        if (name_is(*link, name, len) && (only == NULL || *link == only)) {
            victim = *link;
            *link = victim->hnext;
            reg.count--;
            break;
        }
    }
    pthread_rwlock_unlock(&reg.lock);
    if (!victim)
        return;

    seq_lock(victim);
    victim->deleted = true;
    victim->wasted += segbuf_unused(&victim->sb);
    uint64_t mask = victim->waiting_workers;
    victim->waiting_workers = 0;
    seq_unlock(victim);
    wake_mask(victim, mask);
    seq_release(victim);
}

void seq_remove(const char *name, size_t len)
{
    remove_named(name, len, NULL);
}

size_t seq_count(void)
{
    registry_lock(false);
    size_t n = reg.count;
    pthread_rwlock_unlock(&reg.lock);
    return n;
}

void seq_foreach(void (*fn)(struct seq *s, void *arg), void *arg)
{
    /* Collect references first so fn may block or take the registry lock. */
    registry_lock(false);
    size_t n = reg.count, i = 0;
    struct seq **all = xcalloc(n ? n : 1, sizeof(*all));
    for (size_t b = 0; b < REGISTRY_BUCKETS; b++)
        for (struct seq *s = reg.buckets[b]; s && i < n; s = s->hnext) {
            seq_ref(s);
            all[i++] = s;
        }
    pthread_rwlock_unlock(&reg.lock);
    for (size_t k = 0; k < i; k++) {
        fn(all[k], arg);
        seq_release(all[k]);
    }
    free(all);
}

/* The number of store counter `counter` of s (counter < s->sb.limit). */
static int64_t seq_number(const struct seq *s, uint64_t counter)
{
    return seqdef_number(&s->def, &s->perm, seqdef_spread(counter, reg.env.id_step, reg.env.id_offset));
}

/* ---- claims ---------------------------------------------------------- */

static void claim_done(struct store_job *job);

/* Submit a claim for s; the caller holds s->lock and has set
 * claim_in_flight. The job holds a reference to s. */
static struct store_job *claim_job_new(struct seq *s)
{
    struct store_job *job = xcalloc(1, sizeof(*job));
    uint64_t elapsed = 0;

    if (s->last_install_ms) {
        elapsed = mono_ms() - s->last_install_ms;
        if (elapsed == 0)
            elapsed = 1;
    }
    job->kind = JOB_CLAIM;
    strlcpy_safe(job->name, s->def.name, sizeof(job->name));
    job->def = s->def;          /* claim only from this definition's row */
    job->want = segment_next_size(s->last_claim_size ? s->last_claim_size : s->def.segment,
                                  elapsed, reg.env.duration_ms, s->def.segment,
                                  reg.env.segment_max);
    /* A waiter that takes all its numbers at once needs this many more. */
    if (job->want < s->claim_at_least)
        job->want = s->claim_at_least;
    job->done = claim_done;
    job->owner = s;
    seq_ref(s);
    return job;
}

/* Must a claim start now? Caller holds s->lock. */
static bool claim_due(const struct seq *s)
{
    return !s->claim_in_flight && !s->deleted && s->claimed_top < s->sb.limit &&
           (segbuf_wants_claim(&s->sb) || (s->claim_at_least > 0 && !s->sb.has_next)) &&
           !__atomic_load_n(&reg.stopping, __ATOMIC_ACQUIRE);
}

static void give_back_done(struct store_job *job)
{
    if (job->status != STORE_OK && job->status != STORE_STALE)
        log_verbose("could not give back [%llu, %llu) of '%s': %s", (unsigned long long)job->from,
                    (unsigned long long)job->to, job->name, job->err);
    free(job);
}

/* A claim landed for a sequence this node no longer serves (deleted, or
 * the row was recreated): hand the range back at once, so that a new
 * sequence of the same name does not start with a hole (compare-and-set:
 * it only happens if nobody claimed after it). */
static void give_back_unused_claim(const struct store_job *claim)
{
    struct store_job *job = xcalloc(1, sizeof(*job));
    job->kind = JOB_GIVE_BACK;
    strlcpy_safe(job->name, claim->name, sizeof(job->name));
    job->from = claim->claim.start;
    job->to = claim->claim.start + claim->claim.count;
    job->done = give_back_done;
    store_pool_submit(reg.env.pool, job);
}

static void claim_done(struct store_job *job)
{
    struct seq *s = job->owner;
    uint64_t mask = 0;
    bool retry = false, remove = false;
    uint64_t delay = 0;

    seq_lock(s);
    bool stopping = __atomic_load_n(&reg.stopping, __ATOMIC_ACQUIRE);
    bool hand_back = false;
    if (s->deleted) {
        hand_back = job->status == STORE_OK;
        s->claim_in_flight = false;
    } else if (job->status == STORE_OK && !seqdef_same(&s->def, &job->claim.def)) {
        log_warn("sequence '%s' was redefined in the store; dropping this node's buffers",
                 s->def.name);
        hand_back = true;
        s->claim_in_flight = false;
        remove = true;
    } else if (job->status == STORE_OK) {
        if (s->failures > 0)
            log_notice("claims for '%s' work again after %d failures", s->def.name, s->failures);
        s->def.segment = job->claim.def.segment;
        if (!segbuf_install(&s->sb, job->claim.start, job->claim.count)) {
            /* Cannot happen with one claim in flight; never serve it twice. */
            log_warn("claim for '%s' arrived with both buffers full; range wasted", s->def.name);
            s->wasted += job->claim.count;
        }
        s->claimed_top = job->claim.start + job->claim.count;
        s->claim_at_least = 0;              /* its waiters look again */
        s->last_claim_size = job->claim.count;
        s->last_install_ms = mono_ms();
        s->last_claim_latency_us = mono_us() - s->claim_started_us;
        hist_observe(&reg.claim_latency, s->last_claim_latency_us);
        s->claims++;
        s->failures = 0;
        s->last_error[0] = '\0';
        s->claim_in_flight = false;
        mask = s->waiting_workers;
        s->waiting_workers = 0;
    } else if (job->status == STORE_NOT_FOUND) {
        s->claim_in_flight = false;
        remove = true;
    } else {
        /* UNKNOWN: the range may be recorded; it is never served, and the
         * next claim starts above it: counted as wasted (at least the
         * segment, what the store takes at the least). UNAVAILABLE /
         * ERROR: nothing was taken; try again later. */
        if (job->status == STORE_UNKNOWN)
            s->wasted += job->want > s->def.segment ? job->want : s->def.segment;
        if (s->failures == 0 || job->status == STORE_UNKNOWN)
            log_warn("claim for '%s' failed: %s%s", s->def.name, job->err,
                     job->status == STORE_UNKNOWN ? " (outcome unknown: range thrown away)" : "");
        s->failures++;
        strlcpy_safe(s->last_error, job->err, sizeof(s->last_error));
        if (stopping) {
            s->claim_in_flight = false;
        } else {
            retry = true;
            delay = CLAIM_BACKOFF_MIN_MS << (s->failures < 7 ? s->failures - 1 : 6);
            if (delay > CLAIM_BACKOFF_MAX_MS)
                delay = CLAIM_BACKOFF_MAX_MS;
            if (job->status == STORE_UNKNOWN)
                delay = 0;
        }
    }
    seq_unlock(s);

    if (hand_back)
        give_back_unused_claim(job);
    wake_mask(s, mask);
    if (remove)
        remove_named(s->def.name, strlen(s->def.name), s);
    if (retry) {
        memset(&job->claim, 0, sizeof(job->claim));
        job->not_before_ms = mono_ms() + delay;
        store_pool_submit(reg.env.pool, job);
        return;
    }
    seq_release(s);
    free(job);
}

/* Caller holds s->lock. */
static void waiter_link(struct seq *s, struct seq_waiter *wt)
{
    if (wt->linked)
        return;
    wt->prev = NULL;
    wt->next = s->waiters;
    if (s->waiters)
        s->waiters->prev = wt;
    s->waiters = wt;
    wt->linked = true;
    s->waiting_workers |= 1ULL << wt->worker_id;
}

/* Caller holds s->lock. */
static void waiter_unlink(struct seq *s, struct seq_waiter *wt)
{
    assert(wt->linked);
    if (wt->prev)
        wt->prev->next = wt->next;
    else
        s->waiters = wt->next;
    if (wt->next)
        wt->next->prev = wt->prev;
    wt->prev = wt->next = NULL;
    wt->linked = false;
}

void seq_unpark(struct seq *s, struct seq_waiter *wt)
{
    seq_lock(s);
    if (wt->linked)
        waiter_unlink(s, wt);
    seq_unlock(s);
}

struct seq_waiter *seq_ready_waiters(struct seq *s, int worker_id)
{
    struct seq_waiter *ready = NULL, **tail = &ready;

    seq_lock(s);
    struct seq_waiter *wt = s->waiters;
    while (wt) {
        struct seq_waiter *next = wt->next;
        if (wt->worker_id == worker_id) {
            waiter_unlink(s, wt);
            *tail = wt;
            tail = &wt->next;
        }
        wt = next;
    }
    /* Waiters of this worker parked after the wake-up was sent keep the
     * bit set; the claim that lands for them sends another. */
    seq_unlock(s);
    return ready;
}

/* SEQ_ALL / SEQ_CHECK: can the buffers hold all `want` once the claim
 * they are waiting for lands? Caller holds s->lock. Not when a next is
 * already there (nothing more can be installed) or when more is missing
 * than one claim may bring (segment.max). */
static bool can_wait_for_all(const struct seq *s, uint64_t missing)
{
    return !s->sb.has_next && missing <= reg.env.segment_max;
}

enum seq_take seq_take(struct seq *s, struct seq_waiter *wt, int64_t *out, uint64_t want, uint64_t *got,
                       enum seq_take_mode mode)
{
    enum seq_take result = SEQ_TAKEN;
    struct store_job *job = NULL;
    uint64_t n = 0, counter;

    seq_lock(s);
    if (s->deleted) {
        if (wt->linked)
            waiter_unlink(s, wt);
        seq_unlock(s);
        *got = 0;
        return SEQ_GONE;
    }
    uint64_t avail = segbuf_unused(&s->sb);
    if (mode != SEQ_SOME && avail < want) {
        /* Take nothing: the numbers there keep serving others. */
        if (s->claimed_top >= s->sb.limit) {
            result = SEQ_EXHAUSTED;          /* no claim can bring more */
            want = 0;
        } else if (can_wait_for_all(s, want - avail)) {
            if (want - avail > s->claim_at_least)
                s->claim_at_least = want - avail;
            result = SEQ_WAIT;
            waiter_link(s, wt);
            want = 0;
        }                                    /* else: as SEQ_SOME (seq.h) */
    }
    if (mode == SEQ_CHECK)
        want = 0;                            /* SEQ_TAKEN here: the caller takes them */
    while (n < want) {
        enum seg_take r = segbuf_take(&s->sb, &counter);
        if (r == SEG_TAKEN) {
            out[n++] = seq_number(s, counter);
            s->last_counter = counter;
            s->has_last = true;
            continue;
        }
        if (r == SEG_EXHAUSTED) {
            result = SEQ_EXHAUSTED;
        } else {
            result = SEQ_WAIT;
            waiter_link(s, wt);
        }
        break;
    }
    s->generated += n;
    /* Parked exactly when it must wait (a waiter that took its numbers
     * after all is not left in the list). */
    if (result != SEQ_WAIT && wt->linked)
        waiter_unlink(s, wt);
    if (claim_due(s)) {
        s->claim_in_flight = true;
        s->claim_started_us = mono_us();
        job = claim_job_new(s);
    }
    seq_unlock(s);

    if (job)
        store_pool_submit(reg.env.pool, job);
    *got = n;
    return result;
}

void seq_add_wasted(struct seq *s, uint64_t n)
{
    seq_lock(s);
    s->wasted += n;
    seq_unlock(s);
}

void seq_set_segment(struct seq *s, uint64_t segment)
{
    seq_lock(s);
    s->def.segment = segment;
    seq_unlock(s);
}

void seq_wait_reason(struct seq *s, char *buf, size_t len)
{
    seq_lock(s);
    if (s->last_error[0])
        snprintf(buf, len, "the store did not answer: %s", s->last_error);
    else
        snprintf(buf, len, "the store is slow to hand out a new segment");
    seq_unlock(s);
}

void seq_get_info(struct seq *s, struct seq_info *info)
{
    seq_lock(s);
    info->def = s->def;
    info->sb = s->sb;
    info->has_current = s->has_last;
    info->current = s->has_last ? seq_number(s, s->last_counter) : 0;
    info->claim_in_flight = s->claim_in_flight;
    info->generated = s->generated;
    info->wasted = s->wasted;
    info->given_back = s->given_back;
    info->claims = s->claims;
    info->last_claim_size = s->last_claim_size;
    info->last_claim_ms = s->claims ? s->last_install_ms : 0;
    info->last_claim_latency_us = s->last_claim_latency_us;
    strlcpy_safe(info->last_error, s->last_error, sizeof(info->last_error));
    seq_unlock(s);
}

void seq_claim_latency(struct hist *out)
{
    hist_read(&reg.claim_latency, out);
}

/* ---- graceful stop ----------------------------------------------------- */

struct give_back_ctx {
    struct store *st;
    void *sess;
    uint64_t returned, wasted;
};

static void give_back_one(struct seq *s, void *arg)
{
    struct give_back_ctx *ctx = arg;
    uint64_t from, to, unused;
    char err[256] = "";

    seq_lock(s);
    unused = segbuf_unused(&s->sb);
    to = s->claimed_top;
    from = segbuf_giveback_from(&s->sb, to);
    seq_unlock(s);
    if (unused == 0 && from == to)
        return;

    int status = STORE_OK;
    if (from < to)
        status = ctx->st->ops->give_back(ctx->st, ctx->sess, s->def.name, from, to, err, sizeof(err));
    uint64_t returned = (status == STORE_OK && from < to) ? to - from : 0;
    /* Counters past the kind's limit were never numbers: not returned, not wasted. */
    uint64_t returned_numbers = returned;
    if (returned_numbers > unused)
        returned_numbers = unused;

    seq_lock(s);
    s->given_back += returned_numbers;
    s->wasted += unused - returned_numbers;
    seq_unlock(s);
    ctx->returned += returned_numbers;
    ctx->wasted += unused - returned_numbers;
    if (status == STORE_STALE)
        log_verbose("'%s': another node claimed after us; %" PRIu64 " unused numbers wasted",
                    s->def.name, unused);
    else if (status != STORE_OK)
        log_warn("could not give back the unused range of '%s': %s", s->def.name, err);
    else if (from < to && unused > returned_numbers)
        log_verbose("'%s': gave back %" PRIu64 ", wasted %" PRIu64, s->def.name, returned_numbers,
                    unused - returned_numbers);
}

void seq_give_back_all(struct store *st)
{
    struct give_back_ctx ctx = { st, st->ops->session_open(st), 0, 0 };
    seq_foreach(give_back_one, &ctx);
    st->ops->session_close(st, ctx.sess);
    log_notice("gave back %" PRIu64 " unused numbers to the store; %" PRIu64 " wasted",
               ctx.returned, ctx.wasted);
}
