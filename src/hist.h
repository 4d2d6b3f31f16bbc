/*
 * hist: a latency histogram with fixed buckets (Prometheus' kind: a count
 * per upper bound, a sum, a count). Any thread may observe and any may
 * read: every counter is a relaxed atomic, so a reader sees each counter
 * whole but not all of them at one instant (a scrape may see an
 * observation in a bucket and not yet in the sum). Pure: no clock, no
 * globals; the owner keeps the struct (seq.c keeps the claims').
 */
#ifndef SEQD_HIST_H
#define SEQD_HIST_H

#include <stdint.h>

/* Upper bounds in microseconds, 100 us .. 10 s; one more bucket holds
 * what is above the last (+Inf). */
#define HIST_BOUNDS 16
extern const uint64_t hist_bounds_us[HIST_BOUNDS];

struct hist {
    uint64_t bucket[HIST_BOUNDS + 1];   /* per bucket, not cumulative; [HIST_BOUNDS] is +Inf */
    uint64_t sum_us;
};

/* Count one latency: the first bucket whose bound is >= us. */
void hist_observe(struct hist *h, uint64_t us);
/* A copy of h's counters (relaxed loads), for rendering. */
void hist_read(const struct hist *h, struct hist *out);
/* Observations in a copy: the sum of its buckets. */
uint64_t hist_count(const struct hist *h);

#endif
