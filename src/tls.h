/*
 * tls: TLS for the Redis protocol's TLS port and the HTTPS door (OpenSSL).
 *
 * One server context is in force, built from the tls.* keys: the
 * certificate and its key, the CAs that sign client certificates,
 * tls.auth_clients and tls.protocols. SIGHUP builds a new one from the
 * files; new connections take the one in force, a connection keeps the one
 * it began with (its SSL holds a reference). A certificate that does not
 * load leaves the old context in force.
 *
 * A struct tls_conn is the TLS side of one nonblocking RESP connection:
 * the handshake, reads and writes return what they wait for
 * (TLS_WANT_READ, TLS_WANT_WRITE) and conn.c arms the matching event.
 * Plain connections never come here.
 */
#ifndef SEQD_TLS_H
#define SEQD_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* A client has this long to finish its handshake; then it is closed. */
#define TLS_HANDSHAKE_TIMEOUT_S 10

enum tls_status {
    TLS_OK,             /* done (n bytes moved, or the handshake is complete) */
    TLS_WANT_READ,      /* call again when the socket is readable */
    TLS_WANT_WRITE,     /* call again when the socket is writable */
    TLS_CLOSED,         /* the peer closed (close_notify, or EOF) */
    TLS_ERROR,          /* a failure: tls_conn_error() says which; close */
};

struct tls_conn;
struct ssl_st;

/* Main thread, at start-up: build the context when config_tls_on(cfg).
 * Returns 0 (also when TLS is off), or -1 with the reason in err. */
int tls_open(const struct config *cfg, char *err, size_t errlen);
/* Main thread, SIGHUP: build a new context from cfg's tls.* keys and put
 * it in force for new connections. Returns 0, or -1 with the reason in err
 * and the old context still in force. */
int tls_reload(const struct config *cfg, char *err, size_t errlen);
/* At shutdown, once every connection is gone: free the context. */
void tls_close(void);
/* The certificate in force, for the log: "subject CN=x, serial 0x1F,
 * expires Dec  1 00:00:00 2027 GMT". "" when TLS is off. */
void tls_describe(char *out, size_t outlen);

/* Any thread: the TLS side of a new connection on fd, with the context in
 * force. Aborts without memory (the out-of-memory rule). */
struct tls_conn *tls_conn_new(int fd);
/* Sends close_notify when the handshake was done (best effort, it does
 * not wait), and frees. The caller closes fd. */
void tls_conn_free(struct tls_conn *t);
enum tls_status tls_handshake(struct tls_conn *t);
/* Up to len bytes into buf; *n gets how many on TLS_OK (n > 0). */
enum tls_status tls_read(struct tls_conn *t, char *buf, size_t len, size_t *n);
/* Up to len > 0 bytes from buf; *n gets how many on TLS_OK. After a WANT
 * the call must be made again with the same bytes at the head of buf
 * (they may have moved) and len at least as large. */
enum tls_status tls_write(struct tls_conn *t, const char *buf, size_t len, size_t *n);
/* Whether bytes already decrypted wait to be read: the socket may be
 * silent while they do, so the caller reads again without an event. */
bool tls_pending(const struct tls_conn *t);
/* Why the last call returned TLS_ERROR ("certificate verify failed:
 * certificate has expired", "wrong version number"). */
const char *tls_conn_error(const struct tls_conn *t);
/* After the handshake: "TLSv1.3 TLS_AES_256_GCM_SHA384, client
 * certificate CN=app" (or "no client certificate"). */
void tls_conn_describe(const struct tls_conn *t, char *out, size_t outlen);

/* For the HTTPS door (libevent's bufferevent_openssl): a new server SSL
 * with the context in force, owned by the caller. Failed handshakes on it
 * are logged (tls_log_failure) as door's. NULL when TLS is off. */
struct ssl_st *tls_ssl_new(const char *door);

/* Log a failed handshake at most once a second (a client can cause them
 * at will): "RESP client ADDR: TLS handshake failed: WHY". */
void tls_log_failure(const char *door, const char *addr, const char *why);

#endif
