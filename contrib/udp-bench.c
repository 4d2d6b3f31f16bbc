/*
 * udp-bench: a closed-loop load generator for seqd's UDP JSON door
 * (id_server's protocol), for contrib/bench-doors.sh.
 *
 * Keeps C requests in flight over S connected sockets: each of the C
 * slots sends {"action":"get","rule_name":R,"app_name":A,"seq":N}, waits
 * for the reply that echoes its seq, and sends the next one at once. A
 * slot's seq is gen * C + slot, so a reply finds its slot by seq % C and
 * is its current request's only when the whole seq matches. A request not
 * answered within the timeout is lost (its slot sends a new one); a reply
 * that comes after that is late and not counted. A reply with a non-zero
 * code, or one that is not a reply to the request, is an error.
 *
 * First one probe request, untimed (it also creates the rule's app
 * counter on first use); then D seconds of load. Prints one line,
 *   rps=N replies=N lost=N late=N errors=N seconds=X
 * and exits 0, or 1 when there were errors (the first is shown on
 * stderr), or 2 when it could not run (usage, no server, probe refused).
 *
 * Usage: udp-bench [-c inflight] [-d seconds] [-s sockets] [-t timeout_ms]
 *                  [-r rule] [-a app] host port
 *
 * Build: cc -O2 -o udp-bench udp-bench.c (no library beyond libc).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SOCKETS_MAX 64
#define DATAGRAM_MAX 8192
#define PROBE_TRIES 5           /* the probe waits up to this many timeouts */

struct slot {
    uint64_t seq;               /* the request in flight; 0: none */
    uint64_t gen;
    double sent;                /* when it was sent, seconds */
};

static struct {
    const char *rule, *app;
    int inflight, nsock, timeout_ms;
    double seconds;
    int fds[SOCKETS_MAX];
    struct slot *slots;
    uint64_t replies, lost, late, errors;
    char first_error[512];
} ub = { .rule = "bench_rule", .app = "bench_app", .inflight = 50, .nsock = 2,
         .timeout_ms = 1000, .seconds = 5 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr, "usage: udp-bench [-c inflight] [-d seconds] [-s sockets] [-t timeout_ms] "
                    "[-r rule] [-a app] host port\n");
    exit(2);
}

/* A positive integer option, or usage. */
static long positive(const char *s, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 1 || v > max)
        usage();
    return v;
}

/* Connect nsock non-blocking UDP sockets to host:port. */
static void open_sockets(const char *host, const char *port)
{
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "udp-bench: %s:%s: %s\n", host, port, gai_strerror(rc));
        exit(2);
    }
    for (int i = 0; i < ub.nsock; i++) {
        int fd = socket(res->ai_family, SOCK_DGRAM, 0);
        if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0 ||
            fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
            fprintf(stderr, "udp-bench: socket to %s:%s: %s\n", host, port, strerror(errno));
            exit(2);
        }
        ub.fds[i] = fd;
    }
    freeaddrinfo(res);
}

static void send_request(int fd, uint64_t seq)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "{\"action\":\"get\",\"rule_name\":\"%s\",\"app_name\":\"%s\",\"seq\":%" PRIu64 "}",
                     ub.rule, ub.app, seq);
    /* A full socket buffer drops it: the slot's timeout counts it lost. */
    if (send(fd, buf, (size_t)n, 0) < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS &&
        errno != ECONNREFUSED) {
        fprintf(stderr, "udp-bench: send: %s\n", strerror(errno));
        exit(2);
    }
}

/* The slot's next request, on its socket. */
static void slot_send(int i, double t)
{
    struct slot *s = &ub.slots[i];
    s->gen++;
    s->seq = s->gen * (uint64_t)ub.inflight + (uint64_t)i;
    s->sent = t;
    send_request(ub.fds[i % ub.nsock], s->seq);
}

/* The text after "key": in the reply, or NULL. */
static const char *field(const char *reply, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(reply, pat);
    return p ? p + strlen(pat) : NULL;
}

/* What a reply said: returns 0 with *seq when it is a success that
 * carries a number; else -1 with why in msg. */
static int parse_reply(const char *reply, uint64_t *seq, char *msg, size_t msglen)
{
    const char *code = field(reply, "code"), *s = field(reply, "seq"), *data = field(reply, "data");
    char *end;

    if (!code || !s) {
        snprintf(msg, msglen, "not a reply with code and seq: %.200s", reply);
        return -1;
    }
    *seq = strtoull(s, &end, 10);
    if (end == s) {
        snprintf(msg, msglen, "seq is not the number sent: %.200s", reply);
        return -1;
    }
    if (strtol(code, NULL, 10) != 0) {
        snprintf(msg, msglen, "error reply: %.300s", reply);
        return -1;
    }
    if (!data || data[0] != '"' || data[1] < '0' || data[1] > '9') {
        snprintf(msg, msglen, "code 0 without a number in data: %.200s", reply);
        return -1;
    }
    return 0;
}

static void count_error(const char *msg)
{
    if (ub.errors++ == 0)
        snprintf(ub.first_error, sizeof(ub.first_error), "%s", msg);
}

/* Read what fd has; answer each reply's slot with its next request. */
static void drain(int fd, double t, int counting)
{
    char buf[DATAGRAM_MAX + 1], msg[512];
    for (;;) {
        ssize_t n = recv(fd, buf, DATAGRAM_MAX, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            if (errno == ECONNREFUSED) {    /* ICMP port unreachable: nobody on the port */
                fprintf(stderr, "udp-bench: the server's port refuses datagrams (is seqd's UDP door on?)\n");
                exit(2);
            }
            fprintf(stderr, "udp-bench: recv: %s\n", strerror(errno));
            exit(2);
        }
        buf[n] = '\0';
        uint64_t seq = 0;
        int ok = parse_reply(buf, &seq, msg, sizeof(msg));
        if (seq == 0 && ok == 0)
            continue;                       /* a late answer to the probe */
        int i = (int)(seq % (uint64_t)ub.inflight);
        if (ub.slots[i].seq != seq) {
            if (ok == 0)
                ub.late++;
            else
                count_error(msg);
            continue;
        }
        if (!counting) {
            ub.slots[i].seq = 0;
            continue;
        }
        if (ok == 0)
            ub.replies++;
        else
            count_error(msg);
        slot_send(i, t);
    }
}

/* One untimed request (seq 0), sent until answered; exits when it is
 * refused or never answered. */
static void probe(const char *host, const char *port)
{
    char buf[DATAGRAM_MAX + 1], msg[512];
    struct pollfd pfd = { .fd = ub.fds[0], .events = POLLIN };

    for (int tries = 0; tries < PROBE_TRIES; tries++) {
        send_request(ub.fds[0], 0);
        double deadline = now() + ub.timeout_ms / 1e3;
        double left;
        while ((left = deadline - now()) > 0) {
            if (poll(&pfd, 1, (int)(left * 1e3) + 1) <= 0)
                continue;
            ssize_t n = recv(ub.fds[0], buf, DATAGRAM_MAX, 0);
            if (n < 0) {
                if (errno == ECONNREFUSED) {
                    fprintf(stderr, "udp-bench: %s:%s refuses datagrams (is seqd's UDP door on?)\n", host, port);
                    exit(2);
                }
                continue;
            }
            buf[n] = '\0';
            uint64_t seq = 1;
            if (parse_reply(buf, &seq, msg, sizeof(msg)) != 0) {
                fprintf(stderr, "udp-bench: the first request failed: %s\n", msg);
                exit(2);
            }
            if (seq == 0)
                return;
        }
    }
    fprintf(stderr, "udp-bench: no reply from %s:%s in %d tries of %d ms (is seqd's UDP door on?)\n", host, port,
            PROBE_TRIES, ub.timeout_ms);
    exit(2);
}

int main(int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "c:d:s:t:r:a:")) != -1) {
        switch (opt) {
        case 'c': ub.inflight = (int)positive(optarg, 100000); break;
        case 'd': ub.seconds = (double)positive(optarg, 3600); break;
        case 's': ub.nsock = (int)positive(optarg, SOCKETS_MAX); break;
        case 't': ub.timeout_ms = (int)positive(optarg, 60000); break;
        case 'r': ub.rule = optarg; break;
        case 'a': ub.app = optarg; break;
        default: usage();
        }
    }
    if (argc - optind != 2 || strlen(ub.rule) > 200 || strlen(ub.app) > 200)
        usage();
    if (ub.nsock > ub.inflight)
        ub.nsock = ub.inflight;
    ub.slots = calloc((size_t)ub.inflight, sizeof(*ub.slots));
    if (!ub.slots) {
        fprintf(stderr, "udp-bench: out of memory\n");
        return 2;
    }
    open_sockets(argv[optind], argv[optind + 1]);
    probe(argv[optind], argv[optind + 1]);

    struct pollfd pfds[SOCKETS_MAX];
    for (int k = 0; k < ub.nsock; k++)
        pfds[k] = (struct pollfd){ .fd = ub.fds[k], .events = POLLIN };

    double start = now(), end = start + ub.seconds, t = start, next_scan = start;
    for (int i = 0; i < ub.inflight; i++)
        slot_send(i, t);
    while (t < end) {
        int wait_ms = (int)((end - t) * 1e3) + 1;
        if (wait_ms > 10)
            wait_ms = 10;                   /* wake for the timeout scan */
        int n = poll(pfds, (nfds_t)ub.nsock, wait_ms);
        t = now();
        if (n < 0 && errno != EINTR) {
            perror("udp-bench: poll");
            return 2;
        }
        for (int k = 0; n > 0 && k < ub.nsock; k++)
            if (pfds[k].revents)
                drain(pfds[k].fd, t, t < end);
        if (t >= next_scan) {
            for (int i = 0; i < ub.inflight; i++) {
                if (t - ub.slots[i].sent > ub.timeout_ms / 1e3) {
                    ub.lost++;
                    slot_send(i, t);
                }
            }
            next_scan = t + 0.01;
        }
    }
    double elapsed = t - start;

    printf("rps=%.0f replies=%" PRIu64 " lost=%" PRIu64 " late=%" PRIu64 " errors=%" PRIu64 " seconds=%.2f\n",
           (double)ub.replies / elapsed, ub.replies, ub.lost, ub.late, ub.errors, elapsed);
    if (ub.errors) {
        fprintf(stderr, "udp-bench: %" PRIu64 " errors; the first: %s\n", ub.errors, ub.first_error);
        return 1;
    }
    return 0;
}
