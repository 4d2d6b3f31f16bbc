#!/usr/bin/env python3
"""The Redis protocol at the byte level, with the raw Client (DESIGN.md
section 6a): inline commands, pipelining, requests split over many writes,
every protocol error (reply, then close, while another client keeps being
served), the stricter limits before AUTH, maxclients, a client that
pipelines without reading, clients that vanish mid-request, and random
bytes.
"""
import os
import random
import select
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from seqd import (Client, RespError, Seqd, WaitTimeout, check, eq, parse_info, run_tests, sanitized,  # noqa: E402
                  timing_bound, wait_for)
from seqd import encode_command as req  # noqa: E402


def info(c, section):
    """INFO section through an open client (the harness' parse_info)."""
    return parse_info(c.command("INFO", section))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def alive(s):
    check(s.proc.poll() is None, "seqd died (exit %r):\n%s" % (s.proc.poll(), s.log()[-3000:]))


def wait_clients(c, n, timeout=5.0):
    """Wait until INFO says n clients are connected; return the count (the
    last one seen when that does not happen within timeout)."""
    seen = []

    def there():
        seen.append(int(info(c, "clients")["connected_clients"]))
        return seen[-1] == n
    try:
        wait_for(there, timeout, "%d clients connected" % n)
    except WaitTimeout:
        pass
    return seen[-1]


def nodelay(sock):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def reset_close(sock):
    """Close with an RST (SO_LINGER 0), as a crashed client does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# ---- inline and pipelining ------------------------------------------------

def test_inline_commands():
    with Seqd() as s:
        c = Client(s.port)
        eq(c.raw(b"PING\r\n"), b"+PONG\r\n", "inline PING")
        eq(c.raw(b"PING\n"), b"+PONG\r\n", "inline PING with LF only")
        eq(c.raw(b"ECHO \"a b\"\r\n"), b"$3\r\na b\r\n", "inline quoted argument")
        eq(c.raw(b"ECHO 'c d'\r\n"), b"$3\r\nc d\r\n", "inline single-quoted argument")
        eq(c.raw(b"ECHO \"\\x41\\n\"\r\n"), b"$2\r\nA\n\r\n", "inline escapes")
        eq(c.raw(b"  ECHO \t  x  \r\n"), b"$1\r\nx\r\n", "inline extra blanks")
        eq(c.raw(b"HSET x type 3\r\n"), b":1\r\n", "inline HSET")
        eq(c.raw(b"get x\r\n"), b"$1\r\n1\r\n", "lowercase inline get")
        eq(c.raw(b"incr x\r\n"), b":2\r\n", "lowercase inline incr")
        # Empty lines and empty arrays are skipped, as Redis does.
        eq(c.raw(b"\r\n\r\n\n*0\r\n*-1\r\nPING\r\n"), b"+PONG\r\n", "empty lines and *0 / *-1 skipped")
        eq(c.raw(b"nosuchcmd a b\r\n"),
           b"-ERR unknown command 'nosuchcmd', with args beginning with: 'a' 'b' \r\n", "unknown inline")
        eq(c.raw(b"GET\r\n"), b"-ERR wrong number of arguments for 'get' command\r\n", "inline arity")
        # Inline and multibulk mixed in one write.
        c.send(b"PING\r\n" + req("GET", "x") + b"ECHO hi\r\n" + req("PING"))
        eq([c.read_reply() for _ in range(4)], ["PONG", "3", "hi", "PONG"], "mixed pipeline")


def test_replies_stay_one_line():
    """Names and arguments with CR, LF or other control bytes, or of any
    length, never break an error line (the client would read garbage)."""
    with Seqd() as s:
        c = Client(s.port)
        for args in (["GET", "a\r\nb"], ["INCR", "x\ny"], ["FOO", "a\r\n-ERR fake"], ["GET", "n" * 5000],
                     ["HSET", "bad\r\nname", "type", "3"], ["HSET", "d", "type", "3", "colour\r\n", "x"],
                     ["CLIENT", "SETINFO", "x\r\n", "y"], ["INFO", "\x00\x01"], ["HELLO", "3", "\r\n"]):
            raw = c.raw(req(*args))
            check(raw.startswith(b"-"), "%r: an error reply: %r" % (args, raw[:80]))
            check(raw.count(b"\r\n") == 1 and raw.endswith(b"\r\n") and b"\n" not in raw[:-2] and b"\r" not in raw[:-2],
                  "%r: the error is one line: %r" % (args, raw[:200]))
            check(len(raw) < 1024, "%r: a short error (%d bytes)" % (args, len(raw)))
        eq(c.command("PING"), "PONG", "the connection is still in step")


def test_pipeline_answered_in_order():
    with Seqd() as s:
        c = Client(s.port)
        c.command("HSET", "p", "type", "3")
        c.command("HSET", "q", "type", "2", "length", "6", "segment", "3")
        batch = b""
        want = []
        for i in range(2000):
            k = i % 5
            if k == 0:
                batch += req("GET", "p")
            elif k == 1:
                batch += req("ECHO", "m%d" % i)
                want.append(("echo", "m%d" % i))
                continue
            elif k == 2:
                batch += req("INCR", "q")
            elif k == 3:
                batch += b"PING\r\n"
                want.append(("pong", "PONG"))
                continue
            else:
                batch += req("MGET", "p", "q")
            want.append(("num", k))
        c.send(batch)
        last = {"p": 0, "q": 0}
        for i, (kind, v) in enumerate(want):
            r = c.read_reply()
            if kind == "num":
                if v == 0:
                    n = int(r)
                    check(n > last["p"], "reply %d: p went from %d to %d" % (i, last["p"], n))
                    last["p"] = n
                elif v == 2:
                    check(isinstance(r, int) and r > last["q"], "reply %d: INCR q %r after %d" % (i, r, last["q"]))
                    last["q"] = r
                else:
                    check(isinstance(r, list) and len(r) == 2, "reply %d: MGET %r" % (i, r))
                    check(int(r[0]) > last["p"] and int(r[1]) > last["q"], "reply %d: MGET %r" % (i, r))
                    last["p"], last["q"] = int(r[0]), int(r[1])
            else:
                eq(r, v, "reply %d" % i)
        eq(last["p"], 800, "p: 400 GETs + 400 MGETs")
        eq(last["q"], 100000 + 799, "q: 800 numbers with segment 3 (many claims)")


def test_request_split_over_many_writes():
    with Seqd() as s:
        c = Client(s.port)
        nodelay(c.sock)
        c.command("HSET", "sp", "type", "3")
        # One request, one byte per write, with pauses so each arrives
        # alone (the pauses are the point: many reads per request).
        for b in req("GET", "sp"):
            c.send(bytes([b]))
            time.sleep(0.002)
        eq(c.read_reply(), "1", "GET sent byte by byte")
        for b in b"ECHO \"x y\"\r\n":
            c.send(bytes([b]))
            time.sleep(0.002)            # each byte its own read: the point
        eq(c.read_reply(), "x y", "inline command sent byte by byte")
        # A bulk argument across many writes, with the CRLF split too.
        payload = bytes(random.Random(1).randrange(256) for _ in range(60000))
        data = req("ECHO", payload)
        for i in range(0, len(data), 997):
            c.send(data[i:i + 997])
            if i % 9970 == 0:
                time.sleep(0.002)        # let a partial request reach a read
        c.send(b"")
        line = c._line()
        eq(line, b"$60000", "ECHO of 60000 bytes")
        while len(c.buf) < 60002:
            c._fill()
        eq(c.buf[:60000], payload, "the bytes come back as sent")
        c.buf = c.buf[60002:]
        # Many requests cut at random points.
        rnd = random.Random(7)
        data = b"".join(req("GET", "sp") if i % 2 else b"PING\r\n" for i in range(400))
        pos = 0
        while pos < len(data):
            n = rnd.randint(1, 13)
            c.send(data[pos:pos + n])
            pos += n
            if rnd.random() < 0.05:
                time.sleep(0.001)        # a cut that arrives alone: the point
        got = [c.read_reply() for _ in range(400)]
        eq(got[0::2], ["PONG"] * 200, "PINGs")
        eq([int(x) for x in got[1::2]], list(range(2, 202)), "GETs")


# ---- protocol errors --------------------------------------------------------

BIG = 70 * 1024

PROTOCOL_ERRORS = [
    # (bytes, exact error after "-ERR Protocol error: ", or a prefix ending in "*")
    (b"*abc\r\n", "invalid multibulk length"),
    (b"*1x\r\n", "invalid multibulk length"),
    (b"*99999999\r\n", "invalid multibulk length"),
    (b"*5000\r\n", "invalid multibulk length"),
    (b"*1\r\n$abc\r\n", "invalid bulk length"),
    (b"*1\r\n$-1\r\n", "invalid bulk length"),
    (b"*1\r\n$70000\r\n", "invalid bulk length"),
    (b"*1\r\n$99999999999999999999\r\n", "invalid bulk length"),
    (b"*1\r\nfoo\r\n", "expected '$', got 'f'"),
    (b"*2\r\n$4\r\nECHO\r\n:1\r\n", "expected '$', got ':'"),
    (b"*1\r\n\x01\r\n", "expected '$', got '\\x01'"),
    (b"*1\r\n$4\r\nPINGxx\r\n", "expected CRLF after bulk data"),
    (b"ECHO \"abc\r\n", "unbalanced quotes in request"),
    (b"ECHO \"a\"b\r\n", "unbalanced quotes in request"),
    (b"ECHO 'abc\r\n", "unbalanced quotes in request"),
    (b"A" * BIG, "too big inline request"),
    (b"*" + b"1" * BIG, "too big mbulk count string"),
    (b"*1\r\n$" + b"1" * BIG, "too big bulk count string"),
]


def expect_protocol_error(port, data, want, what):
    """Send data on a fresh connection: the reply is the protocol error
    and then the server closes the connection."""
    c = Client(port)
    try:
        c.send(data)
    except (BrokenPipeError, ConnectionResetError):
        pass   # the server may close before it has read all of a big input
    line = c._line().decode("utf-8", "replace")
    prefix = "-ERR Protocol error: "
    check(line.startswith(prefix), "%s: reply %r" % (what, line))
    eq(line[len(prefix):], want, what)
    check(c.closed_by_server(3.0), "%s: the server did not close the connection" % what)
    eq(c.buf, b"", "%s: nothing after the error" % what)
    c.close()


def test_protocol_errors_close_only_that_client():
    with Seqd() as s:
        other = Client(s.port)
        other.command("HSET", "o", "type", "3")
        for i, (data, want) in enumerate(PROTOCOL_ERRORS):
            expect_protocol_error(s.port, data, want, "case %d %r" % (i, data[:24]))
            eq(other.command("PING"), "PONG", "other client after case %d" % i)
            eq(other.command("GET", "o"), str(i + 1), "other client's GET after case %d" % i)
        alive(s)
        eq(int(info(other, "stats")["total_protocol_errors"]), len(PROTOCOL_ERRORS), "protocol errors counted")
        # Good requests before the bad one are answered; nothing after it.
        c = Client(s.port)
        c.send(b"PING\r\n" + req("GET", "o") + b"*x\r\n" + b"PING\r\n")
        eq(c.read_reply(), "PONG")
        eq(c.read_reply(), str(len(PROTOCOL_ERRORS) + 1))
        eq(c.read_reply(), "ERR Protocol error: invalid multibulk length")
        check(c.closed_by_server(), "closed after the error")
        eq(c.buf, b"", "the PING after the bad request is not answered")
        # The limits are on lines and bulks, not on the request: 4096 args
        # and 64 KB bulks are fine once authenticated (no requirepass here).
        c = Client(s.port)
        eq(len(c.command("MGET", *(["o"] * 4095))), 4095, "MGET with 4095 names")
        eq(len(c.command("ECHO", "z" * 65536)), 65536, "ECHO of 64 KB")
        eq(wait_clients(other, 2), 2, "closed connections are gone from connected_clients")


def test_preauth_limits():
    with Seqd(config={"requirepass": "pw"}) as s:
        other = Client(s.port)
        eq(other.command("AUTH", "pw"), "OK")
        # 10 arguments before AUTH are fine (NOAUTH or a reply), 11 are not.
        c = Client(s.port)
        eq(c.command("EXISTS", *(["a"] * 9)), "NOAUTH Authentication required.", "10 args before AUTH")
        expect_protocol_error(s.port, req("EXISTS", *(["a"] * 10)), "unauthenticated multibulk length",
                              "11 args before AUTH")
        expect_protocol_error(s.port, b"EXISTS" + b" a" * 10 + b"\r\n", "too many arguments",
                              "11 inline args before AUTH")
        eq(other.command("PING"), "PONG")
        # 16 KB bulks before AUTH are fine, one byte more is not.
        c = Client(s.port)
        eq(c.command("PING", "b" * 16384), "b" * 16384, "16384-byte bulk before AUTH")
        expect_protocol_error(s.port, req("PING", "b" * 16385), "unauthenticated bulk length",
                              "16385-byte bulk before AUTH")
        expect_protocol_error(s.port, b"*1\r\n$16385\r\n", "unauthenticated bulk length", "16385 header before AUTH")
        eq(other.command("PING"), "PONG")
        # After AUTH the wider limits apply on the same connection.
        c = Client(s.port)
        eq(c.command("AUTH", "pw"), "OK")
        eq(c.command("EXISTS", *(["a"] * 20)), 0, "20 args after AUTH")
        eq(len(c.command("ECHO", "e" * 40000)), 40000, "40000-byte bulk after AUTH")
        # A wrong password does not lift the limits.
        c = Client(s.port)
        eq(c.command("AUTH", "nope"), "WRONGPASS invalid username-password pair or user is disabled.")
        c.send(req("EXISTS", *(["a"] * 10)))
        eq(c.read_reply(), "ERR Protocol error: unauthenticated multibulk length", "limits after a failed AUTH")
        check(c.closed_by_server(), "closed")
        eq(other.command("PING"), "PONG")
        alive(s)


# ---- connections ------------------------------------------------------------

def test_maxclients():
    with Seqd(config={"maxclients": 5}) as s:
        # The start-up probe's connection counts until its worker has seen
        # it close: wait for that, through the first client.
        clients = [Client(s.port)]
        eq(wait_clients(clients[0], 1), 1, "only the first client left")
        clients += [Client(s.port) for _ in range(4)]
        for i, c in enumerate(clients):
            eq(c.command("PING"), "PONG", "client %d of 5" % (i + 1))
        eq(wait_clients(clients[0], 5), 5, "five connected")
        sixth = Client(s.port)
        eq(sixth.raw(b""), b"-ERR max number of clients reached\r\n", "the 6th connection")
        check(sixth.closed_by_server(), "the 6th connection is closed")
        r = s.cli("PING")
        check("max number of clients reached" in r, "redis-cli sees the error: %r" % r)
        for c in clients:
            eq(c.command("PING"), "PONG", "the five keep working")
        eq(info(clients[0], "stats")["rejected_connections"], "2", "rejected_connections")
        clients.pop().close()
        eq(wait_clients(clients[0], 4), 4, "one left")
        c = Client(s.port)
        eq(c.command("PING"), "PONG", "a slot is free again")


@timing_bound
def test_pipelining_without_reading():
    """200,000 GETs from clients that do not read: another client on the
    same worker is still answered within 1 s and memory stays bounded; the
    client that reads late gets every reply, in order."""
    with Seqd(config={"workers": 1}) as s:
        other = Client(s.port)
        other.command("HSET", "f", "type", "3")
        pid = s.proc.pid
        rss_before = rss_kb(pid)
        flood = req("GET", "f") * 200000
        sent = {}

        def sender(name, sock):
            try:
                sock.settimeout(60)
                sock.sendall(flood)
                sent[name] = True
            except OSError as e:
                sent[name] = e

        silent = Client(s.port)      # never reads
        late = Client(s.port)        # reads after a while
        ts = [threading.Thread(target=sender, args=("silent", silent.sock), daemon=True),
              threading.Thread(target=sender, args=("late", late.sock), daemon=True)]
        for t in ts:
            t.start()
        worst, peak = 0.0, 0
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            t0 = time.monotonic()
            eq(other.command("PING"), "PONG", "PING during the flood")
            worst = max(worst, time.monotonic() - t0)
            peak = max(peak, rss_kb(pid))
            time.sleep(0.05)        # sample PING and RSS through 3 s of flood: the point
        bound = 2.0 if sanitized() else 1.0     # ASan: a few times slower
        check(worst < bound, "PING took %.2f s during the flood" % worst)
        check(peak < 200 * 1024, "RSS %d kB during the flood (before: %d kB)" % (peak, rss_before))
        # The late reader now reads everything: all 200,000 replies, in order.
        late.sock.settimeout(10)
        prev = 0
        deadline = time.monotonic() + 40
        for i in range(200000):
            try:
                n = int(late.read_reply())
            except socket.timeout:
                raise AssertionError("the late reader got only %d of 200000 replies" % i)
            if n <= prev:
                raise AssertionError("reply %d: %d after %d" % (i, n, prev))
            prev = n
            if i % 20000 == 0:
                check(time.monotonic() < deadline, "reading the replies took too long")
                peak = max(peak, rss_kb(pid))
        ts[1].join(10)
        eq(sent.get("late"), True, "the late reader's requests were all taken")
        check(peak < 200 * 1024, "RSS %d kB (before: %d kB)" % (peak, rss_before))
        t0 = time.monotonic()
        eq(other.command("PING"), "PONG")
        check(time.monotonic() - t0 < 1.0, "PING after the flood")
        silent.close()
        late.close()
        alive(s)
        eq(wait_clients(other, 1), 1, "the flooding clients are gone")


def test_big_replies_in_one_pipeline_all_arrive():
    """A pipeline whose replies pass the output soft limit (256 KB) is
    answered to the end while the client reads: replies are not left
    waiting for more input that never comes."""
    with Seqd(config={"workers": 1}) as s:
        other = Client(s.port)
        other.command("HSET", "b", "type", "3")
        cases = [
            (req("NEXT", "b", "30000") + b"PING\r\n", ["array", "PONG"]),
            (req("NEXT", "b", "30000") * 2, ["array", "array"]),
            (req("NEXT", "b", "1000") * 300, ["array"] * 300),
        ]
        for i, (data, want) in enumerate(cases):
            c = Client(s.port, timeout=5)
            c.send(data)
            for j, w in enumerate(want):
                try:
                    r = c.read_reply()
                except socket.timeout:
                    raise AssertionError("case %d: only %d of %d replies arrived" % (i, j, len(want)))
                if w == "array":
                    check(isinstance(r, list) and len(r) > 0, "case %d reply %d: %r" % (i, j, str(r)[:80]))
                else:
                    eq(r, w, "case %d reply %d" % (i, j))
            c.close()
            eq(other.command("PING"), "PONG")


@timing_bound
def test_client_that_never_reads_is_cut_off():
    """DESIGN.md 6a: a client that sends without reading has an output
    bound and is cut off, never the server's memory. Big replies (NEXT)
    and a small receive window so that the kernel buffers cannot hide it;
    the server may wait a while (its stall bound is 30 s) but not forever,
    and serves others meanwhile."""
    with Seqd(config={"workers": 1}) as s:
        other = Client(s.port)
        other.command("HSET", "n", "type", "3")
        pid = s.proc.pid
        k = socket.socket()
        k.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        k.connect(("127.0.0.1", s.port))
        k.settimeout(60)

        def sender():
            try:
                k.sendall(req("NEXT", "n", "100") * 50000)
            except OSError:
                pass
        threading.Thread(target=sender, daemon=True).start()
        peak = 0

        def cut_off():
            # Meanwhile the server lives, answers others and stays small.
            nonlocal peak
            if int(info(other, "stats")["total_output_limit_closes"]) >= 1:
                return True
            alive(s)
            peak = max(peak, rss_kb(pid))
            t0 = time.monotonic()
            eq(other.command("PING"), "PONG")
            check(time.monotonic() - t0 < 1.0, "PING while a client does not read")
            return False
        wait_for(cut_off, 40, "a client that never reads is cut off (total_output_limit_closes)",
                 detail=lambda: "total_commands_processed %s"
                 % info(other, "stats")["total_commands_processed"])
        check(peak < 200 * 1024, "RSS %d kB" % peak)
        k.settimeout(5)
        closed = False
        try:
            while True:
                if not k.recv(1 << 20):
                    closed = True
                    break
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            pass
        check(closed, "the connection of the client that never reads is closed")
        k.close()
        alive(s)
        eq(wait_clients(other, 1), 1, "only the other client is left")


def test_clients_vanishing_mid_request():
    with Seqd(config={"store": {"test_delay_ms": 300}, "segment": {"wait_ms": 5000}}) as s:
        other = Client(s.port)
        eq(other.command("HSET", "v", "type", "3"), 1)
        eq(other.command("GET", "v"), "1")
        partials = [
            b"*3\r\n$4\r\nHSET",
            b"*2\r\n$3\r\nGET\r\n$1",
            b"*2\r\n$4\r\nECHO\r\n$60000\r\n" + b"x" * 100,
            b"ECHO \"unterminated",
            b"PING",
            b"*",
        ]
        for i, data in enumerate(partials):
            c = Client(s.port)
            c.send(data)
            c.close()
            c = Client(s.port)
            c.send(data)
            reset_close(c.sock)
            eq(other.command("PING"), "PONG", "after partial %d" % i)
        # Many requests, then gone before reading a reply (the server's
        # writes fail).
        for close in (lambda k: k.close(), lambda k: reset_close(k.sock)):
            c = Client(s.port)
            c.send(req("GET", "v") * 5000 + req("ECHO", "y" * 60000) * 20)
            close(c)
        # A command waiting for a slow store job (HSET) and one parked on a
        # slow claim (a new sequence's first GET), then gone.
        c = Client(s.port)
        c.send(req("HSET", "slowdef", "type", "3"))
        c.close()
        other.command("HSET", "dry", "type", "3")
        for i in range(3):
            parked = int(info(other, "stats")["total_commands_parked"])
            c = Client(s.port)
            c.send(req("GET", "dry"))
            wait_for(lambda: int(info(other, "stats")["total_commands_parked"]) > parked, 5,
                     "GET %d of 'dry' parks on the slow claim" % i)
            reset_close(c.sock)
        # The jobs and claims come back to closed connections: wait until
        # the store has none left and the claim of 'dry' has landed.
        wait_for(lambda: int(info(other, "store")["store_pending_jobs"]) == 0
                 and parse_info(other.command("INFO", "dry"))["claim_in_flight"] == "0", 10,
                 "store_pending_jobs:0 and no claim in flight for 'dry'")
        alive(s)
        eq(other.command("PING"), "PONG")
        eq(int(other.command("GET", "v")) > 1, True, "v still served")
        check(int(other.command("GET", "dry")) >= 1, "dry still served")
        eq(wait_clients(other, 1), 1, "no connection left behind")


def test_random_bytes_never_crash():
    rnd = random.Random(20261121)
    with Seqd() as s:
        other = Client(s.port)
        other.command("HSET", "j", "type", "3")
        prefixes = [b"", b"*", b"*3\r\n", b"*2\r\n$3\r\nGET\r\n", b"*2\r\n$", b"PING ", b"\"", b"*1\r\n$4\r\nPING\r\n"]
        for round_ in range(8):
            conns = []
            for _ in range(40):
                k = socket.create_connection(("127.0.0.1", s.port), timeout=5)
                n = rnd.choice([1, 2, 8, 64, 512, 4096, 20000])
                junk = rnd.choice(prefixes) + bytes(rnd.randrange(256) for _ in range(n))
                try:
                    k.sendall(junk)
                except OSError:
                    pass
                conns.append(k)
            # Give the server a moment to answer or close, then go.
            end = time.monotonic() + 0.3
            while time.monotonic() < end and conns:
                r, _, _ = select.select(conns, [], [], 0.05)
                for k in r:
                    try:
                        if not k.recv(65536):
                            conns.remove(k)
                            k.close()
                    except OSError:
                        conns.remove(k)
                        k.close()
            for k in conns:
                if rnd.random() < 0.5:
                    reset_close(k)
                else:
                    k.close()
            alive(s)
            eq(other.command("PING"), "PONG", "round %d" % round_)
            eq(int(other.command("GET", "j")), round_ + 1, "GET after round %d" % round_)
        eq(wait_clients(other, 1), 1, "junk connections are gone")
        check(rss_kb(s.proc.pid) < 200 * 1024, "RSS after the junk")


if __name__ == "__main__":
    run_tests([
        test_inline_commands,
        test_replies_stay_one_line,
        test_pipeline_answered_in_order,
        test_request_split_over_many_writes,
        test_protocol_errors_close_only_that_client,
        test_preauth_limits,
        test_maxclients,
        test_clients_vanishing_mid_request,
        test_random_bytes_never_crash,
        test_pipelining_without_reading,
        test_big_replies_in_one_pipeline_all_arrive,
        test_client_that_never_reads_is_cut_off,
    ])
