/*
 * hiredis_client: drives seqd with the real hiredis library (Debian's
 * libhiredis-dev), the way a C application would. Built and run by
 * tests/integration/test_clients.py:
 *
 *     hiredis_client PORT NAME
 *
 * Connects to 127.0.0.1:PORT, sends SELECT 0, creates NAME as a type 3
 * sequence starting at 100, then GET, MGET, INCR, pipelined GETs with
 * redisAppendCommand/redisGetReply, and a GET of a name that does not
 * exist. Checks every reply; prints "ok" and exits 0, or prints what
 * went wrong and exits 1.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIPELINED 100

static int failures;

static void fail(const char *what, const redisReply *r)
{
    failures++;
    if (r == NULL)
        fprintf(stderr, "hiredis_client: %s: no reply\n", what);
    else if (r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STATUS ||
             r->type == REDIS_REPLY_STRING)
        fprintf(stderr, "hiredis_client: %s: unexpected reply type %d '%s'\n", what, r->type, r->str);
    else if (r->type == REDIS_REPLY_INTEGER)
        fprintf(stderr, "hiredis_client: %s: unexpected integer %lld\n", what, r->integer);
    else
        fprintf(stderr, "hiredis_client: %s: unexpected reply type %d\n", what, r->type);
}

/* A bulk string reply holding exactly the decimal number want. */
static void expect_bulk_number(const char *what, const redisReply *r, long long want)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", want);
    if (r == NULL || r->type != REDIS_REPLY_STRING || strcmp(r->str, buf) != 0) {
        fprintf(stderr, "hiredis_client: %s: wanted \"%s\"\n", what, buf);
        fail(what, r);
    }
}

static void expect_status(const char *what, const redisReply *r, const char *want)
{
    if (r == NULL || r->type != REDIS_REPLY_STATUS || strcmp(r->str, want) != 0) {
        fprintf(stderr, "hiredis_client: %s: wanted +%s\n", what, want);
        fail(what, r);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: hiredis_client PORT NAME\n");
        return 2;
    }
    int port = atoi(argv[1]);
    const char *name = argv[2];
    struct timeval tv = { 10, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (c == NULL || c->err) {
        fprintf(stderr, "hiredis_client: connect: %s\n", c ? c->errstr : "out of memory");
        return 1;
    }
    redisSetTimeout(c, tv);
    redisReply *r;

    r = redisCommand(c, "PING");
    expect_status("PING", r, "PONG");
    freeReplyObject(r);

    r = redisCommand(c, "SELECT 0");
    expect_status("SELECT 0", r, "OK");
    freeReplyObject(r);

    r = redisCommand(c, "HSET %s type 3 starting 100 description %s", name, "made by hiredis");
    if (r == NULL || r->type != REDIS_REPLY_INTEGER || r->integer != 1)
        fail("HSET", r);
    freeReplyObject(r);

    r = redisCommand(c, "GET %s", name);
    expect_bulk_number("GET", r, 100);
    freeReplyObject(r);

    r = redisCommand(c, "MGET %s %s", name, name);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        fail("MGET", r);
    } else {
        expect_bulk_number("MGET[0]", r->element[0], 101);
        expect_bulk_number("MGET[1]", r->element[1], 102);
    }
    freeReplyObject(r);

    r = redisCommand(c, "INCR %s", name);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER || r->integer != 103)
        fail("INCR (wanted :103)", r);
    freeReplyObject(r);

    /* Pipelined: all sent before any reply is read. */
    for (int i = 0; i < PIPELINED; i++)
        redisAppendCommand(c, "GET %s", name);
    for (int i = 0; i < PIPELINED; i++) {
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK) {
            fprintf(stderr, "hiredis_client: pipelined reply %d: %s\n", i, c->errstr);
            failures++;
            break;
        }
        char what[64];
        snprintf(what, sizeof(what), "pipelined GET %d", i);
        expect_bulk_number(what, reply, 104 + i);
        freeReplyObject(reply);
    }

    r = redisCommand(c, "GET %s", "no_such_name_here");
    if (r == NULL || r->type != REDIS_REPLY_ERROR || strstr(r->str, "no such sequence") == NULL)
        fail("GET of a missing name", r);
    freeReplyObject(r);

    /* The connection still works after an error reply. */
    r = redisCommand(c, "EXISTS %s", name);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER || r->integer != 1)
        fail("EXISTS", r);
    freeReplyObject(r);

    redisFree(c);
    if (failures) {
        fprintf(stderr, "hiredis_client: %d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
