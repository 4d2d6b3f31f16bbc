/*
 * server: the process-wide state that several modules read: the running
 * configuration, the store, and the few reloadable values that workers
 * consult (behind a lock, since SIGHUP changes them on the main thread).
 */
#ifndef SEQD_SERVER_H
#define SEQD_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "stats.h"

struct server {
    struct config cfg;              /* as loaded; reloadable fields change under reload_lock */
    uint64_t started_ms;            /* monotonic */
    char run_id[41];
    int nworkers;
    pthread_mutex_t reload_lock;
    struct stats listener_stats;    /* counted on the main thread */
    uint64_t next_client_id;        /* atomic */
};

extern struct server server;

/* True when clients must AUTH (requirepass is set). */
bool server_auth_required(void);
/* Constant-time compare of a password with requirepass. */
bool server_auth_check(const char *pass, size_t len);

#endif
