/*
 * cmd: the command table, dispatch, and the replies several command
 * families share (see cmd.h).
 */
#include <string.h>

#include "acl.h"
#include "cmd.h"
#include "core.h"
#include "log.h"
#include "reqstats.h"
#include "server.h"
#include "util.h"

/* GET first: the hot command is found at once. CMD_READER marks what the
 * role "reader" may run (acl.h); the rest is for admins. */
static const struct command commands[] = {
    { "GET", cmd_get, 2, CMD_READER },
    { "INCR", cmd_incr, 2, CMD_READER },
    { "INCRBY", cmd_incrby, 3, CMD_READER },
    { "MGET", cmd_mget, -2, CMD_READER },
    { "NEXT", cmd_next, 3, CMD_READER },
    { "NEXTRANGE", cmd_nextrange, 3, CMD_READER },
    { "HSET", cmd_hset, -4, 0 },
    { "DEL", cmd_del, -2, 0 },
    { "EXISTS", cmd_exists, -2, CMD_READER },
    { "INFO", cmd_info, -1, CMD_READER },
    { "DECODE", cmd_decode, 3, CMD_READER },
    { "PING", cmd_ping, -1, CMD_NOAUTH | CMD_READER },
    { "ECHO", cmd_echo, 2, CMD_READER },
    { "QUIT", cmd_quit, -1, CMD_NOAUTH | CMD_READER },
    { "SELECT", cmd_select, 2, CMD_READER },
    { "AUTH", cmd_auth, -2, CMD_NOAUTH | CMD_READER },
    { "HELLO", cmd_hello, -1, CMD_NOAUTH | CMD_READER },
    { "CLIENT", cmd_client, -2, CMD_READER },
    { "COMMAND", cmd_command, -1, CMD_READER },
    { "ACL", cmd_acl, -2, CMD_READER },     /* WHOAMI; USERS and LIST check for admin themselves */
    { "CONFIG", cmd_config, -2, 0 },
    { "DBSIZE", cmd_dbsize, 1, CMD_READER },
};

/* reqstats ids: one per command of the table, then "unknown"; -1 until
 * registered. Names are counted in lower case, as Redis' commandstats. */
static int stat_ids[ARRAY_SIZE(commands) + 1] = { -1 };
static char stat_names[ARRAY_SIZE(commands)][16];

void cmd_stats_register(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        strlcpy_safe(stat_names[i], commands[i].name, sizeof(stat_names[i]));
        for (char *p = stat_names[i]; *p; p++)
            *p = (char)(*p | 0x20);
        stat_ids[i] = reqstats_register(DOOR_RESP, stat_names[i]);
    }
    stat_ids[ARRAY_SIZE(commands)] = reqstats_register(DOOR_RESP, "unknown");
}

const struct command *cmd_table(size_t *n)
{
    *n = ARRAY_SIZE(commands);
    return commands;
}

enum cmd_result cmd_answer(struct conn *c, int status, conn_reply_fn *reply)
{
    if (status == CORE_PENDING) {
        conn_wait(c, reply);
        return CMD_WAIT;
    }
    reply(c);
    return CMD_DONE;
}

void cmd_reply_core_error(struct conn *c)
{
    const char *prefix = c->wt.status == CORE_TRYAGAIN ? "TRYAGAIN" : "ERR";
    resp_add_errorf(&c->out, "%s %s", prefix, c->wt.err);
}

void cmd_reply_wrong_args(struct conn *c, const char *cmd)
{
    resp_add_errorf(&c->out, "ERR wrong number of arguments for '%s' command", cmd);
}

void cmd_reply_noperm(struct conn *c, const char *cmd)
{
    resp_add_errorf(&c->out, "NOPERM User %s has no permissions to run the '%s' command",
                    acl_user_name(&c->who), cmd);
}

static void reply_unknown_command(struct conn *c, struct resp_request *req)
{
    char name[64];
    struct buf args;

    str_printable(req->argv[0], req->argl[0], name, sizeof(name));
    buf_init(&args);
    for (int i = 1; i < req->argc && buf_used(&args) < 128; i++) {
        char a[64];
        buf_printf(&args, "'%s' ", str_printable(req->argv[i], req->argl[i], a, sizeof(a)));
    }
    buf_append(&args, "", 1);
    resp_add_errorf(&c->out, "ERR unknown command '%s', with args beginning with: %s", name,
                    buf_head(&args));
    buf_free(&args);
}

/* The command's name as Redis writes it in errors: lower case. */
static const char *lower_name(const struct command *cmd, char *out, size_t outlen)
{
    strlcpy_safe(out, cmd->name, outlen);
    for (char *p = out; *p; p++)
        *p = (char)(*p | 0x20);
    return out;
}

enum cmd_result cmd_dispatch(struct conn *c, struct resp_request *req)
{
    const struct command *cmd = NULL;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(commands); i++) {
        if (str_ieq(req->argv[0], req->argl[0], commands[i].name)) {
            cmd = &commands[i];
            break;
        }
    }
    c->stat_id = stat_ids[0] < 0 ? -1 : stat_ids[i];
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
    /* A reload changed the users: take the new role, or close the client
     * of a removed user as Redis does. */
    if (acl_stale(&c->who) && !acl_refresh(&c->who)) {
        log_notice("client %s: user %s was removed by a reload; closing its connection", c->addr, c->who.user);
        return CMD_CLOSE;
    }
    char lower[32];
    /* Redis' order: the arity first, then the permission. */
    if ((cmd->arity > 0 && req->argc != cmd->arity) || (cmd->arity < 0 && req->argc < -cmd->arity)) {
        cmd_reply_wrong_args(c, lower_name(cmd, lower, sizeof(lower)));
        return CMD_DONE;
    }
    if (!(cmd->flags & CMD_READER) && !acl_is_admin(&c->who)) {
        cmd_reply_noperm(c, lower_name(cmd, lower, sizeof(lower)));
        return CMD_DONE;
    }
    return cmd->fn(c, req);
}
