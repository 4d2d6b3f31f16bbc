/*
 * perm: a keyed permutation of [0, domain), so that type 1 sequences hand
 * out numbers that look random, never repeat, and cover the whole range.
 *
 * A balanced Feistel network over the smallest even number of bits (at
 * least 2) that holds every value below domain, with cycle walking
 * (re-apply while the result is >= domain).
 * Pure and deterministic: the same (domain, key) gives the same permutation
 * on every node, which is why the key is stored with the sequence.
 */
#ifndef SEQD_PERM_H
#define SEQD_PERM_H

#include <stdint.h>

struct perm {
    uint64_t domain;
    unsigned half_bits;      /* bits in each Feistel half */
    uint64_t half_mask;
    uint64_t round_keys[8];
};

/* domain >= 1 and <= 10^18. */
void perm_init(struct perm *p, uint64_t domain, uint64_t key);

/* The image of x (x < domain) under the permutation; always < domain. */
uint64_t perm_apply(const struct perm *p, uint64_t x);

#endif
