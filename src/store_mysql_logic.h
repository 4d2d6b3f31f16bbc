/*
 * store_mysql_logic: the decisions of the MySQL store that need no server,
 * so unit tests can drive them directly (functions prefixed sml_).
 * Pure: no I/O, no globals, no libmysqlclient.
 *
 *  - the SQL texts for a table name (validated by config_table_name_ok,
 *    the one table-name rule, and backtick-quoted; sequence
 *    names are always bound parameters, never part of the text);
 *  - which shape the table has: Leaf's columns only, seqd's as well, and
 *    the columns of types 4 and 5 (epoch, prefix, tz, period) or not;
 *  - what a MySQL error means for the caller, given the phase of the
 *    claim it happened in (the one rule that matters: a failure at or
 *    after sending COMMIT leaves the outcome unknown);
 *  - the reconnect backoff, the size of a claim, and a row turned into a
 *    checked struct seqdef.
 */
#ifndef SEQD_STORE_MYSQL_LOGIC_H
#define SEQD_STORE_MYSQL_LOGIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seqdef.h"

#define SML_SQL_MAX 1024            /* longest statement text */
/* Claims made in one transaction at most (store.h: claim_many): the
 * placeholders of SML_SQL_CLAIM_MANY. */
#define SML_CLAIM_BATCH 100
/* After a batch of claims is rolled back for a conflict, claims run alone
 * for this long (rows other nodes contend for gain nothing from batches). */
#define SML_BATCH_OFF_MS 1000

/* Buffers wide enough for any value of the columns as sql/schema.sql
 * declares them, in utf8mb4 (4 bytes a character). */
#define SML_NAME_BUF (4 * SEQ_NAME_MAX + 1)
#define SML_DESC_BUF (4 * SEQ_DESC_MAX + 1)
#define SML_AUTO_DISK_BUF (4 * 16 + 1)
#define SML_PREFIX_BUF (4 * SEQ_PREFIX_MAX + 1)
#define SML_TZ_BUF (4 * SEQ_TZ_MAX + 1)

/* Backoff between connection attempts: 100 ms after the first failure,
 * doubling, at most 500 ms, so that a node claims again within a second
 * of its database coming back. */
#define SML_BACKOFF_FIRST_MS 100
#define SML_BACKOFF_MAX_MS 500

/* A transaction the server rolled back for a conflict (a deadlock, a lock
 * wait timeout, a Galera certification failure) is run again at once, on
 * the same connection, at most this many times, after a random pause of
 * 1 to 1 + 2^attempt ms (so that two nodes that collided do not again) */
#define SML_CONFLICT_RETRIES 8
/* ... and only while the call has lasted less than this: a lock wait
 * timeout takes seconds by itself, and a store thread must not spend
 * many of them on one claim while others wait. */
#define SML_CONFLICT_BUDGET_MS 2000

/* The error codes this module reasons about (MySQL's and MariaDB's own
 * numbers; store_mysql.c checks them against the client headers). */
enum {
    SML_ER_DBACCESS_DENIED = 1044,
    SML_ER_UNKNOWN_COM = 1047,      /* Galera: "WSREP has not yet prepared node" */
    SML_ER_ACCESS_DENIED = 1045,
    SML_ER_BAD_DB = 1049,
    SML_ER_SERVER_SHUTDOWN = 1053,
    SML_ER_BAD_FIELD = 1054,
    SML_ER_DUP_ENTRY = 1062,
    SML_ER_PARSE = 1064,
    SML_ER_TABLE_FULL = 1114,
    SML_ER_HOST_NOT_PRIVILEGED = 1130,
    SML_ER_TABLEACCESS_DENIED = 1142,
    SML_ER_COLUMNACCESS_DENIED = 1143,
    SML_ER_NO_SUCH_TABLE = 1146,
    SML_ER_ABORTING_CONNECTION = 1152,
    SML_ER_NET_READ_ERROR = 1158,
    SML_ER_NET_READ_INTERRUPTED = 1159,
    SML_ER_NET_ERROR_ON_WRITE = 1160,
    SML_ER_NET_WRITE_INTERRUPTED = 1161,
    SML_ER_NEW_ABORTING_CONNECTION = 1184,
    SML_ER_LOCK_WAIT_TIMEOUT = 1205,
    SML_ER_LOCK_DEADLOCK = 1213,
    SML_ER_NOT_SUPPORTED_AUTH_MODE = 1251,
    SML_ER_WARN_DATA_OUT_OF_RANGE = 1264,
    SML_ER_OPTION_PREVENTS_STATEMENT = 1290,
    SML_ER_QUERY_INTERRUPTED = 1317,
    SML_ER_DATA_TOO_LONG = 1406,
    SML_ER_NEED_REPREPARE = 1615,
    SML_ER_DATA_OUT_OF_RANGE = 1690,
    SML_ER_ACCESS_DENIED_NO_PASSWORD = 1698,
    SML_ER_CONNECTION_KILLED = 1927,
    SML_ER_STATEMENT_TIMEOUT = 1969,
    SML_ER_ROLLBACK_DURING_COMMIT = 3101,  /* MySQL Group Replication's conflict */
    SML_ER_CLIENT_INTERACTION_TIMEOUT = 4031,
    SML_CR_MIN = 2000,              /* 2000..2999: the client library's own */
    SML_CR_CONNECTION_ERROR = 2002,
    SML_CR_CONN_HOST_ERROR = 2003,
    SML_CR_UNKNOWN_HOST = 2005,
    SML_CR_SERVER_GONE = 2006,
    SML_CR_SERVER_LOST = 2013,
    SML_CR_SSL_CONNECTION_ERROR = 2026,
    SML_CR_AUTH_PLUGIN_CANNOT_LOAD = 2059,
    SML_CR_MAX = 2999,
};

/* ---- the table ---------------------------------------------------------- */

/* The columns seqd reads, in the order every SELECT returns them. */
enum sml_col {
    SML_COL_NAME, SML_COL_MAX_ID, SML_COL_STEP, SML_COL_DESCRIPTION,
    /* seqd's own columns, after Leaf's: */
    SML_COL_KIND, SML_COL_LENGTH, SML_COL_STARTING, SML_COL_INCREMENT,
    SML_COL_PERM_KEY, SML_COL_AUTO_DISK,
    /* the columns of types 4 and 5, added by sql/upgrade-kinds.sql to a
     * table made by an older schema.sql: */
    SML_COL_EPOCH, SML_COL_PREFIX, SML_COL_TZ, SML_COL_PERIOD,
    SML_COL_COUNT
};
#define SML_COL_FIRST_SEQD SML_COL_KIND
#define SML_COL_FIRST_KINDS SML_COL_EPOCH

/* The column's name in the table ("biz_tag", "max_id", ...). */
const char *sml_col_name(enum sml_col col);

/* What the table holds, found from its column names at open(). */
struct sml_shape {
    bool seqd_columns;    /* kind, length, ... are there (else: a Leaf table) */
    bool kind_columns;    /* epoch, prefix, tz, period are there: types 4 and 5
                           * (else the table predates them: types 1 to 3) */
    bool description;     /* Leaf's optional description column is there */
    bool update_time;     /* Leaf's update_time is there: rescans read only what
                           * changed (claims leave it as it was) */
};

/* Decide the shape from the table's column names (any case, any order,
 * extra columns ignored). ncols == 0 means the table does not exist.
 * Returns 0, or -1 with the reason in err: a required column (biz_tag,
 * max_id, step) missing, only some of seqd's columns present, only some
 * of the kinds' columns present (err names the missing ones and
 * sql/upgrade-kinds.sql), or the kinds' columns without seqd's. */
int sml_shape_from_columns(const char *const *cols, size_t ncols, struct sml_shape *shape,
                           char *err, size_t errlen);

/* The statements of the store, built once per table. */
enum sml_stmt {
    SML_SQL_CLAIM_SELECT,  /* SELECT <cols> ... WHERE biz_tag = ? FOR UPDATE */
    SML_SQL_CLAIM_UPDATE,  /* UPDATE ... SET max_id = max_id + ? WHERE biz_tag = ? */
    SML_SQL_CLAIM_PERIOD,  /* type 4: UPDATE ... SET max_id = ?, period = ? WHERE biz_tag = ?
                            * AND max_id = ? AND period = ? (only with kind_columns) */
    SML_SQL_INSERT,        /* INSERT ... VALUES (?, ...): the shape's columns */
    SML_SQL_DELETE,        /* DELETE ... WHERE biz_tag = ? */
    SML_SQL_LOOKUP,        /* SELECT <cols> ... WHERE biz_tag = ? */
    SML_SQL_LIST,          /* SELECT <cols> ... ORDER BY biz_tag */
    SML_SQL_LIST_CHANGED,  /* SELECT <cols> ... WHERE update_time >= FROM_UNIXTIME(?)
                            * (only with update_time) */
    SML_SQL_ROWS,          /* SELECT COUNT(*), UNIX_TIMESTAMP(): rows, the server's clock */
    SML_SQL_CLAIM_MANY,    /* SELECT <cols> ... WHERE biz_tag IN (?, ... SML_CLAIM_BATCH of them)
                            * ORDER BY biz_tag FOR UPDATE: a batch's rows, locked in key order
                            * (the rows of a give-back too) */
    SML_SQL_COUNT
};

/* The statement that lists a table's columns (parameter: the table name),
 * used at open() before the shape is known. */
#define SML_SQL_COLUMNS \
    "SELECT COLUMN_NAME FROM information_schema.COLUMNS " \
    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?"

/* The reserved row that records the id_step and id_offset the table was
 * first served with (store_spread.h): biz_tag '' (a sequence name is never
 * empty), id_step in `step`, id_offset in `max_id`. Made race-free by
 * INSERT IGNORE then read back; every statement of enum sml_stmt leaves
 * it alone, so no rescan, look-up, DEL or claim ever meets it. */
#define SML_SPREAD_TAG "''"
#define SML_NOT_SPREAD "`biz_tag` <> " SML_SPREAD_TAG
#define SML_SPREAD_DESCRIPTION "seqd: id_step in step, id_offset in max_id; never change or delete"
enum sml_spread_stmt {
    SML_SPREAD_SELECT,     /* SELECT `step`, `max_id` ... WHERE biz_tag = '' */
    SML_SPREAD_ANY,        /* SELECT 1 ... WHERE biz_tag <> '' AND max_id > 0 LIMIT 1: claimed from? */
    SML_SPREAD_INSERT,     /* INSERT IGNORE ... ('', ? step, ? max_id): record them */
    SML_SPREAD_COUNT
};

struct sml_sql {
    char text[SML_SQL_COUNT][SML_SQL_MAX];
    char spread[SML_SPREAD_COUNT][SML_SQL_MAX];   /* used once, at open() */
    /* Parameters of SML_SQL_INSERT: SML_COL_NAME .. ninsert-1, in order
     * (without description when the table has none: see sml_insert_col;
     * never period: a new row takes its default 0, no period yet). */
    int ninsert;
    /* Columns every SELECT returns: SML_COL_COUNT, SML_COL_FIRST_KINDS for
     * a table without the kinds' columns, or SML_COL_FIRST_SEQD for a Leaf
     * table. A table without description returns '' for it. */
    int nselect;
    /* The SML_SQL_CLAIM_PERIOD statement exists (kind_columns); its text
     * is "" otherwise. */
    bool has_claim_period;
};

/* Build every statement for the table. Returns 0, or -1 with the reason
 * when the table name is not acceptable. */
int sml_build_sql(struct sml_sql *sql, const char *table, const struct sml_shape *shape,
                  char *err, size_t errlen);

/* The column bound as the i-th parameter of SML_SQL_INSERT. */
enum sml_col sml_insert_col(const struct sml_shape *shape, int i);

/* Can a table of this shape hold the definition? A Leaf table holds only
 * what sml_leaf_can_hold says; a table without the kinds' columns holds
 * types 1 to 3. Returns 0, or -1 with the reason and the script to run. */
int sml_table_can_hold(const struct sml_shape *shape, const struct seqdef *def, const char *table,
                       char *err, size_t errlen);

/* ---- errors --------------------------------------------------------------- */

/* Where in a store call an error happened. */
enum sml_phase {
    SML_PHASE_CONNECT,     /* connecting, or setting the session up */
    SML_PHASE_SELECT,      /* claim: SELECT ... FOR UPDATE (or preparing it) */
    SML_PHASE_UPDATE,      /* claim: UPDATE max_id = max_id + n */
    SML_PHASE_COMMIT,      /* claim: COMMIT sent, answer not (yet) seen as OK */
    SML_PHASE_OTHER,       /* anything else: give_back, create, drop, lookup, list */
};

/* What to do about an error. */
struct sml_verdict {
    int status;            /* enum store_status for the caller */
    bool drop_conn;        /* the connection's state is unknown: close it */
    bool rollback;         /* the connection is fine: ROLLBACK and keep it */
    bool permanent;        /* configuration or schema: retrying will not help */
    bool conn_lost;        /* the connection broke before COMMIT: nothing was
                            * done, so the call may be retried at once on a
                            * new connection */
    bool conflict;         /* the server answered that it rolled the
                            * transaction back (deadlock, lock wait, Galera
                            * certification, a node still joining): retry at
                            * once on the same connection; not an outage */
    const char *hint;      /* what to do, for the message; "" if nothing useful */
};

/* Classify error `code` (mysql_errno) from `phase`. Rules:
 *  - a conflict the server answered (deadlock, lock wait timeout, Galera's
 *    certification failure or not-yet-synced node, Group Replication's
 *    rollback at commit), in any phase, COMMIT included: the transaction
 *    was rolled back, so STORE_UNAVAILABLE with a ROLLBACK and `conflict`.
 *  - COMMIT: any other code is STORE_UNKNOWN and drops the connection:
 *    the range may or may not be recorded, so it is thrown away.
 *  - before COMMIT, a broken connection (client errors 2000..2999, server
 *    shutting down, connection killed, network errors): STORE_UNAVAILABLE
 *    and drop; the server rolls back what the lost connection had begun.
 *  - before COMMIT, a passing server error (lock wait, deadlock, read-only
 *    server, statement timeout): STORE_UNAVAILABLE with a ROLLBACK.
 *  - a schema or permission error (no such table or column, access
 *    denied, out of range): STORE_ERROR, permanent, with a hint.
 *  - CONNECT: STORE_UNAVAILABLE; permanent with a hint for bad
 *    credentials, unknown database, TLS or authentication problems.
 *  - OTHER: like before COMMIT, and a duplicate key is STORE_EXISTS. */
void sml_classify(unsigned code, enum sml_phase phase, struct sml_verdict *v);

/* The hint for error `code` with the server's text `msg`, given the hint
 * sml_classify chose: an access denial the server reports for
 * 'user'@'localhost' gets a hint that also names the usual cause when the
 * password is right, an anonymous ''@'localhost' user (a fresh MariaDB has
 * one) that shadows 'user'@'%'. Any other error keeps `hint`. Returns a
 * static string or `hint`. */
const char *sml_error_hint(unsigned code, const char *msg, const char *hint);

/* ---- claims ---------------------------------------------------------------- */

/* Milliseconds to wait before the next connection attempt after
 * `failures` consecutive failed ones: 0 for none, then 100, 200, 400, ...
 * up to SML_BACKOFF_MAX_MS. */
uint64_t sml_backoff_ms(unsigned failures);

/* The counters a claim takes when the row holds max_id and step:
 * n = max(want, step, 1), cut so that max_id + n stays within BIGINT.
 * Returns 0 with *n set, or -1 when max_id is negative or already at
 * BIGINT's top (the counter space is used up). */
int sml_claim_size(int64_t max_id, int64_t step, uint64_t want, uint64_t *n);

/* Type 4: where a claim that wants period `want` starts, on a row in
 * period `row_period` at counter `max_id` (store.h's period rule). A
 * newer wanted period moves the row: *period = want, *start = 0 (its
 * counter restarts). Otherwise the row stays in its own period, even
 * when it is newer than the wanted one (a node whose clock is behind
 * serves the row's period; a period is never gone back to):
 * *period = row_period, *start = max_id. */
void sml_claim_period(int64_t row_period, int64_t max_id, int64_t want, int64_t *period, int64_t *start);

/* A batch of claims (store.h: claim_many) in one transaction: which of
 * the n names go into it, in the order `order` (by strcmp, so a row read
 * back is found by binary search). A name equal to one before it but for
 * ASCII case runs alone, after the batch (*alone): on a Leaf table's
 * case-insensitive biz_tag both could be the same row, which the batch's
 * one read must not hand out twice. Returns how many are in the batch:
 * order[0..k) is the batch, order[k..n) the ones that run alone. */
size_t sml_claim_batch_split(const char *const *names, size_t n, size_t *order);

/* ---- rows ---------------------------------------------------------------------- */

/* One row as fetched, before any checking. Strings are not terminated:
 * len[] holds each one's full length, which may exceed what fits in the
 * buffer when the column is wider than sql/schema.sql declares. */
struct sml_row {
    char name[SML_NAME_BUF];
    int64_t max_id, step;
    char description[SML_DESC_BUF];
    int64_t kind, length, starting, increment;
    uint64_t perm_key;
    char auto_disk[SML_AUTO_DISK_BUF];
    int64_t epoch;                      /* kind 5's epoch (Unix ms) */
    char prefix[SML_PREFIX_BUF];        /* kind 4's PATTERN */
    char tz[SML_TZ_BUF];                /* kind 4's zone */
    int64_t period;                     /* kind 4: the period max_id counts in */
    unsigned long len[SML_COL_COUNT];   /* string columns' lengths */
    bool null[SML_COL_COUNT];
    bool out_of_range[SML_COL_COUNT];   /* a number did not fit its C type */
};

/* Turn a row into a checked definition; *max_id gets the row's next
 * unclaimed counter (and row->period is the period it counts in). For a
 * Leaf table (seqd_columns false) the row is a plain increasing sequence:
 * kind 3, starting 0, increment 1, so its first number is its max_id. A
 * table without the kinds' columns holds kinds 1 to 3 only (a row of kind
 * 4 or 5 there is refused: it would lack its prefix, zone or epoch). A description is cut to SEQ_DESC_MAX bytes at a
 * UTF-8 character boundary and control characters become '?' (INFO prints
 * it on one line). Returns 0, or -1 with what is wrong with the row. */
int sml_row_to_def(const struct sml_row *row, const struct sml_shape *shape,
                   struct seqdef *def, int64_t *max_id, char *err, size_t errlen);

/* Can a Leaf table (Leaf's columns only) hold this definition? Only kind 3
 * with starting 0 and increment 1 reads back the same. Returns 0, or -1
 * with the reason and what to run instead. */
int sml_leaf_can_hold(const struct seqdef *def, const char *table, char *err, size_t errlen);

/* The auto_disk column's text for a definition: "" for the default. */
const char *sml_auto_disk_text(int auto_disk);

/* ---- bad rows, warned about once ------------------------------------------------ */

/* A hash of every value of a row (name, numbers, strings, NULL and
 * out-of-range flags): a row whose hash changed was changed. */
uint64_t sml_row_hash(const struct sml_row *row);

/* The bad rows a rescan has already warned about, so that each bad row is
 * logged once per change of its values, not at every rescan. One pass is
 * sml_warned_begin, sml_warned_check for each bad row, sml_warned_end (a
 * pass that fails half-way may skip the end: it then only forgets nothing).
 * Not thread-safe: the caller runs one pass at a time. At most
 * SML_WARNED_MAX rows are remembered; beyond that a bad row is warned about
 * at every pass, as if new. */
#define SML_WARNED_MAX 1024
struct sml_warned_row {
    char name[SML_NAME_BUF];
    size_t name_len;
    uint64_t hash;            /* sml_row_hash when last warned about */
    unsigned pass;            /* the last pass that met it */
};
struct sml_warned {
    struct sml_warned_row *rows;   /* owned; freed by sml_warned_free */
    size_t n, cap;
    unsigned pass;
};

void sml_warned_begin(struct sml_warned *w);
/* Should the bad row be warned about now? True when it is new or its
 * values changed since it was warned about, and may_warn (the caller's
 * per-pass limit); it is then remembered. A row met again unchanged is
 * marked as still there and gets false. */
bool sml_warned_check(struct sml_warned *w, const struct sml_row *row, bool may_warn);
/* Forget the rows this pass did not meet (fixed or deleted): if one turns
 * bad again, it is warned about again. */
void sml_warned_end(struct sml_warned *w);
void sml_warned_free(struct sml_warned *w);

#endif
