/*
 * udp: the UDP JSON door (see udp.h). Being built.
 */
#include <stdio.h>

#include "udp.h"
#include "worker.h"

int udp_open(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->udp_port == 0)
        return 0;
    snprintf(err, errlen, "udp: the UDP door is not built yet");
    return -1;
}

void udp_worker_stop(struct worker *w)
{
    (void)w;
}

void udp_worker_free(struct worker *w)
{
    (void)w;
}

void udp_close(void)
{
}
