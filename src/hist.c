/*
 * hist: fixed-bucket latency histogram (see hist.h).
 */
#include <stddef.h>

#include "hist.h"

const uint64_t hist_bounds_us[HIST_BOUNDS] = {
    100, 250, 500,                              /* a memory or file store */
    1000, 2500, 5000, 10000, 25000, 50000,      /* a database nearby */
    100000, 250000, 500000,
    1000000, 2500000, 5000000, 10000000,        /* a store in trouble, retries */
};

void hist_observe(struct hist *h, uint64_t us)
{
    size_t i = 0;
    while (i < HIST_BOUNDS && us > hist_bounds_us[i])
        i++;
    __atomic_fetch_add(&h->bucket[i], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->sum_us, us, __ATOMIC_RELAXED);
}

void hist_read(const struct hist *h, struct hist *out)
{
    for (size_t i = 0; i <= HIST_BOUNDS; i++)
        out->bucket[i] = __atomic_load_n(&h->bucket[i], __ATOMIC_RELAXED);
    out->sum_us = __atomic_load_n(&h->sum_us, __ATOMIC_RELAXED);
}

uint64_t hist_count(const struct hist *h)
{
    uint64_t n = 0;
    for (size_t i = 0; i <= HIST_BOUNDS; i++)
        n += h->bucket[i];
    return n;
}
