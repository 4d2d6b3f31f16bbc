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
    struct config cfg;              /* in force: as loaded; reloadable fields (and log.level by
                                       server_set_log_level) change under reload_lock */
    uint64_t started_ms;            /* monotonic */
    char run_id[41];
    int nworkers;
    pthread_mutex_t reload_lock;
    struct stats listener_stats;    /* counted on the main thread */
    uint64_t next_client_id;        /* atomic */
};

extern struct server server;

/* The reloadable limits of a client connection, as in force now. */
struct client_limits {
    int timeout_s;                  /* idle timeout, 0 = none */
    int output_limit_bytes;         /* unsent replies past which reading stops */
    int output_limit_s;             /* how long replies may stay unsent */
};
void server_client_limits(struct client_limits *out);

/* True when clients must AUTH (requirepass is set). */
bool server_auth_required(void);
/* (Passwords are checked by acl.h.) */

/* Change the log level at run time (CONFIG SET loglevel): the level in
 * force and server.cfg.log_level change together under reload_lock, so a
 * SIGHUP's "log.level debug->notice" says what really changed; a SIGHUP
 * sets the file's level again (the last change wins). Logs a notice naming
 * `who` ("CONFIG SET from client 7 127.0.0.1:51234", "HTTP client
 * 127.0.0.1:40000"). CONFIG GET shows the log's own level. */
void server_set_log_level(int level, const char *who);

#endif
