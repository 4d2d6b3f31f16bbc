/*
 * seq: live sequences, their claims, and the registry (see seq.h).
 *
 * Lock order: registry lock, then a sequence's lock. Store calls never
 * happen under either: claims run on the store pool, and only their
 * results are installed under the sequence's lock.
 */
#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lease.h"
#include "log.h"
#include "seq.h"
#include "store.h"
#include "store_pool.h"
#include "util.h"

/* struct seq keeps the kind and auto_disk in 3 bits each, and a name of
 * 10 bytes in a chunk of 208 (seq.h). */
_Static_assert(SEQ_SNOWFLAKE < 8 && AUTO_DISK_PRE_CLOSE < 8, "struct seq: kind or auto_disk outgrew 3 bits");
_Static_assert(offsetof(struct seq, text) <= 188, "struct seq grew: a 10-byte name no longer fits 208 bytes");

/* The registry's hash table starts with this many buckets and doubles
 * whenever it holds more sequences than buckets, so a chain stays about
 * one sequence long however many there are. */
#define REGISTRY_BUCKETS_MIN 4096
/* A failed claim is tried again after 100 ms, doubling up to 500 ms: an
 * outage costs a few cheap attempts a second, and a node serves again
 * within a second of its store coming back. */
#define CLAIM_BACKOFF_MIN_MS 100
#define CLAIM_BACKOFF_MAX_MS 500
/* A graceful stop gives back for at most GIVE_BACK_MAX_MS, GIVE_BACK_CHUNK
 * ranges at a time: the ranges left are wasted (never handed out), so the
 * stop fits the package's stop timeout (45 s, debian/seqd.service) however
 * many sequences were touched. */
#define GIVE_BACK_MAX_MS 20000
#define GIVE_BACK_CHUNK 5000
/* A claim's error and a type 5 lease's reason are kept up to this size
 * (with the NUL), as INFO's last_error shows them. */
#define SEQ_TEXT_MAX 200

/* What a sequence needs only while a claim is in flight, requests wait
 * for its numbers or its claims fail (and, once it has refused a claim,
 * for INFO's count of them): made when first needed (claim_state), freed
 * when none of that is so any more (claim_state_trim). A loaded sequence
 * that serves from its buffers carries a NULL pointer instead. Under the
 * sequence's lock, like the rest. */
struct seq_claim_state {
    struct seq_waiter *waiters;     /* parked on this sequence, any worker */
    uint64_t waiting_workers;       /* bit i: worker i has waiters in the list */
    uint64_t claim_at_least;        /* a waiter taking all at once needs this many more */
    uint64_t claim_started_us;      /* when the claim in flight was first submitted */
    char *last_error;               /* why the last claim failed; NULL after success */
    int failures;                   /* consecutive failed claims */
    uint32_t refused_claims;        /* claims below claimed_top (the store lost some) */
};

/* Type 4's own state: its zone and the periods it moved through. */
struct seq_dated {
    const struct tz *zone;          /* fixed; NULL: the zone could not be read (zone_error) */
    char *zone_error;               /* fixed: why zone is NULL; NULL when it is not */
    int64_t period;                 /* under lock: the key of the period served; 0: none yet */
    int64_t last_period;            /* under lock: the period of last_counter */
    uint64_t periods;               /* under lock: periods this node moved to */
    enum dated_unit unit;           /* fixed */
    char text[];                    /* the prefix (PATTERN), then the zone's name, each NUL-terminated */
};

/* Type 5's own state. */
struct seq_flake {
    struct seq_snowflake sf;        /* under lock */
    int64_t epoch_ms;               /* fixed: the definition's epoch */
    char *why;                      /* under lock: SF_WAIT_LEASE, SF_WAIT_RESERVE: the lease's
                                       reason; NULL: none */
};

static struct {
    pthread_rwlock_t lock;
    struct seq **buckets;    /* nbuckets (a power of two) chains */
    size_t nbuckets;
    size_t count;
    uint64_t added_total;    /* atomic: sequences ever registered */
    uint32_t rescan_id;      /* atomic: the newest rescan begun (seq_rescan_begin) */
    struct seq_env env;
    bool stopping;           /* atomic: no new claims */
    struct hist claim_latency;
} reg;

/* Lock order: the registry's lock is never taken while holding a
 * sequence's lock (debug builds check it: seq_locks_held counts this
 * thread's sequence locks). */
#ifndef NDEBUG
static _Thread_local int seq_locks_held;
#endif

static void seq_lock(struct seq *s)
{
    small_lock_acquire(&s->lock);
#ifndef NDEBUG
    seq_locks_held++;
#endif
}

static void seq_unlock(struct seq *s)
{
#ifndef NDEBUG
    assert(seq_locks_held > 0);
    seq_locks_held--;
#endif
    small_lock_release(&s->lock);
}

static void registry_lock(bool write)
{
#ifndef NDEBUG
    assert(seq_locks_held == 0);
#endif
    if (write)
        pthread_rwlock_wrlock(&reg.lock);
    else
        pthread_rwlock_rdlock(&reg.lock);
}

static uint32_t name_hash(const char *name, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)name[i];
        h *= 16777619u;
    }
    return h;
}

#define MISS_SLOTS 1024

static struct {
    pthread_mutex_t lock;
    struct {
        char name[SEQ_NAME_MAX + 1];
        uint64_t until_ms;
    } slot[MISS_SLOTS];
} misses = { .lock = PTHREAD_MUTEX_INITIALIZER };

void seq_miss_remember(const char *name, size_t len)
{
    if (len == 0 || len > SEQ_NAME_MAX)
        return;
    uint32_t i = name_hash(name, len) % MISS_SLOTS;
    pthread_mutex_lock(&misses.lock);
    memcpy(misses.slot[i].name, name, len);
    misses.slot[i].name[len] = '\0';
    misses.slot[i].until_ms = mono_ms() + SEQ_MISS_TTL_MS;
    pthread_mutex_unlock(&misses.lock);
}

bool seq_miss_recent(const char *name, size_t len)
{
    if (len == 0 || len > SEQ_NAME_MAX)
        return false;
    uint32_t i = name_hash(name, len) % MISS_SLOTS;
    pthread_mutex_lock(&misses.lock);
    bool hit = misses.slot[i].until_ms > mono_ms() && strlen(misses.slot[i].name) == len &&
               memcmp(misses.slot[i].name, name, len) == 0;
    pthread_mutex_unlock(&misses.lock);
    return hit;
}

void seq_miss_forget(const char *name, size_t len)
{
    if (len == 0 || len > SEQ_NAME_MAX)
        return;
    uint32_t i = name_hash(name, len) % MISS_SLOTS;
    pthread_mutex_lock(&misses.lock);
    misses.slot[i].until_ms = 0;
    pthread_mutex_unlock(&misses.lock);
}

static bool name_is(const struct seq *s, const char *name, size_t len)
{
    return s->name_len == len && memcmp(seq_name(s), name, len) == 0;
}

/* The chain of hash; caller holds the registry's lock. */
static struct seq **bucket_of(uint32_t hash)
{
    if (reg.buckets == NULL) {
        reg.nbuckets = REGISTRY_BUCKETS_MIN;
        reg.buckets = xcalloc(reg.nbuckets, sizeof(*reg.buckets));
    }
    return &reg.buckets[hash & (reg.nbuckets - 1)];
}

/* Double the buckets once there are more sequences than buckets (the
 * names' hashes are computed again: struct seq does not keep them).
 * Caller holds the registry's lock for writing. */
static void registry_grow(void)
{
    if (reg.count <= reg.nbuckets)
        return;
    size_t n = reg.nbuckets * 2;
    struct seq **b = xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < reg.nbuckets; i++) {
        struct seq *s = reg.buckets[i], *next;
        for (; s; s = next) {
            struct seq **chain = &b[name_hash(seq_name(s), s->name_len) & (n - 1)];
            next = s->hnext;
            s->hnext = *chain;
            *chain = s;
        }
    }
    free(reg.buckets);
    reg.buckets = b;
    reg.nbuckets = n;
}

void seq_registry_init(const struct seq_env *env)
{
    pthread_rwlock_init(&reg.lock, NULL);
    reg.env = *env;
    if (reg.env.id_step == 0)
        reg.env.id_step = 1;
    reg.stopping = false;
}

void seq_registry_stop_claims(void)
{
    __atomic_store_n(&reg.stopping, true, __ATOMIC_RELEASE);
}

/* The claim state of s, made when first needed. Caller holds s->lock. */
static struct seq_claim_state *claim_state(struct seq *s)
{
    if (s->claiming == NULL)
        s->claiming = xcalloc(1, sizeof(*s->claiming));
    return s->claiming;
}

/* Free the claim state of s once nothing needs it: no claim in flight,
 * no waiter, no claim size owed to one, no failure and no refusal to
 * report. Only code holding s->lock reaches it, and only through s (a
 * waiter is reached through the list, whose head it holds: with the list
 * empty nobody is); waiting_workers goes too: with no waiter left, the
 * wake-ups it would send find none (seq_ready_waiters). Called at the end
 * of every locked section that may leave it so. Caller holds s->lock. */
static void claim_state_trim(struct seq *s)
{
    const struct seq_claim_state *c = s->claiming;

    if (c && !s->claim_in_flight && c->waiters == NULL && c->claim_at_least == 0 &&
        c->last_error == NULL && c->failures == 0 && c->refused_claims == 0) {
        free(s->claiming);
        s->claiming = NULL;
    }
}

/* What a take owed to a waiter needs the next claim to bring at least
 * (0: none). Caller holds s->lock. */
static uint64_t claim_at_least(const struct seq *s)
{
    return s->claiming ? s->claiming->claim_at_least : 0;
}

static void seq_free(struct seq *s)
{
    assert(s->claiming == NULL || s->claiming->waiters == NULL);   /* a waiter holds a reference */
    switch (s->kind) {
    case SEQ_RANDOM:
        free(s->of_kind.perm);
        break;
    case SEQ_DATED:
        free(s->of_kind.dated->zone_error);
        free(s->of_kind.dated);
        break;
    case SEQ_SNOWFLAKE:
        free(s->of_kind.flake->why);
        free(s->of_kind.flake);
        break;
    }
    if (s->claiming)
        free(s->claiming->last_error);
    free(s->claiming);
    free(s);
}

void seq_release(struct seq *s)
{
    if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
        seq_free(s);
}

void seq_ref(struct seq *s)
{
    __atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
}

void seq_registry_free(void)
{
    registry_lock(true);
    for (size_t i = 0; i < reg.nbuckets; i++) {
        struct seq *s = reg.buckets[i];
        while (s) {
            struct seq *next = s->hnext;
            seq_release(s);
            s = next;
        }
    }
    free(reg.buckets);
    reg.buckets = NULL;
    reg.nbuckets = 0;
    reg.count = 0;
    pthread_rwlock_unlock(&reg.lock);
}

struct seq *seq_find(const char *name, size_t len)
{
    uint32_t h = name_hash(name, len);
    struct seq *found = NULL;

    registry_lock(false);
    for (struct seq *s = reg.buckets ? reg.buckets[h & (reg.nbuckets - 1)] : NULL; s; s = s->hnext) {
        if (name_is(s, name, len)) {
            seq_ref(s);
            found = s;
            break;
        }
    }
    pthread_rwlock_unlock(&reg.lock);
    return found;
}

/* Type 4's state for def. */
static struct seq_dated *dated_new(const struct seqdef *def)
{
    size_t plen = strnlen(def->prefix, sizeof(def->prefix)), tlen = strnlen(def->tz, sizeof(def->tz));
    size_t size = offsetof(struct seq_dated, text) + plen + 1 + tlen + 1;
    struct seq_dated *d = xcalloc(1, size > sizeof(*d) ? size : sizeof(*d));
    char err[160];

    memcpy(d->text, def->prefix, plen);
    memcpy(d->text + plen + 1, def->tz, tlen);
    d->unit = seqdef_dated_unit(def);
    d->zone = tz_get(def->tz, err, sizeof(err));
    if (d->zone == NULL) {
        d->zone_error = xstrdup(err);
        log_warn("sequence '%s' cannot hand out numbers: %s", def->name, err);
    }
    return d;
}

/* The period s serves: its key for type 4 (0: none yet), 0 for the
 * other kinds. Caller holds s->lock. */
static int64_t period_of(const struct seq *s)
{
    return s->kind == SEQ_DATED ? s->of_kind.dated->period : 0;
}

static const char *dated_prefix(const struct seq_dated *d)
{
    return d->text;
}

static const char *dated_tz(const struct seq_dated *d)
{
    return d->text + strlen(d->text) + 1;
}

/* A sequence for def (name_len bytes of name), not yet registered: the
 * texts in the same allocation, the state of its own kind beside it. */
static struct seq *seq_new(const struct seqdef *def, size_t name_len)
{
    size_t dlen = strnlen(def->description, sizeof(def->description));
    size_t size = offsetof(struct seq, text) + name_len + 1 + dlen + 1;
    struct seq *s = xcalloc(1, size > sizeof(*s) ? size : sizeof(*s));

    assert(name_len <= SEQ_NAME_MAX && def->kind >= SEQ_RANDOM && def->kind <= SEQ_SNOWFLAKE);
    assert(def->auto_disk >= AUTO_DISK_DEFAULT && def->auto_disk <= AUTO_DISK_PRE_CLOSE);
    small_lock_init(&s->lock);
    memcpy(s->text, def->name, name_len);
    memcpy(s->text + name_len + 1, def->description, dlen);
    s->name_len = (uint8_t)name_len;
    s->kind = (unsigned)def->kind;
    s->length = (int8_t)def->length;
    s->auto_disk = (unsigned)def->auto_disk;
    s->starting = def->starting;
    s->increment = def->increment;
    s->segment = def->segment;
    s->perm_key = def->perm_key;
    if (def->kind == SEQ_DATED)
        s->of_kind.dated = dated_new(def);
    if (def->kind == SEQ_SNOWFLAKE) {
        s->of_kind.flake = xcalloc(1, sizeof(*s->of_kind.flake));
        snowflake_gen_init(&s->of_kind.flake->sf.gen);
        s->of_kind.flake->epoch_ms = def->epoch_ms;
    }
    return s;
}

/* The definition of s; the caller holds s->lock (for segment). */
static void def_copy(const struct seq *s, struct seqdef *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->name, seq_name(s), s->name_len);
    strlcpy_safe(out->description, seq_name(s) + s->name_len + 1, sizeof(out->description));
    out->kind = s->kind;
    out->length = s->length;
    out->starting = s->starting;
    out->increment = s->increment;
    out->segment = s->segment;
    out->perm_key = s->perm_key;
    out->auto_disk = s->auto_disk;
    if (s->kind == SEQ_DATED) {
        strlcpy_safe(out->prefix, dated_prefix(s->of_kind.dated), sizeof(out->prefix));
        strlcpy_safe(out->tz, dated_tz(s->of_kind.dated), sizeof(out->tz));
    }
    if (s->kind == SEQ_SNOWFLAKE)
        out->epoch_ms = s->of_kind.flake->epoch_ms;
}

void seq_def(struct seq *s, struct seqdef *out)
{
    seq_lock(s);
    def_copy(s, out);
    seq_unlock(s);
}

bool seq_def_same(struct seq *s, const struct seqdef *def)
{
    struct seqdef mine;
    seq_def(s, &mine);
    return seqdef_same(&mine, def);
}

/* *slot becomes a copy of text cut to SEQ_TEXT_MAX - 1 bytes (NULL:
 * none); no allocation when it already says that. */
static void text_set(char **slot, const char *text)
{
    size_t n = text ? strnlen(text, SEQ_TEXT_MAX - 1) : 0;

    if (*slot && text && strlen(*slot) == n && memcmp(*slot, text, n) == 0)
        return;
    free(*slot);
    *slot = NULL;
    if (text) {
        *slot = xmalloc(n + 1);
        memcpy(*slot, text, n);
        (*slot)[n] = '\0';
    }
}

struct seq *seq_add(const struct seqdef *def)
{
    size_t len = strlen(def->name);
    uint32_t h = name_hash(def->name, len);

    registry_lock(true);
    struct seq **chain = bucket_of(h);
    for (struct seq *s = *chain; s; s = s->hnext) {
        if (name_is(s, def->name, len)) {
            seq_ref(s);
            pthread_rwlock_unlock(&reg.lock);
            return s;
        }
    }
    struct seq *s = seq_new(def, len);
    segbuf_init(&s->sb, seqdef_spread_limit(seqdef_limit(def), reg.env.id_step, reg.env.id_offset));
    s->seen_scan = __atomic_load_n(&reg.rescan_id, __ATOMIC_ACQUIRE);
    s->refs = 2;
    seq_miss_forget(def->name, len);                      /* the registry's and the caller's */
    s->hnext = *chain;
    *chain = s;
    reg.count++;
    __atomic_add_fetch(&reg.added_total, 1, __ATOMIC_RELAXED);
    registry_grow();
    pthread_rwlock_unlock(&reg.lock);
    return s;
}

/* Tell the workers of a mask (bit i = worker i) that s changed; each
 * message carries its own reference. */
static void wake_mask(struct seq *s, uint64_t mask)
{
    for (int i = 0; mask; i++, mask >>= 1) {
        if (mask & 1) {
            seq_ref(s);
            reg.env.wake(i, s);
        }
    }
}

/* Remove the sequence of that name, or only `only` when it is not NULL
 * (a claim's result about one sequence object must not remove a newer
 * one of the same name). */
static void remove_named(const char *name, size_t len, const struct seq *only)
{
    uint32_t h = name_hash(name, len);
    struct seq *victim = NULL;

    registry_lock(true);
    for (struct seq **link = bucket_of(h); *link; link = &(*link)->hnext) {
        if (name_is(*link, name, len) && (only == NULL || *link == only)) {
            victim = *link;
            *link = victim->hnext;
            reg.count--;
            break;
        }
    }
    pthread_rwlock_unlock(&reg.lock);
    if (!victim)
        return;

    seq_lock(victim);
    victim->deleted = true;
    victim->wasted += segbuf_unused(&victim->sb);
    uint64_t mask = 0;
    if (victim->claiming) {
        mask = victim->claiming->waiting_workers;
        victim->claiming->waiting_workers = 0;
    }
    claim_state_trim(victim);
    seq_unlock(victim);
    wake_mask(victim, mask);
    seq_release(victim);
}

void seq_remove(const char *name, size_t len)
{
    remove_named(name, len, NULL);
}

uint64_t seq_added_total(void)
{
    return __atomic_load_n(&reg.added_total, __ATOMIC_RELAXED);
}

uint32_t seq_rescan_begin(void)
{
    return __atomic_add_fetch(&reg.rescan_id, 1, __ATOMIC_ACQ_REL);
}

void seq_mark_seen(struct seq *s, uint32_t scan_id)
{
    __atomic_store_n(&s->seen_scan, scan_id, __ATOMIC_RELAXED);
}

uint32_t seq_seen(const struct seq *s)
{
    return __atomic_load_n(&s->seen_scan, __ATOMIC_RELAXED);
}

size_t seq_count(void)
{
    registry_lock(false);
    size_t n = reg.count;
    pthread_rwlock_unlock(&reg.lock);
    return n;
}

void seq_foreach(void (*fn)(struct seq *s, void *arg), void *arg)
{
    /* Collect references first so fn may block or take the registry lock. */
    registry_lock(false);
    size_t n = reg.count, i = 0;
    struct seq **all = xcalloc(n ? n : 1, sizeof(*all));
    for (size_t b = 0; b < reg.nbuckets; b++)
        for (struct seq *s = reg.buckets[b]; s && i < n; s = s->hnext) {
            seq_ref(s);
            all[i++] = s;
        }
    pthread_rwlock_unlock(&reg.lock);
    for (size_t k = 0; k < i; k++) {
        fn(all[k], arg);
        seq_release(all[k]);
    }
    free(all);
}

/* The number of store counter `counter` of s (counter < s->sb.limit).
 * Caller holds s->lock (type 1 makes its permutation on first use). */
static int64_t seq_number(struct seq *s, uint64_t counter)
{
    if (s->kind == SEQ_RANDOM && s->of_kind.perm == NULL) {
        struct seqdef def;
        def_copy(s, &def);
        s->of_kind.perm = xmalloc(sizeof(*s->of_kind.perm));
        seqdef_perm_init(&def, s->of_kind.perm);
    }
    return seqdef_number_of(s->kind, s->length, s->starting, s->increment, s->of_kind.perm,
                            seqdef_spread(counter, reg.env.id_step, reg.env.id_offset));
}

/* ---- claims ---------------------------------------------------------- */

static void claim_done(struct store_job *job);

/* Submit a claim for s; the caller holds s->lock and has set
 * claim_in_flight. The job holds a reference to s. */
static struct store_job *claim_job_new(struct seq *s)
{
    struct store_job *job = xcalloc(1, sizeof(*job));
    uint64_t elapsed = 0;

    if (s->last_install_ms) {
        elapsed = mono_ms() - s->last_install_ms;
        if (elapsed == 0)
            elapsed = 1;
    }
    job->kind = JOB_CLAIM;
    strlcpy_safe(job->name, seq_name(s), sizeof(job->name));
    def_copy(s, &job->def);     /* claim only from this definition's row */
    job->period = period_of(s); /* type 4: the period wanted (0 for other kinds) */
    job->want = segment_next_size(s->last_claim_size ? s->last_claim_size : s->segment,
                                  elapsed, reg.env.duration_ms, s->segment,
                                  reg.env.segment_max);
    /* A waiter that takes all its numbers at once needs this many more. */
    if (job->want < claim_at_least(s))
        job->want = claim_at_least(s);
    job->done = claim_done;
    job->owner = s;
    seq_ref(s);
    return job;
}

/* Must a claim start now? Caller holds s->lock. */
static bool claim_due(const struct seq *s)
{
    return !s->claim_in_flight && !s->deleted && s->claimed_top < s->sb.limit &&
           (segbuf_wants_claim(&s->sb) || (claim_at_least(s) > 0 && !segbuf_has_next(&s->sb))) &&
           !__atomic_load_n(&reg.stopping, __ATOMIC_ACQUIRE);
}

static void give_back_done(struct store_job *job)
{
    if (job->status != STORE_OK && job->status != STORE_STALE)
        log_verbose("could not give back [%llu, %llu) of '%s': %s", (unsigned long long)job->from,
                    (unsigned long long)job->to, job->name, job->err);
    free(job);
}

/* A claim landed for a sequence this node no longer serves (deleted, or
 * the row was recreated): hand the range back at once, so that a new
 * sequence of the same name does not start with a hole (compare-and-set:
 * it only happens if nobody claimed after it, and only on the row of the
 * definition the range came from, never on a new one that happens to
 * stand at the same max_id). */
static void give_back_unused_claim(const struct store_job *claim)
{
    struct store_job *job = xcalloc(1, sizeof(*job));
    job->kind = JOB_GIVE_BACK;
    strlcpy_safe(job->name, claim->name, sizeof(job->name));
    job->from = claim->claim.start;
    job->to = claim->claim.start + claim->claim.count;
    job->period = claim->claim.period;
    job->def = claim->claim.def;
    job->done = give_back_done;
    store_pool_submit(reg.env.pool, job);
}

/* A claim job for s when one is due now (claim_due), marked in flight;
 * NULL otherwise. Caller holds s->lock and submits the job after
 * unlocking. */
static struct store_job *claim_start_if_due(struct seq *s)
{
    if (!claim_due(s))
        return NULL;
    s->claim_in_flight = true;
    claim_state(s)->claim_started_us = mono_us();
    return claim_job_new(s);
}

/* ---- type 4: periods -------------------------------------------------- */

static int64_t wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

/* Counters of [start, start+count) that are numbers (below the limit). */
static uint64_t numbers_in(const struct seq *s, uint64_t start, uint64_t count)
{
    if (start >= s->sb.limit)
        return 0;
    return count < s->sb.limit - start ? count : s->sb.limit - start;
}

/* Serve period p from now on, when it is newer than the one served: the
 * buffered counters of the old one are never handed out (wasted), and
 * the counting starts again from the store's answer for p. A period is
 * never left for an older one. Caller holds s->lock. */
static void dated_move_to(struct seq *s, int64_t p)
{
    struct seq_dated *d = s->of_kind.dated;
    struct seqdef def;

    if (p <= d->period)
        return;
    if (d->period != 0) {
        uint64_t unused = segbuf_unused(&s->sb);
        s->wasted += unused;
        log_verbose("'%s': period %" PRId64 " ended; %" PRIu64 " buffered numbers wasted", seq_name(s),
                    d->period, unused);
    }
    def_copy(s, &def);
    segbuf_init(&s->sb, seqdef_limit(&def));
    s->claimed_top = 0;
    if (s->claiming)
        s->claiming->claim_at_least = 0;
    d->period = p;
    d->periods++;
}

size_t seq_number_text(const struct seq *s, int64_t period, int64_t value, char *buf, size_t len)
{
    const char *prefix = s->kind == SEQ_DATED ? dated_prefix(s->of_kind.dated) : "";
    return dated_render(prefix, period, value, s->length, buf, len);
}

void seq_exhausted_until(struct seq *s, char *buf, size_t len)
{
    const struct seq_dated *d = s->of_kind.dated;
    char when[40];

    assert(s->kind == SEQ_DATED);
    if (d->zone == NULL) {
        snprintf(buf, len, "(%s)", d->zone_error);
        return;
    }
    seq_lock(s);
    int64_t next = dated_period_next(d->unit, d->period);
    seq_unlock(s);
    dated_iso8601(d->zone, tz_local_to_utc(d->zone, next), when, sizeof(when));
    snprintf(buf, len, "until %s", when);
}

/* Does a claimed range start below what this node has claimed of s
 * before (in the same period, for type 4)? Caller holds s->lock. */
static bool claim_below_top(const struct seq *s, const struct store_job *job)
{
    if (s->kind == SEQ_DATED && job->claim.period != period_of(s))
        return false;             /* a newer period counts afresh; an older one is never served */
    return job->claim.start < s->claimed_top;
}

static void claim_done(struct store_job *job)
{
    struct seq *s = job->owner;
    uint64_t mask = 0;
    bool retry = false, remove = false;
    uint64_t delay = 0;

    seq_lock(s);
    struct seq_claim_state *c = claim_state(s);     /* there since the claim started */
    bool stopping = __atomic_load_n(&reg.stopping, __ATOMIC_ACQUIRE);
    bool hand_back = false;
    /* job->def is the definition of s (claim_job_new): fixed but for the segment. */
    bool same_def = job->status == STORE_OK && seqdef_same(&job->def, &job->claim.def);
    if (job->status == STORE_OK && !s->deleted && same_def && claim_below_top(s, job)) {
        /* The store handed out counters this node has claimed before: it
         * lost transactions. Serving them could hand a number out twice. */
        job->status = STORE_REFUSED;
        snprintf(job->err, sizeof(job->err), "refused a claim at %" PRIu64 ": this node claimed up to %"
                 PRIu64 " before (the store lost claims; docs/reliability.md)", job->claim.start,
                 s->claimed_top);
    }
    if (s->deleted) {
        hand_back = job->status == STORE_OK;
        s->claim_in_flight = false;
    } else if (job->status == STORE_OK && !same_def) {
        log_warn("sequence '%s' was redefined in the store; dropping this node's buffers",
                 seq_name(s));
        hand_back = true;
        s->claim_in_flight = false;
        remove = true;
    } else if (job->status == STORE_OK && s->kind == SEQ_DATED && job->claim.period < period_of(s)) {
        /* A claim for a period this node has left: never served. Its
         * waiters look again, and their take claims for the new period. */
        s->wasted += numbers_in(s, job->claim.start, job->claim.count);
        s->claim_in_flight = false;
        c->failures = 0;
        text_set(&c->last_error, NULL);
        mask = c->waiting_workers;
        c->waiting_workers = 0;
    } else if (job->status == STORE_OK) {
        if (c->failures > 0)
            log_notice("claims for '%s' work again after %d failures", seq_name(s), c->failures);
        /* Type 4: the row counts in a newer period than this node asked
         * for (its clock is behind, or went back): serve that one. */
        if (s->kind == SEQ_DATED)
            dated_move_to(s, job->claim.period);
        s->segment = job->claim.def.segment;
        if (!segbuf_install(&s->sb, job->claim.start, job->claim.count)) {
            /* Cannot happen with one claim in flight; never serve it twice. */
            log_warn("claim for '%s' arrived with both buffers full; range wasted", seq_name(s));
            s->wasted += job->claim.count;
        }
        s->claimed_top = job->claim.start + job->claim.count;
        c->claim_at_least = 0;              /* its waiters look again */
        s->last_claim_size = job->claim.count;
        s->last_install_ms = mono_ms();
        uint64_t latency = mono_us() - c->claim_started_us;
        s->last_claim_latency_us = latency < UINT32_MAX ? (uint32_t)latency : UINT32_MAX;
        hist_observe(&reg.claim_latency, latency);
        s->claims++;
        c->failures = 0;
        text_set(&c->last_error, NULL);
        s->claim_in_flight = false;
        mask = c->waiting_workers;
        c->waiting_workers = 0;
    } else if (job->status == STORE_NOT_FOUND) {
        s->claim_in_flight = false;
        remove = true;
    } else {
        /* UNKNOWN: the range may be recorded; it is never served, and the
         * next claim starts above it: counted as wasted (at least the
         * segment, what the store takes at the least). UNAVAILABLE /
         * ERROR: nothing was taken; try again later. */
        if (job->status == STORE_UNKNOWN)
            s->wasted += job->want > s->segment ? job->want : s->segment;
        if (job->status == STORE_REFUSED) {
            s->wasted += numbers_in(s, job->claim.start, job->claim.count);
            c->refused_claims++;
            log_warn("claim for '%s' REFUSED: %s; the range [%" PRIu64 ", %" PRIu64 ") is thrown away",
                     seq_name(s), job->err, job->claim.start, job->claim.start + job->claim.count);
        } else if (c->failures == 0 || job->status == STORE_UNKNOWN) {
            log_warn("claim for '%s' failed: %s%s", seq_name(s), job->err,
                     job->status == STORE_UNKNOWN ? " (outcome unknown: range thrown away)" : "");
        }
        c->failures++;
        text_set(&c->last_error, job->err);
        if (stopping) {
            s->claim_in_flight = false;
        } else {
            retry = true;
            job->period = period_of(s);     /* type 4: it may have moved on meanwhile */
            delay = CLAIM_BACKOFF_MIN_MS << (c->failures < 7 ? c->failures - 1 : 6);
            if (delay > CLAIM_BACKOFF_MAX_MS)
                delay = CLAIM_BACKOFF_MAX_MS;
            if (job->status == STORE_UNKNOWN)
                delay = 0;
        }
    }
    claim_state_trim(s);
    seq_unlock(s);

    if (hand_back)
        give_back_unused_claim(job);
    wake_mask(s, mask);
    if (remove)
        remove_named(seq_name(s), s->name_len, s);
    if (retry) {
        memset(&job->claim, 0, sizeof(job->claim));
        job->not_before_ms = mono_ms() + delay;
        store_pool_submit(reg.env.pool, job);
        return;
    }
    seq_release(s);
    free(job);
}

/* Caller holds s->lock. */
static void waiter_link(struct seq *s, struct seq_waiter *wt)
{
    if (wt->linked)
        return;
    struct seq_claim_state *c = claim_state(s);
    wt->prev = NULL;
    wt->next = c->waiters;
    if (c->waiters)
        c->waiters->prev = wt;
    c->waiters = wt;
    wt->linked = true;
    c->waiting_workers |= 1ULL << wt->worker_id;
}

/* Caller holds s->lock, and trims the claim state before letting go of
 * it (a linked waiter keeps it). */
static void waiter_unlink(struct seq *s, struct seq_waiter *wt)
{
    assert(wt->linked && s->claiming);
    if (wt->prev)
        wt->prev->next = wt->next;
    else
        s->claiming->waiters = wt->next;
    if (wt->next)
        wt->next->prev = wt->prev;
    wt->prev = wt->next = NULL;
    wt->linked = false;
}

void seq_unpark(struct seq *s, struct seq_waiter *wt)
{
    seq_lock(s);
    if (wt->linked)
        waiter_unlink(s, wt);
    claim_state_trim(s);
    seq_unlock(s);
}

struct seq_waiter *seq_ready_waiters(struct seq *s, int worker_id)
{
    struct seq_waiter *ready = NULL, **tail = &ready;

    seq_lock(s);
    struct seq_waiter *wt = s->claiming ? s->claiming->waiters : NULL;
    while (wt) {
        struct seq_waiter *next = wt->next;
        if (wt->worker_id == worker_id) {
            waiter_unlink(s, wt);
            *tail = wt;
            tail = &wt->next;
        }
        wt = next;
    }
    /* Waiters of this worker parked after the wake-up was sent keep the
     * bit set; the claim that lands for them sends another. */
    claim_state_trim(s);
    seq_unlock(s);
    return ready;
}

/* SEQ_ALL / SEQ_CHECK: can the buffers hold all `want` once the claim
 * they are waiting for lands? Caller holds s->lock. Not when a next is
 * already there (nothing more can be installed) or when more is missing
 * than one claim may bring (segment.max). */
static bool can_wait_for_all(const struct seq *s, uint64_t missing)
{
    return !segbuf_has_next(&s->sb) && missing <= reg.env.segment_max;
}

/* ---- type 5: ids from the clock ------------------------------------------ */

/* The clock was behind the last id (or the floor): an event counted and
 * logged once, until ids flow again. Caller holds s->lock. */
static void snowflake_behind(struct seq *s, uint64_t behind_ms, uint64_t floor_ms)
{
    struct seq_flake *f = s->of_kind.flake;

    f->sf.behind_ms = behind_ms;
    if (!f->sf.behind) {
        f->sf.behind = true;
        f->sf.backwards++;
        f->sf.last_jump_ms = behind_ms;
        if (f->sf.gen.last_ms == floor_ms)
            log_warn("sequence '%s': the clock is %" PRIu64 " ms behind the snowflake timestamps reserved "
                     "before (an earlier run or holder of the worker id); no ids until it catches up",
                     seq_name(s), behind_ms);
        else
            log_warn("sequence '%s': the clock moved backwards by %" PRIu64 " ms; no ids until it catches up",
                     seq_name(s), behind_ms);
    } else if (behind_ms > f->sf.last_jump_ms) {
        f->sf.last_jump_ms = behind_ms;
    }
}

static enum seq_take seq_take_snowflake(struct seq *s, struct seq_waiter *wt, int64_t *out, uint64_t want,
                                        uint64_t *got, enum seq_take_mode mode)
{
    enum seq_take result = SEQ_WAIT;
    struct lease_now ln;
    uint64_t n = 0, behind = 0;
    uint32_t retry = 0;
    bool nudge = false;
    struct seq_flake *f = s->of_kind.flake;

    seq_lock(s);
    if (wt->linked)
        waiter_unlink(s, wt);
    claim_state_trim(s);
    if (s->deleted) {
        seq_unlock(s);
        *got = 0;
        return SEQ_GONE;
    }
    /* The clock is read under the sequence's lock: two workers' readings
     * then never look like a step back to each other. */
    lease_now(&ln);
    if (!ln.usable) {
        f->sf.wait = SF_WAIT_LEASE;
        text_set(&f->why, ln.why[0] ? ln.why : NULL);
        retry = 20;
    } else if (mode == SEQ_CHECK) {
        result = SEQ_TAKEN;
    } else {
        struct snowflake_clock c = { ln.now_ms, f->epoch_ms, ln.worker, ln.floor_ms, ln.reserved_ms };
        enum snowflake_result r = snowflake_take(&f->sf.gen, &c, out, want, &n, &behind);
        if (n > 0) {
            f->sf.last_id = out[n - 1];
            s->has_last = true;
        }
        f->sf.floor_ms = ln.floor_ms;
        if (r != SNOWFLAKE_BEHIND && f->sf.behind) {
            f->sf.behind = false;
            log_notice("sequence '%s': the clock caught up; snowflake ids flow again", seq_name(s));
        }
        switch (r) {
        case SNOWFLAKE_OK:
            result = SEQ_TAKEN;
            f->sf.wait = SF_WAIT_NONE;
            break;
        case SNOWFLAKE_NEXT_MS:
            f->sf.wait = SF_WAIT_NEXT_MS;
            retry = 1;
            break;
        case SNOWFLAKE_BEHIND:
            snowflake_behind(s, behind, ln.floor_ms);
            f->sf.wait = SF_WAIT_BEHIND;
            retry = behind < 1 ? 1 : behind > 50 ? 50 : (uint32_t)behind;
            break;
        case SNOWFLAKE_RESERVE:
            f->sf.wait = SF_WAIT_RESERVE;
            text_set(&f->why, ln.why[0] ? ln.why : NULL);
            nudge = true;
            retry = 2;
            break;
        case SNOWFLAKE_BEFORE_EPOCH:
            f->sf.wait = SF_WAIT_EPOCH;
            retry = 50;
            break;
        case SNOWFLAKE_EXHAUSTED:
            result = SEQ_EXHAUSTED;
            break;
        }
    }
    s->generated += n;
    seq_unlock(s);
    if (nudge)
        lease_nudge();
    wt->retry_ms = result == SEQ_WAIT ? retry : 0;
    *got = n;
    return result;
}

/* Why a type 5 take waits, as the whole -TRYAGAIN text. Caller holds s->lock. */
static void snowflake_wait_reason(const struct seq *s, char *buf, size_t len)
{
    const struct seq_flake *f = s->of_kind.flake;

    switch (f->sf.wait) {
    case SF_WAIT_BEHIND:
        if (f->sf.gen.last_ms == f->sf.floor_ms)
            snprintf(buf, len, "clock moved backwards by %" PRIu64 " ms (behind the timestamps reserved "
                     "for this worker id before; ids of '%s' resume when the clock passes them)",
                     f->sf.behind_ms, seq_name(s));
        else
            snprintf(buf, len, "clock moved backwards by %" PRIu64 " ms (ids of '%s' resume when it "
                     "catches up)", f->sf.behind_ms, seq_name(s));
        break;
    case SF_WAIT_LEASE:
        snprintf(buf, len, "no snowflake ids for '%s': %s", seq_name(s), f->why ? f->why : "");
        break;
    case SF_WAIT_RESERVE:
        snprintf(buf, len, "no snowflake ids for '%s': the store did not extend the timestamp reservation "
                 "in time%s%s", seq_name(s), f->why ? ": " : "", f->why ? f->why : "");
        break;
    case SF_WAIT_EPOCH:
        snprintf(buf, len, "no snowflake ids for '%s': the clock is before its epoch (%" PRId64 " ms)",
                 seq_name(s), f->epoch_ms);
        break;
    default:
        snprintf(buf, len, "no snowflake ids for '%s' in time", seq_name(s));
        break;
    }
}

struct highest_ctx {
    uint64_t ms;
};

static void snowflake_highest(struct seq *s, void *arg)
{
    struct highest_ctx *ctx = arg;
    if (s->kind != SEQ_SNOWFLAKE)
        return;
    seq_lock(s);
    if (s->has_last && s->of_kind.flake->sf.gen.last_ms > ctx->ms)
        ctx->ms = s->of_kind.flake->sf.gen.last_ms;
    seq_unlock(s);
}

uint64_t seq_snowflake_highest_ms(void)
{
    struct highest_ctx ctx = { 0 };
    seq_foreach(snowflake_highest, &ctx);
    return ctx.ms;
}

bool seq_kind_has_runs(int kind)
{
    return kind == SEQ_INCREASING || kind == SEQ_FIXED;
}

/* The bits of an int64 held in a uint64 (two's complement), without
 * relying on implementation-defined conversions. */
static int64_t i64_from_bits(uint64_t u)
{
    return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

/* Where a take puts its numbers: one each into numbers[] (seq_take), or
 * one run per segment into runs[] (seq_take_runs). */
struct take_out {
    int64_t *numbers;
    struct seq_run *runs;
    size_t nruns;
};

/* Counters [first, first+k) of s were taken: the numbers go out at
 * numbers[n..n+k) or as one run. Every kind but type 1 maps consecutive
 * counters to numbers a fixed distance apart (seqdef.h: starting +
 * spread(counter) * increment), so one multiplication gives the first
 * and additions the rest: the same bits as seq_number for each, in
 * uint64's wrap-around arithmetic, whose results are exact because every
 * true number fits int64. Caller holds s->lock. */
static void take_emit(struct seq *s, struct take_out *o, uint64_t n, uint64_t first, uint64_t k)
{
    uint64_t step = (uint64_t)s->increment * reg.env.id_step;
    uint64_t v = (uint64_t)seq_number(s, first);

    if (o->runs) {
        assert(seq_kind_has_runs(s->kind) && o->nruns < SEQ_TAKE_RUNS_MAX);
        o->runs[o->nruns++] = (struct seq_run){ .first = i64_from_bits(v), .step = step, .count = k };
        return;
    }
    int64_t *out = o->numbers + n;
    if (s->kind == SEQ_RANDOM) {
        for (uint64_t i = 0; i < k; i++)
            out[i] = seq_number(s, first + i);
        return;
    }
    for (uint64_t i = 0; i < k; i++, v += step)
        out[i] = i64_from_bits(v);
}

static enum seq_take take(struct seq *s, struct seq_waiter *wt, struct take_out *o, uint64_t want, uint64_t *got,
                          enum seq_take_mode mode)
{
    enum seq_take result = SEQ_TAKEN;
    struct store_job *job = NULL;
    uint64_t n = 0;

    wt->retry_ms = 0;
    seq_lock(s);
    if (s->deleted) {
        if (wt->linked)
            waiter_unlink(s, wt);
        claim_state_trim(s);
        seq_unlock(s);
        *got = 0;
        return SEQ_GONE;
    }
    if (s->kind == SEQ_DATED) {
        const struct seq_dated *d = s->of_kind.dated;
        if (d->zone == NULL) {
            if (wt->linked)
                waiter_unlink(s, wt);
            claim_state_trim(s);
            seq_unlock(s);
            *got = 0;
            return SEQ_EXHAUSTED;
        }
        /* The node serves the newer of its clock's period and the newest
         * it has claimed in. */
        dated_move_to(s, dated_period_at(d->unit, d->zone, wall_s()));
        wt->period = d->period;
    }
    uint64_t avail = segbuf_unused(&s->sb);
    if (mode != SEQ_SOME && avail < want) {
        /* Take nothing: the numbers there keep serving others. */
        if (s->claimed_top >= s->sb.limit) {
            result = SEQ_EXHAUSTED;          /* no claim can bring more */
            want = 0;
        } else if (can_wait_for_all(s, want - avail)) {
            if (want - avail > claim_at_least(s))
                claim_state(s)->claim_at_least = want - avail;
            result = SEQ_WAIT;
            waiter_link(s, wt);
            want = 0;
        }                                    /* else: as SEQ_SOME (seq.h) */
    }
    if (mode == SEQ_CHECK)
        want = 0;                            /* SEQ_TAKEN here: the caller takes them */
    while (n < want) {
        uint64_t first, k;
        enum seg_take r = segbuf_take_run(&s->sb, want - n, &first, &k);
        if (r == SEG_TAKEN) {
            take_emit(s, o, n, first, k);
            n += k;
            s->last_counter = first + k - 1;
            s->has_last = true;
            continue;
        }
        if (r == SEG_EXHAUSTED) {
            result = SEQ_EXHAUSTED;
        } else {
            result = SEQ_WAIT;
            waiter_link(s, wt);
            /* More is missing than the buffers can hold (seq.h): the
             * claim it waits for brings as much of it as one may. */
            uint64_t missing = want - n < reg.env.segment_max ? want - n : reg.env.segment_max;
            if (missing > claim_at_least(s))
                claim_state(s)->claim_at_least = missing;
        }
        break;
    }
    s->generated += n;
    if (n > 0 && s->kind == SEQ_DATED)
        s->of_kind.dated->last_period = s->of_kind.dated->period;
    /* Parked exactly when it must wait (a waiter that took its numbers
     * after all is not left in the list). */
    if (result != SEQ_WAIT && wt->linked)
        waiter_unlink(s, wt);
    job = claim_start_if_due(s);
    claim_state_trim(s);
    seq_unlock(s);

    if (job)
        store_pool_submit(reg.env.pool, job);
    *got = n;
    return result;
}

enum seq_take seq_take(struct seq *s, struct seq_waiter *wt, int64_t *out, uint64_t want, uint64_t *got,
                       enum seq_take_mode mode)
{
    struct take_out o = { .numbers = out };

    if (s->kind == SEQ_SNOWFLAKE)
        return seq_take_snowflake(s, wt, out, want, got, mode);
    return take(s, wt, &o, want, got, mode);
}

enum seq_take seq_take_runs(struct seq *s, struct seq_waiter *wt, struct seq_run *runs, size_t *nruns,
                            uint64_t want, uint64_t *got, enum seq_take_mode mode)
{
    struct take_out o = { .runs = runs };

    assert(seq_kind_has_runs(s->kind));
    enum seq_take r = take(s, wt, &o, want, got, mode);
    *nruns = o.nruns;
    return r;
}

void seq_prefetch(struct seq *s)
{
    struct store_job *job = NULL;

    if (seq_kind(s) == SEQ_DATED || seq_kind(s) == SEQ_SNOWFLAKE)
        return;
    seq_lock(s);
    job = claim_start_if_due(s);
    seq_unlock(s);
    if (job)
        store_pool_submit(reg.env.pool, job);
}

void seq_add_wasted(struct seq *s, uint64_t n)
{
    seq_lock(s);
    s->wasted += n;
    seq_unlock(s);
}

void seq_set_segment(struct seq *s, uint64_t segment)
{
    seq_lock(s);
    s->segment = segment;
    seq_unlock(s);
}

void seq_wait_reason(struct seq *s, char *buf, size_t len)
{
    seq_lock(s);
    if (s->kind == SEQ_SNOWFLAKE)
        snowflake_wait_reason(s, buf, len);
    else if (s->claiming && s->claiming->last_error)
        snprintf(buf, len, "the store did not answer: %s", s->claiming->last_error);
    else
        snprintf(buf, len, "the store is slow to hand out a new segment");
    seq_unlock(s);
}

void seq_get_info(struct seq *s, struct seq_info *info)
{
    const struct seq_dated *d = s->kind == SEQ_DATED ? s->of_kind.dated : NULL;

    seq_lock(s);
    int64_t last_period = d ? d->last_period : 0;
    def_copy(s, &info->def);
    info->sb = s->sb;
    info->has_current = s->has_last;
    if (s->kind == SEQ_SNOWFLAKE) {
        info->current = s->has_last ? s->of_kind.flake->sf.last_id : 0;
        info->sf = s->of_kind.flake->sf;
    } else {
        info->current = s->has_last ? seq_number(s, s->last_counter) : 0;
        memset(&info->sf, 0, sizeof(info->sf));
        snowflake_gen_init(&info->sf.gen);
    }
    info->current_text[0] = '\0';
    info->period = period_of(s);
    info->periods = d ? d->periods : 0;
    info->has_period_counter = s->has_last && last_period == info->period;
    info->period_counter = info->has_period_counter ? s->last_counter : 0;
    info->period_start[0] = info->period_end[0] = '\0';
    if (d && s->has_last)
        seq_number_text(s, last_period, info->current, info->current_text, sizeof(info->current_text));
    if (d && d->zone && d->period != 0) {
        dated_iso8601(d->zone, tz_local_to_utc(d->zone, d->period), info->period_start,
                      sizeof(info->period_start));
        dated_iso8601(d->zone, tz_local_to_utc(d->zone, dated_period_next(d->unit, d->period)),
                      info->period_end, sizeof(info->period_end));
    }
    info->claim_in_flight = s->claim_in_flight;
    info->generated = s->generated;
    info->wasted = s->wasted;
    info->refused_claims = s->claiming ? s->claiming->refused_claims : 0;
    info->given_back = s->given_back;
    info->claims = s->claims;
    info->last_claim_size = s->last_claim_size;
    info->last_claim_ms = s->claims ? s->last_install_ms : 0;
    info->last_claim_latency_us = s->last_claim_latency_us;
    strlcpy_safe(info->last_error, s->claiming && s->claiming->last_error ? s->claiming->last_error : "",
                 sizeof(info->last_error));
    seq_unlock(s);
}

void seq_claim_latency(struct hist *out)
{
    hist_read(&reg.claim_latency, out);
}

/* ---- graceful stop ----------------------------------------------------- */

/* One sequence's unused tail, collected before any is given back. */
struct give_back_entry {
    struct seq *s;                    /* a reference */
    uint64_t unused;                  /* numbers buffered and never served */
};

struct give_back_ctx {
    struct give_back_entry *entries;
    struct store_give_back *items;    /* parallel to entries */
    size_t n, cap;
};

static void collect_give_back(struct seq *s, void *arg)
{
    struct give_back_ctx *ctx = arg;

    seq_lock(s);
    uint64_t unused = segbuf_unused(&s->sb), to = s->claimed_top;
    uint64_t from = segbuf_giveback_from(&s->sb, to);
    int64_t period = period_of(s);
    seq_unlock(s);
    if (unused == 0 && from == to)
        return;
    if (ctx->n == ctx->cap) {
        ctx->cap = ctx->cap ? ctx->cap * 2 : 256;
        ctx->entries = xrealloc(ctx->entries, ctx->cap * sizeof(*ctx->entries));
        ctx->items = xrealloc(ctx->items, ctx->cap * sizeof(*ctx->items));
    }
    seq_ref(s);
    ctx->entries[ctx->n] = (struct give_back_entry){ s, unused };
    /* expect is set chunk by chunk (a definition is 552 bytes: not one
     * for each of a million sequences at once). */
    ctx->items[ctx->n] = (struct store_give_back){ seq_name(s), from, to, period, NULL, STORE_UNAVAILABLE };
    ctx->n++;
}

/* Count what one give-back achieved, and say what did not work. */
static void account_give_back(const struct give_back_entry *e, const struct store_give_back *it, const char *err,
                              uint64_t *returned_all, uint64_t *wasted_all)
{
    struct seq *s = e->s;
    bool gave = it->status == STORE_OK && it->from < it->to;
    uint64_t returned = gave ? it->to - it->from : 0;
    /* Counters past the kind's limit were never numbers: not returned, not wasted. */
    if (returned > e->unused)
        returned = e->unused;

    seq_lock(s);
    s->given_back += returned;
    s->wasted += e->unused - returned;
    seq_unlock(s);
    *returned_all += returned;
    *wasted_all += e->unused - returned;
    if (it->from == it->to)
        return;
    if (it->status == STORE_STALE)
        log_verbose("'%s': another node claimed after us; %" PRIu64 " unused numbers wasted", seq_name(s),
                    e->unused);
    else if (it->status != STORE_OK)
        log_warn("could not give back the unused range of '%s': %s", seq_name(s),
                 err[0] ? err : store_status_name(it->status));
    else if (e->unused > returned)
        log_verbose("'%s': gave back %" PRIu64 ", wasted %" PRIu64, seq_name(s), returned, e->unused - returned);
}

void seq_give_back_all(struct store *st)
{
    struct give_back_ctx ctx = { NULL, NULL, 0, 0 };
    void *sess = st->ops->session_open(st);
    uint64_t returned = 0, wasted = 0;
    char err[256] = "";
    size_t i;

    seq_foreach(collect_give_back, &ctx);
    /* The definitions served, for the compare-and-set (a sequence's is
     * fixed but for its segment, which seqdef_same does not compare). */
    struct seqdef *defs = xcalloc(GIVE_BACK_CHUNK, sizeof(*defs));
    /* Ranges with nothing to return (from == to) only count their waste. */
    if (st->ops->give_back_many) {
        struct store_give_back *todo = xcalloc(ctx.n ? ctx.n : 1, sizeof(*todo));
        size_t *where = xcalloc(ctx.n ? ctx.n : 1, sizeof(*where)), m = 0, sent = 0;
        uint64_t deadline = mono_ms() + GIVE_BACK_MAX_MS;
        bool failed = false;
        for (i = 0; i < ctx.n; i++) {
            if (ctx.items[i].from < ctx.items[i].to) {
                todo[m] = ctx.items[i];
                where[m++] = i;
            }
        }
        for (; sent < m && mono_ms() < deadline; sent += GIVE_BACK_CHUNK) {
            size_t k = m - sent < GIVE_BACK_CHUNK ? m - sent : GIVE_BACK_CHUNK;
            for (size_t j = 0; j < k; j++) {
                seq_def(ctx.entries[where[sent + j]].s, &defs[j]);
                todo[sent + j].expect = &defs[j];
            }
            if (st->ops->give_back_many(st, sess, todo + sent, k, err, sizeof(err)) != STORE_OK && !failed) {
                log_warn("could not give back every unused range: %s", err);
                failed = true;
            }
        }
        if (sent < m) {
            log_warn("stop: giving back took longer than %d s; the unused numbers of %zu sequences are "
                     "wasted (never handed out)", GIVE_BACK_MAX_MS / 1000, m - sent);
            for (i = sent; i < m; i++)
                ctx.items[where[i]].to = ctx.items[where[i]].from;     /* not tried: wasted, no line each */
        }
        for (i = 0; i < sent && i < m; i++)
            ctx.items[where[i]].status = todo[i].status;
        free(todo);
        free(where);
    } else {
        for (i = 0; i < ctx.n; i++) {
            struct store_give_back *it = &ctx.items[i];
            if (it->from < it->to) {
                seq_def(ctx.entries[i].s, &defs[0]);
                it->status = st->ops->give_back(st, sess, it->name, it->from, it->to, it->period, &defs[0],
                                                err, sizeof(err));
            }
        }
    }
    for (i = 0; i < ctx.n; i++) {
        account_give_back(&ctx.entries[i], &ctx.items[i], "", &returned, &wasted);
        seq_release(ctx.entries[i].s);
    }
    free(defs);
    free(ctx.entries);
    free(ctx.items);
    st->ops->session_close(st, sess);
    log_notice("gave back %" PRIu64 " unused numbers to the store; %" PRIu64 " wasted", returned, wasted);
}
