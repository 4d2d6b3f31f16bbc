/*
 * Unit tests of store_mysql_logic: what the MySQL store sends and how it
 * reads the answers, without a server. The rules under test are the ones
 * that keep numbers unique: a failure at COMMIT is never taken for a
 * success or a clean failure, a claim never runs past BIGINT, a row is
 * checked before it is served, and names never become SQL text.
 */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_mysql_logic.h"

static const struct sml_shape SEQD_SHAPE = { .seqd_columns = true, .kind_columns = true, .description = true,
                                             .update_time = true };
/* A table made by schema.sql before types 4 and 5: seqd's columns up to auto_disk. */
static const struct sml_shape OLD_SEQD_SHAPE = { .seqd_columns = true, .description = true };
static const struct sml_shape LEAF_SHAPE = { .seqd_columns = false, .description = true, .update_time = true };
static const struct sml_shape BARE_LEAF_SHAPE = { .seqd_columns = false, .description = false };

static int count_char(const char *s, char c)
{
    int n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

/* ---- table names and SQL ---------------------------------------------------- */

START_TEST(sql_for_seqd_table_is_the_documented_claim_transaction)
{
    struct sml_sql sql;
    char err[256];

    ck_assert_int_eq(sml_build_sql(&sql, "seqd_segments", &SEQD_SHAPE, err, sizeof(err)), 0);
    ck_assert_str_eq(sql.text[SML_SQL_CLAIM_SELECT],
                     "SELECT `biz_tag`, `max_id`, `step`, `description`, `kind`, `length`, "
                     "`starting`, `increment`, `perm_key`, `auto_disk`, `epoch`, `prefix`, `tz`, `period` "
                     "FROM `seqd_segments` WHERE `biz_tag` = ? AND `biz_tag` <> '' FOR UPDATE");
    ck_assert_str_eq(sql.text[SML_SQL_CLAIM_UPDATE],
                     "UPDATE `seqd_segments` SET `max_id` = `max_id` + ?, `update_time` = `update_time` "
                     "WHERE `biz_tag` = ?");
    ck_assert_str_eq(sql.text[SML_SQL_CLAIM_PERIOD],
                     "UPDATE `seqd_segments` SET `max_id` = ?, `period` = ?, `update_time` = `update_time` "
                     "WHERE `biz_tag` = ? AND `max_id` = ? AND `period` = ?");
    ck_assert(sql.has_claim_period);
    ck_assert_str_eq(sql.text[SML_SQL_INSERT],
                     "INSERT INTO `seqd_segments` (`biz_tag`, `max_id`, `step`, `description`, "
                     "`kind`, `length`, `starting`, `increment`, `perm_key`, `auto_disk`, `epoch`, "
                     "`prefix`, `tz`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    ck_assert_str_eq(sql.text[SML_SQL_DELETE], "DELETE FROM `seqd_segments` WHERE `biz_tag` = ? AND `biz_tag` <> ''");
    ck_assert_str_eq(sql.text[SML_SQL_LOOKUP],
                     "SELECT `biz_tag`, `max_id`, `step`, `description`, `kind`, `length`, "
                     "`starting`, `increment`, `perm_key`, `auto_disk`, `epoch`, `prefix`, `tz`, `period` "
                     "FROM `seqd_segments` WHERE `biz_tag` = ? AND `biz_tag` <> ''");
    ck_assert_str_eq(sql.text[SML_SQL_LIST],
                     "SELECT `biz_tag`, `max_id`, `step`, `description`, `kind`, `length`, "
                     "`starting`, `increment`, `perm_key`, `auto_disk`, `epoch`, `prefix`, `tz`, `period` "
                     "FROM `seqd_segments` WHERE `biz_tag` <> '' ORDER BY `biz_tag`");
    ck_assert_int_eq(sql.nselect, SML_COL_COUNT);
    ck_assert_int_eq(sql.ninsert, SML_COL_COUNT - 1);      /* all but period */
}
END_TEST

/* A table from before types 4 and 5: seqd's statements without epoch,
 * prefix, tz and period, no period claim. */
START_TEST(sql_for_a_table_before_the_kinds_columns_leaves_them_out)
{
    struct sml_sql sql;
    char err[256];

    ck_assert_int_eq(sml_build_sql(&sql, "seqd_segments", &OLD_SEQD_SHAPE, err, sizeof(err)), 0);
    ck_assert_str_eq(sql.text[SML_SQL_CLAIM_SELECT],
                     "SELECT `biz_tag`, `max_id`, `step`, `description`, `kind`, `length`, "
                     "`starting`, `increment`, `perm_key`, `auto_disk` FROM `seqd_segments` "
                     "WHERE `biz_tag` = ? AND `biz_tag` <> '' FOR UPDATE");
    ck_assert_str_eq(sql.text[SML_SQL_CLAIM_UPDATE],
                     "UPDATE `seqd_segments` SET `max_id` = `max_id` + ? WHERE `biz_tag` = ?");
    ck_assert_str_eq(sql.text[SML_SQL_CLAIM_PERIOD], "");
    ck_assert(!sql.has_claim_period);
    ck_assert_str_eq(sql.text[SML_SQL_INSERT],
                     "INSERT INTO `seqd_segments` (`biz_tag`, `max_id`, `step`, `description`, "
                     "`kind`, `length`, `starting`, `increment`, `perm_key`, `auto_disk`) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    ck_assert_str_eq(sql.text[SML_SQL_LIST],
                     "SELECT `biz_tag`, `max_id`, `step`, `description`, `kind`, `length`, "
                     "`starting`, `increment`, `perm_key`, `auto_disk` FROM `seqd_segments` "
                     "WHERE `biz_tag` <> '' ORDER BY `biz_tag`");
    ck_assert_int_eq(sql.nselect, SML_COL_FIRST_KINDS);
    ck_assert_int_eq(sql.ninsert, SML_COL_FIRST_KINDS);
    ck_assert_int_eq(sml_insert_col(&OLD_SEQD_SHAPE, 9), SML_COL_AUTO_DISK);
}
END_TEST

START_TEST(sql_binds_every_value_as_a_parameter)
{
    /* Placeholders per statement: the SQL text holds no data at all. */
    static const int params[SML_SQL_COUNT] = { 1, 2, 5, SML_COL_COUNT, 1, 1, 0, 1, 0, SML_CLAIM_BATCH };
    const struct sml_shape *shapes[] = { &SEQD_SHAPE, &OLD_SEQD_SHAPE, &LEAF_SHAPE, &BARE_LEAF_SHAPE };
    struct sml_sql sql;
    char err[256];
    size_t s;
    int i;

    for (s = 0; s < 4; s++) {
        bool kinds = shapes[s]->kind_columns;
        ck_assert_int_eq(sml_build_sql(&sql, "t", shapes[s], err, sizeof(err)), 0);
        for (i = 0; i < SML_SQL_COUNT; i++) {
            int want = i == SML_SQL_INSERT ? sql.ninsert : params[i];
            if (!kinds && i == SML_SQL_CLAIM_PERIOD)
                want = 0;                       /* no such statement */
            if (!shapes[s]->update_time && i == SML_SQL_LIST_CHANGED) {
                ck_assert_str_eq(sql.text[i], "");   /* rescans read everything */
                continue;
            }
            ck_assert_msg(count_char(sql.text[i], '?') == want, "statement %d: %s", i, sql.text[i]);
            /* No quoted literal anywhere, except the '' that stands in
             * for a missing description column and the '' of the
             * reserved id_step row, which no sequence statement reaches. */
            int quotes = (!shapes[s]->description &&
                          (i == SML_SQL_CLAIM_SELECT || i == SML_SQL_LOOKUP || i == SML_SQL_CLAIM_MANY ||
                           i == SML_SQL_LIST || i == SML_SQL_LIST_CHANGED)) ? 2 : 0;
            if (i != SML_SQL_INSERT && i != SML_SQL_CLAIM_UPDATE && i != SML_SQL_CLAIM_PERIOD)
                quotes += 2;
            ck_assert_msg(count_char(sql.text[i], '\'') == quotes, "statement %d: %s",
                          i, sql.text[i]);
        }
    }
}
END_TEST

START_TEST(sql_for_leaf_table_reads_only_leaf_columns)
{
    struct sml_sql sql;
    char err[256];

    ck_assert_int_eq(sml_build_sql(&sql, "leaf_alloc", &LEAF_SHAPE, err, sizeof(err)), 0);
    ck_assert_str_eq(sql.text[SML_SQL_CLAIM_SELECT],
                     "SELECT `biz_tag`, `max_id`, `step`, `description` FROM `leaf_alloc` "
                     "WHERE `biz_tag` = ? AND `biz_tag` <> '' FOR UPDATE");
    ck_assert_str_eq(sql.text[SML_SQL_INSERT],
                     "INSERT INTO `leaf_alloc` (`biz_tag`, `max_id`, `step`, `description`) "
                     "VALUES (?, ?, ?, ?)");
    ck_assert_int_eq(sql.nselect, SML_COL_FIRST_SEQD);
    ck_assert_int_eq(sql.ninsert, 4);
    ck_assert_ptr_null(strstr(sql.text[SML_SQL_LIST], "kind"));
}
END_TEST

START_TEST(sql_for_leaf_table_without_description_selects_empty_text)
{
    struct sml_sql sql;
    char err[256];

    ck_assert_int_eq(sml_build_sql(&sql, "leaf_alloc", &BARE_LEAF_SHAPE, err, sizeof(err)), 0);
    ck_assert_str_eq(sql.text[SML_SQL_LOOKUP],
                     "SELECT `biz_tag`, `max_id`, `step`, '' AS `description` FROM `leaf_alloc` "
                     "WHERE `biz_tag` = ? AND `biz_tag` <> ''");
    ck_assert_str_eq(sql.text[SML_SQL_INSERT],
                     "INSERT INTO `leaf_alloc` (`biz_tag`, `max_id`, `step`) VALUES (?, ?, ?)");
    ck_assert_int_eq(sql.ninsert, 3);
    ck_assert_int_eq(sml_insert_col(&BARE_LEAF_SHAPE, 2), SML_COL_STEP);
    ck_assert_int_eq(sml_insert_col(&SEQD_SHAPE, 3), SML_COL_DESCRIPTION);
    ck_assert_int_eq(sml_insert_col(&SEQD_SHAPE, 9), SML_COL_AUTO_DISK);
}
END_TEST

/* The reserved row of id_step / id_offset: read, "holds sequences?", and
 * recorded race-free; on a Leaf table without description too. */
START_TEST(sql_for_the_id_step_row_reads_and_records_it_race_free)
{
    struct sml_sql sql;
    char err[256];

    ck_assert_int_eq(sml_build_sql(&sql, "seqd_segments", &SEQD_SHAPE, err, sizeof(err)), 0);
    ck_assert_str_eq(sql.spread[SML_SPREAD_SELECT],
                     "SELECT `step`, `max_id` FROM `seqd_segments` WHERE `biz_tag` = ''");
    ck_assert_str_eq(sql.spread[SML_SPREAD_ANY],
                     "SELECT 1 FROM `seqd_segments` WHERE `biz_tag` <> '' AND `max_id` > 0 LIMIT 1");
    ck_assert_str_eq(sql.spread[SML_SPREAD_INSERT],
                     "INSERT IGNORE INTO `seqd_segments` (`biz_tag`, `step`, `max_id`, `description`) "
                     "VALUES ('', ?, ?, '" SML_SPREAD_DESCRIPTION "')");
    ck_assert_int_eq(sml_build_sql(&sql, "leaf_alloc", &BARE_LEAF_SHAPE, err, sizeof(err)), 0);
    ck_assert_str_eq(sql.spread[SML_SPREAD_INSERT],
                     "INSERT IGNORE INTO `leaf_alloc` (`biz_tag`, `step`, `max_id`) VALUES ('', ?, ?)");
    /* No statement of a sequence reaches the reserved row (the claim's
     * UPDATEs run on the row its SELECT found). */
    for (int i = 0; i < SML_SQL_COUNT; i++)
        if (i != SML_SQL_INSERT && i != SML_SQL_CLAIM_UPDATE && i != SML_SQL_CLAIM_PERIOD && sql.text[i][0])
            ck_assert_msg(strstr(sql.text[i], "`biz_tag` <> ''") != NULL, "%s", sql.text[i]);
}
END_TEST

/* With update_time, claims leave it alone (give-backs too: store_mysql.c
 * builds their UPDATE), so that a rescan reading only the rows whose
 * update_time moved reads changed definitions, not claimed rows. */
START_TEST(sql_claims_keep_update_time_and_rescans_read_what_changed)
{
    struct sml_sql sql;
    char err[256];

    ck_assert_int_eq(sml_build_sql(&sql, "seqd_segments", &SEQD_SHAPE, err, sizeof(err)), 0);
    ck_assert_str_eq(sql.text[SML_SQL_CLAIM_UPDATE], "UPDATE `seqd_segments` SET `max_id` = `max_id` + ?, "
                     "`update_time` = `update_time` WHERE `biz_tag` = ?");
    ck_assert_ptr_nonnull(strstr(sql.text[SML_SQL_CLAIM_PERIOD], "`update_time` = `update_time`"));
    ck_assert_ptr_nonnull(strstr(sql.text[SML_SQL_LIST_CHANGED],
                                 "WHERE `update_time` >= FROM_UNIXTIME(?) AND `biz_tag` <> ''"));
    ck_assert_str_eq(sql.text[SML_SQL_ROWS],
                     "SELECT COUNT(*), UNIX_TIMESTAMP() FROM `seqd_segments` WHERE `biz_tag` <> ''");
    ck_assert_int_eq(sml_build_sql(&sql, "t", &OLD_SEQD_SHAPE, err, sizeof(err)), 0);
    ck_assert_str_eq(sql.text[SML_SQL_CLAIM_UPDATE], "UPDATE `t` SET `max_id` = `max_id` + ? WHERE `biz_tag` = ?");
    const char *with[] = { "biz_tag", "max_id", "step", "Update_Time" };
    struct sml_shape shape;
    ck_assert_int_eq(sml_shape_from_columns(with, 4, &shape, err, sizeof(err)), 0);
    ck_assert(shape.update_time);
    ck_assert_int_eq(sml_shape_from_columns(with, 3, &shape, err, sizeof(err)), 0);
    ck_assert(!shape.update_time);
}
END_TEST

START_TEST(sql_refuses_a_table_name_that_is_not_an_identifier)
{
    struct sml_sql sql;
    char err[256] = "";

    ck_assert_int_eq(sml_build_sql(&sql, "x` WHERE 1; --", &SEQD_SHAPE, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "table name"));
    ck_assert_str_eq(sql.text[SML_SQL_CLAIM_SELECT], "");
}
END_TEST

/* ---- table shape ------------------------------------------------------------- */

START_TEST(shape_of_seqd_table_in_any_case_and_order)
{
    const char *cols[] = { "AUTO_DISK", "perm_key", "Increment", "starting", "length", "kind",
                           "update_time", "description", "step", "max_id", "BIZ_TAG", "extra", "Epoch",
                           "PERIOD", "tz", "Prefix" };
    struct sml_shape shape;
    char err[256];

    ck_assert_int_eq(sml_shape_from_columns(cols, 16, &shape, err, sizeof(err)), 0);
    ck_assert(shape.seqd_columns);
    ck_assert(shape.kind_columns);
    ck_assert(shape.description);
}
END_TEST

/* A table made by an older schema.sql (seqd's columns up to auto_disk)
 * opens, without the kinds' columns: it serves types 1 to 3. */
START_TEST(shape_of_a_table_before_types_4_and_5_has_no_kind_columns)
{
    const char *cols[] = { "biz_tag", "max_id", "step", "description", "update_time", "kind", "length",
                           "starting", "increment", "perm_key", "auto_disk" };
    struct sml_shape shape;
    char err[256];

    ck_assert_int_eq(sml_shape_from_columns(cols, 11, &shape, err, sizeof(err)), 0);
    ck_assert(shape.seqd_columns);
    ck_assert(!shape.kind_columns);
    ck_assert(shape.description);
}
END_TEST

/* Some of epoch, prefix, tz, period (the first type 5 schema had epoch
 * alone): a start-up error that names the missing ones and the script;
 * the kinds' columns without seqd's: an error too. */
START_TEST(shape_refuses_some_but_not_all_kind_columns)
{
    const char *epoch_only[] = { "biz_tag", "max_id", "step", "kind", "length", "starting", "increment",
                                 "perm_key", "auto_disk", "epoch" };
    const char *no_tz[] = { "biz_tag", "max_id", "step", "kind", "length", "starting", "increment",
                            "perm_key", "auto_disk", "epoch", "prefix", "period" };
    const char *leaf_and_kinds[] = { "biz_tag", "max_id", "step", "epoch", "prefix", "tz", "period" };
    struct sml_shape shape;
    char err[256];

    ck_assert_int_eq(sml_shape_from_columns(epoch_only, 10, &shape, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "not prefix, tz, period") != NULL, "%s", err);
    ck_assert_ptr_nonnull(strstr(err, "sql/upgrade-kinds.sql"));
    ck_assert_int_eq(sml_shape_from_columns(no_tz, 12, &shape, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "but not tz:") != NULL, "%s", err);
    ck_assert_int_eq(sml_shape_from_columns(leaf_and_kinds, 7, &shape, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "upgrade-from-leaf.sql"));
}
END_TEST

START_TEST(shape_of_leaf_table_is_leaf_only)
{
    const char *cols[] = { "biz_tag", "max_id", "step", "description", "update_time" };
    const char *bare[] = { "biz_tag", "max_id", "step" };
    struct sml_shape shape;
    char err[256];

    ck_assert_int_eq(sml_shape_from_columns(cols, 5, &shape, err, sizeof(err)), 0);
    ck_assert(!shape.seqd_columns);
    ck_assert(shape.description);
    ck_assert_int_eq(sml_shape_from_columns(bare, 3, &shape, err, sizeof(err)), 0);
    ck_assert(!shape.seqd_columns);
    ck_assert(!shape.description);
}
END_TEST

START_TEST(shape_refuses_missing_core_or_partial_seqd_columns)
{
    const char *no_step[] = { "biz_tag", "max_id", "description" };
    const char *half[] = { "biz_tag", "max_id", "step", "kind", "length", "starting", "epoch", "prefix",
                           "tz", "period" };
    struct sml_shape shape;
    char err[256];

    ck_assert_int_eq(sml_shape_from_columns(no_step, 3, &shape, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "step"));
    ck_assert_int_eq(sml_shape_from_columns(half, 10, &shape, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "increment"));
    ck_assert_ptr_nonnull(strstr(err, "upgrade-from-leaf.sql"));
    ck_assert_int_eq(sml_shape_from_columns(NULL, 0, &shape, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "does not exist"));
}
END_TEST

/* ---- errors --------------------------------------------------------------- */

/* Codes a claim can meet: client errors, connection loss, passing and
 * permanent server errors, and ones this module has never heard of. */
static const unsigned some_codes[] = {
    0, 1040, 1044, 1045, 1049, 1053, 1054, 1062, 1064, 1114, 1142, 1146, 1152, 1158,
    1180, 1205, 1213, 1264, 1290, 1317, 1615, 1690, 1792, 1836, 1927, 1969, 2002,
    2003, 2006, 2013, 2014, 2026, 2055, 4031, 5014, 9999,
};

static bool is_conflict_code(unsigned code)
{
    return code == 1205 || code == 1213 || code == 1047 || code == 3101;
}

START_TEST(commit_failure_is_unknown_and_drops_the_connection_unless_rolled_back)
{
    struct sml_verdict v;
    size_t i;

    for (i = 0; i < sizeof(some_codes) / sizeof(some_codes[0]); i++) {
        if (is_conflict_code(some_codes[i]))
            continue;                     /* the next test */
        sml_classify(some_codes[i], SML_PHASE_COMMIT, &v);
        ck_assert_msg(v.status == STORE_UNKNOWN, "code %u", some_codes[i]);
        ck_assert(!v.conflict);
        ck_assert_msg(v.drop_conn, "code %u", some_codes[i]);
        ck_assert(!v.conn_lost);          /* never retried as if nothing happened */
    }
}
END_TEST

/* Galera answers a certification failure at COMMIT with 1213: the server
 * rolled back, so the claim is retried, not thrown away; the connection
 * stays. Only an unanswered COMMIT (2013, 2006) is unknown. */
START_TEST(conflicts_answered_at_any_phase_are_retried_on_the_same_connection)
{
    static const unsigned conflicts[] = { 1205, 1213, 1047, 3101 };
    static const enum sml_phase phases[] = { SML_PHASE_SELECT, SML_PHASE_UPDATE, SML_PHASE_OTHER,
                                             SML_PHASE_COMMIT };
    struct sml_verdict v;
    size_t i, p;

    for (p = 0; p < 4; p++) {
        for (i = 0; i < sizeof(conflicts) / sizeof(conflicts[0]); i++) {
            sml_classify(conflicts[i], phases[p], &v);
            ck_assert_msg(v.status == STORE_UNAVAILABLE, "code %u phase %d", conflicts[i], (int)phases[p]);
            ck_assert(v.conflict);
            ck_assert(v.rollback);
            ck_assert(!v.drop_conn);
            ck_assert(!v.permanent);
        }
    }
    sml_classify(SML_CR_SERVER_LOST, SML_PHASE_COMMIT, &v);
    ck_assert_int_eq(v.status, STORE_UNKNOWN);
    ck_assert(!v.conflict);
    sml_classify(SML_CR_SERVER_GONE, SML_PHASE_COMMIT, &v);
    ck_assert_int_eq(v.status, STORE_UNKNOWN);
    sml_classify(1180, SML_PHASE_COMMIT, &v);       /* "Got error during COMMIT": unknown */
    ck_assert_int_eq(v.status, STORE_UNKNOWN);
}
END_TEST

START_TEST(failure_before_commit_is_never_unknown)
{
    static const enum sml_phase phases[] = {
        SML_PHASE_CONNECT, SML_PHASE_SELECT, SML_PHASE_UPDATE, SML_PHASE_OTHER
    };
    struct sml_verdict v;
    size_t i, p;

    for (p = 0; p < 4; p++) {
        for (i = 0; i < sizeof(some_codes) / sizeof(some_codes[0]); i++) {
            sml_classify(some_codes[i], phases[p], &v);
            ck_assert_msg(v.status != STORE_UNKNOWN && v.status != STORE_OK,
                          "code %u phase %d", some_codes[i], (int)phases[p]);
            /* Either the connection is kept after a ROLLBACK, or dropped
             * (which rolls back on the server). */
            ck_assert_msg(v.rollback || v.drop_conn, "code %u phase %d", some_codes[i],
                          (int)phases[p]);
            ck_assert_ptr_nonnull(v.hint);
        }
    }
}
END_TEST

START_TEST(lost_connection_before_commit_is_unavailable_and_retryable)
{
    static const unsigned lost[] = { 2006, 2013, 2055, 1053, 1927, 4031, 5014 };
    struct sml_verdict v;
    size_t i;

    for (i = 0; i < sizeof(lost) / sizeof(lost[0]); i++) {
        sml_classify(lost[i], SML_PHASE_SELECT, &v);
        ck_assert_int_eq(v.status, STORE_UNAVAILABLE);
        ck_assert(v.drop_conn);
        ck_assert(v.conn_lost);
        ck_assert(!v.permanent);
        sml_classify(lost[i], SML_PHASE_UPDATE, &v);
        ck_assert_int_eq(v.status, STORE_UNAVAILABLE);
        ck_assert(v.conn_lost);
    }
}
END_TEST

START_TEST(lock_wait_and_deadlock_roll_back_and_keep_the_connection)
{
    struct sml_verdict v;

    sml_classify(SML_ER_LOCK_WAIT_TIMEOUT, SML_PHASE_SELECT, &v);
    ck_assert_int_eq(v.status, STORE_UNAVAILABLE);
    ck_assert(v.rollback);
    ck_assert(!v.drop_conn);
    ck_assert(!v.conn_lost);
    sml_classify(SML_ER_LOCK_DEADLOCK, SML_PHASE_UPDATE, &v);
    ck_assert_int_eq(v.status, STORE_UNAVAILABLE);
    ck_assert(v.rollback);
    ck_assert(!v.drop_conn);
    sml_classify(SML_ER_OPTION_PREVENTS_STATEMENT, SML_PHASE_UPDATE, &v);   /* read-only */
    ck_assert_int_eq(v.status, STORE_UNAVAILABLE);
    ck_assert(!v.permanent);
}
END_TEST

START_TEST(bad_credentials_database_or_tls_at_connect_are_permanent_with_a_hint)
{
    struct sml_verdict v;

    sml_classify(SML_ER_ACCESS_DENIED, SML_PHASE_CONNECT, &v);
    ck_assert_int_eq(v.status, STORE_UNAVAILABLE);
    ck_assert(v.permanent);
    ck_assert_ptr_nonnull(strstr(v.hint, "store.mysql.password"));
    sml_classify(SML_ER_BAD_DB, SML_PHASE_CONNECT, &v);
    ck_assert(v.permanent);
    ck_assert_ptr_nonnull(strstr(v.hint, "store.mysql.database"));
    sml_classify(SML_ER_DBACCESS_DENIED, SML_PHASE_CONNECT, &v);
    ck_assert(v.permanent);
    sml_classify(SML_CR_SSL_CONNECTION_ERROR, SML_PHASE_CONNECT, &v);
    ck_assert(v.permanent);
    ck_assert_ptr_nonnull(strstr(v.hint, "ssl_mode"));
    sml_classify(SML_ER_NO_SUCH_TABLE, SML_PHASE_CONNECT, &v);
    ck_assert(v.permanent);
    ck_assert_ptr_nonnull(strstr(v.hint, "schema.sql"));
}
END_TEST

START_TEST(access_denied_at_localhost_hints_at_the_anonymous_user)
{
    struct sml_verdict v;
    const char *h;

    sml_classify(SML_ER_ACCESS_DENIED, SML_PHASE_CONNECT, &v);
    h = sml_error_hint(SML_ER_ACCESS_DENIED,
                       "Access denied for user 'seqd'@'localhost' (using password: YES)", v.hint);
    ck_assert_ptr_nonnull(strstr(h, "store.mysql.password"));
    ck_assert_ptr_nonnull(strstr(h, "anonymous ''@'localhost' user"));
    ck_assert_ptr_nonnull(strstr(h, "DROP USER ''@'localhost'"));
    ck_assert_ptr_nonnull(strstr(h, "sql/README.md"));
    /* Seen from another host: the anonymous user is not the cause. */
    h = sml_error_hint(SML_ER_ACCESS_DENIED,
                       "Access denied for user 'seqd'@'10.0.0.7' (using password: YES)", v.hint);
    ck_assert_str_eq(h, v.hint);
    ck_assert_ptr_null(strstr(h, "anonymous"));
    /* Another error that mentions localhost keeps its own hint. */
    sml_classify(SML_ER_BAD_DB, SML_PHASE_CONNECT, &v);
    ck_assert_str_eq(sml_error_hint(SML_ER_BAD_DB, "Unknown database 'x' for 'seqd'@'localhost'",
                                    v.hint), v.hint);
}
END_TEST

START_TEST(unreachable_server_at_connect_is_passing_with_a_hint)
{
    struct sml_verdict v;

    sml_classify(SML_CR_CONNECTION_ERROR, SML_PHASE_CONNECT, &v);
    ck_assert_int_eq(v.status, STORE_UNAVAILABLE);
    ck_assert(!v.permanent);
    ck_assert_ptr_nonnull(strstr(v.hint, "store.mysql.host"));
    sml_classify(SML_CR_SERVER_LOST, SML_PHASE_CONNECT, &v);
    ck_assert(!v.permanent);
}
END_TEST

START_TEST(missing_table_or_column_while_running_is_an_error)
{
    struct sml_verdict v;

    sml_classify(SML_ER_NO_SUCH_TABLE, SML_PHASE_SELECT, &v);
    ck_assert_int_eq(v.status, STORE_ERROR);
    ck_assert(v.permanent);
    ck_assert(v.drop_conn);             /* re-prepare on a new connection */
    ck_assert_ptr_nonnull(strstr(v.hint, "schema.sql"));
    sml_classify(SML_ER_BAD_FIELD, SML_PHASE_OTHER, &v);
    ck_assert_int_eq(v.status, STORE_ERROR);
    sml_classify(SML_ER_DATA_OUT_OF_RANGE, SML_PHASE_UPDATE, &v);
    ck_assert_int_eq(v.status, STORE_ERROR);
    ck_assert_ptr_nonnull(strstr(v.hint, "BIGINT"));
}
END_TEST

START_TEST(duplicate_key_on_create_is_exists_only_outside_claims)
{
    struct sml_verdict v;

    sml_classify(SML_ER_DUP_ENTRY, SML_PHASE_OTHER, &v);
    ck_assert_int_eq(v.status, STORE_EXISTS);
    ck_assert(v.rollback);
    ck_assert(!v.drop_conn);
    sml_classify(SML_ER_DUP_ENTRY, SML_PHASE_UPDATE, &v);
    ck_assert_int_ne(v.status, STORE_EXISTS);
}
END_TEST

START_TEST(unknown_error_before_commit_starts_afresh)
{
    struct sml_verdict v;

    sml_classify(9999, SML_PHASE_UPDATE, &v);
    ck_assert_int_eq(v.status, STORE_UNAVAILABLE);
    ck_assert(v.drop_conn);
    ck_assert(!v.conn_lost);            /* not retried at once: we do not know why */
    ck_assert(!v.permanent);
}
END_TEST

/* ---- backoff and claim size ------------------------------------------------ */

START_TEST(backoff_doubles_from_100ms_to_500ms)
{
    ck_assert_uint_eq(sml_backoff_ms(0), 0);
    ck_assert_uint_eq(sml_backoff_ms(1), 100);
    ck_assert_uint_eq(sml_backoff_ms(2), 200);
    ck_assert_uint_eq(sml_backoff_ms(3), 400);
    ck_assert_uint_eq(sml_backoff_ms(4), 500);
    ck_assert_uint_eq(sml_backoff_ms(100), 500);
    ck_assert_uint_eq(sml_backoff_ms(UINT_MAX), 500);
}
END_TEST

START_TEST(claim_size_is_at_least_want_and_step)
{
    uint64_t n;

    ck_assert_int_eq(sml_claim_size(0, 1000, 1, &n), 0);
    ck_assert_uint_eq(n, 1000);
    ck_assert_int_eq(sml_claim_size(5, 1000, 4000, &n), 0);
    ck_assert_uint_eq(n, 4000);
    ck_assert_int_eq(sml_claim_size(5, 0, 0, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(sml_claim_size(1, 7, 7, &n), 0);
    ck_assert_uint_eq(n, 7);
}
END_TEST

/* store.h's period rule: a newer wanted period restarts the counter; a
 * row in a newer (or the same) period is served there, from max_id. */
START_TEST(claim_period_moves_forward_only)
{
    int64_t period = -1, start = -1;

    sml_claim_period(0, 0, 1796169600, &period, &start);          /* the row's first claim */
    ck_assert_int_eq(period, 1796169600);
    ck_assert_int_eq(start, 0);
    sml_claim_period(1796169600, 40, 1796169600, &period, &start); /* same day */
    ck_assert_int_eq(period, 1796169600);
    ck_assert_int_eq(start, 40);
    sml_claim_period(1796169600, 40, 1796256000, &period, &start); /* midnight: restart */
    ck_assert_int_eq(period, 1796256000);
    ck_assert_int_eq(start, 0);
    sml_claim_period(1796256000, 7, 1796169600, &period, &start);  /* a clock behind */
    ck_assert_int_eq(period, 1796256000);
    ck_assert_int_eq(start, 7);
}
END_TEST

/* A batch of claims (store.h: claim_many) reads its rows in one locking
 * statement, in key order, every name a bound parameter. */
START_TEST(sql_batch_of_claims_locks_its_rows_in_key_order)
{
    struct sml_sql sql;
    char err[256];

    ck_assert_int_eq(sml_build_sql(&sql, "seqd_segments", &SEQD_SHAPE, err, sizeof(err)), 0);
    const char *t = sql.text[SML_SQL_CLAIM_MANY];
    ck_assert_msg(strncmp(t, "SELECT `biz_tag`, `max_id`, `step`, ", 35) == 0, "%s", t);
    ck_assert_ptr_nonnull(strstr(t, " FROM `seqd_segments` WHERE `biz_tag` IN (?, ?, "));
    ck_assert_ptr_nonnull(strstr(t, ", ?) AND `biz_tag` <> '' ORDER BY `biz_tag` FOR UPDATE"));
    ck_assert_int_eq(count_char(t, '?'), SML_CLAIM_BATCH);
    /* The same columns as the single claim's SELECT, so one row reader serves both. */
    const char *one = sql.text[SML_SQL_CLAIM_SELECT];
    ck_assert_int_eq((int)(strstr(t, " FROM") - t), (int)(strstr(one, " FROM") - one));
    ck_assert_int_eq(strncmp(t, one, (size_t)(strstr(one, " FROM") - one)), 0);
}
END_TEST

/* The names of a batch: sorted for the look-up of rows read back, and a
 * name that a case-insensitive biz_tag could not tell from an earlier one
 * runs alone, after the batch (never two claims on one row in one read). */
START_TEST(claim_batch_sorts_names_and_sends_case_twins_alone)
{
    const char *names[] = { "order_id", "b", "Order_ID", "a", "b", "ORDER_ID", "c" };
    size_t order[7];

    size_t k = sml_claim_batch_split(names, 7, order);
    ck_assert_uint_eq(k, 4);
    ck_assert_str_eq(names[order[0]], "a");
    ck_assert_str_eq(names[order[1]], "b");
    ck_assert_uint_eq(order[1], 1);                 /* the first "b" is in the batch */
    ck_assert_str_eq(names[order[2]], "c");
    ck_assert_uint_eq(order[3], 0);                 /* the first spelling is in it */
    ck_assert_uint_eq(order[4], 2);                 /* the others alone, in their order */
    ck_assert_uint_eq(order[5], 4);
    ck_assert_uint_eq(order[6], 5);

    const char *one[] = { "x" };
    ck_assert_uint_eq(sml_claim_batch_split(one, 1, order), 1);
    ck_assert_uint_eq(order[0], 0);
    ck_assert_uint_eq(sml_claim_batch_split(NULL, 0, order), 0);
    /* Not ASCII letters: only A-Z fold; '_' and '-' stay apart. */
    const char *marks[] = { "a_b", "a-b", "A_B" };
    ck_assert_uint_eq(sml_claim_batch_split(marks, 3, order), 2);
    ck_assert_uint_eq(order[2], 2);
}
END_TEST

START_TEST(claim_size_never_runs_past_bigint)
{
    static const int64_t tops[] = { INT64_MAX - 1, INT64_MAX - 999, INT64_MAX - 1000,
                                    INT64_MAX / 2, 0 };
    uint64_t n;
    size_t i;

    ck_assert_int_eq(sml_claim_size(INT64_MAX - 5, 1000, 1, &n), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(sml_claim_size(INT64_MAX, 1000, 1, &n), -1);
    ck_assert_int_eq(sml_claim_size(-1, 1000, 1, &n), -1);
    for (i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
        ck_assert_int_eq(sml_claim_size(tops[i], 1000, UINT64_MAX, &n), 0);
        ck_assert(n >= 1);
        ck_assert((uint64_t)tops[i] + n <= (uint64_t)INT64_MAX);
    }
}
END_TEST

/* ---- rows ------------------------------------------------------------------ */

static void row_set_str(struct sml_row *row, enum sml_col col, const char *s)
{
    char *dst = col == SML_COL_NAME ? row->name :
                col == SML_COL_DESCRIPTION ? row->description :
                col == SML_COL_PREFIX ? row->prefix :
                col == SML_COL_TZ ? row->tz : row->auto_disk;
    size_t len = strlen(s);
    memcpy(dst, s, len);
    row->len[col] = (unsigned long)len;
    row->null[col] = false;
}

/* A Leaf-shaped row as a Leaf table returns it. */
static struct sml_row leaf_row(const char *name, int64_t max_id, int64_t step)
{
    struct sml_row row;
    memset(&row, 0, sizeof(row));
    row_set_str(&row, SML_COL_NAME, name);
    row.max_id = max_id;
    row.step = step;
    row.null[SML_COL_DESCRIPTION] = true;
    return row;
}

/* A row of seqd's table with every column set. */
static struct sml_row seqd_row(const char *name, int kind, int length, int64_t starting,
                               int64_t increment)
{
    struct sml_row row = leaf_row(name, 42, 500);
    row_set_str(&row, SML_COL_DESCRIPTION, "order numbers");
    row.kind = kind;
    row.length = length;
    row.starting = starting;
    row.increment = increment;
    row.perm_key = 0x0123456789abcdefULL;
    row_set_str(&row, SML_COL_AUTO_DISK, "");
    row_set_str(&row, SML_COL_PREFIX, "");
    row_set_str(&row, SML_COL_TZ, "");
    return row;
}

/* A type 4 row: daily numbers, 4 digits, in day `period`. */
static struct sml_row dated_row(const char *name, const char *prefix, const char *tz, int64_t period)
{
    struct sml_row row = seqd_row(name, SEQ_DATED, 4, 1, 1);
    row.perm_key = 77;
    row_set_str(&row, SML_COL_PREFIX, prefix);
    row_set_str(&row, SML_COL_TZ, tz);
    row.period = period;
    return row;
}

START_TEST(leaf_row_is_a_plain_counter_from_its_max_id)
{
    struct sml_row row = leaf_row("msg", 1, 1000);
    struct seqdef def;
    int64_t max_id = -1;
    char err[256];

    ck_assert_int_eq(sml_row_to_def(&row, &LEAF_SHAPE, &def, &max_id, err, sizeof(err)), 0);
    ck_assert_str_eq(def.name, "msg");
    ck_assert_int_eq(def.kind, SEQ_INCREASING);
    ck_assert_int_eq(def.length, 0);
    ck_assert_int_eq(def.starting, 0);
    ck_assert_int_eq(def.increment, 1);
    ck_assert_uint_eq(def.segment, 1000);
    ck_assert_int_eq(def.auto_disk, AUTO_DISK_DEFAULT);
    ck_assert_str_eq(def.description, "");
    ck_assert_int_eq(max_id, 1);
    /* so its first number is its max_id */
    ck_assert_int_eq(seqdef_number(&def, NULL, (uint64_t)max_id), 1);
}
END_TEST

START_TEST(seqd_row_keeps_every_column)
{
    struct sml_row row = seqd_row("invoice", SEQ_FIXED, 8, 10000000, 3);
    struct seqdef def;
    int64_t max_id;
    char err[256];

    row_set_str(&row, SML_COL_AUTO_DISK, "pre-base");
    ck_assert_int_eq(sml_row_to_def(&row, &SEQD_SHAPE, &def, &max_id, err, sizeof(err)), 0);
    ck_assert_str_eq(def.name, "invoice");
    ck_assert_int_eq(def.kind, SEQ_FIXED);
    ck_assert_int_eq(def.length, 8);
    ck_assert_int_eq(def.starting, 10000000);
    ck_assert_int_eq(def.increment, 3);
    ck_assert_uint_eq(def.segment, 500);
    ck_assert_uint_eq(def.perm_key, 0x0123456789abcdefULL);
    ck_assert_int_eq(def.auto_disk, AUTO_DISK_PRE_BASE);
    ck_assert_str_eq(def.description, "order numbers");
    ck_assert_int_eq(max_id, 42);
}
END_TEST

START_TEST(row_with_unusable_counter_or_step_is_refused)
{
    struct sml_row row;
    struct seqdef def;
    int64_t max_id;
    char err[256];

    row = leaf_row("neg", -4, 10);
    ck_assert_int_eq(sml_row_to_def(&row, &LEAF_SHAPE, &def, &max_id, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "row 'neg'"));
    ck_assert_ptr_nonnull(strstr(err, "max_id -4"));

    row = leaf_row("zero", 1, 0);
    ck_assert_int_eq(sml_row_to_def(&row, &LEAF_SHAPE, &def, &max_id, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "step 0"));

    row = leaf_row("nul", 1, 10);
    row.null[SML_COL_MAX_ID] = true;
    ck_assert_int_eq(sml_row_to_def(&row, &LEAF_SHAPE, &def, &max_id, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "max_id is NULL"));

    row = seqd_row("big", SEQ_INCREASING, 0, 0, 1);
    row.out_of_range[SML_COL_PERM_KEY] = true;
    ck_assert_int_eq(sml_row_to_def(&row, &SEQD_SHAPE, &def, &max_id, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "perm_key is out of range"));
}
END_TEST

START_TEST(row_with_bad_definition_is_refused)
{
    struct sml_row row;
    struct seqdef def;
    int64_t max_id;
    char err[256];

    row = seqd_row("k6", 6, 0, 0, 1);
    ck_assert_int_eq(sml_row_to_def(&row, &SEQD_SHAPE, &def, &max_id, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "kind 6"));

    /* a type 4 row without its pattern */
    row = dated_row("k4", "", "UTC", 0);
    ck_assert_int_eq(sml_row_to_def(&row, &SEQD_SHAPE, &def, &max_id, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "row 'k4'"));
    /* a prefix longer than a pattern may be: refused, not cut */
    row = dated_row("long", "%y%m%dAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "UTC", 0);
    ck_assert_int_eq(sml_row_to_def(&row, &SEQD_SHAPE, &def, &max_id, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "prefix is longer"));
    /* prefix and tz belong to kind 4 */
    row = seqd_row("p3", SEQ_INCREASING, 0, 0, 1);
    row_set_str(&row, SML_COL_PREFIX, "%y");
    ck_assert_int_eq(sml_row_to_def(&row, &SEQD_SHAPE, &def, &max_id, err, sizeof(err)), -1);

    /* A table before types 4 and 5 can hold no row of them. */
    row = seqd_row("k5", SEQ_SNOWFLAKE, 0, 0, 1);
    ck_assert_int_eq(sml_row_to_def(&row, &OLD_SEQD_SHAPE, &def, &max_id, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "kind 5 needs the columns epoch, prefix, tz and period") != NULL, "%s", err);
    ck_assert_ptr_nonnull(strstr(err, "sql/upgrade-kinds.sql"));
    row = seqd_row("k4old", SEQ_DATED, 4, 1, 1);
    ck_assert_int_eq(sml_row_to_def(&row, &OLD_SEQD_SHAPE, &def, &max_id, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "sql/upgrade-kinds.sql"));

    row = seqd_row("l19", SEQ_FIXED, 19, 1, 1);
    ck_assert_int_eq(sml_row_to_def(&row, &SEQD_SHAPE, &def, &max_id, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "length 19"));

    /* seqdef_validate's own rules apply: type 2 starting outside its digits */
    row = seqd_row("fix", SEQ_FIXED, 4, 5, 1);
    ck_assert_int_eq(sml_row_to_def(&row, &SEQD_SHAPE, &def, &max_id, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "row 'fix'"));

    row = seqd_row("inc0", SEQ_INCREASING, 0, 0, 0);
    ck_assert_int_eq(sml_row_to_def(&row, &SEQD_SHAPE, &def, &max_id, err, sizeof(err)), -1);

    row = seqd_row("ad", SEQ_INCREASING, 0, 0, 1);
    row_set_str(&row, SML_COL_AUTO_DISK, "sometimes");
    ck_assert_int_eq(sml_row_to_def(&row, &SEQD_SHAPE, &def, &max_id, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "auto_disk"));

    row = seqd_row("nk", SEQ_INCREASING, 0, 0, 1);
    row.null[SML_COL_KIND] = true;
    ck_assert_int_eq(sml_row_to_def(&row, &SEQD_SHAPE, &def, &max_id, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "kind is NULL"));
}
END_TEST

START_TEST(dated_row_keeps_its_pattern_zone_and_period)
{
    struct sml_row row = dated_row("daily", "%y%m%d", "Asia/Shanghai", 1796169600);
    struct seqdef def;
    int64_t max_id;
    char err[256];

    ck_assert_int_eq(sml_row_to_def(&row, &SEQD_SHAPE, &def, &max_id, err, sizeof(err)), 0);
    ck_assert_int_eq(def.kind, SEQ_DATED);
    ck_assert_str_eq(def.prefix, "%y%m%d");
    ck_assert_str_eq(def.tz, "Asia/Shanghai");
    ck_assert_int_eq(def.length, 4);
    ck_assert_int_eq(max_id, 42);
    /* the same row on a table before the kinds' columns: types 1-3 only,
     * and a type 3 row reads as before (no prefix, zone or epoch) */
    row = seqd_row("plain", SEQ_INCREASING, 0, 5, 2);
    ck_assert_int_eq(sml_row_to_def(&row, &OLD_SEQD_SHAPE, &def, &max_id, err, sizeof(err)), 0);
    ck_assert_str_eq(def.prefix, "");
    ck_assert_int_eq(def.epoch_ms, 0);
    ck_assert_int_eq(def.starting, 5);
}
END_TEST

/* HSET of type 4 or 5 on a table before their columns: refused with the
 * upgrade script; types 1 to 3 are fine; a Leaf table keeps its rule. */
START_TEST(table_before_the_kinds_columns_refuses_types_4_and_5)
{
    struct seqdef def;
    char err[400];

    memset(&def, 0, sizeof(def));
    strcpy(def.name, "x");
    def.kind = SEQ_DATED;
    def.length = 4;
    def.starting = 1;
    def.increment = 1;
    def.segment = 100;
    strcpy(def.prefix, "%y%m%d");
    strcpy(def.tz, "UTC");
    ck_assert_int_eq(sml_table_can_hold(&SEQD_SHAPE, &def, "seqd.seqd_segments", err, sizeof(err)), 0);
    ck_assert_int_eq(sml_table_can_hold(&OLD_SEQD_SHAPE, &def, "seqd.seqd_segments", err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "run sql/upgrade-kinds.sql") != NULL, "%s", err);
    ck_assert_ptr_nonnull(strstr(err, "type 4"));
    ck_assert_ptr_nonnull(strstr(err, "seqd.seqd_segments"));
    ck_assert_int_eq(sml_table_can_hold(&LEAF_SHAPE, &def, "t", err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "upgrade-from-leaf.sql"));

    memset(&def, 0, sizeof(def));
    strcpy(def.name, "x");
    def.kind = SEQ_SNOWFLAKE;
    def.epoch_ms = 1577836800000;
    def.segment = 1;
    def.increment = 1;
    ck_assert_int_eq(sml_table_can_hold(&OLD_SEQD_SHAPE, &def, "t", err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "type 5"));
    def.kind = SEQ_FIXED;
    def.length = 6;
    def.epoch_ms = 0;
    ck_assert_int_eq(sml_table_can_hold(&OLD_SEQD_SHAPE, &def, "t", err, sizeof(err)), 0);
}
END_TEST

START_TEST(row_name_must_be_a_name_seqd_serves)
{
    struct sml_row row;
    struct seqdef def;
    int64_t max_id;
    char err[256], longname[SEQ_NAME_MAX + 2];

    row = leaf_row("has space", 1, 10);
    ck_assert_int_eq(sml_row_to_def(&row, &LEAF_SHAPE, &def, &max_id, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "biz_tag"));

    memset(longname, 'n', SEQ_NAME_MAX + 1);
    longname[SEQ_NAME_MAX + 1] = '\0';
    row = leaf_row(longname, 1, 10);
    ck_assert_int_eq(sml_row_to_def(&row, &LEAF_SHAPE, &def, &max_id, err, sizeof(err)), -1);
    longname[SEQ_NAME_MAX] = '\0';
    row = leaf_row(longname, 1, 10);
    ck_assert_int_eq(sml_row_to_def(&row, &LEAF_SHAPE, &def, &max_id, err, sizeof(err)), 0);
    ck_assert_uint_eq(strlen(def.name), SEQ_NAME_MAX);

    /* a name longer than the fetch buffer: len says so */
    row = leaf_row("x", 1, 10);
    row.len[SML_COL_NAME] = SML_NAME_BUF + 10;
    ck_assert_int_eq(sml_row_to_def(&row, &LEAF_SHAPE, &def, &max_id, err, sizeof(err)), -1);

    row = leaf_row("n", 1, 10);
    row.null[SML_COL_NAME] = true;
    ck_assert_int_eq(sml_row_to_def(&row, &LEAF_SHAPE, &def, &max_id, err, sizeof(err)), -1);
}
END_TEST

START_TEST(description_is_cut_at_a_character_and_kept_on_one_line)
{
    struct sml_row row = seqd_row("d", SEQ_INCREASING, 0, 0, 1);
    struct seqdef def;
    int64_t max_id;
    char err[256], text[SEQ_DESC_MAX + 8];
    size_t i;

    /* 255 ASCII bytes then a 3-byte character: it does not fit in 256. */
    memset(text, 'a', SEQ_DESC_MAX - 1);
    memcpy(text + SEQ_DESC_MAX - 1, "\xe4\xb8\xad", 3);
    text[SEQ_DESC_MAX + 2] = '\0';
    row_set_str(&row, SML_COL_DESCRIPTION, text);
    ck_assert_int_eq(sml_row_to_def(&row, &SEQD_SHAPE, &def, &max_id, err, sizeof(err)), 0);
    ck_assert_uint_eq(strlen(def.description), SEQ_DESC_MAX - 1);
    for (i = 0; i < SEQ_DESC_MAX - 1; i++)
        ck_assert_int_eq(def.description[i], 'a');

    row_set_str(&row, SML_COL_DESCRIPTION, "two\nlines\t\xe4\xb8\xad");
    ck_assert_int_eq(sml_row_to_def(&row, &SEQD_SHAPE, &def, &max_id, err, sizeof(err)), 0);
    ck_assert_str_eq(def.description, "two?lines?\xe4\xb8\xad");
}
END_TEST

START_TEST(leaf_table_holds_only_plain_counters)
{
    struct seqdef def;
    char err[300];

    memset(&def, 0, sizeof(def));
    strcpy(def.name, "x");
    def.kind = SEQ_INCREASING;
    def.starting = 0;
    def.increment = 1;
    def.segment = 1000;
    ck_assert_int_eq(sml_leaf_can_hold(&def, "seqd.leaf_alloc", err, sizeof(err)), 0);

    def.starting = 1;                   /* HSET's default for type 3 */
    ck_assert_int_eq(sml_leaf_can_hold(&def, "seqd.leaf_alloc", err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "upgrade-from-leaf.sql"));
    ck_assert_ptr_nonnull(strstr(err, "seqd.leaf_alloc"));

    def.starting = 0;
    def.increment = 2;
    ck_assert_int_eq(sml_leaf_can_hold(&def, "t", err, sizeof(err)), -1);
    def.increment = 1;
    def.auto_disk = AUTO_DISK_MEMORY;
    ck_assert_int_eq(sml_leaf_can_hold(&def, "t", err, sizeof(err)), -1);
    def.auto_disk = AUTO_DISK_DEFAULT;
    def.kind = SEQ_RANDOM;
    def.length = 6;
    ck_assert_int_eq(sml_leaf_can_hold(&def, "t", err, sizeof(err)), -1);
}
END_TEST

START_TEST(auto_disk_default_is_stored_as_empty_text)
{
    ck_assert_str_eq(sml_auto_disk_text(AUTO_DISK_DEFAULT), "");
    ck_assert_str_eq(sml_auto_disk_text(AUTO_DISK_PRE_BASE), "pre_base");
    ck_assert_str_eq(sml_col_name(SML_COL_MAX_ID), "max_id");
}
END_TEST

START_TEST(bad_row_is_warned_about_once_per_change)
{
    struct sml_warned w = { 0 };
    struct sml_row bad = leaf_row("neg", -4, 10), other = leaf_row("zero", 1, 0);

    /* First pass: both new, both warned about. */
    sml_warned_begin(&w);
    ck_assert(sml_warned_check(&w, &bad, true));
    ck_assert(sml_warned_check(&w, &other, true));
    sml_warned_end(&w);
    /* Unchanged: silent, pass after pass. */
    for (int pass = 0; pass < 3; pass++) {
        sml_warned_begin(&w);
        ck_assert(!sml_warned_check(&w, &bad, true));
        ck_assert(!sml_warned_check(&w, &other, true));
        sml_warned_end(&w);
    }
    /* A changed value (also one the message may not show) warns again, once. */
    bad.max_id = -5;
    sml_warned_begin(&w);
    ck_assert(sml_warned_check(&w, &bad, true));
    ck_assert(!sml_warned_check(&w, &bad, true));
    row_set_str(&other, SML_COL_DESCRIPTION, "now described");
    ck_assert(sml_warned_check(&w, &other, true));
    sml_warned_end(&w);
    /* Past the caller's per-pass limit a new row is not remembered: it is
     * warned about at a later pass. */
    struct sml_row third = leaf_row("third", 1, -1);
    sml_warned_begin(&w);
    ck_assert(!sml_warned_check(&w, &third, false));
    ck_assert(!sml_warned_check(&w, &bad, false));   /* known: still there */
    ck_assert(!sml_warned_check(&w, &other, false));
    sml_warned_end(&w);
    sml_warned_begin(&w);
    ck_assert(sml_warned_check(&w, &third, true));
    ck_assert(!sml_warned_check(&w, &bad, true));
    sml_warned_end(&w);   /* 'other' was not met: fixed or deleted */
    /* A row that went away and comes back bad is warned about again. */
    sml_warned_begin(&w);
    ck_assert(sml_warned_check(&w, &other, true));
    ck_assert(!sml_warned_check(&w, &bad, true));
    sml_warned_end(&w);
    /* One name a prefix of the other: two rows. */
    struct sml_row a = leaf_row("ab", 1, 0), b = leaf_row("abc", 1, 0);
    sml_warned_begin(&w);
    ck_assert(sml_warned_check(&w, &a, true));
    ck_assert(sml_warned_check(&w, &b, true));
    ck_assert(!sml_warned_check(&w, &a, true));
    sml_warned_end(&w);
    sml_warned_free(&w);
    ck_assert_ptr_null(w.rows);
}
END_TEST

static Suite *claim_suite(void)
{
    Suite *s = suite_create("store_mysql_logic");
    TCase *sql = tcase_create("sql");
    TCase *errors = tcase_create("errors");
    TCase *claims = tcase_create("claims");
    TCase *rows = tcase_create("rows");

    tcase_add_test(sql, sql_for_seqd_table_is_the_documented_claim_transaction);
    tcase_add_test(sql, sql_for_a_table_before_the_kinds_columns_leaves_them_out);
    tcase_add_test(sql, sql_binds_every_value_as_a_parameter);
    tcase_add_test(sql, sql_for_leaf_table_reads_only_leaf_columns);
    tcase_add_test(sql, sql_for_leaf_table_without_description_selects_empty_text);
    tcase_add_test(sql, sql_for_the_id_step_row_reads_and_records_it_race_free);
    tcase_add_test(sql, sql_claims_keep_update_time_and_rescans_read_what_changed);
    tcase_add_test(sql, sql_refuses_a_table_name_that_is_not_an_identifier);
    tcase_add_test(sql, shape_of_seqd_table_in_any_case_and_order);
    tcase_add_test(sql, shape_of_leaf_table_is_leaf_only);
    tcase_add_test(sql, shape_refuses_missing_core_or_partial_seqd_columns);
    tcase_add_test(sql, shape_of_a_table_before_types_4_and_5_has_no_kind_columns);
    tcase_add_test(sql, shape_refuses_some_but_not_all_kind_columns);
    suite_add_tcase(s, sql);

    tcase_add_test(errors, commit_failure_is_unknown_and_drops_the_connection_unless_rolled_back);
    tcase_add_test(errors, conflicts_answered_at_any_phase_are_retried_on_the_same_connection);
    tcase_add_test(errors, failure_before_commit_is_never_unknown);
    tcase_add_test(errors, lost_connection_before_commit_is_unavailable_and_retryable);
    tcase_add_test(errors, lock_wait_and_deadlock_roll_back_and_keep_the_connection);
    tcase_add_test(errors, bad_credentials_database_or_tls_at_connect_are_permanent_with_a_hint);
    tcase_add_test(errors, access_denied_at_localhost_hints_at_the_anonymous_user);
    tcase_add_test(errors, unreachable_server_at_connect_is_passing_with_a_hint);
    tcase_add_test(errors, missing_table_or_column_while_running_is_an_error);
    tcase_add_test(errors, duplicate_key_on_create_is_exists_only_outside_claims);
    tcase_add_test(errors, unknown_error_before_commit_starts_afresh);
    suite_add_tcase(s, errors);

    tcase_add_test(claims, backoff_doubles_from_100ms_to_500ms);
    tcase_add_test(claims, claim_size_is_at_least_want_and_step);
    tcase_add_test(claims, claim_size_never_runs_past_bigint);
    tcase_add_test(claims, claim_period_moves_forward_only);
    tcase_add_test(claims, claim_batch_sorts_names_and_sends_case_twins_alone);
    tcase_add_test(sql, sql_batch_of_claims_locks_its_rows_in_key_order);
    suite_add_tcase(s, claims);

    tcase_add_test(rows, leaf_row_is_a_plain_counter_from_its_max_id);
    tcase_add_test(rows, seqd_row_keeps_every_column);
    tcase_add_test(rows, row_with_unusable_counter_or_step_is_refused);
    tcase_add_test(rows, row_with_bad_definition_is_refused);
    tcase_add_test(rows, dated_row_keeps_its_pattern_zone_and_period);
    tcase_add_test(rows, table_before_the_kinds_columns_refuses_types_4_and_5);
    tcase_add_test(rows, row_name_must_be_a_name_seqd_serves);
    tcase_add_test(rows, description_is_cut_at_a_character_and_kept_on_one_line);
    tcase_add_test(rows, leaf_table_holds_only_plain_counters);
    tcase_add_test(rows, auto_disk_default_is_stored_as_empty_text);
    tcase_add_test(rows, bad_row_is_warned_about_once_per_change);
    suite_add_tcase(s, rows);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(claim_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
