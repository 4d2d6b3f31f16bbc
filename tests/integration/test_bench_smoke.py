#!/usr/bin/env python3
"""test_bench_smoke: contrib/bench.sh still runs and prints its whole table.

Runs `contrib/bench.sh` with QUICK=1 STORES=file and tiny sizes (a few
seconds; bounded at BOUND_S) and checks what a reader of the table relies
on: the header (machine, versions, command, settings), ONE markdown table,
every row of the Performance issue there (GET vs Redis INCR at each depth
with requests/s, latency and CPU; NEXT and NEXTRANGE; memory per sequence
and per connection; contention and workers; the slow store; idle
connections), each with a figure that parses, a target where the issue
gives one, and a result of PASS, MISS or "-". It never asserts PASS or
MISS: with tiny sizes on a shared machine the figures are noise; the full
run is for that. Also checks that the run left no server behind.

Needs redis-server and redis-benchmark (contrib/deps.sh --test); without
them it fails, or is skipped with SEQD_ALLOW_SKIP=1.

Environment: SEQD_BIN, SEQD_SRCDIR, SEQD_ALLOW_SKIP.
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import seqd as harness  # noqa: E402
from seqd import Skip, check, eq, run_tests  # noqa: E402

BOUND_S = 60
BENCH = os.path.join(harness.SRCDIR, "contrib", "bench.sh")
ENV = {"QUICK": "1", "STORES": "file", "N": "1000", "R": "1", "CLIENTS": "10", "DEPTHS": "1 16",
       "SEQUENCES": "500", "IDLE_CONNS": "100", "NEXTRANGE_S": "0.2", "RUN_TIMEOUT": "20"}

RATIO = r"[\d,.]+ / [\d,.]+ = [\d.]+×"
LAT3 = r"[\d.]+ / [\d.]+ / [\d.]+"
# (row, what the measure says, the figure) for each row the table must have.
ROWS = [
    ("1.1", "requests/s", RATIO),
    ("1.1", "latency p50 / p99 / p99.9", LAT3 + " ; " + LAT3),
    ("1.1", "CPU s per 1M requests", r"[\d.]+ / [\d.]+ = ([\d.]+×|n/a \(runs too short to measure\))"),
    ("1.16", "requests/s", RATIO),
    ("1.16", "latency p50 / p99 / p99.9", LAT3 + " ; " + LAT3),
    ("1.16", "CPU s per 1M requests", r"[\d.]+ / [\d.]+ = ([\d.]+×|n/a \(runs too short to measure\))"),
    ("2.1", "NEXT name 1000", r"[\d.,]+[MG]?/s \([\d,]+ req/s\)"),
    ("2.2", "NEXTRANGE name 1000000", r"([\d.,]+[MG]?/s|n/a \(no NEXTRANGE\))"),
    ("3.1", "per idle sequence", r"-?\d+ B \(-?\d+ B beyond the name; RSS [\d.]+ → [\d.]+ MB(; data dir on tmpfs)?\)"),
    ("3.2", "per idle connection", r"-?\d+ B \(-?\d+ B; RSS [\d.]+ → [\d.]+ MB\)"),
    ("4.1", "one sequence / spread over 50", RATIO),
    ("4.16", "one sequence / spread over 50", RATIO),
    ("4.w1", "\"workers\": 1 / \"workers\": 2", r"[\d,]+ / [\d,]+ \(2 workers = [\d.]+× 1\); [\d.]+ / [\d.]+"),
    ("4.w16", "\"workers\": 1 / \"workers\": 2", r"[\d,]+ / [\d,]+ \(2 workers = [\d.]+× 1\); [\d.]+ / [\d.]+"),
    ("5.1", "slow store", RATIO),
    ("5.2", "failed requests", r"\d+ \(\d+ runs stopped.*, \d+ parked timeouts\)"),
    ("6", "idle connections / without", RATIO),
]
# Rows whose measure has a target in the issue.
TARGETED = {"1.1": ("requests/s", "CPU"), "1.16": ("requests/s", "CPU"), "2.1": ("",), "3.1": ("",),
            "3.2": ("",), "4.1": ("",), "4.16": ("",), "5.1": ("",), "5.2": ("",), "6": ("",)}


def need_tools():
    for tool in ("redis-server", "redis-benchmark"):
        found = shutil.which(tool) or os.access("/usr/bin/" + tool, os.X_OK)
        if not found:
            if os.environ.get("SEQD_ALLOW_SKIP") == "1":
                raise Skip("%s not installed" % tool)
            raise AssertionError("%s not installed (contrib/deps.sh --test; or SEQD_ALLOW_SKIP=1)" % tool)


def parse_table(out):
    """The header lines before the table, and its rows as lists of cells."""
    lines = out.splitlines()
    start = [i for i, line in enumerate(lines) if line.startswith("| row |")]
    eq(len(start), 1, "tables in the output:\n" + out)
    eq(lines[start[0]], "| row | measure | store | figure | target | result |", "the table's header")
    rows = []
    for line in lines[start[0] + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        eq(len(cells), 6, "cells of %r" % line)
        rows.append(cells)
    return lines[:start[0]], rows


def test_bench_quick_prints_every_row():
    need_tools()
    env = dict(os.environ, SEQD_BIN=harness.BIN, **ENV)
    r = subprocess.run([BENCH], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=BOUND_S)
    eq(r.returncode, 0, "bench.sh exit status; stderr:\n%s" % r.stderr[-3000:])
    header, rows = parse_table(r.stdout)
    for prefix in ("machine: ", "seqd: ", "redis: ", "command: ", "settings: "):
        check(any(line.startswith(prefix) for line in header), "a %r line above the table" % prefix)
    check(any("nproc" in line and "Linux" in line for line in header), "machine: nproc, CPU, kernel")
    check(any("QUICK=1" in line and "N=1000" in line for line in header), "the settings are shown")

    for row, what, figure in ROWS:
        found = [c for c in rows if c[0] == row and what in c[1]]
        eq(len(found), 1, "row %s (%s) in the table:\n%s" % (row, what, r.stdout))
        _, measure, store, fig, target, result = found[0]
        eq(store, "file", "store of row %s" % row)
        check(re.fullmatch(figure, fig), "row %s (%s): figure %r parses as %r" % (row, what, fig, figure))
        targeted = any(w in measure for w in TARGETED.get(row, ()))
        if targeted:
            check(target != "-", "row %s (%s) shows its target" % (row, measure))
            check(result in ("PASS", "MISS") or ("n/a" in fig and result == "-"),
                  "row %s (%s): result %r" % (row, measure, result))
        else:
            eq(result, "-", "row %s (%s) has no target, so no verdict" % (row, measure))
    eq(len(rows), len(ROWS), "rows in the table (no others)")

    # Nothing it started is left: no process runs the binary under test
    # with a configuration of a directory that is gone.
    left = subprocess.run(["ps", "-eo", "args"], stdout=subprocess.PIPE, universal_newlines=True).stdout
    for line in left.splitlines():
        if line.startswith(harness.BIN + " -c "):
            cfg = line.split(" -c ", 1)[1].split()[0]
            check(os.path.exists(cfg), "a seqd left behind by bench.sh: %s" % line)


if __name__ == "__main__":
    run_tests([test_bench_quick_prints_every_row])
