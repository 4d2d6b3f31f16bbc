/*
 * main: start-up, signals and shutdown of the seqd server.
 *
 * main() reads the options (parse_args) and the configuration, then
 * server_start() goes: daemon and log, the TLS certificate, store, store
 * threads and the definitions in it, workers, listener. Shutdown (SIGTERM/SIGINT) is
 * server_stop(), which walks back: stop accepting, let workers answer what
 * they have, stop the store threads once their claims are in, give back
 * unused ranges, exit 0.
 */
#include "acl.h"
#include "cmd.h"
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core.h"
#include "heap_trim.h"
#include "http.h"
#include "listener.h"
#include "log.h"
#include "server.h"
#include "tls.h"
#include "udp.h"
#include "util.h"
#include "worker.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

/* Command-line values that override the file; NULL when not given. */
struct overrides {
    const char *port;
    const char *bind;
    const char *store;
    const char *dir;
    const char *pidfile;
    bool daemonize;
};

static struct event_base *main_base;
static struct overrides cli = { NULL, NULL, NULL, NULL, NULL, false };

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: seqd [options]\n"
            "  -c, --config FILE   configuration file (default " CONFIG_DEFAULT_FILE ")\n"
            "      --port N        listen on port N (overrides \"port\")\n"
            "      --bind ADDR     listen on address ADDR (overrides \"bind\")\n"
            "      --store TYPE    file, memory or mysql (overrides \"store.type\")\n"
            "      --dir PATH      data directory of the file store (overrides \"store.dir\")\n"
            "  -d, --daemonize     run in the background (logs go to syslog unless log.file is set)\n"
            "      --pidfile FILE  write the process id to FILE\n"
            "  -t, --test-config   check the configuration and exit 0 (good) or 1 (bad)\n"
            "  -h, --help          show this help\n"
            "  -v, --version       show the version\n");
}

/* Each flag through config_override(), so that a bad value, and any later
 * check of that key, is reported as the flag's ("--store: ..."). */
static int apply_overrides(struct config *cfg, char *err, size_t errlen)
{
    const struct {
        const char *flag, *key, *value;
    } flags[] = {
        { "--port", "port", cli.port },
        { "--bind", "bind", cli.bind },
        { "--store", "store.type", cli.store },
        { "--dir", "store.dir", cli.dir },
    };

    for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
        if (flags[i].value != NULL &&
            config_override(cfg, flags[i].flag, flags[i].key, flags[i].value, err, errlen) != 0)
            return -1;
    if (cli.pidfile)
        strlcpy_safe(cfg->pidfile, cli.pidfile, sizeof(cfg->pidfile));
    cfg->daemonize = cli.daemonize;
    return config_check(cfg, err, errlen);
}

/* Read the configuration: the file (when there is one), then the flags.
 * Returns 0, or -1 with "FILE: key 'k': reason" or "--flag: reason" in err. */
static int load_config(struct config *cfg, const char *file, bool file_given, char *err, size_t errlen)
{
    config_defaults(cfg);
    if (file_given || access(file, F_OK) == 0) {
        if (config_load_file(cfg, file, err, errlen) != 0)
            return -1;
        strlcpy_safe(cfg->config_file, file, sizeof(cfg->config_file));
    }
    if (apply_overrides(cfg, err, errlen) != 0 || config_resolve_paths(cfg, err, errlen) != 0)
        return -1;
    return 0;
}

static void make_run_id(char *out)
{
    unsigned char raw[20];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        memset(raw, 0, sizeof(raw));
    for (size_t i = 0; i < sizeof(raw); i++)
        sprintf(out + 2 * i, "%02x", raw[i]);
}

/* Detach from the terminal. The parent waits on a pipe until the child
 * says it is serving (or failed), so `seqd -d` exits 1 when start-up fails.
 * The child keeps the parent's stderr until it is ready, so that a failed
 * start says why where it was started (log_startup_done()). */
static int daemon_ready_fd = -1;

static void daemonize(void)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("seqd: pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("seqd: fork");
        exit(1);
    }
    if (pid > 0) {
        char ok = 0;
        close(fds[1]);
        ssize_t n = read(fds[0], &ok, 1);
        _exit(n == 1 && ok == 1 ? 0 : 1);
    }
    close(fds[0]);
    daemon_ready_fd = fds[1];
    setsid();
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        if (null > STDERR_FILENO)
            close(null);
    }
}

/* Tell the waiting parent that the daemon serves. stderr goes to /dev/null
 * first, so that the parent's stderr is closed by the time it exits. */
static void daemon_ready(void)
{
    if (daemon_ready_fd >= 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, STDERR_FILENO);
            if (null != STDERR_FILENO)
                close(null);
        }
        char ok = 1;
        ssize_t n = write(daemon_ready_fd, &ok, 1);
        (void)n;
        close(daemon_ready_fd);
        daemon_ready_fd = -1;
    }
}

static int write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "%ld\n", (long)getpid());
    return fclose(f);
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    log_notice("received %s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    event_base_loopbreak(main_base);
}

static void on_reload_signal(evutil_socket_t sig, short what, void *arg)
{
    struct config fresh;
    char err[512], changed[512];
    const char *file = server.cfg.config_file[0] ? server.cfg.config_file : NULL;

    if (!file) {
        log_warn("SIGHUP: started without a config file; nothing to reload");
        return;
    }
    if (load_config(&fresh, file, true, err, sizeof(err)) != 0) {
        log_warn("SIGHUP: reload failed, keeping the old values: %s", err);
        return;
    }
    /* The certificate files are read again even when their names did not
     * change: that is how a renewed certificate comes into force. */
    if (config_tls_on(&server.cfg)) {
        char desc[512];
        if (tls_reload(&fresh, err, sizeof(err)) != 0) {
            log_warn("SIGHUP: TLS: %s; keeping the certificate and settings in force", err);
            config_keep_reloadable(&fresh, &server.cfg, "tls.");
        } else {
            tls_describe(desc, sizeof(desc));
            log_notice("SIGHUP: TLS certificate loaded: %s", desc);
        }
    }
    char later[512];
    if (config_restart_needed(&server.cfg, &fresh, later, sizeof(later)) > 0)
        log_warn("SIGHUP: these keys changed but take effect only after a restart: %s", later);
    pthread_mutex_lock(&server.reload_lock);
    config_apply_reload(&server.cfg, &fresh, changed, sizeof(changed));
    pthread_mutex_unlock(&server.reload_lock);
    acl_users_reloaded();
    workers_apply_reload();
    log_set_level(server.cfg.log_level);
    core_set_rescan_interval(server.cfg.mysql_rescan_s);
    log_notice("SIGHUP: configuration reloaded%s%s", changed[0] ? ": " : " (nothing changed)", changed);
}

static int workers_wanted(const struct config *cfg)
{
    if (cfg->workers > 0)
        return cfg->workers;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > WORKERS_MAX ? WORKERS_MAX : (int)n;
}

/* What the command line asked for, besides the overrides in cli. */
struct args {
    const char *config_file;
    bool file_given;                /* -c: the file must exist */
    bool test_only;                 /* -t */
};

enum args_result { ARGS_RUN, ARGS_EXIT_OK, ARGS_EXIT_FAIL };

/* Reads the options into *a and cli. ARGS_EXIT_OK after --help and
 * --version, ARGS_EXIT_FAIL (with a message on stderr) for a bad one. */
static enum args_result parse_args(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "port", required_argument, NULL, 'P' },
        { "bind", required_argument, NULL, 'B' },
        { "store", required_argument, NULL, 'S' },
        { "dir", required_argument, NULL, 'D' },
        { "pidfile", required_argument, NULL, 'p' },
        { "daemonize", no_argument, NULL, 'd' },
        { "test-config", no_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'v' },
        { NULL, 0, NULL, 0 },
    };
    int opt;

    *a = (struct args){ .config_file = CONFIG_DEFAULT_FILE };
    while ((opt = getopt_long(argc, argv, "c:dthv", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': a->config_file = optarg; a->file_given = true; break;
        case 'P': cli.port = optarg; break;
        case 'B': cli.bind = optarg; break;
        case 'S': cli.store = optarg; break;
        case 'D': cli.dir = optarg; break;
        case 'p': cli.pidfile = optarg; break;
        case 'd': cli.daemonize = true; break;
        case 't': a->test_only = true; break;
        case 'h': usage(stdout); return ARGS_EXIT_OK;
        case 'v': printf("seqd %s\n", PACKAGE_VERSION); return ARGS_EXIT_OK;
        default: usage(stderr); return ARGS_EXIT_FAIL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "seqd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return ARGS_EXIT_FAIL;
    }
    return ARGS_RUN;
}

/* Descriptors that are not clients: store threads and their database
 * sessions, the doors, the log, eventfds (Redis keeps 32; seqd has more
 * threads). */
#define FDS_RESERVED 128

/* Raise the soft limit of open files so that maxclients clients fit, as
 * far as the hard limit allows (Redis' adjustOpenFilesLimit). When it does
 * not, say so: clients beyond it are refused by accept(), not answered. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)server.cfg.maxclients + FDS_RESERVED;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
        log_warn("maxclients %d needs %llu open files, the limit is %llu: raise it (ulimit -n, "
                 "LimitNOFILE) or lower maxclients", server.cfg.maxclients, (unsigned long long)want,
                 (unsigned long long)(getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 0));
}

/* Detach (-d), open the log, ignore SIGPIPE. */
static int process_start(void)
{
    if (server.cfg.daemonize)
        daemonize();
    log_set_level(server.cfg.log_level);
    if (log_open(server.cfg.log_file, server.cfg.daemonize && !server.cfg.log_file[0]) != 0) {
        fprintf(stderr, "seqd: log.file %s: %s\n", server.cfg.log_file, strerror(errno));
        return -1;
    }
    log_hook_libevent();
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    if (server.cfg.config_file[0])
        log_notice("configuration: %s", server.cfg.config_file);
    else
        log_notice("configuration: built-in defaults (no " CONFIG_DEFAULT_FILE ")");
    /* As Redis: without a password the default user needs no AUTH, and it
     * is an admin, so readers would restrict nothing. */
    if (server.cfg.nusers > 0 && !server.cfg.requirepass[0])
        log_warn("users are set but requirepass is empty: a client that does not AUTH is the default "
                 "user, an admin; set requirepass to make the roles matter");
    return 0;
}

/* Load the TLS certificate (when a TLS port or the HTTPS door wants it)
 * before anything slow: a bad file stops start-up at once. */
static int tls_start(void)
{
    char err[1024], desc[512];

    if (tls_open(&server.cfg, err, sizeof(err)) != 0) {
        log_warn("TLS: %s", err);
        return -1;
    }
    if (config_tls_on(&server.cfg)) {
        tls_describe(desc, sizeof(desc));
        log_notice("TLS certificate: %s", desc);
    }
    return 0;
}

/* Open the store, start its threads and the sequence registry, and read
 * every definition (this may block on the store: no client is served
 * yet). *ndefs gets their count. */
static int store_start(size_t *ndefs)
{
    char err[1024];

    if (core_open(&server.cfg, ndefs, err, sizeof(err)) != 0) {
        log_warn("cannot open the %s store: %s", server.cfg.store_type, err);
        return -1;
    }
    return 0;
}

static struct event *signal_events[3];

/* Workers, the pidfile, signals, discovery, the heap trim, and last the listener, on main_base. */
static int serve_start(void)
{
    static const int signals[] = { SIGTERM, SIGINT, SIGHUP };
    char err[1024];

    server.nworkers = workers_wanted(&server.cfg);
    cmd_stats_register();
    workers_start(server.nworkers);

    main_base = event_base_new();
    /* The port opens last: a client (or a test, or an init script) that
     * can connect finds the pidfile written and SIGTERM handled. */
    if (server.cfg.pidfile[0] && write_pidfile(server.cfg.pidfile) != 0) {
        log_warn("cannot write pidfile %s: %s", server.cfg.pidfile, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < ARRAY_SIZE(signals); i++) {
        signal_events[i] = evsignal_new(main_base, signals[i],
                                        signals[i] == SIGHUP ? on_reload_signal : on_stop_signal, NULL);
        event_add(signal_events[i], NULL);
    }
    core_start_rescans(main_base);
    core_start_leases(main_base);
    heap_trim_start(main_base);
    /* The doors open before the Redis protocol's ports, the TLS port
     * before the plain one: the last port to open (the plain one, unless
     * it is off) tells a client (or a test) that every door is ready. */
    if (http_open(&server.cfg, err, sizeof(err)) != 0 || udp_open(&server.cfg, err, sizeof(err)) != 0 ||
        (server.cfg.tls_port != 0 &&
         listener_open(main_base, server.cfg.bind, server.cfg.tls_port, true, err, sizeof(err)) != 0) ||
        (server.cfg.port != 0 &&
         listener_open(main_base, server.cfg.bind, server.cfg.port, false, err, sizeof(err)) != 0)) {
        log_warn("%s", err);
        if (server.cfg.pidfile[0])
            unlink(server.cfg.pidfile);
        return -1;
    }
    return 0;
}

/* Everything up to serving, in the order of the comment at the top.
 * Returns 0 once seqd is ready (a daemon's parent then exits 0), or -1
 * after logging why (a failure leaves the rest to the process exit). */
static int server_start(void)
{
    size_t ndefs = 0;

    if (process_start() != 0 || tls_start() != 0)
        return -1;
    server.started_ms = mono_ms();
    make_run_id(server.run_id);
    if (store_start(&ndefs) != 0 || serve_start() != 0)
        return -1;
    char defs[64];
    if (core_store_shared())
        snprintf(defs, sizeof(defs), "sequences loading in the background");
    else
        snprintf(defs, sizeof(defs), "%zu sequences", ndefs);
    char ports[64] = "", tls_port[32] = "";
    if (server.cfg.port != 0)
        snprintf(ports, sizeof(ports), "%d", server.cfg.port);
    if (server.cfg.tls_port != 0)
        snprintf(tls_port, sizeof(tls_port), "%s%d (TLS)", ports[0] ? ", " : "", server.cfg.tls_port);
    log_notice("seqd %s ready on %s:%s%s (%s store, %s, %d workers, pid %ld)", PACKAGE_VERSION,
               server.cfg.bind, ports, tls_port, server.cfg.store_type, defs, server.nworkers,
               (long)getpid());
    log_startup_done();
    daemon_ready();
    return 0;
}

/* The graceful stop: server_start() walked back. */
static void server_stop(void)
{
    listener_close();
    core_stop_claims();
    workers_stop();
    core_finish_jobs();
    http_close();           /* its report thread's last answers go to the workers' inboxes */
    workers_free();
    tls_close();            /* every connection, and its SSL, is gone */
    udp_close();
    core_close();
    heap_trim_stop();
    for (size_t i = 0; i < ARRAY_SIZE(signal_events); i++)
        event_free(signal_events[i]);
    event_base_free(main_base);
    if (server.cfg.pidfile[0])
        unlink(server.cfg.pidfile);
    log_notice("seqd stopped");
    log_close();
}

int main(int argc, char **argv)
{
    struct args args;
    char err[1024];

    switch (parse_args(argc, argv, &args)) {
    case ARGS_RUN: break;
    case ARGS_EXIT_OK: return 0;
    case ARGS_EXIT_FAIL: return 1;
    }
    pthread_mutex_init(&server.reload_lock, NULL);
    if (load_config(&server.cfg, args.config_file, args.file_given, err, sizeof(err)) != 0) {
        fprintf(stderr, "seqd: %s\n", err);
        return 1;
    }
    if (args.test_only) {
        /* The certificate files too: a renewal is best checked before
         * the SIGHUP that takes it. */
        int rc = tls_open(&server.cfg, err, sizeof(err));
        tls_close();
        if (rc != 0) {
            fprintf(stderr, "seqd: TLS: %s\n", err);
            return 1;
        }
        printf("seqd: configuration %s is OK\n", server.cfg.config_file[0] ? server.cfg.config_file : "(defaults)");
        return 0;
    }
    if (server_start() != 0)
        return 1;
    event_base_dispatch(main_base);
    server_stop();
    return 0;
}
