/*
 * stats: summing and rendering the counters of stats.h.
 */
#include <inttypes.h>

#include "stats.h"

void stats_sum(struct stats *total, const struct stats *one)
{
#define STATS_SUM(f, name) total->f += __atomic_load_n(&one->f, __ATOMIC_RELAXED);
    STATS_LIST(STATS_SUM)
#undef STATS_SUM
}

void stats_subtract(struct stats *total, const struct stats *base)
{
#define STATS_SUB(f, name) total->f = total->f > base->f ? total->f - base->f : 0;
    STATS_LIST(STATS_SUB)
#undef STATS_SUB
}

void stats_render(const struct stats *st, struct buf *out)
{
#define STATS_RENDER(f, name) buf_printf(out, "%s:%" PRIu64 "\r\n", name, st->f);
    STATS_LIST(STATS_RENDER)
#undef STATS_RENDER
}
