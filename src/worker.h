/*
 * worker: the threads that serve connections (memcached's thread.c model).
 *
 * Each worker has its own event_base and an inbox: other threads push a
 * message (a new connection, a function to run on the worker, stop) and
 * write to the worker's eventfd; the worker drains the inbox on its own
 * thread. Nothing else touches a worker's connections.
 */
#ifndef SEQD_WORKER_H
#define SEQD_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "buf.h"
#include "resp.h"
#include "stats.h"

#define WORKERS_MAX 64

struct conn;
struct worker;
struct http_door;

/* A timer finer than libevent's (see worker_precise_timer_add). */
typedef void precise_timer_fn(void *arg);
struct precise_timer {
    precise_timer_fn *fn;
    void *arg;
    uint64_t due_us;                /* mono_us() */
    bool armed;
    struct precise_timer *next;
};
struct udp_door;

struct worker {
    int id;
    pthread_t thread;
    struct event_base *base;
    int notify_fd;                  /* eventfd */
    struct event *notify_ev;
    pthread_mutex_t inbox_lock;
    struct worker_msg *inbox_head, *inbox_tail;
    struct conn *conns;             /* every connection of this worker */
    int nconns;                     /* its connections, and those on their way to it */
    struct resp_request *req;       /* parse scratch, one per worker */
    struct buf spare_in, spare_out; /* buffers no connection holds (conn.c) */
    struct stats stats;
    struct http_door *http;         /* its share of the HTTP door, or NULL (http.c) */
    struct udp_door *udp;           /* its share of the UDP door, or NULL (udp.c) */
    int busy;                       /* HTTP requests and datagrams the core still works on */
    bool stopping;                  /* closing its connections */
    struct event *grace_ev;         /* bounds the time a stop may take */
    int precise_fd;                 /* timerfd of the precise timers */
    struct event *precise_ev;
    struct precise_timer *precise;  /* armed ones, unordered (a few at most) */
    uint64_t precise_set_us;        /* when precise_fd fires; 0: disarmed */
};

/* Start n workers; returns once all of them run. */
void workers_start(int n);
/* For a test or a fuzzer: one worker (id 0) without a thread of its own.
 * It serves only while the caller runs its loop (event_base_loop on
 * worker_by_id(0)->base), on the caller's thread; workers_stop() runs
 * that loop until the worker is done instead of joining a thread. */
void workers_start_inline(void);
/* Graceful: each worker stops reading commands, flushes its replies and
 * waits for its connections' store jobs (bounded), closes its connections
 * and exits; joins them. The store pool must still run. */
void workers_stop(void);
/* After the store pool has stopped: free what the workers held. */
void workers_free(void);

/* Thread-safe: hand a new connection to the next worker (round robin);
 * tls: it came to the TLS port. */
void worker_dispatch_conn(int fd, const struct sockaddr_storage *addr, socklen_t addrlen, bool tls);
/* Thread-safe: run fn(w, arg) on worker w's thread. After the workers
 * have stopped, workers_free() runs what is left, once every connection
 * is gone, so fn always runs exactly once. */
typedef void worker_fn(struct worker *w, void *arg);
void worker_call(struct worker *w, worker_fn *fn, void *arg);
/* After a SIGHUP reload: every worker applies it to its clients
 * (conn_apply_reload). */
void workers_apply_reload(void);
struct worker *worker_by_id(int id);
int worker_count(void);
/* On w's thread, after a connection, an HTTP request or a datagram is
 * done: a stopping worker with nothing left ends its loop. */
void worker_check_done(struct worker *w);

/* On w's thread: run t->fn(t->arg) once, after_us microseconds from now,
 * to the microsecond. libevent's timers step with the coarse clock (about
 * 4 ms) unless the base is made precise, and a precise base pays one
 * timerfd_settime() on every turn of the loop, for every request; these
 * timers share one timerfd of the worker's that is set only when a timer
 * is added or fires (a type 5 take waiting for the next millisecond).
 * Adding an armed timer moves it. */
void worker_precise_timer_add(struct worker *w, struct precise_timer *t, uint64_t after_us);
/* On w's thread; no-op when t is not armed. */
void worker_precise_timer_del(struct worker *w, struct precise_timer *t);

/* Sum of every worker's counters, and of connected clients. */
void workers_stats(struct stats *total);
int workers_clients(void);

#endif
