/*
 * highwater: this node's own durable record of the highest counter it has
 * claimed of each sequence, so that it never serves below it again: not
 * after a restart, and not when the database it claims from has lost its
 * newest transactions (a failover to a replica that lagged), which would
 * hand out the same ranges a second time.
 *
 * The shared store's claims land here before their numbers are served:
 * the mysql store raises the mark after each COMMIT, and refuses a claimed
 * range that starts below it. A type 4 sequence counts again from 0 in
 * each period, so a mark is a (period, top) pair, compared period first.
 *
 * The record is one text file, `highwater`, in a directory of its own (the
 * mysql store's state directory): a line per change, appended and
 * fdatasync()ed before the caller goes on, read back at open (the last
 * line of a name wins; a torn last line is dropped), and rewritten
 * compactly at open and whenever it has grown to several times its live
 * size. One process holds the directory at a time (flock).
 *
 * Every function may be called from any thread.
 */
#ifndef SEQD_HIGHWATER_H
#define SEQD_HIGHWATER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HIGHWATER_FILE "highwater"

struct highwater;

/* A sequence's mark: counters below `top` in `period` (and every counter of
 * an earlier period) of the sequence defined as `def_id` may have been
 * served by this node. A sequence deleted and created again with another
 * definition is another sequence: its claims are not compared with the
 * mark of the old one. */
struct highwater_mark {
    uint64_t def_id;                  /* seqdef_identity() of the definition */
    int64_t period;                   /* type 4's period; 0 for the other kinds */
    uint64_t top;
};

/* Opens (creating it, mode 0700) the directory dir and loads its record.
 * Returns the handle, or NULL with the reason in err (unwritable
 * directory, held by another seqd process, unreadable file). */
struct highwater *highwater_open(const char *dir, char *err, size_t errlen);
void highwater_close(struct highwater *hw);

/* name's mark; false when this node never claimed from it. */
bool highwater_get(struct highwater *hw, const char *name, struct highwater_mark *out);

/* Whether a range of name (as defined by at->def_id) starting at
 * (at->period, at->top) lies below its mark, i.e. may already have been
 * served by this node; *mark is the mark. */
bool highwater_below(struct highwater *hw, const char *name, const struct highwater_mark *at,
                     struct highwater_mark *mark);

/* Records durably that counters of name below (m->period, m->top) may now
 * be served. Never lowers the mark of the same definition. Returns 0, or
 * -1 with err set (the caller must then not serve the range). */
int highwater_raise(struct highwater *hw, const char *name, const struct highwater_mark *m,
                    char *err, size_t errlen);

/* highwater_raise for several names at once, recorded with one write
 * and one fdatasync (a batch of claims). Each item's rc is 0 when its
 * mark is recorded (or was already as high), -1 when not (the caller must
 * not serve that range). Returns 0 when every item's rc is 0, else -1
 * with the reason in err. */
struct highwater_raise {
    const char *name;
    struct highwater_mark mark;
    int rc;                           /* out */
};
int highwater_raise_many(struct highwater *hw, struct highwater_raise *items, size_t n, char *err, size_t errlen);

/* After a give-back of [from, to) in period: a mark at exactly (period,
 * to) goes down to from (any other mark stays). Returns 0 or -1 with err
 * set; a failure only leaves the higher mark, which is safe. */
int highwater_lower(struct highwater *hw, const char *name, int64_t period, uint64_t from, uint64_t to,
                    char *err, size_t errlen);

/* highwater_lower for several give-backs at once (a graceful stop's),
 * recorded with one write and one fdatasync, each decided as the single
 * call decides it. A name appears at most once. Returns 0, or -1 with err
 * set: then no mark went down, which is safe. */
struct highwater_lower_item {
    const char *name;
    int64_t period;
    uint64_t from, to;
};
int highwater_lower_many(struct highwater *hw, const struct highwater_lower_item *items, size_t n, char *err,
                         size_t errlen);

/* Forgets name (the sequence was deleted: a new one of the same name
 * counts from its own start). Returns 0 or -1 with err set. */
int highwater_forget(struct highwater *hw, const char *name, char *err, size_t errlen);

/* Marks held, and the file's size now (for INFO and the tests). */
size_t highwater_count(struct highwater *hw);
uint64_t highwater_file_bytes(struct highwater *hw);

#endif
