/*
 * store_mysql_fence: recognise a database failover and fence it, so that
 * the transactions a failover lost never turn into numbers served twice.
 *
 * A replica promoted after its primary died may lack the newest claims:
 * its max_id values are behind what nodes already served. Every seqd
 * connection asks which server it is on (fence_server_identity: the Galera
 * cluster, MySQL's server_uuid, or MariaDB's server_id, host and port) and
 * compares it with the server the claims were made on, recorded in the
 * table seqd_meta (row 'claims_server'). On a different server, the first
 * node to notice moves every sequence forward by store.mysql.failover_gap
 * and records the new server, in one transaction (fence_check); the others
 * then find their own server recorded and go on. Until the record names a
 * connection's server, no claim is made on it. With store.mysql.failover
 * "manual" seqd does not move anything on its own: it refuses to claim
 * until an operator, having made sure the old primary is gone for good,
 * records FENCE_APPROVED as the server; the next node to connect then
 * fences as above (docs/reliability.md).
 *
 * Only the connection is used here, with plain statements; the caller
 * classifies an error (code, phase) as it does any other.
 */
#ifndef SEQD_STORE_MYSQL_FENCE_H
#define SEQD_STORE_MYSQL_FENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "store_mysql_logic.h"

#define FENCE_META_TABLE "seqd_meta"
#define FENCE_SERVER_KEY "claims_server"
#define FENCE_SERVER_MAX 128
/* What an operator records by hand to let the next node fence in manual
 * mode (docs/reliability.md). */
#define FENCE_APPROVED "fence approved"
/* What a fence adds to every type 5 worker id's fencing generation: no
 * lease taken before the failover can ever match one taken after. */
#define FENCE_GENERATION_STEP 1048576

struct fence_conf {
    const char *table;                /* the sequences' table */
    struct sml_shape shape;
    uint64_t gap;                     /* store.mysql.failover_gap (resolved) */
    bool manual;                      /* store.mysql.failover "manual" */
    uint64_t worker_hold_ms;          /* type 5: how far past now a lost lease may have reserved */
    int64_t now_s;                    /* this node's clock (Unix s): type 4's current periods */
};

enum fence_outcome {
    FENCE_SAME,                       /* the record names this server: claim */
    FENCE_RECORDED,                   /* there was no record; this server is recorded now */
    FENCE_MOVED,                      /* a failover: every sequence was moved forward, recorded */
    FENCE_NEEDS_OPERATOR,             /* a failover, and the mode is manual: do not claim */
    FENCE_OFF,                        /* no seqd_meta table, or no grant on it: no fence (r->msg
                                       * says which; logged by the caller) */
    FENCE_FAILED,                     /* an error: *code, *phase, msg */
};

struct fence_result {
    char server[FENCE_SERVER_MAX];    /* this connection's server */
    char recorded[FENCE_SERVER_MAX];  /* the one recorded before (MOVED, NEEDS_OPERATOR) */
    uint64_t rows_moved;              /* MOVED: sequences moved forward */
    unsigned code;                    /* FAILED: mysql_errno */
    enum sml_phase phase;             /* FAILED: SML_PHASE_COMMIT if the COMMIT failed */
    char msg[256];                    /* FAILED: the server's text */
};

/* Which server c talks to: "galera:<cluster uuid>", "group:<name>",
 * "mysql:<server_uuid>" or "mariadb:<server_id>@<host>:<port>". Returns 0,
 * or -1 with r->code/msg set. */
int fence_server_identity(MYSQL *c, struct fence_result *r);

/* Compare c's server with the record and act as the header says, in one
 * transaction that ends (COMMIT or ROLLBACK) before it returns. */
enum fence_outcome fence_check(MYSQL *c, const struct fence_conf *conf, struct fence_result *r);

#endif
