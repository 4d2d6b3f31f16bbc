/*
 * seqdef: what a sequence is (its definition) and how a counter becomes
 * the number a client sees. Pure: no I/O, no globals.
 *
 * Every kind hands out counters 0, 1, 2, ... from the store (the table's
 * max_id is the next unclaimed counter). Then:
 *   type 3 (increasing):   number = starting + counter * increment
 *   type 2 (fixed length): number = starting + counter * increment, while it
 *                          has `length` digits
 *   type 1 (random-looking, fixed length):
 *                          number = 10^(length-1) + perm(counter), for
 *                          counter < 9 * 10^(length-1)
 *   type 4 (dated):        number = the prefix PATTERN rendered for the
 *                          period the counter belongs to, then starting +
 *                          counter * increment zero-padded to `length`
 *                          digits (dated.h); each period counts from 0
 *   type 5 (snowflake):    no counters: 64-bit ids of time, worker and
 *                          sequence (snowflake.h), `epoch` their time 0
 * A Leaf-shaped row (only biz_tag, max_id, step) has kind 3, starting 0,
 * increment 1: its first number is its max_id.
 */
#ifndef SEQD_SEQDEF_H
#define SEQD_SEQDEF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dated.h"
#include "perm.h"
#include "tz.h"

#define SEQ_NAME_MAX 128
#define SEQ_DESC_MAX 256
#define SEQ_LENGTH_MAX 18
#define SEQ_PREFIX_MAX DATED_PATTERN_MAX
#define SEQ_TZ_MAX TZ_NAME_MAX

enum seq_kind { SEQ_RANDOM = 1, SEQ_FIXED = 2, SEQ_INCREASING = 3, SEQ_DATED = 4, SEQ_SNOWFLAKE = 5 };

/* Number Dispenser's auto_disk values, accepted on HSET and kept for INFO.
 * See README "auto_disk" for how each maps onto seqd's behaviour. */
enum seq_auto_disk {
    AUTO_DISK_DEFAULT = 0, AUTO_DISK_MEMORY, AUTO_DISK_PRE_BASE,
    AUTO_DISK_PRE_CHECKPOINT, AUTO_DISK_ELEGANT_CLOSE, AUTO_DISK_PRE_CLOSE
};
/* The values as INFO prints them, for error messages ("default" is what
 * INFO shows when none was given). */
#define SEQDEF_AUTO_DISK_VALUES \
    "default, memory, pre_base, pre_checkpoint, elegant_close, pre_close ('-' for '_' works too)"

struct seqdef {
    char name[SEQ_NAME_MAX + 1];
    int kind;                  /* enum seq_kind */
    int length;                /* digits, types 1, 2 and 4; 0 for type 3 */
    int64_t starting;          /* types 2, 3 and 4 (4: of each period) */
    int64_t increment;         /* >= 1 ("step" in HSET) */
    uint64_t segment;          /* base segment size (the table's step), >= 1 */
    uint64_t perm_key;         /* type 1: the permutation's key; every kind: tells
                                  this definition from a later one of the same name */
    int auto_disk;             /* enum seq_auto_disk */
    int64_t epoch_ms;          /* type 5: Unix ms of the ids' time 0; 0 for the others */
    char description[SEQ_DESC_MAX + 1];
    char prefix[SEQ_PREFIX_MAX + 1];   /* type 4: the PATTERN (dated.h); "" otherwise */
    char tz[SEQ_TZ_MAX + 1];           /* type 4: the IANA zone it is rendered in; "" otherwise */
};

/* Is this a valid sequence name? 1..128 bytes of printable ASCII without
 * spaces. On false, err says why. */
bool seqdef_name_ok(const char *name, size_t len, char *err, size_t errlen);

/* Build a definition from HSET's field/value pairs (argv[0] is the first
 * field). default_segment is used when no 'segment' field is given; key is
 * the permutation key for type 1 (the caller draws it at random).
 * Field names are case-insensitive; a field given twice is an error.
 * Type 1 gets starting 0 and increment 1 (it takes neither field).
 * Returns 0, or -1 with a message for "-ERR <msg>" in err (one line, no
 * CR/LF; *def is then unspecified). */
int seqdef_from_fields(struct seqdef *def, const char *name, size_t namelen,
                       int argc, const char *const *argv, const size_t *argl,
                       uint64_t default_segment, uint64_t key, char *err, size_t errlen);

/* Check a definition read from a store (e.g. a hand-edited row). A type 4
 * zone's name is checked, not whether the zone exists (tz_get does). */
int seqdef_validate(const struct seqdef *def, char *err, size_t errlen);

/* Number of counters the kind has: counters >= limit do not exist, so the
 * numbers never leave int64 (type 3) or their length (type 2). Saturates
 * at UINT64_MAX (type 3 from INT64_MIN with increment 1); 0 for a
 * definition that seqdef_validate() would reject. */
uint64_t seqdef_limit(const struct seqdef *def);

/* The number for a counter (counter < seqdef_limit). perm must come from
 * seqdef_perm_init() for type 1 and may be NULL otherwise. */
int64_t seqdef_number(const struct seqdef *def, const struct perm *perm, uint64_t counter);
/* The same from the fields it reads, for a caller that keeps a
 * definition's numbers apart from its texts (seq.c). */
int64_t seqdef_number_of(int kind, int length, int64_t starting, int64_t increment, const struct perm *perm,
                         uint64_t counter);

/* id_step / id_offset (README "Several independent databases"): the
 * counter a kind turns into a number is store counter * step + offset, so
 * `step` groups of nodes on independent stores, each with its own offset,
 * never turn the same counter into a number. Every increasing kind uses
 * it (type 1 permutes the spread counter). step >= 1, offset < step;
 * counter < seqdef_spread_limit() keeps the result from overflowing. */
uint64_t seqdef_spread(uint64_t counter, uint64_t step, uint64_t offset);

/* How many store counters a kind of `limit` counters (seqdef_limit) has
 * under the spread: those c with c * step + offset < limit, so that the
 * kind is exhausted exactly when the next spread counter would leave it.
 * step 1, offset 0 gives limit itself. */
uint64_t seqdef_spread_limit(uint64_t limit, uint64_t step, uint64_t offset);

/* Set up the permutation of a type 1 definition (domain and key). */
void seqdef_perm_init(const struct seqdef *def, struct perm *perm);

/* A 64-bit fingerprint of what seqdef_same compares: equal for the same
 * definition on every node and run (the high-water marks key on it). */
uint64_t seqdef_identity(const struct seqdef *d);
/* Do a and b describe the same sequence (not a deleted one and a new one
 * of the same name)? The segment size may differ: it can be changed in
 * place. */
bool seqdef_same(const struct seqdef *a, const struct seqdef *b);

/* A definition in as few bytes as it needs, for a table that keeps one
 * per sequence (store_table.h): a 10-byte name of type 3 with empty texts
 * packs into 27 bytes, where a struct seqdef is 552 with its fixed arrays.
 * After the four header bytes and the name (first, so a table that
 * compares names reads it in place), in this order:
 *   perm_key   8 bytes as they are (random: nothing to gain);
 *   starting, increment, segment, then epoch_ms when `parts` says so:
 *              LEB128 varints, the signed ones zigzagged, so small numbers
 *              of either sign take a byte or two and any int64 at most 10;
 *   description, prefix, tz, NUL-terminated, each only when `parts` says
 *              it is not empty.
 * Nothing in it is aligned: read it only through the functions below. The
 * caller allocates seqdef_packed_size() bytes and fills them with
 * seqdef_pack(). */
struct seqdef_packed {
    uint8_t kind, length, auto_disk;   /* seqdef_validate() keeps them small */
    uint8_t parts;                     /* SEQDEF_PACKED_HAS_* of what follows */
    char name[];                       /* NUL-terminated, then the rest */
};
#define SEQDEF_PACKED_HAS_EPOCH       0x01
#define SEQDEF_PACKED_HAS_DESCRIPTION 0x02
#define SEQDEF_PACKED_HAS_PREFIX      0x04
#define SEQDEF_PACKED_HAS_TZ          0x08
/* Bytes a packed copy of def takes (def passed seqdef_validate). */
size_t seqdef_packed_size(const struct seqdef *def);
/* Packs def into p, which has seqdef_packed_size(def) bytes. */
void seqdef_pack(struct seqdef_packed *p, const struct seqdef *def);
/* The whole definition back from p, exactly as it was packed. */
void seqdef_unpack(const struct seqdef_packed *p, struct seqdef *out);
/* Bytes p takes: seqdef_packed_size() of the definition it was packed
 * from (what lies after it, e.g. store_table's period, starts there). */
size_t seqdef_packed_bytes(const struct seqdef_packed *p);
static inline const char *seqdef_packed_name(const struct seqdef_packed *p) { return p->name; }

/* Type 4: the unit of its period (dated.h); DATED_NONE for other kinds. */
enum dated_unit seqdef_dated_unit(const struct seqdef *def);

const char *seqdef_kind_name(int kind);
const char *seqdef_auto_disk_name(int auto_disk);
/* The enum seq_auto_disk value of s[0..len), in any case, '-' or '_'; -1 if
 * unknown. */
int seqdef_auto_disk_parse(const char *s, size_t len);

#endif
