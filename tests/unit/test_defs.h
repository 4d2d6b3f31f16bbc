/*
 * test_defs: definitions the unit tests of the stores build again and again.
 */
#ifndef SEQD_TEST_DEFS_H
#define SEQD_TEST_DEFS_H

#include <stdio.h>
#include <string.h>

#include "seqdef.h"

/* A type 3 sequence counting 1, 2, 3, ... that claims `segment` at a time. */
static inline struct seqdef def_increasing(const char *name, uint64_t segment)
{
    struct seqdef d;

    memset(&d, 0, sizeof(d));
    snprintf(d.name, sizeof(d.name), "%s", name);
    d.kind = SEQ_INCREASING;
    d.starting = 1;
    d.increment = 1;
    d.segment = segment;
    return d;
}

/* A type 4 sequence: "%y%m%d" then 4 digits from 0, days of UTC. */
static inline struct seqdef def_dated(const char *name, uint64_t segment)
{
    struct seqdef d = def_increasing(name, segment);

    d.kind = SEQ_DATED;
    d.length = 4;
    d.starting = 0;
    snprintf(d.prefix, sizeof(d.prefix), "%s", "%y%m%d");
    snprintf(d.tz, sizeof(d.tz), "%s", "UTC");
    return d;
}

#endif
