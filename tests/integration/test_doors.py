#!/usr/bin/env python3
"""test_doors: one sequence, three doors, two nodes, one MariaDB table.

Two seqd nodes share a private MariaDB. Each serves the Redis protocol, the
HTTP door and the UDP JSON door. At the same time, for a few seconds:
RESP clients GET, HTTP clients take FeatherID batches, single FeatherID ids
and Leaf numbers, and UDP clients send id_server gets, all of the pair
o2o + test (the sequence 'o2o:test'), on both nodes. Segments are small, so
the nodes claim over and over. Every number received through any door on
any node is different, and every request got its numbers; each node's
/metrics counts its UDP gets.

Before the load, both nodes are asked for the pair at once over UDP: one
creates the row, the other finds it made, and both serve it.

Environment: SEQD_BIN, SEQD_SRCDIR.
"""
import http.client
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from mariadb import MariaDB  # noqa: E402
from seqd import Collector, Seqd, free_port, run_tests  # noqa: E402

LOAD_S = 4.0
SEGMENT = 50
PAIR = "o2o:test"
DB = None


def node():
    cfg = {"store": DB.store_config(rescan_s=1),
           "segment": {"default": SEGMENT, "max": SEGMENT * 4, "wait_ms": 3000},
           "http": {"port": free_port()},
           "udp": {"port": free_port()}}
    return Seqd(config=cfg, store="mysql").start()


def udp_get(port, seq, timeout=5.0):
    """One id_server get of o2o + test: the reply as a dict."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        req = {"action": "get", "rule_name": "o2o", "app_name": "test", "seq": seq}
        s.sendto(json.dumps(req).encode(), ("127.0.0.1", port))
        data, _ = s.recvfrom(65536)
        return json.loads(data)


class Taker(threading.Thread):
    """Takes numbers of PAIR through one door until the deadline: take()
    returns the numbers of one request, or raises Refused."""

    def __init__(self, port, deadline):
        super().__init__(daemon=True)
        self.port, self.deadline = port, deadline
        self.numbers, self.errors, self.exc = [], [], None

    def run(self):
        try:
            while time.monotonic() < self.deadline:
                try:
                    self.numbers.extend(self.take())
                except Refused as e:
                    self.errors.append(e.args)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.exc = e


class Refused(Exception):
    pass


class HttpTaker(Taker):
    """One keep-alive HTTP connection, in turn: a FeatherID batch of 7, one
    FeatherID id, one Leaf number."""

    PATHS = ["/api/v1/id/batch?biz_tag=o2o%3Atest&count=7", "/api/v1/id?biz_tag=o2o%3Atest",
             "/api/segment/get/o2o%3Atest"]

    def take(self):
        if not hasattr(self, "conn"):
            self.conn, self.i = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10), 0
        path = self.PATHS[self.i % 3]
        self.i += 1
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise Refused(path, r.status, body)
        if path.startswith("/api/segment"):
            return [int(body)]
        data = json.loads(body)["data"]
        return data["ids"] if "ids" in data else [data["id"]]


class UdpTaker(Taker):
    """id_server gets of o2o + test, one at a time."""

    def take(self):
        self.seq = getattr(self, "seq", 0) + 1
        reply = udp_get(self.port, self.seq)
        if reply.get("code") != 0 or reply.get("seq") != self.seq:
            raise Refused(reply)
        return [int(reply["data"])]


def test_three_doors_two_nodes_no_duplicates():
    nodes = [node(), node()]
    try:
        nodes[0].cli("HSET", "o2o", "type", "3", "segment", str(SEGMENT))
        # Both nodes create the pair at once (the rule reaches the second
        # node through the shared table).
        first = {}
        ts = [threading.Thread(target=lambda i=i: first.__setitem__(i, udp_get(nodes[i].config["udp"]["port"], 1)))
              for i in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(10)
        for i in range(2):
            if first.get(i, {}).get("code") != 0:
                raise AssertionError("node %d's first UDP get: %r" % (i, first.get(i)))
        rows = DB.rows("SELECT COUNT(*) FROM seqd_segments WHERE biz_tag = '%s'" % PAIR)
        if rows != [["1"]]:
            raise AssertionError("one row for the pair: %r" % (rows,))

        deadline = time.monotonic() + LOAD_S
        takers = []
        for i, n in enumerate(nodes):
            takers.append(Collector(n.port, [PAIR], pipeline=8, start_at=i, deadline=deadline))
            takers.append(HttpTaker(n.config["http"]["port"], deadline))
            takers.append(HttpTaker(n.config["http"]["port"], deadline))
            takers.append(UdpTaker(n.config["udp"]["port"], deadline))
            takers.append(UdpTaker(n.config["udp"]["port"], deadline))
        for t in takers:
            t.start()
        for t in takers:
            t.join(LOAD_S + 30)
        numbers = [int(first[0]["data"]), int(first[1]["data"])]
        per_door = {"resp": 0, "http": 0, "udp": 0}
        for t in takers:
            if t.is_alive() or t.exc:
                raise AssertionError("%s did not finish cleanly: %r" % (t, t.exc))
            if t.errors:
                raise AssertionError("%s got errors: %r" % (t, t.errors[:5]))
            got = t.numbers() if isinstance(t, Collector) else t.numbers
            door = "resp" if isinstance(t, Collector) else "http" if isinstance(t, HttpTaker) else "udp"
            per_door[door] += len(got)
            numbers.extend(got)
        print("numbers by door: %r, %d in all" % (per_door, len(numbers)), flush=True)
        for door, n in per_door.items():
            if n < 100:
                raise AssertionError("the %s door took only %d numbers" % (door, n))
        dups = len(numbers) - len(set(numbers))
        if dups:
            raise AssertionError("%d duplicate numbers across the doors and nodes" % dups)
        # Each node's /metrics counts its UDP gets (the first one included).
        for i, n in enumerate(nodes):
            conn = http.client.HTTPConnection("127.0.0.1", n.config["http"]["port"], timeout=10)
            conn.request("GET", "/metrics")
            text = conn.getresponse().read().decode()
            conn.close()
            line = 'seqd_requests_total{door="udp",command="get"} '
            got = [ln for ln in text.splitlines() if ln.startswith(line)]
            sent = 1 + sum(len(t.numbers) for t in takers
                           if isinstance(t, UdpTaker) and t.port == n.config["udp"]["port"])
            if got != [line + str(sent)]:
                raise AssertionError("node %d: %r in /metrics, want %d UDP gets" % (i, got, sent))
        claims = sum(int(n.info("seq:" + PAIR)["claims"]) for n in nodes)
        if claims < 10:
            raise AssertionError("the nodes claimed only %d times: the load did not cross segments" % claims)
    finally:
        for n in nodes:
            n.stop()


def main():
    global DB
    DB = MariaDB()
    DB.start()
    try:
        run_tests([test_three_doors_two_nodes_no_duplicates])
    finally:
        DB.close()


if __name__ == "__main__":
    main()
