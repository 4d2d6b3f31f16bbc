/*
 * discovery: keep this node's sequences in step with a shared store.
 *
 * On a shared store (mysql) other nodes and administrators add, change and
 * remove rows. A name this node does not know is looked up on its first
 * use (core.c); this module adds the periodic rescan
 * (store.mysql.rescan_s): new rows are registered, rows that are gone are
 * dropped from the registry, and a changed step is taken up.
 *
 * A rescan costs what changed, not what exists: it reads only the rows
 * whose definition changed since the last one (the store's rescan op:
 * update_time, which claims leave alone), streamed, and counts the rows
 * unless the store knows that none was deleted since the last count.
 * A full read, which also finds rows deleted by hand, runs first, every
 * DISCOVERY_FULL_EVERY rescans, and whenever the table holds fewer rows
 * than it should (a row was deleted).
 *
 * Start-up does not wait for the definitions of a large table: the first
 * full read runs in the background as soon as the node listens
 * (discovery_start with load), sequences become servable as they are
 * read, and a name not read yet is looked up on first use as any other.
 */
#ifndef SEQD_DISCOVERY_H
#define SEQD_DISCOVERY_H

#include <stdbool.h>
#include <stdint.h>

#define DISCOVERY_FULL_EVERY 30     /* rescans between two full reads */
#define DISCOVERY_OVERLAP_S 10      /* a changed-rows read looks back this far before the
                                     * last one began: a transaction that changed a row
                                     * commits after its update_time was taken. One that
                                     * commits later still is met by the next full read
                                     * (and a claim on an old definition is refused) */
#define DISCOVERY_LOAD_RETRY_S 1    /* a failed first load is tried again this soon */

struct event_base;
struct store_pool;

/* Start the rescan timer on the main thread's event base; each rescan is
 * a rescan job on pool (shared stores only: the caller decides). With
 * load, the first one starts now and loads every definition (until it
 * completes, discovery_loading() is true). */
void discovery_start(struct event_base *base, struct store_pool *pool, int interval_s, bool load);
bool discovery_loading(void);
/* Rescans completed since start (for INFO, and tests that wait for one),
 * and how many of them read every row. */
uint64_t discovery_rescans(void);
uint64_t discovery_full_rescans(void);
/* ... and how many counted the rows (the others knew nothing was deleted). */
uint64_t discovery_counted_rescans(void);
/* Apply a new rescan interval (SIGHUP). */
void discovery_set_interval(int seconds);
void discovery_stop(void);

#endif
