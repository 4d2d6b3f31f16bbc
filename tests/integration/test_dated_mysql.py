#!/usr/bin/env python3
"""test_dated_mysql: type 4 (dated numbers) on the mysql store, several
nodes on one table of a private MariaDB, each node's wall clock driven by
libfaketime (test_dated's Clock and ClockedSeqd).

* two nodes on one clock cross midnight together: one row, whose period
  moves once; the new day starts at `starting`; the numbers each node
  still held for the old day are its `wasted`; and under load across
  midnight: disjoint numbers, no connection sees the old day after the new.
* a node whose clock is behind serves the row's newer period (after its
  buffer of the old day ends), disjoint from the node that moved the row.
* the clock of one node set back over midnight, under load, and that node
  restarted with its clock behind: no duplicate, never the old day again.
* a graceful stop's give-back never undoes another node's claim across a
  period change (the row moved on while the stopping node held the old
  day's top), and within one period it still gives the tail back.
* a table made by the schema before types 4 and 5 (seqd's columns up to
  auto_disk) serves types 1 to 3 and refuses 4 and 5 (HSET, and a row of
  kind 4 put in by hand) with the upgrade message; a table with some of
  the four columns does not start; after sql/upgrade-kinds.sql, run twice
  with the real client, types 4 and 5 work on it and 1 to 3 go on.

Every number the tests check and every clock change they make is counted
and printed at the end. Environment: SEQD_BIN, SEQD_SRCDIR.
"""
import calendar
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mariadb import MariaDB, repo_root  # noqa: E402
from seqd import Client, Collector, RespError, collected, run_tests, wait_for  # noqa: E402
from test_dated import DAY1, DAY2, Clock, ClockedSeqd, hset, info_of, left, need_faketime, settled  # noqa: E402

DB = None
CHECKED = {"numbers": 0, "clock_events": 0}
DAY1_KEY = calendar.timegm((2026, 12, 2, 0, 0, 0))
DAY2_KEY = calendar.timegm((2026, 12, 3, 0, 0, 0))

# seqd's columns as sql/schema.sql made them before types 4 and 5.
OLD_TABLE = """CREATE TABLE `%s` (
    `biz_tag`     VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    `max_id`      BIGINT NOT NULL DEFAULT 1,
    `step`        INT NOT NULL,
    `description` VARCHAR(256) DEFAULT '',
    `update_time` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    `kind`        TINYINT NOT NULL DEFAULT 3,
    `length`      TINYINT NOT NULL DEFAULT 0,
    `starting`    BIGINT NOT NULL DEFAULT 0,
    `increment`   BIGINT NOT NULL DEFAULT 1,
    `perm_key`    BIGINT UNSIGNED NOT NULL DEFAULT 0,
    `auto_disk`   VARCHAR(16) NOT NULL DEFAULT ''%s,
    PRIMARY KEY (`biz_tag`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"""


class CountedClock(Clock):
    """A Clock whose moves (after the first setting) are counted."""

    def __init__(self, when):
        self.moves = -1
        super().__init__(when)

    def set(self, when):
        super().set(when)
        self.moves += 1
        if self.moves > 0:
            CHECKED["clock_events"] += 1


def node(clock, table="seqd_segments", **segment):
    cfg = {"store": DB.store_config(table=table), "segment": dict({"duration_s": 900}, **segment)}
    return ClockedSeqd(clock, config=cfg).start()


def row_of(name, table="seqd_segments"):
    """(max_id, period) of the sequence's row, and how many rows it has."""
    rows = DB.rows("SELECT max_id, period FROM `%s` WHERE biz_tag = '%s'" % (table, name))
    assert len(rows) == 1, "rows of %s: %r" % (name, rows)
    return int(rows[0][0]), int(rows[0][1])


def day_of(number, digits):
    return number // 10 ** digits


def no_duplicates(numbers, what):
    CHECKED["numbers"] += len(numbers)
    dup = len(numbers) - len(set(numbers))
    assert dup == 0, "%s: %d duplicates" % (what, dup)


def gets(c, name, n):
    return [c.command("GET", name) for _ in range(n)]


def never_back(cols, digits, day_new):
    """On every connection, once the new day was seen the old never returns."""
    for col in cols:
        for nums in col.got.values():
            seen = False
            for v in nums:
                seen = seen or day_of(v, digits) == day_new
                assert not (seen and day_of(v, digits) != day_new), "the old day after the new one"


def run_load(cols, seconds_limit=60):
    for col in cols:
        col.deadline = time.monotonic() + seconds_limit
        col.start()


def end_load(stop, cols):
    stop.set()
    for col in cols:
        col.join(30)
        assert not col.is_alive() and col.exc is None, col.exc
        assert not [e for e in col.errors if not str(e[3]).startswith("TRYAGAIN")], col.errors[:3]
    return [v for col in cols for v in col.numbers()]


def test_two_nodes_cross_midnight_together():
    need_faketime()
    clock = CountedClock(DAY1 + " 23:59:58")
    a, b = node(clock), node(clock)
    ca, cb = Client(a.port), Client(b.port)
    hset(ca, "pair", "type", "4", "prefix", "%y%m%d", "length", "4", "starting", "7", "segment", "10")
    day1 = gets(ca, "pair", 3) + gets(cb, "pair", 3)
    assert day1[:3] == ["2612020007", "2612020008", "2612020009"], day1
    ia, ib = settled(ca, "pair"), settled(cb, "pair")
    buffered = [left(i, "segment_current") + left(i, "segment_next") for i in (ia, ib)]
    assert min(buffered) > 0, (ia, ib)
    assert row_of("pair")[1] == DAY1_KEY

    clock.set(DAY2 + " 00:00:01")                       # both nodes at once
    day2 = [ca.command("GET", "pair"), cb.command("GET", "pair"), ca.command("GET", "pair"),
            cb.command("GET", "pair")]
    assert day2[0] == "2612030007", day2                # the new day starts at `starting`
    assert all(n.startswith("261203") for n in day2), day2
    for c, want in ((ca, buffered[0]), (cb, buffered[1])):
        i = info_of(c, "pair")
        assert int(i["wasted"]) == want, "wasted %s, buffered %d" % (i["wasted"], want)
        assert i["period"] == DAY2 + "T00:00:00+00:00" and i["periods"] == "2", i
    max_id, period = row_of("pair")                     # one row, in the new day
    assert period == DAY2_KEY and max_id >= 20, (max_id, period)
    no_duplicates(day1 + day2, "two nodes at midnight")

    # Under load across the next midnight: both nodes at once, one clock.
    clock.set(DAY2 + " 23:59:59")
    hset(ca, "busy", "type", "4", "prefix", "%y%m%d", "length", "6", "segment", "50")
    stop = threading.Event()
    cols = [Collector([a.port, b.port], ["busy"], stop, start_at=k, pipeline=8) for k in range(4)]
    run_load(cols)
    wait_for(lambda: collected(cols) >= 3000, 20, "3000 numbers of day 2")
    clock.set("2026-12-04 00:00:01")
    wait_for(lambda: sum(1 for col in cols for v in col.numbers() if day_of(v, 6) == 261204) >= 3000, 20,
             "3000 numbers of day 3")
    got = end_load(stop, cols)
    no_duplicates(got, "two nodes crossing midnight under load")
    never_back(cols, 6, 261204)
    day3 = sorted(v for v in got if day_of(v, 6) == 261204)
    assert day3[0] == 261204000001, day3[0]
    assert {k[1] for col in cols for k, nums in col.got.items() if any(day_of(v, 6) == 261204 for v in nums)} \
        == {0, 1}, "both nodes served day 3"
    assert row_of("busy")[1] == calendar.timegm((2026, 12, 4, 0, 0, 0))
    wasted = [int(info_of(c, "busy")["wasted"]) for c in (ca, cb)]
    assert min(wasted) > 0, wasted
    print("  two nodes, one clock: %d numbers under load (%d of the new day), wasted %s, 0 duplicates"
          % (len(got), len(day3), wasted), flush=True)
    ca.close()
    cb.close()
    assert a.stop() == 0 and b.stop() == 0


def test_node_with_clock_behind_serves_the_newer_period():
    need_faketime()
    ahead, behind = CountedClock(DAY1 + " 23:59:50"), CountedClock(DAY1 + " 23:59:50")
    a, b = node(ahead), node(behind)
    ca, cb = Client(a.port), Client(b.port)
    hset(ca, "lag", "type", "4", "prefix", "%y%m%d", "length", "4", "segment", "5")
    first_b = gets(cb, "lag", 2)
    assert first_b == ["2612020001", "2612020002"], first_b
    settled(cb, "lag")

    ahead.set(DAY2 + " 00:00:05")                       # a's clock passes midnight, b's does not
    got_a = gets(ca, "lag", 5)
    assert got_a[0] == "2612030001", got_a              # a moves the row to day 2
    # b serves its day 1 buffer, then the row's day 2, never day 1 again.
    got_b = gets(cb, "lag", 40)
    days = [n[:6] for n in got_b]
    assert "261203" in days and days == sorted(days), got_b
    i = info_of(cb, "lag")
    assert i["period"] == DAY2 + "T00:00:00+00:00", i
    got_a += gets(ca, "lag", 20)
    assert row_of("lag")[1] == DAY2_KEY
    everything = first_b + got_a + got_b
    no_duplicates(everything, "a node with its clock behind")
    print("  clock behind: %d numbers, b served %d of day 2 with its clock in day 1, 0 duplicates"
          % (len(everything), days.count("261203")), flush=True)
    ca.close()
    cb.close()
    assert a.stop() == 0 and b.stop() == 0


def test_clock_set_back_over_midnight_on_one_node():
    need_faketime()
    ca_clock, cb_clock = CountedClock(DAY1 + " 23:59:59"), CountedClock(DAY1 + " 23:59:59")
    a, b = node(ca_clock), node(cb_clock)
    c = Client(a.port)
    hset(c, "back", "type", "4", "prefix", "%y%m%d", "length", "6", "segment", "40")
    c.close()
    stop = threading.Event()
    cols = [Collector([a.port, b.port], ["back"], stop, start_at=k, pipeline=8) for k in range(4)]
    run_load(cols)
    wait_for(lambda: collected(cols) >= 2000, 20, "2000 numbers of day 1")
    ca_clock.set(DAY2 + " 00:00:01")
    cb_clock.set(DAY2 + " 00:00:01")
    mark = collected(cols)
    wait_for(lambda: collected(cols) >= mark + 2000, 20, "2000 numbers of day 2")
    ca_clock.set(DAY1 + " 23:59:59")                    # a goes back over midnight
    mark = collected(cols)
    wait_for(lambda: collected(cols) >= mark + 3000, 20, "3000 numbers with a's clock set back")
    got = end_load(stop, cols)
    never_back(cols, 6, 261203)

    # a restarts with its clock still behind: the row is in day 2.
    assert a.stop() == 0
    ca_clock.set(DAY1 + " 23:59:30")
    a.start()
    ca, cb = Client(a.port), Client(b.port)
    after = [int(n) for n in gets(ca, "back", 30) + gets(cb, "back", 30)]
    assert all(day_of(n, 6) == 261203 for n in after), after
    assert info_of(ca, "back")["period"] == DAY2 + "T00:00:00+00:00"
    everything = got + after
    no_duplicates(everything, "a clock set back over midnight")
    assert min(v for v in everything if day_of(v, 6) == 261203) == 261203000001
    print("  clock set back on one node: %d numbers, 0 duplicates" % len(everything), flush=True)
    ca.close()
    cb.close()
    assert a.stop() == 0 and b.stop() == 0


def test_give_back_never_undoes_a_claim_of_another_period():
    need_faketime()
    old, new = CountedClock(DAY1 + " 23:00:00"), CountedClock(DAY2 + " 00:00:10")
    a = node(old)
    ca = Client(a.port)
    hset(ca, "gb", "type", "4", "prefix", "%y%m%d", "length", "4", "segment", "10")
    got_a = ca.command("NEXT", "gb", 45)
    assert got_a[0] == "2612020001" and len(got_a) == 45, got_a
    settled(ca, "gb")
    top_a, period = row_of("gb")                        # a holds day 1's top: [.., top_a)
    assert period == DAY1_KEY and top_a > 45, top_a

    b = node(new)
    cb = Client(b.port)
    got_b = [cb.command("GET", "gb")]
    assert got_b == ["2612030001"], got_b               # b moved the row to day 2
    settled(cb, "gb")
    max_b, period = row_of("gb")
    assert period == DAY2_KEY and max_b < top_a, (max_b, top_a)
    # The trap: day 2's counter where day 1's top was (raising max_id is
    # always safe). A give-back that looked at max_id alone would set it
    # back to a's `from` and hand b's day 2 numbers out again.
    DB.sql("UPDATE seqd_segments SET max_id = %d WHERE biz_tag = 'gb'" % top_a)
    ca.close()
    assert a.stop() == 0                                # gives back [from, top_a) of day 1
    assert row_of("gb") == (top_a, DAY2_KEY), row_of("gb")

    # Within one period the tail still comes back: b stops alone on day 2
    # (its claims are the top now) and the row goes back to what it left.
    got_b += cb.command("NEXT", "gb", 15)              # past its first segment: a claim above top_a
    settled(cb, "gb")
    top_b = row_of("gb")[0]
    assert top_b > top_a, (top_b, top_a)                # b claimed above the raised counter
    cb.close()
    assert b.stop() == 0
    back, period = row_of("gb")
    assert period == DAY2_KEY and back < top_b, (back, top_b)
    b.start()
    cb = Client(b.port)
    more = gets(cb, "gb", 3)
    assert more[0] == "261203%04d" % (back + 1), (more, back)
    no_duplicates(got_a + got_b + more, "give-back across a period change")
    print("  give-back: stale across the period change, applied within one (%d numbers)"
          % len(got_a + got_b + more), flush=True)
    cb.close()
    assert b.stop() == 0


def test_table_before_types_4_and_5_then_upgraded():
    need_faketime()
    DB.sql(OLD_TABLE % ("old_segments", ""))
    clock = CountedClock(DAY1 + " 10:00:00")
    s = node(clock, table="old_segments")
    assert "without epoch, prefix, tz, period" in s.log(), s.log_tail()
    c = Client(s.port)
    hset(c, "t3", "type", "3")
    hset(c, "t2", "type", "2", "length", "6")
    hset(c, "t1", "type", "1", "length", "6")
    before = {name: [int(x) for x in gets(c, name, 20)] for name in ("t1", "t2", "t3")}
    assert before["t3"][:3] == [1, 2, 3], before
    for fields in (("type", "4", "prefix", "%y%m%d", "length", "4"), ("type", "5")):
        r = c.command("HSET", "new", *fields)
        assert isinstance(r, RespError) and "run sql/upgrade-kinds.sql" in r and \
            ("type %s" % fields[1]) in r, r
        assert c.command("EXISTS", "new") == 0
    # A row of kind 4 put in by hand cannot be served either.
    DB.sql("INSERT INTO old_segments (biz_tag, max_id, step, kind, `length`, `starting`) "
           "VALUES ('hand4', 0, 10, 4, 4, 1)")
    r = c.command("GET", "hand4")
    assert isinstance(r, RespError) and "upgrade-kinds.sql" in r, r
    DB.sql("DELETE FROM old_segments WHERE biz_tag = 'hand4'")
    c.close()
    assert s.stop() == 0

    # Some of the four columns (the first type 5 schema had epoch alone):
    # start-up refused, naming what is missing and the script.
    DB.sql(OLD_TABLE % ("epoch_segments", ",\n    `epoch` BIGINT NOT NULL DEFAULT 0"))
    half = ClockedSeqd(clock, config={"store": DB.store_config(table="epoch_segments")})
    rc, _, log = half.start_must_fail()
    assert rc != 0 and "but not prefix, tz, period" in log and "sql/upgrade-kinds.sql" in log, log[-600:]

    # The upgrade, with the real client, twice (the second changes nothing).
    script = os.path.join(repo_root(), "sql", "upgrade-kinds.sql")
    for table in ("old_segments", "old_segments", "epoch_segments"):
        out = DB.sql("SET @seqd_table = '%s';\nSOURCE %s;\n" % (table, script))
        assert out.split() == ["epoch", "prefix", "tz", "period"], out
    cols = {r[0] for r in DB.rows("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE "
                                  "TABLE_SCHEMA = 'seqd' AND TABLE_NAME = 'old_segments'")}
    assert {"epoch", "prefix", "tz", "period"} <= cols, cols

    s = node(clock, table="old_segments")
    assert "(seqd's columns)" in s.log(), s.log_tail()
    c = Client(s.port)
    after = {name: [int(x) for x in gets(c, name, 20)] for name in ("t1", "t2", "t3")}
    for name in ("t2", "t3"):
        assert after[name][0] > before[name][-1], (name, before[name][-3:], after[name][:3])
    for name in ("t1", "t2", "t3"):
        no_duplicates(before[name] + after[name], "type %s across the upgrade" % name[1])
    hset(c, "d4", "type", "4", "prefix", "%y%m%d", "length", "4")
    hset(c, "s5", "type", "5")
    d4 = gets(c, "d4", 10)
    assert d4[0] == "2612020001" and d4[-1] == "2612020010", d4
    clock.set(DAY2 + " 00:00:00")
    d4 += gets(c, "d4", 2)
    assert d4[-2:] == ["2612030001", "2612030002"], d4
    wait_for(lambda: not isinstance(c.command("GET", "s5"), RespError), 20, "type 5 served (a worker lease)")
    s5 = [int(x) for x in gets(c, "s5", 50)]
    assert s5 == sorted(s5), s5
    no_duplicates(d4 + [str(x) for x in s5], "types 4 and 5 after the upgrade")
    assert row_of("d4", "old_segments")[1] == DAY2_KEY
    c.close()
    assert s.stop() == 0
    half = node(clock, table="epoch_segments")          # starts now
    assert half.stop() == 0
    print("  old table: types 1-3 served, 4 and 5 refused; upgraded twice; 4 and 5 served", flush=True)


def main():
    global DB
    DB = MariaDB()
    DB.start()
    try:
        run_tests([
            test_two_nodes_cross_midnight_together,
            test_node_with_clock_behind_serves_the_newer_period,
            test_clock_set_back_over_midnight_on_one_node,
            test_give_back_never_undoes_a_claim_of_another_period,
            test_table_before_types_4_and_5_then_upgraded,
        ])
    finally:
        print("dated on mysql: %d numbers checked, %d clock events injected, 0 duplicates"
              % (CHECKED["numbers"], CHECKED["clock_events"]), flush=True)
        DB.close()


if __name__ == "__main__":
    main()
