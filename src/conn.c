/*
 * conn: reading, running and answering one client's commands (see conn.h).
 */
#include <arpa/inet.h>
#include <assert.h>
#include <stddef.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "cmd.h"
#include "conn.h"
#include "core.h"
#include "log.h"
#include "reqstats.h"
#include "resp.h"
#include "server.h"
#include "tls.h"
#include "util.h"
#include "worker.h"

static void conn_on_read(evutil_socket_t fd, short what, void *arg);
static void conn_on_write(evutil_socket_t fd, short what, void *arg);
static void conn_on_core_done(struct core_waiter *wt);
static bool conn_run(struct conn *c);
static void conn_free(struct conn *c);

static const struct resp_limits limits_authed = { RESP_MAX_ARGS, RESP_MAX_BULK, false };
static const struct resp_limits limits_preauth = { RESP_PREAUTH_MAX_ARGS, RESP_PREAUTH_MAX_BULK, true };

static const char *state_name(enum conn_state s)
{
    switch (s) {
    case CONN_HANDSHAKE: return "handshake";
    case CONN_READING: return "reading";
    case CONN_WAITING: return "waiting";
    case CONN_CLOSING: return "closing";
    }
    return "?";
}

/* The one place a connection changes state (traceable at debug level). */
static void conn_set_state(struct conn *c, enum conn_state s)
{
    if (c->state != s)
        log_debug("client %llu %s: %s -> %s", (unsigned long long)c->id, c->addr,
                  state_name(c->state), state_name(s));
    c->state = s;
}

/* Wait for the client's next bytes, at most `timeout` seconds when set:
 * the idle clock restarts whenever the connection goes back to reading. */
static void conn_listen(struct conn *c)
{
    struct timeval idle = { c->lim.timeout_s, 0 };
    event_add(c->read_ev, c->lim.timeout_s > 0 ? &idle : NULL);
    /* Bytes OpenSSL has decrypted already make no socket event. */
    if (c->tls != NULL && tls_pending(c->tls))
        event_active(c->read_ev, EV_READ, 0);
}

void conn_new(struct worker *w, int fd, const struct sockaddr_storage *addr, socklen_t addrlen, bool tls)
{
    struct conn *c = xcalloc(1, sizeof(*c));

    c->id = __atomic_add_fetch(&server.next_client_id, 1, __ATOMIC_RELAXED);
    c->fd = fd;
    c->w = w;
    c->proto = 2;
    c->authed = !server_auth_required();
    server_client_limits(&c->lim);
    c->created_ms = mono_ms();
    c->stat_id = -1;
    buf_init(&c->in);
    buf_init(&c->out);
    addr_format(addr, c->addr, sizeof(c->addr));
    core_waiter_init(&c->wt, w, conn_on_core_done, c->addr);
    c->read_ev = event_new(w->base, fd, EV_READ | EV_PERSIST, conn_on_read, c);
    c->write_ev = event_new(w->base, fd, EV_WRITE, conn_on_write, c);
    if (tls) {
        /* The client speaks first (its ClientHello). */
        struct timeval handshake = { TLS_HANDSHAKE_TIMEOUT_S, 0 };
        c->tls = tls_conn_new(fd);
        c->state = CONN_HANDSHAKE;
        event_add(c->read_ev, &handshake);
    } else {
        c->state = CONN_READING;
        conn_listen(c);
    }

    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    /* nconns counted it already (worker_dispatch_conn). */
    STAT_INC(&w->stats, connections_received);
    log_verbose("client %llu connected from %s%s", (unsigned long long)c->id, c->addr, tls ? " (TLS port)" : "");
}

/* The client is gone or is cut off: drop the connection. A core call it
 * waits for is cancelled (a store job still finishes on its own). */
static void conn_close(struct conn *c)
{
    log_verbose("client %llu %s closed", (unsigned long long)c->id, c->addr);
    conn_set_state(c, CONN_CLOSING);
    conn_free(c);
}

/* Free the connection; the last one of a stopping worker ends its loop. */
static void conn_free(struct conn *c)
{
    struct worker *w = c->w;

    tls_conn_free(c->tls);
    close(c->fd);
    core_waiter_free(&c->wt);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    __atomic_sub_fetch(&w->nconns, 1, __ATOMIC_RELAXED);
    event_free(c->read_ev);
    event_free(c->write_ev);
    buf_free(&c->in);
    buf_free(&c->out);
    free(c);
    worker_check_done(w);
}

/* Connections between requests hold no buffers: one whose input is all
 * consumed (or whose replies are all sent) hands that buffer to its
 * worker, and the next one to read (or to answer) takes it. No allocation
 * per request, and an idle client costs its struct, not a 16 KB input
 * buffer (a page of it touched) and its last reply's buffer. */
#define CONN_SPARE_MAX (64 * 1024)   /* a larger buffer is freed, not kept */

static void buf_take_spare(struct buf *b, struct buf *spare)
{
    if (b->cap == 0 && spare->cap != 0) {
        *b = *spare;
        buf_init(spare);
    }
}

static void buf_give_back_spare(struct buf *b, struct buf *spare)
{
    if (b->cap == 0 || buf_used(b) != 0)
        return;
    if (spare->cap == 0 && b->cap <= CONN_SPARE_MAX) {
        buf_reset(b);
        *spare = *b;
    } else {
        buf_free(b);
    }
    buf_init(b);
}

/* write() for a TLS connection: what it sent, or -1 with errno (EAGAIN:
 * not now; c->tls_write_wants_read when TLS waits for the client's bytes). */
static ssize_t conn_tls_send(struct conn *c)
{
    size_t n = 0;

    switch (tls_write(c->tls, buf_head(&c->out), buf_used(&c->out), &n)) {
    case TLS_OK:
        return (ssize_t)n;
    case TLS_WANT_READ:
        c->tls_write_wants_read = true;
        /* fall through */
    case TLS_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case TLS_CLOSED:
        errno = EPIPE;
        return -1;
    case TLS_ERROR:
        break;
    }
    log_verbose("client %llu %s: TLS write: %s", (unsigned long long)c->id, c->addr, tls_conn_error(c->tls));
    errno = EPROTO;
    return -1;
}

/* read() for a TLS connection: n > 0, 0 at the end of input, or -1 with
 * errno (EAGAIN: nothing now; when TLS must send first, the write event
 * is armed and conn_on_write reads again). */
static ssize_t conn_tls_recv(struct conn *c, char *p, size_t room)
{
    size_t n = 0;

    switch (tls_read(c->tls, p, room, &n)) {
    case TLS_OK:
        return (ssize_t)n;
    case TLS_WANT_WRITE:
        c->tls_read_wants_write = true;
        event_add(c->write_ev, NULL);
        /* fall through */
    case TLS_WANT_READ:
        errno = EAGAIN;
        return -1;
    case TLS_CLOSED:
        return 0;
    case TLS_ERROR:
        break;
    }
    log_verbose("client %llu %s: TLS read: %s", (unsigned long long)c->id, c->addr, tls_conn_error(c->tls));
    errno = EPROTO;
    return -1;
}

/* Send what we can now; arm the write event for the rest. Returns false
 * when the connection was closed. */
static bool conn_flush(struct conn *c)
{
    while (buf_used(&c->out) > 0) {
        ssize_t n = c->tls ? conn_tls_send(c) : write(c->fd, buf_head(&c->out), buf_used(&c->out));
        if (n > 0) {
            STAT_ADD(&c->w->stats, net_output_bytes, (uint64_t)n);
            buf_consume(&c->out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct timeval stall = { c->lim.output_limit_s, 0 };
            /* A TLS write that waits for the client's bytes waits on the
             * read event (conn_update_read_interest keeps it). */
            event_add(c->tls_write_wants_read ? c->read_ev : c->write_ev, &stall);
            return true;
        }
        log_verbose("client %llu %s: write: %s", (unsigned long long)c->id, c->addr,
                    n < 0 ? strerror(errno) : "closed");
        conn_close(c);
        return false;
    }
    buf_give_back_spare(&c->out, &c->w->spare_out);
    event_del(c->write_ev);
    if (c->want_close) {
        conn_close(c);
        return false;
    }
    return true;
}

/* Read only while there is room for more commands: not while a command
 * waits, and not while unsent output piles up (back-pressure). */
static bool conn_reading_wanted(const struct conn *c)
{
    return c->state == CONN_READING && !c->want_close && !c->input_done &&
           buf_used(&c->out) < (size_t)c->lim.output_limit_bytes && !c->w->stopping;
}

static void conn_update_read_interest(struct conn *c)
{
    if (conn_reading_wanted(c))
        conn_listen(c);
    else if (!c->tls_write_wants_read)
        event_del(c->read_ev);
}

/* Read and drop what a client that failed its handshake sent and TLS did
 * not take (a plain-text command, say), so that the close is a FIN its
 * client reads as the end, not a reset. Bounded: no wait, a few reads. */
static void conn_drain(struct conn *c)
{
    char junk[4096];

    for (int i = 0; i < 16 && read(c->fd, junk, sizeof(junk)) > 0; i++)
        ;
}

/* A client that did not finish its TLS handshake in time. */
static void conn_handshake_late(struct conn *c)
{
    char why[64];

    snprintf(why, sizeof(why), "not done within %d s", TLS_HANDSHAKE_TIMEOUT_S);
    STAT_INC(&c->w->stats, tls_handshake_failures);
    tls_log_failure("RESP", c->addr, why);
    conn_close(c);
}

/* The TLS handshake of a connection of the TLS port, as far as the socket
 * allows. A failure is counted and logged (at most once a second) and
 * closes the connection; no one else notices. */
static void conn_handshake(struct conn *c)
{
    struct timeval handshake = { TLS_HANDSHAKE_TIMEOUT_S, 0 };
    char desc[320];

    /* Bounds a client that trickles its handshake a byte at a time (each
     * byte restarts the read event's timer). */
    if (mono_ms() - c->created_ms > TLS_HANDSHAKE_TIMEOUT_S * 1000) {
        conn_handshake_late(c);
        return;
    }
    switch (tls_handshake(c->tls)) {
    case TLS_OK:
        tls_conn_describe(c->tls, desc, sizeof(desc));
        log_verbose("client %llu %s: TLS handshake done: %s", (unsigned long long)c->id, c->addr, desc);
        event_del(c->write_ev);
        conn_set_state(c, CONN_READING);
        conn_listen(c);
        return;
    case TLS_WANT_READ:
        event_del(c->write_ev);     /* the read event stays, with its timeout */
        return;
    case TLS_WANT_WRITE:
        event_add(c->write_ev, &handshake);
        return;
    case TLS_CLOSED:
        /* A port check (a balancer's) connects and goes: not a failure. */
        log_verbose("client %llu %s: closed before the TLS handshake was done", (unsigned long long)c->id,
                    c->addr);
        break;
    case TLS_ERROR:
        STAT_INC(&c->w->stats, tls_handshake_failures);
        tls_log_failure("RESP", c->addr, tls_conn_error(c->tls));
        conn_drain(c);
        break;
    }
    conn_close(c);
}

static void conn_protocol_error(struct conn *c, const char *err, const char *sample, size_t len)
{
    char clean[64];
    str_printable(sample, len, clean, sizeof(clean));
    log_verbose("client %llu %s: protocol error: %s (input starts '%s')", (unsigned long long)c->id,
                c->addr, err, clean);
    resp_add_errorf(&c->out, "ERR Protocol error: %s", err);
    STAT_INC(&c->w->stats, protocol_errors);
    c->want_close = true;
    conn_set_state(c, CONN_CLOSING);
}

/* A command finished: count it for /metrics, as an error when the reply
 * it wrote from out's byte `mark` on is an error reply. */
static void conn_count(struct conn *c, size_t mark)
{
    if (c->stat_id >= 0)
        reqstats_count(c->stat_id, c->out.len > mark && c->out.data[mark] == '-');
}

void conn_wait(struct conn *c, conn_reply_fn *reply)
{
    c->reply = reply;
    conn_set_state(c, CONN_WAITING);
}

/* The core finished the waiting command: answer it and go on with the
 * requests behind it. */
static void conn_on_core_done(struct core_waiter *wt)
{
    struct conn *c = CONTAINER_OF(wt, struct conn, wt);

    assert(c->state == CONN_WAITING && c->reply);
    buf_take_spare(&c->out, &c->w->spare_out);
    size_t mark = c->out.len;
    c->reply(c);
    c->reply = NULL;
    conn_count(c, mark);
    STAT_INC(&c->w->stats, commands_processed);
    conn_set_state(c, CONN_READING);
    conn_run(c);
}

/* n bytes of input are done with (a request run, or an empty line). */
static void conn_consume(struct conn *c, size_t n)
{
    buf_consume(&c->in, n);
    if (c->ahead_bytes >= n && c->ahead_reqs > 0) {
        c->ahead_bytes -= n;
        c->ahead_reqs--;
    } else {
        c->ahead_bytes = 0;
        c->ahead_reqs = 0;
    }
}

/* A command waits: look at the requests already read behind it, each
 * once, at most CORE_PREFETCH_MAX ahead, and start the claims they will
 * need (cmd_prefetch). Nothing runs and nothing is consumed: they run in
 * their turn. The look-ahead parses from each request's start (resp_parse,
 * no progress kept): it runs once per waiting command, not once per read,
 * and c->parse stays the place of the request at the head of in. */
static void conn_prefetch(struct conn *c)
{
    struct resp_request *req = c->w->req;

    if (!c->authed || c->want_close)
        return;
    while (c->ahead_reqs < CORE_PREFETCH_MAX && c->ahead_bytes < buf_used(&c->in)) {
        size_t consumed = 0;
        const char *err = NULL;
        if (resp_parse(buf_head(&c->in) + c->ahead_bytes, buf_used(&c->in) - c->ahead_bytes, &limits_authed,
                       req, &consumed, &err) != RESP_OK)
            break;                  /* the rest is not here yet, or is an error for its turn */
        c->ahead_bytes += consumed;
        c->ahead_reqs++;
        if (req->argc > 0)
            cmd_prefetch(c, req);
    }
}

/* Parse and run commands until the input runs out, a command waits, or
 * the connection is closing. Returns false when the connection is gone. */
static bool conn_run(struct conn *c)
{
    struct resp_request *req = c->w->req;
    bool starved = false;

    buf_take_spare(&c->out, &c->w->spare_out);
    while (c->state == CONN_READING && !c->want_close &&
           buf_used(&c->out) < (size_t)c->lim.output_limit_bytes) {
        size_t consumed = 0;
        const char *err = NULL;
        const struct resp_limits *lim = c->authed ? &limits_authed : &limits_preauth;
        enum resp_status st = resp_parse_more(&c->parse, buf_head(&c->in), buf_used(&c->in), lim, req,
                                              &consumed, &err);
        if (st == RESP_AGAIN) {
            if (buf_used(&c->in) > CONN_MAX_REQUEST)
                conn_protocol_error(c, "request too large", buf_head(&c->in), buf_used(&c->in));
            starved = true;
            break;
        }
        if (st == RESP_ERR) {
            conn_protocol_error(c, err, buf_head(&c->in), buf_used(&c->in));
            break;
        }
        if (consumed > CONN_MAX_REQUEST) {
            /* Whole already (it came in one read): still too large. */
            conn_protocol_error(c, "request too large", buf_head(&c->in), consumed);
            break;
        }
        if (req->argc == 0) {
            conn_consume(c, consumed);
            continue;
        }
        size_t mark = c->out.len;
        enum cmd_result r = cmd_dispatch(c, req);
        /* The core keeps what a waiting command needs: its bytes can go. */
        conn_consume(c, consumed);
        if (r == CMD_WAIT) {
            conn_prefetch(c);
            break;
        }
        conn_count(c, mark);
        STAT_INC(&c->w->stats, commands_processed);
        if (r == CMD_CLOSE) {
            c->want_close = true;
            break;
        }
    }
    /* After EOF nothing more comes: a partial request stays one. */
    if (starved && c->input_done)
        c->want_close = true;
    buf_compact(&c->in);
    buf_give_back_spare(&c->in, &c->w->spare_in);
    if (buf_used(&c->out) > 0) {
        if (!conn_flush(c))
            return false;
        /* The loop stopped at the output bound and the flush sent it all:
         * commands already read must run without waiting for more input.
         * Going through the event loop gives other clients their turn. */
        if (buf_used(&c->out) == 0 && buf_used(&c->in) > 0 && c->state == CONN_READING)
            event_active(c->read_ev, EV_READ, 0);
    } else if (c->want_close) {
        conn_close(c);
        return false;
    }
    conn_update_read_interest(c);
    return true;
}

static void conn_on_read(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    size_t total = 0;

    if (c->state == CONN_HANDSHAKE) {
        if (what & EV_TIMEOUT)
            conn_handshake_late(c);
        else
            conn_handshake(c);
        return;
    }
    if (what & EV_TIMEOUT) {
        log_verbose("client %llu %s: idle for %d s (timeout); closing", (unsigned long long)c->id,
                    c->addr, c->lim.timeout_s);
        STAT_INC(&c->w->stats, idle_timeout_closes);
        conn_close(c);
        return;
    }
    if (c->tls_write_wants_read) {
        /* The bytes a TLS write waited for are here. */
        c->tls_write_wants_read = false;
        if (!conn_flush(c))
            return;
        if (!conn_reading_wanted(c)) {
            conn_update_read_interest(c);
            return;
        }
    }
    buf_take_spare(&c->in, &c->w->spare_in);
    while (total < CONN_READ_BUDGET) {
        buf_reserve(&c->in, 16 * 1024);
        /* Never more than the budget: the buffer may have grown far
         * beyond 16 KB, and one large read would pass CONN_MAX_REQUEST
         * before conn_run() could look. */
        size_t room = c->in.cap - c->in.len;
        if (room > CONN_READ_BUDGET - total)
            room = CONN_READ_BUDGET - total;
        ssize_t n = c->tls ? conn_tls_recv(c, c->in.data + c->in.len, room)
                           : read(fd, c->in.data + c->in.len, room);
        if (n > 0) {
            c->in.len += (size_t)n;
            total += (size_t)n;
            /* Less than asked for: the socket is empty now, and a read to
             * hear EAGAIN would double the system calls of a client that
             * sends in small pieces. More bytes wake the event again.
             * Not so with TLS: one read returns at most one record, so
             * less than asked for says nothing about the socket. */
            if ((size_t)n < room && c->tls == NULL)
                break;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            /* A hard error (a reset): no one is left to answer. */
            conn_close(c);
            return;
        }
        /* EOF: the client has sent all it will, and may still read (a
         * half-close, shutdown(SHUT_WR) after its last request, as nc
         * does): run what it sent, send the replies, then close. */
        c->input_done = true;
        break;
    }
    STAT_ADD(&c->w->stats, net_input_bytes, total);
    conn_run(c);
}

static void conn_on_write(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    if (c->state == CONN_HANDSHAKE) {
        conn_on_read(fd, what, c);  /* the same step, the same timeout */
        return;
    }
    if (what & EV_TIMEOUT) {
        log_notice("client %llu %s: not reading its replies for %d s (%zu bytes pending); closing",
                   (unsigned long long)c->id, c->addr, c->lim.output_limit_s, buf_used(&c->out));
        STAT_INC(&c->w->stats, output_limit_closes);
        conn_close(c);
        return;
    }
    if (c->tls_read_wants_write) {
        /* The bytes a TLS read had to send first can go now: read again;
         * conn_run sends the replies that wait, too. */
        c->tls_read_wants_write = false;
        conn_on_read(fd, EV_READ, c);
        return;
    }
    if (!conn_flush(c))
        return;
    /* Output drained below the bound: commands may run again. */
    if (c->state == CONN_READING)
        conn_run(c);
}

/* Read no more from c; it closes once its replies are sent (c may be
 * freed on return). */
static void conn_close_when_sent(struct conn *c)
{
    conn_set_state(c, CONN_CLOSING);
    event_del(c->read_ev);
    conn_flush(c);
}

void conn_close_all(struct worker *w)
{
    struct conn *c = w->conns;
    while (c) {
        struct conn *next = c->next;
        /* Commands already read are answered before the close, so a
         * client behind a draining balancer loses no request it sent. */
        if (c->state == CONN_READING && !c->want_close && buf_used(&c->in) > 0 && !conn_run(c)) {
            c = next;
            continue;
        }
        c->want_close = true;
        /* No claim lands any more: a command waiting for numbers is told
         * so now. One waiting for a store job (HSET, DEL, a look-up) is
         * answered when the job is back, then the connection closes. */
        if (c->state == CONN_WAITING && core_waits_for_numbers(&c->wt)) {
            core_cancel(&c->wt);
            c->reply = NULL;
            size_t mark = c->out.len;
            resp_add_error(&c->out, "TRYAGAIN server is shutting down");
            conn_count(c, mark);
            conn_set_state(c, CONN_READING);
        }
        if (c->state != CONN_WAITING)
            conn_close_when_sent(c);
        c = next;
    }
}

/* A SIGHUP reload, on the worker's thread: its clients take the new idle
 * timeout and output bounds now, and a client whose user the reload
 * removed is closed now, as Redis closes them at ACL DELUSER (its next
 * command would be refused anyway). One waiting for a store job is closed
 * once that job has answered. */
void conn_apply_reload(struct worker *w, void *arg)
{
    struct client_limits lim;

    (void)arg;
    server_client_limits(&lim);
    for (struct conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        c->lim = lim;
        if (c->state == CONN_HANDSHAKE)
            continue;               /* its timer is the handshake's bound */
        if (acl_stale(&c->who) && !acl_refresh(&c->who)) {
            log_notice("client %s: user %s was removed by a reload; closing its connection", c->addr,
                       c->who.user);
            c->want_close = true;
            if (c->state == CONN_READING)
                conn_close_when_sent(c);
            continue;
        }
        if (event_pending(c->write_ev, EV_WRITE, NULL)) {
            struct timeval stall = { c->lim.output_limit_s, 0 };
            event_add(c->write_ev, &stall);
        }
        if (event_pending(c->read_ev, EV_READ, NULL))
            conn_listen(c);         /* the idle timer starts again, with the new timeout */
    }
}

void conn_free_all(struct worker *w)
{
    while (w->conns)
        conn_free(w->conns);
}
