/*
 * listener: the listening sockets of the Redis protocol (the plain port
 * and the TLS port), on the main thread's event_base. Accepts connections
 * and hands each to a worker, marked TLS when it came to the TLS port;
 * refuses with "-ERR max number of clients reached" past maxclients.
 */
#ifndef SEQD_LISTENER_H
#define SEQD_LISTENER_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;

/* Bind and listen on addr:port (tls: the TLS port, whose clients begin
 * with a handshake). Returns 0, or -1 with a reason in err. */
int listener_open(struct event_base *base, const char *addr, int port, bool tls, char *err, size_t errlen);
/* A socket of type SOCK_STREAM (listening) or SOCK_DGRAM bound to
 * addr:port, non-blocking and close-on-exec, for the other doors. Returns
 * the fd, or -1 with "cannot listen on ADDR:PORT: reason" in err. */
int listener_socket(const char *addr, int port, int type, char *err, size_t errlen);
/* Stop accepting and close the sockets. */
void listener_close(void);

#endif
