#!/usr/bin/env python3
"""chaos.py: a chaos soak of three seqd nodes on one private MariaDB.

Usage: contrib/chaos.py [DURATION_S]     (default 600; contrib/chaos.sh runs it)

Starts a private MariaDB server (tests/lib/mariadb.py: its own data dir,
socket and loopback port) behind a small TCP proxy that can cut a claim's
COMMIT (tests/lib/faults.py: CommitCutter), and three seqd nodes on it,
each under libfaketime with a clock of its own (an offset in a file the
library reads on every call; CLOCK_MONOTONIC stays real). One sequence of
every kind is made, plus a row inserted by SQL the Leaf way:

  k1 type 1 (random, 10 digits)     k2 type 2 (12 digits)   k3 type 3
  k4 type 4 (%y%m%d%H, an hour's period)  k5 type 5 (snowflake)  krow (SQL)

Client threads take pipelined GETs of every sequence through every node
in turn, keeping every number they receive; they reconnect when a
connection breaks and ask again after -TRYAGAIN. Meanwhile a driver
injects a random fault every 2 to 6 s until 30 s before the end:

  * SIGKILL of a node (down 0.1 to 2 s), SIGTERM of a node (a graceful
    stop, giving back), each restarted on its port;
  * MariaDB stopped and started, killed (SIGKILL) and started (crash
    recovery), frozen (SIGSTOP) for 1 to 4 s and thawed, frozen and
    then killed;
  * windows of a few seconds in which the proxy cuts 5% of the COMMITs,
    half before the server sees them (it rolls back), half after (it
    commits; the node cannot know);
  * a node's clock moved by -4 to +4 s (backwards too), and once during
    the run one node's clock moved an hour ahead, where it stays to the
    end (type 4 starts a new period there and the others follow it
    through the row; type 5 ids of that node come from the future).

The last 30 s are quiet: every client must get numbers again. Then the
checker goes over the whole history:

  * every number unique per sequence, across nodes, restarts and faults;
  * on every connection, types 2, 3, 4 and 5 strictly increasing (each
    node serves its own segments in order; a type 4 number's period
    prefix only grows; type 5 ids grow with the clock, which waits when
    it is behind);
  * for types 2 and 3, no counter at or above the row's max_id;
  * every request accounted for: numbers + -TRYAGAIN + other error
    replies + requests lost with a broken connection = requests sent,
    and no error reply other than -TRYAGAIN.

It prints the faults injected and the figures, as markdown to paste into
docs/reliability.md. Exit status 0 when every check held, 1 when one
failed. Everything listens on 127.0.0.1; everything started is stopped
on exit. Builds nothing: it runs $SEQD_BIN, else build/src/seqd of this
checkout, else src/seqd. Needs mariadb-server, libfaketime (Debian's
faketime package) and python3.
"""
import os
import random
import signal
import sys
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
os.environ.setdefault("SEQD_SRCDIR", TOP)   # seqd.py's BIN: $SEQD_BIN, else build/src/seqd, else src/seqd

import seqd as harness  # noqa: E402
from faults import CommitCutter, start_node  # noqa: E402
from mariadb import MariaDB  # noqa: E402
from seqd import (Client, Collector, Seqd, duplicates, get_with_retry, join_collectors,  # noqa: E402
                  order_violations, stop_all, tmpdir, wait_for)

FAKETIME_LIBS = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
                 "/usr/lib/faketime/libfaketimeMT.so.1"]
FAKETIME_LIB = next((p for p in FAKETIME_LIBS if os.path.exists(p)), None)

QUIET_S = 30            # the end without faults
CUT_RATE = 0.05         # share of COMMITs cut in a cutting window
CLIENTS = 6
PIPELINE = 12

# name -> (HSET fields, or None for a row inserted by SQL; kind; number -> store counter or None)
SEQS = {
    "k1": (["type", "1", "length", "10", "segment", "80"], 1, None),
    "k2": (["type", "2", "length", "12", "segment", "100"], 2, lambda v: v - 10 ** 11),
    "k3": (["type", "3", "segment", "50"], 3, lambda v: v - 1),
    "k4": (["type", "4", "prefix", "%y%m%d%H", "length", "6", "segment", "40"], 4, None),
    "k5": (["type", "5"], 5, None),
    "krow": (None, 3, lambda v: v),
}
INCREASING = (2, 3, 4, 5)


class NodeClock:
    """One node's wall clock: an offset from the real one in a file that
    libfaketime reads on every call."""

    def __init__(self):
        self.path = os.path.join(tmpdir("seqd-chaos-clock-"), "faketime")
        self.offset = 0
        self.set(0)

    def set(self, seconds):
        self.offset = seconds
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write("%+d\n" % seconds)
        os.rename(tmp, self.path)

    def env(self):
        env = dict(os.environ)
        env.update(harness.preload_env(FAKETIME_LIB))
        env.update(FAKETIME_TIMESTAMP_FILE=self.path, FAKETIME_NO_CACHE="1",
                   FAKETIME_DONT_FAKE_MONOTONIC="1", TZ="UTC")
        return env


class Driver(threading.Thread):
    """Injects random faults until `until` (time.monotonic()); records them."""

    def __init__(self, db, proxy, nodes, clocks, until, seed):
        super().__init__(daemon=True)
        self.db, self.proxy, self.nodes, self.clocks = db, proxy, nodes, clocks
        self.until = until
        self.rng = random.Random(seed)
        self.done = {}
        self.exc = None
        self.t0 = time.monotonic()
        self.hour_jump_at = self.t0 + (until - self.t0) * self.rng.uniform(0.3, 0.6)
        self.hour_jumped = False
        self.hour_node = None             # the node an hour ahead, once one is

    def note(self, kind, what):
        self.done[kind] = self.done.get(kind, 0) + 1
        print("  %6.1f s  %s" % (time.monotonic() - self.t0, what), flush=True)

    def run(self):
        try:
            while time.monotonic() < self.until:
                # The pause between faults is part of the schedule.
                time.sleep(self.rng.uniform(2, 6))
                if time.monotonic() >= self.until:
                    break
                if not self.hour_jumped and time.monotonic() >= self.hour_jump_at:
                    i = self.rng.randrange(len(self.nodes))
                    self.clocks[i].set(3600)
                    self.hour_jumped = True
                    self.hour_node = i
                    self.note("clock moved an hour ahead", "node %d's clock moved an hour ahead" % i)
                    continue
                self.one_fault()
        except Exception as e:  # noqa: BLE001 - reported by main
            self.exc = e
        finally:
            self.proxy.rate = 0.0
            if self.db.proc is not None:
                self.db.thaw()

    def restart_node(self, i):
        start_node(self.nodes[i], within=60)

    def one_fault(self):
        rng, db = self.rng, self.db
        what = rng.choices(["kill", "term", "db_stop", "db_kill", "db_freeze", "db_freeze_kill", "cut",
                            "clock"], weights=[4, 2, 1, 1, 2, 1, 3, 3])[0]
        i = rng.randrange(len(self.nodes))
        if what == "kill":
            self.nodes[i].kill()
            self.note("seqd SIGKILL", "SIGKILL node %d" % i)
            time.sleep(rng.uniform(0.1, 2))          # down a while: the fault
            self.restart_node(i)
        elif what == "term":
            self.nodes[i].stop(timeout=60)
            self.note("seqd SIGTERM", "SIGTERM node %d (graceful stop)" % i)
            self.restart_node(i)
        elif what == "db_stop":
            db.stop()
            self.note("mariadb stop/start", "MariaDB stopped")
            time.sleep(rng.uniform(1, 3))
            db.start()
        elif what == "db_kill":
            db.kill()
            self.note("mariadb SIGKILL/start", "MariaDB killed (SIGKILL)")
            time.sleep(rng.uniform(0.5, 2))
            db.start()
        elif what == "db_freeze":
            db.freeze()
            self.note("mariadb freeze", "MariaDB frozen (SIGSTOP)")
            time.sleep(rng.uniform(1, 4))
            db.thaw()
        elif what == "db_freeze_kill":
            db.freeze()
            time.sleep(rng.uniform(1, 3))
            db.kill()
            self.note("mariadb freeze, then SIGKILL", "MariaDB frozen, then killed")
            time.sleep(1)
            db.start()
        elif what == "cut":
            self.proxy.rate = CUT_RATE
            self.note("COMMIT-cutting window", "the proxy cuts %d%% of the COMMITs" % (CUT_RATE * 100))
            time.sleep(rng.uniform(2, 5))
            self.proxy.rate = 0.0
        else:
            offset = rng.randint(-4, 4)
            if i == self.hour_node:
                offset += 3600            # the node an hour ahead stays there
                                          # (not "offset >= 3600": -4 s from it is still ahead)
            self.clocks[i].set(offset)
            self.note("clock moved", "node %d's clock set to %+d s" % (i, offset))


def node_config(db, proxy):
    return {"log": {"level": "notice"},
            "store": db.store_config(port=proxy.port, rescan_s=1, connect_timeout_s=2, rw_timeout_s=2),
            "segment": {"max": 200, "default": 100, "wait_ms": 1000}}


def check(clients, nodes, db, final):
    """The checks over the whole history: (lines to print, problems)."""
    lines, problems = [], []
    for name, (_, kind, to_counter) in SEQS.items():
        per_conn = [(k, nums) for c in clients for (cid, k, n), nums in c.got.items() if n == name]
        allnums = [v for _, nums in per_conn for v in nums] + [v for _, v in final.get(name, [])]
        twice = duplicates(allnums)
        if twice:
            problems.append("%s: %d duplicates, e.g. %r" % (name, len(twice), twice[:5]))
        if kind in INCREASING:
            problems += order_violations(name, per_conn)
        top = "-"
        if to_counter is not None:
            max_id = int(db.rows("SELECT max_id FROM seqd_segments WHERE biz_tag = '%s'" % name)[0][0])
            hi = max((to_counter(v) for v in allnums), default=-1)
            top = "highest counter %d < max_id %d" % (hi, max_id)
            if hi >= max_id:
                problems.append("%s: counter %d served but max_id is %d" % (name, hi, max_id))
        lines.append("| %s | %d | %d | %d | %s |" % (name, kind, len(allnums), len(twice), top))
    return lines, problems


def main():
    duration = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("DURATION", "600"))
    if duration < QUIET_S + 30:
        sys.exit("chaos.py: a duration of at least %d s, please" % (QUIET_S + 30))
    if FAKETIME_LIB is None:
        sys.exit("chaos.py: libfaketime is not installed (apt-get install faketime)")
    seed = int(os.environ.get("SEED", str(int(time.time()))))
    print("chaos: %d s, seed %d, seqd %s" % (duration, seed, harness.BIN), flush=True)
    db = MariaDB()
    db.start()
    proxy = CommitCutter(db.port)
    proxy.start()
    nodes, clients = [], []
    stop = threading.Event()
    failed = True
    try:
        clocks = [NodeClock() for _ in range(3)]
        for clock in clocks:
            node = Seqd(config=node_config(db, proxy), store="mysql")
            node.env = clock.env()
            nodes.append(node.start(timeout=30))
        for i, (name, (fields, _, _)) in enumerate(SEQS.items()):
            if fields is None:
                db.sql("INSERT INTO seqd_segments (biz_tag, max_id, step) VALUES ('%s', 1, 60)" % name)
            else:
                c = Client(nodes[i % 3].port)
                r = c.command("HSET", name, *fields)
                c.close()
                assert r == 1, "HSET %s: %r" % (name, r)
        clients = [Collector([n.port for n in nodes], list(SEQS), stop, pipeline=PIPELINE, start_at=i,
                             pause=0.004, retry_pause=0.03, timeout=20) for i in range(CLIENTS)]
        t0 = time.monotonic()
        for c in clients:
            c.start()
        print("faults:", flush=True)
        driver = Driver(db, proxy, nodes, clocks, t0 + duration - QUIET_S, seed)
        driver.start()
        driver.join(duration + 600)
        assert not driver.is_alive(), "the fault driver did not finish"
        assert driver.exc is None, "fault driver: %r" % driver.exc
        driver.done["connection cut before COMMIT"] = proxy.cuts["before"]
        driver.done["connection cut after COMMIT"] = proxy.cuts["after"]
        # The quiet end: everything works again without help.
        t_quiet = time.monotonic()
        late = []
        try:
            wait_for(lambda: all(c.last_number_at > t_quiet for c in clients), QUIET_S - 5,
                     "every client gets numbers again after the faults")
        except AssertionError:
            late = [c.start_at for c in clients if c.last_number_at <= t_quiet]
        rest = t0 + duration - time.monotonic()
        if rest > 0:
            time.sleep(rest)          # the rest of the quiet end, under load
        stop.set()
        join_collectors(clients, timeout=60)
        elapsed = time.monotonic() - t0

        final = {}
        gone = []
        for i, node in enumerate(nodes):
            if node.proc.poll() is not None:
                gone.append(i)
                continue
            for name in SEQS:
                v = get_with_retry(node.port, name, 30)
                if isinstance(v, int):
                    final.setdefault(name, []).append((i, v))
                else:
                    late.append("node %d GET %s at the end: %r" % (i, name, v))
        lines, problems = check(clients, nodes, db, final)

        requests = sum(c.requests for c in clients)
        numbers = sum(c.count for c in clients)
        tryagain = sum(c.tryagain for c in clients)
        errors = [e for c in clients for e in c.errors if not (isinstance(e[3], str) and
                                                              e[3].startswith("TRYAGAIN"))]
        lost = sum(n for c in clients for (_, _, n, _) in c.losses)
        breaks = sum(len(c.losses) for c in clients)
        refused = sum(c.connect_failures for c in clients)
        thrown = sum(n.log().count("outcome unknown") for n in nodes)
        accounted = numbers + tryagain + len(errors) + lost
        if accounted != requests:
            problems.append("requests %d, but numbers + TRYAGAIN + errors + lost = %d" % (requests, accounted))
        if errors:
            problems.append("%d error replies other than -TRYAGAIN, e.g. %r" % (len(errors), errors[:3]))
        if gone:
            problems.append("nodes %r exited" % gone)
        if late:
            problems.append("not serving again in the quiet end: %r" % late[:5])
        for c in clients:
            if c.exc:
                problems.append("client %d: %r" % (c.start_at, c.exc))

        print()
        print("## Chaos soak: %d s, seed %d, %s" % (duration, seed, time.strftime("%Y-%m-%d")))
        print()
        print("| fault | times |")
        print("| --- | --- |")
        for kind, n in sorted(driver.done.items()):
            print("| %s | %d |" % (kind, n))
        print()
        print("| sequence | type | numbers checked | duplicates | counters (types 2, 3) |")
        print("| --- | --- | --- | --- | --- |")
        print("\n".join(lines))
        print()
        print("requests %d in %.0f s by %d clients over 3 nodes: %d numbers, %d -TRYAGAIN (asked again), "
              "%d other error replies, %d lost with %d broken connections, %d connects refused; claims "
              "thrown away (outcome unknown): %d; COMMITs seen by the proxy: %d"
              % (requests, elapsed, CLIENTS, numbers, tryagain, len(errors), lost, breaks, refused, thrown,
                 proxy.commits))
        print()
        if problems:
            print("FAILED: %d problems" % len(problems))
            for p in problems[:20]:
                print("  " + p)
        else:
            print("every check held: no number twice, every connection increasing where the kind "
                  "promises it, every request accounted for")
        failed = bool(problems)
    finally:
        stop.set()
        if db.proc is not None:
            db.thaw()
        try:
            stop_all(nodes, 60)
        finally:
            proxy.stop()
            db.close()
            harness.remove_tmpdirs()
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    sys.exit(main())
