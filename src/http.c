/*
 * http: the HTTP door (see http.h).
 *
 * Every endpoint is a row of one table: its path, who may call it, and a
 * handler. A handler turns the query into one core call and answers when
 * the core has the result (at once, or later through http_on_core_done),
 * like a RESP command. The operator's views (/metrics, /, /api/v1/sequences,
 * /health) walk every sequence, so they are rendered on the report thread
 * (report.h), never on a worker, and answered back on the worker.
 *
 * A request the door is working on is a struct http_request, linked into
 * its worker's list until it is answered, so that a stopping worker knows
 * what is left. libevent keeps the evhttp_request alive until it is
 * answered, even when the client has gone: evhttp_send_reply then frees it.
 */
#include <errno.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "acl.h"
#include "buf.h"
#include "core.h"
#include "http.h"
#include "listener.h"
#include "log.h"
#include "report.h"
#include "reqstats.h"
#include "server.h"
#include "tls.h"
#include "util.h"
#include "worker.h"

/* evhttp's limits: a request of seqd is a short GET, so anything large is
 * refused before it costs memory, and a client that stalls is cut off. */
#define HTTP_MAX_HEADERS 8192
#define HTTP_MAX_BODY 4096
#define HTTP_TIMEOUT_S 15
/* GET /api/v1/id/batch?count=: FeatherID's bound. */
#define HTTP_BATCH_MAX 100000
/* Past this, a JSON number loses precision in JavaScript (2^53 - 1): such
 * ids are sent as strings. */
#define JSON_SAFE_MAX 9007199254740991LL

struct http_request;
typedef void endpoint_fn(struct http_request *hr);

enum endpoint_auth {
    AUTH_NONE,          /* /health: load balancers call it without credentials */
    AUTH_METRICS,       /* /metrics: only when http.metrics_auth is set */
    AUTH_ALWAYS,        /* everything else, when requirepass is set */
};

struct endpoint {
    const char *path;
    bool prefix;                    /* path is a prefix: /api/segment/get/NAME */
    enum endpoint_auth auth;
    bool admin;                     /* only the role admin may use it (acl.h) */
    endpoint_fn *handle;
    const char *stat_name;          /* the reqstats name */
    bool head_ok;                   /* HEAD is served: the endpoint takes no numbers */
};

/* What the door keeps per worker. */
struct http_door {
    struct worker *w;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct http_request *pending;   /* waiting for the core or the report thread */
};

struct http_request {
    struct core_waiter wt;
    struct evhttp_request *req;
    struct http_door *door;
    const struct endpoint *ep;
    int stat_id;
    bool on_report_thread;
    void (*reply)(struct http_request *hr);     /* answers once the core is done */
    char name[SEQ_NAME_MAX + 1];
    char peer[64];
    /* The report thread's result. */
    struct buf body;
    bool healthy;
    char reason[256];
    struct http_request *prev, *next;           /* the door's pending list */
    struct http_request *queue_next;            /* the report thread's queue */
};

static struct {
    int fd;                         /* the listening socket; each worker accepts from a dup */
    int other_stat_id;              /* requests no endpoint took (404, 405) */
    /* The report thread. */
    pthread_t report_thread;
    bool report_running;
    pthread_mutex_t report_lock;
    pthread_cond_t report_cond;
    struct http_request *report_head, *report_tail;
    bool report_stop;
} http = { .fd = -1, .report_lock = PTHREAD_MUTEX_INITIALIZER, .report_cond = PTHREAD_COND_INITIALIZER };

/* ---- answers ------------------------------------------------------------ */

/* s as a JSON string, quotes included (buf_json_string's rules). */
static void json_string(struct evbuffer *out, const char *s)
{
    struct buf b;

    buf_init(&b);
    buf_json_string(&b, s);
    evbuffer_add(out, buf_head(&b), buf_used(&b));
    buf_free(&b);
}

/* An id as a JSON value: a number while JavaScript can hold it exactly,
 * else a string. */
static void json_id(struct evbuffer *out, int64_t id)
{
    if (id >= -JSON_SAFE_MAX && id <= JSON_SAFE_MAX)
        evbuffer_add_printf(out, "%" PRId64, id);
    else
        evbuffer_add_printf(out, "\"%" PRId64 "\"", id);
}

/* Number i of the take as a JSON value: json_id for an integer kind; a
 * type 4 number is always a string (its text may hold letters, and its
 * leading zeros matter). */
static void json_number(struct evbuffer *out, const struct core_waiter *wt, uint64_t i)
{
    char text[CORE_NUMBER_TEXT_MAX];

    if (!wt->has_text || wt->text_at[i] == 0) {
        json_id(out, wt->numbers[i]);
        return;
    }
    core_number_text(wt, i, text, sizeof(text));
    evbuffer_add_printf(out, "\"%s\"", text);         /* letters and digits only: nothing to escape */
}

static void set_header(struct evhttp_request *req, const char *key, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), key, value);
}

/* Send status and body (taken over), and let go of hr if the door kept it. */
static void http_finish(struct http_request *hr, int status, const char *content_type, struct evbuffer *body)
{
    static const struct {
        int status;
        const char *reason;
    } reasons[] = {
        { 200, "OK" }, { 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
        { 405, "Method Not Allowed" }, { 409, "Conflict" }, { 500, "Internal Server Error" },
        { 503, "Service Unavailable" },
    };
    const char *reason = "Error";

    for (size_t i = 0; i < ARRAY_SIZE(reasons); i++)
        if (reasons[i].status == status)
            reason = reasons[i].reason;
    set_header(hr->req, "Content-Type", content_type);
    set_header(hr->req, "Cache-Control", "no-store");
    if (status == 503)
        set_header(hr->req, "Retry-After", "1");
    reqstats_count(hr->stat_id, status >= 400);
    evhttp_send_reply(hr->req, status, reason, body);
    evbuffer_free(body);
}

/* The FeatherID error shape, used by every JSON endpoint:
 * {"code":STATUS,"message":"...","data":null}. */
static void http_json_error(struct http_request *hr, int status, const char *message)
{
    struct evbuffer *body = evbuffer_new();

    evbuffer_add_printf(body, "{\"code\":%d,\"message\":", status);
    json_string(body, message);
    evbuffer_add_printf(body, ",\"data\":null}\n");
    http_finish(hr, status, "application/json", body);
}

static void http_text(struct http_request *hr, int status, const char *message)
{
    struct evbuffer *body = evbuffer_new();

    evbuffer_add_printf(body, "%s\n", message);
    http_finish(hr, status, "text/plain; charset=utf-8", body);
}

/* The HTTP status of a core error. */
static int core_status_http(int status)
{
    switch (status) {
    case CORE_NO_SUCH:
        return 404;
    case CORE_EXHAUSTED:
        return 409;
    case CORE_INVALID:
        return 400;
    case CORE_TRYAGAIN:
        return 503;
    default:
        return 500;
    }
}

/* ---- the requests the door keeps ------------------------------------------ */

static void http_on_core_done(struct core_waiter *wt);

static struct http_request *request_new(struct http_door *door, struct evhttp_request *req)
{
    struct http_request *hr = xcalloc(1, sizeof(*hr));
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    char *host = NULL;
    ev_uint16_t port = 0;

    hr->req = req;
    hr->door = door;
    hr->stat_id = http.other_stat_id;
    if (evcon)
        evhttp_connection_get_peer(evcon, &host, &port);
    snprintf(hr->peer, sizeof(hr->peer), "%s:%u", host ? host : "?", (unsigned)port);
    core_waiter_init(&hr->wt, door->w, http_on_core_done, hr->peer);
    buf_init(&hr->body);
    return hr;
}

static void request_free(struct http_request *hr)
{
    core_waiter_free(&hr->wt);
    buf_free(&hr->body);
    free(hr);
}

/* The request waits (for the core or the report thread): the door keeps
 * it, and the worker is busy until it is answered. */
static void request_keep(struct http_request *hr)
{
    struct http_door *door = hr->door;

    hr->prev = NULL;
    hr->next = door->pending;
    if (door->pending)
        door->pending->prev = hr;
    door->pending = hr;
    door->w->busy++;
}

static void request_unkeep(struct http_request *hr)
{
    struct http_door *door = hr->door;

    if (hr->prev)
        hr->prev->next = hr->next;
    else
        door->pending = hr->next;
    if (hr->next)
        hr->next->prev = hr->prev;
    door->w->busy--;
}

/* A core call returned status: answer now, or keep the request until the
 * core calls back. */
static void http_answer(struct http_request *hr, int status, void (*reply)(struct http_request *hr))
{
    if (status == CORE_PENDING) {
        hr->reply = reply;
        request_keep(hr);
        return;
    }
    reply(hr);
    request_free(hr);
}

static void http_on_core_done(struct core_waiter *wt)
{
    struct http_request *hr = CONTAINER_OF(wt, struct http_request, wt);
    struct worker *w = hr->door->w;

    request_unkeep(hr);
    hr->reply(hr);
    request_free(hr);
    worker_check_done(w);
}

/* ---- query parameters ----------------------------------------------------- */

/* The value of query parameter key, or NULL. */
static const char *query_get(struct evhttp_request *req, struct evkeyvalq *params, const char *key)
{
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));

    if (TAILQ_EMPTY(params) && query != NULL)
        evhttp_parse_query_str(query, params);
    return evhttp_find_header(params, key);
}

/* Copy a sequence name from a parameter into hr->name; false (answered 400)
 * when it is missing or too long. */
static bool take_name(struct http_request *hr, const char *value, const char *param, const char *usage)
{
    char msg[300];

    if (value == NULL || value[0] == '\0') {
        snprintf(msg, sizeof(msg), "missing parameter '%s' (%s)", param, usage);
        http_json_error(hr, 400, msg);
        return false;
    }
    if (strlen(value) > SEQ_NAME_MAX) {
        snprintf(msg, sizeof(msg), "'%s' is longer than %d bytes: no sequence has such a name", param, SEQ_NAME_MAX);
        http_json_error(hr, 400, msg);
        return false;
    }
    strlcpy_safe(hr->name, value, sizeof(hr->name));
    return true;
}

/* ---- FeatherID: /api/v1/id, /api/v1/id/batch, /api/v1/log/level ------------ */

static void reply_featherid(struct http_request *hr, bool batch)
{
    struct evbuffer *body;

    if (hr->wt.status != CORE_OK) {
        http_json_error(hr, core_status_http(hr->wt.status), hr->wt.err);
        return;
    }
    body = evbuffer_new();
    evbuffer_add_printf(body, "{\"code\":0,\"message\":\"success\",\"data\":{\"biz_tag\":");
    json_string(body, hr->name);
    if (!batch) {
        evbuffer_add_printf(body, ",\"id\":");
        json_number(body, &hr->wt, 0);
    } else {
        evbuffer_add_printf(body, ",\"ids\":[");
        for (uint64_t i = 0; i < hr->wt.nnumbers; i++) {
            if (i > 0)
                evbuffer_add(body, ",", 1);
            json_number(body, &hr->wt, i);
        }
        evbuffer_add(body, "]", 1);
    }
    evbuffer_add_printf(body, "}}\n");
    http_finish(hr, 200, "application/json", body);
}

static void reply_featherid_one(struct http_request *hr)
{
    reply_featherid(hr, false);
}

static void reply_featherid_batch(struct http_request *hr)
{
    reply_featherid(hr, true);
}

static void ep_featherid_id(struct http_request *hr)
{
    struct evkeyvalq params = TAILQ_HEAD_INITIALIZER(params);

    if (take_name(hr, query_get(hr->req, &params, "biz_tag"), "biz_tag", "GET /api/v1/id?biz_tag=NAME"))
        http_answer(hr, core_take(&hr->wt, hr->name, strlen(hr->name), 1), reply_featherid_one);
    else
        request_free(hr);
    evhttp_clear_headers(&params);
}

static void ep_featherid_batch(struct http_request *hr)
{
    static const char usage[] = "GET /api/v1/id/batch?biz_tag=NAME&count=N";
    struct evkeyvalq params = TAILQ_HEAD_INITIALIZER(params);
    const char *count = query_get(hr->req, &params, "count");
    uint64_t n = 0;
    char msg[200];

    if (!take_name(hr, query_get(hr->req, &params, "biz_tag"), "biz_tag", usage)) {
        request_free(hr);
    } else if (count == NULL || !parse_u64(count, strlen(count), &n) || n < 1 || n > HTTP_BATCH_MAX) {
        snprintf(msg, sizeof(msg), "parameter 'count' must be a whole number from 1 to %d (%s)",
                 HTTP_BATCH_MAX, usage);
        http_json_error(hr, 400, msg);
        request_free(hr);
    } else {
        http_answer(hr, core_take(&hr->wt, hr->name, strlen(hr->name), n), reply_featherid_batch);
    }
    evhttp_clear_headers(&params);
}

/* FeatherID's level names onto seqd's (Redis') levels; seqd's own names
 * are taken as they are. seqd has no separate error level: its warnings
 * are the errors. */
static const struct {
    const char *name;
    int level;
} http_levels[] = {
    { "debug", LOG_LVL_DEBUG }, { "info", LOG_LVL_NOTICE }, { "warn", LOG_LVL_WARNING },
    { "error", LOG_LVL_WARNING }, { "verbose", LOG_LVL_VERBOSE }, { "notice", LOG_LVL_NOTICE },
    { "warning", LOG_LVL_WARNING },
};

static void ep_log_level(struct http_request *hr)
{
    struct evkeyvalq params = TAILQ_HEAD_INITIALIZER(params);
    const char *name = query_get(hr->req, &params, "level");
    struct evbuffer *body;
    int level = -1;

    for (size_t i = 0; name != NULL && i < ARRAY_SIZE(http_levels); i++)
        if (strcasecmp(name, http_levels[i].name) == 0)
            level = http_levels[i].level;
    if (level < 0) {
        http_json_error(hr, 400, "parameter 'level' must be debug, info, warn or error "
                                "(or seqd's verbose, notice, warning)");
    } else {
        char who[96];
        snprintf(who, sizeof(who), "HTTP client %s", hr->peer);
        server_set_log_level(level, who);
        body = evbuffer_new();
        evbuffer_add_printf(body, "{\"code\":0,\"message\":\"success\",\"data\":{\"level\":\"%s\"}}\n",
                            log_level_name(level));
        http_finish(hr, 200, "application/json", body);
    }
    request_free(hr);
    evhttp_clear_headers(&params);
}

/* ---- Leaf: /api/segment/get/NAME ---------------------------------------- */

static void reply_leaf(struct http_request *hr)
{
    struct evbuffer *body;

    if (hr->wt.status != CORE_OK) {
        http_text(hr, core_status_http(hr->wt.status), hr->wt.err);
        return;
    }
    char text[CORE_NUMBER_TEXT_MAX];
    body = evbuffer_new();
    core_number_text(&hr->wt, 0, text, sizeof(text));
    evbuffer_add_printf(body, "%s", text);
    http_finish(hr, 200, "text/plain; charset=utf-8", body);
}

static void ep_leaf_get(struct http_request *hr)
{
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(hr->req));
    char *name = evhttp_uridecode(path + strlen(hr->ep->path), 0, NULL);

    if (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL || strlen(name) > SEQ_NAME_MAX) {
        http_text(hr, 400, "usage: GET /api/segment/get/NAME, NAME a sequence name");
        request_free(hr);
    } else {
        strlcpy_safe(hr->name, name, sizeof(hr->name));
        http_answer(hr, core_take(&hr->wt, hr->name, strlen(hr->name), 1), reply_leaf);
    }
    free(name);
}

/* ---- the operator's views, on the report thread ---------------------------- */

static void ep_health(struct http_request *hr);
static void ep_metrics(struct http_request *hr);
static void ep_status(struct http_request *hr);
static void ep_sequences(struct http_request *hr);

/* On the report thread: render what hr's endpoint shows. */
static void report_render(struct http_request *hr)
{
    if (hr->ep->handle == ep_health)
        hr->healthy = report_health(hr->reason, sizeof(hr->reason));
    else if (hr->ep->handle == ep_metrics)
        report_metrics(&hr->body);
    else if (hr->ep->handle == ep_status)
        report_status_html(&hr->body);
    else
        report_sequences_json(&hr->body);
}

static void free_rendered(const void *data, size_t len, void *allocation)
{
    (void)data;
    (void)len;
    free(allocation);
}

/* Back on the worker: answer what the report thread rendered. */
static void report_answer(struct worker *w, void *arg)
{
    struct http_request *hr = arg;
    struct evbuffer *body;

    if (w->http == NULL) {
        /* The worker's HTTP door is gone (a stop that ran out of time):
         * the evhttp request went with it. */
        request_free(hr);
        return;
    }
    request_unkeep(hr);
    if (hr->ep->handle == ep_health) {
        if (hr->healthy)
            http_text(hr, 200, "OK");
        else
            http_text(hr, 503, hr->reason);
    } else {
        static const struct {
            endpoint_fn *handle;
            const char *type;
        } types[] = {
            { ep_metrics, "text/plain; version=0.0.4; charset=utf-8" },
            { ep_status, "text/html; charset=utf-8" },
            { ep_sequences, "application/json" },
        };
        const char *type = "text/plain";
        for (size_t i = 0; i < ARRAY_SIZE(types); i++)
            if (types[i].handle == hr->ep->handle)
                type = types[i].type;
        /* A scrape of many sequences is megabytes: hand libevent the
         * rendered bytes instead of copying them on the worker. */
        body = evbuffer_new();
        evbuffer_add_reference(body, buf_head(&hr->body), buf_used(&hr->body), free_rendered, hr->body.data);
        buf_init(&hr->body);
        http_finish(hr, 200, type, body);
    }
    request_free(hr);
    worker_check_done(w);
}

/* How much lower the report thread's priority is than the workers': a
 * scrape is background work, and on a busy machine the workers should
 * win the CPU. */
#define REPORT_NICE 10

static void *report_main(void *arg)
{
    (void)arg;
    /* Linux nices threads one by one: this lowers only this thread. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), REPORT_NICE) != 0)
        log_verbose("report thread: cannot lower its priority: %s", strerror(errno));
    pthread_mutex_lock(&http.report_lock);
    for (;;) {
        while (http.report_head == NULL && !http.report_stop)
            pthread_cond_wait(&http.report_cond, &http.report_lock);
        if (http.report_head == NULL)
            break;
        struct http_request *hr = http.report_head;
        http.report_head = hr->queue_next;
        if (http.report_head == NULL)
            http.report_tail = NULL;
        pthread_mutex_unlock(&http.report_lock);
        report_render(hr);
        worker_call(hr->door->w, report_answer, hr);
        pthread_mutex_lock(&http.report_lock);
    }
    pthread_mutex_unlock(&http.report_lock);
    return NULL;
}

/* Every report endpoint: hand the request to the report thread. */
static void report_submit(struct http_request *hr)
{
    request_keep(hr);
    hr->on_report_thread = true;
    pthread_mutex_lock(&http.report_lock);
    hr->queue_next = NULL;
    if (http.report_tail)
        http.report_tail->queue_next = hr;
    else
        http.report_head = hr;
    http.report_tail = hr;
    pthread_cond_signal(&http.report_cond);
    pthread_mutex_unlock(&http.report_lock);
}

static void ep_health(struct http_request *hr)
{
    report_submit(hr);
}

static void ep_metrics(struct http_request *hr)
{
    report_submit(hr);
}

static void ep_status(struct http_request *hr)
{
    report_submit(hr);
}

static void ep_sequences(struct http_request *hr)
{
    report_submit(hr);
}

/* ---- routing ------------------------------------------------------------ */

static const struct endpoint endpoints[] = {
    { "/api/v1/id", false, AUTH_ALWAYS, false, ep_featherid_id, "/api/v1/id", false },
    { "/api/v1/id/batch", false, AUTH_ALWAYS, false, ep_featherid_batch, "/api/v1/id/batch", false },
    { "/api/v1/log/level", false, AUTH_ALWAYS, true, ep_log_level, "/api/v1/log/level", false },
    { "/api/segment/get/", true, AUTH_ALWAYS, false, ep_leaf_get, "/api/segment/get", false },
    { "/api/v1/sequences", false, AUTH_ALWAYS, false, ep_sequences, "/api/v1/sequences", true },
    { "/metrics", false, AUTH_METRICS, false, ep_metrics, "/metrics", true },
    { "/health", false, AUTH_NONE, false, ep_health, "/health", true },
    { "/", false, AUTH_ALWAYS, false, ep_status, "/", true },
};
static int endpoint_stat_ids[ARRAY_SIZE(endpoints)];

static const struct endpoint *route(const char *path)
{
    for (size_t i = 0; i < ARRAY_SIZE(endpoints); i++) {
        const struct endpoint *ep = &endpoints[i];
        if (ep->prefix ? strncmp(path, ep->path, strlen(ep->path)) == 0 : strcmp(path, ep->path) == 0)
            return ep;
    }
    return NULL;
}

/* Decode standard base64 (RFC 4648, padded) of in into out; returns the
 * length, or -1 when in is not base64 or does not fit. */
static int base64_decode(const char *in, char *out, size_t outlen)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;

    for (; *in && *in != '='; in++) {
        const char *p = strchr(alphabet, *in);
        if (p == NULL || *in == '\0')
            return -1;
        acc = (acc << 6) | (uint32_t)(p - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= outlen)
                return -1;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[n] = '\0';
    return (int)n;
}

/* HTTP Basic credentials: a user and its password, as AUTH takes them
 * ("default" and requirepass, or a user of the config). Returns true and
 * sets *who when they are right; a wrong pair is counted and logged. */
static bool credentials_ok(struct http_request *hr, struct acl_id *who)
{
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(hr->req), "Authorization");
    char plain[2 * CONFIG_STR_MAX];
    const char *colon;
    int n;

    if (auth == NULL || strncasecmp(auth, "Basic ", 6) != 0)
        return false;
    n = base64_decode(auth + 6, plain, sizeof(plain));
    if (n < 0 || (colon = memchr(plain, ':', (size_t)n)) == NULL)
        return false;
    size_t ulen = (size_t)(colon - plain);
    bool ok = acl_authenticate(plain, ulen, colon + 1, (size_t)(n - (colon + 1 - plain)), who) == ACL_AUTH_OK;
    if (!ok)
        acl_log_failure("HTTP", hr->peer, plain, ulen);
    return ok;
}

static bool needs_credentials(const struct endpoint *ep)
{
    if (!server_auth_required() || ep->auth == AUTH_NONE)
        return false;
    return ep->auth == AUTH_ALWAYS || server.cfg.http_metrics_auth;
}

static void http_on_request(struct evhttp_request *req, void *arg)
{
    struct http_door *door = arg;
    struct http_request *hr = request_new(door, req);
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    struct acl_id who = { .role = CONFIG_ROLE_ADMIN };   /* the default user, until credentials say */

    hr->ep = route(path ? path : "");
    if (hr->ep != NULL)
        hr->stat_id = endpoint_stat_ids[hr->ep - endpoints];
    if (door->w->stopping) {
        set_header(req, "Connection", "close");
        http_text(hr, 503, "seqd is shutting down");
    } else if (hr->ep == NULL) {
        http_text(hr, 404, "no such endpoint: GET /api/v1/id?biz_tag=NAME, /api/v1/id/batch?biz_tag=NAME&count=N, "
                                "/api/segment/get/NAME, /metrics, /health, /api/v1/sequences or /");
    } else if (method != EVHTTP_REQ_GET && (method != EVHTTP_REQ_HEAD || !hr->ep->head_ok)) {
        set_header(req, "Allow", hr->ep->head_ok ? "GET, HEAD" : "GET");
        http_text(hr, 405, hr->ep->head_ok ? "only GET and HEAD are served here"
                                           : "only GET is served here (a HEAD would take numbers and not show them)");
    } else if (needs_credentials(hr->ep) && !credentials_ok(hr, &who)) {
        STAT_INC(&door->w->stats, auth_failures);
        set_header(req, "WWW-Authenticate", "Basic realm=\"seqd\", charset=\"UTF-8\"");
        http_json_error(hr, 401, "authentication required: HTTP Basic with a user of seqd and its password "
                                 "('default' and requirepass, or one of \"users\")");
    } else if (hr->ep->admin && !acl_is_admin(&who)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "user %s (role %s) may not use %s: it is for admins", acl_user_name(&who),
                 config_role_name(who.role), hr->ep->path);
        http_json_error(hr, 403, msg);
    } else {
        hr->ep->handle(hr);         /* answers, or keeps hr until it can */
        return;
    }
    request_free(hr);
}

/* ---- per worker ------------------------------------------------------------ */

/* http.tls: each accepted connection's buffer event speaks TLS, with an
 * SSL from the context in force (tls.h: a SIGHUP's new certificate is
 * taken by the next connection). Freeing the buffer event frees its SSL. */
static struct bufferevent *http_tls_bufferevent(struct event_base *base, void *arg)
{
    struct ssl_st *ssl = tls_ssl_new("HTTP");
    struct bufferevent *bev;

    (void)arg;
    if (ssl == NULL)
        return NULL;                /* cannot happen: the door needs the context to open */
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        log_warn("cannot make a TLS buffer event: out of memory?");
        abort();
    }
    /* A client that closes without close_notify has simply closed. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

/* arg: non-NULL for http.tls. */
static void http_worker_start(struct worker *w, void *arg)
{
    struct http_door *door = xcalloc(1, sizeof(*door));
    int fd = dup(http.fd);

    door->w = w;
    door->http = evhttp_new(w->base);
    if (door->http == NULL || fd < 0) {
        log_warn("worker %d: cannot start the HTTP door: %s", w->id, fd < 0 ? strerror(errno) : "evhttp_new");
        abort();
    }
    evhttp_set_max_headers_size(door->http, HTTP_MAX_HEADERS);
    evhttp_set_max_body_size(door->http, HTTP_MAX_BODY);
    evhttp_set_timeout(door->http, HTTP_TIMEOUT_S);
    /* Every method reaches http_on_request, which answers 405 itself
     * (libevent would answer 501 for a method it was told to refuse). */
    evhttp_set_allowed_methods(door->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                                               EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                               EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(door->http, http_on_request, door);
    if (arg != NULL)
        evhttp_set_bevcb(door->http, http_tls_bufferevent, NULL);
    door->bound = evhttp_accept_socket_with_handle(door->http, fd);
    if (door->bound == NULL) {
        log_warn("worker %d: cannot accept on the HTTP socket", w->id);
        abort();
    }
    w->http = door;
}

int http_open(const struct config *cfg, char *err, size_t errlen)
{
    char why[256];
    int n;

    if (cfg->http_port == 0)
        return 0;
    http.fd = listener_socket(cfg->http_bind, cfg->http_port, SOCK_STREAM, why, sizeof(why));
    if (http.fd < 0) {
        snprintf(err, errlen, "http: %s", why);
        return -1;
    }
    http.other_stat_id = reqstats_register(DOOR_HTTP, "other");
    for (size_t i = 0; i < ARRAY_SIZE(endpoints); i++)
        endpoint_stat_ids[i] = reqstats_register(DOOR_HTTP, endpoints[i].stat_name);
    http.report_stop = false;
    if (pthread_create(&http.report_thread, NULL, report_main, NULL) != 0) {
        snprintf(err, errlen, "http: cannot start the report thread");
        close(http.fd);
        http.fd = -1;
        return -1;
    }
    http.report_running = true;
    n = worker_count();
    for (int i = 0; i < n; i++)
        worker_call(worker_by_id(i), http_worker_start, cfg->http_tls ? &http : NULL);
    log_notice("HTTP%s door on %s:%d", cfg->http_tls ? "S" : "", cfg->http_bind, cfg->http_port);
    return 0;
}

void http_worker_stop(struct worker *w)
{
    struct http_door *door = w->http;

    if (door == NULL)
        return;
    if (door->bound) {
        evhttp_del_accept_socket(door->http, door->bound);
        door->bound = NULL;
    }
    /* Requests waiting for numbers are told now, as RESP clients are; the
     * ones waiting for a store job or a report finish (bounded). */
    for (struct http_request *hr = door->pending, *next; hr; hr = next) {
        next = hr->next;
        if (!hr->on_report_thread && core_waits_for_numbers(&hr->wt)) {
            core_cancel(&hr->wt);
            request_unkeep(hr);
            set_header(hr->req, "Connection", "close");
            if (hr->reply == reply_leaf)
                http_text(hr, 503, "seqd is shutting down");
            else
                http_json_error(hr, 503, "seqd is shutting down");
            request_free(hr);
        }
    }
}

void http_worker_free(struct worker *w)
{
    struct http_door *door = w->http;

    if (door == NULL)
        return;
    /* What is still pending ran out of the stop's time: evhttp_free frees
     * its requests; the core's waits end here, a report's when it comes
     * back (report_answer sees w->http gone). */
    for (struct http_request *hr = door->pending, *next; hr; hr = next) {
        next = hr->next;
        if (!hr->on_report_thread)
            request_free(hr);
    }
    evhttp_free(door->http);
    free(door);
    w->http = NULL;
}

void http_close(void)
{
    if (http.report_running) {
        pthread_mutex_lock(&http.report_lock);
        http.report_stop = true;
        pthread_cond_signal(&http.report_cond);
        pthread_mutex_unlock(&http.report_lock);
        pthread_join(http.report_thread, NULL);
        http.report_running = false;
    }
    if (http.fd >= 0) {
        close(http.fd);
        http.fd = -1;
    }
}
