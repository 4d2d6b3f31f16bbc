/*
 * cmd: the command table and every command but INFO (cmd_info.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cmd.h"
#include "conn.h"
#include "log.h"
#include "seq.h"
#include "server.h"
#include "util.h"
#include "worker.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

#define NEXT_MAX_COUNT 100000

#define CMD_NOAUTH 1    /* allowed before AUTH */

typedef enum cmd_result cmd_fn(struct conn *c, struct resp_request *req, size_t len);

struct command {
    const char *name;
    cmd_fn *fn;
    int arity;          /* Redis' convention: n exact, -n at least n */
    int flags;
};

#define ARG_IS(req, i, s) str_ieq((req)->argv[i], (req)->argl[i], (s))

/* ---- replies shared by several commands ------------------------------ */

/* Names in replies are quoted as sent but cut and cleaned, so that an
 * error line never carries a CR, LF or a megabyte of junk. */
static void clean_name(const char *p, size_t len, char *out, size_t outlen)
{
    size_t n = len < outlen - 1 ? len : outlen - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
    out[n] = '\0';
}

static void reply_no_such(struct conn *c, const char *name, size_t len)
{
    char n[SEQ_NAME_MAX + 1];
    clean_name(name, len, n, sizeof(n));
    resp_add_errorf(&c->out,
                    "ERR no such sequence '%s' (create it with HSET %s type 3, or insert a row into %s)",
                    n, n, server.store.ops->shared ? server.cfg.mysql_table : "seqd_segments");
}

static void reply_exhausted(struct conn *c, const struct seq *s)
{
    resp_add_errorf(&c->out, "ERR sequence '%s' is exhausted", s->def.name);
}

static void reply_wrong_args(struct conn *c, const char *cmd)
{
    resp_add_errorf(&c->out, "ERR wrong number of arguments for '%s' command", cmd);
}

static void reply_store_error(struct conn *c, const struct store_job *job, const char *what)
{
    if (job->status == STORE_UNAVAILABLE || job->status == STORE_UNKNOWN)
        resp_add_errorf(&c->out, "TRYAGAIN %s: the store is unavailable: %s", what, job->err);
    else
        resp_add_errorf(&c->out, "ERR %s: %s", what, job->err);
}

void cmd_job_free(struct conn *c)
{
    free(c->job);
    c->job = NULL;
    c->job_done = false;
}

/* The finished job of this connection, if it is of this kind and name:
 * taken from the connection (the caller frees it). */
static struct store_job *take_job(struct conn *c, enum job_kind kind, const char *name, size_t len)
{
    struct store_job *job = c->job;
    if (!job || !c->job_done || job->kind != kind)
        return NULL;
    if (name && (strlen(job->name) != len || memcmp(job->name, name, len) != 0))
        return NULL;
    c->job = NULL;
    c->job_done = false;
    return job;
}

static struct store_job *job_new(enum job_kind kind, const char *name, size_t len)
{
    struct store_job *job = xcalloc(1, sizeof(*job));
    job->kind = kind;
    memcpy(job->name, name, len < SEQ_NAME_MAX ? len : SEQ_NAME_MAX);
    job->done = NULL;   /* set by conn_submit_job's caller below */
    return job;
}

/* A store thread finished a connection's job: hand it to its worker. */
static void conn_job_finished(struct store_job *job)
{
    worker_post_job(job->owner2, job);
}

static void submit(struct conn *c, struct store_job *job)
{
    job->done = conn_job_finished;
    conn_submit_job(c, job);
}

/* ---- finding a sequence ---------------------------------------------- */

enum resolve { RESOLVE_FOUND, RESOLVE_MISSING, RESOLVE_WAIT, RESOLVE_FAILED };

/* Find the named sequence. On a shared store (mysql) a name this node does
 * not know yet is looked up in the store: RESOLVE_WAIT, and the command
 * runs again when the answer is in. RESOLVE_FAILED: an error was replied. */
static enum resolve resolve_seq(struct conn *c, const char *name, size_t len, struct seq **out)
{
    *out = seq_find(name, len);
    if (*out)
        return RESOLVE_FOUND;
    if (!server.store.ops->shared || len == 0 || len > SEQ_NAME_MAX)
        return RESOLVE_MISSING;

    struct store_job *job = take_job(c, JOB_LOOKUP, name, len);
    if (job) {
        enum resolve r = RESOLVE_MISSING;
        if (job->status == STORE_NOT_FOUND)
            seq_miss_remember(name, len);
        if (job->status == STORE_OK) {
            *out = seq_add(&job->def);
            r = RESOLVE_FOUND;
        } else if (job->status != STORE_NOT_FOUND) {
            char n[SEQ_NAME_MAX + 1];
            clean_name(name, len, n, sizeof(n));
            char what[SEQ_NAME_MAX + 32];
            snprintf(what, sizeof(what), "cannot look up '%s'", n);
            reply_store_error(c, job, what);
            r = RESOLVE_FAILED;
        }
        free(job);
        return r;
    }
    char err[128];
    if (!seqdef_name_ok(name, len, err, sizeof(err)) || seq_miss_recent(name, len))
        return RESOLVE_MISSING;
    submit(c, job_new(JOB_LOOKUP, name, len));
    return RESOLVE_WAIT;
}

/* ---- numbers ----------------------------------------------------------- */

static void partial_reserve(struct conn *c, uint64_t n)
{
    if (c->partial_cap >= n)
        return;
    c->partial = xrealloc(c->partial, n * sizeof(*c->partial));
    c->partial_cap = n;
}

/* Take `want` numbers of one sequence into c->partial (after those it has).
 * Returns CMD_DONE with all numbers in, or what to do instead (the reply
 * is written for errors). */
static enum cmd_result take_into_partial(struct conn *c, const char *name, size_t namelen,
                                         uint64_t want, size_t len)
{
    struct seq *s;
    switch (resolve_seq(c, name, namelen, &s)) {
    case RESOLVE_FOUND: break;
    case RESOLVE_WAIT: return CMD_WAIT_JOB;
    case RESOLVE_FAILED: return CMD_DONE;     /* the error is written */
    case RESOLVE_MISSING:
        reply_no_such(c, name, namelen);
        return CMD_DONE;
    }
    uint64_t got = 0;
    partial_reserve(c, c->npartial + want);
    enum seq_take r = seq_take(s, c->w->id, c->partial + c->npartial, want, &got);
    c->npartial += got;
    STAT_ADD(&c->w->stats, numbers_served, got);
    switch (r) {
    case SEQ_TAKEN:
        seq_release(s);
        return CMD_DONE;
    case SEQ_WAIT:
        conn_park(c, s, len);
        return CMD_PARKED;
    case SEQ_EXHAUSTED:
        reply_exhausted(c, s);
        break;
    case SEQ_GONE:
        reply_no_such(c, name, namelen);
        break;
    }
    seq_release(s);
    c->npartial = 0;
    return CMD_DONE;
}

/* The error replies of take_into_partial leave npartial 0 and the reply
 * written; a full take leaves the numbers. */
#define TAKE_FAILED(c, want_total) ((c)->npartial < (want_total))

static enum cmd_result cmd_get_like(struct conn *c, struct resp_request *req, size_t len, bool as_int)
{
    c->npartial = 0;
    enum cmd_result r = take_into_partial(c, req->argv[1], req->argl[1], 1, len);
    if (r != CMD_DONE || TAKE_FAILED(c, 1))
        return r;
    if (as_int)
        resp_add_int(&c->out, c->partial[0]);
    else
        resp_add_bulk_i64(&c->out, c->partial[0]);
    return CMD_DONE;
}

static enum cmd_result cmd_get(struct conn *c, struct resp_request *req, size_t len)
{
    return cmd_get_like(c, req, len, false);
}

static enum cmd_result cmd_incr(struct conn *c, struct resp_request *req, size_t len)
{
    return cmd_get_like(c, req, len, true);
}

/* INCRBY name 1: what redis-py's incr() sends. Other amounts would skip
 * numbers; NEXT name count hands out several. */
static enum cmd_result cmd_incrby(struct conn *c, struct resp_request *req, size_t len)
{
    int64_t by;
    if (!parse_i64(req->argv[2], req->argl[2], &by) || by != 1) {
        resp_add_error(&c->out, "ERR seqd's INCRBY only takes 1 (for several numbers use NEXT name count)");
        return CMD_DONE;
    }
    return cmd_get_like(c, req, len, true);
}

static enum cmd_result cmd_next(struct conn *c, struct resp_request *req, size_t len)
{
    uint64_t count;
    if (!parse_u64(req->argv[2], req->argl[2], &count) || count < 1 || count > NEXT_MAX_COUNT) {
        resp_add_errorf(&c->out, "ERR count must be an integer from 1 to %d", NEXT_MAX_COUNT);
        return CMD_DONE;
    }
    enum cmd_result r = take_into_partial(c, req->argv[1], req->argl[1], count - c->npartial, len);
    if (r != CMD_DONE || TAKE_FAILED(c, count))
        return r;
    resp_add_array(&c->out, count);
    for (uint64_t i = 0; i < count; i++)
        resp_add_bulk_i64(&c->out, c->partial[i]);
    return CMD_DONE;
}

static enum cmd_result cmd_mget(struct conn *c, struct resp_request *req, size_t len)
{
    /* cmd_index: how many names already have their number in partial. */
    while (c->cmd_index < req->argc - 1) {
        int i = 1 + c->cmd_index;
        uint64_t before = c->npartial;
        enum cmd_result r = take_into_partial(c, req->argv[i], req->argl[i], 1, len);
        if (r != CMD_DONE)
            return r;
        if (c->npartial == before)     /* error written; numbers so far wasted */
            return CMD_DONE;
        c->cmd_index++;
    }
    resp_add_array(&c->out, (size_t)(req->argc - 1));
    for (int i = 0; i < req->argc - 1; i++)
        resp_add_bulk_i64(&c->out, c->partial[i]);
    return CMD_DONE;
}

/* ---- definitions ------------------------------------------------------- */

static uint64_t random_key(void)
{
    uint64_t key = 0;
    while (getrandom(&key, sizeof(key), 0) != (ssize_t)sizeof(key))
        ;
    return key;
}

static enum cmd_result cmd_hset(struct conn *c, struct resp_request *req, size_t len)
{
    char name[SEQ_NAME_MAX + 1];
    char err[256];
    struct store_job *job = take_job(c, JOB_CREATE, NULL, 0);

    if (job) {
        if (job->status == STORE_OK) {
            struct seq *s = seq_add(&job->def);
            seq_release(s);
            log_notice("client %s created sequence '%s' (type %d)", c->addr, job->def.name, job->def.kind);
            resp_add_int(&c->out, 1);
        } else if (job->status == STORE_EXISTS) {
            resp_add_errorf(&c->out,
                            "ERR sequence '%s' already exists (redefining is not allowed; DEL it first)",
                            job->def.name);
        } else {
            clean_name(req->argv[1], req->argl[1], name, sizeof(name));
            char what[SEQ_NAME_MAX + 32];
            snprintf(what, sizeof(what), "cannot create '%s'", name);
            reply_store_error(c, job, what);
        }
        free(job);
        return CMD_DONE;
    }
    if (!seqdef_name_ok(req->argv[1], req->argl[1], err, sizeof(err))) {
        resp_add_errorf(&c->out, "ERR %s", err);
        return CMD_DONE;
    }
    if ((req->argc - 2) % 2 != 0) {
        reply_wrong_args(c, "hset");
        return CMD_DONE;
    }
    job = job_new(JOB_CREATE, req->argv[1], req->argl[1]);
    if (seqdef_from_fields(&job->def, req->argv[1], req->argl[1], req->argc - 2,
                           (const char *const *)req->argv + 2, req->argl + 2,
                           server.cfg.segment_default, random_key(), err, sizeof(err)) != 0) {
        free(job);
        resp_add_errorf(&c->out, "ERR %s", err);
        return CMD_DONE;
    }
    struct seq *s = seq_find(req->argv[1], req->argl[1]);
    if (s) {
        seq_release(s);
        resp_add_errorf(&c->out,
                        "ERR sequence '%s' already exists (redefining is not allowed; DEL it first)",
                        job->def.name);
        free(job);
        return CMD_DONE;
    }
    submit(c, job);
    return CMD_WAIT_JOB;
}

static enum cmd_result cmd_del(struct conn *c, struct resp_request *req, size_t len)
{
    /* cmd_index: names done; cmd_count: how many were removed. */
    while (c->cmd_index < req->argc - 1) {
        int i = 1 + c->cmd_index;
        const char *name = req->argv[i];
        size_t nlen = req->argl[i];
        struct store_job *job = take_job(c, JOB_DROP, name, nlen);
        if (job) {
            if (job->status == STORE_OK) {
                seq_remove(name, nlen);
                c->cmd_count++;
                log_notice("client %s deleted sequence '%s'", c->addr, job->name);
            } else if (job->status == STORE_NOT_FOUND) {
                seq_remove(name, nlen);      /* gone from the store already */
            } else {
                char n[SEQ_NAME_MAX + 1], what[SEQ_NAME_MAX + 32];
                clean_name(name, nlen, n, sizeof(n));
                snprintf(what, sizeof(what), "cannot delete '%s'", n);
                reply_store_error(c, job, what);
                free(job);
                c->cmd_count = 0;
                return CMD_DONE;
            }
            free(job);
            c->cmd_index++;
            continue;
        }
        char err[128];
        struct seq *s = seq_find(name, nlen);
        bool known = s != NULL;
        if (s)
            seq_release(s);
        if (!seqdef_name_ok(name, nlen, err, sizeof(err)) || (!known && !server.store.ops->shared)) {
            c->cmd_index++;
            continue;
        }
        submit(c, job_new(JOB_DROP, name, nlen));
        return CMD_WAIT_JOB;
    }
    resp_add_int(&c->out, c->cmd_count);
    c->cmd_count = 0;
    return CMD_DONE;
}

static enum cmd_result cmd_exists(struct conn *c, struct resp_request *req, size_t len)
{
    while (c->cmd_index < req->argc - 1) {
        int i = 1 + c->cmd_index;
        struct seq *s;
        enum resolve r = resolve_seq(c, req->argv[i], req->argl[i], &s);
        if (r == RESOLVE_WAIT)
            return CMD_WAIT_JOB;
        if (r == RESOLVE_FAILED) {
            c->cmd_count = 0;
            return CMD_DONE;
        }
        if (r == RESOLVE_FOUND) {
            c->cmd_count++;
            seq_release(s);
        }
        c->cmd_index++;
    }
    resp_add_int(&c->out, c->cmd_count);
    c->cmd_count = 0;
    return CMD_DONE;
}

static enum cmd_result cmd_dbsize(struct conn *c, struct resp_request *req, size_t len)
{
    resp_add_int(&c->out, (int64_t)seq_count());
    return CMD_DONE;
}

/* ---- connection and client commands ------------------------------------ */

static enum cmd_result cmd_ping(struct conn *c, struct resp_request *req, size_t len)
{
    if (req->argc > 2) {
        reply_wrong_args(c, "ping");
    } else if (req->argc == 2) {
        resp_add_bulk(&c->out, req->argv[1], req->argl[1]);
    } else {
        resp_add_simple(&c->out, "PONG");
    }
    return CMD_DONE;
}

static enum cmd_result cmd_echo(struct conn *c, struct resp_request *req, size_t len)
{
    resp_add_bulk(&c->out, req->argv[1], req->argl[1]);
    return CMD_DONE;
}

static enum cmd_result cmd_quit(struct conn *c, struct resp_request *req, size_t len)
{
    resp_add_simple(&c->out, "OK");
    return CMD_CLOSE;
}

static enum cmd_result cmd_select(struct conn *c, struct resp_request *req, size_t len)
{
    int64_t db;
    if (!parse_i64(req->argv[1], req->argl[1], &db))
        resp_add_error(&c->out, "ERR value is not an integer or out of range");
    else if (db != 0)
        resp_add_error(&c->out, "ERR DB index is out of range");
    else
        resp_add_simple(&c->out, "OK");
    return CMD_DONE;
}

/* AUTH [user] pass, also HELLO's AUTH. Writes an error and returns false
 * when it fails. Only the user "default" exists, as in Redis without ACLs. */
static bool auth_try(struct conn *c, const char *user, size_t ulen, const char *pass, size_t plen)
{
    if (!server_auth_required()) {
        /* As Redis: the default user has no password, so "AUTH default x"
         * succeeds, but a bare "AUTH x" is most likely a mistake. */
        if (user && ulen == 7 && memcmp(user, "default", 7) == 0) {
            c->authed = true;
            return true;
        }
        if (user) {
            STAT_INC(&c->w->stats, auth_failures);
            resp_add_error(&c->out, "WRONGPASS invalid username-password pair or user is disabled.");
            return false;
        }
        resp_add_error(&c->out, "ERR AUTH <password> called without any password configured for "
                                "the default user. Are you sure your configuration is correct?");
        return false;
    }
    if ((user && !(ulen == 7 && memcmp(user, "default", 7) == 0)) || !server_auth_check(pass, plen)) {
        STAT_INC(&c->w->stats, auth_failures);
        log_notice("client %s: authentication failed", c->addr);
        resp_add_error(&c->out, "WRONGPASS invalid username-password pair or user is disabled.");
        return false;
    }
    c->authed = true;
    return true;
}

static enum cmd_result cmd_auth(struct conn *c, struct resp_request *req, size_t len)
{
    if (req->argc > 3) {
        resp_add_error(&c->out, "ERR syntax error");
        return CMD_DONE;
    }
    bool ok = req->argc == 2 ? auth_try(c, NULL, 0, req->argv[1], req->argl[1])
                             : auth_try(c, req->argv[1], req->argl[1], req->argv[2], req->argl[2]);
    if (ok)
        resp_add_simple(&c->out, "OK");
    return CMD_DONE;
}

static bool client_name_ok(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] < '!' || p[i] > '~')
            return false;
    return true;
}

static void set_client_name(struct conn *c, const char *p, size_t len)
{
    size_t n = len < sizeof(c->name) - 1 ? len : sizeof(c->name) - 1;
    memcpy(c->name, p, n);
    c->name[n] = '\0';
}

static enum cmd_result cmd_hello(struct conn *c, struct resp_request *req, size_t len)
{
    int proto = c->proto;
    int i = 1;

    if (req->argc >= 2) {
        int64_t v;
        if (!parse_i64(req->argv[1], req->argl[1], &v)) {
            resp_add_error(&c->out, "ERR Protocol version is not an integer or out of range");
            return CMD_DONE;
        }
        if (v != 2 && v != 3) {
            resp_add_error(&c->out, "NOPROTO unsupported protocol version");
            return CMD_DONE;
        }
        proto = (int)v;
        i = 2;
    }
    const char *setname = NULL;
    size_t setname_len = 0;
    for (; i < req->argc; i++) {
        int more = req->argc - i - 1;
        if (ARG_IS(req, i, "AUTH") && more >= 2) {
            if (!auth_try(c, req->argv[i + 1], req->argl[i + 1], req->argv[i + 2], req->argl[i + 2]))
                return CMD_DONE;
            i += 2;
        } else if (ARG_IS(req, i, "SETNAME") && more >= 1) {
            setname = req->argv[i + 1];
            setname_len = req->argl[i + 1];
            if (!client_name_ok(setname, setname_len)) {
                resp_add_error(&c->out, "ERR Client names cannot contain spaces, newlines or special characters.");
                return CMD_DONE;
            }
            i += 1;
        } else {
            char opt[64];
            clean_name(req->argv[i], req->argl[i], opt, sizeof(opt));
            resp_add_errorf(&c->out, "ERR Syntax error in HELLO option '%s'", opt);
            return CMD_DONE;
        }
    }
    if (!c->authed && server_auth_required()) {
        resp_add_error(&c->out, "NOAUTH HELLO must be called with the client already authenticated, "
                                "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
                                "authenticate the client and select the RESP protocol version at the "
                                "same time");
        return CMD_DONE;
    }
    if (setname)
        set_client_name(c, setname, setname_len);
    c->proto = proto;
    resp_add_map(&c->out, 7, c->proto);
    resp_add_bulk_cstr(&c->out, "server");
    resp_add_bulk_cstr(&c->out, "seqd");
    resp_add_bulk_cstr(&c->out, "version");
    resp_add_bulk_cstr(&c->out, PACKAGE_VERSION);
    resp_add_bulk_cstr(&c->out, "proto");
    resp_add_int(&c->out, c->proto);
    resp_add_bulk_cstr(&c->out, "id");
    resp_add_int(&c->out, (int64_t)c->id);
    resp_add_bulk_cstr(&c->out, "mode");
    resp_add_bulk_cstr(&c->out, "standalone");
    resp_add_bulk_cstr(&c->out, "role");
    resp_add_bulk_cstr(&c->out, "master");
    resp_add_bulk_cstr(&c->out, "modules");
    resp_add_array(&c->out, 0);
    return CMD_DONE;
}

static void client_info_line(struct conn *c, struct buf *b)
{
    buf_printf(b, "id=%" PRIu64 " addr=%s name=%s age=%" PRIu64 " db=0 resp=%d lib-name=%s lib-ver=%s\n",
               c->id, c->addr, c->name, (mono_ms() - c->created_ms) / 1000, c->proto, c->lib_name,
               c->lib_ver);
}

static enum cmd_result cmd_client(struct conn *c, struct resp_request *req, size_t len)
{
    if (ARG_IS(req, 1, "SETNAME") && req->argc == 3) {
        if (!client_name_ok(req->argv[2], req->argl[2])) {
            resp_add_error(&c->out, "ERR Client names cannot contain spaces, newlines or special characters.");
        } else {
            set_client_name(c, req->argv[2], req->argl[2]);
            resp_add_simple(&c->out, "OK");
        }
    } else if (ARG_IS(req, 1, "GETNAME") && req->argc == 2) {
        if (c->name[0])
            resp_add_bulk_cstr(&c->out, c->name);
        else
            resp_add_null(&c->out, c->proto);
    } else if (ARG_IS(req, 1, "SETINFO") && req->argc == 4) {
        char *dst = NULL;
        size_t dlen = 0;
        if (ARG_IS(req, 2, "LIB-NAME")) {
            dst = c->lib_name;
            dlen = sizeof(c->lib_name);
        } else if (ARG_IS(req, 2, "LIB-VER")) {
            dst = c->lib_ver;
            dlen = sizeof(c->lib_ver);
        }
        if (!dst) {
            char attr[64];
            clean_name(req->argv[2], req->argl[2], attr, sizeof(attr));
            resp_add_errorf(&c->out, "ERR Unrecognized option '%s'", attr);
        } else {
            clean_name(req->argv[3], req->argl[3], dst, dlen);
            resp_add_simple(&c->out, "OK");
        }
    } else if (ARG_IS(req, 1, "ID") && req->argc == 2) {
        resp_add_int(&c->out, (int64_t)c->id);
    } else if ((ARG_IS(req, 1, "INFO") || ARG_IS(req, 1, "LIST")) && req->argc == 2) {
        struct buf b;
        buf_init(&b);
        client_info_line(c, &b);
        resp_add_bulk(&c->out, buf_head(&b), buf_used(&b));
        buf_free(&b);
    } else if ((ARG_IS(req, 1, "NO-EVICT") || ARG_IS(req, 1, "NO-TOUCH")) && req->argc == 3) {
        resp_add_simple(&c->out, "OK");
    } else {
        char sub[64];
        clean_name(req->argv[1], req->argl[1], sub, sizeof(sub));
        resp_add_errorf(&c->out, "ERR unknown subcommand or wrong number of arguments for '%s'. Try CLIENT HELP.", sub);
    }
    return CMD_DONE;
}

static const struct command commands[];
static const size_t ncommands;

static void command_entry(struct buf *out, const struct command *cmd)
{
    char lower[32];
    size_t n = strlen(cmd->name);
    for (size_t i = 0; i < n && i < sizeof(lower) - 1; i++)
        lower[i] = (char)(cmd->name[i] | 0x20);
    lower[n < sizeof(lower) - 1 ? n : sizeof(lower) - 1] = '\0';
    resp_add_array(out, 6);
    resp_add_bulk_cstr(out, lower);
    resp_add_int(out, cmd->arity);
    resp_add_array(out, 0);
    resp_add_int(out, cmd->arity == 1 ? 0 : 1);   /* first key */
    resp_add_int(out, cmd->arity == 1 ? 0 : 1);   /* last key */
    resp_add_int(out, cmd->arity == 1 ? 0 : 1);   /* step */
}

static enum cmd_result cmd_command(struct conn *c, struct resp_request *req, size_t len)
{
    if (req->argc == 1) {
        resp_add_array(&c->out, ncommands);
        for (size_t i = 0; i < ncommands; i++)
            command_entry(&c->out, &commands[i]);
    } else if (ARG_IS(req, 1, "COUNT")) {
        resp_add_int(&c->out, (int64_t)ncommands);
    } else if (ARG_IS(req, 1, "DOCS")) {
        /* No docs to give: an empty map (redis-cli then shows no hints). */
        resp_add_map(&c->out, 0, c->proto);
    } else if (ARG_IS(req, 1, "INFO")) {
        resp_add_array(&c->out, (size_t)(req->argc - 2));
        for (int i = 2; i < req->argc; i++) {
            const struct command *found = NULL;
            for (size_t k = 0; k < ncommands && !found; k++)
                if (str_ieq(req->argv[i], req->argl[i], commands[k].name))
                    found = &commands[k];
            if (found)
                command_entry(&c->out, found);
            else
                resp_add_null(&c->out, c->proto);
        }
    } else {
        char sub[64];
        clean_name(req->argv[1], req->argl[1], sub, sizeof(sub));
        resp_add_errorf(&c->out, "ERR unknown subcommand '%s'. Try COMMAND HELP.", sub);
    }
    return CMD_DONE;
}

struct config_get_ctx {
    struct buf tmp;
    size_t n;
};

static void config_get_emit(const char *name, const char *value, void *arg)
{
    struct config_get_ctx *ctx = arg;
    resp_add_bulk_cstr(&ctx->tmp, name);
    resp_add_bulk_cstr(&ctx->tmp, value);
    ctx->n++;
}

static enum cmd_result cmd_config(struct conn *c, struct resp_request *req, size_t len)
{
    if (ARG_IS(req, 1, "GET") && req->argc >= 3) {
        struct config_get_ctx ctx;
        buf_init(&ctx.tmp);
        ctx.n = 0;
        pthread_mutex_lock(&server.reload_lock);
        for (int i = 2; i < req->argc; i++) {
            char pattern[128];
            clean_name(req->argv[i], req->argl[i], pattern, sizeof(pattern));
            config_get(&server.cfg, pattern, config_get_emit, &ctx);
        }
        pthread_mutex_unlock(&server.reload_lock);
        resp_add_map(&c->out, ctx.n, c->proto);
        buf_append(&c->out, buf_head(&ctx.tmp), buf_used(&ctx.tmp));
        buf_free(&ctx.tmp);
    } else if (ARG_IS(req, 1, "SET")) {
        resp_add_error(&c->out, "ERR CONFIG SET is not supported: edit the config file and send SIGHUP "
                                "(reloads log.level, requirepass, store.mysql.rescan_s)");
    } else if (ARG_IS(req, 1, "RESETSTAT") && req->argc == 2) {
        resp_add_simple(&c->out, "OK");
    } else {
        char sub[64];
        clean_name(req->argv[1], req->argl[1], sub, sizeof(sub));
        resp_add_errorf(&c->out, "ERR unknown subcommand or wrong number of arguments for '%s'. Try CONFIG HELP.", sub);
    }
    return CMD_DONE;
}

static enum cmd_result cmd_info_wrap(struct conn *c, struct resp_request *req, size_t len)
{
    /* INFO <name> of a sequence this node has not seen yet: look it up. */
    if (req->argc == 2 && !cmd_info_is_section(req->argv[1], req->argl[1])) {
        struct seq *s;
        switch (resolve_seq(c, req->argv[1], req->argl[1], &s)) {
        case RESOLVE_WAIT: return CMD_WAIT_JOB;
        case RESOLVE_FAILED: return CMD_DONE;
        case RESOLVE_MISSING:
            reply_no_such(c, req->argv[1], req->argl[1]);
            return CMD_DONE;
        case RESOLVE_FOUND: {
            struct buf b;
            buf_init(&b);
            cmd_info_sequence(s, &b);
            seq_release(s);
            resp_add_verbatim(&c->out, buf_head(&b), buf_used(&b), c->proto);
            buf_free(&b);
            return CMD_DONE;
        }
        }
    }
    cmd_info(c, req);
    return CMD_DONE;
}

/* GET first: the hot command is found at once. */
static const struct command commands[] = {
    { "GET", cmd_get, 2, 0 },
    { "INCR", cmd_incr, 2, 0 },
    { "INCRBY", cmd_incrby, 3, 0 },
    { "MGET", cmd_mget, -2, 0 },
    { "NEXT", cmd_next, 3, 0 },
    { "HSET", cmd_hset, -4, 0 },
    { "DEL", cmd_del, -2, 0 },
    { "EXISTS", cmd_exists, -2, 0 },
    { "INFO", cmd_info_wrap, -1, 0 },
    { "PING", cmd_ping, -1, CMD_NOAUTH },
    { "ECHO", cmd_echo, 2, 0 },
    { "QUIT", cmd_quit, -1, CMD_NOAUTH },
    { "SELECT", cmd_select, 2, 0 },
    { "AUTH", cmd_auth, -2, CMD_NOAUTH },
    { "HELLO", cmd_hello, -1, CMD_NOAUTH },
    { "CLIENT", cmd_client, -2, 0 },
    { "COMMAND", cmd_command, -1, 0 },
    { "CONFIG", cmd_config, -2, 0 },
    { "DBSIZE", cmd_dbsize, 1, 0 },
};
static const size_t ncommands = ARRAY_SIZE(commands);

static void reply_unknown_command(struct conn *c, struct resp_request *req)
{
    char name[64];
    struct buf args;

    clean_name(req->argv[0], req->argl[0], name, sizeof(name));
    buf_init(&args);
    for (int i = 1; i < req->argc && buf_used(&args) < 128; i++) {
        char a[64];
        clean_name(req->argv[i], req->argl[i], a, sizeof(a));
        buf_printf(&args, "'%s' ", a);
    }
    buf_append(&args, "", 1);
    resp_add_errorf(&c->out, "ERR unknown command '%s', with args beginning with: %s", name,
                    buf_head(&args));
    buf_free(&args);
}

enum cmd_result cmd_dispatch(struct conn *c, struct resp_request *req, size_t request_len)
{
    const struct command *cmd = NULL;

    for (size_t i = 0; i < ncommands; i++) {
        if (str_ieq(req->argv[0], req->argl[0], commands[i].name)) {
            cmd = &commands[i];
            break;
        }
    }
    if (!cmd) {
        reply_unknown_command(c, req);
        return CMD_DONE;
    }
    if (!c->authed && !(cmd->flags & CMD_NOAUTH)) {
        if (server_auth_required()) {
            resp_add_error(&c->out, "NOAUTH Authentication required.");
            return CMD_DONE;
        }
        c->authed = true;        /* requirepass was removed by a reload */
    }
    if ((cmd->arity > 0 && req->argc != cmd->arity) || (cmd->arity < 0 && req->argc < -cmd->arity)) {
        char lower[32];
        clean_name(cmd->name, strlen(cmd->name), lower, sizeof(lower));
        for (char *p = lower; *p; p++)
            *p = (char)(*p | 0x20);
        reply_wrong_args(c, lower);
        return CMD_DONE;
    }
    return cmd->fn(c, req, request_len);
}

void cmd_park_timeout(struct conn *c)
{
    char reason[256];
    seq_wait_reason(c->park_seq, reason, sizeof(reason));
    resp_add_errorf(&c->out, "TRYAGAIN no numbers for '%s' within %d ms: %s",
                    c->park_seq->def.name, server.cfg.segment_wait_ms, reason);
}
