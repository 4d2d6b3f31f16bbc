#!/usr/bin/env python3
"""test_nextrange: NEXTRANGE name count answers ranges, not numbers.

* The [first, last, step] triples hold exactly `count` numbers of the
  sequence, in order, one triple per segment they came from (a take that
  crosses into the next segment gives two); the next GET goes on past the
  last of them.
* A count above segment.max goes through several claims (waiting for
  them as NEXT does), each as large as segment.max allows, and gives a
  triple per segment; a million numbers come in one round trip, on the
  file store and on the mysql store.
* Interleaved with GET and NEXT from other clients (several workers),
  no number is handed out twice, and every number the sequence
  generated was handed out to someone (nothing lost silently).
* Two mysql nodes on one table: their NEXTRANGEs never overlap.
* Types 1, 4 and 5 (numbers that are not arithmetic runs) answer an error
  that points to NEXT; type 2 works and says when it is exhausted; bad
  counts answer NEXT's kind of error; the server keeps serving.

Environment: SEQD_BIN, SEQD_SRCDIR (SEQD_ALLOW_SKIP=1: skip the mysql
test when MariaDB is not installed).
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from seqd import Client, RespError, Seqd, check, eq, info, run_tests, wait_int  # noqa: E402

NOT_RUNS = "ERR NEXTRANGE needs an increasing sequence (type 2 or 3); '%s' is type %d (%s): use NEXT"
BAD_COUNT = "ERR count must be an integer from 1 to 10000000"


def triples(reply, count, what):
    """Check a NEXTRANGE reply: a list of [first, last, step] integer
    triples, each well-formed, increasing across triples, holding exactly
    count numbers. Returns the list of (first, last, step)."""
    check(isinstance(reply, list) and reply, "%s: not an array of triples: %r" % (what, reply))
    out, total, prev_last = [], 0, None
    for t in reply:
        check(isinstance(t, list) and len(t) == 3 and all(isinstance(v, int) for v in t),
              "%s: not a triple of integers: %r" % (what, t))
        first, last, step = t
        check(step >= 1 and last >= first and (last - first) % step == 0,
              "%s: a malformed triple %r" % (what, t))
        check(prev_last is None or first > prev_last, "%s: triples out of order: %r" % (what, reply[:5]))
        total += (last - first) // step + 1
        prev_last = last
        out.append((first, last, step))
    eq(total, count, "%s: numbers in the triples" % what)
    return out


def expand(ts):
    nums = []
    for first, last, step in ts:
        nums.extend(range(first, last + 1, step))
    return nums


def server(**config):
    cfg = {"segment": {"wait_ms": 10000}}
    cfg.update(config)
    return Seqd(config=cfg)


# ---- the file store ----------------------------------------------------------------


def test_triples_hold_count_numbers_in_order_and_get_goes_on_past_them():
    with server() as s:
        c = Client(s.port)
        eq(c.command("HSET", "r", "type", "3", "starting", "100", "step", "3", "segment", "10"), 1)
        eq(c.command("NEXTRANGE", "r", "1"), [[100, 100, 3]], "the first number")
        got = expand(triples(c.command("NEXTRANGE", "r", "7"), 7, "NEXTRANGE r 7"))
        eq(got, list(range(103, 103 + 7 * 3, 3)), "seven numbers in a row")
        eq(c.command("GET", "r"), str(got[-1] + 3), "the GET after it")
        got = expand(triples(c.command("NEXTRANGE", "r", "40"), 40, "NEXTRANGE r 40"))
        eq(got, list(range(got[0], got[0] + 40 * 3, 3)), "40 numbers, every one of the sequence")
        check(got[0] > 103 + 7 * 3, "past the GET: %r" % got[:3])
        eq(c.command("NEXT", "r", "2"), [str(got[-1] + 3), str(got[-1] + 6)], "the NEXT after it")
        eq(info(s.port, "r")["wasted"], "0")


def test_crossing_into_the_next_segment_gives_two_triples():
    with server() as s:
        c = Client(s.port)
        eq(c.command("HSET", "x", "type", "3", "segment", "10"), 1)
        eq(c.command("GET", "x"), "1")
        wait_int(s, "x", "claims", 2, what="the next segment prefetched")
        left = 9                               # of the first segment
        ts = triples(c.command("NEXTRANGE", "x", str(left + 5)), left + 5, "NEXTRANGE x 14")
        eq(len(ts), 2, "one triple per segment: %r" % ts)
        eq(ts[0], (2, 10, 1), "the rest of the first segment")
        eq(ts[1][0], 11, "the next segment goes on where it ended (one node)")


def test_more_than_segment_max_takes_several_claims():
    # segment.max 1000: 4500 numbers need at least five claims; the take
    # waits for them (as NEXT does beyond segment.max) and gives a triple
    # per segment.
    with server(segment={"max": 1000, "default": 100, "wait_ms": 10000}) as s:
        c = Client(s.port)
        eq(c.command("HSET", "big", "type", "3"), 1)
        first = int(c.command("GET", "big"))
        ts = triples(c.command("NEXTRANGE", "big", "4500"), 4500, "NEXTRANGE big 4500")
        check(len(ts) >= 5, "a triple per segment of at most 1000: %r" % ts)
        eq(expand(ts), list(range(first + 1, first + 4501)), "every number once, in order")
        eq(int(c.command("GET", "big")), first + 4501, "GET after it")
        inf = info(s.port, "big")
        check(int(inf["claims"]) >= 5, "claims: %s" % inf["claims"])
        eq(inf["wasted"], "0")


def test_a_million_in_one_round_trip():
    with server() as s:
        c = Client(s.port)
        eq(c.command("HSET", "m", "type", "3", "starting", "5000000000"), 1)
        start = time.monotonic()
        c.send(b"*3\r\n$9\r\nNEXTRANGE\r\n$1\r\nm\r\n$7\r\n1000000\r\n")
        reply = c.read_reply()
        took = time.monotonic() - start
        ts = triples(reply, 1000000, "NEXTRANGE m 1000000")
        eq(ts[0][0], 5000000000, "from the first number")
        eq(ts[-1][1], 5000000000 + 999999, "to the millionth")
        check(len(c.buf) == 0, "one reply to one request (%d bytes more)" % len(c.buf))
        eq(int(c.command("GET", "m")), 5000000000 + 1000000, "GET after it")
        print("  NEXTRANGE m 1000000: %d triple(s) in %.3f s" % (len(ts), took))


def test_interleaved_with_get_and_next_no_number_twice_none_lost():
    # Two workers; clients on both take by GET, NEXT and NEXTRANGE at
    # once for a bounded time. Every number is handed out once, and the
    # sequence generated exactly what the clients got (nothing wasted).
    with server(workers=2, segment={"default": 50, "max": 5000, "wait_ms": 10000}) as s:
        eq(Client(s.port).command("HSET", "mix", "type", "3", "step", "2"), 1)
        got, errors, lock = [], [], threading.Lock()
        deadline = time.monotonic() + 1.5

        def worker(kind, k):
            c = Client(s.port)
            mine = []
            while time.monotonic() < deadline:
                if kind == "GET":
                    r = c.command("GET", "mix")
                    ok = isinstance(r, str) and not isinstance(r, RespError)
                    nums = [int(r)] if ok else []
                elif kind == "NEXT":
                    r = c.command("NEXT", "mix", "37")
                    ok = isinstance(r, list)
                    nums = [int(v) for v in r] if ok else []
                else:
                    n = 1 + (k * 7919) % 3000
                    k += 1
                    r = c.command("NEXTRANGE", "mix", str(n))
                    ok = isinstance(r, list)
                    if ok:
                        nums = expand(triples(r, n, "NEXTRANGE mix %d" % n))
                        check(all(t[2] == 2 for t in r), "step 2: %r" % r)
                if not ok:
                    with lock:
                        errors.append(r)
                    return
                mine.extend(nums)
            with lock:
                got.extend(mine)

        threads = [threading.Thread(target=worker, args=(kind, i))
                   for i, kind in enumerate(["GET", "GET", "NEXT", "NEXT", "NEXTRANGE", "NEXTRANGE", "NEXTRANGE"])]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        eq(errors, [], "error replies")
        check(len(got) > 1000, "numbers taken: %d" % len(got))
        eq(len(set(got)), len(got), "no number twice (%d numbers)" % len(got))
        check(all(v % 2 == 1 for v in got), "all numbers of the sequence (1, 3, 5, ...)")
        inf = info(s.port, "mix")
        eq(int(inf["generated"]), len(got), "generated == handed out")
        eq(inf["wasted"], "0")


def test_kinds_that_are_not_runs_point_to_next():
    with server(worker_id=3) as s:
        c = Client(s.port)
        eq(c.command("HSET", "perm", "type", "1", "length", "6"), 1)
        eq(c.command("HSET", "daily", "type", "4", "prefix", "%y%m%d", "length", "4"), 1)
        eq(c.command("HSET", "flake", "type", "5"), 1)
        for name, kind, kname in (("perm", 1, "random"), ("daily", 4, "dated"), ("flake", 5, "snowflake")):
            eq(c.command("NEXTRANGE", name, "10"), RespError(NOT_RUNS % (name, kind, kname)), name)
            eq(info(s.port, name)["generated"], "0", "%s: nothing taken" % name)
            check(isinstance(c.command("NEXT", name, "2"), list), "NEXT %s still works" % name)
        # Type 2 is increasing: ranges, until its digits run out.
        eq(c.command("HSET", "fix", "type", "2", "length", "2", "step", "3", "starting", "90"), 1)
        eq(c.command("NEXTRANGE", "fix", "3"), [[90, 96, 3]], "type 2")
        eq(c.command("NEXTRANGE", "fix", "2"), RespError("ERR sequence 'fix' is exhausted"),
           "more than is left: nothing taken")
        eq(c.command("NEXTRANGE", "fix", "1"), [[99, 99, 3]], "the last one")


def test_bad_counts_and_names_answer_clear_errors_and_the_server_goes_on():
    with server() as s:
        c = Client(s.port)
        eq(c.command("HSET", "ok", "type", "3"), 1)
        for bad in ("0", "-1", "1e9", "10000001", "abc", "1.5", "", " 5", "18446744073709551617"):
            eq(c.command("NEXTRANGE", "ok", bad), RespError(BAD_COUNT), "count %r" % bad)
        eq(c.command("NEXTRANGE", "ok"), RespError("ERR wrong number of arguments for 'nextrange' command"))
        eq(c.command("NEXTRANGE", "nope", "3"),
           RespError("ERR no such sequence 'nope' (create it with HSET nope type 3, "
                     "or insert a row into seqd_segments)"))
        eq(c.command("NEXTRANGE", "ok", "10000000")[0][0], 1, "the largest count")
        eq(c.command("GET", "ok"), "10000001", "and the server goes on")
        inf = info(s.port, "ok")
        eq(inf["wasted"], "0")
        # Each claim it waited for brought what was missing, up to
        # segment.max (1,000,000): about ten, not a doubling series from
        # the default segment (1000, 2000, ... would be about twenty).
        check(int(inf["claims"]) <= 13, "claims for ten million: %s" % inf["claims"])


# ---- the mysql store -------------------------------------------------------------


def test_mysql_two_nodes_ranges_never_overlap_a_million_in_one_trip():
    from mariadb import MariaDB
    with MariaDB() as db:
        cfg = {"store": db.store_config(rescan_s=1),
               "segment": {"default": 100, "max": 200000, "wait_ms": 10000}}
        a = Seqd(config=cfg, store="mysql").start()
        b = Seqd(config=cfg, store="mysql").start()
        try:
            ca, cb = Client(a.port), Client(b.port)
            eq(ca.command("HSET", "shared", "type", "3"), 1)
            got = []
            for i in range(40):
                c = (ca, cb)[i % 2]
                n = 1 + (i * 2713) % 700
                got += expand(triples(c.command("NEXTRANGE", "shared", str(n)), n, "NEXTRANGE %d" % n))
                got.append(int(c.command("GET", "shared")))
            eq(len(set(got)), len(got), "no number twice over two nodes")
            ts = triples(cb.command("NEXTRANGE", "shared", "1000000"), 1000000, "a million on mysql")
            check(len(ts) >= 5, "segment.max 200000: several segments: %d triples" % len(ts))
            big = expand(ts)
            check(not set(big) & set(got), "the million overlaps nothing taken before")
            after = int(ca.command("GET", "shared"))
            check(after not in set(big) and after not in set(got), "a GET on the other node: new")
        finally:
            a.stop()
            b.stop()


if __name__ == "__main__":
    run_tests([
        test_triples_hold_count_numbers_in_order_and_get_goes_on_past_them,
        test_crossing_into_the_next_segment_gives_two_triples,
        test_more_than_segment_max_takes_several_claims,
        test_a_million_in_one_round_trip,
        test_interleaved_with_get_and_next_no_number_twice_none_lost,
        test_kinds_that_are_not_runs_point_to_next,
        test_bad_counts_and_names_answer_clear_errors_and_the_server_goes_on,
        test_mysql_two_nodes_ranges_never_overlap_a_million_in_one_trip,
    ])
