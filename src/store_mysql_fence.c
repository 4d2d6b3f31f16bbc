/*
 * store_mysql_fence: the failover fence (see store_mysql_fence.h and
 * docs/reliability.md).
 *
 * The fence transaction, when the recorded server is not this one:
 *     SELECT meta_value FROM seqd_meta WHERE meta_key = 'claims_server' FOR UPDATE
 *     UPDATE <table> SET max_id = max_id + gap WHERE biz_tag <> '' AND kind <> 4
 *     (type 4, row by row) period = the current one, max_id = gap, or
 *         max_id + gap if the row already counts in the current period
 *     UPDATE seqd_workers SET generation = generation + 2^20, lease_until_ms = 0,
 *         reserved_ms = GREATEST(reserved_ms, now + the longest reservation)
 *     UPDATE seqd_meta SET meta_value = '<this server>' ...; INSERT a history row
 *     COMMIT
 * The lost window held fewer than `gap` counters of each sequence (the
 * guarantee's condition), so every range claimed after the fence lies
 * above every range claimed before it, lost or not. A type 4 row whose
 * counter restarted in a period the replica never saw gets the same gap
 * in that period. Type 5's leases taken in the lost window can no longer be
 * renewed (their generation is gone), and a worker id is taken again only
 * for timestamps past any reservation the lost holder could have made.
 * The sequences' row '' (id_step and id_offset, store_spread.h) is no
 * sequence and is left alone.
 */
#include "store_mysql_fence.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysqld_error.h>

#include "dated.h"
#include "log.h"
#include "util.h"

#define FENCE_SQL_MAX (2 * SML_NAME_BUF + 512)   /* fits an escaped name */

static void fence_error(MYSQL *c, struct fence_result *r, enum sml_phase phase)
{
    r->code = mysql_errno(c);
    r->phase = phase;
    strlcpy_safe(r->msg, mysql_error(c), sizeof(r->msg));
}

/* The first column of the first row of sql's result into out ("" when
 * there is no row or it is NULL). Returns 1 with a row, 0 without, -1 on
 * an error (left in c). */
static int query_value(MYSQL *c, const char *sql, char *out, size_t outlen)
{
    out[0] = '\0';
    if (mysql_query(c, sql) != 0)
        return -1;
    MYSQL_RES *res = mysql_store_result(c);
    if (res == NULL)
        return mysql_errno(c) ? -1 : 0;
    MYSQL_ROW row = mysql_fetch_row(res);
    int found = row != NULL;
    if (row != NULL && row[0] != NULL)
        strlcpy_safe(out, row[0], outlen);
    mysql_free_result(res);
    return found;
}

int fence_server_identity(MYSQL *c, struct fence_result *r)
{
    char v[96];

    /* Galera: every node of one cluster is one database. */
    if (mysql_query(c, "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_state_uuid'") == 0) {
        MYSQL_RES *res = mysql_store_result(c);
        MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
        bool galera = row && row[1] && row[1][0] && strcmp(row[1], "00000000-0000-0000-0000-000000000000") != 0;
        if (galera)
            snprintf(r->server, sizeof(r->server), "galera:%s", row[1]);
        mysql_free_result(res);
        if (galera)
            return 0;
    } else {
        goto fail;
    }
    /* MySQL: Group Replication is one database too; else the server. */
    if (query_value(c, "SELECT @@group_replication_group_name", v, sizeof(v)) > 0 && v[0]) {
        snprintf(r->server, sizeof(r->server), "group:%s", v);
        return 0;
    }
    if (query_value(c, "SELECT @@server_uuid", v, sizeof(v)) > 0 && v[0]) {
        snprintf(r->server, sizeof(r->server), "mysql:%s", v);
        return 0;
    }
    /* MariaDB has no server uuid: its server_id (distinct in any
     * replication set-up), host name and port. */
    if (query_value(c, "SELECT CONCAT('mariadb:', @@server_id, '@', @@hostname, ':', @@port)", r->server,
                    sizeof(r->server)) <= 0)
        goto fail;
    return 0;
fail:
    fence_error(c, r, SML_PHASE_OTHER);
    return -1;
}

/* Type 4 rows: each moves to the period that is current now (by this
 * node's clock) with `gap` counters used, or by `gap` in its own period if
 * that is current or newer. Returns the rows moved, or -1 (error in c). */
static int64_t fence_dated_rows(MYSQL *c, const struct fence_conf *conf)
{
    char sql[FENCE_SQL_MAX];
    int64_t moved = 0;

    snprintf(sql, sizeof(sql), "SELECT biz_tag, prefix, tz, period, max_id FROM `%s` WHERE kind = %d "
             "FOR UPDATE", conf->table, (int)SEQ_DATED);
    if (mysql_query(c, sql) != 0)
        return -1;
    MYSQL_RES *res = mysql_store_result(c);
    if (res == NULL)
        return -1;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) != NULL) {
        enum dated_unit unit;
        char why[200], name[2 * SML_NAME_BUF + 1];
        const char *prefix = row[1] ? row[1] : "", *zone_name = row[2] ? row[2] : "";
        const struct tz *zone = tz_get(zone_name, why, sizeof(why));
        int64_t period = row[3] ? strtoll(row[3], NULL, 10) : 0;
        uint64_t max_id = row[4] ? strtoull(row[4], NULL, 10) : 0;

        unsigned long *len = mysql_fetch_lengths(res);
        if (row[0] == NULL || len == NULL || len[0] >= SML_NAME_BUF)
            continue;
        int64_t now_period = period;
        if (zone != NULL && dated_parse(prefix, strlen(prefix), &unit, why, sizeof(why)) == 0)
            now_period = dated_period_at(unit, zone, conf->now_s);
        else
            log_warn("fence: type 4 row '%s' has a pattern or zone seqd cannot read; moved in its own "
                     "period only", row[0]);
        uint64_t base = now_period > period ? 0 : max_id;
        int64_t new_period = now_period > period ? now_period : period;
        uint64_t top = base > (uint64_t)INT64_MAX - conf->gap ? (uint64_t)INT64_MAX : base + conf->gap;
        mysql_real_escape_string(c, name, row[0], len[0]);
        snprintf(sql, sizeof(sql), "UPDATE `%s` SET period = %" PRId64 ", max_id = %" PRIu64
                 " WHERE biz_tag = '%s'", conf->table, new_period, top, name);
        if (mysql_query(c, sql) != 0) {
            mysql_free_result(res);
            return -1;
        }
        moved++;
    }
    mysql_free_result(res);
    return moved;
}

/* Moves every sequence forward (see the top of the file). Returns the
 * rows moved or -1 (error in c). */
static int64_t fence_move(MYSQL *c, const struct fence_conf *conf)
{
    char sql[FENCE_SQL_MAX];
    bool has_kind = conf->shape.seqd_columns;
    int64_t moved;

    snprintf(sql, sizeof(sql), "UPDATE `%s` SET max_id = IF(max_id > %" PRId64 " - %" PRIu64 ", %" PRId64
             ", max_id + %" PRIu64 ") WHERE biz_tag <> ''%s", conf->table, INT64_MAX, conf->gap, INT64_MAX,
             conf->gap, has_kind && conf->shape.kind_columns ? " AND kind <> 4" : "");
    if (mysql_query(c, sql) != 0)
        return -1;
    moved = (int64_t)mysql_affected_rows(c);
    if (has_kind && conf->shape.kind_columns) {
        int64_t dated = fence_dated_rows(c, conf);
        if (dated < 0)
            return -1;
        moved += dated;
    }
    /* Type 5's leases; a table without seqd_workers (or the grant) has no
     * type 5 ids to protect. */
    snprintf(sql, sizeof(sql), "UPDATE seqd_workers SET generation = generation + %d, lease_until_ms = 0, "
             "reserved_ms = GREATEST(reserved_ms, CAST(ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED) + %"
             PRIu64 ")", FENCE_GENERATION_STEP, conf->worker_hold_ms);
    if (mysql_query(c, sql) != 0) {
        unsigned code = mysql_errno(c);
        if (code != ER_NO_SUCH_TABLE && code != ER_TABLEACCESS_DENIED_ERROR)
            return -1;
    }
    return moved;
}

enum fence_outcome fence_check(MYSQL *c, const struct fence_conf *conf, struct fence_result *r)
{
    char sql[FENCE_SQL_MAX], esc[2 * FENCE_SERVER_MAX + 1], esc_old[2 * FENCE_SERVER_MAX + 1];
    int found;

    r->recorded[0] = '\0';
    r->rows_moved = 0;
    if (fence_server_identity(c, r) != 0)
        return FENCE_FAILED;
    found = query_value(c, "SELECT meta_value FROM " FENCE_META_TABLE " WHERE meta_key = '"
                        FENCE_SERVER_KEY "' FOR UPDATE", r->recorded, sizeof(r->recorded));
    if (found < 0) {
        unsigned code = mysql_errno(c);
        /* No table, or no grant on it (an installation from before it):
         * no fence, which the caller says loudly; claims go on as before. */
        if (code == ER_NO_SUCH_TABLE || code == ER_TABLEACCESS_DENIED_ERROR ||
            code == ER_COLUMNACCESS_DENIED_ERROR) {
            strlcpy_safe(r->msg, mysql_error(c), sizeof(r->msg));
            r->code = code;
            mysql_rollback(c);
            return FENCE_OFF;
        }
        goto fail;
    }
    mysql_real_escape_string(c, esc, r->server, strlen(r->server));
    if (found && strcmp(r->recorded, r->server) == 0) {
        if (mysql_commit(c) != 0)
            goto fail_commit;
        return FENCE_SAME;
    }
    if (!found) {
        /* The first node ever (or the first since seqd_meta was made). */
        snprintf(sql, sizeof(sql), "INSERT INTO " FENCE_META_TABLE " (meta_key, meta_value) VALUES ('"
                 FENCE_SERVER_KEY "', '%s')", esc);
        if (mysql_query(c, sql) != 0)
            goto fail;
        if (mysql_commit(c) != 0)
            goto fail_commit;
        return FENCE_RECORDED;
    }
    if (conf->manual && strcmp(r->recorded, FENCE_APPROVED) != 0) {
        mysql_rollback(c);
        return FENCE_NEEDS_OPERATOR;
    }

    int64_t moved = fence_move(c, conf);
    if (moved < 0)
        goto fail;
    r->rows_moved = (uint64_t)moved;
    mysql_real_escape_string(c, esc_old, r->recorded, strlen(r->recorded));
    snprintf(sql, sizeof(sql), "UPDATE " FENCE_META_TABLE " SET meta_value = '%s' WHERE meta_key = '"
             FENCE_SERVER_KEY "'", esc);
    if (mysql_query(c, sql) != 0)
        goto fail;
    /* A line of history for the operator: when, from where to where. */
    snprintf(sql, sizeof(sql), "INSERT INTO " FENCE_META_TABLE " (meta_key, meta_value) VALUES "
             "(CONCAT('fence ', DATE_FORMAT(NOW(6), '%%Y-%%m-%%d %%H:%%i:%%s.%%f')), "
             "CONCAT('%s%s to %s; moved %" PRIu64 " sequences by %" PRIu64 "'))",
             strcmp(r->recorded, FENCE_APPROVED) == 0 ? "approved by an operator; " : "from ",
             strcmp(r->recorded, FENCE_APPROVED) == 0 ? "" : esc_old, esc, r->rows_moved, conf->gap);
    if (mysql_query(c, sql) != 0 && mysql_errno(c) != ER_DUP_ENTRY)
        goto fail;
    if (mysql_commit(c) != 0)
        goto fail_commit;
    return FENCE_MOVED;

fail:
    fence_error(c, r, SML_PHASE_OTHER);
    return FENCE_FAILED;
fail_commit:
    fence_error(c, r, SML_PHASE_COMMIT);
    return FENCE_FAILED;
}
