/*
 * store_mysql_logic: SQL texts, table shape, error classification, backoff,
 * claim size and row checking for the MySQL store (see the header). Pure:
 * store_mysql.c does the talking to the server and asks this module what
 * to send and what an answer means.
 */
#include "store_mysql_logic.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "store.h"
#include "util.h"

static const char *const sml_col_names[SML_COL_COUNT] = {
    "biz_tag", "max_id", "step", "description",
    "kind", "length", "starting", "increment", "perm_key", "auto_disk",
    "epoch", "prefix", "tz", "period",
};

const char *sml_col_name(enum sml_col col)
{
    if ((int)col < 0 || col >= SML_COL_COUNT)
        return "?";
    return sml_col_names[col];
}

int sml_shape_from_columns(const char *const *cols, size_t ncols, struct sml_shape *shape,
                           char *err, size_t errlen)
{
    bool has[SML_COL_COUNT] = { false };
    int nseqd = 0, nkinds = 0;
    char missing[128];
    size_t i, mlen = 0;
    int c;

    memset(shape, 0, sizeof(*shape));
    if (ncols == 0) {
        snprintf(err, errlen, "the table does not exist (or the user may not see it)");
        return -1;
    }
    for (i = 0; i < ncols; i++)
        for (c = 0; c < SML_COL_COUNT; c++)
            if (cols[i] != NULL && str_ieq(cols[i], strlen(cols[i]), sml_col_names[c]))
                has[c] = true;

    for (c = SML_COL_NAME; c <= SML_COL_STEP; c++) {
        if (!has[c]) {
            snprintf(err, errlen, "the table has no column %s, which Leaf's and seqd's "
                     "tables both have (create it with sql/schema.sql)", sml_col_names[c]);
            return -1;
        }
    }
    for (c = SML_COL_FIRST_SEQD; c < SML_COL_FIRST_KINDS; c++)
        nseqd += has[c];
    if (nseqd != 0 && nseqd != SML_COL_FIRST_KINDS - SML_COL_FIRST_SEQD) {
        for (c = SML_COL_FIRST_SEQD; c < SML_COL_FIRST_KINDS && has[c]; c++)
            ;
        snprintf(err, errlen, "the table has some of seqd's columns but not %s "
                 "(add the missing ones as sql/upgrade-from-leaf.sql does)", sml_col_names[c]);
        return -1;
    }
    /* The kinds' columns: all or none (a table from before types 4 and 5). */
    missing[0] = '\0';
    for (c = SML_COL_FIRST_KINDS; c < SML_COL_COUNT; c++) {
        nkinds += has[c];
        if (!has[c] && mlen < sizeof(missing)) {
            int n = snprintf(missing + mlen, sizeof(missing) - mlen, "%s%s", mlen ? ", " : "",
                             sml_col_names[c]);
            mlen += n > 0 ? (size_t)n : 0;
        }
    }
    if (nkinds != 0 && nseqd == 0) {
        snprintf(err, errlen, "the table has columns of types 4 and 5 but not seqd's (kind, length, "
                 "starting, ...): add them as sql/upgrade-from-leaf.sql does");
        return -1;
    }
    if (nkinds != 0 && nkinds != SML_COL_COUNT - SML_COL_FIRST_KINDS) {
        snprintf(err, errlen, "the table has some of the columns of types 4 and 5 but not %s: run "
                 "sql/upgrade-kinds.sql on it (it adds what is missing)", missing);
        return -1;
    }
    shape->seqd_columns = nseqd != 0;
    shape->kind_columns = nkinds != 0;
    shape->description = has[SML_COL_DESCRIPTION];
    for (i = 0; i < ncols; i++)
        if (cols[i] != NULL && str_ieq(cols[i], strlen(cols[i]), "update_time"))
            shape->update_time = true;
    return 0;
}

enum sml_col sml_insert_col(const struct sml_shape *shape, int i)
{
    if (!shape->description && i >= SML_COL_DESCRIPTION)
        return (enum sml_col)(i + 1);
    return (enum sml_col)i;
}

/* Append to a statement being built; false when it no longer fits. */
static bool __attribute__((format(printf, 3, 4)))
sml_append(char *dst, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(dst + *len, SML_SQL_MAX - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= SML_SQL_MAX - *len)
        return false;
    *len += (size_t)n;
    return true;
}

/* The statements of the reserved row (sml_sql.spread). Returns 0, or -1
 * when one does not fit. */
static int sml_build_spread_sql(struct sml_sql *sql, const char *table, const struct sml_shape *shape)
{
    int n[SML_SPREAD_COUNT];

    n[SML_SPREAD_SELECT] = snprintf(sql->spread[SML_SPREAD_SELECT], SML_SQL_MAX,
                                    "SELECT `step`, `max_id` FROM `%s` WHERE `biz_tag` = " SML_SPREAD_TAG,
                                    table);
    n[SML_SPREAD_ANY] = snprintf(sql->spread[SML_SPREAD_ANY], SML_SQL_MAX,
                                 "SELECT 1 FROM `%s` WHERE " SML_NOT_SPREAD " AND `max_id` > 0 LIMIT 1",
                                 table);
    n[SML_SPREAD_INSERT] = snprintf(sql->spread[SML_SPREAD_INSERT], SML_SQL_MAX,
                                    "INSERT IGNORE INTO `%s` (`biz_tag`, `step`, `max_id`%s) VALUES ("
                                    SML_SPREAD_TAG ", ?, ?%s)", table,
                                    shape->description ? ", `description`" : "",
                                    shape->description ? ", '" SML_SPREAD_DESCRIPTION "'" : "");
    for (int i = 0; i < SML_SPREAD_COUNT; i++)
        if (n[i] < 0 || n[i] >= SML_SQL_MAX)
            return -1;
    return 0;
}

int sml_build_sql(struct sml_sql *sql, const char *table, const struct sml_shape *shape,
                  char *err, size_t errlen)
{
    char cols[SML_SQL_MAX], names[SML_SQL_MAX], marks[SML_SQL_MAX];
    size_t clen = 0, nlen = 0, mlen = 0;
    bool ok = true;
    int c, i;

    memset(sql, 0, sizeof(*sql));
    if (!config_table_name_ok(table)) {
        snprintf(err, errlen, "table name must be 1..%d of A-Z a-z 0-9 _", CONFIG_TABLE_NAME_MAX);
        return -1;
    }
    cols[0] = names[0] = marks[0] = '\0';

    /* What every SELECT returns, in enum sml_col order. */
    sql->nselect = !shape->seqd_columns ? SML_COL_FIRST_SEQD
                   : shape->kind_columns ? SML_COL_COUNT : SML_COL_FIRST_KINDS;
    for (c = 0; c < sql->nselect; c++) {
        if (c > 0)
            ok = ok && sml_append(cols, &clen, "%s", ", ");
        if (c == SML_COL_DESCRIPTION && !shape->description)
            ok = ok && sml_append(cols, &clen, "%s", "'' AS `description`");
        else
            ok = ok && sml_append(cols, &clen, "`%s`", sml_col_names[c]);
    }

    /* What INSERT binds: the shape's columns, description only if there,
     * never period (a new row has none yet: the column's default 0). */
    sql->ninsert = sql->nselect - (shape->description ? 0 : 1) - (shape->kind_columns ? 1 : 0);
    for (i = 0; i < sql->ninsert; i++) {
        ok = ok && sml_append(names, &nlen, "%s`%s`", i ? ", " : "",
                              sml_col_names[sml_insert_col(shape, i)]);
        ok = ok && sml_append(marks, &mlen, "%s", i ? ", ?" : "?");
    }
    if (!ok)
        goto too_long;

#define SML_FORMAT(idx, ...)                                                    \
    do {                                                                        \
        int n_ = snprintf(sql->text[idx], SML_SQL_MAX, __VA_ARGS__);            \
        if (n_ < 0 || n_ >= SML_SQL_MAX)                                        \
            goto too_long;                                                      \
    } while (0)

    /* The reserved row (SML_SPREAD_TAG) is never a sequence: no statement
     * that reads or changes sequences can reach it (the claim's UPDATE
     * runs only on the row its SELECT found). */
    SML_FORMAT(SML_SQL_CLAIM_SELECT, "SELECT %s FROM `%s` WHERE `biz_tag` = ? AND " SML_NOT_SPREAD
               " FOR UPDATE", cols, table);
    /* Claims and give-backs leave update_time as it was (an explicit
     * assignment stops ON UPDATE CURRENT_TIMESTAMP), so that it tells a
     * rescan which definitions changed, not which rows were claimed. */
    const char *keep_time = shape->update_time ? ", `update_time` = `update_time`" : "";
    SML_FORMAT(SML_SQL_CLAIM_UPDATE,
               "UPDATE `%s` SET `max_id` = `max_id` + ?%s WHERE `biz_tag` = ?", table, keep_time);
    /* Type 4's claim sets the period and the counter its SELECT decided
     * (sml_claim_period) while it holds the row's lock; the compare with
     * what the SELECT read makes that explicit. */
    sql->has_claim_period = shape->kind_columns;
    if (shape->kind_columns)
        SML_FORMAT(SML_SQL_CLAIM_PERIOD, "UPDATE `%s` SET `max_id` = ?, `period` = ?%s WHERE `biz_tag` = ? "
                   "AND `max_id` = ? AND `period` = ?", table, keep_time);
    SML_FORMAT(SML_SQL_INSERT, "INSERT INTO `%s` (%s) VALUES (%s)", table, names, marks);
    SML_FORMAT(SML_SQL_DELETE, "DELETE FROM `%s` WHERE `biz_tag` = ? AND " SML_NOT_SPREAD, table);
    SML_FORMAT(SML_SQL_LOOKUP, "SELECT %s FROM `%s` WHERE `biz_tag` = ? AND " SML_NOT_SPREAD, cols, table);
    SML_FORMAT(SML_SQL_LIST, "SELECT %s FROM `%s` WHERE " SML_NOT_SPREAD " ORDER BY `biz_tag`", cols, table);
    if (shape->update_time)
        SML_FORMAT(SML_SQL_LIST_CHANGED, "SELECT %s FROM `%s` WHERE `update_time` >= FROM_UNIXTIME(?) AND "
                   SML_NOT_SPREAD, cols, table);
    SML_FORMAT(SML_SQL_ROWS, "SELECT COUNT(*), UNIX_TIMESTAMP() FROM `%s` WHERE " SML_NOT_SPREAD, table);
    /* A batch of claims reads and locks its rows in one statement, in key
     * order, so that two nodes locking overlapping batches do not
     * deadlock; a batch smaller than SML_CLAIM_BATCH repeats a name. */
    char marks_many[SML_CLAIM_BATCH * 3];
    size_t mmlen = 0;
    marks_many[0] = '\0';
    for (i = 0; i < SML_CLAIM_BATCH; i++)
        mmlen += (size_t)snprintf(marks_many + mmlen, sizeof(marks_many) - mmlen, "%s", i ? ", ?" : "?");
    SML_FORMAT(SML_SQL_CLAIM_MANY, "SELECT %s FROM `%s` WHERE `biz_tag` IN (%s) AND " SML_NOT_SPREAD
               " ORDER BY `biz_tag` FOR UPDATE", cols, table, marks_many);
    if (sml_build_spread_sql(sql, table, shape) < 0)
        goto too_long;
#undef SML_FORMAT
    return 0;

too_long:
    snprintf(err, errlen, "statement for table %s too long", table);
    return -1;
}

/* ---- errors ---------------------------------------------------------------- */

/* The connection can no longer be trusted: the client library's own errors
 * (Connector/C also uses 5000..5999) and the server's "going away" ones. */
static bool sml_conn_broken(unsigned code)
{
    if ((code >= SML_CR_MIN && code <= SML_CR_MAX) || (code >= 5000 && code <= 5999))
        return true;
    switch (code) {
    case SML_ER_SERVER_SHUTDOWN:
    case SML_ER_ABORTING_CONNECTION:
    case SML_ER_NET_READ_ERROR:
    case SML_ER_NET_READ_INTERRUPTED:
    case SML_ER_NET_ERROR_ON_WRITE:
    case SML_ER_NET_WRITE_INTERRUPTED:
    case SML_ER_NEW_ABORTING_CONNECTION:
    case SML_ER_CONNECTION_KILLED:
    case SML_ER_CLIENT_INTERACTION_TIMEOUT:
    case SML_ER_NEED_REPREPARE:     /* the table changed: prepare afresh */
        return true;
    }
    return false;
}

/* Errors that pass on their own; the transaction is rolled back, the
 * connection kept. */
/* Errors by which the server says it rolled the transaction back
 * because of other transactions or of its own cluster state, answered
 * even at COMMIT: running it again is the remedy. Galera reports a
 * certification failure as a deadlock, and a node that is not synced yet
 * as "WSREP has not yet prepared node for application use" [1047]. */
static bool sml_conflict(unsigned code)
{
    switch (code) {
    case SML_ER_LOCK_WAIT_TIMEOUT:
    case SML_ER_LOCK_DEADLOCK:
    case SML_ER_UNKNOWN_COM:
    case SML_ER_ROLLBACK_DURING_COMMIT:
        return true;
    }
    return false;
}

static bool sml_passing(unsigned code)
{
    switch (code) {
    case SML_ER_OPTION_PREVENTS_STATEMENT:   /* read-only server, e.g. mid fail-over */
    case 1836:                               /* ER_READ_ONLY_MODE */
    case 1792:                               /* ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION */
    case SML_ER_QUERY_INTERRUPTED:
    case SML_ER_STATEMENT_TIMEOUT:
    case 3024:                               /* MySQL's max_execution_time */
    case 1040:                               /* too many connections */
    case 1203:                               /* user has too many connections */
        return true;
    }
    return false;
}

/* Configuration, permission and schema errors: the hint says what to fix,
 * NULL when the code is none of these. */
static const char *sml_permanent_hint(unsigned code)
{
    switch (code) {
    case SML_ER_ACCESS_DENIED:
    case SML_ER_ACCESS_DENIED_NO_PASSWORD:
        return "check store.mysql.user and store.mysql.password";
    case SML_ER_DBACCESS_DENIED:
        return "grant the user access to store.mysql.database";
    case SML_ER_BAD_DB:
        return "check store.mysql.database, or create the database and load sql/schema.sql";
    case SML_ER_HOST_NOT_PRIVILEGED:
        return "the server does not let this host in: grant the user access from it";
    case SML_ER_NOT_SUPPORTED_AUTH_MODE:
    case SML_CR_AUTH_PLUGIN_CANNOT_LOAD:
        return "the server wants an authentication method this client library lacks";
    case SML_CR_SSL_CONNECTION_ERROR:
        return "TLS failed: check store.mysql.ssl_mode, ssl_ca, ssl_cert and ssl_key";
    case SML_ER_NO_SUCH_TABLE:
        return "check store.mysql.table, or create the table with sql/schema.sql";
    case SML_ER_BAD_FIELD:
        return "the table lacks a column seqd uses (see sql/README.md)";
    case SML_ER_TABLEACCESS_DENIED:
    case SML_ER_COLUMNACCESS_DENIED:
        return "grant the user SELECT, INSERT, UPDATE, DELETE on the table";
    case SML_ER_PARSE:
        return "the server rejected seqd's SQL (please report this)";
    case SML_ER_WARN_DATA_OUT_OF_RANGE:
    case SML_ER_DATA_OUT_OF_RANGE:
        return "a value is out of its column's range (max_id at BIGINT's top?)";
    case SML_ER_DATA_TOO_LONG:
        return "a value is too long for its column";
    case SML_ER_TABLE_FULL:
        return "the table is full: free space on the database server";
    }
    return NULL;
}

void sml_classify(unsigned code, enum sml_phase phase, struct sml_verdict *v)
{
    const char *hint = sml_permanent_hint(code);

    memset(v, 0, sizeof(*v));
    v->hint = "";

    if (sml_conflict(code) && phase != SML_PHASE_CONNECT) {
        /* The server answered: it rolled the transaction back. */
        v->status = STORE_UNAVAILABLE;
        v->rollback = true;
        v->conflict = true;
        return;
    }
    if (phase == SML_PHASE_COMMIT) {
        /* The COMMIT may have been applied even though its answer was an
         * error or never came: nobody may serve this range. */
        v->status = STORE_UNKNOWN;
        v->drop_conn = true;
        v->hint = "the claimed range is thrown away";
        return;
    }

    if (phase == SML_PHASE_CONNECT) {
        v->status = STORE_UNAVAILABLE;
        v->drop_conn = true;
        if (hint != NULL) {
            v->permanent = true;
            v->hint = hint;
        } else if (code == SML_CR_CONNECTION_ERROR || code == SML_CR_CONN_HOST_ERROR ||
                   code == SML_CR_UNKNOWN_HOST || code == SML_CR_SERVER_LOST ||
                   code == SML_CR_SERVER_GONE) {
            v->hint = "check store.mysql.host, port or socket, and that the server runs";
        }
        return;
    }

    if (phase == SML_PHASE_OTHER && code == SML_ER_DUP_ENTRY) {
        v->status = STORE_EXISTS;
        v->rollback = true;
        return;
    }
    if (sml_conn_broken(code)) {
        /* A dropped connection's open transaction is rolled back by the
         * server: nothing was claimed. */
        v->status = STORE_UNAVAILABLE;
        v->drop_conn = true;
        v->conn_lost = true;
        return;
    }
    if (sml_passing(code)) {
        v->status = STORE_UNAVAILABLE;
        v->rollback = true;
        return;
    }
    if (hint != NULL) {
        /* Also drop the connection: its prepared statements may describe
         * a table that has changed since. */
        v->status = STORE_ERROR;
        v->permanent = true;
        v->rollback = true;
        v->drop_conn = true;
        v->hint = hint;
        return;
    }
    /* Unknown: nothing was committed; start afresh on a new connection. */
    v->status = STORE_UNAVAILABLE;
    v->rollback = true;
    v->drop_conn = true;
}

/* ---- claims ---------------------------------------------------------------- */

uint64_t sml_backoff_ms(unsigned failures)
{
    uint64_t ms = SML_BACKOFF_FIRST_MS;

    if (failures == 0)
        return 0;
    while (--failures > 0 && ms < SML_BACKOFF_MAX_MS)
        ms *= 2;
    return ms < SML_BACKOFF_MAX_MS ? ms : SML_BACKOFF_MAX_MS;
}

int sml_claim_size(int64_t max_id, int64_t step, uint64_t want, uint64_t *n)
{
    uint64_t size = want, room;

    if (max_id < 0 || max_id == INT64_MAX)
        return -1;
    if (step > 0 && (uint64_t)step > size)
        size = (uint64_t)step;
    if (size == 0)
        size = 1;
    room = (uint64_t)INT64_MAX - (uint64_t)max_id;
    *n = size < room ? size : room;
    return 0;
}

void sml_claim_period(int64_t row_period, int64_t max_id, int64_t want, int64_t *period, int64_t *start)
{
    if (want > row_period) {
        *period = want;
        *start = 0;
    } else {
        *period = row_period;
        *start = max_id;
    }
}

/* Equal but for ASCII case: the folding any biz_tag collation does. */
static bool sml_same_folded(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return *a == *b;
}

size_t sml_claim_batch_split(const char *const *names, size_t n, size_t *order)
{
    size_t *alone = xcalloc(n ? n : 1, sizeof(*alone));
    size_t k = 0, na = 0, i, j;

    /* First come, first in the batch: a name that folds to one already
     * taken waits for its turn alone. */
    for (i = 0; i < n; i++) {
        bool dup = false;
        for (j = 0; j < k && !dup; j++)
            dup = sml_same_folded(names[order[j]], names[i]);
        if (dup)
            alone[na++] = i;
        else
            order[k++] = i;
    }
    /* By strcmp; a batch is small (SML_CLAIM_BATCH): an insertion sort. */
    for (i = 1; i < k; i++) {
        size_t x = order[i];
        for (j = i; j > 0 && strcmp(names[order[j - 1]], names[x]) > 0; j--)
            order[j] = order[j - 1];
        order[j] = x;
    }
    memcpy(order + k, alone, na * sizeof(*order));
    free(alone);
    return k;
}

/* ---- rows ------------------------------------------------------------------ */

/* The row's name for messages: at most 40 bytes, shown by the one
 * printable rule (str_printable), "..." when it was longer. */
#define SML_SHOWN_MAX 40
static void sml_shown_name(const struct sml_row *row, char *dst, size_t dstlen)
{
    size_t len = row->null[SML_COL_NAME] ? 0 : row->len[SML_COL_NAME];
    size_t outlen = dstlen < SML_SHOWN_MAX + 1 ? dstlen : SML_SHOWN_MAX + 1;

    if (len > sizeof(row->name))
        len = sizeof(row->name);
    str_printable(row->name, len, dst, outlen);
    if (len > SML_SHOWN_MAX && dstlen >= SML_SHOWN_MAX + 4)
        memcpy(dst + SML_SHOWN_MAX, "...", 4);
}

/* Copy a description: at most SEQ_DESC_MAX bytes, cut at a UTF-8 character
 * boundary, control characters as '?'. Not str_printable: this is the
 * row's own text kept for INFO, not a quote in a message, and a Leaf
 * table's descriptions are often UTF-8 (Chinese), which must survive;
 * only what would break INFO's one line (C0 controls, DEL) is replaced. */
static void sml_copy_description(char *dst, const char *src, size_t len)
{
    size_t i;

    if (len > SEQ_DESC_MAX) {
        len = SEQ_DESC_MAX;
        /* Back up over continuation bytes (10xxxxxx) to the start of the
         * character that did not fit. */
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    dst[len] = '\0';
}

/* A short text column (prefix, tz) into a definition's field of dstlen
 * bytes; a value that does not fit, or holds a NUL, is refused (a
 * pattern or zone cut short would be another one). */
static int sml_copy_text(char *dst, size_t dstlen, const struct sml_row *row, enum sml_col col,
                         const char *src, const char *shown, char *err, size_t errlen)
{
    size_t len = row->len[col];

    if (len >= dstlen || memchr(src, '\0', len) != NULL) {
        snprintf(err, errlen, "row '%s': %s is longer than %zu bytes or holds a NUL", shown,
                 sml_col_names[col], dstlen - 1);
        return -1;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

int sml_row_to_def(const struct sml_row *row, const struct sml_shape *shape,
                   struct seqdef *def, int64_t *max_id, char *err, size_t errlen)
{
    char shown[48], why[200];
    size_t namelen = row->len[SML_COL_NAME];
    int c;

    memset(def, 0, sizeof(*def));
    sml_shown_name(row, shown, sizeof(shown));
    why[0] = '\0';

    int ncols = !shape->seqd_columns ? SML_COL_FIRST_SEQD
                : shape->kind_columns ? SML_COL_COUNT : SML_COL_FIRST_KINDS;

    for (c = 0; c < ncols; c++) {
        if (row->null[c] && c != SML_COL_DESCRIPTION) {
            snprintf(err, errlen, "row '%s': %s is NULL", shown, sml_col_names[c]);
            return -1;
        }
    }
    for (c = 0; c < SML_COL_COUNT; c++) {
        if (row->out_of_range[c]) {
            snprintf(err, errlen, "row '%s': %s is out of range", shown, sml_col_names[c]);
            return -1;
        }
    }
    if (namelen > SEQ_NAME_MAX || !seqdef_name_ok(row->name, namelen, why, sizeof(why))) {
        if (namelen > SEQ_NAME_MAX)
            snprintf(why, sizeof(why), "longer than %d bytes", SEQ_NAME_MAX);
        snprintf(err, errlen, "row '%s': biz_tag is not a name seqd serves: %s", shown, why);
        return -1;
    }
    memcpy(def->name, row->name, namelen);
    def->name[namelen] = '\0';

    if (row->max_id < 0) {
        snprintf(err, errlen, "row '%s': max_id %" PRId64 " is negative "
                 "(it is the next counter to hand out, from 0 up)", shown, row->max_id);
        return -1;
    }
    if (row->step < 1) {
        snprintf(err, errlen, "row '%s': step %" PRId64 " must be >= 1 "
                 "(counters claimed at a time)", shown, row->step);
        return -1;
    }
    *max_id = row->max_id;
    def->segment = (uint64_t)row->step;
    if (!row->null[SML_COL_DESCRIPTION])
        sml_copy_description(def->description, row->description,
                             row->len[SML_COL_DESCRIPTION] < sizeof(row->description)
                                 ? row->len[SML_COL_DESCRIPTION] : sizeof(row->description));

    if (!shape->seqd_columns) {
        /* Leaf's row: a plain counter whose numbers are its counters. */
        def->kind = SEQ_INCREASING;
        def->length = 0;
        def->starting = 0;
        def->increment = 1;
        def->perm_key = 0;
        def->auto_disk = AUTO_DISK_DEFAULT;
    } else {
        size_t adlen = row->len[SML_COL_AUTO_DISK];
        if (row->kind < SEQ_RANDOM || row->kind > SEQ_SNOWFLAKE) {
            snprintf(err, errlen, "row '%s': kind %" PRId64 " is not 1, 2, 3, 4 or 5", shown, row->kind);
            return -1;
        }
        if (!shape->kind_columns && (row->kind == SEQ_DATED || row->kind == SEQ_SNOWFLAKE)) {
            snprintf(err, errlen, "row '%s': kind %" PRId64 " needs the columns epoch, prefix, tz and "
                     "period, which this table lacks: run sql/upgrade-kinds.sql on it", shown, row->kind);
            return -1;
        }
        if (row->length < 0 || row->length > SEQ_LENGTH_MAX) {
            snprintf(err, errlen, "row '%s': length %" PRId64 " is not 0..%d",
                     shown, row->length, SEQ_LENGTH_MAX);
            return -1;
        }
        def->kind = (int)row->kind;
        def->length = (int)row->length;
        def->starting = row->starting;
        def->increment = row->increment;
        def->perm_key = row->perm_key;
        def->epoch_ms = row->epoch;
        if (shape->kind_columns && (sml_copy_text(def->prefix, sizeof(def->prefix), row, SML_COL_PREFIX,
                                                  row->prefix, shown, err, errlen) < 0 ||
                                    sml_copy_text(def->tz, sizeof(def->tz), row, SML_COL_TZ, row->tz,
                                                  shown, err, errlen) < 0))
            return -1;
        if (adlen == 0) {
            def->auto_disk = AUTO_DISK_DEFAULT;
        } else {
            if (adlen > sizeof(row->auto_disk))
                adlen = sizeof(row->auto_disk);
            def->auto_disk = seqdef_auto_disk_parse(row->auto_disk, adlen);
            if (def->auto_disk < 0) {
                snprintf(err, errlen, "row '%s': auto_disk is not '' or one of "
                         SEQDEF_AUTO_DISK_VALUES, shown);
                return -1;
            }
        }
    }
    if (seqdef_validate(def, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "row '%s': %s", shown, why);
        return -1;
    }
    return 0;
}

int sml_leaf_can_hold(const struct seqdef *def, const char *table, char *err, size_t errlen)
{
    if (def->kind == SEQ_INCREASING && def->starting == 0 && def->increment == 1 &&
        def->auto_disk == AUTO_DISK_DEFAULT)
        return 0;
    snprintf(err, errlen, "table %s has only Leaf's columns, which hold just type 3 with "
             "starting 0 and step 1 (and no auto_disk); add seqd's columns with "
             "sql/upgrade-from-leaf.sql to store this sequence", table);
    return -1;
}

int sml_table_can_hold(const struct sml_shape *shape, const struct seqdef *def, const char *table,
                       char *err, size_t errlen)
{
    if (!shape->seqd_columns)
        return sml_leaf_can_hold(def, table, err, errlen);
    if (!shape->kind_columns && (def->kind == SEQ_DATED || def->kind == SEQ_SNOWFLAKE)) {
        snprintf(err, errlen, "table %s has no columns for type %d (epoch, prefix, tz, period: it was "
                 "made by an older sql/schema.sql); run sql/upgrade-kinds.sql on it and restart the "
                 "seqd nodes to store this sequence", table, def->kind);
        return -1;
    }
    return 0;
}

const char *sml_auto_disk_text(int auto_disk)
{
    return auto_disk == AUTO_DISK_DEFAULT ? "" : seqdef_auto_disk_name(auto_disk);
}

const char *sml_error_hint(unsigned code, const char *msg, const char *hint)
{
    if ((code == SML_ER_ACCESS_DENIED || code == SML_ER_ACCESS_DENIED_NO_PASSWORD) &&
        strstr(msg, "'@'localhost'") != NULL)
        return "check store.mysql.user and store.mysql.password; if they are right, an "
               "anonymous ''@'localhost' user (a fresh MariaDB has one) shadows 'user'@'%': "
               "drop it (DROP USER ''@'localhost') or create the user @'localhost' too "
               "(see sql/README.md)";
    return hint;
}

/* ---- bad rows, warned about once ------------------------------------------------ */

static size_t sml_str_len(const struct sml_row *row, enum sml_col col, size_t bufsize)
{
    return row->len[col] < bufsize ? row->len[col] : bufsize;
}

uint64_t sml_row_hash(const struct sml_row *row)
{
    const int64_t nums[] = { row->max_id, row->step, row->kind, row->length, row->starting,
                             row->increment, (int64_t)(row->perm_key & INT64_MAX),
                             (int64_t)(row->perm_key >> 63), row->epoch, row->period };
    uint64_t h = FNV1A64_INIT;

    h = fnv1a64(h, row->name, sml_str_len(row, SML_COL_NAME, sizeof(row->name)));
    h = fnv1a64(h, "\0", 1);
    h = fnv1a64(h, nums, sizeof(nums));
    h = fnv1a64(h, row->description, sml_str_len(row, SML_COL_DESCRIPTION, sizeof(row->description)));
    h = fnv1a64(h, "\0", 1);
    h = fnv1a64(h, row->auto_disk, sml_str_len(row, SML_COL_AUTO_DISK, sizeof(row->auto_disk)));
    h = fnv1a64(h, "\0", 1);
    h = fnv1a64(h, row->prefix, sml_str_len(row, SML_COL_PREFIX, sizeof(row->prefix)));
    h = fnv1a64(h, "\0", 1);
    h = fnv1a64(h, row->tz, sml_str_len(row, SML_COL_TZ, sizeof(row->tz)));
    h = fnv1a64(h, "\0", 1);
    h = fnv1a64(h, row->null, sizeof(row->null));
    return fnv1a64(h, row->out_of_range, sizeof(row->out_of_range));
}

void sml_warned_begin(struct sml_warned *w)
{
    w->pass++;
}

bool sml_warned_check(struct sml_warned *w, const struct sml_row *row, bool may_warn)
{
    size_t name_len = sml_str_len(row, SML_COL_NAME, sizeof(row->name));
    uint64_t hash = sml_row_hash(row);
    struct sml_warned_row *e;

    for (size_t i = 0; i < w->n; i++) {
        e = &w->rows[i];
        if (e->name_len != name_len || memcmp(e->name, row->name, name_len) != 0)
            continue;
        e->pass = w->pass;
        if (e->hash == hash || !may_warn)
            return false;
        e->hash = hash;
        return true;
    }
    if (!may_warn)
        return false;
    if (w->n == SML_WARNED_MAX)
        return true;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 8;
        w->rows = xrealloc(w->rows, w->cap * sizeof(*w->rows));
    }
    e = &w->rows[w->n++];
    memcpy(e->name, row->name, name_len);
    e->name_len = name_len;
    e->hash = hash;
    e->pass = w->pass;
    return true;
}

void sml_warned_end(struct sml_warned *w)
{
    size_t kept = 0;

    for (size_t i = 0; i < w->n; i++)
        if (w->rows[i].pass == w->pass)
            w->rows[kept++] = w->rows[i];
    w->n = kept;
}

void sml_warned_free(struct sml_warned *w)
{
    free(w->rows);
    w->rows = NULL;
    w->n = w->cap = 0;
}
