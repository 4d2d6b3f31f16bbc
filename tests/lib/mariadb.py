"""A private MariaDB server for seqd's tests (Python 3, standard library only).

    from mariadb import MariaDB
    with MariaDB() as db:                 # install, start, create db + user, load schema
        db.sql("INSERT INTO seqd_segments (biz_tag, max_id, step) VALUES ('msg', 1, 10)")
        cfg = db.store_config()           # the "store" object for seqd.json
        db.stop(); db.start()             # graceful stop, start again (same data, same port)
        db.kill(); db.start()             # SIGKILL, then crash recovery
        db.freeze(); db.thaw()            # SIGSTOP / SIGCONT: a server that hangs

    MariaDB(server_args=[...], run_as="mysql", install=False)   # see __init__

The server runs from a data directory of its own in the temporary directory
(made by seqd.tmpdir: removed at exit, kept only for a failure with
SEQD_KEEP_TMP=1; keep=True keeps it always), on its own unix socket and a
free loopback port, with no option files read (--no-defaults), so
it neither touches nor depends on any system MariaDB. It works as root (it is
then told to run as root, or as run_as: its directory is then handed to that
user) or as any user. tests/lib/galera.py builds a Galera cluster of these.

When the server binaries are missing: with SEQD_ALLOW_SKIP=1 in the
environment the test exits 77 (automake's "skipped"); otherwise it fails
loudly, because CI must run these tests, never skip them.
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import seqd as harness  # tests/lib/seqd.py: wait_for, tmpdir

DEFAULT_PASSWORD = "seqd-test-pw"
SEARCH_DIRS = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin",
               "/usr/local/mysql/bin")
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30


class MariaDBMissing(Exception):
    """The MariaDB server binaries are not installed."""


def _find(names):
    """The first of names found in PATH or SEARCH_DIRS, or None."""
    path = os.environ.get("PATH", "").split(os.pathsep) + list(SEARCH_DIRS)
    for name in names:
        for d in path:
            p = os.path.join(d, name)
            if d and os.path.isfile(p) and os.access(p, os.X_OK):
                return p
    return None


def find_binaries():
    """(install_db, server, client) paths; raises MariaDBMissing."""
    found = (_find(("mariadb-install-db", "mysql_install_db")),
             _find(("mariadbd", "mysqld")),
             _find(("mariadb", "mysql")))
    if None in found:
        missing = [n for n, p in zip(("mariadb-install-db", "mariadbd", "mariadb"), found)
                   if p is None]
        raise MariaDBMissing(
            "MariaDB server binaries not found (%s): install them with "
            "`apt-get install mariadb-server mariadb-client`" % ", ".join(missing))
    return found


def skip_or_fail(message):
    """Exit 77 (skipped) when SEQD_ALLOW_SKIP=1, else fail loudly."""
    if os.environ.get("SEQD_ALLOW_SKIP") == "1":
        print("SKIP: " + message, file=sys.stderr)
        sys.exit(77)
    raise SystemExit("FAIL: " + message + " (set SEQD_ALLOW_SKIP=1 to skip instead)")


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def repo_root():
    return os.environ.get("SEQD_SRCDIR") or os.path.abspath(
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


class MariaDB(harness.Managed):
    """One private server. Attributes for clients: host, port, socket, user,
    password, database; root connects through the socket without a password."""

    def __init__(self, password=DEFAULT_PASSWORD, database="seqd", user="seqd",
                 schema=True, tmpdir=None, keep=False, server_args=(), run_as=None,
                 install=True, port=None):
        """server_args: more mariadbd options (after the harness' own, so
        they win). run_as: the system user the server runs as (root only;
        default: root when root, else whoever we are); the temporary
        directory is chowned to it. install=False: no mariadb-install-db
        and no database, user or schema: the server starts on an empty data
        directory that something else fills (a Galera joiner's SST)."""
        try:
            self.install_db, self.server, self.client = find_binaries()
        except MariaDBMissing as e:
            skip_or_fail(str(e))
        self.server_args = list(server_args)
        self.run_as = run_as or ("root" if self._as_root() else _whoami())
        if self.run_as != _whoami() and not self._as_root():
            raise RuntimeError("MariaDB(run_as=%r) needs root" % self.run_as)
        self.install = install
        self.password = password
        self.database = database
        self.user = user
        self.schema = schema
        self.keep = keep
        if tmpdir:
            self.tmp = tmpdir
        elif keep:
            self.tmp = tempfile.mkdtemp(prefix="seqd-mariadb-")
        else:
            self.tmp = harness.tmpdir("seqd-mariadb-")
        self.datadir = os.path.join(self.tmp, "data")
        self.socket = os.path.join(self.tmp, "mysqld.sock")
        self.pidfile = os.path.join(self.tmp, "mysqld.pid")
        self.logfile = os.path.join(self.tmp, "error.log")
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.proc = None
        self.installed = False
        self.start_seconds = None       # how long the last start() took
        self.start_timeout = START_TIMEOUT_S
        self._give_to_user(self.tmp)
        atexit.register(self._atexit)
        harness.exit_on_sigterm()

    # ---- lifecycle -------------------------------------------------------

    def close(self):
        """Stop the server and remove its directory (unless keep). With
        SEQD_KEEP_TMP=1 the harness decides at exit: kept only if a test
        failed."""
        self.stop()
        if not self.keep and not harness.keep_tmp_requested():
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _atexit(self):
        # Runs before the harness removes the directory (atexit is LIFO).
        # kill() also ends what the server started (even after it died).
        if self.proc is not None:
            self.kill()

    def _as_root(self):
        return os.geteuid() == 0

    def _give_to_user(self, path):
        """Make path (a directory of ours) the server user's."""
        if self._as_root() and self.run_as != "root":
            import pwd
            pw = pwd.getpwnam(self.run_as)
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def _install(self):
        if not self.install:
            # An empty data dir of the server's user, for something else to
            # fill (a Galera SST).
            os.makedirs(self.datadir, exist_ok=True)
            self._give_to_user(self.datadir)
            self.installed = True
            return
        cmd = [self.install_db, "--no-defaults", "--auth-root-authentication-method=normal",
               "--datadir=" + self.datadir, "--user=" + self.run_as, "--skip-test-db",
               "--skip-name-resolve",
               # Its own temporary tables too: bootstraps running side by
               # side (tests in parallel) in one /tmp can clash there.
               "--tmpdir=" + self.tmp]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("mariadb-install-db failed (exit %d):\n%s"
                               % (r.returncode, _tail(r.stdout, 40)))
        self.installed = True

    def start(self, extra_args=()):
        """Start the server (installing the data dir the first time) and wait
        until it accepts connections. Idempotent. extra_args: mariadbd
        options for this start only."""
        if self.proc is not None and self.proc.poll() is None:
            return
        t0 = time.monotonic()
        first = not self.installed
        if first:
            self._install()
        self.proc = subprocess.Popen(self.server_cmd(extra_args), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        self._wait_ready(t0)
        if first and self.install:
            self._setup()
        self.start_seconds = time.monotonic() - t0

    def server_cmd(self, extra=()):
        """The mariadbd command line (server_args and extra last)."""
        cmd = [self.server, "--no-defaults", "--datadir=" + self.datadir,
               "--socket=" + self.socket, "--port=%d" % self.port,
               "--bind-address=127.0.0.1", "--pid-file=" + self.pidfile,
               "--log-error=" + self.logfile, "--tmpdir=" + self.tmp,
               "--skip-log-bin", "--skip-name-resolve",
               "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M",
               "--max-connections=500"]
        if self._as_root():
            cmd.append("--user=" + self.run_as)
        return cmd + self.server_args + list(extra)

    def _wait_ready(self, t0):
        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("mariadbd exited with %s while starting; log:\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            return os.path.exists(self.socket) and self._ping()
        try:
            harness.wait_for(ready, max(0.0, t0 + self.start_timeout - time.monotonic()),
                             "mariadbd accepts connections", interval=0.02)
        except harness.WaitTimeout:
            self.kill()
            raise RuntimeError("mariadbd did not accept connections within %d s; log:\n%s"
                               % (self.start_timeout, self.log_tail()))

    def _ping(self):
        try:
            r = subprocess.run(self._client_cmd() + ["-e", "SELECT 1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=5)
            return r.returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def _setup(self):
        pw = self.password.replace("\\", "\\\\").replace("'", "\\'")
        stmts = ["CREATE DATABASE IF NOT EXISTS `%s`" % self.database]
        for host in ("127.0.0.1", "localhost"):
            stmts.append("CREATE USER IF NOT EXISTS '%s'@'%s' IDENTIFIED BY '%s'"
                         % (self.user, host, pw))
            stmts.append("GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'%s'"
                         % (self.database, self.user, host))
        self.sql(";\n".join(stmts) + ";", database="")
        if self.schema:
            self.load(os.path.join(repo_root(), "sql", "schema.sql"))

    def stop(self):
        """Shut down gracefully (SIGTERM; SIGKILL if it takes too long)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)   # in case it is frozen
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._kill_group()
        self.proc = None

    def kill(self):
        """SIGKILL: the server dies at once, as in a crash; so do the
        helpers it started (its process group: a Galera SST script and its
        rsync, say)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._kill_group()
        self.proc = None

    def _kill_group(self):
        """SIGKILL what is left of the server's process group (helpers it
        started); the server itself has been waited for."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)    # start_new_session: pgid = pid
        except (ProcessLookupError, PermissionError):
            pass

    def restart(self):
        """Stop (if running) and start again on the same data dir and port."""
        self.stop()
        self.start()

    def freeze(self):
        """SIGSTOP: connections stay open but nothing answers (a hung server).
        Returns once every thread of the server is stopped: a query sent
        after this call is not answered until thaw()."""
        self.proc.send_signal(signal.SIGSTOP)
        task_dir = "/proc/%d/task" % self.proc.pid

        def stopped():
            try:
                for tid in os.listdir(task_dir):
                    with open(os.path.join(task_dir, tid, "stat")) as f:
                        # state is the field after the parenthesised name
                        if f.read().rsplit(")", 1)[1].split()[0] not in ("T", "t"):
                            return False
            except FileNotFoundError:       # a thread ended while we looked
                return False
            return True
        deadline = time.monotonic() + 5
        while not stopped():
            if time.monotonic() > deadline:
                raise RuntimeError("MariaDB did not stop within 5 s of SIGSTOP")
            time.sleep(0.005)

    def thaw(self):
        self.proc.send_signal(signal.SIGCONT)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # ---- using it --------------------------------------------------------

    def _client_cmd(self, database=None):
        cmd = [self.client, "--no-defaults", "--socket=" + self.socket, "-uroot",
               "--batch", "--skip-column-names"]
        if database:
            cmd.append(database)
        return cmd

    def sql(self, text, database=None):
        """Run SQL text as root with the mariadb client; returns its output
        (tab-separated rows). database: default self.database, "" for none."""
        db = self.database if database is None else database
        r = subprocess.run(self._client_cmd(db), input=text, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("mariadb client failed (exit %d) on:\n%s\n%s"
                               % (r.returncode, text, r.stderr.strip()))
        return r.stdout

    def rows(self, text, database=None):
        """The result of one SELECT as a list of lists of strings."""
        out = self.sql(text, database)
        return [line.split("\t") for line in out.splitlines()]

    def load(self, path, database=None):
        with open(path) as f:
            return self.sql(f.read(), database)

    def store_config(self, table="seqd_segments", tcp=True, password=None, **extra):
        """The "store" object of a seqd.json that uses this server."""
        mysql = {"host": self.host, "port": self.port, "socket": "" if tcp else self.socket,
                 "user": self.user,
                 "password": self.password if password is None else password,
                 "database": self.database, "table": table}
        mysql.update(extra)
        return {"type": "mysql", "mysql": mysql}

    def log_tail(self, lines=30):
        try:
            with open(self.logfile, errors="replace") as f:
                return _tail(f.read(), lines)
        except OSError as e:
            return "(no log: %s)" % e


def _tail(text, lines):
    return "\n".join(text.splitlines()[-lines:])


def _whoami():
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name


if __name__ == "__main__":
    # Smoke test: python3 tests/lib/mariadb.py
    with MariaDB() as db:
        print("installed and started in %.2f s on port %d" % (db.start_seconds, db.port))
        print(db.sql("SHOW COLUMNS FROM seqd_segments"))
        t0 = time.monotonic()
        db.restart()
        print("stopped and started again in %.2f s" % (time.monotonic() - t0))
        t0 = time.monotonic()
        db.kill()
        db.start()
        print("killed and started again (crash recovery) in %.2f s" % (time.monotonic() - t0))
