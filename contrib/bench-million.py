#!/usr/bin/env python3
"""bench-million.py: one seqd node on a MySQL table of very many sequences.

Starts a private MariaDB server (tests/lib/mariadb.py: its own data dir,
socket and loopback port, schema loaded), fills seqd_segments with ROWS
plain type 3 rows the Leaf way, (biz_tag, max_id, step) = ('t0000001', 1,
1000) ... (LOAD DATA LOCAL INFILE of a generated file), then starts ONE
seqd node on it (store mysql, rescan_s RESCAN_S, log level notice) and
measures, in this order:

  start-up      exec to the port accepting connections, and to the node
                knowing every row (INFO keyspace db0:keys= reaching ROWS);
                seqd's RSS (VmRSS) and CPU at that point
  idle          no load for IDLE_S seconds, from the end of one rescan to
                the end of another (INFO store: store_rescans), starting
                after the third (the load, and one that still reads the
                rows inserted just before): seqd CPU (utime + stime of
                /proc/PID/stat) per rescan completed and as % of a core,
                and averaged over 30 rescans of which one reads every row
                (costing what the load cost); MariaDB's CPU per rescan;
                RSS and peak RSS (VmHWM) at the end, and RSS at the end of
                each rescan
  hot GET       latency p50/p95 of `GET <last row>`, one client, one
                request at a time, LAT_S seconds per node in alternating
                rounds, on this node (rescans running) and on a lone node
                (a second database on the same server holding only that
                row), and the ratio; then redis-benchmark -c CLIENTS -n N
                GET of that name on each node, R runs alternating, median
                requests/s and the ratio big/lone (the target is >= 0.9)
  cold GETs     the first GET of COLD distinct never-touched names
                (t0000001 ...), CONNS connections pipelining PIPELINE GETs
                each: names/s; every answer must be the row's max_id (1);
                -TRYAGAIN answers are counted and asked again
  stop          SIGTERM after those COLD names were touched: seconds until
                seqd exits, its "gave back N unused numbers" log line, and
                how many of the cold rows' max_id went back to exactly 2
For the cold GETs and the stop it also shows where the time went: seqd's
and MariaDB's CPU seconds against the wall time, and per name the
statements the server executed (Com_stmt_execute), its commits
(Com_commit) and its redo log writes (Innodb_log_writes).

and prints the figures as markdown table rows to paste into
docs/PERFORMANCE.md. The targets of the issue "A million sequences" (for
ROWS=1000000, COLD=100000) are in the last column. Every phase is bounded
in time (the *_TIMEOUT / *_MAX_S settings); a phase that hits its bound
says so in the table. Everything listens on 127.0.0.1 only; everything the
script started is stopped and its temporary directories removed on exit,
also on Ctrl-C or SIGTERM. Builds nothing: it runs $SEQD_BIN, else
build/src/seqd of this checkout, else src/seqd.

Usage: contrib/bench-million.py [-h] [--rows N] [--cold N] [--rescan-s S]
Environment (all optional; the options win):
  ROWS           rows in seqd_segments (default 1000000)
  COLD           distinct cold names to GET once, < ROWS (default 100000)
  RESCAN_S       seqd store.mysql.rescan_s (default 10)
  SEQD_BIN       seqd binary (default: <checkout>/build/src/seqd, else <checkout>/src/seqd)
  SEQD_WORKERS   seqd "workers" (default 0: one per CPU)
  IDLE_S         seconds of the no-load window (default 60)
  LAT_S          seconds of sequential hot GETs per node (default 10)
  N              requests per redis-benchmark run (default 200000)
  CLIENTS        redis-benchmark connections (default 50)
  R              redis-benchmark runs per node (default 3; the median is shown)
  CONNS          connections of the cold GETs (default 8)
  PIPELINE       GETs per round trip of the cold GETs (default 1000)
  BUFFER_POOL    MariaDB innodb_buffer_pool_size (default 512M, enough to
                 hold a million rows)
  LOAD_TIMEOUT   seconds allowed to insert the rows (default 1800)
  START_TIMEOUT  seconds allowed for seqd to listen and know every row (default 600)
  IDLE_MAX_S     bound of the idle phase, boundary waits included (default IDLE_S + 600)
  RUN_TIMEOUT    seconds after which one redis-benchmark run is stopped (default 120)
  COLD_TIMEOUT   bound of the cold GETs, retries included (default 1800)
  STOP_TIMEOUT   seconds to wait for seqd to exit after SIGTERM; then SIGKILL (default 900)
Needs mariadb-server (mariadbd, mariadb-install-db, mariadb) and python3;
redis-benchmark (redis-tools) for the throughput rows (skipped without it).
Exit status 0 when every phase ran, 1 when one failed (seqd died, a wrong
number, a bound hit), 130 on Ctrl-C.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, ".."))


def env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


os.environ.setdefault("SEQD_SRCDIR", TOP)   # seqd.py's BIN: $SEQD_BIN, else build/src/seqd, else src/seqd
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import seqd as harness  # noqa: E402  tests/lib/seqd.py
from mariadb import MariaDB  # noqa: E402  tests/lib/mariadb.py

GIVE_BACK_RE = re.compile(r"gave back (\d+) unused numbers to the store; (\d+) wasted")


class BenchFailed(Exception):
    pass


def say(*a):
    print(*a, file=sys.stderr, flush=True)


# ---- /proc --------------------------------------------------------------

cpu_s = harness.proc_cpu_s            # utime + stime, seconds
status_kb = harness.proc_status_kb


def rss_mb(pid, key="VmRSS"):
    return status_kb(pid, key) / 1024.0


# ---- talking to seqd ----------------------------------------------------

def info_int(port, section, field):
    v = harness.info(port, section).get(field)
    return None if v is None else int(v)


def alive(node):
    if node.proc.poll() is not None:
        raise BenchFailed("seqd (port %d) exited with %s; log tail:\n%s"
                          % (node.port, node.proc.returncode, node.log_tail(20)))
    return True


def launch(node):
    """Start node's seqd without waiting; returns time.monotonic() of the exec."""
    node._log = open(node.log_path, "ab")
    t0 = time.monotonic()
    node.proc = subprocess.Popen([harness.BIN, "-c", node.config_path],
                                 stdout=node._log, stderr=subprocess.STDOUT)
    harness._running.append(node)        # the harness kills it at exit
    return t0


def wait_listening(node, deadline):
    while time.monotonic() < deadline:
        alive(node)
        try:
            with socket.create_connection(("127.0.0.1", node.port), timeout=0.5):
                return time.monotonic()
        except OSError:
            time.sleep(0.002)
    raise BenchFailed("seqd did not listen on port %d in time; log tail:\n%s"
                      % (node.port, node.log_tail(20)))


def wait_rescan_boundary(node, deadline, interval=0.1):
    """Wait until store_rescans moves on; returns (its new value, time), or
    (None, time) at the deadline."""
    r0 = info_int(node.port, "store", "store_rescans")
    while time.monotonic() < deadline:
        alive(node)
        r = info_int(node.port, "store", "store_rescans")
        if r != r0:
            return r, time.monotonic()
        time.sleep(interval)
    return None, time.monotonic()


def node_config(store, rescan_s, workers):
    return {"workers": workers, "log": {"level": "notice"},
            "store": dict(store, mysql=dict(store["mysql"], rescan_s=rescan_s))}


# ---- phases ---------------------------------------------------------------

def name_of(i, width):
    return "t%0*d" % (width, i)


def fill_table(db, rows, width, timeout):
    tmp = harness.tmpdir("seqd-bench-million-")
    path = os.path.join(tmp, "rows.tsv")
    with open(path, "w") as f:
        chunk = []
        for i in range(1, rows + 1):
            chunk.append("%s\t1\t1000\n" % name_of(i, width))
            if len(chunk) == 100000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))
    t0 = time.monotonic()
    sql = ("LOAD DATA LOCAL INFILE '%s' INTO TABLE seqd_segments "
           "FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' (biz_tag, max_id, step);"
           % path)
    r = subprocess.run(db._client_cmd(db.database) + ["--local-infile=1"], input=sql,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise BenchFailed("LOAD DATA failed: %s" % r.stderr.strip())
    shutil.rmtree(tmp, ignore_errors=True)
    n = int(db.rows("SELECT COUNT(*) FROM seqd_segments WHERE biz_tag <> ''")[0][0])
    if n != rows:
        raise BenchFailed("the table holds %d rows after LOAD DATA, not %d" % (n, rows))
    return time.monotonic() - t0


def latency_round(port, name, seconds, out):
    g = harness.Getter(port, timeout=10)
    one = []
    end = time.monotonic() + seconds
    clock = time.perf_counter
    try:
        while True:
            t = clock()
            g.gets((name,), one)
            out.append(clock() - t)
            if not isinstance(one[-1], int):
                raise BenchFailed("GET %s on port %d: %r" % (name, port, one[-1]))
            if clock() >= end:
                break
            del one[:]
    finally:
        g.close()


def pct(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def bench_run(port, name, n, clients, timeout):
    """One redis-benchmark run; returns requests/s."""
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q", "-c", str(clients),
           "-n", str(n), "GET", name]
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchFailed("redis-benchmark on port %d took longer than %d s" % (port, timeout))
    text = r.stdout.replace("\r", "\n")
    m = re.findall(r": ([0-9.]+) requests per second", text)
    if r.returncode != 0 or not m:
        raise BenchFailed("redis-benchmark on port %d failed:\n%s"
                          % (port, "\n".join(text.splitlines()[-5:])))
    return float(m[-1])


DB_STATUS = ("Com_stmt_execute", "Com_commit", "Innodb_log_writes")


def db_status(db):
    """The DB_STATUS counters of the server, {name: int}."""
    out = db.rows("SHOW GLOBAL STATUS WHERE Variable_name IN (%s)"
                  % ",".join("'%s'" % k for k in DB_STATUS))
    return {k: int(v) for k, v in out}


def costs(before, after, wall, names):
    """'seqd CPU .., MariaDB CPU .. of .. s; per name: statements, commits, redo log writes'."""
    (c0, d0, s0), (c1, d1, s1) = before, after
    per = ", ".join("%.2f %s" % ((s1.get(k, 0) - s0.get(k, 0)) / names, label)
                    for k, label in zip(DB_STATUS, ("statements", "commits", "redo log writes")))
    return "seqd CPU %.1f s, MariaDB CPU %.1f s in %.1f s; per name %s" % (c1 - c0, d1 - d0, wall, per)


def wait_child(proc, deadline):
    """Wait (until deadline) for a child to exit; returns (exit code, its
    CPU seconds in all) or (None, None) at the deadline."""
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, ru.ru_utime + ru.ru_stime
        if time.monotonic() >= deadline:
            return None, None
        time.sleep(0.005)


class ColdWorker(threading.Thread):
    def __init__(self, port, batches, lock, deadline, expect):
        super().__init__(daemon=True)
        self.port, self.batches, self.lock, self.deadline = port, batches, lock, deadline
        self.expect = expect
        self.ok = 0
        self.wrong = []
        self.retry = []
        self.errors = []
        self.exc = None
        self.unsent = 0

    def run(self):
        try:
            g = harness.Getter(self.port, timeout=300)
            try:
                while True:
                    with self.lock:
                        if not self.batches:
                            return
                        batch = self.batches.pop()
                    if time.monotonic() >= self.deadline:
                        self.unsent += len(batch)
                        continue
                    out = g.gets(batch, [])
                    for name, v in zip(batch, out):
                        if isinstance(v, int):
                            if v == self.expect:
                                self.ok += 1
                            else:
                                self.wrong.append((name, v))
                        elif isinstance(v, harness.RespError) and v.startswith("TRYAGAIN"):
                            self.retry.append(name)
                        else:
                            self.errors.append((name, v))
            finally:
                g.close()
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            self.exc = e


def cold_gets(port, names, conns, pipeline, deadline, expect=1):
    """First GETs of names over conns connections; returns a dict of results."""
    todo = list(names)
    tryagain = 0
    ok = 0
    wrong, errors = [], []
    t0 = time.monotonic()
    rounds = 0
    while todo and time.monotonic() < deadline:
        rounds += 1
        batches = [todo[i:i + pipeline] for i in range(0, len(todo), pipeline)]
        batches.reverse()                     # pop() takes them in order
        lock = threading.Lock()
        workers = [ColdWorker(port, batches, lock, deadline, expect) for _ in range(conns)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(max(1.0, deadline - time.monotonic() + 310))
            if w.is_alive():
                raise BenchFailed("a cold GET connection did not finish in time")
            if w.exc:
                raise BenchFailed("cold GETs: %r" % (w.exc,))
        todo = [n for w in workers for n in w.retry]
        tryagain += len(todo)
        ok += sum(w.ok for w in workers)
        wrong += [x for w in workers for x in w.wrong]
        errors += [x for w in workers for x in w.errors]
        if sum(w.unsent for w in workers):
            break
        if todo:
            time.sleep(0.05)                  # let the store catch up before asking again
    elapsed = time.monotonic() - t0
    return {"ok": ok, "wrong": wrong, "errors": errors, "tryagain": tryagain,
            "rounds": rounds, "left": len(names) - ok - len(wrong) - len(errors),
            "elapsed": elapsed}


# ---- main -------------------------------------------------------------------

def fmt_s(v):
    return "%.3f s" % v if v < 10 else "%.1f s" % v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[1:]))
    ap.add_argument("--rows", type=int, default=env_int("ROWS", 1000000))
    ap.add_argument("--cold", type=int, default=env_int("COLD", 100000))
    ap.add_argument("--rescan-s", type=int, default=env_int("RESCAN_S", 10))
    a = ap.parse_args()
    rows, cold, rescan_s = a.rows, a.cold, a.rescan_s
    workers = env_int("SEQD_WORKERS", 0)
    idle_s = env_int("IDLE_S", 60)
    lat_s = env_int("LAT_S", 10)
    bench_n = env_int("N", 200000)
    clients = env_int("CLIENTS", 50)
    runs = env_int("R", 3)
    conns = env_int("CONNS", 8)
    pipeline = env_int("PIPELINE", 1000)
    buffer_pool = os.environ.get("BUFFER_POOL") or "512M"
    load_timeout = env_int("LOAD_TIMEOUT", 1800)
    start_timeout = env_int("START_TIMEOUT", 600)
    idle_max_s = env_int("IDLE_MAX_S", idle_s + 600)
    run_timeout = env_int("RUN_TIMEOUT", 120)
    cold_timeout = env_int("COLD_TIMEOUT", 1800)
    stop_timeout = env_int("STOP_TIMEOUT", 900)

    if rows < 2 or not 1 <= cold < rows:
        raise SystemExit("bench-million.py: need ROWS >= 2 and 1 <= COLD < ROWS (got %d, %d)"
                         % (rows, cold))
    if not (os.path.isfile(harness.BIN) and os.access(harness.BIN, os.X_OK)):
        raise SystemExit("bench-million.py: no seqd binary at %s (build it, or set SEQD_BIN)"
                         % harness.BIN)
    have_rb = shutil.which("redis-benchmark") is not None
    width = max(7, len(str(rows)))
    hot = name_of(rows, width)
    version = subprocess.run([harness.BIN, "-v"], stdout=subprocess.PIPE,
                             universal_newlines=True).stdout.strip()
    table = []            # (measure, value, target)
    failures = []

    def row(measure, value, target=""):
        table.append((measure, value, target))
        say("  %s: %s" % (measure, value))

    say("bench-million: %s (%s), %d rows, %d cold names, rescan_s %d, %d CPUs"
        % (version, harness.BIN, rows, cold, rescan_s, os.cpu_count() or 0))

    # MariaDB and the rows.
    t0 = time.monotonic()
    db = MariaDB(server_args=["--innodb-buffer-pool-size=" + buffer_pool])
    db.start()
    dbver = db.rows("SELECT VERSION()")[0][0]
    say("MariaDB %s on port %d ready in %.1f s (innodb_buffer_pool_size %s)"
        % (dbver, db.port, time.monotonic() - t0, buffer_pool))
    load_s = fill_table(db, rows, width, load_timeout)
    say("inserted %d rows in %.1f s (LOAD DATA LOCAL INFILE)" % (rows, load_s))
    # The lone node's database: the same server, only the hot row.
    db.sql("CREATE DATABASE seqd_lone; "
           "GRANT ALL PRIVILEGES ON seqd_lone.* TO '%s'@'127.0.0.1'; "
           "GRANT ALL PRIVILEGES ON seqd_lone.* TO '%s'@'localhost';" % (db.user, db.user),
           database="")
    db.load(os.path.join(TOP, "sql", "schema.sql"), database="seqd_lone")
    db.sql("INSERT INTO seqd_segments (biz_tag, max_id, step) VALUES ('%s', 1, 1000)" % hot,
           database="seqd_lone")

    # 1. start-up.
    big = harness.Seqd(config=node_config(db.store_config(), rescan_s, workers), store="mysql")
    t_exec = launch(big)
    pid = big.proc.pid
    t_listen = wait_listening(big, t_exec + start_timeout)
    listen_s = t_listen - t_exec
    known = 0
    deadline = t_exec + start_timeout
    while time.monotonic() < deadline:
        alive(big)
        known = harness.keys(big.port)
        if known >= rows:
            break
        time.sleep(0.01)
    t_known = time.monotonic()
    start_cpu = cpu_s(pid)
    rss_start = rss_mb(pid)
    row("start-up to listening", fmt_s(listen_s), "<= 3 s")
    if known >= rows:
        row("start-up to knowing all rows (INFO keyspace)", fmt_s(t_known - t_exec))
    else:
        row("start-up to knowing all rows (INFO keyspace)",
            "not within %d s (%d of %d)" % (start_timeout, known, rows))
        failures.append("the node did not learn every row")
    row("seqd CPU until then", "%.2f s" % start_cpu)
    row("RSS after start", "%.0f MB" % rss_start, "<= 450 MB")

    # 2. idle: CPU per rescan, RSS after rescans.
    # The window starts after the third rescan: the load is the first, and
    # the next one still reads the rows inserted just before the start
    # (it looks back DISCOVERY_OVERLAP_S); the target is for unchanged rows.
    idle_deadline = time.monotonic() + idle_max_s
    r_a, t_a = wait_rescan_boundary(big, idle_deadline)
    while r_a is not None and r_a < 3:
        r_a, t_a = wait_rescan_boundary(big, idle_deadline)
    cpu_a, dbcpu_a = cpu_s(pid), cpu_s(db.proc.pid)
    r_b = None
    rss_seen = [rss_mb(pid)]              # at the end of each rescan of the window
    if r_a is not None:
        last = r_a
        while time.monotonic() < idle_deadline:
            alive(big)
            r = info_int(big.port, "store", "store_rescans")
            if r != last:
                last = r
                rss_seen.append(rss_mb(pid))
                if time.monotonic() - t_a >= idle_s:
                    r_b, t_b = r, time.monotonic()
                    break
            time.sleep(0.25)
        if r_b is None:                     # bounded: count what completed
            r_b, t_b = last, time.monotonic()
            failures.append("the idle window hit IDLE_MAX_S")
        cpu_b, dbcpu_b = cpu_s(pid), cpu_s(db.proc.pid)
    if r_a is None or r_b is None or r_b <= r_a:
        row("seqd CPU per rescan", "no rescan completed within %d s" % idle_max_s, "<= 1% of a core")
        failures.append("no rescan completed")
    else:
        n_rescans, window = r_b - r_a, t_b - t_a
        per = (cpu_b - cpu_a) / n_rescans
        row("seqd CPU per rescan", "%.3f s (%d rescans in %.0f s; %.2f%% of a core)"
            % (per, n_rescans, window, 100.0 * (cpu_b - cpu_a) / window), "<= 1% of a core")
        row("MariaDB CPU per rescan", "%.3f s" % ((dbcpu_b - dbcpu_a) / n_rescans))
        # Every 30th rescan reads every row, as the load did (its CPU is
        # about start-up's): the average over such a cycle.
        cycle = (start_cpu + 29 * per) / (30.0 * rescan_s)
        row("seqd CPU over 30 rescans, one of them full (the load's CPU)",
            "%.2f%% of a core" % (100.0 * cycle), "<= 1% of a core")
    row("RSS after %.0f s of rescans (peak)" % (time.monotonic() - t_known),
        "%.0f MB (%.0f MB)" % (rss_mb(pid), rss_mb(pid, "VmHWM")), "not growing")
    shown = ["%.0f" % v for v in rss_seen]
    if len(shown) > 8:
        shown = shown[:4] + ["..."] + shown[-3:]
    row("RSS at the end of each rescan of that window (MB)", ", ".join(shown))

    # 3. hot GET: this node vs a lone node.
    lone = harness.Seqd(config=node_config(db.store_config(database="seqd_lone"), rescan_s, workers),
                        store="mysql").start(timeout=60)
    for port in (big.port, lone.port):
        g = harness.Getter(port)
        out = g.gets([hot] * 1000, [])
        g.close()
        bad = [v for v in out if not isinstance(v, int)]
        if bad:
            raise BenchFailed("GET %s on port %d: %r" % (hot, port, bad[0]))
    lat = {big.port: [], lone.port: []}
    rounds = 5
    r_lat0 = info_int(big.port, "store", "store_rescans")
    for i in range(rounds):
        order = (big.port, lone.port) if i % 2 == 0 else (lone.port, big.port)
        for port in order:
            latency_round(port, hot, lat_s / rounds, lat[port])
    r_lat = info_int(big.port, "store", "store_rescans") - r_lat0
    ms = {p: (1000 * pct(v, 50), 1000 * pct(v, 95)) for p, v in lat.items()}
    row("GET %s p50 / p95, %d rows, %d rescans during (ms)" % (hot, rows, r_lat),
        "%.3f / %.3f (%d GETs)" % (ms[big.port] + (len(lat[big.port]),)))
    row("GET %s p50 / p95, lone node (ms)" % hot,
        "%.3f / %.3f (%d GETs)" % (ms[lone.port] + (len(lat[lone.port]),)))
    row("p95 ratio %d rows / lone" % rows, "%.2f" % (ms[big.port][1] / ms[lone.port][1]))
    if have_rb:
        rps = {big.port: [], lone.port: []}
        for i in range(runs):
            order = (big.port, lone.port) if i % 2 == 0 else (lone.port, big.port)
            for port in order:
                rps[port].append(bench_run(port, hot, bench_n, clients, run_timeout))
            say("  redis-benchmark run %d: %d rows %.0f/s, lone %.0f/s"
                % (i + 1, rows, rps[big.port][-1], rps[lone.port][-1]))
        med_big, med_lone = statistics.median(rps[big.port]), statistics.median(rps[lone.port])
        row("GET throughput, -c %d -n %d, median of %d (r/s): %d rows / lone"
            % (clients, bench_n, runs, rows), "%.0f / %.0f" % (med_big, med_lone))
        row("throughput ratio %d rows / lone" % rows, "%.2f" % (med_big / med_lone), ">= 0.9")
    else:
        row("GET throughput", "skipped (no redis-benchmark)", ">= 0.9")
    lone.stop(timeout=60)
    alive(big)

    # 4. cold GETs.
    names = [name_of(i, width) for i in range(1, cold + 1)]
    before = (cpu_s(pid), cpu_s(db.proc.pid), db_status(db))
    res = cold_gets(big.port, names, conns, pipeline, time.monotonic() + cold_timeout)
    rate = res["ok"] / res["elapsed"] if res["elapsed"] > 0 else 0.0
    row("first GETs of %d cold names, %d conns x pipeline %d" % (cold, conns, pipeline),
        "%.0f names/s (%.1f s; %d TRYAGAIN asked again)" % (rate, res["elapsed"], res["tryagain"]),
        ">= 20,000/s")
    row("... where the time went", costs(before, (cpu_s(pid), cpu_s(db.proc.pid), db_status(db)),
                                          res["elapsed"], cold))
    if res["wrong"] or res["errors"] or res["left"]:
        failures.append("cold GETs: %d wrong numbers (e.g. %r), %d errors (e.g. %r), %d unanswered"
                        % (len(res["wrong"]), res["wrong"][:2], len(res["errors"]),
                           res["errors"][:2], res["left"]))
    alive(big)

    # 5. graceful stop.
    before = (cpu_s(pid), cpu_s(db.proc.pid), db_status(db))
    log_at_term = len(big.log())
    big.proc.send_signal(signal.SIGTERM)
    t_term = time.monotonic()
    rc, seqd_cpu = wait_child(big.proc, t_term + stop_timeout)
    stop_s = time.monotonic() - t_term
    if rc is None:
        big.proc.kill()
        big.proc.wait()
        stop_txt = "not within %d s (killed)" % stop_timeout
        failures.append("seqd did not stop within STOP_TIMEOUT")
    else:
        stop_txt = "%s (exit %d)" % (fmt_s(stop_s), rc)
        if rc != 0:
            failures.append("seqd exited %d after SIGTERM" % rc)
    big._log.close()
    if big in harness._running:
        harness._running.remove(big)
    for line in big.log()[log_at_term:].splitlines()[:20]:
        print("  stop log: %s" % line, flush=True)
    row("graceful stop after %d cold names touched" % cold, stop_txt, "<= 5 s")
    if rc is not None:
        row("... where the time went", costs(before, (seqd_cpu, cpu_s(db.proc.pid), db_status(db)),
                                              stop_s, cold))
    m = GIVE_BACK_RE.findall(big.log())
    row("give-back log line", "gave back %s unused numbers to the store; %s wasted" % m[-1]
        if m else "none", ">= %d (999 per cold name)" % (999 * cold))
    back = int(db.rows("SELECT COUNT(*) FROM seqd_segments WHERE biz_tag BETWEEN '%s' AND '%s' "
                       "AND max_id = 2" % (names[0], names[-1]))[0][0])
    row("cold rows given back exactly (max_id 2)", "%d of %d" % (back, cold), "all")
    warnings = [l for l in big.log().splitlines() if " # " in l]
    if warnings:
        say("seqd logged %d warnings, e.g.: %s" % (len(warnings), warnings[0]))

    db.close()

    print()
    print("seqd %s, %d rows, rescan_s %d, %d CPUs; MariaDB %s (innodb_buffer_pool_size %s), "
          "private, loopback TCP; %s"
          % (version.replace("seqd ", ""), rows, rescan_s, os.cpu_count() or 0, dbver, buffer_pool,
             time.strftime("%Y-%m-%d")))
    print()
    print("| measure | %s rows | target (1M rows) |" % format(rows, ","))
    print("| --- | --- | --- |")
    for measure, value, target in table:
        print("| %s | %s | %s |" % (measure, value, target))
    if failures:
        print()
        for f in failures:
            print("FAILED: " + f)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("bench-million.py: interrupted; stopping what it started")
        sys.exit(130)
    except BenchFailed as e:
        say("bench-million.py: %s" % e)
        sys.exit(1)
