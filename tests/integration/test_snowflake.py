#!/usr/bin/env python3
"""test_snowflake: type 5 (snowflake) ids of the real seqd.

* ids strictly increase (GET, INCR, NEXT, MGET), carry the configured
  worker_id, and DECODE gives back their time, worker and sequence (flat
  pairs in RESP2, a map after HELLO 3); the errors DECODE and HSET give.
* NEXT of 20000 fills from the current and following milliseconds: 4096
  ids in one ms (sequence 0..4095), then the next ms; never a repeat.
* restart with the clock set back (libfaketime): after kill -9 and a
  restart 1.5 s in the past the node waits (logged) for its clock to pass
  the reservation it finds, and every id is above every id before; after a
  restart 60 s in the past, type 5 answers -TRYAGAIN until the clock
  passes it, then goes on above every id before.
* a clock that moves back while running (FAKETIME_TIMESTAMP_FILE): a small
  step back waits and answers; a large one answers
  "-TRYAGAIN clock moved backwards by N ms" after segment.wait_ms, counted
  in INFO name and logged; no id ever repeats.
* the reservation file of the file store is extended while ids are made
  and cut down to the last id at a graceful stop.

Environment: SEQD_BIN, SEQD_SRCDIR. Needs libfaketime (Debian's
libfaketime) for the clock tests, else they are skipped.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from seqd import Client, RespError, Seqd, Skip, info, preload_env, run_tests, wait_for, wait_log  # noqa: E402

EPOCH = 1577836800000
FAKETIME_LIBS = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
                 "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
                 "/usr/lib/faketime/libfaketimeMT.so.1"]


def decode(i):
    return {"time_ms": EPOCH + (i >> 22), "worker": (i >> 12) & 1023, "sequence": i & 4095}


def faketime_lib():
    for p in FAKETIME_LIBS:
        if os.path.exists(p):
            return p
    raise Skip("libfaketime is not installed")


class FakeClock:
    """A running seqd's clock offset, through FAKETIME_TIMESTAMP_FILE
    (read again at every clock read: FAKETIME_NO_CACHE). CLOCK_MONOTONIC
    is left alone, so timers and the lease's own clock run true."""

    def __init__(self, tmp, offset="+0"):
        self.path = os.path.join(tmp, "faketime")
        self.set(offset)

    def set(self, offset):
        with open(self.path + ".tmp", "w") as f:
            f.write(offset + "\n")
        os.rename(self.path + ".tmp", self.path)

    def env(self):
        return dict(preload_env(faketime_lib()), FAKETIME_TIMESTAMP_FILE=self.path,
                    FAKETIME_NO_CACHE="1", FAKETIME_DONT_FAKE_MONOTONIC="1")


def start_with_env(server, env):
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return server.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def take(c, n, name="sf"):
    """n ids with GET, pipelined."""
    c.send(b"".join(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(name), name.encode()) for _ in range(n)))
    out = []
    for _ in range(n):
        r = c.read_reply()
        assert not isinstance(r, RespError), r
        out.append(int(r))
    return out


def increasing(ids, what):
    for a, b in zip(ids, ids[1:]):
        assert b > a, "%s: %d then %d" % (what, a, b)


def test_ids_increase_carry_the_worker_and_decode():
    with Seqd({"worker_id": 37}) as s:
        assert s.cli("HSET", "sf", "type", "5") == "1"
        c = Client(s.port)
        ids = take(c, 3000)
        ids.append(c.command("INCR", "sf"))
        assert isinstance(ids[-1], int)
        ids += [int(x) for x in c.command("NEXT", "sf", "500")]
        ids += [int(x) for x in c.command("MGET", "sf", "sf")]
        increasing(ids, "GET, INCR, NEXT, MGET")
        now = time.time() * 1000
        for i in ids[::97] + [ids[-1]]:
            d = decode(i)
            assert d["worker"] == 37, d
            assert abs(d["time_ms"] - now) < 60000, d
            r = c.command("DECODE", "sf", str(i))
            assert isinstance(r, list) and len(r) == 8, r
            got = dict(zip(r[::2], r[1::2]))
            assert got["time_ms"] == d["time_ms"] and got["worker"] == 37 and got["sequence"] == d["sequence"], got
            t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(d["time_ms"] // 1000)) + ".%03dZ" % (d["time_ms"] % 1000)
            assert got["time"] == t, (got, t)
        # RESP3: a map.
        c.command("HELLO", "3")
        m = c.command("DECODE", "sf", str(ids[0]))
        assert isinstance(m, dict) and set(m) == {"time_ms", "time", "worker", "sequence"}, m
        assert m["worker"] == 37 and m["time_ms"] == decode(ids[0])["time_ms"], m
        # A known id, by hand: 2020-01-01 + 1 ms, worker 5, sequence 7.
        m = c.command("DECODE", "sf", str((1 << 22) | (5 << 12) | 7))
        assert m == {"time_ms": EPOCH + 1, "time": "2020-01-01T00:00:00.001Z", "worker": 5, "sequence": 7}, m
        inf = s.info("sf")
        assert inf["type"] == "5" and inf["kind"] == "snowflake" and inf["worker_id"] == "37", inf
        assert inf["epoch"] == str(EPOCH) and int(inf["current"]) == ids[-1], inf
        c.close()


def test_decode_and_hset_errors():
    with Seqd() as s:
        s.cli("HSET", "sf", "type", "5", "epoch", "1288834974657")
        s.cli("HSET", "inc", "type", "3")
        c = Client(s.port)
        r = c.command("DECODE", "inc", "5")
        assert isinstance(r, RespError) and "not a snowflake sequence" in r, r
        r = c.command("DECODE", "sf", "12x")
        assert isinstance(r, RespError) and r.startswith("ERR id must be an integer"), r
        r = c.command("DECODE", "sf", "-1")
        assert isinstance(r, RespError) and "before its epoch (2010-11-04T01:42:54.657Z)" in r, r
        r = c.command("DECODE", "nosuch", "1")
        assert isinstance(r, RespError) and "no such sequence" in r, r
        r = c.command("DECODE", "sf")
        assert isinstance(r, RespError) and "wrong number of arguments" in r, r
        # Twitter's epoch: the time decodes against it.
        i = int(c.command("GET", "sf"))
        d = c.command("DECODE", "sf", str(i))
        assert abs(d[1] - time.time() * 1000) < 60000, d
        for fields, text in [(["type", "5", "length", "5"], "type 5 takes no length"),
                             (["type", "5", "starting", "1"], "type 5 takes no starting"),
                             (["type", "5", "epoch", "x"], "epoch must be"),
                             (["type", "3", "epoch", "0"], "only type 5")]:
            r = c.command("HSET", "bad", *fields)
            assert isinstance(r, RespError) and text in r, (fields, r)
        c.close()


def test_next_fills_following_milliseconds_4096_a_ms():
    with Seqd({"worker_id": 1023}) as s:
        s.cli("HSET", "sf", "type", "5")
        c = Client(s.port)
        ids = []
        for _ in range(3):
            r = c.command("NEXT", "sf", "20000")
            assert isinstance(r, list) and len(r) == 20000, r if isinstance(r, RespError) else len(r)
            ids += [int(x) for x in r]
        increasing(ids, "NEXT 20000 x3")
        per_ms = {}
        for i in ids:
            d = decode(i)
            assert d["worker"] == 1023
            per_ms.setdefault(d["time_ms"], []).append(d["sequence"])
        assert len(per_ms) >= 60000 // 4096, len(per_ms)
        full = [ms for ms, seqs in per_ms.items() if len(seqs) == 4096]
        assert full, "no millisecond with 4096 ids: %s" % sorted(len(v) for v in per_ms.values())[-5:]
        assert sorted(per_ms[full[0]]) == list(range(4096))
        c.close()


def test_reservation_file_follows_the_ids():
    with Seqd() as s:
        s.cli("HSET", "sf", "type", "5")
        path = os.path.join(s.datadir, "snowflake")
        c = Client(s.port)
        first = take(c, 1)[0]

        def ahead():
            with open(path) as f:
                return int(f.read().split()[1]) > decode(first)["time_ms"] + 500
        wait_for(ahead, 5, "the reservation moves ahead of the ids")
        last = take(c, 10)[-1]
        c.close()
    with open(path) as f:
        assert int(f.read().split()[1]) == decode(last)["time_ms"], "a graceful stop keeps the last id's ms"


def test_restart_with_the_clock_set_back_never_repeats():
    lib = faketime_lib()  # noqa: F841 (skips without it)
    s = Seqd({"segment": {"wait_ms": 300}})
    s.start()
    s.cli("HSET", "sf", "type", "5")
    c = Client(s.port)
    before = take(c, 2000)
    c.close()
    s.kill()                                   # the reservation stays ahead of the last id
    # 1.5 s back: within the start-up wait.
    clock = FakeClock(s.tmp, "-1.5")
    s2 = Seqd({"segment": {"wait_ms": 300}}, datadir=s.datadir)
    start_with_env(s2, clock.env())
    wait_log(s2, "waiting", timeout=5)
    c = Client(s2.port)
    after = take(c, 2000)
    assert min(after) > max(before), "an id after the restart is not above those before"
    c.close()
    s2.stop()
    # 60 s back: past the start-up wait: TRYAGAIN until the clock passes.
    seen = set(before) | set(after)
    clock.set("-60")
    s3 = Seqd({"segment": {"wait_ms": 300}}, datadir=s.datadir)
    start_with_env(s3, clock.env())
    wait_log(s3, "behind the timestamps reserved before", timeout=5)
    c = Client(s3.port)
    r = c.command("GET", "sf")
    assert isinstance(r, RespError) and r.startswith("TRYAGAIN clock moved backwards by "), r
    clock.set("+0")
    more = take(c, 1000)
    assert min(more) > max(after) and not seen & set(more)
    inf = s3.info("sf")
    assert int(inf["clock_backwards"]) >= 1 and int(inf["clock_last_jump_ms"]) >= 55000, inf
    c.close()
    s3.stop()


def test_clock_moving_back_while_running():
    s = Seqd({"segment": {"wait_ms": 500}})
    clock = FakeClock(s.tmp, "+0")
    start_with_env(s, clock.env())
    s.cli("HSET", "sf", "type", "5")
    c = Client(s.port)
    ids = take(c, 500)
    # 0.3 s back: the GET waits for the clock (under wait_ms) and answers.
    clock.set("-0.3")
    t0 = time.monotonic()
    ids += take(c, 1)
    waited = time.monotonic() - t0
    assert waited >= 0.1, "no wait for a clock 300 ms behind (%.3f s)" % waited
    # 5 s back: TRYAGAIN with the size of the jump, after wait_ms.
    clock.set("-5")
    t0 = time.monotonic()
    r = c.command("GET", "sf")
    waited = time.monotonic() - t0
    assert isinstance(r, RespError) and r.startswith("TRYAGAIN clock moved backwards by "), r
    n = int(r.split("by ")[1].split(" ms")[0])
    assert 4000 <= n <= 6000, r
    assert 0.4 <= waited < 3, waited
    r = c.command("NEXT", "sf", "10")
    assert isinstance(r, RespError) and r.startswith("TRYAGAIN clock moved backwards"), r
    inf = s.info("sf")
    assert int(inf["clock_backwards"]) == 2 and inf["clock_behind"] == "1", inf
    assert 4000 <= int(inf["clock_last_jump_ms"]) <= 6000, inf
    wait_log(s, "the clock moved backwards by", timeout=2)
    clock.set("+0")
    ids += take(c, 2000)
    increasing(ids, "across the clock's jumps")
    assert s.info("sf")["clock_behind"] == "0"
    wait_log(s, "the clock caught up", timeout=2)
    c.close()
    s.stop()


if __name__ == "__main__":
    run_tests([
        test_ids_increase_carry_the_worker_and_decode,
        test_decode_and_hset_errors,
        test_next_fills_following_milliseconds_4096_a_ms,
        test_reservation_file_follows_the_ids,
        test_restart_with_the_clock_set_back_never_repeats,
        test_clock_moving_back_while_running,
    ])
