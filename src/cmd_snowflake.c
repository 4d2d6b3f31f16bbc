/*
 * cmd_snowflake: DECODE name id, what a type 5 (snowflake) id is made of:
 * time_ms, time (ISO 8601, UTC), worker, sequence. A map after HELLO 3,
 * flat pairs in RESP2.
 */
#include <stdio.h>

#include "cmd.h"
#include "conn.h"
#include "core.h"
#include "snowflake.h"
#include "util.h"

static void reply_decode(struct conn *c)
{
    if (c->wt.status != CORE_OK) {
        cmd_reply_core_error(c);
        return;
    }
    const struct seqdef *def = &c->wt.info->def;
    char time[40];
    struct snowflake_parts p;

    if (def->kind != SEQ_SNOWFLAKE) {
        resp_add_errorf(&c->out, "ERR sequence '%s' is type %d, not a snowflake sequence (DECODE takes ids "
                        "of type 5 sequences)", def->name, def->kind);
        return;
    }
    if (snowflake_decode(c->arg, def->epoch_ms, &p) != 0) {
        snowflake_format_time((uint64_t)def->epoch_ms, time, sizeof(time));
        resp_add_errorf(&c->out, "ERR id %lld is not an id of '%s': it would be from before its epoch (%s)",
                        (long long)c->arg, def->name, time);
        return;
    }
    snowflake_format_time(p.time_ms, time, sizeof(time));
    resp_add_map(&c->out, 4, c->proto);
    resp_add_bulk_cstr(&c->out, "time_ms");
    resp_add_int(&c->out, (int64_t)p.time_ms);
    resp_add_bulk_cstr(&c->out, "time");
    resp_add_bulk_cstr(&c->out, time);
    resp_add_bulk_cstr(&c->out, "worker");
    resp_add_int(&c->out, p.worker);
    resp_add_bulk_cstr(&c->out, "sequence");
    resp_add_int(&c->out, p.sequence);
}

enum cmd_result cmd_decode(struct conn *c, struct resp_request *req)
{
    if (!parse_i64(req->argv[2], req->argl[2], &c->arg)) {
        char shown[40];
        str_printable(req->argv[2], req->argl[2], shown, sizeof(shown));
        resp_add_errorf(&c->out, "ERR id must be an integer (a snowflake id), got '%s'", shown);
        return CMD_DONE;
    }
    return cmd_answer(c, core_describe(&c->wt, req->argv[1], req->argl[1]), reply_decode);
}
