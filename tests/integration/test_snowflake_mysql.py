#!/usr/bin/env python3
"""test_snowflake_mysql: type 5 worker leases on a private MariaDB.

* two (three) live nodes lease different worker ids from seqd_workers, and
  their ids under load have no duplicates;
* a node frozen (SIGSTOP) past its lease stops issuing: after SIGCONT it
  never issues with the old lease (its first ids carry a new generation's
  lease, seen in seqd_workers), while another node that started during the
  freeze took its worker id over once the lease had expired;
* a lease whose holder died (kill -9) is taken over after its expiry plus
  the skew allowance, by the lowest free id rule;
* with "id_step": 2, "id_offset": 1 (a database of its own, whose
  seqd_workers has free rows for the even ids 0 and 2) two nodes lease only
  odd worker ids (a new row, then a released one taken again with the next
  generation), and every id of theirs carries an odd worker id;
* a free worker id whose reservation lies an hour ahead (left by a node
  whose clock ran fast) is passed over for one this node can use now: its
  type 5 ids come at once, not after an hour of TRYAGAIN.

Environment: SEQD_BIN, SEQD_SRCDIR.
"""
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from mariadb import MariaDB, repo_root  # noqa: E402
from seqd import Client, RespError, Seqd, check, eq, run_tests, wait_for  # noqa: E402

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


def test_id_step_leases_only_worker_ids_of_the_offset():
    db = "seqd_odd"                   # its own tables: the segments table records the pair
    DB.sql("CREATE DATABASE %s; GRANT ALL PRIVILEGES ON %s.* TO '%s'@'127.0.0.1';" % (db, db, DB.user),
           database="")
    DB.load(os.path.join(repo_root(), "sql", "schema.sql"), database=db)
    # Free even ids: a lease that ignored id_step would take 0 first.
    DB.sql("INSERT INTO seqd_workers (worker_id, holder, generation) VALUES (0, 'old', 4), (2, 'old', 9)",
           database=db)

    def odd_node():
        return Seqd({"id_step": 2, "id_offset": 1, "segment": {"wait_ms": 500},
                     "store": DB.store_config(database=db, rescan_s=1, worker_lease_ms=LEASE_MS)},
                    store="mysql").start()

    def leases():
        return {int(r[0]): int(r[1]) for r in
                DB.rows("SELECT worker_id, generation FROM seqd_workers WHERE lease_until_ms > 0", db)}

    a, b = odd_node(), odd_node()
    c = None
    try:
        a.cli("HSET", "sfodd", "type", "5")
        got = []
        for n in (a, b):
            cl = Client(n.port)
            got += [int(x) for x in take(cl, 300, "sfodd")] + [int(x) for x in cl.command("NEXT", "sfodd", "2000")]
            cl.close()
        eq({int(a.info("sfodd")["worker_id"]), int(b.info("sfodd")["worker_id"])}, {1, 3}, "worker ids")
        eq(leases(), {1: 1, 3: 1}, "leased rows (worker id: generation)")
        check(all(worker_of(i) % 2 == 1 for i in got), "an id with an even worker id")
        # A released odd row is taken again with the next generation; the free
        # even rows stay untouched.
        wa = int(a.info("sfodd")["worker_id"])
        a.stop()
        c = odd_node()
        eq(int(c.info("sfodd")["worker_id"]), wa, "the released worker id taken again")
        eq(leases(), {1: 2, 3: 1}, "leased rows after the restart")
        cl = Client(c.port)
        got += [int(x) for x in take(cl, 300, "sfodd")]
        cl.close()
        eq({worker_of(i) for i in got}, {1, 3}, "worker ids in the ids")
        eq(len(got), len(set(got)), "distinct ids")
        eq(DB.rows("SELECT worker_id, generation, lease_until_ms FROM seqd_workers WHERE worker_id % 2 = 0", db),
           [["0", "4", "0"], ["2", "9", "0"]], "the even rows")
        print("  %d ids, worker ids 1 and 3 only, 0 duplicates" % len(got), flush=True)
    finally:
        for n in (a, b, c):
            if n:
                n.stop()


def test_an_id_reserved_far_ahead_is_passed_over():
    db = "seqd_ahead"                 # its own seqd_workers
    DB.sql("CREATE DATABASE %s; GRANT ALL PRIVILEGES ON %s.* TO '%s'@'127.0.0.1';" % (db, db, DB.user),
           database="")
    DB.load(os.path.join(repo_root(), "sql", "schema.sql"), database=db)
    hour_ahead = int(time.time() * 1000) + 3600 * 1000
    # Worker id 0 is free (its lease ended) but reserved an hour ahead.
    DB.sql("INSERT INTO seqd_workers (worker_id, holder, generation, lease_until_ms, reserved_ms) "
           "VALUES (0, 'fast clock', 3, 0, %d)" % hour_ahead, database=db)
    n = Seqd({"segment": {"wait_ms": 500},
              "store": DB.store_config(database=db, rescan_s=1, worker_lease_ms=LEASE_MS)}, store="mysql").start()
    try:
        n.cli("HSET", "sfahead", "type", "5")
        t0 = time.monotonic()
        r = n.cli("GET", "sfahead")
        check(str(r).isdigit(), "a type 5 id at once, not %r" % (r,))
        check(time.monotonic() - t0 < 2, "no wait for the hour-ahead reservation")
        check(worker_of(int(r)) != 0, "the id reserved an hour ahead was passed over")
        eq(DB.rows("SELECT generation, reserved_ms FROM seqd_workers WHERE worker_id = 0", db),
           [["3", str(hour_ahead)]], "worker id 0's row untouched")
    finally:
        n.stop()


def main():
    global DB
    DB = MariaDB()
    DB.start()
    try:
        run_tests([
            test_live_nodes_never_share_a_worker_id_no_duplicates,
            test_frozen_node_stops_and_its_lease_is_taken_over,
            test_dead_nodes_lease_is_taken_over_after_expiry,
            test_id_step_leases_only_worker_ids_of_the_offset,
            test_an_id_reserved_far_ahead_is_passed_over,
        ])
    finally:
        DB.close()


if __name__ == "__main__":
    main()
