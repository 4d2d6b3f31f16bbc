/*
 * segment: the double buffer of one sequence (cur + next) as pure
 * arithmetic, and Leaf's rule for the size of the next claim.
 * See segment.h for the rules; the caller holds the sequence's lock.
 */
#include "segment.h"

void segbuf_init(struct segbuf *sb, uint64_t limit)
{
    sb->cur.start = sb->cur.end = sb->cur.pos = 0;
    sb->next = sb->cur;
    sb->has_next = false;
    sb->limit = limit;
}

/* The newest claim reached limit: no claim can ever bring more counters. */
static bool segbuf_at_limit(const struct segbuf *sb)
{
    const struct segment *newest = sb->has_next ? &sb->next : &sb->cur;
    return newest->end >= sb->limit;
}

enum seg_take segbuf_take(struct segbuf *sb, uint64_t *counter)
{
    if (segment_left(&sb->cur) == 0 && sb->has_next) {
        sb->cur = sb->next;
        sb->has_next = false;
    }
    if (segment_left(&sb->cur) > 0) {
        *counter = sb->cur.pos++;
        return SEG_TAKEN;
    }
    return segbuf_at_limit(sb) ? SEG_EXHAUSTED : SEG_EMPTY;
}

bool segbuf_wants_claim(const struct segbuf *sb)
{
    uint64_t size, used, tenth;

    if (sb->has_next || segbuf_at_limit(sb))
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

    if (sb->has_next)
        return false;
    /* [start, start+count) cut at limit, without overflowing uint64. */
    seg.start = seg.pos = start;
    seg.end = count > UINT64_MAX - start ? UINT64_MAX : start + count;
    if (seg.end > sb->limit)
        seg.end = start > sb->limit ? start : sb->limit;
    if (segment_left(&sb->cur) == 0) {
        sb->cur = seg;
    } else {
        sb->next = seg;
        sb->has_next = true;
    }
    return true;
}

uint64_t segbuf_unused(const struct segbuf *sb)
{
    uint64_t n = segment_left(&sb->cur);
    uint64_t m = sb->has_next ? segment_left(&sb->next) : 0;
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
    return size ? size : 1;             /* a claim of 0 would never end */
}

uint64_t segbuf_giveback_from(const struct segbuf *sb, uint64_t top)
{
    if (sb->has_next)
        return sb->next.start == sb->cur.end ? sb->cur.pos : sb->next.start;
    return sb->cur.pos < top ? sb->cur.pos : top;
}
