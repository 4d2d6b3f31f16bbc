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

#include "cmd.h"
#include "conn.h"
#include "core.h"
#include "log.h"
#include "reqstats.h"
#include "resp.h"
#include "server.h"
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
}

void conn_new(struct worker *w, int fd, const struct sockaddr_storage *addr, socklen_t addrlen)
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
    conn_listen(c);

    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    /* nconns counted it already (worker_dispatch_conn). */
    STAT_INC(&w->stats, connections_received);
    log_verbose("client %llu connected from %s", (unsigned long long)c->id, c->addr);
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

/* Send what we can now; arm the write event for the rest. Returns false
 * when the connection was closed. */
static bool conn_flush(struct conn *c)
{
    while (buf_used(&c->out) > 0) {
        ssize_t n = write(c->fd, buf_head(&c->out), buf_used(&c->out));
        if (n > 0) {
            STAT_ADD(&c->w->stats, net_output_bytes, (uint64_t)n);
            buf_consume(&c->out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct timeval stall = { c->lim.output_limit_s, 0 };
            event_add(c->write_ev, &stall);
            return true;
        }
        log_verbose("client %llu %s: write: %s", (unsigned long long)c->id, c->addr,
                    n < 0 ? strerror(errno) : "closed");
        conn_close(c);
        return false;
    }
    buf_compact(&c->out);
    event_del(c->write_ev);
    if (c->want_close) {
        conn_close(c);
        return false;
    }
    return true;
}

/* Read only while there is room for more commands: not while a command
 * waits, and not while unsent output piles up (back-pressure). */
static void conn_update_read_interest(struct conn *c)
{
    bool want = c->state == CONN_READING && !c->want_close && !c->input_done &&
                buf_used(&c->out) < (size_t)c->lim.output_limit_bytes && !c->w->stopping;
    if (want)
        conn_listen(c);
    else
        event_del(c->read_ev);
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

    if (what & EV_TIMEOUT) {
        log_verbose("client %llu %s: idle for %d s (timeout); closing", (unsigned long long)c->id,
                    c->addr, c->lim.timeout_s);
        STAT_INC(&c->w->stats, idle_timeout_closes);
        conn_close(c);
        return;
    }
    while (total < CONN_READ_BUDGET) {
        buf_reserve(&c->in, 16 * 1024);
        /* Never more than the budget: the buffer may have grown far
         * beyond 16 KB, and one large read would pass CONN_MAX_REQUEST
         * before conn_run() could look. */
        size_t room = c->in.cap - c->in.len;
        if (room > CONN_READ_BUDGET - total)
            room = CONN_READ_BUDGET - total;
        ssize_t n = read(fd, c->in.data + c->in.len, room);
        if (n > 0) {
            c->in.len += (size_t)n;
            total += (size_t)n;
            /* Less than asked for: the socket is empty now, and a read to
             * hear EAGAIN would double the system calls of a client that
             * sends in small pieces. More bytes wake the event again. */
            if ((size_t)n < room)
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

    if (what & EV_TIMEOUT) {
        log_notice("client %llu %s: not reading its replies for %d s (%zu bytes pending); closing",
                   (unsigned long long)c->id, c->addr, c->lim.output_limit_s, buf_used(&c->out));
        STAT_INC(&c->w->stats, output_limit_closes);
        conn_close(c);
        return;
    }
    if (!conn_flush(c))
        return;
    /* Output drained below the bound: commands may run again. */
    if (c->state == CONN_READING)
        conn_run(c);
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
        if (c->state != CONN_WAITING) {
            conn_set_state(c, CONN_CLOSING);
            event_del(c->read_ev);
            conn_flush(c);          /* closes once everything is sent */
        }
        c = next;
    }
}

void conn_free_all(struct worker *w)
{
    while (w->conns)
        conn_free(w->conns);
}
