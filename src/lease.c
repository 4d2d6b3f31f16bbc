/*
 * lease: type 5's worker id and timestamp reservation (see lease.h).
 *
 * One state under one mutex: what the store last confirmed (worker id,
 * generation, floor, reservation) and until when this node may use it by
 * its monotonic clock. The main thread's timer submits one JOB_LEASE at a
 * time; its result is applied on the store thread that ran it. Workers
 * read the state (lease_now) under the same short mutex.
 */
#include <event2/event.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lease.h"
#include "log.h"
#include "snowflake.h"
#include "store.h"
#include "store_pool.h"
#include "util.h"

/* A lease job and when it was sent (the lease's validity counts from
 * there, not from the answer). */
struct lease_job {
    struct store_job job;           /* first: the pool's done() gets &job */
    uint64_t sent_mono_ms;
};

static struct {
    pthread_mutex_t lock;
    struct lease_config cfg;
    bool held;                      /* a worker id is ours (it may have run out: valid_until) */
    int worker;
    uint64_t generation;
    uint64_t floor_ms, reserved_ms;
    uint64_t valid_until_mono;      /* held: usable while mono_ms() < this */
    uint64_t last_use_mono;         /* a worker last asked for ids */
    bool in_flight, nudged;
    bool warned;                    /* the current failure was logged */
    char why[200];                  /* why no ids can be made ("" when they can) */
    uint64_t acquired, lost, renew_failures;
    struct event *timer;
    struct store_pool *pool;
} L = { .lock = PTHREAD_MUTEX_INITIALIZER };

uint64_t lease_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The lease's length minus a margin: how long after sending a renewal the
 * node may still issue with it (only a shared store's lease runs out). */
static uint64_t valid_for_ms(void)
{
    uint64_t margin = L.cfg.ttl_ms / 10 < 100 ? 100 : L.cfg.ttl_ms / 10;
    return L.cfg.ttl_ms > margin ? L.cfg.ttl_ms - margin : 0;
}

static void lease_fill(struct worker_lease *wl, int op, uint64_t now_ms)
{
    memset(wl, 0, sizeof(*wl));
    wl->op = op;
    wl->worker_id = op == LEASE_ACQUIRE ? L.cfg.worker_id : L.worker;
    wl->id_step = L.cfg.id_step;
    wl->id_offset = L.cfg.id_offset;
    wl->generation = L.generation;
    wl->reserve_ms = now_ms + LEASE_RESERVE_AHEAD_MS;
    wl->ttl_ms = L.cfg.ttl_ms;
    wl->skew_ms = LEASE_SKEW_MS;
    strlcpy_safe(wl->holder, L.cfg.holder, sizeof(wl->holder));
}

static void exhausted_text(char *buf, size_t len)
{
    int n = 0;
    while (snowflake_worker_nth(L.cfg.id_step, L.cfg.id_offset, n) >= 0)
        n++;
    snprintf(buf, len, "all %d worker ids (%s) are leased by live nodes; stop a node or wait for a lease "
             "to expire", n, L.cfg.id_step > 1 ? "those ≡ id_offset mod id_step" : "0..1023");
}

/* Apply an answer. Caller holds L.lock. */
static void lease_apply(const struct worker_lease *wl, int status, const char *err, uint64_t sent_mono)
{
    bool shared = L.cfg.shared;

    if (status == STORE_OK && wl->op == LEASE_ACQUIRE) {
        L.held = true;
        L.worker = wl->worker_id;
        L.generation = wl->generation;
        L.floor_ms = wl->floor_ms;
        L.reserved_ms = wl->reserved_ms;
        L.valid_until_mono = shared ? sent_mono + valid_for_ms() : UINT64_MAX;
        L.acquired++;
        L.why[0] = '\0';
        L.warned = false;
        if (shared)
            log_notice("snowflake: leased worker id %d (generation %" PRIu64 ", ids after %" PRIu64 " ms)",
                       L.worker, L.generation, L.floor_ms);
        return;
    }
    if (status == STORE_OK && wl->op == LEASE_RENEW) {
        L.reserved_ms = wl->reserved_ms;
        if (shared)
            L.valid_until_mono = sent_mono + valid_for_ms();
        if (L.warned)
            log_notice("snowflake: the worker lease of id %d is renewed again", L.worker);
        L.why[0] = '\0';
        L.warned = false;
        return;
    }
    if (status == STORE_STALE && wl->op == LEASE_RENEW) {
        L.held = false;
        L.lost++;
        snprintf(L.why, sizeof(L.why), "the lease of worker id %d expired or was taken over; taking a new one",
                 L.worker);
        log_warn("snowflake: %s", L.why);
        L.warned = true;
        return;
    }
    if (wl->op == LEASE_RENEW)
        L.renew_failures++;
    if (wl->exhausted)
        exhausted_text(L.why, sizeof(L.why));
    else
        snprintf(L.why, sizeof(L.why), "the store did not %s the worker lease: %s",
                 wl->op == LEASE_ACQUIRE ? "grant" : "renew", err);
    if (!L.warned)
        log_warn("snowflake: %s", L.why);
    L.warned = true;
}

static void lease_job_done(struct store_job *job)
{
    struct lease_job *lj = (struct lease_job *)job;
    pthread_mutex_lock(&L.lock);
    lease_apply(&job->lease, job->status, job->err, lj->sent_mono_ms);
    L.in_flight = false;
    pthread_mutex_unlock(&L.lock);
    free(lj);
}

/* Submit the job the state calls for, if any. Caller holds L.lock. */
static void lease_submit_locked(void)
{
    if (L.in_flight || !L.pool)
        return;
    uint64_t mono = mono_ms(), now = lease_clock_ms();
    int op;
    if (!L.held) {
        op = LEASE_ACQUIRE;
    } else if (L.cfg.shared) {
        op = LEASE_RENEW;                     /* the lease is kept alive */
    } else {
        /* One node's store: the reservation is moved on while ids are
         * made (no write a second for an idle node). */
        bool used = mono - L.last_use_mono < 2 * LEASE_RESERVE_AHEAD_MS;
        if (!L.nudged && !(used && L.reserved_ms < now + LEASE_RESERVE_AHEAD_MS - LEASE_RENEW_MS / 2))
            return;
        op = LEASE_RENEW;
    }
    struct lease_job *lj = xcalloc(1, sizeof(*lj));
    lj->job.kind = JOB_LEASE;
    lj->job.done = lease_job_done;
    lj->sent_mono_ms = mono;
    lease_fill(&lj->job.lease, op, now);
    L.in_flight = true;
    L.nudged = false;
    store_pool_submit(L.pool, &lj->job);
}

static void arm(void)
{
    struct timeval tv = { LEASE_RENEW_MS / 1000, (LEASE_RENEW_MS % 1000) * 1000 };
    evtimer_add(L.timer, &tv);
}

static void on_lease_timer(evutil_socket_t fd, short what, void *arg)
{
    pthread_mutex_lock(&L.lock);
    lease_submit_locked();
    pthread_mutex_unlock(&L.lock);
    arm();
}

int lease_open(struct store *st, const struct lease_config *cfg, char *err, size_t errlen)
{
    struct worker_lease wl;
    char why[256] = "";

    L.cfg = *cfg;
    L.held = false;
    lease_fill(&wl, LEASE_ACQUIRE, lease_clock_ms());
    uint64_t sent = mono_ms();
    void *sess = st->ops->session_open(st);
    int rc = st->ops->worker_lease(st, sess, &wl, why, sizeof(why));
    st->ops->session_close(st, sess);
    pthread_mutex_lock(&L.lock);
    lease_apply(&wl, rc, why, sent);
    bool exhausted = rc != STORE_OK && wl.exhausted;
    if (exhausted || (rc != STORE_OK && !cfg->shared))
        snprintf(err, errlen, "snowflake worker id: %s", L.why);
    pthread_mutex_unlock(&L.lock);
    if (exhausted || (rc != STORE_OK && !cfg->shared))
        return -1;
    return 0;
}

void lease_wait_for_clock(void)
{
    uint64_t deadline = mono_ms() + LEASE_START_WAIT_MAX_MS;
    bool logged = false;

    for (;;) {
        pthread_mutex_lock(&L.lock);
        uint64_t floor = L.held ? L.floor_ms : 0;
        pthread_mutex_unlock(&L.lock);
        uint64_t now = lease_clock_ms();
        if (now > floor)
            break;
        uint64_t behind = floor - now + 1;
        if (!logged && behind > LEASE_START_WAIT_MAX_MS) {
            log_warn("snowflake: the clock is %" PRIu64 " ms behind the timestamps reserved before (an earlier "
                     "run, or the last holder of worker id %d); type 5 requests get TRYAGAIN until it passes them",
                     behind, L.worker);
            return;
        }
        if (!logged)
            log_notice("snowflake: waiting %" PRIu64 " ms for the clock to pass the timestamps reserved before "
                       "(an earlier run, or the last holder of worker id %d)", behind, L.worker);
        logged = true;
        if (mono_ms() >= deadline)
            break;
        uint64_t nap = behind < 100 ? behind : 100;
        struct timespec ts = { 0, (long)nap * 1000000L };
        nanosleep(&ts, NULL);
    }
    if (logged)
        log_notice("snowflake: the clock passed the reservation; ids may be made");
}

void lease_start(struct event_base *base, struct store_pool *pool)
{
    L.pool = pool;
    L.timer = evtimer_new(base, on_lease_timer, NULL);
    arm();
}

void lease_stop(void)
{
    if (L.timer) {
        event_free(L.timer);
        L.timer = NULL;
    }
    pthread_mutex_lock(&L.lock);
    L.pool = NULL;
    pthread_mutex_unlock(&L.lock);
}

void lease_release(struct store *st, uint64_t highest_ms)
{
    struct worker_lease wl;
    char why[256] = "";

    pthread_mutex_lock(&L.lock);
    if (!L.held) {
        pthread_mutex_unlock(&L.lock);
        return;
    }
    lease_fill(&wl, LEASE_RELEASE, 0);
    /* Every id made is at or below highest_ms; the floor's ms may have
     * been used by an earlier run. */
    wl.reserve_ms = highest_ms > L.floor_ms ? highest_ms : L.floor_ms;
    L.held = false;
    snprintf(L.why, sizeof(L.why), "shutting down");
    pthread_mutex_unlock(&L.lock);
    void *sess = st->ops->session_open(st);
    int rc = st->ops->worker_lease(st, sess, &wl, why, sizeof(why));
    st->ops->session_close(st, sess);
    if (rc != STORE_OK)
        log_warn("snowflake: could not release worker id %d: %s (the reservation stays ahead: a restart "
                 "may wait up to %d ms)", wl.worker_id, why, LEASE_RESERVE_AHEAD_MS);
    else if (L.cfg.shared)
        log_notice("snowflake: released worker id %d", wl.worker_id);
}

void lease_now(struct lease_now *out)
{
    uint64_t mono = mono_ms();
    pthread_mutex_lock(&L.lock);
    out->now_ms = lease_clock_ms();
    out->usable = L.held && mono < L.valid_until_mono;
    out->worker = L.worker;
    out->floor_ms = L.floor_ms;
    out->reserved_ms = L.reserved_ms;
    L.last_use_mono = mono;
    if (out->usable)
        out->why[0] = '\0';
    else if (L.held)
        snprintf(out->why, sizeof(out->why), "the lease of worker id %d could not be renewed in time%s%.120s",
                 L.worker, L.why[0] ? ": " : "", L.why);
    else
        strlcpy_safe(out->why, L.why[0] ? L.why : "no worker id leased yet", sizeof(out->why));
    pthread_mutex_unlock(&L.lock);
}

void lease_nudge(void)
{
    pthread_mutex_lock(&L.lock);
    L.nudged = true;
    lease_submit_locked();
    pthread_mutex_unlock(&L.lock);
}

void lease_get_info(struct lease_info *out)
{
    uint64_t mono = mono_ms();
    pthread_mutex_lock(&L.lock);
    out->shared = L.cfg.shared;
    out->usable = L.held && mono < L.valid_until_mono;
    out->worker = L.held ? L.worker : -1;
    out->generation = L.generation;
    out->floor_ms = L.floor_ms;
    out->reserved_ms = L.reserved_ms;
    out->acquired = L.acquired;
    out->lost = L.lost;
    out->renew_failures = L.renew_failures;
    strlcpy_safe(out->why, L.why, sizeof(out->why));
    pthread_mutex_unlock(&L.lock);
}
