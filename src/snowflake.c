/*
 * snowflake: composing, decoding and handing out type 5 ids under the
 * clock rules (see snowflake.h). Pure.
 */
#include <stdio.h>
#include <time.h>

#include "snowflake.h"

int64_t snowflake_compose(int64_t epoch_ms, uint64_t ms, int worker, int sequence)
{
    uint64_t t = ms - (uint64_t)epoch_ms;
    return (int64_t)((t << (SNOWFLAKE_WORKER_BITS + SNOWFLAKE_SEQ_BITS)) |
                     ((uint64_t)worker << SNOWFLAKE_SEQ_BITS) | (uint64_t)sequence);
}

int snowflake_decode(int64_t id, int64_t epoch_ms, struct snowflake_parts *out)
{
    if (id < 0)
        return -1;
    uint64_t u = (uint64_t)id;
    out->sequence = (int)(u & (SNOWFLAKE_PER_MS - 1));
    out->worker = (int)((u >> SNOWFLAKE_SEQ_BITS) & (SNOWFLAKE_WORKERS - 1));
    out->time_ms = (uint64_t)epoch_ms + (u >> (SNOWFLAKE_WORKER_BITS + SNOWFLAKE_SEQ_BITS));
    return 0;
}

void snowflake_format_time(uint64_t ms, char *buf, size_t len)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char day[32];

    if (!gmtime_r(&secs, &tm) || strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(buf, len, "?");
        return;
    }
    snprintf(buf, len, "%s.%03dZ", day, (int)(ms % 1000));
}

void snowflake_gen_init(struct snowflake_gen *g)
{
    g->last_ms = 0;
    g->next_seq = SNOWFLAKE_PER_MS;
    g->worker = -1;
}

enum snowflake_result snowflake_take(struct snowflake_gen *g, const struct snowflake_clock *c,
                                     int64_t *out, uint64_t want, uint64_t *got, uint64_t *behind_ms)
{
    uint64_t n = 0;
    enum snowflake_result r = SNOWFLAKE_OK;

    /* A floor above what this generator used: the ms at the floor may
     * have been used by a previous holder of the worker id. Another
     * worker id than the last id's: its (ms, seq) pairs say nothing about
     * this one's, so only a later ms keeps the ids increasing. */
    if (c->floor_ms > g->last_ms || (g->worker >= 0 && g->worker != c->worker)) {
        if (c->floor_ms > g->last_ms)
            g->last_ms = c->floor_ms;
        g->next_seq = SNOWFLAKE_PER_MS;
    }
    g->worker = c->worker;

    while (n < want) {
        if (c->now_ms < (uint64_t)c->epoch_ms) {
            r = SNOWFLAKE_BEFORE_EPOCH;
            break;
        }
        if (c->now_ms < g->last_ms) {
            *behind_ms = g->last_ms - c->now_ms;
            r = SNOWFLAKE_BEHIND;
            break;
        }
        if (c->now_ms > g->last_ms) {
            if (c->now_ms > c->reserved_ms) {
                r = SNOWFLAKE_RESERVE;
                break;
            }
            if (c->now_ms - (uint64_t)c->epoch_ms > SNOWFLAKE_TIME_MAX) {
                r = SNOWFLAKE_EXHAUSTED;
                break;
            }
            g->last_ms = c->now_ms;
            g->next_seq = 0;
        }
        if (g->next_seq >= SNOWFLAKE_PER_MS) {
            r = SNOWFLAKE_NEXT_MS;
            break;
        }
        /* Fill what this millisecond has left in one go. */
        while (n < want && g->next_seq < SNOWFLAKE_PER_MS)
            out[n++] = snowflake_compose(c->epoch_ms, g->last_ms, c->worker, g->next_seq++);
    }
    *got = n;
    return r;
}

int snowflake_worker_nth(int step, int offset, int i)
{
    if (step < 1 || offset < 0 || offset >= step || i < 0)
        return -1;
    int64_t w = (int64_t)offset + (int64_t)i * step;
    return w < SNOWFLAKE_WORKERS ? (int)w : -1;
}

bool snowflake_worker_allowed(int step, int offset, int w)
{
    return step >= 1 && offset >= 0 && offset < step && w >= 0 && w < SNOWFLAKE_WORKERS &&
           w % step == offset;
}
