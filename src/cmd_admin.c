/*
 * cmd_admin: COMMAND (what redis-cli and client libraries ask about the
 * command table) and CONFIG (GET, RESETSTAT; SET of the log level, and for
 * every other key how to change it).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "server.h"
#include "util.h"

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

enum cmd_result cmd_command(struct conn *c, struct resp_request *req)
{
    size_t ncommands;
    const struct command *commands = cmd_table(&ncommands);

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
        str_printable(req->argv[1], req->argl[1], sub, sizeof(sub));
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

/* CONFIG SET loglevel|log.level debug|verbose|notice|warning: the only key
 * that changes at run time by command (see server_set_log_level; a SIGHUP
 * later sets the file's level again). Every other key is refused with how
 * to change it. Redis 7's several pairs in one SET are not taken.
 * TODO(users issue): admin only, once users with roles exist. */
static void config_set_reply(struct conn *c, struct resp_request *req)
{
    char name[64], value[64], who[128];

    str_printable(req->argv[2], req->argl[2], name, sizeof(name));
    if (!ARG_IS(req, 2, "loglevel") && !ARG_IS(req, 2, "log.level")) {
        resp_add_errorf(&c->out, "ERR CONFIG SET '%s' is not supported: only loglevel can be set at run time; "
                                 "edit the config file and send SIGHUP (reloads log.level, requirepass, "
                                 "store.mysql.rescan_s)", name);
        return;
    }
    /* str_printable turns control bytes into '?', which no level name has;
     * a value longer than the buffer is no level name either. */
    str_printable(req->argv[3], req->argl[3], value, sizeof(value));
    int level = req->argl[3] < sizeof(value) ? log_level_parse(value) : -1;
    if (level < 0) {
        resp_add_errorf(&c->out, "ERR Invalid argument '%s' for CONFIG SET '%s' - use debug, verbose, notice or warning",
                        value, name);
        return;
    }
    snprintf(who, sizeof(who), "CONFIG SET from client %llu %s", (unsigned long long)c->id, c->addr);
    server_set_log_level(level, who);
    resp_add_simple(&c->out, "OK");
}

/* What CONFIG GET shows: the configuration in force, with the log level the
 * log module holds (whoever set it: CONFIG SET, the HTTP door's log level
 * endpoint, SIGHUP), not necessarily the file's. Caller frees. */
static struct config *config_in_force(void)
{
    struct config *shown = xmalloc(sizeof(*shown));

    pthread_mutex_lock(&server.reload_lock);
    *shown = server.cfg;
    pthread_mutex_unlock(&server.reload_lock);
    shown->log_level = log_get_level();
    return shown;
}

enum cmd_result cmd_config(struct conn *c, struct resp_request *req)
{
    if (ARG_IS(req, 1, "GET") && req->argc >= 3) {
        struct config *shown = config_in_force();
        struct config_get_ctx ctx;
        buf_init(&ctx.tmp);
        ctx.n = 0;
        for (int i = 2; i < req->argc; i++) {
            char pattern[128];
            str_printable(req->argv[i], req->argl[i], pattern, sizeof(pattern));
            config_get(shown, pattern, config_get_emit, &ctx);
        }
        free(shown);
        resp_add_map(&c->out, ctx.n, c->proto);
        buf_append(&c->out, buf_head(&ctx.tmp), buf_used(&ctx.tmp));
        buf_free(&ctx.tmp);
    } else if (ARG_IS(req, 1, "SET") && req->argc == 4) {
        config_set_reply(c, req);
    } else if (ARG_IS(req, 1, "RESETSTAT") && req->argc == 2) {
        core_stats_reset();
        resp_add_simple(&c->out, "OK");
    } else {
        char sub[64];
        str_printable(req->argv[1], req->argl[1], sub, sizeof(sub));
        resp_add_errorf(&c->out, "ERR unknown subcommand or wrong number of arguments for '%s'. Try CONFIG HELP.", sub);
    }
    return CMD_DONE;
}
