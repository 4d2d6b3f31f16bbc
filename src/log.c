/*
 * log: one line per call, to stderr, a file, or syslog.
 *
 * Lines look like Redis' so the same log tooling reads both:
 *     4242:M 21 Nov 2026 19:30:01.123 * Ready to accept connections
 * with the level marked '.' debug, '-' verbose, '*' notice, '#' warning.
 * The level is an atomic read on the fast path, so a filtered-out debug
 * call costs no lock; the target is swapped under the one mutex that also
 * keeps concurrent lines from interleaving.
 */
#include "log.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* Longer messages are cut, as Redis does: a log line is not a data dump. */
#define LOG_MAX_LEN 1024

enum log_target { LOG_TO_STDERR, LOG_TO_FILE, LOG_TO_SYSLOG };

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int log_level = LOG_LVL_NOTICE;
static enum log_target log_target = LOG_TO_STDERR; /* under log_lock */
static int log_fd = -1;                             /* the file, under log_lock */
static atomic_bool log_starting = true;             /* warnings to stderr too; see log.h */

static const char *const log_names[] = { "debug", "verbose", "notice", "warning" };
static const char log_marks[] = { '.', '-', '*', '#' };
static const int log_syslog_prio[] = { LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING };

int log_level_parse(const char *name)
{
    size_t i;
    if (name == NULL)
        return -1;
    for (i = 0; i < ARRAY_SIZE(log_names); i++)
        if (str_ieq(name, strlen(name), log_names[i]))
            return (int)i;
    return -1;
}

const char *log_level_name(int level)
{
    if (level < LOG_LVL_DEBUG || level > LOG_LVL_WARNING)
        return "unknown";
    return log_names[level];
}

/* Drop whatever target is open. Caller holds log_lock. */
static void log_release_target(void)
{
    if (log_target == LOG_TO_FILE && log_fd >= 0)
        close(log_fd);
    else if (log_target == LOG_TO_SYSLOG)
        closelog();
    log_fd = -1;
    log_target = LOG_TO_STDERR;
}

/* A non-empty file wins over use_syslog: an operator who names a file
 * wants the lines there. Reopening the same file is how a rotated log is
 * picked up on SIGHUP. The new file is opened before the old target is
 * dropped, so a failure leaves logging where it was. */
int log_open(const char *file, bool use_syslog)
{
    int fd = -1;

    if (file != NULL && file[0] != '\0') {
        fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return -1;
    }
    pthread_mutex_lock(&log_lock);
    log_release_target();
    if (fd >= 0) {
        log_fd = fd;
        log_target = LOG_TO_FILE;
    } else if (use_syslog) {
        openlog("seqd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        log_target = LOG_TO_SYSLOG;
    }
    pthread_mutex_unlock(&log_lock);
    return 0;
}

void log_startup_done(void)
{
    atomic_store(&log_starting, false);
}

void log_set_level(int level)
{
    if (level < LOG_LVL_DEBUG)
        level = LOG_LVL_DEBUG;
    if (level > LOG_LVL_WARNING)
        level = LOG_LVL_WARNING;
    atomic_store(&log_level, level);
}

int log_get_level(void)
{
    return atomic_load(&log_level);
}

void log_close(void)
{
    pthread_mutex_lock(&log_lock);
    log_release_target();
    pthread_mutex_unlock(&log_lock);
}

/* Write all of p, retrying short writes and EINTR; a log line that cannot
 * be written is dropped (there is nowhere left to report it). */
static void log_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void __attribute__((format(printf, 2, 0)))
log_vmsg(int level, const char *fmt, va_list ap)
{
    char msg[LOG_MAX_LEN];
    char line[LOG_MAX_LEN + 96];
    char stamp[64];
    struct timeval tv;
    struct tm tm;
    size_t i, n;
    int head;
    int saved_errno = errno; /* callers often log, then look at errno */

    if (level < LOG_LVL_DEBUG)
        level = LOG_LVL_DEBUG;
    if (level > LOG_LVL_WARNING)
        level = LOG_LVL_WARNING;

    if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
        strlcpy_safe(msg, "(unformattable log message)", sizeof(msg));
    /* One line per call, whatever the message holds. */
    for (i = 0; msg[i] != '\0'; i++)
        if (msg[i] == '\n' || msg[i] == '\r')
            msg[i] = ' ';

    pthread_mutex_lock(&log_lock);
    if (log_target == LOG_TO_SYSLOG) {
        syslog(log_syslog_prio[level], "%s", msg);
    } else {
        gettimeofday(&tv, NULL);
        localtime_r(&tv.tv_sec, &tm);
        if (strftime(stamp, sizeof(stamp), "%d %b %Y %H:%M:%S", &tm) == 0)
            stamp[0] = '\0';
        head = snprintf(line, sizeof(line), "%d:M %s.%03d %c ", (int)getpid(), stamp,
                        (int)(tv.tv_usec / 1000), log_marks[level]);
        if (head < 0)
            head = 0;
        n = (size_t)head;
        n += strlcpy_safe(line + n, msg, sizeof(line) - n - 1);
        if (n > sizeof(line) - 2)
            n = sizeof(line) - 2;
        line[n++] = '\n';
        log_write_all(log_target == LOG_TO_FILE ? log_fd : STDERR_FILENO, line, n);
    }
    if (level == LOG_LVL_WARNING && log_target != LOG_TO_STDERR && atomic_load(&log_starting)) {
        n = (size_t)snprintf(line, sizeof(line), "seqd: %s\n", msg);
        log_write_all(STDERR_FILENO, line, n < sizeof(line) ? n : sizeof(line) - 1);
    }
    pthread_mutex_unlock(&log_lock);
    errno = saved_errno;
}

void log_msg(int level, const char *fmt, ...)
{
    va_list ap;

    if (level < atomic_load_explicit(&log_level, memory_order_relaxed))
        return;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

/* libevent must not be called back into from here; log_msg does not. */
static void log_libevent_cb(int severity, const char *msg)
{
    int level;

    switch (severity) {
    case EVENT_LOG_DEBUG:
        level = LOG_LVL_DEBUG;
        break;
    case EVENT_LOG_MSG:
        level = LOG_LVL_VERBOSE;
        break;
    default: /* EVENT_LOG_WARN, EVENT_LOG_ERR */
        level = LOG_LVL_WARNING;
        break;
    }
    log_msg(level, "libevent: %s", msg);
}

void log_hook_libevent(void)
{
    event_set_log_callback(log_libevent_cb);
}

bool log_limit_pass(struct log_limit *l, uint64_t *left_out)
{
    uint64_t now = mono_ms();

    pthread_mutex_lock(&l->lock);
    if (l->last_ms != 0 && now - l->last_ms < l->interval_ms) {
        l->left_out++;
        pthread_mutex_unlock(&l->lock);
        return false;
    }
    *left_out = l->left_out;
    l->left_out = 0;
    l->last_ms = now;
    pthread_mutex_unlock(&l->lock);
    return true;
}
