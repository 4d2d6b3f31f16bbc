#!/usr/bin/env python3
"""test_dated: type 4, dated numbers that restart each period, on the real
seqd with its clock driven by libfaketime.

The server runs under libfaketime (LD_PRELOAD) with FAKETIME_TIMESTAMP_FILE
and FAKETIME_NO_CACHE=1: the wall clock is whatever absolute time the test
last wrote to that file (frozen there), read again on every call, so the
test moves a running server's clock forward over midnight and back again.
FAKETIME_DONT_FAKE_MONOTONIC=1 leaves CLOCK_MONOTONIC real: seqd's
timeouts (segment.wait_ms, libevent's timers) keep working while the wall
clock jumps.

* file store: `HSET daily type 4 prefix %y%m%d length 4` gives 2612020001,
  2612020002, ...; at midnight the counter restarts (2612030001) and the
  numbers still buffered for the ended day are counted in `wasted`; the
  clock set back over midnight (00:00:01 -> 23:59:59) keeps serving the new
  day (2612030002: no restart, the old day never comes back); the same
  after a restart with the clock set back. Under load across both jumps:
  no duplicate, and no connection sees the old day after the new one.
* the L digits run out: `-ERR sequence 'tiny' is exhausted until
  2026-12-03T00:00:00+00:00`, and the next day it serves again.
* letters: GET/NEXT/MGET answer bulk strings, INCR refuses (use GET), an
  all-digit type 4 number is an integer for INCR; FeatherID's id is a JSON
  string; INFO name shows the pattern, zone, period, its counter and end.
* `tz Asia/Shanghai` rolls over at 16:00 UTC; an unknown zone is refused.
* MariaDB: test_dated_mysql.py (several nodes on one table, each with its
  own clock).

Environment: SEQD_BIN, SEQD_SRCDIR.
"""
import json
import os
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from seqd import (BIN, Client, Collector, RespError, Seqd, Skip, _running, collected, preload_env,  # noqa: E402
                  free_port, parse_info, run_tests, tmpdir, wait_for, wait_port)

FAKETIME_LIBS = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
                 "/usr/lib/faketime/libfaketimeMT.so.1"]
FAKETIME_LIB = next((p for p in FAKETIME_LIBS if os.path.exists(p)), None)

DAY1 = "2026-12-02"
DAY2 = "2026-12-03"


class Clock:
    """The wall clock of the servers started with it: an absolute UTC time
    in a file that libfaketime reads on every call."""

    def __init__(self, when):
        self.path = os.path.join(tmpdir("seqd-clock-"), "faketime")
        self.set(when)

    def set(self, when):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(when + "\n")
        os.rename(tmp, self.path)

    def env(self):
        env = dict(os.environ)
        env.update(preload_env(FAKETIME_LIB))
        env.update(FAKETIME_TIMESTAMP_FILE=self.path, FAKETIME_NO_CACHE="1", FAKETIME_DONT_FAKE_MONOTONIC="1",
                   TZ="UTC")
        return env


class ClockedSeqd(Seqd):
    """A Seqd whose wall clock is a Clock's."""

    def __init__(self, clock, **kw):
        super().__init__(**kw)
        self.clock = clock

    def start(self, timeout=10.0):
        import subprocess
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BIN, "-c", self.config_path] + self.extra_args, env=self.clock.env(),
                                     stdout=self._log, stderr=subprocess.STDOUT)
        _running.append(self)
        if not wait_port(self.port, timeout, self.proc):
            raise RuntimeError("seqd did not start on port %d:\n%s" % (self.port, self.log()))
        return self


def need_faketime():
    if FAKETIME_LIB is None:
        raise Skip("libfaketime is not installed")


def info_of(c, name):
    text = c.command("INFO", name)
    assert not isinstance(text, RespError), "INFO %s: %s" % (name, text)
    return parse_info(text)


def settled(c, name):
    """INFO name once no claim is in flight (a prefetch has landed)."""
    return wait_for(lambda: (lambda i: i if i["claim_in_flight"] == "0" else None)(info_of(c, name)),
                    10, "no claim in flight for %s" % name)


def left(info, key):
    v = info[key]
    return 0 if v == "none" else int(v.rsplit("left ", 1)[1])


def hset(c, name, *fields):
    r = c.command("HSET", name, *fields)
    assert r == 1, "HSET %s %s: %r" % (name, fields, r)


def test_daily_rolls_over_and_never_goes_back():
    need_faketime()
    clock = Clock(DAY1 + " 23:59:58")
    s = ClockedSeqd(clock, config={"segment": {"duration_s": 900}}).start()
    c = Client(s.port)
    hset(c, "daily", "type", "4", "prefix", "%y%m%d", "length", "4", "segment", "10")
    got = [c.command("GET", "daily") for _ in range(3)]
    assert got == ["2612020001", "2612020002", "2612020003"], got
    assert c.command("NEXT", "daily", 2) == ["2612020004", "2612020005"]
    i = settled(c, "daily")
    assert i["period"] == DAY1 + "T00:00:00+00:00" and i["period_ends"] == DAY2 + "T00:00:00+00:00", i
    assert i["period_counter"] == "4" and i["current"] == "2612020005", i
    buffered = left(i, "segment_current") + left(i, "segment_next")
    assert buffered > 0 and i["wasted"] == "0", i

    # Midnight: the counter restarts; what was buffered for day 1 is wasted.
    clock.set(DAY2 + " 00:00:01")
    assert c.command("GET", "daily") == "2612030001"
    i = info_of(c, "daily")
    assert int(i["wasted"]) == buffered, "wasted %s, buffered %d" % (i["wasted"], buffered)
    assert i["period"] == DAY2 + "T00:00:00+00:00" and i["periods"] == "2", i

    # The clock goes back over midnight: day 2 goes on, day 1 never returns.
    clock.set(DAY1 + " 23:59:59")
    assert c.command("GET", "daily") == "2612030002"
    assert c.command("INCR", "daily") == 2612030003
    c.close()

    # A restart with the clock still behind: the row is in day 2 already.
    assert s.stop() == 0
    clock.set(DAY1 + " 23:59:50")
    s.start()
    c = Client(s.port)
    n = c.command("GET", "daily")
    assert n == "2612030004", "after a restart with the clock behind: %r" % n
    c.close()
    assert s.stop() == 0


def test_no_duplicate_under_load_across_both_jumps():
    need_faketime()
    clock = Clock(DAY1 + " 23:59:59")
    s = ClockedSeqd(clock).start()
    c = Client(s.port)
    hset(c, "load", "type", "4", "prefix", "%y%m%d", "length", "6", "segment", "50")
    stop = threading.Event()
    cols = [Collector(s.port, ["load"], stop, start_at=k, pipeline=8, deadline=time.monotonic() + 60)
            for k in range(3)]
    for col in cols:
        col.start()
    wait_for(lambda: collected(cols) >= 2000, 20, "2000 numbers of day 1")
    clock.set(DAY2 + " 00:00:01")
    wait_for(lambda: any(v // 1000000 == 261203 for col in cols for v in col.numbers()), 20,
             "numbers of day 2")
    mark = collected(cols)
    wait_for(lambda: collected(cols) >= mark + 2000, 20, "2000 more numbers of day 2")
    clock.set(DAY1 + " 23:59:59")                      # back over midnight
    mark = collected(cols)
    wait_for(lambda: collected(cols) >= mark + 2000, 20, "2000 numbers with the clock set back")
    clock.set(DAY2 + " 00:00:05")
    mark = collected(cols)
    wait_for(lambda: collected(cols) >= mark + 1000, 20, "1000 more numbers")
    stop.set()
    for col in cols:
        col.join(30)
        assert not col.is_alive() and col.exc is None, col.exc
        assert not col.errors, col.errors[:3]
    everything = [v for col in cols for v in col.numbers()]
    assert len(everything) == len(set(everything)), "%d duplicates" % (len(everything) - len(set(everything)))
    day1 = sorted(v for v in everything if v // 1000000 == 261202)
    day2 = sorted(v for v in everything if v // 1000000 == 261203)
    assert len(day1) + len(day2) == len(everything) and day1 and day2
    # On every connection, once day 2 was seen day 1 never comes back.
    for col in cols:
        for nums in col.got.values():
            seen2 = False
            for v in nums:
                if v // 1000000 == 261203:
                    seen2 = True
                assert not (seen2 and v // 1000000 == 261202), "day 1 after day 2 on one connection"
    # Day 2 counted from 1, never restarting (no duplicate above, and
    # nothing below the restart: its smallest number is the first).
    assert day2[0] == 261203000001, day2[0]
    i = info_of(c, "load")
    assert int(i["wasted"]) > 0 and i["periods"] == "2", i
    print("dated under load: %d numbers (%d of day 1, %d of day 2), 0 duplicates, 3 clock jumps"
          % (len(everything), len(day1), len(day2)))
    c.close()
    assert s.stop() == 0


def test_exhausted_until_the_next_period():
    need_faketime()
    clock = Clock(DAY1 + " 12:00:00")
    s = ClockedSeqd(clock).start()
    c = Client(s.port)
    hset(c, "tiny", "type", "4", "prefix", "%y%m%d", "length", "1", "segment", "4")
    got = [c.command("GET", "tiny") for _ in range(9)]
    assert got == ["261202%d" % k for k in range(1, 10)], got
    r = c.command("GET", "tiny")
    assert isinstance(r, RespError) and r == "ERR sequence 'tiny' is exhausted until 2026-12-03T00:00:00+00:00", r
    hset(c, "hourly", "type", "4", "prefix", "%Y%m%d%H", "length", "1", "starting", "8", "tz", "Asia/Shanghai")
    assert c.command("NEXT", "hourly", 2) == ["20261202208", "20261202209"]
    r = c.command("GET", "hourly")
    assert r == "ERR sequence 'hourly' is exhausted until 2026-12-02T21:00:00+08:00", r
    clock.set(DAY2 + " 00:00:00")
    assert c.command("GET", "tiny") == "2612031"
    assert c.command("GET", "hourly") == "20261203088"
    c.close()
    assert s.stop() == 0


def test_letters_get_and_incr_and_doors():
    need_faketime()
    clock = Clock(DAY1 + " 08:00:00")
    http_port = free_port()
    s = ClockedSeqd(clock, config={"http": {"bind": "127.0.0.1", "port": http_port}}).start()
    c = Client(s.port)
    hset(c, "ord", "type", "4", "prefix", "ORD%Y%m%d", "length", "3", "step", "5", "starting", "0")
    hset(c, "inc", "type", "3")
    hset(c, "id1", "type", "4", "prefix", "%1y%m%d", "length", "4")
    r = c.command("INCR", "ord")
    assert r == "ERR sequence 'ord' has numbers that are not integers: use GET", r
    assert c.command("GET", "ord") == "ORD20261202005"
    assert c.command("NEXT", "ord", 2) == ["ORD20261202010", "ORD20261202015"]
    assert c.command("MGET", "inc", "ord", "id1") == ["1", "ORD20261202020", "612020001"]
    # id_server's %01d%02d%02d%04d: all digits, an integer for INCR.
    assert c.command("INCR", "id1") == 612020002
    assert c.command("INCRBY", "id1", 1) == 612020003
    assert c.command("GET", "inc") == "2"              # type 3 unchanged
    assert c.command("INCR", "inc") == 3
    i = info_of(c, "ord")
    assert (i["type"], i["kind"], i["prefix"], i["tz"], i["period_unit"]) == \
        ("4", "dated", "ORD%Y%m%d", "UTC", "day"), i
    assert i["current"] == "ORD20261202020" and i["period_counter"] == "4", i
    body = json.loads(urllib.request.urlopen("http://127.0.0.1:%d/api/v1/id?biz_tag=ord" % http_port,
                                             timeout=10).read())
    assert body["data"]["id"] == "ORD20261202025", body
    body = json.loads(urllib.request.urlopen("http://127.0.0.1:%d/api/v1/id?biz_tag=inc" % http_port,
                                             timeout=10).read())
    assert body["data"]["id"] == 4, body               # integers stay JSON numbers
    leaf = urllib.request.urlopen("http://127.0.0.1:%d/api/segment/get/ord" % http_port, timeout=10).read()
    assert leaf == b"ORD20261202030", leaf
    c.close()
    assert s.stop() == 0


def test_shanghai_rolls_at_1600_utc():
    need_faketime()
    clock = Clock(DAY1 + " 15:59:59")
    s = ClockedSeqd(clock).start()
    c = Client(s.port)
    hset(c, "sh", "type", "4", "prefix", "%y%m%d", "length", "4", "tz", "Asia/Shanghai")
    hset(c, "utc", "type", "4", "prefix", "%y%m%d", "length", "4")
    assert c.command("GET", "sh") == "2612020001"
    clock.set(DAY1 + " 16:00:00")
    assert c.command("GET", "sh") == "2612030001"
    assert c.command("GET", "utc") == "2612020001"     # UTC's day goes on
    i = info_of(c, "sh")
    assert i["period"] == DAY2 + "T00:00:00+08:00" and i["period_ends"] == "2026-12-04T00:00:00+08:00", i
    r = c.command("HSET", "mars", "type", "4", "prefix", "%y%m%d", "length", "4", "tz", "Mars/Olympus_Mons")
    assert isinstance(r, RespError) and "unknown time zone 'Mars/Olympus_Mons'" in r, r
    assert c.command("EXISTS", "mars") == 0
    c.close()
    assert s.stop() == 0


if __name__ == "__main__":
    run_tests([
        test_daily_rolls_over_and_never_goes_back,
        test_no_duplicate_under_load_across_both_jumps,
        test_exhausted_until_the_next_period,
        test_letters_get_and_incr_and_doors,
        test_shanghai_rolls_at_1600_utc,
    ])
