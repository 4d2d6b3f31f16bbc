/*
 * small_lock: a mutex in 4 bytes, for what there are very many of (one per
 * sequence: a pthread_mutex_t is 40 bytes, 36 MB more for a million).
 *
 * Drepper's "Futexes Are Tricky", mutex 3: 0 free, 1 locked, 2 locked
 * with threads asleep on it. Taking a free lock and giving back a lock
 * nobody waits for are one atomic instruction each, as with glibc's
 * mutex; a contended lock spins a little (small_lock.c), then sleeps in
 * futex(2).
 */
#ifndef SEQD_SMALL_LOCK_H
#define SEQD_SMALL_LOCK_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct {
    _Atomic uint32_t state;
} small_lock;

static inline void small_lock_init(small_lock *l) { atomic_init(&l->state, 0); }

/* The contended paths (small_lock.c). */
void small_lock_wait(small_lock *l, uint32_t seen);
void small_lock_wake(small_lock *l);

static inline void small_lock_acquire(small_lock *l)
{
    uint32_t seen = 0;
    if (!atomic_compare_exchange_strong_explicit(&l->state, &seen, 1, memory_order_acquire,
                                                 memory_order_relaxed))
        small_lock_wait(l, seen);
}

static inline void small_lock_release(small_lock *l)
{
    if (atomic_fetch_sub_explicit(&l->state, 1, memory_order_release) != 1)
        small_lock_wake(l);
}

#endif
