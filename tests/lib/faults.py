"""What the fault tests share (test_mysql_faults.py, test_failover.py).

* MySQLProxy: the skeleton of a TCP proxy on 127.0.0.1 in front of a
  MariaDB server that reads the client's MySQL packets (is_commit); a
  subclass serves each connection (_serve).
* CommitCutter: such a proxy that cuts a share of the COMMITs, before the
  server sees them or after, optionally only those after a packet a
  filter picks (test_mysql_faults.py, test_cold.py, contrib/chaos.py).
* start_node(node, within): start a seqd again while the database may be
  away (it then exits at start-up), trying for a while.
"""
import random
import socket
import threading
import time

from seqd import wait_for


def split_packets(buf):
    """The whole MySQL packets at the start of buf (3-byte length, sequence
    byte, payload) and what is left of it: (packets, rest)."""
    pkts = []
    while len(buf) >= 4:
        n = int.from_bytes(buf[:3], "little")
        if len(buf) < 4 + n:
            break
        pkts.append(buf[:4 + n])
        buf = buf[4 + n:]
    return pkts, buf


def is_commit(pkt):
    """Whether a client packet is COM_QUERY "COMMIT" (a claim's end)."""
    return pkt[4:5] == b"\x03" and pkt[5:].strip().upper() == b"COMMIT"


class MySQLProxy(threading.Thread):
    """A TCP proxy listening on 127.0.0.1 (port: self.port); every
    connection it accepts is served by self._serve(client socket) in a
    thread of its own, until stop()."""

    def __init__(self, upstream_port):
        super().__init__(daemon=True)
        self.upstream_port = upstream_port
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(128)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.commits = 0
        self.stopping = False

    def run(self):
        while not self.stopping:
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()
        self.lsock.close()

    def stop(self):
        self.stopping = True

    def _serve(self, c):
        raise NotImplementedError

    @staticmethod
    def _connect(port):
        """A connection to the server on port, or None when it refuses."""
        try:
            u = socket.create_connection(("127.0.0.1", port), timeout=2)
        except OSError:
            return None
        u.settimeout(None)
        return u

    @staticmethod
    def _client_reads(c):
        """Each read of what the client c sends, until it closes, with the
        whole MySQL packets it completes: (bytes read, packets). A socket
        error propagates."""
        buf = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                return
            pkts, buf = split_packets(buf + chunk)
            yield chunk, pkts

    @staticmethod
    def _close(*socks):
        for sk in socks:
            try:
                sk.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sk.close()

    def _down(self, u, c, state=None):
        """Forward the server's bytes (u) to the client (c) until either
        side ends, then close both; with state, stop as soon as
        state["hold"] is set and leave the closing to the other side."""
        try:
            while True:
                data = u.recv(65536)
                if not data or (state is not None and state["hold"]):
                    break
                c.sendall(data)
        except OSError:
            pass
        if state is None or not state["hold"]:
            self._close(c, u)


class CommitCutter(MySQLProxy):
    """A TCP proxy in front of MariaDB that can cut a connection at a
    COMMIT. It reads the client's MySQL packets; a COM_QUERY "COMMIT" is,
    with probability `rate`, either dropped with both sides closed
    ("before": the server never sees it and rolls back) or forwarded with
    the answer withheld and both sides closed ("after": the server
    commits, the client cannot know); the two alternate.

    arm: a packet filter, a predicate on a client packet. Without it every
    COMMIT may be cut; with it only the first COMMIT on a connection after
    a packet arm(pkt) is true for (e.g. a batch's UPDATE: the COMMIT of a
    batch). limit: at most that many cuts in all (None: no limit).
    commits counts the COMMITs that could be cut."""

    def __init__(self, upstream_port, arm=None, limit=None):
        super().__init__(upstream_port)
        self.rate = 0.0
        self.rng = random.Random(20261121)
        self.cuts = {"before": 0, "after": 0}
        self.arm = arm
        self.limit = limit

    def _decide(self):
        with self.lock:
            self.commits += 1
            if self.limit is not None and self.cuts["before"] + self.cuts["after"] >= self.limit:
                return None
            if self.rng.random() >= self.rate:
                return None
            how = "before" if self.cuts["before"] <= self.cuts["after"] else "after"
            self.cuts[how] += 1
            return how

    def _serve(self, c):
        u = self._connect(self.upstream_port)
        if u is None:
            c.close()
            return
        state = {"hold": False}
        threading.Thread(target=self._down, args=(u, c, state), daemon=True).start()
        armed = self.arm is None
        try:
            for _, pkts in self._client_reads(c):
                out = b""
                for pkt in pkts:
                    if self.arm is not None and self.arm(pkt):
                        armed = True
                    elif is_commit(pkt) and armed:
                        armed = self.arm is None
                        how = self._decide()
                        if how == "before":
                            u.sendall(out)
                            self._close(c, u)
                            return
                        if how == "after":
                            state["hold"] = True
                            u.sendall(out + pkt)
                            # Close only once the server has the COMMIT
                            # (loopback: far less than 0.1 s); the point
                            # is a cut the client cannot see the end of.
                            time.sleep(0.1)
                            self._close(c, u)
                            return
                    out += pkt
                if out:
                    u.sendall(out)
        except OSError:
            pass
        self._close(c, u)


def start_node(node, within=30):
    """Start a node (again); while the database is away it exits at
    start-up, so try for a while."""
    def started():
        try:
            node.start(timeout=10)
            return True
        except RuntimeError:
            node.kill()
            raise
    wait_for(started, within, "seqd on port %d starts" % node.port, interval=0.5,
             ignore=(RuntimeError,), detail=lambda: node.log_tail(15))
