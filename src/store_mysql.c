/*
 * store_mysql: the store backend on one shared MySQL/MariaDB table
 * (store.type "mysql"), so that any number of seqd nodes hand out numbers
 * from the same sequences without ever handing one out twice.
 *
 * Each store thread has its own session: one MYSQL connection, made on
 * first use and remade with backoff after it breaks. The library's
 * automatic reconnect (MYSQL_OPT_RECONNECT) stays off: it would silently
 * replace a connection whose transaction was lost, and a claim must know
 * when that happened. All data goes through prepared statements; the SQL
 * texts, the meaning of each error and the row checks are in
 * store_mysql_logic.c, which unit tests drive without a server.
 *
 * A claim is one transaction:
 *     SELECT max_id, step, ... FROM t WHERE biz_tag = ? FOR UPDATE
 *     UPDATE t SET max_id = max_id + ? WHERE biz_tag = ?
 *     COMMIT
 * and hands out [old max_id, old max_id + n). A failure before COMMIT
 * changes nothing (STORE_UNAVAILABLE); a failure at COMMIT leaves it
 * unknown whether the range was recorded (STORE_UNKNOWN: thrown away).
 * A type 4 row also holds its period: the claim's UPDATE sets period and
 * max_id as its SELECT decided (sml_claim_period: a newer wanted period
 * restarts the counter, an older one is served in the row's period).
 * Claims due together (store.h: claim_many) are made up to SML_CLAIM_BATCH
 * in one transaction: their rows locked by one SELECT ... IN (...) ORDER
 * BY biz_tag FOR UPDATE, each decided as alone, one UPDATE ... CASE, one
 * COMMIT, and their marks recorded with one write; a lost COMMIT answer
 * throws every range of the batch away.
 */
#include "store.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errno.h>
#include <sys/stat.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "buf.h"
#include "highwater.h"
#include "lease.h"
#include "log.h"
#include "snowflake.h"
#include "store_mysql_fence.h"
#include "store_mysql_logic.h"
#include "store_spread.h"
#include "util.h"

/* MySQL 8's client dropped my_bool for bool; MariaDB's keeps it. */
#if defined(MARIADB_PACKAGE_VERSION_ID) || (defined(MYSQL_VERSION_ID) && MYSQL_VERSION_ID < 80000)
typedef my_bool mysql_flag;
#else
typedef bool mysql_flag;
#endif

/* The logic module names the codes it reasons about itself, so that it
 * needs no client headers; they must be the library's numbers. */
_Static_assert(SML_ER_ACCESS_DENIED == ER_ACCESS_DENIED_ERROR, "error code");
_Static_assert(SML_ER_DBACCESS_DENIED == ER_DBACCESS_DENIED_ERROR, "error code");
_Static_assert(SML_ER_BAD_DB == ER_BAD_DB_ERROR, "error code");
_Static_assert(SML_ER_NO_SUCH_TABLE == ER_NO_SUCH_TABLE, "error code");
_Static_assert(SML_ER_BAD_FIELD == ER_BAD_FIELD_ERROR, "error code");
_Static_assert(SML_ER_DUP_ENTRY == ER_DUP_ENTRY, "error code");
_Static_assert(SML_ER_LOCK_WAIT_TIMEOUT == ER_LOCK_WAIT_TIMEOUT, "error code");
_Static_assert(SML_ER_LOCK_DEADLOCK == ER_LOCK_DEADLOCK, "error code");
_Static_assert(SML_ER_UNKNOWN_COM == ER_UNKNOWN_COM_ERROR, "error code");
_Static_assert(SML_ER_SERVER_SHUTDOWN == ER_SERVER_SHUTDOWN, "error code");
_Static_assert(SML_ER_TABLEACCESS_DENIED == ER_TABLEACCESS_DENIED_ERROR, "error code");
_Static_assert(SML_ER_DATA_OUT_OF_RANGE == ER_DATA_OUT_OF_RANGE, "error code");
_Static_assert(SML_CR_SERVER_GONE == CR_SERVER_GONE_ERROR, "error code");
_Static_assert(SML_CR_SERVER_LOST == CR_SERVER_LOST, "error code");
_Static_assert(SML_CR_CONNECTION_ERROR == CR_CONNECTION_ERROR, "error code");
_Static_assert(SML_CR_CONN_HOST_ERROR == CR_CONN_HOST_ERROR, "error code");
_Static_assert(SML_CR_SSL_CONNECTION_ERROR == CR_SSL_CONNECTION_ERROR, "error code");

#define MYSQL_DEFAULT_CONNECT_TIMEOUT_S 5
#define MYSQL_DEFAULT_RW_TIMEOUT_S 10
#define MYSQL_MAX_COLUMNS 256         /* columns read from information_schema */

struct mysql_store {
    struct config cfg;                /* a copy: connection settings */
    char where[CONFIG_STR_MAX * 2];   /* "database.table", for messages */
    struct sml_shape shape;
    struct sml_sql sql;
    atomic_bool down;                 /* an outage is logged once, by the first session to see it */
    atomic_uint_fast64_t conflicts;   /* transactions the server rolled back and we ran again */
    /* Failovers (store_mysql_fence.h) and this node's marks (highwater.h). */
    struct highwater *hw;
    struct fence_conf fence;          /* table, shape, gap, mode */
    atomic_bool fence_on;             /* seqd_meta is there */
    atomic_bool fence_off_logged;
    atomic_uint_fast64_t refused;     /* claims below a mark */
    atomic_uint_fast64_t fences;      /* fences this node made */
    pthread_mutex_t server_lock;      /* guards server, operator_logged */
    char server[FENCE_SERVER_MAX];    /* the server claims are made on, as last seen */
    char operator_logged[FENCE_SERVER_MAX];  /* manual mode: the change already logged */
    pthread_mutex_t warned_lock;      /* guards warned: lists may run on any store thread */
    struct sml_warned warned;         /* bad rows already logged by a list (rescan) */
    atomic_uint_fast64_t batch_off_until;  /* mono_ms(): claims run alone until then (a batch
                                              conflicted: rows contended by other nodes) */
    pthread_mutex_t count_lock;       /* guards count_stamp */
    char count_stamp[256];            /* deletion_stamp() before the last COUNT(*); "" none */
};

/* Type 5's statements on seqd_workers (see "worker leases" below). */
enum lease_stmt { LEASE_SQL_SCAN, LEASE_SQL_NOW, LEASE_SQL_INSERT, LEASE_SQL_TAKE, LEASE_SQL_RENEW,
                  LEASE_SQL_RELEASE, LEASE_SQL_COUNT };

struct mysql_sess {
    struct mysql_store *ms;
    MYSQL *conn;                      /* NULL: not connected */
    MYSQL_STMT *stmt[SML_SQL_COUNT];  /* prepared on first use, per connection */
    MYSQL_STMT *lease_stmt[LEASE_SQL_COUNT];  /* the same, for the worker leases */
    bool fresh;                       /* conn made during the current call */
    bool server_checked;              /* conn's server is the one recorded (fence_check) */
    bool lost;                        /* the last failure was a broken connection before COMMIT */
    bool conflict;                    /* the last failure was a rollback the server answered */
    uint64_t jitter;                  /* xorshift state for the pause before a conflict's retry */
    unsigned failures;                /* consecutive failed connection attempts */
    uint64_t retry_at_ms;             /* no attempt before this (mono_ms) */
    char last_err[256];               /* why the last attempt failed */
};

/* Result buffers for one row, in enum sml_col order. */
struct row_binds {
    MYSQL_BIND b[SML_COL_COUNT];
    mysql_flag is_null[SML_COL_COUNT];
    mysql_flag error[SML_COL_COUNT];
};

/* ---- connections ------------------------------------------------------------ */

static unsigned mysql_timeout(int configured, unsigned fallback)
{
    return configured > 0 ? (unsigned)configured : fallback;
}

/* TLS options from store.mysql.ssl_*. "" leaves the library's default
 * (MariaDB's Connector/C: TLS only when a CA, cert or key is given). */
static int mysql_set_tls(MYSQL *c, const struct config *cfg, char *err, size_t errlen)
{
    const char *mode = cfg->mysql_ssl_mode;
    const char *ca = cfg->mysql_ssl_ca[0] ? cfg->mysql_ssl_ca : NULL;
    const char *cert = cfg->mysql_ssl_cert[0] ? cfg->mysql_ssl_cert : NULL;
    const char *key = cfg->mysql_ssl_key[0] ? cfg->mysql_ssl_key : NULL;

    if (strcmp(mode, "disabled") == 0) {
#if !defined(MARIADB_PACKAGE_VERSION_ID) && defined(SSL_MODE_DISABLED)
        unsigned m = SSL_MODE_DISABLED;
        mysql_options(c, MYSQL_OPT_SSL_MODE, &m);
#endif
        return 0;                     /* and the files are not given to the library */
    }
    if (ca)
        mysql_options(c, MYSQL_OPT_SSL_CA, ca);
    if (cert)
        mysql_options(c, MYSQL_OPT_SSL_CERT, cert);
    if (key)
        mysql_options(c, MYSQL_OPT_SSL_KEY, key);
    if (mode[0] == '\0')
        return 0;

#if defined(MARIADB_PACKAGE_VERSION_ID)
    {
        mysql_flag on = 1;
        if (strcmp(mode, "preferred") == 0) {
            /* Ask for TLS; Connector/C falls back to plain when the
             * server has none, unless it is enforced. */
            mysql_ssl_set(c, key, cert, ca, NULL, NULL);
        } else if (strcmp(mode, "required") == 0) {
            mysql_options(c, MYSQL_OPT_SSL_ENFORCE, &on);
        } else if (strcmp(mode, "verify_ca") == 0 || strcmp(mode, "verify_identity") == 0) {
            /* Connector/C verifies chain and host name together: verify_ca
             * is as strict as verify_identity here. */
            mysql_options(c, MYSQL_OPT_SSL_ENFORCE, &on);
            mysql_options(c, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
        } else {
            goto bad_mode;
        }
    }
#else
    {
        unsigned m;
        if (strcmp(mode, "preferred") == 0)
            m = SSL_MODE_PREFERRED;
        else if (strcmp(mode, "required") == 0)
            m = SSL_MODE_REQUIRED;
        else if (strcmp(mode, "verify_ca") == 0)
            m = SSL_MODE_VERIFY_CA;
        else if (strcmp(mode, "verify_identity") == 0)
            m = SSL_MODE_VERIFY_IDENTITY;
        else
            goto bad_mode;
        mysql_options(c, MYSQL_OPT_SSL_MODE, &m);
    }
#endif
    return 0;

bad_mode:
    snprintf(err, errlen, "store.mysql.ssl_mode '%s' is not one of disabled, preferred, "
             "required, verify_ca, verify_identity", mode);
    return -1;
}

static bool mysql_tls_required(const struct config *cfg)
{
    return strcmp(cfg->mysql_ssl_mode, "required") == 0 ||
           strcmp(cfg->mysql_ssl_mode, "verify_ca") == 0 ||
           strcmp(cfg->mysql_ssl_mode, "verify_identity") == 0;
}

/* Run one fixed statement (no data in it) on a fresh connection. */
static int mysql_setup_query(MYSQL *c, const char *sql, unsigned *code, char *msg, size_t msglen)
{
    if (mysql_query(c, sql) == 0)
        return 0;
    *code = mysql_errno(c);
    strlcpy_safe(msg, mysql_error(c), msglen);
    return -1;
}

/* Connect and set the session up for claims. Returns the connection, or
 * NULL with the error's code (0 for a local problem) and text. */
static MYSQL *mysql_connect(const struct config *cfg, unsigned *code, char *msg, size_t msglen)
{
    unsigned connect_s = mysql_timeout(cfg->mysql_connect_timeout_s, MYSQL_DEFAULT_CONNECT_TIMEOUT_S);
    unsigned rw_s = mysql_timeout(cfg->mysql_rw_timeout_s, MYSQL_DEFAULT_RW_TIMEOUT_S);
    unsigned protocol = cfg->mysql_socket[0] ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    mysql_flag off = 0;
    char sql[160];
    MYSQL *c = mysql_init(NULL);

    *code = 0;
    if (c == NULL) {
        strlcpy_safe(msg, "mysql_init failed (out of memory)", msglen);
        return NULL;
    }
    /* Bounded waits everywhere: a stopped or frozen server must give an
     * error, never a hung store thread. */
    mysql_options(c, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
    mysql_options(c, MYSQL_OPT_READ_TIMEOUT, &rw_s);
    mysql_options(c, MYSQL_OPT_WRITE_TIMEOUT, &rw_s);
    mysql_options(c, MYSQL_OPT_RECONNECT, &off);
    mysql_options(c, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    /* TCP unless a socket is configured: "localhost" must not quietly
     * mean some default socket. */
    mysql_options(c, MYSQL_OPT_PROTOCOL, &protocol);
    if (mysql_set_tls(c, cfg, msg, msglen) < 0) {
        mysql_close(c);
        return NULL;
    }

    if (mysql_real_connect(c, cfg->mysql_socket[0] ? "localhost" : cfg->mysql_host,
                           cfg->mysql_user, cfg->mysql_password, cfg->mysql_database,
                           (unsigned)cfg->mysql_port,
                           cfg->mysql_socket[0] ? cfg->mysql_socket : NULL, 0) == NULL) {
        *code = mysql_errno(c);
        strlcpy_safe(msg, mysql_error(c), msglen);
        mysql_close(c);
        return NULL;
    }

    /* Connector/C may connect in plain text when the server offers no
     * TLS even though TLS was asked for: check what we actually got. */
    if (mysql_tls_required(cfg) && mysql_get_ssl_cipher(c) == NULL) {
        *code = CR_SSL_CONNECTION_ERROR;
        snprintf(msg, msglen, "store.mysql.ssl_mode is '%s' but the connection is not "
                 "encrypted (the server offers no TLS)", cfg->mysql_ssl_mode);
        goto fail;
    }

    /* Every statement runs in a transaction that seqd ends itself. */
    if (mysql_autocommit(c, 0) != 0) {
        *code = mysql_errno(c);
        strlcpy_safe(msg, mysql_error(c), msglen);
        mysql_close(c);
        return NULL;
    }
    /* READ COMMITTED is safe for claims: SELECT ... FOR UPDATE is a
     * locking read, which always reads the newest committed row whatever
     * the isolation level, and holds the row's lock until COMMIT; the
     * UPDATE is relative (max_id = max_id + n). No stale read can lead to
     * an overlapping range. What READ COMMITTED buys: no gap locks (a claim
     * of a missing name does not block inserts next to it), and look-ups
     * and rescans see what other nodes committed.
     * The one setting where it cannot be used: a binary log in STATEMENT
     * format refuses InnoDB writes under READ COMMITTED; there the
     * default REPEATABLE READ is kept, which is just as safe for claims. */
    if (mysql_query(c, "SELECT @@GLOBAL.log_bin = 1 AND @@SESSION.binlog_format = 'STATEMENT'") == 0) {
        MYSQL_RES *res = mysql_store_result(c);
        MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
        bool statement_log = row && row[0] && strcmp(row[0], "1") == 0;
        mysql_free_result(res);
        if (!statement_log &&
            mysql_setup_query(c, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
                              code, msg, msglen) < 0)
            goto fail;
    } else {
        *code = mysql_errno(c);
        strlcpy_safe(msg, mysql_error(c), msglen);
        goto fail;
    }
    /* Strict mode: an out-of-range value is an error, never clipped. A
     * lock wait gives up before the read timeout would, so it surfaces as
     * a clean "lock wait timeout" (ROLLBACK, connection kept). */
    snprintf(sql, sizeof(sql), "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', "
             "innodb_lock_wait_timeout = %u", rw_s > 2 ? rw_s / 2 : 1);
    if (mysql_setup_query(c, sql, code, msg, msglen) < 0)
        goto fail;
    /* MariaDB only (MySQL has no such variable, hence no error check): a
     * node that stops between its SELECT ... FOR UPDATE and its COMMIT
     * (frozen, cut off by the network) would hold the row's lock until
     * the server noticed the dead connection, hours later; every other
     * node's claims of that sequence would fail meanwhile. Our claim
     * transactions last milliseconds, so the server may kill one that
     * sits idle for the read timeout. */
    snprintf(sql, sizeof(sql), "SET SESSION idle_transaction_timeout = %u", rw_s);
    mysql_query(c, sql);
    return c;

fail:
    mysql_close(c);
    return NULL;
}

/* "mysql: <what>: <server text> [code]; <hint>" into err, cut to fit. */
static void mysql_format_error(char *err, size_t errlen, const char *what, unsigned code,
                               const char *msg, const char *hint)
{
    int n;

    hint = sml_error_hint(code, msg, hint);
    if (code)
        n = snprintf(err, errlen, "mysql: %s: %s [%u]%s%s", what, msg, code,
                     hint[0] ? "; " : "", hint);
    else
        n = snprintf(err, errlen, "mysql: %s: %s", what, msg);
    if (n > 0 && (size_t)n >= errlen && errlen > 4)
        memcpy(err + errlen - 4, "...", 4);      /* show that it was cut */
}

/* ---- sessions ----------------------------------------------------------------- */

static void sess_drop(struct mysql_sess *s)
{
    int i;

    for (i = 0; i < SML_SQL_COUNT; i++) {
        if (s->stmt[i] != NULL)
            mysql_stmt_close(s->stmt[i]);
        s->stmt[i] = NULL;
    }
    for (i = 0; i < LEASE_SQL_COUNT; i++) {
        if (s->lease_stmt[i] != NULL)
            mysql_stmt_close(s->lease_stmt[i]);
        s->lease_stmt[i] = NULL;
    }
    if (s->conn != NULL)
        mysql_close(s->conn);
    s->conn = NULL;
    s->server_checked = false;
}

/* Make sure s has a connection. Within the backoff after a failed attempt
 * (and while no other session has reconnected) it fails at once, repeating
 * the last reason. Returns STORE_OK or
 * STORE_UNAVAILABLE with err set. */
static int sess_connect(struct mysql_sess *s, char *err, size_t errlen)
{
    struct mysql_store *ms = s->ms;
    struct sml_verdict v;
    char msg[256], what[CONFIG_STR_MAX * 3];
    uint64_t now;
    unsigned code;

    if (s->conn != NULL)
        return STORE_OK;
    now = mono_ms();
    /* The backoff holds while the outage lasts; once another session has
     * connected again (down is cleared), try at once. */
    if (now < s->retry_at_ms && atomic_load(&ms->down)) {
        snprintf(err, errlen, "%s (next try in %" PRIu64 " ms)", s->last_err, s->retry_at_ms - now);
        return STORE_UNAVAILABLE;
    }

    s->conn = mysql_connect(&ms->cfg, &code, msg, sizeof(msg));
    if (s->conn == NULL) {
        sml_classify(code, SML_PHASE_CONNECT, &v);
        snprintf(what, sizeof(what), "cannot connect to %s", ms->where);
        mysql_format_error(s->last_err, sizeof(s->last_err), what, code, msg, v.hint);
        s->failures++;
        s->retry_at_ms = now + sml_backoff_ms(s->failures);
        if (!atomic_exchange(&ms->down, true))
            log_warn("%s; serving from buffered segments and retrying with backoff "
                     "(up to %d ms)", s->last_err, SML_BACKOFF_MAX_MS);
        strlcpy_safe(err, s->last_err, errlen);
        return STORE_UNAVAILABLE;
    }
    s->failures = 0;
    s->retry_at_ms = 0;
    s->fresh = true;
    if (atomic_exchange(&ms->down, false))
        log_notice("mysql: connected to %s again", ms->where);
    return STORE_OK;
}

/* Handle an error from `phase`: classify it, roll back or drop the
 * connection as the verdict says, write the message. Returns the status
 * for the caller. msg may point into the connection: it is copied first. */
static int sess_fail(struct mysql_sess *s, enum sml_phase phase, unsigned code, const char *msg,
                     const char *what, char *err, size_t errlen)
{
    struct sml_verdict v;
    char text[256];

    strlcpy_safe(text, msg ? msg : "", sizeof(text));
    sml_classify(code, phase, &v);
    if (v.rollback && !v.drop_conn && s->conn != NULL && mysql_rollback(s->conn) != 0)
        v.drop_conn = true;
    if (v.drop_conn) {
        if (s->conn != NULL)
            log_verbose("mysql: closing the connection after: %s [%u]", text, code);
        sess_drop(s);
    }
    s->lost = v.conn_lost;
    s->conflict = v.conflict;
    mysql_format_error(err, errlen, what, code, text, v.hint);
    return v.status;
}

static int sess_stmt_fail(struct mysql_sess *s, MYSQL_STMT *st, enum sml_phase phase,
                          const char *what, char *err, size_t errlen)
{
    return sess_fail(s, phase, mysql_stmt_errno(st), mysql_stmt_error(st), what, err, errlen);
}

/* End a transaction that changed nothing (or that we give up). A failure
 * here only means the connection is gone, which undoes it as well. */
static void sess_end_quietly(struct mysql_sess *s)
{
    if (s->conn != NULL && mysql_rollback(s->conn) != 0)
        sess_drop(s);
}

/* The statement sql prepared on s's connection in *slot, preparing it on
 * first use (sess_drop closes it with the connection). Returns STORE_OK
 * with *out, or a status with err set. */
static int sess_prepare(struct mysql_sess *s, MYSQL_STMT **slot, const char *sql, enum sml_phase phase,
                        const char *what, MYSQL_STMT **out, char *err, size_t errlen)
{
    MYSQL_STMT *st = *slot;

    if (st == NULL) {
        st = mysql_stmt_init(s->conn);
        if (st == NULL)
            return sess_fail(s, phase, mysql_errno(s->conn), mysql_error(s->conn), what, err, errlen);
        if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
            /* Close the statement before sess_fail() may close its connection. */
            unsigned code = mysql_stmt_errno(st);
            char msg[256];
            strlcpy_safe(msg, mysql_stmt_error(st), sizeof(msg));
            mysql_stmt_close(st);
            return sess_fail(s, phase, code, msg, what, err, errlen);
        }
        *slot = st;
    }
    *out = st;
    return STORE_OK;
}

/* The table's statement idx (enum sml_stmt), as sess_prepare(). */
static int sess_stmt(struct mysql_sess *s, enum sml_stmt idx, enum sml_phase phase,
                     const char *what, MYSQL_STMT **out, char *err, size_t errlen)
{
    return sess_prepare(s, &s->stmt[idx], s->ms->sql.text[idx], phase, what, out, err, errlen);
}

/* Parameters: a string and 64-bit integers. */
static void bind_str(MYSQL_BIND *b, const char *s, unsigned long *len)
{
    memset(b, 0, sizeof(*b));
    *len = (unsigned long)strlen(s);
    b->buffer_type = MYSQL_TYPE_STRING;
    b->buffer = (void *)s;
    b->buffer_length = *len;
    b->length = len;
}

static void bind_i64(MYSQL_BIND *b, int64_t *v)
{
    memset(b, 0, sizeof(*b));
    b->buffer_type = MYSQL_TYPE_LONGLONG;
    b->buffer = v;
}

static void bind_u64(MYSQL_BIND *b, uint64_t *v)
{
    bind_i64(b, (int64_t *)(void *)v);
    b->is_unsigned = 1;
}

/* A text result column into buf (its full length lands in *b->length). */
static void bind_text_result(MYSQL_BIND *b, char *buf, size_t size)
{
    b->buffer_type = MYSQL_TYPE_STRING;
    b->buffer = buf;
    b->buffer_length = (unsigned long)size;
}

/* Bind the result columns of the table's SELECTs to row. */
static void bind_row(struct row_binds *rb, struct sml_row *row, int ncols)
{
    int c;

    memset(rb, 0, sizeof(*rb));
    memset(row, 0, sizeof(*row));
    for (c = 0; c < ncols; c++) {
        MYSQL_BIND *b = &rb->b[c];
        b->is_null = &rb->is_null[c];
        b->error = &rb->error[c];
        b->length = &row->len[c];
        b->buffer_type = MYSQL_TYPE_LONGLONG;
        switch ((enum sml_col)c) {
        case SML_COL_NAME:        bind_text_result(b, row->name, sizeof(row->name)); break;
        case SML_COL_DESCRIPTION: bind_text_result(b, row->description, sizeof(row->description)); break;
        case SML_COL_AUTO_DISK:   bind_text_result(b, row->auto_disk, sizeof(row->auto_disk)); break;
        case SML_COL_PREFIX:      bind_text_result(b, row->prefix, sizeof(row->prefix)); break;
        case SML_COL_TZ:          bind_text_result(b, row->tz, sizeof(row->tz)); break;
        case SML_COL_PERIOD:    b->buffer = &row->period; break;
        case SML_COL_MAX_ID:    b->buffer = &row->max_id; break;
        case SML_COL_STEP:      b->buffer = &row->step; break;
        case SML_COL_KIND:      b->buffer = &row->kind; break;
        case SML_COL_LENGTH:    b->buffer = &row->length; break;
        case SML_COL_STARTING:  b->buffer = &row->starting; break;
        case SML_COL_INCREMENT: b->buffer = &row->increment; break;
        case SML_COL_EPOCH:     b->buffer = &row->epoch; break;
        case SML_COL_PERM_KEY:
            b->buffer = &row->perm_key;
            b->is_unsigned = 1;
            break;
        case SML_COL_COUNT:
            break;
        }
    }
}

/* Copy NULL and range flags into the row after a fetch. */
static void row_flags(const struct row_binds *rb, struct sml_row *row, int ncols)
{
    int c;

    for (c = 0; c < ncols; c++) {
        row->null[c] = rb->is_null[c] != 0;
        /* A string longer than its buffer shows in len[]; only numbers
         * that did not fit are out of range. */
        row->out_of_range[c] = rb->error[c] != 0 && rb->b[c].buffer_type == MYSQL_TYPE_LONGLONG;
    }
}

/* Fetch at most one row of an executed statement, then read the rest of
 * the result so that the connection is ready for the next statement.
 * Returns 1 row there, 0 none, -1 error (see mysql_stmt_errno). */
static int stmt_fetch_one(MYSQL_STMT *st)
{
    int r = mysql_stmt_fetch(st), more;

    if (r == 1)
        return -1;
    if (r == MYSQL_NO_DATA) {
        mysql_stmt_free_result(st);
        return 0;
    }
    /* biz_tag is the primary key: no second row, but drain to be sure. */
    do
        more = mysql_stmt_fetch(st);
    while (more == 0 || more == MYSQL_DATA_TRUNCATED);
    if (more == 1)
        return -1;
    mysql_stmt_free_result(st);
    return 1;
}

/* Make sure s's connection is to the server the claims are made on
 * (store_mysql_fence.h): once per connection, before its first
 * transaction. Returns STORE_OK, or a status with err set (through
 * sess_fail for a database error, so that conflicts and lost connections
 * are retried as any other). */
static int sess_check_server(struct mysql_sess *s, char *err, size_t errlen)
{
    struct mysql_store *ms = s->ms;
    struct fence_result r;
    struct fence_conf conf;

    if (s->server_checked)
        return STORE_OK;
    conf = ms->fence;
    conf.now_s = (int64_t)time(NULL);
    enum fence_outcome outcome = fence_check(s->conn, &conf, &r);
    switch (outcome) {
    case FENCE_FAILED: {
        int rc = sess_fail(s, r.phase, r.code, r.msg, "check of the database server", err, errlen);
        /* A lost COMMIT of the check: nothing was claimed, and the next
         * check finds out what was recorded. */
        return rc == STORE_UNKNOWN ? STORE_UNAVAILABLE : rc;
    }
    case FENCE_OFF:
        if (!atomic_exchange(&ms->fence_off_logged, true))
            log_warn("mysql: cannot use the table %s in %s (%s [%u]): a failover to a replica that lost "
                     "transactions would not be noticed, and could hand out numbers twice; create it with "
                     "sql/schema.sql and grant SELECT, INSERT, UPDATE on it (docs/reliability.md)",
                     FENCE_META_TABLE, ms->cfg.mysql_database, r.msg, r.code);
        break;
    case FENCE_NEEDS_OPERATOR:
        pthread_mutex_lock(&ms->server_lock);
        bool logged = strcmp(ms->operator_logged, r.server) == 0;
        strlcpy_safe(ms->operator_logged, r.server, sizeof(ms->operator_logged));
        pthread_mutex_unlock(&ms->server_lock);
        snprintf(err, errlen, "the database server changed (claims were made on %s, this connection is to "
                 "%s) and store.mysql.failover is manual: no claims until an operator approves the fence "
                 "(docs/reliability.md)", r.recorded, r.server);
        if (!logged)
            log_warn("mysql: %s", err);
        return STORE_UNAVAILABLE;
    case FENCE_MOVED:
        atomic_fetch_add(&ms->fences, 1);
        log_warn("mysql: FAILOVER: the claims were made on %s and this connection is to %s: moved %" PRIu64
                 " sequences forward by %" PRIu64 " (store.mysql.failover_gap) and recorded the new "
                 "server in %s", r.recorded, r.server, r.rows_moved, conf.gap, FENCE_META_TABLE);
        break;
    case FENCE_RECORDED:
        log_notice("mysql: recorded %s as the server the claims are made on (%s)", r.server,
                   FENCE_META_TABLE);
        break;
    case FENCE_SAME:
        break;
    }
    atomic_store(&ms->fence_on, outcome != FENCE_OFF);
    if (outcome != FENCE_OFF)
        atomic_store(&ms->fence_off_logged, false);
    if (r.server[0]) {
        pthread_mutex_lock(&ms->server_lock);
        strlcpy_safe(ms->server, r.server, sizeof(ms->server));
        pthread_mutex_unlock(&ms->server_lock);
    }
    s->server_checked = true;
    return STORE_OK;
}

/* Sleep a random time of up to 2^attempt ms (at least 1), so that two
 * nodes whose transactions collided do not collide again in step. */
static void sess_conflict_pause(struct mysql_sess *s, unsigned attempt)
{
    uint64_t x = s->jitter ? s->jitter : (mono_us() | 1) ^ (uint64_t)(uintptr_t)s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s->jitter = x;
    uint64_t us = 1000 + x % (1000ULL << attempt);
    struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };
    nanosleep(&ts, NULL);
}

/* Run op on s, connecting first. Two failures are run again at once
 * because nothing was done:
 *  - a connection kept from an earlier call had broken (the server closed
 *    an idle connection, or restarted) before anything reached COMMIT:
 *    once more, on a new connection; this spares the caller a needless
 *    "unavailable";
 *  - the server answered that it rolled the transaction back for a
 *    conflict (a deadlock, a lock wait timeout, a Galera certification
 *    failure, even at COMMIT): up to SML_CONFLICT_RETRIES times within
 *    SML_CONFLICT_BUDGET_MS, on the same connection after a short random
 *    pause. A conflict is not an outage: it never starts the reconnect
 *    backoff. */
typedef int sess_op_fn(struct mysql_sess *s, void *arg, char *err, size_t errlen);

static int sess_run_op(struct mysql_sess *s, sess_op_fn *op, void *arg, bool writes, unsigned conflict_reruns,
                       char *err, size_t errlen)
{
    unsigned reconnects = 0, conflicts = 0;
    uint64_t began = mono_ms();
    int rc;

    for (;;) {
        bool reused;
        rc = sess_connect(s, err, errlen);
        if (rc != STORE_OK)
            return rc;
        reused = !s->fresh;
        s->lost = false;
        s->conflict = false;
        rc = writes ? sess_check_server(s, err, errlen) : STORE_OK;
        if (rc == STORE_OK)
            rc = op(s, arg, err, errlen);
        s->fresh = false;
        if (rc == STORE_UNAVAILABLE && s->lost && reused && reconnects++ == 0) {
            log_verbose("%s; retrying on a new connection", err);
            continue;
        }
        if (rc == STORE_UNAVAILABLE && s->conflict && conflicts < conflict_reruns &&
            mono_ms() - began < SML_CONFLICT_BUDGET_MS) {
            atomic_fetch_add(&s->ms->conflicts, 1);
            log_debug("%s; running it again (conflict %u)", err, conflicts + 1);
            sess_conflict_pause(s, conflicts++);
            continue;
        }
        return rc;
    }
}

/* Claims and every other write wait for the server check (a failover is
 * fenced first); reading definitions does not: they are the same on any
 * server, and a node in manual mode must still start and answer. */
static int sess_run(struct mysql_sess *s, sess_op_fn *op, void *arg, char *err, size_t errlen)
{
    return sess_run_op(s, op, arg, true, SML_CONFLICT_RETRIES, err, errlen);
}

static int sess_run_read(struct mysql_sess *s, sess_op_fn *op, void *arg, char *err, size_t errlen)
{
    return sess_run_op(s, op, arg, false, SML_CONFLICT_RETRIES, err, errlen);
}

/* ---- claim ---------------------------------------------------------------- */

struct claim_args {
    const char *name;
    uint64_t want;
    int64_t period;               /* type 4: the period wanted */
    const struct seqdef *expect;  /* NULL: any definition of the name */
    struct claim *out;
};

/* The UPDATE of a claim: max_id = max_id + n for every kind but 4; for
 * type 4 the period and counter sml_claim_period chose, on the row as the
 * SELECT read it (period `from_period`, max_id `from`). Returns STORE_OK
 * or a status with err set; the transaction is still open. */
static int claim_update(struct mysql_sess *s, const struct claim_args *a, const struct seqdef *def,
                        int64_t from, int64_t from_period, int64_t start, int64_t period, uint64_t n,
                        const char *what, char *err, size_t errlen)
{
    MYSQL_BIND param[5];
    MYSQL_STMT *upd = NULL;
    unsigned long name_len;
    int64_t n_signed = (int64_t)n, top = start + (int64_t)n;   /* n <= INT64_MAX - start */
    bool dated = def->kind == SEQ_DATED;
    int rc;

    rc = sess_stmt(s, dated ? SML_SQL_CLAIM_PERIOD : SML_SQL_CLAIM_UPDATE, SML_PHASE_UPDATE, what, &upd,
                   err, errlen);
    if (rc != STORE_OK)
        return rc;
    if (dated) {
        bind_i64(&param[0], &top);
        bind_i64(&param[1], &period);
        bind_str(&param[2], a->name, &name_len);
        bind_i64(&param[3], &from);
        bind_i64(&param[4], &from_period);
    } else {
        bind_i64(&param[0], &n_signed);
        bind_str(&param[1], a->name, &name_len);
    }
    if (mysql_stmt_bind_param(upd, param) != 0 || mysql_stmt_execute(upd) != 0)
        return sess_stmt_fail(s, upd, SML_PHASE_UPDATE, what, err, errlen);
    if (mysql_stmt_affected_rows(upd) != 1) {
        /* Cannot happen while we hold the row's lock; never guess. */
        sess_end_quietly(s);
        snprintf(err, errlen, "mysql: %s: the row of '%s' was not updated", s->ms->where, a->name);
        return STORE_UNAVAILABLE;
    }
    return STORE_OK;
}

static int claim_op(struct mysql_sess *s, void *arg, char *err, size_t errlen)
{
    struct claim_args *a = arg;
    struct mysql_store *ms = s->ms;
    struct row_binds rb;
    struct sml_row row;
    struct seqdef def;
    MYSQL_BIND param[1];
    MYSQL_STMT *sel = NULL;
    unsigned long name_len;
    char what[SEQ_NAME_MAX + 32], why[300];
    int64_t max_id, start, period = 0;
    uint64_t n;
    int rc, found;

    snprintf(what, sizeof(what), "claim of '%s'", a->name);

    rc = sess_stmt(s, SML_SQL_CLAIM_SELECT, SML_PHASE_SELECT, what, &sel, err, errlen);
    if (rc != STORE_OK)
        return rc;
    bind_str(&param[0], a->name, &name_len);
    bind_row(&rb, &row, ms->sql.nselect);
    if (mysql_stmt_bind_param(sel, param) != 0 || mysql_stmt_execute(sel) != 0 ||
        mysql_stmt_bind_result(sel, rb.b) != 0)
        return sess_stmt_fail(s, sel, SML_PHASE_SELECT, what, err, errlen);
    found = stmt_fetch_one(sel);
    if (found < 0)
        return sess_stmt_fail(s, sel, SML_PHASE_SELECT, what, err, errlen);
    if (found == 0) {
        sess_end_quietly(s);
        /* Deleted: a sequence created again under the name counts from
         * its own start. */
        if (highwater_forget(ms->hw, a->name, why, sizeof(why)) != 0)
            log_warn("%s", why);
        snprintf(err, errlen, "no such sequence '%s' in %s", a->name, ms->where);
        return STORE_NOT_FOUND;
    }
    row_flags(&rb, &row, ms->sql.nselect);
    if (sml_row_to_def(&row, &ms->shape, &def, &max_id, why, sizeof(why)) < 0) {
        sess_end_quietly(s);
        snprintf(err, errlen, "mysql: %s: %s", ms->where, why);
        return STORE_ERROR;
    }
    /* The name asked for: a Leaf table's case-insensitive biz_tag may have
     * matched a row spelled differently (same counters, so still safe). */
    strlcpy_safe(def.name, a->name, sizeof(def.name));
    if (a->expect && !seqdef_same(&def, a->expect)) {
        /* Deleted and created again since the caller met it: the new
         * sequence's counters are not this claim's to take. */
        sess_end_quietly(s);
        snprintf(err, errlen, "'%s' was deleted and created again in %s", a->name, ms->where);
        return STORE_NOT_FOUND;
    }
    /* Type 4: a newer wanted period restarts the row's counter; a row in
     * a newer period than wanted is served in its own. */
    start = max_id;
    if (def.kind == SEQ_DATED)
        sml_claim_period(row.period, max_id, a->period, &period, &start);
    if (sml_claim_size(start, row.step, a->want, &n) < 0) {
        sess_end_quietly(s);
        snprintf(err, errlen, "mysql: %s: row '%s' has max_id %" PRId64
                 ": no counters left below BIGINT's top", ms->where, a->name, start);
        return STORE_ERROR;
    }
    rc = claim_update(s, a, &def, max_id, row.period, start, period, n, what, err, errlen);
    if (rc != STORE_OK)
        return rc;

    if (mysql_commit(s->conn) != 0)
        return sess_fail(s, SML_PHASE_COMMIT, mysql_errno(s->conn), mysql_error(s->conn),
                         what, err, errlen);

    /* Never below what this node claimed before: a database that lost
     * its newest transactions would hand the same counters out again. */
    struct highwater_mark mark, at = { seqdef_identity(&def), period, (uint64_t)start };
    if (highwater_below(ms->hw, a->name, &at, &mark)) {
        atomic_fetch_add(&ms->refused, 1);
        if (mark.period != period)
            snprintf(err, errlen, "refused a claim of '%s' in period %" PRId64 " at %" PRId64 ": this node "
                     "has claimed up to %" PRIu64 " in the later period %" PRId64 " (the database lost "
                     "transactions, as in a failover without a fence: see docs/reliability.md)",
                     a->name, period, start, mark.top, mark.period);
        else
            snprintf(err, errlen, "refused a claim of '%s' at %" PRId64 ": this node has claimed up to %"
                     PRIu64 " before (the database lost transactions, as in a failover without a fence: "
                     "see docs/reliability.md)", a->name, start, mark.top);
        a->out->start = (uint64_t)start;
        a->out->count = n;
        a->out->period = period;
        return STORE_REFUSED;
    }
    /* Recorded before any of the range is served. */
    at.top = (uint64_t)start + n;
    if (highwater_raise(ms->hw, a->name, &at, err, errlen) != 0)
        return STORE_ERROR;

    a->out->start = (uint64_t)start;
    a->out->count = n;
    a->out->period = period;
    a->out->def = def;
    return STORE_OK;
}

static int my_claim(struct store *st, void *sess, const char *name, uint64_t want, int64_t period,
                    const struct seqdef *expect, struct claim *out, char *err, size_t errlen)
{
    struct claim_args a = { name, want, period, expect, out };
    return sess_run(sess, claim_op, &a, err, errlen);
}

/* ---- claims in batches ------------------------------------------------------ */

/* One claim of a batch as its transaction decides it. */
struct batch_claim {
    struct store_claim *item;
    bool planned;                 /* its row was read and its range decided: in the UPDATE */
    struct seqdef def;            /* the row's definition */
    int64_t from, start, period;  /* max_id as read; where the range starts, and its period */
    uint64_t n;
};

struct claim_many_args {
    struct batch_claim *b;        /* by name (strcmp): sml_claim_batch_split's order */
    size_t n;
    bool *alone;                  /* out: item i had no row spelled as it is: run it alone */
    struct store_claim *items;
};

static int batch_claim_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct batch_claim *)elem)->item->name);
}

/* The batch's item for a row read back: its name exactly (a row spelled
 * otherwise matched some item only by the collation), or NULL. */
static struct batch_claim *batch_find(struct claim_many_args *a, const struct sml_row *row)
{
    char name[SML_NAME_BUF + 1];
    size_t len = row->null[SML_COL_NAME] ? 0 : row->len[SML_COL_NAME];

    if (len == 0 || len >= sizeof(row->name))
        return NULL;
    memcpy(name, row->name, len);
    name[len] = '\0';
    return bsearch(name, a->b, a->n, sizeof(*a->b), batch_claim_cmp);
}

/* Decide one item's claim from its row, as claim_op does: the definition
 * compare, type 4's period, the size. Sets the item's status when it is
 * decided without a range (ERROR, NOT_FOUND), else marks it planned. */
static void batch_plan(struct mysql_sess *s, struct batch_claim *c, struct sml_row *row)
{
    struct mysql_store *ms = s->ms;
    struct store_claim *it = c->item;
    char why[300];
    int64_t max_id;

    if (sml_row_to_def(row, &ms->shape, &c->def, &max_id, why, sizeof(why)) < 0) {
        it->status = STORE_ERROR;
        snprintf(it->err, it->errlen, "mysql: %s: %s", ms->where, why);
        return;
    }
    strlcpy_safe(c->def.name, it->name, sizeof(c->def.name));
    if (it->expect && !seqdef_same(&c->def, it->expect)) {
        it->status = STORE_NOT_FOUND;
        snprintf(it->err, it->errlen, "'%s' was deleted and created again in %s", it->name, ms->where);
        return;
    }
    c->from = max_id;
    c->start = max_id;
    c->period = 0;
    if (c->def.kind == SEQ_DATED)
        sml_claim_period(row->period, max_id, it->period, &c->period, &c->start);
    if (sml_claim_size(c->start, row->step, it->want, &c->n) < 0) {
        it->status = STORE_ERROR;
        snprintf(it->err, it->errlen, "mysql: %s: row '%s' has max_id %" PRId64
                 ": no counters left below BIGINT's top", ms->where, it->name, c->start);
        return;
    }
    c->planned = true;
}

/* What read_locked_rows hands its caller: each row it read. */
typedef void locked_row_fn(struct mysql_sess *s, struct sml_row *row, void *arg);

/* SML_SQL_CLAIM_MANY for names[0..k) (1 <= k <= SML_CLAIM_BATCH; a short
 * list repeats its last name): lock and read their rows in the session's
 * transaction, on_row for each row found. Serves a batch of claims and
 * the give-back's check alike. Returns STORE_OK (the transaction still
 * open) or a status with err. */
static int read_locked_rows(struct mysql_sess *s, const char *const *names, size_t k, enum sml_phase phase,
                            const char *what, locked_row_fn *on_row, void *arg, char *err, size_t errlen)
{
    MYSQL_BIND param[SML_CLAIM_BATCH];
    unsigned long lens[SML_CLAIM_BATCH];
    struct row_binds rb;
    struct sml_row row;
    MYSQL_STMT *sel = NULL;
    int rc, r;

    rc = sess_stmt(s, SML_SQL_CLAIM_MANY, phase, what, &sel, err, errlen);
    if (rc != STORE_OK)
        return rc;
    for (size_t i = 0; i < SML_CLAIM_BATCH; i++)
        bind_str(&param[i], names[i < k ? i : k - 1], &lens[i]);
    bind_row(&rb, &row, s->ms->sql.nselect);
    if (mysql_stmt_bind_param(sel, param) != 0 || mysql_stmt_execute(sel) != 0 ||
        mysql_stmt_bind_result(sel, rb.b) != 0)
        return sess_stmt_fail(s, sel, phase, what, err, errlen);
    while ((r = mysql_stmt_fetch(sel)) == 0 || r == MYSQL_DATA_TRUNCATED) {
        row_flags(&rb, &row, s->ms->sql.nselect);
        on_row(s, &row, arg);
        memset(&row, 0, sizeof(row));
    }
    if (r == 1)
        return sess_stmt_fail(s, sel, phase, what, err, errlen);
    mysql_stmt_free_result(sel);
    return STORE_OK;
}

static void batch_read_row(struct mysql_sess *s, struct sml_row *row, void *arg)
{
    struct batch_claim *c = batch_find(arg, row);
    if (c != NULL && !c->planned && c->item->status == STORE_OK)
        batch_plan(s, c, row);
}

/* Read and lock the batch's rows and plan each claim. Returns STORE_OK
 * (the transaction still open) or a status with err. */
static int batch_read(struct mysql_sess *s, struct claim_many_args *a, char *err, size_t errlen)
{
    const char *names[SML_CLAIM_BATCH];

    for (size_t i = 0; i < a->n; i++)
        names[i] = a->b[i].item->name;
    return read_locked_rows(s, names, a->n, SML_PHASE_SELECT, "batch of claims", batch_read_row, a, err,
                            errlen);
}

/* Append name to b as a quoted SQL string, escaped for c's character
 * set: 'name'. The batched statements name their rows in the text (their
 * length varies); a name longer than the column (never a valid one)
 * becomes ''. */
static void add_quoted_name(MYSQL *c, struct buf *b, const char *name)
{
    char esc[2 * SML_NAME_BUF + 1];
    size_t len = strlen(name);

    mysql_real_escape_string(c, esc, name, len < SML_NAME_BUF ? len : 0);
    buf_printf(b, "'%s'", esc);
}

/* One UPDATE for every planned claim: max_id (and type 4's period) as
 * planned, on the rows the batch holds locked. Returns STORE_OK or a
 * status with err; the transaction is still open. */
static int batch_update(struct mysql_sess *s, struct claim_many_args *a, size_t planned, char *err,
                        size_t errlen)
{
    struct mysql_store *ms = s->ms;
    bool periods = false;
    struct buf q;
    size_t i, k = 0;
    int rc = STORE_OK;

    buf_init(&q);
    buf_printf(&q, "UPDATE `%s` SET `max_id` = CASE `biz_tag`", ms->cfg.mysql_table);
    for (i = 0; i < a->n; i++) {
        struct batch_claim *c = &a->b[i];
        if (!c->planned)
            continue;
        buf_add_str(&q, " WHEN ");
        add_quoted_name(s->conn, &q, c->item->name);
        buf_printf(&q, " THEN %" PRId64, c->start + (int64_t)c->n);
        periods = periods || c->def.kind == SEQ_DATED;
    }
    buf_printf(&q, " END");
    if (periods) {
        /* Only type 4 rows move; every other row keeps its period. */
        buf_printf(&q, ", `period` = CASE `biz_tag`");
        for (i = 0; i < a->n; i++) {
            struct batch_claim *c = &a->b[i];
            if (!c->planned || c->def.kind != SEQ_DATED)
                continue;
            buf_add_str(&q, " WHEN ");
            add_quoted_name(s->conn, &q, c->item->name);
            buf_printf(&q, " THEN %" PRId64, c->period);
        }
        buf_printf(&q, " ELSE `period` END");
    }
    buf_printf(&q, "%s WHERE `biz_tag` IN (", ms->shape.update_time ? ", `update_time` = `update_time`" : "");
    for (i = 0; i < a->n; i++) {
        struct batch_claim *c = &a->b[i];
        if (!c->planned)
            continue;
        buf_add_str(&q, k++ ? ", " : "");
        add_quoted_name(s->conn, &q, c->item->name);
    }
    buf_printf(&q, ") AND " SML_NOT_SPREAD);
    buf_append(&q, "", 1);
    if (mysql_query(s->conn, q.data) != 0) {
        rc = sess_fail(s, SML_PHASE_UPDATE, mysql_errno(s->conn), mysql_error(s->conn), "batch of claims", err,
                       errlen);
    } else if (mysql_affected_rows(s->conn) != planned) {
        /* Cannot happen while we hold the rows' locks; never guess. */
        sess_end_quietly(s);
        snprintf(err, errlen, "mysql: %s: a batch of claims updated %llu rows, not %zu", ms->where,
                 (unsigned long long)mysql_affected_rows(s->conn), planned);
        rc = STORE_UNAVAILABLE;
    }
    buf_free(&q);
    return rc;
}

/* After the COMMIT: each range against this node's marks, as claim_op
 * does, and the marks of those served raised with one write. */
static void batch_settle(struct mysql_sess *s, struct claim_many_args *a, size_t planned)
{
    struct mysql_store *ms = s->ms;
    struct highwater_raise *raise = xcalloc(planned, sizeof(*raise));
    struct batch_claim **served = xcalloc(planned, sizeof(*served));
    char why[300];
    size_t i, m = 0;

    for (i = 0; i < a->n; i++) {
        struct batch_claim *c = &a->b[i];
        struct store_claim *it = c->item;
        if (!c->planned)
            continue;
        it->out->start = (uint64_t)c->start;
        it->out->count = c->n;
        it->out->period = c->period;
        struct highwater_mark mark, at = { seqdef_identity(&c->def), c->period, (uint64_t)c->start };
        if (highwater_below(ms->hw, it->name, &at, &mark)) {
            atomic_fetch_add(&ms->refused, 1);
            snprintf(it->err, it->errlen, "refused a claim of '%s' in period %" PRId64 " at %" PRId64 ": this "
                     "node has claimed up to %" PRIu64 " in period %" PRId64 " before (the database lost "
                     "transactions, as in a failover without a fence: see docs/reliability.md)",
                     it->name, c->period, c->start, mark.top, mark.period);
            it->status = STORE_REFUSED;
            continue;
        }
        raise[m].name = it->name;
        raise[m].mark = at;
        raise[m].mark.top = (uint64_t)c->start + c->n;
        served[m++] = c;
    }
    if (m > 0 && highwater_raise_many(ms->hw, raise, m, why, sizeof(why)) != 0)
        log_warn("%s", why);
    for (i = 0; i < m; i++) {
        struct store_claim *it = served[i]->item;
        if (raise[i].rc != 0) {
            /* Recorded in the store, not here: never served. */
            it->status = STORE_ERROR;
            snprintf(it->err, it->errlen, "%s", why);
        } else {
            it->out->def = served[i]->def;
        }
    }
    free(served);
    free(raise);
}

/* One transaction for a batch: lock the rows (SML_SQL_CLAIM_MANY), plan
 * each claim as claim_op would, one UPDATE, COMMIT, then the marks. An
 * item whose row is not read back spelled as it is runs alone after it
 * (a->alone). A failure before the end is every item's (sess_run may run
 * it all again: the plan starts afresh). */
static int claim_many_op(struct mysql_sess *s, void *arg, char *err, size_t errlen)
{
    struct claim_many_args *a = arg;
    size_t i, planned = 0;
    int rc;

    for (i = 0; i < a->n; i++) {
        a->b[i].planned = false;
        a->b[i].item->status = STORE_OK;
        a->b[i].item->err[0] = '\0';
        a->alone[a->b[i].item - a->items] = false;
    }
    if ((rc = batch_read(s, a, err, errlen)) != STORE_OK)
        return rc;
    for (i = 0; i < a->n; i++) {
        if (a->b[i].planned)
            planned++;
        else if (a->b[i].item->status == STORE_OK)
            a->alone[a->b[i].item - a->items] = true;     /* no row spelled so: alone */
    }
    if (planned == 0) {
        sess_end_quietly(s);
        return STORE_OK;
    }
    if ((rc = batch_update(s, a, planned, err, errlen)) != STORE_OK)
        return rc;
    if (mysql_commit(s->conn) != 0)
        return sess_fail(s, SML_PHASE_COMMIT, mysql_errno(s->conn), mysql_error(s->conn), "batch of claims",
                         err, errlen);
    batch_settle(s, a, planned);
    return STORE_OK;
}

static int my_claim_many(struct store *st, void *sess, struct store_claim *items, size_t n, char *err,
                         size_t errlen)
{
    const char **names = xcalloc(n ? n : 1, sizeof(*names));
    size_t *order = xcalloc(n ? n : 1, sizeof(*order));
    bool *alone = xcalloc(n ? n : 1, sizeof(*alone));
    struct batch_claim *b = xcalloc(n ? n : 1, sizeof(*b));
    size_t i, k;
    int rc = STORE_OK;

    for (i = 0; i < n; i++)
        names[i] = items[i].name;
    k = sml_claim_batch_split(names, n, order);
    /* Shortly after a batch conflicted, every claim runs alone: on rows
     * other nodes contend for (Galera), a batch only adds a rolled-back
     * round trip in front of them. */
    if (mono_ms() < atomic_load(&((struct mysql_sess *)sess)->ms->batch_off_until))
        k = 0;
    for (i = k; i < n; i++)
        alone[order[i]] = true;
    for (i = 0; i < n; i++)
        items[i].status = -1;                           /* not decided yet */
    for (size_t done = 0; done < k && rc == STORE_OK; done += SML_CLAIM_BATCH) {
        /* Each chunk is sorted too: a part of a sorted list. */
        struct claim_many_args a = { b + done, k - done < SML_CLAIM_BATCH ? k - done : SML_CLAIM_BATCH, alone,
                                     items };
        for (size_t j = 0; j < a.n; j++)
            b[done + j].item = &items[order[done + j]];
        rc = sess_run_op(sess, claim_many_op, &a, true, 0, err, errlen);
        if (rc == STORE_UNAVAILABLE && ((struct mysql_sess *)sess)->conflict) {
            /* Rolled back for a conflict (another node, Galera): its claims
             * run one by one, each with its own reruns, so that one hot row
             * does not hold back the others and whole batches do not keep
             * colliding. */
            atomic_fetch_add(&((struct mysql_sess *)sess)->ms->conflicts, 1);
            atomic_store(&((struct mysql_sess *)sess)->ms->batch_off_until, mono_ms() + SML_BATCH_OFF_MS);
            for (size_t j = 0; j < a.n; j++) {
                b[done + j].item->status = -1;
                alone[order[done + j]] = true;
            }
            rc = STORE_OK;
            continue;
        }
        if (rc != STORE_OK) {
            for (size_t j = 0; j < a.n; j++) {
                b[done + j].item->status = -1;          /* the chunk's failure is theirs */
                alone[order[done + j]] = false;
            }
        }
    }
    /* The rest one by one, after the batch: as claim() decides them. */
    for (i = 0; i < n && rc == STORE_OK; i++)
        if (alone[i])
            items[i].status = my_claim(st, sess, items[i].name, items[i].want, items[i].period, items[i].expect,
                                       items[i].out, items[i].err, items[i].errlen);
    /* What a failure kept from being decided fails with it. */
    size_t failed = 0;
    for (i = 0; i < n; i++) {
        if (items[i].status == -1) {
            items[i].status = rc;
            strlcpy_safe(items[i].err, err, items[i].errlen);
            failed++;
        }
    }
    if (failed < n)
        rc = STORE_OK;                                  /* each item has its own status */
    free(b);
    free(alone);
    free(order);
    free(names);
    return rc;
}

/* ---- give back ---------------------------------------------------------------- */

/* One give-back (a claim that landed for a deleted sequence) and many (a
 * graceful stop) are the same transaction: lock the rows, check each
 * against what the node claimed (give_back_check), set the ones that
 * still are back in one UPDATE, COMMIT. */

/* Does a give-back of [.., to) in `period`, claimed from definition
 * expect, apply to row (read under its lock)? STORE_OK; STORE_STALE when
 * the row is another definition (deleted and created again: a new row may
 * stand at `to` by chance), was claimed from since, or is in another
 * period; STORE_ERROR with err for a row seqd cannot read. */
static int give_back_check(const struct mysql_store *ms, const char *name, const struct sml_row *row,
                           const struct seqdef *expect, uint64_t to, int64_t period, char *err, size_t errlen)
{
    struct seqdef def;
    int64_t max_id;
    char why[300];

    if (sml_row_to_def(row, &ms->shape, &def, &max_id, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "mysql: %s: %s", ms->where, why);
        return STORE_ERROR;
    }
    strlcpy_safe(def.name, name, sizeof(def.name));      /* as claim_op */
    if (!seqdef_same(&def, expect) || max_id < 0 || (uint64_t)max_id != to || row->period != period)
        return STORE_STALE;
    return STORE_OK;
}

#define GIVE_BACK_BATCH 500           /* ranges per transaction */

struct give_back_many_args {
    struct store_give_back *items;
    size_t n;
};

static int give_back_item_cmp(const void *a, const void *b)
{
    return strcmp((*(struct store_give_back *const *)a)->name, (*(struct store_give_back *const *)b)->name);
}

/* "'a', 'b', ..." of the items' names, escaped for c. */
static void add_name_list(MYSQL *c, struct buf *b, struct store_give_back *const *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        buf_add_str(b, i ? ", " : "");
        add_quoted_name(c, b, items[i]->name);
    }
}

/* The item of sorted[0..n) for a row read back: its name exactly (a row
 * spelled otherwise matched only by the collation), or NULL. */
static struct store_give_back *give_back_find(struct store_give_back **sorted, size_t n,
                                              const struct sml_row *row)
{
    char name[SML_NAME_BUF + 1];
    size_t len = row->null[SML_COL_NAME] ? 0 : row->len[SML_COL_NAME];
    struct store_give_back key = { .name = name }, *kp = &key, **hit;

    if (len == 0 || len >= sizeof(row->name))
        return NULL;
    memcpy(name, row->name, len);
    name[len] = '\0';
    hit = bsearch(&kp, sorted, n, sizeof(*sorted), give_back_item_cmp);
    return hit ? *hit : NULL;
}

/* One chunk of the give-back's items: the rows read are checked. */
struct give_back_chunk {
    struct mysql_store *ms;
    struct store_give_back **items;
    size_t k;
};

static void give_back_read_row(struct mysql_sess *s, struct sml_row *row, void *arg)
{
    struct give_back_chunk *ch = arg;
    char why[1024];                 /* "mysql: " where (511) ": " a row's fault (300) */
    struct store_give_back *it = give_back_find(ch->items, ch->k, row);

    (void)s;
    if (it != NULL && it->from < it->to) {
        it->status = give_back_check(ch->ms, it->name, row, it->expect, it->to, it->period, why, sizeof(why));
        if (it->status == STORE_ERROR)
            log_warn("%s", why);
    }
}

/* Read and lock the rows of sorted[0..n) with SML_SQL_CLAIM_MANY
 * (SML_CLAIM_BATCH names at a time, in key order as a batch of claims
 * does) and set each item's status as give_back_check decides it (items
 * whose row is not read stay STORE_STALE). Returns STORE_OK (the
 * transaction still open) or a status with err. */
static int give_back_read(struct mysql_sess *s, struct store_give_back **sorted, size_t n, char *err,
                          size_t errlen)
{
    const char *names[SML_CLAIM_BATCH];

    for (size_t done = 0; done < n; done += SML_CLAIM_BATCH) {
        size_t k = n - done < SML_CLAIM_BATCH ? n - done : SML_CLAIM_BATCH;
        struct give_back_chunk ch = { s->ms, sorted + done, k };
        for (size_t i = 0; i < k; i++)
            names[i] = ch.items[i]->name;
        int rc = read_locked_rows(s, names, k, SML_PHASE_OTHER, "give-back", give_back_read_row, &ch, err,
                                  errlen);
        if (rc != STORE_OK)
            return rc;
    }
    return STORE_OK;
}

/* One transaction for up to GIVE_BACK_BATCH ranges: lock their rows, keep
 * the ones that are still the definition claimed from, at `to`, in their
 * period (give_back_check), set those back to `from` in one UPDATE,
 * COMMIT: store.h's compare-and-set, row by row. */
static int give_back_many_op(struct mysql_sess *s, void *arg, char *err, size_t errlen)
{
    struct give_back_many_args *a = arg;
    struct mysql_store *ms = s->ms;
    struct store_give_back **sorted = xcalloc(a->n, sizeof(*sorted));
    struct buf q;
    size_t i, matched = 0;
    int rc = STORE_OK;

    buf_init(&q);
    for (i = 0; i < a->n; i++) {
        sorted[i] = &a->items[i];
        sorted[i]->status = STORE_STALE;   /* unless its row is found as it was left */
    }
    qsort(sorted, a->n, sizeof(*sorted), give_back_item_cmp);
    rc = give_back_read(s, sorted, a->n, err, errlen);
    if (rc != STORE_OK) {
        for (i = 0; i < a->n; i++)
            a->items[i].status = STORE_STALE;
        goto out;
    }
    for (i = 0; i < a->n; i++)
        matched += a->items[i].status == STORE_OK;
    if (matched > 0) {
        buf_printf(&q, "UPDATE `%s` SET `max_id` = CASE `biz_tag`", ms->cfg.mysql_table);
        for (i = 0; i < a->n; i++) {
            if (sorted[i]->status != STORE_OK)
                continue;
            buf_add_str(&q, " WHEN ");
            add_quoted_name(s->conn, &q, sorted[i]->name);
            buf_printf(&q, " THEN %" PRIu64, sorted[i]->from);
        }
        buf_printf(&q, " END%s WHERE %s AND `biz_tag` IN (",
                   ms->shape.update_time ? ", `update_time` = `update_time`" : "", SML_NOT_SPREAD);
        size_t k = 0;
        for (i = 0; i < a->n; i++) {
            if (sorted[i]->status == STORE_OK)
                sorted[k++] = sorted[i];
        }
        add_name_list(s->conn, &q, sorted, k);
        buf_printf(&q, ")");
        buf_append(&q, "", 1);
        if (mysql_query(s->conn, q.data) != 0) {
            for (i = 0; i < a->n; i++)
                a->items[i].status = STORE_STALE;
            rc = sess_fail(s, SML_PHASE_OTHER, mysql_errno(s->conn), mysql_error(s->conn), "give-back", err,
                           errlen);
            goto out;
        }
    } else {
        sess_end_quietly(s);
        goto out;
    }
    if (mysql_commit(s->conn) != 0) {
        /* Given back or not: both are safe, the tails are ours no more. */
        sess_fail(s, SML_PHASE_COMMIT, mysql_errno(s->conn), mysql_error(s->conn), "give-back", err, errlen);
        for (i = 0; i < a->n; i++)
            if (a->items[i].status == STORE_OK)
                a->items[i].status = STORE_UNKNOWN;
        goto out;
    }
    /* The marks go down with the rows, in one write: a failure only
     * leaves them higher, which is safe. */
    struct highwater_lower_item *low = xcalloc(a->n, sizeof(*low));
    size_t nlow = 0;
    for (i = 0; i < a->n; i++) {
        struct store_give_back *it = &a->items[i];
        if (it->status == STORE_OK)
            low[nlow++] = (struct highwater_lower_item){ it->name, it->period, it->from, it->to };
    }
    char why[256];
    if (nlow > 0 && highwater_lower_many(ms->hw, low, nlow, why, sizeof(why)) != 0)
        log_warn("%s", why);
    free(low);
out:
    buf_free(&q);
    free(sorted);
    return rc;
}

static int my_give_back_many(struct store *st, void *sess, struct store_give_back *items, size_t n, char *err,
                             size_t errlen)
{
    for (size_t done = 0; done < n; done += GIVE_BACK_BATCH) {
        struct give_back_many_args a = { items + done, n - done < GIVE_BACK_BATCH ? n - done : GIVE_BACK_BATCH };
        int rc = sess_run(sess, give_back_many_op, &a, err, errlen);
        if (rc != STORE_OK)
            return rc;
    }
    return STORE_OK;
}

static int my_give_back(struct store *st, void *sess, const char *name, uint64_t from,
                        uint64_t to, int64_t period, const struct seqdef *expect, char *err, size_t errlen)
{
    struct store_give_back item = { name, from, to, period, expect, STORE_STALE };
    struct give_back_many_args a = { &item, 1 };

    if (from >= to || to > (uint64_t)INT64_MAX) {
        snprintf(err, errlen, "mysql: give-back of '%s': bad range [%" PRIu64 ", %" PRIu64 ")",
                 name, from, to);
        return STORE_ERROR;
    }
    int rc = sess_run(sess, give_back_many_op, &a, err, errlen);
    return rc != STORE_OK ? rc : item.status;
}

/* ---- create and drop ------------------------------------------------------------ */

static int create_op(struct mysql_sess *s, void *arg, char *err, size_t errlen)
{
    const struct seqdef *def = arg;
    struct mysql_store *ms = s->ms;
    MYSQL_BIND param[SML_COL_COUNT];
    unsigned long lens[SML_COL_COUNT];
    int64_t max_id = 0, step = (int64_t)def->segment, kind = def->kind, length = def->length;
    int64_t starting = def->starting, increment = def->increment, epoch = def->epoch_ms;
    uint64_t perm_key = def->perm_key;
    const char *auto_disk = sml_auto_disk_text(def->auto_disk);
    char what[SEQ_NAME_MAX + 32];
    MYSQL_STMT *st = NULL;
    int rc, i;

    snprintf(what, sizeof(what), "create of '%s'", def->name);
    rc = sess_stmt(s, SML_SQL_INSERT, SML_PHASE_OTHER, what, &st, err, errlen);
    if (rc != STORE_OK)
        return rc;
    for (i = 0; i < ms->sql.ninsert; i++) {
        switch (sml_insert_col(&ms->shape, i)) {
        case SML_COL_NAME:        bind_str(&param[i], def->name, &lens[i]); break;
        case SML_COL_MAX_ID:      bind_i64(&param[i], &max_id); break;   /* counters start at 0 */
        case SML_COL_STEP:        bind_i64(&param[i], &step); break;
        case SML_COL_DESCRIPTION: bind_str(&param[i], def->description, &lens[i]); break;
        case SML_COL_KIND:        bind_i64(&param[i], &kind); break;
        case SML_COL_LENGTH:      bind_i64(&param[i], &length); break;
        case SML_COL_STARTING:    bind_i64(&param[i], &starting); break;
        case SML_COL_INCREMENT:   bind_i64(&param[i], &increment); break;
        case SML_COL_PERM_KEY:    bind_u64(&param[i], &perm_key); break;
        case SML_COL_AUTO_DISK:   bind_str(&param[i], auto_disk, &lens[i]); break;
        case SML_COL_EPOCH:       bind_i64(&param[i], &epoch); break;
        case SML_COL_PREFIX:      bind_str(&param[i], def->prefix, &lens[i]); break;
        case SML_COL_TZ:          bind_str(&param[i], def->tz, &lens[i]); break;
        case SML_COL_PERIOD:      /* never inserted: a new row has no period yet */
        case SML_COL_COUNT:       break;
        }
    }
    if (mysql_stmt_bind_param(st, param) != 0 || mysql_stmt_execute(st) != 0) {
        rc = sess_stmt_fail(s, st, SML_PHASE_OTHER, what, err, errlen);
        if (rc == STORE_EXISTS)
            snprintf(err, errlen, "sequence '%s' already exists (redefining is an error: "
                     "DEL it first)", def->name);
        return rc;
    }
    if (mysql_commit(s->conn) != 0) {
        sess_fail(s, SML_PHASE_COMMIT, mysql_errno(s->conn), mysql_error(s->conn),
                  what, err, errlen);
        snprintf(err, errlen, "mysql: the connection broke while creating '%s': it may or "
                 "may not exist now (check with EXISTS)", def->name);
        return STORE_UNAVAILABLE;
    }
    return STORE_OK;
}

static int my_create(struct store *st, void *sess, const struct seqdef *def, char *err, size_t errlen)
{
    struct mysql_sess *s = sess;

    if (sml_table_can_hold(&s->ms->shape, def, s->ms->where, err, errlen) < 0)
        return STORE_ERROR;
    if (def->segment > INT32_MAX) {
        snprintf(err, errlen, "segment %" PRIu64 " does not fit the table's step column (INT)",
                 def->segment);
        return STORE_ERROR;
    }
    return sess_run(s, create_op, (void *)def, err, errlen);
}

static int drop_op(struct mysql_sess *s, void *arg, char *err, size_t errlen)
{
    const char *name = arg;
    MYSQL_BIND param[1];
    unsigned long name_len;
    char what[SEQ_NAME_MAX + 32];
    MYSQL_STMT *st = NULL;
    int rc;

    snprintf(what, sizeof(what), "drop of '%s'", name);
    rc = sess_stmt(s, SML_SQL_DELETE, SML_PHASE_OTHER, what, &st, err, errlen);
    if (rc != STORE_OK)
        return rc;
    bind_str(&param[0], name, &name_len);
    if (mysql_stmt_bind_param(st, param) != 0 || mysql_stmt_execute(st) != 0)
        return sess_stmt_fail(s, st, SML_PHASE_OTHER, what, err, errlen);
    if (mysql_stmt_affected_rows(st) == 0) {
        sess_end_quietly(s);
        snprintf(err, errlen, "no such sequence '%s' in %s", name, s->ms->where);
        return STORE_NOT_FOUND;
    }
    if (mysql_commit(s->conn) != 0) {
        sess_fail(s, SML_PHASE_COMMIT, mysql_errno(s->conn), mysql_error(s->conn),
                  what, err, errlen);
        snprintf(err, errlen, "mysql: the connection broke while deleting '%s': it may or "
                 "may not exist now (check with EXISTS)", name);
        return STORE_UNAVAILABLE;
    }
    if (highwater_forget(s->ms->hw, name, err, errlen) != 0)
        log_warn("%s", err);
    return STORE_OK;
}

static int my_drop(struct store *st, void *sess, const char *name, char *err, size_t errlen)
{
    return sess_run(sess, drop_op, (void *)name, err, errlen);
}

/* ---- lookup and list -------------------------------------------------------------- */

struct lookup_args {
    const char *name;
    struct seqdef *def;
};

static int lookup_op(struct mysql_sess *s, void *arg, char *err, size_t errlen)
{
    struct lookup_args *a = arg;
    struct mysql_store *ms = s->ms;
    struct row_binds rb;
    struct sml_row row;
    MYSQL_BIND param[1];
    unsigned long name_len;
    char what[SEQ_NAME_MAX + 32], why[300];
    MYSQL_STMT *st = NULL;
    int64_t max_id;
    int rc, found;

    snprintf(what, sizeof(what), "look-up of '%s'", a->name);
    rc = sess_stmt(s, SML_SQL_LOOKUP, SML_PHASE_OTHER, what, &st, err, errlen);
    if (rc != STORE_OK)
        return rc;
    bind_str(&param[0], a->name, &name_len);
    bind_row(&rb, &row, ms->sql.nselect);
    if (mysql_stmt_bind_param(st, param) != 0 || mysql_stmt_execute(st) != 0 ||
        mysql_stmt_bind_result(st, rb.b) != 0)
        return sess_stmt_fail(s, st, SML_PHASE_OTHER, what, err, errlen);
    found = stmt_fetch_one(st);
    if (found < 0)
        return sess_stmt_fail(s, st, SML_PHASE_OTHER, what, err, errlen);
    /* End the read-only transaction: an open one would hold the table's
     * metadata lock and block an ALTER TABLE (e.g. upgrade-from-leaf). */
    sess_end_quietly(s);
    if (found == 0) {
        snprintf(err, errlen, "no such sequence '%s' in %s", a->name, ms->where);
        return STORE_NOT_FOUND;
    }
    row_flags(&rb, &row, ms->sql.nselect);
    if (sml_row_to_def(&row, &ms->shape, a->def, &max_id, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "mysql: %s: %s", ms->where, why);
        return STORE_ERROR;
    }
    strlcpy_safe(a->def->name, a->name, sizeof(a->def->name));   /* as in claim_op */
    return STORE_OK;
}

static int my_lookup(struct store *st, void *sess, const char *name, struct seqdef *def,
                     char *err, size_t errlen)
{
    struct lookup_args a = { name, def };
    return sess_run_read(sess, lookup_op, &a, err, errlen);
}

struct list_args {
    store_list_fn *each;
    void *arg;
    struct store_rescan *rescan;      /* NULL: list every row */
};

/* What tells whether a row may have been deleted since the last count:
 * which server this is, and its Handler_delete (rows deleted, by clients
 * and by replication alike), Innodb_rows_deleted (MySQL's) and
 * Com_truncate, all server-wide: a delete anywhere changes them. The same
 * stamp means no row of the table was deleted in between, and COUNT(*),
 * which reads a whole index of the table, can be skipped. "" when it
 * cannot be read (then every rescan counts). */
/* The count itself; stamp is what deletion_stamp() read before it. */
static int count_rows_now(struct mysql_sess *s, struct store_rescan *r, const char *stamp, char *err,
                          size_t errlen)
{
    MYSQL_STMT *st = NULL;
    MYSQL_BIND res[2];
    int64_t rows = 0, now = 0;
    int rc = sess_stmt(s, SML_SQL_ROWS, SML_PHASE_OTHER, "rescan", &st, err, errlen);

    if (rc != STORE_OK)
        return rc;
    memset(res, 0, sizeof(res));
    bind_i64(&res[0], &rows);
    bind_i64(&res[1], &now);
    if (mysql_stmt_execute(st) != 0 || mysql_stmt_bind_result(st, res) != 0 || stmt_fetch_one(st) != 1)
        return sess_stmt_fail(s, st, SML_PHASE_OTHER, "rescan", err, errlen);
    r->rows = rows > 0 ? (uint64_t)rows : 0;
    r->now_s = now;
    r->counted = true;
    pthread_mutex_lock(&s->ms->count_lock);
    strlcpy_safe(s->ms->count_stamp, stamp, sizeof(s->ms->count_stamp));
    pthread_mutex_unlock(&s->ms->count_lock);
    return STORE_OK;
}

static void deletion_stamp(MYSQL *c, char *out, size_t len)
{
    static const char *const queries[] = {
        "SELECT @@hostname, @@port, @@server_id",
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Handler_delete', 'Innodb_rows_deleted', 'Com_truncate')",
    };
    size_t used = 0;

    out[0] = '\0';
    for (size_t q = 0; q < ARRAY_SIZE(queries); q++) {
        MYSQL_RES *res;
        if (mysql_query(c, queries[q]) != 0 || (res = mysql_store_result(c)) == NULL) {
            out[0] = '\0';
            return;
        }
        unsigned nf = mysql_num_fields(res);
        MYSQL_ROW row;
        while ((row = mysql_fetch_row(res)) != NULL) {
            for (unsigned f = 0; f < nf && used < len; f++)
                used += (size_t)snprintf(out + used, len - used, "%s ", row[f] ? row[f] : "NULL");
        }
        mysql_free_result(res);
    }
    if (used >= len)
        out[0] = '\0';                /* cut: not to be trusted */
}

/* SML_SQL_ROWS: the rows of the table and the server's clock. A changed-
 * rows rescan skips the count when deletion_stamp says nothing was
 * deleted since the last one (r->counted false), and only reads the clock. */
static int count_rows(struct mysql_sess *s, struct store_rescan *r, char *err, size_t errlen)
{
    struct mysql_store *ms = s->ms;
    char stamp[sizeof(ms->count_stamp)];

    deletion_stamp(s->conn, stamp, sizeof(stamp));
    pthread_mutex_lock(&ms->count_lock);
    bool same = stamp[0] != '\0' && strcmp(stamp, ms->count_stamp) == 0;
    pthread_mutex_unlock(&ms->count_lock);
    if (same && r->since_s > 0) {
        MYSQL_RES *res;
        MYSQL_ROW row;
        if (mysql_query(s->conn, "SELECT UNIX_TIMESTAMP()") != 0 || (res = mysql_store_result(s->conn)) == NULL)
            return sess_fail(s, SML_PHASE_OTHER, mysql_errno(s->conn), mysql_error(s->conn), "rescan", err,
                             errlen);
        row = mysql_fetch_row(res);
        r->now_s = row && row[0] ? strtoll(row[0], NULL, 10) : 0;
        mysql_free_result(res);
        r->counted = false;
        return r->now_s > 0 ? STORE_OK : count_rows_now(s, r, stamp, err, errlen);
    }
    return count_rows_now(s, r, stamp, err, errlen);
}

/* Every row (SML_SQL_LIST), or for a rescan the rows whose update_time
 * moved since r->since_s (SML_SQL_LIST_CHANGED). Rows are streamed from
 * the server to each() as they come, never held all at once. */
static int list_op(struct mysql_sess *s, void *arg, char *err, size_t errlen)
{
    struct list_args *a = arg;
    struct mysql_store *ms = s->ms;
    struct row_binds rb;
    struct sml_row row;
    struct seqdef def;
    char why[300];
    MYSQL_STMT *st = NULL;
    MYSQL_BIND param[1];
    int64_t max_id, since = 0;
    int rc, r;
    unsigned bad = 0;
    bool changed_only = false;

    if (a->rescan) {
        if ((rc = count_rows(s, a->rescan, err, errlen)) != STORE_OK)
            return rc;
        changed_only = a->rescan->since_s > 0 && ms->shape.update_time;
        a->rescan->full = !changed_only;
        since = a->rescan->since_s;
    }
    rc = sess_stmt(s, changed_only ? SML_SQL_LIST_CHANGED : SML_SQL_LIST, SML_PHASE_OTHER, "list", &st, err,
                   errlen);
    if (rc != STORE_OK)
        return rc;
    bind_row(&rb, &row, ms->sql.nselect);
    if (changed_only)
        bind_i64(&param[0], &since);
    if ((changed_only && mysql_stmt_bind_param(st, param) != 0) || mysql_stmt_execute(st) != 0 ||
        mysql_stmt_bind_result(st, rb.b) != 0)
        return sess_stmt_fail(s, st, SML_PHASE_OTHER, "list", err, errlen);
    pthread_mutex_lock(&ms->warned_lock);
    if (!changed_only)
        sml_warned_begin(&ms->warned);
    while ((r = mysql_stmt_fetch(st)) == 0 || r == MYSQL_DATA_TRUNCATED) {
        row_flags(&rb, &row, ms->sql.nselect);
        if (sml_row_to_def(&row, &ms->shape, &def, &max_id, why, sizeof(why)) < 0) {
            /* One bad row must not hide the others; say which, at most a
             * few per pass, and each only when it is new or changed. */
            if (sml_warned_check(&ms->warned, &row, bad < 5)) {
                bad++;
                log_warn("mysql: %s: skipping %s", ms->where, why);
            }
        } else {
            a->each(&def, a->arg);
        }
        memset(&row, 0, sizeof(row));
    }
    if (r != 1 && !changed_only)
        sml_warned_end(&ms->warned);
    pthread_mutex_unlock(&ms->warned_lock);
    if (r == 1)
        return sess_stmt_fail(s, st, SML_PHASE_OTHER, "list", err, errlen);
    mysql_stmt_free_result(st);
    sess_end_quietly(s);               /* may close st: it is not used after */
    return STORE_OK;
}

static int my_rescan(struct store *st, void *sess, struct store_rescan *r, store_list_fn *each, void *arg,
                     char *err, size_t errlen)
{
    struct list_args a = { each, arg, r };
    return sess_run_read(sess, list_op, &a, err, errlen);
}

static int my_list(struct store *st, void *sess, store_list_fn *each, void *arg,
                   char *err, size_t errlen)
{
    struct list_args a = { each, arg, NULL };
    return sess_run_read(sess, list_op, &a, err, errlen);
}

/* ---- open, close, sessions ------------------------------------------------------ */

/* Read the table's column names (information_schema) and decide its shape.
 * Returns 0, or -1 with a message saying what to do. */
static int my_read_shape(MYSQL *c, struct mysql_store *ms, char *err, size_t errlen)
{
    const struct config *cfg = &ms->cfg;
    char (*names)[65] = xcalloc(MYSQL_MAX_COLUMNS, sizeof(*names));
    const char *cols[MYSQL_MAX_COLUMNS];
    char colbuf[65], why[300];
    unsigned long name_len, col_len = 0;
    mysql_flag col_null = 0;
    MYSQL_BIND param[1], result[1];
    MYSQL_STMT *st = mysql_stmt_init(c);
    size_t n = 0;
    int r, rc = -1;

    if (st == NULL) {
        snprintf(err, errlen, "mysql: %s", mysql_error(c));
        free(names);
        return -1;
    }
    bind_str(&param[0], cfg->mysql_table, &name_len);
    memset(result, 0, sizeof(result));
    result[0].buffer_type = MYSQL_TYPE_STRING;
    result[0].buffer = colbuf;
    result[0].buffer_length = sizeof(colbuf) - 1;
    result[0].length = &col_len;
    result[0].is_null = &col_null;
    if (mysql_stmt_prepare(st, SML_SQL_COLUMNS, strlen(SML_SQL_COLUMNS)) != 0 ||
        mysql_stmt_bind_param(st, param) != 0 || mysql_stmt_execute(st) != 0 ||
        mysql_stmt_bind_result(st, result) != 0) {
        snprintf(err, errlen, "mysql: reading the columns of %s: %s [%u]", ms->where,
                 mysql_stmt_error(st), mysql_stmt_errno(st));
        goto out;
    }
    while ((r = mysql_stmt_fetch(st)) == 0 || r == MYSQL_DATA_TRUNCATED) {
        size_t len = col_len < sizeof(colbuf) - 1 ? col_len : sizeof(colbuf) - 1;
        if (n == MYSQL_MAX_COLUMNS || col_null)
            continue;
        memcpy(names[n], colbuf, len);
        names[n][len] = '\0';
        cols[n] = names[n];
        n++;
    }
    if (r == 1) {
        snprintf(err, errlen, "mysql: reading the columns of %s: %s [%u]", ms->where,
                 mysql_stmt_error(st), mysql_stmt_errno(st));
        goto out;
    }
    if (n == 0) {
        snprintf(err, errlen, "mysql: table %s not found: create it with "
                 "`mysql %s < sql/schema.sql` (or fix store.mysql.table, or grant the "
                 "user access to it)", ms->where, cfg->mysql_database);
        goto out;
    }
    if (sml_shape_from_columns(cols, n, &ms->shape, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "mysql: table %s: %s", ms->where, why);
        goto out;
    }
    rc = 0;
out:
    mysql_stmt_close(st);
    free(names);
    return rc;
}

/* Run one of the reserved row's statements (sml_sql.spread) with the
 * given parameters (or none) and fetch at most one row into result (or
 * none). Returns 1 a row, 0 none, -1 with the error in err. */
static int my_spread_stmt(MYSQL *c, struct mysql_store *ms, enum sml_spread_stmt idx, MYSQL_BIND *param,
                          MYSQL_BIND *result, char *err, size_t errlen)
{
    const char *sql = ms->sql.spread[idx];
    MYSQL_STMT *st = mysql_stmt_init(c);
    int found = -1;

    if (st == NULL) {
        snprintf(err, errlen, "mysql: %s", mysql_error(c));
        return -1;
    }
    if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0 || (param && mysql_stmt_bind_param(st, param) != 0) ||
        mysql_stmt_execute(st) != 0 || (result && mysql_stmt_bind_result(st, result) != 0))
        goto fail;
    found = result ? stmt_fetch_one(st) : 0;
    if (found >= 0) {
        mysql_stmt_close(st);
        return found;
    }
fail:
    snprintf(err, errlen, "mysql: %s: reading or writing the id_step/id_offset row (biz_tag ''): %s [%u]",
             ms->where, mysql_stmt_error(st), mysql_stmt_errno(st));
    mysql_stmt_close(st);
    return -1;
}

/* The reserved row's id_step (step) and id_offset (max_id). Returns 1
 * with *out, 0 when there is none, -1 with the error in err. */
static int my_spread_read(MYSQL *c, struct mysql_store *ms, struct store_spread *out,
                          char *err, size_t errlen)
{
    int64_t step = 0, offset = 0;
    MYSQL_BIND result[2];
    int found;

    bind_i64(&result[0], &step);
    bind_i64(&result[1], &offset);
    found = my_spread_stmt(c, ms, SML_SPREAD_SELECT, NULL, result, err, errlen);
    if (found == 1 && (step < 1 || offset < 0 || offset >= step)) {
        snprintf(err, errlen, "mysql: %s: the id_step/id_offset row (biz_tag '') holds step %" PRId64
                 ", max_id %" PRId64 ", which is no id_step and id_offset (1 <= id_offset + 1 <= "
                 "id_step); restore the values this table was started with", ms->where, step, offset);
        return -1;
    }
    out->step = (uint64_t)step;
    out->offset = (uint64_t)offset;
    return found;
}

/* Checks the configuration's id_step and id_offset against the table's
 * reserved row, and records them on the table's first start
 * (store_spread_check). Two nodes starting at once on a new table: one
 * INSERT wins, and both compare with what it wrote. Returns 0, or -1 with
 * the reason in err. */
static int my_spread_check(MYSQL *c, struct mysql_store *ms, const struct config *cfg,
                           char *err, size_t errlen)
{
    const struct store_spread config = { cfg->id_step, cfg->id_offset };
    struct store_spread recorded;
    int64_t step = (int64_t)config.step, offset = (int64_t)config.offset, one = 0;
    MYSQL_BIND param[2], result[1];
    char where[CONFIG_STR_MAX * 2 + 64];
    int found, any;

    snprintf(where, sizeof(where), "table %s (the row with biz_tag '')", ms->where);
    found = my_spread_read(c, ms, &recorded, err, errlen);
    if (found == 0) {
        bind_i64(&result[0], &one);
        any = my_spread_stmt(c, ms, SML_SPREAD_ANY, NULL, result, err, errlen);
        if (any < 0)
            return -1;
        switch (store_spread_check(NULL, any == 1, &config, where, err, errlen)) {
        case STORE_SPREAD_REFUSE:
            return -1;
        case STORE_SPREAD_MATCHES:
        case STORE_SPREAD_RECORD:
            break;
        }
        bind_i64(&param[0], &step);
        bind_i64(&param[1], &offset);
        if (my_spread_stmt(c, ms, SML_SPREAD_INSERT, param, NULL, err, errlen) < 0)
            return -1;
        if (mysql_commit(c) != 0) {
            snprintf(err, errlen, "mysql: %s: recording id_step and id_offset: %s [%u]", ms->where,
                     mysql_error(c), mysql_errno(c));
            return -1;
        }
        found = my_spread_read(c, ms, &recorded, err, errlen);
        if (found == 0)
            snprintf(err, errlen, "mysql: %s: the id_step/id_offset row (biz_tag '') is gone right "
                     "after it was written; is something deleting rows?", ms->where);
        if (found == 1 && recorded.step == config.step && recorded.offset == config.offset)
            log_notice("mysql: %s records id_step %" PRIu64 ", id_offset %" PRIu64 " (the row with "
                       "biz_tag '')", ms->where, config.step, config.offset);
    }
    if (found < 1)
        return -1;
    return store_spread_check(&recorded, true, &config, where, err, errlen) == STORE_SPREAD_MATCHES ? 0 : -1;
}

/* This node's marks (highwater.h), in store.mysql.state_dir or
 * <store.dir>/mysql-state, and the failover fence: the first check runs
 * now, on the start-up connection, so a failover is fenced (or reported)
 * before the port opens; it is not fatal, the store threads check again. */
static int my_open_fence(MYSQL *c, struct mysql_store *ms, const struct config *cfg, char *err, size_t errlen)
{
    char dir[CONFIG_STR_MAX + 16];

    if (cfg->mysql_state_dir[0])
        strlcpy_safe(dir, cfg->mysql_state_dir, sizeof(dir));
    else if (cfg->store_dir[0]) {
        /* store.dir is the file store's; with mysql it only holds this. */
        if (mkdir(cfg->store_dir, 0750) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create store.dir %s for the state directory: %s", cfg->store_dir,
                     strerror(errno));
            return -1;
        }
        snprintf(dir, sizeof(dir), "%s/mysql-state", cfg->store_dir);
    }
    else {
        snprintf(err, errlen, "store.mysql.state_dir (or store.dir) must be set: this node keeps its "
                 "high-water marks there");
        return -1;
    }
    ms->hw = highwater_open(dir, err, errlen);
    if (ms->hw == NULL)
        return -1;
    if (highwater_count(ms->hw) > 0)
        log_notice("mysql: %zu high-water marks in %s", highwater_count(ms->hw), dir);

    ms->fence.table = ms->cfg.mysql_table;
    ms->fence.shape = ms->shape;
    ms->fence.gap = config_failover_gap(cfg);
    ms->fence.manual = strcmp(cfg->mysql_failover, "manual") == 0;
    ms->fence.worker_hold_ms = LEASE_RESERVE_AHEAD_MS + LEASE_SKEW_MS;

    struct mysql_sess s = { .ms = ms, .conn = c };
    char why[512];
    if (sess_check_server(&s, why, sizeof(why)) != STORE_OK)
        log_warn("%s (the store threads will check again)", why);
    return s.conn == NULL ? -2 : 0;   /* NULL: sess_fail closed it */
}

static int my_open(struct store *st, const struct config *cfg, char *err, size_t errlen)
{
    struct mysql_store *ms;
    struct sml_verdict v;
    char msg[256], why[300], what[CONFIG_STR_MAX * 3], shown[CONFIG_STR_MAX];
    unsigned code;
    MYSQL *c = NULL;
    int i;

    if (!config_table_name_ok(cfg->mysql_table)) {
        snprintf(err, errlen, "store.mysql.table '%s' must be 1..%d characters of "
                 "A-Z a-z 0-9 _", str_printable(cfg->mysql_table, strlen(cfg->mysql_table),
                                                shown, sizeof(shown)), CONFIG_TABLE_NAME_MAX);
        return -1;
    }
    if (cfg->mysql_database[0] == '\0') {
        snprintf(err, errlen, "store.mysql.database must be set");
        return -1;
    }
    if (mysql_library_init(0, NULL, NULL) != 0) {
        snprintf(err, errlen, "mysql: the client library failed to initialise");
        return -1;
    }
    ms = xcalloc(1, sizeof(*ms));
    ms->cfg = *cfg;
    snprintf(ms->where, sizeof(ms->where), "%s.%s", cfg->mysql_database, cfg->mysql_table);
    atomic_init(&ms->down, false);
    pthread_mutex_init(&ms->warned_lock, NULL);
    pthread_mutex_init(&ms->count_lock, NULL);
    pthread_mutex_init(&ms->server_lock, NULL);

    c = mysql_connect(cfg, &code, msg, sizeof(msg));
    if (c == NULL) {
        sml_classify(code, SML_PHASE_CONNECT, &v);
        if (cfg->mysql_socket[0])
            snprintf(what, sizeof(what), "cannot connect as '%s' through socket %s",
                     cfg->mysql_user, cfg->mysql_socket);
        else
            snprintf(what, sizeof(what), "cannot connect as '%s' to %s:%d",
                     cfg->mysql_user, cfg->mysql_host, cfg->mysql_port);
        mysql_format_error(err, errlen, what, code, msg, v.hint);
        goto fail;
    }
    if (my_read_shape(c, ms, err, errlen) < 0)
        goto fail;
    if (sml_build_sql(&ms->sql, cfg->mysql_table, &ms->shape, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "mysql: %s", why);
        goto fail;
    }
    /* Prepare every statement once now, so that a table the server sees
     * differently (types, rights) fails at start-up, not on first use. */
    for (i = 0; i < SML_SQL_COUNT; i++) {
        if (ms->sql.text[i][0] == '\0')
            continue;                 /* not in this shape (SML_SQL_CLAIM_PERIOD) */
        MYSQL_STMT *s = mysql_stmt_init(c);
        if (s == NULL || mysql_stmt_prepare(s, ms->sql.text[i], strlen(ms->sql.text[i])) != 0) {
            sml_classify(s ? mysql_stmt_errno(s) : mysql_errno(c), SML_PHASE_OTHER, &v);
            snprintf(what, sizeof(what), "table %s cannot be used", ms->where);
            mysql_format_error(err, errlen, what, s ? mysql_stmt_errno(s) : mysql_errno(c),
                               s ? mysql_stmt_error(s) : mysql_error(c), v.hint);
            if (s)
                mysql_stmt_close(s);
            goto fail;
        }
        mysql_stmt_close(s);
    }
    if (my_spread_check(c, ms, cfg, err, errlen) < 0)
        goto fail;
    mysql_rollback(c);
    int fenced = my_open_fence(c, ms, cfg, err, errlen);
    if (fenced == -1)
        goto fail;
    if (fenced == 0)
        mysql_close(c);               /* else the check's error closed it */
    c = NULL;
    log_notice("mysql: using table %s (%s) as %s", ms->where,
               !ms->shape.seqd_columns ? "Leaf's columns only: type 3 sequences from 0 by 1" :
               ms->shape.kind_columns ? "seqd's columns" :
               "seqd's columns without epoch, prefix, tz, period: types 1 to 3; "
               "sql/upgrade-kinds.sql adds types 4 and 5",
               cfg->mysql_user);
    st->priv = ms;
    return 0;

fail:
    if (c)
        mysql_close(c);
    highwater_close(ms->hw);
    pthread_mutex_destroy(&ms->server_lock);
    pthread_mutex_destroy(&ms->warned_lock);
    pthread_mutex_destroy(&ms->count_lock);
    free(ms);
    mysql_library_end();
    return -1;
}

/* After every session has been closed (the store pool has stopped). */
static void my_close(struct store *st)
{
    struct mysql_store *ms = st->priv;

    sml_warned_free(&ms->warned);
    highwater_close(ms->hw);
    pthread_mutex_destroy(&ms->server_lock);
    pthread_mutex_destroy(&ms->warned_lock);
    pthread_mutex_destroy(&ms->count_lock);
    free(st->priv);
    st->priv = NULL;
    mysql_library_end();
}

/* Runs on the store thread that will use the session: the client library
 * keeps per-thread state. Connects lazily, on the first call. */
static void *my_session_open(struct store *st)
{
    struct mysql_sess *s;

    mysql_thread_init();
    s = xcalloc(1, sizeof(*s));
    s->ms = st->priv;
    return s;
}

static void my_session_close(struct store *st, void *sess)
{
    struct mysql_sess *s = sess;

    if (s != NULL) {
        if (s->conn != NULL)
            sess_end_quietly(s);
        sess_drop(s);
        free(s);
    }
    mysql_thread_end();
}

/* ---- type 5's worker leases (seqd_workers) -------------------------------- */

/* The table is fixed (sql/schema.sql); its times are the DB's clock in ms,
 * so nodes' clocks never decide whose lease has run out. As for the
 * segments table, every value is a bound parameter (the holder is data,
 * never SQL text); the statements are prepared on first use in
 * s->lease_stmt and closed with the connection (sess_drop). */
#define WORKERS_TABLE "seqd_workers"
#define DB_NOW_MS "CAST(ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED)"

static const char *const lease_sql[LEASE_SQL_COUNT] = {
    /* ? id_step, ? id_offset: every allowed row, locked */
    [LEASE_SQL_SCAN] = "SELECT " DB_NOW_MS ", worker_id, generation, lease_until_ms, reserved_ms FROM "
                       WORKERS_TABLE " WHERE worker_id % ? = ? ORDER BY worker_id FOR UPDATE",
    /* the DB's clock alone, when the scan found no row */
    [LEASE_SQL_NOW] = "SELECT " DB_NOW_MS,
    [LEASE_SQL_INSERT] = "INSERT INTO " WORKERS_TABLE " (worker_id, holder, generation, lease_until_ms, "
                         "reserved_ms) VALUES (?, ?, ?, ?, ?)",
    [LEASE_SQL_TAKE] = "UPDATE " WORKERS_TABLE " SET holder = ?, generation = ?, lease_until_ms = ?, "
                       "reserved_ms = ? WHERE worker_id = ?",
    /* ? ttl, ? reserve, ? worker_id, ? generation: only a lease still ours and not expired */
    [LEASE_SQL_RENEW] = "UPDATE " WORKERS_TABLE " SET lease_until_ms = " DB_NOW_MS " + ?, "
                        "reserved_ms = GREATEST(reserved_ms, ?) WHERE worker_id = ? AND generation = ? "
                        "AND lease_until_ms >= " DB_NOW_MS,
    /* ? reserve, ? worker_id, ? generation */
    [LEASE_SQL_RELEASE] = "UPDATE " WORKERS_TABLE " SET lease_until_ms = 0, reserved_ms = ? "
                          "WHERE worker_id = ? AND generation = ?",
};

/* Prepare (on first use), bind param and execute lease statement idx.
 * Returns STORE_OK with *out, or a status with err set. */
static int lease_exec(struct mysql_sess *s, enum lease_stmt idx, MYSQL_BIND *param, const char *what,
                      MYSQL_STMT **out, char *err, size_t errlen)
{
    MYSQL_STMT *st;
    int rc = sess_prepare(s, &s->lease_stmt[idx], lease_sql[idx], SML_PHASE_OTHER, what, &st, err, errlen);

    if (rc != STORE_OK)
        return rc;
    if ((param != NULL && mysql_stmt_bind_param(st, param) != 0) || mysql_stmt_execute(st) != 0)
        return sess_stmt_fail(s, st, SML_PHASE_OTHER, what, err, errlen);
    *out = st;
    return STORE_OK;
}

static int lease_commit(struct mysql_sess *s, const char *what, char *err, size_t errlen)
{
    if (mysql_commit(s->conn) != 0) {
        sess_fail(s, SML_PHASE_COMMIT, mysql_errno(s->conn), mysql_error(s->conn), what, err, errlen);
        return STORE_UNKNOWN;
    }
    return STORE_OK;
}

/* What the scan found: one ACQUIRE's scratch (32 KB, on the heap). */
struct lease_scan {
    uint64_t db_now;                  /* the DB's clock, ms; 0: no row seen */
    struct {
        bool exists;
        uint64_t generation, until_ms, reserved_ms;
    } w[SNOWFLAKE_WORKERS];
};

/* Run LEASE_SQL_SCAN (locking the rows it reads, until the transaction
 * ends) and fill sc. Returns STORE_OK or a status with err set. */
static int lease_scan(struct mysql_sess *s, const struct worker_lease *l, struct lease_scan *sc,
                      const char *what, char *err, size_t errlen)
{
    MYSQL_STMT *st;
    MYSQL_BIND param[2], res[5];
    int64_t step = l->id_step, offset = l->id_offset;
    uint64_t col[5];                  /* now, worker_id, generation, lease_until_ms, reserved_ms */
    int c, r, rc;

    bind_i64(&param[0], &step);
    bind_i64(&param[1], &offset);
    if ((rc = lease_exec(s, LEASE_SQL_SCAN, param, what, &st, err, errlen)) != STORE_OK)
        return rc;
    for (c = 0; c < 5; c++)
        bind_u64(&res[c], &col[c]);
    if (mysql_stmt_bind_result(st, res) != 0)
        return sess_stmt_fail(s, st, SML_PHASE_OTHER, what, err, errlen);
    while ((r = mysql_stmt_fetch(st)) == 0 || r == MYSQL_DATA_TRUNCATED) {
        uint64_t w = col[1];
        sc->db_now = col[0];
        if (w >= SNOWFLAKE_WORKERS)
            continue;
        sc->w[w].exists = true;
        sc->w[w].generation = col[2];
        sc->w[w].until_ms = col[3];
        sc->w[w].reserved_ms = col[4];
    }
    if (r == 1)
        return sess_stmt_fail(s, st, SML_PHASE_OTHER, what, err, errlen);
    mysql_stmt_free_result(st);
    if (sc->db_now != 0)
        return STORE_OK;

    /* No rows: ask the clock alone. */
    if ((rc = lease_exec(s, LEASE_SQL_NOW, NULL, what, &st, err, errlen)) != STORE_OK)
        return rc;
    bind_u64(&res[0], &sc->db_now);
    if (mysql_stmt_bind_result(st, res) != 0 || stmt_fetch_one(st) != 1)
        return sess_stmt_fail(s, st, SML_PHASE_OTHER, what, err, errlen);
    return STORE_OK;
}

/* ACQUIRE in one transaction: lock every allowed row, take the lowest id
 * that has no row or whose lease ended skew_ms ago by the DB's clock. */
static int lease_acquire_op(struct mysql_sess *s, struct worker_lease *l, char *err, size_t errlen)
{
    const char *what = "worker lease";
    struct lease_scan *sc = xcalloc(1, sizeof(*sc));
    MYSQL_BIND param[5];
    MYSQL_STMT *st;
    unsigned long holder_len;
    uint64_t floor = 0, generation = 1, until, reserve;
    int64_t wid;
    int w = -1, rc;
    bool insert;

    if ((rc = lease_scan(s, l, sc, what, err, errlen)) != STORE_OK)
        goto out;
    /* The lowest free id whose reservation is not ahead of what this node
     * would reserve itself; else the free id reserved least far ahead. A
     * node whose clock once ran an hour fast left its id reserved an hour
     * into the future: taking that id would make this node wait the hour
     * for ids another free id gives it now. */
    uint64_t least = UINT64_MAX;
    for (int i = 0;; i++) {
        int cand = snowflake_worker_nth(l->id_step, l->id_offset, i);
        if (cand < 0)
            break;
        if (sc->w[cand].exists && sc->w[cand].until_ms + l->skew_ms >= sc->db_now)
            continue;                               /* leased by a live node */
        uint64_t reserved = sc->w[cand].exists ? sc->w[cand].reserved_ms : 0;
        if (reserved <= l->reserve_ms) {
            w = cand;
            break;
        }
        if (reserved < least) {
            least = reserved;
            w = cand;
        }
    }
    if (w < 0) {
        sess_end_quietly(s);
        l->exhausted = true;
        snprintf(err, errlen, "every worker id is leased");
        rc = STORE_UNAVAILABLE;
        goto out;
    }
    insert = !sc->w[w].exists;
    if (!insert) {
        floor = sc->w[w].reserved_ms;
        generation = sc->w[w].generation + 1;
    }
    until = sc->db_now + l->ttl_ms;
    reserve = l->reserve_ms > floor ? l->reserve_ms : floor;
    wid = w;
    if (insert) {
        bind_i64(&param[0], &wid);
        bind_str(&param[1], l->holder, &holder_len);
        bind_u64(&param[2], &generation);
        bind_u64(&param[3], &until);
        bind_u64(&param[4], &reserve);
    } else {
        bind_str(&param[0], l->holder, &holder_len);
        bind_u64(&param[1], &generation);
        bind_u64(&param[2], &until);
        bind_u64(&param[3], &reserve);
        bind_i64(&param[4], &wid);
    }
    rc = lease_exec(s, insert ? LEASE_SQL_INSERT : LEASE_SQL_TAKE, param, what, &st, err, errlen);
    if (rc != STORE_OK) {
        if (rc == STORE_EXISTS)
            rc = STORE_UNAVAILABLE;         /* another node inserted it first: retry */
        goto out;
    }
    if (lease_commit(s, what, err, errlen) != STORE_OK) {
        rc = STORE_UNAVAILABLE;             /* unknown: the lease may be ours; it expires unused */
        goto out;
    }
    l->worker_id = w;
    l->generation = generation;
    l->floor_ms = floor;
    l->reserved_ms = reserve;
    rc = STORE_OK;
out:
    free(sc);
    return rc;
}

/* RENEW: only a lease still ours (generation) and not expired. RELEASE:
 * the reservation cut to what was used, the lease ended. */
static int lease_update_op(struct mysql_sess *s, struct worker_lease *l, char *err, size_t errlen)
{
    const char *what = l->op == LEASE_RENEW ? "worker lease renewal" : "worker lease release";
    MYSQL_BIND param[4], *p = param;
    MYSQL_STMT *st;
    int64_t wid = l->worker_id;
    my_ulonglong changed;
    int rc;

    if (l->op == LEASE_RENEW)
        bind_u64(p++, &l->ttl_ms);
    bind_u64(p++, &l->reserve_ms);
    bind_i64(p++, &wid);
    bind_u64(p++, &l->generation);
    rc = lease_exec(s, l->op == LEASE_RENEW ? LEASE_SQL_RENEW : LEASE_SQL_RELEASE, param, what, &st,
                    err, errlen);
    if (rc != STORE_OK)
        return rc;
    changed = mysql_stmt_affected_rows(st);
    if ((rc = lease_commit(s, what, err, errlen)) != STORE_OK)
        return rc;
    l->reserved_ms = l->reserve_ms;
    return changed == 1 ? STORE_OK : STORE_STALE;
}

static int lease_op(struct mysql_sess *s, void *arg, char *err, size_t errlen)
{
    struct worker_lease *l = arg;
    return l->op == LEASE_ACQUIRE ? lease_acquire_op(s, l, err, errlen) : lease_update_op(s, l, err, errlen);
}

static int my_worker_lease(struct store *st, void *sess, struct worker_lease *lease, char *err, size_t errlen)
{
    struct mysql_sess *s = sess;
    if (s == NULL) {
        snprintf(err, errlen, "no session");
        return STORE_UNAVAILABLE;
    }
    lease->exhausted = false;
    return sess_run(s, lease_op, lease, err, errlen);
}

static void my_facts(struct store *st, struct store_facts *out)
{
    struct mysql_store *ms = st->priv;

    out->conflicts = atomic_load(&ms->conflicts);
    out->refused_claims = atomic_load(&ms->refused);
    out->fences = atomic_load(&ms->fences);
    out->fence_on = atomic_load(&ms->fence_on);
    pthread_mutex_lock(&ms->server_lock);
    strlcpy_safe(out->server, ms->server, sizeof(out->server));
    pthread_mutex_unlock(&ms->server_lock);
}

const struct store_ops store_mysql_ops = {
    .name = "mysql",
    .shared = true,
    .open = my_open,
    .close = my_close,
    .session_open = my_session_open,
    .session_close = my_session_close,
    .claim = my_claim,
    .claim_many = my_claim_many,
    .give_back = my_give_back,
    .give_back_many = my_give_back_many,
    .create = my_create,
    .drop = my_drop,
    .lookup = my_lookup,
    .list = my_list,
    .rescan = my_rescan,
    .worker_lease = my_worker_lease,
    .facts = my_facts,
};
