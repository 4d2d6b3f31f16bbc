/*
 * segment: the double buffer of one sequence (cur + next) as pure
 * arithmetic, and Leaf's rule for the size of the next claim.
 * See segment.h for the rules; the caller holds the sequence's lock.
 */
#include "segment.h"

#include <assert.h>

/* The buffer's invariants, checked on the way in and out of every function
 * when asserts are on (--enable-debug): each segment is a well-formed
 * [start, end) with start <= pos <= end; next is untouched until it
 * becomes cur (it has no pos of its own to move); a segment that holds counters ends at limit
 * or below (a claim that starts above limit installs an empty one). Not
 * checked: that claims are disjoint and increasing; that is the store's
 * contract about data a shared table holds, and arithmetic here must stay
 * defined even when it is broken. */
static void segment_check(const struct segment *seg, uint64_t limit)
{
    assert(seg->start <= seg->pos && seg->pos <= seg->end);
    assert(seg->end <= limit || seg->start == seg->end);
}

static void segbuf_check(const struct segbuf *sb)
{
    segment_check(&sb->cur, sb->limit);
    if (segbuf_has_next(sb)) {
        struct segment next = segbuf_next(sb);
        segment_check(&next, sb->limit);
    }
}

/* No next: an empty range backwards, which no install makes. */
static void segbuf_drop_next(struct segbuf *sb)
{
    sb->next_start = 1;
    sb->next_end = 0;
}

void segbuf_init(struct segbuf *sb, uint64_t limit)
{
    sb->cur.start = sb->cur.end = sb->cur.pos = 0;
    segbuf_drop_next(sb);
    sb->limit = limit;
    segbuf_check(sb);
}

/* The newest claim reached limit: no claim can ever bring more counters. */
static bool segbuf_at_limit(const struct segbuf *sb)
{
    return (segbuf_has_next(sb) ? sb->next_end : sb->cur.end) >= sb->limit;
}

enum seg_take segbuf_take_run(struct segbuf *sb, uint64_t max, uint64_t *first, uint64_t *n)
{
    segbuf_check(sb);
    assert(max >= 1);
    if (segment_left(&sb->cur) == 0 && segbuf_has_next(sb)) {
        sb->cur = segbuf_next(sb);
        segbuf_drop_next(sb);
    }
    uint64_t left = segment_left(&sb->cur);
    if (left > 0) {
        uint64_t k = left < max ? left : max;
        *first = sb->cur.pos;
        *n = k;
        sb->cur.pos += k;
        /* Never beyond the segment, never a counter that does not exist. */
        assert(*first >= sb->cur.start && *first + k <= sb->cur.end);
        assert(*first + k <= sb->limit);
        segbuf_check(sb);
        return SEG_TAKEN;
    }
    return segbuf_at_limit(sb) ? SEG_EXHAUSTED : SEG_EMPTY;
}

enum seg_take segbuf_take(struct segbuf *sb, uint64_t *counter)
{
    uint64_t n;
    return segbuf_take_run(sb, 1, counter, &n);
}

bool segbuf_wants_claim(const struct segbuf *sb)
{
    uint64_t size, used, tenth;

    segbuf_check(sb);
    if (segbuf_has_next(sb) || segbuf_at_limit(sb))
        return false;
    size = sb->cur.end - sb->cur.start;
    used = sb->cur.pos - sb->cur.start;
    if (used == size)
        return true;                    /* empty (or never filled) */
    tenth = size / 10 + (size % 10 != 0);   /* ceil(10%), no overflow */
    return used >= tenth;
}

bool segbuf_install(struct segbuf *sb, uint64_t start, uint64_t count)
{
    struct segment seg;

    segbuf_check(sb);
    if (segbuf_has_next(sb))
        return false;
    /* [start, start+count) cut at limit, without overflowing uint64. */
    seg.start = seg.pos = start;
    seg.end = count > UINT64_MAX - start ? UINT64_MAX : start + count;
    if (seg.end > sb->limit)
        seg.end = start > sb->limit ? start : sb->limit;
    /* The cut only shortens: the segment is never longer than the claim. */
    assert(seg.end - seg.start <= count);
    if (segment_left(&sb->cur) == 0) {
        sb->cur = seg;
    } else {
        sb->next_start = seg.start;
        sb->next_end = seg.end;
    }
    segbuf_check(sb);
    return true;
}

uint64_t segbuf_unused(const struct segbuf *sb)
{
    uint64_t n = segment_left(&sb->cur);
    uint64_t m = segbuf_has_next(sb) ? sb->next_end - sb->next_start : 0;

    segbuf_check(sb);
    return m > UINT64_MAX - n ? UINT64_MAX : n + m;
}

uint64_t segment_next_size(uint64_t prev, uint64_t elapsed_ms, uint64_t duration_ms,
                           uint64_t min, uint64_t max)
{
    uint64_t size;

    if (elapsed_ms == 0)
        size = prev;                                /* first claim */
    else if (elapsed_ms < duration_ms)
        size = prev > UINT64_MAX / 2 ? UINT64_MAX : prev * 2;   /* too fast */
    else if (elapsed_ms / 2 < duration_ms)          /* elapsed < 2 * duration */
        size = prev;
    else
        size = prev / 2;                            /* too slow */
    if (size > max)
        size = max;
    if (size < min)
        size = min;
    assert(size >= min && (size <= max || size == min));
    return size ? size : 1;             /* a claim of 0 would never end */
}

uint64_t segbuf_giveback_from(const struct segbuf *sb, uint64_t top)
{
    segbuf_check(sb);
    /* top is the end of the newest claim before any cut at limit, so
     * nothing installed reaches above it. */
    assert((segbuf_has_next(sb) ? sb->next_end : sb->cur.end) <= top);
    if (segbuf_has_next(sb))
        return sb->next_start == sb->cur.end ? sb->cur.pos : sb->next_start;
    return sb->cur.pos < top ? sb->cur.pos : top;
}
