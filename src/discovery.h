/*
 * discovery: keep this node's sequences in step with a shared store.
 *
 * On a shared store (mysql) other nodes and administrators add, change and
 * remove rows. A name this node does not know is looked up on its first
 * use (core.c); this module adds the periodic rescan
 * (store.mysql.rescan_s): new rows are registered, rows that are gone are
 * dropped from the registry, and a changed step is taken up.
 */
#ifndef SEQD_DISCOVERY_H
#define SEQD_DISCOVERY_H

#include <stdint.h>

struct event_base;
struct store_pool;

/* Start the rescan timer on the main thread's event base; each rescan is
 * a list job on pool (shared stores only: the caller decides). */
void discovery_start(struct event_base *base, struct store_pool *pool, int interval_s);
/* Rescans completed since start (for INFO, and tests that wait for one). */
uint64_t discovery_rescans(void);
/* Apply a new rescan interval (SIGHUP). */
void discovery_set_interval(int seconds);
void discovery_stop(void);

#endif
