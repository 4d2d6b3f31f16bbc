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

#include "file_io.h"
#include "store_reserve.h"
#include "util.h"

#define RESERVE_FILE "snowflake"

static int reserve_read(struct store_reserve *r, uint64_t *ms, char *err, size_t errlen)
{
    char why[256], *text = NULL;
    size_t len;

    int rc = file_read_at(r->dir_fd, RESERVE_FILE, &text, &len, why, sizeof(why));
    if (rc == 1) {
        *ms = 0;
        return 0;
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s/" RESERVE_FILE ": %s", r->dir, why);
        return -1;
    }
    char *nl = strchr(text, '\n');
    if (strncmp(text, "reserved_ms ", 12) != 0 || !nl ||
        !parse_u64(text + 12, (size_t)(nl - text - 12), ms)) {
        snprintf(err, errlen, "%s/" RESERVE_FILE " does not hold \"reserved_ms N\" (the snowflake ids' timestamp "
                 "reservation; remove it only if no type 5 id was ever handed out from %s)", r->dir, r->dir);
        rc = -1;
    }
    free(text);
    return rc;
}

/* Durably (file_io.h). A rename whose directory fsync failed is not known
 * to be recorded: a failure, as any other. */
static int reserve_write(struct store_reserve *r, uint64_t ms, char *err, size_t errlen)
{
    char text[64];

    snprintf(text, sizeof(text), "reserved_ms %" PRIu64 "\n", ms);
    return file_write_at(r->dir_fd, r->dir, RESERVE_FILE, text, err, errlen) == FILE_PUT_OK ? 0 : -1;
}

int store_reserve_open(struct store_reserve *r, const char *dir, char *err, size_t errlen)
{
    pthread_mutex_init(&r->lock, NULL);
    r->dir = dir ? xstrdup(dir) : NULL;
    r->dir_fd = -1;
    r->ms = r->loaded_ms = 0;
    if (r->dir) {
        r->dir_fd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (r->dir_fd < 0) {
            snprintf(err, errlen, "cannot open %s: %s", r->dir, strerror(errno));
            return -1;
        }
        if (reserve_read(r, &r->ms, err, errlen) != 0)
            return -1;
    }
    r->loaded_ms = r->ms;
    return 0;
}

void store_reserve_close(struct store_reserve *r)
{
    if (r->dir_fd >= 0)
        close(r->dir_fd);
    r->dir_fd = -1;
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
    if (want != r->ms && r->dir && reserve_write(r, want, err, errlen) != 0)
        rc = STORE_ERROR;
    else
        r->ms = want;
    l->reserved_ms = r->ms;
    l->exhausted = false;
    pthread_mutex_unlock(&r->lock);
    return rc;
}
