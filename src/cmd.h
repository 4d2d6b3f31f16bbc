/*
 * cmd: the RESP door's commands. Each command turns its arguments into a
 * core call (core.h) and the core's result into a reply; none of them
 * reaches the store. One file per family, as redis' t_*.c:
 *   cmd.c        the table, dispatch, replies several families share
 *   cmd_seq.c    numbers: GET, INCR, INCRBY, MGET, NEXT, NEXTRANGE
 *   cmd_def.c    definitions: HSET, DEL, EXISTS, DBSIZE
 *   cmd_conn.c   the connection: PING, ECHO, QUIT, SELECT, AUTH, HELLO, CLIENT, ACL
 *   cmd_admin.c  COMMAND, CONFIG
 *   cmd_info.c   INFO and INFO <name>
 *   cmd_snowflake.c  DECODE (type 5 ids)
 *
 * A command answers at once (CMD_DONE), answers and closes (CMD_CLOSE), or
 * waits for its core call (CMD_WAIT, through cmd_answer): the connection
 * then runs the command's reply function when the core calls back.
 */
#ifndef SEQD_CMD_H
#define SEQD_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "conn.h"
#include "resp.h"

enum cmd_result { CMD_DONE, CMD_CLOSE, CMD_WAIT };

/* Run one request of c. Sets c->stat_id to the command's reqstats id. */
enum cmd_result cmd_dispatch(struct conn *c, struct resp_request *req);
/* Start-up (main thread, before any client): register every command of
 * the table, and "unknown", with reqstats (door "resp"). Until then
 * commands are not counted (c->stat_id is -1). */
void cmd_stats_register(void);

/* ---- for the command files ------------------------------------------------ */

typedef enum cmd_result cmd_fn(struct conn *c, struct resp_request *req);

#define CMD_NOAUTH 1    /* allowed before AUTH */
#define CMD_READER 2    /* a reader may run it; every other command is for admins */

struct command {
    const char *name;
    cmd_fn *fn;
    int arity;          /* Redis' convention: n exact, -n at least n */
    int flags;
};

/* The command table (for COMMAND). */
const struct command *cmd_table(size_t *n);

#define ARG_IS(req, i, s) str_ieq((req)->argv[i], (req)->argl[i], (s))

/* A core call returned status: answer now with reply(c), or wait for the
 * core and answer then. */
enum cmd_result cmd_answer(struct conn *c, int status, conn_reply_fn *reply);
/* The error of the finished core call (c->wt): -TRYAGAIN when it may
 * work later, else -ERR, with the core's text. */
void cmd_reply_core_error(struct conn *c);
void cmd_reply_wrong_args(struct conn *c, const char *cmd);
/* -NOPERM for c's user and cmd as Redis names it ("hset", "acl|list"). */
void cmd_reply_noperm(struct conn *c, const char *cmd);

/* cmd_seq.c */
cmd_fn cmd_get, cmd_incr, cmd_incrby, cmd_mget, cmd_next, cmd_nextrange;
/* A request read ahead of a waiting one (conn.c): when it takes numbers
 * (GET, INCR, INCRBY, NEXT, NEXTRANGE, MGET), start what it will need
 * (core_prefetch). It runs nothing and answers nothing: the request is
 * run in its turn. */
void cmd_prefetch(struct conn *c, const struct resp_request *req);
/* cmd_def.c */
cmd_fn cmd_hset, cmd_del, cmd_exists, cmd_dbsize;
/* cmd_conn.c */
cmd_fn cmd_ping, cmd_echo, cmd_quit, cmd_select, cmd_auth, cmd_hello, cmd_client, cmd_acl;
/* cmd_admin.c */
cmd_fn cmd_command, cmd_config;
/* cmd_info.c */
cmd_fn cmd_info;
/* cmd_snowflake.c */
cmd_fn cmd_decode;

#endif
