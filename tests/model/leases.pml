/*
 * leases.pml: a Promela model of type 5's worker-id leases and their
 * fencing on the shared seqd_workers table (src/lease.c; the
 * lease_acquire_op / lease_update_op of src/store_mysql.c). Checked
 * exhaustively by tests/model/run-model.sh.
 *
 * The property: no snowflake id is made twice. An id here is the
 * millisecond of one worker id (the model's only worker id, so that the
 * nodes contend for it); a node makes at most one id a millisecond, which
 * is enough to show two makers of one millisecond (serve() asserts it).
 *
 * Time: `now` runs from 0 to T; the database's clock and every node's
 * monotonic clock run with it (their rates are equal; LEASE_SKEW covers
 * steps of the database's clock and is 0 here). Each node's wall clock,
 * which its ids are made from, is now + its offset, and the offset steps
 * back and forth at any time (-1 .. +1, STEPS times). A node may stall (SIGSTOP) at any
 * point: it is simply not scheduled while time runs.
 *
 * What a node does, any number of times, in any order:
 *   ACQUIRE  (no lease held) in one transaction: a free row (no lease, or
 *            its lease expired) gets the next generation, a lease until
 *            now + TTL and a reservation of at least the node's wall clock
 *            + AHEAD; the node's floor is the reservation it found. The
 *            answer may be lost (the node then holds nothing).
 *   RENEW    the lease and the reservation extended, only while the row
 *            is still the node's generation and not expired; else STALE
 *            (the node drops the lease). The answer may be lost.
 *   MAKE     an id for its wall-clock millisecond w, only while the lease
 *            is valid by its own clock (sent + TTL - MARGIN), w above the
 *            floor and above its last id, and w within its reservation.
 *   STOP     graceful: the reservation cut to its last id, the lease ended
 *            (only on its own generation); CRASH: everything but the
 *            row is lost. Either way the node starts again later.
 *
 * Broken variants (each must produce an assertion violation):
 *   -DNO_FLOOR          a new holder makes ids from its clock, ignoring the
 *                       reservation it found (a clock behind the old one's)
 *   -DRENEW_ANY_GEN     a renewal extends the reservation without checking
 *                       that the row is still the node's generation
 *   -DSTOP_ANY_GEN      a graceful stop cuts the reservation on a row another
 *                       node has taken over
 */

#ifndef NODES
#define NODES 2
#endif
#ifndef T
#define T 6             /* time runs 0 .. T */
#endif
#ifndef TTL
#define TTL 3           /* the lease's length */
#endif
#define MARGIN 1        /* a node stops this long before its lease ends, by its own clock */
#define AHEAD 1         /* LEASE_RESERVE_AHEAD: the reservation kept ahead of the clock */
#ifndef DOWNS
#define DOWNS 1         /* crashes or graceful stops of each node */
#endif
#ifndef STEPS
#define STEPS 2         /* steps of each node's wall clock */
#endif

#define TS (T + 3)      /* wall-clock milliseconds: 0 .. T + 1, and one to spare */

bit made[TS];           /* millisecond w of the worker id: an id was made */

inline serve(i, w)
{
    printf("MSC: node %d makes the id of ms %d\n", i, w);
    assert(!made[w]);
    made[w] = 1;
}

byte now;               /* the database's clock and every node's monotonic clock */

/* The seqd_workers row of the one worker id. */
bit row_exists;
byte row_gen;
byte row_until;         /* the lease's end, by the database's clock (0: released) */
byte row_reserved;      /* the highest millisecond its ids may have */

proctype node(byte i)
{
    bit held;           /* a lease this node knows of */
    byte gen;           /* its generation */
    byte valid_until;   /* sent + TTL - MARGIN: it makes no id from then on */
    byte floor;         /* ids only above this: the reservation found at ACQUIRE */
    byte resv;          /* the reservation it knows is recorded */
    short last = -1;    /* its last id's millisecond */
    short off;          /* its wall clock: now + off */
    byte sent;          /* when a request was sent */
    byte downs, steps;
    byte found;         /* the reservation an ACQUIRE found */
    short w;

    do
    :: steps < STEPS && off < 1 -> steps++; off++; printf("MSC: node %d's clock steps forward\n", i)
    :: steps < STEPS && off > -1 -> steps++; off--; printf("MSC: node %d's clock steps back\n", i)

    :: !held ->
        atomic {
            /* sent a moment ago, or just now: the lease counts from then */
            if
            :: sent = now
            :: now > 0 -> sent = now - 1
            fi;
            w = now + off;
            if
            :: !row_exists || row_until < now ->      /* free: nobody's, or expired */
                found = (row_exists -> row_reserved : 0);
                row_exists = 1;
                row_gen++;
                row_until = now + TTL;
                if
                :: w + AHEAD > row_reserved -> row_reserved = w + AHEAD
                :: else -> skip
                fi;
                if
                :: held = 1; gen = row_gen; floor = found; resv = row_reserved;
                   valid_until = sent + TTL - MARGIN; last = -1;
                   printf("MSC: node %d leases generation %d, floor %d, reserved %d\n", i, gen, floor, resv)
                :: printf("MSC: node %d's lease answer is lost\n", i)     /* it holds nothing */
                fi
            :: else -> skip                           /* leased by a live node: later */
            fi;
            w = 0; found = 0; sent = 0
        }

    :: held ->
        atomic {
            if
            :: sent = now
            :: now > 0 -> sent = now - 1
            fi;
            w = now + off;
#ifdef RENEW_ANY_GEN
            if
            :: row_until >= now ->
#else
            if
            :: row_gen == gen && row_until >= now ->
#endif
                row_until = now + TTL;
                if
                :: w + AHEAD > row_reserved -> row_reserved = w + AHEAD
                :: else -> skip
                fi;
                if
                :: valid_until = sent + TTL - MARGIN; resv = row_reserved;
                   printf("MSC: node %d renews generation %d: reserved %d\n", i, gen, resv)
                :: printf("MSC: node %d's renewal answer is lost\n", i)  /* nothing learned */
                fi
            :: else -> held = 0; printf("MSC: node %d's renewal is STALE\n", i)
            fi;
            w = 0; sent = 0
        }

    :: held ->
        /* lease_now and the id in one step, as seq.c takes them */
        atomic {
            w = now + off;
#ifdef NO_FLOOR
            if
            :: now < valid_until && w >= 0 && w > last && w <= resv -> serve(i, w); last = w
            :: else -> skip
            fi;
#else
            if
            :: now < valid_until && w >= 0 && w > floor && w > last && w <= resv -> serve(i, w); last = w
            :: else -> skip
            fi;
#endif
            w = 0
        }

    :: downs < DOWNS ->
        downs++;
        if
        :: atomic {     /* graceful stop: lease_release */
#ifdef STOP_ANY_GEN
               if
               :: held && last >= 0 -> row_reserved = last; row_until = 0
               :: else -> skip
               fi;
#else
               if
               :: held && row_gen == gen && last >= 0 -> row_reserved = last; row_until = 0
               :: else -> skip
               fi;
#endif
               printf("MSC: node %d stops (reserved %d)\n", i, row_reserved)
           }
        :: printf("MSC: node %d crashes\n", i)
        fi;
        held = 0; last = -1; floor = 0; resv = 0

    :: break
    od
}

active proctype clock()
{
    do
    :: now < T -> now++
    :: now == T -> break
    od
}

init
{
    byte i;
    atomic {
        for (i : 0 .. NODES - 1) {
            run node(i)
        }
    }
}
