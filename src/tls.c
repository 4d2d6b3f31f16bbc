/*
 * tls: the server's TLS context and the TLS side of a connection (see tls.h).
 *
 * OpenSSL keeps its errors in a queue per thread: every call here clears
 * it first, so what SSL_get_error() and the messages read is this call's.
 */
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "tls.h"
#include "util.h"

/* Failed handshakes are logged at most this often. */
#define TLS_LOG_INTERVAL_MS 1000

struct tls_conn {
    SSL *ssl;
    bool established;           /* the handshake is done: say close_notify at the end */
    bool failed;                /* a fatal error: OpenSSL forbids SSL_shutdown then */
    char err[256];
};

/* The context in force; new connections take it under the lock, each SSL
 * holds its own reference, so a reload frees the old one safely. */
static struct {
    pthread_mutex_t lock;
    SSL_CTX *ctx;
} tls = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct log_limit tls_log = LOG_LIMIT_INIT(TLS_LOG_INTERVAL_MS);

/* The reason of the first error in OpenSSL's queue ("no start line",
 * "No such file or directory"), then the queue is cleared. */
static void tls_queue_reason(char *out, size_t outlen)
{
    unsigned long e = ERR_get_error();
    const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

    if (e != 0 && ERR_SYSTEM_ERROR(e))
        snprintf(out, outlen, "%s", strerror(ERR_GET_REASON(e)));   /* a file that is not there */
    else if (reason != NULL)
        snprintf(out, outlen, "%s", reason);
    else if (e != 0)
        ERR_error_string_n(e, out, outlen);
    else
        snprintf(out, outlen, "unknown error");
    ERR_clear_error();
}

/* A key protected by a passphrase fails to load rather than prompting on
 * a terminal that a daemon does not have. */
static int tls_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
    (void)buf, (void)size, (void)rwflag, (void)arg;
    return 0;
}

/* A context from cfg's tls.* keys, or NULL with "tls.cert_file FILE: reason". */
static SSL_CTX *tls_ctx_build(const struct config *cfg, char *err, size_t errlen)
{
    char why[256];
    int versions = config_tls_protocols(cfg->tls_protocols);
    SSL_CTX *ctx;

    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        tls_queue_reason(why, sizeof(why));
        snprintf(err, errlen, "cannot create a TLS context: %s", why);
        return NULL;
    }
    SSL_CTX_set_default_passwd_cb(ctx, tls_no_passphrase);
    /* config_check() let only TLSv1.2 and TLSv1.3 through. */
    SSL_CTX_set_min_proto_version(ctx, (versions & CONFIG_TLS_V12) ? TLS1_2_VERSION : TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, (versions & CONFIG_TLS_V13) ? TLS1_3_VERSION : TLS1_2_VERSION);
    /* No renegotiation (a client could make the server work at will, and a
     * write would have to wait for a read); a client that closes without
     * close_notify has simply closed. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
    /* conn.c writes what its output buffer holds: part of it may go, and
     * the buffer may move before the rest is retried. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Needed for session resumption when client certificates are checked. */
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"seqd", 4);

    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1) {
        tls_queue_reason(why, sizeof(why));
        snprintf(err, errlen, "tls.cert_file %s: %s", cfg->tls_cert_file, why);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key_file, SSL_FILETYPE_PEM) != 1) {
        tls_queue_reason(why, sizeof(why));
        snprintf(err, errlen, "tls.key_file %s: %s", cfg->tls_key_file, why);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "tls.key_file %s is not the key of the certificate in tls.cert_file %s",
                 cfg->tls_key_file, cfg->tls_cert_file);
        goto fail;
    }
    if (cfg->tls_ca_file[0] != '\0') {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->tls_ca_file);
        if (SSL_CTX_load_verify_locations(ctx, cfg->tls_ca_file, NULL) != 1 || names == NULL) {
            tls_queue_reason(why, sizeof(why));
            snprintf(err, errlen, "tls.ca_file %s: %s", cfg->tls_ca_file, why);
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            goto fail;
        }
        /* The CAs a client is told to pick its certificate from. */
        SSL_CTX_set_client_CA_list(ctx, names);
    }
    if (strcmp(cfg->tls_auth_clients, "yes") == 0)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    else if (strcmp(cfg->tls_auth_clients, "optional") == 0)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    else
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

int tls_open(const struct config *cfg, char *err, size_t errlen)
{
    if (!config_tls_on(cfg))
        return 0;
    return tls_reload(cfg, err, errlen);
}

int tls_reload(const struct config *cfg, char *err, size_t errlen)
{
    SSL_CTX *fresh = tls_ctx_build(cfg, err, errlen), *old;

    if (fresh == NULL)
        return -1;
    pthread_mutex_lock(&tls.lock);
    old = tls.ctx;
    tls.ctx = fresh;
    pthread_mutex_unlock(&tls.lock);
    SSL_CTX_free(old);              /* connections that use it hold their own reference */
    return 0;
}

void tls_close(void)
{
    pthread_mutex_lock(&tls.lock);
    SSL_CTX_free(tls.ctx);
    tls.ctx = NULL;
    pthread_mutex_unlock(&tls.lock);
}

/* "CN=x" (OpenSSL's one-line form, "/CN=x", without its first slash). */
static void tls_name(X509_NAME *name, char *out, size_t outlen)
{
    char line[256];

    if (name == NULL || X509_NAME_oneline(name, line, sizeof(line)) == NULL) {
        snprintf(out, outlen, "?");
        return;
    }
    snprintf(out, outlen, "%s", line[0] == '/' ? line + 1 : line);
}

void tls_describe(char *out, size_t outlen)
{
    char subject[256] = "?", serial[80] = "?", expires[64] = "?";

    out[0] = '\0';
    pthread_mutex_lock(&tls.lock);
    X509 *cert = tls.ctx != NULL ? SSL_CTX_get0_certificate(tls.ctx) : NULL;
    if (cert != NULL) {
        tls_name(X509_get_subject_name(cert), subject, sizeof(subject));
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
        char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
        if (hex != NULL)
            snprintf(serial, sizeof(serial), "0x%s", hex);
        OPENSSL_free(hex);
        BN_free(bn);
        BIO *mem = BIO_new(BIO_s_mem());
        if (mem != NULL && ASN1_TIME_print(mem, X509_get0_notAfter(cert)) == 1) {
            int n = BIO_read(mem, expires, (int)sizeof(expires) - 1);
            expires[n > 0 ? n : 0] = '\0';
        }
        BIO_free(mem);
        snprintf(out, outlen, "subject %s, serial %s, %s %s", subject, serial,
                 X509_cmp_current_time(X509_get0_notAfter(cert)) < 0 ? "EXPIRED since" : "expires", expires);
    }
    pthread_mutex_unlock(&tls.lock);
    ERR_clear_error();
}

/* A new server SSL with the context in force; NULL when there is none. */
static SSL *tls_ssl_in_force(void)
{
    SSL *ssl = NULL;

    pthread_mutex_lock(&tls.lock);
    if (tls.ctx != NULL) {
        ssl = SSL_new(tls.ctx);
        if (ssl == NULL) {
            log_warn("SSL_new failed: out of memory?");
            abort();
        }
    }
    pthread_mutex_unlock(&tls.lock);
    return ssl;
}

struct tls_conn *tls_conn_new(int fd)
{
    struct tls_conn *t = xcalloc(1, sizeof(*t));

    t->ssl = tls_ssl_in_force();
    /* The listener opens the TLS port only once a context is in force,
     * and a reload never takes it away. */
    if (t->ssl == NULL || SSL_set_fd(t->ssl, fd) != 1) {
        log_warn("TLS connection without a context or a socket: a bug");
        abort();
    }
    SSL_set_accept_state(t->ssl);
    return t;
}

void tls_conn_free(struct tls_conn *t)
{
    if (t == NULL)
        return;
    if (t->established && !t->failed) {
        /* One try, no wait: the socket closes right after. */
        ERR_clear_error();
        SSL_shutdown(t->ssl);
        ERR_clear_error();
    }
    SSL_free(t->ssl);
    free(t);
}

/* The status of a call on t that returned ret (<= 0); errno_after is errno
 * right after it. On TLS_ERROR, t->err says why. */
static enum tls_status tls_status_of(struct tls_conn *t, int ret, int errno_after)
{
    char why[200];

    switch (SSL_get_error(t->ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        return TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        return TLS_CLOSED;
    case SSL_ERROR_SYSCALL:
        t->failed = true;
        if (ERR_peek_error() == 0 && errno_after == 0)
            return TLS_CLOSED;      /* EOF where OpenSSL did not expect it */
        if (ERR_peek_error() == 0) {
            snprintf(t->err, sizeof(t->err), "%s", strerror(errno_after));
            return TLS_ERROR;
        }
        break;
    default:
        t->failed = true;
        break;
    }
    tls_queue_reason(why, sizeof(why));
    long verify = SSL_get_verify_result(t->ssl);
    if (verify != X509_V_OK)
        snprintf(t->err, sizeof(t->err), "%s: %s", why, X509_verify_cert_error_string(verify));
    else
        snprintf(t->err, sizeof(t->err), "%s", why);
    return TLS_ERROR;
}

enum tls_status tls_handshake(struct tls_conn *t)
{
    ERR_clear_error();
    errno = 0;
    int ret = SSL_do_handshake(t->ssl);
    if (ret == 1) {
        t->established = true;
        return TLS_OK;
    }
    return tls_status_of(t, ret, errno);
}

enum tls_status tls_read(struct tls_conn *t, char *buf, size_t len, size_t *n)
{
    ERR_clear_error();
    errno = 0;
    int ret = SSL_read(t->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (ret > 0) {
        *n = (size_t)ret;
        return TLS_OK;
    }
    return tls_status_of(t, ret, errno);
}

enum tls_status tls_write(struct tls_conn *t, const char *buf, size_t len, size_t *n)
{
    ERR_clear_error();
    errno = 0;
    int ret = SSL_write(t->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (ret > 0) {
        *n = (size_t)ret;
        return TLS_OK;
    }
    return tls_status_of(t, ret, errno);
}

bool tls_pending(const struct tls_conn *t)
{
    return SSL_pending(t->ssl) > 0;
}

const char *tls_conn_error(const struct tls_conn *t)
{
    return t->err[0] ? t->err : "unknown error";
}

void tls_conn_describe(const struct tls_conn *t, char *out, size_t outlen)
{
    char subject[256];
    X509 *peer = SSL_get1_peer_certificate(t->ssl);

    if (peer != NULL)
        tls_name(X509_get_subject_name(peer), subject, sizeof(subject));
    snprintf(out, outlen, "%s %s, %s%s", SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl),
             peer != NULL ? "client certificate " : "no client certificate", peer != NULL ? subject : "");
    X509_free(peer);
}

/* The HTTPS door's SSLs: libevent runs their handshake, so a failure is
 * seen here, when OpenSSL leaves the handshake with an error in its queue
 * (leaving it to wait for the socket puts none there). */
static void tls_http_info(const SSL *ssl, int where, int ret)
{
    char addr[64] = "(gone)", why[256];
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    unsigned long e;
    long verify;

    if (!(where & SSL_CB_EXIT) || ret > 0 || SSL_is_init_finished(ssl))
        return;
    e = ERR_peek_error();           /* peeked, not taken: libevent reads the queue after us */
    if (e == 0)
        return;
    if (getpeername(SSL_get_fd(ssl), (struct sockaddr *)&ss, &len) == 0)
        addr_format(&ss, addr, sizeof(addr));
    verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK)
        snprintf(why, sizeof(why), "%s: %s", ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "error",
                 X509_verify_cert_error_string(verify));
    else
        snprintf(why, sizeof(why), "%s", ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "error");
    tls_log_failure(SSL_get_app_data(ssl), addr, why);
}

struct ssl_st *tls_ssl_new(const char *door)
{
    SSL *ssl = tls_ssl_in_force();

    if (ssl != NULL) {
        SSL_set_app_data(ssl, (void *)door);
        SSL_set_info_callback(ssl, tls_http_info);
    }
    return ssl;
}

void tls_log_failure(const char *door, const char *addr, const char *why)
{
    char clean[256];
    uint64_t left_out;

    if (!log_limit_pass(&tls_log, &left_out))
        return;
    str_printable(why, strlen(why), clean, sizeof(clean));
    if (left_out > 0)
        log_notice("%s client %s: TLS handshake failed: %s (and %llu failed handshakes not logged since the "
                   "last such line)", door, addr, clean, (unsigned long long)left_out);
    else
        log_notice("%s client %s: TLS handshake failed: %s", door, addr, clean);
}
