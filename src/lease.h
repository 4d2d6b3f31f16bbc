/*
 * lease: the worker id this node makes type 5 (snowflake) ids with, and
 * the timestamp reservation that keeps them unique across restarts.
 *
 * With the file or memory store the worker id is the configured one
 * (worker_id); with the mysql store the node leases one from the
 * seqd_workers table, and loses it when it cannot renew in time. Either
 * way the store records a reservation, the highest Unix ms the node's ids
 * may have, a little ahead of the clock (LEASE_RESERVE_AHEAD_MS); an id
 * past it waits until a store job has extended it, and a starting node
 * (or a new holder of the id) makes only ids later than the reservation it
 * found (the floor).
 *
 * The main thread's timer submits the store jobs (ACQUIRE, RENEW: like
 * discovery's rescans); workers only read the state (lease_now) and never
 * wait for the store. A node stops issuing with a lease before the lease
 * can have expired by its own monotonic clock: the renewal's send time +
 * the lease's length - a margin, whatever the answer's delay. After a
 * freeze (SIGSTOP) past that point it issues nothing until a renewal that
 * started after the freeze succeeds, or a new lease is taken.
 */
#ifndef SEQD_LEASE_H
#define SEQD_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct store;
struct store_pool;

/* How far ahead of the clock the reservation is kept; how often the
 * timer looks at it (and renews a mysql lease). */
#define LEASE_RESERVE_AHEAD_MS 2000
#define LEASE_RENEW_MS 500
/* A starting node with type 5 sequences waits at most this long for its
 * clock to pass the reservation it found; past that it starts and
 * answers type 5 requests with TRYAGAIN until the clock gets there. */
#define LEASE_START_WAIT_MAX_MS 10000
/* mysql: a lease is taken over this long after its expiry (by the DB's
 * clock) at the earliest: room for the DB's clock stepping and for clock
 * rate differences between the DB and the nodes. */
#define LEASE_SKEW_MS 2000

struct lease_config {
    bool shared;            /* the store is shared (mysql): lease a worker id */
    int worker_id;          /* the configured id (file, memory) */
    int id_step, id_offset; /* worker ids ≡ id_offset (mod id_step) */
    uint64_t ttl_ms;        /* mysql: the lease's length */
    char holder[128];       /* "host:port pid N": who holds it */
};

/* Start-up (main thread, may block): take the worker id and record the
 * first reservation. Returns 0, or -1 with err: the store failed, or every
 * worker id is leased ("all ... worker ids are leased"). A shared store
 * without the seqd_workers table is not fatal: type 5 ids then get
 * TRYAGAIN with the reason, and the timer keeps trying. */
int lease_open(struct store *st, const struct lease_config *cfg, char *err, size_t errlen);
/* Start-up, when type 5 sequences exist: wait (bounded, logged) until the
 * clock passes the reservation found. */
void lease_wait_for_clock(void);
/* The renewal timer on the main thread's event base. */
void lease_start(struct event_base *base, struct store_pool *pool);
void lease_stop(void);
/* Graceful stop (main thread, after the pool stopped): cut the
 * reservation down to highest_ms (the latest ms any id used) and give the
 * lease up. */
void lease_release(struct store *st, uint64_t highest_ms);

/* What a worker may issue with now (any thread). */
struct lease_now {
    uint64_t now_ms;        /* CLOCK_REALTIME, Unix ms */
    bool usable;            /* a worker id is held and valid now */
    int worker;
    uint64_t floor_ms, reserved_ms;
    char why[200];          /* !usable: why ("" otherwise) */
};
void lease_now(struct lease_now *out);
/* The reservation is running out (an id waits for it): renew soon. */
void lease_nudge(void);

/* For INFO. */
struct lease_info {
    bool shared, usable;
    int worker;
    uint64_t generation, floor_ms, reserved_ms;
    uint64_t acquired, lost, renew_failures;
    char why[200];
};
void lease_get_info(struct lease_info *out);

/* CLOCK_REALTIME in Unix ms (what type 5 ids are made of). */
uint64_t lease_clock_ms(void);

#endif
