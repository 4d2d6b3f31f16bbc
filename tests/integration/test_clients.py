#!/usr/bin/env python3
"""test_clients: real Redis client libraries, unchanged, against seqd.

* redis-py (Debian: python3-redis) with protocol=2, and protocol=3 when the
  installed redis-py has it (5.0+; Debian 12 ships 4.3.4, RESP2 only):
  connect with client_name, PING, SELECT 0, HSET, GET, INCR, MGET, a
  non-transactional pipeline, NEXT, an error reply, EXISTS, INFO parsed by
  redis-py, and AUTH through password= against a server with requirepass.
* hiredis (Debian: libhiredis-dev): tests/integration/hiredis_client.c is
  compiled now with gcc -lhiredis and run: SELECT 0, HSET, GET, MGET, INCR,
  pipelined GETs with redisAppendCommand.
* node-redis 4, 5 and 6 (npm packages redis@4, redis@5, redis@6), installed
  with `npm install --no-audit --no-fund` into a cache dir when not there
  yet: $SEQD_NODE_CACHE, else tests/.node_cache in the source tree when it
  is writable, else ~/.cache/seqd-node. A small script per version:
  createClient({socket: {host, port}}), connect, sendCommand(['HSET', ...]),
  get, incr, mGet, auto-pipelined gets, NEXT, an error reply, quit.
  node-redis 6 opens with HELLO 3 and never falls back; 4 and 5 use RESP2
  unless told (5 is also run with RESP: 3, 6 also with RESP: 2); which
  protocol the connection speaks is checked with CLIENT INFO.

A missing library or tool (python3-redis, libhiredis-dev, nodejs/npm, or no
network for npm) is a failure that says what to install, unless
SEQD_ALLOW_SKIP=1: then that part is reported as skipped.

Environment: SEQD_BIN, SEQD_SRCDIR, SEQD_NODE_CACHE, SEQD_ALLOW_SKIP.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from seqd import SRCDIR, Seqd, Skip, import_redis_py, run_tests  # noqa: E402

ALLOW_SKIP = os.environ.get("SEQD_ALLOW_SKIP") == "1"
NODE_VERSIONS = ("4", "5", "6")

_server = None


def server():
    """One seqd (file store) shared by the tests of this file."""
    global _server
    if _server is None:
        _server = Seqd().start()
    return _server


def missing(what):
    """A required tool or library is not there: fail, or skip if allowed."""
    if ALLOW_SKIP:
        raise Skip(what)
    raise AssertionError(what + " (or set SEQD_ALLOW_SKIP=1 to skip this part)")


# ---- redis-py ------------------------------------------------------------

def import_redis():
    redis = import_redis_py()
    if redis is None:
        missing("redis-py is not installed: apt-get install python3-redis")
    return redis


def redis_py_supports_resp3(redis):
    import inspect
    return "protocol" in inspect.signature(redis.Redis.__init__).parameters


def redis_py_session(protocol):
    redis = import_redis()
    kwargs = {}
    if redis_py_supports_resp3(redis):
        kwargs["protocol"] = protocol
    elif protocol != 2:
        raise Skip("redis-py %s has no protocol=3 (RESP3 needs redis-py 5.0 or later)" % redis.__version__)
    s = server()
    name = "py%d" % protocol
    r = redis.Redis(host="127.0.0.1", port=s.port, client_name="seqd-test-py", socket_timeout=10,
                    decode_responses=True, **kwargs)
    assert r.ping() is True
    assert r.execute_command("SELECT", 0) in (True, "OK")
    assert r.client_getname() == "seqd-test-py", "CLIENT SETNAME from client_name= did not stick"
    assert r.execute_command("HSET", name, "type", "3", "starting", "1000") == 1
    assert r.get(name) == "1000"
    assert r.execute_command("INCR", name) == 1001
    assert r.mget([name, name]) == ["1002", "1003"]
    p = r.pipeline(transaction=False)
    for _ in range(50):
        p.get(name)
    assert p.execute() == [str(i) for i in range(1004, 1054)]
    assert list(r.execute_command("NEXT", name, 3)) == ["1054", "1055", "1056"]
    try:
        r.get("no_such_" + name)
    except redis.exceptions.ResponseError as e:
        assert "no such sequence" in str(e), str(e)
    else:
        raise AssertionError("GET of a missing name raised nothing")
    assert r.get(name) == "1057", "the connection broke after an error reply"
    assert r.exists(name) == 1
    info = r.info()
    assert isinstance(info, dict) and info, "redis-py could not parse INFO: %r" % info
    seqinfo = r.info(name)
    assert seqinfo.get("kind") == "increasing" and str(seqinfo.get("current")) == "1057", \
        "INFO %s as parsed by redis-py: %r" % (name, seqinfo)
    # redis-py's incr() sends INCRBY name 1, whatever the amount: an app
    # that used Redis INCR through redis-py sends exactly this.
    assert r.incr(name) == 1058, "r.incr() (INCRBY name 1)"
    hello = r.execute_command("HELLO", protocol)
    if isinstance(hello, list):
        hello = dict(zip(hello[::2], hello[1::2]))
    assert int(hello["proto"]) == protocol, hello
    r.close()
    print("  redis-py %s, protocol %d: ok" % (redis.__version__, protocol))


def test_redis_py_resp2():
    redis_py_session(2)


def test_redis_py_resp3():
    redis_py_session(3)


def test_redis_py_with_password():
    """requirepass: redis-py's password= sends AUTH on connect; without it
    commands get NOAUTH."""
    redis = import_redis()
    s = Seqd(config={"requirepass": "s3cret pass"}).start()
    try:
        bad = redis.Redis(host="127.0.0.1", port=s.port, socket_timeout=10)
        try:
            bad.get("x")
        except redis.exceptions.AuthenticationError as e:
            assert "Authentication required" in str(e), str(e)
        except redis.exceptions.ResponseError as e:
            assert "NOAUTH" in str(e), str(e)
        else:
            raise AssertionError("GET without AUTH was answered")
        bad.close()
        r = redis.Redis(host="127.0.0.1", port=s.port, password="s3cret pass", socket_timeout=10,
                        decode_responses=True)
        assert r.execute_command("HSET", "pw", "type", "3") == 1
        assert r.get("pw") == "1"
        r.close()
        wrong = redis.Redis(host="127.0.0.1", port=s.port, password="nope", socket_timeout=10)
        try:
            wrong.ping()
        except (redis.exceptions.AuthenticationError, redis.exceptions.ResponseError) as e:
            assert "invalid username-password pair" in str(e), str(e)
        else:
            raise AssertionError("a wrong password was accepted")
        wrong.close()
    finally:
        s.stop()


# ---- hiredis ---------------------------------------------------------------

def test_hiredis():
    src = os.path.join(HERE, "hiredis_client.c")
    cc = shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")
    if not cc:
        missing("no C compiler to build the hiredis client: apt-get install gcc")
    if not os.path.exists("/usr/include/hiredis/hiredis.h"):
        missing("hiredis is not installed: apt-get install libhiredis-dev")
    tmp = tempfile.mkdtemp(prefix="seqd-hiredis-")
    exe = os.path.join(tmp, "hiredis_client")
    try:
        r = subprocess.run([cc, "-std=c11", "-Wall", "-Wextra", "-O1", src, "-o", exe, "-lhiredis"],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            if "hiredis" in r.stderr and ("No such file" in r.stderr or "cannot find" in r.stderr):
                missing("hiredis is not installed: apt-get install libhiredis-dev\n" + r.stderr)
            raise AssertionError("cannot compile hiredis_client.c:\n" + r.stderr)
        r = subprocess.run([exe, str(server().port), "hiredis_seq"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and r.stdout.strip() == "ok", \
            "hiredis client failed (exit %d):\n%s%s" % (r.returncode, r.stdout, r.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- node-redis --------------------------------------------------------------

NODE_SCRIPT = r"""
'use strict';
// One node-redis session against seqd; prints what it saw as JSON.
const [modPath, port, name, resp] = process.argv.slice(2);
const { createClient } = require(modPath);
const guard = setTimeout(() => { console.error('node client: timed out'); process.exit(1); }, 20000);
(async () => {
  const opts = { socket: { host: '127.0.0.1', port: Number(port), connectTimeout: 5000,
                           reconnectStrategy: false } };
  if (resp) opts.RESP = Number(resp);
  const client = createClient(opts);
  const errors = [];
  client.on('error', (e) => errors.push(String((e && e.message) || e)));
  await client.connect();
  const out = {};
  out.ping = await client.ping();
  out.hset = await client.sendCommand(['HSET', name, 'type', '3', 'starting', '10']);
  out.get = await client.get(name);
  out.incr = await client.incr(name);
  out.mget = await client.mGet([name, name]);
  // Issued in one tick: node-redis pipelines them on the socket.
  out.pipelined = await Promise.all(Array.from({ length: 50 }, () => client.get(name)));
  try {
    out.missing = await client.get('no_such_' + name);
  } catch (e) {
    out.missing_error = String((e && e.message) || e);
  }
  out.after_error = await client.get(name);
  out.next = await client.sendCommand(['NEXT', name, '3']);
  out.exists = await client.exists(name);
  out.client_info = String(await client.sendCommand(['CLIENT', 'INFO']));
  if (typeof client.quit === 'function') {
    out.quit = await client.quit();
  } else {
    await client.close();
    out.quit = 'OK';
  }
  out.errors = errors;
  clearTimeout(guard);
  console.log(JSON.stringify(out));
})().catch((e) => { console.error('node client: ' + ((e && e.stack) || e)); process.exit(1); });
"""


def node_cache_dir():
    env = os.environ.get("SEQD_NODE_CACHE")
    if env:
        return env
    in_tree = os.path.join(SRCDIR, "tests")
    if os.access(in_tree, os.W_OK):
        return os.path.join(in_tree, ".node_cache")
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(home, "seqd-node")


def node_redis(major):
    """Path of node-redis <major> in the cache, installing it if needed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing("node and npm are needed for the node-redis tests: apt-get install nodejs npm")
    d = os.path.join(node_cache_dir(), "redis%s" % major)
    mod = os.path.join(d, "node_modules", "redis")
    try:
        with open(os.path.join(mod, "package.json")) as f:
            if json.load(f)["version"].split(".")[0] == major:
                return mod
    except (OSError, ValueError, KeyError):
        pass
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "package.json"), "w") as f:
        json.dump({"name": "seqd-test-node-redis%s" % major, "private": True}, f)
    try:
        r = subprocess.run([npm, "install", "--no-audit", "--no-fund", "redis@%s" % major], cwd=d,
                           capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired:
        missing("npm install redis@%s took over 240 s (no network?)" % major)
    if r.returncode != 0 or not os.path.exists(os.path.join(mod, "package.json")):
        missing("npm install redis@%s failed in %s (no network?):\n%s" % (major, d, r.stderr[-2000:]))
    return mod


def node_session(major, resp=None):
    mod = node_redis(major)
    tmp = tempfile.mkdtemp(prefix="seqd-node-")
    script = os.path.join(tmp, "client.js")
    with open(script, "w") as f:
        f.write(NODE_SCRIPT)
    name = "node%s_%s" % (major, resp or "default")
    try:
        r = subprocess.run(["node", script, mod, str(server().port), name, str(resp or "")],
                           capture_output=True, text=True, timeout=40)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    node_v = subprocess.run(["node", "-v"], capture_output=True, text=True).stdout.strip()
    assert r.returncode == 0, "node-redis %s (node %s) failed:\n%s%s" % (major, node_v, r.stdout, r.stderr[-3000:])
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["ping"] == "PONG", out
    assert out["hset"] == 1, out
    assert out["get"] == "10", out
    assert out["incr"] == 11, out
    assert out["mget"] == ["12", "13"], out
    assert out["pipelined"] == [str(i) for i in range(14, 64)], out["pipelined"]
    assert "no such sequence" in out.get("missing_error", ""), out
    assert out["after_error"] == "64", out
    assert out["next"] == ["65", "66", "67"], out
    assert out["exists"] == 1, out
    assert out["quit"] == "OK", out
    assert not out["errors"], "client error events: %r" % out["errors"]
    want_resp = resp or (3 if major == "6" else 2)
    assert "resp=%d" % want_resp in out["client_info"], \
        "node-redis %s should speak RESP%d: %s" % (major, want_resp, out["client_info"])
    with open(os.path.join(mod, "package.json")) as f:
        version = json.load(f)["version"]
    print("  node-redis %s (node %s), RESP%d: ok" % (version, node_v, want_resp))


def test_node_redis_4():
    node_session("4")


def test_node_redis_5():
    node_session("5")
    node_session("5", resp=3)


def test_node_redis_6():
    node_session("6")            # HELLO 3, no fallback
    node_session("6", resp=2)


def stop_server():
    if _server is not None:
        assert _server.stop() == 0, "seqd did not stop cleanly"


if __name__ == "__main__":
    run_tests([
        test_redis_py_resp2,
        test_redis_py_resp3,
        test_redis_py_with_password,
        test_hiredis,
        test_node_redis_4,
        test_node_redis_5,
        test_node_redis_6,
        stop_server,
    ])
