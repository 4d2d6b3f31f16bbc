/*
 * claims.pml: a Promela model of seqd's claim protocol on the shared
 * MySQL row (tests/model/README.md maps it to the C code, function by
 * function). Checked exhaustively by tests/model/run-model.sh:
 *
 *     spin -a [-DVARIANT] claims.pml && gcc -O2 -DSAFETY -o pan pan.c && ./pan
 *
 * The property: no counter of a definition is ever served twice
 * (serve() asserts it). One sequence name; its row may be deleted and
 * created again (a new definition, counting from 0 again: a new sequence,
 * whose numbers are its own).
 *
 * Broken variants (each must produce an assertion violation):
 *   -DGB_NO_CAS        the give-back sets max_id = from unconditionally
 *   -DSERVE_UNKNOWN    a claim whose COMMIT outcome is unknown is served
 *   -DGB_ANY_DEF       the give-back's compare-and-set looks at max_id
 *                      only, not at the definition of the row (seqd's
 *                      give-back before it took the expected definition)
 *   -DNO_HIGHWATER     with -DFAILOVER: a node does not keep its
 *                      high-water mark across a restart
 * Options:
 *   -DFAILOVER         the database may lose its newest committed claim
 *                      once (an asynchronous replica promoted, no fence);
 *                      use with NODES 1 (see README.md: across nodes only
 *                      the fence protects, and it is not modelled)
 *   -DNODES=n -DCLAIMS=n -DSEG=n -DDOWNS=n -DDEFS=n  the configuration
 */

#ifndef NODES
#define NODES 2         /* seqd nodes on the one table */
#endif
#ifndef CLAIMS
#define CLAIMS 2        /* claims each node starts, over the whole run */
#endif
#ifndef SEG
#define SEG 2           /* counters per claim (the row's step) */
#endif
#ifndef DOWNS
#define DOWNS 1         /* crashes or graceful stops of each node (each followed by a restart) */
#endif
#ifndef DEFS
#define DEFS 2          /* definitions of the name: the first, plus DEL + re-create (HSET) */
#endif

#define MAXC (NODES * CLAIMS * SEG)     /* a definition's counters stay below this */

/* status of a store call, as enum store_status */
#define OK          0
#define NOT_FOUND   1
#define UNAVAILABLE 3
#define UNKNOWN     4
#define STALE       6
#define REFUSED     7

/* ---- the property ------------------------------------------------------ */

bit served[DEFS * MAXC];        /* (definition - 1) * MAXC + counter: handed out */

inline serve(d, c)
{
    assert(c < MAXC);
    assert(!served[(d - 1) * MAXC + c]);   /* the same number handed out twice */
    printf("MSC: node %d serves counter %d of definition %d\n", me, c, d);
    served[(d - 1) * MAXC + c] = 1
}

/* ---- the database: one row of seqd_segments ------------------------------ */

byte row_max;                   /* max_id: the next counter nobody has claimed */
byte row_def = 1;               /* the definition the row holds; 0: no row (deleted) */
byte ndefs = 1;                 /* definitions created so far */
byte lock;                      /* the row lock: 0 free, else the holder's node + 1 */
#ifdef FAILOVER
byte prev_max;                  /* max_id before the newest committed claim */
bit lost_once;                  /* the failover has happened */
#endif

/* The give-back's compare-and-set (row lock held), of [from, to) of
 * the definition gbdef. */
#if defined(GB_NO_CAS)
/* BROKEN: no compare-and-set at all. */
#define GB_MATCH (row_def != 0)
#elif defined(GB_ANY_DEF)
/* BROKEN (the old code): max_id only: a row of another definition that
 * happens to stand at `to` is set back as well. */
#define GB_MATCH (row_def != 0 && row_max == to)
#else
/* seqd: the row still holds the definition claimed from, at `to`
 * (store_mysql.c give_back_check, store_table_give_back_check). */
#define GB_MATCH (row_def != 0 && row_def == gbdef && row_max == to)
#endif

/* ---- each node's durable state: the high-water file (highwater.c) --------- */

/* (hw_def, hw_top: locals of node() that its restarts keep) */

/* A node crash (kill -9, power loss) at this point: it loses everything
 * but its high-water file; the server rolls back what it had not
 * committed (its connection is gone), releasing the row lock. */
inline crash_point()
{
    if
    :: skip
    :: downs_left > 0 -> downs_left--; goto crash
    fi
}

proctype node(byte me)
{
    byte def;                   /* the definition this node serves; 0: none (not looked up, or dropped) */
    byte pos, cend;             /* the current segment [pos, cend) (segbuf.cur) */
    byte nstart, nend;          /* the next segment, when hasnext (segbuf.next) */
    bool hasnext;
    byte top;                   /* seq.c's claimed_top: the end of the newest claim */
    byte start;                 /* the claim under way */
    byte st;
    /* What survives a crash: the high-water file (highwater.c), one mark
     * (definition, top) for the name; and the model's budgets. */
    byte hw_def;                /* the mark's definition; 0: no mark */
    byte hw_top;                /* counters below it may have been served */
    byte claims_left = CLAIMS;
    byte downs_left = DOWNS;
    byte from, to, gbdef;       /* a give-back: [from, to) of definition gbdef */
    bit stopping;               /* the give-back is a graceful stop's */

restart:
    atomic {
        def = 0; pos = 0; cend = 0; nstart = 0; nend = 0; hasnext = false; top = 0;
        start = 0; st = 0; from = 0; to = 0; gbdef = 0; stopping = 0
    }
#ifdef NO_HIGHWATER
    d_step { printf("MSC: node %d (re)starts without its high-water mark\n", me); hw_def = 0; hw_top = 0 }
#endif

end_loop:
    do
    /* A client takes a number: serve from the current segment. */
    :: def != 0 && pos < cend -> d_step { serve(def, pos); pos++ }
    /* The current segment is used up: the next becomes current. */
    :: def != 0 && pos == cend && hasnext -> d_step { pos = nstart; cend = nend; hasnext = false; nstart = 0; nend = 0 }
    /* Discovery (rescan, look-up on a miss): the node learns what the row
     * holds now. A changed or deleted definition drops this node's
     * sequence and its buffers (seq_remove: wasted, never given back). */
    :: def != row_def ->
        d_step {
            printf("MSC: node %d looks the name up: definition %d\n", me, row_def);
            def = row_def; pos = 0; cend = 0; hasnext = false; nstart = 0; nend = 0; top = 0
        }

    /* A claim (seq.c claim_job_new -> store_mysql.c claim_op), when the
     * next segment is empty: SELECT ... FOR UPDATE; UPDATE max_id =
     * max_id + SEG; COMMIT, expecting the definition it serves. */
    :: def != 0 && !hasnext && claims_left > 0 ->
        claims_left--;
        crash_point();
        /* SELECT ... FOR UPDATE: waits for the row lock. A missing row,
         * or a row of another definition, answers NOT_FOUND. */
        atomic {
            lock == 0 ->
            if
            :: row_def != def -> st = NOT_FOUND
            :: else -> lock = me + 1; start = row_max; st = OK
            fi
        }
        if
        :: st == NOT_FOUND ->
            /* A missing row: highwater_forget. The node drops the sequence
             * (claim_done: remove_named); the next look-up finds what is there. */
            d_step {
                if
                :: row_def == 0 -> hw_def = 0; hw_top = 0
                :: else -> skip
                fi;
                def = 0; pos = 0; cend = 0; hasnext = false; nstart = 0; nend = 0; top = 0;
                st = 0; start = 0
            }
            goto end_loop
        :: else
        fi;
        /* The UPDATE is in the transaction: nothing is visible before COMMIT. */
        crash_point();
        /* COMMIT, and what the node learns of it. */
        if
        :: atomic {                                     /* committed, answered */
#ifdef FAILOVER
               prev_max = row_max;
#endif
               row_max = start + SEG; lock = 0; st = OK;
               printf("MSC: node %d claims [%d, %d) of definition %d: committed\n", me, start, start + SEG, def) }
        :: atomic {                                     /* connection lost before COMMIT reached
                                                           the server: rolled back */
               lock = 0; st = UNAVAILABLE;
               printf("MSC: node %d claims [%d, %d): connection lost before COMMIT\n", me, start, start + SEG) }
        :: atomic {                                     /* committed, the answer lost */
#ifdef FAILOVER
               prev_max = row_max;
#endif
               row_max = start + SEG; lock = 0; st = UNKNOWN;
               printf("MSC: node %d claims [%d, %d): committed, the answer lost (UNKNOWN)\n", me, start, start + SEG) }
        :: atomic { lock = 0; st = UNKNOWN;            /* not committed, the answer lost */
               printf("MSC: node %d claims [%d, %d): not committed, the answer lost (UNKNOWN)\n", me, start, start + SEG) }
        :: atomic {                                     /* committed, then the node crashed */
               downs_left > 0 ->
#ifdef FAILOVER
               prev_max = row_max;
#endif
               row_max = start + SEG; lock = 0; downs_left--;
               printf("MSC: node %d claims [%d, %d): committed, then the node crashes\n", me, start, start + SEG) }; goto crash
        fi;
#ifdef SERVE_UNKNOWN
        /* BROKEN: an unknown outcome taken for a success. */
        if
        :: st == UNKNOWN -> st = OK; printf("MSC: node %d serves the UNKNOWN claim\n", me)
        :: else
        fi;
#endif
        if
        :: st != OK -> d_step { st = 0; start = 0 }; goto end_loop  /* UNAVAILABLE: retried later;
                                                                   UNKNOWN: thrown away */
        :: else
        fi;
        crash_point();                  /* committed, the mark not yet raised: never served */
        /* claim_op: never below this node's mark of the same definition
         * (a database that lost transactions); else raise the mark,
         * durably, before any of it is served. */
        d_step {
            if
            :: hw_def == def && start < hw_top -> st = REFUSED;
               printf("MSC: node %d REFUSES [%d, %d): below its mark %d\n", me, start, start + SEG, hw_top)
            :: else -> hw_def = def; hw_top = start + SEG
            fi
        }
        if
        :: st == REFUSED -> d_step { st = 0; start = 0 }; goto end_loop   /* thrown away */
        :: else
        fi;
        crash_point();                  /* the mark raised, the range not installed */
        /* seq.c claim_done */
        if
        :: row_def != def ->
            /* The node has learned meanwhile that its sequence was deleted
             * (s->deleted): give_back_unused_claim hands the fresh range
             * back at once, and the sequence is dropped. */
            d_step {
                printf("MSC: node %d learned that definition %d is gone: hands back [%d, %d)\n", me, def, start, start + SEG);
                from = start; to = start + SEG; gbdef = def; st = 0; start = 0;
                def = 0; pos = 0; cend = 0; hasnext = false; nstart = 0; nend = 0; top = 0
            }
            goto give_back
        :: true ->
            d_step {
                if
                :: start < top -> skip                  /* claim_below_top: refused */
                :: else ->
                    if
                    :: pos == cend -> pos = start; cend = start + SEG
                    :: else -> nstart = start; nend = start + SEG; hasnext = true
                    fi;
                    top = start + SEG
                fi;
                st = 0; start = 0
            }
        fi

    /* A graceful stop (SIGTERM): seq_give_back_all gives back each
     * sequence's unused tail [from, to), to = claimed_top, then the node
     * exits; it is started again afterwards. */
    :: downs_left > 0 ->
        d_step {
            downs_left--;
            stopping = 1;
            to = top;
            /* segbuf_giveback_from */
            if
            :: hasnext -> from = (nstart == cend -> pos : nstart)
            :: else -> from = (pos < top -> pos : top)
            fi;
            gbdef = def;
            printf("MSC: node %d stops gracefully: gives back [%d, %d) of definition %d\n", me, from, to, def);
            def = 0; pos = 0; cend = 0; hasnext = false; nstart = 0; nend = 0; top = 0
        }
        if
        :: from < to -> goto give_back
        :: else -> d_step { from = 0; to = 0; gbdef = 0 }; goto restart
        fi
    od;

give_back:
    /* store_mysql.c give_back_many_op (one give-back is a batch of one):
     * the row locked and checked (give_back_check: the definition gbdef,
     * max_id = to, the period), UPDATE max_id = from; COMMIT. */
    crash_point();
    if
    :: atomic {
           lock == 0 ->
           if
           :: GB_MATCH -> row_max = from; st = OK;
              printf("MSC: node %d: give-back applied, max_id = %d (row of definition %d)\n", me, from, row_def)
           :: else -> st = STALE; printf("MSC: node %d: give-back STALE\n", me)
           fi
       }
    :: atomic { lock == 0 -> st = UNKNOWN }            /* COMMIT's answer lost, not applied */
    :: atomic {                                         /* COMMIT's answer lost, applied */
           lock == 0 ->
           if
           :: GB_MATCH -> row_max = from;
              printf("MSC: node %d: give-back applied, the answer lost; max_id = %d\n", me, from)
           :: else
           fi;
           st = UNKNOWN
       }
    fi;
    crash_point();
    /* highwater_lower: a mark at exactly `to` goes down to `from`. */
    d_step {
        if
        :: st == OK && hw_top == to -> hw_top = from
        :: else -> skip
        fi;
        st = 0; from = 0; to = 0; gbdef = 0
    }
    if
    :: stopping -> goto restart
    :: else -> goto end_loop            /* a hand-back: the node goes on */
    fi;

crash:
    /* The server rolls back what the dead connection had not committed. */
    atomic {
        printf("MSC: node %d crashes (its high-water file keeps mark %d of definition %d)\n", me, hw_top, hw_def);
        if
        :: lock == me + 1 -> lock = 0
        :: else -> skip
        fi
    }
    goto restart
}

/* An administrator: DEL the name (waits for the row lock like any
 * DELETE), and HSET it again: a new definition counting from 0. */
proctype admin()
{
end_admin:
    do
    :: atomic { lock == 0 && row_def != 0 && ndefs < DEFS -> row_def = 0; printf("MSC: DEL: the row is deleted\n") }
    :: atomic { row_def == 0 -> ndefs++; row_def = ndefs; row_max = 0;
                printf("MSC: HSET: the row is created again: definition %d, max_id 0\n", row_def) }
#ifdef FAILOVER
    /* The database loses its newest committed claim (a promoted replica
     * that lagged), without a fence. */
    :: atomic { lock == 0 && !lost_once && row_max > prev_max -> lost_once = 1; row_max = prev_max;
                printf("MSC: FAILOVER: the database loses the newest claim: max_id = %d\n", row_max) }
#endif
    od
}

init
{
    byte i;
    atomic {
        for (i : 0 .. NODES - 1) {
            run node(i)
        }
        run admin()
    }
}
