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

void small_lock_wait(small_lock *l, uint32_t seen)
{
    /* Say there is a sleeper (2) before sleeping, and take the lock when
     * the exchange finds it free (0): it is then ours, marked 2, and the
     * release wakes one more thread than needed at worst. */
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
