/*
 * worker: worker threads, their inboxes and wake-ups (see worker.h).
 */
#include <assert.h>
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "conn.h"
#include "http.h"
#include "log.h"
#include "udp.h"
#include "util.h"
#include "worker.h"

enum msg_kind { MSG_NEW_CONN, MSG_CALL, MSG_STOP };

struct worker_msg {
    enum msg_kind kind;
    int fd;                         /* MSG_NEW_CONN */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    bool tls;
    worker_fn *fn;                  /* MSG_CALL */
    void *arg;
    struct worker_msg *next;
};

static struct {
    struct worker *all;
    int n;
    bool inline_loop;               /* workers_start_inline: no thread, the caller runs the loop */
    unsigned next;                  /* round robin, listener thread only */
    pthread_mutex_t ready_lock;
    pthread_cond_t ready_cond;
    int ready;
} workers;

static void worker_push(struct worker *w, struct worker_msg *m)
{
    uint64_t one = 1;
    bool was_empty;

    m->next = NULL;
    pthread_mutex_lock(&w->inbox_lock);
    was_empty = w->inbox_head == NULL;
    if (w->inbox_tail)
        w->inbox_tail->next = m;
    else
        w->inbox_head = m;
    w->inbox_tail = m;
    pthread_mutex_unlock(&w->inbox_lock);
    /* One wake-up per batch is enough: the worker drains the whole inbox. */
    if (was_empty) {
        while (write(w->notify_fd, &one, sizeof(one)) < 0 && errno == EINTR)
            ;
    }
}

/* A stopping worker gets this long to flush replies and finish store jobs
 * of its connections before they are dropped. */
#define WORKER_STOP_GRACE_MS 3000

static void worker_on_grace_over(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    log_warn("worker %d: dropping %d connections that did not finish in time", w->id, w->nconns);
    event_base_loopbreak(w->base);
}

static void worker_on_notify(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    uint64_t count;
    struct worker_msg *m;

    while (read(fd, &count, sizeof(count)) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&w->inbox_lock);
    m = w->inbox_head;
    w->inbox_head = w->inbox_tail = NULL;
    pthread_mutex_unlock(&w->inbox_lock);

    while (m) {
        struct worker_msg *next = m->next;
        switch (m->kind) {
        case MSG_NEW_CONN:
            if (w->stopping) {
                close(m->fd);
                __atomic_sub_fetch(&w->nconns, 1, __ATOMIC_RELAXED);
            } else
                conn_new(w, m->fd, &m->addr, m->addrlen, m->tls);
            break;
        case MSG_CALL:
            m->fn(w, m->arg);
            break;
        case MSG_STOP: {
            struct timeval grace = { WORKER_STOP_GRACE_MS / 1000, (WORKER_STOP_GRACE_MS % 1000) * 1000 };
            w->stopping = true;
            w->grace_ev = evtimer_new(w->base, worker_on_grace_over, w);
            evtimer_add(w->grace_ev, &grace);
            http_worker_stop(w);
            udp_worker_stop(w);
            conn_close_all(w);
            break;
        }
        }
        free(m);
        m = next;
    }
    worker_check_done(w);
}

void worker_check_done(struct worker *w)
{
    if (!w->stopping || w->nconns > 0 || w->busy > 0)
        return;
    /* HTTP replies sit in libevent's buffers until the loop writes them:
     * give it a moment before the loop ends. */
    if (w->http) {
        struct timeval flush = { 0, 100 * 1000 };
        event_base_loopexit(w->base, &flush);
    } else {
        event_base_loopbreak(w->base);
    }
}

/* ---- precise timers --------------------------------------------------------- */

/* Set the timerfd to the earliest armed timer, when that is not already
 * what it is set to. */
static void precise_rearm(struct worker *w)
{
    uint64_t first = 0;
    for (struct precise_timer *t = w->precise; t; t = t->next)
        if (first == 0 || t->due_us < first)
            first = t->due_us;
    if (first == w->precise_set_us)
        return;
    /* Relative, not TFD_TIMER_ABSTIME: mono_us() may be a faked clock
     * (libfaketime in the tests) that the kernel's is not. 0 disarms. */
    uint64_t now = mono_us(), in = first == 0 ? 0 : first > now ? first - now : 1;
    struct itimerspec its = { { 0, 0 }, { (time_t)(in / 1000000), (long)(in % 1000000) * 1000 } };
    if (timerfd_settime(w->precise_fd, 0, &its, NULL) != 0) {
        log_warn("worker %d: timerfd_settime: %s", w->id, strerror(errno));
        abort();
    }
    w->precise_set_us = first;
}

static void unlink_precise(struct worker *w, struct precise_timer *t)
{
    for (struct precise_timer **p = &w->precise; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    t->armed = false;
    t->next = NULL;
}

void worker_precise_timer_add(struct worker *w, struct precise_timer *t, uint64_t after_us)
{
    if (t->armed)
        unlink_precise(w, t);
    t->due_us = mono_us() + (after_us > 0 ? after_us : 1);
    t->armed = true;
    t->next = w->precise;
    w->precise = t;
    precise_rearm(w);
}

void worker_precise_timer_del(struct worker *w, struct precise_timer *t)
{
    if (t->armed)
        unlink_precise(w, t);
    /* The timerfd may still fire for it: on_precise finds nothing due. */
}

static void on_precise(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    uint64_t expirations;

    (void)what;
    while (read(fd, &expirations, sizeof(expirations)) < 0 && errno == EINTR)
        ;
    w->precise_set_us = 0;
    /* One at a time, from the start: a callback may add or delete timers. */
    for (;;) {
        uint64_t now = mono_us();
        struct precise_timer *t = w->precise;
        while (t && t->due_us > now)
            t = t->next;
        if (!t)
            break;
        unlink_precise(w, t);
        t->fn(t->arg);
    }
    precise_rearm(w);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    pthread_mutex_lock(&workers.ready_lock);
    workers.ready++;
    pthread_cond_signal(&workers.ready_cond);
    pthread_mutex_unlock(&workers.ready_lock);

    event_base_dispatch(w->base);
    return NULL;
}

/* A worker's event base, inbox and wake-up, ready for its loop. */
static void worker_init(struct worker *w, int id)
{
    w->id = id;
    /* Not EVENT_BASE_FLAG_PRECISE_TIMER: see worker_precise_timer_add. */
    w->base = event_base_new();
    if (!w->base) {
        log_warn("cannot create an event base for worker %d", id);
        abort();
    }
    w->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->notify_fd < 0) {
        log_warn("eventfd: %s", strerror(errno));
        abort();
    }
    w->notify_ev = event_new(w->base, w->notify_fd, EV_READ | EV_PERSIST, worker_on_notify, w);
    event_add(w->notify_ev, NULL);
    w->precise_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (w->precise_fd < 0) {
        log_warn("timerfd_create: %s", strerror(errno));
        abort();
    }
    w->precise_ev = event_new(w->base, w->precise_fd, EV_READ | EV_PERSIST, on_precise, w);
    event_add(w->precise_ev, NULL);
    pthread_mutex_init(&w->inbox_lock, NULL);
    w->req = xmalloc(sizeof(*w->req));
}

void workers_start_inline(void)
{
    workers.all = xcalloc(1, sizeof(struct worker));
    workers.n = 1;
    workers.next = 0;
    workers.inline_loop = true;
    worker_init(&workers.all[0], 0);
}

void workers_start(int n)
{
    workers.all = xcalloc((size_t)n, sizeof(struct worker));
    workers.n = n;
    workers.next = 0;
    workers.inline_loop = false;
    workers.ready = 0;
    pthread_mutex_init(&workers.ready_lock, NULL);
    pthread_cond_init(&workers.ready_cond, NULL);

    for (int i = 0; i < n; i++) {
        struct worker *w = &workers.all[i];
        worker_init(w, i);
        int rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0) {
            log_warn("cannot start worker %d: %s", i, strerror(rc));
            abort();
        }
    }
    /* Start-up waits until every worker has checked in. */
    pthread_mutex_lock(&workers.ready_lock);
    while (workers.ready < n)
        pthread_cond_wait(&workers.ready_cond, &workers.ready_lock);
    pthread_mutex_unlock(&workers.ready_lock);
}

void workers_stop(void)
{
    for (int i = 0; i < workers.n; i++) {
        struct worker_msg *m = xcalloc(1, sizeof(*m));
        m->kind = MSG_STOP;
        worker_push(&workers.all[i], m);
    }
    /* An inline worker's loop runs here until the worker is done. */
    for (int i = 0; i < workers.n; i++) {
        if (workers.inline_loop)
            event_base_dispatch(workers.all[i].base);
        else
            pthread_join(workers.all[i].thread, NULL);
    }
}

void workers_free(void)
{
    for (int i = 0; i < workers.n; i++) {
        struct worker *w = &workers.all[i];
        /* The connections go first (their waiters stop waiting), then the
         * messages that came after the stop: calls run with no one left to
         * answer, so they only let go of what they carry. */
        conn_free_all(w);
        http_worker_free(w);
        udp_worker_free(w);
        pthread_mutex_lock(&w->inbox_lock);
        struct worker_msg *m = w->inbox_head;
        w->inbox_head = w->inbox_tail = NULL;
        pthread_mutex_unlock(&w->inbox_lock);
        while (m) {
            struct worker_msg *next = m->next;
            if (m->kind == MSG_NEW_CONN) {
                close(m->fd);
                __atomic_sub_fetch(&w->nconns, 1, __ATOMIC_RELAXED);
            }
            if (m->kind == MSG_CALL)
                m->fn(w, m->arg);
            free(m);
            m = next;
        }
        if (w->grace_ev)
            event_free(w->grace_ev);
        event_free(w->notify_ev);
        close(w->notify_fd);
        event_free(w->precise_ev);
        close(w->precise_fd);
        event_base_free(w->base);
        pthread_mutex_destroy(&w->inbox_lock);
        free(w->req);
        buf_free(&w->spare_in);
        buf_free(&w->spare_out);
    }
    free(workers.all);
    workers.all = NULL;
    workers.n = 0;
}

void worker_dispatch_conn(int fd, const struct sockaddr_storage *addr, socklen_t addrlen, bool tls)
{
    struct worker *w = &workers.all[workers.next++ % (unsigned)workers.n];
    struct worker_msg *m = xcalloc(1, sizeof(*m));
    m->kind = MSG_NEW_CONN;
    m->fd = fd;
    memcpy(&m->addr, addr, addrlen);
    m->addrlen = addrlen;
    m->tls = tls;
    /* Counted now, not when the worker gets to it: the listener's
     * maxclients check sees a burst of connections that are on their way. */
    __atomic_add_fetch(&w->nconns, 1, __ATOMIC_RELAXED);
    worker_push(w, m);
}

void workers_apply_reload(void)
{
    for (int i = 0; i < workers.n; i++)
        worker_call(&workers.all[i], conn_apply_reload, NULL);
}

void worker_call(struct worker *w, worker_fn *fn, void *arg)
{
    struct worker_msg *m = xcalloc(1, sizeof(*m));
    m->kind = MSG_CALL;
    m->fn = fn;
    m->arg = arg;
    worker_push(w, m);
}

int worker_count(void)
{
    return workers.n;
}

struct worker *worker_by_id(int id)
{
    assert(workers.all != NULL && id >= 0 && id < workers.n);
    return &workers.all[id];
}

void workers_stats(struct stats *total)
{
    memset(total, 0, sizeof(*total));
    for (int i = 0; i < workers.n; i++)
        stats_sum(total, &workers.all[i].stats);
}

int workers_clients(void)
{
    int n = 0;
    for (int i = 0; i < workers.n; i++)
        n += __atomic_load_n(&workers.all[i].nconns, __ATOMIC_RELAXED);
    return n;
}
