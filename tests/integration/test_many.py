#!/usr/bin/env python3
"""test_many: seqd on a MySQL table of many sequences (the small version
of contrib/bench-million.py; behaviour only, no timing thresholds beyond
generous sanity bounds).

One private MariaDB server (tests/lib/mariadb.py) for the whole file,
filled with ROWS plain rows the Leaf way, (biz_tag, max_id, step), with
max_id and step varying from row to row, so that every first number is
known: for such a row it is max_id.

* start-up does not wait for the table: with its load slowed down the
  node listens, says store_loading:1, serves a row it has not read yet,
  and then knows every row.
* start-up and rescans, two nodes (rescan_s 1): each starts and knows
  every row (INFO keyspace); a row INSERTed by SQL among them is seen by
  both through the rescan alone (nobody asks for it), then served from its
  max_id; a DELETEd row both nodes held buffers of disappears (EXISTS 0, GET
  no such sequence); a row redefined by SQL (type 3 -> type 2 length 12
  starting 10^11) while both held buffers of it is shown by both with its
  new definition and served as one: 10^11 + max_id, 12 digits.
* cold GETs and give-back, one node: the first GETs of COLD distinct
  names nobody touched, pipelined (8 connections, 1000 per round trip),
  all succeed with the row's max_id; after a graceful stop every touched
  row's max_id is exactly the next number (the node gave everything back,
  and its log line says how much: the sum of what each row went back by,
  0 wasted), and after a restart the next GET continues there.

Prints its timings (start-up, rescan, cold GETs per second, stop).

Environment: SEQD_BIN, SEQD_SRCDIR; SEQD_MANY_ROWS (rows, default 50000),
SEQD_MANY_COLD (cold names, default 10000, at most half the rows).
"""
import functools
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import seqd  # noqa: E402
from mariadb import MariaDB  # noqa: E402
from seqd import Getter, RespError, Seqd, eq, info, keys, run_tests, stop_all, wait_for  # noqa: E402

ROWS = int(os.environ.get("SEQD_MANY_ROWS", "50000"))
COLD = min(int(os.environ.get("SEQD_MANY_COLD", "10000")), ROWS // 2)
CONNS = 8
PIPELINE = 1000
BOUND_S = 60            # sanity bound of every wait: no timing is asserted
COLD_BOUND_S = 180      # ... and of the cold GETs (~700 names/s on a busy 2-CPU machine)
STEPS = (100, 1000, 5000)
FIXED_LO = 10 ** 11     # type 2 length 12: the first 12-digit number
GONE, REDEF = ROWS - 1, ROWS - 2    # the rows test 1 deletes and redefines (not cold)
DB = None


def name_of(i):
    return "m%06d" % i


def max_id_of(i):
    """The max_id the row of name_of(i) is inserted with."""
    return 1 + (i * 7919) % 1000003


def step_of(i):
    return STEPS[i % len(STEPS)]


def fill_table():
    """ROWS rows, multi-row INSERTs of 5000 in one client run."""
    stmts = []
    for lo in range(1, ROWS + 1, 5000):
        vals = ",".join("('%s',%d,%d)" % (name_of(i), max_id_of(i), step_of(i))
                        for i in range(lo, min(lo + 5000, ROWS + 1)))
        stmts.append("INSERT INTO seqd_segments (biz_tag, max_id, step) VALUES %s;" % vals)
    DB.sql("\n".join(stmts))
    eq(table_rows(), ROWS, "rows in the table")


def node_config():
    # wait_ms 10 s: a slow CI database answers -TRYAGAIN less readily; the
    # test is about what is served, not how fast.
    return {"log": {"level": "notice"},
            "store": DB.store_config(rescan_s=1),
            "segment": {"wait_ms": 10000}}


cmd = functools.partial(seqd.cmd, timeout=BOUND_S)     # one command, bounded by BOUND_S


def table_rows():
    """Sequences in the table (the reserved id_step row is none)."""
    return int(DB.rows("SELECT COUNT(*) FROM seqd_segments WHERE biz_tag <> ''")[0][0])


def start_node():
    """A node on the table, started and knowing every row; returns (node,
    seconds to listen, seconds to know every row)."""
    want = table_rows()
    node = Seqd(config=node_config(), store="mysql")
    t0 = time.monotonic()
    node.start(timeout=BOUND_S, loaded=False)
    t_listen = time.monotonic() - t0
    wait_for(lambda: keys(node.port) >= want, BOUND_S, "the node knows the %d rows" % want,
             detail=lambda: "keys %d; log:\n%s" % (keys(node.port), node.log_tail()))
    t_known = time.monotonic() - t0
    eq(keys(node.port), want, "INFO keyspace after start-up")
    return node, t_listen, t_known


def table_max_ids(names):
    """{name: max_id} of the rows of names (one SELECT per 5000)."""
    out = {}
    for lo in range(0, len(names), 5000):
        part = names[lo:lo + 5000]
        for name, v in DB.rows("SELECT biz_tag, max_id FROM seqd_segments WHERE biz_tag IN (%s)"
                               % ",".join("'%s'" % n for n in part)):
            out[name] = int(v)
    return out


# ---- 0. start-up does not wait for the definitions ----------------------------

def test_listens_before_the_definitions_are_loaded():
    """The load of the table after start-up is made slow (store.test_delay_ms,
    which delays it and every claim by 3 s): the node listens before it has
    read a row, says so (store_loading:1), serves a row it has not read yet
    (looked up on first use), and then knows every row, that one included,
    which it goes on serving from its buffers."""
    cfg = node_config()
    cfg["store"] = dict(cfg["store"], test_delay_ms=3000)
    node = Seqd(config=cfg, store="mysql")
    try:
        node.start(timeout=BOUND_S, loaded=False)
        st = info(node.port, "store")
        eq(st.get("store_loading"), "1", "INFO store_loading right after the port opened")
        assert keys(node.port) < ROWS, "the node knew every row before the slowed load ran"
        i = ROWS - 3         # no other test touches it
        eq(cmd(node.port, "GET", name_of(i)), str(max_id_of(i)), "GET of a row not loaded yet")
        seqd.wait_info(node, "store", "store_loading", lambda v: v == "0", BOUND_S, "the load completes")
        eq(keys(node.port), table_rows(), "INFO keyspace after the load")
        seqd.wait_log(node, "loaded %d sequences from the store" % table_rows(), timeout=BOUND_S)
        eq(cmd(node.port, "GET", name_of(i)), str(max_id_of(i) + 1), "the next GET, from the same buffers")
    finally:
        stop_all([node], BOUND_S)


# ---- 1. start-up and rescans, two nodes ----------------------------------------

def test_two_nodes_start_and_follow_insert_delete_redefine():
    nodes = []
    try:
        for _ in range(2):
            node, t_listen, t_known = start_node()
            nodes.append(node)
            print("start-up with %d rows: listening after %.2f s, every row known after %.2f s"
                  % (ROWS, t_listen, t_known), flush=True)
        a, b = nodes
        gone, redef = GONE, REDEF
        gone_name, redef_name = name_of(gone), name_of(redef)
        # Both nodes hold buffers of the two rows that will change.
        eq(cmd(a.port, "GET", gone_name), str(max_id_of(gone)), "first GET of %s" % gone_name)
        eq(cmd(a.port, "GET", redef_name), str(max_id_of(redef)), "first GET of %s" % redef_name)
        eq(cmd(b.port, "GET", gone_name), str(max_id_of(gone) + step_of(gone)),
           "node b's first GET of %s (the next claim)" % gone_name)
        eq(cmd(b.port, "GET", redef_name), str(max_id_of(redef) + step_of(redef)),
           "node b's first GET of %s" % redef_name)

        # An INSERT: nobody asks for the name, only the rescan brings it.
        DB.sql("INSERT INTO seqd_segments (biz_tag, max_id, step) VALUES ('many_new', 4242, 1000)")
        t0 = time.monotonic()
        wait_for(lambda: all(keys(n.port) == ROWS + 1 for n in nodes), BOUND_S,
                 "both nodes know the inserted row (INFO keyspace %d)" % (ROWS + 1),
                 detail=lambda: "keys: %r" % [keys(n.port) for n in nodes])
        print("rescan: the inserted row known by both nodes after %.1f s" % (time.monotonic() - t0))
        for node in nodes:
            eq(cmd(node.port, "EXISTS", "many_new"), 1, "EXISTS many_new")
        eq(cmd(a.port, "GET", "many_new"), "4242", "first GET of the inserted row")
        eq(cmd(b.port, "GET", "many_new"), "5242", "node b's first GET of the inserted row")

        # A DELETE and a redefinition, both of rows the nodes hold buffers of.
        DB.sql("DELETE FROM seqd_segments WHERE biz_tag = '%s'; "
               "UPDATE seqd_segments SET kind = 2, length = 12, `starting` = %d "
               "WHERE biz_tag = '%s'" % (gone_name, FIXED_LO, redef_name))
        redef_max = int(DB.rows("SELECT max_id FROM seqd_segments WHERE biz_tag = '%s'"
                                % redef_name)[0][0])
        t0 = time.monotonic()

        def caught_up():
            for node in nodes:
                if keys(node.port) != ROWS:
                    return False
                f = info(node.port, redef_name)
                if (f.get("type"), f.get("length"), f.get("starting")) != ("2", "12", str(FIXED_LO)):
                    return False
            return True
        wait_for(caught_up, BOUND_S, "both nodes drop %s and show %s as type 2 length 12"
                 % (gone_name, redef_name),
                 detail=lambda: "keys %r; %s" % ([keys(n.port) for n in nodes],
                                                 [info(n.port, redef_name).get("type") for n in nodes]))
        print("rescan: the delete and the redefinition seen by both nodes after %.1f s"
              % (time.monotonic() - t0))
        for node in nodes:
            eq(cmd(node.port, "EXISTS", gone_name), 0, "EXISTS %s after its DELETE" % gone_name)
            r = cmd(node.port, "GET", gone_name)
            assert isinstance(r, RespError) and "no such sequence '%s'" % gone_name in r, \
                "GET of a deleted row (the node held buffers of it): %r" % r
        got_a = int(cmd(a.port, "GET", redef_name))
        got_b = int(cmd(b.port, "GET", redef_name))
        eq(got_a, FIXED_LO + redef_max, "node a's first GET of %s after the redefinition" % redef_name)
        eq(got_b, FIXED_LO + redef_max + step_of(redef), "node b's first GET after the redefinition")
        eq(cmd(a.port, "INCR", redef_name), got_a + 1, "node a's next number")
        eq(keys(a.port), ROWS, "INFO keyspace after the rescans")
    finally:
        stop_all(nodes, BOUND_S)
        # The next test wants the table as inserted.
        DB.sql("DELETE FROM seqd_segments WHERE biz_tag IN ('many_new', '%s', '%s'); "
               "INSERT INTO seqd_segments (biz_tag, max_id, step) VALUES ('%s',%d,%d),('%s',%d,%d)"
               % (name_of(GONE), name_of(REDEF), name_of(GONE), max_id_of(GONE), step_of(GONE),
                  name_of(REDEF), max_id_of(REDEF), step_of(REDEF)))


# ---- 2. cold GETs, graceful stop gives back everything ------------------------

def cold_gets(port, names):
    """The first GET of each name: CONNS connections take batches of
    PIPELINE in turn. Returns ({name: reply}, seconds)."""
    batches = [names[i:i + PIPELINE] for i in range(0, len(names), PIPELINE)]
    batches.reverse()
    lock = threading.Lock()
    got = {}
    problems = []
    deadline = time.monotonic() + COLD_BOUND_S

    def work():
        try:
            g = Getter(port, timeout=BOUND_S)
            try:
                while time.monotonic() < deadline:
                    with lock:
                        if not batches:
                            return
                        batch = batches.pop()
                    out = g.gets(batch, [])
                    with lock:
                        got.update(zip(batch, out))
            finally:
                g.close()
        except (OSError, ValueError) as e:
            problems.append(e)

    t0 = time.monotonic()
    threads = [threading.Thread(target=work, daemon=True) for _ in range(CONNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(COLD_BOUND_S + BOUND_S)
    elapsed = time.monotonic() - t0
    assert not any(t.is_alive() for t in threads), "a connection of the cold GETs hangs"
    assert not problems, "cold GETs: %r" % problems[:3]
    return got, elapsed


def test_cold_gets_then_graceful_stop_gives_back_everything():
    node, t_listen, t_known = start_node()
    try:
        print("start-up with %d rows: listening after %.2f s, every row known after %.2f s"
              % (ROWS, t_listen, t_known), flush=True)
        indexes = list(range(1, COLD + 1))
        names = [name_of(i) for i in indexes]
        got, secs = cold_gets(node.port, names)
        print("cold GETs: %d distinct names, %d connections x %d per round trip, in %.1f s "
              "(%.0f names/s)" % (len(names), CONNS, PIPELINE, secs, len(names) / secs), flush=True)
        eq(len(got), len(names), "names answered within %d s" % COLD_BOUND_S)
        bad = [(n, got[n], max_id_of(i)) for i, n in zip(indexes, names) if got[n] != max_id_of(i)]
        assert not bad, "%d first GETs are not the row's max_id; e.g. (name, got, max_id) %r" % (
            len(bad), bad[:5])
        eq(info(node.port, "keyspace").get("db0", "").split(",")[0], "keys=%d" % table_rows(),
           "INFO keyspace after the cold GETs")

        before = table_max_ids(names)
        mark = len(node.log())
        t0 = time.monotonic()
        eq(node.stop(timeout=BOUND_S), 0, "exit code of the graceful stop")
        stop_s = time.monotonic() - t0
        log = node.log()[mark:]
        m = re.search(r"gave back (\d+) unused numbers to the store; (\d+) wasted", log)
        assert m, "no give-back line in the log:\n%s" % node.log_tail()
        print("graceful stop after %d names touched: %.1f s; %s" % (len(names), stop_s, m.group(0)),
              flush=True)

        after = table_max_ids(names)
        wrong = [(n, after.get(n), max_id_of(i) + 1) for i, n in zip(indexes, names)
                 if after.get(n) != max_id_of(i) + 1]
        assert not wrong, ("%d touched rows were not given back to the next number; e.g. "
                           "(name, max_id, next number) %r" % (len(wrong), wrong[:5]))
        given = sum(before[n] - after[n] for n in names)
        eq((int(m.group(1)), int(m.group(2))), (given, 0),
           "the give-back log line (numbers back, wasted) vs what the rows went back by")

        # After a restart the next GET continues exactly where it stopped.
        node.start(timeout=BOUND_S)
        sample = indexes[::max(1, len(indexes) // 200)]
        g = Getter(node.port, timeout=BOUND_S)
        try:
            cont = g.gets([name_of(i) for i in sample], [])
        finally:
            g.close()
        bad = [(name_of(i), v, max_id_of(i) + 1) for i, v in zip(sample, cont) if v != max_id_of(i) + 1]
        assert not bad, "after the restart, (name, got, want) %r" % bad[:5]
    finally:
        stop_all([node], BOUND_S)


def main():
    global DB
    t0 = time.monotonic()
    DB = MariaDB()
    DB.start()
    fill_table()
    print("MariaDB %d ready with %d rows in %.1f s" % (DB.port, ROWS, time.monotonic() - t0),
          flush=True)
    try:
        run_tests([
            test_listens_before_the_definitions_are_loaded,
            test_two_nodes_start_and_follow_insert_delete_redefine,
            test_cold_gets_then_graceful_stop_gives_back_everything,
        ])
    finally:
        DB.close()


if __name__ == "__main__":
    main()
