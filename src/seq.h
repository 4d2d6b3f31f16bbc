/*
 * seq: the live sequences of this node and the registry that names them.
 *
 * A struct seq holds a definition, its double buffer of claimed counters
 * (segment.h) and the state of its claim. Workers take numbers under the
 * sequence's own short mutex; they never touch the store. When a claim is
 * due, seq.c submits a job to the store pool; when it completes (on a store
 * thread) the segment is installed and each worker with waiters parked on
 * the sequence is told so (env.wake); that worker then takes its own
 * waiters off the sequence (seq_ready_waiters) and lets them go on.
 *
 * Sequences are reference counted: the registry holds one reference, and
 * each in-flight claim holds one. seq_find() returns a new reference.
 */
#ifndef SEQD_SEQ_H
#define SEQD_SEQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dated.h"
#include "hist.h"
#include "perm.h"
#include "segment.h"
#include "small_lock.h"
#include "seqdef.h"
#include "snowflake.h"

struct store;
struct store_pool;

/* A request waiting for numbers of a sequence: linked into the sequence's
 * list while it waits. Only the worker it belongs to links and unlinks
 * it, always under the sequence's lock. */
struct seq_waiter {
    struct seq_waiter *prev, *next;
    int worker_id;
    bool linked;
    int64_t period;                 /* out: the period key of the numbers the last seq_take of a
                                       type 4 sequence took (one take, one period) */
    /* Set by seq_take: 0, or (SEQ_WAIT of a type 5 sequence, which waits
     * for the clock, not for a claim, and is never linked) try again after
     * this many ms: nothing wakes it. */
    uint32_t retry_ms;
};

/* What a type 5 sequence waits for (INFO, -TRYAGAIN's text). */
enum seq_sf_wait { SF_WAIT_NONE, SF_WAIT_NEXT_MS, SF_WAIT_BEHIND, SF_WAIT_RESERVE, SF_WAIT_LEASE,
                   SF_WAIT_EPOCH };

/* Type 5's clock state: no segments; ids from the clock (snowflake.h). */
struct seq_snowflake {
    struct snowflake_gen gen;
    int64_t last_id;                /* the last id handed out, if has_last */
    int wait;                       /* enum seq_sf_wait: why the last take waited */
    bool behind;                    /* the clock is behind the last id now */
    uint64_t behind_ms;             /* by how much, at the last look */
    uint64_t floor_ms;              /* the floor at the last look (a restart's reservation) */
    uint64_t backwards;             /* times the clock was found behind (events, not looks) */
    uint64_t last_jump_ms;          /* the largest lag of the last such event */
};

struct seq_claim_state;             /* a claim's, its waiters' and its failures' (seq.c) */
struct seq_dated;                   /* type 4's own state (seq.c) */
struct seq_flake;                   /* type 5's own state (seq.c) */

/* A node may load a million sequences and use few of them, so a struct seq
 * holds what every kind needs and no more: what one kind alone needs is
 * allocated for that kind (of_kind), the definition's numbers are fields
 * here and its texts are in text[] at the end of the same allocation, and
 * what only a claim in flight, a waiter or a failed claim needs is
 * allocated while it does (claiming). text[] starts at byte 188: with a
 * name of 10 bytes and no description (12 bytes of text), malloc's chunk
 * is 208 bytes (glibc: 200 asked, 8 of header, a multiple of 16), and a
 * sequence loaded, used and idle costs about 220 bytes here with its
 * share of the registry's buckets; types 4 and 5 more for their own
 * state (tests/unit/check_seq.c measures it). Fields go from wide to
 * narrow to leave no padding; the name's hash is not kept (the registry
 * computes it again when it grows). seq_def() gives the whole
 * definition. */
struct seq {
    small_lock lock;
    int refs;                       /* atomic */
    struct seq *hnext;              /* registry hash chain */
    union {                         /* by kind; NULL for types 2 and 3 */
        struct perm *perm;          /* type 1, under lock: made when it hands out its first number */
        struct seq_dated *dated;    /* type 4, from seq_add */
        struct seq_flake *flake;    /* type 5, from seq_add */
    } of_kind;
    /* The definition's numbers, fixed except segment (kind, length and
     * auto_disk are with the small fields at the end). */
    int64_t starting, increment;
    uint64_t segment;               /* under lock: the store may change it (seq_set_segment) */
    uint64_t perm_key;
    /* Under lock: */
    struct segbuf sb;
    uint64_t claimed_top;           /* start+count of the newest claim, uncut */
    uint64_t last_counter;          /* the last counter handed out, if has_last */
    uint64_t generated;
    uint64_t last_claim_size;
    uint64_t last_install_ms;
    uint64_t wasted, given_back, claims;
    struct seq_claim_state *claiming;   /* NULL while no claim, waiter or failure needs it */
    uint32_t last_claim_latency_us; /* submit to install of the last claim, retries included
                                       (at most UINT32_MAX: 71 minutes) */
    uint32_t seen_scan;             /* atomic: seq_seen */
    /* Small fields, together. The definition's, fixed (read without the
     * lock: no field written later shares their byte): */
    unsigned kind : 3;              /* enum seq_kind */
    unsigned auto_disk : 3;         /* enum seq_auto_disk */
    int8_t length;
    uint8_t name_len;               /* strlen(name): compared before the bytes */
    /* Under lock, and never read without it (a store to one bit writes
     * the whole byte): */
    bool has_last : 1;
    bool claim_in_flight : 1;       /* a claim job is queued, running or backing off */
    bool deleted : 1;               /* gone from the store (DEL, or rescan) */
    char text[];                    /* the name, then the description, each NUL-terminated */
};

/* The name of s (fixed; name_len bytes and a NUL), its kind, and the key
 * that tells its definition from a later one of the same name. */
static inline const char *seq_name(const struct seq *s) { return s->text; }
static inline int seq_kind(const struct seq *s) { return s->kind; }
static inline uint64_t seq_perm_key(const struct seq *s) { return s->perm_key; }
/* The whole definition of s, its segment as it is now. */
void seq_def(struct seq *s, struct seqdef *out);
/* Is def the definition s was made from (seqdef_same)? */
bool seq_def_same(struct seq *s, const struct seqdef *def);

/* Results of taking numbers. */
enum seq_take { SEQ_TAKEN, SEQ_WAIT, SEQ_EXHAUSTED, SEQ_GONE };

/* How the registry reaches the rest of the server. */
struct seq_env {
    struct store_pool *pool;
    uint64_t segment_max;
    uint64_t duration_ms;
    /* id_step / id_offset: store counter c is the kind's counter
     * seqdef_spread(c, id_step, id_offset). 0 and 0 mean 1 and 0. */
    uint64_t id_step, id_offset;
    /* Tell a worker that s has numbers again, or is gone (thread-safe;
     * wake gets a reference to s that it releases). */
    void (*wake)(int worker_id, struct seq *s);
};

void seq_registry_init(const struct seq_env *env);
/* At shutdown: no more claims are started or retried. */
void seq_registry_stop_claims(void);
/* Free every sequence (after the pool has stopped). */
void seq_registry_free(void);

/* A new reference to the named sequence, or NULL. */
struct seq *seq_find(const char *name, size_t len);
void seq_release(struct seq *s);
/* Add a sequence for def unless the name is there (returns the existing
 * one then). Returns a new reference. */
struct seq *seq_add(const struct seqdef *def);
/* Remove from the registry (DEL, or gone from the store); counters it
 * still holds are wasted. Tells the workers of its parked waiters. */
void seq_remove(const char *name, size_t len);
size_t seq_count(void);
/* Sequences registered since start (seq_add that made a new one). */
uint64_t seq_added_total(void);
/* A rescan of the store begins (discovery.c runs one at a time): its id,
 * 1, 2, ... (a uint32_t: at one a second, the least interval, it lasts
 * 136 years). A sequence added from now on counts as met by it. */
uint32_t seq_rescan_begin(void);
/* Rescan scan_id met s in the store. */
void seq_mark_seen(struct seq *s, uint32_t scan_id);
/* The last rescan that met s, or the one that had begun when s was added. */
uint32_t seq_seen(const struct seq *s);

/* The store says the base segment size (the row's step) is now `segment`. */
void seq_set_segment(struct seq *s, uint64_t segment);

/* How seq_take may take:
 *  SEQ_SOME   what is there now, parking for the rest (the claim it
 *             parks for is large enough for the rest, up to segment.max);
 *  SEQ_ALL    all `want` at once or none: while the buffers hold fewer, it
 *             takes nothing (they keep serving others) and parks, and the
 *             claim it waits for is large enough; SEQ_EXHAUSTED when the
 *             kind cannot bring them. When the buffers could not hold them
 *             even after a claim (a next segment is already there, or more
 *             is missing than segment.max), it takes as SEQ_SOME;
 *  SEQ_CHECK  as SEQ_ALL but takes nothing even when all are there
 *             (SEQ_TAKEN, *got 0: the caller may take them now); in the
 *             SEQ_SOME case also SEQ_TAKEN. */
enum seq_take_mode { SEQ_SOME, SEQ_ALL, SEQ_CHECK };

/* Take up to `want` numbers into out[]; *got is how many. SEQ_TAKEN when
 * *got == want; SEQ_WAIT when the buffers ran dry first: a claim is on its
 * way, and wt is parked on s (its worker is told when the claim lands;
 * any other result leaves wt unlinked);
 * SEQ_EXHAUSTED when the kind has no more numbers; SEQ_GONE when the
 * sequence was deleted.
 * Type 5 (snowflake ids) takes no claims: it takes what the clock allows
 * now in any mode (SEQ_CHECK: nothing, SEQ_TAKEN when ids can be made),
 * and on SEQ_WAIT sets wt->retry_ms instead of parking wt; *got ids taken
 * so far are valid whatever the result. */
enum seq_take seq_take(struct seq *s, struct seq_waiter *wt, int64_t *out, uint64_t want, uint64_t *got,
                       enum seq_take_mode mode);
/* Numbers first, first + step, ... (count of them, count >= 1): what a
 * take of an increasing kind gets from one segment. step >= 1 is the
 * sequence's step times id_step; as an integer it may exceed INT64_MAX
 * only when count is 1 (two numbers that far apart do not fit int64). */
struct seq_run {
    int64_t first;
    uint64_t step;
    uint64_t count;
};
/* Runs one seq_take_runs makes at most: the rest of cur, then next. */
#define SEQ_TAKE_RUNS_MAX 2

/* Do the numbers of this kind come in arithmetic runs, one per segment?
 * Types 2 and 3. Not type 1 (a permutation), type 4 (text, counting
 * again each period) or type 5 (made from the clock). */
bool seq_kind_has_runs(int kind);

/* seq_take for a kind with runs (seq_kind_has_runs), the numbers as runs
 * instead of one by one: runs[0..*nruns) (room for SEQ_TAKE_RUNS_MAX)
 * hold the *got numbers in the order seq_take would give them. */
enum seq_take seq_take_runs(struct seq *s, struct seq_waiter *wt, struct seq_run *runs, size_t *nruns,
                            uint64_t want, uint64_t *got, enum seq_take_mode mode);

/* A type 4 number as text (what clients see), from the period and value a
 * take gave (seq_waiter.period, out[]). Returns its length, 0 when buf
 * (DATED_TEXT_MAX bytes always do) is too small. No lock: fixed fields. */
size_t seq_number_text(const struct seq *s, int64_t period, int64_t value, char *buf, size_t len);
/* Why a type 4 sequence answered SEQ_EXHAUSTED: "until <the start of the
 * next period, ISO 8601>" (or why its zone cannot be used), into buf. */
void seq_exhausted_until(struct seq *s, char *buf, size_t len);

/* A request further down a pipeline will take numbers of s: start the
 * claim it would start (its buffers are empty or running low), without
 * taking any and without waiting, so that the claims of many cold
 * sequences asked for at once run side by side (and in one batch, store.h:
 * claim_many) instead of one after another. Types 1 to 3 only: type 4
 * claims for the period of the take, type 5 takes no claims. */
void seq_prefetch(struct seq *s);

/* Numbers taken for a request that then failed: never served, counted. */
void seq_add_wasted(struct seq *s, uint64_t n);
/* Stop waiting on s (a timeout, a client gone). No-op when not parked. */
void seq_unpark(struct seq *s, struct seq_waiter *wt);
/* The waiters of worker_id parked on s, unlinked, chained through next. */
struct seq_waiter *seq_ready_waiters(struct seq *s, int worker_id);
/* Another reference to s. */
void seq_ref(struct seq *s);

/* Why numbers are not there now (for -TRYAGAIN): copies last_error or a
 * generic text into buf. */
void seq_wait_reason(struct seq *s, char *buf, size_t len);

/* Names a shared store said it does not have, remembered for a moment
 * (SEQ_MISS_TTL_MS), so that clients asking again and again for a name
 * that does not exist do not each cost a store look-up that would queue
 * in front of claims. A direct-mapped cache: a miss may be forgotten
 * early, never kept longer. */
#define SEQ_MISS_TTL_MS 250
void seq_miss_remember(const char *name, size_t len);
bool seq_miss_recent(const char *name, size_t len);
void seq_miss_forget(const char *name, size_t len);

/* Call fn for every sequence (holding a reference during the call). */
void seq_foreach(void (*fn)(struct seq *s, void *arg), void *arg);

/* Give back every sequence's unused tail to the store (graceful stop;
 * runs on the calling thread). Logs what was returned and wasted. */
void seq_give_back_all(struct store *st);

/* For INFO name: a consistent copy of the numbers. */
struct seq_info {
    struct seqdef def;
    struct segbuf sb;
    bool has_current;
    int64_t current;                 /* the last number handed out */
    bool claim_in_flight;
    uint64_t generated, wasted, given_back, claims, last_claim_size;
    uint64_t refused_claims;         /* claimed ranges refused: below what this node claimed before */
    uint64_t last_claim_ms;          /* mono_ms() when the last claim landed; 0: none yet */
    uint64_t last_claim_latency_us;  /* how long it took from submit, retries included */
    char last_error[200];
    struct seq_snowflake sf;         /* type 5 */
    /* Type 4: */
    char current_text[DATED_TEXT_MAX];  /* the last number handed out, "" if none */
    int64_t period;                  /* the period served (its key); 0: none yet */
    char period_start[40], period_end[40];  /* its start and end, ISO 8601 in its zone */
    bool has_period_counter;
    uint64_t period_counter;         /* the last counter of the period handed out here */
    uint64_t periods;                /* periods this node moved to */
};
void seq_get_info(struct seq *s, struct seq_info *info);

/* The latest Unix ms any type 5 id of this node has (0: none), for the
 * reservation kept at a graceful stop. */
uint64_t seq_snowflake_highest_ms(void);

/* Claim latencies of every sequence since start (submit to install,
 * retries included): a copy for /metrics. */
void seq_claim_latency(struct hist *out);

#endif
