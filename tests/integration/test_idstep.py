#!/usr/bin/env python3
"""test_idstep: id_step / id_offset, disjoint numbers from independent stores.

Two private MariaDB servers (tests/lib/mariadb.py), no replication between
them, each reached by a user with only SELECT, INSERT, UPDATE, DELETE on
the table (the Debian recipe's grants); every node has "id_step": 2, the
nodes on the first server "id_offset": 0, those on the second 1.

* load: two nodes on each server, many client threads taking types 3, 2
  (length 3, so it exhausts) and 1 (length 3) from all four nodes at once,
  until both fixed-length kinds are exhausted: no number twice per
  sequence across all four nodes; every number of type 2 and type 1
  (100..999) handed out exactly once; the first server's nodes hand out
  exactly the numbers of counters 2c, the second's of 2c+1; every node
  then answers "exhausted". (Type 1 needs the same permutation key on both
  servers: the row is copied, as the README says.)
* the reserved row (biz_tag '', id_step in step, id_offset in max_id) is
  written on the first start, and never shows: DBSIZE, INFO keyspace, the
  rescans (no "skipping" warning) and /api/v1/sequences see only the
  sequences; DEL '' and HSET '' never touch it.
* start-up refuses a table whose recorded pair differs from the
  configuration, with the exact message; a table of a seqd before id_step
  (sequences, no reserved row) is refused with id_step 2.
* the file store with id_step 3: three data directories, offsets 0, 1, 2
  (the definitions copied): numbers 10..99 of types 2 and 1 each exactly
  once over the three, offset 2 hands out counters 3c+2 and then says
  exhausted; id_step.json holds the pair; a restart with another pair is
  refused with the exact message, with the recorded pair it continues.

Environment: SEQD_BIN, SEQD_SRCDIR.
"""
import json
import os
import shutil
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from mariadb import MariaDB  # noqa: E402
from seqd import (Client, Collector, RespError, Seqd, check, eq, free_port, run_tests,  # noqa: E402
                  wait_for, wait_rescans)

DBS = []                   # the two MariaDB servers
LIMITED_USER = "seqd_lim"
LIMITED_PW = "lim-pw"


def limited_store(db):
    """The store of a node on db, as the Debian recipe's user."""
    return db.store_config(user=LIMITED_USER, password=LIMITED_PW, rescan_s=1)


def node(db, offset, http=False):
    cfg = {"id_step": 2, "id_offset": offset, "store": limited_store(db),
           "segment": {"default": 20}}
    if http:
        cfg["http"] = {"port": free_port()}
    return Seqd(config=cfg, store="mysql")


def start_must_fail(s, within=15):
    """s must exit non-zero at start-up; returns its log."""
    rc, _, log = s.start_must_fail(within)
    check(rc != 0, "exit code %d" % rc)
    return log


def cmd(s, *args):
    c = Client(s.port)
    try:
        return c.command(*args)
    finally:
        c.close()


def reserved_row(db):
    return db.rows("SELECT step, max_id FROM seqd_segments WHERE biz_tag = ''")


# ---- the two databases ---------------------------------------------------------------

def define_on_both(first):
    """HSET the three sequences through a node of the first server, then copy
    the rows to the second (type 1 must have the same key everywhere)."""
    eq(cmd(first, "HSET", "inc", "type", "3", "segment", "50"), 1, "HSET inc")
    eq(cmd(first, "HSET", "fix", "type", "2", "length", "3", "segment", "20"), 1, "HSET fix")
    eq(cmd(first, "HSET", "rnd", "type", "1", "length", "3", "segment", "20"), 1, "HSET rnd")
    rows = DBS[0].sql("SELECT biz_tag, 0, step, kind, length, `starting`, `increment`, perm_key "
                      "FROM seqd_segments WHERE biz_tag <> '' ORDER BY biz_tag")
    values = ",".join("('%s',%s)" % (r.split("\t")[0], ",".join(r.split("\t")[1:]))
                      for r in rows.splitlines())
    DBS[1].sql("INSERT INTO seqd_segments (biz_tag, max_id, step, kind, length, `starting`, "
               "`increment`, perm_key) VALUES " + values)


def test_two_databases_id_step_2_no_duplicates_and_exact_exhaustion():
    a1, a2 = node(DBS[0], 0, http=True).start(), node(DBS[0], 0).start()
    define_on_both(a1)
    b1, b2 = node(DBS[1], 1).start(), node(DBS[1], 1).start()
    nodes = [a1, a2, b1, b2]
    eq([r for r in reserved_row(DBS[0])], [["2", "0"]], "the first server's reserved row")
    eq([r for r in reserved_row(DBS[1])], [["2", "1"]], "the second server's reserved row")
    eq(a1.info("server").get("id_step"), "2", "INFO server id_step")
    eq(b1.info("server").get("id_offset"), "1", "INFO server id_offset")

    names = ["inc", "fix", "rnd"]
    stop = threading.Event()
    cols = [Collector([n.port for n in nodes], names, stop, pipeline=8, start_at=i)
            for i in range(8)]
    for c in cols:
        c.start()

    def exhausted_everywhere():
        per = {}
        for c in cols:
            for _, k, name, v in c.errors:
                if isinstance(v, RespError) and "exhausted" in v:
                    per.setdefault(name, set()).add(k)
        return per.get("fix") == {0, 1, 2, 3} and per.get("rnd") == {0, 1, 2, 3}
    try:
        wait_for(exhausted_everywhere, 120, "types 2 and 1 exhausted on all four nodes")
    finally:
        stop.set()
        for c in cols:
            c.join(30)
    for c in cols:
        check(c.exc is None, "collector failed: %r" % c.exc)
        bad = [e for e in c.errors if "exhausted" not in e[3]]
        check(not bad, "errors other than exhausted: %r" % bad[:5])

    got = {name: {0: [], 1: []} for name in names}      # server -> numbers
    for c in cols:
        for (_, k, name), nums in c.got.items():
            got[name][0 if k < 2 else 1].extend(nums)
    total = 0
    for name in names:
        every = got[name][0] + got[name][1]
        total += len(every)
        eq(len(every), len(set(every)), "%s: numbers handed out twice" % name)
    for name in ("fix", "rnd"):
        eq(sorted(got[name][0] + got[name][1]), list(range(100, 1000)),
           "%s: every number of length 3 exactly once over both servers" % name)
    # type 2 from 100 by 1: counter 2c (first server) gives even numbers.
    check(all(n % 2 == 0 for n in got["fix"][0]) and all(n % 2 == 1 for n in got["fix"][1]),
          "fix: a server handed out a number of the other's counters")
    # type 3 from 1 by 1: counter 2c gives 2c+1 (odd), 2c+1 gives 2c+2 (even).
    check(all(n % 2 == 1 for n in got["inc"][0]) and all(n % 2 == 0 for n in got["inc"][1]),
          "inc: a server handed out a number of the other's counters")
    eq(len(got["rnd"][0]), 450, "rnd: numbers of the first server")
    for s in nodes:
        for name in ("fix", "rnd"):
            r = cmd(s, "GET", name)
            check(isinstance(r, RespError) and str(r) == "ERR sequence '%s' is exhausted" % name,
                  "GET %s after the end: %r" % (name, r))
    info = a1.info("rnd")
    eq((info.get("id_step"), info.get("id_offset")), ("2", "0"), "INFO rnd shows the mapping")
    print("numbers checked: %d (inc %d, fix %d, rnd %d); duplicates: 0"
          % (total, len(got["inc"][0] + got["inc"][1]), 900, 900))

    # ---- the reserved row never shows ------------------------------------------
    wait_rescans(a1, 2)
    eq(cmd(a1, "DBSIZE"), 3, "DBSIZE")
    eq(a1.info("keyspace").get("db0"), "keys=3,expires=0,avg_ttl=0", "INFO keyspace")
    check("skipping" not in a1.log(), "a rescan warned about a row:\n" + a1.log_tail())
    with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/sequences" % a1.config["http"]["port"],
                                timeout=10) as r:
        listed = sorted(s["name"] for s in json.load(r)["sequences"])
    eq(listed, ["fix", "inc", "rnd"], "/api/v1/sequences")
    eq(cmd(a1, "DEL", ""), 0, "DEL ''")
    check(isinstance(cmd(a1, "HSET", "", "type", "3"), RespError), "HSET '' must be refused")
    eq(cmd(a1, "EXISTS", ""), 0, "EXISTS ''")
    eq(reserved_row(DBS[0]), [["2", "0"]], "the reserved row after DEL/HSET ''")
    for s in nodes:
        s.stop()


def test_mysql_start_refused_when_the_pair_differs():
    s = node(DBS[0], 1)
    log = start_must_fail(s)
    want = ("cannot open the mysql store: table seqd.seqd_segments (the row with biz_tag '') "
            "records id_step 2, id_offset 0, but the configuration says id_step 2, id_offset 1: "
            "a store keeps the pair it was started with, since changing it on a store that has "
            "handed out numbers could hand one out again; set \"id_step\": 2, \"id_offset\": 0 "
            "in the configuration, or give the new pair an empty store")
    check(want in log, "want %r in the log:\n%s" % (want, s.log_tail()))
    s = Seqd(config={"id_step": 3, "id_offset": 0, "store": limited_store(DBS[1])}, store="mysql")
    log = start_must_fail(s)
    check("records id_step 2, id_offset 1, but the configuration says id_step 3, id_offset 0"
          in log, s.log_tail())
    s = Seqd(config={"store": limited_store(DBS[1])}, store="mysql")      # the defaults 1, 0
    log = start_must_fail(s)
    check("set \"id_step\": 2, \"id_offset\": 1" in log, s.log_tail())


def test_mysql_table_of_a_seqd_before_id_step():
    """Claims and no reserved row: served with 1, 0 before; id_step 2 is
    refused, the defaults record 1, 0."""
    DBS[1].sql("CREATE TABLE old_segments LIKE seqd_segments; "
               "INSERT INTO old_segments (biz_tag, max_id, step) VALUES ('msg', 1, 10); "
               "GRANT SELECT, INSERT, UPDATE, DELETE ON seqd.old_segments TO '%s'@'127.0.0.1'"
               % LIMITED_USER)
    store = limited_store(DBS[1])
    store["mysql"]["table"] = "old_segments"
    s = Seqd(config={"id_step": 2, "id_offset": 1, "store": store}, store="mysql")
    log = start_must_fail(s)
    check("table seqd.old_segments (the row with biz_tag '') has handed out numbers but records no "
          "id_step/id_offset, so they were handed out with id_step 1, id_offset 0; the "
          "configuration says id_step 2, id_offset 1" in log, s.log_tail())
    eq(DBS[1].rows("SELECT COUNT(*) FROM old_segments WHERE biz_tag = ''"), [["0"]],
       "nothing recorded by a refused start")
    with Seqd(config={"store": store}, store="mysql") as s:
        eq(cmd(s, "INCR", "msg"), 1, "INCR msg")
    eq(DBS[1].rows("SELECT step, max_id FROM old_segments WHERE biz_tag = ''"), [["1", "0"]],
       "the defaults recorded")


# ---- the file store ------------------------------------------------------------------

def take_all(s, name, limit=200):
    """GET name until it is exhausted: the numbers."""
    c = Client(s.port)
    out = []
    try:
        for _ in range(limit):
            r = c.command("GET", name)
            if isinstance(r, RespError):
                eq(str(r), "ERR sequence '%s' is exhausted" % name, "GET %s" % name)
                return out
            out.append(int(r))
    finally:
        c.close()
    raise AssertionError("%s not exhausted after %d numbers" % (name, limit))


def test_file_store_id_step_3():
    groups = [Seqd(config={"id_step": 3, "id_offset": k, "segment": {"default": 4}}) for k in range(3)]
    g0 = groups[0].start()
    eq(cmd(g0, "HSET", "fix", "type", "2", "length", "2"), 1, "HSET fix")
    eq(cmd(g0, "HSET", "rnd", "type", "1", "length", "2"), 1, "HSET rnd")
    eq(cmd(g0, "HSET", "inc", "type", "3", "starting", "0"), 1, "HSET inc")
    g0.stop()
    for g in groups[1:]:
        shutil.copytree(os.path.join(g0.datadir, "seq"), os.path.join(g.datadir, "seq"))
    for g in groups:
        g.start()
    with open(os.path.join(groups[2].datadir, "id_step.json")) as f:
        eq(json.load(f), {"id_step": 3, "id_offset": 2}, "id_step.json of offset 2")

    fix, rnd = {}, {}
    for k, g in enumerate(groups):
        fix[k] = take_all(g, "fix")
        rnd[k] = take_all(g, "rnd")
        eq(fix[k], list(range(10 + k, 100, 3)), "fix of offset %d: counters 3c+%d" % (k, k))
        eq(len(rnd[k]), 30, "rnd of offset %d" % k)
        eq([int(cmd(g, "GET", "inc")) for _ in range(3)], [k, 3 + k, 6 + k], "inc of offset %d" % k)
    eq(sorted(sum(rnd.values(), [])), list(range(10, 100)), "rnd: 10..99 once over three stores")

    # A restart with another pair is refused; with the recorded one it goes on.
    g2 = groups[2]
    g2.stop()
    bad = Seqd(config={"id_step": 3, "id_offset": 1}, datadir=g2.datadir)
    log = start_must_fail(bad)
    want = ("cannot open the file store: store.dir %s (id_step.json) records id_step 3, id_offset 2, "
            "but the configuration says id_step 3, id_offset 1: a store keeps the pair it was "
            "started with, since changing it on a store that has handed out numbers could hand one "
            "out again; set \"id_step\": 3, \"id_offset\": 2 in the configuration, or give the new "
            "pair an empty store" % g2.datadir)
    check(want in log, "want %r in the log:\n%s" % (want, bad.log_tail()))
    g2.start()
    eq(int(cmd(g2, "GET", "inc")), 11, "inc of offset 2 after the restart (gave back, goes on)")
    eq(cmd(g2, "GET", "fix"), RespError("ERR sequence 'fix' is exhausted"), "fix after the restart")
    for g in groups:
        g.stop()


def main():
    t0 = time.monotonic()
    dbs = [MariaDB(), MariaDB()]
    threads = [threading.Thread(target=db.start) for db in dbs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for db in dbs:
        check(db.running(), "MariaDB did not start:\n" + db.log_tail())
        db.sql("CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s'; "
               "GRANT SELECT, INSERT, UPDATE, DELETE ON seqd.seqd_segments TO '%s'@'127.0.0.1'"
               % (LIMITED_USER, LIMITED_PW, LIMITED_USER))
    DBS.extend(dbs)
    print("two MariaDB servers (%d, %d) ready in %.1f s" % (dbs[0].port, dbs[1].port,
                                                         time.monotonic() - t0), flush=True)
    try:
        run_tests([
            test_two_databases_id_step_2_no_duplicates_and_exact_exhaustion,
            test_mysql_start_refused_when_the_pair_differs,
            test_mysql_table_of_a_seqd_before_id_step,
            test_file_store_id_step_3,
        ])
    finally:
        for db in dbs:
            db.close()


if __name__ == "__main__":
    main()
