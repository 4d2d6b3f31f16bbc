/*
 * listener: accept connections and hand them to workers (see listener.h).
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listener.h"
#include "log.h"
#include "server.h"
#include "worker.h"

/* The plain port's and the TLS port's. */
static struct evconnlistener *listeners[2];

/* TCP keepalive as Redis sets it (anetKeepAlive): probes after `idle`
 * seconds of silence, then every idle/3 s, the peer declared dead after 3
 * unanswered ones. Finds clients that vanished without a FIN (a host
 * down, a cable pulled), which otherwise stay counted against maxclients. */
static void listener_keepalive(int fd, int idle)
{
    int one = 1, interval = idle / 3 > 0 ? idle / 3 : 1, count = 3;

    if (idle <= 0)
        return;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    bool tls = arg != NULL;

    if (workers_clients() >= server.cfg.maxclients) {
        static const char msg[] = "-ERR max number of clients reached\r\n";
        /* Best effort: the socket is fresh, the reply fits its buffer. A
         * TLS client would not understand it: it is just closed. */
        if (!tls) {
            ssize_t n = write(fd, msg, sizeof(msg) - 1);
            (void)n;
        }
        close(fd);
        STAT_INC(&server.listener_stats, rejected_connections);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* The main thread also applies SIGHUP's reloads: no lock needed. */
    listener_keepalive(fd, server.cfg.tcp_keepalive);
    /* Copied, not cast: sa is typed for the smallest address (alignment 2),
     * a sockaddr_storage needs 8. */
    struct sockaddr_storage ss;
    size_t len = salen > 0 ? (size_t)salen : 0;
    if (len > sizeof(ss))
        len = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, sa, len);
    worker_dispatch_conn(fd, &ss, (socklen_t)len, tls);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();
    /* EMFILE and friends: log and keep listening. */
    log_warn("accept: %s", evutil_socket_error_to_string(err));
}

int listener_open(struct event_base *base, const char *addr, int port, bool tls, char *err, size_t errlen)
{
    static int tls_mark;            /* on_accept's arg: non-NULL for the TLS port */
    struct evconnlistener **l = &listeners[tls ? 1 : 0];
    int fd = listener_socket(addr, port, SOCK_STREAM, err, errlen);

    if (fd < 0)
        return -1;
    *l = evconnlistener_new(base, on_accept, tls ? &tls_mark : NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                            0, fd);
    if (!*l) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", addr, port, strerror(errno));
        close(fd);
        return -1;
    }
    evconnlistener_set_error_cb(*l, on_accept_error);
    return 0;
}

int listener_socket(const char *addr, int port, int type, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char portstr[16];
    int fd, one = 1, rc, saved;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = type;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    snprintf(portstr, sizeof(portstr), "%d", port);
    rc = getaddrinfo(addr, portstr, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "bind address '%s': %s", addr, gai_strerror(rc));
        return -1;
    }
    fd = socket(res->ai_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        /* TCP: a restart may bind over its old connections' TIME_WAIT. Not
         * for UDP, where it would let two servers share the port. */
        if (type == SOCK_STREAM)
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || (type == SOCK_STREAM && listen(fd, 511) != 0)) {
            saved = errno;
            close(fd);
            fd = -1;
            errno = saved;
        }
    }
    saved = errno;
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "cannot listen on %s:%d: %s", addr, port, strerror(saved));
    return fd;
}

void listener_close(void)
{
    for (size_t i = 0; i < sizeof(listeners) / sizeof(listeners[0]); i++) {
        if (listeners[i]) {
            evconnlistener_free(listeners[i]);
            listeners[i] = NULL;
        }
    }
}
