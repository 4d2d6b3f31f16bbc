/*
 * fuzz_conn: libFuzzer target for a whole client connection: bytes in,
 * replies out, on the memory store.
 *
 * Each run starts a fresh seqd core (memory store, its store thread) and
 * one worker whose event loop this thread drives (workers_start_inline),
 * hands it one end of a socketpair as a client, writes the input to the
 * other end in pieces (their sizes come from a hash of the input, so a run
 * reproduces, and requests get split across reads), half-closes, and
 * reads the replies until the server closes the connection. Then the
 * server is stopped as seqd stops (give-backs included) and everything
 * is freed, so no state carries over to the next run.
 *
 * The properties checked, beyond the sanitizers' own:
 *  - the connection finishes: after EOF the server answers what it got
 *    and closes, within WATCHDOG_S seconds (else abort: a hang);
 *  - what it sent is a sequence of whole, well-formed RESP2/RESP3 replies
 *    of the types seqd writes;
 *  - a protocol error is the last reply: the server closes after it.
 *
 * The server requires a password ("secret"; a reader user "app" with
 * password "reader"), so authentication and the pre-AUTH limits are
 * fuzzed too: seeds start with AUTH or HELLO ... AUTH.
 *
 * FUZZ_CONN_SHOW=1 in the environment prints each run's replies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "cmd.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "server.h"
#include "util.h"
#include "worker.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A connection that has not finished this long after its input ended
 * hangs: every wait in seqd is bounded by segment.wait_ms (200 here). */
#define WATCHDOG_S 10
/* Nested arrays in a reply: seqd's go three deep (INFO, HELLO, COMMAND). */
#define REPLY_DEPTH_MAX 8

static const char fuzz_config[] =
    "{\"store\": {\"type\": \"memory\", \"threads\": 1},"
    " \"requirepass\": \"secret\","
    " \"users\": [{\"name\": \"app\", \"role\": \"reader\","
    "   \"password_sha256\": \"3d0941964aa3ebdcb00ccef58b1bb399f9f898465e9886d5aec7f31090a0fb30\"}],"
    " \"segment\": {\"wait_ms\": 200},"
    " \"log\": {\"level\": \"warning\"}}";

static bool show_replies;

struct client {
    int fd;
    struct event *ev;
    struct buf replies;
    bool eof;                       /* the server closed its end */
};

static void die(const char *what)
{
    fprintf(stderr, "fuzz_conn: %s\n", what);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    pthread_mutex_init(&server.reload_lock, NULL);
    server.started_ms = mono_ms();
    memcpy(server.run_id, "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz", sizeof(server.run_id));
    cmd_stats_register();
    show_replies = getenv("FUZZ_CONN_SHOW") != NULL;
    return 0;
}

/* A fresh server: configuration, core on the memory store, one inline worker. */
static struct worker *seqd_up(void)
{
    char err[1024];
    size_t ndefs = 0;

    config_defaults(&server.cfg);
    if (config_load_string(&server.cfg, "fuzz_conn", fuzz_config, err, sizeof(err)) != 0 ||
        config_check(&server.cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_conn: config: %s\n", err);
        abort();
    }
    log_set_level(server.cfg.log_level);
    if (core_open(&server.cfg, &ndefs, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_conn: core_open: %s\n", err);
        abort();
    }
    workers_start_inline();
    server.nworkers = 1;
    struct worker *w = worker_by_id(0);
    core_start_leases(w->base);
    return w;
}

/* seqd's graceful stop (main.c, server_stop) without the doors. */
static void seqd_down(void)
{
    core_stop_claims();
    workers_stop();
    core_finish_jobs();
    workers_free();
    core_close();
}

static void on_replies(evutil_socket_t fd, short what, void *arg)
{
    struct client *cl = arg;

    for (;;) {
        buf_reserve(&cl->replies, 16 * 1024);
        ssize_t n = read(fd, cl->replies.data + cl->replies.len, cl->replies.cap - cl->replies.len);
        if (n > 0) {
            cl->replies.len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        cl->eof = true;             /* 0: closed; an error (a reset): closed too */
        event_del(cl->ev);
        return;
    }
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    fprintf(stderr, "fuzz_conn: the connection neither finished nor closed within %d s of its input's end "
            "(a hang)\n", WATCHDOG_S);
    abort();
}

/* The next piece size: a xorshift generator seeded from the input. */
static size_t next_piece(uint64_t *state, size_t left)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    size_t n;
    switch (x % 4) {
    case 0: n = left; break;                    /* the rest at once */
    case 1: n = 1 + (x >> 8) % 4; break;        /* a few bytes */
    default: n = 1 + (x >> 8) % 64; break;
    }
    return n < left ? n : left;
}

/* Write the input to the server in pieces; the worker reads each before
 * the next is written. Stops early when the server has closed. */
static void feed(struct worker *w, struct client *cl, const uint8_t *data, size_t size)
{
    uint64_t state = fnv1a64(UINT64_C(14695981039346656037), data, size) | 1;
    size_t off = 0;

    while (off < size && !cl->eof) {
        size_t end = off + next_piece(&state, size - off);
        while (off < end && !cl->eof) {
            ssize_t n = send(cl->fd, data + off, end - off, MSG_NOSIGNAL);
            if (n > 0) {
                off += (size_t)n;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                /* The socket is full: the server reads (or replies) first. */
                event_base_loop(w->base, EVLOOP_ONCE);
                continue;
            }
            return;                 /* EPIPE: the server closed */
        }
        event_base_loop(w->base, EVLOOP_NONBLOCK);
    }
}

/* ---- the replies -------------------------------------------------------- */

/* A line from p[pos]: returns the index after its CRLF, or 0 when there is
 * no CRLF or a lone CR or LF inside it. */
static size_t line_end(const char *p, size_t n, size_t pos)
{
    for (size_t i = pos; i < n; i++) {
        if (p[i] == '\n')
            return 0;
        if (p[i] == '\r')
            return i + 1 < n && p[i + 1] == '\n' ? i + 2 : 0;
    }
    return 0;
}

/* The integer of the line p[pos..end-2) (CRLF at end-2), as parse_i64
 * takes it: optional '-', then digits, nothing else. */
static bool line_int(const char *p, size_t pos, size_t end, int64_t *v)
{
    return parse_i64(p + pos, end - 2 - pos, v);
}

/* One reply at p[pos..n): returns the index after it, or 0 when it is not
 * a whole, well-formed reply. */
static size_t reply_end(const char *p, size_t n, size_t pos, int depth)
{
    if (pos >= n || depth > REPLY_DEPTH_MAX)
        return 0;
    char type = p[pos];
    size_t end = line_end(p, n, pos + 1);
    int64_t v;

    if (end == 0)
        return 0;
    switch (type) {
    case '+':
    case '-':
        return end;
    case ':':
        return line_int(p, pos + 1, end, &v) ? end : 0;
    case '_':
        return end == pos + 3 ? end : 0;
    case '$':
    case '=':
        if (!line_int(p, pos + 1, end, &v) || v < (type == '$' ? -1 : 0))
            return 0;
        if (v < 0)
            return end;         /* $-1, RESP2's null */
        if ((uint64_t)v > n - end || n - end - (size_t)v < 2)
            return 0;
        if (type == '=' && (v < 4 || memcmp(p + end, "txt:", 4) != 0))
            return 0;
        if (p[end + (size_t)v] != '\r' || p[end + (size_t)v + 1] != '\n')
            return 0;
        return end + (size_t)v + 2;
    case '*':
    case '~':
    case '%':
        if (!line_int(p, pos + 1, end, &v) || v < (type == '*' ? -1 : 0))
            return 0;
        if (type == '%')
            v *= 2;
        for (int64_t i = 0; i < v; i++) {
            end = reply_end(p, n, end, depth + 1);
            if (end == 0)
                return 0;
        }
        return end;
    default:
        return 0;
    }
}

static void check_replies(const struct buf *r)
{
    static const char protocol_error[] = "-ERR Protocol error";
    size_t pos = 0;

    while (pos < r->len) {
        size_t end = reply_end(r->data, r->len, pos, 0);
        if (end == 0) {
            char sample[256];
            str_printable(r->data + pos, r->len - pos, sample, sizeof(sample));
            fprintf(stderr, "fuzz_conn: a malformed or cut reply at byte %zu of %zu: '%s'\n", pos, r->len,
                    sample);
            abort();
        }
        if (end - pos >= sizeof(protocol_error) - 1 &&
            memcmp(r->data + pos, protocol_error, sizeof(protocol_error) - 1) == 0 && end != r->len)
            die("a reply follows a protocol error: the connection must close after it");
        pos = end;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct worker *w = seqd_up();
    struct client cl = { .fd = -1 };
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        die("socketpair failed");
    /* The server's end, as from a TCP client (addresses show in CLIENT LIST). */
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(40000);
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    worker_dispatch_conn(sv[0], &ss, sizeof(*sin), false);

    cl.fd = sv[1];
    buf_init(&cl.replies);
    cl.ev = event_new(w->base, cl.fd, EV_READ | EV_PERSIST, on_replies, &cl);
    event_add(cl.ev, NULL);
    event_base_loop(w->base, EVLOOP_NONBLOCK);  /* the worker takes the connection */

    feed(w, &cl, data, size);
    shutdown(cl.fd, SHUT_WR);
    struct event *watchdog = evtimer_new(w->base, on_watchdog, NULL);
    struct timeval limit = { WATCHDOG_S, 0 };
    evtimer_add(watchdog, &limit);
    while (!cl.eof)
        event_base_loop(w->base, EVLOOP_ONCE);
    event_free(watchdog);
    event_free(cl.ev);
    close(cl.fd);

    /* FUZZ_CONN_SHOW=1: the replies on stderr, to see what an input does. */
    if (show_replies)
        fprintf(stderr, "fuzz_conn: %zu bytes in, %zu bytes of replies:\n%.*s\n", size, cl.replies.len,
                (int)cl.replies.len, cl.replies.data ? cl.replies.data : "");
    check_replies(&cl.replies);
    buf_free(&cl.replies);
    seqd_down();
    return 0;
}
