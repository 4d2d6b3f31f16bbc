/*
 * store_file: the embedded store for one node (store.type "file"), a data
 * directory that survives restarts and crashes without ever letting a
 * counter be handed out twice.
 *
 * Layout of store.dir:
 *   LOCK                 flock()ed for the life of the process, holds our pid:
 *                        a second seqd on the same directory refuses to start
 *   seq/<escaped>.json   one file per sequence: its definition and max_id
 *   id_step.json         the id_step and id_offset the store was first started
 *                        with (store_spread.h); every start checks them
 *
 * A sequence name keeps its [A-Za-z0-9_-] bytes and writes every other
 * byte as %XX, so no name can reach outside seq/ or hide as a dot file.
 * The worst case triples a 128-byte name, past what a file system takes,
 * so an escaped name longer than FILE_ESC_MAX keeps a prefix and adds
 * '~' and a hash of the whole name ('~' never survives escaping, so the
 * two forms cannot meet); the file's own "name" field is the truth.
 *
 * Every change is durable before the call returns: write seq/.<file>.tmp,
 * fsync it, rename it over the file, fsync seq/. The in-memory copy moves
 * only after the disk did, so memory never runs ahead of what a restart
 * would read back, except after a rename whose directory fsync failed: the
 * claim is then reported STORE_UNKNOWN and thrown away by the caller, and
 * memory keeps the higher max_id so that range is never issued at all.
 *
 * At open every sequence is read into a store_table (store_table.h: the
 * table and the claim and give-back arithmetic, shared with the memory
 * store); a file that cannot be read or makes no sense stops start-up with
 * its path and the reason, rather than guessing. One mutex guards the table and is held across the disk
 * writes: claims are rare (a segment of many numbers each), and holding
 * it keeps the order of writes the order of the in-memory changes.
 */
#include "store.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_io.h"
#include "log.h"
#include "store_reserve.h"
#include "store_spread.h"
#include "store_table.h"
#include "util.h"

#define FILE_FORMAT 1
#define FILE_DIR_MODE 0750
#define FILE_MODE FILE_IO_MODE
#define FILE_ESC_MAX 200           /* longest escaped name used as is */
#define FILE_ESC_KEEP 180          /* prefix kept before "~<hash>" */
#define FILE_NAME_SIZE FILE_IO_NAME_MAX
#define FILE_EXT ".json"
#define FILE_TMP_EXT FILE_IO_TMP_EXT
#define FILE_SPREAD "id_step.json"    /* in store.dir: the recorded id_step, id_offset */

struct file_store {
    pthread_mutex_t lock;
    char *dir;                        /* store.dir, for messages */
    int lock_fd;                      /* DIR/LOCK, flock()ed */
    int seq_fd;                       /* DIR/seq, for *at() calls and fsync */
    struct store_table table;         /* every sequence, max_id as on disk */
    struct store_reserve reserve;     /* type 5: DIR/snowflake */
    bool reserve_open;
};

/* ---- names ------------------------------------------------------------ */

static bool file_name_byte_ok(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

/* The file name (inside seq/) of a sequence. out has FILE_NAME_SIZE bytes. */
static void file_name_for(const char *name, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    char esc[SEQ_NAME_MAX * 3 + 1];
    size_t n = 0;
    const char *p;

    for (p = name; *p && n + 3 < sizeof(esc); p++) {
        unsigned char c = (unsigned char)*p;
        if (file_name_byte_ok(c)) {
            esc[n++] = (char)c;
        } else {
            esc[n++] = '%';
            esc[n++] = hex[c >> 4];
            esc[n++] = hex[c & 15];
        }
    }
    esc[n] = '\0';
    if (n <= FILE_ESC_MAX) {
        memcpy(out, esc, n);
        memcpy(out + n, FILE_EXT, sizeof(FILE_EXT));
    } else {
        /* The hash only has to spread long names: a collision is caught
         * by file_create, which compares the file names of all sequences. */
        snprintf(out, FILE_NAME_SIZE, "%.*s~%016" PRIx64 FILE_EXT, FILE_ESC_KEEP, esc,
                 fnv1a64(FNV1A64_INIT, name, strlen(name)));
    }
}

static bool str_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* ---- the sequence file format ------------------------------------------- */

/* A sequence file's text fits here unless its texts are long and full of
 * bytes JSON escapes (file_render then asks cJSON for a heap copy). */
#define FILE_TEXT_BUF 4096

/* Renders a sequence file into buf (FILE_TEXT_BUF bytes). 64-bit values
 * are decimal strings: a JSON number is a double in cJSON and would round
 * them. Returns buf, or a longer text to free with cJSON_free, or NULL
 * when cJSON ran out of memory.
 *
 * Why a buffer of the caller's: cJSON_Print grows a buffer of its own
 * and shrinks it with realloc at the end, on every write. The small free
 * chunks that left were where the table entry made next (a 48-byte chunk,
 * store_table.h) landed, among the write's freed temporaries, and each
 * entry then kept a few hundred bytes of them resident (the memory
 * probe's file store: 613 bytes a sequence beyond the name, 360 without). */
static char *file_render(const struct seqdef *def, uint64_t max_id, int64_t period, char *buf)
{
    char starting[24], increment[24], segment[24], perm_key[24], max[24], epoch[24], per[24];
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    bool ok;

    if (o == NULL)
        return NULL;
    snprintf(starting, sizeof(starting), "%" PRId64, def->starting);
    snprintf(increment, sizeof(increment), "%" PRId64, def->increment);
    snprintf(segment, sizeof(segment), "%" PRIu64, def->segment);
    snprintf(perm_key, sizeof(perm_key), "%" PRIu64, def->perm_key);
    snprintf(max, sizeof(max), "%" PRIu64, max_id);
    snprintf(epoch, sizeof(epoch), "%" PRId64, def->epoch_ms);
    ok = cJSON_AddNumberToObject(o, "format", FILE_FORMAT) != NULL &&
         cJSON_AddStringToObject(o, "name", def->name) != NULL &&
         cJSON_AddNumberToObject(o, "kind", def->kind) != NULL &&
         cJSON_AddNumberToObject(o, "length", def->length) != NULL &&
         cJSON_AddStringToObject(o, "starting", starting) != NULL &&
         cJSON_AddStringToObject(o, "increment", increment) != NULL &&
         cJSON_AddStringToObject(o, "segment", segment) != NULL &&
         cJSON_AddStringToObject(o, "perm_key", perm_key) != NULL &&
         cJSON_AddNumberToObject(o, "auto_disk", def->auto_disk) != NULL &&
         cJSON_AddStringToObject(o, "description", def->description) != NULL &&
         cJSON_AddStringToObject(o, "max_id", max) != NULL &&
         (def->kind != SEQ_SNOWFLAKE || cJSON_AddStringToObject(o, "epoch", epoch) != NULL);
    /* Type 4's keys; other kinds' files stay as they were. */
    snprintf(per, sizeof(per), "%" PRId64, period);
    if (ok && def->kind == SEQ_DATED)
        ok = cJSON_AddStringToObject(o, "prefix", def->prefix) != NULL &&
             cJSON_AddStringToObject(o, "tz", def->tz) != NULL &&
             cJSON_AddStringToObject(o, "period", per) != NULL;
    if (ok)
        text = cJSON_PrintPreallocated(o, buf, FILE_TEXT_BUF, true) ? buf : cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}

static const char *const file_keys[] = {
    "format", "name", "kind", "length", "starting", "increment", "segment",
    "perm_key", "auto_disk", "description", "max_id", "epoch", "prefix", "tz", "period",
};

/* A small int field: a JSON number with no fraction, in [min, max]. */
static int json_int(const cJSON *o, const char *key, int min, int max, int *out,
                    char *why, size_t whylen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (v == NULL) {
        snprintf(why, whylen, "'%s' is missing", key);
        return -1;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < min || v->valuedouble > max ||
        v->valuedouble != (double)(int)v->valuedouble) {
        snprintf(why, whylen, "'%s' must be a whole number from %d to %d", key, min, max);
        return -1;
    }
    *out = (int)v->valuedouble;
    return 0;
}

/* A 64-bit field: a decimal string (as written), or a whole JSON number
 * small enough to be exact in a double (a hand-edited file). */
static int json_int64(const cJSON *o, const char *key, bool is_signed, uint64_t *out,
                      char *why, size_t whylen)
{
    const double exact = 9007199254740992.0; /* 2^53 */
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    int64_t i;

    if (v == NULL) {
        snprintf(why, whylen, "'%s' is missing", key);
        return -1;
    }
    if (cJSON_IsString(v)) {
        size_t len = strlen(v->valuestring);
        if (is_signed && parse_i64(v->valuestring, len, &i)) {
            *out = (uint64_t)i;
            return 0;
        }
        if (!is_signed && parse_u64(v->valuestring, len, out))
            return 0;
    } else if (cJSON_IsNumber(v) && v->valuedouble <= exact &&
               v->valuedouble >= (is_signed ? -exact : 0) &&
               v->valuedouble == (double)(int64_t)v->valuedouble) {
        *out = (uint64_t)(int64_t)v->valuedouble;
        return 0;
    }
    snprintf(why, whylen, "'%s' must be a string holding a decimal %s", key,
             is_signed ? "64-bit integer" : "unsigned 64-bit integer");
    return -1;
}

static int json_str(const cJSON *o, const char *key, char *out, size_t size,
                    char *why, size_t whylen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (v == NULL) {
        snprintf(why, whylen, "'%s' is missing", key);
        return -1;
    }
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= size) {
        snprintf(why, whylen, "'%s' must be a string of at most %zu bytes", key, size - 1);
        return -1;
    }
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
    return 0;
}

/* Parses a sequence file's text (NUL-terminated, len bytes). Returns 0, or
 * -1 with the reason in why. */
static int file_parse(const char *text, size_t len, struct seqdef *def, uint64_t *max_id,
                      int64_t *period, char *why, size_t whylen)
{
    const char *end = NULL;
    cJSON *o, *v;
    uint64_t u;
    int format, rc = -1;
    size_t i;

    memset(def, 0, sizeof(*def));
    if (strlen(text) != len) {
        snprintf(why, whylen, "contains a NUL byte");
        return -1;
    }
    o = cJSON_ParseWithOpts(text, &end, true);
    if (o == NULL) {
        snprintf(why, whylen, "not valid JSON (at byte %td)", end ? end - text : (ptrdiff_t)0);
        return -1;
    }
    if (!cJSON_IsObject(o)) {
        snprintf(why, whylen, "not a JSON object");
        goto out;
    }
    /* Every key must be known and appear once: a typo must not silently
     * fall back to something else. */
    cJSON_ArrayForEach(v, o) {
        bool known = false;
        const cJSON *w;
        for (i = 0; i < ARRAY_SIZE(file_keys); i++)
            if (v->string != NULL && strcmp(v->string, file_keys[i]) == 0)
                known = true;
        if (!known) {
            snprintf(why, whylen, "unknown key '%s'", v->string ? v->string : "");
            goto out;
        }
        for (w = v->next; w != NULL; w = w->next)
            if (w->string != NULL && strcmp(w->string, v->string) == 0) {
                snprintf(why, whylen, "key '%s' appears twice", v->string);
                goto out;
            }
    }
    if (json_int(o, "format", 0, INT_MAX, &format, why, whylen) != 0)
        goto out;
    if (format != FILE_FORMAT) {
        snprintf(why, whylen, "format %d is not supported (this seqd reads format %d)", format,
                 FILE_FORMAT);
        goto out;
    }
    if (json_str(o, "name", def->name, sizeof(def->name), why, whylen) != 0 ||
        json_int(o, "kind", INT_MIN, INT_MAX, &def->kind, why, whylen) != 0 ||
        json_int(o, "length", INT_MIN, INT_MAX, &def->length, why, whylen) != 0 ||
        json_int64(o, "starting", true, &u, why, whylen) != 0)
        goto out;
    def->starting = (int64_t)u;
    if (json_int64(o, "increment", true, &u, why, whylen) != 0)
        goto out;
    def->increment = (int64_t)u;
    if (json_int64(o, "segment", false, &def->segment, why, whylen) != 0 ||
        json_int64(o, "perm_key", false, &def->perm_key, why, whylen) != 0 ||
        json_int(o, "auto_disk", INT_MIN, INT_MAX, &def->auto_disk, why, whylen) != 0 ||
        json_str(o, "description", def->description, sizeof(def->description), why,
                 whylen) != 0 ||
        json_int64(o, "max_id", false, max_id, why, whylen) != 0)
        goto out;
    /* Written for type 5 only; a file without it has epoch 0. */
    if (cJSON_GetObjectItemCaseSensitive(o, "epoch") != NULL) {
        if (json_int64(o, "epoch", true, &u, why, whylen) != 0)
            goto out;
        def->epoch_ms = (int64_t)u;
    }
    *period = 0;
    if (def->kind == SEQ_DATED) {
        if (json_str(o, "prefix", def->prefix, sizeof(def->prefix), why, whylen) != 0 ||
            json_str(o, "tz", def->tz, sizeof(def->tz), why, whylen) != 0 ||
            json_int64(o, "period", true, &u, why, whylen) != 0)
            goto out;
        *period = (int64_t)u;
    } else if (cJSON_GetObjectItemCaseSensitive(o, "prefix") || cJSON_GetObjectItemCaseSensitive(o, "tz") ||
               cJSON_GetObjectItemCaseSensitive(o, "period")) {
        snprintf(why, whylen, "'prefix', 'tz' and 'period' belong to kind 4 only");
        goto out;
    }
    if (seqdef_validate(def, why, whylen) != 0)
        goto out;
    rc = 0;
out:
    cJSON_Delete(o);
    return rc;
}

/* ---- disk --------------------------------------------------------------- */

/* Makes seq/<file> hold (def, max_id, period) durably (file_write_at). */
static enum file_put file_put(struct file_store *fs, const char *file, const struct seqdef *def,
                              uint64_t max_id, int64_t period, char *err, size_t errlen)
{
    char where[CONFIG_STR_MAX + 8], buf[FILE_TEXT_BUF];
    enum file_put put;
    char *text;

    text = file_render(def, max_id, period, buf);
    if (text == NULL) {
        snprintf(err, errlen, "out of memory writing %s/seq/%s", fs->dir, file);
        return FILE_PUT_FAILED;
    }
    snprintf(where, sizeof(where), "%s/seq", fs->dir);
    put = file_write_at(fs->seq_fd, where, file, text, err, errlen);
    if (text != buf)
        cJSON_free(text);
    return put;
}

/* Best effort: makes the entry of a just-created directory durable. */
static void fsync_parent(const char *path)
{
    char *parent = xstrdup(path);
    char *slash = strrchr(parent, '/');
    int fd;

    if (slash == parent)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    else
        strcpy(parent, ".");
    fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(parent);
}

/* mkdir -p with FILE_DIR_MODE for what it creates. */
static int mkdir_p(const char *path, char *err, size_t errlen)
{
    char *p = xstrdup(path);
    char *s = p;
    struct stat sb;
    int rc = -1;

    for (;;) {
        bool last;
        while (*s == '/')
            s++;
        while (*s != '\0' && *s != '/')
            s++;
        last = *s == '\0' || strspn(s, "/") == strlen(s);
        *s = '\0';
        if (mkdir(p, FILE_DIR_MODE) == 0) {
            fsync_parent(p);
        } else {
            int e = errno;
            if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
                snprintf(err, errlen, "store.dir %s: cannot create %s: %s", path, p,
                         e == EEXIST ? "not a directory" : strerror(e));
                goto out;
            }
        }
        if (last)
            break;
        *s++ = '/';
    }
    rc = 0;
out:
    free(p);
    return rc;
}

/* Takes DIR/LOCK for the life of the process and writes our pid in it.
 * Returns the fd, or -1 with a message naming the holder's pid. */
static int file_lock(int dir_fd, const char *dir, char *err, size_t errlen)
{
    char buf[32];
    int fd, n;

    fd = openat(dir_fd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, FILE_MODE);
    if (fd < 0) {
        snprintf(err, errlen, "store.dir %s: cannot open %s/LOCK: %s", dir, dir, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            ssize_t r = pread(fd, buf, sizeof(buf) - 1, 0);
            uint64_t pid;
            size_t len;
            buf[r > 0 ? r : 0] = '\0';
            len = strcspn(buf, "\n");
            if (parse_u64(buf, len, &pid))
                snprintf(err, errlen, "store.dir %s is in use by another seqd (pid %" PRIu64 ")",
                         dir, pid);
            else
                snprintf(err, errlen, "store.dir %s is in use by another seqd (pid unknown)", dir);
        } else {
            snprintf(err, errlen, "store.dir %s: cannot lock %s/LOCK: %s", dir, dir,
                     strerror(errno));
        }
        close(fd);
        return -1;
    }
    n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
        snprintf(err, errlen, "store.dir %s: cannot write %s/LOCK: %s", dir, dir, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}


/* Reads one sequence file into the table. */
static int file_load_one(struct file_store *fs, const char *file, char *err, size_t errlen)
{
    struct seqdef def;
    uint64_t max_id;
    int64_t period;
    char why[1024] = "";
    char expect[FILE_NAME_SIZE];
    char *text = NULL;
    size_t got = 0;
    int rc = -1;

    if (file_read_at(fs->seq_fd, file, &text, &got, why, sizeof(why)) != 0)
        goto out;
    if (file_parse(text, got, &def, &max_id, &period, why, sizeof(why)) != 0)
        goto out;
    /* A renamed or copied file would make two names share a counter, or
     * put a sequence where create would never look: refuse it. */
    file_name_for(def.name, expect);
    if (strcmp(expect, file) != 0) {
        snprintf(why, sizeof(why), "holds sequence '%s', which belongs in %s/seq/%s",
                 def.name, fs->dir, expect);
        goto out;
    }
    if (store_table_add(&fs->table, &def, max_id, why, sizeof(why)) != STORE_OK)
        goto out;
    table_seq_set_period(store_table_find(&fs->table, def.name), period);
    rc = 0;
out:
    if (rc != 0)
        snprintf(err, errlen, "store.dir: sequence file %s/seq/%s: %s; fix or remove it", fs->dir,
                 file, why);
    free(text);
    return rc;
}

/* Removes leftover temporary files and loads every sequence file. */
static int file_load(struct file_store *fs, char *err, size_t errlen)
{
    struct dirent *de;
    bool removed = false;
    int rc = -1;
    int fd = dup(fs->seq_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

    if (d == NULL) {
        snprintf(err, errlen, "store.dir %s: cannot read %s/seq: %s", fs->dir, fs->dir,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    while ((errno = 0, de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
            continue;
        if (n[0] == '.' && str_ends_with(n, FILE_TMP_EXT)) {
            /* A write that a crash interrupted before its rename: the
             * sequence file itself still holds the last durable state. */
            if (unlinkat(fs->seq_fd, n, 0) != 0) {
                snprintf(err, errlen, "store.dir %s: cannot remove %s/seq/%s: %s", fs->dir,
                         fs->dir, n, strerror(errno));
                goto out;
            }
            log_notice("store: removed leftover %s/seq/%s", fs->dir, n);
            removed = true;
        } else if (n[0] != '.' && str_ends_with(n, FILE_EXT)) {
            if (file_load_one(fs, n, err, errlen) != 0)
                goto out;
        } else {
            log_warn("store: ignoring %s/seq/%s (not a sequence file)", fs->dir, n);
        }
    }
    if (errno != 0) {
        snprintf(err, errlen, "store.dir %s: cannot read %s/seq: %s", fs->dir, fs->dir,
                 strerror(errno));
        goto out;
    }
    if (removed && fsync(fs->seq_fd) != 0) {
        snprintf(err, errlen, "store.dir %s: cannot fsync %s/seq: %s", fs->dir, fs->dir,
                 strerror(errno));
        goto out;
    }
    rc = 0;
out:
    closedir(d);
    return rc;
}

/* ---- the recorded id_step / id_offset ------------------------------------ */

/* Parses id_step.json: {"id_step": N, "id_offset": K}. Returns 0, or -1
 * with the reason in why. */
static int file_spread_parse(const char *text, struct store_spread *sp, char *why, size_t whylen)
{
    cJSON *o = cJSON_Parse(text);
    int step, offset, rc = -1;

    if (!cJSON_IsObject(o)) {
        snprintf(why, whylen, "not a JSON object");
        goto out;
    }
    if (json_int(o, "id_step", 1, INT_MAX, &step, why, whylen) != 0 ||
        json_int(o, "id_offset", 0, step - 1, &offset, why, whylen) != 0)
        goto out;
    sp->step = (uint64_t)step;
    sp->offset = (uint64_t)offset;
    rc = 0;
out:
    cJSON_Delete(o);
    return rc;
}

/* Have counters of any sequence been claimed (a max_id above 0)? */
static bool file_has_claims(const struct file_store *fs)
{
    for (size_t i = 0; i < fs->table.n; i++)
        if (fs->table.seqs[i]->max_id > 0)
            return true;
    return false;
}

/* Checks the configuration's id_step and id_offset against what the store
 * recorded, and records them on the store's first start
 * (store_spread_check). After file_load: the table says whether counters
 * were claimed. Returns 0, or -1 with the reason in err. */
static int file_spread_check(struct file_store *fs, int dir_fd, const struct config *cfg,
                             char *err, size_t errlen)
{
    const struct store_spread config = { cfg->id_step, cfg->id_offset };
    struct store_spread recorded;
    char where[CONFIG_STR_MAX + 64], why[256], text[128];
    char *old = NULL;
    size_t len;
    int rc;

    snprintf(where, sizeof(where), "store.dir %s (%s)", fs->dir, FILE_SPREAD);
    rc = file_read_at(dir_fd, FILE_SPREAD, &old, &len, why, sizeof(why));
    if (rc == 0 && file_spread_parse(old, &recorded, why, sizeof(why)) != 0)
        rc = -1;
    free(old);
    if (rc < 0) {
        snprintf(err, errlen, "store.dir: %s/%s: %s; it records the id_step and id_offset this "
                 "store was started with: restore it (\"id_step\" and \"id_offset\" as numbers)",
                 fs->dir, FILE_SPREAD, why);
        return -1;
    }
    switch (store_spread_check(rc == 0 ? &recorded : NULL, file_has_claims(fs), &config, where,
                               err, errlen)) {
    case STORE_SPREAD_MATCHES:
        return 0;
    case STORE_SPREAD_REFUSE:
        return -1;
    case STORE_SPREAD_RECORD:
        break;
    }
    snprintf(text, sizeof(text), "{\"id_step\": %" PRIu64 ", \"id_offset\": %" PRIu64 "}\n",
             config.step, config.offset);
    if (file_write_at(dir_fd, fs->dir, FILE_SPREAD, text, why, sizeof(why)) != FILE_PUT_OK) {
        snprintf(err, errlen, "store.dir: cannot record id_step and id_offset: %s", why);
        return -1;
    }
    log_notice("store: %s/%s records id_step %" PRIu64 ", id_offset %" PRIu64, fs->dir, FILE_SPREAD,
               config.step, config.offset);
    return 0;
}

/* ---- the backend -------------------------------------------------------- */

static void file_free(struct file_store *fs)
{
    store_table_free(&fs->table);
    if (fs->reserve_open)
        store_reserve_close(&fs->reserve);
    if (fs->seq_fd >= 0)
        close(fs->seq_fd);
    /* Closing the last fd of LOCK releases the flock. */
    if (fs->lock_fd >= 0)
        close(fs->lock_fd);
    pthread_mutex_destroy(&fs->lock);
    free(fs->dir);
    free(fs);
}

static int file_open(struct store *st, const struct config *cfg, char *err, size_t errlen)
{
    struct file_store *fs;
    size_t len;
    int dir_fd = -1;

    if (cfg->store_dir[0] == '\0') {
        snprintf(err, errlen, "store.dir is not set (the file store needs a data directory)");
        return -1;
    }
    fs = xcalloc(1, sizeof(*fs));
    pthread_mutex_init(&fs->lock, NULL);
    store_table_init(&fs->table);
    fs->lock_fd = fs->seq_fd = -1;
    fs->dir = xstrdup(cfg->store_dir);
    len = strlen(fs->dir);
    while (len > 1 && fs->dir[len - 1] == '/')
        fs->dir[--len] = '\0';

    if (mkdir_p(fs->dir, err, errlen) != 0)
        goto fail;
    dir_fd = open(fs->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) {
        snprintf(err, errlen, "store.dir %s: cannot open: %s", fs->dir, strerror(errno));
        goto fail;
    }
    fs->lock_fd = file_lock(dir_fd, fs->dir, err, errlen);
    if (fs->lock_fd < 0)
        goto fail;
    if (mkdirat(dir_fd, "seq", FILE_DIR_MODE) == 0) {
        fsync(dir_fd);
    } else if (errno != EEXIST) {
        snprintf(err, errlen, "store.dir %s: cannot create %s/seq: %s", fs->dir, fs->dir,
                 strerror(errno));
        goto fail;
    }
    fs->seq_fd = openat(dir_fd, "seq", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fs->seq_fd < 0) {
        snprintf(err, errlen, "store.dir %s: cannot open %s/seq: %s", fs->dir, fs->dir,
                 strerror(errno));
        goto fail;
    }
    if (file_load(fs, err, errlen) != 0 || file_spread_check(fs, dir_fd, cfg, err, errlen) != 0)
        goto fail;
    fs->reserve_open = true;
    if (store_reserve_open(&fs->reserve, fs->dir, err, errlen) != 0)
        goto fail;
    close(dir_fd);
    st->priv = fs;
    log_verbose("store: %s holds %zu sequences", fs->dir, fs->table.n);
    return 0;

fail:
    if (dir_fd >= 0)
        close(dir_fd);
    file_free(fs);
    return -1;
}

static void file_close(struct store *st)
{
    if (st->priv == NULL)
        return;
    file_free(st->priv);
    st->priv = NULL;
}

static void *file_session_open(struct store *st)
{
    return st;
}

static void file_session_close(struct store *st, void *sess)
{
}

static int file_claim(struct store *st, void *sess, const char *name, uint64_t want, int64_t period,
                      const struct seqdef *expect, struct claim *out, char *err, size_t errlen)
{
    struct file_store *fs = st->priv;
    struct table_seq *s;
    struct claim c;
    char file[FILE_NAME_SIZE];
    uint64_t top;
    int rc;

    pthread_mutex_lock(&fs->lock);
    s = store_table_get(&fs->table, name, err, errlen);
    if (s == NULL) {
        rc = STORE_NOT_FOUND;
        goto out;
    }
    rc = store_table_claim_range(s, want, period, expect, &c, err, errlen);
    if (rc != STORE_OK)
        goto out;
    top = c.start + c.count;
    file_name_for(name, file);
    switch (file_put(fs, file, &c.def, top, c.period, err, errlen)) {
    case FILE_PUT_OK:
        *out = c;
        s->max_id = top;
        table_seq_set_period(s, c.period);
        break;
    case FILE_PUT_UNSURE:
        /* The new max_id may or may not survive a crash: the range is
         * never served, and never issued again either. */
        s->max_id = top;
        table_seq_set_period(s, c.period);
        rc = STORE_UNKNOWN;
        break;
    default:
        rc = STORE_ERROR;
        break;
    }
out:
    pthread_mutex_unlock(&fs->lock);
    return rc;
}

/* Whatever happens on disk is safe here: the range was never served, so a
 * file left at `to` or at `from` both keep every served counter below it.
 * An empty range moves nothing and writes nothing. */
static int file_give_back(struct store *st, void *sess, const char *name, uint64_t from,
                          uint64_t to, int64_t period, const struct seqdef *expect, char *err, size_t errlen)
{
    struct file_store *fs = st->priv;
    struct table_seq *s;
    struct seqdef def;
    char file[FILE_NAME_SIZE];
    int rc;

    pthread_mutex_lock(&fs->lock);
    s = store_table_get(&fs->table, name, err, errlen);
    if (s == NULL) {
        rc = STORE_NOT_FOUND;
        goto out;
    }
    rc = store_table_give_back_check(s, from, to, period, expect);
    if (rc != STORE_OK || s->max_id == from)
        goto out;
    file_name_for(name, file);
    table_seq_def(s, &def);
    if (file_put(fs, file, &def, from, table_seq_period(s), err, errlen) == FILE_PUT_OK)
        s->max_id = from;
    else
        rc = STORE_ERROR;
out:
    pthread_mutex_unlock(&fs->lock);
    return rc;
}

/* Two names whose files would be the same (a hash collision of long
 * escaped names) cannot both be kept: STORE_ERROR naming the other one.
 * Escaping alone is one-to-one and its files have no '~', so only a
 * hashed file can collide, and only with another hashed one: the search
 * through every sequence is for those (it would make defining n short
 * names cost n * n / 2 escapes). */
static int file_name_free(const struct file_store *fs, const char *name, const char *file,
                          char *err, size_t errlen)
{
    char other[FILE_NAME_SIZE];
    size_t i;

    if (strchr(file, '~') == NULL)
        return STORE_OK;
    for (i = 0; i < fs->table.n; i++) {
        const char *known = table_seq_name(fs->table.seqs[i]);
        file_name_for(known, other);
        if (strcmp(other, file) == 0) {
            snprintf(err, errlen, "sequence name '%s' would share file %s with '%s'; "
                     "choose another name", name, file, known);
            return STORE_ERROR;
        }
    }
    return STORE_OK;
}

static int file_create(struct store *st, void *sess, const struct seqdef *def,
                       char *err, size_t errlen)
{
    struct file_store *fs = st->priv;
    char file[FILE_NAME_SIZE];
    int rc;

    /* What is written must load at the next start (and an empty name
     * would make a hidden file that the next start never reads): the
     * table's own check comes before the write. */
    pthread_mutex_lock(&fs->lock);
    rc = store_table_check_new(&fs->table, def, err, errlen);
    if (rc != STORE_OK)
        goto out;
    file_name_for(def->name, file);
    rc = file_name_free(fs, def->name, file, err, errlen);
    if (rc != STORE_OK)
        goto out;
    switch (file_put(fs, file, def, 0, 0, err, errlen)) {
    case FILE_PUT_OK:
        rc = store_table_add(&fs->table, def, 0, err, errlen);
        break;
    case FILE_PUT_UNSURE:
        /* The file is there now and will be read at the next start, so
         * the table must have it too; the caller hears of the failure. */
        store_table_add(&fs->table, def, 0, NULL, 0);
        rc = STORE_ERROR;
        break;
    default:
        rc = STORE_ERROR;
        break;
    }
out:
    pthread_mutex_unlock(&fs->lock);
    return rc;
}

static int file_drop(struct store *st, void *sess, const char *name, char *err, size_t errlen)
{
    struct file_store *fs = st->priv;
    char file[FILE_NAME_SIZE];
    int rc = STORE_OK;

    pthread_mutex_lock(&fs->lock);
    if (store_table_get(&fs->table, name, err, errlen) == NULL) {
        rc = STORE_NOT_FOUND;
        goto out;
    }
    file_name_for(name, file);
    /* ENOENT: someone removed the file by hand; the sequence is gone. */
    if (unlinkat(fs->seq_fd, file, 0) != 0 && errno != ENOENT) {
        snprintf(err, errlen, "cannot remove %s/seq/%s: %s", fs->dir, file, strerror(errno));
        rc = STORE_ERROR;
        goto out;
    }
    if (fsync(fs->seq_fd) != 0) {
        /* The file is unlinked but may come back after a crash, with its
         * max_id: harmless, and the caller hears of it. */
        snprintf(err, errlen, "cannot fsync %s/seq after removing %s: %s", fs->dir, file,
                 strerror(errno));
        rc = STORE_ERROR;
    }
    store_table_remove(&fs->table, name, NULL, 0);
out:
    pthread_mutex_unlock(&fs->lock);
    return rc;
}

static int file_lookup(struct store *st, void *sess, const char *name, struct seqdef *def,
                       char *err, size_t errlen)
{
    struct file_store *fs = st->priv;
    int rc;

    pthread_mutex_lock(&fs->lock);
    rc = store_table_lookup(&fs->table, name, def, err, errlen);
    pthread_mutex_unlock(&fs->lock);
    return rc;
}

/* Calls each() on a snapshot, so the callback runs without the lock. */
static int file_list(struct store *st, void *sess, store_list_fn *each, void *arg,
                     char *err, size_t errlen)
{
    struct file_store *fs = st->priv;
    struct seqdef *defs;
    size_t i, n;

    pthread_mutex_lock(&fs->lock);
    defs = store_table_defs(&fs->table, &n);
    pthread_mutex_unlock(&fs->lock);

    for (i = 0; i < n; i++)
        each(&defs[i], arg);
    free(defs);
    return STORE_OK;
}

static int file_worker_lease(struct store *st, void *sess, struct worker_lease *lease, char *err,
                             size_t errlen)
{
    struct file_store *fs = st->priv;
    return store_reserve_lease(&fs->reserve, lease, err, errlen);
}

const struct store_ops store_file_ops = {
    .name = "file",
    .shared = false,
    .open = file_open,
    .close = file_close,
    .session_open = file_session_open,
    .session_close = file_session_close,
    .claim = file_claim,
    .give_back = file_give_back,
    .create = file_create,
    .drop = file_drop,
    .lookup = file_lookup,
    .list = file_list,
    .worker_lease = file_worker_lease,
};
