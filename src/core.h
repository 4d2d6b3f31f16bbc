/*
 * core: what seqd does, whichever door a request comes through.
 *
 * A door (the RESP connection and its commands; later HTTP and UDP) turns
 * a request into one of the calls below and the result into its own kind
 * of answer. Everything in between belongs to the core: finding a sequence
 * (looking it up in a shared store when this node has not met it yet),
 * taking numbers, the store jobs that define and drop sequences, and
 * waiting. Doors never reach the store, the store pool or a store job.
 *
 * Waiting belongs to a waiter, not to a connection. A door embeds a struct
 * core_waiter in what it keeps per request (a connection, an HTTP request,
 * a datagram), sets it up with core_waiter_init(), and calls an operation:
 *  - it returns CORE_OK or an error status: the result is in the waiter
 *    now, and done() is not called;
 *  - it returns CORE_PENDING: the operation goes on without the door's
 *    arguments (the core copied what it needs), and done() is called once,
 *    later, on the waiter's worker thread, with the result in the waiter.
 *    No operation waits longer than segment.wait_ms in all: then the status
 *    is CORE_TRYAGAIN and err says what it was waiting for.
 * core_cancel() ends a pending operation without calling done() (the
 * client went away). A store job it started still finishes, and what it
 * did (a sequence created or dropped) still becomes known to this node.
 *
 * Every call on a waiter is made on that waiter's worker thread, one
 * operation at a time. The start-up and shutdown calls are the main
 * thread's.
 */
#ifndef SEQD_CORE_H
#define SEQD_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "lease.h"
#include "seq.h"
#include "seqdef.h"
#include "stats.h"
#include "worker.h"

enum core_status {
    CORE_OK = 0,
    CORE_PENDING,        /* done() will be called with the result */
    CORE_NO_SUCH,        /* no such sequence */
    CORE_EXHAUSTED,      /* the kind has no more numbers */
    CORE_EXISTS,         /* define: the name is taken */
    CORE_INVALID,        /* a bad name or definition */
    CORE_TRYAGAIN,       /* not now: no numbers within segment.wait_ms, the store unavailable */
    CORE_ERROR,          /* the store refused (a bad row, a full disk, ...) */
    CORE_WRONG_KIND,     /* core_take_runs: the sequence's numbers are not runs (err names its kind) */
};

struct core_waiter;
struct event;
struct event_base;
struct worker;
typedef void core_done_fn(struct core_waiter *wt);

struct core_waiter {
    /* The door's: set by core_waiter_init. */
    struct worker *w;               /* the worker thread it lives on */
    core_done_fn *done;
    const char *peer;               /* who asks, for log lines ("127.0.0.1:5000") */

    /* The result of the last operation. */
    int status;                     /* enum core_status */
    char err[400];                  /* for an error status: what to tell the client, one line */
    int64_t *numbers;               /* core_take: the numbers, name after name (a type 4
                                       number: its period's counter value; see core_number_text) */
    uint64_t nnumbers;
    struct seq_run *runs;           /* core_take_runs: the numbers as runs, nnumbers in all */
    size_t nruns;
    bool has_text;                  /* some numbers are type 4 text (text_at) */
    char text_name[SEQ_NAME_MAX + 1];   /* the sequence of the last text number taken */
    int64_t count;                  /* core_exists, core_drop: how many */
    struct seq_info *info;          /* core_describe */

    /* The core's own, while an operation runs. */
    int op;
    bool pending;
    int nnames, cursor;             /* the names it works on, and how far it is */
    int checked;                    /* core_take_each: names seen to have a number */
    int prefetched;                 /* core_take_each: names before this had their claims started */
    const char **names;             /* the door's bytes until it waits, then names_copy */
    size_t *lens;
    struct seq **seqs;              /* the sequence of each name, found so far */
    char *names_copy;
    const char *name1;              /* one name: these slots, no allocation */
    size_t len1;
    struct seq *seq1;
    const char **own_names;         /* several names: these arrays, kept for reuse */
    size_t *own_lens;
    struct seq **own_seqs;
    int cap_names;
    uint64_t cap_numbers;
    size_t cap_runs;
    bool as_runs;                   /* the take keeps runs (core_take_runs), not numbers */
    uint64_t want;                  /* core_take: numbers per name */
    struct seqdef *def;             /* core_define */
    bool lookup_missing;            /* the store said names[cursor] does not exist */
    struct seq_waiter hook;         /* parked on `parked` */
    struct seq *parked;
    struct core_job *job;           /* a store job it waits for */
    uint64_t wait_since_ms;         /* when the operation first waited */
    struct event *timer;            /* the segment.wait_ms bound */
    struct precise_timer retry;     /* a type 5 take's next look at the clock */
    char *text;                     /* type 4 numbers' text, NUL-separated */
    size_t text_len, text_cap;
    uint32_t *text_at;              /* per number: 1 + its offset in text; 0: an integer */
    uint64_t cap_text_at;
};

/* ---- the door's calls (on the waiter's worker thread) ------------------- */

void core_waiter_init(struct core_waiter *wt, struct worker *w, core_done_fn *done, const char *peer);
/* End what runs (as core_cancel) and free what the waiter holds. */
void core_waiter_free(struct core_waiter *wt);
/* Stop a pending operation; done() is not called. No-op when none runs. */
void core_cancel(struct core_waiter *wt);
/* Is the pending operation waiting for numbers (not for a store job)? */
bool core_waits_for_numbers(const struct core_waiter *wt);

/* Numbers are integers (types 1-3, 5) or text (type 4: a rendered date
 * prefix and a zero-padded counter, letters allowed). A door asks for each
 * number of the last take in the form it answers in. */
#define CORE_NUMBER_TEXT_MAX 96         /* DATED_TEXT_MAX: any number's text fits */
/* Number i of the last take as text (its decimal digits, or a type 4
 * number's text) into buf; returns its length (0 if len is too small). */
size_t core_number_text(const struct core_waiter *wt, uint64_t i, char *buf, size_t len);
/* Is number i a 64-bit integer (*v)? Always for types 1-3; a type 4 number
 * when it is all digits and fits int64. */
bool core_number_int(const struct core_waiter *wt, uint64_t i, int64_t *v);

/* want numbers of one sequence: wt->numbers[0..want). */
int core_take(struct core_waiter *wt, const char *name, size_t len, uint64_t want);
/* want numbers of one sequence whose numbers come in runs (types 2 and
 * 3, seq_kind_has_runs) as runs: wt->runs[0..nruns) hold wt->nnumbers ==
 * want numbers in order, one run per segment they came from (adjacent
 * segments give adjacent runs; they are not merged). No memory per
 * number: want may be far above what one claim brings, the take then
 * goes on through several claims (seq.h, SEQ_ALL). Another kind is
 * CORE_WRONG_KIND, err "'name' is type N (kind)". */
int core_take_runs(struct core_waiter *wt, const char *name, size_t len, uint64_t want);
/* want numbers of `name`, a sequence derived from the sequence `rule`
 * (the UDP door's RULE:APP): when `name` does not exist yet it is created
 * first with the rule's definition (same kind and fields; the key of a
 * type 1 one derived from the rule's and `name`, perm_derive_key(), the
 * others a fresh one).
 * Race-free on a shared store: when another node or worker creates it
 * first, this one takes from that sequence. A missing rule is
 * CORE_NO_SUCH, err naming the rule. */
int core_take_derived(struct core_waiter *wt, const char *name, size_t len, const char *rule, size_t rulelen,
                      uint64_t want);
/* One number of each of n names, wt->numbers[i] for names[i]. Every name
 * is found before any number is taken: an unknown one takes nothing. */
int core_take_each(struct core_waiter *wt, int n, const char *const *names, const size_t *lens);
/* A door has read, further down a pipeline behind a waiting request, a
 * request that will take numbers of `name`: start what that request will
 * need (the sequence's claim, or its look-up in a shared store when this
 * node has not met it) without taking numbers and without waiting, so
 * that the claims of many cold names asked for at once run side by side
 * (and batched: store.h, claim_many) rather than one after another. The
 * answers stay in order: each request still takes its numbers when its
 * turn comes. At most CORE_PREFETCH_MAX requests ahead. */
#define CORE_PREFETCH_MAX 256
void core_prefetch(struct worker *w, const char *name, size_t len);
/* How many of the names exist: wt->count. */
int core_exists(struct core_waiter *wt, int n, const char *const *names, const size_t *lens);
/* The state of one sequence: wt->info (the waiter keeps it until its next call). */
int core_describe(struct core_waiter *wt, const char *name, size_t len);
/* Create a sequence. A name this node already knows is CORE_EXISTS. */
int core_define(struct core_waiter *wt, const struct seqdef *def);
/* Drop the named sequences: wt->count of them existed. */
int core_drop(struct core_waiter *wt, int n, const char *const *names, const size_t *lens);

/* A definition from field/value pairs (HSET's), with the configured
 * default segment and a fresh random key; CORE_OK or CORE_INVALID with
 * the reason in err. */
int core_definition_from_fields(struct seqdef *def, const char *name, size_t len, int nfields,
                                const char *const *fields, const size_t *lens, char *err, size_t errlen);

/* ---- what every door may ask without waiting (any thread) --------------- */

size_t core_sequence_count(void);
/* fn for every sequence's state (holding it while fn runs). */
void core_list(void (*fn)(const struct seq_info *info, void *arg), void *arg);

struct core_store_stats {
    const char *type;               /* "file", "memory", "mysql" */
    bool shared;                    /* other nodes use it too */
    int pending_jobs;               /* store jobs queued or running */
    uint64_t rescans;               /* completed rescans of a shared store */
    uint64_t full_rescans;          /* those that read every row (discovery.h) */
    uint64_t counted_rescans;       /* those that counted the rows */
    bool loading;                   /* the definitions are still being read after start-up */
    uint64_t claim_batches;         /* store calls that made several claims at once */
    uint64_t claims_batched;        /* the claims those calls made */
    bool reachable;                 /* the last store job got an answer (store_pool.h) */
    uint64_t down_since_ms;         /* not reachable: mono_ms() since when */
    char last_error[256];           /* not reachable: why */
    /* A shared store's own counters (store.h: struct store_facts). */
    uint64_t conflicts;             /* transactions rolled back for a conflict and run again */
    uint64_t refused_claims;        /* ranges below this node's high-water mark */
    uint64_t fences;                /* failovers this node fenced */
    bool fence_on;                  /* the failover fence is in place */
    char server[128];               /* the database server claims are made on */
};
void core_store_stats(struct core_store_stats *out);
/* Do other nodes share the store (its definitions load in the background)? */
bool core_store_shared(void);
/* Type 5's worker id, lease and reservation (lease.h). */
void core_snowflake_lease(struct lease_info *out);
/* Claim latencies since start, every sequence (hist.h). */
void core_claim_latency(struct hist *out);
/* The server's counters since start or the last core_stats_reset. */
void core_stats(struct stats *out);
void core_stats_reset(void);

/* ---- start-up and shutdown (main thread) -------------------------------- */

/* Open the store, start its threads, load a local store's definitions
 * into the registry (a shared store's load in the background:
 * core_start_rescans). Returns 0 (and the number of definitions loaded),
 * or -1 with err. */
int core_open(const struct config *cfg, size_t *ndefs, char *err, size_t errlen);
/* Load a shared store's definitions in the background now, and rescan it
 * every store.mysql.rescan_s, on this event base. */
void core_start_rescans(struct event_base *base);
void core_set_rescan_interval(int seconds);
/* Keep type 5's worker lease and timestamp reservation renewed (lease.h)
 * with a timer on this event base. */
void core_start_leases(struct event_base *base);
/* Graceful stop, in this order: core_stop_claims (no more claims or
 * rescans start), workers_stop, core_finish_jobs (the store jobs run or
 * are answered "shutting down"; every sequence's unused numbers go back
 * to the store), workers_free (runs the calls still queued for workers),
 * core_close (frees the registry, closes the store). */
void core_stop_claims(void);
void core_finish_jobs(void);
void core_close(void);

#endif
