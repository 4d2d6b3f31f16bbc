#!/usr/bin/env python3
"""test_promises: what the README promises about waiting and waste.

store.test_delay_ms makes every claim slow (a store that is down or far
away, for as long as the test wants), segment.wait_ms bounds a wait:

* A NEXT that cannot finish takes nothing: it answers -TRYAGAIN, the
  buffered numbers go on serving the next GET from where they were, and
  nothing is wasted. Once a claim large enough is in, NEXT takes all its
  numbers at once.
* An MGET with one name whose buffers are dry takes nothing from the
  others.
* INFO seq:<name> shows a sequence whatever its name (also one spelled
  like an INFO section); INFO <section> still shows the section.
* A GET of a name no HSET can make (a space in it: a bad row in a shared
  table) says why, not "create it with HSET".

Environment: SEQD_BIN, SEQD_SRCDIR.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from seqd import Client, RespError, Seqd, check, eq, info, run_tests, wait_int  # noqa: E402


def slow_server(delay_ms, wait_ms):
    cfg = {"workers": 1, "store": {"test_delay_ms": delay_ms},
           "segment": {"default": 10, "wait_ms": wait_ms}}
    return Seqd(config=cfg)


def first_segment(s, c, name):
    """HSET name (segment 10) and wait until its first claim is in."""
    eq(c.command("HSET", name, "type", "3", "segment", "10"), 1)
    c.command("GET", name)                        # starts the claim (may answer TRYAGAIN)
    wait_int(s, name, "claims", 1, what="the first claim of %s" % name)


def test_next_that_cannot_finish_takes_nothing():
    # Claims take 1.5 s; a command waits at most 0.3 s.
    with slow_server(1500, 300) as s:
        c = Client(s.port)
        first_segment(s, c, "outage")
        before = info(s.port, "outage")
        r = c.command("GET", "outage")
        check(not isinstance(r, RespError), "a buffered GET: %r" % r)
        first = int(r)
        r = c.command("NEXT", "outage", "50")     # 9 buffered, the rest 1.5 s away
        check(isinstance(r, RespError) and r.startswith("TRYAGAIN no numbers for 'outage'"),
              "NEXT that cannot finish: %r" % r)
        eq(int(c.command("GET", "outage")), first + 1, "the next GET goes on where it was")
        after = info(s.port, "outage")
        eq(after["wasted"], "0", "nothing wasted")
        eq(int(after["generated"]), int(before["generated"]) + 2, "only the two GETs took numbers")


def test_next_takes_all_at_once_once_a_large_claim_is_in():
    # Claims take 0.2 s, a command may wait 3 s: NEXT waits for a claim
    # large enough and answers 50 numbers in a row.
    with slow_server(200, 3000) as s:
        c = Client(s.port)
        first_segment(s, c, "big")
        start = int(c.command("GET", "big"))
        r = c.command("NEXT", "big", "50")
        check(isinstance(r, list), "NEXT 50: %r" % (r,))
        eq([int(v) for v in r], list(range(start + 1, start + 51)), "NEXT 50 in a row")
        eq(int(c.command("GET", "big")), start + 51, "GET after NEXT")
        eq(info(s.port, "big")["wasted"], "0")


def test_numbers_taken_for_a_command_that_gives_up_are_counted_as_wasted():
    # segment.max 5: a NEXT of 12 can never be held by the two buffers at
    # once, so it takes what is there and waits for the rest; when it gives
    # up, what it took is never served and shows in wasted.
    cfg = {"workers": 1, "store": {"test_delay_ms": 1500},
           "segment": {"default": 5, "max": 5, "wait_ms": 300}}
    with Seqd(config=cfg) as s:
        c = Client(s.port)
        eq(c.command("HSET", "w", "type", "3"), 1)
        c.command("GET", "w")
        wait_int(s, "w", "claims", 1, what="the first claim of w")
        before = info(s.port, "w")
        r = c.command("NEXT", "w", "12")
        check(isinstance(r, RespError) and r.startswith("TRYAGAIN"), "NEXT 12: %r" % r)
        after = info(s.port, "w")
        taken = int(after["generated"]) - int(before["generated"])
        check(taken > 0, "the NEXT took the buffered numbers (%d)" % taken)
        eq(int(after["wasted"]), int(before["wasted"]) + taken, "what it took is counted as wasted")
        check(float(after["waste_rate"].rstrip("%")) > 0, "waste_rate shows it: %r" % after["waste_rate"])


def test_mget_with_a_dry_name_takes_nothing_from_the_others():
    with slow_server(1500, 300) as s:
        c = Client(s.port)
        first_segment(s, c, "wet")
        n = int(c.command("GET", "wet"))
        eq(c.command("HSET", "dry", "type", "3", "segment", "10"), 1)
        r = c.command("MGET", "wet", "dry")       # dry's first claim is 1.5 s away
        check(isinstance(r, RespError) and r.startswith("TRYAGAIN no numbers for 'dry'"), "MGET: %r" % r)
        eq(int(c.command("GET", "wet")), n + 1, "'wet' lost no number to the MGET")
        eq(info(s.port, "wet")["wasted"], "0")


def test_info_seq_prefix_names_any_sequence():
    with Seqd() as s:
        c = Client(s.port)
        eq(c.command("HSET", "stats", "type", "3", "starting", "7"), 1)
        c.command("GET", "stats")
        check("total_commands_processed" in c.command("INFO", "stats"), "INFO stats is the section")
        seq = c.command("INFO", "seq:stats")
        check("name:stats" in seq and "current:7" in seq, "INFO seq:stats is the sequence: %r" % seq)
        eq(c.command("INFO", "seq:nope"),
           "ERR no such sequence 'nope' (create it with HSET nope type 3, or insert a row into seqd_segments)")
        eq(c.command("HSET", "plain", "type", "3"), 1)
        check("name:plain" in c.command("INFO", "plain"), "INFO <name> still works for other names")
        for word in ("default", "everything", "all"):
            check("# Server" in c.command("INFO", word), "INFO %s is every section" % word)


def test_no_such_name_that_hset_cannot_make_gives_no_hset_advice():
    with Seqd() as s:
        c = Client(s.port)
        r = c.command("GET", "has space")
        check(isinstance(r, RespError) and r.startswith("ERR no such sequence 'has space': ")
              and "HSET" not in r and "the log says why" in r, "GET of a name HSET cannot make: %r" % r)
        eq(c.command("GET", "nope"),
           "ERR no such sequence 'nope' (create it with HSET nope type 3, or insert a row into seqd_segments)",
           "a valid unknown name still gets the HSET advice")


if __name__ == "__main__":
    run_tests([
        test_next_that_cannot_finish_takes_nothing,
        test_next_takes_all_at_once_once_a_large_claim_is_in,
        test_mget_with_a_dry_name_takes_nothing_from_the_others,
        test_numbers_taken_for_a_command_that_gives_up_are_counted_as_wasted,
        test_info_seq_prefix_names_any_sequence,
        test_no_such_name_that_hset_cannot_make_gives_no_hset_advice,
    ])
