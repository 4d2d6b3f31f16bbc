/*
 * store_reserve: the one-node stores' worker id and reservation (see
 * store_reserve.h). The file holds one line, "reserved_ms N\n".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_reserve.h"
#include "util.h"

#define RESERVE_FILE "snowflake"
#define RESERVE_TMP ".snowflake.tmp"

static int reserve_read(const char *dir, uint64_t *ms, char *err, size_t errlen)
{
    char path[4096], text[128];
    snprintf(path, sizeof(path), "%s/" RESERVE_FILE, dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT) {
            *ms = 0;
            return 0;
        }
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    text[n] = '\0';
    char *nl = strchr(text, '\n');
    if (strncmp(text, "reserved_ms ", 12) != 0 || !nl ||
        !parse_u64(text + 12, (size_t)(nl - text - 12), ms)) {
        snprintf(err, errlen, "%s does not hold \"reserved_ms N\" (the snowflake ids' timestamp "
                 "reservation; remove it only if no type 5 id was ever handed out from %s)", path, dir);
        return -1;
    }
    return 0;
}

/* Durably: write a temporary file, fsync, rename, fsync the directory. */
static int reserve_write(const char *dir, uint64_t ms, char *err, size_t errlen)
{
    char tmp[4096], path[4096], text[64];
    snprintf(tmp, sizeof(tmp), "%s/" RESERVE_TMP, dir);
    snprintf(path, sizeof(path), "%s/" RESERVE_FILE, dir);
    int len = snprintf(text, sizeof(text), "reserved_ms %" PRIu64 "\n", ms);
    const char *step = "create";
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0)
        goto fail;
    step = "write";
    if (write(fd, text, (size_t)len) != len)
        goto fail;
    step = "fsync";
    if (fsync(fd) != 0)
        goto fail;
    step = "close";
    int rc = close(fd);
    fd = -1;
    if (rc != 0)
        goto fail;
    step = "rename";
    if (rename(tmp, path) != 0)
        goto fail;
    step = "fsync the directory of";
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        if (dfd >= 0)
            close(dfd);
        goto fail;
    }
    close(dfd);
    return 0;
fail:
    snprintf(err, errlen, "cannot %s %s: %s", step, tmp, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

int store_reserve_open(struct store_reserve *r, const char *dir, char *err, size_t errlen)
{
    pthread_mutex_init(&r->lock, NULL);
    r->dir = dir ? xstrdup(dir) : NULL;
    r->ms = r->loaded_ms = 0;
    if (r->dir && reserve_read(r->dir, &r->ms, err, errlen) != 0)
        return -1;
    r->loaded_ms = r->ms;
    return 0;
}

void store_reserve_close(struct store_reserve *r)
{
    free(r->dir);
    r->dir = NULL;
    pthread_mutex_destroy(&r->lock);
}

int store_reserve_lease(struct store_reserve *r, struct worker_lease *l, char *err, size_t errlen)
{
    int rc = STORE_OK;

    pthread_mutex_lock(&r->lock);
    uint64_t want = l->reserve_ms;
    if (l->op != LEASE_RELEASE && want < r->ms)
        want = r->ms;                       /* never lowered while running */
    if (l->op == LEASE_ACQUIRE) {
        l->floor_ms = r->ms;                /* this run's earlier ids, or the last run's */
        l->generation = 0;
    }
    if (want != r->ms && r->dir && reserve_write(r->dir, want, err, errlen) != 0)
        rc = STORE_ERROR;
    else
        r->ms = want;
    l->reserved_ms = r->ms;
    l->exhausted = false;
    pthread_mutex_unlock(&r->lock);
    return rc;
}
