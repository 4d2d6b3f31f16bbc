#!/usr/bin/env python3
"""seqd's configuration and process life (DESIGN.md section 7, issue 2):
`-t` on good and bad files, command-line flags over the file, `-h`, `-v`,
`-d --pidfile`, start-up failures (port taken, data dir locked), and SIGHUP
reloads (log level, requirepass; a bad file keeps the old values).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import seqd as harness  # noqa: E402
from seqd import Client, RespError, Seqd, WaitTimeout, check, eq, free_port, run_tests, wait_for, wait_port  # noqa: E402

BIN = harness.BIN
SRCDIR = harness.SRCDIR


def tmpdir():
    """Removed at exit by the harness (tests/lib/seqd.py)."""
    return harness.tmpdir("seqd-cfg-test-")


def write_json(path, obj):
    with open(path, "w") as f:
        if isinstance(obj, str):
            f.write(obj)
        else:
            json.dump(obj, f, indent=2)
    return path


def good_config(d, port=None, **over):
    cfg = {"bind": "127.0.0.1", "port": port or free_port(), "workers": 1,
           "log": {"level": "notice"}, "store": {"type": "file", "dir": os.path.join(d, "data")}}
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k] = dict(cfg[k], **v)
        else:
            cfg[k] = v
    return cfg


def run(args, timeout=15):
    """Run seqd to completion (for -t, -h, -v and start-up failures)."""
    r = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_log(s, text, count=1, timeout=5.0):
    """True once text is in s's log (or the log file at path s) count
    times; False after timeout."""
    try:
        harness.wait_log(s, text, count, timeout)
        return True
    except WaitTimeout:
        return False


def pid_alive(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("State:"):
                    return "Z" not in line.split()[1]
    except OSError:
        return False
    return True


# ---- -t, -h, -v ----------------------------------------------------------------

def test_test_config_good():
    d = tmpdir()
    path = write_json(os.path.join(d, "good.json"), good_config(d))
    port = json.load(open(path))["port"]
    rc, out = run(["-t", "-c", path])
    eq(rc, 0, "seqd -t on a good file (%s)" % out)
    check(path in out and "OK" in out, "-t names the file and says OK: %r" % out)
    check(not port_open(port), "-t does not start a server")
    check(not os.path.exists(os.path.join(d, "data")), "-t does not create the data dir")
    rc, out = run(["-t", "-c", os.path.join(SRCDIR, "etc", "seqd.json")])
    eq(rc, 0, "the shipped etc/seqd.json passes -t (%s)" % out)
    rc, out = run(["--test-config", "-c", path])
    eq(rc, 0, "--test-config")


BAD_FILES = [
    # (name, file content, key (or None), words of the reason)
    ("unknown-key", {"port": 6380, "bogus": 1}, "bogus", ["unknown key"]),
    ("unknown-nested-key", {"log": {"lvl": "debug"}}, "log.lvl", ["unknown key"]),
    ("typo-hint", {"Port": 6380}, "Port", ["unknown key", "port"]),
    ("port-string", {"port": "6380"}, "port", ["expected an integer from 0 to 65535", '"6380"']),
    ("workers-bool", {"workers": True}, "workers", ["expected an integer", "true"]),
    ("port-70000", {"port": 70000}, "port", ["0 to 65535", "70000"]),
    ("port-0-no-tls", {"port": 0}, "port", ["turns the plain port off", "no tls.port"]),
    ("port-fraction", {"port": 6380.5}, "port", ["0 to 65535", "6380.5"]),
    ("tls-without-cert", {"tls": {"port": 6390}}, "tls.cert_file", ["must be set when tls.port is set"]),
    ("tls-without-ca", {"tls": {"port": 6390, "cert_file": "/c.pem", "key_file": "/k.pem"}}, "tls.ca_file",
     ["tls.auth_clients", '"yes"']),
    ("tls-protocols", {"tls": {"protocols": "SSLv3"}}, "tls.protocols", ['"TLSv1.2", "TLSv1.3"', "SSLv3"]),
    ("maxclients-0", {"maxclients": 0}, "maxclients", ["expected an integer"]),
    ("log-level", {"log": {"level": "loud"}}, "log.level", ["debug", "notice", "loud"]),
    ("log-not-object", {"log": "debug"}, "log", ["expected an object"]),
    ("store-type", {"store": {"type": "redis"}}, "store.type", ["file", "memory", "redis"]),
    ("segment-default-over-max", {"segment": {"max": 10, "default": 100}}, "segment.default", ["segment.max"]),
    ("bad-json-trailing-comma", '{"port": 6380,}', None, ["JSON syntax error", "line 1"]),
    ("bad-json-truncated", '{\n"port": 6380,\n"bind": ', None, ["JSON", "line 3"]),
    ("bad-json-garbage", "port = 6380\n", None, ["JSON syntax error"]),
    ("empty", "", None, ["empty"]),
    ("array", "[1, 2]", None, ["JSON object"]),
]


def test_test_config_bad_files():
    d = tmpdir()
    problems = []     # every bad case is tried; all problems are reported
    for name, content, key, words in BAD_FILES:
        path = write_json(os.path.join(d, name + ".json"), content)
        rc, out = run(["-t", "-c", path])
        if rc != 1:
            problems.append("%s: exit %d, want 1 (output %r)" % (name, rc, out))
        if path not in out:
            problems.append("%s: the message does not name the file: %r" % (name, out))
        if key is not None and "'%s'" % key not in out:
            problems.append("%s: the message does not name key '%s': %r" % (name, key, out))
        for w in words:
            if w not in out:
                problems.append("%s: the message does not say %r: %r" % (name, w, out))
        if out.count("\n") > 3:
            problems.append("%s: a long message: %r" % (name, out))
    check(not problems, "\n".join(problems))
    rc, out = run(["-t", "-c", os.path.join(d, "missing.json")])
    eq(rc, 1, "-t on a missing file")
    check("missing.json" in out and "No such file" in out, "missing file message: %r" % out)


def test_bad_file_stops_startup():
    d = tmpdir()
    for name, content in (("unknown", {"bogus": 1}), ("json", "{")):
        cfg = good_config(d)
        if isinstance(content, dict):
            cfg.update(content)
            content = cfg
        path = write_json(os.path.join(d, name + ".json"), content)
        rc, out = run(["-c", path], timeout=10)
        eq(rc, 1, "start-up with a bad file (%s): %r" % (name, out))
        check(path in out, "the message names the file: %r" % out)
        if isinstance(content, dict):
            check(not port_open(content["port"]), "nothing listens after a refused start")


def test_help_and_version():
    rc, out = run(["-v"])
    eq(rc, 0, "-v")
    eq(out.strip(), "seqd 0.1.0", "-v output")
    rc, out = run(["--version"])
    eq((rc, out.strip()), (0, "seqd 0.1.0"), "--version")
    rc, out = run(["-h"])
    eq(rc, 0, "-h")
    for flag in ("-c", "--port", "--bind", "--store", "--dir", "-d", "--pidfile", "-t", "-h", "-v"):
        check(flag in out, "-h mentions %s: %r" % (flag, out))
    rc, out = run(["--no-such-flag"])
    check(rc != 0 and "Usage" in out, "an unknown flag is refused with the usage: %r" % out)
    rc, out = run(["-t", "stray-argument"])
    check(rc != 0 and "stray-argument" in out, "a stray argument is refused: %r" % out)
    for bad in ("abc", "0", "70000"):
        rc, out = run(["-t", "--port", bad])
        check(rc == 1 and "--port" in out and bad in out, "--port %s: %r" % (bad, out))


# ---- flags over the file ---------------------------------------------------------

def test_flags_override_file():
    d = tmpdir()
    file_port, flag_port = free_port(), free_port()
    d1, d2 = os.path.join(d, "dir-file"), os.path.join(d, "dir-flag")
    s = Seqd(config={"port": file_port, "store": {"dir": d1}},
             port=flag_port, extra_args=["--port", str(flag_port), "--dir", d2])
    with s:
        c = Client(flag_port)
        eq(c.command("PING"), "PONG", "--port: serving on the flag's port")
        check(not port_open(file_port), "--port: not on the file's port")
        eq(c.command("CONFIG", "GET", "port"), ["port", str(flag_port)], "CONFIG GET port")
        eq(c.command("CONFIG", "GET", "store.dir"), ["store.dir", d2], "CONFIG GET store.dir")
        eq(c.command("HSET", "o", "type", "3"), 1)
        eq(c.command("GET", "o"), "1")
    check(os.path.isdir(d2) and os.listdir(d2), "--dir: the data went to the flag's dir")
    check(not os.path.exists(d1), "--dir: the file's dir is not used")
    # --bind: the file's address is not on this machine; the flag's is.
    bad_bind = Seqd(config={"bind": "192.0.2.1"})
    rc, out = run(["-c", bad_bind.config_path], timeout=10)
    check(rc != 0 and "192.0.2.1" in out, "the file's bind alone fails: rc %d %r" % (rc, out))
    bad_bind.extra_args = ["--bind", "127.0.0.1"]
    with bad_bind:
        eq(Client(bad_bind.port).command("PING"), "PONG", "--bind 127.0.0.1 overrides the file")
        eq(Client(bad_bind.port).command("CONFIG", "GET", "bind"), ["bind", "127.0.0.1"])
    # --store memory: nothing goes to the file's data dir.
    mem = Seqd(extra_args=["--store", "memory"])
    with mem:
        c = Client(mem.port)
        store = c.command("INFO", "store")
        check("store_type:memory" in store, "--store memory: %r" % store)
        eq(c.command("HSET", "m", "type", "3"), 1)
        eq(c.command("GET", "m"), "1")
    left = os.listdir(mem.datadir) if os.path.exists(mem.datadir) else []
    eq(left, [], "--store memory: files in the file store's data dir")
    with mem:
        eq(Client(mem.port).command("EXISTS", "m"), 0, "--store memory keeps nothing over a restart")
    # And the file store keeps it (the same config without the flag).
    mem.extra_args = []
    with mem:
        Client(mem.port).command("HSET", "m", "type", "3")
    with mem:
        eq(Client(mem.port).command("EXISTS", "m"), 1, "the file store keeps definitions")
    rc, out = run(["-t", "-c", mem.config_path, "--store", "bogus"])
    check(rc == 1 and "--store" in out and "bogus" in out, "--store bogus: %r" % out)


def test_flag_errors_name_the_flag():
    """A bad value given on the command line is the flag's, not the file's."""
    d = tmpdir()
    path = write_json(os.path.join(d, "seqd.json"), good_config(d))
    cases = [
        (["--store", "redis"], 'seqd: --store: expected one of "file", "memory", "mysql", got "redis"'),
        (["--bind", ""], "seqd: --bind: expected an IPv4 or IPv6 address"),
        (["--bind", "localhost"], "seqd: --bind: expected an IPv4 or IPv6 address"),
        (["--dir", ""], 'seqd: --dir: must not be empty when store.type is "file"'),
        (["--port", "x"], 'seqd: --port: expected an integer from 0 to 65535, got "x"'),
        (["--port", "0"], "seqd: --port: 0 turns the plain port off, and there is no tls.port"),
    ]
    for args, want in cases:
        for t in (["-t"], []):
            rc, out = run(t + ["-c", path] + args, timeout=10)
            eq(rc, 1, "%s %s: %r" % (t, args, out))
            check(out.startswith(want), "%s %s names the flag: %r" % (t, args, out))
            check(path not in out and "key '" not in out, "%s: not blamed on the file: %r" % (args, out))


def test_typos_get_the_nearest_key():
    d = tmpdir()
    cases = [
        ({"prot": 6380}, "unknown key 'prot' (did you mean 'port'?)"),
        ({"log": {"levle": "debug"}}, "unknown key 'log.levle' (did you mean 'log.level'?)"),
        ({"store": {"mysql": {"hots": "db"}}}, "unknown key 'store.mysql.hots' (did you mean 'store.mysql.host'?)"),
        ({"store.dir": "/x"}, """unknown key 'store.dir' (sections are nested objects: write {"store": {"dir": ...}})"""),
        ({"frobnicate": 1}, "unknown key 'frobnicate'\n"),
    ]
    for i, (content, want) in enumerate(cases):
        path = write_json(os.path.join(d, "typo%d.json" % i), content)
        rc, out = run(["-t", "-c", path])
        eq(rc, 1, "-t on %r" % content)
        check(("%s: %s" % (path, want)) in out, "%r: want %r, got %r" % (content, want, out))


def test_t_refuses_a_bind_that_startup_would_refuse():
    d = tmpdir()
    for bind in ("localhost", "127.0.0.1:6380", "[::1]", ""):
        path = write_json(os.path.join(d, "bind.json"), good_config(d, bind=bind))
        rc, out = run(["-t", "-c", path])
        eq(rc, 1, "-t with bind %r: %r" % (bind, out))
        check("key 'bind': expected an IPv4 or IPv6 address" in out and "not a host name" in out,
              "bind %r: the message says what is expected: %r" % (bind, out))
    for bind in ("127.0.0.1", "::1", "0.0.0.0"):
        path = write_json(os.path.join(d, "bind.json"), good_config(d, bind=bind))
        rc, out = run(["-t", "-c", path])
        eq(rc, 0, "-t with bind %r: %r" % (bind, out))


# ---- daemon, pidfile, start-up failures ----------------------------------------------

def test_daemonize_and_pidfile():
    d = tmpdir()
    pidfile = os.path.join(d, "seqd.pid")
    logfile = os.path.join(d, "seqd.log")
    cfg = good_config(d, log={"level": "notice", "file": logfile})
    path = write_json(os.path.join(d, "seqd.json"), cfg)
    t0 = time.monotonic()
    r = subprocess.run([BIN, "-c", path, "-d", "--pidfile", pidfile], capture_output=True, text=True,
                       timeout=15)
    eq(r.returncode, 0, "seqd -d exits 0 once the daemon serves (%r)" % (r.stdout + r.stderr))
    check(time.monotonic() - t0 < 10, "seqd -d returns promptly")
    pid = None
    try:
        check(os.path.exists(pidfile), "the pidfile exists when -d returns")
        with open(pidfile) as f:
            text = f.read()
        check(text.strip().isdigit(), "pidfile content %r" % text)
        pid = int(text)
        check(pid_alive(pid), "the pid in the pidfile is alive")
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            check(b"seqd" in f.read(), "the pid is seqd")
        check(os.getsid(pid) == pid, "the daemon leads its own session")
        check(wait_port(cfg["port"], 5), "the daemon serves")
        eq(Client(cfg["port"]).command("PING"), "PONG")
        check(wait_log_file(logfile, "ready"), "the daemon logs to log.file")
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not pid_alive(pid), 10, "SIGTERM stops the daemon")
        pid = None
        check(not os.path.exists(pidfile), "the pidfile is removed at exit")
        check(not port_open(cfg["port"]), "nothing listens after the stop")
    finally:
        if pid and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    # A daemon whose start fails makes `seqd -d` exit non-zero.
    holder = hold_a_port()
    cfg2 = good_config(d, port=holder.getsockname()[1], log={"file": logfile})
    cfg2["store"]["dir"] = os.path.join(d, "data2")
    path2 = write_json(os.path.join(d, "seqd2.json"), cfg2)
    r = subprocess.run([BIN, "-c", path2, "-d", "--pidfile", pidfile], capture_output=True, text=True,
                       timeout=15)
    holder.close()
    check(r.returncode != 0, "seqd -d with the port taken exits non-zero")
    check(not os.path.exists(pidfile), "no pidfile left by a failed daemon")


def wait_log_file(path, text, timeout=5.0):
    return wait_log(path, text, timeout=timeout)


def test_pidfile_without_daemon():
    d = tmpdir()
    pidfile = os.path.join(d, "fg.pid")
    s = Seqd(extra_args=["--pidfile", pidfile])
    with s:
        with open(pidfile) as f:
            eq(int(f.read()), s.proc.pid, "pidfile holds the pid")
    check(not os.path.exists(pidfile), "pidfile removed on SIGTERM")


def hold_a_port():
    """A socket listening on a free loopback port, so that seqd finds it taken."""
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    return holder


def test_port_taken():
    holder = hold_a_port()
    port = holder.getsockname()[1]
    try:
        s = Seqd(port=port)
        t0 = time.monotonic()
        rc, out = run(["-c", s.config_path], timeout=15)
        check(time.monotonic() - t0 < 10, "start-up fails promptly")
        check(rc != 0, "start-up with the port taken exits non-zero (%d)" % rc)
        check(("127.0.0.1:%d" % port) in out and "in use" in out.lower(),
              "the message says the address is in use: %r" % out)
    finally:
        holder.close()


def test_startup_errors_reach_stderr():
    """Before seqd serves, a warning goes to stderr too, whatever the log target."""
    d = tmpdir()
    holder = hold_a_port()
    taken = holder.getsockname()[1]
    try:
        logfile = os.path.join(d, "seqd.log")
        # Foreground, log.file set: the reason is on stderr as well as in the file.
        path = write_json(os.path.join(d, "fg.json"), good_config(d, port=taken, log={"file": logfile}))
        rc, out = run(["-c", path], timeout=15)
        check(rc == 1 and ("127.0.0.1:%d" % taken) in out and "in use" in out.lower(),
              "foreground with log.file: the reason on stderr: rc %d %r" % (rc, out))
        check(wait_log_file(logfile, "in use"), "and in the log file")
        # -d, log to syslog: the port is taken.
        cfg = good_config(d, port=taken)
        cfg["store"]["dir"] = os.path.join(d, "data-d")
        path = write_json(os.path.join(d, "d.json"), cfg)
        rc, out = run(["-c", path, "-d"], timeout=15)
        check(rc == 1 and ("127.0.0.1:%d" % taken) in out and "in use" in out.lower(),
              "-d with the port taken: the reason on stderr: rc %d %r" % (rc, out))
    finally:
        holder.close()
    # -d, log to syslog: the pidfile's directory is missing.
    pidfile = os.path.join(d, "no-such-dir", "seqd.pid")
    cfg = good_config(d)
    cfg["store"]["dir"] = os.path.join(d, "data-p")
    path = write_json(os.path.join(d, "p.json"), cfg)
    rc, out = run(["-c", path, "-d", "--pidfile", pidfile], timeout=15)
    check(rc == 1 and pidfile in out and "No such file" in out,
          "-d with a missing pidfile dir: the reason on stderr: rc %d %r" % (rc, out))
    check(not port_open(cfg["port"]), "nothing listens after the failed start")


def test_log_says_which_configuration():
    with Seqd() as s:
        check(wait_log(s, "configuration: %s" % s.config_path), "the log names the file: %s" % s.log_tail())
    d = tmpdir()
    port = free_port()
    cmd = [BIN, "--port", str(port), "--store", "memory"]
    if os.path.exists("/etc/seqd/seqd.json"):
        # Hide the installed file in a mount namespace of this seqd's own.
        if os.geteuid() != 0:
            raise harness.Skip("/etc/seqd/seqd.json exists and hiding it needs root")
        cmd = ["unshare", "-m", "sh", "-c", 'mount -t tmpfs none /etc/seqd && exec "$@"', "sh"] + cmd
    proc = subprocess.Popen(cmd, cwd=d, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        check(wait_port(port, 10, proc), "seqd starts without a file")
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=15)[0].decode()
    check("configuration: built-in defaults (no /etc/seqd/seqd.json)" in out,
          "the log says it runs on built-in defaults: %r" % out)


def test_data_dir_locked():
    with Seqd() as first:
        Client(first.port).command("HSET", "l", "type", "3")
        second = Seqd(datadir=first.datadir)
        rc, out = run(["-c", second.config_path], timeout=15)
        check(rc != 0, "a second seqd on the same data dir exits non-zero")
        check(first.datadir in out and "in use" in out and str(first.proc.pid) in out,
              "the message names the dir and the holder's pid: %r" % out)
        check(not port_open(second.port), "the second one does not listen")
        c = Client(first.port)
        eq(c.command("GET", "l"), "1", "the first one keeps serving")


# ---- SIGHUP ---------------------------------------------------------------------

def test_sighup_reload():
    old_pw, new_pw = "0ld-pa55", "n3w-Secr3t"
    s = Seqd(config={"requirepass": old_pw, "log": {"level": "notice"}})
    with s:
        kept = Client(s.port)
        eq(kept.command("AUTH", old_pw), "OK")
        eq(kept.command("HSET", "h", "type", "3"), 1)
        s.config["requirepass"] = new_pw
        s.config["log"] = {"level": "debug"}
        s.write_config()
        s.signal(signal.SIGHUP)
        check(wait_log(s, "configuration reloaded"), "reload logged:\n%s" % s.log()[-1500:])
        log = s.log()
        check("log.level notice->debug" in log and "requirepass changed" in log,
              "the reload says what changed: %r" % log[-600:])
        check(new_pw not in log and old_pw not in log, "passwords never reach the log")
        c = Client(s.port)
        eq(c.command("GET", "h"), "NOAUTH Authentication required.", "new connections need AUTH")
        eq(c.command("AUTH", old_pw), "WRONGPASS invalid username-password pair or user is disabled.",
           "the old password is refused after the reload")
        eq(c.command("AUTH", new_pw), "OK", "the new password works")
        eq(c.command("GET", "h"), "1")
        eq(kept.command("GET", "h"), "2", "a connection authenticated before stays authenticated")
        eq(c.command("CONFIG", "GET", "log.level"), ["log.level", "debug"])
        # Debug lines (connection state changes) now reach the log.
        before = s.log().count(" . ")
        Client(s.port).command("PING")
        check(wait_log(s, " . ", count=before + 1), "debug lines are logged after the reload")
        eq(s.cli("-a", new_pw, "GET", "h"), "3", "redis-cli -a with the new password")
        alive_pid = s.proc.pid
        eq(s.proc.poll(), None, "still running")
        eq(c.command("INFO", "server").count("process_id:%d" % alive_pid), 1, "same process")


def test_sighup_bad_file_keeps_old_values():
    pw = "keep-me"
    s = Seqd(config={"requirepass": pw, "log": {"level": "notice"}})
    with s:
        good = dict(s.config)
        bad_files = [
            ("syntax", "{ this is not json"),
            ("unknown key", dict(good, requirepass="other", bogus=1)),
            ("bad level", dict(good, requirepass="other", log={"level": "shouty"})),
            ("bad port", dict(good, requirepass="other", port=0)),
        ]
        for i, (what, content) in enumerate(bad_files):
            write_json(s.config_path, content)
            s.signal(signal.SIGHUP)
            check(wait_log(s, "reload failed", count=i + 1), "%s: the failed reload is logged:\n%s"
                  % (what, s.log()[-1000:]))
            last = [l for l in s.log().splitlines() if "reload failed" in l][-1]
            check(s.config_path in last and "keeping the old values" in last,
                  "%s: the log names the file and says the old values stay: %r" % (what, last))
            c = Client(s.port)
            eq(c.command("AUTH", "other"), "WRONGPASS invalid username-password pair or user is disabled.",
               "%s: the new password is not taken" % what)
            eq(c.command("AUTH", pw), "OK", "%s: the old password still works" % what)
            eq(c.command("CONFIG", "GET", "log.level"), ["log.level", "notice"], "%s: log level kept" % what)
            eq(s.proc.poll(), None, "%s: still running" % what)
        # A good file again, without requirepass: no AUTH needed any more.
        write_json(s.config_path, dict(good, requirepass=""))
        s.signal(signal.SIGHUP)
        check(wait_log(s, "configuration reloaded"), "the good reload is logged")
        c = Client(s.port)
        eq(c.command("HSET", "free", "type", "3"), 1, "no AUTH after requirepass is removed")


def test_sighup_does_not_move_the_port():
    s = Seqd()
    with s:
        old_port = s.port
        new_port = free_port()
        s.config["port"] = new_port
        s.write_config()
        s.signal(signal.SIGHUP)
        # Once the reload is done, the port has moved or it has not.
        check(wait_log(s, "SIGHUP: configuration reloaded"), "the reload is logged")
        eq(Client(old_port).command("PING"), "PONG", "still on the old port after SIGHUP")
        check(not port_open(new_port), "a port change needs a restart, not a SIGHUP")


# ---- CONFIG SET loglevel ----------------------------------------------------------

def test_config_set_loglevel_changes_the_level_in_force():
    """CONFIG SET loglevel changes the level at run time: debug lines appear,
    CONFIG GET (both names) shows the level in force, the change is logged
    with the client's address, a bad level and any other key are refused,
    and a later SIGHUP sets the file's level again (the last change wins)."""
    s = Seqd(config={"log": {"level": "notice"}})
    with s:
        c = Client(s.port)
        eq(c.command("CONFIG", "GET", "loglevel"), ["loglevel", "notice"], "Redis' name, before")
        # Connection state changes are debug lines (" . "): none at notice.
        Client(s.port).command("PING")
        check(" . " not in s.log(), "no debug lines at notice:\n%s" % s.log_tail())
        eq(c.command("CONFIG", "SET", "loglevel", "DEBUG"), "OK", "level names in any case")
        line = [l for l in s.log().splitlines() if "log level notice -> debug" in l]
        check(len(line) == 1 and "127.0.0.1:" in line[0] and "CONFIG SET" in line[0],
              "the change is logged with who made it: %r\n%s" % (line, s.log_tail()))
        eq(c.command("CONFIG", "GET", "loglevel"), ["loglevel", "debug"], "GET loglevel shows the level in force")
        eq(c.command("CONFIG", "GET", "log.level"), ["log.level", "debug"],
           "GET log.level shows the level in force, not the file's")
        Client(s.port).command("PING")
        check(wait_log(s, " . "), "debug lines appear after CONFIG SET loglevel debug")

        eq(c.command("CONFIG", "SET", "loglevel", "loud"),
           "ERR Invalid argument 'loud' for CONFIG SET 'loglevel' - use debug, verbose, notice or warning")
        eq(c.command("CONFIG", "SET", "loglevel", "debug\x00"),
           "ERR Invalid argument 'debug?' for CONFIG SET 'loglevel' - use debug, verbose, notice or warning",
           "a control byte is shown as '?' and refused")
        r = c.command("CONFIG", "SET", "port", "1")
        check(isinstance(r, RespError) and "'port' is not supported" in r and "SIGHUP" in r,
              "other keys: refused with how to change them: %r" % r)
        eq(c.command("CONFIG", "GET", "loglevel"), ["loglevel", "debug"], "refusals change nothing")

        eq(c.command("CONFIG", "SET", "log.level", "warning"), "OK", "seqd's own name works too")
        check(wait_log(s, "log level debug -> warning"), "a change towards quieter is logged too")
        eq(c.command("CONFIG", "SET", "loglevel", "verbose"), "OK")
        eq(c.command("CONFIG", "GET", "log*"), ["log.level", "verbose", "log.file", "", "loglevel", "verbose"])

        # SIGHUP applies the file's level (notice): the last change wins.
        s.signal(signal.SIGHUP)
        check(wait_log(s, "configuration reloaded: log.level verbose->notice"),
              "the reload sets the file's level and says so:\n%s" % s.log_tail())
        eq(c.command("CONFIG", "GET", "loglevel"), ["loglevel", "notice"], "after SIGHUP: the file's level")
        eq(c.command("CONFIG", "SET", "loglevel", "debug"), "OK", "and CONFIG SET after SIGHUP wins again")
        eq(c.command("CONFIG", "GET", "log.level"), ["log.level", "debug"])


def test_config_get_shows_the_level_the_http_door_set():
    """The HTTP door's FeatherID log level endpoint and CONFIG SET change one
    level: CONFIG GET shows what the HTTP door set, and CONFIG SET's log
    line starts from it."""
    http_port = free_port()
    s = Seqd(config={"log": {"level": "notice"}, "http": {"bind": "127.0.0.1", "port": http_port}})
    with s:
        url = "http://127.0.0.1:%d/api/v1/log/level?level=debug" % http_port
        with urllib.request.urlopen(url, timeout=10) as r:
            eq(r.status, 200, "GET /api/v1/log/level?level=debug")
        c = Client(s.port)
        eq(c.command("CONFIG", "GET", "loglevel"), ["loglevel", "debug"], "the level the HTTP door set")
        eq(c.command("CONFIG", "GET", "log.level"), ["log.level", "debug"])
        eq(c.command("CONFIG", "SET", "loglevel", "warning"), "OK")
        check(wait_log(s, "log level debug -> warning, set by CONFIG SET"),
              "CONFIG SET's line starts from the level in force:\n%s" % s.log_tail())


if __name__ == "__main__":
    run_tests([
        test_test_config_good,
        test_test_config_bad_files,
        test_bad_file_stops_startup,
        test_help_and_version,
        test_flags_override_file,
        test_flag_errors_name_the_flag,
        test_typos_get_the_nearest_key,
        test_t_refuses_a_bind_that_startup_would_refuse,
        test_log_says_which_configuration,
        test_daemonize_and_pidfile,
        test_pidfile_without_daemon,
        test_port_taken,
        test_startup_errors_reach_stderr,
        test_data_dir_locked,
        test_sighup_reload,
        test_sighup_bad_file_keeps_old_values,
        test_sighup_does_not_move_the_port,
        test_config_set_loglevel_changes_the_level_in_force,
        test_config_get_shows_the_level_the_http_door_set,
    ])
