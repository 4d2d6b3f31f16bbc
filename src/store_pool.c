/*
 * store_pool: a queue of store jobs and the threads that run them.
 *
 * One mutex + condition variable guard the queue. A job that is not due
 * yet (a retry after backoff) waits in the queue; threads sleep until the
 * earliest due time. store.test_delay_ms (tests only) delays every claim
 * and the load of the definitions after start-up, to make the store look
 * slow.
 *
 * A store with claim_many (store.h) gets the claims that are due together
 * in one call: a thread that takes a claim takes the other due claims in
 * the queue with it, up to POOL_CLAIM_BATCH, and each job then completes
 * with its own status, as if it had run alone. Many cold sequences asked
 * for at once thus cost a few transactions, not one each.
 */
#include <errno.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_pool.h"
#include "util.h"

/* Claims run in one claim_many call at most (the mysql store makes them
 * in one transaction: SML_CLAIM_BATCH). */
#define POOL_CLAIM_BATCH 100

struct store_pool {
    struct store *st;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct store_job *head, *tail;
    int running;          /* jobs being run now */
    int queued;
    bool stopping;
    int nthreads;
    pthread_t *threads;
    struct store_pool_health health;    /* under lock */
    struct store_pool_claims claims;    /* under lock */
};

/* Delay a claim (or a batch of them) by store.test_delay_ms: tests only. */
static void test_delay(const struct store *st)
{
    if (st->test_delay_ms > 0) {
        struct timespec ts = { st->test_delay_ms / 1000, (long)(st->test_delay_ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
}

static void run_job(struct store *st, void *sess, struct store_job *job)
{
    const struct store_ops *ops = st->ops;
    job->err[0] = '\0';
    switch (job->kind) {
    case JOB_CLAIM:
        test_delay(st);
        job->status = ops->claim(st, sess, job->name, job->want, job->period, &job->def, &job->claim, job->err,
                                 sizeof(job->err));
        break;
    case JOB_CREATE:
        job->status = ops->create(st, sess, &job->def, job->err, sizeof(job->err));
        break;
    case JOB_DROP:
        job->status = ops->drop(st, sess, job->name, job->err, sizeof(job->err));
        break;
    case JOB_LOOKUP:
        job->status = ops->lookup(st, sess, job->name, &job->def, job->err, sizeof(job->err));
        break;
    case JOB_GIVE_BACK:
        job->status = ops->give_back(st, sess, job->name, job->from, job->to, job->period, &job->def,
                                     job->err, sizeof(job->err));
        break;
    case JOB_LEASE:
        job->status = ops->worker_lease(st, sess, &job->lease, job->err, sizeof(job->err));
        break;
    case JOB_RESCAN:
        if (st->test_delay_ms > 0 && job->rescan.first_load) {
            struct timespec ts = { st->test_delay_ms / 1000, (long)(st->test_delay_ms % 1000) * 1000000L };
            nanosleep(&ts, NULL);
        }
        if (ops->rescan) {
            job->status = ops->rescan(st, sess, &job->rescan, job->each, job->each_arg, job->err,
                                      sizeof(job->err));
        } else {
            job->rescan.full = true;
            job->status = ops->list(st, sess, job->each, job->each_arg, job->err, sizeof(job->err));
        }
        break;
    }
    if (job->status != STORE_OK && job->err[0] == '\0')
        strlcpy_safe(job->err, store_status_name(job->status), sizeof(job->err));
}

/* n claims (n > 1) in one claim_many call; each job gets its own status,
 * or the status of the call when it decided none. */
static void run_claims(struct store *st, void *sess, struct store_job **jobs, size_t n)
{
    struct store_claim items[POOL_CLAIM_BATCH];
    char err[256];

    test_delay(st);
    for (size_t i = 0; i < n; i++) {
        struct store_job *job = jobs[i];
        job->err[0] = '\0';
        items[i] = (struct store_claim){ job->name, job->want, job->period, &job->def, &job->claim, STORE_OK,
                                         job->err, sizeof(job->err) };
    }
    err[0] = '\0';
    int rc = st->ops->claim_many(st, sess, items, n, err, sizeof(err));
    for (size_t i = 0; i < n; i++) {
        struct store_job *job = jobs[i];
        job->status = rc == STORE_OK ? items[i].status : rc;
        if (rc != STORE_OK)
            strlcpy_safe(job->err, err, sizeof(job->err));
        if (job->status != STORE_OK && job->err[0] == '\0')
            strlcpy_safe(job->err, store_status_name(job->status), sizeof(job->err));
    }
}

/* The first job that is due, unlinked; or NULL and *wait_ms until one is. */
static struct store_job *take_due(struct store_pool *p, uint64_t now, uint64_t *wait_ms)
{
    struct store_job *prev = NULL;
    *wait_ms = UINT64_MAX;
    for (struct store_job *j = p->head; j; prev = j, j = j->next) {
        if (j->not_before_ms <= now) {
            if (prev)
                prev->next = j->next;
            else
                p->head = j->next;
            if (p->tail == j)
                p->tail = prev;
            j->next = NULL;
            p->queued--;
            return j;
        }
        if (j->not_before_ms - now < *wait_ms)
            *wait_ms = j->not_before_ms - now;
    }
    return NULL;
}

/* More due claims to run with the claim just taken: unlinked into
 * out[0..max), how many. Caller holds the lock. */
static size_t take_due_claims(struct store_pool *p, uint64_t now, struct store_job **out, size_t max)
{
    struct store_job **link = &p->head, *prev = NULL;
    size_t n = 0;

    while (*link && n < max) {
        struct store_job *j = *link;
        if (j->kind == JOB_CLAIM && j->not_before_ms <= now) {
            *link = j->next;
            if (p->tail == j)
                p->tail = prev;
            j->next = NULL;
            p->queued--;
            out[n++] = j;
        } else {
            prev = j;
            link = &j->next;
        }
    }
    return n;
}

/* Remember whether the store answered the job that just ran. */
static void note_outcome(struct store_pool *p, const struct store_job *job)
{
    bool down = job->status == STORE_UNAVAILABLE || job->status == STORE_UNKNOWN;

    pthread_mutex_lock(&p->lock);
    if (!down) {
        p->health.reachable = true;
        p->health.last_error[0] = '\0';
    } else {
        if (p->health.reachable)
            p->health.down_since_ms = mono_ms();
        p->health.reachable = false;
        strlcpy_safe(p->health.last_error, job->err, sizeof(p->health.last_error));
    }
    pthread_mutex_unlock(&p->lock);
}

static void *pool_thread(void *arg)
{
    struct store_pool *p = arg;
    void *sess = p->st->ops->session_open(p->st);

    pthread_mutex_lock(&p->lock);
    for (;;) {
        uint64_t wait_ms;
        uint64_t now = mono_ms();
        struct store_job *job = take_due(p, now, &wait_ms);
        if (job) {
            struct store_job *batch[POOL_CLAIM_BATCH];
            size_t n = 1;
            batch[0] = job;
            if (job->kind == JOB_CLAIM && p->st->ops->claim_many)
                n += take_due_claims(p, now, batch + 1, POOL_CLAIM_BATCH - 1);
            if (n > 1) {
                p->claims.batches++;
                p->claims.batched += n;
            }
            p->running += (int)n;
            pthread_mutex_unlock(&p->lock);
            if (n == 1)
                run_job(p->st, sess, job);
            else
                run_claims(p->st, sess, batch, n);
            for (size_t i = 0; i < n; i++) {
                note_outcome(p, batch[i]);
                batch[i]->done(batch[i]);    /* may resubmit: takes the lock itself */
            }
            pthread_mutex_lock(&p->lock);
            p->running -= (int)n;
            continue;
        }
        if (p->stopping)
            break;
        if (wait_ms == UINT64_MAX) {
            pthread_cond_wait(&p->cond, &p->lock);
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            uint64_t ns = (uint64_t)ts.tv_nsec + (wait_ms % 1000) * 1000000ULL;
            ts.tv_sec += (time_t)(wait_ms / 1000 + ns / 1000000000ULL);
            ts.tv_nsec = (long)(ns % 1000000000ULL);
            pthread_cond_timedwait(&p->cond, &p->lock, &ts);
        }
    }
    pthread_mutex_unlock(&p->lock);
    p->st->ops->session_close(p->st, sess);
    return NULL;
}

struct store_pool *store_pool_start(struct store *st, int threads)
{
    struct store_pool *p = xcalloc(1, sizeof(*p));
    pthread_condattr_t ca;

    p->st = st;
    p->health.reachable = true;
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    p->nthreads = threads;
    p->threads = xcalloc((size_t)threads, sizeof(pthread_t));
    for (int i = 0; i < threads; i++) {
        int rc = pthread_create(&p->threads[i], NULL, pool_thread, p);
        if (rc != 0) {
            log_warn("cannot start store thread: %s", strerror(rc));
            abort();
        }
    }
    return p;
}

void store_pool_submit(struct store_pool *p, struct store_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    p->queued++;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

void store_pool_stop(struct store_pool *p)
{
    struct store_job *left;

    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    /* Jobs waiting for a retry are not run again: their owners are told. */
    uint64_t now = mono_ms();
    struct store_job **link = &p->head;
    left = NULL;
    p->tail = NULL;
    while (*link) {
        struct store_job *j = *link;
        if (j->not_before_ms > now) {
            *link = j->next;
            j->next = left;
            left = j;
            p->queued--;
        } else {
            p->tail = j;
            link = &j->next;
        }
    }
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);

    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    /* Retries queued by the last jobs' done() callbacks join the rest. */
    while (p->head) {
        struct store_job *j = p->head;
        p->head = j->next;
        j->next = left;
        left = j;
    }

    while (left) {
        struct store_job *j = left;
        left = j->next;
        j->status = STORE_UNAVAILABLE;
        strlcpy_safe(j->err, "shutting down", sizeof(j->err));
        j->done(j);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p->threads);
    free(p);
}

int store_pool_pending(struct store_pool *p)
{
    pthread_mutex_lock(&p->lock);
    int n = p->queued + p->running;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void store_pool_health(struct store_pool *p, struct store_pool_health *out)
{
    pthread_mutex_lock(&p->lock);
    *out = p->health;
    pthread_mutex_unlock(&p->lock);
}

void store_pool_claims(struct store_pool *p, struct store_pool_claims *out)
{
    pthread_mutex_lock(&p->lock);
    *out = p->claims;
    pthread_mutex_unlock(&p->lock);
}
