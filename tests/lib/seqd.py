"""Start and stop a real seqd for integration tests; the shared harness.

Every server listens on 127.0.0.1 on a free port, with its own data dir
under a temporary directory, and is stopped when the test ends (atexit
too). The binary is $SEQD_BIN (set by `make check`), else src/seqd of the
source tree.

What else the tests share from here:

* Client (raw RESP), Getter (pipelined GETs, fast), info(port, section)
  and parse_info, cmd(port, ...), keys(port), get_with_retry: talking to
  a server; is_tryagain(reply).
* stop_all(nodes): stop every node still running (cleanup).
* proc_cpu_s(pid), proc_status_kb(pid, key): a process's CPU seconds and
  its VmRSS (or another kB field of /proc/PID/status), for benchmarks.
* wait_for(predicate, timeout, what): tests wait for a condition (an INFO
  field, a log line, a process exit), never for a fixed time; on timeout
  it raises WaitTimeout naming `what`. wait_info, wait_log, wait_exit and
  wait_rescans are the common conditions.
* Collector: a client thread that takes numbers under load and keeps every
  one (for the no-duplicate checks); join_collectors, error_replies,
  duplicates, first_descent and order_violations check what they got.
* Managed: `with` for a server object that has start() and close().
* tmpdir(prefix): a temporary directory that is removed when the test
  program ends, whether it passes or fails (atexit; SIGTERM is turned
  into a normal exit so that atexit runs). Every Seqd, and the private
  MariaDB of tests/lib/mariadb.py, keep their files in one.

Environment: SEQD_KEEP_TMP=1 keeps the temporary directories of the tests
that FAIL (and those made outside any test, by a program in which a test
failed), and prints where they are; everything else is removed. Without
it nothing is left behind.

SEQD_VALGRIND=1 runs every Seqd under valgrind's memcheck (a build
without ASan): one log per process (valgrind.<pid>.log in the server's
temporary directory), start and stop timeouts lengthened (VALGRIND_SLOW),
and a graceful stop() whose log reports errors or definitely lost memory
fails: stop() raises, and run_tests fails the test even when a cleanup
path swallowed that. A process killed with SIGKILL writes no summary and
is not checked.
"""
import atexit
import functools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from array import array

SRCDIR = os.environ.get("SEQD_SRCDIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _default_bin():
    """build/src/seqd of the checkout (contrib/run.sh's build), else src/seqd
    (a build in place): for the scripts of contrib/ run by hand."""
    built = os.path.join(SRCDIR, "build", "src", "seqd")
    return built if os.access(built, os.X_OK) else os.path.join(SRCDIR, "src", "seqd")


BIN = os.environ.get("SEQD_BIN") or _default_bin()

_running = []

VALGRIND = os.environ.get("SEQD_VALGRIND") == "1"
# How much longer a start or a stop may take under valgrind.
VALGRIND_SLOW = 6
# valgrind's exit code when it found errors (any other is seqd's own).
VALGRIND_ERROR_EXIT = 97
_valgrind_failures = []    # [(test name or None, report)] not yet reported by run_tests


# ---- waiting for conditions ---------------------------------------------------

class WaitTimeout(AssertionError):
    """A condition a test waited for did not come true in time."""


def wait_for(predicate, timeout, what, interval=0.01, ignore=(), detail=None):
    """Poll predicate() until it returns a true value; return that value.

    After `timeout` seconds raise WaitTimeout("not within T s: <what>"),
    with the last value predicate returned (or the last exception it raised
    of the kinds in `ignore`, say OSError while a server starts) and
    detail() (e.g. a log tail) when given. Any other exception from
    predicate propagates at once: a server that died fails the wait now,
    not at the deadline. The poll interval grows from `interval` to at most
    0.1 s, so short waits stay short and long ones stay cheap."""
    deadline = time.monotonic() + timeout
    last = None
    pause = interval
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except ignore as e:  # noqa: B030 - a tuple of exception classes
            last = e
        if time.monotonic() >= deadline:
            msg = "not within %.1f s: %s (last: %r)" % (timeout, what, last)
            if detail is not None:
                msg += "\n" + str(detail())
            raise WaitTimeout(msg)
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, 0.1)


def info(port, section=None):
    """INFO [section] of the server on port, as {key: value}; raises
    AssertionError with the reply when it is an error."""
    c = Client(port)
    try:
        text = c.command("INFO", section) if section else c.command("INFO")
    finally:
        c.close()
    if isinstance(text, RespError):
        raise AssertionError("INFO %s on port %d: %s" % (section or "", port, text))
    return parse_info(text)


def cmd(port, *args, timeout=10.0):
    """One command on a connection of its own; returns the reply."""
    c = Client(port, timeout=timeout)
    try:
        return c.command(*args)
    finally:
        c.close()


def keys(port):
    """The number of sequences a node knows (INFO keyspace)."""
    m = re.search(r"db0:keys=(\d+)", cmd(port, "INFO", "keyspace"))
    return int(m.group(1)) if m else 0


def get_with_retry(port, name, within):
    """GET name, retrying -TRYAGAIN and refused connects for `within` s.
    Returns the reply (an int on success)."""
    last = []

    def number():
        try:
            r = cmd(port, "GET", name)
        except OSError as e:
            r = e
        last.append(r)
        return isinstance(r, str) and not isinstance(r, RespError) and int(r)
    try:
        return wait_for(number, within, "GET %s on port %d" % (name, port), interval=0.05)
    except WaitTimeout:
        return last[-1] if last else None


def _port(server):
    return server.port if hasattr(server, "port") else server


def wait_info(server, section, field, pred, timeout=10.0, what=None):
    """Wait until pred(INFO section's field as a string) is true; return
    that value. server: a Seqd or a port. A missing field counts as None."""
    port = _port(server)
    seen = {}

    def ok():
        v = info(port, section).get(field)
        seen["v"] = v
        return v if v is not None and pred(v) else None
    return wait_for(ok, timeout, what or "INFO %s: %s" % (section, field),
                    detail=lambda: "%s was %r" % (field, seen.get("v")))


def wait_int(server, section, field, at_least, timeout=10.0, what=None):
    """Wait until the integer INFO field is >= at_least; return it."""
    return int(wait_info(server, section, field, lambda v: int(v) >= at_least, timeout,
                         what or "INFO %s: %s >= %d" % (section, field, at_least)))


def wait_log(server, text, count=1, timeout=10.0, since=0):
    """Wait until server's log (a Seqd, or a path) holds `text` at least
    `count` times after the first `since` characters."""
    if isinstance(server, str):
        def read():
            try:
                with open(server, "rb") as f:
                    return f.read().decode("utf-8", "replace")
            except OSError:
                return ""
    else:
        read = server.log
    return wait_for(lambda: read()[since:].count(text) >= count, timeout,
                    "%r %d time(s) in the log" % (text, count),
                    detail=lambda: "log tail:\n" + read()[-1500:])


def wait_exit(proc, timeout=15.0, what="the process exits"):
    """Wait until a Popen (or a pid of a child, or of any process) is gone;
    return its exit code (None for a pid that is not our child)."""
    if isinstance(proc, int):
        def gone():
            try:
                pid, status = os.waitpid(proc, os.WNOHANG)
                return (pid, status) if pid else None
            except ChildProcessError:             # not ours: /proc tells
                return ("gone",) if not _pid_alive(proc) else None
        r = wait_for(gone, timeout, what)
        return os.waitstatus_to_exitcode(r[1]) if len(r) == 2 else None
    wait_for(lambda: proc.poll() is not None, timeout, what)
    return proc.returncode


def _pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("State:"):
                    return "Z" not in line.split(":", 1)[1]
    except OSError:
        return False
    return True


def proc_cpu_s(pid):
    """CPU time a process has used so far, utime + stime of /proc/PID/stat
    (every thread), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # fields 14, 15 of stat(5)


def proc_status_kb(pid, key="VmRSS"):
    """A kB field of /proc/PID/status (VmRSS, VmHWM, ...); 0 when absent."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


RESCAN_FIELD = "store_rescans"


def rescans(server):
    """INFO store's store_rescans (completed rescans of a shared store), or
    None when the server does not report it."""
    v = info(_port(server), "store").get(RESCAN_FIELD)
    return None if v is None else int(v)


def wait_rescans(server, n=2, timeout=15.0):
    """Wait until the server has completed n more rescans of its shared
    store (store_rescans in INFO store) than when called. n=2 makes sure
    one whole rescan began after the caller's change (the one under way
    may have read the table before)."""
    start = rescans(server)
    if start is None:
        raise AssertionError("INFO store has no %s: not a shared store?" % RESCAN_FIELD)

    def done():
        now = rescans(server)
        return now if now is not None and now >= start + n else None
    return wait_for(done, timeout, "%d rescans after %d (INFO store: %s)" % (n, start, RESCAN_FIELD))


# ---- temporary directories ------------------------------------------------------

_tmpdirs = []              # [(path, test name or None)]
_current_test = None       # the test run_tests is running
_failed_tests = set()      # tests that failed; None stands for "the program"


def keep_tmp_requested():
    return os.environ.get("SEQD_KEEP_TMP") == "1"


def note_failure(test=None):
    """Record that a test (or, test None, the program) failed, for
    SEQD_KEEP_TMP=1."""
    _failed_tests.add(test)


def tmpdir(prefix="seqd-test-"):
    """A new temporary directory, removed when the program ends (see the
    module docstring for SEQD_KEEP_TMP)."""
    path = tempfile.mkdtemp(prefix=prefix)
    _tmpdirs.append((path, _current_test))
    return path


class Managed:
    """`with X() as x:` for a server object of the harness that has start()
    and close(): started on entry; closed on exit, a failure noted first
    (so that SEQD_KEEP_TMP=1 keeps its directory)."""

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, kind, value, tb):
        if kind is not None:
            note_failure(None)
        self.close()
        return False


def _keep(test):
    if not keep_tmp_requested() or not _failed_tests:
        return False
    return test in _failed_tests or test is None


def remove_tmpdirs():
    """Remove the directories tmpdir() made (keeping a failing test's with
    SEQD_KEEP_TMP=1). Called at exit; safe to call again."""
    while _tmpdirs:
        path, test = _tmpdirs.pop()
        if _keep(test):
            print("kept %s (%s failed, SEQD_KEEP_TMP=1)" % (path, test or "the program"),
                  file=sys.stderr, flush=True)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _excepthook(kind, value, tb):
    note_failure(None)
    _orig_excepthook(kind, value, tb)


_orig_excepthook = sys.excepthook
sys.excepthook = _excepthook


def exit_on_sigterm():
    """Turn SIGTERM (a harness' timeout, say) into a normal exit, so that
    atexit stops the servers and removes the temporary directories."""
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL):
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


exit_on_sigterm()


# ---- servers ----------------------------------------------------------------------

def preload_env(lib):
    """Environment that preloads lib (libfaketime) into a seqd. An ASan
    build insists on its runtime coming first in the library list; a
    preload comes before it, so its check is turned off (the preloaded
    library only wraps the clock)."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {"LD_PRELOAD": lib,
            "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0"}


def sanitized():
    """Whether the seqd under test is an AddressSanitizer build (it runs a
    few times slower: bounds on how soon something happens allow for it)."""
    try:
        with open(BIN, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def timing_bound(test):
    """Decorator for a test whose point is how soon something happens
    under load (a latency bound during a flood, a many-client run within
    segment.wait_ms): SEQD_VALGRIND=1 skips it, since valgrind slows seqd
    down tens of times and such a bound then says nothing."""
    if not VALGRIND:
        return test

    @functools.wraps(test)
    def skipped():
        raise Skip("timing-bound: not run under valgrind (SEQD_VALGRIND=1)")
    return skipped


def valgrind_argv(logdir):
    """The valgrind command line that wraps seqd in SEQD_VALGRIND=1 mode:
    memcheck, full leak check, definite leaks counted as errors, one log
    file per process (a daemon's fork gets its own)."""
    return ["valgrind", "--tool=memcheck", "--leak-check=full", "--show-leak-kinds=definite",
            "--errors-for-leak-kinds=definite", "--error-exitcode=%d" % VALGRIND_ERROR_EXIT,
            "--num-callers=30", "--log-file=" + os.path.join(logdir, "valgrind.%p.log")]


def valgrind_summary(path):
    """The valgrind log at path: None while it has no ERROR SUMMARY (the
    process still runs, or was killed); else (errors, text to show)."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    if m is None:
        return None
    # Each line starts "==pid== "; drop the prefix, keep the first errors.
    lines = [re.sub(r"^==\d+== ?", "", line) for line in text.splitlines()]
    return int(m.group(1)), "%s: %s errors\n%s" % (path, m.group(1), "\n".join("    " + line for line in lines[:150]))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listens_on(pid, port):
    """Whether process pid holds a TCP socket listening on port (Linux
    /proc): True or False, or None when /proc cannot tell."""
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return None
    inodes = set()
    for fd in fds:
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:["):-1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            return None
        for row in rows:
            col = row.split()
            # local address (hex ip:port), state 0A = LISTEN, inode
            if len(col) > 9 and col[3] == "0A" and int(col[1].rsplit(":", 1)[1], 16) == port \
                    and col[9] in inodes:
                return True
    return False


def wait_port(port, timeout=10.0, proc=None):
    """True once something accepts connections on port (with proc, a
    Popen: once proc itself listens there); False after timeout, or as
    soon as proc has exited. Another program's server on a port that
    free_port() also gave us is not taken for proc's: proc then fails to
    bind and exits, and its log says so."""
    def up():
        if proc is not None and proc.poll() is not None:
            return "exited"
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            pass
        if proc is not None and listens_on(proc.pid, port) is False:
            return None
        return "up"
    try:
        return wait_for(up, timeout, "port %d accepts connections" % port, ignore=(OSError,)) == "up"
    except WaitTimeout:
        return False


class Seqd:
    """One seqd process. config: dict merged over a test default config."""

    def __init__(self, config=None, store="file", datadir=None, port=None, extra_args=()):
        self.tmp = tmpdir("seqd-test-")
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
        self.env = None                 # the process's environment (None: this one's)
        self.proc = None
        self._valgrind_checked = set()  # SEQD_VALGRIND=1: the logs check_valgrind has read
        self.write_config()

    def write_config(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)

    def start(self, timeout=10.0, loaded=True):
        """Start and wait for the port. On a shared store the definitions
        load in the background after that: with loaded, also wait until
        they have (INFO store: store_loading:0), as tests expect a node
        that knows the table."""
        self._log = open(self.log_path, "ab")
        argv = [BIN, "-c", self.config_path] + self.extra_args
        if VALGRIND:
            if sanitized():
                raise RuntimeError("SEQD_VALGRIND=1 needs a seqd built without ASan (%s is one)" % BIN)
            argv = valgrind_argv(self.tmp) + argv
            timeout *= VALGRIND_SLOW
        self.proc = subprocess.Popen(argv, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        _running.append(self)
        if not wait_port(self.ready_port(), timeout, self.proc):
            raise RuntimeError("seqd did not start on port %d:\n%s" % (self.ready_port(), self.log()))
        if loaded and self.config.get("store", {}).get("type") == "mysql":
            wait_info(self, "store", "store_loading", lambda v: v == "0", timeout,
                      "node on port %d loaded the definitions" % self.port)
        return self

    def ready_port(self):
        """The port seqd opens last, once it serves: the plain one, or the
        TLS one when the plain one is off ("port": 0)."""
        if self.config.get("port") == 0:
            return self.config["tls"]["port"]
        return self.port

    def start_must_fail(self, within=10.0):
        """Start; seqd must exit within `within` seconds without serving (a
        refused start-up). Returns (exit code, seconds, log)."""
        t0 = time.monotonic()
        try:
            self.start(timeout=within)
        except RuntimeError:
            pass
        else:
            self.stop()
            raise AssertionError("seqd started although it must not")
        try:
            rc = self.proc.wait(max(0.1, within - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("seqd neither served nor exited within %.0f s (a hang)" % within)
        elapsed = time.monotonic() - t0
        self.kill()
        return rc, elapsed, self.log()

    def info(self, section=None):
        """INFO [section] as {key: value}."""
        return info(self.port, section)

    def log_tail(self, n=30):
        """The last n lines of the log, indented, for failure messages."""
        return "\n".join("    " + line for line in self.log().splitlines()[-n:]) or "    (empty log)"

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
        if VALGRIND:
            timeout *= VALGRIND_SLOW
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
        if VALGRIND:
            self.check_valgrind()
        return rc

    def check_valgrind(self):
        """SEQD_VALGRIND=1: raise AssertionError when a valgrind log of this
        server's processes (each checked once) reports errors or definite
        leaks; the failure is also kept for run_tests."""
        checked = self._valgrind_checked
        reports = []
        for name in sorted(os.listdir(self.tmp)):
            path = os.path.join(self.tmp, name)
            if not (name.startswith("valgrind.") and name.endswith(".log")) or path in checked:
                continue
            summary = valgrind_summary(path)
            if summary is None:
                continue                # no summary yet: a forked process still runs
            checked.add(path)
            if summary[0] > 0:
                reports.append(summary[1])
        if reports:
            text = "\n".join(reports)
            _valgrind_failures.append((_current_test, text))
            raise AssertionError("valgrind found errors in seqd on port %d:\n%s" % (self.port, text))

    def kill(self):
        """SIGKILL: a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc:
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


def stop_all(nodes, timeout=15.0):
    """Stop (SIGTERM) every node still running, killing one whose stop
    fails: cleanup goes on."""
    for node in nodes:
        try:
            if node.proc and node.proc.poll() is None:
                node.stop(timeout=timeout)
        except Exception:  # noqa: BLE001 - cleanup must go on
            node.kill()


def import_redis_py():
    """redis-py (Debian: python3-redis), or None. A python3 other than
    Debian's (pyenv, a venv) does not see Debian's python3-redis; it is
    pure Python, so its directory serves as well."""
    try:
        import redis
        return redis
    except ImportError:
        pass
    dist = "/usr/lib/python3/dist-packages"
    if os.path.isdir(os.path.join(dist, "redis")) and dist not in sys.path:
        sys.path.append(dist)
        try:
            import redis
            return redis
        except ImportError:
            sys.path.remove(dist)
    return None


def encode_command(*args):
    """One RESP request (a multibulk) of args: bytes as they are, anything
    else as its str()."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Client:
    """A raw RESP client over a socket, for exact protocol checks."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def command(self, *args):
        self.send(encode_command(*args))
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


def is_tryagain(reply):
    return isinstance(reply, RespError) and reply.startswith("TRYAGAIN")


class Collector(threading.Thread):
    """A client thread that takes numbers under load until told to stop and
    keeps every number it receives, for the no-duplicate checks.

        stop = threading.Event()
        cols = [Collector(ports, ["a", "b"], stop, start_at=i) for i in range(4)]
        for c in cols: c.start()
        ...; stop.set(); for c in cols: c.join(30)

    ports: one port, or a list (nodes) taken in turn, one connection each;
    start_at: the batch to begin with (spreads collectors over nodes and
    names). Each round trip sends `pipeline` commands (`cmd`, default GET)
    to one node, the names taken in turn from `names`. It ends when `stop`
    is set (an Event; col.stop if none is given) or at `deadline` (a
    time.monotonic() value).

    reconnect=True: a connection that breaks is counted and opened again
    (a connect that fails is counted and retried after a short pause);
    reconnect=False: the thread ends there (a server killed under it).
    pause: seconds to wait between round trips (0: as fast as it can);
    retry_pause: instead of pause after a round trip that got -TRYAGAIN.

    What it keeps (read it after join()):
      got[(conn, node, name)]: array of the numbers in the order received,
          conn a serial number of the connection, node the index in ports
      count, requests: numbers received, commands sent
      errors: [(time, node, name, reply)] every reply that is no number
          (RespError, None), -TRYAGAIN included; tryagain counts those
      losses: [(time, node, unanswered, reason)] connections that broke
          mid-round-trip; connect_failures: connects that failed
      last_number_at: time.monotonic() of the last number
      exc: an exception that ended the thread early (a bug, a garbled reply)
    """

    def __init__(self, ports, names, stop=None, pipeline=16, start_at=0, reconnect=True,
                 pause=0.0, retry_pause=None, deadline=None, timeout=10.0, cmd=b"GET"):
        super().__init__(daemon=True, name="collector-%d" % start_at)
        self.ports = list(ports) if isinstance(ports, (list, tuple)) else [ports]
        self.names = [names] if isinstance(names, str) else list(names)
        self.stop = stop if stop is not None else threading.Event()
        self.pipeline, self.start_at, self.reconnect = pipeline, start_at, reconnect
        self.pause = pause
        self.retry_pause = pause if retry_pause is None else retry_pause
        self.deadline, self.timeout, self.cmd = deadline, timeout, cmd
        self.got = {}
        self.count = 0
        self.requests = 0
        self.errors = []
        self.tryagain = 0
        self.losses = []
        self.connect_failures = 0
        self.last_number_at = 0.0
        self.exc = None

    def numbers(self, name=None):
        """Every number received (of one name), as one list."""
        out = []
        for (_, _, n), nums in self.got.items():
            if name is None or n == name:
                out.extend(nums)
        return out

    def _done(self):
        return self.stop.is_set() or (self.deadline is not None and time.monotonic() >= self.deadline)

    def run(self):
        try:
            self._run()
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.exc = e

    def _run(self):
        conns = [None] * len(self.ports)
        serial = 0
        r = self.start_at
        names = self.names
        try:
            while not self._done():
                k = r % len(self.ports)
                batch = [names[(r + j) % len(names)] for j in range(self.pipeline)]
                r += 1
                if conns[k] is None:
                    try:
                        conns[k] = (Getter(self.ports[k], timeout=self.timeout), serial)
                        serial += 1
                    except OSError:
                        self.connect_failures += 1
                        if not self.reconnect:
                            return
                        time.sleep(0.02)       # a pause before trying again, not a wait
                        continue
                g, cid = conns[k]
                out = []
                self.requests += len(batch)
                try:
                    g.gets(batch, out, self.cmd)
                except (OSError, ValueError) as e:
                    # ConnectionError, socket.timeout, a reply cut in half:
                    # what arrived before still counts.
                    self.losses.append((time.monotonic(), k, len(batch) - len(out), str(e)))
                    g.close()
                    conns[k] = None
                retry = False
                now = time.monotonic()
                for name, v in zip(batch, out):
                    if isinstance(v, int):
                        key = (cid, k, name)
                        nums = self.got.get(key)
                        if nums is None:
                            nums = self.got[key] = array("q")
                        nums.append(v)
                        self.count += 1
                        self.last_number_at = now
                    else:
                        self.errors.append((now, k, name, v))
                        if isinstance(v, RespError) and v.startswith("TRYAGAIN"):
                            self.tryagain += 1
                            retry = True
                if conns[k] is None and not self.reconnect:
                    return
                wait = self.retry_pause if retry else self.pause
                if wait:
                    time.sleep(wait)           # pacing of the load, not a wait for an event
        finally:
            for c in conns:
                if c:
                    c[0].close()


def collected(collectors):
    """How many numbers the collectors have received so far."""
    return sum(c.count for c in collectors)


def join_collectors(collectors, timeout=30.0):
    """Join collectors whose stop is set; fail if one hangs or ended on an
    exception."""
    for c in collectors:
        c.join(timeout)
    for c in collectors:
        assert not c.is_alive(), "a client hangs"
        assert c.exc is None, "client %d: %r" % (c.start_at, c.exc)


def error_replies(collectors, tryagain=True):
    """[(node, name, reply)]: every error reply the collectors received,
    without the -TRYAGAIN ones when tryagain is False."""
    return [(k, name, v) for c in collectors for _, k, name, v in c.errors
            if tryagain or not is_tryagain(v)]


def duplicates(nums):
    """The numbers nums holds more than once: each repeat, in order."""
    seen, twice = set(), []
    for v in nums:
        if v in seen:
            twice.append(v)
        seen.add(v)
    return twice


def first_descent(nums):
    """The first neighbours (a, b) of nums with a >= b (where they stop
    strictly increasing), or None."""
    return next(((a, b) for a, b in zip(nums, nums[1:]) if a >= b), None)


def order_violations(name, per_conn):
    """A line for each (node, numbers) of per_conn, the numbers of name
    one connection received, that does not strictly increase."""
    out = []
    for k, nums in per_conn:
        bad = first_descent(nums)
        if bad:
            out.append("%s: node %d gave %d then %d on one connection" % (name, k, bad[0], bad[1]))
    return out




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
    remove_tmpdirs()


atexit.register(_cleanup)


def run_tests(tests):
    """Run test functions in order; print 'N passed, N failed'; exit 0/1."""
    global _current_test
    passed = failed = skipped = 0
    for t in tests:
        name = t.__name__
        start = time.monotonic()
        _current_test = name
        try:
            t()
            # Under SEQD_VALGRIND=1 a stop whose error a cleanup path caught
            # (stop_all) still fails the test.
            found = [text for test, text in _valgrind_failures if test == name]
            if found:
                del _valgrind_failures[:]
                raise AssertionError("valgrind found errors in seqd:\n" + "\n".join(found))
        except Skip as e:
            skipped += 1
            print("SKIP %s: %s" % (name, e), flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure
            failed += 1
            note_failure(name)
            import traceback
            traceback.print_exc()
            print("FAIL %s: %s" % (name, e), flush=True)
        else:
            passed += 1
            print("PASS %s (%.1f s)" % (name, time.monotonic() - start), flush=True)
        finally:
            _current_test = None
            del _valgrind_failures[:]
    print("%d passed, %d failed%s" % (passed, failed, ", %d skipped" % skipped if skipped else ""))
    sys.exit(1 if failed else 0)
