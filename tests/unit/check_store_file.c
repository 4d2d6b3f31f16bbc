/*
 * check_store_file: the store contract, proved on the memory and the file
 * backends alike (definitions, claims that never overlap, give-back as a
 * compare-and-set, odd names), and what only the file store promises:
 * restarts keep everything, one seqd per directory, corrupt files stop
 * start-up with their name, a failed write never advances a counter.
 *
 * Every test works in its own mkdtemp() directory, removed at the end.
 */
#include <check.h>
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "store.h"
#include "store_spread.h"
#include "util.h"

#include "test_defs.h"
#include "test_tmpdir.h"

/* ---- helpers ------------------------------------------------------------ */

static char data_dir[4300];      /* store.dir inside tmp_root, not created yet */
static char err[1024];
static uint64_t open_step = 1, open_offset = 0;   /* id_step, id_offset the stores open with */

/* Checked fixture (teardown: tmp_teardown). */
static void tmp_setup(void)
{
    tmp_make();
    snprintf(data_dir, sizeof(data_dir), "%s/data", tmp_root);
    err[0] = '\0';
    open_step = 1;
    open_offset = 0;
}

/* The two backends every contract test runs on (loop index). */
static const struct store_ops *backend(int i)
{
    return i == 0 ? &store_memory_ops : &store_file_ops;
}

static void store_open_at(struct store *st, const struct store_ops *ops, const char *dir)
{
    struct config cfg;

    config_defaults(&cfg);
    cfg.id_step = open_step;
    cfg.id_offset = open_offset;
    snprintf(cfg.store_dir, sizeof(cfg.store_dir), "%s", dir);
    memset(st, 0, sizeof(*st));
    st->ops = ops;
    ck_assert_msg(ops->open(st, &cfg, err, sizeof(err)) == 0, "open failed: %s", err);
}

static void store_open(struct store *st, const struct store_ops *ops)
{
    store_open_at(st, ops, data_dir);
}

/* Opening must fail; err gets the message. */
static void store_open_fails(const struct store_ops *ops, const char *dir)
{
    struct store st;
    struct config cfg;

    config_defaults(&cfg);
    cfg.id_step = open_step;
    cfg.id_offset = open_offset;
    snprintf(cfg.store_dir, sizeof(cfg.store_dir), "%s", dir);
    memset(&st, 0, sizeof(st));
    st.ops = ops;
    err[0] = '\0';
    ck_assert_int_eq(ops->open(&st, &cfg, err, sizeof(err)), -1);
    ck_assert_ptr_null(st.priv);
}

static void store_restart(struct store *st)
{
    const struct store_ops *ops = st->ops;
    ops->close(st);
    store_open(st, ops);
}

static void create_ok(struct store *st, const struct seqdef *d)
{
    int rc = st->ops->create(st, st, d, err, sizeof(err));
    ck_assert_msg(rc == STORE_OK, "create '%s': %s: %s", d->name, store_status_name(rc), err);
}

static struct claim claim_ok(struct store *st, const char *name, uint64_t want)
{
    struct claim c;
    int rc = st->ops->claim(st, st, name, want, 0, NULL, &c, err, sizeof(err));
    ck_assert_msg(rc == STORE_OK, "claim '%s': %s: %s", name, store_status_name(rc), err);
    return c;
}

/* A give-back of a range claimed from def_increasing(name, ...) (the
 * definition compare ignores the segment). */
static int give_back(struct store *st, const char *name, uint64_t from, uint64_t to)
{
    struct seqdef served = def_increasing(name, 1);
    return st->ops->give_back(st, st, name, from, to, 0, &served, err, sizeof(err));
}

static void give_back_ok(struct store *st, const char *name, uint64_t from, uint64_t to)
{
    int rc = give_back(st, name, from, to);
    ck_assert_msg(rc == STORE_OK, "give_back '%s': %s: %s", name, store_status_name(rc), err);
}

/* A give-back that is not at the top any more changes nothing and says so. */
static void give_back_stale(struct store *st, const char *name, uint64_t from, uint64_t to)
{
    int rc = give_back(st, name, from, to);
    ck_assert_msg(rc == STORE_STALE, "give_back '%s': %s: %s", name, store_status_name(rc), err);
}

/* Every field equal (seqdef_same() of seqdef.h ignores segment, description...). */
static bool def_equal(const struct seqdef *a, const struct seqdef *b)
{
    return strcmp(a->name, b->name) == 0 && a->kind == b->kind && a->length == b->length &&
           a->starting == b->starting && a->increment == b->increment &&
           a->segment == b->segment && a->perm_key == b->perm_key &&
           a->auto_disk == b->auto_disk && strcmp(a->description, b->description) == 0;
}

struct names {
    char name[64][SEQ_NAME_MAX + 1];
    int n;
};

static void collect(const struct seqdef *def, void *arg)
{
    struct names *ns = arg;
    ck_assert_int_lt(ns->n, 64);
    snprintf(ns->name[ns->n++], SEQ_NAME_MAX + 1, "%s", def->name);
}

static struct names list_names(struct store *st)
{
    struct names ns;

    memset(&ns, 0, sizeof(ns));
    ck_assert_int_eq(st->ops->list(st, st, collect, &ns, err, sizeof(err)), STORE_OK);
    return ns;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static char *read_text(const char *path)
{
    static char buf[8192];
    FILE *f = fopen(path, "r");
    size_t n;

    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static bool path_exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* ---- both backends: the contract ---------------------------------------- */

START_TEST(test_create_lookup_list_drop)
{
    struct store st;
    struct seqdef a = def_increasing("alpha", 100), b = def_increasing("beta", 200), got;
    struct names ns;

    store_open(&st, backend(_i));
    ns = list_names(&st);
    ck_assert_int_eq(ns.n, 0);

    create_ok(&st, &b);
    create_ok(&st, &a);
    ck_assert_int_eq(st.ops->lookup(&st, &st, "alpha", &got, err, sizeof(err)), STORE_OK);
    ck_assert(def_equal(&got, &a));
    ck_assert_int_eq(st.ops->lookup(&st, &st, "beta", &got, err, sizeof(err)), STORE_OK);
    ck_assert(def_equal(&got, &b));
    ns = list_names(&st);
    ck_assert_int_eq(ns.n, 2);
    ck_assert_str_eq(ns.name[0], "alpha");
    ck_assert_str_eq(ns.name[1], "beta");

    ck_assert_int_eq(st.ops->drop(&st, &st, "alpha", err, sizeof(err)), STORE_OK);
    ck_assert_int_eq(st.ops->lookup(&st, &st, "alpha", &got, err, sizeof(err)), STORE_NOT_FOUND);
    ns = list_names(&st);
    ck_assert_int_eq(ns.n, 1);
    ck_assert_str_eq(ns.name[0], "beta");
    st.ops->close(&st);
}
END_TEST

START_TEST(test_create_twice_is_exists_and_keeps_the_first)
{
    struct store st;
    struct seqdef a = def_increasing("dup", 100), a2 = def_increasing("dup", 999), got;

    store_open(&st, backend(_i));
    create_ok(&st, &a);
    claim_ok(&st, "dup", 0);
    ck_assert_int_eq(st.ops->create(&st, &st, &a2, err, sizeof(err)), STORE_EXISTS);
    ck_assert_int_eq(st.ops->lookup(&st, &st, "dup", &got, err, sizeof(err)), STORE_OK);
    ck_assert_uint_eq(got.segment, 100);
    /* The counter was not reset by the refused create. */
    ck_assert_uint_eq(claim_ok(&st, "dup", 0).start, 100);
    st.ops->close(&st);
}
END_TEST

START_TEST(test_unknown_name_is_not_found)
{
    struct store st;
    struct claim c;
    struct seqdef got;

    store_open(&st, backend(_i));
    ck_assert_int_eq(st.ops->claim(&st, &st, "nope", 1, 0, NULL, &c, err, sizeof(err)), STORE_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err, "nope"));
    ck_assert_int_eq(give_back(&st, "nope", 0, 1), STORE_NOT_FOUND);
    ck_assert_int_eq(st.ops->drop(&st, &st, "nope", err, sizeof(err)), STORE_NOT_FOUND);
    ck_assert_int_eq(st.ops->lookup(&st, &st, "nope", &got, err, sizeof(err)), STORE_NOT_FOUND);
    st.ops->close(&st);
}
END_TEST

START_TEST(test_invalid_definition_is_refused)
{
    struct store st;
    struct seqdef bad = def_increasing("bad", 100), noname = def_increasing("", 100), got;

    store_open(&st, backend(_i));
    bad.kind = 7;
    ck_assert_int_eq(st.ops->create(&st, &st, &bad, err, sizeof(err)), STORE_ERROR);
    ck_assert_int_eq(st.ops->lookup(&st, &st, "bad", &got, err, sizeof(err)), STORE_NOT_FOUND);
    ck_assert_int_eq(st.ops->create(&st, &st, &noname, err, sizeof(err)), STORE_ERROR);
    ck_assert_int_eq(list_names(&st).n, 0);
    st.ops->close(&st);
}
END_TEST

START_TEST(test_claims_are_disjoint_increasing_and_at_least_a_segment)
{
    static const uint64_t wants[] = { 0, 1, 999, 1000, 1001, 5000, 3 };
    struct store st;
    struct seqdef d = def_increasing("orders", 1000);
    uint64_t next = 0;
    size_t i;

    store_open(&st, backend(_i));
    create_ok(&st, &d);
    for (i = 0; i < ARRAY_SIZE(wants); i++) {
        struct claim c = claim_ok(&st, "orders", wants[i]);
        ck_assert_uint_eq(c.start, next);
        ck_assert_uint_eq(c.count, wants[i] > 1000 ? wants[i] : 1000);
        ck_assert(def_equal(&c.def, &d));
        next = c.start + c.count;
    }
    st.ops->close(&st);
}
END_TEST

START_TEST(test_give_back_only_at_the_top)
{
    struct store st;
    struct seqdef d = def_increasing("gb", 100);
    struct claim a, b, c;

    store_open(&st, backend(_i));
    create_ok(&st, &d);
    a = claim_ok(&st, "gb", 0);
    b = claim_ok(&st, "gb", 0);
    ck_assert_uint_eq(b.start, 100);
    /* a is no longer the top: a later claim (b) took counters after it. */
    give_back_stale(&st, "gb", a.start + 10, a.start + a.count);
    c = claim_ok(&st, "gb", 0);
    ck_assert_uint_eq(c.start, 200);
    /* c is the top: its unused tail comes back and is claimed again. */
    give_back_ok(&st, "gb", c.start + 40, c.start + c.count);
    ck_assert_uint_eq(claim_ok(&st, "gb", 0).start, 240);
    /* A stale give-back of c after that claim does nothing. */
    give_back_stale(&st, "gb", c.start + 40, c.start + c.count);
    ck_assert_uint_eq(claim_ok(&st, "gb", 0).start, 340);
    st.ops->close(&st);
}
END_TEST

/* DEL + HSET of a name with the same step: the new row reaches the old
 * range's `to` after as many claims. A give-back of the old definition's
 * range must leave it alone, or its numbers would be claimed (and served)
 * twice (tests/model/README.md, GB_ANY_DEF). */
START_TEST(test_give_back_of_a_deleted_definition_leaves_the_new_one_alone)
{
    struct store st;
    struct seqdef old = def_increasing("re", 100), now = old;
    struct claim a, b;

    store_open(&st, backend(_i));
    old.perm_key = 1;
    create_ok(&st, &old);
    a = claim_ok(&st, "re", 0);
    ck_assert_int_eq(st.ops->drop(&st, &st, "re", err, sizeof(err)), STORE_OK);
    now.perm_key = 2;               /* HSET draws a fresh key */
    create_ok(&st, &now);
    b = claim_ok(&st, "re", 0);
    ck_assert_uint_eq(b.start + b.count, a.start + a.count);    /* the same max_id */
    ck_assert_int_eq(st.ops->give_back(&st, &st, "re", a.start, a.start + a.count, 0, &old, err,
                                       sizeof(err)), STORE_STALE);
    ck_assert_uint_eq(claim_ok(&st, "re", 0).start, b.start + b.count);
    if (st.ops == &store_file_ops) {
        store_restart(&st);         /* nor did it reach the disk */
        ck_assert_uint_eq(claim_ok(&st, "re", 0).start, b.start + 2 * b.count);
    }
    st.ops->close(&st);
}
END_TEST

START_TEST(test_counter_overflow_is_an_error)
{
    struct store st;
    struct seqdef d = def_increasing("big", 1000);
    struct claim c;

    store_open(&st, backend(_i));
    create_ok(&st, &d);
    c = claim_ok(&st, "big", UINT64_MAX - 500);
    ck_assert_uint_eq(c.start, 0);
    ck_assert_uint_eq(c.count, UINT64_MAX - 500);
    ck_assert_int_eq(st.ops->claim(&st, &st, "big", 0, 0, NULL, &c, err, sizeof(err)), STORE_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "sequence counter overflow"));
    /* 500 are left, less than a segment: a larger want fails too. */
    ck_assert_int_eq(st.ops->claim(&st, &st, "big", 1001, 0, NULL, &c, err, sizeof(err)), STORE_ERROR);
    st.ops->close(&st);
}
END_TEST

#define CONC_THREADS 4
#define CONC_CLAIMS 40

struct conc {
    struct store *st;
    int id;
    struct claim got[CONC_CLAIMS];
    int rc[CONC_CLAIMS];
};

static void *conc_run(void *arg)
{
    struct conc *c = arg;
    char e[256];
    int i;

    for (i = 0; i < CONC_CLAIMS; i++)
        c->rc[i] = c->st->ops->claim(c->st, c->st, (i + c->id) % 2 ? "odd" : "even",
                                     (uint64_t)(i % 3) * 60, 0, NULL, &c->got[i], e, sizeof(e));
    return NULL;
}

static int claim_cmp(const void *a, const void *b)
{
    const struct claim *x = a, *y = b;
    int n = strcmp(x->def.name, y->def.name);
    if (n != 0)
        return n;
    return x->start < y->start ? -1 : x->start > y->start;
}

START_TEST(test_concurrent_claims_never_overlap)
{
    static struct conc conc[CONC_THREADS];
    static struct claim all[CONC_THREADS * CONC_CLAIMS];
    pthread_t t[CONC_THREADS];
    struct store st;
    struct seqdef odd = def_increasing("odd", 50), even = def_increasing("even", 70);
    size_t n = 0, i;
    int j, k;

    store_open(&st, backend(_i));
    create_ok(&st, &odd);
    create_ok(&st, &even);
    for (j = 0; j < CONC_THREADS; j++) {
        conc[j].st = &st;
        conc[j].id = j;
        ck_assert_int_eq(pthread_create(&t[j], NULL, conc_run, &conc[j]), 0);
    }
    for (j = 0; j < CONC_THREADS; j++)
        pthread_join(t[j], NULL);
    for (j = 0; j < CONC_THREADS; j++)
        for (k = 0; k < CONC_CLAIMS; k++) {
            ck_assert_int_eq(conc[j].rc[k], STORE_OK);
            all[n++] = conc[j].got[k];
        }
    qsort(all, n, sizeof(all[0]), claim_cmp);
    /* Sorted per name, the ranges tile [0, max_id) with no gap or overlap. */
    for (i = 0; i < n; i++) {
        if (i == 0 || strcmp(all[i].def.name, all[i - 1].def.name) != 0)
            ck_assert_uint_eq(all[i].start, 0);
        else
            ck_assert_uint_eq(all[i].start, all[i - 1].start + all[i - 1].count);
        ck_assert_uint_ge(all[i].count, all[i].def.segment);
    }
    st.ops->close(&st);
}
END_TEST

static const char *const odd_names[] = {
    "a/b", "..", ".", "x:y", "%41", "A", "-", "_", "a.b", "../../etc/passwd", "~", "\"q\\",
    /* Long names whose escaped form is too long for a file name. */
    "................................................................"
    "................................................................",
    "................................................................"
    "...............................................................!",
};

START_TEST(test_odd_names_round_trip)
{
    struct store st;
    struct seqdef got;
    struct names ns;
    size_t i;
    int pass;

    store_open(&st, backend(_i));
    for (i = 0; i < ARRAY_SIZE(odd_names); i++) {
        struct seqdef d = def_increasing(odd_names[i], 10 + i);
        create_ok(&st, &d);
        claim_ok(&st, odd_names[i], 0);
    }
    /* The file store must also read them all back after a restart. */
    for (pass = 0; pass < (_i == 0 ? 1 : 2); pass++) {
        if (pass == 1)
            store_restart(&st);
        ns = list_names(&st);
        ck_assert_int_eq(ns.n, (int)ARRAY_SIZE(odd_names));
        for (i = 0; i < ARRAY_SIZE(odd_names); i++) {
            ck_assert_int_eq(st.ops->lookup(&st, &st, odd_names[i], &got, err, sizeof(err)),
                             STORE_OK);
            ck_assert_str_eq(got.name, odd_names[i]);
            ck_assert_uint_eq(got.segment, 10 + i);
            ck_assert_uint_eq(claim_ok(&st, odd_names[i], 0).start, (10 + i) * (pass + 1));
        }
    }
    st.ops->close(&st);
}
END_TEST

START_TEST(test_all_fields_round_trip_exactly)
{
    struct store st;
    struct seqdef r, f, got;
    struct claim c;

    store_open(&st, backend(_i));
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "rand");
    r.kind = SEQ_RANDOM;
    r.length = 18;
    r.starting = 100000000000000000;
    r.increment = 1;
    r.segment = 12345;
    r.perm_key = 0xFEDCBA9876543211ull;   /* not exact as a double */
    r.auto_disk = AUTO_DISK_PRE_CLOSE;
    snprintf(r.description, sizeof(r.description), "quote\" back\\slash \x01\x7f \xff\xfe end");
    memset(&f, 0, sizeof(f));
    snprintf(f.name, sizeof(f.name), "fixed");
    f.kind = SEQ_FIXED;
    f.length = 18;
    f.starting = 100000000000000001;     /* not exact as a double */
    f.increment = 9007199254740993;
    f.segment = 9007199254740993ull;
    create_ok(&st, &r);
    create_ok(&st, &f);
    c = claim_ok(&st, "rand", 0);
    if (_i == 1)
        store_restart(&st);
    ck_assert_int_eq(st.ops->lookup(&st, &st, "rand", &got, err, sizeof(err)), STORE_OK);
    ck_assert(def_equal(&got, &r));
    ck_assert_int_eq(st.ops->lookup(&st, &st, "fixed", &got, err, sizeof(err)), STORE_OK);
    ck_assert(def_equal(&got, &f));
    ck_assert_uint_eq(claim_ok(&st, "rand", 0).start, c.start + c.count);
    st.ops->close(&st);
}
END_TEST

/* ---- the file store only ------------------------------------------------ */

START_TEST(test_restart_keeps_definitions_and_max_id)
{
    struct store st;
    struct seqdef a = def_increasing("a", 1000), b = def_increasing("b", 10), got;
    struct claim c;

    store_open(&st, &store_file_ops);
    create_ok(&st, &a);
    create_ok(&st, &b);
    claim_ok(&st, "a", 0);
    claim_ok(&st, "a", 0);
    c = claim_ok(&st, "b", 0);
    give_back_ok(&st, "b", c.start + 3, c.start + c.count);

    store_restart(&st);
    ck_assert_int_eq(list_names(&st).n, 2);
    ck_assert_int_eq(st.ops->lookup(&st, &st, "a", &got, err, sizeof(err)), STORE_OK);
    ck_assert(def_equal(&got, &a));
    ck_assert_uint_eq(claim_ok(&st, "a", 0).start, 2000);
    /* The give-back survived the restart: b resumes at 3, not 10. */
    ck_assert_uint_eq(claim_ok(&st, "b", 0).start, 3);

    /* A clean close after more claims, once more. */
    store_restart(&st);
    ck_assert_uint_eq(claim_ok(&st, "a", 0).start, 3000);
    ck_assert_uint_eq(claim_ok(&st, "b", 0).start, 13);
    st.ops->close(&st);
}
END_TEST

START_TEST(test_drop_survives_restart_and_recreate_starts_over)
{
    struct store st;
    struct seqdef a = def_increasing("gone", 100), got;
    char path[8192];

    store_open(&st, &store_file_ops);
    create_ok(&st, &a);
    claim_ok(&st, "gone", 0);
    snprintf(path, sizeof(path), "%s/seq/gone.json", data_dir);
    ck_assert(path_exists(path));
    ck_assert_int_eq(st.ops->drop(&st, &st, "gone", err, sizeof(err)), STORE_OK);
    ck_assert(!path_exists(path));
    store_restart(&st);
    ck_assert_int_eq(st.ops->lookup(&st, &st, "gone", &got, err, sizeof(err)), STORE_NOT_FOUND);
    create_ok(&st, &a);
    ck_assert_uint_eq(claim_ok(&st, "gone", 0).start, 0);
    st.ops->close(&st);
}
END_TEST

START_TEST(test_file_names_escape_odd_bytes)
{
    static const char *const cases[][2] = {
        { "a/b", "a%2Fb.json" }, { "..", "%2E%2E.json" }, { "x:y", "x%3Ay.json" },
        { "%41", "%2541.json" }, { "A-z_09", "A-z_09.json" },
    };
    struct store st;
    char path[8192];
    size_t i;

    store_open(&st, &store_file_ops);
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        struct seqdef d = def_increasing(cases[i][0], 10);
        create_ok(&st, &d);
        snprintf(path, sizeof(path), "%s/seq/%s", data_dir, cases[i][1]);
        ck_assert_msg(path_exists(path), "%s missing for '%s'", path, cases[i][0]);
    }
    st.ops->close(&st);
}
END_TEST

START_TEST(test_sequence_file_is_json_with_64_bit_values_as_strings)
{
    struct store st;
    struct seqdef d = def_increasing("fmt", 1000);
    char path[8192];
    cJSON *o;

    store_open(&st, &store_file_ops);
    d.perm_key = UINT64_MAX;
    create_ok(&st, &d);
    claim_ok(&st, "fmt", 0);
    snprintf(path, sizeof(path), "%s/seq/fmt.json", data_dir);
    o = cJSON_Parse(read_text(path));
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(cJSON_GetObjectItem(o, "format")->valueint, 1);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "name")->valuestring, "fmt");
    ck_assert_int_eq(cJSON_GetObjectItem(o, "kind")->valueint, 3);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "max_id")->valuestring, "1000");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "perm_key")->valuestring, "18446744073709551615");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "segment")->valuestring, "1000");
    cJSON_Delete(o);
    st.ops->close(&st);
}
END_TEST

START_TEST(test_second_open_of_a_dir_in_use_fails_naming_the_pid)
{
    struct store st, st2;
    char want[8192];

    store_open(&st, &store_file_ops);
    store_open_fails(&store_file_ops, data_dir);
    snprintf(want, sizeof(want), "store.dir %s is in use by another seqd (pid %ld)", data_dir,
             (long)getpid());
    ck_assert_str_eq(err, want);
    /* Closing releases the directory. */
    st.ops->close(&st);
    store_open(&st2, &store_file_ops);
    st2.ops->close(&st2);
}
END_TEST

START_TEST(test_open_creates_the_dir_with_parents_and_mode_0750)
{
    struct store st;
    char dir[8192], lock[8300], pid[32];
    const char *parts[] = { "/p", "/p/q", "/p/q/r", "/p/q/r/seq" };
    struct stat sb;
    size_t i;
    mode_t old = umask(022);

    snprintf(dir, sizeof(dir), "%s/p/q/r/", tmp_root);   /* trailing slash too */
    store_open_at(&st, &store_file_ops, dir);
    for (i = 0; i < ARRAY_SIZE(parts); i++) {
        snprintf(dir, sizeof(dir), "%s%s", tmp_root, parts[i]);
        ck_assert_int_eq(stat(dir, &sb), 0);
        ck_assert(S_ISDIR(sb.st_mode));
        ck_assert_int_eq(sb.st_mode & 0777, 0750);
    }
    snprintf(lock, sizeof(lock), "%s/p/q/r/LOCK", tmp_root);
    snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    ck_assert_str_eq(read_text(lock), pid);
    st.ops->close(&st);
    umask(old);
}
END_TEST

START_TEST(test_open_without_store_dir_fails)
{
    store_open_fails(&store_file_ops, "");
    ck_assert_ptr_nonnull(strstr(err, "store.dir is not set"));
}
END_TEST

START_TEST(test_open_on_a_file_fails)
{
    char path[8192];

    snprintf(path, sizeof(path), "%s/plain", tmp_root);
    write_text(path, "x");
    store_open_fails(&store_file_ops, path);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "not a directory"));
}
END_TEST

/* A sequence file that open must refuse, and words the message must hold. */
struct corrupt {
    const char *file;
    const char *text;
    const char *why;
};

#define GOOD_BODY "\"kind\": 3, \"length\": 0, \"starting\": \"1\", \"increment\": \"1\", " \
    "\"segment\": \"10\", \"perm_key\": \"0\", \"auto_disk\": 0, \"description\": \"\""

static const struct corrupt corrupt_files[] = {
    { "s.json", "", "not valid JSON" },
    { "s.json", "{\"format\": 1, \"name\": \"s\",", "not valid JSON" },
    { "s.json", "[1, 2]", "not a JSON object" },
    { "s.json", "{\"format\": 1, \"name\": \"s\", " GOOD_BODY "}", "'max_id' is missing" },
    { "s.json", "{\"format\": 1, \"name\": \"s\", " GOOD_BODY ", \"max_id\": \"-1\"}", "'max_id'" },
    { "s.json", "{\"format\": 1, \"name\": \"s\", " GOOD_BODY ", \"max_id\": 1.5}", "'max_id'" },
    { "s.json", "{\"format\": 1, \"name\": \"s\", " GOOD_BODY ", \"max_id\": \"18446744073709551616\"}",
      "'max_id'" },
    { "s.json", "{\"format\": 2, \"name\": \"s\", " GOOD_BODY ", \"max_id\": \"5\"}", "format 2" },
    { "s.json", "{\"format\": 1, \"name\": \"s\", " GOOD_BODY ", \"max_id\": \"5\", \"maxid\": 1}",
      "unknown key 'maxid'" },
    { "s.json", "{\"format\": 1, \"name\": \"s\", " GOOD_BODY ", \"max_id\": \"5\", \"max_id\": \"9\"}",
      "appears twice" },
    { "t.json", "{\"format\": 1, \"name\": \"s\", " GOOD_BODY ", \"max_id\": \"5\"}",
      "belongs in" },
    { "s.json", "{\"format\": 1, \"name\": \"s\", \"kind\": 9, \"length\": 0, \"starting\": \"1\", "
      "\"increment\": \"1\", \"segment\": \"10\", \"perm_key\": \"0\", \"auto_disk\": 0, "
      "\"description\": \"\", \"max_id\": \"5\"}", "kind 9" },
};

START_TEST(test_corrupt_sequence_file_stops_open_naming_the_file)
{
    const struct corrupt *c = &corrupt_files[_i];
    struct store st;
    struct seqdef ok = def_increasing("fine", 10);
    char path[8192];

    store_open(&st, &store_file_ops);
    create_ok(&st, &ok);
    st.ops->close(&st);
    snprintf(path, sizeof(path), "%s/seq/%s", data_dir, c->file);
    write_text(path, c->text);
    store_open_fails(&store_file_ops, data_dir);
    ck_assert_msg(strstr(err, path) != NULL, "message does not name %s: %s", path, err);
    ck_assert_msg(strstr(err, c->why) != NULL, "message lacks '%s': %s", c->why, err);
    /* The refused open released the directory: fixing the file is enough. */
    unlink(path);
    store_open(&st, &store_file_ops);
    ck_assert_int_eq(list_names(&st).n, 1);
    st.ops->close(&st);
}
END_TEST

START_TEST(test_hand_written_numbers_are_accepted)
{
    struct store st;
    char path[8192];

    store_open(&st, &store_file_ops);
    st.ops->close(&st);
    snprintf(path, sizeof(path), "%s/seq/s.json", data_dir);
    write_text(path, "{\"format\": 1, \"name\": \"s\", \"kind\": 3, \"length\": 0, \"starting\": 5, "
               "\"increment\": 2, \"segment\": 10, \"perm_key\": 0, \"auto_disk\": 0, "
               "\"description\": \"by hand\", \"max_id\": 70}");
    store_open(&st, &store_file_ops);
    ck_assert_uint_eq(claim_ok(&st, "s", 0).start, 70);
    st.ops->close(&st);
}
END_TEST

START_TEST(test_leftover_tmp_files_are_removed_and_others_ignored)
{
    struct store st;
    struct seqdef d = def_increasing("x", 100);
    char tmp[8192], other[8192];

    store_open(&st, &store_file_ops);
    create_ok(&st, &d);
    claim_ok(&st, "x", 0);
    st.ops->close(&st);
    /* What a crash between write and rename leaves behind. */
    snprintf(tmp, sizeof(tmp), "%s/seq/.x.json.tmp", data_dir);
    write_text(tmp, "{\"format\": 1, \"name\": \"x\", \"max_id\": \"99999");
    snprintf(other, sizeof(other), "%s/seq/README", data_dir);
    write_text(other, "not a sequence");
    store_open(&st, &store_file_ops);
    ck_assert(!path_exists(tmp));
    ck_assert(path_exists(other));
    ck_assert_int_eq(list_names(&st).n, 1);
    ck_assert_uint_eq(claim_ok(&st, "x", 0).start, 100);
    st.ops->close(&st);
}
END_TEST

/* A directory where the temporary file goes makes every write fail, even
 * for root: the way to prove a failed write changes nothing. */
START_TEST(test_failed_write_advances_nothing)
{
    struct store st;
    struct seqdef s = def_increasing("s", 1000), t = def_increasing("t", 10), got;
    struct claim c;
    char block[8192];

    store_open(&st, &store_file_ops);
    create_ok(&st, &s);
    claim_ok(&st, "s", 0);

    snprintf(block, sizeof(block), "%s/seq/.s.json.tmp", data_dir);
    ck_assert_int_eq(mkdir(block, 0700), 0);
    ck_assert_int_eq(st.ops->claim(&st, &st, "s", 0, 0, NULL, &c, err, sizeof(err)), STORE_ERROR);
    ck_assert_msg(strstr(err, ".s.json.tmp") != NULL, "%s", err);
    ck_assert_int_eq(give_back(&st, "s", 500, 1000), STORE_ERROR);
    ck_assert_int_eq(rmdir(block), 0);
    /* Neither the failed claim nor the failed give-back moved max_id. */
    ck_assert_uint_eq(claim_ok(&st, "s", 0).start, 1000);

    snprintf(block, sizeof(block), "%s/seq/.t.json.tmp", data_dir);
    ck_assert_int_eq(mkdir(block, 0700), 0);
    ck_assert_int_eq(st.ops->create(&st, &st, &t, err, sizeof(err)), STORE_ERROR);
    ck_assert_int_eq(st.ops->lookup(&st, &st, "t", &got, err, sizeof(err)), STORE_NOT_FOUND);
    ck_assert_int_eq(rmdir(block), 0);

    store_restart(&st);
    ck_assert_uint_eq(claim_ok(&st, "s", 0).start, 2000);
    ck_assert_int_eq(list_names(&st).n, 1);
    st.ops->close(&st);
}
END_TEST

/* ---- store.c ------------------------------------------------------------ */

START_TEST(test_store_find_by_type_name)
{
    ck_assert_ptr_eq(store_find("file"), &store_file_ops);
    ck_assert_ptr_eq(store_find("memory"), &store_memory_ops);
    ck_assert_ptr_eq(store_find("mysql"), &store_mysql_ops);
    ck_assert_ptr_null(store_find("redis"));
    ck_assert_ptr_null(store_find(""));
    ck_assert_ptr_null(store_find(NULL));
    ck_assert(!store_memory_ops.shared);
    ck_assert(!store_file_ops.shared);
    ck_assert_str_eq(store_status_name(STORE_OK), "ok");
    ck_assert_str_eq(store_status_name(STORE_UNKNOWN), "unknown outcome");
    ck_assert_str_eq(store_status_name(99), "invalid status");
}
END_TEST

/* ---- the recorded id_step / id_offset ------------------------------------ */

START_TEST(test_spread_rule_records_once_and_refuses_another_pair)
{
    const struct store_spread one = { 1, 0 }, two0 = { 2, 0 }, two1 = { 2, 1 };
    char msg[1024];

    ck_assert_int_eq(store_spread_check(&two1, true, &two1, "W", msg, sizeof(msg)), STORE_SPREAD_MATCHES);
    ck_assert_int_eq(store_spread_check(&one, false, &one, "W", msg, sizeof(msg)), STORE_SPREAD_MATCHES);
    /* No record: a store nothing was claimed from takes any pair; one
     * with claims handed them out with 1, 0 (a seqd before id_step). */
    ck_assert_int_eq(store_spread_check(NULL, false, &two1, "W", msg, sizeof(msg)), STORE_SPREAD_RECORD);
    ck_assert_int_eq(store_spread_check(NULL, true, &one, "W", msg, sizeof(msg)), STORE_SPREAD_RECORD);
    ck_assert_int_eq(store_spread_check(NULL, true, &two0, "W", msg, sizeof(msg)), STORE_SPREAD_REFUSE);
    ck_assert_str_eq(msg, "W has handed out numbers but records no id_step/id_offset, so they were "
                          "handed out with id_step 1, id_offset 0; the configuration says id_step 2, "
                          "id_offset 0, and changing them on a store that has handed out numbers could "
                          "hand one out again; set \"id_step\": 1, \"id_offset\": 0 in the "
                          "configuration, or give the new pair an empty store");
    /* A record is kept whatever the store holds. */
    ck_assert_int_eq(store_spread_check(&two0, false, &two1, "W", msg, sizeof(msg)), STORE_SPREAD_REFUSE);
    ck_assert_str_eq(msg, "W records id_step 2, id_offset 0, but the configuration says id_step 2, "
                          "id_offset 1: a store keeps the pair it was started with, since changing it "
                          "on a store that has handed out numbers could hand one out again; set "
                          "\"id_step\": 2, \"id_offset\": 0 in the configuration, or give the new "
                          "pair an empty store");
    ck_assert_int_eq(store_spread_check(&one, true, &two0, "W", msg, sizeof(msg)), STORE_SPREAD_REFUSE);
}
END_TEST

START_TEST(test_file_store_records_id_step_and_refuses_another)
{
    struct store st;
    char path[8192], *text;

    open_step = 3;
    open_offset = 2;
    store_open(&st, &store_file_ops);
    st.ops->close(&st);
    snprintf(path, sizeof(path), "%s/id_step.json", data_dir);
    text = read_text(path);
    ck_assert_str_eq(text, "{\"id_step\": 3, \"id_offset\": 2}\n");

    open_offset = 1;
    store_open_fails(&store_file_ops, data_dir);
    ck_assert_msg(strstr(err, "id_step.json) records id_step 3, id_offset 2, but the configuration says "
                              "id_step 3, id_offset 1") != NULL, "%s", err);
    open_step = 1;
    open_offset = 0;
    store_open_fails(&store_file_ops, data_dir);
    ck_assert_msg(strstr(err, "set \"id_step\": 3, \"id_offset\": 2") != NULL, "%s", err);

    open_step = 3;
    open_offset = 2;
    store_open(&st, &store_file_ops);
    st.ops->close(&st);
}
END_TEST

/* A data directory of a seqd before id_step (claims, no record) was
 * served with 1, 0: it takes that pair, and refuses any other. Only
 * defined sequences (copied to a new group's store) take any pair. */
START_TEST(test_file_store_with_sequences_and_no_record_is_id_step_1)
{
    struct store st;
    struct seqdef d = def_increasing("old", 10);
    char path[8192], *text;

    store_open(&st, &store_file_ops);
    create_ok(&st, &d);
    claim_ok(&st, "old", 0);
    st.ops->close(&st);
    snprintf(path, sizeof(path), "%s/id_step.json", data_dir);
    ck_assert_int_eq(unlink(path), 0);

    open_step = 2;
    store_open_fails(&store_file_ops, data_dir);
    ck_assert_msg(strstr(err, "has handed out numbers but records no id_step/id_offset") != NULL, "%s", err);
    ck_assert(!path_exists(path));

    open_step = 1;
    store_open(&st, &store_file_ops);
    st.ops->close(&st);
    text = read_text(path);
    ck_assert_str_eq(text, "{\"id_step\": 1, \"id_offset\": 0}\n");

    /* Defined, never claimed from: any pair. */
    rm_tree(data_dir);
    store_open(&st, &store_file_ops);
    create_ok(&st, &d);
    st.ops->close(&st);
    ck_assert_int_eq(unlink(path), 0);
    open_step = 2;
    open_offset = 1;
    store_open(&st, &store_file_ops);
    st.ops->close(&st);
    ck_assert_str_eq(read_text(path), "{\"id_step\": 2, \"id_offset\": 1}\n");
}
END_TEST

START_TEST(test_corrupt_id_step_file_stops_open_naming_it)
{
    struct store st;
    char path[8192];

    store_open(&st, &store_file_ops);
    st.ops->close(&st);
    snprintf(path, sizeof(path), "%s/id_step.json", data_dir);
    write_text(path, "{\"id_step\": 2, \"id_offset\": 2}");
    store_open_fails(&store_file_ops, data_dir);
    ck_assert_msg(strstr(err, "id_step.json: 'id_offset' must be a whole number from 0 to 1") != NULL,
                  "%s", err);
    write_text(path, "nonsense");
    store_open_fails(&store_file_ops, data_dir);
    ck_assert_msg(strstr(err, "id_step.json: not a JSON object; it records the id_step") != NULL, "%s", err);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *both = tcase_create("memory and file");
    TCase *file = tcase_create("file only");
    TCase *misc = tcase_create("store");

    tcase_add_loop_test(both, test_create_lookup_list_drop, 0, 2);
    tcase_add_loop_test(both, test_create_twice_is_exists_and_keeps_the_first, 0, 2);
    tcase_add_loop_test(both, test_unknown_name_is_not_found, 0, 2);
    tcase_add_loop_test(both, test_invalid_definition_is_refused, 0, 2);
    tcase_add_loop_test(both, test_claims_are_disjoint_increasing_and_at_least_a_segment, 0, 2);
    tcase_add_loop_test(both, test_give_back_only_at_the_top, 0, 2);
    tcase_add_loop_test(both, test_give_back_of_a_deleted_definition_leaves_the_new_one_alone, 0, 2);
    tcase_add_loop_test(both, test_counter_overflow_is_an_error, 0, 2);
    tcase_add_loop_test(both, test_concurrent_claims_never_overlap, 0, 2);
    tcase_add_loop_test(both, test_odd_names_round_trip, 0, 2);
    tcase_add_loop_test(both, test_all_fields_round_trip_exactly, 0, 2);
    tcase_add_checked_fixture(both, tmp_setup, tmp_teardown);
    suite_add_tcase(s, both);

    tcase_add_test(file, test_restart_keeps_definitions_and_max_id);
    tcase_add_test(file, test_drop_survives_restart_and_recreate_starts_over);
    tcase_add_test(file, test_file_names_escape_odd_bytes);
    tcase_add_test(file, test_sequence_file_is_json_with_64_bit_values_as_strings);
    tcase_add_test(file, test_second_open_of_a_dir_in_use_fails_naming_the_pid);
    tcase_add_test(file, test_open_creates_the_dir_with_parents_and_mode_0750);
    tcase_add_test(file, test_open_without_store_dir_fails);
    tcase_add_test(file, test_open_on_a_file_fails);
    tcase_add_loop_test(file, test_corrupt_sequence_file_stops_open_naming_the_file, 0,
                        (int)ARRAY_SIZE(corrupt_files));
    tcase_add_test(file, test_hand_written_numbers_are_accepted);
    tcase_add_test(file, test_leftover_tmp_files_are_removed_and_others_ignored);
    tcase_add_test(file, test_failed_write_advances_nothing);
    tcase_add_test(file, test_file_store_records_id_step_and_refuses_another);
    tcase_add_test(file, test_file_store_with_sequences_and_no_record_is_id_step_1);
    tcase_add_test(file, test_corrupt_id_step_file_stops_open_naming_it);
    tcase_add_checked_fixture(file, tmp_setup, tmp_teardown);
    suite_add_tcase(s, file);

    tcase_add_test(misc, test_store_find_by_type_name);
    tcase_add_test(misc, test_spread_rule_records_once_and_refuses_another_pair);
    suite_add_tcase(s, misc);
    return s;
}

int main(void)
{
    return tmp_run(store_suite, "seqd-check-store");
}
