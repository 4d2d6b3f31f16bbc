#!/usr/bin/env python3
"""bench.py: seqd against Redis and against its own targets, one table.

Starts Debian's redis-server (no persistence) and, for each store in
STORES, seqd nodes on that store (file: a temporary directory; mysql: a
private MariaDB server, tests/lib/mariadb.py), everything on 127.0.0.1,
and measures, medians of R runs (two cases compared alternate which goes
first, so machine noise lands on both sides):

  1  GET (seqd) vs INCR (Redis), CLIENTS clients, each pipeline depth of
     DEPTHS: requests/s, latency p50/p99/p99.9 (redis-benchmark's
     percentile distribution), server CPU seconds per million requests
     (utime + stime of /proc/PID/stat before and after each run), and the
     seqd/Redis ratios. Targets: req/s >= 1.0x Redis, CPU <= 0.8x Redis.
  2  `NEXT name 1000` at -P 16 (NEXT_N requests a run), redis-benchmark
     with --threads 2: numbers/s, target >= 30M/s (the client is the
     limit here: it spends about 6 CPU-s parsing 100M numbers of replies
     into hiredis objects, seqd about 1; one client thread alone gives
     about half); `NEXTRANGE name 1000000` in a loop of one raw
     client for NEXTRANGE_S seconds, if the server knows NEXTRANGE.
  3  memory of a fresh idle node: RSS (VmRSS) before and after defining
     and using (HSET + one GET each) SEQUENCES sequences (read 3 s after
     the load, when the server is idle again), per sequence
     (target <= 300 B beyond the name; names of 10 bytes), with 8
     pipelining connections; the file store's directory on /dev/shm when
     there is one (two fsyncs a definition and a first claim would make
     this a disk benchmark); RSS before and after IDLE_CONNS idle
     connections, per connection, after each answered one PING (the
     target, <= 2 KB, is judged on this) and, in brackets, when they were
     just connected. The bench raises its own open-file limit and sets seqd's
     maxclients above IDLE_CONNS + CLIENTS.
  4  contention: CLIENTS clients all on one sequence vs spread over 50
     (`GET seq:__rand_int__ -r 50`), target same >= 0.8x spread; and a
     node with "workers": 1 vs one with "workers": 2 (figures only).
  5  slow store: a node whose every claim waits DELAY_MS longer
     (store.test_delay_ms, a tests-only key: it delays each claim, or
     batch of claims, in the store thread, and the first load of a shared
     store's definitions) vs a node without, both new, GET -P 1: p99.9
     ratio (target <= 1.5x) and
     failed requests (target 0: runs stopped by an error reply, as
     redis-benchmark exits at the first, plus parked requests that timed
     out, INFO stats total_parked_timeouts).
  6  IDLE_CONNS idle connections open vs none: GET -P 1 throughput of the
     CLIENTS busy clients (target: slowed by <= 10%), medians of
     max(R, 5) runs a side.

Every sequence measured is first warmed up by max(1000, N/10) GETs: a new
sequence's segments start at its step and grow with the load, and the
rows measure the steady state (Redis INCR needs no warm-up). Prints
progress on stderr, then on stdout the machine, the versions, the
settings and ONE markdown table: | row | measure | store | figure | target
| result |, result PASS, MISS or "-" (a figure without a target).

Usage: contrib/bench.sh (or contrib/bench.py)
Environment (all optional):
  SEQD_BIN      seqd binary (default: <checkout>/build/src/seqd, else <checkout>/src/seqd)
  REDIS_SERVER  redis-server binary (default: /usr/bin/redis-server)
  STORES        seqd stores to measure (default "file mysql")
  N             requests per redis-benchmark run (default 200000)
  R             runs per case (default 3; the median is shown)
  CLIENTS       parallel connections (default 50)
  DEPTHS        pipeline depths of rows 1 and 4 (default "1 16")
  SEQD_WORKERS  seqd "workers" of the main node (default 0: one per CPU)
  RUN_TIMEOUT   seconds after which one run is stopped (default 120)
  QUICK=1       a smoke run: N 2000, R 1, SEQUENCES 2000, IDLE_CONNS 200,
                NEXTRANGE_S 0.3, RUN_TIMEOUT 30 (each still overridable)
  SEQUENCES     sequences of the memory row (default 100000)
  IDLE_CONNS    idle connections of rows 3 and 6 (default 10000)
  NEXT_N        NEXT requests a run (default N / 10)
  NEXTRANGE_S   seconds of one NEXTRANGE loop (default 3)
  DELAY_MS      store.test_delay_ms of the slow node (default 50)
  PHASE_TIMEOUT bound of defining the sequences and opening the
                connections (default 600)
Needs redis-server and redis-tools (redis-benchmark), and mariadb-server
for STORES=mysql. Exit status 0 when every measure ran (whatever PASS or
MISS), 1 when one failed (a server died, a bound was hit), 130 on Ctrl-C.
Everything started is stopped and its temporary directories removed on
exit, also on error, Ctrl-C, SIGTERM or SIGHUP.
"""
import atexit
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, ".."))


os.environ.setdefault("SEQD_SRCDIR", TOP)   # seqd.py's BIN: $SEQD_BIN, else build/src/seqd, else src/seqd
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import seqd as harness  # noqa: E402  tests/lib/seqd.py

KEY = "bench_id"
SPREAD = 50                     # sequences of the spread case of row 4
SPREAD_FMT = "seq:%012d"        # what redis-benchmark makes of seq:__rand_int__
NEXT_COUNT = 1000
NEXT_DEPTH = 16
NEXT_CLIENT_THREADS = 2    # redis-benchmark --threads of the NEXT row
IDLE_ROW_MIN_RUNS = 5      # runs a side of row 6 (R if more)
NEXTRANGE_COUNT = 1000000
MEM_NAME_FMT = "mem%07d"        # 10 bytes: the name length of the memory row
IDLE_SETTLE_S = 3                # the memory row waits this long after the load: the server is idle


class BenchFailed(Exception):
    pass


class ErrorReply(BenchFailed):
    """A redis-benchmark run stopped by an error reply (it exits at the first)."""


def say(*a):
    print(*a, file=sys.stderr, flush=True)


# ---- settings ----------------------------------------------------------------

class Settings:
    def __init__(self, env):
        quick = env.get("QUICK", "") == "1"

        def num(name, default, quick_default=None, kind=int):
            v = env.get(name, "").strip()
            if v:
                return kind(v)
            return quick_default if quick and quick_default is not None else default
        self.quick = quick
        self.redis_server = env.get("REDIS_SERVER") or "/usr/bin/redis-server"
        self.stores = (env.get("STORES") or "file mysql").split()
        self.n = num("N", 200000, 2000)
        self.runs = num("R", 3, 1)
        self.clients = num("CLIENTS", 50)
        self.depths = [int(d) for d in (env.get("DEPTHS") or "1 16").split()]
        self.workers = num("SEQD_WORKERS", 0)
        self.run_timeout = num("RUN_TIMEOUT", 120, 30)
        self.sequences = num("SEQUENCES", 100000, 2000)
        self.idle_conns = num("IDLE_CONNS", 10000, 200)
        self.next_n = num("NEXT_N", max(1, self.n // 10))
        self.nextrange_s = num("NEXTRANGE_S", 3.0, 0.3, float)
        self.delay_ms = num("DELAY_MS", 50)
        self.phase_timeout = num("PHASE_TIMEOUT", 600, 120)
        for s in self.stores:
            if s not in ("file", "mysql"):
                raise SystemExit("bench: STORES may hold file and mysql, not %r" % s)
        if self.runs < 1 or self.n < 1 or self.clients < 1 or not self.depths:
            raise SystemExit("bench: N, R, CLIENTS must be >= 1 and DEPTHS not empty")

    def describe(self):
        return ("N=%d R=%d CLIENTS=%d DEPTHS=\"%s\" SEQD_WORKERS=%d STORES=\"%s\" SEQUENCES=%d "
                "IDLE_CONNS=%d NEXT_N=%d NEXTRANGE_S=%g DELAY_MS=%d RUN_TIMEOUT=%d%s"
                % (self.n, self.runs, self.clients, " ".join(map(str, self.depths)), self.workers,
                   " ".join(self.stores), self.sequences, self.idle_conns, self.next_n,
                   self.nextrange_s, self.delay_ms, self.run_timeout, " QUICK=1" if self.quick else ""))


# ---- servers -----------------------------------------------------------------

class Redis:
    """Debian's redis-server, no persistence, on a free loopback port."""

    def __init__(self, binary, tmp):
        self.port = harness.free_port()
        self.log_path = os.path.join(tmp, "redis.log")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", tmp, "--daemonize", "no", "--loglevel", "warning"],
            stdout=self._log, stderr=subprocess.STDOUT)
        atexit.register(self.stop)
        if not harness.wait_port(self.port, 10, self.proc):
            with open(self.log_path, errors="replace") as f:
                raise BenchFailed("redis-server did not start; log:\n%s" % f.read()[-1500:])
        self.pid = self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def alive(server, what):
    if server.proc.poll() is not None:
        tail = server.log_tail(10) if hasattr(server, "log_tail") else ""
        raise BenchFailed("%s exited with %s during the run\n%s" % (what, server.proc.returncode, tail))


class Store:
    """One store under test and the "store" config object of each new node.
    The nodes of the mysql store share its table: each node measures names
    of its own."""

    def __init__(self, kind, db=None):
        self.kind = kind
        self.db = db

    def config(self, **extra):
        if self.kind == "mysql":
            cfg = self.db.store_config()
        else:
            cfg = {"type": "file"}       # the harness adds its own "dir"
        cfg.update(extra)
        return cfg


def start_node(store, settings, workers=None, delay_ms=0, maxclients=None, datadir=None):
    """A new seqd node on store, started and loaded; datadir: the file
    store's directory (default: one of its own under the temporary one)."""
    st = store.config(test_delay_ms=delay_ms) if delay_ms else store.config()
    cfg = {"workers": settings.workers if workers is None else workers,
           "log": {"level": "warning"},
           "maxclients": maxclients or max(10000, settings.idle_conns + settings.clients + 100),
           "store": st}
    return harness.Seqd(config=cfg, store=store.kind, datadir=datadir).start(timeout=60)


def stop_node(node):
    alive(node, "seqd (port %d)" % node.port)
    node.stop(timeout=60)


def define(port, names, fields=("type", "3")):
    """HSET each name (type 3 unless fields say otherwise) and GET it once,
    on a connection of its own; raises BenchFailed on an error reply."""
    c = harness.Client(port, timeout=30)
    try:
        for name in names:
            r = c.command("HSET", name, *fields)
            if isinstance(r, harness.RespError):
                raise BenchFailed("HSET %s on port %d: %s" % (name, port, r))
            r = c.command("GET", name)
            if isinstance(r, harness.RespError):
                raise BenchFailed("GET %s on port %d: %s" % (name, port, r))
    finally:
        c.close()


def warm_n(s):
    """GETs that warm a new sequence up before it is measured: its segment
    size grows to what the load needs (a fresh sequence starts at its step)."""
    return max(1000, s.n // 10)


def define_warm(b, s, node, name):
    """Define name on node and warm it up (warm_n GETs, -P 1)."""
    define(node.port, [name])
    b.run(node.port, node.proc.pid, 1, ["GET", name], n=warm_n(s))


# ---- redis-benchmark -----------------------------------------------------------

PCT_RE = re.compile(r"^\s*([0-9.]+)% <= ([0-9.]+) milliseconds")
RPS_RE = re.compile(r"throughput summary: ([0-9.]+) requests per second")


def parse_benchmark(out):
    """requests/s, p50, p99 and p99.9 (ms) from redis-benchmark's full output:
    p50 and p99 from the latency summary, p99.9 the first point of the
    percentile distribution at or past 99.9%."""
    text = out.replace("\r", "\n")
    m = RPS_RE.search(text)
    if not m:
        raise ValueError("no throughput summary")
    res = {"rps": float(m.group(1))}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "latency summary" in line and i + 2 < len(lines):
            head, vals = lines[i + 1].split(), lines[i + 2].split()
            summary = dict(zip(head, map(float, vals)))
            res["p50"], res["p99"] = summary["p50"], summary["p99"]
    p999 = None
    in_dist = False
    for line in lines:
        if line.startswith("Latency by percentile distribution"):
            in_dist = True
        elif line.startswith("Cumulative distribution"):
            break
        elif in_dist:
            m = PCT_RE.match(line)
            if m and float(m.group(1)) >= 99.9:
                p999 = float(m.group(2))
                break
    if "p50" not in res or p999 is None:
        raise ValueError("no latency summary or percentile distribution")
    res["p999"] = p999
    return res


class Bench:
    """redis-benchmark runs against one server process, with its CPU."""

    def __init__(self, settings):
        self.s = settings

    def run(self, port, pid, depth, args, n=None, extra=()):
        """One run; returns {rps, p50, p99, p999, cpu_per_m}. Raises
        ErrorReply when an error reply stopped it, BenchFailed otherwise."""
        n = n or self.s.n
        cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(self.s.clients),
               "-n", str(n), "-P", str(depth), "--precision", "3"] + list(extra) + list(args)
        cpu0 = harness.proc_cpu_s(pid)
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               universal_newlines=True, timeout=self.s.run_timeout)
        except subprocess.TimeoutExpired:
            raise BenchFailed("%s: not done within RUN_TIMEOUT %d s" % (" ".join(cmd), self.s.run_timeout))
        cpu = harness.proc_cpu_s(pid) - cpu0
        if r.returncode != 0:
            if "Error from server" in r.stderr:
                raise ErrorReply(r.stderr.strip().splitlines()[-1])
            raise BenchFailed("%s failed (exit %d): %s" % (" ".join(cmd), r.returncode, r.stderr.strip()[-500:]))
        try:
            res = parse_benchmark(r.stdout)
        except ValueError as e:
            raise BenchFailed("%s: %s in its output:\n%s" % (" ".join(cmd), e, r.stdout[-800:]))
        res["cpu_per_m"] = cpu / (n / 1e6)
        return res


def alternate(runs, a, b, label):
    """Run a() and b() runs times, alternating which goes first; returns
    the lists of their results."""
    ra, rb = [], []
    for i in range(runs):
        if i % 2 == 0:
            ra.append(a())
            rb.append(b())
        else:
            rb.append(b())
            ra.append(a())
        say("  %s run %d: %s / %s r/s" % (label, i + 1, fmt_n(ra[-1]["rps"]), fmt_n(rb[-1]["rps"])))
    return ra, rb


def med(results, key):
    return statistics.median(r[key] for r in results)


# ---- raw clients ---------------------------------------------------------------

def pipelined(port, commands, conns=8, batch=1000, deadline=None):
    """Send the commands (lists of arguments) over `conns` connections,
    `batch` per round trip; returns [(command, reply)] for replies that are
    errors. A command answered -TRYAGAIN is sent again."""
    todo = list(commands)
    errors = []
    lock = threading.Lock()

    def worker(out):
        try:
            c = harness.Client(port, timeout=60)
        except OSError as e:
            out.append(e)
            return
        try:
            while True:
                with lock:
                    chunk = todo[:batch]
                    del todo[:batch]
                if not chunk:
                    return
                if deadline and time.monotonic() > deadline:
                    out.append(BenchFailed("not done within PHASE_TIMEOUT"))
                    return
                payload = b"".join(harness.encode_command(*a) for a in chunk)
                c.send(payload)
                again = []
                for a in chunk:
                    r = c.read_reply()
                    if harness.is_tryagain(r):
                        again.append(a)
                    elif isinstance(r, harness.RespError):
                        with lock:
                            errors.append((a, r))
                if again:
                    time.sleep(0.02)
                    with lock:
                        todo.extend(again)
        except Exception as e:  # noqa: BLE001 - reported by the caller
            out.append(e)
        finally:
            c.close()

    problems = []
    threads = [threading.Thread(target=worker, args=(problems,), daemon=True) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if problems:
        raise BenchFailed("pipelined commands on port %d: %r" % (port, problems[0]))
    return errors


def raise_nofile(want):
    """Raise this process's open-file limit to want (as far as the hard
    limit allows); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    return soft


class IdleConns:
    """n idle connections: open, then (ping()) each sent one PING and got
    PONG. Either way the server has them all when the call returns
    (INFO clients: connected_clients)."""

    def __init__(self, port, n, deadline):
        limit = raise_nofile(n + 256)
        if limit < n + 64:
            raise BenchFailed("open-file limit %d too low for %d idle connections (ulimit -Hn)" % (limit, n))
        self.socks = []
        try:
            for _ in range(n):
                if time.monotonic() > deadline:
                    raise BenchFailed("opening %d connections: not done within PHASE_TIMEOUT" % n)
                self.socks.append(socket.create_connection(("127.0.0.1", port), timeout=30))
            harness.wait_int(port, "clients", "connected_clients", n, timeout=60)
        except BaseException:
            self.close()
            raise

    def ping(self):
        try:
            for s in self.socks:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
            for s in self.socks:
                got = b""
                while not got.endswith(b"\r\n"):
                    chunk = s.recv(64)
                    if not chunk:
                        raise BenchFailed("an idle connection was closed by the server (maxclients?)")
                    got += chunk
                if got != b"+PONG\r\n":
                    raise BenchFailed("PING on an idle connection: %r" % got)
        except BaseException:
            self.close()
            raise
        return self

    def close(self):
        """Close with a reset (SO_LINGER 0): tens of thousands of closes
        over a run would otherwise leave as many ports in TIME_WAIT."""
        for s in self.socks:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            s.close()
        self.socks = []


def settled_rss_kb(pid, within=5.0):
    """VmRSS once it stops moving (two readings 0.3 s apart within 64 kB),
    or the last reading after `within` seconds."""
    last = harness.proc_status_kb(pid)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = harness.proc_status_kb(pid)
        if abs(now - last) <= 64:
            return now
        last = now
    return last


def nextrange_loop(port, name, seconds):
    """numbers/s of `NEXTRANGE name 1000000` asked in turn by one raw
    client for `seconds`; None when the server does not know NEXTRANGE."""
    c = harness.Client(port, timeout=30)
    try:
        probe = c.command("NEXTRANGE", name, 1)
        if isinstance(probe, harness.RespError):
            if "unknown command" in probe.lower():
                return None
            raise BenchFailed("NEXTRANGE %s 1: %s" % (name, probe))
        numbers = 0
        t0 = time.monotonic()
        end = t0 + seconds
        while time.monotonic() < end:
            r = c.command("NEXTRANGE", name, NEXTRANGE_COUNT)
            if isinstance(r, harness.RespError):
                if harness.is_tryagain(r):
                    continue
                raise BenchFailed("NEXTRANGE %s %d: %s" % (name, NEXTRANGE_COUNT, r))
            got = sum((int(last) - int(first)) // int(step) + 1 for first, last, step in r)
            if got != NEXTRANGE_COUNT:
                raise BenchFailed("NEXTRANGE %s %d answered ranges of %d numbers: %r"
                                  % (name, NEXTRANGE_COUNT, got, r[:3]))
            numbers += got
        return numbers / (time.monotonic() - t0)
    finally:
        c.close()


# ---- formatting --------------------------------------------------------------------

def fmt_n(v):
    return format(int(round(v)), ",")


def fmt_big(v):
    if v >= 1e9:
        return "%.2fG" % (v / 1e9)
    return "%.1fM" % (v / 1e6) if v >= 1e6 else fmt_n(v)


def verdict(ok):
    return "PASS" if ok else "MISS"


class Table:
    """The rows, measured store by store, shown measure by measure: ordered
    by the row's number, then by when its measure was first added, so the
    stores' lines of one measure stand together."""

    def __init__(self):
        self.rows = []
        self.order = {}

    def add(self, row, measure, store, figure, target="-", result="-"):
        """measure must not name the store (the stores' lines of a
        measure are found by it); say store-specific things in figure."""
        self.order.setdefault(measure, len(self.order))
        self.rows.append((row, measure, store, figure, target, result))
        say("  [%s] %s (%s): %s  %s %s" % (row, measure, store, figure, target, result))

    def render(self):
        out = ["| row | measure | store | figure | target | result |",
               "| --- | --- | --- | --- | --- | --- |"]
        for r in sorted(self.rows, key=lambda r: (int(r[0].split(".")[0]), self.order[r[1]])):
            out.append("| " + " | ".join(str(c).replace("|", "/") for c in r) + " |")
        return "\n".join(out)


# ---- the measures ------------------------------------------------------------------

def row_get_vs_redis(t, b, s, store, node, redis):
    for d in s.depths:
        rs, ss = alternate(s.runs,
                           lambda: b.run(redis.port, redis.pid, d, ["INCR", KEY]),
                           lambda: b.run(node.port, node.proc.pid, d, ["GET", KEY]),
                           "%s: Redis INCR / seqd GET -P %d" % (store.kind, d))
        r_rps, s_rps = med(rs, "rps"), med(ss, "rps")
        r_cpu, s_cpu = med(rs, "cpu_per_m"), med(ss, "cpu_per_m")
        tag = "1.%d" % d
        t.add(tag, "GET vs Redis INCR, -P %d, %d clients: requests/s seqd / Redis" % (d, s.clients), store.kind,
              "%s / %s = %.2f×" % (fmt_n(s_rps), fmt_n(r_rps), s_rps / r_rps), "≥ 1.0×",
              verdict(s_rps >= r_rps))
        t.add(tag, "GET vs Redis INCR, -P %d: latency p50 / p99 / p99.9 ms, seqd ; Redis" % d, store.kind,
              "%.3f / %.3f / %.3f ; %.3f / %.3f / %.3f"
              % (med(ss, "p50"), med(ss, "p99"), med(ss, "p999"), med(rs, "p50"), med(rs, "p99"), med(rs, "p999")))
        measure = "GET vs Redis INCR, -P %d: server CPU s per 1M requests, seqd / Redis" % d
        if r_cpu > 0 and s_cpu > 0:
            t.add(tag, measure, store.kind, "%.2f / %.2f = %.2f×" % (s_cpu, r_cpu, s_cpu / r_cpu), "≤ 0.8×",
                  verdict(s_cpu <= 0.8 * r_cpu))
        else:       # /proc counts in clock ticks (10 ms): a tiny run may show none
            t.add(tag, measure, store.kind, "%.2f / %.2f = n/a (runs too short to measure)" % (s_cpu, r_cpu),
                  "≤ 0.8×")


def row_next(t, b, s, store, node):
    res = []
    for i in range(s.runs):
        res.append(b.run(node.port, node.proc.pid, NEXT_DEPTH, ["NEXT", KEY, str(NEXT_COUNT)], n=s.next_n,
                         extra=("--threads", str(NEXT_CLIENT_THREADS))))
        say("  %s: NEXT %d -P %d run %d: %s r/s" % (store.kind, NEXT_COUNT, NEXT_DEPTH, i + 1, fmt_n(res[-1]["rps"])))
    nps = med(res, "rps") * NEXT_COUNT
    t.add("2.1", "NEXT name %d, -P %d, %d clients, %d client threads: numbers/s"
          % (NEXT_COUNT, NEXT_DEPTH, s.clients, NEXT_CLIENT_THREADS), store.kind,
          "%s/s (%s req/s)" % (fmt_big(nps), fmt_n(med(res, "rps"))), "≥ 30M/s", verdict(nps >= 30e6))
    rates = []
    for i in range(s.runs):
        v = nextrange_loop(node.port, KEY, s.nextrange_s)
        if v is None:
            break
        rates.append(v)
    measure = "NEXTRANGE name %d, one raw client, %g s a run: numbers/s" % (NEXTRANGE_COUNT, s.nextrange_s)
    if not rates:
        t.add("2.2", measure, store.kind, "n/a (no NEXTRANGE)")
    else:
        t.add("2.2", measure, store.kind, "%s/s" % fmt_big(statistics.median(rates)))


def tmpfs_dir():
    """A new directory on /dev/shm, removed at exit; None without one."""
    if not (os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK)):
        return None
    path = tempfile.mkdtemp(prefix="seqd-bench-", dir="/dev/shm")
    atexit.register(shutil.rmtree, path, True)
    return path


def row_memory(t, s, store):
    """Row 3 on a fresh node: per idle sequence, per idle connection. The
    file store's directory is on tmpfs when there is one: the file store
    makes every definition and first claim durable with two fsyncs, which
    would make this row a disk benchmark (and a long one); its files'
    pages are not in seqd's RSS."""
    datadir = tmpfs_dir() if store.kind == "file" else None
    node = start_node(store, s, datadir=datadir and os.path.join(datadir, "data"))
    pid = node.proc.pid
    names = [MEM_NAME_FMT % i for i in range(s.sequences)]
    name_len = len(names[0])
    deadline = time.monotonic() + s.phase_timeout
    rss0 = settled_rss_kb(pid)
    t0 = time.monotonic()
    errors = pipelined(node.port, [("HSET", n, "type", "3") for n in names], deadline=deadline)
    errors += pipelined(node.port, [("GET", n) for n in names], deadline=deadline)
    if errors:
        raise BenchFailed("defining the sequences: %d errors, e.g. %r" % (len(errors), errors[0]))
    took = time.monotonic() - t0
    say("  %s: %d sequences defined and used in %.1f s" % (store.kind, s.sequences, took))
    if harness.keys(node.port) < s.sequences:
        raise BenchFailed("INFO keyspace: %d keys, not %d" % (harness.keys(node.port), s.sequences))
    # An idle server: its heap trim (src/heap_trim.h, every 2 s) has had
    # its look at what the burst freed.
    time.sleep(IDLE_SETTLE_S)
    rss1 = settled_rss_kb(pid)
    per_seq = (rss1 - rss0) * 1024.0 / s.sequences
    t.add("3.1", "memory per idle sequence: RSS delta / %s sequences (HSET + one GET each), names of %d B"
          % (fmt_n(s.sequences), name_len), store.kind,
          "%.0f B (%.0f B beyond the name; RSS %.1f → %.1f MB%s)"
          % (per_seq, per_seq - name_len, rss0 / 1024.0, rss1 / 1024.0, "; data dir on tmpfs" if datadir else ""),
          "≤ 300 B beyond the name", verdict(per_seq - name_len <= 300))

    rss0 = settled_rss_kb(pid)
    idle = IdleConns(node.port, s.idle_conns, time.monotonic() + s.phase_timeout)
    try:
        rss_open = settled_rss_kb(pid)
        idle.ping()
        rss1 = settled_rss_kb(pid)
    finally:
        idle.close()
    per_open = (rss_open - rss0) * 1024.0 / s.idle_conns
    per_conn = (rss1 - rss0) * 1024.0 / s.idle_conns
    t.add("3.2", "memory per idle connection: RSS delta / %s connections, after one PING each (just connected)"
          % fmt_n(s.idle_conns), store.kind,
          "%.0f B (%.0f B; RSS %.1f → %.1f MB)" % (per_conn, per_open, rss0 / 1024.0, rss1 / 1024.0), "≤ 2 KB",
          verdict(per_conn <= 2048))
    stop_node(node)


def row_contention(t, b, s, store, node):
    spread = [SPREAD_FMT % i for i in range(SPREAD)]
    define(node.port, spread)
    for d in s.depths:
        one, many = alternate(
            s.runs,
            lambda: b.run(node.port, node.proc.pid, d, ["GET", KEY]),
            lambda: b.run(node.port, node.proc.pid, d, ["GET", "seq:__rand_int__"], extra=["-r", str(SPREAD)]),
            "%s: one sequence / %d sequences -P %d" % (store.kind, SPREAD, d))
        r1, rn = med(one, "rps"), med(many, "rps")
        t.add("4.%d" % d, "contention, -P %d: %d clients on one sequence / spread over %d, requests/s"
              % (d, s.clients, SPREAD), store.kind,
              "%s / %s = %.2f×" % (fmt_n(r1), fmt_n(rn), r1 / rn), "≥ 0.8×", verdict(r1 >= 0.8 * rn))
    # workers 1 vs 2: two fresh nodes, each its own sequence.
    nodes = {}
    try:
        for w in (1, 2):
            nodes[w] = start_node(store, s, workers=w)
            define_warm(b, s, nodes[w], "%s_w%d" % (KEY, w))
        for d in s.depths:
            w1, w2 = alternate(
                s.runs,
                lambda: b.run(nodes[1].port, nodes[1].proc.pid, d, ["GET", "%s_w1" % KEY]),
                lambda: b.run(nodes[2].port, nodes[2].proc.pid, d, ["GET", "%s_w2" % KEY]),
                "%s: workers 1 / workers 2 -P %d" % (store.kind, d))
            r1, r2 = med(w1, "rps"), med(w2, "rps")
            t.add("4.w%d" % d, "\"workers\": 1 / \"workers\": 2, GET -P %d, requests/s; server CPU s per 1M" % d,
                  store.kind, "%s / %s (2 workers = %.2f× 1); %.2f / %.2f"
                  % (fmt_n(r1), fmt_n(r2), r2 / r1, med(w1, "cpu_per_m"), med(w2, "cpu_per_m")))
    finally:
        for n in nodes.values():
            stop_node(n)


def row_slow_store(t, b, s, store):
    nodes = {}
    try:
        nodes["normal"] = start_node(store, s)
        nodes["slow"] = start_node(store, s, delay_ms=s.delay_ms)
        for what, n in nodes.items():
            define_warm(b, s, n, "%s_%s" % (KEY, what))
        timeouts0 = {w: int(harness.info(n.port, "stats")["total_parked_timeouts"]) for w, n in nodes.items()}
        res = {"normal": [], "slow": []}
        stopped = {"normal": [], "slow": []}

        def one(what):
            n = nodes[what]
            try:
                res[what].append(b.run(n.port, n.proc.pid, 1, ["GET", "%s_%s" % (KEY, what)]))
            except ErrorReply as e:
                stopped[what].append(str(e))
                return {"rps": 0.0}
            return res[what][-1]
        alternate(s.runs, lambda: one("normal"), lambda: one("slow"),
                  "%s: normal / slow store (+%d ms a claim)" % (store.kind, s.delay_ms))
        timeouts = {w: int(harness.info(n.port, "stats")["total_parked_timeouts"]) - timeouts0[w]
                    for w, n in nodes.items()}
        measure = "slow store (+%d ms a claim) / normal, GET -P 1, %d clients: p99.9 ms" % (s.delay_ms, s.clients)
        if res["normal"] and res["slow"]:
            pn, ps = med(res["normal"], "p999"), med(res["slow"], "p999")
            t.add("5.1", measure, store.kind, "%.3f / %.3f = %.2f×" % (ps, pn, ps / pn), "≤ 1.5×",
                  verdict(ps <= 1.5 * pn))
        else:
            t.add("5.1", measure, store.kind, "n/a (every run stopped by an error reply)", "≤ 1.5×", "MISS")
        failed = len(stopped["slow"]) + timeouts["slow"]
        t.add("5.2", "slow store: failed requests (runs stopped by an error reply + parked timeouts)",
              store.kind, "%d (%d runs stopped%s, %d parked timeouts)"
              % (failed, len(stopped["slow"]), ": " + stopped["slow"][0][:80] if stopped["slow"] else "",
                 timeouts["slow"]),
              "0", verdict(failed == 0))
        if stopped["normal"] or timeouts["normal"]:
            say("  note: the normal node failed too: %r, %d parked timeouts" % (stopped["normal"][:1],
                                                                                  timeouts["normal"]))
    finally:
        for n in nodes.values():
            stop_node(n)


def row_idle(t, b, s, store, node):
    idle = [None]

    def without():
        return b.run(node.port, node.proc.pid, 1, ["GET", KEY])

    def with_idle():
        idle[0] = IdleConns(node.port, s.idle_conns, time.monotonic() + s.phase_timeout).ping()
        try:
            return b.run(node.port, node.proc.pid, 1, ["GET", KEY])
        finally:
            idle[0].close()
            harness.wait_for(lambda: int(harness.info(node.port, "clients")["connected_clients"]) < 10, 60,
                             "the idle connections are closed")
    # -P 1 throughput swings by ±20% from run to run on a shared 2-CPU
    # machine (both cases alike): this ratio takes at least 5 runs a side.
    a, w = alternate(max(s.runs, IDLE_ROW_MIN_RUNS), without, with_idle,
                     "%s: no idle / %d idle connections" % (store.kind, s.idle_conns))
    ra, rw = med(a, "rps"), med(w, "rps")
    t.add("6", "GET -P 1, %d busy clients, with %s idle connections / without: requests/s"
          % (s.clients, fmt_n(s.idle_conns)), store.kind,
          "%s / %s = %.2f×" % (fmt_n(rw), fmt_n(ra), rw / ra), "≥ 0.90× (slowed ≤ 10%)", verdict(rw >= 0.9 * ra))


def bench_store(t, b, s, store, redis):
    say("== store %s" % store.kind)
    node = start_node(store, s)
    try:
        define_warm(b, s, node, KEY)
        row_get_vs_redis(t, b, s, store, node, redis)
        row_next(t, b, s, store, node)
        row_contention(t, b, s, store, node)
        row_idle(t, b, s, store, node)
        alive(node, "seqd (%s, main node)" % store.kind)
    finally:
        stop_node(node)
    row_slow_store(t, b, s, store)
    row_memory(t, s, store)
    alive(redis, "redis-server")


# ---- main ------------------------------------------------------------------------------

def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%d CPUs (nproc), %s, Linux %s" % (len(os.sched_getaffinity(0)), model, os.uname().release)


def first_line(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=10).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def main():
    if len(sys.argv) > 1:
        if sys.argv[1] in ("-h", "--help"):
            print(__doc__)
            return 0
        raise SystemExit("bench: no arguments (settings are environment variables; --help lists them)")
    s = Settings(os.environ)
    if not (os.path.isfile(harness.BIN) and os.access(harness.BIN, os.X_OK)):
        raise SystemExit("bench: no seqd binary at %s (build it, or set SEQD_BIN)" % harness.BIN)
    if not os.access(s.redis_server, os.X_OK):
        raise SystemExit("bench: no redis-server at %s (apt-get install redis-server, or set REDIS_SERVER)"
                         % s.redis_server)
    if not shutil.which("redis-benchmark"):
        raise SystemExit("bench: redis-benchmark not found (apt-get install redis-tools)")
    # Ctrl-C stops the run even when started with SIGINT ignored (`&` in a
    # script); SIGHUP and SIGTERM (tests/lib/seqd.py) exit through atexit.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGHUP, lambda signum, frame: sys.exit(128 + signum))
    raise_nofile(s.idle_conns + 256)

    t0 = time.monotonic()
    tmp = harness.tmpdir("seqd-bench-")
    redis = Redis(s.redis_server, tmp)
    say("bench: seqd %s, redis-server on port %d; %s" % (harness.BIN, redis.port, s.describe()))
    t = Table()
    b = Bench(s)
    header = ["machine: %s" % machine(),
              "seqd: %s (%s)" % (first_line([harness.BIN, "-v"]), harness.BIN),
              "redis: %s; %s" % (re.sub(r" sha=.*", "", first_line([s.redis_server, "--version"])),
                                 first_line(["redis-benchmark", "--version"]))]
    db = None
    failed = None
    try:
        for kind in s.stores:
            store = Store(kind)
            if kind == "mysql":
                from mariadb import MariaDB  # tests/lib/mariadb.py
                db = MariaDB()
                db.start()
                store.db = db
                header.append("mysql store: MariaDB %s, private server on loopback TCP"
                              % db.rows("SELECT VERSION()")[0][0])
            bench_store(t, b, s, store, redis)
            if db is not None:
                db.close()
                db = None
    except BenchFailed as e:        # the table so far is still worth showing
        failed = str(e)
        say("bench: %s" % e)
    redis.stop()

    print()
    for line in header:
        print(line)
    print("command: %s %s" % (" ".join("%s=%s" % (k, shlex.quote(os.environ[k])) for k in ENV_KEYS
                                       if os.environ.get(k)), "contrib/bench.sh"))
    print("settings: %s" % s.describe())
    print("date: %s, %.0f s" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), time.monotonic() - t0))
    print()
    print(t.render())
    print()
    print("Medians of R runs; two cases compared ran alternately. Targets: the Performance issue.")
    if failed:
        print()
        print("FAILED (the rows after it are missing): %s" % failed.splitlines()[0])
        return 1
    return 0


ENV_KEYS = ("SEQD_BIN", "REDIS_SERVER", "STORES", "N", "R", "CLIENTS", "DEPTHS", "SEQD_WORKERS",
            "RUN_TIMEOUT", "QUICK", "SEQUENCES", "IDLE_CONNS", "NEXT_N", "NEXTRANGE_S", "DELAY_MS",
            "PHASE_TIMEOUT")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("bench: interrupted; stopping what it started")
        sys.exit(130)
    except BenchFailed as e:
        say("bench: %s" % e)
        sys.exit(1)
