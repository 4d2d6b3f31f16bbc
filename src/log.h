/*
 * log: leveled logging to stderr, a file, or syslog (when daemonized).
 * Thread-safe; one line per call; the level can be changed at run time
 * (SIGHUP reload) and libevent's own messages are routed here.
 */
#ifndef SEQD_LOG_H
#define SEQD_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_VERBOSE, LOG_LVL_NOTICE, LOG_LVL_WARNING };

/* Parse "debug", "verbose", "notice", "warning" (Redis' names). -1 if unknown. */
int log_level_parse(const char *name);
const char *log_level_name(int level);

/* file: "" or NULL for stderr (or syslog when use_syslog). Returns 0, or -1
 * with errno set when the file cannot be opened (the old target stays). */
int log_open(const char *file, bool use_syslog);
void log_set_level(int level);
int log_get_level(void);
void log_close(void);

/* Until log_startup_done(), a warning also goes to stderr when the log goes
 * to a file or syslog: a start-up that fails says why where it was started. */
void log_startup_done(void);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_verbose(...) log_msg(LOG_LVL_VERBOSE, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARNING, __VA_ARGS__)

/* A kind of line that a client can cause at will (a failed AUTH, a failed
 * TLS handshake) is written at most once per interval_ms, so a flood of
 * them cannot flood the log; the next line says how many were held back. */
struct log_limit {
    pthread_mutex_t lock;
    uint64_t interval_ms;
    uint64_t last_ms;           /* when the last line was written, 0 = never */
    uint64_t left_out;          /* lines held back since then */
};
#define LOG_LIMIT_INIT(ms) { PTHREAD_MUTEX_INITIALIZER, (ms), 0, 0 }

/* Thread-safe. True when a line may be written now; *left_out then gets
 * how many were held back since the last one. False: hold this one back. */
bool log_limit_pass(struct log_limit *l, uint64_t *left_out);

/* Route libevent's internal log through log_msg. */
void log_hook_libevent(void);

#endif
