/*
 * store_spread: the rule for the id_step / id_offset a store records
 * (README "Several independent databases (id_step, id_offset)").
 *
 * A node turns store counter c into the kind's counter c * id_step +
 * id_offset (seqdef_spread). Each store records the pair it was first
 * started with and is never served under another: a type 1 sequence
 * permutes the spread counter, so a new pair on a store that has handed
 * out numbers could repeat one. The backends read and write the record
 * (the file store a file in its directory, the mysql store a reserved
 * row); this module decides. Pure: no I/O, no globals.
 */
#ifndef SEQD_STORE_SPREAD_H
#define SEQD_STORE_SPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_spread {
    uint64_t step;      /* id_step, >= 1 */
    uint64_t offset;    /* id_offset, < step */
};

enum store_spread_verdict {
    STORE_SPREAD_MATCHES,   /* the record is the configuration: serve */
    STORE_SPREAD_RECORD,    /* no record yet and the configuration is safe: record it, then serve */
    STORE_SPREAD_REFUSE,    /* do not start; err says what is recorded, what the config says, what to do */
};

/* What to do at open. recorded: the store's record, NULL when it has
 * none. has_claims: counters of some sequence have been claimed (max_id
 * above 0); without a record they were handed out by a seqd before
 * id_step, that is with step 1, offset 0. Sequences that were only
 * defined (every max_id 0: created, or copied from another group's store)
 * take any pair. config: the configuration's pair. where names the store and its
 * record for the message ("store.dir /var/lib/seqd (id_step.json)"). */
enum store_spread_verdict store_spread_check(const struct store_spread *recorded, bool has_claims,
                                             const struct store_spread *config, const char *where,
                                             char *err, size_t errlen);

#endif
