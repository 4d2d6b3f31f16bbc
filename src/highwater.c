/*
 * highwater: the node's durable per-sequence high-water marks (see
 * highwater.h). The file holds one change a line, each ending in the
 * FNV-1a hash of the rest of the line, so a line cut short by a crash
 * is recognised:
 *
 *     s <name> <def_id> <period> <top> <hash>   the mark of name is now this
 *     f <name> <hash>                     name has no mark any more
 *
 * Names are printable ASCII without spaces (seqdef_name_ok), so a line is
 * split at spaces. Only the last line may be torn; anything else that does
 * not read is refused at open, naming the line: the marks after it would be
 * lost, and with them the protection they give.
 */
#include "highwater.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_io.h"
#include "log.h"
#include "seqdef.h"
#include "util.h"

#define HIGHWATER_LINE_MAX 256            /* "s " name(128) + three numbers + hash */
#define HIGHWATER_COMPACT_MIN (64 * 1024) /* never rewrite a file smaller than this */
#define HIGHWATER_COMPACT_RATIO 4         /* rewrite once the file is 4x its live lines */

/* A mark in memory: 24 bytes and the name, nothing else (one per
 * sequence; a 10-byte name makes a 48-byte malloc chunk). The table is
 * open-addressed, so an entry needs no chain pointer, and the length of
 * its "s" line (for live_bytes) is worked out again when needed. */
struct hw_entry {
    struct highwater_mark mark;
    char name[];
};

struct highwater {
    pthread_mutex_t lock;
    char *dir;
    int dir_fd;
    int fd;                               /* the file, O_APPEND */
    int lock_fd;                          /* the directory's flock */
    struct hw_entry **slots;              /* linear probing; NULL: empty */
    size_t nslots, count;                 /* nslots a power of 2 */
    uint64_t bytes;                       /* the file's size: what was written completely */
    uint64_t live_bytes;                  /* what a compact rewrite would hold */
};

/* ---- the table ---------------------------------------------------------------- */

/* The table grows once more than 4/5 of its slots are taken: at its
 * fullest a lookup probes about 3 slots, a miss about 13, and the slots
 * cost what the chains' buckets did (a load of 0.4 to 0.8, where chains
 * had 0.5 to 1). */
#define HW_LOAD_NUM 4
#define HW_LOAD_DEN 5

/* The slot where name's probe starts. FNV-1a's low bits depend only on
 * the low bits of each step: fold the high half in before masking. */
static size_t hw_home(const struct highwater *hw, const char *name)
{
    uint64_t h = fnv1a64(FNV1A64_INIT, name, strlen(name));
    return (size_t)(h ^ (h >> 32)) & (hw->nslots - 1);
}

/* name's slot: the one holding its entry, else the empty one where it
 * would go. */
static struct hw_entry **hw_slot(struct highwater *hw, const char *name)
{
    size_t mask = hw->nslots - 1, i = hw_home(hw, name);

    while (hw->slots[i] != NULL && strcmp(hw->slots[i]->name, name) != 0)
        i = (i + 1) & mask;
    return &hw->slots[i];
}

static void hw_grow(struct highwater *hw)
{
    struct hw_entry **old = hw->slots;
    size_t nold = hw->nslots;

    hw->nslots *= 2;
    hw->slots = xcalloc(hw->nslots, sizeof(*hw->slots));
    for (size_t i = 0; i < nold; i++)
        if (old[i] != NULL)
            *hw_slot(hw, old[i]->name) = old[i];
    free(old);
}

/* Empties *slot (its entry is the caller's to free). Linear probing has
 * no tombstones: each entry after the hole, up to the next empty slot,
 * moves back into it when the hole lies on its probe path, so that every
 * entry stays reachable from its home slot. */
static void hw_unlink(struct highwater *hw, struct hw_entry **slot)
{
    size_t mask = hw->nslots - 1, hole = (size_t)(slot - hw->slots);

    for (size_t i = (hole + 1) & mask; hw->slots[i] != NULL; i = (i + 1) & mask) {
        size_t home = hw_home(hw, hw->slots[i]->name);
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            hw->slots[hole] = hw->slots[i];
            hole = i;
        }
    }
    hw->slots[hole] = NULL;
}

/* The "s" line of (name, mark) into line (HIGHWATER_LINE_MAX); its length. */
static size_t hw_set_line(char *line, const char *name, const struct highwater_mark *m)
{
    int n = snprintf(line, HIGHWATER_LINE_MAX, "s %s %016" PRIx64 " %" PRId64 " %" PRIu64, name, m->def_id,
                     m->period, m->top);
    uint64_t h = fnv1a64(FNV1A64_INIT, line, (size_t)n);
    n += snprintf(line + n, HIGHWATER_LINE_MAX - (size_t)n, " %016" PRIx64 "\n", h);
    return (size_t)n;
}

static size_t hw_forget_line(char *line, const char *name)
{
    int n = snprintf(line, HIGHWATER_LINE_MAX, "f %s", name);
    uint64_t h = fnv1a64(FNV1A64_INIT, line, (size_t)n);
    n += snprintf(line + n, HIGHWATER_LINE_MAX - (size_t)n, " %016" PRIx64 "\n", h);
    return (size_t)n;
}

/* Apply a change to the table. m NULL: forget. */
static void hw_apply(struct highwater *hw, const char *name, const struct highwater_mark *m)
{
    struct hw_entry **p = hw_slot(hw, name), *e = *p;
    char line[HIGHWATER_LINE_MAX];

    if (e != NULL)
        hw->live_bytes -= hw_set_line(line, e->name, &e->mark);
    if (m == NULL) {
        if (e != NULL) {
            hw_unlink(hw, p);
            hw->count--;
            free(e);
        }
        return;
    }
    if (e == NULL) {
        size_t len = strlen(name);
        e = xmalloc(offsetof(struct hw_entry, name) + len + 1);
        memcpy(e->name, name, len + 1);
        *p = e;
        hw->count++;
        if (hw->count * HW_LOAD_DEN > hw->nslots * HW_LOAD_NUM)
            hw_grow(hw);
    }
    e->mark = *m;
    hw->live_bytes += hw_set_line(line, name, m);
}

/* ---- the file ----------------------------------------------------------------- */

/* A name a line can hold: 1..128 printable bytes without spaces. */
static bool hw_name_ok(const char *name)
{
    char why[96];
    return seqdef_name_ok(name, strlen(name), why, sizeof(why));
}

/* Parses one complete line (without its '\n'). Returns 0 with *name (into
 * line) and *m (NULL-able: forget), or -1. */
static int hw_parse(char *line, size_t len, char **name, struct highwater_mark *m, bool *forget)
{
    char *hash = memrchr(line, ' ', len);
    char *end;

    if (hash == NULL || len < 4 || line[1] != ' ')
        return -1;
    errno = 0;
    uint64_t want = strtoull(hash + 1, &end, 16);
    if (errno != 0 || end != line + len || end - (hash + 1) != 16)
        return -1;
    if (fnv1a64(FNV1A64_INIT, line, (size_t)(hash - line)) != want)
        return -1;
    *hash = '\0';

    char *fields[5], *save = NULL;
    int n = 0;
    for (char *tok = strtok_r(line, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
        if (n == 5)
            return -1;
        fields[n++] = tok;
    }
    if (n >= 2 && !hw_name_ok(fields[1]))
        return -1;
    if (n == 2 && strcmp(fields[0], "f") == 0) {
        *name = fields[1];
        *forget = true;
        return 0;
    }
    if (n != 5 || strcmp(fields[0], "s") != 0)
        return -1;
    errno = 0;
    m->def_id = strtoull(fields[2], &end, 16);
    if (errno != 0 || *end != '\0' || fields[2][0] == '-')
        return -1;
    m->period = strtoll(fields[3], &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    m->top = strtoull(fields[4], &end, 10);
    if (errno != 0 || *end != '\0' || fields[4][0] == '-')
        return -1;
    *name = fields[1];
    *forget = false;
    return 0;
}

/* Reads the file into the table. A torn last line (a crash while it was
 * appended: no '\n', or a bad hash) is dropped; a bad line before the
 * last fails. Returns 0, or -1 with err set. */
static int hw_load(struct highwater *hw, char *err, size_t errlen)
{
    int fd = openat(hw->dir_fd, HIGHWATER_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot open %s/%s: %s", hw->dir, HIGHWATER_FILE, strerror(errno));
        return -1;
    }
    FILE *f = fdopen(fd, "r");
    if (f == NULL) {
        close(fd);
        snprintf(err, errlen, "cannot read %s/%s: %s", hw->dir, HIGHWATER_FILE, strerror(errno));
        return -1;
    }
    char *line = NULL, bad[48];
    size_t cap = 0;
    ssize_t len;
    unsigned long lineno = 0, bad_lineno = 0;
    int rc = 0;

    while ((len = getline(&line, &cap, f)) >= 0) {
        struct highwater_mark m;
        char *name;
        bool forget;

        lineno++;
        if (bad_lineno != 0) {
            /* A bad line followed by more lines: not a torn tail. */
            snprintf(err, errlen, "%s/%s: line %lu is damaged (%s...); the marks after it cannot be "
                     "trusted: see docs/reliability.md", hw->dir, HIGHWATER_FILE, bad_lineno, bad);
            rc = -1;
            break;
        }
        bool complete = len > 0 && line[len - 1] == '\n';
        if (complete)
            line[--len] = '\0';
        char seen[48];                /* hw_parse() cuts the line up: what it was */
        str_printable(line, (size_t)len < 40 ? (size_t)len : 40, seen, sizeof(seen));
        if (!complete || hw_parse(line, (size_t)len, &name, &m, &forget) != 0) {
            memcpy(bad, seen, sizeof(bad));
            bad_lineno = lineno;
            continue;
        }
        hw_apply(hw, name, forget ? NULL : &m);
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "cannot read %s/%s: %s", hw->dir, HIGHWATER_FILE, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && bad_lineno != 0)
        log_warn("%s/%s: its last line was cut short (a crash while it was written); dropped",
                 hw->dir, HIGHWATER_FILE);
    free(line);
    fclose(f);
    return rc;
}

/* Rewrites the file with one line per mark (durably, file_io.h), and
 * opens it for appending. Caller holds the lock (or is open()). */
static int hw_compact(struct highwater *hw, char *err, size_t errlen)
{
    char *text = xmalloc(hw->live_bytes + 1), *p = text;

    for (size_t i = 0; i < hw->nslots; i++)
        if (hw->slots[i] != NULL)
            p += hw_set_line(p, hw->slots[i]->name, &hw->slots[i]->mark);
    *p = '\0';
    enum file_put put = file_write_at(hw->dir_fd, hw->dir, HIGHWATER_FILE, text, err, errlen);
    free(text);
    if (put == FILE_PUT_FAILED)
        return -1;                    /* the file is as it was: appending to it goes on */

    /* Renamed (even when the directory's fsync failed): the old file is
     * out of the directory, and a line appended to it would be lost at
     * the next open. Without the new one, every later change fails
     * (EBADF), so nothing is served above a mark that is not recorded. */
    if (hw->fd >= 0)
        close(hw->fd);
    hw->fd = -1;
    hw->bytes = hw->live_bytes;
    int fd = openat(hw->dir_fd, HIGHWATER_FILE, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s/%s: %s", hw->dir, HIGHWATER_FILE, strerror(errno));
        return -1;
    }
    hw->fd = fd;
    return put == FILE_PUT_OK ? 0 : -1;
}

/* Appends one line and makes it durable. On failure the file is cut back
 * to what it held, so that no torn line is left before later ones. */
static int hw_append(struct highwater *hw, const char *line, size_t len, char *err, size_t errlen)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = write(hw->fd, line + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        done += (size_t)n;
    }
    if (fdatasync(hw->fd) != 0)
        goto fail;
    hw->bytes += len;
    return 0;
fail:
    snprintf(err, errlen, "cannot record the high-water mark in %s/%s: %s", hw->dir, HIGHWATER_FILE,
             strerror(errno ? errno : EIO));
    if (ftruncate(hw->fd, (off_t)hw->bytes) != 0)
        log_warn("cannot cut %s/%s back after a failed write: %s", hw->dir, HIGHWATER_FILE, strerror(errno));
    return -1;
}

/* Once the file has grown to several times its live size, rewrites it.
 * Called after the change just appended is in the table, so that the
 * rewrite holds it. Caller holds the lock. */
static void hw_maybe_compact(struct highwater *hw)
{
    char why[256];

    if (hw->bytes > HIGHWATER_COMPACT_MIN && hw->bytes > HIGHWATER_COMPACT_RATIO * hw->live_bytes &&
        hw_compact(hw, why, sizeof(why)) != 0)
        log_warn("cannot rewrite %s/%s compactly (it keeps growing): %s", hw->dir, HIGHWATER_FILE, why);
}

/* ---- the interface ---------------------------------------------------------- */

struct highwater *highwater_open(const char *dir, char *err, size_t errlen)
{
    struct highwater *hw = xcalloc(1, sizeof(*hw));

    pthread_mutex_init(&hw->lock, NULL);
    hw->dir = xstrdup(dir);
    hw->dir_fd = hw->fd = hw->lock_fd = -1;
    hw->nslots = 1024;
    hw->slots = xcalloc(hw->nslots, sizeof(*hw->slots));

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create the state directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    hw->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (hw->dir_fd < 0) {
        snprintf(err, errlen, "cannot open the state directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    /* Two processes appending to one record would each trust the other's
     * marks as their own: one process per directory. */
    hw->lock_fd = openat(hw->dir_fd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (hw->lock_fd < 0) {
        snprintf(err, errlen, "cannot create %s/LOCK: %s", dir, strerror(errno));
        goto fail;
    }
    if (flock(hw->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "the state directory %s is in use by another seqd process; give each node "
                 "its own (store.mysql.state_dir)", dir);
        goto fail;
    }
    if (hw_load(hw, err, errlen) != 0 || hw_compact(hw, err, errlen) != 0)
        goto fail;
    return hw;
fail:
    highwater_close(hw);
    return NULL;
}

void highwater_close(struct highwater *hw)
{
    if (hw == NULL)
        return;
    for (size_t i = 0; i < hw->nslots; i++)
        free(hw->slots[i]);
    free(hw->slots);
    if (hw->fd >= 0)
        close(hw->fd);
    if (hw->lock_fd >= 0)
        close(hw->lock_fd);           /* releases the flock */
    if (hw->dir_fd >= 0)
        close(hw->dir_fd);
    free(hw->dir);
    pthread_mutex_destroy(&hw->lock);
    free(hw);
}

bool highwater_get(struct highwater *hw, const char *name, struct highwater_mark *out)
{
    pthread_mutex_lock(&hw->lock);
    struct hw_entry *e = *hw_slot(hw, name);
    if (e != NULL)
        *out = e->mark;
    pthread_mutex_unlock(&hw->lock);
    return e != NULL;
}

/* Is mark m above position `at` of the same definition? */
static bool mark_above(const struct highwater_mark *m, const struct highwater_mark *at)
{
    return m->def_id == at->def_id && (m->period > at->period || (m->period == at->period && m->top > at->top));
}

bool highwater_below(struct highwater *hw, const char *name, const struct highwater_mark *at,
                     struct highwater_mark *mark)
{
    return highwater_get(hw, name, mark) && mark_above(mark, at);
}

static bool name_fits(const char *name, char *err, size_t errlen)
{
    if (!hw_name_ok(name)) {
        snprintf(err, errlen, "cannot record a high-water mark for a name that is not 1..128 printable "
                 "bytes without spaces");
        return false;
    }
    return true;
}

/* Appends and applies name's new mark. Caller holds the lock. */
static int hw_put(struct highwater *hw, const char *name, const struct highwater_mark *m, char *err,
                  size_t errlen)
{
    char line[HIGHWATER_LINE_MAX];
    int rc = hw_append(hw, line, hw_set_line(line, name, m), err, errlen);

    if (rc == 0) {
        hw_apply(hw, name, m);
        hw_maybe_compact(hw);
    }
    return rc;
}

/* Must m be written for name? A mark of another definition is replaced
 * (that sequence is gone); one of this definition only ever goes up.
 * Caller holds the lock. */
static bool hw_raises(struct highwater *hw, const char *name, const struct highwater_mark *m)
{
    struct hw_entry *e = *hw_slot(hw, name);
    return e == NULL || e->mark.def_id != m->def_id || mark_above(m, &e->mark);
}

int highwater_raise(struct highwater *hw, const char *name, const struct highwater_mark *m,
                    char *err, size_t errlen)
{
    int rc = 0;

    if (!name_fits(name, err, errlen))
        return -1;
    pthread_mutex_lock(&hw->lock);
    if (hw_raises(hw, name, m))
        rc = hw_put(hw, name, m, err, errlen);
    pthread_mutex_unlock(&hw->lock);
    return rc;
}

/* Does an item before i name the same sequence? */
static bool hw_named_before(const struct highwater_raise *items, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(items[j].name, items[i].name) == 0)
            return true;
    return false;
}

int highwater_raise_many(struct highwater *hw, struct highwater_raise *items, size_t n, char *err, size_t errlen)
{
    char *lines = xmalloc(n * HIGHWATER_LINE_MAX + 1);
    bool *again = xcalloc(n ? n : 1, sizeof(*again));
    size_t len = 0, i;
    int rc = 0;

    pthread_mutex_lock(&hw->lock);
    /* One line for each name that goes up, written and synced at once; a
     * name met again in the batch is recorded after them, on its own. */
    for (i = 0; i < n; i++) {
        items[i].rc = 0;
        if (!name_fits(items[i].name, err, errlen)) {
            items[i].rc = -1;
            rc = -1;
        } else if (hw_named_before(items, i)) {
            again[i] = true;
        } else if (hw_raises(hw, items[i].name, &items[i].mark)) {
            len += hw_set_line(lines + len, items[i].name, &items[i].mark);
        }
    }
    if (len > 0 && hw_append(hw, lines, len, err, errlen) != 0) {
        for (i = 0; i < n; i++)
            items[i].rc = -1;
        rc = -1;
        goto out;
    }
    for (i = 0; i < n; i++)
        if (items[i].rc == 0 && !again[i] && hw_raises(hw, items[i].name, &items[i].mark))
            hw_apply(hw, items[i].name, &items[i].mark);
    for (i = 0; i < n; i++) {
        if (again[i] && hw_raises(hw, items[i].name, &items[i].mark) &&
            hw_put(hw, items[i].name, &items[i].mark, err, errlen) != 0) {
            items[i].rc = -1;
            rc = -1;
        }
    }
    if (len > 0)
        hw_maybe_compact(hw);
out:
    pthread_mutex_unlock(&hw->lock);
    free(again);
    free(lines);
    return rc;
}

int highwater_lower(struct highwater *hw, const char *name, int64_t period, uint64_t from, uint64_t to,
                    char *err, size_t errlen)
{
    int rc = 0;

    if (!name_fits(name, err, errlen))
        return 0;                     /* never recorded */
    pthread_mutex_lock(&hw->lock);
    struct hw_entry *e = *hw_slot(hw, name);
    if (e != NULL && e->mark.period == period && e->mark.top == to && from < to) {
        struct highwater_mark m = { e->mark.def_id, period, from };
        rc = hw_put(hw, name, &m, err, errlen);
    }
    pthread_mutex_unlock(&hw->lock);
    return rc;
}

/* A batch's lines, appended with one write and one fdatasync. */
struct hw_batch {
    char *text;
    size_t len, cap;
};

static void hw_batch_add(struct hw_batch *b, const char *name, const struct highwater_mark *m)
{
    if (b->cap - b->len < HIGHWATER_LINE_MAX) {
        b->cap = b->cap ? b->cap * 2 : 64 * HIGHWATER_LINE_MAX;
        b->text = xrealloc(b->text, b->cap);
    }
    b->len += hw_set_line(b->text + b->len, name, m);
}

int highwater_lower_many(struct highwater *hw, const struct highwater_lower_item *items, size_t n, char *err,
                         size_t errlen)
{
    struct hw_batch b = { NULL, 0, 0 };
    bool *lowered = xcalloc(n ? n : 1, sizeof(*lowered));
    int rc = 0;

    pthread_mutex_lock(&hw->lock);
    for (size_t i = 0; i < n; i++) {
        const struct highwater_lower_item *it = &items[i];
        if (!hw_name_ok(it->name))
            continue;                 /* never recorded */
        struct hw_entry *e = *hw_slot(hw, it->name);
        if (e != NULL && e->mark.period == it->period && e->mark.top == it->to && it->from < it->to) {
            struct highwater_mark m = { e->mark.def_id, it->period, it->from };
            hw_batch_add(&b, it->name, &m);
            lowered[i] = true;
        }
    }
    /* Applied once durable: a failure leaves every mark as high as the file has it. */
    if (b.len > 0 && (rc = hw_append(hw, b.text, b.len, err, errlen)) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (!lowered[i])
                continue;
            struct hw_entry *e = *hw_slot(hw, items[i].name);
            struct highwater_mark m = { e->mark.def_id, items[i].period, items[i].from };
            hw_apply(hw, items[i].name, &m);
        }
        hw_maybe_compact(hw);
    }
    pthread_mutex_unlock(&hw->lock);
    free(lowered);
    free(b.text);
    return rc;
}

int highwater_forget(struct highwater *hw, const char *name, char *err, size_t errlen)
{
    char line[HIGHWATER_LINE_MAX];
    int rc = 0;

    if (!name_fits(name, err, errlen))
        return 0;                     /* never recorded */
    pthread_mutex_lock(&hw->lock);
    if (*hw_slot(hw, name) != NULL) {
        rc = hw_append(hw, line, hw_forget_line(line, name), err, errlen);
        if (rc == 0) {
            hw_apply(hw, name, NULL);
            hw_maybe_compact(hw);
        }
    }
    pthread_mutex_unlock(&hw->lock);
    return rc;
}

size_t highwater_count(struct highwater *hw)
{
    pthread_mutex_lock(&hw->lock);
    size_t n = hw->count;
    pthread_mutex_unlock(&hw->lock);
    return n;
}

uint64_t highwater_file_bytes(struct highwater *hw)
{
    pthread_mutex_lock(&hw->lock);
    uint64_t n = hw->bytes;
    pthread_mutex_unlock(&hw->lock);
    return n;
}
