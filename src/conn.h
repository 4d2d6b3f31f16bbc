/*
 * conn: one client connection, owned by one worker thread.
 *
 * Its job is bytes in and out and the request loop: parse a request, run
 * the command (cmd.c), send the replies. A connection of the TLS port
 * begins in HANDSHAKE (tls.h does the TLS; plain ones never go there, and
 * their bytes go through read() and write() untouched). States: READING (parse and run
 * commands as they come), WAITING (a command waits for the core: numbers
 * on their way, a store job; the core calls back, and the command's reply
 * function writes the answer), CLOSING (reply sent or being sent, then
 * close). Commands complete in pipeline order: nothing behind a waiting
 * command runs before it; but while one waits, the requests already read
 * behind it (up to CORE_PREFETCH_MAX) have their claims started, so that
 * a pipeline of GETs of many cold names waits for them side by side.
 */
#ifndef SEQD_CONN_H
#define SEQD_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "acl.h"
#include "buf.h"
#include "core.h"
#include "resp.h"
#include "server.h"

/* Past output_limit_bytes of unsent output, a connection stops reading
 * the client's commands (back-pressure); a client that then does not read
 * its replies for output_limit_seconds is cut off. A client that sends
 * nothing for `timeout` seconds (when set) while no command of its waits
 * is closed. These config values are taken when the connection is made. */
/* A request may not be larger than this (all its arguments together):
 * the input buffer of one client stays bounded. */
#define CONN_MAX_REQUEST (1024 * 1024)
/* One read event reads at most this much, so one pipelining client
 * cannot starve the others. */
#define CONN_READ_BUDGET (64 * 1024)

enum conn_state { CONN_HANDSHAKE, CONN_READING, CONN_WAITING, CONN_CLOSING };

struct worker;
struct conn;
struct tls_conn;

/* Writes the answer of a command whose core call has finished. */
typedef void conn_reply_fn(struct conn *c);

struct conn {
    uint64_t id;
    int fd;
    struct tls_conn *tls;           /* NULL: a plain connection */
    bool tls_read_wants_write;      /* a TLS read waits for the socket to take bytes */
    bool tls_write_wants_read;      /* a TLS write waits for the client's bytes */
    struct worker *w;
    enum conn_state state;
    struct event *read_ev, *write_ev;
    struct buf in, out;
    struct resp_progress parse;     /* how far the request at the head of in was parsed */
    int proto;                      /* 2 or 3 (HELLO 3) */
    bool authed;
    struct acl_id who;              /* the user it authenticated as; zeroed: default */
    bool want_close;                /* close once out is sent */
    bool input_done;                /* the client sent EOF (maybe a half-close):
                                       answer what it sent, then close */
    struct client_limits lim;       /* timeout and output bound, from the config */
    /* The core call of the running command, and how to answer it. */
    struct core_waiter wt;
    conn_reply_fn *reply;
    int stat_id;                    /* its reqstats id (cmd_dispatch sets it), or -1 */
    int64_t arg;                    /* a number its reply needs after a wait (DECODE's id) */
    /* The requests after the running one whose claims were started
     * (cmd_prefetch): the first ahead_bytes of in, ahead_reqs of them. */
    size_t ahead_bytes;
    int ahead_reqs;
    /* For CLIENT and logs. */
    char addr[64];
    char name[64];
    char lib_name[64];
    char lib_ver[32];
    uint64_t created_ms;
    struct conn *prev, *next;       /* the worker's list */
};

/* A new connection on fd (tls: it came to the TLS port). */
void conn_new(struct worker *w, int fd, const struct sockaddr_storage *addr, socklen_t addrlen, bool tls);
/* Graceful stop: stop reading, answer what was read, flush, close (see
 * worker_stop). */
void conn_close_all(struct worker *w);
/* Free every connection immediately (after the worker's loop ended). */
void conn_free_all(struct worker *w);
/* worker_fn: apply a SIGHUP reload to the worker's clients (limits, removed users). */
void conn_apply_reload(struct worker *w, void *arg);
/* The running command's core call returned CORE_PENDING: the connection
 * waits, and reply(c) answers when the core calls back. */
void conn_wait(struct conn *c, conn_reply_fn *reply);

#endif
