/*
 * listener: the listening socket, on the main thread's event_base.
 * Accepts connections and hands each to a worker; refuses with
 * "-ERR max number of clients reached" past maxclients.
 */
#ifndef SEQD_LISTENER_H
#define SEQD_LISTENER_H

#include <stddef.h>

struct event_base;

/* Bind and listen on addr:port. Returns 0, or -1 with a reason in err. */
int listener_open(struct event_base *base, const char *addr, int port, char *err, size_t errlen);
/* A socket of type SOCK_STREAM (listening) or SOCK_DGRAM bound to
 * addr:port, non-blocking and close-on-exec, for the other doors. Returns
 * the fd, or -1 with "cannot listen on ADDR:PORT: reason" in err. */
int listener_socket(const char *addr, int port, int type, char *err, size_t errlen);
/* Stop accepting and close the socket. */
void listener_close(void);

#endif
