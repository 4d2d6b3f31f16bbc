/*
 * core: the protocol-neutral operations and their waiting (see core.h).
 *
 * An operation runs as a small loop over its names (op_run), from where it
 * stands (wt->cursor). When it cannot go on, it parks the waiter on a
 * sequence (numbers are on their way) or submits a store job (a look-up,
 * a create, a drop) and returns CORE_PENDING; the sequence's wake-up or
 * the job's completion comes back to the waiter's worker thread
 * (worker_call) and runs the loop again. A timer bounds the whole wait.
 *
 * The core owns the store, the store pool and every store job a request
 * needs: it creates, submits, completes and frees them here. Claims and
 * give-backs are seq.c's; rescans are discovery.c's.
 */
#include <assert.h>
#include <event2/event.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core.h"
#include "discovery.h"
#include "lease.h"
#include "log.h"
#include "seq.h"
#include "server.h"
#include "store.h"
#include "store_pool.h"
#include "tz.h"
#include "util.h"
#include "worker.h"

enum core_op { OP_NONE, OP_TAKE, OP_TAKE_DERIVED, OP_EXISTS, OP_DESCRIBE, OP_DEFINE, OP_DROP };

/* A store job a waiter waits for. The job's result is applied on the
 * waiter's worker; wt is NULL once the waiter stopped waiting for it
 * (cancelled or timed out): then only the job's effect on this node's
 * registry is applied. */
struct core_job {
    struct store_job job;           /* first: the pool's done() gets &job */
    struct core_waiter *wt;
    struct worker *w;
};

static struct {
    struct store store;
    struct store_pool *pool;
    int wait_ms;
    pthread_mutex_t stats_lock;
    struct stats stats_base;        /* the counters at the last CONFIG RESETSTAT */
} core = { .stats_lock = PTHREAD_MUTEX_INITIALIZER };

static int op_run(struct core_waiter *wt);

/* ---- results ------------------------------------------------------------ */

static int fail(struct core_waiter *wt, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct core_waiter *wt, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(wt->err, sizeof(wt->err), fmt, ap);
    va_end(ap);
    wt->status = status;
    return status;
}

static int fail_no_such(struct core_waiter *wt, const char *name, size_t len)
{
    char n[SEQ_NAME_MAX + 1], why[128];
    str_printable(name, len, n, sizeof(n));
    /* A name no HSET can make: "create it with HSET" would not work. */
    if (!seqdef_name_ok(name, len, why, sizeof(why)))
        return fail(wt, CORE_NO_SUCH, "no such sequence '%s': %s (a row with such a biz_tag is skipped; "
                    "the log says why)", n, why);
    return fail(wt, CORE_NO_SUCH,
                "no such sequence '%s' (create it with HSET %s type 3, or insert a row into %s)", n, n,
                core.store.ops->shared ? server.cfg.mysql_table : "seqd_segments");
}

/* core_take_runs of a kind whose numbers are not runs. */
static int fail_wrong_kind(struct core_waiter *wt, struct seq *s)
{
    return fail(wt, CORE_WRONG_KIND, "'%s' is type %d (%s)", seq_name(s), seq_kind(s),
                seqdef_kind_name(seq_kind(s)));
}

/* A store job failed: CORE_TRYAGAIN when it may work later. */
static int fail_store(struct core_waiter *wt, const struct store_job *job, const char *what,
                      const char *name)
{
    char n[SEQ_NAME_MAX + 1];
    str_printable(name, strlen(name), n, sizeof(n));
    if (job->status == STORE_UNAVAILABLE || job->status == STORE_UNKNOWN)
        return fail(wt, CORE_TRYAGAIN, "%s '%s': the store is unavailable: %s", what, n, job->err);
    return fail(wt, CORE_ERROR, "%s '%s': %s", what, n, job->err);
}

/* ---- the waiter's buffers ----------------------------------------------- */

static void reserve_numbers(struct core_waiter *wt, uint64_t n)
{
    if (wt->cap_numbers >= n)
        return;
    wt->numbers = xrealloc(wt->numbers, n * sizeof(*wt->numbers));
    wt->cap_numbers = n;
}

/* Room for n runs in all (a take of runs adds at most SEQ_TAKE_RUNS_MAX). */
static void reserve_runs(struct core_waiter *wt, size_t n)
{
    if (wt->cap_runs >= n)
        return;
    size_t cap = wt->cap_runs * 2 > n ? wt->cap_runs * 2 : n;
    wt->runs = xrealloc(wt->runs, cap * sizeof(*wt->runs));
    wt->cap_runs = cap;
}

/* Numbers [from, from+got) of the take came from s: a type 4 sequence's
 * are kept as text (rendered now, while the waiter knows their sequence);
 * others are marked integers once some number of the take is text. */
static void note_taken(struct core_waiter *wt, struct seq *s, uint64_t from, uint64_t got)
{
    bool dated = seq_kind(s) == SEQ_DATED;

    if (got == 0 || (!dated && !wt->has_text))
        return;
    if (wt->cap_text_at < from + got) {
        uint64_t cap = wt->cap_numbers > from + got ? wt->cap_numbers : from + got;
        wt->text_at = xrealloc(wt->text_at, cap * sizeof(*wt->text_at));
        wt->cap_text_at = cap;
    }
    if (!wt->has_text) {
        memset(wt->text_at, 0, from * sizeof(*wt->text_at));
        wt->text_len = 0;
        wt->has_text = true;
    }
    if (!dated) {
        memset(wt->text_at + from, 0, got * sizeof(*wt->text_at));
        return;
    }
    strlcpy_safe(wt->text_name, seq_name(s), sizeof(wt->text_name));
    for (uint64_t i = from; i < from + got; i++) {
        if (wt->text_cap - wt->text_len < CORE_NUMBER_TEXT_MAX) {
            wt->text_cap = wt->text_cap * 2 + CORE_NUMBER_TEXT_MAX * 16;
            wt->text = xrealloc(wt->text, wt->text_cap);
        }
        size_t n = seq_number_text(s, wt->hook.period, wt->numbers[i], wt->text + wt->text_len,
                                   CORE_NUMBER_TEXT_MAX);
        wt->text_at[i] = (uint32_t)wt->text_len + 1;
        wt->text_len += n + 1;
    }
}

size_t core_number_text(const struct core_waiter *wt, uint64_t i, char *buf, size_t len)
{
    int n;

    if (wt->has_text && wt->text_at[i] != 0)
        n = snprintf(buf, len, "%s", wt->text + wt->text_at[i] - 1);
    else
        n = snprintf(buf, len, "%" PRId64, wt->numbers[i]);
    return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

bool core_number_int(const struct core_waiter *wt, uint64_t i, int64_t *v)
{
    if (!wt->has_text || wt->text_at[i] == 0) {
        *v = wt->numbers[i];
        return true;
    }
    const char *t = wt->text + wt->text_at[i] - 1;
    return parse_i64(t, strlen(t), v) && t[0] >= '0' && t[0] <= '9';
}

/* Several names: the waiter's own arrays, grown as needed and kept. */
static void set_names(struct core_waiter *wt, int n, const char *const *names, const size_t *lens)
{
    if (n > wt->cap_names) {
        wt->own_names = xrealloc(wt->own_names, (size_t)n * sizeof(*wt->own_names));
        wt->own_lens = xrealloc(wt->own_lens, (size_t)n * sizeof(*wt->own_lens));
        wt->own_seqs = xrealloc(wt->own_seqs, (size_t)n * sizeof(*wt->own_seqs));
        wt->cap_names = n;
    }
    wt->names = wt->own_names;
    wt->lens = wt->own_lens;
    wt->seqs = wt->own_seqs;
    for (int i = 0; i < n; i++) {
        wt->names[i] = names[i];
        wt->lens[i] = lens[i];
        wt->seqs[i] = NULL;
    }
    wt->nnames = n;
}

/* One name: the single slots. */
static void set_name1(struct core_waiter *wt, const char *name, size_t len)
{
    wt->name1 = name;
    wt->len1 = len;
    wt->seq1 = NULL;
    wt->names = &wt->name1;
    wt->lens = &wt->len1;
    wt->seqs = &wt->seq1;
    wt->nnames = 1;
}

/* The operation waits: the door's argument bytes go away after this
 * call returns, so keep a copy of the names. */
static void keep_names(struct core_waiter *wt)
{
    size_t total = 0;
    for (int i = 0; i < wt->nnames; i++)
        total += wt->lens[i];
    char *copy = xmalloc(total ? total : 1);
    char *p = copy;
    for (int i = 0; i < wt->nnames; i++) {
        memcpy(p, wt->names[i], wt->lens[i]);
        wt->names[i] = p;
        p += wt->lens[i];
    }
    free(wt->names_copy);
    wt->names_copy = copy;
}

static void release_seqs(struct core_waiter *wt)
{
    for (int i = 0; i < wt->nnames; i++) {
        if (wt->seqs[i]) {
            seq_release(wt->seqs[i]);
            wt->seqs[i] = NULL;
        }
    }
}

/* ---- waiting -------------------------------------------------------------- */

static void on_wait_timeout(evutil_socket_t fd, short what, void *arg);

/* Arm the bound: segment.wait_ms from the first wait of the operation. */
static void arm_timer(struct core_waiter *wt)
{
    if (wt->wait_since_ms == 0)
        wt->wait_since_ms = mono_ms();
    if (!wt->timer)
        wt->timer = evtimer_new(wt->w->base, on_wait_timeout, wt);
    uint64_t waited = mono_ms() - wt->wait_since_ms;
    uint64_t bound = (uint64_t)core.wait_ms;
    uint64_t left = waited >= bound ? 0 : bound - waited;
    struct timeval tv = { (time_t)(left / 1000), (suseconds_t)((left % 1000) * 1000) };
    evtimer_add(wt->timer, &tv);
}

/* A type 5 take waits for the clock (seq.h: retry_ms), not for a claim:
 * nothing wakes it, so a precise timer (a wait for the next millisecond
 * must take about one, not up to the coarse clock's 4) tries again after
 * retry_ms, within the bound. */
static void arm_retry(struct core_waiter *wt)
{
    uint64_t waited = mono_ms() - wt->wait_since_ms;
    if (waited + wt->hook.retry_ms >= (uint64_t)core.wait_ms)
        return;                             /* the bound comes first */
    worker_precise_timer_add(wt->w, &wt->retry, (uint64_t)wt->hook.retry_ms * 1000);
}

static void park(struct core_waiter *wt, struct seq *s)
{
    if (wt->parked != s) {
        if (wt->parked)
            seq_release(wt->parked);
        seq_ref(s);
        wt->parked = s;
    }
    if (wt->wait_since_ms == 0)
        STAT_INC(&wt->w->stats, commands_parked);
    arm_timer(wt);
    if (wt->hook.retry_ms)
        arm_retry(wt);
}

static void unpark(struct core_waiter *wt)
{
    if (wt->parked) {
        seq_unpark(wt->parked, &wt->hook);
        seq_release(wt->parked);
        wt->parked = NULL;
    }
}

static void job_done_on_store_thread(struct store_job *job);

static void submit(struct core_waiter *wt, enum job_kind kind, const char *name, size_t len)
{
    struct core_job *cj = xcalloc(1, sizeof(*cj));
    cj->job.kind = kind;
    memcpy(cj->job.name, name, len < SEQ_NAME_MAX ? len : SEQ_NAME_MAX);
    if (kind == JOB_CREATE)
        cj->job.def = *wt->def;
    cj->job.done = job_done_on_store_thread;
    cj->wt = wt;
    cj->w = wt->w;
    wt->job = cj;
    arm_timer(wt);
    store_pool_submit(core.pool, &cj->job);
}

/* A take that failed (or was cancelled) after taking some numbers: they
 * are never served, and counted as wasted by their sequences. */
static void waste_taken(struct core_waiter *wt)
{
    for (int i = 0; i < wt->nnames && (uint64_t)i * wt->want < wt->nnumbers; i++) {
        uint64_t n = wt->nnumbers - (uint64_t)i * wt->want;
        seq_add_wasted(wt->seqs[i], n < wt->want ? n : wt->want);
    }
    wt->nnumbers = 0;
    wt->nruns = 0;
}

/* The operation is over: let go of what it held. */
static void op_end(struct core_waiter *wt)
{
    if (wt->op == OP_TAKE && wt->status != CORE_OK && wt->nnumbers > 0)
        waste_taken(wt);
    unpark(wt);
    if (wt->job) {
        wt->job->wt = NULL;         /* it finishes on its own */
        wt->job = NULL;
    }
    if (wt->wait_since_ms) {        /* the timers are armed only once it waited */
        evtimer_del(wt->timer);
        worker_precise_timer_del(wt->w, &wt->retry);
    }
    release_seqs(wt);
    if (wt->def) {
        free(wt->def);
        wt->def = NULL;
    }
    if (wt->names_copy) {
        free(wt->names_copy);
        wt->names_copy = NULL;
    }
    wt->nnames = 0;
    wt->pending = false;
    wt->op = OP_NONE;
}

/* A pending operation reached its result: tell the door. */
static void op_finish(struct core_waiter *wt, int status)
{
    wt->status = status;
    op_end(wt);
    wt->done(wt);
}

/* Run again after a wake-up or a job's result. */
static void op_resume(struct core_waiter *wt)
{
    int st = op_run(wt);
    if (st != CORE_PENDING)
        op_finish(wt, st);
}

/* arm_retry's timer: a type 5 take looks at the clock again. */
static void on_retry(void *arg)
{
    struct core_waiter *wt = arg;

    if (wt->pending && wt->parked)
        op_resume(wt);
}

static void on_wait_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct core_waiter *wt = arg;
    char n[SEQ_NAME_MAX + 1];

    if (!wt->pending)
        return;
    if (wt->parked && wt->hook.retry_ms && mono_ms() - wt->wait_since_ms < (uint64_t)core.wait_ms) {
        op_resume(wt);                      /* a type 5 take tries the clock again */
        return;
    }
    if (wt->parked) {
        char reason[300];
        struct seq *s = wt->parked;
        seq_wait_reason(s, reason, sizeof(reason));
        STAT_INC(&wt->w->stats, parked_timeouts);
        if (seq_kind(s) == SEQ_SNOWFLAKE)   /* the whole text: "clock moved backwards by N ms ..." */
            fail(wt, CORE_TRYAGAIN, "%s", reason);
        else
            fail(wt, CORE_TRYAGAIN, "no numbers for '%s' within %d ms: %s", seq_name(s), core.wait_ms, reason);
    } else if (wt->job) {
        str_printable(wt->job->job.name, strlen(wt->job->job.name), n, sizeof(n));
        if (wt->job->job.kind == JOB_CREATE || wt->job->job.kind == JOB_DROP)
            fail(wt, CORE_TRYAGAIN,
                 "the store did not confirm %s '%s' within %d ms; it may still happen (check with EXISTS %s)",
                 wt->job->job.kind == JOB_CREATE ? "creating" : "deleting", n, core.wait_ms, n);
        else
            fail(wt, CORE_TRYAGAIN, "the store did not answer a look-up of '%s' within %d ms", n, core.wait_ms);
    } else {
        return;
    }
    op_finish(wt, wt->status);
}

/* ---- store jobs ------------------------------------------------------------ */

/* On a store thread: the result goes to the worker that asked. */
static void job_done_on_worker(struct worker *w, void *arg);

static void job_done_on_store_thread(struct store_job *job)
{
    struct core_job *cj = (struct core_job *)job;
    worker_call(cj->w, job_done_on_worker, cj);
}

/* What a finished job means for this node, whether or not anyone still
 * waits for it. Returns a new reference for a found or created sequence. */
static struct seq *job_apply(const struct store_job *job, const char *peer)
{
    size_t len = strlen(job->name);
    switch (job->kind) {
    case JOB_LOOKUP:
        if (job->status == STORE_OK)
            return seq_add(&job->def);
        if (job->status == STORE_NOT_FOUND)
            seq_miss_remember(job->name, len);
        return NULL;
    case JOB_CREATE:
        if (job->status == STORE_OK) {
            log_notice("client %s created sequence '%s' (type %d)", peer ? peer : "(gone)", job->def.name,
                       job->def.kind);
            return seq_add(&job->def);
        }
        return NULL;
    case JOB_DROP:
        if (job->status == STORE_OK)
            log_notice("client %s deleted sequence '%s'", peer ? peer : "(gone)", job->name);
        if (job->status == STORE_OK || job->status == STORE_NOT_FOUND)
            seq_remove(job->name, len);
        return NULL;
    default:
        assert(!"a core job is a look-up, a create or a drop");
        return NULL;
    }
}

static int derived_created(struct core_waiter *wt, const struct store_job *job, struct seq *s);

static void job_done_on_worker(struct worker *w, void *arg)
{
    struct core_job *cj = arg;
    const struct store_job *job = &cj->job;
    struct core_waiter *wt = cj->wt;
    struct seq *s = job_apply(job, wt ? wt->peer : NULL);

    if (!wt) {
        if (s) {
            if (job->kind == JOB_LOOKUP)
                seq_prefetch(s);    /* a look-up core_prefetch started */
            seq_release(s);
        }
        free(cj);
        return;
    }
    assert(wt->job == cj && wt->w == w);
    wt->job = NULL;
    int st = CORE_PENDING;
    switch (job->kind) {
    case JOB_LOOKUP:
        if (s)
            wt->seqs[wt->cursor] = s;
        else if (job->status == STORE_NOT_FOUND)
            wt->lookup_missing = true;
        else
            st = fail_store(wt, job, "cannot look up", job->name);
        break;
    case JOB_CREATE:
        if (wt->op == OP_TAKE_DERIVED) {
            st = derived_created(wt, job, s);
        } else if (s) {
            seq_release(s);
            st = CORE_OK;
        } else if (job->status == STORE_EXISTS) {
            st = fail(wt, CORE_EXISTS, "sequence '%s' already exists (redefining is not allowed; DEL it first)",
                      job->def.name);
        } else {
            st = fail_store(wt, job, "cannot create", job->def.name);
        }
        break;
    case JOB_DROP:
        if (job->status == STORE_OK) {
            wt->count++;
            wt->cursor++;
        } else if (job->status == STORE_NOT_FOUND) {
            wt->cursor++;
        } else {
            wt->count = 0;
            st = fail_store(wt, job, "cannot delete", job->name);
        }
        break;
    default:
        break;
    }
    free(cj);
    if (st == CORE_PENDING)
        op_resume(wt);
    else
        op_finish(wt, st);
}

/* ---- the operations ---------------------------------------------------------- */

enum resolved { FOUND, MISSING, WAITING };

/* Find names[i] (into seqs[i]). A name a shared store may have but this
 * node has not met is looked up there: WAITING until the answer is in. */
static enum resolved resolve(struct core_waiter *wt, int i)
{
    if (wt->seqs[i])
        return FOUND;
    if (wt->lookup_missing) {
        wt->lookup_missing = false;
        return MISSING;
    }
    const char *name = wt->names[i];
    size_t len = wt->lens[i];
    wt->seqs[i] = seq_find(name, len);
    if (wt->seqs[i])
        return FOUND;
    char why[128];
    if (!core.store.ops->shared || !seqdef_name_ok(name, len, why, sizeof(why)) || seq_miss_recent(name, len))
        return MISSING;
    submit(wt, JOB_LOOKUP, name, len);
    return WAITING;
}

/* Resolve every name from the cursor on; a missing one is an error
 * (strict) or skipped. Returns CORE_OK when all are done. */
static int resolve_all(struct core_waiter *wt, bool strict)
{
    for (; wt->cursor < wt->nnames; wt->cursor++) {
        enum resolved r = resolve(wt, wt->cursor);
        if (r == WAITING)
            return CORE_PENDING;
        if (r == MISSING && strict)
            return fail_no_such(wt, wt->names[wt->cursor], wt->lens[wt->cursor]);
        if (r == FOUND && !strict)
            wt->count++;
    }
    return CORE_OK;
}

/* Names from..from+CORE_PREFETCH_MAX of a take of several: start their
 * claims while the take waits for names[from - 1] (seq_prefetch). */
static void prefetch_names(struct core_waiter *wt, int from)
{
    int end = from + CORE_PREFETCH_MAX < wt->nnames ? from + CORE_PREFETCH_MAX : wt->nnames;

    for (int i = from > wt->prefetched ? from : wt->prefetched; i < end; i++)
        seq_prefetch(wt->seqs[i]);
    if (end > wt->prefetched)
        wt->prefetched = end;
}

void core_prefetch(struct worker *w, const char *name, size_t len)
{
    char why[128];
    struct seq *s = seq_find(name, len);

    if (s) {
        seq_prefetch(s);
        seq_release(s);
        return;
    }
    if (!core.store.ops->shared || !seqdef_name_ok(name, len, why, sizeof(why)) || seq_miss_recent(name, len))
        return;
    /* Looked up with nobody waiting: job_done_on_worker adds it to the
     * registry and starts its claim. */
    struct core_job *cj = xcalloc(1, sizeof(*cj));
    cj->job.kind = JOB_LOOKUP;
    memcpy(cj->job.name, name, len < SEQ_NAME_MAX ? len : SEQ_NAME_MAX);
    cj->job.done = job_done_on_store_thread;
    cj->w = w;
    store_pool_submit(core.pool, &cj->job);
}

/* OP_TAKE: every name found first (cursor over the names), then `want`
 * numbers of each (nnumbers says how far). */
static int run_take(struct core_waiter *wt)
{
    if (wt->cursor < wt->nnames) {
        int st = resolve_all(wt, true);
        if (st != CORE_OK)
            return st;
    }
    if (wt->as_runs && !seq_kind_has_runs(seq_kind(wt->seqs[0])))
        return fail_wrong_kind(wt, wt->seqs[0]);
    /* Several names: each has its number there before any is taken, so a
     * name that makes the command wait (and perhaps give up) took nothing
     * from the others. */
    while (wt->nnames > 1 && wt->nnumbers == 0 && wt->checked < wt->nnames) {
        struct seq *s = wt->seqs[wt->checked];
        uint64_t none = 0;
        enum seq_take r = seq_take(s, &wt->hook, NULL, 1, &none, SEQ_CHECK);
        if (r == SEQ_TAKEN) {
            wt->checked++;
        } else if (r == SEQ_WAIT) {
            prefetch_names(wt, wt->checked + 1);
            park(wt, s);
            return CORE_PENDING;
        } else if (r == SEQ_EXHAUSTED) {
            return fail(wt, CORE_EXHAUSTED, "sequence '%s' is exhausted", seq_name(s));
        } else {
            return fail_no_such(wt, seq_name(s), strlen(seq_name(s)));
        }
    }
    /* One name: all its numbers at once, or none (seq.h: SEQ_ALL). */
    enum seq_take_mode mode = wt->nnames == 1 ? SEQ_ALL : SEQ_SOME;
    for (;;) {
        uint64_t i = wt->nnumbers / wt->want;
        if (i >= (uint64_t)wt->nnames)
            return CORE_OK;
        struct seq *s = wt->seqs[i];
        uint64_t need = wt->want - wt->nnumbers % wt->want, got = 0;
        enum seq_take r;
        if (wt->as_runs) {
            size_t nruns = 0;
            reserve_runs(wt, wt->nruns + SEQ_TAKE_RUNS_MAX);
            r = seq_take_runs(s, &wt->hook, wt->runs + wt->nruns, &nruns, need, &got, mode);
            wt->nruns += nruns;
        } else {
            r = seq_take(s, &wt->hook, wt->numbers + wt->nnumbers, need, &got, mode);
            note_taken(wt, s, wt->nnumbers, got);
        }
        wt->nnumbers += got;
        STAT_ADD(&wt->w->stats, numbers_served, got);
        switch (r) {
        case SEQ_TAKEN:
            continue;
        case SEQ_WAIT:
            park(wt, s);
            return CORE_PENDING;
        case SEQ_EXHAUSTED:
            if (seq_kind(s) == SEQ_DATED) {
                char until[200];
                seq_exhausted_until(s, until, sizeof(until));
                return fail(wt, CORE_EXHAUSTED, "sequence '%s' is exhausted %s", seq_name(s), until);
            }
            return fail(wt, CORE_EXHAUSTED, "sequence '%s' is exhausted", seq_name(s));
        case SEQ_GONE:
            return fail_no_such(wt, seq_name(s), strlen(seq_name(s)));
        }
    }
}

static uint64_t random_key(void);

/* OP_TAKE_DERIVED: names[0] is the derived sequence, names[1] the rule it
 * is made from. Found (cursor 0, a look-up on a shared store), it is a
 * plain take of names[0] from then on (OP_TAKE). Else the rule is found
 * (cursor 1) and names[0] created from its definition: derived_created()
 * goes on from the store's answer. */
static int run_take_derived(struct core_waiter *wt)
{
    if (wt->cursor == 0 && !wt->seqs[0] && wt->def && !wt->lookup_missing) {
        /* The store said it exists (created by another node or worker
         * first): read its definition there, whatever this node last
         * heard of the name. */
        submit(wt, JOB_LOOKUP, wt->names[0], wt->lens[0]);
        return CORE_PENDING;
    }
    if (wt->cursor == 0) {
        enum resolved r = resolve(wt, 0);
        if (r == WAITING)
            return CORE_PENDING;
        if (r == FOUND) {
            if (wt->seqs[1]) {
                seq_release(wt->seqs[1]);
                wt->seqs[1] = NULL;
            }
            wt->op = OP_TAKE;
            wt->nnames = 1;
            wt->cursor = 1;
            return run_take(wt);
        }
        wt->cursor = 1;
    }
    enum resolved r = resolve(wt, 1);
    if (r == WAITING)
        return CORE_PENDING;
    char rule[SEQ_NAME_MAX + 1];
    str_printable(wt->names[1], wt->lens[1], rule, sizeof(rule));
    if (r == MISSING)
        return fail(wt, CORE_NO_SUCH, "no such rule '%s' (define it as a sequence first: HSET %s type 3, "
                    "or insert a row into %s)", rule, rule,
                    core.store.ops->shared ? server.cfg.mysql_table : "seqd_segments");
    /* Same kind and fields as the rule, and a key of its own. Type 1's
     * is derived from the rule's key and the pair's name: every store
     * with a copy of the rule (id_step) makes the same permutation for
     * the pair, so the pairs' numbers stay disjoint across stores. A pair
     * made again after its rule was made again gets another key (the
     * rule's is new), which tells it from the old one on a shared table;
     * under the same rule it is the same definition again (see
     * docs/decisions.md, "Pairs of a type 1 rule"). The other kinds use
     * the key only to tell definitions apart: a fresh one, as for HSET. */
    if (!wt->def)
        wt->def = xmalloc(sizeof(*wt->def));
    seq_def(wt->seqs[1], wt->def);
    memcpy(wt->def->name, wt->names[0], wt->lens[0]);
    wt->def->name[wt->lens[0]] = '\0';
    wt->def->perm_key = wt->def->kind == SEQ_RANDOM
                            ? perm_derive_key(seq_perm_key(wt->seqs[1]), wt->names[0], wt->lens[0])
                            : random_key();
    submit(wt, JOB_CREATE, wt->names[0], wt->lens[0]);
    return CORE_PENDING;
}

/* The create of OP_TAKE_DERIVED is back (s: the new sequence, or NULL).
 * Created, or already there (another node or worker won the race: both
 * take from the one row, never the same numbers): take from it. */
static int derived_created(struct core_waiter *wt, const struct store_job *job, struct seq *s)
{
    wt->cursor = 0;
    if (s) {
        wt->seqs[0] = s;
        return CORE_PENDING;
    }
    if (job->status == STORE_EXISTS) {
        log_verbose("client %s: sequence '%s' was created by another node or worker first; taking from it",
                    wt->peer, job->def.name);
        return CORE_PENDING;
    }
    return fail_store(wt, job, "cannot create", job->def.name);
}

static int run_drop(struct core_waiter *wt)
{
    while (wt->cursor < wt->nnames) {
        const char *name = wt->names[wt->cursor];
        size_t len = wt->lens[wt->cursor];
        char why[128];
        struct seq *s = seq_find(name, len);
        bool known = s != NULL;
        if (s)
            seq_release(s);
        if (!seqdef_name_ok(name, len, why, sizeof(why)) || (!known && !core.store.ops->shared)) {
            wt->cursor++;
            continue;
        }
        submit(wt, JOB_DROP, name, len);
        return CORE_PENDING;
    }
    return CORE_OK;
}

/* OP_DEFINE: a name this node knows is taken; else the store creates it
 * (job_done_on_worker gives the result: this runs once). */
static int run_define(struct core_waiter *wt)
{
    struct seq *s = seq_find(wt->names[0], wt->lens[0]);
    if (s) {
        seq_release(s);
        return fail(wt, CORE_EXISTS, "sequence '%s' already exists (redefining is not allowed; DEL it first)",
                    wt->def->name);
    }
    submit(wt, JOB_CREATE, wt->names[0], wt->lens[0]);
    return CORE_PENDING;
}

static int op_run(struct core_waiter *wt)
{
    switch (wt->op) {
    case OP_TAKE:
        return run_take(wt);
    case OP_TAKE_DERIVED:
        return run_take_derived(wt);
    case OP_EXISTS:
        return resolve_all(wt, false);
    case OP_DESCRIBE: {
        int st = resolve_all(wt, true);
        if (st != CORE_OK)
            return st;
        wt->info = xmalloc(sizeof(*wt->info));
        seq_get_info(wt->seqs[0], wt->info);
        return CORE_OK;
    }
    case OP_DEFINE:
        return run_define(wt);
    case OP_DROP:
        return run_drop(wt);
    }
    return fail(wt, CORE_ERROR, "internal error: no operation");
}

/* Start an operation on the names already set (`taken` numbers of the
 * first name are in wt->numbers already). */
static int op_start(struct core_waiter *wt, int op, uint64_t taken)
{
    assert(!wt->pending && wt->op == OP_NONE);
    wt->op = op;
    wt->status = CORE_OK;
    wt->err[0] = '\0';
    wt->nnumbers = taken;
    if (taken == 0)
        wt->has_text = false;
    wt->count = 0;
    wt->cursor = 0;
    wt->checked = 0;
    wt->prefetched = 0;
    wt->lookup_missing = false;
    wt->wait_since_ms = 0;
    if (wt->info) {
        free(wt->info);
        wt->info = NULL;
    }
    int st = op_run(wt);
    if (st == CORE_PENDING) {
        wt->pending = true;
        keep_names(wt);
        return st;
    }
    wt->status = st;
    op_end(wt);
    return st;
}

/* ---- the door's calls ----------------------------------------------------------- */

void core_waiter_init(struct core_waiter *wt, struct worker *w, core_done_fn *done, const char *peer)
{
    memset(wt, 0, sizeof(*wt));
    wt->w = w;
    wt->done = done;
    wt->peer = peer;
    wt->hook.worker_id = w->id;
    wt->retry.fn = on_retry;
    wt->retry.arg = wt;
}

void core_cancel(struct core_waiter *wt)
{
    if (wt->pending) {
        wt->status = CORE_TRYAGAIN;     /* nothing is served: what it took is wasted */
        op_end(wt);
    }
}

void core_waiter_free(struct core_waiter *wt)
{
    core_cancel(wt);
    if (wt->timer)
        event_free(wt->timer);
    free(wt->own_names);
    free(wt->own_lens);
    free(wt->own_seqs);
    free(wt->numbers);
    free(wt->runs);
    free(wt->text);
    free(wt->text_at);
    free(wt->info);
    memset(wt, 0, sizeof(*wt));
}

bool core_waits_for_numbers(const struct core_waiter *wt)
{
    return wt->pending && wt->parked != NULL;
}

/* The end of a take's hot path (core_take, core_take_runs): done when it
 * took everything (r SEQ_TAKEN); anything else (a name to look up,
 * numbers to wait for, an error) goes the general way, from where this
 * stands: s found or NULL (its reference handed over), got numbers taken. */
static int hot_take_end(struct core_waiter *wt, struct seq *s, enum seq_take r, uint64_t got, const char *name,
                        size_t len, uint64_t want)
{
    if (s && r == SEQ_TAKEN) {
        seq_release(s);
        wt->nnumbers = got;
        wt->status = CORE_OK;
        return CORE_OK;
    }
    set_name1(wt, name, len);
    wt->seq1 = s;
    wt->want = want;
    return op_start(wt, OP_TAKE, got);
}

int core_take(struct core_waiter *wt, const char *name, size_t len, uint64_t want)
{
    uint64_t got = 0;

    assert(!wt->pending);
    reserve_numbers(wt, want);
    wt->has_text = false;
    wt->as_runs = false;
    /* The hot path: a sequence this node knows, its numbers buffered. */
    struct seq *s = seq_find(name, len);
    enum seq_take r = SEQ_WAIT;
    if (s) {
        r = seq_take(s, &wt->hook, wt->numbers, want, &got, SEQ_ALL);
        note_taken(wt, s, 0, got);
        STAT_ADD(&wt->w->stats, numbers_served, got);
    }
    return hot_take_end(wt, s, r, got, name, len, want);
}

int core_take_runs(struct core_waiter *wt, const char *name, size_t len, uint64_t want)
{
    uint64_t got = 0;

    assert(!wt->pending);
    wt->has_text = false;
    wt->as_runs = true;
    wt->nruns = 0;
    /* The hot path, as core_take's. */
    struct seq *s = seq_find(name, len);
    if (s && !seq_kind_has_runs(seq_kind(s))) {
        int st = fail_wrong_kind(wt, s);
        seq_release(s);
        return st;
    }
    enum seq_take r = SEQ_WAIT;
    if (s) {
        reserve_runs(wt, SEQ_TAKE_RUNS_MAX);
        r = seq_take_runs(s, &wt->hook, wt->runs, &wt->nruns, want, &got, SEQ_ALL);
        STAT_ADD(&wt->w->stats, numbers_served, got);
    }
    return hot_take_end(wt, s, r, got, name, len, want);
}

int core_take_derived(struct core_waiter *wt, const char *name, size_t len, const char *rule, size_t rulelen,
                      uint64_t want)
{
    char why[128];

    assert(!wt->pending);
    if (!seqdef_name_ok(name, len, why, sizeof(why)))
        return fail(wt, CORE_INVALID, "%s", why);
    if (!seqdef_name_ok(rule, rulelen, why, sizeof(why)))
        return fail(wt, CORE_INVALID, "rule: %s", why);
    const char *names[2] = { name, rule };
    size_t lens[2] = { len, rulelen };
    set_names(wt, 2, names, lens);
    wt->want = want;
    wt->as_runs = false;
    reserve_numbers(wt, want);
    return op_start(wt, OP_TAKE_DERIVED, 0);
}

int core_take_each(struct core_waiter *wt, int n, const char *const *names, const size_t *lens)
{
    set_names(wt, n, names, lens);
    wt->want = 1;
    wt->as_runs = false;
    reserve_numbers(wt, (uint64_t)n);
    return op_start(wt, OP_TAKE, 0);
}

int core_exists(struct core_waiter *wt, int n, const char *const *names, const size_t *lens)
{
    set_names(wt, n, names, lens);
    return op_start(wt, OP_EXISTS, 0);
}

int core_describe(struct core_waiter *wt, const char *name, size_t len)
{
    set_name1(wt, name, len);
    return op_start(wt, OP_DESCRIBE, 0);
}

int core_drop(struct core_waiter *wt, int n, const char *const *names, const size_t *lens)
{
    set_names(wt, n, names, lens);
    return op_start(wt, OP_DROP, 0);
}

int core_define(struct core_waiter *wt, const struct seqdef *def)
{
    set_name1(wt, def->name, strlen(def->name));
    wt->def = xmalloc(sizeof(*wt->def));
    *wt->def = *def;
    return op_start(wt, OP_DEFINE, 0);
}

static uint64_t random_key(void)
{
    uint64_t key = 0;
    while (getrandom(&key, sizeof(key), 0) != (ssize_t)sizeof(key))
        ;
    return key;
}

int core_definition_from_fields(struct seqdef *def, const char *name, size_t len, int nfields,
                                const char *const *fields, const size_t *lens, char *err, size_t errlen)
{
    if (!seqdef_name_ok(name, len, err, errlen))
        return CORE_INVALID;
    if (seqdef_from_fields(def, name, len, nfields, fields, lens, server.cfg.segment_default, random_key(),
                           err, errlen) != 0)
        return CORE_INVALID;
    /* Type 4: its zone must exist here (it is read once and kept). */
    if (def->kind == SEQ_DATED && tz_get(def->tz, err, errlen) == NULL)
        return CORE_INVALID;
    /* A claim is never above segment.max (README, docs/config.md). */
    if (def->segment > server.cfg.segment_max) {
        snprintf(err, errlen, "segment %" PRIu64 " is larger than segment.max (%" PRIu64 "): use at most %" PRIu64
                 " or raise segment.max in the configuration", def->segment, server.cfg.segment_max,
                 server.cfg.segment_max);
        return CORE_INVALID;
    }
    return CORE_OK;
}

/* ---- questions without waiting ------------------------------------------------- */

size_t core_sequence_count(void)
{
    return seq_count();
}

struct list_ctx {
    void (*fn)(const struct seq_info *info, void *arg);
    void *arg;
};

static void list_one(struct seq *s, void *arg)
{
    struct list_ctx *ctx = arg;
    struct seq_info info;
    seq_get_info(s, &info);
    ctx->fn(&info, ctx->arg);
}

void core_list(void (*fn)(const struct seq_info *info, void *arg), void *arg)
{
    struct list_ctx ctx = { fn, arg };
    seq_foreach(list_one, &ctx);
}

/* The store pool's view of whether the store answers (reachable before
 * the pool starts: core_open read the store). */
static void core_store_health(struct core_store_stats *out)
{
    struct store_pool_health h = { .reachable = true };

    if (core.pool)
        store_pool_health(core.pool, &h);
    out->reachable = h.reachable;
    out->down_since_ms = h.down_since_ms;
    strlcpy_safe(out->last_error, h.last_error, sizeof(out->last_error));
}

void core_store_stats(struct core_store_stats *out)
{
    out->type = core.store.ops->name;
    out->shared = core.store.ops->shared;
    out->pending_jobs = core.pool ? store_pool_pending(core.pool) : 0;
    out->rescans = discovery_rescans();
    out->full_rescans = discovery_full_rescans();
    out->counted_rescans = discovery_counted_rescans();
    out->loading = discovery_loading();
    struct store_pool_claims claims = { 0 };
    if (core.pool)
        store_pool_claims(core.pool, &claims);
    out->claim_batches = claims.batches;
    out->claims_batched = claims.batched;
    core_store_health(out);
    struct store_facts f = { .conflicts = 0 };
    if (core.store.ops->facts && core.store.priv)
        core.store.ops->facts(&core.store, &f);
    out->conflicts = f.conflicts;
    out->refused_claims = f.refused_claims;
    out->fences = f.fences;
    out->fence_on = f.fence_on;
    strlcpy_safe(out->server, f.server, sizeof(out->server));
}

bool core_store_shared(void)
{
    return core.store.ops->shared;
}

void core_snowflake_lease(struct lease_info *out)
{
    lease_get_info(out);
}

void core_claim_latency(struct hist *out)
{
    seq_claim_latency(out);
}

static void stats_now(struct stats *out)
{
    workers_stats(out);
    stats_sum(out, &server.listener_stats);
}

void core_stats(struct stats *out)
{
    stats_now(out);
    pthread_mutex_lock(&core.stats_lock);
    stats_subtract(out, &core.stats_base);
    pthread_mutex_unlock(&core.stats_lock);
}

void core_stats_reset(void)
{
    struct stats now;
    stats_now(&now);
    pthread_mutex_lock(&core.stats_lock);
    core.stats_base = now;
    pthread_mutex_unlock(&core.stats_lock);
}

/* ---- start-up and shutdown -------------------------------------------------------- */

static void worker_wake_seq(struct worker *w, void *arg);

/* seq.c's wake-up, on a store thread: run on the worker that waits. */
static void wake_worker(int worker, struct seq *s)
{
    worker_call(worker_by_id(worker), worker_wake_seq, s);
}

/* On the worker: its waiters parked on s go on. */
static void worker_wake_seq(struct worker *w, void *arg)
{
    struct seq *s = arg;
    struct seq_waiter *hook = seq_ready_waiters(s, w->id);
    while (hook) {
        /* Read next first: the waiter may park again and relink itself. */
        struct seq_waiter *next = hook->next;
        struct core_waiter *wt = CONTAINER_OF(hook, struct core_waiter, hook);
        if (wt->pending && wt->parked == s)
            op_resume(wt);
        hook = next;
    }
    seq_release(s);
}

static void load_definition(const struct seqdef *def, void *arg)
{
    size_t *n = arg;
    seq_release(seq_add(def));
    (*n)++;
}

static void count_snowflake(struct seq *s, void *arg)
{
    if (seq_kind(s) == SEQ_SNOWFLAKE)
        (*(size_t *)arg)++;
}

/* Type 5's worker id and reservation (lease.h), at start-up. */
static int snowflake_open(const struct config *cfg, char *err, size_t errlen)
{
    struct lease_config lc = {
        .shared = core.store.ops->shared,
        .worker_id = (int)config_worker_id(cfg),     /* at most 1023 (config_check) */
        /* id_step / id_offset: worker ids ≡ id_offset (mod id_step).
         * Both fit an int: config.c bounds id_step by CONFIG_ID_STEP_MAX. */
        .id_step = (int)cfg->id_step,
        .id_offset = (int)cfg->id_offset,
        .ttl_ms = (uint64_t)cfg->mysql_worker_lease_ms,
    };
    char host[64] = "";
    gethostname(host, sizeof(host) - 1);
    snprintf(lc.holder, sizeof(lc.holder), "%.63s:%d pid %ld", host, cfg->port, (long)getpid());
    return lease_open(&core.store, &lc, err, errlen);
}

int core_open(const struct config *cfg, size_t *ndefs, char *err, size_t errlen)
{
    const struct store_ops *ops = store_find(cfg->store_type);

    core.wait_ms = cfg->segment_wait_ms;
    core.store.ops = ops;
    core.store.test_delay_ms = cfg->store_delay_ms;
    if (ops->open(&core.store, cfg, err, errlen) != 0)
        return -1;
    core.pool = store_pool_start(&core.store, config_store_threads(cfg));
    struct seq_env env = {
        .pool = core.pool,
        .segment_max = cfg->segment_max,
        .duration_ms = (uint64_t)cfg->segment_duration_s * 1000,
        .id_step = cfg->id_step,
        .id_offset = cfg->id_offset,
        .wake = wake_worker,
    };
    seq_registry_init(&env);

    /* A shared store's table may hold millions of rows: they are read in
     * the background once the node listens (core_start_rescans), and a
     * name not read yet is looked up on first use. A local store is read
     * now: start-up may block on it, no client is served yet. */
    *ndefs = 0;
    if (!ops->shared) {
        char why[512];
        void *sess = ops->session_open(&core.store);
        int rc = ops->list(&core.store, sess, load_definition, ndefs, why, sizeof(why));
        ops->session_close(&core.store, sess);
        if (rc != STORE_OK) {
            snprintf(err, errlen, "cannot read the sequence definitions: %s", why);
            return -1;
        }
    }
    if (snowflake_open(cfg, err, errlen) != 0)
        return -1;
    /* Type 5 ids wait for the clock to pass what an earlier run reserved;
     * on a shared store the definitions are not read yet, and a type 5
     * request answers TRYAGAIN until the clock is there (lease.h). */
    size_t nsnowflake = 0;
    seq_foreach(count_snowflake, &nsnowflake);
    if (nsnowflake > 0)
        lease_wait_for_clock();
    return 0;
}

void core_start_leases(struct event_base *base)
{
    lease_start(base, core.pool);
}

void core_start_rescans(struct event_base *base)
{
    if (core.store.ops->shared)
        discovery_start(base, core.pool, server.cfg.mysql_rescan_s, true);
}

void core_set_rescan_interval(int seconds)
{
    discovery_set_interval(seconds);
}

void core_stop_claims(void)
{
    discovery_stop();
    lease_stop();
    seq_registry_stop_claims();
}

void core_finish_jobs(void)
{
    if (core.pool) {
        store_pool_stop(core.pool);
        core.pool = NULL;
        seq_give_back_all(&core.store);
        lease_release(&core.store, seq_snowflake_highest_ms());
    }
}

void core_close(void)
{
    seq_registry_free();
    if (core.store.ops)
        core.store.ops->close(&core.store);
}
