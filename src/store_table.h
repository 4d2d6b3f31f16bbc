/*
 * store_table: the in-memory table of the stores that keep their
 * sequences in this process (store_memory.c, store_file.c): definitions
 * sorted by name, each with its max_id, and the one copy of the claim and
 * give-back arithmetic of store.h's contract.
 *
 * Pure: no I/O and no lock. The backend holds its own mutex around every
 * call (the file store also across the disk write between working a
 * change out and making it). Every entry passed seqdef_validate(), so its
 * segment is at least 1 and no claim is ever empty.
 *
 * The arithmetic, once for both backends:
 *  - a claim of `want` takes [max_id, max_id + n), n = max(want, segment).
 *    A claim that would pass UINT64_MAX takes nothing and is an error.
 *    The table knows no kind's limit: a claim past it is taken
 *    like any other, and the sequence (segment.c) cuts it.
 *  - type 4: a claim for a period newer than the entry's moves the entry
 *    to it with max_id 0 first; one for an older period is taken in the
 *    entry's own (store.h "periods"). Every other kind counts in period
 *    0 whatever a claim passes (store.h: they pass 0), and its counter
 *    never restarts.
 *  - a give-back of [from, to) is a compare-and-set: it applies only when
 *    from <= to, the entry is still the definition the range was claimed
 *    from (seqdef_same: not deleted and created again), still in `period`
 *    and max_id is still `to`, and then max_id becomes `from`.
 *    An empty range (from == to) is such a compare-and-set that changes
 *    nothing: STORE_OK when max_id is `to`, STORE_STALE otherwise. A
 *    reversed range (from > to) never applies.
 */
#ifndef SEQD_STORE_TABLE_H
#define SEQD_STORE_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "seqdef.h"
#include "store.h"

/* One entry, in one allocation (a table may hold a million): max_id,
 * then the definition packed (seqdef_packed: 27 bytes for a 10-byte type
 * 3 name, where a struct seqdef is 552), then, for type 4 only, the
 * period max_id counts in (8 bytes, unaligned: table_seq_period). The
 * other kinds have no period: theirs is always 0 (store.h), so they do
 * not spend 8 bytes on it. */
struct table_seq {
    uint64_t max_id;               /* next unclaimed counter */
};

/* The packed definition of s, right after it; its name. */
static inline const struct seqdef_packed *table_seq_packed(const struct table_seq *s)
{
    return (const struct seqdef_packed *)(s + 1);
}
static inline const char *table_seq_name(const struct table_seq *s)
{
    return seqdef_packed_name(table_seq_packed(s));
}
/* The period s's max_id counts in: type 4's, 0 for the other kinds. */
int64_t table_seq_period(const struct table_seq *s);
/* Sets it (type 4; another kind's period stays 0, and only 0 may be set). */
void table_seq_set_period(struct table_seq *s, int64_t period);
/* The whole definition of s, into *out. */
void table_seq_def(const struct table_seq *s, struct seqdef *out);

struct store_table {
    struct table_seq **seqs;       /* sorted by name (strcmp) */
    size_t n;
    size_t cap;
};

void store_table_init(struct store_table *t);
/* Frees every entry; t is empty (and usable) afterwards. */
void store_table_free(struct store_table *t);

/* The entry for name, or NULL. */
struct table_seq *store_table_find(const struct store_table *t, const char *name);
/* The entry for name, or NULL with "no such sequence 'name'" in err. */
struct table_seq *store_table_get(const struct store_table *t, const char *name,
                                  char *err, size_t errlen);

/* May def enter the table? STORE_OK; STORE_ERROR when seqdef_validate()
 * refuses it (what could not be served is never stored); STORE_EXISTS when
 * the name is taken. err says why. */
int store_table_check_new(const struct store_table *t, const struct seqdef *def,
                          char *err, size_t errlen);
/* Adds (def, max_id) when store_table_check_new() allows it; returns its
 * status. The entry's period is 0 (a file store sets what it read with
 * table_seq_set_period). */
int store_table_add(struct store_table *t, const struct seqdef *def, uint64_t max_id,
                    char *err, size_t errlen);
/* STORE_OK, or STORE_NOT_FOUND with err set. */
int store_table_remove(struct store_table *t, const char *name, char *err, size_t errlen);
/* Copies the definition into *def: STORE_OK, or STORE_NOT_FOUND with err set. */
int store_table_lookup(const struct store_table *t, const char *name, struct seqdef *def,
                       char *err, size_t errlen);
/* A copy of every definition in name order (free() it), *n of them; so a
 * backend can call store.h's list callback after dropping its lock. */
struct seqdef *store_table_defs(const struct store_table *t, size_t *n);

/* What a claim of `want` in `period` takes from s, into *out (start,
 * count, period, the definition). STORE_OK; STORE_NOT_FOUND when expect (if not NULL) is
 * another definition than s's (store.h: the name was deleted and created
 * again); STORE_ERROR when the counters would pass UINT64_MAX; err set for
 * both. Changes nothing: once the claim is recorded the caller sets
 * table_seq_set_period(s, out->period) and s->max_id = out->start + out->count. */
int store_table_claim_range(const struct table_seq *s, uint64_t want, int64_t period,
                            const struct seqdef *expect, struct claim *out, char *err, size_t errlen);
/* Does the give-back of [from, to) in `period`, claimed from definition
 * expect, apply to s? STORE_OK (the caller then sets s->max_id = from once
 * that is recorded) or STORE_STALE. */
int store_table_give_back_check(const struct table_seq *s, uint64_t from, uint64_t to, int64_t period,
                                const struct seqdef *expect);

/* The two above on the entry for name, applied at once (nothing to record
 * first): STORE_OK, STORE_NOT_FOUND, STORE_ERROR (claim) or STORE_STALE
 * (give-back), with err set for all but STORE_OK and STORE_STALE. */
int store_table_claim(struct store_table *t, const char *name, uint64_t want, int64_t period,
                      const struct seqdef *expect, struct claim *out, char *err, size_t errlen);
int store_table_give_back(struct store_table *t, const char *name, uint64_t from, uint64_t to,
                          int64_t period, const struct seqdef *expect, char *err, size_t errlen);

#endif
