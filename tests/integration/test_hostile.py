#!/usr/bin/env python3
"""test_hostile: hostile and broken input, each with its documented outcome.

For every row below a fresh connection sends the input; seqd must answer
exactly the reply shown and keep the connection ("reply": a PING on it is
then answered +PONG), or answer exactly the reply shown and close it
("close"; "-" means no reply, a clean close). During each row a second
client's PING must be answered within 1 s, seqd's VmRSS must stay below
RSS_MAX_KB, and seqd must not crash. Servers run on 127.0.0.1 with the
memory store; every wait is bounded.

  # | input                                         | outcome
  --+-----------------------------------------------+----------------------------------------------------------
  1 | *-1 (null multibulk)                           | reply: nothing (ignored, as Redis), PING works after it
  2 | *0                                            | reply: nothing (ignored)
  3 | *99999999999                                  | close: -ERR Protocol error: invalid multibulk length
  4 | *abc                                          | close: -ERR Protocol error: invalid multibulk length
  5 | *9223372036854775808 (overflows int64)        | close: -ERR Protocol error: invalid multibulk length
  6 | *4097 (one past RESP_MAX_ARGS)                | close: -ERR Protocol error: invalid multibulk length
  7 | *1 $-5                                        | close: -ERR Protocol error: invalid bulk length
  8 | *1 $abc                                       | close: -ERR Protocol error: invalid bulk length
  9 | *1 $99999999999                               | close: -ERR Protocol error: invalid bulk length
 10 | *1 $65537 (one past RESP_MAX_BULK)            | close: -ERR Protocol error: invalid bulk length
 11 | *1 then PING without $                        | close: -ERR Protocol error: expected '$', got 'P'
 12 | *1 $4 PINGxx (data longer than its length)    | close: -ERR Protocol error: expected CRLF after bulk data
 13 | *1 $4 PING LF LF (missing CR)                 | close: -ERR Protocol error: expected CRLF after bulk data
 14 | *1 CR X (count line without LF)               | close: -ERR Protocol error: invalid multibulk length
 15 | * then 65537 digits, no CRLF                  | close: -ERR Protocol error: too big mbulk count string
 16 | *1 $ then 65537 digits, no CRLF               | close: -ERR Protocol error: too big bulk count string
 17 | 65537 bytes of inline text, no LF             | close: -ERR Protocol error: too big inline request
 18 | PING without CRLF, then shutdown(SHUT_WR)     | close: - (a partial request is never run)
 19 | *2 $4 ECHO (half a request), then SHUT_WR     | close: -
 20 | ECHO "abc (unbalanced double quote)           | close: -ERR Protocol error: unbalanced quotes in request
 21 | ECHO 'abc (unbalanced single quote)           | close: -ERR Protocol error: unbalanced quotes in request
 22 | ECHO "a"b (text after a closing quote)        | close: -ERR Protocol error: unbalanced quotes in request
 23 | NEXT x 0                                      | reply: -ERR count must be an integer from 1 to 100000
 24 | NEXT x -1                                     | reply: -ERR count must be an integer from 1 to 100000
 25 | NEXT x 1e9                                    | reply: -ERR count must be an integer from 1 to 100000
 26 | NEXT x 99999999999999999999                   | reply: -ERR count must be an integer from 1 to 100000
 27 | NEXT x 1000000000                             | reply: -ERR count must be an integer from 1 to 100000
 28 | GET a<NUL>b (multibulk)                       | reply: -ERR no such sequence 'a?b': sequence name may only hold printable ASCII ... (byte 2 is not) ...
 29 | GET <0xff 0xfe> (multibulk)                   | reply: -ERR no such sequence '??': ... (byte 1 is not) ...
 30 | GET a<NUL>b (inline)                          | reply: as 28
 31 | HSET a<NUL>b type 3                           | reply: -ERR sequence name may only hold printable ASCII without spaces (byte 2 is not)
 32 | <NUL><0xff> as an inline command              | reply: -ERR unknown command '??', with args beginning with:
 33 | $4 as an inline command                       | reply: -ERR unknown command '$4', with args beginning with:
 34 | *1 $0 (an empty command name)                 | reply: -ERR unknown command '', with args beginning with:
 35 | GET of a 300-byte name                        | reply: -ERR no such sequence '<its first 128 bytes>': sequence name must be 1..128 bytes long ...
 36 | EXISTS with 4095 names (RESP_MAX_ARGS)        | reply: :0
 37 | ECHO with 10,000 arguments (multibulk)        | close: -ERR Protocol error: invalid multibulk length
 38 | ECHO with 10,000 arguments (inline)           | close: -ERR Protocol error: too many arguments
 39 | 20 arguments of 64 KB (1.3 MB; limit 1 MiB)   | close: -ERR Protocol error: request too large
 40 | NEXT x 1 1 (one argument too many)            | reply: -ERR wrong number of arguments for 'next' command
 41 | a pipeline of 100,000 PINGs                   | reply: 100,000 times +PONG, in order
 42 | a pipeline of 100,000 INCR x                  | reply: 100,000 integers, each one more than the last
 43 | PING, then shutdown(SHUT_WR) (half-close)     | close: +PONG
 44 | INCR x then GET x, then shutdown(SHUT_WR)     | close: :1 and $1 2 (both replies)
 45 | a client that sends PINGs forever, never reads| closed after output_limit_seconds (INFO total_output_limit_closes)
 46 | a client that connects and sends nothing      | closed after timeout (2 s here; INFO total_idle_timeout_closes); never with timeout 0
 47 | a client that sends half a request, then idles| closed after timeout
 48 | 20,000 connections, maxclients 10,000         | the first 10,000 stay; each other one: -ERR max number of clients reached, close
 49 | before AUTH (requirepass): *11                | close: -ERR Protocol error: unauthenticated multibulk length
 50 | before AUTH: *99999999999                     | close: -ERR Protocol error: unauthenticated multibulk length
 51 | before AUTH: *1 $16385                        | close: -ERR Protocol error: unauthenticated bulk length
 52 | before AUTH: *1 $-5                           | close: -ERR Protocol error: invalid bulk length
 53 | before AUTH: GET x                            | reply: -NOAUTH Authentication required.
 54 | every command of COMMAND with every wrong     | reply: -ERR wrong number of arguments for '<name>' command
    | number of arguments (1 .. arity+1)            |

Row 48 needs 10,000 open files in this process and about as many in
seqd: when the hard limit (ulimit -Hn) is below 10,300, it runs 400
connections against maxclients 200 instead and says so.
"""
import os
import resource
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from seqd import Client, Seqd, check, eq, parse_info, run_tests, wait_for, wait_log  # noqa: E402
from seqd import encode_command as req  # noqa: E402

RSS_MAX_KB = 256 * 1024
PING_WITHIN = 1.0
NAME_RULE = "sequence name may only hold printable ASCII without spaces"
SKIPPED_ROW = " (a row with such a biz_tag is skipped; the log says why)"
COUNT_ERR = b"-ERR count must be an integer from 1 to 100000\r\n"


def perr(text):
    return b"-ERR Protocol error: " + text.encode() + b"\r\n"


def no_such(shown, why):
    return ("-ERR no such sequence '%s': %s%s\r\n" % (shown, why, SKIPPED_ROW)).encode()


# (name, bytes sent, "reply" or "close", the exact bytes answered)
ROWS = [
    ("*-1", b"*-1\r\n", "reply", b""),
    ("*0", b"*0\r\n", "reply", b""),
    ("*99999999999", b"*99999999999\r\n", "close", perr("invalid multibulk length")),
    ("*abc", b"*abc\r\n", "close", perr("invalid multibulk length")),
    ("count overflows int64", b"*9223372036854775808\r\n", "close", perr("invalid multibulk length")),
    ("*4097", b"*4097\r\n", "close", perr("invalid multibulk length")),
    ("$-5", b"*1\r\n$-5\r\n", "close", perr("invalid bulk length")),
    ("$abc", b"*1\r\n$abc\r\n", "close", perr("invalid bulk length")),
    ("$99999999999", b"*1\r\n$99999999999\r\n", "close", perr("invalid bulk length")),
    ("$65537", b"*1\r\n$65537\r\n", "close", perr("invalid bulk length")),
    ("no $", b"*1\r\nPING\r\n", "close", perr("expected '$', got 'P'")),
    ("bulk data too long", b"*1\r\n$4\r\nPINGxx", "close", perr("expected CRLF after bulk data")),
    ("bulk data then LF LF", b"*1\r\n$4\r\nPING\n\n", "close", perr("expected CRLF after bulk data")),
    ("count line CR without LF", b"*1\rX", "close", perr("invalid multibulk length")),
    ("count line without CRLF", b"*" + b"1" * 65537, "close", perr("too big mbulk count string")),
    ("bulk line without CRLF", b"*1\r\n$" + b"1" * 65537, "close", perr("too big bulk count string")),
    ("inline without LF", b"A" * 65537, "close", perr("too big inline request")),
    ("PING without CRLF, SHUT_WR", b"PING", "close-shut", b""),
    ("half a request, SHUT_WR", b"*2\r\n$4\r\nECHO\r\n", "close-shut", b""),
    ("unbalanced double quote", b'ECHO "abc\r\n', "close", perr("unbalanced quotes in request")),
    ("unbalanced single quote", b"ECHO 'abc\r\n", "close", perr("unbalanced quotes in request")),
    ("text after closing quote", b'ECHO "a"b\r\n', "close", perr("unbalanced quotes in request")),
    ("NEXT x 0", b"NEXT x 0\r\n", "reply", COUNT_ERR),
    ("NEXT x -1", b"NEXT x -1\r\n", "reply", COUNT_ERR),
    ("NEXT x 1e9", b"NEXT x 1e9\r\n", "reply", COUNT_ERR),
    ("NEXT x 99999999999999999999", b"NEXT x 99999999999999999999\r\n", "reply", COUNT_ERR),
    ("NEXT x 1000000000", req("NEXT", "x", "1000000000"), "reply", COUNT_ERR),
    ("GET NUL in name", req("GET", b"a\0b"), "reply", no_such("a?b", NAME_RULE + " (byte 2 is not)")),
    ("GET binary name", req("GET", b"\xff\xfe"), "reply", no_such("??", NAME_RULE + " (byte 1 is not)")),
    ("inline GET NUL in name", b"GET a\0b\r\n", "reply", no_such("a?b", NAME_RULE + " (byte 2 is not)")),
    ("HSET NUL in name", req("HSET", b"a\0b", "type", "3"), "reply",
     ("-ERR %s (byte 2 is not)\r\n" % NAME_RULE).encode()),
    ("inline NUL and 0xff", b"\0\xff\r\n", "reply",
     b"-ERR unknown command '??', with args beginning with: \r\n"),
    ("inline $4", b"$4\r\n", "reply", b"-ERR unknown command '$4', with args beginning with: \r\n"),
    ("empty command name", b"*1\r\n$0\r\n\r\n", "reply",
     b"-ERR unknown command '', with args beginning with: \r\n"),
    ("300-byte name", req("GET", "n" * 300), "reply",
     no_such("n" * 128, "sequence name must be 1..128 bytes long")),
    ("EXISTS 4095 names", req("EXISTS", *["a%d" % i for i in range(4095)]), "reply", b":0\r\n"),
    ("10,000 arguments multibulk", req("ECHO", *["a"] * 9999), "close", perr("invalid multibulk length")),
    ("10,000 arguments inline", b"ECHO" + b" a" * 9999 + b"\r\n", "close", perr("too many arguments")),
    ("over 1 MB", req("ECHO", *[b"v" * 65536] * 19), "close", perr("request too large")),
    ("NEXT x 1 1", req("NEXT", "x", "1", "1"), "reply",
     b"-ERR wrong number of arguments for 'next' command\r\n"),
]


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def healthy(s, watcher, what):
    """seqd lives, answers another client's PING within PING_WITHIN, and
    its memory stays bounded."""
    check(s.proc.poll() is None, "%s: seqd died (exit %r):\n%s" % (what, s.proc.poll(), s.log_tail()))
    t0 = time.monotonic()
    eq(watcher.command("PING"), "PONG", "%s: the other client's PING" % what)
    took = time.monotonic() - t0
    check(took < PING_WITHIN, "%s: the other client's PING took %.2f s" % (what, took))
    rss = rss_kb(s.proc.pid)
    check(rss < RSS_MAX_KB, "%s: seqd's VmRSS %d kB" % (what, rss))


def sender(sock, data):
    """Send data from a thread (a large input must not block the reader);
    the server may close first."""
    def run():
        try:
            sock.sendall(data)
        except OSError:
            pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def read_exactly(sock, n, within):
    """Up to n bytes, or fewer when the server closes first."""
    out = b""
    end = time.monotonic() + within
    while len(out) < n and time.monotonic() < end:
        sock.settimeout(max(0.05, end - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not chunk:
            break
        out += chunk
    return out


def closed_within(sock, within):
    """True when the server closes (EOF or reset) within `within` s and
    sends nothing more before."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        sock.settimeout(max(0.05, end - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        if not chunk:
            return True
        raise AssertionError("more bytes than expected: %r" % chunk[:100])
    return False


def run_row(s, watcher, name, data, kind, want):
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    try:
        t = sender(sock, data)
        if kind == "close-shut":
            t.join(10)
            sock.shutdown(socket.SHUT_WR)
        healthy(s, watcher, name)
        got = read_exactly(sock, len(want), 10.0)
        eq(got, want, "%s: reply" % name)
        if kind.startswith("close"):
            check(closed_within(sock, 5.0), "%s: the server closes the connection" % name)
        else:
            t.join(10)
            sock.sendall(b"PING\r\n")
            eq(read_exactly(sock, 7, 5.0), b"+PONG\r\n", "%s: the connection still works" % name)
        healthy(s, watcher, name + " (after)")
    finally:
        sock.close()


def info(c, section):
    return parse_info(c.command("INFO", section))


def test_hostile_rows():
    with Seqd(config={"store": {"type": "memory"}}) as s:
        watcher = Client(s.port)
        eq(watcher.command("HSET", "x", "type", "3"), 1)
        for name, data, kind, want in ROWS:
            run_row(s, watcher, name, data, kind, want)


def test_big_pipelines():
    with Seqd(config={"store": {"type": "memory"}}) as s:
        watcher = Client(s.port)
        eq(watcher.command("HSET", "x", "type", "3"), 1)
        n = 100000
        for what, one, reply_of in (
                ("100,000 PINGs", b"PING\r\n", lambda i: b"+PONG\r\n"),
                ("100,000 INCR x", req("INCR", "x"), lambda i: b":%d\r\n" % (i + 1))):
            sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            sender(sock, one * n)
            want = b"".join(reply_of(i) for i in range(n))
            got = b""
            deadline = time.monotonic() + 60
            next_check = 0
            while len(got) < len(want) and time.monotonic() < deadline:
                got += read_exactly(sock, len(want) - len(got), 1.0)
                if len(got) >= next_check:
                    healthy(s, watcher, what)
                    next_check += len(want) // 5
            eq(len(got), len(want), "%s: bytes of replies" % what)
            check(got == want, "%s: every reply in order" % what)
            sock.close()
            healthy(s, watcher, what + " (after)")


def test_half_close_still_answers():
    with Seqd(config={"store": {"type": "memory"}}) as s:
        watcher = Client(s.port)
        eq(watcher.command("HSET", "x", "type", "3"), 1)
        run_row(s, watcher, "PING, SHUT_WR", b"PING\r\n", "close-shut", b"+PONG\r\n")
        run_row(s, watcher, "INCR GET, SHUT_WR", req("INCR", "x") + req("GET", "x"), "close-shut",
                b":1\r\n$1\r\n2\r\n")


def test_client_that_never_reads_is_closed():
    with Seqd(config={"store": {"type": "memory"}, "output_limit_bytes": 65536,
                      "output_limit_seconds": 2}) as s:
        watcher = Client(s.port)
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stop = time.monotonic() + 30
        state = {"closed": False, "sent": 0}

        def flood():
            sock.settimeout(1.0)
            chunk = b"PING\r\n" * 10000
            while time.monotonic() < stop:
                try:
                    state["sent"] += sock.send(chunk)
                except socket.timeout:
                    continue
                except OSError:
                    state["closed"] = True
                    return
        t = threading.Thread(target=flood, daemon=True)
        t.start()

        def cut_off():
            healthy(s, watcher, "a client that never reads")
            return int(info(watcher, "stats")["total_output_limit_closes"]) >= 1
        wait_for(cut_off, 20, "the client that never reads is closed (total_output_limit_closes)",
                 interval=0.2)
        t.join(15)
        check(state["closed"], "the flooding client saw its connection closed")
        healthy(s, watcher, "after the flood")


def test_idle_clients_time_out():
    with Seqd(config={"store": {"type": "memory"}, "timeout": 2}) as s:
        watcher = Client(s.port)
        silent = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        half = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        half.sendall(b"*2\r\n$4\r\nECHO\r\n")
        t0 = time.monotonic()
        for _ in range(3):       # the watcher itself stays busy, so never idle
            healthy(s, watcher, "idle clients")
            time.sleep(0.5)
        check(closed_within(silent, 5.0), "a client that sends nothing is closed")
        check(closed_within(half, 5.0), "a client with half a request is closed")
        took = time.monotonic() - t0
        check(1.5 <= took < 6, "closed after about 2 s, not %.1f s" % took)
        eq(int(info(watcher, "stats")["total_idle_timeout_closes"]), 2, "total_idle_timeout_closes")
        silent.close()
        half.close()
    with Seqd(config={"store": {"type": "memory"}}) as s:
        watcher = Client(s.port)
        silent = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        check(not closed_within(silent, 3.0), "with timeout 0 an idle client stays")
        eq(int(info(watcher, "stats")["total_idle_timeout_closes"]), 0, "no idle closes")
        # A reload's timeout reaches the connections already open.
        s.config["timeout"] = 1
        s.write_config()
        s.signal(signal.SIGHUP)
        wait_log(s, "SIGHUP: configuration reloaded")
        healthy(s, watcher, "after the reload")
        watcher.sock.close()     # (it would be idle as long)
        check(closed_within(silent, 4.0), "an idle client made before the reload is closed by its timeout")
        eq(int(info(Client(s.port), "stats")["total_idle_timeout_closes"]), 1, "one idle close after the reload")
        silent.close()


def test_maxclients_under_a_flood():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    maxclients = 10000
    if hard != resource.RLIM_INFINITY and hard < maxclients + 300:
        maxclients = 200
        print("hard limit of open files is %d: 400 connections against maxclients 200" % hard)
    want = maxclients + 100
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    with Seqd(config={"store": {"type": "memory"}, "maxclients": maxclients}) as s:
        watcher = Client(s.port)
        wait_for(lambda: info(watcher, "clients")["connected_clients"] == "1", 10,
                 "only the watcher is connected")
        kept = []
        try:
            for _ in range(maxclients - 1):
                kept.append(socket.create_connection(("127.0.0.1", s.port), timeout=10))
            wait_for(lambda: info(watcher, "clients")["connected_clients"] == str(maxclients), 20,
                     "%d clients connected" % maxclients)
            healthy(s, watcher, "%d clients" % maxclients)
            refused = b"-ERR max number of clients reached\r\n"
            for i in range(maxclients):
                extra = socket.create_connection(("127.0.0.1", s.port), timeout=10)
                try:
                    eq(read_exactly(extra, len(refused), 5.0), refused, "connection %d past maxclients" % (i + 1))
                    check(closed_within(extra, 5.0), "connection %d past maxclients is closed" % (i + 1))
                finally:
                    extra.close()
                if i % 1000 == 0:
                    healthy(s, watcher, "past maxclients")
            eq(info(watcher, "stats")["rejected_connections"], str(maxclients), "rejected_connections")
            healthy(s, watcher, "after %d refused" % maxclients)
        finally:
            for k in kept:
                k.close()
        wait_for(lambda: info(watcher, "clients")["connected_clients"] == "1", 30, "the clients are gone")
        c = Client(s.port)
        eq(c.command("PING"), "PONG", "a new client once there is room")


def test_preauth_limits_as_redis():
    with Seqd(config={"store": {"type": "memory"}, "requirepass": "pw"}) as s:
        watcher = Client(s.port)
        eq(watcher.command("AUTH", "pw"), "OK")
        for name, data, kind, want in (
                ("before AUTH *11", b"*11\r\n", "close", perr("unauthenticated multibulk length")),
                ("before AUTH *99999999999", b"*99999999999\r\n", "close",
                 perr("unauthenticated multibulk length")),
                ("before AUTH $16385", b"*1\r\n$16385\r\n", "close", perr("unauthenticated bulk length")),
                ("before AUTH $-5", b"*1\r\n$-5\r\n", "close", perr("invalid bulk length")),
                ("before AUTH GET x", req("GET", "x"), "reply", b"-NOAUTH Authentication required.\r\n")):
            run_row(s, watcher, name, data, kind, want)


def test_every_command_with_every_wrong_arity():
    with Seqd(config={"store": {"type": "memory"}}) as s:
        watcher = Client(s.port)
        c = Client(s.port)
        table = c.command("COMMAND")
        check(len(table) >= 15, "COMMAND lists the command table (%d)" % len(table))
        tried = 0
        for entry in table:
            name, arity = entry[0], entry[1]
            wrong = [n for n in range(1, arity + 2) if n != arity] if arity > 0 else range(1, -arity)
            for argc in wrong:
                args = [name.upper()] + ["x"] * (argc - 1)
                eq(c.command(*args), "ERR wrong number of arguments for '%s' command" % name.lower(),
                   "%s with %d arguments (arity %d)" % (name, argc, arity))
                tried += 1
        check(tried >= 20, "%d wrong arities tried" % tried)
        eq(c.command("PING"), "PONG")
        healthy(s, watcher, "wrong arities")


if __name__ == "__main__":
    run_tests([
        test_hostile_rows,
        test_big_pipelines,
        test_half_close_still_answers,
        test_client_that_never_reads_is_closed,
        test_idle_clients_time_out,
        test_preauth_limits_as_redis,
        test_every_command_with_every_wrong_arity,
        test_maxclients_under_a_flood,
    ])
