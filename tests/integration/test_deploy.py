#!/usr/bin/env python3
"""test_deploy: three seqd nodes on one MariaDB table behind a real HAProxy.

The multi-node recipe of contrib/haproxy/, run for real on 127.0.0.1:
a private MariaDB (tests/lib/mariadb.py), three seqd nodes with the mysql
store, and Debian's HAProxy with contrib/haproxy/haproxy.cfg rewritten for
free loopback ports. Load goes through HAProxy from redis-benchmark and
from client threads that keep every number they get (raw RESP over
sockets, pipelined, reconnecting on error). During the run:
  1. one node is killed with SIGKILL; HAProxy must route around it, each
     client may see at most one reconnect; the node is restarted and HAProxy
     takes it back (new connections reach it);
  2. another node is removed the way contrib/haproxy/README.md says (drain
     through the runtime API, SIGTERM, which must exit 0) and added back
     (start, set ready).
At the end: no number may have been handed out twice, and no request may
have failed outside those two events.

Prints the numbers collected, duplicates found and requests failed while
the node was down (and during the graceful removal). Exit 0 pass, 1 fail, 77 skip (only with
SEQD_ALLOW_SKIP=1, when MariaDB, HAProxy or redis-benchmark is missing).

Environment: SEQD_BIN (default src/seqd), SEQD_SRCDIR, SEQD_DEPLOY_SECONDS
(load duration, default 30), SEQD_DEPLOY_CLIENTS (collector threads,
default 6), SEQD_KEEP_TMP=1 (keep logs and configs).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from array import array

SRCDIR = os.environ.get("SEQD_SRCDIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "lib"))

SEQD_BIN = os.environ.get("SEQD_BIN") or os.path.join(SRCDIR, "src", "seqd")
HAPROXY_BIN = os.environ.get("HAPROXY_BIN", "/usr/sbin/haproxy")
REDIS_BENCHMARK = shutil.which("redis-benchmark")
CONTRIB_CFG = os.path.join(SRCDIR, "contrib", "haproxy", "haproxy.cfg")

LOAD_SECONDS = float(os.environ.get("SEQD_DEPLOY_SECONDS", "30"))
CLIENTS = int(os.environ.get("SEQD_DEPLOY_CLIENTS", "6"))
PIPELINE = 8                 # GETs per round trip of a collector
BENCH_REQUESTS = 20000       # per redis-benchmark run (bounded)
SEQ = "deploy_order"
NODES = 3
VICTIM = 1                   # index of the node that is killed
# The whole test, whatever happens, ends by then (a watchdog kills it).
HARD_LIMIT_S = LOAD_SECONDS + 300

SKIP = 77


def log(msg):
    print("test_deploy: %s" % msg, flush=True)


def unmet(msg):
    """A tool this machine lacks: fail, or skip when SEQD_ALLOW_SKIP=1."""
    if os.environ.get("SEQD_ALLOW_SKIP") == "1":
        log("SKIP: " + msg)
        sys.exit(SKIP)
    log("FAIL: %s (set SEQD_ALLOW_SKIP=1 to skip instead)" % msg)
    sys.exit(1)



def log_tail(path, n=30):
    """The last n lines of a log file, indented, for failure messages."""
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join("    " + l for l in lines[-n:])
    except OSError:
        return "    (no log)"

class TestFailure(Exception):
    pass


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (held open together, so they
    differ; a small race with other programs remains)."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


# ---- a minimal RESP client --------------------------------------------------

class Conn:
    """One RESP connection with a buffered reader. Raises OSError (or
    ConnectionError) on any network trouble."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=2.0)
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by peer")
            self.buf += chunk

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by peer")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        """One reply: bytes, int, list, None, or a RespError instance."""
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest
        if t == b"-":
            return RespError(rest.decode("utf-8", "replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ConnectionError("unexpected reply line %r" % line[:80])

    def send(self, data):
        self.sock.sendall(data)

    def call(self, *args):
        self.send(encode(*args))
        return self.reply()


class RespError:
    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return "-" + self.text


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def ping(port, timeout=1.0):
    try:
        c = Conn(port, timeout)
        try:
            return c.call("PING") == b"PONG"
        finally:
            c.close()
    except (OSError, ValueError):
        return False


# ---- processes --------------------------------------------------------------

class Node:
    """One seqd process with the mysql store, run in the foreground."""

    def __init__(self, idx, port, workdir, store):
        self.idx = idx
        self.port = port
        self.name = "node%d" % (idx + 1)
        self.conf = os.path.join(workdir, self.name + ".json")
        self.logpath = os.path.join(workdir, self.name + ".log")
        self.proc = None
        cfg = {
            "bind": "127.0.0.1",
            "port": port,
            "workers": 1,
            "maxclients": 1000,
            "log": {"level": "notice", "file": ""},
            "store": store,
            # Small segments: the nodes claim from the shared row several
            # times a second, so claims really interleave.
            "segment": {"max": 5000, "duration_s": 900, "wait_ms": 3000},
        }
        with open(self.conf, "w") as f:
            json.dump(cfg, f, indent=2)

    def start(self, timeout=20.0):
        logf = open(self.logpath, "ab")
        self.proc = subprocess.Popen([SEQD_BIN, "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure("%s exited with %s at start:\n%s"
                                  % (self.name, self.proc.returncode, self.log_tail()))
            if ping(self.port):
                return
            time.sleep(0.1)
        raise TestFailure("%s does not answer PING on %d after %.0fs:\n%s"
                          % (self.name, self.port, timeout, self.log_tail()))

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout=30.0):
        """SIGTERM and wait; returns the exit status (None if it had to be
        killed)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def log_tail(self, n=30):
        return log_tail(self.logpath, n)


class HAProxy:
    """Debian's haproxy in the foreground (-db) with contrib's configuration,
    rewritten for this run's ports and a private admin socket."""

    def __init__(self, workdir, port, node_ports):
        self.port = port
        self.sock = os.path.join(workdir, "haproxy.sock")
        self.cfgpath = os.path.join(workdir, "haproxy.cfg")
        self.logpath = os.path.join(workdir, "haproxy.log")
        self.proc = None
        with open(CONTRIB_CFG) as f:
            text = f.read()
        subs = [
            # No syslog in a test; the frontends log nowhere.
            (r"(?m)^\s*log /dev/log.*\n", ""),
            (r"/run/haproxy/admin\.sock", self.sock),
            (r"bind 127\.0\.0\.1:6380", "bind 127.0.0.1:%d" % port),
            (r"maxconn \d+", "maxconn 2000"),
        ]
        for i, p in enumerate(node_ports):
            subs.append((r"127\.0\.0\.1:%d\b" % (6401 + i), "127.0.0.1:%d" % p))
        for pat, rep in subs:
            text, n = re.subn(pat, rep, text)
            if n == 0:
                raise TestFailure("contrib/haproxy/haproxy.cfg no longer has %r" % pat)
        with open(self.cfgpath, "w") as f:
            f.write(text)

    def start(self, timeout=15.0):
        r = subprocess.run([HAPROXY_BIN, "-c", "-f", self.cfgpath], capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 0:
            raise TestFailure("haproxy -c rejects the configuration:\n%s%s" % (r.stdout, r.stderr))
        logf = open(self.logpath, "ab")
        self.proc = subprocess.Popen([HAPROXY_BIN, "-db", "-f", self.cfgpath],
                                     stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT)
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure("haproxy exited with %s:\n%s"
                                  % (self.proc.returncode, self.log_tail()))
            if ping(self.port) and os.path.exists(self.sock):
                return
            time.sleep(0.1)
        raise TestFailure("haproxy does not pass PING through after %.0fs:\n%s"
                          % (timeout, self.log_tail()))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def admin(self, command):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        try:
            s.connect(self.sock)
            s.sendall(command.encode() + b"\n")
            chunks = []
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
            return b"".join(chunks).decode()
        finally:
            s.close()

    def servers(self):
        """{server name: {"status": "UP"/"DOWN"/..., "stot": sessions}}."""
        text = self.admin("show stat")
        lines = text.splitlines()
        header = lines[0].lstrip("# ").split(",")
        out = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(",")))
            if row.get("pxname") == "seqd" and row.get("svname") not in ("BACKEND", "FRONTEND"):
                out[row["svname"]] = {"status": row["status"], "stot": int(row["stot"] or 0)}
        return out

    def wait_status(self, server, want, timeout):
        """Wait until the server's status starts with want; returns the
        seconds it took."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.servers()[server]["status"].startswith(want):
                return time.monotonic() - t0
            time.sleep(0.05)
        raise TestFailure("HAProxy did not mark %s %s within %.0fs (now %s)"
                          % (server, want, timeout, self.servers()[server]["status"]))

    def log_tail(self, n=30):
        return log_tail(self.logpath, n)


# ---- load -------------------------------------------------------------------

class Collector(threading.Thread):
    """A client that GETs the sequence through HAProxy as fast as it can,
    PIPELINE commands per round trip, and keeps every number. On a network
    error it counts the unanswered commands as failed and reconnects."""

    def __init__(self, idx, port, stop):
        super().__init__(name="collector-%d" % idx, daemon=True)
        self.port = port
        self.stop = stop
        self.numbers = array("q")
        self.failures = []           # (monotonic time, count, reason)
        self.connection_losses = 0   # connections lost mid-use
        self.loss_times = []         # when they were lost (monotonic)
        self.connect_failures = 0    # connects that did not succeed
        self.error = None

    def run(self):
        batch = encode("GET", SEQ) * PIPELINE
        conn = None
        try:
            while not self.stop.is_set():
                if conn is None:
                    try:
                        conn = Conn(self.port)
                    except OSError:
                        self.connect_failures += 1
                        time.sleep(0.05)
                        continue
                got = 0
                try:
                    conn.send(batch)
                    for _ in range(PIPELINE):
                        r = conn.reply()
                        got += 1
                        if isinstance(r, bytes):
                            self.numbers.append(int(r))
                        else:
                            self.failures.append((time.monotonic(), 1, repr(r)))
                except (OSError, ConnectionError) as e:
                    self.failures.append((time.monotonic(), PIPELINE - got, str(e)))
                    self.connection_losses += 1
                    self.loss_times.append(time.monotonic())
                    conn.close()
                    conn = None
        except Exception as e:  # a bug in the test or a garbled reply
            self.error = "%s: %r" % (type(e).__name__, e)
        finally:
            if conn:
                conn.close()


def collected(collectors):
    return sum(len(col.numbers) for col in collectors)


def run_benchmark(port, label):
    """redis-benchmark through HAProxy, bounded by -n and a timeout.
    Returns requests per second."""
    cmd = [REDIS_BENCHMARK, "-h", "127.0.0.1", "-p", str(port), "-c", "10",
           "-n", str(BENCH_REQUESTS), "-P", "1", "--csv", "GET", SEQ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    m = re.search(r'^"GET[^"]*","([0-9.]+)"', r.stdout, re.M)
    if r.returncode != 0 or not m:
        raise TestFailure("redis-benchmark (%s) failed, exit %d:\n%s%s"
                          % (label, r.returncode, r.stdout[-2000:], r.stderr[-2000:]))
    return float(m.group(1))


# ---- the test ---------------------------------------------------------------

def preconditions():
    if not (os.path.isfile(SEQD_BIN) and os.access(SEQD_BIN, os.X_OK)):
        raise TestFailure("no seqd binary at %s (build it, or set SEQD_BIN)" % SEQD_BIN)
    if not os.access(HAPROXY_BIN, os.X_OK):
        unmet("%s is missing (apt-get install haproxy)" % HAPROXY_BIN)
    if not REDIS_BENCHMARK:
        unmet("redis-benchmark is missing (apt-get install redis-tools)")
    try:
        import mariadb  # tests/lib/mariadb.py
    except ImportError as e:
        raise TestFailure("cannot import tests/lib/mariadb.py: %s" % e)
    try:
        mariadb.find_binaries()
    except mariadb.MariaDBMissing as e:
        unmet(str(e))


def watchdog(pids):
    """After HARD_LIMIT_S, kill everything this test started and exit."""
    def fire():
        log("FAIL: still running after %.0fs; killing what it started" % HARD_LIMIT_S)
        for p in pids():
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        os._exit(1)
    t = threading.Timer(HARD_LIMIT_S, fire)
    t.daemon = True
    t.start()
    return t


def deploy(workdir, db):
    results = {}
    # The private MariaDB over TCP; the nodes rescan the table often.
    store = db.store_config(threads=2, rescan_s=5)
    node_ports = free_ports(NODES + 1)
    hp_port, node_ports = node_ports[0], node_ports[1:]
    nodes = [Node(i, p, workdir, store) for i, p in enumerate(node_ports)]
    haproxy = HAProxy(workdir, hp_port, node_ports)

    def procs():
        ps = [n.proc for n in nodes] + [haproxy.proc, db.proc]
        return [p.pid for p in ps if p is not None]
    dog = watchdog(procs)
    try:
        for n in nodes:
            n.start()
        log("seqd nodes on ports %s (mysql store)" % ", ".join(str(p) for p in node_ports))

        c = Conn(nodes[0].port)
        r = c.call("HSET", SEQ, "type", "3", "starting", "1", "segment", "500")
        c.close()
        if r != 1:
            raise TestFailure("HSET %s type 3 on node1 answered %r" % (SEQ, r))
        # Every node must know the sequence from the shared table.
        for n in nodes:
            c = Conn(n.port)
            r = c.call("GET", SEQ)
            c.close()
            if not isinstance(r, bytes):
                raise TestFailure("GET %s on %s answered %r" % (SEQ, n.name, r))

        haproxy.start()
        for name, st in haproxy.servers().items():
            if not st["status"].startswith("UP"):
                haproxy.wait_status(name, "UP", 10)
        log("haproxy on port %d in front of %s" % (hp_port, ", ".join(n.name for n in nodes)))

        stop = threading.Event()
        collectors = [Collector(i, hp_port, stop) for i in range(CLIENTS)]
        t0 = time.monotonic()
        for col in collectors:
            col.start()

        results["bench_before"] = run_benchmark(hp_port, "all nodes up")
        log("redis-benchmark through haproxy, all nodes up: %.0f requests/s"
            % results["bench_before"])

        # ---- phase 1: a node dies (SIGKILL) and comes back -------------
        victim = nodes[VICTIM]
        time.sleep(max(0.0, t0 + LOAD_SECONDS * 0.3 - time.monotonic()))
        sessions_before = haproxy.servers()[victim.name]["stot"]
        count_at_kill = collected(collectors)
        t_kill = time.monotonic()
        victim.kill()
        log("killed %s (SIGKILL) at t=%.1fs" % (victim.name, t_kill - t0))
        results["detect_s"] = haproxy.wait_status(victim.name, "DOWN", 10)
        log("haproxy marked %s DOWN after %.2fs" % (victim.name, results["detect_s"]))

        time.sleep(max(0.0, t_kill + LOAD_SECONDS * 0.2 - time.monotonic()))
        count_at_restart = collected(collectors)
        victim.start()
        results["rise_s"] = haproxy.wait_status(victim.name, "UP", 15)
        t_up = time.monotonic()
        log("restarted %s; haproxy marked it UP after %.2fs (down for %.1fs)"
            % (victim.name, results["rise_s"], t_up - t_kill))

        results["bench_after"] = run_benchmark(hp_port, "after the restart")
        log("redis-benchmark through haproxy, after the restart: %.0f requests/s"
            % results["bench_after"])
        sessions_after = haproxy.servers()[victim.name]["stot"]

        # ---- phase 2: remove a node and add it back, as the README says -
        leaver = nodes[(VICTIM + 1) % NODES]
        time.sleep(max(0.0, t0 + LOAD_SECONDS * 0.7 - time.monotonic()))
        t_drain = time.monotonic()
        haproxy.admin("set server seqd/%s state drain" % leaver.name)
        time.sleep(0.5)
        rc = leaver.stop()
        if rc != 0:
            raise TestFailure("%s exited with %s on SIGTERM while draining:\n%s"
                              % (leaver.name, rc, leaver.log_tail()))
        haproxy.admin("set server seqd/%s state maint" % leaver.name)
        log("drained %s and stopped it with SIGTERM (exit 0) at t=%.1fs"
            % (leaver.name, t_drain - t0))
        time.sleep(max(0.0, t_drain + LOAD_SECONDS * 0.1 - time.monotonic()))
        leaver.start()
        haproxy.admin("set server seqd/%s state ready" % leaver.name)
        haproxy.wait_status(leaver.name, "UP", 15)
        t_added = time.monotonic()
        log("started %s again and set it ready; UP after %.1fs"
            % (leaver.name, t_added - t_drain))
        results["bench_end"] = run_benchmark(hp_port, "after the node was added")
        log("redis-benchmark through haproxy, after the node was added: %.0f requests/s"
            % results["bench_end"])

        time.sleep(max(0.0, t0 + LOAD_SECONDS - time.monotonic()))
        stop.set()
        for col in collectors:
            col.join(30)
            if col.is_alive():
                raise TestFailure("%s did not stop" % col.name)
            if col.error:
                raise TestFailure("%s: %s" % (col.name, col.error))
        load_s = time.monotonic() - t0

        # ---- the figures ------------------------------------------------
        total = collected(collectors)
        allnums = array("q")
        for col in collectors:
            allnums.extend(col.numbers)
        ordered = sorted(allnums)
        dups = sum(1 for a, b in zip(ordered, ordered[1:]) if a == b)
        del allnums

        def window(t):
            if t_kill <= t <= t_up:
                return "down"
            if t_drain <= t <= t_added:
                return "removal"
            return "other"
        failed = {"down": 0, "removal": 0, "other": 0}
        reasons = {}
        worst_losses = 0
        for col in collectors:
            for t, n, why in col.failures:
                failed[window(t)] += n
                reasons[why] = reasons.get(why, 0) + n
            for w in ("down", "removal"):
                worst_losses = max(worst_losses, sum(1 for t in col.loss_times if window(t) == w))
        counts = haproxy.servers()

        log("load: %d client threads x %d pipelined GETs through haproxy for %.1fs"
            % (CLIENTS, PIPELINE, load_s))
        log("numbers collected: %d (%.0f/s); while %s was down: %d"
            % (total, total / load_s, victim.name, count_at_restart - count_at_kill))
        log("duplicates found: %d" % dups)
        log("requests failed while %s was down: %d; during the graceful removal of %s: %d;"
            " at other times: %d" % (victim.name, failed["down"], leaver.name,
                                     failed["removal"], failed["other"]))
        if reasons:
            log("failure reasons: %s" % "; ".join("%s x%d" % kv for kv in sorted(reasons.items())))
        log("connections lost per client: %s; connects refused: %d"
            % ([col.connection_losses for col in collectors],
               sum(col.connect_failures for col in collectors)))
        log("haproxy sessions per node: %s"
            % ", ".join("%s %d" % (k, v["stot"]) for k, v in sorted(counts.items())))
        if ordered:
            log("numbers range from %d to %d" % (ordered[0], ordered[-1]))

        # ---- the verdict ------------------------------------------------
        if dups:
            raise TestFailure("%d numbers were handed out twice" % dups)
        if total == 0 or count_at_kill == 0:
            raise TestFailure("no numbers collected before the kill")
        if count_at_restart - count_at_kill <= 0:
            raise TestFailure("no numbers were served while %s was down" % victim.name)
        if total - count_at_restart <= 0:
            raise TestFailure("no numbers were served after the restart")
        if failed["other"]:
            raise TestFailure("%d requests failed outside the outage and the removal"
                              % failed["other"])
        if worst_losses > 1:
            raise TestFailure("a client lost its connection %d times in one event"
                              " (at most one reconnect allowed)" % worst_losses)
        if sessions_after <= sessions_before:
            raise TestFailure("haproxy sent no new connection to the restarted %s"
                              % victim.name)
        for n in nodes:
            if counts[n.name]["stot"] == 0:
                raise TestFailure("haproxy never used %s" % n.name)

        # Graceful stops: each node gives its ranges back and exits 0.
        haproxy.stop()
        for n in nodes:
            rc = n.stop()
            if rc != 0:
                raise TestFailure("%s exited with %s on SIGTERM:\n%s" % (n.name, rc, n.log_tail()))
        log("all nodes stopped with SIGTERM, exit 0")
        results.update(total=total, dups=dups, failed_down=failed["down"])
        return results
    except TestFailure:
        for n in nodes:
            log("--- %s log (last lines)\n%s" % (n.name, n.log_tail()))
        log("--- haproxy log (last lines)\n%s" % haproxy.log_tail())
        raise
    finally:
        haproxy.stop()
        for n in nodes:
            n.kill()
        dog.cancel()


def main():
    try:
        preconditions()
    except TestFailure as e:
        log("FAIL: %s" % e)
        return 1
    import mariadb
    workdir = tempfile.mkdtemp(prefix="seqd-deploy.")
    ok = False
    try:
        # A private server on its own socket and free port, with the
        # database, the seqd user and sql/schema.sql loaded.
        with mariadb.MariaDB() as db:
            log("private MariaDB on 127.0.0.1:%d (started in %.1fs)"
                % (db.port, db.start_seconds))
            deploy(workdir, db)
            ok = True
    except (TestFailure, RuntimeError) as e:
        log("FAIL: %s" % e)
    finally:
        if os.environ.get("SEQD_KEEP_TMP") == "1" or not ok:
            log("logs and configs kept in %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("%d passed, %d failed" % (1 if ok else 0, 0 if ok else 1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
