#!/usr/bin/env python3
"""test_restart: numbers survive restarts of the real seqd.

* file store, kill -9 under load, several rounds: clients take numbers
  concurrently while the server is killed; after each restart on the same
  data dir every number is greater than (types 2, 3) or different from
  (type 1) every number any client got before, no number is ever handed
  out twice, and the definitions are still there.
* file store, graceful stop (SIGTERM, exit code 0): nothing is wasted. The
  next GET continues exactly where the last one stopped (types 2, 3), a
  type 1 of length 3 taken across the restart covers 100..999 exactly once
  and then reports exhaustion, the log says "0 wasted" and INFO name after
  the restart shows wasted:0. Also under concurrent load: the numbers
  handed out before and after the stop form one gapless run.
* file store: HSET and DEL are durable when they answer (kill -9 at once).
* memory store: nothing survives a restart ('no such sequence').

Environment: SEQD_BIN, SEQD_SRCDIR; SEQD_RESTART_ROUNDS (kill -9 rounds,
default 6).
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from seqd import Client, Collector, RespError, Seqd, parse_info, run_tests, timing_bound  # noqa: E402

ROUNDS = int(os.environ.get("SEQD_RESTART_ROUNDS", "6"))
PIPELINE = 16
CLIENTS = 4

# name -> (HSET fields, kind). Small segments: many claims, each of which
# must be durable before it is served.
SEQS = {
    "inc": (["type", "3", "starting", "1000", "step", "3", "segment", "20",
             "description", "order numbers"], 3),
    "fix": (["type", "2", "length", "9", "segment", "20"], 2),
    "rnd": (["type", "1", "length", "7", "segment", "20"], 1),
    "big": (["type", "3"], 3),          # segment.default: larger claims
}
DEF_FIELDS = ("type", "kind", "length", "starting", "step", "description")


def info_fields(client, name):
    """INFO <name> as a dict of its key:value lines."""
    text = client.command("INFO", name)
    if isinstance(text, RespError):
        raise AssertionError("INFO %s: %s" % (name, text))
    return parse_info(text)


def create_all(port):
    c = Client(port)
    for name, (fields, _) in SEQS.items():
        r = c.command("HSET", name, *fields)
        assert r == 1, "HSET %s: %r" % (name, r)
    defs = {name: {k: info_fields(c, name).get(k) for k in DEF_FIELDS} for name in SEQS}
    c.close()
    return defs


def run_load(port, seconds, kill_at=None, server=None, names=None):
    """Run CLIENTS collectors for at most `seconds`; kill -9 (or SIGTERM, if
    kill_at is (t, 'term')) the server at time t. Returns the collectors."""
    names = names or list(SEQS)
    deadline = time.monotonic() + seconds
    # One connection each, pipelined GETs; a client ends when its
    # connection breaks (the server killed under it).
    cols = [Collector(port, names, pipeline=PIPELINE, start_at=i * 5, reconnect=False,
                      deadline=deadline, timeout=5.0) for i in range(CLIENTS)]
    for t in cols:
        t.start()
    rc = None
    if kill_at is not None:
        at, how = kill_at
        # The kill lands at a chosen moment of the load: the point of the test.
        time.sleep(at)
        if how == "kill":
            server.kill()
        else:
            rc = server.stop()
    else:
        time.sleep(seconds)            # load for a while: the numbers to check
    for t in cols:
        t.stop.set()
    for t in cols:
        t.join(15)
        assert not t.is_alive(), "a client thread did not finish"
        assert t.exc is None, "a client thread failed: %r" % t.exc
    return cols, rc


def errors_of(col):
    """A collector's error replies as (name, reply)."""
    return [(name, r) for _, _, name, r in col.errors]


def numbers_of(col):
    """{name: [numbers in the order received]} of a collector (one
    connection)."""
    out = {n: [] for n in col.names}
    for (_, _, name), nums in col.got.items():
        out[name].extend(nums)
    return out


def check_numbers_shape(name, nums):
    kind = SEQS[name][1]
    for x in nums:
        if name == "inc":
            assert x >= 1000 and (x - 1000) % 3 == 0, "inc: %d is not 1000 + 3k" % x
        elif name == "fix":
            assert 10 ** 8 <= x < 10 ** 9, "fix: %d has not 9 digits" % x
        elif name == "rnd":
            assert 10 ** 6 <= x < 10 ** 7, "rnd: %d has not 7 digits" % x
        elif kind == 3:
            assert x >= 1


# Kills 50 ms into a load (and a killed process leaves valgrind no summary).
@timing_bound
def test_kill9_rounds_never_repeat():
    """kill -9 under concurrent load, ROUNDS times: every number after a
    restart is above (types 2, 3) / unseen (type 1) every earlier one."""
    # segment.max bounds the dynamic growth: claims stay frequent, so kills
    # land while claims are being made durable.
    s = Seqd(config={"segment": {"max": 2000, "default": 2000}}).start()
    defs = create_all(s.port)
    seen = {n: set() for n in SEQS}       # every number any client got
    high = {n: None for n in SEQS}        # the highest of them (types 2, 3)
    total = 0
    try:
        for rnd in range(ROUNDS):
            kill_after = 0.05 if rnd == 0 else random.uniform(0.2, 1.2)
            cols, _ = run_load(s.port, 10.0, kill_at=(kill_after, "kill"), server=s)
            round_nums = {n: [] for n in SEQS}
            for col in cols:
                assert not col.errors, "round %d: error replies: %r" % (rnd, errors_of(col)[:5])
                for n, nums in numbers_of(col).items():
                    check_numbers_shape(n, nums)
                    if SEQS[n][1] in (2, 3):
                        assert nums == sorted(nums) and len(set(nums)) == len(nums), \
                            "round %d: %s not increasing on one connection" % (rnd, n)
                    round_nums[n].extend(nums)
            got = sum(len(v) for v in round_nums.values())
            assert got > 0, "round %d: no number was handed out before the kill" % rnd
            total += got
            for n, nums in round_nums.items():
                dup = len(nums) - len(set(nums))
                assert dup == 0, "round %d: %s: %d duplicates within the round" % (rnd, n, dup)
                again = seen[n] & set(nums)
                assert not again, "round %d: %s: numbers handed out before the kill -9: %r" % (
                    rnd, n, sorted(again)[:10])
                if SEQS[n][1] in (2, 3) and nums and high[n] is not None:
                    assert min(nums) > high[n], "round %d: %s: %d after restart <= %d before" % (
                        rnd, n, min(nums), high[n])
                seen[n].update(nums)
                if nums and SEQS[n][1] in (2, 3):
                    high[n] = max(nums) if high[n] is None else max(high[n], max(nums))
            # Restart on the same data dir: the definitions are still there.
            s.start()
            c = Client(s.port)
            for n in SEQS:
                assert c.command("EXISTS", n) == 1, "round %d: %s is gone after kill -9" % (rnd, n)
                now = {k: info_fields(c, n).get(k) for k in DEF_FIELDS}
                assert now == defs[n], "round %d: definition of %s changed: %r != %r" % (rnd, n, now, defs[n])
                # One more number, taken alone: above / apart from everything.
                x = int(c.command("GET", n))
                assert x not in seen[n], "round %d: %s: %d again after restart" % (rnd, n, x)
                if high[n] is not None:
                    assert x > high[n], "round %d: %s: %d <= %d" % (rnd, n, x, high[n])
                    high[n] = x
                seen[n].add(x)
            c.close()
        print("  %d rounds, %d numbers collected, no duplicates" % (ROUNDS, total))
    finally:
        s.stop()


def take(c, name, k):
    out = []
    for _ in range(k):
        r = c.command("GET", name)
        assert not isinstance(r, RespError), "GET %s: %s" % (name, r)
        out.append(int(r))
    return out


def test_sigterm_wastes_nothing():
    """SIGTERM, exit 0, restart: GET continues at last + step, a type 1
    covers its range exactly once across the restart, nothing wasted."""
    s = Seqd().start()
    c = Client(s.port)
    assert c.command("HSET", "t3", "type", "3", "starting", "500", "step", "7", "segment", "10") == 1
    assert c.command("HSET", "t2", "type", "2", "length", "5", "segment", "10") == 1
    assert c.command("HSET", "t1", "type", "1", "length", "3", "segment", "50") == 1
    assert c.command("HSET", "e2", "type", "2", "length", "2", "segment", "30") == 1
    k = 137                                 # not a multiple of any segment
    a3, a2, a1 = take(c, "t3", k), take(c, "t2", k), take(c, "t1", k)
    e2 = take(c, "e2", 45)
    assert a3 == list(range(500, 500 + 7 * k, 7)), a3[:5]
    assert a2 == list(range(10000, 10000 + k)), a2[:5]
    c.close()
    rc = s.stop()
    assert rc == 0, "graceful stop exited %r" % rc
    log = s.log()
    assert "; 0 wasted" in log, "the stop wasted numbers:\n%s" % log[-2000:]

    s.start()
    c = Client(s.port)
    assert int(c.command("GET", "t3")) == a3[-1] + 7, "t3 did not continue at last + step"
    assert int(c.command("GET", "t2")) == a2[-1] + 1, "t2 did not continue at last + 1"
    rest = take(c, "t1", 900 - k)
    every = a1 + rest
    assert len(set(every)) == 900, "type 1 repeated %d numbers across the restart" % (900 - len(set(every)))
    assert set(every) == set(range(100, 1000)), "type 1 did not cover 100..999"
    r = c.command("GET", "t1")
    assert isinstance(r, RespError) and "exhausted" in r, "901st GET: %r" % r
    # A type 2 of length 2 taken across the restart: 10..99, then exhausted.
    e2 += take(c, "e2", 45)
    assert e2 == list(range(10, 100)), "type 2 across the restart: %r" % e2
    r = c.command("GET", "e2")
    assert r == "ERR sequence 'e2' is exhausted", "91st GET of a length-2 type 2: %r" % r
    for n in ("t1", "t2", "t3", "e2"):
        info = info_fields(c, n)
        assert info.get("wasted") == "0", "INFO %s after graceful restart: wasted %s" % (n, info.get("wasted"))
    c.close()
    assert s.stop() == 0


def test_sigterm_under_load_is_gapless():
    """SIGTERM while clients take numbers: what they got before the stop
    and after the restart is one run with no gaps and no repeats."""
    s = Seqd(config={"segment": {"max": 100000}}).start()
    c = Client(s.port)
    assert c.command("HSET", "g3", "type", "3", "segment", "20") == 1
    assert c.command("HSET", "g2", "type", "2", "length", "8", "segment", "20") == 1
    c.close()
    cols, rc = run_load(s.port, 10.0, kill_at=(0.8, "term"), server=s, names=["g3", "g2"])
    assert rc == 0, "graceful stop under load exited %r" % rc
    before = {"g3": [], "g2": []}
    for col in cols:
        # A parked command may be answered -TRYAGAIN at shutdown; nothing else.
        bad = [e for e in errors_of(col) if not (isinstance(e[1], RespError) and e[1].startswith("TRYAGAIN"))]
        assert not bad, "error replies: %r" % bad[:5]
        for n in before:
            before[n].extend(numbers_of(col)[n])
    s.start()
    cols, _ = run_load(s.port, 0.5, names=["g3", "g2"])
    after = {"g3": [], "g2": []}
    for col in cols:
        assert not col.errors, "error replies after restart: %r" % errors_of(col)[:5]
        for n in after:
            after[n].extend(numbers_of(col)[n])
    for n, first in (("g3", 1), ("g2", 10 ** 7)):
        b, a = sorted(before[n]), sorted(after[n])
        assert b and a, "%s: no numbers before (%d) or after (%d)" % (n, len(b), len(a))
        assert b == list(range(first, first + len(b))), \
            "%s: numbers before the stop are not 1 run from %d (%d numbers, max %d)" % (n, first, len(b), b[-1])
        assert a[0] == b[-1] + 1, "%s: after the restart the first is %d, the last before was %d (%d wasted)" % (
            n, a[0], b[-1], a[0] - b[-1] - 1)
        assert a == list(range(a[0], a[0] + len(a))), "%s: gaps after the restart" % n
    print("  %d + %d numbers, gapless" % (sum(len(v) for v in before.values()),
                                          sum(len(v) for v in after.values())))
    assert s.stop() == 0


def test_hset_and_del_durable_at_once():
    """A definition is durable when HSET answers, a removal when DEL does:
    kill -9 right after them changes nothing."""
    s = Seqd().start()
    c = Client(s.port)
    assert c.command("HSET", "d1", "type", "1", "length", "5", "segment", "7", "description", "a b c") == 1
    assert c.command("HSET", "d2", "type", "3") == 1
    want = {k: info_fields(c, "d1").get(k) for k in DEF_FIELDS + ("segment",)}
    assert c.command("DEL", "d2") == 1
    c.close()
    s.kill()
    s.start()
    c = Client(s.port)
    assert c.command("EXISTS", "d1") == 1 and c.command("EXISTS", "d2") == 0, "HSET/DEL not durable"
    got = {k: info_fields(c, "d1").get(k) for k in DEF_FIELDS + ("segment",)}
    assert got == want, "d1 after kill -9: %r != %r" % (got, want)
    assert got["description"] == "a b c", got
    x = int(c.command("GET", "d1"))
    assert 10000 <= x <= 99999, x
    c.close()
    assert s.stop() == 0


def test_memory_store_forgets():
    """memory store: a restart (graceful or kill -9) forgets everything."""
    s = Seqd(store="memory").start()
    c = Client(s.port)
    assert c.command("HSET", "m", "type", "3") == 1
    assert c.command("GET", "m") == "1"
    c.close()
    assert s.stop() == 0
    s.start()
    c = Client(s.port)
    r = c.command("GET", "m")
    assert isinstance(r, RespError) and "no such sequence 'm'" in r, "after restart: %r" % r
    assert c.command("EXISTS", "m") == 0
    assert c.command("HSET", "m", "type", "3") == 1
    assert c.command("GET", "m") == "1", "a new 'm' starts again at 1"
    c.close()
    s.kill()
    s.start()
    c = Client(s.port)
    r = c.command("GET", "m")
    assert isinstance(r, RespError) and "no such sequence 'm'" in r, "after kill -9: %r" % r
    c.close()
    assert s.stop() == 0


if __name__ == "__main__":
    run_tests([
        test_kill9_rounds_never_repeat,
        test_sigterm_wastes_nothing,
        test_sigterm_under_load_is_gapless,
        test_hset_and_del_durable_at_once,
        test_memory_store_forgets,
    ])
