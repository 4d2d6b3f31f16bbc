/*
 * http: the HTTP door (see http.h). Being built.
 */
#include <stdio.h>

#include "http.h"
#include "worker.h"

int http_open(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->http_port == 0)
        return 0;
    snprintf(err, errlen, "http: the HTTP door is not built yet");
    return -1;
}

void http_worker_stop(struct worker *w)
{
    (void)w;
}

void http_worker_free(struct worker *w)
{
    (void)w;
}

void http_close(void)
{
}
