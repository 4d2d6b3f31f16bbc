#!/usr/bin/env python3
"""test_failover: no number twice when the database fails over to a replica
that lags.

A private MariaDB primary (server_id 1, binary log, GTID) and an
asynchronous replica (server_id 2, read_only, CHANGE MASTER TO ...
MASTER_USE_GTID=slave_pos). Three seqd nodes reach the database through a
small TCP proxy whose upstream can be switched: the database's address
that moves to the new primary. Client threads take pipelined GETs of four
sequences (types 3, 3, 2, 1, made with redis-cli HSET) through all nodes
and keep every number they receive. Each test:

1. sets up replication, creates the sequences, waits until the replica
   has caught up (MASTER_GTID_WAIT);
2. serves for a few seconds;
3. STOP SLAVE on the replica, then serves a few seconds more: these
   claims land only on the primary, the transactions the failover loses
   (the "lost window", max_id on the primary minus on the replica, is
   printed and must be > 0: otherwise the test proves nothing);
4. SIGKILLs the primary, promotes the replica (STOP SLAVE; RESET SLAVE
   ALL; SET GLOBAL read_only=0) and switches the proxy to it, dropping
   the proxy's connections;
5. (a) test_failover_nodes_keep_running: the nodes keep running behind
   the moved address; (b) test_failover_nodes_restarted: the nodes are
   restarted (two SIGKILLed with the primary, one stopped gracefully
   after the switch) with the same config and the same store.dir;
6. serves for a few seconds after the switch.

Asserted: no number served twice per sequence (across nodes, before and
after the failover, final GETs included); per connection the numbers of a
type 2/3 sequence strictly increase (a node never installs a segment below
numbers it served); every type 3 counter served is below the new
primary's max_id; the only error replies are -TRYAGAIN; every node makes
claims on the new primary (INFO <name> claims) and every client gets
numbers again within SERVE_AGAIN_S of the switch (a fence must not leave
the nodes stuck); sql/schema.sql makes seqd_meta; seqd accepts
store.mysql.failover_gap (FAILOVER_GAP; a seqd that rejects it runs the
scenario without it, for the figures, and the test fails); the new
primary's max_id moved at least failover_gap past the replica's (the
fence, docs/reliability.md); seqd_meta names the new server. Printed: numbers
before/after the switch, how many numbers served after the switch had
been served before it, duplicates, client errors, claims (COMMITs through
the proxy), time to serve again after the switch.

test_failover_manual_mode (store.mysql.failover "manual"):
after the switch the running node serves what it had buffered, then only
-TRYAGAIN; a node started again before the approval answers only
-TRYAGAIN (it must start); no claim is made on the new primary; until the
operator approves the fence (operator_fence(): seqd_meta's claims_server
set to 'fence approved'). Then both serve again within SERVE_AGAIN_S, the
rows moved by failover_gap, no number twice.

Runs in about 55 s (the manual test about 20 s of it).

Environment: SEQD_BIN, SEQD_SRCDIR; SEQD_FAILOVER_SCALE (multiplies the
phases' durations and the waits, default 1).
"""
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from faults import MySQLProxy, is_commit, start_node  # noqa: E402
from mariadb import MariaDB  # noqa: E402
from seqd import (BIN, Client, Collector, RespError, Seqd, WaitTimeout, duplicates,  # noqa: E402
                  error_replies, get_with_retry, info, is_tryagain,
                  join_collectors, order_violations, run_tests, stop_all, wait_for)

SCALE = float(os.environ.get("SEQD_FAILOVER_SCALE", "1"))
NODES = 3
CLIENTS = 4
PIPELINE = 16
PAUSE = 0.005               # between round trips: the load stays moderate
SERVE_S = 3.0               # step 2: serving with the replica in step
LAG_S = 3.0                 # step 3: serving with the replica stopped
OUTAGE_S = 1.0              # step 4: from the crash to the switch (the operator)
AFTER_S = 4.0               # step 6: serving after the nodes serve again
SERVE_AGAIN_S = 10.0        # the nodes must claim and serve again within this
FAILOVER_GAP = 1000000      # store.mysql.failover_gap: far above the lost window
SEGMENT = {"max": 500, "default": 100, "wait_ms": 1000}
REPL_USER, REPL_PASSWORD = "repl", "seqd-repl-pw"

# name -> (HSET fields, type, number -> counter (None: not checked))
SEQS = {
    "fo3": (["type", "3", "starting", "1", "segment", "100"], 3, lambda v: v - 1),
    "fo3b": (["type", "3", "starting", "0", "segment", "50"], 3, lambda v: v),
    "fo2": (["type", "2", "length", "12", "segment", "100"], 2, None),
    "fo1": (["type", "1", "length", "10", "segment", "80"], 1, None),
}


def scaled(t):
    return t * SCALE


# ---- the moved address ----------------------------------------------------------

class SwitchProxy(MySQLProxy):
    """A TCP proxy on 127.0.0.1 in front of one database server; switch()
    points it at another one and drops every connection it carries (the
    address that moves to the new primary: a VIP, a DNS name, HAProxy).
    drop() only drops the connections. While the upstream refuses, a new
    connection is accepted and closed at once. It counts the claims'
    COMMITs it forwards (COM_QUERY "COMMIT" in the client's MySQL
    packets)."""

    def __init__(self, upstream_port):
        super().__init__(upstream_port)
        self.generation = 0
        self.pairs = set()
        self.accepted = 0
        self.refused = 0            # connections whose upstream refused

    def stop(self):
        super().stop()
        self.drop()

    def _drop_locked(self):
        pairs = list(self.pairs)
        self.pairs.clear()
        for c, u in pairs:
            self._close(c, u)
        return len(pairs)

    def drop(self):
        """Close every connection carried now; returns how many."""
        with self.lock:
            self.generation += 1
            return self._drop_locked()

    def switch(self, port):
        """Point new connections at port and close every current one."""
        with self.lock:
            self.upstream_port = port
            self.generation += 1
            return self._drop_locked()

    def _serve(self, c):
        with self.lock:
            port, gen = self.upstream_port, self.generation
            self.accepted += 1
        u = self._connect(port)
        if u is None:
            with self.lock:
                self.refused += 1
            self._close(c)
            return
        with self.lock:
            if gen != self.generation:          # switched while connecting
                self._close(c, u)
                return
            pair = (c, u)
            self.pairs.add(pair)
        threading.Thread(target=self._down, args=(u, c), daemon=True).start()
        try:
            for chunk, pkts in self._client_reads(c):
                u.sendall(chunk)
                commits = sum(1 for pkt in pkts if is_commit(pkt))
                if commits:
                    with self.lock:
                        self.commits += commits
        except OSError:
            pass
        with self.lock:
            self.pairs.discard(pair)
        self._close(c, u)


# ---- primary and replica ------------------------------------------------------------

class Pair:
    """A MariaDB primary (server_id 1, binary log) and an asynchronous
    replica of it (server_id 2, read_only), replicating with GTID."""

    def __init__(self):
        self.primary = MariaDB(server_args=["--server-id=1", "--log-bin=primary-bin",
                                            "--binlog-format=ROW"])
        # Its own database and user exist before replication starts (the
        # replicated CREATE ... IF NOT EXISTS of the primary's set-up are
        # then no-ops); the tables come by replication.
        self.replica = MariaDB(schema=False, server_args=["--server-id=2", "--read-only=1"])

    def start(self):
        self.primary.start()
        self.replica.start()
        self.primary.sql("CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s'; "
                         "GRANT REPLICATION SLAVE ON *.* TO '%s'@'127.0.0.1';"
                         % (REPL_USER, REPL_PASSWORD, REPL_USER), database="")
        self.replica.sql("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, "
                         "MASTER_USER='%s', MASTER_PASSWORD='%s', MASTER_USE_GTID=slave_pos, "
                         "MASTER_CONNECT_RETRY=1; START SLAVE;"
                         % (self.primary.port, REPL_USER, REPL_PASSWORD), database="")
        self.catch_up()
        return self

    def catch_up(self, timeout=30):
        """Wait until the replica has applied everything the primary has
        logged so far."""
        pos = self.primary.rows("SELECT @@gtid_binlog_pos", database="")[0][0]
        r = self.replica.rows("SELECT MASTER_GTID_WAIT('%s', %d)" % (pos, int(scaled(timeout))),
                              database="")
        if r[0][0] != "0":
            raise AssertionError("the replica did not reach GTID %s within %d s; status:\n%s"
                                 % (pos, timeout, self.slave_status()))
        return pos

    def slave_status(self):
        return self.replica.sql("SHOW SLAVE STATUS\\G", database="")

    def lag(self):
        """STOP SLAVE: from now on the primary's transactions do not reach
        the replica."""
        self.replica.sql("STOP SLAVE", database="")

    def promote(self):
        """The replica becomes the primary."""
        self.replica.sql("STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = 0;", database="")

    def close(self):
        for db in (self.replica, self.primary):
            try:
                db.close()
            except Exception:  # noqa: BLE001
                db.kill()


def alive(db):
    """Fail with the server's log when db (a MariaDB) is not running."""
    if not db.running():
        raise AssertionError("MariaDB on port %d is not running (exit %s); log:\n%s"
                             % (db.port, db.proc.returncode if db.proc else None, db.log_tail()))


def max_ids(db):
    """{name: max_id} of the test's sequences on db."""
    alive(db)
    rows = db.rows("SELECT biz_tag, max_id FROM seqd_segments")
    return {name: int(v) for name, v in rows if name in SEQS}


def has_table(db, table):
    return bool(db.rows("SELECT 1 FROM information_schema.tables WHERE table_schema = '%s' "
                        "AND table_name = '%s'" % (db.database, table)))


def meta_text(db):
    """seqd_meta's rows as text (None when there is no such table)."""
    if not has_table(db, "seqd_meta"):
        return None
    return db.sql("SELECT * FROM seqd_meta")


def operator_fence(db):
    """The operator's approval of the fence in store.mysql.failover
    "manual" mode (docs/reliability.md), run on the new primary: the next
    node to connect fences (moves every max_id by its failover_gap) and
    records the new server."""
    db.sql("UPDATE seqd_meta SET meta_value = 'fence approved' WHERE meta_key = 'claims_server'")


# ---- seqd -----------------------------------------------------------------------------

def config_accepted(config):
    """(True, "") when `seqd -t` accepts config (a seqd.json dict), else
    (False, its message)."""
    import json
    with tempfile.TemporaryDirectory(prefix="seqd-failover-cfg-") as d:
        path = os.path.join(d, "seqd.json")
        with open(path, "w") as f:
            json.dump(config, f)
        r = subprocess.run([BIN, "-t", "-c", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True, timeout=30)
    return r.returncode == 0, r.stdout.strip()


def node_config(db, proxy, **mysql_extra):
    return {"store": db.store_config(port=proxy.port, rescan_s=1, connect_timeout_s=2,
                                     rw_timeout_s=2, **mysql_extra),
            "segment": dict(SEGMENT)}


def collectors(nodes, stop):
    """The CLIENTS client threads, taking numbers of every sequence
    through every node (not started)."""
    return [Collector([n.port for n in nodes], list(SEQS), stop, pipeline=PIPELINE,
                      start_at=i, pause=PAUSE, retry_pause=0.03, timeout=15)
            for i in range(CLIENTS)]


def claims_of(nodes, restarted=()):
    """{(node, name): INFO <name> claims} of every node and sequence; a
    node in restarted counts 0 (it starts from nothing)."""
    out = {}
    for k, node in enumerate(nodes):
        for name in SEQS:
            out[(k, name)] = 0 if k in restarted else int(info(node.port, name).get("claims", 0))
    return out


def info_sum(nodes, field):
    """The sum of INFO <name> field over nodes and sequences (a field seqd
    does not report counts 0)."""
    total = 0
    for node in nodes:
        if node.proc is None or node.proc.poll() is not None:
            continue
        for name in SEQS:
            v = info(node.port, name).get(field)
            if v is not None and v.isdigit():
                total += int(v)
    return total


def snapshot(clients):
    """How many numbers each (client, connection key) has so far."""
    return {(i, key): len(nums) for i, c in enumerate(clients) for key, nums in dict(c.got).items()}


def node_counts(clients):
    """{node: numbers received from it so far}."""
    out = {}
    for c in clients:
        for (_, k, _), nums in dict(c.got).items():
            out[k] = out.get(k, 0) + len(nums)
    return out


def node_tryagain(clients, since, until=float("inf")):
    """{node: -TRYAGAIN replies received between times since and until}."""
    out = {}
    for c in clients:
        for t, k, _, v in list(c.errors):
            if since < t < until and is_tryagain(v):
                out[k] = out.get(k, 0) + 1
    return out


def tear_down(pair, proxy, nodes, clients, stop):
    """The end of a test, passed or failed: clients, nodes, proxy and
    database servers stopped."""
    stop.set()
    for c in clients:
        c.join(5)
    stop_all(nodes)
    if proxy is not None:
        proxy.stop()
    pair.close()


# ---- the figures ---------------------------------------------------------------------------

def analyse(clients, snap_kill, snap_switch, final, new_primary):
    """Duplicates and order/range violations over the whole run, and the
    figures. final: {name: [(node, number)]} of the last GETs."""
    figs = {"before": 0, "outage": 0, "after": 0, "dups": 0, "after_seen_before": 0}
    lines, violations = [], []
    end_max = max_ids(new_primary)
    for name, (_, kind, to_counter) in SEQS.items():
        before, outage, after = [], [], []
        per_conn = []
        for i, c in enumerate(clients):
            for key, nums in dict(c.got).items():
                if key[2] != name:
                    continue
                a, b = snap_kill.get((i, key), 0), snap_switch.get((i, key), 0)
                before.extend(nums[:a])
                outage.extend(nums[a:b])
                after.extend(nums[b:])
                per_conn.append((key[1], nums))
        after.extend(v for _, v in final.get(name, []))
        allnums = before + outage + after
        twice = duplicates(allnums)
        dups = len(twice)
        earlier = set(before) | set(outage)
        seen_before = sum(1 for v in after if v in earlier)
        figs["before"] += len(before)
        figs["outage"] += len(outage)
        figs["after"] += len(after)
        figs["dups"] += dups
        figs["after_seen_before"] += seen_before
        if dups:
            lines.append("  %s: duplicates e.g. %r" % (name, twice[:8]))
        if kind in (2, 3):
            violations += order_violations(name, per_conn)
        if to_counter is not None and allnums:
            top = max(to_counter(v) for v in allnums)
            if top >= end_max[name]:
                violations.append("%s: counter %d served but the new primary's max_id is %d"
                                  % (name, top, end_max[name]))
        lines.append("  %-5s type %d: %7d before the crash, %5d during the outage, %7d after the "
                     "switch (%d of them served before it), duplicates %d, max_id now %d"
                     % (name, kind, len(before), len(outage), len(after), seen_before, dups,
                        end_max[name]))
    return figs, lines, violations


# ---- the scenario -------------------------------------------------------------------------

def run_failover(restart):
    """Steps 1-6 with the nodes kept running (restart False) or restarted
    (restart True); prints the figures and asserts."""
    pair = Pair()
    proxy = None
    nodes = []
    clients = []
    stop = threading.Event()
    failures = []           # checks that failed, reported after the figures
    try:
        pair.start()
        primary, replica = pair.primary, pair.replica
        if not has_table(primary, "seqd_meta"):
            failures.append("sql/schema.sql made no seqd_meta table (the failover fence's record)")
        proxy = SwitchProxy(primary.port)
        proxy.start()
        cfg = node_config(primary, proxy, failover_gap=FAILOVER_GAP)
        gap_ok, msg = config_accepted(dict(cfg, port=1, store=dict(cfg["store"], dir="/nonexistent")))
        if not gap_ok:
            failures.append("seqd rejects store.mysql.failover_gap: %s" % msg)
            print("note: seqd rejects store.mysql.failover_gap (%s); running without it" % msg,
                  flush=True)
            cfg = node_config(primary, proxy)
        nodes = [Seqd(config=cfg, store="mysql") for _ in range(NODES)]
        for n in nodes:
            n.start()
        for i, (name, (fields, _, _)) in enumerate(SEQS.items()):
            r = nodes[i % NODES].cli("HSET", name, *fields)
            assert r == "1", "HSET %s: %r" % (name, r)
        pair.catch_up()
        rows = max_ids(replica)
        assert sorted(rows) == sorted(SEQS), "the replica has the rows %r" % rows

        # 2. serving, replica in step
        clients = collectors(nodes, stop)
        t0 = time.monotonic()
        for c in clients:
            c.start()
        time.sleep(scaled(SERVE_S))         # a phase of the scenario, not a wait for an event
        # Everything so far (the rows, the nodes' first claims, a fence's
        # record) is on the replica; from here on it falls behind.
        pair.catch_up()
        commits_replicated = proxy.commits

        # 3. the replica lags: these claims are lost with the primary
        pair.lag()
        time.sleep(scaled(LAG_S))           # the lost window
        lost_from = max_ids(replica)
        lost_to = max_ids(primary)
        commits_lost = proxy.commits - commits_replicated

        # 4. the primary dies; the replica is promoted; the address moves
        crashed = [0, 2] if restart else []
        primary.kill()
        for k in crashed:
            nodes[k].kill()
        t_kill = time.monotonic()
        snap_kill = snapshot(clients)
        dropped = proxy.drop()
        time.sleep(scaled(OUTAGE_S))        # the database is away a while: part of the fault
        pair.promote()
        promoted = max_ids(replica)
        baseline = claims_of(nodes, restarted=crashed)
        commits_at_switch = proxy.commits
        dropped += proxy.switch(replica.port)
        t_switch = time.monotonic()
        snap_switch = snapshot(clients)

        # 5. (b) the nodes come back with the same config and store.dir
        if restart:
            nodes[1].stop()
            for k in range(NODES):
                start_node(nodes[k], scaled(30))
            baseline = claims_of(nodes, restarted=range(NODES))
        t_restarted = time.monotonic()

        # 6. every node claims on the new primary, every client gets numbers
        def serving():
            now = claims_of(nodes)
            behind = [kn for kn in now if now[kn] <= baseline[kn]]
            late = [c.start_at for c in clients if c.last_number_at <= t_restarted]
            return not behind and not late
        try:
            wait_for(serving, scaled(SERVE_AGAIN_S), "every node claims every sequence on the new "
                     "primary and every client gets numbers", interval=0.05,
                     detail=lambda: "claims %r (at the switch %r); node logs:\n%s"
                     % (claims_of(nodes), baseline, "\n".join(n.log_tail(8) for n in nodes)))
            t_serving = time.monotonic()
        except WaitTimeout as e:
            failures.append(str(e))
            t_serving = None
        time.sleep(scaled(AFTER_S))         # serving after the failover
        stop.set()
        join_collectors(clients)
        elapsed = time.monotonic() - t0

        final = {}
        for k, node in enumerate(nodes):
            assert node.proc.poll() is None, "node %d exited:\n%s" % (k, node.log_tail())
            for name in SEQS:
                v = get_with_retry(node.port, name, scaled(10))
                if isinstance(v, int):
                    final.setdefault(name, []).append((k, v))
                else:
                    failures.append("node %d GET %s at the end: %r" % (k, name, v))

        figs, lines, violations = analyse(clients, snap_kill, snap_switch, final, replica)
        tryagain = sum(c.tryagain for c in clients)
        errors = error_replies(clients, tryagain=False)
        losses = sum(len(c.losses) for c in clients)
        refused = info_sum(nodes, "refused_claims")
        meta = meta_text(replica)
        print("variant: nodes %s" % ("restarted (same config and store.dir)" if restart
                                     else "kept running behind the moved address"))
        print("lost window (max_id on the primary - on the replica at the crash): %s"
              % ", ".join("%s %d" % (n, lost_to[n] - lost_from[n]) for n in SEQS))
        print("claims (COMMITs through the proxy): %d before the replica stopped, %d while it lagged "
              "(lost), %d after the switch; %d proxy connections dropped at the crash and the switch"
              % (commits_replicated, commits_lost, proxy.commits - commits_at_switch, dropped))
        print("numbers: %d before the crash, %d during the outage, %d after the switch (%d of "
              "those had been served before it); duplicates: %d; in %.0f s"
              % (figs["before"], figs["outage"], figs["after"], figs["after_seen_before"],
                 figs["dups"], elapsed))
        print("time to serve again after the switch: %s (crash to switch %.2f s)"
              % ("%.2f s" % (t_serving - t_switch) if t_serving else
                 "not within %.0f s" % scaled(SERVE_AGAIN_S), t_switch - t_kill))
        print("client errors: %d -TRYAGAIN (retried), %d other error replies, %d broken "
              "connections; INFO refused_claims (sum over nodes): %d"
              % (tryagain, len(errors), losses, refused))
        print("seqd_meta on the new primary: %r" % (meta.strip() if meta is not None else None))
        print("\n".join(lines + violations[:10]), flush=True)

        for name in SEQS:
            assert lost_to[name] > lost_from[name], (
                "%s: no claim landed on the primary while the replica lagged (%d, %d): the "
                "test proves nothing" % (name, lost_from[name], lost_to[name]))
            assert lost_to[name] - lost_from[name] < FAILOVER_GAP // 2, (
                "%s: lost window %d too wide for failover_gap %d"
                % (name, lost_to[name] - lost_from[name], FAILOVER_GAP))
        if figs["dups"]:
            failures.append("%d numbers served twice (%d of the %d served after the switch had "
                            "been served before it)"
                            % (figs["dups"], figs["after_seen_before"], figs["after"]))
        if violations:
            failures.append("%d order/range violations, e.g. %s" % (len(violations), violations[0]))
        if errors:
            failures.append("error replies other than -TRYAGAIN: %r" % errors[:5])
        if gap_ok:
            moved = [n for n in SEQS if max_ids(replica)[n] < promoted[n] + FAILOVER_GAP]
            if moved:
                failures.append("the fence did not move max_id by failover_gap on the new primary "
                                "for %r (at the promotion %r, now %r)"
                                % (moved, promoted, max_ids(replica)))
        if meta is not None and ":%d" % replica.port not in meta:
            failures.append("seqd_meta does not name the new server (port %d): %r"
                            % (replica.port, meta))
        assert figs["before"] >= 1000 and figs["after"] >= 1000, (
            "too few numbers to tell (%d before, %d after)" % (figs["before"], figs["after"]))
        if failures:
            raise AssertionError("; ".join(failures))
    finally:
        tear_down(pair, proxy, nodes, clients, stop)


def test_failover_nodes_keep_running():
    run_failover(restart=False)


def test_failover_nodes_restarted():
    run_failover(restart=True)


def probe(port, name, out):
    """One GET name on port; a number is appended to out[name] (for the
    duplicate check). Returns the reply (int, RespError, or an OSError)."""
    try:
        c = Client(port, timeout=10)
        try:
            r = c.command("GET", name)
        finally:
            c.close()
    except OSError as e:
        return e
    if isinstance(r, str) and not isinstance(r, RespError):
        r = int(r)
        out.setdefault(name, []).append((port, r))
    return r


def answers_not_tryagain(port, rounds, probed):
    """GET every sequence on port, `rounds` times over (probe()); returns
    [(name, reply)] of the replies that are not -TRYAGAIN."""
    out = []
    for _ in range(rounds):
        for name in SEQS:
            r = probe(port, name, probed)
            if not is_tryagain(r):
                out.append((name, r))
    return out


def test_failover_manual_mode():
    """store.mysql.failover "manual": after the failover no claim until the
    operator approves the fence; then serving again, no number twice."""
    pair = Pair()
    proxy = None
    nodes = []
    clients = []
    stop = threading.Event()
    failures = []
    try:
        pair.start()
        primary, replica = pair.primary, pair.replica
        proxy = SwitchProxy(primary.port)
        proxy.start()
        cfg = node_config(primary, proxy, failover="manual", failover_gap=FAILOVER_GAP)
        cfg["segment"]["wait_ms"] = 200     # a -TRYAGAIN comes quickly
        ok, msg = config_accepted(dict(cfg, port=1, store=dict(cfg["store"], dir="/nonexistent")))
        assert ok, "seqd rejects store.mysql.failover \"manual\": %s" % msg
        assert has_table(primary, "seqd_meta"), "sql/schema.sql made no seqd_meta table"
        nodes = [Seqd(config=cfg, store="mysql") for _ in range(2)]
        for n in nodes:
            n.start()
        for i, (name, (fields, _, _)) in enumerate(SEQS.items()):
            r = nodes[i % 2].cli("HSET", name, *fields)
            assert r == "1", "HSET %s: %r" % (name, r)
        pair.catch_up()
        clients = collectors(nodes, stop)
        for c in clients:
            c.start()
        time.sleep(scaled(SERVE_S))         # a phase of the scenario
        pair.catch_up()
        pair.lag()
        time.sleep(scaled(LAG_S))           # the lost window
        lost_from, lost_to = max_ids(replica), max_ids(primary)

        # The primary dies, and node 1 with it; node 0 keeps running. The
        # load stops here: from now on single GETs probe the nodes.
        primary.kill()
        nodes[1].kill()
        stop.set()
        join_collectors(clients)
        snap_crash = snapshot(clients)
        proxy.drop()
        time.sleep(scaled(OUTAGE_S))        # the database is away a while: part of the fault
        pair.promote()
        promoted = max_ids(replica)
        proxy.switch(replica.port)
        probed = {}                         # name -> [(port, number)]

        # Node 0 serves what it had buffered, then only -TRYAGAIN, and
        # stays so: in manual mode it claims nothing on the new server.
        drained = {}
        t_drain = time.monotonic()
        for name in SEQS:
            for _ in range(5000):           # far more than two segments of segment.max
                r = probe(nodes[0].port, name, probed)
                if not isinstance(r, int):
                    break
            drained[name] = r
            if time.monotonic() - t_drain > scaled(60):
                break
        not_ta = {n: r for n, r in drained.items() if not is_tryagain(r)}
        assert len(drained) == len(SEQS) and not not_ta, (
            "node 0 does not answer -TRYAGAIN once its buffers are spent (manual mode, before "
            "the fence): %r" % (not_ta or drained))
        print("node 0 before the fence: %d buffered numbers served, then e.g. %r"
              % (sum(len(v) for v in probed.values()), drained[next(iter(SEQS))]))
        for name, r in answers_not_tryagain(nodes[0].port, 3, probed):
            failures.append("node 0 answered %r to GET %s before the fence, after its buffers "
                            "were spent" % (r, name))

        # Node 1, started again before the fence (nothing buffered), must
        # serve no number at all: -TRYAGAIN only.
        try:
            nodes[1].start(timeout=scaled(10))
        except RuntimeError:
            nodes[1].kill()
            why = [line for line in nodes[1].log().splitlines() if "cannot open" in line]
            failures.append("node 1, started again before the operator's fence, does not start "
                            "(it must answer -TRYAGAIN): %s"
                            % (why[-1] if why else nodes[1].log_tail(5)))
        else:
            for name, r in answers_not_tryagain(nodes[1].port, 2, probed):
                failures.append("node 1 (started again) answered %r to GET %s before the fence"
                                % (r, name))
        now_ids = max_ids(replica)
        if now_ids != promoted:
            failures.append("claims made on the new primary before the operator's fence: max_id "
                            "%r, at the promotion %r" % (now_ids, promoted))

        # The operator approves the fence: both nodes serve again.
        operator_fence(replica)
        t_fence = time.monotonic()
        if nodes[1].proc is None or nodes[1].proc.poll() is not None:
            start_node(nodes[1], scaled(30))
        stop2 = threading.Event()
        after = collectors(nodes, stop2)
        clients += after
        for c in after:
            c.start()
        try:
            wait_for(lambda: all(n >= 100 for n in
                                 [node_counts(after).get(k, 0) for k in range(2)]),
                     scaled(SERVE_AGAIN_S), "both nodes serve again after the operator's fence",
                     interval=0.05, detail=lambda: "numbers per node %r; logs:\n%s"
                     % (node_counts(after), "\n".join(n.log_tail(8) for n in nodes)))
            t_serving = time.monotonic()
            time.sleep(scaled(2.0))         # serving after the fence
        except WaitTimeout as e:
            failures.append(str(e))
            t_serving = None
        stop2.set()
        join_collectors(after)
        figs, lines, violations = analyse(clients, snap_crash, snap_crash, probed, replica)
        errors = error_replies(clients, tryagain=False)
        print("manual mode: lost window %s; serving again %s after the approval; numbers %d "
              "before the crash, %d after it; duplicates %d"
              % (", ".join("%s %d" % (n, lost_to[n] - lost_from[n]) for n in SEQS),
                 "%.2f s" % (t_serving - t_fence) if t_serving else "not",
                 figs["before"], figs["after"], figs["dups"]))
        print("seqd_meta on the new primary: %r" % (meta_text(replica) or "").strip())
        print("\n".join(lines + violations[:10]), flush=True)
        if figs["dups"]:
            failures.append("%d numbers served twice" % figs["dups"])
        if violations:
            failures.append(violations[0])
        if errors:
            failures.append("error replies other than -TRYAGAIN: %r" % errors[:5])
        moved = [n for n in SEQS if max_ids(replica)[n] < promoted[n] + FAILOVER_GAP]
        if moved:
            failures.append("the approved fence did not move max_id by failover_gap for %r" % moved)
        if failures:
            raise AssertionError("; ".join(failures))
    finally:
        tear_down(pair, proxy, nodes, clients, stop)


TESTS = [test_failover_nodes_keep_running, test_failover_nodes_restarted, test_failover_manual_mode]


def main():
    tests = list(TESTS)
    if len(sys.argv) > 1:
        every = {t.__name__: t for t in TESTS}
        unknown = [a for a in sys.argv[1:] if a not in every]
        if unknown:
            raise SystemExit("unknown test(s) %s; known: %s" % (unknown, ", ".join(every)))
        tests = [every[a] for a in sys.argv[1:]]
    run_tests(tests)


if __name__ == "__main__":
    main()
