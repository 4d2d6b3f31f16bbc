#!/usr/bin/env python3
"""test_park: commands wait for a slow store without blocking the worker.

store.test_delay_ms (a test-only key, 0 by default) delays every claim on
the store thread, so the store looks slow. Segments are 5 numbers
(segment.max 5 keeps the dynamic size there), so a pipeline of GETs runs
the buffers dry and parks.

* A's pipelined GETs park; B's PING on the same worker (workers 1) is
  answered meanwhile; when the claims land A's GETs complete in pipeline
  order with increasing numbers.
* Two clients parked on the same sequence both complete, no number twice.
* Past segment.wait_ms a parked GET gets -TRYAGAIN with the reason; the
  connection keeps working (pipelined commands behind it, and a GET once
  the claim has landed).
* NEXT and MGET that park partway complete with the right numbers.
* A client that disconnects while parked does no harm.
* INFO stats: total_commands_parked and total_parked_timeouts move.
* SIGTERM while parked: -TRYAGAIN, exit 0, no number lost over the restart.
* DEL while parked: answered at once; the re-created name starts afresh.

Environment: SEQD_BIN, SEQD_SRCDIR.
"""
import os
import select
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from seqd import Client, RespError, Seqd, info, run_tests, wait_for, wait_int  # noqa: E402

SEG = 5


def slow_server(delay_ms, wait_ms, workers=1):
    cfg = {
        "workers": workers,
        "store": {"test_delay_ms": delay_ms},
        "segment": {"default": SEG, "max": SEG, "wait_ms": wait_ms},
    }
    return Seqd(config=cfg).start()


def pipeline(cmds):
    out = b""
    for args in cmds:
        out += b"*%d\r\n" % len(args)
        for a in args:
            a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def stats(port):
    return info(port, "stats")


def parked(port):
    """INFO stats: total_commands_parked."""
    return int(stats(port)["total_commands_parked"])


def wait_parked(port, before, what):
    """Wait until a command has parked since total_commands_parked was
    `before`."""
    wait_int(port, "stats", "total_commands_parked", before + 1, what=what)


def count_replies_now(c):
    """Read whatever has arrived on c without blocking; return how many
    complete top-level replies of simple kinds (bulk, error) it holds."""
    c.sock.setblocking(False)
    try:
        while True:
            r, _, _ = select.select([c.sock], [], [], 0)
            if not r:
                break
            chunk = c.sock.recv(65536)
            if not chunk:
                break
            c.buf += chunk
    except BlockingIOError:
        pass
    finally:
        c.sock.setblocking(True)
        c.sock.settimeout(10.0)
    n, rest = 0, c.buf
    while rest:
        if rest[:1] == b"$":
            head, sep, tail = rest.partition(b"\r\n")
            if not sep:
                break
            ln = int(head[1:])
            if ln < 0:
                rest = tail
            elif len(tail) < ln + 2:
                break
            else:
                rest = tail[ln + 2:]
        else:
            head, sep, tail = rest.partition(b"\r\n")
            if not sep:
                break
            rest = tail
        n += 1
    return n


def test_parked_gets_do_not_block_others():
    """A's pipeline parks on a slow store; B's PING on the same worker is
    answered at once; A's GETs then complete in order."""
    s = slow_server(400, 3000)
    try:
        admin = Client(s.port)
        assert admin.command("HSET", "p", "type", "3", "segment", SEG) == 1
        admin.close()
        parked_before = int(stats(s.port)["total_commands_parked"])
        n = 12
        a = Client(s.port)
        b = Client(s.port)
        t0 = time.monotonic()
        a.send(pipeline([("GET", "p")] * n))
        wait_parked(s.port, parked_before, "A's first GET parks, waiting for its claim")
        pings = []
        for _ in range(3):
            t = time.monotonic()
            assert b.command("PING") == "PONG"
            pings.append(time.monotonic() - t)
            assert b.command("ECHO", "still here") == "still here"
        arrived = count_replies_now(a)
        assert arrived < n, "A's %d GETs were all answered before B's PING: the store is not slow" % n
        assert max(pings) < 0.2, "PING took %.0f ms while A was parked" % (max(pings) * 1000)
        got = [a.read_reply() for _ in range(n)]
        took = time.monotonic() - t0
        assert all(not isinstance(x, RespError) for x in got), "A got errors: %r" % got
        nums = [int(x) for x in got]
        assert nums == list(range(1, n + 1)), "parked GETs out of order: %r" % nums
        assert took >= 0.8, "12 GETs over 5-number segments with 400 ms claims took only %.2f s" % took
        assert int(stats(s.port)["total_commands_parked"]) > parked_before, "total_commands_parked did not move"
        print("  pipeline of %d GETs took %.2f s; PING answered in %.1f ms max while parked (%d replies in then)"
              % (n, took, max(pings) * 1000, arrived))
        a.close()
        b.close()
    finally:
        s.stop()


def test_two_clients_parked_on_one_sequence():
    """Clients on two workers park on one sequence; both complete, in order,
    and no number is handed out twice."""
    s = slow_server(300, 5000, workers=2)
    try:
        admin = Client(s.port)
        assert admin.command("HSET", "q", "type", "3", "segment", SEG) == 1
        clients = [Client(s.port) for _ in range(3)]
        for c in clients:
            c.send(pipeline([("GET", "q")] * 8))
        assert admin.command("PING") == "PONG"
        seen = []
        for c in clients:
            nums = [int(c.read_reply()) for _ in range(8)]
            assert nums == sorted(nums), "one client's numbers not increasing: %r" % nums
            seen.extend(nums)
            c.close()
        assert sorted(seen) == list(range(1, 25)), "numbers: %r" % sorted(seen)
        admin.close()
    finally:
        s.stop()


def test_parked_get_times_out_with_tryagain():
    """A GET parked past segment.wait_ms gets -TRYAGAIN with a reason; the
    commands pipelined behind it are answered, and the connection works."""
    s = slow_server(2000, 300)
    try:
        c = Client(s.port)
        assert c.command("HSET", "slow", "type", "3", "segment", SEG) == 1
        before = stats(s.port)
        t0 = time.monotonic()
        c.send(pipeline([("GET", "slow"), ("PING",), ("ECHO", "after")]))
        r = c.read_reply()
        waited = time.monotonic() - t0
        assert isinstance(r, RespError), "expected -TRYAGAIN, got %r" % r
        assert r.startswith("TRYAGAIN"), r
        assert "'slow'" in r and "300 ms" in r, "reason lacks the name or the bound: %r" % r
        assert "store" in r, "reason does not say it is the store: %r" % r
        assert 0.25 <= waited < 1.5, "TRYAGAIN after %.0f ms, wait_ms is 300" % (waited * 1000)
        assert c.read_reply() == "PONG"
        assert c.read_reply() == "after"
        assert c.command("PING") == "PONG"
        print("  TRYAGAIN after %.0f ms: %s" % (waited * 1000, r))
        # The claim lands after 2 s: the sequence then answers normally.
        def number():
            r = c.command("GET", "slow")
            assert not isinstance(r, RespError) or r.startswith("TRYAGAIN"), r
            return None if isinstance(r, RespError) else r
        r = wait_for(number, 8, "a number of 'slow' once its claim lands")
        assert int(r) == 1, "first number after the timeout: %r (the timed-out GET took none)" % r
        after = stats(s.port)
        assert int(after["total_parked_timeouts"]) > int(before["total_parked_timeouts"]), \
            "total_parked_timeouts did not move"
        assert int(after["total_commands_parked"]) > int(before["total_commands_parked"])
        c.close()
    finally:
        s.stop()


def test_next_and_mget_park_partway():
    """NEXT 12 over 5-number segments and MGET over several fresh sequences
    park partway and complete with the right numbers."""
    s = slow_server(300, 5000)
    try:
        c = Client(s.port)
        for name in ("n", "m", "x", "y"):
            assert c.command("HSET", name, "type", "3", "segment", SEG) == 1
        t0 = time.monotonic()
        r = c.command("NEXT", "n", 12)
        assert r == [str(i) for i in range(1, 13)], "NEXT n 12: %r" % r
        assert time.monotonic() - t0 >= 0.6, "NEXT did not wait for the claims"
        assert c.command("NEXT", "n", 3) == ["13", "14", "15"]
        r = c.command("MGET", *(["m"] * 7))
        assert r == [str(i) for i in range(1, 8)], "MGET m x7: %r" % r
        r = c.command("MGET", "x", "y", "x", "y", "x", "y")
        assert r == ["1", "1", "2", "2", "3", "3"], "MGET x y ...: %r" % r
        # Pipelined behind a parking NEXT: replies keep their order.
        c.send(pipeline([("NEXT", "n", 7), ("GET", "n"), ("MGET", "m", "n"), ("PING",)]))
        assert c.read_reply() == [str(i) for i in range(16, 23)]
        assert c.read_reply() == "23"
        assert c.read_reply() == ["8", "24"]
        assert c.read_reply() == "PONG"
        c.close()
    finally:
        s.stop()


def test_disconnect_while_parked():
    """A client that goes away while parked: the server carries on."""
    s = slow_server(500, 3000)
    try:
        c = Client(s.port)
        assert c.command("HSET", "d", "type", "3", "segment", SEG) == 1
        before = parked(s.port)
        gone = Client(s.port)
        gone.send(pipeline([("GET", "d")] * 10))
        wait_parked(s.port, before, "the GETs park")
        gone.sock.shutdown(socket.SHUT_RDWR)
        gone.close()
        assert c.command("PING") == "PONG"
        nums = [int(c.command("GET", "d")) for _ in range(8)]
        assert nums == sorted(nums) and len(set(nums)) == 8, nums
        assert s.proc.poll() is None, "seqd died"
        c.close()
        assert s.stop() == 0
    finally:
        if s.proc.poll() is None:
            s.stop()


def test_sigterm_while_parked():
    """SIGTERM while a GET is parked: it is answered -TRYAGAIN (shutting
    down), seqd exits 0 once the claim is in, and after a restart nothing
    was lost: the first GET is 1."""
    s = slow_server(1500, 5000)
    c = Client(s.port)
    assert c.command("HSET", "t", "type", "3", "segment", SEG) == 1
    before = parked(s.port)
    c.send(pipeline([("GET", "t")] * 3))
    wait_parked(s.port, before, "the GET parks")
    s.signal(signal.SIGTERM)
    r = c.read_reply()
    assert isinstance(r, RespError) and r.startswith("TRYAGAIN") and "shutting down" in r, \
        "parked GET at shutdown: %r" % r
    assert c.closed_by_server(5), "the connection stayed open after the shutdown reply"
    c.close()
    assert s.proc.wait(15) == 0, "graceful stop with a claim in flight did not exit 0"
    assert s.stop() == 0
    s.config["store"]["test_delay_ms"] = 0
    s.write_config()
    s.start()
    try:
        c = Client(s.port)
        assert [c.command("GET", "t") for _ in range(3)] == ["1", "2", "3"], "numbers lost over the stop"
        c.close()
    finally:
        s.stop()


def test_del_while_parked():
    """DEL from another client while a GET is parked: the GET is answered
    'no such sequence' at once. A sequence created again under the same
    name starts at its starting value: the claim that was on its way for
    the deleted one must not eat the new one's numbers."""
    s = slow_server(1000, 5000, workers=2)
    try:
        a, b = Client(s.port), Client(s.port)
        assert a.command("HSET", "z", "type", "3", "segment", SEG) == 1
        before = parked(s.port)
        a.send(pipeline([("GET", "z"), ("PING",)]))
        wait_parked(s.port, before, "the GET parks")
        t0 = time.monotonic()
        assert b.command("DEL", "z") == 1
        r = a.read_reply()
        assert isinstance(r, RespError) and "no such sequence 'z'" in r, "parked GET after DEL: %r" % r
        assert time.monotonic() - t0 < 0.5, "the parked GET waited for the claim of a deleted sequence"
        assert a.read_reply() == "PONG"
        assert b.command("HSET", "z", "type", "3", "starting", "1", "segment", SEG) == 1
        r = a.command("GET", "z")
        assert r == "1", "GET of the re-created 'z' gave %r, want 1 (its starting value)" % r
        a.close()
        b.close()
    finally:
        s.stop()


if __name__ == "__main__":
    run_tests([
        test_parked_gets_do_not_block_others,
        test_two_clients_parked_on_one_sequence,
        test_parked_get_times_out_with_tryagain,
        test_next_and_mget_park_partway,
        test_disconnect_while_parked,
        test_sigterm_while_parked,
        test_del_while_parked,
    ])
