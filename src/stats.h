/*
 * stats: server counters, declared once in an X-macro list so that INFO
 * (and later metrics) render from the same source. Each worker owns one
 * struct stats and is the only writer; INFO sums them with relaxed reads.
 */
#ifndef SEQD_STATS_H
#define SEQD_STATS_H

#include <stdint.h>

#include "buf.h"

/*        field                  INFO name */
#define STATS_LIST(X)                                              \
    X(connections_received,   "total_connections_received")        \
    X(rejected_connections,   "rejected_connections")              \
    X(commands_processed,     "total_commands_processed")          \
    X(numbers_served,         "total_numbers_served")              \
    X(commands_parked,        "total_commands_parked")             \
    X(parked_timeouts,        "total_parked_timeouts")             \
    X(protocol_errors,        "total_protocol_errors")             \
    X(auth_failures,          "total_auth_failures")               \
    X(output_limit_closes,    "total_output_limit_closes")         \
    X(idle_timeout_closes,    "total_idle_timeout_closes")         \
    X(tls_handshake_failures, "total_tls_handshake_failures")      \
    X(net_input_bytes,        "total_net_input_bytes")             \
    X(net_output_bytes,       "total_net_output_bytes")

struct stats {
#define STATS_FIELD(f, name) uint64_t f;
    STATS_LIST(STATS_FIELD)
#undef STATS_FIELD
};

#define STAT_ADD(st, field, n) __atomic_fetch_add(&(st)->field, (n), __ATOMIC_RELAXED)
#define STAT_INC(st, field) STAT_ADD(st, field, 1)

/* total += one (relaxed reads of another thread's counters). */
void stats_sum(struct stats *total, const struct stats *one);
/* total -= base (counters since base was taken; never below 0). */
void stats_subtract(struct stats *total, const struct stats *base);
/* Append "name:value\r\n" for every counter. */
void stats_render(const struct stats *st, struct buf *out);

#endif
