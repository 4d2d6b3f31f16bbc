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

#include <stddef.h>
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

/* The key of a sequence made from another one's key and a label (the
 * pair RULE:APP of a type 1 rule: the rule's key, label "RULE:APP"), the
 * same on every node and every independent store, so that the pair's
 * numbers stay disjoint across stores with id_step as a copied sequence's
 * do. For a fixed label it is a bijection of key: a rule made again with a
 * new key gives each of its pairs a new key too. Pinned: changing it would
 * change the numbers of existing pairs. */
uint64_t perm_derive_key(uint64_t key, const char *label, size_t len);

#endif
