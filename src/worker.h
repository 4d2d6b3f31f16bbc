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

#include "resp.h"
#include "stats.h"

#define WORKERS_MAX 64

struct conn;
struct http_door;
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
    struct stats stats;
    struct http_door *http;         /* its share of the HTTP door, or NULL (http.c) */
    struct udp_door *udp;           /* its share of the UDP door, or NULL (udp.c) */
    int busy;                       /* HTTP requests and datagrams the core still works on */
    bool stopping;                  /* closing its connections */
    struct event *grace_ev;         /* bounds the time a stop may take */
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

/* Thread-safe: hand a new connection to the next worker (round robin). */
void worker_dispatch_conn(int fd, const struct sockaddr_storage *addr, socklen_t addrlen);
/* Thread-safe: run fn(w, arg) on worker w's thread. After the workers
 * have stopped, workers_free() runs what is left, once every connection
 * is gone, so fn always runs exactly once. */
typedef void worker_fn(struct worker *w, void *arg);
void worker_call(struct worker *w, worker_fn *fn, void *arg);
struct worker *worker_by_id(int id);
int worker_count(void);
/* On w's thread, after a connection, an HTTP request or a datagram is
 * done: a stopping worker with nothing left ends its loop. */
void worker_check_done(struct worker *w);

/* Sum of every worker's counters, and of connected clients. */
void workers_stats(struct stats *total);
int workers_clients(void);

#endif
