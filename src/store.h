/*
 * store: where claims and definitions are kept. One interface, several
 * backends (store_memory.c, store_file.c, store_mysql.c); the memory and
 * file stores share one table and its arithmetic (store_table.h).
 *
 * The contract every backend keeps:
 *  - claim(name, want, expect): a range of counters [start, start+count)
 *    that no other node and no earlier run has had, durably recorded before
 *    it returns STORE_OK. count >= want, and count >= the definition's
 *    segment (the row's step). When expect is not NULL it is the definition
 *    the caller serves: a row that is another definition of the name (it
 *    was deleted and created again: seqdef_same() is false) is left alone
 *    and the answer is STORE_NOT_FOUND, so that a claim on its way for a
 *    deleted sequence never eats the numbers of a new one. When the backend cannot tell whether the claim was
 *    recorded (a COMMIT whose answer was lost) it returns STORE_UNKNOWN and
 *    the caller throws the range away: no range is ever served twice.
 *    A shared store also refuses a range that starts below what this node
 *    claimed before (STORE_REFUSED: the database lost transactions, as in
 *    a failover to a replica that lagged); it is thrown away as well.
 *  - claim_many(items): several claims at once (optional), each with
 *    exactly claim's rules and its own status and range, as if each had
 *    run alone: from the definition it expects, in the period it wants,
 *    at least its segment, never below this node's mark. A backend may
 *    make them in one transaction (mysql: lock every row, one UPDATE, one
 *    COMMIT); then a failure of that transaction is every claim's: before
 *    COMMIT none is recorded (STORE_UNAVAILABLE), and when the COMMIT's
 *    outcome is unknown every range of the batch is thrown away
 *    (STORE_UNKNOWN), so that still no range is ever served twice.
 *    Items may name the same sequence twice: each gets a range of its own.
 *  - give_back(name, from, to, expect): the caller stops holding [from,
 *    to), which is the top of everything claimed, claimed from the
 *    definition expect (required: the one the caller served). The backend
 *    sets max_id back to `from` only if the row is still that definition
 *    (seqdef_same) and max_id is still `to` (compare-and-set), and returns
 *    STORE_OK; else it changes nothing and returns STORE_STALE. The
 *    definition matters: after DEL + re-create the new row may stand at
 *    the old range's `to` by chance (same step, as many claims), and
 *    setting it back would hand its numbers out twice. Callers pass
 *    from < to; an empty or reversed range changes nothing in any backend.
 *  - periods (type 4, dated numbers): a row also holds the period its
 *    max_id counts in (a key, dated.h; 0 for every other kind, and for a
 *    type 4 row no claim has reached yet). claim(..., period, ...) passes
 *    the period the caller wants; in the same atomic step, a row in an
 *    older period moves to the wanted one with max_id 0 (its counter
 *    restarts), and a row in a newer period stays there: the range is
 *    taken in the row's period, which the claim returns (out->period).
 *    A period's counter thus never restarts and a period is never gone
 *    back to, whoever's clock is behind. give_back applies only while the
 *    row is still in the period it passes. Other kinds pass 0, and their
 *    rows never move.
 *  - create / drop / lookup / list: definitions, which live in the store
 *    so that every node agrees on them.
 *
 * Backend functions block (disk, network). They run only on the store
 * threads (store_pool.c), never on a worker. Each store thread has its own
 * session (e.g. a MySQL connection); a backend that needs no per-thread
 * state returns the store itself.
 */
#ifndef SEQD_STORE_H
#define SEQD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "seqdef.h"

enum store_status {
    STORE_OK = 0,
    STORE_NOT_FOUND,      /* no such sequence */
    STORE_EXISTS,         /* create: the name is taken */
    STORE_UNAVAILABLE,    /* could not reach the store; nothing changed; retry later */
    STORE_UNKNOWN,        /* claim: outcome unknown; throw the range away */
    STORE_ERROR,          /* a permanent error (bad row, disk full, ...); err says */
    STORE_STALE,          /* give_back: max_id was not `to` any more, or the row is another
                           * definition; nothing changed */
    STORE_REFUSED,        /* claim: the range starts below what this node has claimed
                           * before (the database lost transactions); thrown away */
};

struct claim {
    uint64_t start;       /* first counter */
    uint64_t count;       /* number of counters */
    int64_t period;       /* the period they count in (type 4; else 0) */
    struct seqdef def;    /* the definition as the store has it now */
};

/* What a backend tells INFO and /metrics about itself (store_ops.facts). */
struct store_facts {
    uint64_t conflicts;               /* transactions the database rolled back and were run again */
    uint64_t refused_claims;          /* claimed ranges below this node's high-water mark */
    uint64_t fences;                  /* failovers this node fenced */
    bool fence_on;                    /* the failover fence is in place (seqd_meta is there) */
    char server[128];                 /* the database server claims are made on, "" if unknown */
};

typedef void store_list_fn(const struct seqdef *def, void *arg);

/* One claim of a batch (store_ops.claim_many): claim's arguments in,
 * its status, range and message out. */
struct store_claim {
    const char *name;
    uint64_t want;
    int64_t period;
    const struct seqdef *expect;      /* NULL: any definition of the name */
    struct claim *out;
    int status;                       /* out: as claim's */
    char *err;                        /* out: claim's err, errlen bytes */
    size_t errlen;
};

/* One range of a batched give-back (store_ops.give_back_many). */
struct store_give_back {
    const char *name;
    uint64_t from, to;
    int64_t period;
    const struct seqdef *expect;      /* the definition the range was claimed from (required) */
    int status;                       /* out: as give_back's */
};

/* A rescan of a shared store (store_ops.rescan). */
struct store_rescan {
    int64_t since_s;                  /* in: rows changed since then (the store's clock, Unix s); 0: all */
    bool first_load;                  /* in: the load after start-up (store.test_delay_ms delays it) */
    bool full;                        /* out: every row was read (since_s 0, or the table cannot tell) */
    int64_t now_s;                    /* out: the store's clock when the read began */
    uint64_t rows;                    /* out: the rows it holds then (sequences, unreadable ones too),
                                         when counted */
    bool counted;                     /* out: rows was counted; false when the store knows that no
                                         row was deleted since the last count, and skipped it */
};

/* Type 5's worker id and timestamp reservation (lease.c drives them).
 *  - LEASE_ACQUIRE: take a worker id (file/memory: worker_id as given;
 *    mysql: the lowest free or expired one ≡ id_offset mod id_step, in
 *    one transaction) and record reserve_ms as the highest Unix ms its ids
 *    may have. floor_ms is the reservation found: what an earlier run (or
 *    holder) of the id may have used, so ids must be later.
 *  - LEASE_RENEW: extend the lease (mysql) and the reservation to
 *    reserve_ms (never lowered); STORE_STALE when the lease is no longer
 *    this node's (fenced by the generation): stop issuing.
 *  - LEASE_RELEASE (graceful stop): reserve_ms is the highest ms used;
 *    the reservation is cut down to it and the lease given up.
 * A store with no room (every id leased) answers STORE_UNAVAILABLE with
 * exhausted set. */
enum store_lease_op { LEASE_ACQUIRE, LEASE_RENEW, LEASE_RELEASE };

struct worker_lease {
    int op;                           /* enum store_lease_op */
    int worker_id;                    /* in: config (file/memory), held (RENEW/RELEASE); out: ACQUIRE's */
    int id_step, id_offset;           /* ACQUIRE on mysql: worker ids ≡ id_offset (mod id_step) */
    uint64_t generation;              /* in: held (RENEW/RELEASE); out: ACQUIRE's fencing generation */
    uint64_t reserve_ms;              /* in: see above */
    uint64_t ttl_ms;                  /* mysql: the lease's length, from the DB's clock */
    uint64_t skew_ms;                 /* mysql: a lease is taken over only this long after its expiry */
    char holder[128];                 /* who holds it, for operators ("host:port pid N") */
    uint64_t floor_ms;                /* out (ACQUIRE): the reservation found */
    uint64_t reserved_ms;             /* out (ACQUIRE, RENEW): the reservation now recorded */
    bool exhausted;                   /* out: every allowed worker id is leased */
};

struct store;

struct store_ops {
    const char *name;                /* "memory", "file", "mysql" */
    bool shared;                     /* other nodes may change it: look up on miss, rescan */
    /* Main thread, at start-up: check the configuration and that the store
     * can be used, and that it is served with the id_step and id_offset it
     * recorded (recording them on its first start; store_spread.h: the
     * file and mysql stores). Returns 0 or -1 with a clear message in err. */
    int (*open)(struct store *st, const struct config *cfg, char *err, size_t errlen);
    void (*close)(struct store *st);
    /* One session per store thread; NULL on failure is allowed (the
     * backend reconnects inside its calls). */
    void *(*session_open)(struct store *st);
    void (*session_close)(struct store *st, void *sess);
    int (*claim)(struct store *st, void *sess, const char *name, uint64_t want, int64_t period,
                 const struct seqdef *expect, struct claim *out, char *err, size_t errlen);
    /* claim of n sequences at once (claims due together on many cold
     * sequences), each with claim's rules and its own status (see above);
     * NULL: one claim each. Returns STORE_OK when every item has its
     * status, or the status of all of them (UNAVAILABLE: none was made;
     * UNKNOWN: their ranges are thrown away; ERROR), with err. */
    int (*claim_many)(struct store *st, void *sess, struct store_claim *items, size_t n,
                      char *err, size_t errlen);
    int (*give_back)(struct store *st, void *sess, const char *name, uint64_t from,
                     uint64_t to, int64_t period, const struct seqdef *expect, char *err, size_t errlen);
    /* give_back of n ranges at once (a graceful stop with many sequences),
     * each with give_back's compare-and-set and its own status; NULL: one
     * give_back each. Returns STORE_OK when every item has its status, or
     * the status that kept them from it (they are then not given back). */
    int (*give_back_many)(struct store *st, void *sess, struct store_give_back *items, size_t n,
                          char *err, size_t errlen);
    int (*create)(struct store *st, void *sess, const struct seqdef *def, char *err, size_t errlen);
    int (*drop)(struct store *st, void *sess, const char *name, char *err, size_t errlen);
    int (*lookup)(struct store *st, void *sess, const char *name, struct seqdef *def,
                  char *err, size_t errlen);
    int (*list)(struct store *st, void *sess, store_list_fn *each, void *arg,
                char *err, size_t errlen);
    /* Shared stores: the definitions that changed since r->since_s (a
     * definition, not a claim: claims do not count as changes), streamed
     * to each() as they are read, and how many rows there are. NULL: the
     * rescan is list(). */
    int (*rescan)(struct store *st, void *sess, struct store_rescan *r, store_list_fn *each, void *arg,
                  char *err, size_t errlen);
    /* Type 5's worker lease and reservation (struct worker_lease). */
    int (*worker_lease)(struct store *st, void *sess, struct worker_lease *lease, char *err, size_t errlen);
    /* Any thread, without waiting: counters for INFO (NULL: none). */
    void (*facts)(struct store *st, struct store_facts *out);
};

struct store {
    const struct store_ops *ops;
    void *priv;                      /* the backend's own state */
    int test_delay_ms;               /* store.test_delay_ms: tests only */
};

extern const struct store_ops store_memory_ops;
extern const struct store_ops store_file_ops;
extern const struct store_ops store_mysql_ops;

/* The backend for a store.type name, or NULL. */
const struct store_ops *store_find(const char *type);
const char *store_status_name(int status);

#endif
