/*
 * cmd: the command table and the commands (GET, INCR, MGET, NEXT, HSET,
 * DEL, EXISTS, INFO, and what Redis clients send on connect).
 *
 * A command either answers at once (CMD_DONE), closes after answering
 * (CMD_CLOSE), parks until numbers arrive (CMD_PARKED, via conn_park), or
 * waits for a store job (CMD_WAIT_JOB, via conn_submit_job). A command
 * that parked or waited is run again with the same arguments later and
 * goes on from where it stood (conn.h: cmd_index, partial, job).
 */
#ifndef SEQD_CMD_H
#define SEQD_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "resp.h"

struct conn;

enum cmd_result { CMD_DONE, CMD_CLOSE, CMD_PARKED, CMD_WAIT_JOB };

/* Run one request; request_len is its size in the input buffer. */
enum cmd_result cmd_dispatch(struct conn *c, struct resp_request *req, size_t request_len);
/* A parked command waited segment.wait_ms: answer -TRYAGAIN. */
void cmd_park_timeout(struct conn *c);
/* Free the connection's store job (c->job). */
void cmd_job_free(struct conn *c);

/* cmd_info.c */
/* Is this an INFO section name (server, clients, ..., all)? */
bool cmd_info_is_section(const char *arg, size_t len);
void cmd_info(struct conn *c, struct resp_request *req);
/* INFO for one sequence, as "key:value\r\n" lines. */
struct seq;
void cmd_info_sequence(struct seq *s, struct buf *out);

#endif
