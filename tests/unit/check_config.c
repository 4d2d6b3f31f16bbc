/*
 * check_config: the config table, loader, checks, reload and CONFIG GET.
 *
 * Most tests feed JSON text to config_load_string(); the last ones read the
 * shipped etc/seqd.json and docs/config.md from $SEQD_SRCDIR (default ".")
 * so the file users start from and the reference stay in step with the table.
 */
#include <check.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* By path: with automake's default -I. a bare "config.h" from this
 * directory would find autoconf's config.h in the build directory. */
#include "../../src/config.h"
#include "log.h"

#define T_FILE "t.json"

static struct config cfg;
static char err[512];

static void setup(void)
{
    config_defaults(&cfg);
    err[0] = '\0';
}

static int load(const char *text)
{
    err[0] = '\0';
    return config_load_string(&cfg, T_FILE, text, err, sizeof err);
}

/* ---- CONFIG GET collector ---------------------------------------------- */

struct got {
    int n;
    char name[64][64];
    char value[64][CONFIG_STR_MAX + 32];
};

static void got_emit(const char *name, const char *value, void *arg)
{
    struct got *g = arg;

    ck_assert_int_lt(g->n, 64);
    snprintf(g->name[g->n], sizeof g->name[0], "%s", name);
    snprintf(g->value[g->n], sizeof g->value[0], "%s", value);
    g->n++;
}

static const char *got_value(const struct got *g, const char *name)
{
    int i;

    for (i = 0; i < g->n; i++)
        if (strcmp(g->name[i], name) == 0)
            return g->value[i];
    return NULL;
}

static char *read_all(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *text;
    long len;

    ck_assert_msg(fp != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
    len = ftell(fp);
    ck_assert_int_ge(len, 0);
    rewind(fp);
    text = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(fread(text, 1, (size_t)len, fp), (size_t)len);
    text[len] = '\0';
    fclose(fp);
    return text;
}

static const char *srcdir(void)
{
    const char *d = getenv("SEQD_SRCDIR");
    return d != NULL && d[0] != '\0' ? d : ".";
}

/* ---- users ------------------------------------------------------------- */

/* sha256("secret") */
#define SECRET_HEX "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"

static int load_users(const char *users)
{
    char text[1024];

    snprintf(text, sizeof text, "{\"users\": %s}", users);
    if (load(text) < 0)
        return -1;
    return config_check(&cfg, err, sizeof err);
}

START_TEST(test_users_are_parsed_with_hash_bytes_and_roles)
{
    ck_assert_int_eq(load_users("[{\"name\": \"app\", \"password_sha256\": \"" SECRET_HEX "\", \"role\": \"reader\"},"
                                " {\"name\": \"ops.1-x_y\", \"password_sha256\": \"" SECRET_HEX "\", \"role\": \"admin\"}]"),
                     0);
    ck_assert_int_eq(cfg.nusers, 2);
    ck_assert_str_eq(cfg.users[0].name, "app");
    ck_assert_int_eq(cfg.users[0].role, CONFIG_ROLE_READER);
    ck_assert_int_eq(cfg.users[1].role, CONFIG_ROLE_ADMIN);
    ck_assert_uint_eq(cfg.users[0].password_sha256[0], 0x2b);
    ck_assert_uint_eq(cfg.users[0].password_sha256[31], 0x5b);
    ck_assert_ptr_eq(config_user_find(&cfg, "ops.1-x_y", 9), &cfg.users[1]);
    ck_assert_ptr_null(config_user_find(&cfg, "ap", 2));
    ck_assert_str_eq(config_role_name(CONFIG_ROLE_READER), "reader");
    ck_assert_ptr_null(config_role_name(7));
    /* Upper-case hex is the same hash; a later "users" replaces the list. */
    ck_assert_int_eq(load_users("[{\"name\": \"b\", \"password_sha256\": \"2BB80D537B1DA3E38BD30361AA855686BDE0EACD7162FEF6A25FE97BF527A25B\", \"role\": \"admin\"}]"), 0);
    ck_assert_int_eq(cfg.nusers, 1);
    ck_assert_uint_eq(cfg.users[0].password_sha256[0], 0x2b);
    ck_assert_int_eq(load_users("[]"), 0);
    ck_assert_int_eq(cfg.nusers, 0);
}
END_TEST

START_TEST(test_bad_users_are_named_by_key_path)
{
    static const struct {
        const char *users;
        const char *err;
    } cases[] = {
        { "{}", "t.json: key 'users': expected an array of {\"name\", \"password_sha256\", \"role\"} objects, got {}" },
        { "[1]", "t.json: key 'users[0]': expected an object {\"name\", \"password_sha256\", \"role\"}, got 1" },
        { "[{\"name\": \"a\", \"role\": \"reader\"}]", "t.json: key 'users[0]': \"password_sha256\" is missing" },
        { "[{\"name\": \"a\", \"password_sha256\": \"" SECRET_HEX "\"}]", "t.json: key 'users[0]': \"role\" is missing" },
        { "[{\"name\": \"a\", \"password_sha256\": \"" SECRET_HEX "\", \"role\": \"root\"}]",
          "t.json: key 'users[0].role': expected one of \"reader\", \"admin\", got \"root\"" },
        { "[{\"name\": \"a\", \"password_sha256\": \"abc\", \"role\": \"reader\"}]",
          "t.json: key 'users[0].password_sha256': expected 64 hex digits, the SHA-256 of the password "
          "(printf %s 'PASSWORD' | sha256sum), got a string of 3 characters" },
        { "[{\"name\": \"a\", \"password_sha256\": \"x" SECRET_HEX "\", \"role\": \"reader\"}]",
          "t.json: key 'users[0].password_sha256': expected 64 hex digits, the SHA-256 of the password "
          "(printf %s 'PASSWORD' | sha256sum), got a string of 65 characters" },
        { "[{\"name\": \"a\", \"password_sha256\": \"zbb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b\"}]",
          "t.json: key 'users[0].password_sha256': expected 64 hex digits, got a character that is not one at position 1" },
        { "[{\"name\": \"a\", \"pass\": \"x\"}]",
          "t.json: unknown key 'users[0].pass' (a user has \"name\", \"password_sha256\" and \"role\")" },
        { "[{\"name\": \"a b\", \"password_sha256\": \"" SECRET_HEX "\", \"role\": \"reader\"}]",
          "key 'users[0].name': expected 1 to 32 letters, digits, '_', '.' or '-', got \"a b\"" },
        { "[{\"name\": \"\", \"password_sha256\": \"" SECRET_HEX "\", \"role\": \"reader\"}]",
          "key 'users[0].name': expected 1 to 32 letters, digits, '_', '.' or '-', got \"\"" },
        { "[{\"name\": \"default\", \"password_sha256\": \"" SECRET_HEX "\", \"role\": \"admin\"}]",
          "key 'users[0].name': \"default\" is the user of requirepass: set requirepass for it, and give the "
          "others names of their own" },
        { "[{\"name\": \"a\", \"password_sha256\": \"" SECRET_HEX "\", \"role\": \"admin\"},"
          " {\"name\": \"a\", \"password_sha256\": \"" SECRET_HEX "\", \"role\": \"reader\"}]",
          "key 'users[1].name': \"a\" is users[0]'s name too: each user once" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setup();
        ck_assert_int_eq(load_users(cases[i].users), -1);
        ck_assert_str_eq(err, cases[i].err);
        /* A message never shows the hash, not even in part. */
        ck_assert_ptr_null(strstr(err, "2bb80d537b"));
    }
}
END_TEST

START_TEST(test_user_name_rule)
{
    ck_assert(config_user_name_ok("a"));
    ck_assert(config_user_name_ok("App_1.x-y"));
    ck_assert(config_user_name_ok("abcdefghijklmnopqrstuvwxyz012345"));
    ck_assert(!config_user_name_ok("abcdefghijklmnopqrstuvwxyz0123456"));
    ck_assert(!config_user_name_ok(""));
    ck_assert(!config_user_name_ok("a:b"));
    ck_assert(!config_user_name_ok("\xc3\xa9"));
    ck_assert(!config_user_name_ok(NULL));
}
END_TEST

START_TEST(test_reload_reports_users_without_secrets)
{
    struct config fresh;
    char changed[512];

    ck_assert_int_eq(load_users("[{\"name\": \"app\", \"password_sha256\": \"" SECRET_HEX "\", \"role\": \"reader\"},"
                                " {\"name\": \"old\", \"password_sha256\": \"" SECRET_HEX "\", \"role\": \"admin\"}]"),
                     0);
    fresh = cfg;
    ck_assert_int_eq(load_users("[{\"name\": \"app\", \"password_sha256\": \"" SECRET_HEX "\", \"role\": \"admin\"},"
                                " {\"name\": \"new\", \"password_sha256\": \"" SECRET_HEX "\", \"role\": \"reader\"}]"),
                     0);
    /* cfg is now the new file; fresh the one in force. */
    struct config cur = fresh;
    fresh = cfg;
    fresh.users[1].password_sha256[0] ^= 1;
    config_apply_reload(&cur, &fresh, changed, sizeof changed);
    ck_assert_str_eq(changed, "user app role reader->admin, user old removed, user new added");
    ck_assert_int_eq(cur.nusers, 2);
    ck_assert_str_eq(cur.users[1].name, "new");
    ck_assert_int_eq(cur.users[0].role, CONFIG_ROLE_ADMIN);
    fresh.users[0].password_sha256[5] ^= 1;
    config_apply_reload(&cur, &fresh, changed, sizeof changed);
    ck_assert_str_eq(changed, "user app password changed");
}
END_TEST

START_TEST(test_get_masks_requirepass_and_shows_no_users)
{
    struct got g = { 0 };

    ck_assert_int_eq(load("{\"requirepass\": \"s3cret\", \"users\": [{\"name\": \"app\", \"password_sha256\": \""
                          SECRET_HEX "\", \"role\": \"reader\"}]}"), 0);
    config_get(&cfg, "*", got_emit, &g);
    ck_assert_str_eq(got_value(&g, "requirepass"), "********");
    for (int i = 0; i < g.n; i++) {
        ck_assert_ptr_null(strstr(g.value[i], "s3cret"));
        ck_assert_ptr_null(strstr(g.value[i], "2bb80d"));
        ck_assert_ptr_null(strstr(g.name[i], "users"));
    }
}
END_TEST

/* ---- defaults and a valid file ----------------------------------------- */

START_TEST(test_defaults_are_the_documented_values)
{
    ck_assert_str_eq(cfg.bind, "127.0.0.1");
    ck_assert_int_eq(cfg.port, 6380);
    ck_assert_int_eq(cfg.workers, 0);
    ck_assert_int_eq(cfg.maxclients, 10000);
    ck_assert_str_eq(cfg.requirepass, "");
    ck_assert_uint_eq(cfg.id_step, 1);
    ck_assert_uint_eq(cfg.id_offset, 0);
    ck_assert_str_eq(cfg.http_bind, "127.0.0.1");
    ck_assert_int_eq(cfg.http_port, 0);
    ck_assert(!cfg.http_tls);
    ck_assert_int_eq(cfg.tls_port, 0);
    ck_assert_str_eq(cfg.tls_cert_file, "");
    ck_assert_str_eq(cfg.tls_key_file, "");
    ck_assert_str_eq(cfg.tls_ca_file, "");
    ck_assert_str_eq(cfg.tls_auth_clients, "yes");
    ck_assert_str_eq(cfg.tls_protocols, "TLSv1.2 TLSv1.3");
    ck_assert(!config_tls_on(&cfg));
    ck_assert_int_eq(cfg.log_level, LOG_LVL_NOTICE);
    ck_assert_str_eq(cfg.log_file, "");
    ck_assert_str_eq(cfg.store_type, "file");
    ck_assert_str_eq(cfg.store_dir, "/var/lib/seqd");
    ck_assert_int_eq(cfg.store_threads, 2);
    ck_assert_int_eq(cfg.store_delay_ms, 0);
    ck_assert_str_eq(cfg.mysql_host, "127.0.0.1");
    ck_assert_int_eq(cfg.mysql_port, 3306);
    ck_assert_str_eq(cfg.mysql_socket, "");
    ck_assert_str_eq(cfg.mysql_user, "seqd");
    ck_assert_str_eq(cfg.mysql_password, "");
    ck_assert_str_eq(cfg.mysql_database, "seqd");
    ck_assert_str_eq(cfg.mysql_table, "seqd_segments");
    ck_assert_int_eq(cfg.mysql_threads, 2);
    ck_assert_int_eq(cfg.mysql_connect_timeout_s, 3);
    ck_assert_int_eq(cfg.mysql_rw_timeout_s, 5);
    ck_assert_int_eq(cfg.mysql_rescan_s, 10);
    ck_assert_str_eq(cfg.mysql_ssl_mode, "");
    ck_assert_str_eq(cfg.mysql_ssl_ca, "");
    ck_assert_str_eq(cfg.mysql_ssl_cert, "");
    ck_assert_str_eq(cfg.mysql_ssl_key, "");
    ck_assert_uint_eq(cfg.segment_max, 1000000);
    ck_assert_int_eq(cfg.segment_duration_s, 900);
    ck_assert_int_eq(cfg.segment_wait_ms, 1000);
    ck_assert_uint_eq(cfg.segment_default, 1000);
    ck_assert(!cfg.daemonize);
    ck_assert_str_eq(cfg.pidfile, "");
    ck_assert_str_eq(cfg.config_file, "");
    ck_assert_msg(config_check(&cfg, err, sizeof err) == 0, "defaults fail config_check: %s", err);
}
END_TEST

START_TEST(test_full_file_sets_every_key)
{
    const char *text =
        "{\n"
        "  \"bind\": \"0.0.0.0\", \"port\": 7000, \"workers\": 8, \"maxclients\": 500,\n"
        "  \"requirepass\": \"pw\", \"id_step\": 3, \"id_offset\": 2,\n"
        "  \"http\": {\"bind\": \"::1\", \"port\": 7001, \"tls\": true},\n"
        "  \"tls\": {\"port\": 7002, \"cert_file\": \"/s.crt\", \"key_file\": \"/s.key\", \"ca_file\": \"/ca.crt\",\n"
        "    \"auth_clients\": \"optional\", \"protocols\": \"TLSv1.3\"},\n"
        "  \"log\": {\"level\": \"debug\", \"file\": \"/tmp/seqd.log\"},\n"
        "  \"store\": {\"type\": \"mysql\", \"dir\": \"/srv/seqd\", \"threads\": 4, \"test_delay_ms\": 50,\n"
        "    \"mysql\": {\"host\": \"db1\", \"port\": 3307, \"socket\": \"/run/mysqld/mysqld.sock\",\n"
        "      \"user\": \"u\", \"password\": \"p\", \"database\": \"d\", \"table\": \"ids_2\",\n"
        "      \"threads\": 6, \"connect_timeout_s\": 7, \"rw_timeout_s\": 9, \"rescan_s\": 60,\n"
        "      \"ssl_mode\": \"verify_identity\", \"ssl_ca\": \"/ca.pem\", \"ssl_cert\": \"/c.pem\",\n"
        "      \"ssl_key\": \"/k.pem\"}},\n"
        "  \"segment\": {\"max\": 5000000, \"duration_s\": 600, \"wait_ms\": 250, \"default\": 2000}\n"
        "}\n";

    ck_assert_msg(load(text) == 0, "%s", err);
    ck_assert_str_eq(cfg.bind, "0.0.0.0");
    ck_assert_int_eq(cfg.port, 7000);
    ck_assert_int_eq(cfg.workers, 8);
    ck_assert_int_eq(cfg.maxclients, 500);
    ck_assert_str_eq(cfg.requirepass, "pw");
    ck_assert_uint_eq(cfg.id_step, 3);
    ck_assert_uint_eq(cfg.id_offset, 2);
    ck_assert_str_eq(cfg.http_bind, "::1");
    ck_assert_int_eq(cfg.http_port, 7001);
    ck_assert(cfg.http_tls);
    ck_assert_int_eq(cfg.tls_port, 7002);
    ck_assert_str_eq(cfg.tls_cert_file, "/s.crt");
    ck_assert_str_eq(cfg.tls_key_file, "/s.key");
    ck_assert_str_eq(cfg.tls_ca_file, "/ca.crt");
    ck_assert_str_eq(cfg.tls_auth_clients, "optional");
    ck_assert_str_eq(cfg.tls_protocols, "TLSv1.3");
    ck_assert(config_tls_on(&cfg));
    ck_assert_int_eq(cfg.log_level, LOG_LVL_DEBUG);
    ck_assert_str_eq(cfg.log_file, "/tmp/seqd.log");
    ck_assert_str_eq(cfg.store_type, "mysql");
    ck_assert_str_eq(cfg.store_dir, "/srv/seqd");
    ck_assert_int_eq(cfg.store_threads, 4);
    ck_assert_int_eq(cfg.store_delay_ms, 50);
    ck_assert_str_eq(cfg.mysql_host, "db1");
    ck_assert_int_eq(cfg.mysql_port, 3307);
    ck_assert_str_eq(cfg.mysql_socket, "/run/mysqld/mysqld.sock");
    ck_assert_str_eq(cfg.mysql_user, "u");
    ck_assert_str_eq(cfg.mysql_password, "p");
    ck_assert_str_eq(cfg.mysql_database, "d");
    ck_assert_str_eq(cfg.mysql_table, "ids_2");
    ck_assert_int_eq(cfg.mysql_threads, 6);
    ck_assert_int_eq(cfg.mysql_connect_timeout_s, 7);
    ck_assert_int_eq(cfg.mysql_rw_timeout_s, 9);
    ck_assert_int_eq(cfg.mysql_rescan_s, 60);
    ck_assert_str_eq(cfg.mysql_ssl_mode, "verify_identity");
    ck_assert_str_eq(cfg.mysql_ssl_ca, "/ca.pem");
    ck_assert_str_eq(cfg.mysql_ssl_cert, "/c.pem");
    ck_assert_str_eq(cfg.mysql_ssl_key, "/k.pem");
    ck_assert_uint_eq(cfg.segment_max, 5000000);
    ck_assert_int_eq(cfg.segment_duration_s, 600);
    ck_assert_int_eq(cfg.segment_wait_ms, 250);
    ck_assert_uint_eq(cfg.segment_default, 2000);
    ck_assert_msg(config_check(&cfg, err, sizeof err) == 0, "%s", err);
}
END_TEST

START_TEST(test_bounds_themselves_are_accepted)
{
    ck_assert_msg(load("{\"port\": 1, \"workers\": 64, \"segment\": {\"max\": 1000000000}}") == 0, "%s", err);
    ck_assert_int_eq(cfg.port, 1);
    ck_assert_int_eq(cfg.workers, 64);
    ck_assert_uint_eq(cfg.segment_max, 1000000000);
    ck_assert_msg(load("{\"port\": 65535, \"workers\": 0, \"store\": {\"mysql\": {\"ssl_mode\": \"\"}}}") == 0,
                  "%s", err);
    ck_assert_int_eq(cfg.port, 65535);
    /* An integer written as 1e3 is still the integer 1000. */
    ck_assert_msg(load("{\"maxclients\": 1e3}") == 0, "%s", err);
    ck_assert_int_eq(cfg.maxclients, 1000);
    /* The longest string that fits: 255 bytes. */
    char text[400];
    snprintf(text, sizeof text, "{\"store\": {\"dir\": \"%0255d\"}}", 0);
    ck_assert_msg(load(text) == 0, "%s", err);
    ck_assert_uint_eq(strlen(cfg.store_dir), 255);
}
END_TEST

START_TEST(test_byte_order_mark_is_skipped)
{
    ck_assert_msg(load("\xEF\xBB\xBF{\"port\": 7000}") == 0, "%s", err);
    ck_assert_int_eq(cfg.port, 7000);
}
END_TEST

START_TEST(test_empty_object_keeps_defaults)
{
    struct config before = cfg;

    ck_assert_int_eq(load("{}"), 0);
    ck_assert_int_eq(load("{\"store\": {\"mysql\": {}}, \"log\": {}}"), 0);
    ck_assert_int_eq(memcmp(&before, &cfg, sizeof cfg), 0);
}
END_TEST

/* ---- bad input: one row per mistake ----------------------------------- */

static const struct {
    const char *text;
    const char *want; /* substring of the error */
} bad_inputs[] = {
    { "{\"prot\": 6380}", T_FILE ": unknown key 'prot' (did you mean 'port'?)" },
    { "{\"log\": {\"levle\": \"debug\"}}", T_FILE ": unknown key 'log.levle' (did you mean 'log.level'?)" },
    { "{\"store\": {\"foo\": 1}}", T_FILE ": unknown key 'store.foo'" },
    { "{\"store\": {\"mysql\": {\"hots\": \"db\"}}}",
      T_FILE ": unknown key 'store.mysql.hots' (did you mean 'store.mysql.host'?)" },
    { "{\"stroe\": {\"dir\": \"/x\"}}", T_FILE ": unknown key 'stroe' (did you mean 'store'?)" },
    { "{\"nosuch\": {\"a\": 1}}", T_FILE ": unknown key 'nosuch'" },
    { "{\"store.dir\": \"/x\"}",
      T_FILE ": unknown key 'store.dir' (sections are nested objects: write {\"store\": {\"dir\": ...}})" },
    { "{\"store.mysql.hots\": \"db\"}",
      T_FILE ": unknown key 'store.mysql.hots' (sections are nested objects: write "
      "{\"store\": {\"mysql\": {\"host\": ...}}})" },
    { "{\"bind\": \"localhost\"}",
      T_FILE ": key 'bind': expected an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0 or ::1 "
      "(not a host name), got \"localhost\"" },
    { "{\"bind\": \"127.0.0.1:6380\"}", "key 'bind': expected an IPv4 or IPv6 address" },
    { "{\"bind\": \"\"}", "key 'bind': expected an IPv4 or IPv6 address" },
    { "{\"host\": \"db\"}", "unknown key 'host' (did you mean 'store.mysql.host'?)" },
    { "{\"Port\": 1}", "unknown key 'Port' (did you mean 'port'?)" },
    { "{\"port\": \"abc\"}", T_FILE ": key 'port': expected an integer from 0 to 65535, got \"abc\"" },
    { "{\"port\": \"6380\"}", "key 'port': expected an integer from 0 to 65535, got \"6380\"" },
    { "{\"port\": -1}", T_FILE ": key 'port': expected an integer from 0 to 65535, got -1" },
    { "{\"port\": 70000}", T_FILE ": key 'port': expected an integer from 0 to 65535, got 70000" },
    { "{\"port\": 6380.5}", "key 'port': expected an integer from 0 to 65535, got 6380.5" },
    { "{\"port\": true}", "key 'port': expected an integer from 0 to 65535, got true" },
    { "{\"port\": null}", "key 'port': expected an integer from 0 to 65535, got null" },
    { "{\"workers\": 65}", "key 'workers': expected an integer from 0 to 64, got 65" },
    { "{\"id_step\": 0}", T_FILE ": key 'id_step': expected an integer from 1 to 1000000, got 0" },
    { "{\"tls\": {\"port\": 70000}}", T_FILE ": key 'tls.port': expected an integer from 0 to 65535, got 70000" },
    { "{\"tls\": {\"auth_clients\": \"maybe\"}}",
      "key 'tls.auth_clients': expected one of \"no\", \"optional\", \"yes\", got \"maybe\"" },
    { "{\"tls\": {\"auth_clients\": true}}", "key 'tls.auth_clients': expected one of \"no\", \"optional\"" },
    { "{\"tls\": {\"protocols\": \"TLSv1.1 TLSv1.2\"}}",
      "key 'tls.protocols': expected \"TLSv1.2\", \"TLSv1.3\" or both, separated by a space, got \"TLSv1.1 TLSv1.2\"" },
    { "{\"tls\": {\"protocols\": \"\"}}", "key 'tls.protocols': expected \"TLSv1.2\", \"TLSv1.3\" or both" },
    { "{\"tls\": {\"cert_file\": 1}}", "key 'tls.cert_file': expected a string of at most 255 bytes, got 1" },
    { "{\"tls\": {\"verify\": 1}}", T_FILE ": unknown key 'tls.verify'" },
    { "{\"tls\": 6390}", "key 'tls': expected an object (a section of keys), got 6390" },
    { "{\"http\": {\"tls\": \"yes\"}}", "key 'http.tls': expected true or false, got \"yes\"" },
    { "{\"id_step\": 1000001}", "key 'id_step': expected an integer from 1 to 1000000, got 1000001" },
    { "{\"id_offset\": -1}", "key 'id_offset': expected an integer from 0 to 999999, got -1" },
    { "{\"segment\": {\"max\": -1}}", "key 'segment.max': expected an integer from 1 to 1000000000, got -1" },
    { "{\"segment\": {\"max\": 1e30}}", "key 'segment.max': expected an integer from 1 to 1000000000, got 1e+30" },
    { "{\"store\": {\"dir\": 5}}", "key 'store.dir': expected a string of at most 255 bytes, got 5" },
    { "{\"bind\": [\"a\"]}", "key 'bind': expected an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0 or "
      "::1 (not a host name), got [\"a\"]" },
    { "{\"log\": {\"level\": \"loud\"}}",
      "key 'log.level': expected one of \"debug\", \"verbose\", \"notice\", \"warning\", got \"loud\"" },
    { "{\"log\": {\"level\": 3}}", "key 'log.level': expected one of \"debug\"" },
    { "{\"store\": {\"type\": \"disk\"}}",
      "key 'store.type': expected one of \"file\", \"memory\", \"mysql\", got \"disk\"" },
    { "{\"store\": {\"mysql\": {\"ssl_mode\": \"on\"}}}",
      "key 'store.mysql.ssl_mode': expected one of \"\", \"disabled\", \"preferred\", \"required\", "
      "\"verify_ca\", \"verify_identity\", got \"on\"" },
    { "{\"store\": {\"mysql\": {\"table\": \"seq; DROP TABLE x\"}}}",
      "key 'store.mysql.table': expected a table name of 1 to 64 letters, digits or underscores, "
      "got \"seq; DROP TABLE x\"" },
    { "{\"store\": {\"mysql\": {\"table\": \"seq-ids\"}}}", "key 'store.mysql.table': expected a table name" },
    { "{\"store\": {\"mysql\": {\"table\": \"\"}}}", "key 'store.mysql.table': expected a table name" },
    { "{\"store\": {\"mysql\": {\"table\": "
      "\"t1234567890123456789012345678901234567890123456789012345678901234\"}}}",
      "key 'store.mysql.table': expected a table name" },
    { "{\"store\": \"file\"}", "key 'store': expected an object (a section of keys), got \"file\"" },
    { "{\"store\": {\"mysql\": 1}}", "key 'store.mysql': expected an object" },
    { "[1, 2]", T_FILE ": expected a JSON object ({ ... }) at the top level, got [1,2]" },
    { "\"port\"", "expected a JSON object" },
    { "", T_FILE ": the file is empty" },
    { " \n\t\n", T_FILE ": the file is empty" },
    { "{\"port\": 6380", T_FILE ": line 1: JSON syntax error: unexpected end of file" },
    { "{\"port\": 6380,}", T_FILE ": line 1: JSON syntax error near '}'" },
    { "{\"port\": 6380} x", T_FILE ": line 1: JSON syntax error near 'x'" },
    { "{port: 6380}", T_FILE ": line 1: JSON syntax error near 'port: 6380}'" },
};

START_TEST(test_bad_input_names_file_key_and_reason)
{
    const char *text = bad_inputs[_i].text;
    const char *want = bad_inputs[_i].want;

    ck_assert_msg(load(text) == -1, "accepted: %s", text);
    ck_assert_msg(strstr(err, want) != NULL, "for %s\n  got  [%s]\n  want [%s]", text, err, want);
}
END_TEST

START_TEST(test_hint_only_when_one_key_fits)
{
    /* "port" is the last part of three keys: no guess. */
    ck_assert_int_eq(load("{\"store\": {\"port\": 3306}}"), -1);
    ck_assert_str_eq(err, T_FILE ": unknown key 'store.port'");
    /* Far from every key (3 edits from "bind"): no guess. */
    ck_assert_int_eq(load("{\"mode\": 1}"), -1);
    ck_assert_str_eq(err, T_FILE ": unknown key 'mode'");
    /* A short name gets a guess only one edit away. */
    ck_assert_int_eq(load("{\"prt\": 1}"), -1);
    ck_assert_str_eq(err, T_FILE ": unknown key 'prt' (did you mean 'port'?)");
    ck_assert_int_eq(load("{\"pt\": 1}"), -1);
    ck_assert_str_eq(err, T_FILE ": unknown key 'pt'");
    ck_assert_int_eq(load("{\"mysql\": {\"port\": 3306}}"), -1);
    ck_assert_str_eq(err, T_FILE ": unknown key 'mysql' (did you mean 'store.mysql'?)");
}
END_TEST

START_TEST(test_too_long_string_is_refused_with_its_length)
{
    char text[600];

    snprintf(text, sizeof text, "{\"log\": {\"file\": \"/%0299d\"}}", 0);
    ck_assert_int_eq(load(text), -1);
    ck_assert_str_eq(err, T_FILE ": key 'log.file': expected a string of at most 255 bytes, "
                          "got a string of 300 bytes");
    ck_assert_str_eq(cfg.log_file, "");
}
END_TEST

START_TEST(test_long_bad_value_is_cut_and_control_bytes_hidden)
{
    char text[600];

    snprintf(text, sizeof text, "{\"store\": {\"type\": \"a\\u0001%0200d\"}}", 0);
    ck_assert_int_eq(load(text), -1);
    ck_assert_msg(strstr(err, "got \"a?000") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "...\"") != NULL, "%s", err);
    ck_assert_uint_lt(strlen(err), 200);
}
END_TEST

START_TEST(test_syntax_error_names_the_line)
{
    /* Missing comma at the end of line 3: cJSON stops at line 4's key. */
    const char *missing_comma =
        "{\n"
        "  \"bind\": \"127.0.0.1\",\n"
        "  \"port\": 6380\n"
        "  \"workers\": 0\n"
        "}\n";
    const char *bad_value =
        "{\n"
        "  \"log\": {\n"
        "    \"level\": notice\n"
        "  }\n"
        "}\n";
    const char *unclosed =
        "{\n"
        "  \"store\": {\n"
        "    \"type\": \"file\"\n"
        "  }\n";

    ck_assert_int_eq(load(missing_comma), -1);
    ck_assert_str_eq(err, T_FILE ": line 4: JSON syntax error near '\"workers\": 0'");
    ck_assert_int_eq(load(bad_value), -1);
    ck_assert_str_eq(err, T_FILE ": line 3: JSON syntax error near 'notice'");
    ck_assert_int_eq(load(unclosed), -1);
    ck_assert_str_eq(err, T_FILE ": line 5: JSON syntax error: unexpected end of file");
}
END_TEST

START_TEST(test_later_value_overrides_earlier)
{
    /* The same key twice in one file: the later one wins. */
    ck_assert_int_eq(load("{\"port\": 7000, \"log\": {\"level\": \"debug\"}, \"port\": 7001}"), 0);
    ck_assert_int_eq(cfg.port, 7001);
    /* A second text is applied over the first: what it names changes,
     * the rest stays as the first left it. */
    ck_assert_int_eq(load("{\"log\": {\"level\": \"warning\"}, \"log\": {\"file\": \"x.log\"}}"), 0);
    ck_assert_int_eq(cfg.port, 7001);
    ck_assert_int_eq(cfg.log_level, LOG_LVL_WARNING);
    ck_assert_str_eq(cfg.log_file, "x.log");
}
END_TEST

/* ---- config_set (command-line overrides) ------------------------------- */

START_TEST(test_set_follows_the_rules_of_the_file)
{
    ck_assert_int_eq(config_set(&cfg, "port", "6390", err, sizeof err), 0);
    ck_assert_int_eq(cfg.port, 6390);
    ck_assert_int_eq(config_set(&cfg, "store.type", "memory", err, sizeof err), 0);
    ck_assert_str_eq(cfg.store_type, "memory");
    ck_assert_int_eq(config_set(&cfg, "log.level", "verbose", err, sizeof err), 0);
    ck_assert_int_eq(cfg.log_level, LOG_LVL_VERBOSE);

    ck_assert_int_eq(config_set(&cfg, "port", "abc", err, sizeof err), -1);
    ck_assert_str_eq(err, "key 'port': expected an integer from 0 to 65535, got \"abc\"");
    ck_assert_int_eq(config_set(&cfg, "port", "70000", err, sizeof err), -1);
    ck_assert_int_eq(config_set(&cfg, "port", " 80", err, sizeof err), -1);
    ck_assert_int_eq(config_set(&cfg, "store.type", "disk", err, sizeof err), -1);
    ck_assert_int_eq(config_set(&cfg, "nope", "1", err, sizeof err), -1);
    ck_assert_str_eq(err, "unknown key 'nope'");
    ck_assert_int_eq(cfg.port, 6390);
    ck_assert_str_eq(cfg.store_type, "memory");
}
END_TEST

/* ---- config_check ------------------------------------------------------ */

START_TEST(test_check_refuses_segment_default_above_max)
{
    ck_assert_int_eq(load("{\"segment\": {\"max\": 5000, \"default\": 6000}}"), 0);
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_str_eq(err, "key 'segment.default': 6000 is larger than segment.max (5000)");
    cfg.segment_default = 5000;
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), 0);
}
END_TEST

START_TEST(test_check_wants_id_offset_below_id_step)
{
    ck_assert_int_eq(load("{\"id_step\": 2, \"id_offset\": 2}"), 0);
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_str_eq(err, "key 'id_offset': 2 must be smaller than id_step (2): each of id_step "
                          "independent stores takes one offset, 0 to 1");
    /* An offset alone, with the default id_step 1, is the same mistake. */
    config_defaults(&cfg);
    ck_assert_int_eq(load("{\"id_offset\": 1}"), 0);
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "smaller than id_step (1)") != NULL, "%s", err);
    ck_assert_int_eq(load("{\"id_step\": 2, \"id_offset\": 1}"), 0);
    ck_assert_msg(config_check(&cfg, err, sizeof err) == 0, "%s", err);
    /* The largest pair: fine for the mysql store, which leases type 5's
     * worker ids; the file store needs a worker_id that fits (none does). */
    ck_assert_int_eq(load("{\"id_step\": 1000000, \"id_offset\": 999999, \"store\": {\"type\": \"mysql\"}}"), 0);
    ck_assert_msg(config_check(&cfg, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(load("{\"store\": {\"type\": \"file\"}}"), 0);
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_str_eq(err, "key 'id_offset': 999999 is past 1023, the largest worker id of type 5 ids: set worker_id");
}
END_TEST

START_TEST(test_check_needs_a_dir_for_the_file_store)
{
    ck_assert_int_eq(load("{\"store\": {\"dir\": \"\"}}"), 0);
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_str_eq(err, "key 'store.dir': must not be empty when store.type is \"file\"");
    /* The memory store keeps nothing, so it needs no directory. */
    ck_assert_int_eq(config_set(&cfg, "store.type", "memory", err, sizeof err), 0);
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), 0);
}
END_TEST

START_TEST(test_check_needs_a_way_to_reach_mysql)
{
    ck_assert_int_eq(load("{\"store\": {\"type\": \"mysql\", \"mysql\": {\"host\": \"\"}}}"), 0);
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "store.mysql.host or store.mysql.socket must be set") != NULL, "%s", err);
    ck_assert_int_eq(config_set(&cfg, "store.mysql.socket", "/run/mysqld/mysqld.sock", err, sizeof err), 0);
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), 0);
    ck_assert_int_eq(config_set(&cfg, "store.mysql.database", "", err, sizeof err), 0);
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "key 'store.mysql.database': must not be empty") != NULL, "%s", err);
}
END_TEST

START_TEST(test_check_wants_ssl_cert_and_key_together)
{
    ck_assert_int_eq(load("{\"store\": {\"mysql\": {\"ssl_cert\": \"/c.pem\"}}}"), 0);
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "ssl_key must be set together") != NULL, "%s", err);
}
END_TEST

START_TEST(test_check_applies_each_key_rule_to_values_set_directly)
{
    cfg.port = -1;
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_str_eq(err, "key 'port': expected an integer from 0 to 65535, got -1");

    config_defaults(&cfg);
    cfg.workers = 65;
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_str_eq(err, "key 'workers': expected an integer from 0 to 64, got 65");

    config_defaults(&cfg);
    snprintf(cfg.mysql_table, sizeof cfg.mysql_table, "a.b");
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "key 'store.mysql.table'") != NULL, "%s", err);

    config_defaults(&cfg);
    snprintf(cfg.store_type, sizeof cfg.store_type, "disk");
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "key 'store.type'") != NULL, "%s", err);

    config_defaults(&cfg);
    cfg.segment_max = UINT64_MAX;
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "key 'segment.max'") != NULL, "%s", err);

    config_defaults(&cfg);
    cfg.log_level = 9;
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "key 'log.level'") != NULL, "%s", err);

    config_defaults(&cfg);
    cfg.bind[0] = '\0';
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "key 'bind': expected an IPv4 or IPv6 address") != NULL, "%s", err);
}
END_TEST

START_TEST(test_bind_takes_only_ip_literals)
{
    ck_assert(config_bind_ok("127.0.0.1"));
    ck_assert(config_bind_ok("0.0.0.0"));
    ck_assert(config_bind_ok("::"));
    ck_assert(config_bind_ok("::1"));
    ck_assert(config_bind_ok("2001:db8::5"));
    ck_assert(!config_bind_ok("localhost"));
    ck_assert(!config_bind_ok("example.com"));
    ck_assert(!config_bind_ok(""));
    ck_assert(!config_bind_ok("127.0.0.1:6380"));
    ck_assert(!config_bind_ok("[::1]"));
    ck_assert(!config_bind_ok(NULL));
}
END_TEST

START_TEST(test_override_errors_name_the_flag)
{
    config_defaults(&cfg);
    ck_assert_int_eq(config_override(&cfg, "--store", "store.type", "redis", err, sizeof err), -1);
    ck_assert_str_eq(err, "--store: expected one of \"file\", \"memory\", \"mysql\", got \"redis\"");
    ck_assert_int_eq(config_override(&cfg, "--port", "port", "x", err, sizeof err), -1);
    ck_assert_str_eq(err, "--port: expected an integer from 0 to 65535, got \"x\"");
    ck_assert_int_eq(config_override(&cfg, "--bind", "bind", "localhost", err, sizeof err), -1);
    ck_assert_msg(strncmp(err, "--bind: expected an IPv4 or IPv6 address", 40) == 0, "%s", err);
    /* A cross-key check about a key a flag set names the flag too... */
    strcpy(cfg.config_file, "/etc/seqd/x.json");
    ck_assert_int_eq(config_override(&cfg, "--dir", "store.dir", "", err, sizeof err), 0);
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_str_eq(err, "--dir: must not be empty when store.type is \"file\"");
    /* ...and one about a key of the file names the file and the key. */
    config_defaults(&cfg);
    strcpy(cfg.config_file, "/etc/seqd/x.json");
    cfg.store_dir[0] = '\0';
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_str_eq(err, "/etc/seqd/x.json: key 'store.dir': must not be empty when store.type is \"file\"");
    /* A good override is taken. */
    ck_assert_int_eq(config_override(&cfg, "--port", "port", "7001", err, sizeof err), 0);
    ck_assert_int_eq(cfg.port, 7001);
}
END_TEST

/* ---- reload ------------------------------------------------------------ */

START_TEST(test_reload_copies_only_reloadable_keys_and_says_what_changed)
{
    struct config fresh;
    char changed[256], restart[256];

    config_defaults(&fresh);
    ck_assert_int_eq(config_load_string(&fresh, T_FILE,
        "{\"port\": 7000, \"requirepass\": \"s3cret\", \"log\": {\"level\": \"debug\"},"
        " \"store\": {\"dir\": \"/elsewhere\", \"mysql\": {\"rescan_s\": 30, \"password\": \"dbpw\"}}}",
        err, sizeof err), 0);
    config_apply_reload(&cfg, &fresh, changed, sizeof changed);

    ck_assert_str_eq(changed, "requirepass changed, log.level notice->debug, store.mysql.rescan_s 10->30");
    ck_assert_ptr_null(strstr(changed, "s3cret"));
    ck_assert_str_eq(cfg.requirepass, "s3cret");
    ck_assert_int_eq(cfg.log_level, LOG_LVL_DEBUG);
    ck_assert_int_eq(cfg.mysql_rescan_s, 30);
    /* Not reloadable: unchanged until a restart, and named as such. */
    ck_assert_int_eq(cfg.port, 6380);
    ck_assert_str_eq(cfg.store_dir, "/var/lib/seqd");
    ck_assert_str_eq(cfg.mysql_password, "");
    ck_assert_int_eq(config_restart_needed(&cfg, &fresh, restart, sizeof restart), 3);
    ck_assert_str_eq(restart, "port, store.dir, store.mysql.password");

    /* The same file again changes nothing. */
    config_apply_reload(&cfg, &fresh, changed, sizeof changed);
    ck_assert_str_eq(changed, "");
}
END_TEST

START_TEST(test_reload_applies_client_limits)
{
    struct config fresh;
    char changed[256];

    config_defaults(&fresh);
    ck_assert_int_eq(config_load_string(&fresh, T_FILE,
        "{\"timeout\": 60, \"tcp_keepalive\": 0, \"output_limit_bytes\": 65536,"
        " \"output_limit_seconds\": 5}", err, sizeof err), 0);
    config_apply_reload(&cfg, &fresh, changed, sizeof changed);
    ck_assert_str_eq(changed, "timeout 0->60, tcp_keepalive 300->0, output_limit_bytes 262144->65536, "
                              "output_limit_seconds 30->5");
    ck_assert_int_eq(cfg.timeout, 60);
    ck_assert_int_eq(cfg.output_limit_bytes, 65536);
    ck_assert_int_eq(config_load_string(&fresh, T_FILE, "{\"output_limit_bytes\": 100}", err,
                                        sizeof err), -1);
    ck_assert_str_eq(err, T_FILE ": key 'output_limit_bytes': expected an integer from 1024 to "
                          "1073741824, got 100");
}
END_TEST

START_TEST(test_reload_summary_fits_a_small_buffer)
{
    struct config fresh = cfg;
    char small[12];

    fresh.log_level = LOG_LVL_WARNING;
    fresh.mysql_rescan_s = 99;
    snprintf(fresh.requirepass, sizeof fresh.requirepass, "x");
    config_apply_reload(&cfg, &fresh, small, sizeof small);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    ck_assert_int_eq(cfg.mysql_rescan_s, 99);
    ck_assert_int_eq(config_restart_needed(&cfg, &fresh, small, sizeof small), 0);
    ck_assert_str_eq(small, "");
}
END_TEST

/* ---- CONFIG GET -------------------------------------------------------- */

/* A true/false key: JSON booleans in the file, yes/no (or true/false) as text. */
START_TEST(test_bool_key)
{
    ck_assert(!cfg.http_metrics_auth);
    ck_assert_int_eq(config_load_string(&cfg, "t.json", "{\"http\": {\"metrics_auth\": true}}", err, sizeof err), 0);
    ck_assert(cfg.http_metrics_auth);
    ck_assert_int_eq(config_set(&cfg, "http.metrics_auth", "no", err, sizeof err), 0);
    ck_assert(!cfg.http_metrics_auth);
    ck_assert_int_eq(config_set(&cfg, "http.metrics_auth", "maybe", err, sizeof err), -1);
    ck_assert_str_eq(err, "key 'http.metrics_auth': expected true or false, got \"maybe\"");
    ck_assert_int_eq(config_load_string(&cfg, "t.json", "{\"http\": {\"metrics_auth\": 1}}", err, sizeof err), -1);
    ck_assert_str_eq(err, "t.json: key 'http.metrics_auth': expected true or false, got 1");
}
END_TEST

/* Type 5's worker id follows id_step/id_offset on the file and memory
 * stores: -1 takes id_offset, an explicit one must fit the group. */
START_TEST(test_worker_id_fits_the_group)
{
    ck_assert_int_eq(config_load_string(&cfg, "t.json", "{\"id_step\": 2, \"id_offset\": 1}", err, sizeof err), 0);
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), 0);
    ck_assert_int_eq(config_worker_id(&cfg), 1);
    ck_assert_int_eq(config_load_string(&cfg, "t.json", "{\"worker_id\": 7}", err, sizeof err), 0);
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), 0);
    ck_assert_int_eq(config_worker_id(&cfg), 7);
    ck_assert_int_eq(config_load_string(&cfg, "t.json", "{\"worker_id\": 4}", err, sizeof err), 0);
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_str_eq(err, "key 'worker_id': 4 is not id_offset (1) modulo id_step (2): type 5 ids of "
                          "independent groups must differ by worker id; give this node a worker_id w with "
                          "w % 2 = 1, or -1 (id_offset)");
    /* The mysql store leases its worker id: worker_id is not used there. */
    ck_assert_int_eq(config_load_string(&cfg, "t.json", "{\"store\": {\"type\": \"mysql\"}}", err, sizeof err), 0);
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), 0);
}
END_TEST

/* The HTTP door cannot share the Redis protocol's port. */
START_TEST(test_tls_protocols_are_parsed_to_versions)
{
    ck_assert_int_eq(config_tls_protocols("TLSv1.2 TLSv1.3"), CONFIG_TLS_V12 | CONFIG_TLS_V13);
    ck_assert_int_eq(config_tls_protocols("TLSv1.3"), CONFIG_TLS_V13);
    ck_assert_int_eq(config_tls_protocols("tlsv1.2"), CONFIG_TLS_V12);
    ck_assert_int_eq(config_tls_protocols("  TLSv1.3   TLSv1.2 "), CONFIG_TLS_V12 | CONFIG_TLS_V13);
    ck_assert_int_eq(config_tls_protocols(""), 0);
    ck_assert_int_eq(config_tls_protocols(" "), 0);
    ck_assert_int_eq(config_tls_protocols("TLSv1.2,TLSv1.3"), 0);
    ck_assert_int_eq(config_tls_protocols("TLSv1"), 0);
    ck_assert_int_eq(config_tls_protocols("TLSv1.2 SSLv3"), 0);
    ck_assert_int_eq(config_tls_protocols("TLSv1.23"), 0);
    ck_assert_int_eq(config_tls_protocols(NULL), 0);
}
END_TEST

/* The TLS cross-key checks, each on a config that passes but for it. */
START_TEST(test_check_tls_needs_its_files_and_a_port_of_its_own)
{
    static const char *const good =
        "{\"tls\": {\"port\": 7002, \"cert_file\": \"/s.crt\", \"key_file\": \"/s.key\", \"ca_file\": \"/ca.crt\"}}";

    ck_assert_int_eq(config_load_string(&cfg, "t.json", good, err, sizeof err), 0);
    ck_assert_msg(config_check(&cfg, err, sizeof err) == 0, "%s", err);

    cfg.tls_ca_file[0] = '\0';
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_str_eq(err, "key 'tls.ca_file': must be set when tls.auth_clients is \"yes\" (the default, as Redis): "
                     "it names the CAs that sign client certificates; or set tls.auth_clients to \"no\"");
    snprintf(cfg.tls_auth_clients, sizeof cfg.tls_auth_clients, "optional");
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "tls.auth_clients is \"optional\"") != NULL, "%s", err);
    snprintf(cfg.tls_auth_clients, sizeof cfg.tls_auth_clients, "no");
    ck_assert_msg(config_check(&cfg, err, sizeof err) == 0, "%s", err);

    cfg.tls_key_file[0] = '\0';
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_msg(strncmp(err, "key 'tls.key_file': must be set when tls.port is set", 51) == 0, "%s", err);
    cfg.tls_cert_file[0] = '\0';
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_msg(strncmp(err, "key 'tls.cert_file': must be set when tls.port is set", 52) == 0, "%s", err);

    /* The HTTPS door needs the certificate too, and a door. */
    ck_assert_int_eq(config_load_string(&cfg, "t.json", good, err, sizeof err), 0);
    cfg.tls_port = 0;
    cfg.http_tls = true;
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_str_eq(err, "key 'http.tls': true, but there is no HTTP door: set http.port");
    cfg.http_port = 7001;
    ck_assert_msg(config_check(&cfg, err, sizeof err) == 0, "%s", err);
    cfg.tls_cert_file[0] = '\0';
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "must be set when http.tls is true") != NULL, "%s", err);

    /* Ports: its own, and the plain one may go only when it is there. */
    ck_assert_int_eq(config_load_string(&cfg, "t.json", good, err, sizeof err), 0);
    cfg.tls_port = cfg.port;
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_str_eq(err, "key 'tls.port': 6380 is the plain Redis protocol's port too; give TLS a port of its own");
    cfg.http_port = 7001;
    cfg.tls_port = 7001;
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_str_eq(err, "key 'tls.port': 7001 is the HTTP door's port too; give TLS a port of its own");
    cfg.tls_port = 7002;
    cfg.port = 0;
    ck_assert_msg(config_check(&cfg, err, sizeof err) == 0, "%s", err);
    cfg.tls_port = 0;
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_str_eq(err, "key 'port': 0 turns the plain port off, and there is no tls.port: clients would "
                     "have no way in");
}
END_TEST

START_TEST(test_reload_keeps_tls_keys_when_told)
{
    struct config fresh;
    char changed[256];

    config_defaults(&fresh);
    ck_assert_int_eq(config_load_string(&fresh, T_FILE,
        "{\"tls\": {\"cert_file\": \"/new.crt\", \"auth_clients\": \"no\"}, \"log\": {\"level\": \"debug\"}}",
        err, sizeof err), 0);
    /* The new certificate did not load: the tls keys stay, the rest goes on. */
    config_keep_reloadable(&fresh, &cfg, "tls.");
    ck_assert_str_eq(fresh.tls_cert_file, "");
    ck_assert_str_eq(fresh.tls_auth_clients, "yes");
    ck_assert_int_eq(fresh.log_level, LOG_LVL_DEBUG);
    config_apply_reload(&cfg, &fresh, changed, sizeof changed);
    ck_assert_str_eq(changed, "log.level notice->debug");

    /* When it loads, the keys are reloadable like any other. */
    snprintf(fresh.tls_cert_file, sizeof fresh.tls_cert_file, "/new.crt");
    config_apply_reload(&cfg, &fresh, changed, sizeof changed);
    ck_assert_str_eq(changed, "tls.cert_file ->/new.crt");
    ck_assert_str_eq(cfg.tls_cert_file, "/new.crt");
}
END_TEST

START_TEST(test_http_port_not_resp_port)
{
    ck_assert_int_eq(config_load_string(&cfg, "t.json", "{\"port\": 7000, \"http\": {\"port\": 7000}}", err, sizeof err), 0);
    ck_assert_int_eq(config_check(&cfg, err, sizeof err), -1);
    ck_assert_str_eq(err, "key 'http.port': 7000 is the Redis protocol's port too; give the HTTP door a port of its own");
}
END_TEST

START_TEST(test_get_star_lists_every_key_and_redis_names)
{
    static struct got g;

    memset(&g, 0, sizeof g);
    snprintf(cfg.requirepass, sizeof cfg.requirepass, "pw");
    config_get(&cfg, "*", got_emit, &g);
    ck_assert_int_eq(g.n, 53 + 3);
    ck_assert_str_eq(g.name[0], "bind");
    ck_assert_str_eq(got_value(&g, "timeout"), "0");
    ck_assert_str_eq(got_value(&g, "tcp_keepalive"), "300");
    ck_assert_str_eq(got_value(&g, "output_limit_bytes"), "262144");
    ck_assert_str_eq(got_value(&g, "output_limit_seconds"), "30");
    ck_assert_str_eq(got_value(&g, "store.mysql.failover"), "fence");
    ck_assert_str_eq(got_value(&g, "store.mysql.failover_gap"), "0");
    ck_assert_str_eq(got_value(&g, "store.mysql.state_dir"), "");
    ck_assert_str_eq(got_value(&g, "http.metrics_auth"), "no");
    ck_assert_str_eq(got_value(&g, "udp.port"), "0");
    ck_assert_str_eq(got_value(&g, "tls.port"), "0");
    ck_assert_str_eq(got_value(&g, "tls.auth_clients"), "yes");
    ck_assert_str_eq(got_value(&g, "tls.protocols"), "TLSv1.2 TLSv1.3");
    ck_assert_str_eq(got_value(&g, "http.tls"), "no");
    ck_assert_str_eq(got_value(&g, "port"), "6380");
    ck_assert_str_eq(got_value(&g, "requirepass"), "********");   /* a password is never shown */
    ck_assert_str_eq(got_value(&g, "log.level"), "notice");
    ck_assert_str_eq(got_value(&g, "store.mysql.table"), "seqd_segments");
    ck_assert_str_eq(got_value(&g, "store.mysql.ssl_mode"), "");
    ck_assert_str_eq(got_value(&g, "segment.max"), "1000000");
    ck_assert_str_eq(got_value(&g, "id_step"), "1");
    ck_assert_str_eq(got_value(&g, "id_offset"), "0");
    ck_assert_str_eq(got_value(&g, "save"), "");
    ck_assert_str_eq(got_value(&g, "appendonly"), "no");
    ck_assert_str_eq(got_value(&g, "loglevel"), "notice");
}
END_TEST

START_TEST(test_get_matches_single_names_and_globs)
{
    static struct got g;

    memset(&g, 0, sizeof g);
    config_get(&cfg, "port", got_emit, &g);
    ck_assert_int_eq(g.n, 1);
    ck_assert_str_eq(g.name[0], "port");
    ck_assert_str_eq(g.value[0], "6380");

    memset(&g, 0, sizeof g);
    config_get(&cfg, "save", got_emit, &g);
    ck_assert_int_eq(g.n, 1);
    ck_assert_str_eq(g.name[0], "save");
    ck_assert_str_eq(g.value[0], "");

    memset(&g, 0, sizeof g);
    config_get(&cfg, "appendonly", got_emit, &g);
    ck_assert_int_eq(g.n, 1);
    ck_assert_str_eq(g.value[0], "no");

    /* Redis' loglevel is log.level's value under Redis' name. */
    cfg.log_level = LOG_LVL_DEBUG;
    memset(&g, 0, sizeof g);
    config_get(&cfg, "*LEVEL", got_emit, &g);
    ck_assert_int_eq(g.n, 2);
    ck_assert_str_eq(got_value(&g, "log.level"), "debug");
    ck_assert_str_eq(got_value(&g, "loglevel"), "debug");
    cfg.log_level = LOG_LVL_NOTICE;

    memset(&g, 0, sizeof g);
    config_get(&cfg, "MAXCLIENTS", got_emit, &g);
    ck_assert_int_eq(g.n, 1);
    ck_assert_str_eq(g.name[0], "maxclients");
    ck_assert_str_eq(g.value[0], "10000");

    memset(&g, 0, sizeof g);
    config_get(&cfg, "?ind", got_emit, &g);
    ck_assert_int_eq(g.n, 1);
    ck_assert_str_eq(g.name[0], "bind");

    memset(&g, 0, sizeof g);
    config_get(&cfg, "store.mysql.ssl_*", got_emit, &g);
    ck_assert_int_eq(g.n, 4);

    memset(&g, 0, sizeof g);
    config_get(&cfg, "*port", got_emit, &g);
    ck_assert_int_eq(g.n, 5);
    ck_assert_str_eq(g.name[0], "port");
    ck_assert_str_eq(g.name[1], "tls.port");
    ck_assert_str_eq(g.name[2], "http.port");
    ck_assert_str_eq(g.name[3], "udp.port");
    ck_assert_str_eq(g.name[4], "store.mysql.port");

    memset(&g, 0, sizeof g);
    config_get(&cfg, "nosuch*", got_emit, &g);
    ck_assert_int_eq(g.n, 0);
}
END_TEST

/* ---- files ------------------------------------------------------------- */

START_TEST(test_load_file_reports_path_and_line)
{
    char path[] = "/tmp/check_config_XXXXXX";
    int fd = mkstemp(path);
    const char *text = "{\n  \"port\": 6390,\n  \"workers\": x\n}\n";

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ck_assert_int_eq(config_load_file(&cfg, path, err, sizeof err), -1);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "%s", err);
    ck_assert_msg(strstr(err, ": line 3: JSON syntax error near 'x'") != NULL, "%s", err);
    unlink(path);

    /* A NUL byte would hide the rest of the file from the parser. */
    snprintf(path, sizeof path, "/tmp/check_config_XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "{}\0{", 4), 4);
    close(fd);
    ck_assert_int_eq(config_load_file(&cfg, path, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ": contains a NUL byte") != NULL, "%s", err);
    unlink(path);

    ck_assert_int_eq(config_load_file(&cfg, "/nonexistent/seqd.json", err, sizeof err), -1);
    ck_assert_str_eq(err, "/nonexistent/seqd.json: cannot open: No such file or directory");
    ck_assert_int_eq(config_load_file(&cfg, "/tmp", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "/tmp: cannot read") != NULL, "%s", err);
}
END_TEST

START_TEST(test_shipped_config_loads_and_names_every_key)
{
    char path[1024], value[CONFIG_STR_MAX + 32];
    static struct got shipped, defaults;
    struct config def;
    cJSON *root, *node;
    char *text, *dot, *part;
    int i;

    snprintf(path, sizeof path, "%s/etc/seqd.json", srcdir());
    ck_assert_msg(config_load_file(&cfg, path, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(config_check(&cfg, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(cfg.store_dir, "./data");

    /* Every other value is the default, so the file shows the defaults. */
    config_defaults(&def);
    memset(&shipped, 0, sizeof shipped);
    memset(&defaults, 0, sizeof defaults);
    config_get(&cfg, "*", got_emit, &shipped);
    config_get(&def, "*", got_emit, &defaults);
    ck_assert_int_eq(shipped.n, defaults.n);
    for (i = 0; i < shipped.n; i++)
        if (strcmp(shipped.name[i], "store.dir") != 0)
            ck_assert_msg(strcmp(shipped.value[i], defaults.value[i]) == 0, "%s: shipped %s, default %s",
                          shipped.name[i], shipped.value[i], defaults.value[i]);

    /* And it writes every key out, so a user sees them all. */
    text = read_all(path);
    root = cJSON_Parse(text);
    ck_assert_ptr_nonnull(root);
    for (i = 0; i < shipped.n; i++) {
        if (strcmp(shipped.name[i], "save") == 0 || strcmp(shipped.name[i], "appendonly") == 0
            || strcmp(shipped.name[i], "loglevel") == 0)
            continue;
        snprintf(value, sizeof value, "%s", shipped.name[i]);
        node = root;
        for (part = value; node != NULL && part != NULL; part = dot) {
            dot = strchr(part, '.');
            if (dot != NULL)
                *dot++ = '\0';
            node = cJSON_GetObjectItemCaseSensitive(node, part);
        }
        ck_assert_msg(node != NULL, "etc/seqd.json does not show key %s", shipped.name[i]);
    }
    cJSON_Delete(root);
    free(text);
}
END_TEST

START_TEST(test_docs_describe_every_key)
{
    char path[1024], quoted[128];
    static struct got g;
    char *text;
    int i;

    snprintf(path, sizeof path, "%s/docs/config.md", srcdir());
    text = read_all(path);
    memset(&g, 0, sizeof g);
    config_get(&cfg, "*", got_emit, &g);
    for (i = 0; i < g.n; i++) {
        snprintf(quoted, sizeof quoted, "`%s`", g.name[i]);
        ck_assert_msg(strstr(text, quoted) != NULL, "docs/config.md does not describe %s", quoted);
    }
    free(text);
}
END_TEST

/* ---- paths, store threads, table names ------------------------------- */

START_TEST(test_resolve_paths_makes_a_relative_store_dir_absolute)
{
    char cwd[4096], want[4400];

    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(want, sizeof want, "%s/data/seqd", cwd);
    snprintf(cfg.store_dir, sizeof cfg.store_dir, "data/seqd");
    ck_assert_int_eq(config_resolve_paths(&cfg, err, sizeof err), 0);
    ck_assert_str_eq(cfg.store_dir, want);
    /* An absolute dir stays as it is (a reload resolves to the same), and
     * so does an empty one. */
    ck_assert_int_eq(config_resolve_paths(&cfg, err, sizeof err), 0);
    ck_assert_str_eq(cfg.store_dir, want);
    cfg.store_dir[0] = '\0';
    ck_assert_int_eq(config_resolve_paths(&cfg, err, sizeof err), 0);
    ck_assert_str_eq(cfg.store_dir, "");
}
END_TEST

START_TEST(test_resolve_paths_refuses_a_dir_that_would_not_fit)
{
    /* Even "/" + '/' + this is one byte too many. */
    memset(cfg.store_dir, 'd', CONFIG_STR_MAX - 2);
    cfg.store_dir[CONFIG_STR_MAX - 2] = '\0';
    ck_assert_int_eq(config_resolve_paths(&cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "key 'store.dir'") != NULL, "%s", err);
    ck_assert_uint_eq(strlen(cfg.store_dir), CONFIG_STR_MAX - 2);
}
END_TEST

START_TEST(test_store_threads_follow_the_store_type)
{
    cfg.store_threads = 3;
    cfg.mysql_threads = 7;
    snprintf(cfg.store_type, sizeof cfg.store_type, "file");
    ck_assert_int_eq(config_store_threads(&cfg), 3);
    snprintf(cfg.store_type, sizeof cfg.store_type, "memory");
    ck_assert_int_eq(config_store_threads(&cfg), 3);
    snprintf(cfg.store_type, sizeof cfg.store_type, "mysql");
    ck_assert_int_eq(config_store_threads(&cfg), 7);
}
END_TEST

START_TEST(test_table_name_rule_takes_only_plain_identifiers)
{
    char name[CONFIG_TABLE_NAME_MAX + 2];

    ck_assert(config_table_name_ok("seqd_segments"));
    ck_assert(config_table_name_ok("T1"));
    ck_assert(!config_table_name_ok(NULL));
    ck_assert(!config_table_name_ok(""));
    ck_assert(!config_table_name_ok("bad-name"));
    ck_assert(!config_table_name_ok("db.table"));
    ck_assert(!config_table_name_ok("t`; DROP TABLE x; --"));
    ck_assert(!config_table_name_ok("t\xc3\xa9"));
    memset(name, 'a', CONFIG_TABLE_NAME_MAX);
    name[CONFIG_TABLE_NAME_MAX] = '\0';
    ck_assert(config_table_name_ok(name));
    name[CONFIG_TABLE_NAME_MAX] = 'a';
    name[CONFIG_TABLE_NAME_MAX + 1] = '\0';
    ck_assert(!config_table_name_ok(name));
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc;

    tc = tcase_create("load");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_defaults_are_the_documented_values);
    tcase_add_test(tc, test_full_file_sets_every_key);
    tcase_add_test(tc, test_bounds_themselves_are_accepted);
    tcase_add_test(tc, test_empty_object_keeps_defaults);
    tcase_add_test(tc, test_byte_order_mark_is_skipped);
    tcase_add_loop_test(tc, test_bad_input_names_file_key_and_reason, 0, (int)(sizeof bad_inputs / sizeof bad_inputs[0]));
    tcase_add_test(tc, test_hint_only_when_one_key_fits);
    tcase_add_test(tc, test_too_long_string_is_refused_with_its_length);
    tcase_add_test(tc, test_long_bad_value_is_cut_and_control_bytes_hidden);
    tcase_add_test(tc, test_syntax_error_names_the_line);
    tcase_add_test(tc, test_later_value_overrides_earlier);
    tcase_add_test(tc, test_set_follows_the_rules_of_the_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("check");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_check_refuses_segment_default_above_max);
    tcase_add_test(tc, test_check_wants_id_offset_below_id_step);
    tcase_add_test(tc, test_check_needs_a_dir_for_the_file_store);
    tcase_add_test(tc, test_check_needs_a_way_to_reach_mysql);
    tcase_add_test(tc, test_check_wants_ssl_cert_and_key_together);
    tcase_add_test(tc, test_check_tls_needs_its_files_and_a_port_of_its_own);
    tcase_add_test(tc, test_tls_protocols_are_parsed_to_versions);
    tcase_add_test(tc, test_check_applies_each_key_rule_to_values_set_directly);
    tcase_add_test(tc, test_resolve_paths_makes_a_relative_store_dir_absolute);
    tcase_add_test(tc, test_resolve_paths_refuses_a_dir_that_would_not_fit);
    tcase_add_test(tc, test_store_threads_follow_the_store_type);
    tcase_add_test(tc, test_table_name_rule_takes_only_plain_identifiers);
    tcase_add_test(tc, test_bind_takes_only_ip_literals);
    tcase_add_test(tc, test_override_errors_name_the_flag);
    suite_add_tcase(s, tc);

    tc = tcase_create("reload");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_reload_copies_only_reloadable_keys_and_says_what_changed);
    tcase_add_test(tc, test_reload_summary_fits_a_small_buffer);
    tcase_add_test(tc, test_reload_applies_client_limits);
    tcase_add_test(tc, test_reload_keeps_tls_keys_when_told);
    suite_add_tcase(s, tc);

    tc = tcase_create("get");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_get_star_lists_every_key_and_redis_names);
    tcase_add_test(tc, test_bool_key);
    tcase_add_test(tc, test_http_port_not_resp_port);
    tcase_add_test(tc, test_worker_id_fits_the_group);
    tcase_add_test(tc, test_get_matches_single_names_and_globs);
    tcase_add_test(tc, test_users_are_parsed_with_hash_bytes_and_roles);
    tcase_add_test(tc, test_bad_users_are_named_by_key_path);
    tcase_add_test(tc, test_user_name_rule);
    tcase_add_test(tc, test_reload_reports_users_without_secrets);
    tcase_add_test(tc, test_get_masks_requirepass_and_shows_no_users);
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_load_file_reports_path_and_line);
    tcase_add_test(tc, test_shipped_config_loads_and_names_every_key);
    tcase_add_test(tc, test_docs_describe_every_key);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
