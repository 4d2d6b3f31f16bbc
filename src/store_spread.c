/*
 * store_spread: may a store be served with the configuration's id_step and
 * id_offset, given the pair it recorded (see the header)?
 */
#include "store_spread.h"

#include <inttypes.h>
#include <stdio.h>

static bool spread_equal(const struct store_spread *a, const struct store_spread *b)
{
    return a->step == b->step && a->offset == b->offset;
}

enum store_spread_verdict store_spread_check(const struct store_spread *recorded, bool has_claims,
                                             const struct store_spread *config, const char *where,
                                             char *err, size_t errlen)
{
    static const struct store_spread before = { 1, 0 };   /* a seqd before id_step */

    if (recorded != NULL && spread_equal(recorded, config))
        return STORE_SPREAD_MATCHES;
    if (recorded == NULL && (!has_claims || spread_equal(&before, config)))
        return STORE_SPREAD_RECORD;
    if (recorded != NULL)
        snprintf(err, errlen, "%s records id_step %" PRIu64 ", id_offset %" PRIu64 ", but the "
                 "configuration says id_step %" PRIu64 ", id_offset %" PRIu64 ": a store keeps the "
                 "pair it was started with, since changing it on a store that has handed out numbers "
                 "could hand one out again; set \"id_step\": %" PRIu64 ", \"id_offset\": %" PRIu64
                 " in the configuration, or give the new pair an empty store",
                 where, recorded->step, recorded->offset, config->step, config->offset,
                 recorded->step, recorded->offset);
    else
        snprintf(err, errlen, "%s has handed out numbers but records no id_step/id_offset, so "
                 "they were handed out with id_step 1, id_offset 0; the configuration says "
                 "id_step %" PRIu64 ", id_offset %" PRIu64 ", and changing them on a store that has "
                 "handed out numbers could hand one out again; set \"id_step\": 1, \"id_offset\": 0 "
                 "in the configuration, or give the new pair an empty store",
                 where, config->step, config->offset);
    return STORE_SPREAD_REFUSE;
}
