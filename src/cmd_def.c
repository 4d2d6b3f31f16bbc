/*
 * cmd_def: the commands that define, drop and count sequences (HSET, DEL,
 * EXISTS, DBSIZE), through the core.
 */
#include "cmd.h"
#include "core.h"
#include "seqdef.h"

static void reply_created(struct conn *c)
{
    if (c->wt.status != CORE_OK)
        cmd_reply_core_error(c);
    else
        resp_add_int(&c->out, 1);
}

static void reply_count(struct conn *c)
{
    if (c->wt.status != CORE_OK)
        cmd_reply_core_error(c);
    else
        resp_add_int(&c->out, c->wt.count);
}

/* HSET name field value [field value ...]: create a sequence. */
enum cmd_result cmd_hset(struct conn *c, struct resp_request *req)
{
    char err[256];
    struct seqdef def;

    if (!seqdef_name_ok(req->argv[1], req->argl[1], err, sizeof(err))) {
        resp_add_errorf(&c->out, "ERR %s", err);
        return CMD_DONE;
    }
    if ((req->argc - 2) % 2 != 0) {
        cmd_reply_wrong_args(c, "hset");
        return CMD_DONE;
    }
    if (core_definition_from_fields(&def, req->argv[1], req->argl[1], req->argc - 2, req->argv + 2,
                                    req->argl + 2, err, sizeof(err)) != CORE_OK) {
        resp_add_errorf(&c->out, "ERR %s", err);
        return CMD_DONE;
    }
    return cmd_answer(c, core_define(&c->wt, &def), reply_created);
}

enum cmd_result cmd_del(struct conn *c, struct resp_request *req)
{
    return cmd_answer(c, core_drop(&c->wt, req->argc - 1, req->argv + 1, req->argl + 1), reply_count);
}

enum cmd_result cmd_exists(struct conn *c, struct resp_request *req)
{
    return cmd_answer(c, core_exists(&c->wt, req->argc - 1, req->argv + 1, req->argl + 1), reply_count);
}

enum cmd_result cmd_dbsize(struct conn *c, struct resp_request *req)
{
    resp_add_int(&c->out, (int64_t)core_sequence_count());
    return CMD_DONE;
}
