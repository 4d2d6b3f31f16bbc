/*
 * udp: the UDP JSON door, id_server's protocol ("get" and "monitor").
 *
 * One socket, opened on the main thread; every worker reads datagrams
 * from it on its own event_base, so a datagram is served, waits for the
 * core and is answered on one worker. Off when udp.port is 0.
 */
#ifndef SEQD_UDP_H
#define SEQD_UDP_H

#include <stddef.h>

#include "config.h"

struct worker;

/* Main thread, after workers_start: bind udp.bind:udp.port and have every
 * worker read it. Returns 0 (also when the door is off), or -1 with the
 * reason in err. */
int udp_open(const struct config *cfg, char *err, size_t errlen);
/* On w's thread, at its stop: read no more datagrams; the ones waiting
 * for the core finish (bounded by segment.wait_ms). */
void udp_worker_stop(struct worker *w);
/* After w's loop has ended: free what w held for the door. */
void udp_worker_free(struct worker *w);
/* Main thread, after workers_free: close the socket. */
void udp_close(void);

#endif
