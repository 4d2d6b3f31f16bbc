#!/usr/bin/env python3
"""test_snowflake_mysql: type 5 worker leases on a private MariaDB.

* two (three) live nodes lease different worker ids from seqd_workers, and
  their ids under load have no duplicates;
* a node frozen (SIGSTOP) past its lease stops issuing: after SIGCONT it
  never issues with the old lease (its first ids carry a new generation's
  lease, seen in seqd_workers), while another node that started during the
  freeze took its worker id over once the lease had expired;
* a lease whose holder died (kill -9) is taken over after its expiry plus
  the skew allowance, by the lowest free id rule.

Environment: SEQD_BIN, SEQD_SRCDIR.
"""
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from mariadb import MariaDB  # noqa: E402
from seqd import Client, RespError, Seqd, run_tests, wait_for  # noqa: E402

DB = None
LEASE_MS = 3000


def cfg():
    return {"store": DB.store_config(rescan_s=1, worker_lease_ms=LEASE_MS), "segment": {"wait_ms": 500}}


def worker_of(i):
    return (i >> 12) & 1023


def take(c, n, name="sf"):
    c.send(b"".join(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(name), name.encode()) for _ in range(n)))
    return [c.read_reply() for _ in range(n)]


def rows():
    return {int(r[0]): (r[1], int(r[2]), int(r[3])) for r in
            DB.rows("SELECT worker_id, holder, generation, lease_until_ms FROM seqd_workers")}


def test_live_nodes_never_share_a_worker_id_no_duplicates():
    nodes = [Seqd(cfg(), store="mysql").start() for _ in range(3)]
    try:
        nodes[0].cli("HSET", "sf", "type", "5")
        workers = {int(n.info("sf")["worker_id"]) for n in nodes}
        assert len(workers) == 3, workers
        got, lock = [], threading.Lock()

        def load(node):
            c = Client(node.port)
            mine = []
            t_end = time.monotonic() + 2
            while time.monotonic() < t_end:
                mine += [int(x) for x in take(c, 200)]
                r = c.command("NEXT", "sf", "5000")
                mine += [int(x) for x in r]
            c.close()
            with lock:
                got.extend(mine)
        ts = [threading.Thread(target=load, args=(n,)) for n in nodes for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        assert len(got) == len(set(got)), "%d duplicates" % (len(got) - len(set(got)))
        assert {worker_of(i) for i in got} == workers
        print("  %d ids from 3 nodes, 0 duplicates" % len(got), flush=True)
    finally:
        for n in nodes:
            n.stop()


def test_frozen_node_stops_and_its_lease_is_taken_over():
    a = Seqd(cfg(), store="mysql").start()
    b = None
    try:
        a.cli("HSET", "sf2", "type", "5")
        c = Client(a.port)
        before = [int(x) for x in take(c, 100, "sf2")]
        wa = worker_of(before[0])
        gen_a = rows()[wa][1]
        a.signal(signal.SIGSTOP)
        # Past the lease and the skew allowance (2 s), by the DB's clock.
        time.sleep((LEASE_MS + 2000) / 1000 + 0.7)
        b = Seqd(cfg(), store="mysql").start()
        assert int(b.info("sf2")["worker_id"]) == wa, "the expired lease of worker %d was not taken over" % wa
        assert rows()[wa][1] == gen_a + 1
        cb = Client(b.port)
        from_b = [int(x) for x in take(cb, 500, "sf2")]
        a.signal(signal.SIGCONT)
        # a wakes: it must not issue with worker wa's old lease. Whatever it
        # answers (TRYAGAIN while it takes a new lease, then ids), no id
        # repeats, and every id it makes after waking has another worker id.
        after = []
        t_end = time.monotonic() + 8
        while time.monotonic() < t_end and len(after) < 200:
            for r in take(c, 20, "sf2"):
                if isinstance(r, RespError):
                    assert r.startswith("TRYAGAIN"), r
                else:
                    after.append(int(r))
            from_b += [int(x) for x in take(cb, 20, "sf2")]
        assert after, "the woken node never issued again"
        assert all(worker_of(i) != wa for i in after), "the woken node issued with its lost worker id"
        everything = before + after + from_b
        assert len(everything) == len(set(everything)), "duplicates"
        assert "expired or was taken over" in a.log(), a.log_tail()
        cb.close()
        c.close()
    finally:
        a.signal(signal.SIGCONT)
        a.stop()
        if b:
            b.stop()


def test_dead_nodes_lease_is_taken_over_after_expiry():
    a = Seqd(cfg(), store="mysql").start()
    a.cli("HSET", "sf3", "type", "5")
    wa = int(a.info("sf3")["worker_id"])
    a.kill()
    t_kill = time.monotonic()
    # Before expiry + skew a new node gets another id; after, the dead one's.
    b = Seqd(cfg(), store="mysql").start()
    assert int(b.info("sf3")["worker_id"]) != wa
    wait_for(lambda: time.monotonic() - t_kill > (LEASE_MS + 2000) / 1000 + 0.5, 10, "expiry")
    c = Seqd(cfg(), store="mysql").start()
    try:
        assert int(c.info("sf3")["worker_id"]) == wa, "the dead node's worker id was not taken over"
        assert not isinstance(c.cli("GET", "sf3"), RespError)
    finally:
        b.stop()
        c.stop()


def main():
    global DB
    DB = MariaDB()
    DB.start()
    try:
        run_tests([
            test_live_nodes_never_share_a_worker_id_no_duplicates,
            test_frozen_node_stops_and_its_lease_is_taken_over,
            test_dead_nodes_lease_is_taken_over_after_expiry,
        ])
    finally:
        DB.close()


if __name__ == "__main__":
    main()
