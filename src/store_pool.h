/*
 * store_pool: the threads that talk to the store, so that workers never do.
 *
 * Workers (and the main thread) submit jobs; a store thread runs the
 * blocking backend call and then calls the job's `done` callback on that
 * store thread. Claims that fail for a passing reason are retried with
 * backoff by the pool itself (a job may be due later: not_before_ms).
 * Claims due together run in one call of a store's claim_many, each job
 * still with its own status and done().
 */
#ifndef SEQD_STORE_POOL_H
#define SEQD_STORE_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

enum job_kind { JOB_CLAIM, JOB_CREATE, JOB_DROP, JOB_LOOKUP, JOB_RESCAN, JOB_GIVE_BACK, JOB_LEASE };

struct store_job;
typedef void job_done_fn(struct store_job *job);

struct store_job {
    enum job_kind kind;
    char name[SEQ_NAME_MAX + 1];
    uint64_t want;                /* JOB_CLAIM: counters wanted */
    uint64_t from, to;            /* JOB_GIVE_BACK: the range handed back */
    int64_t period;               /* JOB_CLAIM: the period wanted; JOB_GIVE_BACK: the range's
                                     (type 4, store.h; 0 for other kinds) */
    struct seqdef def;            /* JOB_CREATE, JOB_CLAIM (the one served), JOB_GIVE_BACK (the one
                                     the range was claimed from): in; JOB_LOOKUP: out */
    struct claim claim;           /* JOB_CLAIM: out */
    struct store_rescan rescan;   /* JOB_RESCAN: in and out (store.h) */
    store_list_fn *each;          /* JOB_RESCAN: gets each definition read, on the store thread */
    void *each_arg;
    struct worker_lease lease;    /* JOB_LEASE: in and out */
    int status;                   /* enum store_status, set before done */
    char err[256];
    uint64_t not_before_ms;       /* mono_ms() before which it must not run */
    job_done_fn *done;            /* called on the store thread, owns the job after */
    void *owner;                  /* the submitter's context (seq.c: the sequence) */
    struct store_job *next;
};

struct store_pool;

/* Start `threads` threads, each with its own backend session. */
struct store_pool *store_pool_start(struct store *st, int threads);
/* Queue a job (thread-safe). */
void store_pool_submit(struct store_pool *pool, struct store_job *job);
/* Stop taking jobs that are not yet due, finish the ones running and due,
 * and join the threads. Jobs dropped this way get done() with
 * STORE_UNAVAILABLE and err "shutting down". */
void store_pool_stop(struct store_pool *pool);
/* Jobs queued or running (for INFO). */
int store_pool_pending(struct store_pool *pool);

/* Can the store be reached? The outcome of the last job that ran: an
 * answer (OK, NOT_FOUND, EXISTS, STALE, ERROR: the store said something)
 * is reachable; UNAVAILABLE or UNKNOWN is down. Reachable until a job
 * says otherwise (start-up read the store). */
struct store_pool_health {
    bool reachable;
    uint64_t down_since_ms;         /* mono_ms() of the first failure in a row */
    char last_error[256];           /* the failure's text, "" when reachable */
};
void store_pool_health(struct store_pool *pool, struct store_pool_health *out);

/* Claims run together (store.h: claim_many): calls made, and the claims
 * they held. */
struct store_pool_claims {
    uint64_t batches;
    uint64_t batched;
};
void store_pool_claims(struct store_pool *pool, struct store_pool_claims *out);

#endif
