#!/usr/bin/env python3
"""test_acl: users and roles (config "users"), Redis 6's conventions.

* AUTH user pass, AUTH pass (default), HELLO 3 AUTH user pass, with the
  real redis-cli (--user/--pass) too; Redis' exact errors: WRONGPASS and
  NOPERM ("User app has no permissions to run the 'hset' command").
* Per command, from one table: a reader runs what takes numbers and reads,
  an admin everything; PING works before AUTH; ACL WHOAMI, USERS, LIST
  (no secrets), CLIENT INFO's user=.
* HTTP Basic takes every user; an admin-only endpoint answers a reader 403
  with a JSON error.
* Failed authentications are counted in INFO (total_auth_failures) and
  logged with the client's address, at most one line a second with a
  count of those left out; the password and its hash appear nowhere: not
  in the log, INFO, CONFIG GET *, ACL LIST nor error texts.
* SIGHUP adds a user, changes a role (taken on the next command) and
  removes one (its connections are closed, as Redis does).
* seqd -t names the bad entry by its key path.

Environment: SEQD_BIN, SEQD_SRCDIR.
"""
import base64
import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from seqd import BIN, Client, RespError, Seqd, check, eq, free_port, parse_info, run_tests, wait_for, wait_log  # noqa: E402

ROOT_PW = "root-Pw-4711"
APP_PW = "app secret 1"
OPS_PW = "ops-Secret-2"
NEW_PW = "fresh-Pw-3"
SECRETS = (ROOT_PW, APP_PW, OPS_PW, NEW_PW)


def sha(pw):
    return hashlib.sha256(pw.encode()).hexdigest()


def all_secrets():
    """Every password and its hash, in both cases of hex."""
    out = []
    for pw in SECRETS:
        out += [pw, sha(pw), sha(pw).upper()]
    return out


def user(name, pw, role):
    return {"name": name, "password_sha256": sha(pw), "role": role}


def acl_server(users=None, **cfg):
    cfg = dict(cfg)
    cfg.setdefault("requirepass", ROOT_PW)
    cfg["users"] = users if users is not None else [user("app", APP_PW, "reader"), user("ops", OPS_PW, "admin")]
    cfg["http"] = {"bind": "127.0.0.1", "port": free_port()}
    return Seqd(config=cfg)


def login(s, name, pw):
    c = Client(s.port)
    eq(c.command("AUTH", name, pw), "OK", "AUTH %s" % name)
    return c


def no_secret_in(text, where):
    for secret in all_secrets():
        check(secret not in text, "a password or its hash appears in %s" % where)


def http_get(s, path, name=None, pw=None):
    conn = http.client.HTTPConnection("127.0.0.1", s.config["http"]["port"], timeout=10)
    headers = {}
    if name is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % (name, pw)).encode()).decode()
    try:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type"), r.read()
    finally:
        conn.close()


# What each role gets from each command: (command, reader may run it).
# An admin may run all of them.
COMMANDS = [
    (("GET", "acl_seq"), True),
    (("INCR", "acl_seq"), True),
    (("INCRBY", "acl_seq", "1"), True),
    (("MGET", "acl_seq", "acl_seq"), True),
    (("NEXT", "acl_seq", "2"), True),
    (("NEXTRANGE", "acl_seq", "2"), True),
    (("EXISTS", "acl_seq"), True),
    (("INFO", "server"), True),
    (("DECODE", "acl_seq", "1"), True),
    (("DBSIZE",), True),
    (("PING",), True),
    (("ECHO", "x"), True),
    (("SELECT", "0"), True),
    (("CLIENT", "GETNAME"), True),
    (("COMMAND", "COUNT"), True),
    (("ACL", "WHOAMI"), True),
    (("HSET", "acl_new", "type", "3"), False),
    (("DEL", "acl_gone"), False),
    (("CONFIG", "GET", "port"), False),
    (("CONFIG", "SET", "loglevel", "verbose"), False),
    (("ACL", "USERS"), False),
    (("ACL", "LIST"), False),
]


def noperm(name, cmd):
    sub = cmd[0].lower()
    if cmd[0] == "ACL":
        sub = "acl|" + cmd[1].lower()
    return "NOPERM User %s has no permissions to run the '%s' command" % (name, sub)


# ---- tests -----------------------------------------------------------------------


def test_auth_forms_and_exact_errors():
    with acl_server() as s:
        c = Client(s.port)
        eq(c.command("PING"), "PONG", "PING before AUTH (health checks)")
        eq(c.command("GET", "x"), RespError("NOAUTH Authentication required."), "GET before AUTH")
        wrong = RespError("WRONGPASS invalid username-password pair or user is disabled.")
        eq(c.command("AUTH", "app", "nope"), wrong, "wrong password")
        eq(c.command("AUTH", "nobody", APP_PW), wrong, "unknown user")
        eq(c.command("AUTH", "ops", APP_PW), wrong, "another user's password")
        eq(c.command("AUTH", "default", APP_PW), wrong, "default with a user's password")
        eq(c.command("AUTH", APP_PW), wrong, "a user's password as default's")
        eq(c.command("AUTH", "app", APP_PW), "OK", "AUTH app")
        eq(c.command("ACL", "WHOAMI"), "app", "WHOAMI after AUTH app")
        eq(c.command("AUTH", "app", "nope"), wrong, "a failed AUTH")
        eq(c.command("ACL", "WHOAMI"), "app", "a failed AUTH leaves the client as it was")
        eq(c.command("AUTH", ROOT_PW), "OK", "AUTH requirepass")
        eq(c.command("ACL", "WHOAMI"), "default", "WHOAMI after AUTH pass")
        eq(c.command("AUTH", "default", ROOT_PW), "OK", "AUTH default requirepass")
        check("user=default" in c.command("CLIENT", "INFO"), "CLIENT INFO shows user=default")
        c.close()
        c = Client(s.port)
        m = c.command("HELLO", "3", "AUTH", "ops", OPS_PW)
        check(isinstance(m, dict) and m.get("proto") == 3, "HELLO 3 AUTH ops: %r" % (m,))
        eq(c.command("ACL", "WHOAMI"), "ops", "WHOAMI after HELLO AUTH")
        check("user=ops" in c.command("CLIENT", "INFO"), "CLIENT INFO shows user=ops")
        c.close()
        c = Client(s.port)
        eq(c.command("HELLO", "3", "AUTH", "app", "bad"), wrong, "HELLO AUTH with a wrong password")
        eq(c.command("GET", "x"), RespError("NOAUTH Authentication required."), "still not authenticated")
        c.close()


def test_redis_cli_user_and_pass():
    with acl_server() as s:
        eq(s.cli("--user", "ops", "--pass", OPS_PW, "--no-auth-warning", "HSET", "cli_seq", "type", "3"), "1",
           "redis-cli as ops: HSET")
        eq(s.cli("--user", "app", "--pass", APP_PW, "--no-auth-warning", "GET", "cli_seq"), "1",
           "redis-cli as app: GET")
        out = s.cli("--user", "app", "--pass", APP_PW, "--no-auth-warning", "HSET", "cli_other", "type", "3")
        eq(out, "NOPERM User app has no permissions to run the 'hset' command", "redis-cli as app: HSET")
        out = s.cli("--user", "app", "--pass", "wrong", "--no-auth-warning", "GET", "cli_seq")
        check("WRONGPASS" in out or "NOAUTH" in out, "redis-cli with a wrong password: %r" % out)


def test_reader_and_admin_per_command():
    with acl_server() as s:
        ops = login(s, "ops", OPS_PW)
        eq(ops.command("HSET", "acl_seq", "type", "3"), 1, "ops defines a sequence")
        ops.command("HSET", "acl_gone", "type", "3")
        app = login(s, "app", APP_PW)
        for cmd, reader_ok in COMMANDS:
            got = app.command(*cmd)
            if reader_ok:
                check(not (isinstance(got, RespError) and got.startswith("NOPERM")),
                      "reader may run %s: %r" % (" ".join(cmd), got))
            else:
                eq(got, RespError(noperm("app", cmd)), "reader runs %s" % " ".join(cmd))
            got = ops.command(*cmd)
            check(not (isinstance(got, RespError) and got.startswith("NOPERM")),
                  "admin may run %s: %r" % (" ".join(cmd), got))
        # The arity is checked first, as Redis does.
        eq(app.command("HSET", "x"), RespError("ERR wrong number of arguments for 'hset' command"),
           "arity before permission")
        eq(ops.command("ACL", "USERS"), ["default", "app", "ops"], "ACL USERS")
        listed = ops.command("ACL", "LIST")
        eq(len(listed), 3, "ACL LIST: one line a user")
        check(listed[0].startswith("user default on") and "+@all" in listed[0], "ACL LIST default: %r" % listed[0])
        check(listed[1].startswith("user app on") and "-@all" in listed[1] and " +get" in listed[1]
              and "+hset" not in listed[1], "ACL LIST app: %r" % listed[1])
        no_secret_in("\n".join(listed), "ACL LIST")
        err = ops.command("ACL", "SETUSER", "x")
        check(isinstance(err, RespError) and "config file" in err, "ACL SETUSER: %r" % err)
        app.close()
        ops.close()


def test_http_basic_users_and_403():
    with acl_server() as s:
        s_, ctype, body = http_get(s, "/api/v1/id?biz_tag=h")
        eq(s_, 401, "no credentials")
        s_, ctype, body = http_get(s, "/api/v1/id?biz_tag=h", "app", "wrong")
        eq(s_, 401, "a wrong password")
        no_secret_in(body.decode(), "a 401 body")
        login(s, "ops", OPS_PW).command("HSET", "h", "type", "3")
        for name, pw in (("app", APP_PW), ("ops", OPS_PW), ("default", ROOT_PW)):
            s_, ctype, body = http_get(s, "/api/v1/id?biz_tag=h", name, pw)
            eq(s_, 200, "GET /api/v1/id as %s: %r" % (name, body))
            s_, _, _ = http_get(s, "/", name, pw)
            eq(s_, 200, "the status page as %s" % name)
        s_, ctype, body = http_get(s, "/api/v1/log/level?level=debug", "app", APP_PW)
        eq(s_, 403, "a reader changes the log level")
        eq(ctype, "application/json", "403 is JSON")
        check("app" in json.loads(body)["message"], "403 says who: %r" % body)
        for name, pw in (("ops", OPS_PW), ("default", ROOT_PW)):
            s_, _, body = http_get(s, "/api/v1/log/level?level=verbose", name, pw)
            eq(s_, 200, "an admin changes the log level as %s: %r" % (name, body))
        s_, _, _ = http_get(s, "/health")
        eq(s_, 200, "/health needs no credentials")


def test_failures_counted_logged_rate_limited_no_secrets():
    with acl_server() as s:
        ops = login(s, "ops", OPS_PW)
        before = int(parse_info(ops.command("INFO", "stats"))["total_auth_failures"])
        c = Client(s.port)
        port = c.sock.getsockname()[1]
        for _ in range(5):
            c.command("AUTH", "app", OPS_PW)
        c.command("AUTH", NEW_PW)                       # a password as the only argument
        c.command("AUTH", APP_PW, ROOT_PW)              # a password in the user field
        http_get(s, "/api/v1/id?biz_tag=h", "ops", APP_PW)
        stats = parse_info(ops.command("INFO", "stats"))
        eq(int(stats["total_auth_failures"]) - before, 8, "failures counted (RESP and HTTP)")
        wait_log(s, "client 127.0.0.1:%d: authentication failed for user app" % port)
        log = s.log()
        eq(log.count("authentication failed"), 1, "one line for a burst within a second:\n" + log[-1500:])

        # Past the second, the next failure is logged with the count of those left out.
        def logged_again():
            c.command("AUTH", "ops", "bad")
            return s.log().count("authentication failed") >= 2
        wait_for(logged_again, 10, "a second failure line after a second")
        check("not logged since the last such line" in s.log(), "the count of those left out:\n" + s.log()[-1500:])
        c.close()
        # Nothing shows a password or a hash.
        ops.command("CONFIG", "SET", "loglevel", "debug")
        app = login(s, "app", APP_PW)
        app.command("HSET", "x", "type", "3")
        info = ops.command("INFO", "all")
        no_secret_in(info, "INFO all")
        config = ops.command("CONFIG", "GET", "*")
        no_secret_in("\n".join(config), "CONFIG GET *")
        check(config[config.index("requirepass") + 1] == "********", "CONFIG GET masks requirepass")
        s.config["users"].append(user("new", NEW_PW, "reader"))
        s.write_config()
        s.signal(signal.SIGHUP)
        wait_log(s, "user new added")
        ops.close()
        app.close()
    no_secret_in(s.log(), "the log")


def test_sighup_adds_removes_and_changes_role():
    with acl_server() as s:
        ops = login(s, "ops", OPS_PW)
        ops.command("HSET", "r", "type", "3")
        app = login(s, "app", APP_PW)
        ops2 = login(s, "ops", OPS_PW)
        eq(app.command("HSET", "r2", "type", "3"), RespError(noperm("app", ("HSET",))), "app is a reader")
        # app becomes an admin, ops is removed, new is added.
        s.config["users"] = [user("app", APP_PW, "admin"), user("new", NEW_PW, "reader")]
        s.write_config()
        s.signal(signal.SIGHUP)
        wait_log(s, "SIGHUP: configuration reloaded")
        log = s.log()
        check("user ops removed" in log and "user app role reader->admin" in log and "user new added" in log,
              "the reload says what changed:\n" + log[-1500:])
        eq(app.command("HSET", "r2", "type", "3"), 1, "app's new role on its next command")
        eq(Client(s.port).command("AUTH", "ops", OPS_PW),
           RespError("WRONGPASS invalid username-password pair or user is disabled."), "ops is gone")
        # Closed by the reload itself, before it sends anything (Redis
        # closes them at ACL DELUSER), not at its next command.
        ops2.sock.settimeout(5)
        try:
            got = ops2.sock.recv(100)
        except OSError as e:
            got = repr(e)
        eq(got, b"", "a connection of a removed user is closed by the reload, without a command")
        new = login(s, "new", NEW_PW)
        eq(new.command("GET", "r"), "1", "the added user")
        eq(new.command("DEL", "r"), RespError(noperm("new", ("DEL",))), "the added user is a reader")
        # A bad file keeps the users in force.
        s.config["users"] = [user("default", NEW_PW, "admin")]
        s.write_config()
        s.signal(signal.SIGHUP)
        wait_log(s, "SIGHUP: reload failed")
        eq(new.command("ACL", "WHOAMI"), "new", "the old users stay after a bad reload")
        app.close()
        new.close()
        ops.close()


def test_users_without_requirepass_like_redis():
    """Without requirepass every client is the default user (an admin), as
    in Redis; AUTH app still makes it a reader. seqd warns at start-up."""
    with acl_server(requirepass="") as s:
        c = Client(s.port)
        eq(c.command("ACL", "WHOAMI"), "default", "no AUTH: default")
        eq(c.command("HSET", "w", "type", "3"), 1, "default is an admin")
        eq(c.command("AUTH", "app", APP_PW), "OK", "AUTH app without requirepass")
        eq(c.command("DEL", "w"), RespError(noperm("app", ("DEL",))), "then a reader")
        c.close()
        check("requirepass is empty" in s.log(), "the start-up warning")


def run_t(cfg):
    d = Seqd(config=cfg)
    r = subprocess.run([BIN, "-t", "-c", d.config_path], capture_output=True, text=True, timeout=10)
    return r.returncode, r.stdout + r.stderr


def test_config_check_names_the_bad_entry():
    good = user("app", APP_PW, "reader")
    cases = [
        ([dict(good, name="bad name")], "users[0].name"),
        ([dict(good, name="")], "users[0].name"),
        ([dict(good, name="default")], "users[0].name': \"default\" is the user of requirepass"),
        ([good, dict(good, role="admin")], "users[1].name': \"app\" is users[0]'s name too"),
        ([dict(good, password_sha256=sha(APP_PW)[:63])], "users[0].password_sha256': expected 64 hex digits"),
        ([dict(good, password_sha256=sha(APP_PW)[:63] + "g")], "users[0].password_sha256'"),
        ([dict(good, role="root")], "users[0].role': expected one of \"reader\", \"admin\", got \"root\""),
        ([{"name": "x", "role": "reader"}], "users[0]': \"password_sha256\" is missing"),
        ([dict(good, extra=1)], "unknown key 'users[0].extra'"),
        ({"name": "app"}, "key 'users': expected an array"),
    ]
    for users, want in cases:
        rc, out = run_t({"users": users})
        check(rc != 0 and want in out, "seqd -t with users %r: rc %d, %r" % (users, rc, out))
        no_secret_in(out, "a -t message")
    rc, out = run_t({"users": [good, user("ops", OPS_PW, "admin")], "requirepass": ROOT_PW})
    eq(rc, 0, "seqd -t on good users: %s" % out)


if __name__ == "__main__":
    run_tests([
        test_auth_forms_and_exact_errors,
        test_redis_cli_user_and_pass,
        test_reader_and_admin_per_command,
        test_http_basic_users_and_403,
        test_failures_counted_logged_rate_limited_no_secrets,
        test_sighup_adds_removes_and_changes_role,
        test_users_without_requirepass_like_redis,
        test_config_check_names_the_bad_entry,
    ])
