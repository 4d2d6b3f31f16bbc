"""Start and stop a real seqd for integration tests.

Every server listens on 127.0.0.1 on a free port, with its own data dir
under a temporary directory, and is stopped when the test ends (atexit
too). The binary is $SEQD_BIN (set by `make check`), else src/seqd of the
source tree.
"""
import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRCDIR = os.environ.get("SEQD_SRCDIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("SEQD_BIN") or os.path.join(SRCDIR, "src", "seqd")

_running = []


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


class Seqd:
    """One seqd process. config: dict merged over a test default config."""

    def __init__(self, config=None, store="file", datadir=None, port=None, extra_args=()):
        self.tmp = tempfile.mkdtemp(prefix="seqd-test-")
        self.port = port or free_port()
        self.datadir = datadir or os.path.join(self.tmp, "data")
        cfg = {
            "bind": "127.0.0.1",
            "port": self.port,
            "workers": 2,
            "log": {"level": "verbose"},
            "store": {"type": store, "dir": self.datadir},
        }
        for key, value in (config or {}).items():
            if isinstance(value, dict) and isinstance(cfg.get(key), dict):
                cfg[key] = dict(cfg[key], **value)
            else:
                cfg[key] = value
        self.config = cfg
        self.config_path = os.path.join(self.tmp, "seqd.json")
        self.log_path = os.path.join(self.tmp, "seqd.log")
        self.extra_args = list(extra_args)
        self.proc = None
        self.write_config()

    def write_config(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)

    def start(self, timeout=10.0):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BIN, "-c", self.config_path] + self.extra_args,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        _running.append(self)
        if not wait_port(self.port, timeout, self.proc):
            raise RuntimeError("seqd did not start on port %d:\n%s" % (self.port, self.log()))
        return self

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, timeout=15.0):
        """SIGTERM and wait: a graceful stop. Returns the exit code."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise RuntimeError("seqd did not stop within %.0f s after SIGTERM" % timeout)
        finally:
            self._log.close()
            if self in _running:
                _running.remove(self)
        return rc

    def kill(self):
        """SIGKILL: a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        if self in _running:
            _running.remove(self)

    def cli(self, *args, timeout=10.0, check=False):
        """Run the real redis-cli against this server; returns stdout stripped."""
        r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port)] + [str(a) for a in args],
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("redis-cli %s failed: %s" % (args, r.stderr))
        return r.stdout.rstrip("\n")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.stop()


class Client:
    """A raw RESP client over a socket, for exact protocol checks."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def command(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.send(out)
        return self.read_reply()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_reply(self):
        """Parse one RESP2/RESP3 reply. Errors come back as RespError objects."""
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+",):
            return rest.decode()
        if t == b"-":
            return RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t in (b"$", b"="):
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode("utf-8", "replace")
        if t in (b"*", b"~"):
            n = int(rest)
            return None if n < 0 else [self.read_reply() for _ in range(n)]
        if t == b"%":
            n = int(rest)
            return {self.read_reply(): self.read_reply() for _ in range(n)}
        if t == b"_":
            return None
        raise ValueError("bad reply type %r" % line)

    def read_raw_reply(self):
        """The raw bytes of one RESP2/RESP3 reply, CRLFs and type bytes
        included (for exact checks such as `_\\r\\n` or CRLF line ends)."""
        line = self._line()
        out = line + b"\r\n"
        t, rest = line[:1], line[1:]
        if t in (b"$", b"=", b"!"):
            n = int(rest)
            if n >= 0:
                while len(self.buf) < n + 2:
                    self._fill()
                out += self.buf[:n + 2]
                self.buf = self.buf[n + 2:]
        elif t in (b"*", b"~", b">", b"%", b"|"):
            n = int(rest)
            if t in (b"%", b"|"):
                n *= 2
            for _ in range(max(n, 0)):
                out += self.read_raw_reply()
        return out

    def raw(self, data):
        """Send bytes as they are (an inline command, say) and return the
        raw bytes of the one reply they bring."""
        self.send(data)
        return self.read_raw_reply()

    def closed_by_server(self, timeout=3.0):
        """True when the server closes the connection (after any pending bytes)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


class Getter:
    """A raw connection for load tests: sends commands that answer with one
    number (GET, INCR) in pipelined batches and parses the replies fast.

        g = Getter(port)
        replies = []
        g.gets(["a", "b", "a"], replies)   # ints (or RespError) in order

    gets() appends each reply to `out` as soon as it is parsed, so when the
    connection breaks halfway (ConnectionError, socket.timeout) `out` still
    holds every number that was received before."""

    def __init__(self, port, timeout=10.0, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pos = 0
        self._cache = {}

    def _encode(self, cmd, name):
        key = (cmd, name)
        req = self._cache.get(key)
        if req is None:
            n = name.encode() if isinstance(name, str) else name
            req = b"*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(cmd), cmd, len(n), n)
            self._cache[key] = req
        return req

    def _fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf = self.buf[self.pos:] + chunk
        self.pos = 0

    def gets(self, names, out, cmd=b"GET"):
        """Send `cmd name` for each of names in one write, then append the
        replies to out: int for a bulk or integer reply, RespError for an
        error, None for a null. Returns out."""
        self.sock.sendall(b"".join(self._encode(cmd, n) for n in names))
        want = len(out) + len(names)
        while len(out) < want:
            buf, pos = self.buf, self.pos
            end = buf.find(b"\r\n", pos)
            if end < 0:
                self._fill()
                continue
            t = buf[pos]
            if t == 36:                             # $len\r\ndata\r\n
                n = int(buf[pos + 1:end])
                if n < 0:
                    out.append(None)
                    self.pos = end + 2
                    continue
                if len(buf) < end + 4 + n:
                    self._fill()
                    continue
                out.append(int(buf[end + 2:end + 2 + n]))
                self.pos = end + 4 + n
            elif t == 58:                           # :n
                out.append(int(buf[pos + 1:end]))
                self.pos = end + 2
            elif t == 45:                           # -ERR ...
                out.append(RespError(buf[pos + 1:end].decode("utf-8", "replace")))
                self.pos = end + 2
            else:
                raise ValueError("unexpected reply %r" % buf[pos:end + 2][:80])
        return out

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class RespError(str):
    pass


def eq(got, want, what=""):
    """Assert got == want, saying what differed."""
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what or "value", got, want))


def check(cond, what):
    """Assert cond, with `what` as the message."""
    if not cond:
        raise AssertionError(what)


def parse_info(text):
    """INFO text -> {key: value} (section headers and blank lines skipped)."""
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v.strip()
    return out


class Skip(Exception):
    """Raise in a test to report it as skipped (a missing optional tool, with
    SEQD_ALLOW_SKIP=1): run_tests counts it apart, not as a failure."""


def _cleanup():
    for s in list(_running):
        try:
            s.kill()
        except Exception:
            pass


atexit.register(_cleanup)


def run_tests(tests):
    """Run test functions in order; print 'N passed, N failed'; exit 0/1."""
    passed = failed = skipped = 0
    for t in tests:
        name = t.__name__
        start = time.monotonic()
        try:
            t()
        except Skip as e:
            skipped += 1
            print("SKIP %s: %s" % (name, e), flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure
            failed += 1
            import traceback
            traceback.print_exc()
            print("FAIL %s: %s" % (name, e), flush=True)
        else:
            passed += 1
            print("PASS %s (%.1f s)" % (name, time.monotonic() - start), flush=True)
    print("%d passed, %d failed%s" % (passed, failed, ", %d skipped" % skipped if skipped else ""))
    sys.exit(1 if failed else 0)
