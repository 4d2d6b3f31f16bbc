/*
 * config: seqd's settings, from one JSON file plus command-line overrides.
 *
 * Every key lives in one table in config.c (name, type, bounds, default,
 * reloadable). Loading is pure: config_load_string() parses and validates
 * text into a struct config and reports "FILE: key 'k': reason" on the first
 * error, so tests drive it without touching a disk.
 */
#ifndef SEQD_CONFIG_H
#define SEQD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_FILE "/etc/seqd/seqd.json"
#define CONFIG_STR_MAX 256
#define CONFIG_TABLE_NAME_MAX 64        /* MySQL's limit on an identifier */
#define CONFIG_FLAGS_MAX 8              /* keys that command-line flags may set */
#define CONFIG_ID_STEP_MAX 1000000      /* id_step: independent stores at most */
#define CONFIG_USERS_MAX 64             /* "users": entries at most */
#define CONFIG_USER_NAME_MAX 32         /* a user name: 1..32 of [A-Za-z0-9_.-] */
#define CONFIG_SHA256_LEN 32

/* What a user may do (Redis 6 ACLs, reduced to two roles): a reader takes
 * numbers and reads, an admin does everything. The default user
 * (requirepass) is an admin. */
enum config_role { CONFIG_ROLE_READER, CONFIG_ROLE_ADMIN };

/* One entry of "users". The password is kept only as its SHA-256. */
struct config_user {
    char name[CONFIG_USER_NAME_MAX + 1];
    unsigned char password_sha256[CONFIG_SHA256_LEN];
    int role;                           /* enum config_role */
};

struct config {
    char bind[CONFIG_STR_MAX];          /* "bind": listen address, default 127.0.0.1 */
    int port;                           /* "port": 0..65535, default 6380; 0 = TLS port only */
    int workers;                        /* "workers": 0 = one per core (max 64) */
    int maxclients;                     /* "maxclients": 1..1000000, default 10000 */
    int timeout;                        /* "timeout": idle client timeout in s, 0 = off (reloadable) */
    int tcp_keepalive;                  /* "tcp_keepalive": SO_KEEPALIVE idle s, 0 = off (reloadable) */
    int output_limit_bytes;             /* "output_limit_bytes": unsent replies that stop reading (reloadable) */
    int output_limit_seconds;           /* "output_limit_seconds": a client not reading them is closed after (reloadable) */
    char requirepass[CONFIG_STR_MAX];   /* "requirepass": "" = no AUTH needed (reloadable) */
    int worker_id;                      /* "worker_id": type 5's worker id on the file/memory store, 0..1023; -1 = id_offset */
    uint64_t id_step;                   /* "id_step": counters become counter * id_step + id_offset, default 1 */
    uint64_t id_offset;                 /* "id_offset": 0 .. id_step-1, default 0 */
    int tls_port;                       /* "tls.port": 0 (default) = no TLS port */
    char tls_cert_file[CONFIG_STR_MAX]; /* "tls.cert_file": the server's certificate chain, PEM (reloadable) */
    char tls_key_file[CONFIG_STR_MAX];  /* "tls.key_file": its private key, PEM (reloadable) */
    char tls_ca_file[CONFIG_STR_MAX];   /* "tls.ca_file": CAs that sign client certificates (reloadable) */
    char tls_auth_clients[16];          /* "tls.auth_clients": no | optional | yes (default, as Redis) (reloadable) */
    char tls_protocols[64];             /* "tls.protocols": "TLSv1.2 TLSv1.3" (reloadable) */
    char http_bind[CONFIG_STR_MAX];     /* "http.bind": the HTTP door's address */
    int http_port;                      /* "http.port": 0 (default) = no HTTP door */
    bool http_metrics_auth;             /* "http.metrics_auth": /metrics needs credentials too */
    bool http_tls;                      /* "http.tls": the HTTP door speaks HTTPS, with the tls.* keys */
    char udp_bind[CONFIG_STR_MAX];      /* "udp.bind": the UDP JSON door's address */
    int udp_port;                       /* "udp.port": 0 (default) = no UDP door */
    int log_level;                      /* "log.level": enum log_level (reloadable) */
    char log_file[CONFIG_STR_MAX];      /* "log.file": "" = stderr, or syslog when daemonized */
    char store_type[16];                /* "store.type": file | memory | mysql */
    char store_dir[CONFIG_STR_MAX];     /* "store.dir": data dir of the file store */
    int store_threads;                  /* "store.threads": store thread pool size for file/memory (1..64) */
    int store_delay_ms;                 /* "store.test_delay_ms": test-only delay before each claim, 0 = off */
    char mysql_host[CONFIG_STR_MAX];    /* "store.mysql.host" */
    int mysql_port;                     /* "store.mysql.port" */
    char mysql_socket[CONFIG_STR_MAX];  /* "store.mysql.socket" */
    char mysql_user[CONFIG_STR_MAX];    /* "store.mysql.user" */
    char mysql_password[CONFIG_STR_MAX];/* "store.mysql.password" */
    char mysql_database[CONFIG_STR_MAX];/* "store.mysql.database" */
    char mysql_table[CONFIG_STR_MAX];   /* "store.mysql.table": [A-Za-z0-9_]{1,64} */
    int mysql_threads;                  /* "store.mysql.threads": DB thread pool size */
    int mysql_connect_timeout_s;        /* "store.mysql.connect_timeout_s" */
    int mysql_rw_timeout_s;             /* "store.mysql.rw_timeout_s": read/write timeout */
    int mysql_rescan_s;                 /* "store.mysql.rescan_s": table rescan interval (reloadable) */
    int mysql_worker_lease_ms;          /* "store.mysql.worker_lease_ms": type 5's worker lease length */
    char mysql_ssl_mode[16];            /* "store.mysql.ssl_mode": "", disabled, preferred, required, verify_ca, verify_identity */
    char mysql_ssl_ca[CONFIG_STR_MAX];  /* "store.mysql.ssl_ca" */
    char mysql_ssl_cert[CONFIG_STR_MAX];/* "store.mysql.ssl_cert" */
    char mysql_ssl_key[CONFIG_STR_MAX]; /* "store.mysql.ssl_key" */
    char mysql_state_dir[CONFIG_STR_MAX];/* "store.mysql.state_dir": this node's own marks; "" = store.dir/mysql-state */
    char mysql_failover[16];            /* "store.mysql.failover": fence (default) | manual */
    uint64_t mysql_failover_gap;        /* "store.mysql.failover_gap": 0 (default) = 10 x segment.max */
    uint64_t segment_max;               /* "segment.max": upper bound of a claim, default 1000000 */
    int segment_duration_s;             /* "segment.duration_s": aim of a segment's life, default 900 */
    int segment_wait_ms;                /* "segment.wait_ms": how long a command may wait for the store, default 1000 */
    uint64_t segment_default;           /* "segment.default": segment size of a new sequence without 'segment', default 1000 */
    struct config_user users[CONFIG_USERS_MAX]; /* "users": named users besides default (reloadable) */
    int nusers;
    /* From the command line only. */
    bool daemonize;                     /* -d */
    char pidfile[CONFIG_STR_MAX];       /* --pidfile */
    char config_file[CONFIG_STR_MAX];   /* -c, or CONFIG_DEFAULT_FILE when read; "" when none was */
    /* Keys a command-line flag set, so that a message names what the user
     * typed ("--dir: ..."), not a key of the file. Filled by config_override(). */
    struct {
        const char *key;                /* a name of the key table */
        const char *flag;               /* "--dir": must outlive cfg (argv, a literal) */
    } flags[CONFIG_FLAGS_MAX];
    int nflags;
};

/* The one table-name rule: 1..CONFIG_TABLE_NAME_MAX bytes of [A-Za-z0-9_]; false for NULL. */
bool config_table_name_ok(const char *s);

/* The bind rule: an IPv4 or IPv6 address literal (inet_pton), which is what
 * the listener binds without a name lookup. */
bool config_bind_ok(const char *s);

/* The user-name rule: 1..CONFIG_USER_NAME_MAX bytes of [A-Za-z0-9_.-]. */
bool config_user_name_ok(const char *s);

/* tls.protocols: one or more of "TLSv1.2" and "TLSv1.3" (any case),
 * separated by spaces. Returns the versions named, as CONFIG_TLS_V12 |
 * CONFIG_TLS_V13 bits; 0 when s is not such a list. */
#define CONFIG_TLS_V12 0x1
#define CONFIG_TLS_V13 0x2
int config_tls_protocols(const char *s);

/* Whether a TLS certificate is needed: a TLS port or an HTTPS door. */
bool config_tls_on(const struct config *cfg);

/* "reader" or "admin" (enum config_role); NULL for another value. */
const char *config_role_name(int role);

/* The user called name, or NULL. */
const struct config_user *config_user_find(const struct config *cfg, const char *name, size_t len);

/* Fill cfg with every default (the command-line-only fields are zeroed). */
void config_defaults(struct config *cfg);

/* Parse JSON text (named `file` in messages) over the values already in cfg.
 * Returns 0, or -1 with "FILE: key 'k': reason" (or "FILE: line L: JSON
 * syntax error near '...'") in err. Unknown keys and values of the wrong
 * type or out of range are errors; cfg may then be partly updated, so load
 * into a scratch copy when the old values must survive (SIGHUP). A key
 * given twice takes its later value. */
int config_load_string(struct config *cfg, const char *file, const char *text,
                       char *err, size_t errlen);

/* Read the file and config_load_string() it. */
int config_load_file(struct config *cfg, const char *file, char *err, size_t errlen);

/* Set one key from text, with the same rules as the file (for command-line
 * overrides: config_set(cfg, "port", optarg, ...)). Returns 0, or -1 with
 * "key 'port': expected an integer from 1 to 65535, got \"abc\"" in err. */
int config_set(struct config *cfg, const char *name, const char *value,
               char *err, size_t errlen);

/* A command-line override: config_set(), but a bad value is reported as the
 * flag's ("--store: expected one of ..., got \"redis\""), and so are later
 * config_check() errors about that key. flag must outlive cfg. */
int config_override(struct config *cfg, const char *flag, const char *name, const char *value,
                    char *err, size_t errlen);

/* Every key's own rule again (so values set directly in the struct are
 * checked too), then the cross-key checks (store.dir set for the file store,
 * segment.default <= segment.max, ...). Call after the overrides.
 * Returns 0 or -1 with "WHO: reason" in err, WHO being the flag that set
 * the key ("--dir"), else "FILE: key 'k'" (cfg->config_file), else "key 'k'". */
int config_check(const struct config *cfg, char *err, size_t errlen);

/* Make a relative store.dir absolute against the current directory, so
 * that it names the directory seqd was started in whatever happens later
 * (daemonizing, messages, a reload's compare with the running value).
 * Call after config_check(). Returns 0, or -1 with the reason in err (the
 * current directory is unknown, or the result does not fit). */
int config_resolve_paths(struct config *cfg, char *err, size_t errlen);

/* Type 5's worker id on the file and memory stores: worker_id, or
 * id_offset when worker_id is -1 (the default). */
/* store.mysql.failover_gap, or its default: 10 x segment.max. */
uint64_t config_failover_gap(const struct config *cfg);
int64_t config_worker_id(const struct config *cfg);

/* How many store threads (each with its own session) to run:
 * store.mysql.threads for the mysql store, store.threads for the others. */
int config_store_threads(const struct config *cfg);

/* Apply a new config's reloadable values to cur (SIGHUP). fresh must have
 * passed config_check(). Writes a summary of what changed into changed, e.g.
 * "log.level notice->debug, requirepass changed, user app added" (secrets are never shown;
 * "" when nothing changed). The caller makes sure no other thread reads the
 * string fields of cur while they are copied. */
void config_apply_reload(struct config *cur, const struct config *fresh,
                         char *changed, size_t changedlen);

/* Copy into fresh the reloadable keys whose names start with prefix
 * ("tls.") from cur: a reload that cannot take them (a TLS certificate
 * that does not load) leaves them as they are in force. */
void config_keep_reloadable(struct config *fresh, const struct config *cur, const char *prefix);

/* The keys that differ between cur and fresh but only take effect after a
 * restart, as "port, store.dir" in out ("" if none). Returns their count.
 * Re-apply the command-line overrides to fresh first, or they count too. */
int config_restart_needed(const struct config *cur, const struct config *fresh,
                          char *out, size_t outlen);

/* CONFIG GET: call emit(name, value) for each key matching the glob
 * (fnmatch: * ? [...], case-insensitive), in table order, then Redis' own
 * "save" ("") and "appendonly" ("no") that redis-benchmark asks for, then
 * Redis' names for seqd keys ("loglevel": log.level's value). */
void config_get(const struct config *cfg, const char *pattern,
                void (*emit)(const char *name, const char *value, void *arg), void *arg);

#endif
