/*
 * store_reserve: type 5's worker id and timestamp reservation for the
 * stores that keep one node's data (store_file.c, store_memory.c).
 *
 * The worker id is the configured one (worker_id); there is no lease to
 * take or lose. The reservation (the highest Unix ms this node's ids may
 * have) lives in DIR/snowflake for the file store, written durably (write,
 * fsync, rename, fsync the directory) before it is reported recorded; the
 * memory store keeps it in memory only (nothing survives a restart there).
 */
#ifndef SEQD_STORE_RESERVE_H
#define SEQD_STORE_RESERVE_H

#include <pthread.h>
#include <stdint.h>

#include "store.h"

struct store_reserve {
    pthread_mutex_t lock;
    char *dir;                 /* the data directory; NULL: memory only */
    int dir_fd;                /* dir, opened; -1: memory only */
    uint64_t ms;               /* the reservation recorded */
    uint64_t loaded_ms;        /* what open() found (ACQUIRE's floor) */
};

/* Read DIR/snowflake if there (dir NULL: memory only). Returns 0, or -1
 * with the reason (a file that makes no sense stops start-up). */
int store_reserve_open(struct store_reserve *r, const char *dir, char *err, size_t errlen);
void store_reserve_close(struct store_reserve *r);
/* store_ops.worker_lease for these stores. */
int store_reserve_lease(struct store_reserve *r, struct worker_lease *l, char *err, size_t errlen);

#endif
