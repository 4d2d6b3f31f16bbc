/*
 * perm: a keyed permutation of [0, domain) for type 1 sequences.
 *
 * A balanced 8-round Feistel network permutes [0, 4^half_bits), the
 * smallest such range (half_bits >= 1) that holds every value below
 * domain. Values that land at or above domain are pushed through the
 * network again (cycle walking) until they fall inside: because the network
 * is a bijection of the larger range, the walk from a value inside domain
 * always comes back inside, and the result is a bijection of [0, domain).
 * Since domain > 4^half_bits / 4 (or domain is tiny), a walk takes fewer
 * than 4 passes on average.
 */
#include "perm.h"
#include "util.h"

#include <assert.h>

#define PERM_ROUNDS 8

/* splitmix64's step: turns the sequence key into independent round keys. */
static uint64_t perm_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* MurmurHash3's 64-bit finalizer: every input bit affects every output
 * bit, so the masked low bits of a round are well mixed. */
static uint64_t perm_mix64(uint64_t z)
{
    z ^= z >> 33;
    z *= 0xff51afd7ed558ccdULL;
    z ^= z >> 33;
    z *= 0xc4ceb9fe1a85ec53ULL;
    z ^= z >> 33;
    return z;
}

void perm_init(struct perm *p, uint64_t domain, uint64_t key)
{
    unsigned bits = 0;
    uint64_t state = key;

    if (domain == 0)
        domain = 1;                 /* out of contract; behave as domain 1 */
    for (uint64_t v = domain - 1; v != 0; v >>= 1)
        bits++;
    p->domain = domain;
    p->half_bits = (bits + 1) / 2;
    if (p->half_bits < 1)
        p->half_bits = 1;
    p->half_mask = (UINT64_C(1) << p->half_bits) - 1;
    for (int i = 0; i < PERM_ROUNDS; i++)
        p->round_keys[i] = perm_splitmix64(&state);
    /* Two halves fit in 64 bits and their range [0, 4^half_bits) holds
     * every value below domain, so cycle walking always ends. */
    assert(p->half_bits >= 1 && p->half_bits <= 32);
    assert(domain - 1 <= ((p->half_mask << p->half_bits) | p->half_mask));
}

/* One pass of the Feistel network over [0, 4^half_bits). */
static uint64_t perm_feistel(const struct perm *p, uint64_t x)
{
    uint64_t left = x >> p->half_bits;
    uint64_t right = x & p->half_mask;

    assert(left <= p->half_mask);   /* x is inside the network's range */
    for (int i = 0; i < PERM_ROUNDS; i++) {
        uint64_t t = left ^ (perm_mix64(right ^ p->round_keys[i]) & p->half_mask);
        left = right;
        right = t;
    }
    return (left << p->half_bits) | right;
}

uint64_t perm_apply(const struct perm *p, uint64_t x)
{
    /* Out of contract, but a value outside the domain could sit on a cycle
     * that never enters it: fold it in rather than loop forever. */
    if (x >= p->domain)
        x %= p->domain;
    do
        x = perm_feistel(p, x);
    while (x >= p->domain);
    return x;
}

/* perm_derive_key: FNV-1a (64 bits) hashes the label; splitmix64's
 * finalizer (the same step as perm_splitmix64's, a bijection of 64 bits)
 * spreads it, and again the key xor'd with it plus the golden-ratio
 * constant. FNV-1a is simple and stable across platforms; the finalizer
 * makes every bit of label and key reach every bit of the result. Not a
 * MAC: type 1 keys make numbers look random, they are not secrets. */
uint64_t perm_derive_key(uint64_t key, const char *label, size_t len)
{
    uint64_t state = fnv1a64(FNV1A64_INIT, label, len);
    uint64_t spread = perm_splitmix64(&state);
    state = key ^ spread;
    return perm_splitmix64(&state);
}
