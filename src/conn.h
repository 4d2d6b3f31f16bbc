/*
 * conn: one client connection, owned by one worker thread.
 *
 * States: READING (parse and run commands as they come), PARKED (a command
 * waits for numbers: its bytes stay in the input buffer and it is run again
 * when the worker is woken, or answered -TRYAGAIN after segment.wait_ms),
 * WAITING_JOB (a command waits for a store job: HSET, DEL, a look-up), and
 * CLOSING (reply sent or being sent, then close). Commands complete in
 * pipeline order: nothing behind a parked command runs before it.
 */
#ifndef SEQD_CONN_H
#define SEQD_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "buf.h"
#include "store_pool.h"

/* Past this much unsent output, stop reading the client's commands
 * (back-pressure); a client that then does not read for CONN_STALL_MS
 * is cut off. */
#define CONN_OUTPUT_SOFT (256 * 1024)
#define CONN_STALL_MS 30000
/* A request may not be larger than this (all its arguments together):
 * the input buffer of one client stays bounded. */
#define CONN_MAX_REQUEST (1024 * 1024)
/* One read event reads at most this much, so one pipelining client
 * cannot starve the others. */
#define CONN_READ_BUDGET (64 * 1024)

enum conn_state { CONN_READING, CONN_PARKED, CONN_WAITING_JOB, CONN_CLOSING };

struct worker;
struct seq;

struct conn {
    uint64_t id;
    int fd;
    struct worker *w;
    enum conn_state state;
    struct event *read_ev, *write_ev, *park_ev;
    struct buf in, out;
    int proto;                      /* 2 or 3 (HELLO 3) */
    bool authed;
    bool want_close;                /* close once out is sent */
    bool fd_closed;                 /* gone, but a store job still refers to us */
    /* PARKED */
    struct seq *park_seq;           /* reference, while parked */
    uint64_t parked_since_ms;
    size_t park_request_len;        /* bytes of the parked request */
    /* A command that runs in steps (MGET, DEL, EXISTS) keeps its place here
     * between runs, and a parked MGET / NEXT the numbers it already has. */
    int cmd_index;
    int64_t cmd_count;
    int64_t *partial;
    uint64_t npartial, partial_cap;
    /* WAITING_JOB */
    struct store_job *job;
    bool job_done;
    /* For CLIENT and logs. */
    char addr[64];
    char name[64];
    char lib_name[64];
    char lib_ver[32];
    uint64_t created_ms;
    struct conn *prev, *next;       /* the worker's list */
};

void conn_new(struct worker *w, int fd, const struct sockaddr_storage *addr, socklen_t addrlen);
/* A store job of a connection finished (on the connection's worker). */
void conn_job_done(struct store_job *job);
/* Run again the parked commands of a worker's connections. */
void conn_wake_parked(struct worker *w);
/* Graceful stop: stop reading, flush, close (see worker_stop). */
void conn_close_all(struct worker *w);
/* Free every connection immediately (after the worker's loop ended). */
void conn_free_all(struct worker *w);
/* Park the running command on s (takes the reference) until the worker is
 * woken or segment.wait_ms passes since it was first parked. */
void conn_park(struct conn *c, struct seq *s, size_t request_len);
/* Submit a store job for this connection; the command is run again when
 * it completes, and then finds c->job with c->job_done set. */
void conn_submit_job(struct conn *c, struct store_job *job);

#endif
