#!/usr/bin/env python3
"""test_udp: the UDP JSON door, id_server's protocol (README "UDP JSON").

* get: {"code":0,"message":"success","data":"<number>"} with the request's
  seq echoed as sent (number or string) and left out when not sent; data
  is a string. The numbers of RULE + APP are the sequence RULE:APP, made
  from RULE's definition on first use: RESP's GET RULE:APP takes from the
  same counter (one increasing run, no number twice); two apps under one
  rule have counters of their own (one app's gets never move the other's
  or the rule's).
* monitor: counter = numbers this node handed out for the pair, 0 before
  the first get (and monitor creates nothing); node_offset 0; an unknown
  rule is code 2.
* bad datagrams (not JSON, an array, wrong types, missing fields, unknown
  action or rule, 5000 bytes, app_name with ':' ...): a non-zero code and
  a message that says what to do, never a reply more than 3 times the
  request (a 1-byte datagram gets none); the door and RESP keep serving.
* a get that waits for a slow claim is answered after it (RESP served
  meanwhile); one whose claim does not land within segment.wait_ms gets
  code 3 saying so; one waiting at SIGTERM gets code 3 "server is shutting
  down" and seqd exits 0.
* many new pairs at once on one node (several workers creating the same
  pair): every get answered, no number twice.
* two independent file stores with id_step 2 and a copied type 1 rule:
  the pair of one app gets the same (derived) key on both, and gets of it
  on both hand out every number of the length exactly once over the two.
* MariaDB, two nodes on one table: the same new pairs asked of both nodes
  at once are created once (one row each) and served by both, no number
  twice; a node that has just heard "no such pair" still takes from the
  row another node created meanwhile (the create's "exists" path); a get
  of a new pair with MariaDB frozen answers code 3 after segment.wait_ms.

Environment: SEQD_BIN, SEQD_SRCDIR.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from seqd import BIN, Client, Seqd, check, eq, run_tests, wait_exit, wait_log  # noqa: E402

REPLY_FACTOR = 3        # no reply is longer than this many times its request
DB = None               # the MariaDB of the shared-table tests, started on first use


# ---- helpers ----------------------------------------------------------------

def free_udp_port(host="127.0.0.1"):
    """A UDP port on host that nothing is bound to right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def udp_server(config=None, store="file", workers=2, host="127.0.0.1"):
    """A Seqd (not started: `with` starts it) with the UDP door on a free
    port (server.udp_port)."""
    port = free_udp_port(host)
    cfg = {"workers": workers, "udp": {"bind": host, "port": port}}
    for key, value in (config or {}).items():
        cfg[key] = value
    s = Seqd(config=cfg, store=store)
    s.udp_port = port
    s.udp_host = host
    return s


class Udp:
    """A UDP client of one server: ask() sends a datagram and returns the
    reply as (raw bytes, parsed JSON)."""

    def __init__(self, server, timeout=5.0):
        family = socket.AF_INET6 if ":" in server.udp_host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.settimeout(timeout)
        self.addr = (server.udp_host, server.udp_port)

    def send(self, request):
        data = request if isinstance(request, bytes) else json.dumps(request).encode()
        self.sock.sendto(data, self.addr)
        return data

    def receive(self):
        raw, addr = self.sock.recvfrom(65536)
        check(addr[1] == self.addr[1], "reply from %r, not from the door %r" % (addr, self.addr))
        return raw, json.loads(raw)

    def ask(self, request):
        self.send(request)
        return self.receive()

    def get(self, rule, app, **extra):
        """The reply of a get, parsed."""
        return self.ask(dict({"action": "get", "rule_name": rule, "app_name": app}, **extra))[1]

    def number(self, rule, app):
        """One number of rule+app; fails on anything but code 0."""
        r = self.get(rule, app)
        check(r.get("code") == 0 and isinstance(r.get("data"), str), "get %s/%s: %r" % (rule, app, r))
        return int(r["data"])

    def monitor(self, rule, app):
        return self.ask({"action": "monitor", "rule_name": rule, "app_name": app})[1]

    def close(self):
        self.sock.close()


def resp(server, *args):
    c = Client(server.port)
    try:
        return c.command(*args)
    finally:
        c.close()


# ---- get and monitor -----------------------------------------------------------

def test_get_echoes_seq_as_sent_and_data_is_a_string():
    with udp_server() as s:
        eq(resp(s, "HSET", "o2o", "type", "2", "length", "9", "starting", "505140001"), 1, "HSET o2o")
        u = Udp(s)
        raw, r = u.ask({"action": "get", "rule_name": "o2o", "app_name": "test", "salt": "x", "seq": 42})
        eq(r, {"code": 0, "message": "success", "data": "505140001", "seq": 42}, "get with seq 42")
        eq(raw, b'{"code":0,"message":"success","data":"505140001","seq":42}', "the reply's bytes")
        eq(u.get("o2o", "test"), {"code": 0, "message": "success", "data": "505140002"}, "get without seq")
        eq(u.get("o2o", "test", seq="req-7"), {"code": 0, "message": "success", "data": "505140003",
                                               "seq": "req-7"}, "get with a string seq")
        eq(u.get("o2o", "test", seq=2.5, salt=17)["seq"], 2.5, "a number seq that is not an integer")
        u.close()


def test_get_takes_from_the_same_sequence_as_resp_get_rule_app():
    with udp_server() as s:
        resp(s, "HSET", "ord", "type", "3", "starting", "1000", "segment", "7")
        u = Udp(s)
        got = []
        for i in range(60):
            if i % 3 == 2:
                got.append(int(resp(s, "GET", "ord:shop")))
            else:
                got.append(u.number("ord", "shop"))
        eq(got, list(range(1000, 1060)), "UDP gets and GET ord:shop in turn: one run, no number twice")
        info = s.info("seq:ord:shop")
        eq(info.get("generated"), "60", "INFO seq:ord:shop generated")
        eq(info.get("type"), "3", "the pair has the rule's kind")
        eq(info.get("segment"), "7", "the pair has the rule's segment")
        u.close()


def test_two_apps_under_one_rule_have_their_own_counters():
    with udp_server() as s:
        resp(s, "HSET", "inv", "type", "2", "length", "6")
        u = Udp(s)
        a = [u.number("inv", "app_a") for _ in range(5)]
        b = [u.number("inv", "app_b") for _ in range(3)]
        eq(a, list(range(100000, 100005)), "app_a's numbers")
        eq(b, list(range(100000, 100003)), "app_b starts afresh: app_a's gets did not move its counter")
        eq(u.number("inv", "app_a"), 100005, "app_b's gets did not move app_a's counter")
        eq(resp(s, "GET", "inv"), "100000", "the rule's own counter is untouched")
        eq(resp(s, "EXISTS", "inv:app_a", "inv:app_b"), 2, "each pair is a sequence of its own")
        # type 1: each pair gets a key of its own, so the two runs differ.
        resp(s, "HSET", "rnd", "type", "1", "length", "8")
        ra = [u.number("rnd", "a") for _ in range(20)]
        rb = [u.number("rnd", "b") for _ in range(20)]
        check(all(len(str(n)) == 8 for n in ra + rb), "type 1 pairs keep the rule's length: %r" % ra[:3])
        check(ra != rb, "two type 1 pairs with the same key: %r" % ra[:5])
        u.close()


def test_monitor_counts_this_nodes_numbers_and_creates_nothing():
    with udp_server() as s:
        resp(s, "HSET", "o2o", "type", "3")
        u = Udp(s)
        eq(u.monitor("o2o", "mon"), {"code": 0, "message": "ok", "data": {"counter": 0, "node_offset": 0}},
           "monitor before any get")
        eq(resp(s, "EXISTS", "o2o:mon"), 0, "monitor created the pair")
        for _ in range(3):
            u.number("o2o", "mon")
        eq(u.monitor("o2o", "mon"), {"code": 0, "message": "ok", "data": {"counter": 3, "node_offset": 0}},
           "monitor after 3 gets")
        resp(s, "GET", "o2o:mon")
        eq(u.monitor("o2o", "mon")["data"]["counter"], 4, "a RESP GET of the pair counts too")
        raw, r = u.ask({"action": "monitor", "rule_name": "nope", "app_name": "mon", "seq": 5})
        eq((r["code"], r["seq"]), (2, 5), "monitor of an unknown rule")
        check("nope" in r["message"], "the message names the rule: %r" % r)
        u.close()


# ---- bad datagrams -------------------------------------------------------------------

GOOD = {"action": "get", "rule_name": "o2o", "app_name": "test"}


def with_(**changes):
    d = dict(GOOD)
    for k, v in changes.items():
        if v is None:
            d.pop(k)
        else:
            d[k] = v
    return json.dumps(d).encode()


# (what, datagram, code, a word the message holds)
BAD = [
    ("not JSON, short: the code's word", b"not json, friend", 1, "bad request"),
    ("not JSON, long enough for the whole message", b"this is not json " * 5, 1, "not JSON"),
    ("trailing bytes after the object", json.dumps(GOOD).encode() + b" trailing", 1, "not JSON"),
    ("a NUL byte", json.dumps(GOOD).encode()[:-1] + b'\x00}', 1, "not JSON"),
    ("an array", b'["get", "o2o", "test", "padding to make it long enough"]', 1, "JSON object"),
    ("a number", b"4242424242424242424242424242424242", 1, "JSON object"),
    ("nested 2000 deep", b"[" * 2000 + b"]" * 2000, 1, "not JSON"),
    ("missing action", with_(action=None), 1, "missing action"),
    ("action not a string", with_(action=1), 1, "action must be a string"),
    ("unknown action", with_(action="delete"), 1, "unknown action 'delete'"),
    ("missing rule_name", with_(rule_name=None), 1, "missing rule_name"),
    ("rule_name not a string", with_(rule_name=5), 1, "rule_name must be a string"),
    ("rule_name empty", with_(rule_name=""), 1, "bad rule_name"),
    ("rule_name with a space", with_(rule_name="o 2 o"), 1, "bad rule_name"),
    ("missing app_name", with_(app_name=None), 1, "missing app_name"),
    ("app_name not a string", with_(app_name=["a"]), 1, "app_name must be a string"),
    ("app_name with ':'", with_(app_name="a:b"), 1, "must not contain ':'"),
    ("app_name not ASCII", with_(app_name="caf\u00e9"), 1, "bad app_name"),
    ("rule + app over 128 bytes", with_(app_name="a" * 125), 1, "too long"),
    ("seq an object", with_(seq={"a": 1}), 1, "seq must be"),
    ("seq an array", with_(seq=[1]), 1, "seq must be"),
    ("seq null", json.dumps(dict(GOOD, seq=None)).encode(), 1, "seq must be"),
    ("salt an object", with_(salt={"x": 1}), 1, "salt must be"),
    ("unknown rule", with_(rule_name="no_such_rule"), 2, "no_such_rule"),
    ("5000 bytes", json.dumps(dict(GOOD, salt="s" * 5000)).encode(), 1, "too large"),
]


def test_bad_datagrams_get_a_code_and_a_bounded_reply():
    with udp_server(workers=1) as s:
        resp(s, "HSET", "o2o", "type", "3")
        u = Udp(s)
        for what, data, code, word in BAD:
            raw, r = u.ask(data)
            check(r.get("code") == code, "%s: code %r, want %d (%r)" % (what, r.get("code"), code, r))
            check(word in r.get("message", ""), "%s: message %r lacks %r" % (what, r.get("message"), word))
            check(set(r) == {"code", "message"}, "%s: fields %r" % (what, sorted(r)))
            check(len(raw) <= REPLY_FACTOR * len(data),
                  "%s: a %d-byte reply to %d bytes" % (what, len(raw), len(data)))
        # seq comes back on an error too, once it was read.
        raw, r = u.ask(with_(action="nope", seq=77))
        eq((r["code"], r["seq"]), (1, 77), "an error echoes a good seq")
        # Too short for any reply within the bound: silence. With one
        # worker the datagrams are served in order, so the next reply on
        # this socket is the good request's.
        for tiny in (b"x", b"{}", b"[1]"):
            u.send(tiny)
        raw, r = u.ask(dict(GOOD, seq="after"))
        eq((r["code"], r.get("seq")), (0, "after"), "first reply after three tiny datagrams")
        eq(resp(s, "PING"), "PONG", "RESP after the bad datagrams")
        check(s.proc.poll() is None, "seqd is still running")
        u.close()


# ---- waiting ---------------------------------------------------------------------------

def slow(delay_ms, wait_ms, workers=1):
    return udp_server({"store": {"test_delay_ms": delay_ms},
                       "segment": {"default": 5, "max": 5, "wait_ms": wait_ms}}, workers=workers)


def test_get_waiting_for_a_slow_claim_is_answered_after_it():
    with slow(delay_ms=400, wait_ms=5000) as s:
        resp(s, "HSET", "slow", "type", "3")
        u = Udp(s)
        t0 = time.monotonic()
        u.send(dict(GOOD, rule_name="slow", seq=1))
        # The pair is created first (the store's create is not slowed),
        # then the get waits for its first claim on the one worker.
        wait_log(s, "created sequence 'slow:test'")
        eq(resp(s, "PING"), "PONG", "RESP while the UDP get waits")
        pinged = time.monotonic() - t0
        raw, r = u.receive()
        waited = time.monotonic() - t0
        check(pinged < waited, "PING answered after the waiting get (%.2f s, %.2f s)" % (pinged, waited))
        eq(r, {"code": 0, "message": "success", "data": "1", "seq": 1}, "the waiting get")
        check(waited >= 0.35, "answered after %.2f s, before the claim (400 ms) could land" % waited)
        eq([u.number("slow", "test") for _ in range(4)], [2, 3, 4, 5], "the rest of the segment")
        u.close()


def test_get_without_numbers_within_wait_ms_is_code_3():
    with slow(delay_ms=3000, wait_ms=300) as s:
        resp(s, "HSET", "stuck", "type", "3")
        u = Udp(s)
        t0 = time.monotonic()
        u.send(dict(GOOD, rule_name="stuck", seq="s1"))
        eq(resp(s, "PING"), "PONG", "RESP while the UDP get waits")
        raw, r = u.receive()
        waited = time.monotonic() - t0
        eq((r["code"], r["seq"]), (3, "s1"), "no numbers within wait_ms: %r" % r)
        check(r["message"].startswith("no numbers for 'stuck:test' within 300 ms"), "message %r" % r["message"])
        check(0.25 <= waited < 2.5, "code 3 after %.2f s (wait_ms 300)" % waited)
        eq(resp(s, "PING"), "PONG", "RESP after the timeout")
        u.close()


def test_get_waiting_at_sigterm_is_told_and_seqd_exits_0():
    s = slow(delay_ms=3000, wait_ms=10000).start()
    try:
        resp(s, "HSET", "stop", "type", "3")
        u = Udp(s)
        u.send(dict(GOOD, rule_name="stop"))
        # Created, then in the same turn of the worker parked for a claim.
        wait_log(s, "created sequence 'stop:test'")
        s.signal(signal.SIGTERM)
        raw, r = u.receive()
        eq(r, {"code": 3, "message": "server is shutting down"}, "the waiting get at SIGTERM")
        eq(wait_exit(s.proc), 0, "seqd's exit code")
        u.close()
    finally:
        s.kill()


def pair_key(server, name):
    """The perm_key a file store recorded for sequence name."""
    seqdir = os.path.join(server.datadir, "seq")
    for f in os.listdir(seqdir):
        if f.endswith(".json"):
            with open(os.path.join(seqdir, f)) as fh:
                d = json.load(fh)
            if d.get("name") == name:
                return d["perm_key"]
    raise AssertionError("no file of %s in %s" % (name, seqdir))


def test_type1_rule_pairs_on_two_stores_with_id_step_2_are_disjoint():
    """Two independent file stores, id_step 2 (offsets 0 and 1), a type 1
    rule of length 2 copied from the first to the second: the pair of one
    app, made on each store by its first get, has the same key on both, and
    gets of it on both hand out every number 10..99 exactly once over the
    two, then both say exhausted."""
    nodes = [udp_server({"id_step": 2, "id_offset": k, "segment": {"default": 4}}) for k in range(2)]
    nodes[0].start()
    try:
        eq(resp(nodes[0], "HSET", "o2o", "type", "1", "length", "2"), 1, "HSET o2o")
        nodes[0].stop()
        shutil.copytree(os.path.join(nodes[0].datadir, "seq"), os.path.join(nodes[1].datadir, "seq"))
        for n in nodes:
            n.start()
        got = {0: [], 1: []}
        clients = [Udp(n) for n in nodes]
        for k in (0, 1):                     # interleaved, as two groups of nodes would
            got[k].append(clients[k].number("o2o", "shop"))
        eq(pair_key(nodes[0], "o2o:shop"), pair_key(nodes[1], "o2o:shop"), "the pair's key on the two stores")
        check(pair_key(nodes[0], "o2o:shop") != pair_key(nodes[0], "o2o"), "the pair has a key of its own")
        for _ in range(44):
            for k in (0, 1):
                got[k].append(clients[k].number("o2o", "shop"))
        for k in (0, 1):
            r = clients[k].get("o2o", "shop")
            check(r.get("code") != 0 and "exhausted" in r.get("message", ""), "store %d after 45: %r" % (k, r))
        both = got[0] + got[1]
        eq(sorted(both), list(range(10, 100)), "o2o:shop: 10..99 once over the two stores")
        # Another app of the same rule: its own key, again the same on both.
        for c in clients:
            c.number("o2o", "web")
        eq(pair_key(nodes[0], "o2o:web"), pair_key(nodes[1], "o2o:web"), "o2o:web's key on the two stores")
        check(pair_key(nodes[0], "o2o:web") != pair_key(nodes[0], "o2o:shop"), "two apps, two keys")
        for c in clients:
            c.close()
    finally:
        for n in nodes:
            n.stop()


def test_many_new_pairs_at_once_on_one_node():
    """Several clients ask for the same new pairs at once; with 4 workers
    reading the socket, workers race to create a pair: every get is
    answered, and no pair hands out a number twice."""
    with udp_server(workers=4) as s:
        resp(s, "HSET", "burst", "type", "3", "segment", "3")
        apps = ["app%d" % i for i in range(20)]
        results = {}

        def client(k):
            u = Udp(s)
            got = results[k] = []
            # Three gets of an app in flight per client, the six clients
            # on the same new app at once: the race stays, and the
            # server's socket buffer (about 90 small datagrams by
            # default) is never the thing that overflows under ASan.
            for app in apps:
                for _ in range(3):
                    u.send(dict(GOOD, rule_name="burst", app_name=app, seq=app))
                for _ in range(3):
                    got.append(u.receive()[1])
            u.close()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        per_app = {}
        for replies in results.values():
            for r in replies:
                check(r.get("code") == 0, "a get failed: %r" % r)
                per_app.setdefault(r["seq"], []).append(int(r["data"]))
        eq(sorted(per_app), sorted(apps), "apps answered")
        for app, nums in per_app.items():
            eq(sorted(nums), list(range(1, 19)), "numbers of burst:%s (6 clients x 3 gets)" % app)


def test_ipv6_literal_bind():
    try:
        free_udp_port("::1")
    except OSError:
        print("no IPv6 loopback here: the bind on ::1 is not tried")
        return
    with udp_server(host="::1") as s:
        resp(s, "HSET", "v6", "type", "3")
        u = Udp(s)
        eq(u.number("v6", "x"), 1, "a get over IPv6")
        u.close()


def test_udp_port_taken_stops_start_up():
    # Another server (an id_server still running) holds the port: seqd
    # must not start beside it and share its datagrams, even when that
    # server's socket allows reuse (SO_REUSEADDR on both would let them).
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 0))
    try:
        s = udp_server()
        s.config["udp"]["port"] = holder.getsockname()[1]
        s.write_config()
        r = subprocess.run([BIN, "-c", s.config_path], capture_output=True, text=True, timeout=15)
        eq(r.returncode, 1, "exit status")
        want = "udp: cannot listen on 127.0.0.1:%d: Address already in use" % holder.getsockname()[1]
        if want not in r.stdout + r.stderr:
            raise AssertionError("the reason names the UDP door: %r" % (r.stdout + r.stderr))
    finally:
        holder.close()


# ---- a shared MariaDB table ----------------------------------------------------------

def mariadb():
    global DB
    if DB is None:
        from mariadb import MariaDB
        DB = MariaDB()
        DB.start()
    return DB


def mysql_nodes(n, wait_ms=3000):
    db = mariadb()
    cfg = {"store": db.store_config(rescan_s=1), "segment": {"default": 5, "max": 50, "wait_ms": wait_ms}}
    return [udp_server(cfg, store="mysql").start() for _ in range(n)]


def created_lines(node, name):
    return node.log().count("created sequence '%s'" % name)


def test_mysql_two_nodes_create_the_same_pairs_at_once():
    nodes = mysql_nodes(2)
    try:
        eq(resp(nodes[0], "HSET", "share", "type", "1", "length", "6", "segment", "5"), 1, "HSET share")
        clients = [Udp(n) for n in nodes]
        numbers = {}
        for i in range(10):
            app = "p%d" % i
            start = threading.Barrier(2)
            answers = [None, None]

            def ask(k):
                start.wait()
                answers[k] = clients[k].get("share", app)
            threads = [threading.Thread(target=ask, args=(k,)) for k in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(15)
            for k, r in enumerate(answers):
                check(r is not None and r.get("code") == 0, "node %d, first get of %s: %r" % (k, app, r))
            numbers[app] = [int(r["data"]) for r in answers]
            eq(DB.rows("SELECT COUNT(*) FROM seqd_segments WHERE biz_tag = 'share:%s'" % app), [["1"]],
               "rows of share:%s" % app)
            eq(sum(created_lines(n, "share:" + app) for n in nodes), 1, "nodes that created share:%s" % app)
        # Both nodes go on taking from each pair: one key, disjoint ranges.
        for app in numbers:
            for _ in range(12):
                for k in range(2):
                    numbers[app].append(clients[k].number("share", app))
        for app, nums in numbers.items():
            eq(len(set(nums)), len(nums), "share:%s: a number twice" % app)
            check(all(100000 <= n <= 999999 for n in nums), "share:%s keeps 6 digits" % app)
        for c in clients:
            c.close()
    finally:
        for n in nodes:
            n.stop()


def test_mysql_pair_created_meanwhile_by_another_node():
    """Node B has just been told the pair does not exist (a monitor looked
    it up: the answer is remembered for a moment); node A creates it; B's
    get then tries to create it too, hears "exists" from the table, and
    takes from A's row. Retried with new pairs until B took that path
    (the log says so): the remembered miss lasts 250 ms."""
    a, b = mysql_nodes(2)
    try:
        resp(a, "HSET", "race", "type", "3", "segment", "5")
        ua, ub = Udp(a), Udp(b)
        path = "sequence 'race:"
        numbers = []
        for i in range(20):
            app = "q%d" % i
            eq(ub.monitor("race", app)["data"]["counter"], 0, "B's monitor of race:%s" % app)
            numbers.append(ua.number("race", app))
            numbers.append(ub.number("race", app))
            eq(numbers[-2], 1, "race:%s: A's first number" % app)
            check(numbers[-1] > 5, "race:%s: B's first number %d is in A's first segment" % (app, numbers[-1]))
            if "%s%s' was created by another node or worker first" % (path, app) in b.log():
                break
        else:
            raise AssertionError("B never took the 'created by another node first' path in 20 tries")
        eq(created_lines(b, "race:" + app), 0, "B created race:%s" % app)
        eq(created_lines(a, "race:" + app), 1, "A created race:%s" % app)
        for _ in range(10):
            numbers.append(ua.number("race", app))
            numbers.append(ub.number("race", app))
        eq(len(set(numbers[-22:])), 22, "race:%s: a number twice" % app)
        ua.close()
        ub.close()
    finally:
        a.stop()
        b.stop()


def test_mysql_frozen_store_gives_code_3_after_wait_ms():
    node = mysql_nodes(1, wait_ms=1000)[0]
    frozen = False
    try:
        resp(node, "HSET", "cold", "type", "3")
        u = Udp(node)
        eq(u.number("cold", "warm"), 1, "a get before the freeze")
        DB.freeze()
        frozen = True
        t0 = time.monotonic()
        u.send(dict(GOOD, rule_name="cold", app_name="new"))
        eq(u.number("cold", "warm"), 2, "a buffered pair is served while the store is frozen")
        raw, r = u.receive()
        waited = time.monotonic() - t0
        eq(r["code"], 3, "a new pair with the store frozen: %r" % r)
        check("within 1000 ms" in r["message"], "the message says what it waited for: %r" % r["message"])
        check(0.9 <= waited < 3.0, "code 3 after %.2f s (wait_ms 1000)" % waited)
        DB.thaw()
        frozen = False
        u.close()
    finally:
        if frozen:
            DB.thaw()
        node.stop()


def main():
    try:
        run_tests([
            test_get_echoes_seq_as_sent_and_data_is_a_string,
            test_get_takes_from_the_same_sequence_as_resp_get_rule_app,
            test_two_apps_under_one_rule_have_their_own_counters,
            test_monitor_counts_this_nodes_numbers_and_creates_nothing,
            test_bad_datagrams_get_a_code_and_a_bounded_reply,
            test_get_waiting_for_a_slow_claim_is_answered_after_it,
            test_get_without_numbers_within_wait_ms_is_code_3,
            test_get_waiting_at_sigterm_is_told_and_seqd_exits_0,
            test_many_new_pairs_at_once_on_one_node,
            test_type1_rule_pairs_on_two_stores_with_id_step_2_are_disjoint,
            test_ipv6_literal_bind,
            test_udp_port_taken_stops_start_up,
            test_mysql_two_nodes_create_the_same_pairs_at_once,
            test_mysql_pair_created_meanwhile_by_another_node,
            test_mysql_frozen_store_gives_code_3_after_wait_ms,
        ])
    finally:
        if DB is not None:
            DB.close()


if __name__ == "__main__":
    main()
