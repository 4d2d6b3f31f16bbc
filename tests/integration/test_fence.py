#!/usr/bin/env python3
"""test_fence: a database that loses claims never makes seqd serve a number twice.

One private MariaDB server (tests/lib/mariadb.py). A failover to a replica
that lagged looks to seqd like this: its connections break, the new ones
reach another server, and that server's rows are behind what was served.
Here the "other server" is simulated on the same MariaDB: seqd_meta is made
to name a server that is gone, the rows are set back as a lost window would
have left them, and seqd's connections are killed.

* the server the claims are made on is recorded in seqd_meta at the first
  start, and INFO store shows it with the fence on;
* a simulated failover is fenced: the first node to reconnect moves every
  sequence forward by store.mysql.failover_gap (type 4 rows into the
  current period, type 5 leases fenced by generation), records the new
  server and a line of history, logs FAILOVER and counts it in INFO;
  no number is served twice across it, and a node started afterwards
  serves above it too;
* a row set back by hand on the same server (no failover to notice): the
  node refuses the claims below its high-water mark, says so in INFO
  (refused_claims, last_error) and the log, serves no number twice, and
  serves again once the row has passed the mark; after a SIGKILL and a
  restart the mark is still there and still refuses;
* store.mysql.failover "manual": after a simulated failover nothing is
  served from the new server (-TRYAGAIN naming the manual mode) until an
  operator records 'fence approved'; then the node fences and serves;
* without the seqd_meta table the node serves as before, says in its log
  that a failover would not be noticed, and INFO shows the fence off.

Environment: SEQD_BIN, SEQD_SRCDIR.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from mariadb import MariaDB, repo_root  # noqa: E402
from seqd import Client, RespError, Seqd, cmd, info, run_tests, wait_for, wait_log  # noqa: E402

DB = None
GAP = 1000000
LOST = "mariadb:99@lost-primary:3306"


def node_config(**mysql):
    store = {"rescan_s": 1, "failover_gap": GAP}
    store.update(mysql)
    return {"store": DB.store_config(**store),
            "segment": {"max": 100, "default": 100, "wait_ms": 300}}


def meta(key="claims_server"):
    rows = DB.rows("SELECT meta_value FROM seqd_meta WHERE meta_key = '%s'" % key)
    return rows[0][0] if rows else None


def this_server():
    server_id, host, port = DB.rows("SELECT @@server_id, @@hostname, @@port")[0]
    return "mariadb:%s@%s:%s" % (server_id, host, port)


def kill_seqd_connections():
    """What a failover does to seqd's connections: they break."""
    for (cid,) in DB.rows("SELECT id FROM information_schema.processlist WHERE user = 'seqd'"):
        try:
            DB.sql("KILL %s" % cid)
        except Exception:  # noqa: BLE001 - it may have gone by itself
            pass


def take(port, name, n, out, errors=None, timeout=30.0):
    """n numbers of name through port into out (retrying -TRYAGAIN)."""
    c = Client(port)
    deadline = time.monotonic() + timeout
    try:
        while len(out) < n:
            assert time.monotonic() < deadline, "took %d of %d numbers of %s" % (len(out), n, name)
            r = c.command("GET", name)
            if isinstance(r, RespError):
                assert r.startswith("TRYAGAIN"), r
                if errors is not None:
                    errors.append(str(r))
                time.sleep(0.02)
                continue
            out.append(int(r))
    finally:
        c.close()
    return out


def assert_unique(nums, what):
    dup = len(nums) - len(set(nums))
    assert dup == 0, "%s: %d numbers served twice" % (what, dup)


def reset():
    DB.sql("DELETE FROM seqd_segments WHERE biz_tag <> ''")
    DB.sql("DELETE FROM seqd_meta")


# ---- 1 --------------------------------------------------------------------

def test_server_recorded_at_first_start():
    reset()
    with Seqd(config=node_config(), store="mysql") as node:
        assert meta() == this_server(), (meta(), this_server())
        st = info(node.port, "store")
        assert st["store_server"] == this_server(), st
        assert st["store_failover_fence"] == "on", st
        assert st["store_fences"] == "0", st
        wait_log(node, "recorded " + this_server())


# ---- 2 --------------------------------------------------------------------

def test_failover_is_fenced_and_nothing_served_twice():
    reset()
    with Seqd(config=node_config(), store="mysql") as a:
        assert cmd(a.port, "HSET", "fo", "type", "3", "segment", "100") == 1
        assert cmd(a.port, "HSET", "fo_dated", "type", "4", "prefix", "%Y%m%d", "length", "6",
                   "segment", "100") == 1
        before = take(a.port, "fo", 450, [])
        dated_before = []
        take(a.port, "fo_dated", 5, dated_before)
        # The replica the failover promotes lacks the newest claims: its rows
        # are behind, a dated row still in an old period, and it names the
        # old primary as the server the claims were made on.
        DB.sql("UPDATE seqd_segments SET max_id = 200 WHERE biz_tag = 'fo'")
        DB.sql("UPDATE seqd_segments SET max_id = 0, period = 1000 WHERE biz_tag = 'fo_dated'")
        DB.sql("INSERT INTO seqd_workers (worker_id, holder, generation, lease_until_ms, reserved_ms) "
               "VALUES (1000, 'lost node', 7, 0, 0) ON DUPLICATE KEY UPDATE generation = 7")
        DB.sql("UPDATE seqd_meta SET meta_value = '%s' WHERE meta_key = 'claims_server'" % LOST)
        kill_seqd_connections()

        # The buffered numbers first, then claims on the "new server".
        after = take(a.port, "fo", 600, [])
        assert_unique(before + after, "across the failover")
        assert max(after) >= GAP and sorted(after[-100:]) == after[-100:] and after[-100] >= GAP, \
            "no claim above the gap after the fence: %r" % after[-100:]
        wait_log(a, "FAILOVER")
        st = info(a.port, "store")
        assert st["store_fences"] == "1", st
        assert meta() == this_server()
        history = DB.rows("SELECT meta_value FROM seqd_meta WHERE meta_key LIKE 'fence %'")
        assert len(history) == 1 and LOST in history[0][0] and this_server() in history[0][0], history

        # Type 4: moved into the current period with the gap used; the
        # numbers it serves now are new ones.
        period, max_id = [int(v) for v in DB.rows("SELECT period, max_id FROM seqd_segments "
                                                   "WHERE biz_tag = 'fo_dated'")[0]]
        assert period > 1000 and max_id >= GAP, (period, max_id)
        # Type 5: a lease taken in the lost window can never be renewed.
        gen = int(DB.rows("SELECT generation FROM seqd_workers WHERE worker_id = 1000")[0][0])
        assert gen == 7 + 1048576, gen

        # A node started after the fence never serves what a did either.
        with Seqd(config=node_config(), store="mysql") as b:
            more = take(b.port, "fo", 300, [])
            more += take(a.port, "fo", 300, [])
            assert_unique(before + after + more, "a node started after the fence")
            assert info(b.port, "store")["store_fences"] == "0"


# ---- 3 --------------------------------------------------------------------

def test_claims_below_the_mark_are_refused_even_after_a_restart():
    reset()
    node = Seqd(config=node_config(), store="mysql")
    try:
        node.start()
        assert cmd(node.port, "HSET", "hw", "type", "3", "segment", "100") == 1
        served = take(node.port, "hw", 350, [])
        top = int(DB.rows("SELECT max_id FROM seqd_segments WHERE biz_tag = 'hw'")[0][0])
        # Lost claims on the same server (nothing for the fence to see).
        DB.sql("UPDATE seqd_segments SET max_id = 0 WHERE biz_tag = 'hw'")
        errors = []
        served = take(node.port, "hw", 900, served, errors)
        assert_unique(served, "after the row was set back")
        wait_log(node, "REFUSED")
        hw = info(node.port, "hw")
        assert int(hw["refused_claims"]) >= 1, hw
        st = info(node.port, "store")
        assert int(st["store_claims_refused"]) >= 1, st
        assert max(served[350:]) > top, "never served above the old top"

        # The mark survives a SIGKILL: set back again, restart, still refused.
        node.kill()
        refused_before = int(st["store_claims_refused"])
        DB.sql("UPDATE seqd_segments SET max_id = 0 WHERE biz_tag = 'hw'")
        node.start()
        errors = []
        served = take(node.port, "hw", len(served) + 300, served, errors)
        assert_unique(served, "after a restart with the row set back")
        st = info(node.port, "store")
        assert int(st["store_claims_refused"]) >= 1, st     # counted since the restart
        assert os.path.exists(os.path.join(node.datadir, "mysql-state", "highwater")), \
            os.listdir(node.datadir)
        del refused_before
        # While a claim is refused, the answer says why.
        hw = info(node.port, "hw")
        assert int(hw["refused_claims"]) >= 1, hw
    finally:
        if node.proc and node.proc.poll() is None:
            node.stop()


# ---- 4 --------------------------------------------------------------------

def test_manual_mode_waits_for_the_operator():
    reset()
    with Seqd(config=node_config(failover="manual"), store="mysql") as node:
        assert cmd(node.port, "HSET", "man", "type", "3", "segment", "100") == 1
        before = take(node.port, "man", 250, [])
        DB.sql("UPDATE seqd_segments SET max_id = 0 WHERE biz_tag = 'man'")
        DB.sql("UPDATE seqd_meta SET meta_value = '%s' WHERE meta_key = 'claims_server'" % LOST)
        kill_seqd_connections()
        # Drain what is buffered; then every answer is -TRYAGAIN, never a number.
        c = Client(node.port)
        got, said = [], None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r = c.command("GET", "man")
            if isinstance(r, RespError):
                said = str(r)
                break
            got.append(int(r))
        assert said is not None and "manual" in said, said
        for _ in range(5):
            r = c.command("GET", "man")
            assert isinstance(r, RespError) and "manual" in r, r
            time.sleep(0.2)
        c.close()
        assert info(node.port, "store")["store_fences"] == "0"
        assert meta() == LOST
        wait_log(node, "store.mysql.failover is manual")

        DB.sql("UPDATE seqd_meta SET meta_value = 'fence approved' WHERE meta_key = 'claims_server'")
        after = take(node.port, "man", 200, [])
        assert_unique(before + got + after, "manual fence")
        assert min(after) >= GAP, after[:5]
        assert meta() == this_server()
        assert info(node.port, "store")["store_fences"] == "1"


# ---- 5 --------------------------------------------------------------------

def test_without_the_meta_table_the_fence_is_off_and_said_so():
    reset()
    DB.sql("DROP TABLE seqd_meta")
    try:
        with Seqd(config=node_config(), store="mysql") as node:
            wait_log(node, "cannot use the table seqd_meta")
            assert cmd(node.port, "HSET", "nometa", "type", "3") == 1
            first, second = int(cmd(node.port, "GET", "nometa")), int(cmd(node.port, "GET", "nometa"))
            assert second == first + 1, (first, second)
            assert info(node.port, "store")["store_failover_fence"] == "off"
    finally:
        DB.load(os.path.join(repo_root(), "sql", "schema.sql"))


def main():
    global DB
    with MariaDB() as db:
        DB = db
        assert os.path.exists(os.path.join(repo_root(), "sql", "schema.sql"))
        return run_tests([
            test_server_recorded_at_first_start,
            test_failover_is_fenced_and_nothing_served_twice,
            test_claims_below_the_mark_are_refused_even_after_a_restart,
            test_manual_mode_waits_for_the_operator,
            test_without_the_meta_table_the_fence_is_off_and_said_so,
        ])


if __name__ == "__main__":
    sys.exit(main())
