#!/usr/bin/env python3
"""bench-dribble.py: what a request that arrives in small pieces costs.

Starts seqd (memory store, one worker) and Debian's redis-server (no
persistence), both on free loopback ports, and sends each of them the same
requests, each REQUESTS times, cut in PIECE-byte writes with TCP_NODELAY
and a pause of GAP_US microseconds after each write so that the server
reads them one by one (a slow or hostile client). Before and after each
server's run it reads the server's CPU seconds (utime + stime of
/proc/PID/stat) and prints, per shape of request, each server's CPU
seconds and the ratio seqd / Redis. The target is a ratio of at most 1.

The shapes (every request is answered with the same error by both, so
what is measured is reading and parsing, not a command):
  many-args   ECHO with 4095 arguments of 240 bytes: one request of about
              1 MB, seqd's limit of arguments (RESP_MAX_ARGS 4096) and of
              request size (CONN_MAX_REQUEST 1 MiB)
  big-args    ECHO with 15 arguments of 64 KB (RESP_MAX_BULK): about 1 MB
              in a few large arguments

Every server listens on 127.0.0.1 only; each request must be answered
within REPLY_TIMEOUT seconds and the whole run ends after MAX_S seconds
(it then says so); both servers are stopped and their temporary
directories removed on exit, also on Ctrl-C. Builds nothing: it runs
$SEQD_BIN, else build/src/seqd of this checkout, else src/seqd.

Usage: contrib/bench-dribble.py [--requests N] [--piece BYTES] [--gap-us US]
Environment (the options win): REQUESTS (default 3), PIECE (64),
GAP_US (50), MAX_S (600), SEQD_BIN, REDIS_SERVER (redis-server).
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
REPLY_TIMEOUT = 60.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def seqd_bin():
    if os.environ.get("SEQD_BIN"):
        return os.environ["SEQD_BIN"]
    for p in (os.path.join(TOP, "build", "src", "seqd"), os.path.join(TOP, "src", "seqd")):
        if os.access(p, os.X_OK):
            return p
    sys.exit("bench-dribble: no seqd binary (build first, or set SEQD_BIN)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def request(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


SHAPES = [
    ("many-args", request([b"ECHO"] + [b"%0240d" % i for i in range(4095)])),
    ("big-args", request([b"ECHO"] + [bytes([65 + i]) * 65536 for i in range(15)])),
]


def read_reply(sock, deadline):
    """One error or simple-string line (what every shape is answered)."""
    buf = b""
    while not buf.endswith(b"\r\n"):
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
    return buf


def dribble(port, data, piece, gap_s, deadline):
    """Send data in pieces, then read the reply. Returns the reply line."""
    with socket.create_connection(("127.0.0.1", port), timeout=REPLY_TIMEOUT) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for off in range(0, len(data), piece):
            if time.monotonic() > deadline:
                raise TimeoutError("time is up")
            s.sendall(data[off:off + piece])
            if gap_s > 0:
                # Busy-wait: sleep() is too coarse for tens of microseconds.
                until = time.perf_counter() + gap_s
                while time.perf_counter() < until:
                    pass
        return read_reply(s, time.monotonic() + REPLY_TIMEOUT)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=int(os.environ.get("REQUESTS", 3)))
    ap.add_argument("--piece", type=int, default=int(os.environ.get("PIECE", 64)))
    ap.add_argument("--gap-us", type=int, default=int(os.environ.get("GAP_US", 50)))
    ap.add_argument("--max-s", type=float, default=float(os.environ.get("MAX_S", 600)))
    opt = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="seqd-bench-dribble-")
    procs = []

    def cleanup(*_):
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        sport, rport = free_port(), free_port()
        cfg = os.path.join(tmp, "seqd.json")
        with open(cfg, "w") as f:
            json.dump({"bind": "127.0.0.1", "port": sport, "workers": 1,
                       "log": {"level": "warning"}, "store": {"type": "memory"}}, f)
        log = open(os.path.join(tmp, "seqd.log"), "wb")
        seqd = subprocess.Popen([seqd_bin(), "-c", cfg], stdout=log, stderr=subprocess.STDOUT)
        procs.append(seqd)
        redis = subprocess.Popen([os.environ.get("REDIS_SERVER", "redis-server"), "--bind", "127.0.0.1",
                                  "--port", str(rport), "--save", "", "--appendonly", "no",
                                  "--dir", tmp, "--daemonize", "no", "--loglevel", "warning"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(redis)
        for name, p, port in (("seqd", seqd, sport), ("redis-server", redis, rport)):
            if not wait_port(port, p):
                sys.exit("bench-dribble: %s did not start" % name)

        deadline = time.monotonic() + opt.max_s
        print("%d requests per shape and server, %d-byte pieces, %d us apart" %
              (opt.requests, opt.piece, opt.gap_us))
        print("| shape | bytes | pieces | seqd CPU s | Redis CPU s | seqd/Redis |")
        print("|---|---|---|---|---|---|")
        for shape, data in SHAPES:
            cpu = {}
            for name, p, port in (("seqd", seqd, sport), ("redis", redis, rport)):
                before = cpu_seconds(p.pid)
                for _ in range(opt.requests):
                    reply = dribble(port, data, opt.piece, opt.gap_us / 1e6, deadline)
                    if not reply.startswith(b"-ERR wrong number of arguments"):
                        sys.exit("bench-dribble: %s answered %r" % (name, reply[:100]))
                cpu[name] = cpu_seconds(p.pid) - before
            ratio = cpu["seqd"] / cpu["redis"] if cpu["redis"] > 0 else float("inf")
            print("| %s | %d | %d | %.2f | %.2f | %.2f |" % (
                shape, len(data), (len(data) + opt.piece - 1) // opt.piece,
                cpu["seqd"], cpu["redis"], ratio))
            sys.stdout.flush()
    except TimeoutError:
        print("bench-dribble: stopped after %.0f s (MAX_S)" % opt.max_s)
        return 1
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
