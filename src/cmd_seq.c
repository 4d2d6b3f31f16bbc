/*
 * cmd_seq: the commands that hand out numbers (GET, INCR, INCRBY, NEXT,
 * MGET, NEXTRANGE). Each is one core_take call and a reply function;
 * cmd_prefetch starts their claims ahead of time in a pipeline. GET, NEXT
 * and MGET answer bulk strings (a type 4 number may hold letters); INCR an
 * integer, so it refuses numbers that are not one. NEXTRANGE answers
 * ranges of integers: a client takes millions of numbers in one round
 * trip and hands them out itself (as Didi Tinyid's client does).
 */
#include <inttypes.h>

#include "cmd.h"
#include "core.h"
#include "util.h"

#define NEXT_MAX_COUNT 100000
/* NEXTRANGE costs a few triples whatever the count; the bound keeps one
 * client from emptying a sequence's segments for everyone else. */
#define NEXTRANGE_MAX_COUNT 10000000

/* Number i as a bulk string: its digits, or a type 4 number's text. */
static void add_bulk_number(struct conn *c, uint64_t i)
{
    char text[CORE_NUMBER_TEXT_MAX];

    if (!c->wt.has_text) {
        resp_add_bulk_i64(&c->out, c->wt.numbers[i]);
        return;
    }
    size_t n = core_number_text(&c->wt, i, text, sizeof(text));
    resp_add_bulk(&c->out, text, n);
}

static void reply_bulk_number(struct conn *c)
{
    if (c->wt.status != CORE_OK)
        cmd_reply_core_error(c);
    else
        add_bulk_number(c, 0);
}

static void reply_int_number(struct conn *c)
{
    int64_t v;

    if (c->wt.status != CORE_OK)
        cmd_reply_core_error(c);
    else if (core_number_int(&c->wt, 0, &v))
        resp_add_int(&c->out, v);
    else
        resp_add_errorf(&c->out, "ERR sequence '%s' has numbers that are not integers: use GET", c->wt.text_name);
}

static void reply_number_array(struct conn *c)
{
    if (c->wt.status != CORE_OK) {
        cmd_reply_core_error(c);
        return;
    }
    resp_add_array(&c->out, c->wt.nnumbers);
    if (!c->wt.has_text) {
        resp_add_bulk_i64s(&c->out, c->wt.numbers, c->wt.nnumbers);
        return;
    }
    for (uint64_t i = 0; i < c->wt.nnumbers; i++)
        add_bulk_number(c, i);
}

static void add_triple(struct conn *c, int64_t first, int64_t last, int64_t step)
{
    resp_add_array(&c->out, 3);
    resp_add_int(&c->out, first);
    resp_add_int(&c->out, last);
    resp_add_int(&c->out, step);
}

/* The runs as [first, last, step] triples. A run whose step does not fit
 * an int64 holds one number (seq.h): its triple says step 1. */
static void reply_ranges(struct conn *c)
{
    const struct core_waiter *wt = &c->wt;

    if (wt->status == CORE_WRONG_KIND) {
        resp_add_errorf(&c->out, "ERR NEXTRANGE needs an increasing sequence (type 2 or 3); %s: use NEXT",
                        wt->err);
        return;
    }
    if (wt->status != CORE_OK) {
        cmd_reply_core_error(c);
        return;
    }
    resp_add_array(&c->out, wt->nruns);
    for (size_t i = 0; i < wt->nruns; i++) {
        const struct seq_run *r = &wt->runs[i];
        if (r->step > (uint64_t)INT64_MAX) {
            add_triple(c, r->first, r->first, 1);
            continue;
        }
        /* first + (count - 1) * step is a number of the sequence: it fits. */
        uint64_t last = (uint64_t)r->first + (r->count - 1) * r->step;
        add_triple(c, r->first, last <= (uint64_t)INT64_MAX ? (int64_t)last : -(int64_t)~last - 1,
                   (int64_t)r->step);
    }
}

enum cmd_result cmd_get(struct conn *c, struct resp_request *req)
{
    return cmd_answer(c, core_take(&c->wt, req->argv[1], req->argl[1], 1), reply_bulk_number);
}

enum cmd_result cmd_incr(struct conn *c, struct resp_request *req)
{
    return cmd_answer(c, core_take(&c->wt, req->argv[1], req->argl[1], 1), reply_int_number);
}

/* INCRBY name 1: what redis-py's incr() sends. Other amounts would skip
 * numbers; NEXT name count hands out several. */
enum cmd_result cmd_incrby(struct conn *c, struct resp_request *req)
{
    int64_t by;
    if (!parse_i64(req->argv[2], req->argl[2], &by) || by != 1) {
        resp_add_error(&c->out, "ERR seqd's INCRBY only takes 1 (for several numbers use NEXT name count)");
        return CMD_DONE;
    }
    return cmd_incr(c, req);
}

enum cmd_result cmd_next(struct conn *c, struct resp_request *req)
{
    uint64_t count;
    if (!parse_u64(req->argv[2], req->argl[2], &count) || count < 1 || count > NEXT_MAX_COUNT) {
        resp_add_errorf(&c->out, "ERR count must be an integer from 1 to %d", NEXT_MAX_COUNT);
        return CMD_DONE;
    }
    return cmd_answer(c, core_take(&c->wt, req->argv[1], req->argl[1], count), reply_number_array);
}

enum cmd_result cmd_nextrange(struct conn *c, struct resp_request *req)
{
    uint64_t count;
    if (!parse_u64(req->argv[2], req->argl[2], &count) || count < 1 || count > NEXTRANGE_MAX_COUNT) {
        resp_add_errorf(&c->out, "ERR count must be an integer from 1 to %d", NEXTRANGE_MAX_COUNT);
        return CMD_DONE;
    }
    return cmd_answer(c, core_take_runs(&c->wt, req->argv[1], req->argl[1], count), reply_ranges);
}

enum cmd_result cmd_mget(struct conn *c, struct resp_request *req)
{
    int st = core_take_each(&c->wt, req->argc - 1, req->argv + 1, req->argl + 1);
    return cmd_answer(c, st, reply_number_array);
}

void cmd_prefetch(struct conn *c, const struct resp_request *req)
{
    int end;

    if ((ARG_IS(req, 0, "get") || ARG_IS(req, 0, "incr")) && req->argc == 2)
        end = 2;
    else if ((ARG_IS(req, 0, "incrby") || ARG_IS(req, 0, "next") || ARG_IS(req, 0, "nextrange")) &&
             req->argc == 3)
        end = 2;
    else if (ARG_IS(req, 0, "mget"))
        end = req->argc < 1 + CORE_PREFETCH_MAX ? req->argc : 1 + CORE_PREFETCH_MAX;
    else
        return;
    for (int i = 1; i < end; i++)
        core_prefetch(c->w, req->argv[i], req->argl[i]);
}
