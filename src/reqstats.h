/*
 * reqstats: requests and errors per door and per command or endpoint,
 * for /metrics. Each door registers its names once at start-up (main
 * thread, before it serves) and keeps the ids; counting is a relaxed
 * atomic add on any thread.
 */
#ifndef SEQD_REQSTATS_H
#define SEQD_REQSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum door { DOOR_RESP, DOOR_HTTP, DOOR_UDP };

/* Enough for every command, endpoint and action seqd has. */
#define REQSTATS_MAX 96

/* The id of (door, what); the same pair gives the same id. what must be a
 * string that lives as long as the process (a literal, a table's name).
 * Registering more than REQSTATS_MAX names is a programming error. */
int reqstats_register(enum door door, const char *what);
/* One request of that id answered, with an error or not. */
void reqstats_count(int id, bool error);

struct reqstat {
    enum door door;
    const char *what;
    uint64_t requests, errors;
};
/* A copy of every registered counter into out (at most max); returns how many. */
size_t reqstats_get(struct reqstat *out, size_t max);
/* "resp", "http", "udp". */
const char *reqstats_door_name(enum door door);

#endif
