/*
 * Unit tests of seq: waiters parked on a sequence, and who is told when
 * its claim lands. The store is the real memory store behind the real
 * store pool; env.wake records which worker was told about which
 * sequence instead of posting to a worker thread.
 *
 * What they prove: a landing claim tells only the workers that have
 * waiters on that sequence, and hands each worker only its own waiters of
 * that sequence (issue 7: "a claim that lands wakes only the waiters of
 * that sequence"); a waiter that stopped waiting is not handed over; a
 * deleted sequence tells its waiters at once.
 *
 * And what a sequence costs in memory: 100,000 sequences of each kind,
 * the heap's growth per sequence (mallinfo2: the struct, what it
 * allocates, malloc's overhead and the registry's buckets) stays under a
 * bound that a 200-byte array put back into struct seq would break.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "seq.h"
#include "store.h"
#include "store_pool.h"
#include "util.h"

#include "test_heap.h"

#define MAX_WAKES 64

static struct {
    pthread_mutex_t lock;
    int n;
    int worker[MAX_WAKES];
    struct seq *seq[MAX_WAKES];
} wakes = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct store st;
static struct store_pool *pool;

/* env.wake: remember (worker, sequence); the reference is the test's. */
static void record_wake(int worker, struct seq *s)
{
    pthread_mutex_lock(&wakes.lock);
    ck_assert_int_lt(wakes.n, MAX_WAKES);
    wakes.worker[wakes.n] = worker;
    wakes.seq[wakes.n] = s;
    wakes.n++;
    pthread_mutex_unlock(&wakes.lock);
}

static int wakes_of(int worker, const struct seq *s)
{
    int n = 0;
    pthread_mutex_lock(&wakes.lock);
    for (int i = 0; i < wakes.n; i++)
        n += wakes.worker[i] == worker && wakes.seq[i] == s;
    pthread_mutex_unlock(&wakes.lock);
    return n;
}

static void release_wakes(void)
{
    pthread_mutex_lock(&wakes.lock);
    for (int i = 0; i < wakes.n; i++)
        seq_release(wakes.seq[i]);
    wakes.n = 0;
    pthread_mutex_unlock(&wakes.lock);
}

/* Wait (bounded) until worker has been told about s. */
static bool wait_wake(int worker, const struct seq *s)
{
    for (int i = 0; i < 500; i++) {
        if (wakes_of(worker, s) > 0)
            return true;
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
    }
    return false;
}

static void setup_with(int claim_delay_ms, void (*wake)(int worker_id, struct seq *s))
{
    struct config cfg;
    char err[256];

    config_defaults(&cfg);
    st.ops = &store_memory_ops;
    st.test_delay_ms = claim_delay_ms;
    ck_assert_int_eq(st.ops->open(&st, &cfg, err, sizeof(err)), 0);
    pool = store_pool_start(&st, 2);
    struct seq_env env = { .pool = pool, .segment_max = 1000, .duration_ms = 900000, .wake = wake };
    seq_registry_init(&env);
}

static void setup_with_delay(int claim_delay_ms)
{
    setup_with(claim_delay_ms, record_wake);
}

static void setup_slow(void)
{
    setup_with_delay(300);
}

static void teardown(void)
{
    seq_registry_stop_claims();
    store_pool_stop(pool);
    release_wakes();
    seq_registry_free();
    st.ops->close(&st);
}

/* A type 3 sequence in the store and in the registry (a new reference). */
static struct seq *define(const char *name)
{
    struct seqdef def;
    char err[256];
    const char *fields[] = { "type", "3", "segment", "10" };
    const size_t lens[] = { 4, 1, 7, 2 };

    ck_assert_int_eq(seqdef_from_fields(&def, name, strlen(name), 4, fields, lens, 10, 1, err, sizeof(err)), 0);
    ck_assert_int_eq(st.ops->create(&st, st.ops->session_open(&st), &def, err, sizeof(err)), STORE_OK);
    return seq_add(&def);
}

static int chain_length(struct seq_waiter *w)
{
    int n = 0;
    for (; w; w = w->next)
        n++;
    return n;
}

static bool chain_has(struct seq_waiter *chain, const struct seq_waiter *w)
{
    for (; chain; chain = chain->next)
        if (chain == w)
            return true;
    return false;
}

START_TEST(landing_claim_tells_only_the_workers_waiting_on_that_sequence)
{
    struct seq *a = define("a"), *b = define("b");
    struct seq_waiter wa0 = { .worker_id = 0 }, wa0b = { .worker_id = 0 }, wb1 = { .worker_id = 1 };
    int64_t out[1];
    uint64_t got;

    /* Nothing is buffered yet: all three park, and two claims start. */
    ck_assert_int_eq(seq_take(a, &wa0, out, 1, &got, SEQ_SOME), SEQ_WAIT);
    ck_assert_int_eq(seq_take(a, &wa0b, out, 1, &got, SEQ_SOME), SEQ_WAIT);
    ck_assert_int_eq(seq_take(b, &wb1, out, 1, &got, SEQ_SOME), SEQ_WAIT);
    ck_assert(wa0.linked && wa0b.linked && wb1.linked);

    ck_assert(wait_wake(0, a));
    ck_assert(wait_wake(1, b));
    ck_assert_int_eq(wakes_of(1, a), 0);      /* worker 1 has no waiter on a */
    ck_assert_int_eq(wakes_of(0, b), 0);      /* worker 0 has no waiter on b */

    /* Worker 0 gets its two waiters of a, not b's; worker 1 none of a's. */
    ck_assert_ptr_null(seq_ready_waiters(a, 1));
    struct seq_waiter *ready = seq_ready_waiters(a, 0);
    ck_assert_int_eq(chain_length(ready), 2);
    ck_assert(chain_has(ready, &wa0) && chain_has(ready, &wa0b));
    ck_assert(!chain_has(ready, &wb1));
    ck_assert(!wa0.linked && !wa0b.linked && wb1.linked);
    ck_assert_ptr_null(seq_ready_waiters(a, 0));  /* handed over once */

    struct seq_waiter *ready_b = seq_ready_waiters(b, 1);
    ck_assert_int_eq(chain_length(ready_b), 1);
    ck_assert_ptr_eq(ready_b, &wb1);

    /* And now the numbers are there. */
    ck_assert_int_eq(seq_take(a, &wa0, out, 1, &got, SEQ_SOME), SEQ_TAKEN);
    ck_assert_int_eq(got, 1);
    seq_release(a);
    seq_release(b);
}
END_TEST

START_TEST(a_waiter_that_takes_its_numbers_after_all_is_not_left_parked)
{
    struct seq *a = define("a");
    struct seq_waiter w = { .worker_id = 0 };
    int64_t out[1];
    uint64_t got;

    ck_assert_int_eq(seq_take(a, &w, out, 1, &got, SEQ_SOME), SEQ_WAIT);
    ck_assert(w.linked);
    ck_assert(wait_wake(0, a));
    /* Taken again before its worker collected it: it leaves the list. */
    ck_assert_int_eq(seq_take(a, &w, out, 1, &got, SEQ_SOME), SEQ_TAKEN);
    ck_assert(!w.linked);
    ck_assert_ptr_null(seq_ready_waiters(a, 0));
    seq_release(a);
}
END_TEST

START_TEST(a_waiter_that_stopped_waiting_is_not_handed_over)
{
    struct seq *a = define("a");
    struct seq_waiter gone = { .worker_id = 0 }, stays = { .worker_id = 0 };
    int64_t out[1];
    uint64_t got;

    /* The claim takes 300 ms: both park; one gives up before it lands. */
    ck_assert_int_eq(seq_take(a, &gone, out, 1, &got, SEQ_SOME), SEQ_WAIT);
    ck_assert_int_eq(seq_take(a, &stays, out, 1, &got, SEQ_SOME), SEQ_WAIT);
    seq_unpark(a, &gone);
    ck_assert(!gone.linked);
    seq_unpark(a, &gone);                     /* twice is harmless */

    ck_assert(wait_wake(0, a));
    struct seq_waiter *ready = seq_ready_waiters(a, 0);
    ck_assert_int_eq(chain_length(ready), 1);
    ck_assert_ptr_eq(ready, &stays);
    seq_release(a);
}
END_TEST

START_TEST(a_deleted_sequence_tells_its_waiters_at_once)
{
    struct seq *a = define("a");
    struct seq_waiter w = { .worker_id = 3 };
    int64_t out[1];
    uint64_t got;

    ck_assert_int_eq(seq_take(a, &w, out, 1, &got, SEQ_SOME), SEQ_WAIT);
    seq_remove("a", 1);                       /* the claim is still 300 ms away */
    ck_assert_int_eq(wakes_of(3, a), 1);
    ck_assert_ptr_eq(seq_ready_waiters(a, 3), &w);
    ck_assert_int_eq(seq_take(a, &w, out, 1, &got, SEQ_SOME), SEQ_GONE);
    ck_assert(!w.linked);
    seq_release(a);
}
END_TEST

START_TEST(a_claims_latency_is_counted_from_submit_to_install)
{
    struct seq *a = define("a");
    struct seq_waiter w = { .worker_id = 0 };
    struct seq_info info;
    struct hist h;
    int64_t out[1];
    uint64_t got;

    seq_get_info(a, &info);
    ck_assert_uint_eq(info.last_claim_ms, 0);         /* none yet */
    seq_claim_latency(&h);
    ck_assert_uint_eq(hist_count(&h), 0);

    /* The claim takes 300 ms: it lands in the (250 ms, 500 ms] bucket. */
    ck_assert_int_eq(seq_take(a, &w, out, 1, &got, SEQ_SOME), SEQ_WAIT);
    ck_assert(wait_wake(0, a));
    seq_get_info(a, &info);
    ck_assert_uint_gt(info.last_claim_ms, 0);
    ck_assert_uint_ge(info.last_claim_latency_us, 300000);
    ck_assert_uint_lt(info.last_claim_latency_us, 500000);
    seq_claim_latency(&h);
    ck_assert_uint_eq(hist_count(&h), 1);
    for (int i = 0; i < HIST_BOUNDS; i++)
        ck_assert_uint_eq(h.bucket[i], hist_bounds_us[i] == 500000 ? 1 : 0);
    ck_assert_uint_eq(h.bucket[HIST_BOUNDS], 0);
    ck_assert_uint_eq(h.sum_us, info.last_claim_latency_us);
    ck_assert_ptr_eq(seq_ready_waiters(a, 0), &w);
    seq_release(a);
}
END_TEST

/* ---- memory per sequence ------------------------------------------------- */

#define MEM_SEQS 100000
#define MEM_USED_SEQS 20000

/* A definition of each kind, as HSET would make it (name set later). */
static void kind_def(int kind, uint64_t segment, struct seqdef *def)
{
    static const char *const fields[][8] = {
        [SEQ_RANDOM] = { "type", "1", "length", "8" },
        [SEQ_FIXED] = { "type", "2", "length", "8" },
        [SEQ_INCREASING] = { "type", "3" },
        [SEQ_DATED] = { "type", "4", "prefix", "%y%m%d", "length", "4", "tz", "UTC" },
        [SEQ_SNOWFLAKE] = { "type", "5" },
    };
    const char *argv[8];
    size_t argl[8];
    int argc = 0;
    char err[256];

    for (; argc < 8 && fields[kind][argc]; argc++) {
        argv[argc] = fields[kind][argc];
        argl[argc] = strlen(argv[argc]);
    }
    ck_assert_int_eq(seqdef_from_fields(def, "x", 1, argc, argv, argl, segment, 42, err, sizeof(err)), 0);
}

/* Heap bytes per sequence of a kind loaded (from a rescan) and never
 * asked for; names as a table's ("seq-k1-000001"). */
static size_t loaded_cost(int kind)
{
    struct seqdef def;
    kind_def(kind, 1000, &def);

    size_t before = heap_in_use();
    for (int i = 0; i < MEM_SEQS; i++) {
        snprintf(def.name, sizeof(def.name), "seq-k%d-%06d", kind, i);
        seq_release(seq_add(&def));
    }
    ck_assert_uint_eq(seq_count(), MEM_SEQS);
    size_t per = (heap_in_use() - before) / MEM_SEQS;
    printf("type %d, loaded and never used: %zu bytes per sequence (sizeof(struct seq) %zu)\n", kind, per,
           sizeof(struct seq));
    fflush(stdout);
    return per;
}

/* The bounds: at most 225 bytes beyond the name's 15 (its 13 characters,
 * two NULs) all in, registry included (234 measured for types 1 to 3: a
 * chunk of 224 and the buckets' 10), type 4 and 5 more for their own
 * state (298, 330). Six bytes more in struct seq take types 1 to 3 to the
 * next chunk (250) and break them; a pthread_mutex_t breaks every one. */
START_TEST(a_loaded_sequence_costs_little_memory)
{
    static const size_t bound[] = { [SEQ_RANDOM] = 240, [SEQ_FIXED] = 240, [SEQ_INCREASING] = 240,
                                    [SEQ_DATED] = 305, [SEQ_SNOWFLAKE] = 340 };
    size_t per = loaded_cost(_i);
    if (HEAP_MEASURED)
        ck_assert_uint_le(per, bound[_i]);
}
END_TEST

static int used_wakes;     /* atomic */

/* env.wake of the memory tests: count, and drop the reference at once. */
static void count_wake(int worker, struct seq *s)
{
    (void)worker;
    __atomic_add_fetch(&used_wakes, 1, __ATOMIC_RELAXED);
    seq_release(s);
}

static void setup_fast(void)
{
    setup_with(0, count_wake);
}

/* A type 3 sequence that has handed out a number: its claim landed, and
 * nothing it allocated for the claim stays behind (the claim state its
 * waiter and its claim needed is freed). Names of 10 bytes, as the
 * memory probe's (contrib/bench.py): the struct and its 12 bytes of text
 * fill a chunk of 208 bytes, which one byte more in struct seq, or a
 * claim state left behind, takes past the bound. */
START_TEST(a_used_type_3_sequence_costs_little_more)
{
    static struct seq *seqs[MEM_USED_SEQS];
    static struct seq_waiter w[MEM_USED_SEQS];
    struct seqdef def;
    char err[256];
    int64_t out[1];
    uint64_t got;

    kind_def(SEQ_INCREASING, 1000, &def);
    void *sess = st.ops->session_open(&st);
    for (int i = 0; i < MEM_USED_SEQS; i++) {
        snprintf(def.name, sizeof(def.name), "used-%05d", i);
        ck_assert_int_eq(st.ops->create(&st, sess, &def, err, sizeof(err)), STORE_OK);
    }
    st.ops->session_close(&st, sess);

    size_t before = heap_in_use();
    for (int i = 0; i < MEM_USED_SEQS; i++) {
        snprintf(def.name, sizeof(def.name), "used-%05d", i);
        seqs[i] = seq_add(&def);
        ck_assert_int_eq(seq_take(seqs[i], &w[i], out, 1, &got, SEQ_SOME), SEQ_WAIT);
    }
    for (int i = 0; i < 1000 && __atomic_load_n(&used_wakes, __ATOMIC_RELAXED) < MEM_USED_SEQS; i++) {
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
    }
    ck_assert_int_eq(__atomic_load_n(&used_wakes, __ATOMIC_RELAXED), MEM_USED_SEQS);
    for (int i = 0; i < MEM_USED_SEQS; i++) {
        ck_assert_ptr_eq(seq_ready_waiters(seqs[i], 0), &w[i]);
        ck_assert_int_eq(seq_take(seqs[i], &w[i], out, 1, &got, SEQ_SOME), SEQ_TAKEN);
        seq_release(seqs[i]);
    }
    /* The jobs are freed just after their wake-up. */
    struct timespec ts = { 0, 200 * 1000000L };
    nanosleep(&ts, NULL);
    size_t per = (heap_in_use() - before) / MEM_USED_SEQS;
    printf("type 3, used: %zu bytes per sequence\n", per);
    fflush(stdout);
    if (HEAP_MEASURED)
        ck_assert_uint_le(per, 226);        /* 222 measured: 208 and the buckets' 13 */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("seq");
    /* Claims take 300 ms, so that every waiter of a test parks before its
     * claim lands. */
    TCase *tc = tcase_create("waiters");
    tcase_add_checked_fixture(tc, setup_slow, teardown);
    tcase_add_test(tc, landing_claim_tells_only_the_workers_waiting_on_that_sequence);
    tcase_add_test(tc, a_waiter_that_takes_its_numbers_after_all_is_not_left_parked);
    tcase_add_test(tc, a_waiter_that_stopped_waiting_is_not_handed_over);
    tcase_add_test(tc, a_deleted_sequence_tells_its_waiters_at_once);
    tcase_add_test(tc, a_claims_latency_is_counted_from_submit_to_install);
    suite_add_tcase(s, tc);
    TCase *mem = tcase_create("memory");
    tcase_add_checked_fixture(mem, setup_fast, teardown);
    tcase_set_timeout(mem, 60);
    tcase_add_loop_test(mem, a_loaded_sequence_costs_little_memory, SEQ_RANDOM, SEQ_SNOWFLAKE + 1);
    tcase_add_test(mem, a_used_type_3_sequence_costs_little_more);
    suite_add_tcase(s, mem);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
