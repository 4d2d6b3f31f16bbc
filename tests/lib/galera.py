"""A private MariaDB Galera cluster for seqd's tests (Python 3, stdlib only).

    from galera import GaleraCluster
    with GaleraCluster(3) as g:           # node 0 bootstraps, 1 and 2 join by SST
        g.sql(1, "SELECT ...")            # SQL as root on node 1 (rows(): split)
        cfg = g.store_config(2)           # seqd.json's "store" object for node 2
        g.kill(2)                         # SIGKILL node 2 (and its SST/IST helpers)
        g.wait_size(0, 2)                 # the survivors have evicted it
        g.start(2)                        # rejoin: position recovered, then IST
        g.wait_synced()                   # every running node Synced, size 3
        g.cert_failures(), g.bf_aborts()  # wsrep conflict counters, per node
        m = g.commit_meter(0); m.start()  # when commits on node 0 stall
        ...; m.stop(); m.stalls(0.25)     # [(from, to)]: the cluster was frozen

Every node is a tests/lib/mariadb.py MariaDB of its own: its own data
directory, unix socket and SQL port, plus a Galera group port
(gmcast.listen_addr), an IST port (ist.recv_addr) and an SST receive
address, all on 127.0.0.1 on free ports. Run as root, the nodes run as the
system user `mysql` (rsync SST does not work as root: its rsync daemon
would write as nobody), so the cluster directory is opened to it (0755)
and each node's directory and data dir are its own; run as anyone else,
they run as that user. The options are those a Galera node needs
(wsrep_on, the provider, binlog_format=ROW, innodb_autoinc_lock_mode=2,
wsrep_sst_method=rsync) and short failure detection (PROVIDER_TIMEOUTS):
a node that dies is evicted after evs.suspect_timeout (3 s) plus up to
about 1.5 s, and commits on the others wait that long. A node that
rejoins stalls the others' commits too, for 0.5 to 1.5 s (its view
change), whatever gcs.fc_limit and evs.join_retrans_period say.

A node killed with kill() comes back with start(): its position is recovered
from InnoDB first (mariadbd --wsrep-recover, what galera_recovery does for
systemd), so it rejoins by IST from the others' gcache instead of a full
SST that would block the donor.

Every mariadbd (and what it started: the SST script, rsync) is killed when
the program ends, passing or failing (mariadb.py's atexit), and the
directory is removed (seqd.tmpdir; SEQD_KEEP_TMP=1 keeps a failing test's).
Without MariaDB, the Galera library, rsync or the mysql user: skipped with
SEQD_ALLOW_SKIP=1, else a loud failure (mariadb.skip_or_fail).
"""

import os
import pwd
import re
import subprocess
import threading
import time

import seqd as harness          # tests/lib/seqd.py: wait_for, tmpdir
from mariadb import MariaDB, MariaDBMissing, find_binaries, free_port, skip_or_fail

PROVIDER = "/usr/lib/galera/libgalera_smm.so"
RUN_AS = "mysql"                # the nodes' user when we are root
CLUSTER_NAME = "seqd-test"
# Failure detection: a silent node is suspected after suspect_timeout and
# evicted once every other node suspects it (or after inactive_timeout);
# keepalives every second keep a live but idle node from being suspected.
# The defaults (PT5S, PT15S, install PT7.5S) make a test wait longer.
PROVIDER_TIMEOUTS = ("evs.suspect_timeout=PT3S; evs.inactive_timeout=PT5S; "
                     "evs.install_timeout=PT5S; evs.keepalive_period=PT1S; "
                     "evs.inactive_check_period=PT0.5S; gmcast.peer_timeout=PT3S")
GCACHE = "gcache.size=64M"
JOIN_TIMEOUT_S = 180            # a joiner's SST on a slow, busy machine
SYNC_TIMEOUT_S = 120

STATUS_FIELDS = ("wsrep_local_state_comment", "wsrep_cluster_size", "wsrep_cluster_status",
                 "wsrep_ready", "wsrep_connected", "wsrep_local_cert_failures",
                 "wsrep_local_bf_aborts", "wsrep_last_committed")


def check_installed():
    """Skip or fail (mariadb.skip_or_fail) unless everything a Galera
    cluster needs is here."""
    try:
        find_binaries()
    except MariaDBMissing as e:
        skip_or_fail(str(e))
    missing = []
    if not os.path.exists(PROVIDER):
        missing.append("the Galera library %s (apt-get install galera-4)" % PROVIDER)
    for prog, pkg in (("rsync", "rsync"), ("wsrep_sst_rsync", "mariadb-server")):
        if not any(os.access(os.path.join(d, prog), os.X_OK)
                   for d in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/bin"] if d):
            missing.append("%s (apt-get install %s)" % (prog, pkg))
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            missing.append("the system user %s (made by mariadb-server), to run the "
                           "nodes as when the test runs as root" % RUN_AS)
    if missing:
        skip_or_fail("a Galera cluster needs " + "; ".join(missing))


class GaleraNode(MariaDB):
    """One node of a GaleraCluster: a MariaDB with the wsrep options; the
    first start bootstraps the cluster (node 0) or joins it by SST."""

    def __init__(self, cluster, index, group_ports):
        self.index = index
        self.group_port = group_ports[index]
        self.ist_port = free_port()
        self.sst_port = free_port()
        self.bootstrap = index == 0
        node_dir = os.path.join(cluster.tmp, "node%d" % (index + 1))
        os.mkdir(node_dir)
        provider_options = "; ".join([
            "base_host=127.0.0.1", "base_port=%d" % self.group_port,
            "gmcast.listen_addr=tcp://127.0.0.1:%d" % self.group_port,
            "ist.recv_addr=127.0.0.1:%d" % self.ist_port,
            cluster.gcache, cluster.timeouts])
        port = free_port()
        args = [
            "--wsrep-on=ON",
            "--wsrep-provider=" + PROVIDER,
            "--wsrep-cluster-name=" + CLUSTER_NAME,
            "--wsrep-cluster-address=gcomm://" + ",".join(
                "127.0.0.1:%d" % p for p in group_ports),
            "--wsrep-node-name=node%d" % (index + 1),
            "--wsrep-node-address=127.0.0.1",
            "--wsrep-node-incoming-address=127.0.0.1:%d" % port,
            "--wsrep-sst-method=rsync",
            "--wsrep-sst-receive-address=127.0.0.1:%d" % self.sst_port,
            "--wsrep-provider-options=" + provider_options,
            "--binlog-format=ROW",
            "--innodb-autoinc-lock-mode=2",
            "--default-storage-engine=InnoDB",
            # Durable enough for a test (a killed server loses nothing the
            # OS has); fsyncs at every claim would only slow the machine.
            "--innodb-flush-log-at-trx-commit=2",
        ]
        super().__init__(tmpdir=node_dir, keep=True, run_as=RUN_AS if os.geteuid() == 0 else None,
                         install=self.bootstrap,
                         server_args=args, port=port)
        self.start_timeout = JOIN_TIMEOUT_S
        self.recovered = None           # the position the last start() recovered

    @property
    def grastate(self):
        return os.path.join(self.datadir, "grastate.dat")

    def _recover_position(self):
        """After a crash grastate.dat says seqno -1: ask InnoDB for the
        position (mariadbd --wsrep-recover), as galera_recovery does."""
        try:
            with open(self.grastate) as f:
                state = f.read()
        except OSError:
            return None
        m = re.search(r"^seqno:\s*(-?\d+)", state, re.M)
        if m and int(m.group(1)) >= 0:
            return None                 # a clean stop: grastate.dat has it
        log = os.path.join(self.tmp, "wsrep-recover.log")
        if os.path.exists(log):
            os.unlink(log)
        r = subprocess.run(self.server_cmd(["--wsrep-recover", "--log-error=" + log]),
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=120, start_new_session=True)
        try:
            with open(log, errors="replace") as f:
                text = f.read()
        except OSError:
            text = ""
        m = re.search(r"WSREP: Recovered position:\s*(\S+:-?\d+)", text)
        if r.returncode != 0 or not m:
            raise RuntimeError("node%d: mariadbd --wsrep-recover failed (exit %d):\n%s"
                               % (self.index + 1, r.returncode, "\n".join(text.splitlines()[-20:])))
        return m.group(1)

    def start(self, extra_args=()):
        if self.running():
            return
        extra = list(extra_args)
        if not self.installed and self.bootstrap:
            extra.append("--wsrep-new-cluster")
        elif self.installed:
            self.recovered = self._recover_position()
            if self.recovered:
                extra.append("--wsrep-start-position=" + self.recovered)
        super().start(extra)

    def status(self, names=STATUS_FIELDS):
        """SHOW GLOBAL STATUS of the given names, as {name: value}."""
        rows = self.rows("SHOW GLOBAL STATUS WHERE Variable_name IN (%s)"
                         % ", ".join("'%s'" % n for n in names), database="")
        return {r[0].lower(): r[1] for r in rows if len(r) == 2}


class GaleraCluster(harness.Managed):
    """size nodes on loopback; see the module docstring."""

    def __init__(self, size=3, timeouts=PROVIDER_TIMEOUTS, gcache=GCACHE):
        check_installed()
        self.size = size
        self.timeouts = timeouts
        self.gcache = gcache
        self.tmp = harness.tmpdir("seqd-galera-")
        os.chmod(self.tmp, 0o755)       # the mysql user reaches its node dirs
        group_ports = [free_port() for _ in range(size)]
        self.nodes = [GaleraNode(self, i, group_ports) for i in range(size)]
        self.start_seconds = None

    def __getitem__(self, i):
        return self.nodes[i]

    @property
    def provider_options(self):
        """The failure-detection and gcache options every node runs with."""
        return "%s; %s" % (self.gcache, self.timeouts)

    def start(self, i=None):
        """Bootstrap node 0, then let the others join one at a time (each
        SST from a Synced node); returns once all are Synced. start(i):
        start_node(i)."""
        if i is not None:
            return self.start_node(i)
        t0 = time.monotonic()
        for i, node in enumerate(self.nodes):
            node.start()
            self.wait_synced(size=i + 1, nodes=range(i + 1))
        self.start_seconds = time.monotonic() - t0

    def close(self):
        """Stop every node (the directory goes at exit, with seqd.tmpdir)."""
        for node in self.nodes:
            try:
                node.stop()
            except Exception:   # noqa: BLE001 - kill what did not stop
                node.kill()

    # ---- faults ----------------------------------------------------------

    def kill(self, i):
        """SIGKILL node i (a crash)."""
        self.nodes[i].kill()

    def start_node(self, i):
        """Start node i again; it recovers its position and rejoins (IST
        when the others' gcache still has what it missed). Returns once it
        accepts connections; wait_synced() tells when it has caught up."""
        self.nodes[i].start()

    def running(self):
        return [i for i, n in enumerate(self.nodes) if n.running()]

    # ---- using it --------------------------------------------------------

    def sql(self, i, text, database=None):
        return self.nodes[i].sql(text, database)

    def rows(self, i, text, database=None):
        return self.nodes[i].rows(text, database)

    def status(self, i, names=STATUS_FIELDS):
        return self.nodes[i].status(names)

    def store_config(self, i, **extra):
        """The "store" object of a seqd.json whose database is node i."""
        return self.nodes[i].store_config(**extra)

    def counter(self, name):
        """A wsrep status counter of every running node: {node index: int}.
        Counters start at 0 when a node starts."""
        return {i: int(self.status(i, (name,)).get(name, 0)) for i in self.running()}

    def cert_failures(self):
        """wsrep_local_cert_failures: local transactions that failed
        certification (another node's write set to the same rows won)."""
        return self.counter("wsrep_local_cert_failures")

    def bf_aborts(self):
        """wsrep_local_bf_aborts: local transactions aborted by a replicated
        one (brute force) while they held or waited for its rows."""
        return self.counter("wsrep_local_bf_aborts")

    def is_synced(self, i, size=None):
        """Node i is Synced, ready and in a primary component of size
        (default: every node of the cluster)."""
        try:
            st = self.status(i)
        except (RuntimeError, subprocess.TimeoutExpired):
            return False
        return (st.get("wsrep_local_state_comment") == "Synced" and st.get("wsrep_ready") == "ON"
                and st.get("wsrep_cluster_status") == "Primary"
                and int(st.get("wsrep_cluster_size", 0)) == (size or self.size))

    def wait_synced(self, size=None, nodes=None, timeout=SYNC_TIMEOUT_S):
        """Wait until every node in nodes (default: all) is Synced in a
        primary component of size (default: all nodes); returns
        time.monotonic() when that was first seen."""
        nodes = list(range(self.size) if nodes is None else nodes)
        size = size or self.size
        pending = set(nodes)

        def done():
            for i in sorted(pending):
                if not self.nodes[i].running():
                    raise RuntimeError("node%d exited; log:\n%s" % (i + 1, self.nodes[i].log_tail()))
                if not self.is_synced(i, size):
                    return False
                pending.discard(i)
            # Seen one by one: check again that none has left meanwhile.
            return all(self.is_synced(i, size) for i in nodes)
        harness.wait_for(done, timeout, "Galera nodes %s Synced, cluster size %d"
                         % ([i + 1 for i in nodes], size), interval=0.02,
                         detail=lambda: "\n".join("node%d: %r" % (i + 1, self._safe_status(i))
                                                  for i in nodes))
        return time.monotonic()

    def wait_size(self, i, size, timeout=60):
        """Wait until node i is in a primary component of size nodes (the
        survivors have evicted a dead node); returns time.monotonic()."""
        def done():
            st = self.status(i, ("wsrep_cluster_size", "wsrep_cluster_status"))
            return (int(st.get("wsrep_cluster_size", 0)) == size
                    and st.get("wsrep_cluster_status") == "Primary")
        harness.wait_for(done, timeout, "node%d in a primary component of %d" % (i + 1, size),
                         interval=0.02, detail=lambda: repr(self._safe_status(i)))
        return time.monotonic()

    def commit_meter(self, i, every=0.05):
        """A CommitMeter on node i (not started)."""
        return CommitMeter(self, i, every)

    def _safe_status(self, i):
        try:
            return self.status(i)
        except Exception as e:  # noqa: BLE001 - for a failure message
            return "(%s)" % e


class CommitMeter(threading.Thread):
    """Commits a one-row UPDATE on node i every `every` s (its own row of
    HEARTBEAT_TABLE, so meters never conflict) through one client
    connection and keeps (sent, done) of each: while the cluster is frozen
    (a node died and is not evicted yet, a flow-control pause) the commits
    stall, and stalls() says from when to when. Ends at stop(), or when
    the node's connection ends."""

    HEARTBEAT_TABLE = "galera_heartbeat"

    def __init__(self, cluster, i, every=0.05):
        super().__init__(daemon=True)
        self.node, self.index, self.every = cluster.nodes[i], i, every
        self.samples = []
        self.pending = None             # sent, not answered yet
        self.failed = 0
        self._halt = threading.Event()
        self.exc = None
        self.node.sql("CREATE TABLE IF NOT EXISTS %s (node INT PRIMARY KEY, n BIGINT NOT NULL) "
                      "ENGINE=InnoDB; INSERT IGNORE INTO %s VALUES (%d, 0);"
                      % (self.HEARTBEAT_TABLE, self.HEARTBEAT_TABLE, i))
        # --force: a failed UPDATE does not end the client; the SELECT
        # after it still answers (an empty line: the UPDATE failed).
        self.proc = subprocess.Popen(self.node._client_cmd(self.node.database) + ["--unbuffered", "--force"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, universal_newlines=True, bufsize=1)

    def run(self):
        stmt = ("UPDATE %s SET n = n + 1 WHERE node = %d; SELECT ROW_COUNT() > 0;\n"
                % (self.HEARTBEAT_TABLE, self.index))
        try:
            while not self._halt.is_set():
                t = self.pending = time.monotonic()
                self.proc.stdin.write(stmt)
                self.proc.stdin.flush()
                line = self.proc.stdout.readline()
                if not line:
                    break                   # the client ended: the node is gone
                self.samples.append((t, time.monotonic()))
                self.pending = None
                if line.strip() != "1":
                    self.failed += 1
                self._halt.wait(max(0.0, t + self.every - time.monotonic()))
        except (OSError, ValueError) as e:  # a broken pipe when the node dies
            self.exc = e

    def stop(self):
        self._halt.set()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.join(10)

    def stalls(self, at_least=0.25):
        """[(sent, done)] of every commit that took at least at_least s,
        and of one still waiting (done: now)."""
        out = [(t0, t1) for t0, t1 in self.samples if t1 - t0 >= at_least]
        pending, now = self.pending, time.monotonic()
        if pending is not None and now - pending >= at_least:
            out.append((pending, now))
        return out


if __name__ == "__main__":
    # Smoke test (as root): python3 tests/lib/galera.py
    with GaleraCluster(3) as g:
        print("3 nodes Synced in %.1f s; ports (sql, group, ist, sst): %s"
              % (g.start_seconds, [(n.port, n.group_port, n.ist_port, n.sst_port) for n in g.nodes]))
        g.sql(0, "INSERT INTO seqd_segments (biz_tag, max_id, step) VALUES ('smoke', 1, 10)")
        print("node3 sees:", g.rows(2, "SELECT biz_tag, max_id FROM seqd_segments"))
        t0 = time.monotonic()
        g.kill(2)
        t1 = g.wait_size(0, 2)
        print("node3 killed: evicted after %.1f s" % (t1 - t0))
        g.sql(0, "UPDATE seqd_segments SET max_id = max_id + 10 WHERE biz_tag = 'smoke'")
        t0 = time.monotonic()
        g.start(2)
        t1 = g.wait_synced()
        print("node3 back (recovered %s), Synced in %.1f s; sees %s"
              % (g[2].recovered, t1 - t0, g.rows(2, "SELECT biz_tag, max_id FROM seqd_segments")))
        print("cert failures %s, bf aborts %s" % (g.cert_failures(), g.bf_aborts()))
