#!/usr/bin/env python3
"""test_galera: seqd on a 3-node MariaDB Galera cluster (tests/lib/galera.py).

Three seqd nodes, each on a different Galera node, share one table.

1. Conflicting claims. Small segments (HSET ... segment 10, segment.max
   50), so the nodes claim the same rows several hundred times a second on
   three different database nodes: Galera certifies the claims' write sets
   against each other, and the losers fail (wsrep_local_cert_failures,
   wsrep_local_bf_aborts; the client library sees 1213 "Deadlock found").
   Client threads on every node take numbers for CONFLICT_S seconds and
   keep every one. No number twice, and not one failed client request: a
   claim that lost a conflict is the node's to retry, not the client's
   (no -TRYAGAIN ... Deadlock [1213]). The conflicts must have happened
   (cert failures > 0), else the test proved nothing.

2. A Galera node killed under load. Default segment sizes, clients on all
   three seqd nodes, and on each node a prober that GETs a sequence it
   never served before (so every probe needs a claim from the store) every
   PROBE_EVERY_S. Galera node 3 gets SIGKILL: the other two freeze until
   they evict it (about evs.suspect_timeout, 3 s, plus up to 1.5 s), then
   go on. DOWN_S later node 3 is started again and rejoins (IST); once all
   three are Synced ("whole"), every seqd node must serve again within
   RECOVER_S (1 s): the first GET of a name it never served (a claim) sent
   at that moment; a name whose GETs have been retried since the kill
   (its claims failed all along on the seqd node of the killed Galera
   node); and the load of a node whose numbers had run out, if one had.
   No number twice; every failed request is a -TRYAGAIN; the seqd nodes
   on the surviving Galera nodes fail requests only while the cluster
   itself is frozen: from the kill until the eviction, or while their
   Galera node's commits stall (a CommitMeter commits there every 50 ms;
   a rejoin stalls them too, for up to a second), plus FREEZE_GRACE_S.

The figures are printed: numbers, claims, conflicts (cert failures, BF
aborts), client errors by kind, duplicates, the freeze, and the time every
node took to serve again.

Needs galera-4, rsync and mariadb-server (run as root, the Galera nodes
run as the mysql user: rsync SST does not work as root); without them:
skipped with SEQD_ALLOW_SKIP=1, else failed. About 50 s (the cluster
starts in about 10 s). Environment: SEQD_BIN, SEQD_SRCDIR.
"""
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from galera import GaleraCluster  # noqa: E402
from seqd import (Client, Collector, RespError, Seqd, duplicates, error_replies,  # noqa: E402
                  first_descent, info, is_tryagain, join_collectors, run_tests, stop_all,
                  wait_for)

G = None                     # the GaleraCluster
CONFLICT_S = 15              # part 1: seconds of load
WARMUP_S = 3                 # part 2: load before the kill
DOWN_S = 3                   # part 2: node 3 stays down this long after the eviction
PROBE_EVERY_S = 0.25
RECOVER_S = 1.0              # every seqd node claims again within this of "whole"
RECOVER_WATCH_S = 12         # how long the recovery is watched (to print a figure when slow)
FREEZE_GRACE_S = 1.0         # survivors' errors: at most this long after a freeze
KILLED = 2                   # the Galera node that is killed (node 3)


def short(v, n=160):
    s = str(v)
    return s if len(s) <= n else s[:n] + "..."


def kinds(replies):
    """{error text with the sequence name and times blurred: count}."""
    out = {}
    for v in replies:
        k = re.sub(r"\b(for|of) '[^']*'", r"\1 'x'", str(v))
        k = re.sub(r"\d+ ms\b", "N ms", k)
        out[k] = out.get(k, 0) + 1
    return out


def start_seqd(i, segment):
    cfg = {"store": G.store_config(i), "segment": segment}
    return Seqd(config=cfg, store="mysql").start()


def wait_rows_everywhere(names):
    """Galera applies a write set on the other nodes a moment after the
    COMMIT: wait until every node has the rows, so that a look-up through
    any of them finds them."""
    quoted = ", ".join("'%s'" % n for n in names)
    for i in range(G.size):
        wait_for(lambda: int(G.rows(i, "SELECT COUNT(*) FROM seqd_segments WHERE biz_tag IN (%s)"
                                    % quoted)[0][0]) == len(names),
                 15, "Galera node %d has the rows %s" % (i + 1, quoted))


def first_number(fields):
    """The number of counter 0 of a type 2 or 3 HSET (step 1)."""
    f = dict(zip(fields[::2], fields[1::2]))
    if f["type"] == "2":
        return int(f.get("starting", 10 ** (int(f["length"]) - 1)))
    return int(f.get("starting", 1))


def check_collected(clients, names, problems, lines):
    """Duplicates per name across every client; strictly increasing per
    connection (types 2 and 3); no counter served at or above the row's
    max_id (the next unclaimed one). Returns the number of duplicates."""
    dups_total = 0
    for name, fields in names.items():
        allnums = [v for c in clients for v in c.numbers(name)]
        twice = duplicates(allnums)
        dups_total += len(twice)
        max_id = int(G.rows(0, "SELECT max_id FROM seqd_segments WHERE biz_tag = '%s'" % name)[0][0])
        top = max(allnums) - first_number(fields) if allnums else -1
        if top >= max_id:
            problems.append("%s: counter %d served but max_id is %d" % (name, top, max_id))
        lines.append("  %-6s %8d numbers, duplicates %d, highest counter %d, max_id %d%s" % (
            name, len(allnums), len(twice), top, max_id, " e.g. %r" % twice[:10] if twice else ""))
        for c in clients:
            for (cid, k, n), nums in c.got.items():
                if n != name:
                    continue
                bad = first_descent(nums)
                if bad:
                    problems.append("%s: one connection got %d then %d" % (name, bad[0], bad[1]))
    if dups_total:
        problems.append("%d duplicate numbers" % dups_total)
    return dups_total


# ---- 1. conflicting claims --------------------------------------------------

def test_conflicting_claims_no_failed_request():
    names = {"c3": ["type", "3", "segment", "10"],
             "c2": ["type", "2", "length", "12", "segment", "10"]}
    nodes = []
    stop = threading.Event()
    try:
        nodes = [start_seqd(i, {"max": 50, "default": 10, "wait_ms": 1000}) for i in range(3)]
        for i, (name, fields) in enumerate(names.items()):
            c = Client(nodes[i].port)
            assert c.command("HSET", name, *fields) == 1, "HSET %s" % name
            c.close()
        wait_rows_everywhere(list(names))
        cert0, bf0 = G.cert_failures(), G.bf_aborts()

        # Two client threads per seqd node, each on its node only.
        clients = [Collector([nodes[i % 3].port], list(names), stop, pipeline=16,
                             start_at=i, retry_pause=0.02, timeout=30)
                   for i in range(6)]
        t0 = time.monotonic()
        for c in clients:
            c.start()
        time.sleep(CONFLICT_S)             # the length of the load is the test
        stop.set()
        elapsed = time.monotonic() - t0
        join_collectors(clients, 60)
        cert = {i: v - cert0.get(i, 0) for i, v in G.cert_failures().items()}
        bf = {i: v - bf0.get(i, 0) for i, v in G.bf_aborts().items()}

        problems, lines = [], []
        check_collected(clients, names, problems, lines)
        per_node = [sum(c.count for c in clients if c.ports[0] == n.port) for n in nodes]
        claims = {name: [int(info(n.port, name)["claims"]) for n in nodes] for name in names}
        errors = error_replies(clients)
        losses = sum(len(c.losses) for c in clients) + sum(c.connect_failures for c in clients)
        total = sum(per_node)
        requests = sum(c.requests for c in clients)
        print("part 1, conflicting claims: %d numbers in %.0f s (per seqd node %s), %d requests"
              % (total, elapsed, per_node, requests))
        for name in names:
            print("  claims of %s per seqd node: %s (total %d)" % (name, claims[name], sum(claims[name])))
        print("  Galera conflicts: wsrep_local_cert_failures %d %s, wsrep_local_bf_aborts %d %s"
              % (sum(cert.values()), [cert[i] for i in sorted(cert)], sum(bf.values()),
                 [bf[i] for i in sorted(bf)]))
        retried = [info(n.port, "store").get("store_conflicts_retried") for n in nodes]
        if any(v is not None for v in retried):
            print("  conflicts seqd retried (INFO store_conflicts_retried) per seqd node: %s" % retried)
        print("  failed client requests: %d (-TRYAGAIN %d); connections lost/refused: %d"
              % (len(errors), sum(1 for _, _, v in errors if is_tryagain(v)), losses))
        for text, n in sorted(kinds(v for _, _, v in errors).items(), key=lambda kv: -kv[1]):
            print("    %5d x %s" % (n, short(text, 300)))
        print("\n".join(lines), flush=True)

        if errors:
            problems.append("%d failed client requests (none allowed), e.g. %s"
                            % (len(errors), short(errors[0][2])))
        if losses:
            problems.append("%d connections lost or refused" % losses)
        if sum(cert.values()) == 0:
            problems.append("no certification failure in Galera: the claims did not conflict "
                            "(bf aborts %d)" % sum(bf.values()))
        if min(per_node) < 1000:
            problems.append("a seqd node served fewer than 1000 numbers: %s" % per_node)
        for name in names:
            if min(claims[name]) < 20:
                problems.append("%s: a seqd node claimed fewer than 20 times: %s" % (name, claims[name]))
        assert not problems, "; ".join(problems[:6])
    finally:
        stop.set()
        stop_all(nodes)


# ---- 2. a Galera node killed under load --------------------------------------

class Prober(threading.Thread):
    """GET, every `every` s, a name the node never served: each probe needs
    a claim. Keeps (sent, answered, reply) for every probe. At `now` (an
    Event) it probes at once."""

    def __init__(self, port, names, stop, every=PROBE_EVERY_S):
        super().__init__(daemon=True)
        self.port, self.names, self.stop, self.every = port, list(names), stop, every
        self.now = threading.Event()
        self.probes = []
        self.exc = None

    def run(self):
        try:
            c = Client(self.port, timeout=30)
            while not self.stop.is_set() and self.names:
                t = time.monotonic()
                r = c.command("GET", self.names.pop(0))
                self.probes.append((t, time.monotonic(), r))
                # pacing of the probes, or at once when told
                self.now.wait(max(0.0, t + self.every - time.monotonic()))
                self.now.clear()
            c.close()
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.exc = e


class Retrier(threading.Thread):
    """Once `go` is set: GET name (on a connection opened before) until it
    is a number, retrying -TRYAGAIN at once, for at most `watch` s or
    until `stop`. Keeps when the number came (at) and every failed reply
    before it (time, reply)."""

    def __init__(self, port, name, go, stop, watch):
        super().__init__(daemon=True)
        self.name, self.go, self.stop, self.watch = name, go, stop, watch
        self.client = Client(port, timeout=30)
        self.at = None            # time.monotonic() of the number
        self.replies = []
        self.exc = None

    def run(self):
        try:
            self.go.wait()
            end = time.monotonic() + self.watch
            while time.monotonic() < end and not self.stop.is_set():
                r = self.client.command("GET", self.name)
                if isinstance(r, str) and not isinstance(r, RespError):
                    self.at = time.monotonic()
                    return
                self.replies.append((time.monotonic(), r))
                time.sleep(0.01)           # a retry's pause, as a client would
        except Exception as e:  # noqa: BLE001
            self.exc = e
        finally:
            self.client.close()


class LoadWatch(threading.Thread):
    """Once `go` is set: which seqd nodes' load was failing then (every
    client of the node had an error reply after its last number), and when
    each of those got a number again (polled every 5 ms: the time is that
    precise)."""

    def __init__(self, clients_by_node, go, watch=RECOVER_WATCH_S):
        super().__init__(daemon=True)
        self.clients_by_node, self.go, self.watch = clients_by_node, go, watch
        self.failing = []
        self.back_at = {}
        self.exc = None

    def run(self):
        try:
            self.go.wait()
            self.failing = [i for i, cs in self.clients_by_node.items()
                            if all(c.errors and c.errors[-1][0] > c.last_number_at for c in cs)]
            since = time.monotonic()
            end = since + self.watch
            while time.monotonic() < end and len(self.back_at) < len(self.failing):
                for i in self.failing:
                    if i not in self.back_at:
                        t = max(c.last_number_at for c in self.clients_by_node[i])
                        if t > since:
                            self.back_at[i] = t
                time.sleep(0.005)           # the poll's resolution
        except Exception as e:  # noqa: BLE001
            self.exc = e


def fmt_times(d, none="none"):
    return ", ".join("node %d: %s" % (i + 1, "%.2f s" % d[i] if d[i] is not None else none)
                     for i in sorted(d)) or "-"


def test_galera_node_killed_under_load():
    names = {"k3": ["type", "3"], "k2": ["type", "2", "length", "12"]}
    probe_names = [["p%d_%03d" % (i, k) for k in range(200)] for i in range(3)]
    fresh_names = ["fresh%d" % i for i in range(3)]      # first GET at "whole"
    starved_names = ["starved%d" % i for i in range(3)]  # first GET at the kill
    rows = [n for ns in probe_names for n in ns] + fresh_names + starved_names
    G.sql(0, "INSERT INTO seqd_segments (biz_tag, max_id, step) VALUES %s"
          % ", ".join("('%s', 1, 10)" % n for n in rows))
    wait_rows_everywhere(rows[-3:])
    survivors = [i for i in range(3) if i != KILLED]     # seqd node i uses Galera node i
    nodes, meters = [], {}
    stop = threading.Event()
    try:
        nodes = [start_seqd(i, {}) for i in range(3)]      # default segments
        for i, (name, fields) in enumerate(names.items()):
            c = Client(nodes[i].port)
            assert c.command("HSET", name, *fields) == 1, "HSET %s" % name
            c.close()
        wait_rows_everywhere(list(names))
        # When the cluster itself is frozen: commits on the surviving
        # Galera nodes stall.
        meters = {i: G.commit_meter(i) for i in survivors}
        clients = [Collector([nodes[i % 3].port], list(names), stop, pipeline=8, start_at=i,
                             pause=0.001, retry_pause=0.02, timeout=60)
                   for i in range(6)]
        probers = [Prober(nodes[i].port, probe_names[i], stop) for i in range(3)]
        killed_event, whole_event = threading.Event(), threading.Event()
        fresh = [Retrier(nodes[i].port, fresh_names[i], whole_event, stop, RECOVER_WATCH_S)
                 for i in range(3)]
        starved = [Retrier(nodes[i].port, starved_names[i], killed_event, stop, 120)
                   for i in range(3)]
        watch = LoadWatch({i: clients[i::3] for i in range(3)}, whole_event)
        threads = clients + probers + fresh + starved + [watch]
        for t in list(meters.values()) + threads:
            t.start()
        t0 = time.monotonic()
        wait_for(lambda: all(any(isinstance(r, str) and not isinstance(r, RespError)
                                 for _, _, r in p.probes) for p in probers), 15,
                 "every prober got a number")
        time.sleep(max(0.0, t0 + WARMUP_S - time.monotonic()))   # load before the fault

        killed_at = time.monotonic()
        G.kill(KILLED)
        killed_event.set()
        evicted_at = max(G.wait_size(i, 2) for i in survivors)
        print("part 2: Galera node %d killed at %.1f s under load; the others evicted it %.2f s later"
              % (KILLED + 1, killed_at - t0, evicted_at - killed_at), flush=True)
        time.sleep(DOWN_S)                 # node 3 stays down: part of the fault
        restart_at = time.monotonic()
        G.start_node(KILLED)
        whole = G.wait_synced()
        whole_event.set()
        for p in probers:
            p.now.set()
        print("  Galera node %d started again %.1f s after the kill (position %s); cluster whole "
              "(3 Synced) %.2f s after that (%.1f s after the kill)"
              % (KILLED + 1, restart_at - killed_at, G[KILLED].recovered, whole - restart_at,
                 whole - killed_at), flush=True)
        for r in fresh + starved + [watch]:
            r.join(RECOVER_WATCH_S + 35)
        time.sleep(1.0)                    # the load goes on a while after the recovery
        stop.set()
        for t in threads:
            t.join(90)
        for t in threads:
            assert not t.is_alive(), "a client thread hangs"
            assert t.exc is None, "client thread: %r" % t.exc
        for m in meters.values():
            m.stop()

        problems, lines = [], []
        check_collected(clients, names, problems, lines)

        # When the cluster was frozen, as each survivor saw it: the kill
        # until the eviction, and every stall of its commits (the meter
        # commits every 50 ms; a stall is one that took 0.25 s or more).
        stalls = {i: meters[i].stalls(0.25) for i in survivors}
        frozen = {i: [(killed_at, evicted_at)] + stalls[i] for i in survivors}
        rel = lambda t: t - killed_at   # noqa: E731

        # Every failure, by seqd node: (time, reply), load and probes.
        failures = {i: [] for i in range(3)}
        served = {i: 0 for i in range(3)}
        for j, c in enumerate(clients):
            failures[j % 3] += [(t, v) for t, _, _, v in c.errors]
            served[j % 3] += c.count
        for i, p in enumerate(probers):
            failures[i] += [(t1, r) for _, t1, r in p.probes if isinstance(r, RespError) or r is None]
        for i in range(3):
            failures[i] += fresh[i].replies + starved[i].replies
        losses = sum(len(c.losses) + c.connect_failures for c in clients)

        # Serving again once the cluster is whole: a claim of a name never
        # served (fresh), of a name whose claims failed since the kill
        # (starved: 0 when it had its number before), the next probe, and
        # the load of a node whose numbers had run out.
        rec_fresh = {i: None if r.at is None else r.at - whole for i, r in enumerate(fresh)}
        rec_starved = {i: None if r.at is None else max(0.0, r.at - whole)
                       for i, r in enumerate(starved)}
        rec_load = {i: (watch.back_at[i] - whole if i in watch.back_at else None)
                    for i in watch.failing}
        rec_probe = {}
        for i, p in enumerate(probers):
            ok = [t1 for t, t1, r in p.probes if t1 >= whole and isinstance(r, str)
                  and not isinstance(r, RespError)]
            rec_probe[i] = ok[0] - whole if ok else None

        print("  numbers served per seqd node %s; probes (forced claims) per node %s"
              % ([served[i] for i in range(3)], [len(p.probes) for p in probers]))
        for name in names:
            print("  claims of %s per seqd node: %s" % (name, [int(info(n.port, name)["claims"])
                                                             for n in nodes]))
        for i in survivors:
            print("  cluster frozen as Galera node %d saw it (s after the kill): the kill until the "
                  "eviction %+.2f..%+.2f; commits stalled %s" % (
                      i + 1, 0, rel(evicted_at),
                      ", ".join("%+.2f..%+.2f" % (rel(a), rel(b)) for a, b in stalls[i]) or "never"))
        print("  failed requests per seqd node: %s; connections lost/refused: %d"
              % ([len(failures[i]) for i in range(3)], losses))
        for i in range(3):
            if failures[i]:
                ts = [t for t, _ in failures[i]]
                print("    seqd node %d (on Galera node %d): failures from %+.2f s to %+.2f s after "
                      "the kill" % (i + 1, i + 1, rel(min(ts)), rel(max(ts))))
                for text, n in sorted(kinds(v for _, v in failures[i]).items(), key=lambda kv: -kv[1]):
                    print("      %5d x %s" % (n, short(text, 300)))
        print("  serving again after the cluster was whole (%.1f s after the kill):" % rel(whole))
        print("    first claim of a new name:       %s" % fmt_times(rec_fresh, "none within %d s" % RECOVER_WATCH_S))
        print("    a name failing since the kill:   %s" % fmt_times(rec_starved, "never"))
        print("    the load of a node that ran out: %s" % fmt_times(rec_load, "never"))
        print("    the next probe:                  %s" % fmt_times(rec_probe, "none"))
        print("\n".join(lines), flush=True)

        for i in range(3):
            other = [v for _, v in failures[i] if not is_tryagain(v)]
            if other:
                problems.append("seqd node %d: %d error replies other than -TRYAGAIN, e.g. %s"
                                % (i + 1, len(other), short(other[0])))
        for i in survivors:
            late = [(t, v) for t, v in failures[i]
                    if not any(a <= t <= b + FREEZE_GRACE_S for a, b in frozen[i])]
            if late:
                problems.append("seqd node %d (on a surviving Galera node) failed %d requests while "
                                "the cluster was not frozen, e.g. at %+.2f s after the kill: %s"
                                % (i + 1, len(late), rel(late[0][0]), short(late[0][1])))
        for what, d in (("the first claim of a new name", rec_fresh),
                        ("a name failing since the kill", rec_starved),
                        ("its load, which had run out,", rec_load)):
            for i, v in sorted(d.items()):
                if v is None or v > RECOVER_S:
                    problems.append("seqd node %d served %s %s after the cluster was whole "
                                    "(at most %.1f s)" % (i + 1, what, "%.2f s" % v if v is not None
                                                          else "not at all", RECOVER_S))
        if losses:
            problems.append("%d connections lost or refused" % losses)
        if min(served.values()) < 1000:
            problems.append("a seqd node served fewer than 1000 numbers: %s" % served)
        assert not problems, "; ".join(problems[:8])
    finally:
        stop.set()
        for m in meters.values():
            m.stop()
        stop_all(nodes)


def main():
    global G
    G = GaleraCluster(3)
    G.start()
    print("Galera cluster of 3 up in %.1f s (provider options: %s)" % (G.start_seconds, G.provider_options),
          flush=True)
    try:
        run_tests([test_conflicting_claims_no_failed_request, test_galera_node_killed_under_load])
    finally:
        G.close()


if __name__ == "__main__":
    main()
