#!/usr/bin/env python3
"""test_deploy: three seqd nodes on one MariaDB table behind a real HAProxy.

The multi-node recipe of contrib/haproxy/, run for real on 127.0.0.1:
a private MariaDB (tests/lib/mariadb.py), three seqd nodes with the mysql
store, and Debian's HAProxy with contrib/haproxy/haproxy.cfg rewritten for
free loopback ports. Load goes through HAProxy from redis-benchmark and
from client threads that keep every number they get (raw RESP over
sockets, pipelined, reconnecting on error). During the run:
  1. one node is killed with SIGKILL; HAProxy must route around it, each
     client may see at most two reconnects (the dying node's socket can
     still take one connection); the node is restarted and HAProxy takes
     it back (new connections reach it);
  2. another node is removed the way contrib/haproxy/README.md says (drain
     through the runtime API, SIGTERM, which must exit 0) and added back
     (start, set ready); each client may see at most one reconnect.
At the end: no number may have been handed out twice, and no request may
have failed outside those two events.

Prints the numbers collected, duplicates found and requests failed while
the node was down (and during the graceful removal). Exit 0 pass, 1 fail, 77 skip (only with
SEQD_ALLOW_SKIP=1, when MariaDB, HAProxy or redis-benchmark is missing).

Environment: SEQD_BIN (default src/seqd), SEQD_SRCDIR, SEQD_DEPLOY_SECONDS
(load duration, default 30), SEQD_DEPLOY_CLIENTS (collector threads,
default 6), SEQD_KEEP_TMP=1 (keep the logs and configs of a failed run).
The nodes, the client threads and the temporary directories are
tests/lib/seqd.py's (Seqd, Collector, tmpdir).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from array import array

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import seqd as harness  # noqa: E402
from seqd import Client, Collector, Seqd, collected, free_port, wait_for  # noqa: E402

SRCDIR = harness.SRCDIR
SEQD_BIN = harness.BIN
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




class TestFailure(Exception):
    pass


def ping(port, timeout=1.0):
    """True when the server on port answers PING."""
    try:
        c = Client(port, timeout)
        try:
            return c.command("PING") == "PONG"
        finally:
            c.close()
    except (OSError, ValueError):
        return False


# ---- processes --------------------------------------------------------------

def node_config(store):
    """seqd.json of a node: the mysql store, one worker."""
    return {
        "workers": 1,
        "maxclients": 1000,
        "log": {"level": "notice", "file": ""},
        "store": store,
        # Small segments: the nodes claim from the shared row several
        # times a second, so claims really interleave.
        "segment": {"max": 5000, "duration_s": 900, "wait_ms": 3000},
    }


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

        def up():
            if self.proc.poll() is not None:
                raise TestFailure("haproxy exited with %s:\n%s"
                                  % (self.proc.returncode, self.log_tail()))
            return ping(self.port) and os.path.exists(self.sock)
        try:
            wait_for(up, timeout, "haproxy passes PING through")
        except harness.WaitTimeout as e:
            raise TestFailure("%s:\n%s" % (e, self.log_tail()))

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
        try:
            wait_for(lambda: self.servers()[server]["status"].startswith(want), timeout,
                     "HAProxy marks %s %s" % (server, want))
        except harness.WaitTimeout:
            raise TestFailure("HAProxy did not mark %s %s within %.0fs (now %s)"
                              % (server, want, timeout, self.servers()[server]["status"]))
        return time.monotonic() - t0

    def log_tail(self, n=30):
        try:
            with open(self.logpath, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join("    " + l for l in lines[-n:])
        except OSError:
            return "    (no log)"


# ---- load -------------------------------------------------------------------

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
        harness.note_failure(None)
        harness.remove_tmpdirs()        # os._exit skips atexit
        os._exit(1)
    t = threading.Timer(HARD_LIMIT_S, fire)
    t.daemon = True
    t.start()
    return t


def start_node(n):
    """Start a node and wait until it answers PING."""
    try:
        n.start(timeout=20)
    except RuntimeError as e:
        raise TestFailure("%s: %s" % (n.name, e))
    wait_for(lambda: ping(n.port), 20, "%s answers PING" % n.name)


def stop_node(n):
    """SIGTERM and wait; the exit status, None if it had to be killed."""
    try:
        return n.stop(30)
    except RuntimeError:
        return None


def deploy(workdir, db):
    results = {}
    # The private MariaDB over TCP; the nodes rescan the table often.
    store = db.store_config(threads=2, rescan_s=5)
    nodes = []
    for i in range(NODES):
        n = Seqd(config=node_config(store), store="mysql")
        n.name = "node%d" % (i + 1)
        nodes.append(n)
    node_ports = [n.port for n in nodes]
    hp_port = free_port()
    haproxy = HAProxy(workdir, hp_port, node_ports)

    def procs():
        ps = [n.proc for n in nodes] + [haproxy.proc, db.proc]
        return [p.pid for p in ps if p is not None]
    dog = watchdog(procs)
    try:
        for n in nodes:
            start_node(n)
        log("seqd nodes on ports %s (mysql store)" % ", ".join(str(p) for p in node_ports))

        c = Client(nodes[0].port)
        r = c.command("HSET", SEQ, "type", "3", "starting", "1", "segment", "500")
        c.close()
        if r != 1:
            raise TestFailure("HSET %s type 3 on node1 answered %r" % (SEQ, r))
        # Every node must know the sequence from the shared table.
        for n in nodes:
            c = Client(n.port)
            r = c.command("GET", SEQ)
            c.close()
            if not (isinstance(r, str) and r.isdigit()):
                raise TestFailure("GET %s on %s answered %r" % (SEQ, n.name, r))

        haproxy.start()
        for name, st in haproxy.servers().items():
            if not st["status"].startswith("UP"):
                haproxy.wait_status(name, "UP", 10)
        log("haproxy on port %d in front of %s" % (hp_port, ", ".join(n.name for n in nodes)))

        stop = threading.Event()
        # Clients through HAProxy that GET as fast as they can, keep every
        # number and reconnect when a connection breaks.
        collectors = [Collector(hp_port, SEQ, stop, pipeline=PIPELINE, start_at=i, timeout=5.0)
                      for i in range(CLIENTS)]
        t0 = time.monotonic()
        for col in collectors:
            col.start()

        results["bench_before"] = run_benchmark(hp_port, "all nodes up")
        log("redis-benchmark through haproxy, all nodes up: %.0f requests/s"
            % results["bench_before"])

        # ---- phase 1: a node dies (SIGKILL) and comes back -------------
        victim = nodes[VICTIM]
        # The schedule of the load (LOAD_SECONDS long) is the point here:
        # each phase starts at its share of it, with clients running.
        time.sleep(max(0.0, t0 + LOAD_SECONDS * 0.3 - time.monotonic()))
        sessions_before = haproxy.servers()[victim.name]["stot"]
        count_at_kill = collected(collectors)
        t_kill = time.monotonic()
        victim.kill()
        log("killed %s (SIGKILL) at t=%.1fs" % (victim.name, t_kill - t0))
        results["detect_s"] = haproxy.wait_status(victim.name, "DOWN", 10)
        log("haproxy marked %s DOWN after %.2fs" % (victim.name, results["detect_s"]))

        # The node stays down for a while under load (the point: numbers
        # must keep coming from the others).
        time.sleep(max(0.0, t_kill + LOAD_SECONDS * 0.2 - time.monotonic()))
        count_at_restart = collected(collectors)
        start_node(victim)
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
        time.sleep(max(0.0, t0 + LOAD_SECONDS * 0.7 - time.monotonic()))   # the schedule
        t_drain = time.monotonic()
        haproxy.admin("set server seqd/%s state drain" % leaver.name)
        haproxy.wait_status(leaver.name, "DRAIN", 5)
        rc = stop_node(leaver)
        if rc != 0:
            raise TestFailure("%s exited with %s on SIGTERM while draining:\n%s"
                              % (leaver.name, rc, leaver.log_tail()))
        haproxy.admin("set server seqd/%s state maint" % leaver.name)
        log("drained %s and stopped it with SIGTERM (exit 0) at t=%.1fs"
            % (leaver.name, t_drain - t0))
        # Out of service for a while under load (the schedule).
        time.sleep(max(0.0, t_drain + LOAD_SECONDS * 0.1 - time.monotonic()))
        start_node(leaver)
        haproxy.admin("set server seqd/%s state ready" % leaver.name)
        haproxy.wait_status(leaver.name, "UP", 15)
        t_added = time.monotonic()
        log("started %s again and set it ready; UP after %.1fs"
            % (leaver.name, t_added - t_drain))
        results["bench_end"] = run_benchmark(hp_port, "after the node was added")
        log("redis-benchmark through haproxy, after the node was added: %.0f requests/s"
            % results["bench_end"])

        time.sleep(max(0.0, t0 + LOAD_SECONDS - time.monotonic()))   # the rest of the load
        stop.set()
        for col in collectors:
            col.join(30)
            if col.is_alive():
                raise TestFailure("%s did not stop" % col.name)
            if col.exc:
                raise TestFailure("%s: %s: %r" % (col.name, type(col.exc).__name__, col.exc))
        load_s = time.monotonic() - t0

        # ---- the figures ------------------------------------------------
        total = collected(collectors)
        allnums = array("q")
        for col in collectors:
            for nums in col.got.values():
                allnums.extend(nums)
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
        worst_losses = {"down": 0, "removal": 0}
        for col in collectors:
            # An error reply is one failed request; a lost connection fails
            # the requests it left unanswered.
            failures = ([(t, 1, repr(r)) for t, _, _, r in col.errors]
                        + [(t, n, why) for t, _, n, why in col.losses])
            for t, n, why in failures:
                failed[window(t)] += n
                reasons[why] = reasons.get(why, 0) + n
            for w in ("down", "removal"):
                worst_losses[w] = max(worst_losses[w], sum(1 for t, _, _, _ in col.losses if window(t) == w))
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
            % ([len(col.losses) for col in collectors],
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
        # A SIGKILLed process's listening socket still completes handshakes
        # for a moment while the kernel tears it down (about 1 ms here, longer
        # for an ASan build under load), so a client that reconnects at once
        # may land on the dying node through HAProxy once more: two
        # reconnects for the kill. The graceful removal closes the listener
        # first: one.
        if worst_losses["down"] > 2 or worst_losses["removal"] > 1:
            for col in collectors:
                log("%s lost its connection at %s" % (col.name, [round(t - t0, 2) for t, _, _, _ in col.losses]))
            raise TestFailure("a client lost its connection %d times when %s was killed (at most 2)"
                              " and %d times when %s was removed (at most 1)"
                              % (worst_losses["down"], victim.name, worst_losses["removal"], leaver.name))
        if sessions_after <= sessions_before:
            raise TestFailure("haproxy sent no new connection to the restarted %s"
                              % victim.name)
        for n in nodes:
            if counts[n.name]["stot"] == 0:
                raise TestFailure("haproxy never used %s" % n.name)

        # Graceful stops: each node gives its ranges back and exits 0.
        haproxy.stop()
        for n in nodes:
            rc = stop_node(n)
            if rc != 0:
                raise TestFailure("%s exited with %s on SIGTERM:\n%s" % (n.name, rc, n.log_tail()))
        log("all nodes stopped with SIGTERM, exit 0")
        results.update(total=total, dups=dups, failed_down=failed["down"])
        return results
    except (TestFailure, RuntimeError, AssertionError):
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
    # Removed at exit (tests/lib/seqd.py), kept only when the run fails
    # with SEQD_KEEP_TMP=1; the nodes have directories of their own.
    workdir = harness.tmpdir("seqd-deploy-")
    ok = False
    try:
        # A private server on its own socket and free port, with the
        # database, the seqd user and sql/schema.sql loaded.
        with mariadb.MariaDB() as db:
            log("private MariaDB on 127.0.0.1:%d (started in %.1fs)"
                % (db.port, db.start_seconds))
            deploy(workdir, db)
            ok = True
    except (TestFailure, RuntimeError, AssertionError) as e:
        log("FAIL: %s" % e)
    finally:
        if not ok:
            harness.note_failure(None)
    print("%d passed, %d failed" % (1 if ok else 0, 0 if ok else 1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
