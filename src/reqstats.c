/*
 * reqstats: requests and errors per door and command (see reqstats.h).
 */
#include <assert.h>
#include <pthread.h>
#include <string.h>

#include "reqstats.h"

static struct {
    pthread_mutex_t lock;           /* registration only */
    int n;                          /* atomic: readers load it, the registrar stores it */
    struct reqstat all[REQSTATS_MAX];
} reqstats = { .lock = PTHREAD_MUTEX_INITIALIZER };

int reqstats_register(enum door door, const char *what)
{
    int id;

    pthread_mutex_lock(&reqstats.lock);
    for (id = 0; id < reqstats.n; id++)
        if (reqstats.all[id].door == door && strcmp(reqstats.all[id].what, what) == 0)
            goto out;
    assert(reqstats.n < REQSTATS_MAX);
    id = reqstats.n;
    reqstats.all[id].door = door;
    reqstats.all[id].what = what;
    __atomic_store_n(&reqstats.n, id + 1, __ATOMIC_RELEASE);
out:
    pthread_mutex_unlock(&reqstats.lock);
    return id;
}

void reqstats_count(int id, bool error)
{
    __atomic_fetch_add(&reqstats.all[id].requests, 1, __ATOMIC_RELAXED);
    if (error)
        __atomic_fetch_add(&reqstats.all[id].errors, 1, __ATOMIC_RELAXED);
}

size_t reqstats_get(struct reqstat *out, size_t max)
{
    size_t n = (size_t)__atomic_load_n(&reqstats.n, __ATOMIC_ACQUIRE);

    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++) {
        out[i].door = reqstats.all[i].door;
        out[i].what = reqstats.all[i].what;
        out[i].requests = __atomic_load_n(&reqstats.all[i].requests, __ATOMIC_RELAXED);
        out[i].errors = __atomic_load_n(&reqstats.all[i].errors, __ATOMIC_RELAXED);
    }
    return n;
}

const char *reqstats_door_name(enum door door)
{
    static const char *const names[] = { "resp", "http", "udp" };
    return names[door];
}
