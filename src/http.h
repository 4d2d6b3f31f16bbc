/*
 * http: the HTTP door (libevent's evhttp). FeatherID's and Leaf's
 * endpoints, /health, /metrics, the status page and its JSON.
 *
 * One listening socket, opened on the main thread; every worker runs its
 * own evhttp on its own event_base and accepts from that socket, so a
 * request is served, waits for the core and is answered on one worker,
 * like a RESP connection. Off when http.port is 0.
 */
#ifndef SEQD_HTTP_H
#define SEQD_HTTP_H

#include <stddef.h>

#include "config.h"

struct worker;

/* Main thread, after workers_start: bind and listen on http.bind:http.port
 * and have every worker serve it. Returns 0 (also when the door is off),
 * or -1 with the reason in err. */
int http_open(const struct config *cfg, char *err, size_t errlen);
/* On w's thread, at its stop: accept nothing more; requests waiting for
 * numbers are answered 503, the others finish. */
void http_worker_stop(struct worker *w);
/* After w's loop has ended: free its evhttp. */
void http_worker_free(struct worker *w);
/* Main thread, after workers_stop and before workers_free: stop the
 * report thread (its last answers wait in the workers' inboxes) and close
 * the listening socket. */
void http_close(void);

#endif
