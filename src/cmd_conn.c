/*
 * cmd_conn: the commands about the connection itself, what Redis clients
 * send on connect (PING, ECHO, QUIT, SELECT, AUTH, HELLO, CLIENT), and
 * who it is (ACL WHOAMI, USERS, LIST).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "acl.h"
#include "cmd.h"
#include "log.h"
#include "server.h"
#include "util.h"
#include "worker.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

enum cmd_result cmd_ping(struct conn *c, struct resp_request *req)
{
    if (req->argc > 2) {
        cmd_reply_wrong_args(c, "ping");
    } else if (req->argc == 2) {
        resp_add_bulk(&c->out, req->argv[1], req->argl[1]);
    } else {
        resp_add_simple(&c->out, "PONG");
    }
    return CMD_DONE;
}

enum cmd_result cmd_echo(struct conn *c, struct resp_request *req)
{
    resp_add_bulk(&c->out, req->argv[1], req->argl[1]);
    return CMD_DONE;
}

enum cmd_result cmd_quit(struct conn *c, struct resp_request *req)
{
    resp_add_simple(&c->out, "OK");
    return CMD_CLOSE;
}

enum cmd_result cmd_select(struct conn *c, struct resp_request *req)
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
 * when it fails; a failure leaves the client as it was (as Redis). */
static bool auth_try(struct conn *c, const char *user, size_t ulen, const char *pass, size_t plen)
{
    struct acl_id who;

    switch (acl_authenticate(user, ulen, pass, plen, &who)) {
    case ACL_AUTH_OK:
        c->who = who;
        c->authed = true;
        return true;
    case ACL_AUTH_NOPASS:
        resp_add_error(&c->out, "ERR AUTH <password> called without any password configured for "
                                "the default user. Are you sure your configuration is correct?");
        return false;
    case ACL_AUTH_WRONGPASS:
        break;
    }
    STAT_INC(&c->w->stats, auth_failures);
    acl_log_failure("RESP", c->addr, user, ulen);
    resp_add_error(&c->out, "WRONGPASS invalid username-password pair or user is disabled.");
    return false;
}

enum cmd_result cmd_auth(struct conn *c, struct resp_request *req)
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

enum cmd_result cmd_hello(struct conn *c, struct resp_request *req)
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
            str_printable(req->argv[i], req->argl[i], opt, sizeof(opt));
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
    buf_printf(b, "id=%" PRIu64 " addr=%s name=%s age=%" PRIu64 " db=0 user=%s resp=%d lib-name=%s lib-ver=%s\n",
               c->id, c->addr, c->name, (mono_ms() - c->created_ms) / 1000, acl_user_name(&c->who), c->proto,
               c->lib_name, c->lib_ver);
}

enum cmd_result cmd_client(struct conn *c, struct resp_request *req)
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
            str_printable(req->argv[2], req->argl[2], attr, sizeof(attr));
            resp_add_errorf(&c->out, "ERR Unrecognized option '%s'", attr);
        } else {
            str_printable(req->argv[3], req->argl[3], dst, dlen);
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
        str_printable(req->argv[1], req->argl[1], sub, sizeof(sub));
        resp_add_errorf(&c->out, "ERR unknown subcommand or wrong number of arguments for '%s'. Try CLIENT HELP.", sub);
    }
    return CMD_DONE;
}

/* One ACL LIST line, Redis' form without the password: "user app on
 * ~* resetchannels -@all +get +incr ..." for a reader (the commands of the
 * table it may run), "+@all" for an admin. */
static void acl_list_line(struct buf *b, const char *name, int role)
{
    size_t n;
    const struct command *commands = cmd_table(&n);

    buf_printf(b, "user %s on ~* resetchannels %s", name, role == CONFIG_ROLE_ADMIN ? "+@all" : "-@all");
    for (size_t i = 0; role != CONFIG_ROLE_ADMIN && i < n; i++) {
        if (!(commands[i].flags & CMD_READER))
            continue;
        buf_printf(b, " +");
        for (const char *p = commands[i].name; *p; p++)
            buf_printf(b, "%c", *p | 0x20);
    }
}

/* ACL WHOAMI for everyone; ACL USERS and ACL LIST (never a password or
 * its hash) for admins. Users are defined in the config file only. */
enum cmd_result cmd_acl(struct conn *c, struct resp_request *req)
{
    bool users = ARG_IS(req, 1, "USERS"), list = ARG_IS(req, 1, "LIST");

    if (ARG_IS(req, 1, "WHOAMI") && req->argc == 2) {
        resp_add_bulk_cstr(&c->out, acl_user_name(&c->who));
    } else if ((users || list) && req->argc == 2) {
        if (!acl_is_admin(&c->who)) {
            cmd_reply_noperm(c, users ? "acl|users" : "acl|list");
            return CMD_DONE;
        }
        struct buf b;
        buf_init(&b);
        pthread_mutex_lock(&server.reload_lock);
        resp_add_array(&c->out, (size_t)server.cfg.nusers + 1);
        for (int i = -1; i < server.cfg.nusers; i++) {
            const char *name = i < 0 ? ACL_DEFAULT_USER : server.cfg.users[i].name;
            buf_reset(&b);
            if (users)
                buf_printf(&b, "%s", name);
            else
                acl_list_line(&b, name, i < 0 ? CONFIG_ROLE_ADMIN : server.cfg.users[i].role);
            resp_add_bulk(&c->out, buf_head(&b), buf_used(&b));
        }
        pthread_mutex_unlock(&server.reload_lock);
        buf_free(&b);
    } else {
        char sub[64];
        str_printable(req->argv[1], req->argl[1], sub, sizeof(sub));
        resp_add_errorf(&c->out, "ERR unknown subcommand or wrong number of arguments for '%s'. seqd's ACL "
                                 "answers WHOAMI, USERS and LIST; users are set in the config file "
                                 "(\"users\") and reloaded with SIGHUP.", sub);
    }
    return CMD_DONE;
}
