#!/usr/bin/env python3
"""test_cold: the first GETs of many cold sequences are claimed side by
side and in batches, and still never hand a number out twice.

One private MariaDB server for the whole file (tests/lib/mariadb.py), with
plain rows the Leaf way whose first numbers are known (max_id, and step
per claim). Each test uses rows of its own.

* pipelined first GETs of COLD names on one node (CONNS connections,
  PIPELINE per round trip) are all the row's max_id, and the claims were
  batched: the database committed far fewer transactions than there were
  claims (Com_commit), and INFO store says how many claims went in
  batches (store_claims_batched);
* two nodes asking for the same cold names at the same moment: each name
  gives one node its max_id and the other max_id + step (two claims, two
  disjoint ranges), never one number twice;
* connections cut at the COMMIT of a batch (a proxy drops the COMMIT, or
  forwards it and cuts before the answer): the outcome is unknown, so
  every range of the batch is thrown away; across two nodes no number is
  handed out twice, and none at or above its row's max_id.

Environment: SEQD_BIN, SEQD_SRCDIR.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from faults import CommitCutter  # noqa: E402
from mariadb import MariaDB  # noqa: E402
from seqd import Getter, RespError, Seqd, check, eq, info, is_tryagain, run_tests, stop_all, wait_for  # noqa: E402

COLD = 3000
CONNS = 4
PIPELINE = 750
BOUND_S = 60
STEP = 100
DB = None


def name_of(prefix, i):
    return "%s%05d" % (prefix, i)


def max_id_of(i):
    return 1 + (i * 7919) % 100003


def fill(prefix, n):
    """n rows prefix00000.. with max_id_of(i) and step STEP; returns the names."""
    names = [name_of(prefix, i) for i in range(n)]
    vals = ",".join("('%s',%d,%d)" % (nm, max_id_of(i), STEP) for i, nm in enumerate(names))
    DB.sql("INSERT INTO seqd_segments (biz_tag, max_id, step) VALUES %s" % vals)
    return names


def node_config(port=None, **mysql):
    return {"log": {"level": "notice"},
            "store": DB.store_config(port=port or DB.port, rescan_s=1, **mysql),
            "segment": {"wait_ms": 10000}}


def start_node(cfg, rows):
    node = Seqd(config=cfg, store="mysql").start(timeout=BOUND_S)
    wait_for(lambda: int(info(node.port, "keyspace").get("db0", "keys=0").split(",")[0][5:]) >= rows,
             BOUND_S, "the node knows the %d rows" % rows)
    return node


def table_rows():
    return int(DB.rows("SELECT COUNT(*) FROM seqd_segments WHERE biz_tag <> ''")[0][0])


def commits():
    return int(DB.rows("SHOW GLOBAL STATUS LIKE 'Com_commit'")[0][1])


def first_gets(port, names, out, retry=False):
    """GET each of names once over CONNS connections, PIPELINE at a time;
    out[name] = the number (with retry: -TRYAGAIN and a cut connection are
    asked again). Problems go to out[None]."""
    batches = [names[i:i + PIPELINE] for i in range(0, len(names), PIPELINE)]
    lock = threading.Lock()
    deadline = time.monotonic() + BOUND_S

    def work():
        g = None
        while time.monotonic() < deadline:
            with lock:
                if not batches:
                    break
                batch = batches.pop()
            got = []
            try:
                if g is None:
                    g = Getter(port, timeout=BOUND_S)
                g.gets(batch, got)
            except (OSError, ValueError) as e:
                if not retry:
                    with lock:
                        out.setdefault(None, []).append(repr(e))
                    break
                if g:
                    g.close()
                g = None
            again = []
            with lock:
                for name, v in zip(batch, got):
                    if isinstance(v, int):
                        out.setdefault(name, []).append(v)
                    elif retry and is_tryagain(v):
                        again.append(name)
                    else:
                        out.setdefault(None, []).append((name, v))
                again += batch[len(got):]
                if again:
                    batches.append(again)
        if g:
            g.close()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(CONNS)]
    for t in threads:
        t.start()
    return threads


def join(threads):
    for t in threads:
        t.join(BOUND_S + 10)
    check(not any(t.is_alive() for t in threads), "a connection of the first GETs hangs")


# ---- 1. batched ---------------------------------------------------------------

def test_pipelined_first_gets_of_cold_names_are_claimed_in_batches():
    names = fill("c", COLD)
    node = start_node(node_config(), table_rows())
    try:
        c0 = commits()
        out = {}
        t0 = time.monotonic()
        join(first_gets(node.port, names, out))
        secs = time.monotonic() - t0
        c1 = commits()
        check(None not in out, "replies that are not numbers: %r" % out.get(None, [])[:5])
        bad = [(n, out.get(n), max_id_of(i)) for i, n in enumerate(names) if out.get(n) != [max_id_of(i)]]
        check(not bad, "%d first GETs are not the row's max_id, e.g. (name, got, max_id) %r" % (len(bad), bad[:5]))
        st = info(node.port, "store")
        batched, batches = int(st["store_claims_batched"]), int(st["store_claim_batches"])
        print("%d cold names in %.2f s (%.0f/s): %d commits, %d claims in %d batches"
              % (COLD, secs, COLD / secs, c1 - c0, batched, batches), flush=True)
        # One claim each, most of them in batches of many: a commit per ten
        # claims at the very most (one each without batching).
        check(batched >= COLD // 2, "claims made in batches: %d of %d" % (batched, COLD))
        check(c1 - c0 <= COLD // 10, "the database committed %d transactions for %d claims" % (c1 - c0, COLD))
        check(batches >= 1 and batched / batches >= 10, "claims per batch: %d / %d" % (batched, batches))
    finally:
        stop_all([node], BOUND_S)


# ---- 2. two nodes, the same cold names ----------------------------------------------

def test_two_nodes_claiming_the_same_cold_names_never_share_a_number():
    names = fill("d", COLD)
    nodes = [start_node(node_config(), table_rows()) for _ in range(2)]
    try:
        out = {}
        threads = []
        for node in nodes:
            threads += first_gets(node.port, names, out)
        join(threads)
        check(None not in out, "replies that are not numbers: %r" % out.get(None, [])[:5])
        # Each node claimed each name once: one range from max_id, the
        # other right after it; which node got which is a race.
        bad = [(n, out.get(n)) for i, n in enumerate(names)
               if sorted(out.get(n, [])) != [max_id_of(i), max_id_of(i) + STEP]]
        check(not bad, "%d names did not get max_id and max_id + step once each, e.g. %r" % (len(bad), bad[:5]))
        batched = sum(int(info(n.port, "store")["store_claims_batched"]) for n in nodes)
        check(batched >= COLD, "claims made in batches by the two nodes: %d" % batched)
    finally:
        stop_all(nodes, BOUND_S)


# ---- 3. a cut at the COMMIT of a batch ---------------------------------------------------

def is_batch_update(pkt):
    """Whether a client packet is the one UPDATE of a batch of claims (a
    COM_QUERY "UPDATE ... CASE"): the COMMIT after it is the batch's."""
    q = pkt[5:].lstrip().upper()
    return pkt[4:5] == b"\x03" and q.startswith(b"UPDATE") and b"CASE" in q


def test_cut_at_the_commit_of_a_batch_hands_out_nothing_twice():
    names = fill("e", COLD)
    # The first 6 batch COMMITs are cut, alternately before the server has
    # them (it rolls back) and after (it commits, the answer never comes).
    proxy = CommitCutter(DB.port, arm=is_batch_update, limit=6)
    proxy.rate = 1.0
    proxy.start()
    nodes = []
    try:
        cfg = node_config(port=proxy.port, connect_timeout_s=2, rw_timeout_s=2)
        nodes = [start_node(cfg, table_rows()) for _ in range(2)]
        out = {}
        # Two rounds on both nodes: first GETs (the batches cut), then one
        # more GET of each name, which the buffers answer.
        for _ in range(2):
            threads = []
            for node in nodes:
                threads += first_gets(node.port, names, out, retry=True)
            join(threads)
        check(None not in out, "replies that are not numbers: %r" % out.get(None, [])[:5])
        eq(proxy.cuts, {"before": 3, "after": 3}, "batch COMMITs cut (before, after the server has it)")
        tops = dict((n, int(v)) for n, v in DB.rows("SELECT biz_tag, max_id FROM seqd_segments "
                                                   "WHERE biz_tag LIKE 'e%'"))
        dups, above, missing = [], [], []
        for n in names:
            got = out.get(n, [])
            if len(got) != 4:
                missing.append((n, got))
            if len(set(got)) != len(got):
                dups.append((n, sorted(got)))
            if any(v >= tops[n] for v in got):
                above.append((n, got, tops[n]))
        check(not dups, "%d names handed out a number twice, e.g. %r" % (len(dups), dups[:5]))
        check(not above, "%d names served a number at or above the row's max_id (a range whose COMMIT "
              "was rolled back), e.g. %r" % (len(above), above[:5]))
        check(not missing, "%d names did not get 4 numbers, e.g. %r" % (len(missing), missing[:5]))
        thrown = [n for i, n in enumerate(names) if min(out[n]) > max_id_of(i)]
        print("cuts %r; %d names lost their first range to an unknown outcome" % (proxy.cuts, len(thrown)),
              flush=True)
        check(any("outcome unknown: range thrown away" in n.log() for n in nodes),
              "a node logs that it threw a batch's ranges away")
    finally:
        stop_all(nodes, BOUND_S)
        proxy.stop()


def main():
    global DB
    DB = MariaDB()
    DB.start()
    try:
        run_tests([
            test_pipelined_first_gets_of_cold_names_are_claimed_in_batches,
            test_two_nodes_claiming_the_same_cold_names_never_share_a_number,
            test_cut_at_the_commit_of_a_batch_hands_out_nothing_twice,
        ])
    finally:
        DB.close()


if __name__ == "__main__":
    main()
