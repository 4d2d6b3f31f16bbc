/*
 * heap_trim: gives back to the system the memory that a burst of work
 * freed.
 *
 * Defining many sequences at once (a script of HSETs, a first load) and
 * their first claims allocate and free far more than stays: a store job
 * of about 1.7 KB for each create and each claim, a JSON text for each
 * file written, a connection's buffers. glibc's malloc keeps freed memory
 * inside its arenas (one per thread that allocates), where it still counts
 * in the RSS; 100,000 sequences defined and used once leave about 35 bytes
 * a sequence so (contrib/bench.py's memory row). When the free heap has
 * grown by HEAP_TRIM_GROWTH since the last trim, malloc_trim(0) returns
 * its free pages. It runs on the main thread, which serves no client; a
 * worker that allocates meanwhile waits on an arena lock for a moment,
 * never for a disk or the database.
 */
#include "heap_trim.h"

#include <event2/event.h>

#include "log.h"


static struct {
    struct event *timer;
    size_t free_base;                 /* free bytes the last trim (or look) left */
} ht;

bool heap_trim_due(size_t free_now, size_t free_base)
{
    return free_now >= free_base && free_now - free_base >= HEAP_TRIM_GROWTH;
}

#if HEAP_MALLINFO
/* Free bytes in the arenas (freed chunks and the unused tops). */
static size_t heap_free(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.fordblks;
}
#endif

bool heap_trim_look(void)
{
#if HEAP_MALLINFO
    size_t now = heap_free();

    /* Trimmed pages stay free chunks, so the next trim waits for growth
     * past what this one left; free memory taken again lowers the base. */
    if (heap_trim_due(now, ht.free_base)) {
        malloc_trim(0);
        log_verbose("heap: %zu KB free in malloc's arenas; their free pages were given back", now / 1024);
        ht.free_base = now;
        return true;
    }
    if (now < ht.free_base)
        ht.free_base = now;
#endif
    return false;
}

static void on_heap_timer(evutil_socket_t fd, short what, void *arg)
{
    heap_trim_look();
}

void heap_trim_start(struct event_base *base)
{
    struct timeval tv = { HEAP_TRIM_INTERVAL_S, 0 };

    if (!HEAP_MALLINFO)
        return;
    heap_trim_look();                   /* the base: what start-up left free */
    ht.timer = event_new(base, -1, EV_PERSIST, on_heap_timer, NULL);
    event_add(ht.timer, &tv);
}

void heap_trim_stop(void)
{
    if (ht.timer) {
        event_free(ht.timer);
        ht.timer = NULL;
    }
}
