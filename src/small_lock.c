/*
 * small_lock: the contended paths (see small_lock.h).
 */
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "small_lock.h"

static void futex(_Atomic uint32_t *addr, int op, uint32_t val)
{
    /* EINTR and EAGAIN (the word changed before we slept) need nothing:
     * the caller looks at the word again. */
    syscall(SYS_futex, (uint32_t *)addr, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

/* Spins before sleeping: a sequence's lock is held for a few dozen
 * nanoseconds, far less than a sleep and a wake-up cost (glibc's adaptive
 * mutex spins as long). */
#define SMALL_LOCK_SPINS 100

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void small_lock_wait(small_lock *l, uint32_t seen)
{
    for (int i = 0; i < SMALL_LOCK_SPINS && seen == 1; i++) {
        cpu_relax();
        seen = atomic_load_explicit(&l->state, memory_order_relaxed);
        if (seen == 0) {
            if (atomic_compare_exchange_strong_explicit(&l->state, &seen, 1, memory_order_acquire,
                                                        memory_order_relaxed))
                return;
        }
    }
    /* Say there is a sleeper (2) before sleeping, and take the lock when
     * the exchange finds it free (0): it is then ours, marked 2, and the
     * release wakes one more thread than needed at worst. A failed
     * compare-exchange above leaves the value it found in seen. */
    if (seen != 2)
        seen = atomic_exchange_explicit(&l->state, 2, memory_order_acquire);
    while (seen != 0) {
        futex(&l->state, FUTEX_WAIT, 2);
        seen = atomic_exchange_explicit(&l->state, 2, memory_order_acquire);
    }
}

void small_lock_wake(small_lock *l)
{
    /* It was 2: somebody may sleep. Free it, then wake one. */
    atomic_store_explicit(&l->state, 0, memory_order_release);
    futex(&l->state, FUTEX_WAKE, 1);
}
