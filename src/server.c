/*
 * server: the process-wide state (see server.h).
 */
#include <string.h>

#include "server.h"

#include "log.h"

struct server server;

void server_client_limits(struct client_limits *out)
{
    pthread_mutex_lock(&server.reload_lock);
    out->timeout_s = server.cfg.timeout;
    out->output_limit_bytes = server.cfg.output_limit_bytes;
    out->output_limit_s = server.cfg.output_limit_seconds;
    pthread_mutex_unlock(&server.reload_lock);
}

bool server_auth_required(void)
{
    pthread_mutex_lock(&server.reload_lock);
    bool required = server.cfg.requirepass[0] != '\0';
    pthread_mutex_unlock(&server.reload_lock);
    return required;
}

void server_set_log_level(int level, const char *who)
{
    pthread_mutex_lock(&server.reload_lock);
    int old = log_get_level();
    server.cfg.log_level = level;
    /* Say it while the more talkative of the two levels is in force, so
     * the line is written whichever way the level moves (unless both are
     * "warning", which changes nothing). */
    if (level < old)
        log_set_level(level);
    log_notice("log level %s -> %s, set by %s", log_level_name(old), log_level_name(level), who);
    log_set_level(level);
    pthread_mutex_unlock(&server.reload_lock);
}
