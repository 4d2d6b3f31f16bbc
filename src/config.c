/*
 * config: the table of every seqd setting, and the code that fills a
 * struct config from JSON text, checks it, reloads it and lists it.
 *
 * pgbouncer's layout: one row per key in config_keys[] gives its JSON path,
 * type, place in struct config, bounds, default (as text, parsed by the
 * same code as a value from the file) and whether SIGHUP may change it.
 * Everything below is driven by that table, so a new key is one row here,
 * one field in config.h and one entry in docs/config.md.
 *
 * No globals and no logging; config_load_file() is the only I/O, and
 * config_resolve_paths() asks for the current directory.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* FNM_CASEFOLD */
#endif

#include "config.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* A larger file is not a seqd config; refusing it bounds the read. */
#define CONFIG_FILE_MAX (1024 * 1024)
/* Longest JSON path we look up ("store.mysql.connect_timeout_s" is 29). */
#define CONFIG_PATH_MAX 128
/* How much of a bad value or key a message shows. */
#define CONFIG_SHOW_MAX 48

enum cfg_type {
    CFG_STRING,   /* char[] field; the value must fit, NUL included */
    CFG_INT,      /* int field, within [min, max] */
    CFG_U64,      /* uint64_t field, within [min, max] (min >= 0) */
    CFG_LOGLEVEL, /* int field holding enum log_level; the JSON is its name */
    CFG_ENUM,     /* char[] field holding one of values[] */
    CFG_BOOL,     /* bool field; JSON true/false, text yes/no (Redis' CONFIG words) */
};

#define CFG_RELOAD 0x1 /* SIGHUP applies a new value */
#define CFG_SECRET 0x2 /* never shown in reload messages */
#define CFG_MASKED 0x4 /* CONFIG GET shows "********" (a credential) */

struct cfg_key {
    const char *name;            /* JSON path, also the CONFIG GET name */
    enum cfg_type type;
    size_t offset;               /* offsetof(struct config, field) */
    size_t size;                 /* sizeof the field */
    int64_t min, max;            /* CFG_INT, CFG_U64 */
    const char *def;             /* default, as text */
    unsigned flags;              /* CFG_RELOAD, CFG_SECRET */
    const char *const *values;   /* CFG_ENUM: allowed values, NULL-terminated */
    bool (*rule)(const char *s); /* CFG_STRING: extra rule, or NULL */
    const char *rule_what;       /* what rule accepts, for messages */
};

#define FIELD(f) .offset = offsetof(struct config, f), .size = sizeof(((struct config *)0)->f)

/* A table name is spliced into SQL text (it cannot be a bound parameter),
 * so it is restricted to characters that never need quoting. */
bool config_table_name_ok(const char *s)
{
    size_t n, i;

    if (s == NULL)
        return false;
    n = strlen(s);
    if (n < 1 || n > CONFIG_TABLE_NAME_MAX)
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

/* What the listener can bind without a name lookup: an IPv4 or IPv6
 * address literal. A host name ("localhost") would pass a file check and
 * then fail at start-up, so -t refuses it here. */
bool config_bind_ok(const char *s)
{
    unsigned char addr[sizeof(struct in6_addr)];

    return s != NULL && (inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1);
}

static bool config_tls_protocols_ok(const char *s)
{
    return config_tls_protocols(s) != 0;
}

int config_tls_protocols(const char *s)
{
    int mask = 0;

    while (s != NULL && *s != '\0') {
        size_t n = strcspn(s, " ");
        if (n == 7 && strncasecmp(s, "TLSv1.2", 7) == 0)
            mask |= CONFIG_TLS_V12;
        else if (n == 7 && strncasecmp(s, "TLSv1.3", 7) == 0)
            mask |= CONFIG_TLS_V13;
        else if (n > 0)
            return 0;
        s += n + strspn(s + n, " ");
    }
    return mask;
}

bool config_tls_on(const struct config *cfg)
{
    return cfg->tls_port != 0 || cfg->http_tls;
}

static const char *const config_tls_auth_values[] = { "no", "optional", "yes", NULL };
static const char *const config_store_types[] = { "file", "memory", "mysql", NULL };
static const char *const config_failover_modes[] = { "fence", "manual", NULL };
static const char *const config_ssl_modes[] = {
    "", "disabled", "preferred", "required", "verify_ca", "verify_identity", NULL
};

/* Every key, in the order of the shipped etc/seqd.json and of CONFIG GET *.
 * docs/config.md describes each row; keep them in step. */
static const struct cfg_key config_keys[] = {
    { .name = "bind", .type = CFG_STRING, FIELD(bind), .def = "127.0.0.1", .rule = config_bind_ok,
      .rule_what = "an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0 or ::1 (not a host name)" },
    { .name = "port", .type = CFG_INT, FIELD(port), .min = 0, .max = 65535, .def = "6380" },
    { .name = "workers", .type = CFG_INT, FIELD(workers), .min = 0, .max = 64, .def = "0" },
    { .name = "maxclients", .type = CFG_INT, FIELD(maxclients), .min = 1, .max = 1000000, .def = "10000" },
    { .name = "timeout", .type = CFG_INT, FIELD(timeout), .min = 0, .max = 31536000, .def = "0",
      .flags = CFG_RELOAD },
    { .name = "tcp_keepalive", .type = CFG_INT, FIELD(tcp_keepalive), .min = 0, .max = 86400, .def = "300",
      .flags = CFG_RELOAD },
    { .name = "output_limit_bytes", .type = CFG_INT, FIELD(output_limit_bytes), .min = 1024,
      .max = 1073741824, .def = "262144", .flags = CFG_RELOAD },
    { .name = "output_limit_seconds", .type = CFG_INT, FIELD(output_limit_seconds), .min = 1, .max = 86400,
      .def = "30", .flags = CFG_RELOAD },
    { .name = "requirepass", .type = CFG_STRING, FIELD(requirepass), .def = "",
      .flags = CFG_RELOAD | CFG_SECRET | CFG_MASKED },
    { .name = "worker_id", .type = CFG_INT, FIELD(worker_id), .min = -1, .max = 1023, .def = "-1" },
    { .name = "id_step", .type = CFG_U64, FIELD(id_step), .min = 1, .max = CONFIG_ID_STEP_MAX, .def = "1" },
    { .name = "id_offset", .type = CFG_U64, FIELD(id_offset), .min = 0, .max = CONFIG_ID_STEP_MAX - 1,
      .def = "0" },
    { .name = "tls.port", .type = CFG_INT, FIELD(tls_port), .min = 0, .max = 65535, .def = "0" },
    { .name = "tls.cert_file", .type = CFG_STRING, FIELD(tls_cert_file), .def = "", .flags = CFG_RELOAD },
    { .name = "tls.key_file", .type = CFG_STRING, FIELD(tls_key_file), .def = "", .flags = CFG_RELOAD },
    { .name = "tls.ca_file", .type = CFG_STRING, FIELD(tls_ca_file), .def = "", .flags = CFG_RELOAD },
    { .name = "tls.auth_clients", .type = CFG_ENUM, FIELD(tls_auth_clients), .def = "yes",
      .values = config_tls_auth_values, .flags = CFG_RELOAD },
    { .name = "tls.protocols", .type = CFG_STRING, FIELD(tls_protocols), .def = "TLSv1.2 TLSv1.3",
      .flags = CFG_RELOAD, .rule = config_tls_protocols_ok,
      .rule_what = "\"TLSv1.2\", \"TLSv1.3\" or both, separated by a space" },
    { .name = "http.bind", .type = CFG_STRING, FIELD(http_bind), .def = "127.0.0.1", .rule = config_bind_ok,
      .rule_what = "an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0 or ::1 (not a host name)" },
    { .name = "http.port", .type = CFG_INT, FIELD(http_port), .min = 0, .max = 65535, .def = "0" },
    { .name = "http.metrics_auth", .type = CFG_BOOL, FIELD(http_metrics_auth), .def = "no" },
    { .name = "http.tls", .type = CFG_BOOL, FIELD(http_tls), .def = "no" },
    { .name = "udp.bind", .type = CFG_STRING, FIELD(udp_bind), .def = "127.0.0.1", .rule = config_bind_ok,
      .rule_what = "an IPv4 or IPv6 address such as 127.0.0.1, 0.0.0.0 or ::1 (not a host name)" },
    { .name = "udp.port", .type = CFG_INT, FIELD(udp_port), .min = 0, .max = 65535, .def = "0" },
    { .name = "log.level", .type = CFG_LOGLEVEL, FIELD(log_level), .def = "notice", .flags = CFG_RELOAD },
    { .name = "log.file", .type = CFG_STRING, FIELD(log_file), .def = "" },
    { .name = "store.type", .type = CFG_ENUM, FIELD(store_type), .def = "file", .values = config_store_types },
    { .name = "store.dir", .type = CFG_STRING, FIELD(store_dir), .def = "/var/lib/seqd" },
    { .name = "store.threads", .type = CFG_INT, FIELD(store_threads), .min = 1, .max = 64, .def = "2" },
    { .name = "store.test_delay_ms", .type = CFG_INT, FIELD(store_delay_ms), .min = 0, .max = 60000, .def = "0" },
    { .name = "store.mysql.host", .type = CFG_STRING, FIELD(mysql_host), .def = "127.0.0.1" },
    { .name = "store.mysql.port", .type = CFG_INT, FIELD(mysql_port), .min = 1, .max = 65535, .def = "3306" },
    { .name = "store.mysql.socket", .type = CFG_STRING, FIELD(mysql_socket), .def = "" },
    { .name = "store.mysql.user", .type = CFG_STRING, FIELD(mysql_user), .def = "seqd" },
    { .name = "store.mysql.password", .type = CFG_STRING, FIELD(mysql_password), .def = "", .flags = CFG_SECRET | CFG_MASKED },
    { .name = "store.mysql.database", .type = CFG_STRING, FIELD(mysql_database), .def = "seqd" },
    { .name = "store.mysql.table", .type = CFG_STRING, FIELD(mysql_table), .def = "seqd_segments",
      .rule = config_table_name_ok, .rule_what = "a table name of 1 to 64 letters, digits or underscores" },
    { .name = "store.mysql.threads", .type = CFG_INT, FIELD(mysql_threads), .min = 1, .max = 64, .def = "2" },
    { .name = "store.mysql.connect_timeout_s", .type = CFG_INT, FIELD(mysql_connect_timeout_s),
      .min = 1, .max = 3600, .def = "3" },
    { .name = "store.mysql.rw_timeout_s", .type = CFG_INT, FIELD(mysql_rw_timeout_s),
      .min = 1, .max = 3600, .def = "5" },
    { .name = "store.mysql.rescan_s", .type = CFG_INT, FIELD(mysql_rescan_s), .min = 1, .max = 86400,
      .def = "10", .flags = CFG_RELOAD },
    { .name = "store.mysql.worker_lease_ms", .type = CFG_INT, FIELD(mysql_worker_lease_ms),
      .min = 1000, .max = 600000, .def = "10000" },
    { .name = "store.mysql.ssl_mode", .type = CFG_ENUM, FIELD(mysql_ssl_mode), .def = "",
      .values = config_ssl_modes },
    { .name = "store.mysql.ssl_ca", .type = CFG_STRING, FIELD(mysql_ssl_ca), .def = "" },
    { .name = "store.mysql.ssl_cert", .type = CFG_STRING, FIELD(mysql_ssl_cert), .def = "" },
    { .name = "store.mysql.ssl_key", .type = CFG_STRING, FIELD(mysql_ssl_key), .def = "" },
    { .name = "store.mysql.state_dir", .type = CFG_STRING, FIELD(mysql_state_dir), .def = "" },
    { .name = "store.mysql.failover", .type = CFG_ENUM, FIELD(mysql_failover), .def = "fence",
      .values = config_failover_modes },
    { .name = "store.mysql.failover_gap", .type = CFG_U64, FIELD(mysql_failover_gap), .min = 0,
      .max = UINT64_C(1000000000000000), .def = "0" },
    { .name = "segment.max", .type = CFG_U64, FIELD(segment_max), .min = 1, .max = 1000000000, .def = "1000000" },
    { .name = "segment.duration_s", .type = CFG_INT, FIELD(segment_duration_s), .min = 1, .max = 86400,
      .def = "900" },
    { .name = "segment.wait_ms", .type = CFG_INT, FIELD(segment_wait_ms), .min = 1, .max = 600000,
      .def = "1000" },
    { .name = "segment.default", .type = CFG_U64, FIELD(segment_default), .min = 1, .max = 1000000000,
      .def = "1000" },
};

/* Objects that group keys; any other object in the file is an unknown key. */
static const char *const config_sections[] = { "tls", "http", "udp", "log", "store", "store.mysql", "segment" };

/* Redis settings that clients and tools ask for on connect (redis-benchmark
 * reads save and appendonly and stops on an error), answered with what is
 * true of seqd: it takes no snapshots and keeps no append-only file. */
static const struct {
    const char *name;
    const char *value;
} config_redis_names[] = { { "save", "" }, { "appendonly", "no" } };

/* Redis' names for seqd keys: CONFIG GET answers them under the Redis name
 * with the seqd key's value (CONFIG GET loglevel shows log.level). */
static const struct {
    const char *name;
    const char *key;
} config_redis_aliases[] = { { "loglevel", "log.level" } };

/* ---- small helpers -------------------------------------------------- */

/* A bounded string being built: appends never overflow and keep it
 * terminated; what does not fit is dropped. */
struct strout {
    char *buf;
    size_t cap;
    size_t len;
};

static void strout_init(struct strout *o, char *buf, size_t cap)
{
    o->buf = buf;
    o->cap = cap;
    o->len = 0;
    if (cap > 0)
        buf[0] = '\0';
}

static void strout_printf(struct strout *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void strout_printf(struct strout *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->cap == 0 || o->len + 1 >= o->cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    o->len += (size_t)n;
    if (o->len > o->cap - 1)
        o->len = o->cap - 1;
}

/* Copy s into out for a message, through str_printable() (a byte that is
 * not printable ASCII shows as '?'), cut after CONFIG_SHOW_MAX bytes with
 * "..." so that one bad value cannot swamp the line. */
static void config_show(char *out, size_t outlen, const char *s)
{
    size_t len = strlen(s);
    size_t n;

    str_printable(s, len < CONFIG_SHOW_MAX ? len : CONFIG_SHOW_MAX, out, outlen);
    n = strlen(out);
    if (len > CONFIG_SHOW_MAX && outlen >= n + 4)
        memcpy(out + n, "...", 4);
}

/* A string value as shown in a message: quoted, cut, sanitised. */
static void config_show_quoted(char *out, size_t outlen, const char *s)
{
    char shown[CONFIG_SHOW_MAX + 4];

    config_show(shown, sizeof shown, s);
    snprintf(out, outlen, "\"%s\"", shown);
}

/* A JSON value as shown in a message, as it would be written in JSON. */
static void config_show_json(char *out, size_t outlen, const cJSON *v)
{
    char *txt = cJSON_PrintUnformatted(v);

    config_show(out, outlen, txt != NULL ? txt : "?");
    cJSON_free(txt);
}

static const struct cfg_key *config_key_find(const char *name)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(config_keys); i++)
        if (strcmp(config_keys[i].name, name) == 0)
            return &config_keys[i];
    return NULL;
}

static bool config_section_known(const char *path)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(config_sections); i++)
        if (strcmp(config_sections[i], path) == 0)
            return true;
    return false;
}

/* ---- one key: access, rules, rendering -------------------------------- */

static void *key_field(struct config *cfg, const struct cfg_key *k)
{
    return (char *)cfg + k->offset;
}

static const void *key_cfield(const struct config *cfg, const struct cfg_key *k)
{
    return (const char *)cfg + k->offset;
}

static bool key_is_text(const struct cfg_key *k)
{
    return k->type == CFG_STRING || k->type == CFG_ENUM;
}

/* What the key accepts, as "an integer from 1 to 65535". */
static void key_expect(const struct cfg_key *k, char *out, size_t outlen)
{
    struct strout o;
    int lvl;
    size_t i;

    strout_init(&o, out, outlen);
    switch (k->type) {
    case CFG_INT:
    case CFG_U64:
        strout_printf(&o, "an integer from %" PRId64 " to %" PRId64, k->min, k->max);
        break;
    case CFG_STRING:
        if (k->rule_what != NULL)
            strout_printf(&o, "%s", k->rule_what);
        else
            strout_printf(&o, "a string of at most %zu bytes", k->size - 1);
        break;
    case CFG_LOGLEVEL:
        strout_printf(&o, "one of");
        for (lvl = LOG_LVL_DEBUG; lvl <= LOG_LVL_WARNING; lvl++)
            strout_printf(&o, "%s \"%s\"", lvl == LOG_LVL_DEBUG ? "" : ",", log_level_name(lvl));
        break;
    case CFG_ENUM:
        strout_printf(&o, "one of");
        for (i = 0; k->values[i] != NULL; i++)
            strout_printf(&o, "%s \"%s\"", i == 0 ? "" : ",", k->values[i]);
        break;
    case CFG_BOOL:
        strout_printf(&o, "true or false");
        break;
    }
}

/* "WHO: expected WHAT, got GOT" into err. who names what was wrong as the
 * user wrote it: "FILE: key 'port'", "--port"; NULL means "key 'K'". */
static void key_err_expected(const struct cfg_key *k, const char *who, const char *got,
                             char *err, size_t errlen)
{
    char what[160];

    key_expect(k, what, sizeof what);
    if (who != NULL)
        snprintf(err, errlen, "%s: expected %s, got %s", who, what, got);
    else
        snprintf(err, errlen, "key '%s': expected %s, got %s", k->name, what, got);
}

static bool key_num_ok(const struct cfg_key *k, int64_t n)
{
    return n >= k->min && n <= k->max;
}

/* Whether s is a value the text-valued key k accepts (length aside). */
static bool key_text_ok(const struct cfg_key *k, const char *s)
{
    size_t i;

    switch (k->type) {
    case CFG_STRING:
        return k->rule == NULL || k->rule(s);
    case CFG_LOGLEVEL:
        return log_level_parse(s) >= 0;
    case CFG_ENUM:
        for (i = 0; k->values[i] != NULL; i++)
            if (strcmp(k->values[i], s) == 0)
                return true;
        return false;
    default:
        return false;
    }
}

/* Check s for the text-valued key k (string, enum, log level) and store it.
 * Returns 0, or -1 with the reason in err. */
static int key_take_text(struct config *cfg, const struct cfg_key *k, const char *s,
                         const char *who, char *err, size_t errlen)
{
    char got[CONFIG_SHOW_MAX + 16];
    size_t len = strlen(s);

    /* An enum's values all fit; a long wrong one is shown as it is. */
    if (k->type == CFG_STRING && len >= k->size) {
        snprintf(got, sizeof got, "a string of %zu bytes", len);
        goto bad;
    }
    if (!key_text_ok(k, s)) {
        config_show_quoted(got, sizeof got, s);
        goto bad;
    }
    if (k->type == CFG_LOGLEVEL)
        *(int *)key_field(cfg, k) = log_level_parse(s);
    else
        memcpy(key_field(cfg, k), s, len + 1);
    return 0;
bad:
    key_err_expected(k, who, got, err, errlen);
    return -1;
}

/* Store n, already within the bounds of the numeric key k. */
static void key_store_num(struct config *cfg, const struct cfg_key *k, int64_t n)
{
    if (k->type == CFG_INT)
        *(int *)key_field(cfg, k) = (int)n;
    else
        *(uint64_t *)key_field(cfg, k) = (uint64_t)n;
}

/* Take the key's value from text: how defaults and command-line values
 * arrive. Numbers must be strict decimals (parse_i64). */
static int key_set_text(struct config *cfg, const struct cfg_key *k, const char *text,
                        const char *who, char *err, size_t errlen)
{
    char got[CONFIG_SHOW_MAX + 16];
    int64_t n;

    if (k->type == CFG_BOOL) {
        bool yes = strcmp(text, "yes") == 0 || strcmp(text, "true") == 0;
        if (yes || strcmp(text, "no") == 0 || strcmp(text, "false") == 0) {
            *(bool *)key_field(cfg, k) = yes;
            return 0;
        }
        config_show_quoted(got, sizeof got, text);
        key_err_expected(k, who, got, err, errlen);
        return -1;
    }
    if (k->type != CFG_INT && k->type != CFG_U64)
        return key_take_text(cfg, k, text, who, err, errlen);
    if (parse_i64(text, strlen(text), &n) && key_num_ok(k, n)) {
        key_store_num(cfg, k, n);
        return 0;
    }
    config_show_quoted(got, sizeof got, text);
    key_err_expected(k, who, got, err, errlen);
    return -1;
}

/* Take the key's value from a JSON value of the file. */
static int key_set_json(struct config *cfg, const struct cfg_key *k, const cJSON *v,
                        const char *who, char *err, size_t errlen)
{
    char got[CONFIG_SHOW_MAX + 16];
    double d;

    if (k->type == CFG_BOOL) {
        if (cJSON_IsBool(v)) {
            *(bool *)key_field(cfg, k) = cJSON_IsTrue(v);
            return 0;
        }
    } else if (k->type == CFG_INT || k->type == CFG_U64) {
        if (cJSON_IsNumber(v)) {
            d = v->valuedouble;
            /* Bounds first, so that the cast below is defined; every bound
             * is far below 2^53, where doubles hold integers exactly. */
            if (d >= (double)k->min && d <= (double)k->max && (double)(int64_t)d == d) {
                key_store_num(cfg, k, (int64_t)d);
                return 0;
            }
        }
    } else if (cJSON_IsString(v)) {
        return key_take_text(cfg, k, v->valuestring, who, err, errlen);
    }
    config_show_json(got, sizeof got, v);
    key_err_expected(k, who, got, err, errlen);
    return -1;
}

/* The key's current value as text, as CONFIG GET shows it. */
static void key_render(const struct config *cfg, const struct cfg_key *k, char *out, size_t outlen)
{
    const void *f = key_cfield(cfg, k);

    switch (k->type) {
    case CFG_STRING:
    case CFG_ENUM:
        snprintf(out, outlen, "%.*s", (int)strnlen(f, k->size), (const char *)f);
        break;
    case CFG_INT:
        snprintf(out, outlen, "%d", *(const int *)f);
        break;
    case CFG_U64:
        snprintf(out, outlen, "%" PRIu64, *(const uint64_t *)f);
        break;
    case CFG_LOGLEVEL:
        snprintf(out, outlen, "%s", log_level_name(*(const int *)f));
        break;
    case CFG_BOOL:
        snprintf(out, outlen, "%s", *(const bool *)f ? "yes" : "no");
        break;
    }
}

/* Whether the key's stored value follows the key's own rule (values set
 * straight into the struct by the caller never went through a parser).
 * Returns 0, or -1 with "WHO: expected ..." in err. */
static int key_check_stored(const struct config *cfg, const struct cfg_key *k, const char *who,
                            char *err, size_t errlen)
{
    const void *f = key_cfield(cfg, k);
    char got[CONFIG_SHOW_MAX + 32];
    uint64_t u;
    int lvl;

    switch (k->type) {
    case CFG_INT:
        if (key_num_ok(k, *(const int *)f))
            return 0;
        snprintf(got, sizeof got, "%d", *(const int *)f);
        break;
    case CFG_U64:
        u = *(const uint64_t *)f;
        if (u <= INT64_MAX && key_num_ok(k, (int64_t)u))
            return 0;
        snprintf(got, sizeof got, "%" PRIu64, u);
        break;
    case CFG_LOGLEVEL:
        lvl = *(const int *)f;
        if (lvl >= LOG_LVL_DEBUG && lvl <= LOG_LVL_WARNING)
            return 0;
        snprintf(got, sizeof got, "%d", lvl);
        break;
    case CFG_STRING:
    case CFG_ENUM:
        if (strnlen(f, k->size) == k->size) {
            snprintf(got, sizeof got, "an unterminated string");
            break;
        }
        if (key_text_ok(k, f))
            return 0;
        config_show_quoted(got, sizeof got, f);
        break;
    case CFG_BOOL:
        return 0;
    }
    key_err_expected(k, who, got, err, errlen);
    return -1;
}

static bool key_equal(const struct config *a, const struct config *b, const struct cfg_key *k)
{
    if (key_is_text(k))
        return strncmp(key_cfield(a, k), key_cfield(b, k), k->size) == 0;
    return memcmp(key_cfield(a, k), key_cfield(b, k), k->size) == 0;
}

/* ---- loading ---------------------------------------------------------- */

/* The edit distance between a and b, ignoring case, with a swap of two
 * neighbours counting as one edit ("prot" is 1 from "port"). Both must be
 * shorter than CONFIG_PATH_MAX. */
static size_t config_distance(const char *a, const char *b)
{
    size_t d[3][CONFIG_PATH_MAX + 1]; /* rows i-2, i-1, i, by i % 3 */
    size_t la = strlen(a), lb = strlen(b), i, j, best;

    for (j = 0; j <= lb; j++)
        d[0][j] = j;
    for (i = 1; i <= la; i++) {
        size_t *cur = d[i % 3], *up = d[(i + 2) % 3], *up2 = d[(i + 1) % 3];

        cur[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);

            best = up[j - 1] + cost;
            if (up[j] + 1 < best)
                best = up[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) && up2[j - 2] + 1 < best)
                best = up2[j - 2] + 1;
            cur[j] = best;
        }
    }
    return d[la % 3][lb];
}

/* The one key or section the user probably meant by an unknown path: the
 * same name in another case; else the only key or section whose last part
 * is the member's name ("host" -> "store.mysql.host"); else the only one
 * nearest by edit distance, if it is near: at most 1 edit for a name of up
 * to 4 letters ("prot" -> "port"), 2 for a longer one ("log.levle" ->
 * "log.level"). NULL when unsure. */
static const char *config_hint(const char *path, const char *member)
{
    const char *found = NULL;
    const char *name, *last;
    size_t i, nkeys = ARRAY_SIZE(config_keys), total = nkeys + ARRAY_SIZE(config_sections);
    size_t dist, best = SIZE_MAX, plen = strlen(path);
    int matches = 0;

    for (i = 0; i < total; i++) {
        name = i < nkeys ? config_keys[i].name : config_sections[i - nkeys];
        if (strcasecmp(name, path) == 0)
            return name;
    }
    for (i = 0; i < total; i++) {
        name = i < nkeys ? config_keys[i].name : config_sections[i - nkeys];
        last = strrchr(name, '.');
        last = last != NULL ? last + 1 : name;
        if (strcasecmp(last, member) == 0) {
            found = name;
            matches++;
        }
    }
    if (matches == 1)
        return found;
    if (plen >= CONFIG_PATH_MAX)
        return NULL;
    found = NULL;
    matches = 0;
    for (i = 0; i < total; i++) {
        name = i < nkeys ? config_keys[i].name : config_sections[i - nkeys];
        dist = config_distance(path, name);
        if (dist < best) {
            best = dist;
            found = name;
            matches = 1;
        } else if (dist == best) {
            matches++;
        }
    }
    if (matches == 1 && best <= (plen <= 4 ? 1u : 2u))
        return found;
    return NULL;
}

/* "unknown key 'PATH'", with a hint when config_hint() has one. A dotted
 * member ("store.dir" written flat) is told to nest, since seqd's file has
 * one spelling per key: {"store": {"dir": ...}}. */
static void config_err_unknown(const char *file, const char *path, const char *member,
                               char *err, size_t errlen)
{
    char shown[CONFIG_SHOW_MAX + 4];
    char nested[CONFIG_PATH_MAX * 2];
    const char *hint = config_hint(path, member);
    const char *p, *dot;
    struct strout o;
    int depth = 0;

    config_show(shown, sizeof shown, path);
    if (hint == NULL) {
        snprintf(err, errlen, "%s: unknown key '%s'", file, shown);
        return;
    }
    if (strchr(member, '.') == NULL) {
        snprintf(err, errlen, "%s: unknown key '%s' (did you mean '%s'?)", file, shown, hint);
        return;
    }
    /* "store.mysql.host" -> {"store": {"mysql": {"host": ...}}} */
    strout_init(&o, nested, sizeof nested);
    for (p = hint; (dot = strchr(p, '.')) != NULL; p = dot + 1, depth++)
        strout_printf(&o, "{\"%.*s\": ", (int)(dot - p), p);
    strout_printf(&o, "{\"%s\": ...}", p);
    while (depth-- > 0)
        strout_printf(&o, "}");
    snprintf(err, errlen, "%s: unknown key '%s' (sections are nested objects: write %s)",
             file, shown, nested);
}

/* ---- users -------------------------------------------------------------- */

static const char *const config_roles[] = { "reader", "admin" };

static int config_fail(const struct config *cfg, const char *name, char *err, size_t errlen,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

bool config_user_name_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n < 1 || n > CONFIG_USER_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

const char *config_role_name(int role)
{
    return role >= 0 && (size_t)role < ARRAY_SIZE(config_roles) ? config_roles[role] : NULL;
}

const struct config_user *config_user_find(const struct config *cfg, const char *name, size_t len)
{
    for (int i = 0; i < cfg->nusers; i++)
        if (strlen(cfg->users[i].name) == len && memcmp(cfg->users[i].name, name, len) == 0)
            return &cfg->users[i];
    return NULL;
}

/* One member of a user object, at path "users[i].member". The hash is
 * never shown in a message, not even in part. */
static int config_user_member(struct config_user *u, const cJSON *m, const char *file, const char *path,
                              char *err, size_t errlen)
{
    char got[CONFIG_SHOW_MAX + 16];
    const char *member = m->string != NULL ? m->string : "";

    if (strcmp(member, "password_sha256") == 0) {
        const char *hex = cJSON_IsString(m) ? m->valuestring : NULL;
        size_t len = hex != NULL ? strlen(hex) : 0;
        for (size_t i = 0; hex != NULL && len == 2 * CONFIG_SHA256_LEN && i < CONFIG_SHA256_LEN; i++) {
            int hi = hex_digit_value(hex[2 * i]), lo = hex_digit_value(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                snprintf(err, errlen, "%s: key '%s': expected 64 hex digits, got a character that is not "
                         "one at position %zu", file, path, 2 * i + (hi < 0 ? 1 : 2));
                return -1;
            }
            u->password_sha256[i] = (unsigned char)(hi << 4 | lo);
        }
        if (hex == NULL || len != 2 * CONFIG_SHA256_LEN) {
            if (hex != NULL)
                snprintf(got, sizeof got, "a string of %zu characters", len);
            else
                snprintf(got, sizeof got, "a JSON %s", cJSON_IsNumber(m) ? "number" : "value that is not a string");
            snprintf(err, errlen, "%s: key '%s': expected 64 hex digits, the SHA-256 of the password "
                     "(printf %%s 'PASSWORD' | sha256sum), got %s", file, path, got);
            return -1;
        }
        return 0;
    }
    if (strcmp(member, "name") == 0 && cJSON_IsString(m) && strlen(m->valuestring) < sizeof u->name) {
        memcpy(u->name, m->valuestring, strlen(m->valuestring) + 1);
        return 0;
    }
    if (strcmp(member, "role") == 0 && cJSON_IsString(m)) {
        for (size_t r = 0; r < ARRAY_SIZE(config_roles); r++)
            if (strcmp(m->valuestring, config_roles[r]) == 0) {
                u->role = (int)r;
                return 0;
            }
    }
    if (strcmp(member, "name") == 0) {
        config_show_json(got, sizeof got, m);
        snprintf(err, errlen, "%s: key '%s': expected 1 to %d letters, digits, '_', '.' or '-', got %s",
                 file, path, CONFIG_USER_NAME_MAX, got);
    } else if (strcmp(member, "role") == 0) {
        config_show_json(got, sizeof got, m);
        snprintf(err, errlen, "%s: key '%s': expected one of \"reader\", \"admin\", got %s", file, path, got);
    } else {
        char shown[CONFIG_SHOW_MAX + 4];
        config_show(shown, sizeof shown, path);
        snprintf(err, errlen, "%s: unknown key '%s' (a user has \"name\", \"password_sha256\" and \"role\")",
                 file, shown);
    }
    return -1;
}

/* "users": an array of {name, password_sha256, role}; it replaces the
 * users already in cfg. The shape and each value are checked here; the
 * rules between entries (duplicates, "default") in config_check. */
static int config_load_users(struct config *cfg, const cJSON *v, const char *file, char *err, size_t errlen)
{
    char got[CONFIG_SHOW_MAX + 16], path[64];
    static const char *const required[] = { "name", "password_sha256", "role" };
    const cJSON *item;
    int i = 0;

    if (!cJSON_IsArray(v)) {
        config_show_json(got, sizeof got, v);
        snprintf(err, errlen, "%s: key 'users': expected an array of {\"name\", \"password_sha256\", \"role\"} "
                 "objects, got %s", file, got);
        return -1;
    }
    if (cJSON_GetArraySize(v) > CONFIG_USERS_MAX) {
        snprintf(err, errlen, "%s: key 'users': %d users, more than %d", file, cJSON_GetArraySize(v),
                 CONFIG_USERS_MAX);
        return -1;
    }
    memset(cfg->users, 0, sizeof cfg->users);
    cfg->nusers = 0;
    cJSON_ArrayForEach(item, v) {
        struct config_user *u = &cfg->users[i];
        if (!cJSON_IsObject(item)) {
            config_show_json(got, sizeof got, item);
            snprintf(err, errlen, "%s: key 'users[%d]': expected an object {\"name\", \"password_sha256\", "
                     "\"role\"}, got %s", file, i, got);
            return -1;
        }
        for (const cJSON *m = item->child; m != NULL; m = m->next) {
            snprintf(path, sizeof path, "users[%d].%.32s", i, m->string != NULL ? m->string : "");
            if (config_user_member(u, m, file, path, err, errlen) < 0)
                return -1;
        }
        for (size_t r = 0; r < ARRAY_SIZE(required); r++)
            if (!cJSON_HasObjectItem(item, required[r])) {
                snprintf(err, errlen, "%s: key 'users[%d]': \"%s\" is missing", file, i, required[r]);
                return -1;
            }
        cfg->nusers = ++i;
    }
    return 0;
}

/* The rules of users between entries and against the struct (values set
 * directly): names, roles, "default", duplicates. */
static int config_check_users(const struct config *cfg, char *err, size_t errlen)
{
    char key[64], shown[CONFIG_SHOW_MAX + 8];

    if (cfg->nusers < 0 || cfg->nusers > CONFIG_USERS_MAX)
        return config_fail(cfg, "users", err, errlen, "%d users, more than %d", cfg->nusers, CONFIG_USERS_MAX);
    for (int i = 0; i < cfg->nusers; i++) {
        const struct config_user *u = &cfg->users[i];
        snprintf(key, sizeof key, "users[%d].name", i);
        if (strnlen(u->name, sizeof u->name) == sizeof u->name || !config_user_name_ok(u->name)) {
            config_show_quoted(shown, sizeof shown, strnlen(u->name, sizeof u->name) < sizeof u->name ? u->name : "");
            return config_fail(cfg, key, err, errlen, "expected 1 to %d letters, digits, '_', '.' or '-', got %s",
                               CONFIG_USER_NAME_MAX, shown);
        }
        if (strcmp(u->name, "default") == 0)
            return config_fail(cfg, key, err, errlen, "\"default\" is the user of requirepass: set requirepass "
                               "for it, and give the others names of their own");
        for (int j = 0; j < i; j++)
            if (strcmp(cfg->users[j].name, u->name) == 0)
                return config_fail(cfg, key, err, errlen, "\"%s\" is users[%d]'s name too: each user once",
                                   u->name, j);
        if (config_role_name(u->role) == NULL) {
            snprintf(key, sizeof key, "users[%d].role", i);
            return config_fail(cfg, key, err, errlen, "expected one of \"reader\", \"admin\", got %d", u->role);
        }
    }
    return 0;
}

/* "user app added, user old removed, user app role reader->admin, user
 * app password changed", appended to o; the hashes are never shown. */
static void config_users_diff(const struct config *cur, const struct config *fresh, struct strout *o)
{
    for (int i = 0; i < cur->nusers; i++) {
        const struct config_user *u = &cur->users[i];
        const struct config_user *f = config_user_find(fresh, u->name, strlen(u->name));
        if (f == NULL) {
            strout_printf(o, "%suser %s removed", o->len > 0 ? ", " : "", u->name);
            continue;
        }
        if (f->role != u->role)
            strout_printf(o, "%suser %s role %s->%s", o->len > 0 ? ", " : "", u->name, config_role_name(u->role),
                          config_role_name(f->role));
        if (memcmp(f->password_sha256, u->password_sha256, CONFIG_SHA256_LEN) != 0)
            strout_printf(o, "%suser %s password changed", o->len > 0 ? ", " : "", u->name);
    }
    for (int i = 0; i < fresh->nusers; i++)
        if (config_user_find(cur, fresh->users[i].name, strlen(fresh->users[i].name)) == NULL)
            strout_printf(o, "%suser %s added", o->len > 0 ? ", " : "", fresh->users[i].name);
}

/* Apply every member of the object obj, found at path section ("" for the
 * top level), recursing into known sections. Members are taken in file
 * order, so a key given twice keeps its later value. */
static int config_load_object(struct config *cfg, const cJSON *obj, const char *section,
                              const char *file, char *err, size_t errlen)
{
    char path[CONFIG_PATH_MAX];
    char who[CONFIG_STR_MAX + CONFIG_PATH_MAX];
    char got[CONFIG_SHOW_MAX + 16];
    const struct cfg_key *k;
    const cJSON *m;
    const char *member;
    int n;

    for (m = obj->child; m != NULL; m = m->next) {
        member = m->string != NULL ? m->string : "";
        n = snprintf(path, sizeof path, "%s%s%s", section, section[0] != '\0' ? "." : "", member);
        /* A dotted member ("store.dir" at the top level) would otherwise
         * pass for a nested key; seqd's file has one spelling per key. */
        if (n < 0 || (size_t)n >= sizeof path || strchr(member, '.') != NULL) {
            config_err_unknown(file, path, member, err, errlen);
            return -1;
        }
        k = config_key_find(path);
        if (strcmp(path, "users") == 0) {
            if (config_load_users(cfg, m, file, err, errlen) < 0)
                return -1;
        } else if (k != NULL) {
            snprintf(who, sizeof who, "%s: key '%s'", file, k->name);
            if (key_set_json(cfg, k, m, who, err, errlen) < 0)
                return -1;
        } else if (config_section_known(path)) {
            if (!cJSON_IsObject(m)) {
                config_show_json(got, sizeof got, m);
                snprintf(err, errlen, "%s: key '%s': expected an object (a section of keys), got %s",
                         file, path, got);
                return -1;
            }
            if (config_load_object(cfg, m, path, file, err, errlen) < 0)
                return -1;
        } else {
            config_err_unknown(file, path, member, err, errlen);
            return -1;
        }
    }
    return 0;
}

static bool config_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* "FILE: line L: JSON syntax error near '...'" for an error found at pos. */
static void config_err_syntax(const char *file, const char *text, const char *pos,
                              char *err, size_t errlen)
{
    char near[32];
    char shown[sizeof near + 4];
    const char *p;
    unsigned line = 1;
    size_t n = 0;

    if (pos == NULL || pos < text || pos > text + strlen(text))
        pos = text;
    /* Where a key was due (after '{' or ','), cJSON points one past the
     * culprit: step back onto it, so "{port: 1}" is reported near 'port'
     * and a trailing comma near its '}' rather than at the end. */
    if (pos > text && !config_is_space(pos[-1])) {
        p = pos - 1;
        while (p > text && config_is_space(p[-1]))
            p--;
        if (p > text && (p[-1] == '{' || p[-1] == ','))
            pos--;
    }
    for (p = text; p < pos; p++)
        if (*p == '\n')
            line++;
    if (*pos == '\0') {
        snprintf(err, errlen, "%s: line %u: JSON syntax error: unexpected end of file", file, line);
        return;
    }
    while (pos[n] != '\0' && pos[n] != '\n' && pos[n] != '\r' && n + 1 < sizeof near) {
        near[n] = pos[n];
        n++;
    }
    near[n] = '\0';
    config_show(shown, sizeof shown, near);
    snprintf(err, errlen, "%s: line %u: JSON syntax error near '%s'", file, line, shown);
}

int config_load_string(struct config *cfg, const char *file, const char *text,
                       char *err, size_t errlen)
{
    char got[CONFIG_SHOW_MAX + 16];
    const char *end = NULL;
    cJSON *root = NULL;
    int rc = -1;

    if (file == NULL)
        file = "config";
    /* A UTF-8 byte order mark, as some editors write, is not JSON. */
    if (strncmp(text, "\xEF\xBB\xBF", 3) == 0)
        text += 3;
    if (text[strspn(text, " \t\r\n")] == '\0') {
        snprintf(err, errlen, "%s: the file is empty; expected a JSON object", file);
        goto out;
    }
    /* cJSON also records the error position in a global of its own; the
     * config is only loaded by the main thread. */
    root = cJSON_ParseWithOpts(text, &end, true);
    if (root == NULL) {
        config_err_syntax(file, text, end, err, errlen);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        config_show_json(got, sizeof got, root);
        snprintf(err, errlen, "%s: expected a JSON object ({ ... }) at the top level, got %s", file, got);
        goto out;
    }
    rc = config_load_object(cfg, root, "", file, err, errlen);
out:
    cJSON_Delete(root);
    return rc;
}

int config_load_file(struct config *cfg, const char *file, char *err, size_t errlen)
{
    FILE *fp = NULL;
    char *text = NULL;
    size_t len;
    int rc = -1;

    fp = fopen(file, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", file, strerror(errno));
        goto out;
    }
    text = xmalloc(CONFIG_FILE_MAX + 1);
    len = fread(text, 1, CONFIG_FILE_MAX + 1, fp);
    if (ferror(fp)) {
        snprintf(err, errlen, "%s: cannot read: %s", file, strerror(errno));
        goto out;
    }
    if (len > CONFIG_FILE_MAX) {
        snprintf(err, errlen, "%s: larger than %d bytes; not a seqd config", file, CONFIG_FILE_MAX);
        goto out;
    }
    if (memchr(text, '\0', len) != NULL) {
        snprintf(err, errlen, "%s: contains a NUL byte; not a JSON text", file);
        goto out;
    }
    text[len] = '\0';
    rc = config_load_string(cfg, file, text, err, errlen);
out:
    if (fp != NULL)
        fclose(fp);
    free(text);
    return rc;
}

/* ---- the rest of the interface ---------------------------------------- */

void config_defaults(struct config *cfg)
{
    char err[256];
    size_t i;

    memset(cfg, 0, sizeof *cfg);
    for (i = 0; i < ARRAY_SIZE(config_keys); i++)
        /* A default the key's own rule refuses is a bug in the table above;
         * check_config proves it cannot happen. */
        if (key_set_text(cfg, &config_keys[i], config_keys[i].def, "default", err, sizeof err) < 0)
            abort();
}

int config_set(struct config *cfg, const char *name, const char *value, char *err, size_t errlen)
{
    char shown[CONFIG_SHOW_MAX + 4];
    const struct cfg_key *k = config_key_find(name);

    if (k == NULL) {
        config_show(shown, sizeof shown, name);
        snprintf(err, errlen, "unknown key '%s'", shown);
        return -1;
    }
    return key_set_text(cfg, k, value, NULL, err, errlen);
}

/* Who a message about key name blames, as the user wrote it: the flag
 * that set it ("--dir"), else "FILE: key 'name'" (or "key 'name'" when no
 * file was read). */
static void config_who(const struct config *cfg, const char *name, char *out, size_t outlen)
{
    int i;

    for (i = 0; i < cfg->nflags; i++)
        if (strcmp(cfg->flags[i].key, name) == 0) {
            snprintf(out, outlen, "%s", cfg->flags[i].flag);
            return;
        }
    if (cfg->config_file[0] != '\0')
        snprintf(out, outlen, "%s: key '%s'", cfg->config_file, name);
    else
        snprintf(out, outlen, "key '%s'", name);
}

/* "WHO: REASON" into err, WHO from config_who(). Returns -1. */
static int __attribute__((format(printf, 5, 6)))
config_fail(const struct config *cfg, const char *name, char *err, size_t errlen, const char *fmt, ...)
{
    char who[CONFIG_STR_MAX + CONFIG_PATH_MAX];
    char reason[512];
    va_list ap;

    config_who(cfg, name, who, sizeof who);
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s: %s", who, reason);
    return -1;
}

int config_override(struct config *cfg, const char *flag, const char *name, const char *value,
                    char *err, size_t errlen)
{
    const struct cfg_key *k = config_key_find(name);
    int i;

    if (k == NULL) {
        snprintf(err, errlen, "%s: unknown key '%s'", flag, name);
        return -1;
    }
    if (key_set_text(cfg, k, value, flag, err, errlen) < 0)
        return -1;
    for (i = 0; i < cfg->nflags; i++)
        if (strcmp(cfg->flags[i].key, k->name) == 0)
            break;
    if (i == cfg->nflags) {
        if (cfg->nflags == CONFIG_FLAGS_MAX)
            return 0; /* messages then name the key instead of the flag */
        cfg->nflags++;
    }
    cfg->flags[i].key = k->name;
    cfg->flags[i].flag = flag;
    return 0;
}

/* The TLS port, the plain one and the HTTPS door, and the files they need. */
static int config_check_tls(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->port == 0 && cfg->tls_port == 0)
        return config_fail(cfg, "port", err, errlen, "0 turns the plain port off, and there is no tls.port: "
                           "clients would have no way in");
    if (cfg->tls_port != 0 && (cfg->tls_port == cfg->port || cfg->tls_port == cfg->http_port))
        return config_fail(cfg, "tls.port", err, errlen, "%d is the %s port too; give TLS a port of its own",
                           cfg->tls_port, cfg->tls_port == cfg->port ? "plain Redis protocol's" : "HTTP door's");
    if (cfg->http_tls && cfg->http_port == 0)
        return config_fail(cfg, "http.tls", err, errlen, "true, but there is no HTTP door: set http.port");
    if (!config_tls_on(cfg))
        return 0;
    if (cfg->tls_cert_file[0] == '\0' || cfg->tls_key_file[0] == '\0')
        return config_fail(cfg, cfg->tls_cert_file[0] == '\0' ? "tls.cert_file" : "tls.key_file", err, errlen,
                           "must be set when %s: tls.cert_file and tls.key_file name the server's certificate "
                           "and its key", cfg->tls_port != 0 ? "tls.port is set" : "http.tls is true");
    if (strcmp(cfg->tls_auth_clients, "no") != 0 && cfg->tls_ca_file[0] == '\0')
        return config_fail(cfg, "tls.ca_file", err, errlen, "must be set when tls.auth_clients is \"%s\" "
                           "(the default, as Redis): it names the CAs that sign client certificates; or set "
                           "tls.auth_clients to \"no\"", cfg->tls_auth_clients);
    return 0;
}

int config_check(const struct config *cfg, char *err, size_t errlen)
{
    char who[CONFIG_STR_MAX + CONFIG_PATH_MAX];
    size_t i;

    for (i = 0; i < ARRAY_SIZE(config_keys); i++) {
        config_who(cfg, config_keys[i].name, who, sizeof who);
        if (key_check_stored(cfg, &config_keys[i], who, err, errlen) < 0)
            return -1;
    }
    if (strcmp(cfg->store_type, "file") == 0 && cfg->store_dir[0] == '\0')
        return config_fail(cfg, "store.dir", err, errlen, "must not be empty when store.type is \"file\"");
    if (strcmp(cfg->store_type, "mysql") == 0) {
        if (cfg->mysql_host[0] == '\0' && cfg->mysql_socket[0] == '\0')
            return config_fail(cfg, "store.mysql.host", err, errlen, "store.mysql.host or store.mysql.socket "
                               "must be set when store.type is \"mysql\"");
        if (cfg->mysql_database[0] == '\0')
            return config_fail(cfg, "store.mysql.database", err, errlen,
                               "must not be empty when store.type is \"mysql\"");
    }
    if ((cfg->mysql_ssl_cert[0] == '\0') != (cfg->mysql_ssl_key[0] == '\0'))
        return config_fail(cfg, "store.mysql.ssl_cert", err, errlen,
                           "store.mysql.ssl_cert and store.mysql.ssl_key must be set together");
    if (cfg->segment_default > cfg->segment_max)
        return config_fail(cfg, "segment.default", err, errlen,
                           "%" PRIu64 " is larger than segment.max (%" PRIu64 ")",
                           cfg->segment_default, cfg->segment_max);
    if (cfg->id_offset >= cfg->id_step)
        return config_fail(cfg, "id_offset", err, errlen, "%" PRIu64 " must be smaller than id_step (%" PRIu64
                           "): each of id_step independent stores takes one offset, 0 to %" PRIu64,
                           cfg->id_offset, cfg->id_step, cfg->id_step - 1);
    /* Type 5 ids of independent groups differ by their worker ids: the
     * mysql store leases one of its group's; the others take worker_id,
     * or id_offset when it is -1 (config_worker_id). */
    if (strcmp(cfg->store_type, "mysql") != 0) {
        int64_t w = config_worker_id(cfg);
        if (w > 1023)
            return config_fail(cfg, "id_offset", err, errlen, "%" PRIu64 " is past 1023, the largest worker id "
                               "of type 5 ids: set worker_id", cfg->id_offset);
        if ((uint64_t)w % cfg->id_step != cfg->id_offset)
            return config_fail(cfg, "worker_id", err, errlen, "%d is not id_offset (%" PRIu64 ") modulo id_step (%"
                               PRIu64 "): type 5 ids of independent groups must differ by worker id; give this "
                               "node a worker_id w with w %% %" PRIu64 " = %" PRIu64 ", or -1 (id_offset)",
                               cfg->worker_id, cfg->id_offset, cfg->id_step, cfg->id_step, cfg->id_offset);
    }
    if (cfg->http_port != 0 && cfg->http_port == cfg->port)
        return config_fail(cfg, "http.port", err, errlen, "%d is the Redis protocol's port too; "
                           "give the HTTP door a port of its own", cfg->http_port);
    if (config_check_tls(cfg, err, errlen) != 0)
        return -1;
    return config_check_users(cfg, err, errlen);
}

/* A relative directory of key becomes absolute (the current directory
 * first), in place. */
static int config_resolve_dir(struct config *cfg, const char *key, char *dir, size_t size, char *err,
                              size_t errlen)
{
    char cwd[PATH_MAX], shown[CONFIG_SHOW_MAX + 8];
    size_t cwdlen, dirlen;

    if (dir[0] == '\0' || dir[0] == '/')
        return 0;
    config_show_quoted(shown, sizeof(shown), dir);
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return config_fail(cfg, key, err, errlen, "%s is relative and the current directory "
                           "is unknown (%s)", shown, strerror(errno));
    cwdlen = strlen(cwd);
    dirlen = strlen(dir);
    if (cwdlen + 1 + dirlen >= size)
        return config_fail(cfg, key, err, errlen, "%s made absolute is %zu bytes, more than %zu",
                           shown, cwdlen + 1 + dirlen, size - 1);
    /* "dir" becomes "cwd/dir" in place. */
    memmove(dir + cwdlen + 1, dir, dirlen + 1);
    memcpy(dir, cwd, cwdlen);
    dir[cwdlen] = '/';
    return 0;
}

int config_resolve_paths(struct config *cfg, char *err, size_t errlen)
{
    if (config_resolve_dir(cfg, "store.dir", cfg->store_dir, sizeof(cfg->store_dir), err, errlen) != 0)
        return -1;
    return config_resolve_dir(cfg, "store.mysql.state_dir", cfg->mysql_state_dir, sizeof(cfg->mysql_state_dir),
                              err, errlen);
}

uint64_t config_failover_gap(const struct config *cfg)
{
    if (cfg->mysql_failover_gap > 0)
        return cfg->mysql_failover_gap;
    return cfg->segment_max * 10;
}

int64_t config_worker_id(const struct config *cfg)
{
    return cfg->worker_id >= 0 ? cfg->worker_id : (int64_t)cfg->id_offset;
}

int config_store_threads(const struct config *cfg)
{
    return strcmp(cfg->store_type, "mysql") == 0 ? cfg->mysql_threads : cfg->store_threads;
}

void config_apply_reload(struct config *cur, const struct config *fresh, char *changed, size_t changedlen)
{
    char before[CONFIG_STR_MAX + 32], after[CONFIG_STR_MAX + 32];
    struct strout o;
    const struct cfg_key *k;
    size_t i;

    strout_init(&o, changed, changedlen);
    for (i = 0; i < ARRAY_SIZE(config_keys); i++) {
        k = &config_keys[i];
        if (!(k->flags & CFG_RELOAD) || key_equal(cur, fresh, k))
            continue;
        if (k->flags & CFG_SECRET) {
            strout_printf(&o, "%s%s changed", o.len > 0 ? ", " : "", k->name);
        } else {
            key_render(cur, k, before, sizeof before);
            key_render(fresh, k, after, sizeof after);
            strout_printf(&o, "%s%s %s->%s", o.len > 0 ? ", " : "", k->name, before, after);
        }
        memcpy(key_field(cur, k), key_cfield(fresh, k), k->size);
    }
    config_users_diff(cur, fresh, &o);
    memcpy(cur->users, fresh->users, sizeof cur->users);
    cur->nusers = fresh->nusers;
}

void config_keep_reloadable(struct config *fresh, const struct config *cur, const char *prefix)
{
    for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
        const struct cfg_key *k = &config_keys[i];
        if ((k->flags & CFG_RELOAD) && strncmp(k->name, prefix, strlen(prefix)) == 0)
            memcpy(key_field(fresh, k), key_cfield(cur, k), k->size);
    }
}

int config_restart_needed(const struct config *cur, const struct config *fresh, char *out, size_t outlen)
{
    struct strout o;
    size_t i;
    int count = 0;

    strout_init(&o, out, outlen);
    for (i = 0; i < ARRAY_SIZE(config_keys); i++) {
        if ((config_keys[i].flags & CFG_RELOAD) || key_equal(cur, fresh, &config_keys[i]))
            continue;
        strout_printf(&o, "%s%s", count > 0 ? ", " : "", config_keys[i].name);
        count++;
    }
    return count;
}

void config_get(const struct config *cfg, const char *pattern,
                void (*emit)(const char *name, const char *value, void *arg), void *arg)
{
    char value[CONFIG_STR_MAX + 32];
    size_t i;

    for (i = 0; i < ARRAY_SIZE(config_keys); i++) {
        if (fnmatch(pattern, config_keys[i].name, FNM_CASEFOLD) != 0)
            continue;
        key_render(cfg, &config_keys[i], value, sizeof value);
        if ((config_keys[i].flags & CFG_MASKED) && value[0])
            strlcpy_safe(value, "********", sizeof value);
        emit(config_keys[i].name, value, arg);
    }
    for (i = 0; i < ARRAY_SIZE(config_redis_names); i++)
        if (fnmatch(pattern, config_redis_names[i].name, FNM_CASEFOLD) == 0)
            emit(config_redis_names[i].name, config_redis_names[i].value, arg);
    for (i = 0; i < ARRAY_SIZE(config_redis_aliases); i++) {
        if (fnmatch(pattern, config_redis_aliases[i].name, FNM_CASEFOLD) != 0)
            continue;
        key_render(cfg, config_key_find(config_redis_aliases[i].key), value, sizeof value);
        emit(config_redis_aliases[i].name, value, arg);
    }
}
