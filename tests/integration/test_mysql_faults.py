#!/usr/bin/env python3
"""test_mysql_faults: no duplicate number, whatever fails.

Three seqd nodes on one private MariaDB table, small segments (50..200, so
claims are always in flight), and client threads that keep taking
pipelined GETs of types 3, 2, 1 and a row inserted by hand through all
nodes, keeping every number they receive. They reconnect when a
connection breaks, retry on -TRYAGAIN and count both. Meanwhile a fault
schedule (about 50 s) injects:

* SIGKILL of seqd nodes 0 and 1 (several times, once both at once, once
  while MariaDB is down: that node comes back after MariaDB does), each
  restarted on its port;
* MariaDB stopped and started again (graceful), and killed with SIGKILL
  (crash recovery);
* MariaDB frozen (SIGSTOP) for a few seconds, then thawed: claims in
  flight time out with an unknown outcome;
* connections cut exactly at a claim's COMMIT: the nodes reach MariaDB
  through a small TCP proxy that, for a few percent of COMMITs, either
  drops the COMMIT and closes the connection (the server rolls back) or
  forwards it and closes the connection before the answer comes back (the
  server commits). Either way the node cannot know the outcome and must
  throw the range away: serving it after a rolled-back COMMIT would hand
  out numbers another node claims next.

Node 2 is never restarted: it must recover from every MariaDB fault by
itself. At the end every node answers GET for every sequence, no number
was handed out twice (per sequence, across all nodes, runs and faults),
each connection saw a type 2/3 sequence strictly increase, no counter is
at or above the row's max_id, and the only error replies were -TRYAGAIN.
The figures (numbers checked, faults by kind, duplicates, failed and
retried requests, claims thrown away) are printed.

Environment: SEQD_BIN, SEQD_SRCDIR; SEQD_FAULT_SCALE (multiplies the
schedule's times, default 1).
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from faults import CommitCutter, start_node  # noqa: E402
from mariadb import MariaDB  # noqa: E402
from seqd import (Client, Collector, Seqd, duplicates, error_replies, get_with_retry,  # noqa: E402
                  info, join_collectors, order_violations, run_tests, stop_all, wait_for)

SCALE = float(os.environ.get("SEQD_FAULT_SCALE", "1"))
PIPELINE = 20
CLIENTS = 6
DB = None

# name -> (HSET fields or None for a row inserted by hand, kind, number -> counter)
SEQS = {
    "f3": (["type", "3", "starting", "1", "segment", "50"], 3, lambda v: v - 1),
    "f2": (["type", "2", "length", "12", "segment", "100"], 2, lambda v: v - 10 ** 11),
    "f1": (["type", "1", "length", "10", "segment", "80"], 1, None),
    "frow": (None, 3, lambda v: v),
}


CUT_RATE = 0.03            # share of claim COMMITs cut by the proxy while it cuts
PROXY = None


def node_config():
    return {"store": DB.store_config(port=PROXY.port, rescan_s=1, connect_timeout_s=2, rw_timeout_s=2),
            "segment": {"max": 200, "default": 100, "wait_ms": 1000}}


class Faults(threading.Thread):
    """Runs the fault schedule; records what it did."""

    def __init__(self, nodes):
        super().__init__(daemon=True)
        self.nodes = nodes
        self.done = {}            # kind -> count
        self.log = []
        self.exc = None
        self.t0 = None

    def note(self, kind, what):
        self.done[kind] = self.done.get(kind, 0) + 1
        self.log.append("%5.1f s  %s" % (time.monotonic() - self.t0, what))
        print("  fault at %5.1f s: %s" % (time.monotonic() - self.t0, what), flush=True)

    def at(self, t):
        """The schedule: the next fault comes at t s (the point of the test:
        faults land at known moments of the load)."""
        delay = self.t0 + t * SCALE - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def start_node(self, i):
        start_node(self.nodes[i])

    def kill_node(self, i, down_s=0.5):
        self.nodes[i].kill()
        self.note("seqd SIGKILL", "SIGKILL seqd node %d" % i)
        time.sleep(down_s)                 # the node stays down a while: part of the fault
        self.start_node(i)

    def run(self):
        try:
            self._run()
        except Exception as e:  # noqa: BLE001
            self.exc = e

    def _run(self):
        self.t0 = time.monotonic()
        self.at(3)
        self.kill_node(0)
        self.at(7)
        DB.stop()
        self.note("mariadb stop/start", "MariaDB stopped (graceful)")
        # Here and below: how long a fault lasts is the point of the test.
        time.sleep(3 * SCALE)
        DB.start()
        self.note("mariadb back", "MariaDB started again")
        self.at(14)
        self.kill_node(1)
        self.at(18)
        DB.kill()
        self.note("mariadb SIGKILL/start", "MariaDB killed (SIGKILL)")
        time.sleep(2 * SCALE)
        DB.start()
        self.note("mariadb back", "MariaDB started again (crash recovery)")
        self.at(25)
        self.kill_node(0, down_s=0.1)
        self.at(28)
        DB.freeze()
        self.note("mariadb freeze", "MariaDB frozen (SIGSTOP)")
        time.sleep(4 * SCALE)
        DB.thaw()
        self.note("mariadb back", "MariaDB thawed (SIGCONT)")
        self.at(35)
        self.nodes[0].kill()
        self.nodes[1].kill()
        self.note("seqd SIGKILL", "SIGKILL seqd node 0")
        self.note("seqd SIGKILL", "SIGKILL seqd node 1 (at the same time)")
        time.sleep(0.5)                    # both down for a while: the fault
        self.start_node(0)
        self.start_node(1)
        self.at(40)
        # Node 1 dies while MariaDB is down: it can only come back after.
        DB.stop()
        self.note("mariadb stop/start", "MariaDB stopped (graceful)")
        self.nodes[1].kill()
        self.note("seqd SIGKILL", "SIGKILL seqd node 1 (MariaDB down)")
        time.sleep(2 * SCALE)
        DB.start()
        self.note("mariadb back", "MariaDB started again")
        self.start_node(1)
        self.at(46)
        DB.freeze()
        self.note("mariadb freeze", "MariaDB frozen (SIGSTOP)")
        time.sleep(3 * SCALE)
        DB.kill()                  # a hung server that is then killed
        self.note("mariadb SIGKILL/start", "MariaDB killed (SIGKILL) while frozen")
        time.sleep(1 * SCALE)
        DB.start()
        self.note("mariadb back", "MariaDB started again (crash recovery)")
        self.at(52)
        self.kill_node(0, down_s=0.2)


def test_no_duplicate_while_nodes_and_mariadb_fail():
    nodes = []
    stop = threading.Event()
    try:
        cfg = node_config()
        nodes = [Seqd(config=cfg, store="mysql").start() for _ in range(3)]
        for i, (name, (fields, _, _)) in enumerate(SEQS.items()):
            if fields is None:
                DB.sql("INSERT INTO seqd_segments (biz_tag, max_id, step) VALUES ('%s', 1, 60)" % name)
            else:
                c = Client(nodes[i % 3].port)
                assert c.command("HSET", name, *fields) == 1
                c.close()
        node2_pid = nodes[2].proc.pid

        # Through every node in turn, all sequences; a short pause between
        # round trips (a longer one after -TRYAGAIN) paces the load.
        clients = [Collector([n.port for n in nodes], list(SEQS), stop, pipeline=PIPELINE,
                             start_at=i, pause=0.004, retry_pause=0.03, timeout=15)
                   for i in range(CLIENTS)]
        faults = Faults(nodes)
        t0 = time.monotonic()
        PROXY.rate = CUT_RATE
        for c in clients:
            c.start()
        faults.start()
        faults.join(120 * SCALE)
        assert not faults.is_alive(), "the fault schedule did not finish"
        assert faults.exc is None, "fault schedule: %r" % faults.exc
        PROXY.rate = 0.0
        # A quiet end: everything must work again without help. Every
        # client must get numbers again after the last fault, within 6 s.
        t_quiet = time.monotonic()
        wait_for(lambda: all(c.last_number_at > t_quiet for c in clients), 6 * SCALE,
                 "every client gets numbers again after the faults",
                 detail=lambda: "clients without: %r" % [c.start_at for c in clients
                                                          if c.last_number_at <= t_quiet])
        stop.set()
        join_collectors(clients)
        elapsed = time.monotonic() - t0

        # Every node serves every sequence again; node 2 was never restarted.
        final = {}
        for i, node in enumerate(nodes):
            assert node.proc.poll() is None, "node %d exited:\n%s" % (i, node.log()[-1500:])
            for name in SEQS:
                v = get_with_retry(node.port, name, 15)
                assert isinstance(v, int), "node %d GET %s at the end: %r" % (i, name, v)
                final.setdefault(name, []).append((i, v))
        assert nodes[2].proc.pid == node2_pid, "node 2 was restarted"

        total = sum(c.count for c in clients)
        tryagain = sum(c.tryagain for c in clients)
        conn_failures = sum(len(c.losses) for c in clients)
        connect_failures = sum(c.connect_failures for c in clients)
        requests = sum(c.requests for c in clients)
        errors = error_replies(clients, tryagain=False)
        thrown = sum(n.log().count("outcome unknown") for n in nodes)
        late = [c.start_at for c in clients if c.last_number_at < time.monotonic() - 8]

        dups_total = 0
        lines = []
        violations = []
        for name, (_, kind, to_counter) in SEQS.items():
            per_conn = [(k, nums) for c in clients for (cid, k, n), nums in c.got.items() if n == name]
            allnums = [v for _, nums in per_conn for v in nums] + [v for _, v in final[name]]
            twice = duplicates(allnums)
            dups = len(twice)
            dups_total += dups
            if dups:
                lines.append("  %s: duplicates e.g. %r" % (name, twice[:10]))
            max_id = int(DB.rows("SELECT max_id FROM seqd_segments WHERE biz_tag = '%s'" % name)[0][0])
            if kind in (2, 3):
                violations += order_violations(name, per_conn)
                top = max(to_counter(v) for v in allnums)
                if top >= max_id:
                    violations.append("%s: counter %d served but max_id is %d" % (name, top, max_id))
            lines.append("  %-5s type %d: %8d numbers checked, duplicates %d, max_id %d"
                         % (name, kind, len(allnums), dups, max_id))

        faults.done["connection cut before COMMIT"] = PROXY.cuts["before"]
        faults.done["connection cut after COMMIT"] = PROXY.cuts["after"]
        print("faults: %s" % ", ".join("%s x%d" % kv for kv in sorted(faults.done.items())))
        print("claim COMMITs seen by the proxy: %d" % PROXY.commits)
        print("numbers checked: %d in %.0f s by %d clients over 3 nodes; duplicates found: %d"
              % (total, elapsed, CLIENTS, dups_total))
        print("requests: %d sent; %d answered -TRYAGAIN (retried), %d lost to broken connections "
              "(%d events), %d connects refused; other error replies: %d; claims thrown away "
              "(outcome unknown): %d" % (requests, tryagain, requests - total - tryagain - len(errors),
                                         conn_failures, connect_failures, len(errors), thrown))
        print("\n".join(lines + violations[:10]), flush=True)
        assert dups_total == 0, "%d duplicate numbers" % dups_total
        assert not violations, "%d order/range violations, e.g. %s" % (len(violations), violations[0])
        assert not errors, "error replies other than -TRYAGAIN: %r" % errors[:5]
        assert not late, "clients %r got no number in the last 8 s" % late
        assert faults.done.get("seqd SIGKILL", 0) >= 5 and faults.done.get("mariadb freeze", 0) >= 2
        assert PROXY.cuts["before"] >= 5 and PROXY.cuts["after"] >= 5, PROXY.cuts
        # Node 2 ran all along: each claim it threw away shows in INFO's
        # wasted (at least the smallest segment, 50, each).
        thrown2 = nodes[2].log().count("outcome unknown")
        wasted2 = sum(int(info(nodes[2].port, name)["wasted"]) for name in SEQS)
        print("node 2: %d claims thrown away, INFO wasted %d" % (thrown2, wasted2))
        assert wasted2 >= 50 * thrown2, (
            "node 2 threw away %d claims but INFO counts %d wasted" % (thrown2, wasted2))
        assert thrown >= PROXY.cuts["before"], (
            "%d COMMITs were cut but only %d claims were thrown away" % (PROXY.cuts["before"], thrown))
        assert total >= 100000, "only %d numbers" % total
    finally:
        stop.set()
        if DB.proc is not None:
            DB.thaw()
        stop_all(nodes)


def main():
    global DB, PROXY
    DB = MariaDB()
    DB.start()
    PROXY = CommitCutter(DB.port)
    PROXY.start()
    try:
        run_tests([test_no_duplicate_while_nodes_and_mariadb_fail])
    finally:
        PROXY.stop()
        DB.close()


if __name__ == "__main__":
    main()
