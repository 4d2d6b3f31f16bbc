/*
 * udp: the UDP JSON door (see udp.h), id_server's "get" and "monitor".
 *
 * One socket; every worker reads it on its own event_base, so a datagram
 * goes to whichever worker reads it first, and that worker serves it:
 * parse the JSON, call the core, send the reply to the sender's address.
 * A datagram the core cannot answer at once keeps a struct udp_req (its
 * waiter, the sender, the seq to echo) on its worker's waiting list until
 * the core's done() answers it there.
 *
 * rule_name + app_name: the pair's counter is the sequence "RULE:APP",
 * made from the sequence RULE's definition on first use
 * (core_take_derived). app_name holds no ':', so two pairs never share a
 * name. RESP reaches the same sequence as GET RULE:APP.
 *
 * Replies carry a code (the table below, README "UDP JSON") and a message
 * that says what to do. No amplification: a request is at most
 * UDP_REQUEST_MAX bytes (a larger one is refused, code 1), and no reply
 * is longer than UDP_REPLY_FACTOR times the datagram it answers. An
 * error whose message does not fit is sent with the code's short word
 * instead ("bad request"); when even that does not fit (a datagram of a
 * few bytes), the datagram gets no reply.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core.h"
#include "listener.h"
#include "log.h"
#include "reqstats.h"
#include "server.h"
#include "udp.h"
#include "util.h"
#include "worker.h"

#define UDP_REQUEST_MAX 4096        /* bytes of a datagram; larger ones are refused */
#define UDP_REPLY_FACTOR 3          /* a reply is at most this many times its request */
#define UDP_REPLY_MAX (UDP_REQUEST_MAX * UDP_REPLY_FACTOR + 64)
#define UDP_READ_BUDGET 64          /* datagrams a worker reads per wake-up */
#define UDP_WAITING_MAX 10000       /* datagrams per worker waiting for the core */

/* The reply codes (README "UDP JSON"); each has a short word for when the
 * whole message would make the reply too long. */
enum udp_code {
    UDP_OK = 0,
    UDP_BAD_REQUEST = 1,            /* not JSON, wrong types, missing fields, bad names, too large */
    UDP_NO_SUCH_RULE = 2,           /* rule_name names no sequence */
    UDP_TRYAGAIN = 3,               /* no numbers within segment.wait_ms, the store unavailable, busy, stopping */
    UDP_EXHAUSTED = 4,              /* the rule's kind has no more numbers for this app */
    UDP_SERVER_ERROR = 5,           /* the store refused (a bad row, a full disk, ...) */
};

static const char *const code_words[] = {
    "success", "bad request", "no such rule", "try again", "exhausted", "server error",
};

enum udp_action { ACT_NONE, ACT_GET, ACT_MONITOR };

/* One datagram being served. */
struct udp_req {
    struct core_waiter wt;
    struct worker *w;
    enum udp_action action;
    bool asked_rule;                /* monitor: the pair is not here, is the rule? */
    size_t request_len;             /* bounds the reply */
    struct sockaddr_storage addr;   /* the sender: the reply goes there */
    socklen_t addrlen;
    char peer[INET6_ADDRSTRLEN + 8];
    cJSON *seq;                     /* the request's seq, echoed in the reply; NULL if none */
    char name[SEQ_NAME_MAX + 1];    /* RULE:APP; the rule is its first rulelen bytes */
    size_t len, rulelen;
    LIST_ENTRY(udp_req) link;       /* the worker's waiting list */
};

/* A worker's share of the door. */
struct udp_door {
    struct event *read_ev;
    LIST_HEAD(, udp_req) waiting;   /* datagrams the core still works on */
    int nwaiting;
    struct udp_req *spare;          /* reused by the next datagram */
    char in[UDP_REQUEST_MAX + 1];
    char out[UDP_REPLY_MAX];
};

static struct {
    int fd;
    int get_id, monitor_id, invalid_id;     /* reqstats */
} udp = { .fd = -1 };

/* ---- replies ----------------------------------------------------------- */

/* Print root into the door's buffer if it fits the bound. */
static bool render(struct udp_door *d, cJSON *root, size_t bound, size_t *len)
{
    if (!cJSON_PrintPreallocated(root, d->out, (int)sizeof(d->out), false))
        return false;
    *len = strlen(d->out);
    return *len <= bound;
}

/* Send {"code","message","data","seq"} to r's sender (data, taken over,
 * may be NULL; seq as the request sent it). Within the bound, or with the
 * code's word for message, or not at all (see the top of the file). */
static void reply(struct udp_req *r, int code, const char *message, cJSON *data)
{
    struct udp_door *d = r->w->udp;
    size_t bound = r->request_len * UDP_REPLY_FACTOR, len = 0;
    cJSON *root = cJSON_CreateObject();

    cJSON_AddNumberToObject(root, "code", code);
    cJSON_AddStringToObject(root, "message", message);
    if (data)
        cJSON_AddItemToObject(root, "data", data);
    if (r->seq) {
        cJSON_AddItemToObject(root, "seq", r->seq);
        r->seq = NULL;
    }
    bool fits = render(d, root, bound, &len);
    if (!fits && code != UDP_OK) {
        cJSON_ReplaceItemInObjectCaseSensitive(root, "message", cJSON_CreateString(code_words[code]));
        fits = render(d, root, bound, &len);
    }
    cJSON_Delete(root);
    if (!fits) {
        log_debug("udp: no reply to %s: a %zu-byte request gets at most %zu bytes (code %d)", r->peer,
                  r->request_len, bound, code);
        return;
    }
    if (sendto(udp.fd, d->out, len, MSG_DONTWAIT, (const struct sockaddr *)&r->addr, r->addrlen) < 0)
        log_debug("udp: reply to %s lost: %s", r->peer, strerror(errno));
}

static void reject(struct udp_req *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A datagram the door refuses before any core call. */
static void reject(struct udp_req *r, int code, const char *fmt, ...)
{
    char message[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    reply(r, code, message, NULL);
}

static int code_of(int status)
{
    switch (status) {
    case CORE_OK:
        return UDP_OK;
    case CORE_NO_SUCH:
        return UDP_NO_SUCH_RULE;
    case CORE_INVALID:
        return UDP_BAD_REQUEST;
    case CORE_TRYAGAIN:
        return UDP_TRYAGAIN;
    case CORE_EXHAUSTED:
        return UDP_EXHAUSTED;
    default:
        return UDP_SERVER_ERROR;
    }
}

/* The core's result for r: the reply, or (a monitor of a pair this node
 * does not have) the next question, whether the rule exists. Returns
 * CORE_PENDING when r waits again. */
static int answer(struct udp_req *r)
{
    struct core_waiter *wt = &r->wt;

    if (r->action == ACT_MONITOR && !r->asked_rule && wt->status == CORE_NO_SUCH) {
        r->asked_rule = true;
        if (core_describe(wt, r->name, r->rulelen) == CORE_PENDING)
            return CORE_PENDING;
    }
    int code = code_of(wt->status);
    reqstats_count(r->action == ACT_GET ? udp.get_id : udp.monitor_id, code != UDP_OK);
    if (code != UDP_OK) {
        reply(r, code, wt->err, NULL);
    } else if (r->action == ACT_GET) {
        char number[CORE_NUMBER_TEXT_MAX];
        core_number_text(wt, 0, number, sizeof(number));
        reply(r, UDP_OK, "success", cJSON_CreateString(number));
    } else {
        /* counter: numbers this node handed out for the pair (0 before
         * its first); node_offset: id_offset, as id_server answers. */
        cJSON *data = cJSON_CreateObject();
        cJSON_AddNumberToObject(data, "counter", r->asked_rule ? 0.0 : (double)wt->info->generated);
        cJSON_AddNumberToObject(data, "node_offset", (double)server.cfg.id_offset);
        reply(r, UDP_OK, "ok", data);
    }
    return CORE_OK;
}

/* ---- requests ----------------------------------------------------------- */

static void on_core_done(struct core_waiter *wt);

static struct udp_req *req_new(struct worker *w)
{
    struct udp_req *r = xcalloc(1, sizeof(*r));
    r->w = w;
    core_waiter_init(&r->wt, w, on_core_done, r->peer);
    return r;
}

static void req_free(struct udp_req *r)
{
    core_waiter_free(&r->wt);
    cJSON_Delete(r->seq);
    free(r);
}

static void wait_link(struct udp_door *d, struct udp_req *r)
{
    LIST_INSERT_HEAD(&d->waiting, r, link);
    d->nwaiting++;
    r->w->busy++;
}

static void wait_unlink(struct udp_door *d, struct udp_req *r)
{
    LIST_REMOVE(r, link);
    d->nwaiting--;
    r->w->busy--;
}

/* r is answered: keep it as the door's spare, or free it. */
static void req_done(struct udp_door *d, struct udp_req *r)
{
    cJSON_Delete(r->seq);
    r->seq = NULL;
    if (!d->spare)
        d->spare = r;
    else
        req_free(r);
}

static void on_core_done(struct core_waiter *wt)
{
    struct udp_req *r = CONTAINER_OF(wt, struct udp_req, wt);
    struct worker *w = r->w;
    struct udp_door *d = w->udp;

    wait_unlink(d, r);
    if (answer(r) == CORE_PENDING) {
        wait_link(d, r);
        return;
    }
    req_done(d, r);
    worker_check_done(w);
}

/* A string field of the request: NULL (with the reply sent) when it is
 * missing or not a string. */
static const char *string_field(struct udp_req *r, const cJSON *root, const char *key, const char *hint)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!item)
        reject(r, UDP_BAD_REQUEST, "missing %s (%s)", key, hint);
    else if (!cJSON_IsString(item))
        reject(r, UDP_BAD_REQUEST, "%s must be a string (%s)", key, hint);
    else
        return item->valuestring;
    return NULL;
}

/* Check the request and set r's action and names. Returns false with the
 * reply sent. */
static bool parse_request(struct udp_req *r, cJSON *root)
{
    char why[128];

    if (!cJSON_IsObject(root)) {
        reject(r, UDP_BAD_REQUEST, "the request must be a JSON object with action, rule_name and app_name");
        return false;
    }
    cJSON *seq = cJSON_GetObjectItemCaseSensitive(root, "seq");
    if (seq && !cJSON_IsNumber(seq) && !cJSON_IsString(seq)) {
        reject(r, UDP_BAD_REQUEST, "seq must be a number or a string (it is sent back as it came)");
        return false;
    }
    /* From here on every reply echoes it. */
    r->seq = seq ? cJSON_DetachItemViaPointer(root, seq) : NULL;

    const char *action = string_field(r, root, "action", "get or monitor");
    if (!action)
        return false;
    if (strcmp(action, "get") == 0) {
        r->action = ACT_GET;
    } else if (strcmp(action, "monitor") == 0) {
        r->action = ACT_MONITOR;
    } else {
        char shown[32];
        reject(r, UDP_BAD_REQUEST, "unknown action '%s': use get or monitor",
               str_printable(action, strlen(action), shown, sizeof(shown)));
        return false;
    }
    const cJSON *salt = cJSON_GetObjectItemCaseSensitive(root, "salt");
    if (salt && !cJSON_IsString(salt) && !cJSON_IsNumber(salt)) {
        reject(r, UDP_BAD_REQUEST, "salt must be a string or a number (seqd does not use it)");
        return false;
    }
    const char *rule = string_field(r, root, "rule_name", "the name of a sequence defined on seqd");
    if (!rule)
        return false;
    const char *app = string_field(r, root, "app_name", "any name: each app has its own counter under the rule");
    if (!app)
        return false;
    size_t rulelen = strlen(rule), applen = strlen(app);
    if (!seqdef_name_ok(rule, rulelen, why, sizeof(why))) {
        reject(r, UDP_BAD_REQUEST, "bad rule_name: %s", why);
        return false;
    }
    if (rulelen + 1 + applen > SEQ_NAME_MAX) {
        reject(r, UDP_BAD_REQUEST, "rule_name and app_name too long: together at most %d bytes",
               SEQ_NAME_MAX - 1);
        return false;
    }
    if (!seqdef_name_ok(app, applen, why, sizeof(why))) {
        reject(r, UDP_BAD_REQUEST, "bad app_name: %s", why);
        return false;
    }
    if (memchr(app, ':', applen)) {
        reject(r, UDP_BAD_REQUEST, "app_name must not contain ':'");
        return false;
    }
    memcpy(r->name, rule, rulelen);
    r->name[rulelen] = ':';
    memcpy(r->name + rulelen + 1, app, applen);
    r->len = rulelen + 1 + applen;
    r->name[r->len] = '\0';
    r->rulelen = rulelen;
    return true;
}

/* Serve the datagram of len bytes in d->in. Returns CORE_PENDING when r
 * waits for the core (done() answers it), else r is answered. */
static int serve(struct udp_door *d, struct udp_req *r, size_t len)
{
    r->request_len = len;
    r->action = ACT_NONE;
    r->asked_rule = false;
    if (len > UDP_REQUEST_MAX) {
        reqstats_count(udp.invalid_id, true);
        reject(r, UDP_BAD_REQUEST, "datagram too large: %zu bytes, at most %d", len, UDP_REQUEST_MAX);
        return CORE_OK;
    }
    d->in[len] = '\0';
    cJSON *root = NULL;
    if (memchr(d->in, '\0', len) == NULL)
        root = cJSON_ParseWithOpts(d->in, NULL, true);
    if (!root) {
        reqstats_count(udp.invalid_id, true);
        reject(r, UDP_BAD_REQUEST, "not JSON: send one JSON object with action, rule_name and app_name");
        return CORE_OK;
    }
    if (!parse_request(r, root)) {
        cJSON_Delete(root);
        reqstats_count(udp.invalid_id, true);
        return CORE_OK;
    }
    cJSON_Delete(root);
    if (d->nwaiting >= UDP_WAITING_MAX) {
        reqstats_count(r->action == ACT_GET ? udp.get_id : udp.monitor_id, true);
        reject(r, UDP_TRYAGAIN, "server busy: %d requests wait for numbers; try again", d->nwaiting);
        return CORE_OK;
    }
    int st = r->action == ACT_GET ? core_take_derived(&r->wt, r->name, r->len, r->name, r->rulelen, 1)
                                  : core_describe(&r->wt, r->name, r->len);
    if (st == CORE_PENDING)
        return st;
    return answer(r);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    struct udp_door *d = w->udp;

    for (int i = 0; i < UDP_READ_BUDGET && !w->stopping; i++) {
        struct udp_req *r = d->spare ? d->spare : req_new(w);
        d->spare = NULL;
        r->addrlen = sizeof(r->addr);
        /* MSG_TRUNC: the datagram's whole length, even past the buffer. */
        ssize_t n = recvfrom(fd, d->in, UDP_REQUEST_MAX + 1, MSG_TRUNC, (struct sockaddr *)&r->addr,
                             &r->addrlen);
        if (n < 0) {
            d->spare = r;
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                log_debug("udp: recvfrom: %s", strerror(errno));
            break;
        }
        addr_format(&r->addr, r->peer, sizeof(r->peer));
        if (serve(d, r, (size_t)n) == CORE_PENDING)
            wait_link(d, r);
        else
            req_done(d, r);
    }
}

/* ---- start and stop ---------------------------------------------------------- */

/* On each worker: its share of the door, reading the one socket. */
static void worker_start(struct worker *w, void *arg)
{
    if (w->stopping)
        return;
    struct udp_door *d = xcalloc(1, sizeof(*d));
    LIST_INIT(&d->waiting);
    d->read_ev = event_new(w->base, udp.fd, EV_READ | EV_PERSIST, on_readable, w);
    event_add(d->read_ev, NULL);
    w->udp = d;
}

int udp_open(const struct config *cfg, char *err, size_t errlen)
{
    char why[256];

    if (cfg->udp_port == 0)
        return 0;
    int fd = listener_socket(cfg->udp_bind, cfg->udp_port, SOCK_DGRAM, why, sizeof(why));
    if (fd < 0) {
        snprintf(err, errlen, "udp: %s", why);
        return -1;
    }
    udp.fd = fd;
    udp.get_id = reqstats_register(DOOR_UDP, "get");
    udp.monitor_id = reqstats_register(DOOR_UDP, "monitor");
    udp.invalid_id = reqstats_register(DOOR_UDP, "invalid");
    for (int i = 0; i < worker_count(); i++)
        worker_call(worker_by_id(i), worker_start, NULL);
    log_notice("UDP JSON door (id_server) on %s:%d", cfg->udp_bind, cfg->udp_port);
    return 0;
}

void udp_worker_stop(struct worker *w)
{
    struct udp_door *d = w->udp;
    if (!d)
        return;
    event_del(d->read_ev);
    /* No claim lands any more: a datagram waiting for numbers is told so
     * now. One waiting for a store job (a look-up, a create) is answered
     * when the job is back (the worker's stop grace bounds it). */
    struct udp_req *r = LIST_FIRST(&d->waiting);
    while (r) {
        struct udp_req *next = LIST_NEXT(r, link);
        if (core_waits_for_numbers(&r->wt)) {
            core_cancel(&r->wt);
            wait_unlink(d, r);
            reqstats_count(r->action == ACT_GET ? udp.get_id : udp.monitor_id, true);
            reply(r, UDP_TRYAGAIN, "server is shutting down", NULL);
            req_done(d, r);
        }
        r = next;
    }
}

void udp_worker_free(struct worker *w)
{
    struct udp_door *d = w->udp;
    if (!d)
        return;
    while (!LIST_EMPTY(&d->waiting)) {
        struct udp_req *r = LIST_FIRST(&d->waiting);
        wait_unlink(d, r);
        req_free(r);
    }
    if (d->spare)
        req_free(d->spare);
    event_free(d->read_ev);
    free(d);
    w->udp = NULL;
}

void udp_close(void)
{
    if (udp.fd >= 0) {
        close(udp.fd);
        udp.fd = -1;
    }
}
