/*
 * snowflake: type 5's 64-bit time-ordered ids, and the clock rules that
 * keep them unique. Pure: no I/O, no clock, no globals; the caller passes
 * the time in, so a unit test can drive every rule.
 *
 * An id is, from the top bit down:
 *   0 | 41 bits: ms since the sequence's epoch | 10 bits: worker | 12 bits: sequence
 * so it is positive in an int64, and ids of one worker compare like their
 * (time, sequence) pairs.
 *
 * The rules (snowflake_take):
 *  - ids of one generator are strictly increasing: within a millisecond the
 *    sequence counts 0..4095, then the next id waits for the next ms;
 *  - never an id whose ms is at or below `floor_ms` (what a previous holder
 *    of the worker id may have used: a restart's reservation), nor above
 *    `reserved_ms` (what is durably reserved for this node: past it, the
 *    reservation must be extended first);
 *  - a clock behind the last id's ms (it moved backwards) gives no id: the
 *    caller waits for it to catch up, or gives up.
 * Times are Unix milliseconds (CLOCK_REALTIME), not epoch-relative, so one
 * reservation covers sequences of any epoch.
 */
#ifndef SEQD_SNOWFLAKE_H
#define SEQD_SNOWFLAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNOWFLAKE_TIME_BITS 41
#define SNOWFLAKE_WORKER_BITS 10
#define SNOWFLAKE_SEQ_BITS 12
#define SNOWFLAKE_WORKERS (1 << SNOWFLAKE_WORKER_BITS)      /* 1024 */
#define SNOWFLAKE_PER_MS (1 << SNOWFLAKE_SEQ_BITS)          /* 4096 */
#define SNOWFLAKE_TIME_MAX ((UINT64_C(1) << SNOWFLAKE_TIME_BITS) - 1)
/* The default epoch: 2020-01-01T00:00:00Z (41 bits last until 2089). */
#define SNOWFLAKE_DEFAULT_EPOCH_MS INT64_C(1577836800000)
/* The largest epoch HSET takes: 9999-12-31T23:59:59.999Z. */
#define SNOWFLAKE_EPOCH_MAX_MS INT64_C(253402300799999)

struct snowflake_parts {
    uint64_t time_ms;       /* Unix ms: epoch + the id's 41 bits */
    int worker;
    int sequence;
};

/* The id of (Unix ms, worker, sequence) under epoch; the caller keeps
 * epoch <= ms <= epoch + SNOWFLAKE_TIME_MAX, worker < 1024, seq < 4096. */
int64_t snowflake_compose(int64_t epoch_ms, uint64_t ms, int worker, int sequence);

/* Split an id. Returns 0, or -1 for a negative id (no snowflake id is). */
int snowflake_decode(int64_t id, int64_t epoch_ms, struct snowflake_parts *out);

/* "2026-02-01T12:34:56.789Z" for Unix ms (buf at least 32 bytes). */
void snowflake_format_time(uint64_t ms, char *buf, size_t len);

/* What one sequence has handed out. Zeroed: nothing yet. */
struct snowflake_gen {
    uint64_t last_ms;       /* Unix ms of the last id (or the floor it started from) */
    int next_seq;           /* the next sequence number in last_ms; 4096: used up */
    int worker;             /* the worker id of the last id; -1: none yet */
};

/* What the node's clock and worker lease allow now. */
struct snowflake_clock {
    uint64_t now_ms;        /* CLOCK_REALTIME, Unix ms */
    int64_t epoch_ms;       /* the sequence's */
    int worker;             /* 0..1023 */
    uint64_t floor_ms;      /* ids must have ms > floor_ms */
    uint64_t reserved_ms;   /* ids must have ms <= reserved_ms */
};

enum snowflake_result {
    SNOWFLAKE_OK,           /* all `want` taken */
    SNOWFLAKE_NEXT_MS,      /* this ms is used up: wait for the next (1 ms) */
    SNOWFLAKE_BEHIND,       /* the clock is behind the last id (or the floor) by *behind_ms */
    SNOWFLAKE_RESERVE,      /* the clock is past the reservation: extend it first */
    SNOWFLAKE_BEFORE_EPOCH, /* the clock is before the sequence's epoch */
    SNOWFLAKE_EXHAUSTED,    /* 41 bits of ms since the epoch are used up */
};

void snowflake_gen_init(struct snowflake_gen *g);

/* Take up to `want` ids into out[]; *got is how many (also on a result
 * other than SNOWFLAKE_OK: those ids are valid and taken). *behind_ms is
 * set for SNOWFLAKE_BEHIND. */
enum snowflake_result snowflake_take(struct snowflake_gen *g, const struct snowflake_clock *c,
                                     int64_t *out, uint64_t want, uint64_t *got, uint64_t *behind_ms);

/* Which worker id of the 1024 a node may use: w ≡ offset (mod step), the
 * id_step/id_offset rule (step >= 1, 0 <= offset < step). The i-th such id
 * (i = 0, 1, ...), or -1 past the last. */
int snowflake_worker_nth(int step, int offset, int i);
/* Is w one of them? */
bool snowflake_worker_allowed(int step, int offset, int w);

#endif
