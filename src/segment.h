/*
 * segment: the double buffer of one sequence, as pure arithmetic.
 *
 * A sequence hands out counters 0, 1, 2, ... (seqdef.h turns a counter into
 * the number a client sees). Counters come from the store in segments, a
 * half-open range [start, end). The buffer holds the segment being served
 * (cur) and, once prefetched, the next one. Leaf's rules:
 *  - when 10% of cur is used and no next is there or on its way, prefetch;
 *  - when cur is used up, switch to next;
 *  - the size of the next claim aims at `duration_ms` of traffic: double it
 *    when the previous segment lasted less, halve it when it lasted more
 *    than twice as long, within [min, max].
 * Counters at or above `limit` do not exist (a fixed-length kind ran out).
 * No locking here: the caller (seq.c) holds the sequence's lock. With
 * asserts on (--enable-debug) every function checks these invariants.
 */
#ifndef SEQD_SEGMENT_H
#define SEQD_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>

struct segment {
    uint64_t start, end;   /* claimed counters [start, end) */
    uint64_t pos;          /* next counter to hand out, start <= pos <= end */
};

/* next is [next_start, next_end), untouched until it becomes cur, so its
 * pos (next_start) is not stored; no next is next_start > next_end, which
 * no install makes (segbuf_has_next). 48 bytes, one per sequence. */
struct segbuf {
    struct segment cur;
    uint64_t next_start, next_end;
    uint64_t limit;        /* counters >= limit do not exist */
};

enum seg_take { SEG_TAKEN, SEG_EMPTY, SEG_EXHAUSTED };

static inline uint64_t segment_left(const struct segment *s) { return s->end - s->pos; }

static inline bool segbuf_has_next(const struct segbuf *sb) { return sb->next_start <= sb->next_end; }
/* The next segment as a struct segment (pos at its start); meaningful
 * only when segbuf_has_next. */
static inline struct segment segbuf_next(const struct segbuf *sb)
{
    return (struct segment){ sb->next_start, sb->next_end, sb->next_start };
}

/* An empty buffer for a kind whose counters stop at limit (UINT64_MAX: none). */
void segbuf_init(struct segbuf *sb, uint64_t limit);

/* Take one counter into *counter. SEG_TAKEN; SEG_EMPTY when both segments
 * are used up (claim and wait); SEG_EXHAUSTED when the counters before
 * limit are all handed out and the newest claim reached limit. Switches to
 * next when cur is used up. */
enum seg_take segbuf_take(struct segbuf *sb, uint64_t *counter);

/* Take up to max (>= 1) consecutive counters at once: [*first, *first +
 * *n), 1 <= *n <= max, all from one segment (a take that crosses from cur
 * into next stops at cur's end; the next call goes on in next). Same
 * results and switching as segbuf_take, which is this with max 1. */
enum seg_take segbuf_take_run(struct segbuf *sb, uint64_t max, uint64_t *first, uint64_t *n);

/* True when a claim should be started now: cur is at least 10% used (or
 * empty), there is no next, and the newest claim has not reached limit
 * (a claim could bring no counters). 10% is rounded up: a segment of 15
 * wants the claim after 2 takes, a segment of 1 after its one take. The
 * caller tracks whether one is in flight. */
bool segbuf_wants_claim(const struct segbuf *sb);

/* Install a freshly claimed [start, start+count): into cur when cur is used
 * up, else into next. Counters at or above limit are cut off (a claim that
 * starts at or above limit installs an empty segment, after which take
 * answers SEG_EXHAUSTED). start + count may exceed UINT64_MAX: it is cut
 * too. Returns false (and installs nothing) when a next is already there. */
bool segbuf_install(struct segbuf *sb, uint64_t start, uint64_t count);

/* Counters claimed but not handed out: cur's rest and all of next. */
uint64_t segbuf_unused(const struct segbuf *sb);

/* The first counter of the unused tail that ends at top (the end of the
 * newest claim, before any cut at limit): what a graceful stop can give
 * back with a compare-and-set on max_id == top. cur's rest counts only
 * when next starts right where cur ends; otherwise it is wasted. Returns
 * top when there is nothing to give back. */
uint64_t segbuf_giveback_from(const struct segbuf *sb, uint64_t top);

/* Leaf's dynamic step. prev: size of the last claim; elapsed_ms: time since
 * that claim was installed (0 if this is the first claim); min: the row's
 * step; max: segment.max. elapsed < duration: prev * 2; elapsed < 2 *
 * duration: prev; else prev / 2. Result within [min, max] (min wins if
 * min > max) and never 0. No overflow for any input. */
uint64_t segment_next_size(uint64_t prev, uint64_t elapsed_ms, uint64_t duration_ms,
                           uint64_t min, uint64_t max);

#endif
