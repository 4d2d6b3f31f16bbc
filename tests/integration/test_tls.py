#!/usr/bin/env python3
"""test_tls: the TLS port, client certificates, the HTTPS door, SIGHUP.

Certificates are made here, at test time, with the openssl command line
in a temporary directory: a CA, two server certificates (serials 0x1001
and 0x1002, for the reload), a client certificate, an expired one
(`openssl ca -startdate/-enddate`: openssl 3.0's x509 cannot back-date),
and one signed by a CA seqd does not know.

* real redis-cli --tls --cacert: PING, HSET, GET, INCR; the plain port
  answers beside it; redis-py with ssl=True: GET, INCR, MGET and a
  pipeline; redis-benchmark --tls pipelined (-P 16), every INCR counted.
* large replies (NEXT of 100000 numbers, 8 MB in all) to a client with a
  tiny receive buffer that reads late: partial TLS writes, back-pressure;
  then a request whose last TLS record is read in part at the end of the
  read budget (bytes decrypted and waiting, the socket silent).
* auth_clients yes: redis-cli --cert/--key works, without them refused;
  an expired and an unknown-CA client certificate refused; each failure
  a log line and total_tls_handshake_failures.
* plain text and garbage handshake bytes on the TLS port: a clean close
  (EOF, not a reset), a log line (at most one a second: a burst is one
  line, and the next says how many were held back), and a TLS client
  busy meanwhile gets every answer.
* a silent client and one that stops half way through its ClientHello
  are closed after the 10 s handshake timeout, others served meanwhile.
* "port": 0: nothing listens on the plain port; TLS serves.
* SIGHUP with a new certificate in the same files: a new connection sees
  serial 0x1002, on the RESP and the HTTPS door, while a connection made
  before goes on; a broken certificate file on SIGHUP keeps 0x1002 and
  logs why.
* the HTTPS door (http.tls): urllib with the CA gets /health; a plain
  HTTP request to it is closed and logged.

* the mysql store over TLS (store.mysql.ssl_mode, ssl_ca) to a private
  MariaDB that refuses unencrypted sessions: verify_ca and
  verify_identity work; disabled and a wrong CA stop start-up.

redis-py (python3-redis) or MariaDB missing is a failure that says so,
unless SEQD_ALLOW_SKIP=1.
"""
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from seqd import (BIN, Client, Seqd, Skip, check, eq, free_port, import_redis_py, info, run_tests,  # noqa: E402
                  tmpdir, wait_for, wait_log)

ALLOW_SKIP = os.environ.get("SEQD_ALLOW_SKIP") == "1"

# The rate limit of the failed-handshake log line (tls.c): a test that
# wants the line of each failure leaves this long between them.
LOG_INTERVAL = 1.1


# ---- certificates ----------------------------------------------------------------

def openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args), r.stderr[-500:]))


class Certs:
    """Every file the tests need, in a temporary directory."""

    def __init__(self):
        d = self.dir = tmpdir("seqd-tls-")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "30",
                "-subj", "/CN=seqd test CA", cwd=d)
        openssl("req", "-x509", *ec, "-keyout", "other-ca.key", "-out", "other-ca.crt", "-days", "30",
                "-subj", "/CN=a CA seqd does not know", cwd=d)
        with open(os.path.join(d, "san.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        for name, serial in (("server", "0x1001"), ("server2", "0x1002")):
            openssl("req", *ec, "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=127.0.0.1", cwd=d)
            openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial",
                    serial, "-days", "30", "-extfile", "san.ext", "-out", name + ".crt", cwd=d)
        openssl("req", *ec, "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=app", cwd=d)
        openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", "0x2001",
                "-days", "30", "-out", "client.crt", cwd=d)
        openssl("req", *ec, "-keyout", "stranger.key", "-out", "stranger.csr", "-subj", "/CN=stranger", cwd=d)
        openssl("x509", "-req", "-in", "stranger.csr", "-CA", "other-ca.crt", "-CAkey", "other-ca.key",
                "-set_serial", "0x4001", "-days", "30", "-out", "stranger.crt", cwd=d)
        # An expired certificate of the right CA, through `openssl ca`,
        # which takes explicit dates.
        os.mkdir(os.path.join(d, "cadb"))
        open(os.path.join(d, "cadb", "index.txt"), "w").close()
        with open(os.path.join(d, "cadb", "serial"), "w") as f:
            f.write("3001\n")
        with open(os.path.join(d, "ca.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca = test_ca\n[test_ca]\ndatabase = cadb/index.txt\nnew_certs_dir = cadb\n"
                    "serial = cadb/serial\ndefault_md = sha256\npolicy = any_name\n[any_name]\n"
                    "commonName = supplied\n")
        openssl("req", *ec, "-keyout", "expired.key", "-out", "expired.csr", "-subj", "/CN=expired", cwd=d)
        openssl("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.crt", "-keyfile", "ca.key", "-in", "expired.csr",
                "-out", "expired.crt", "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-notext",
                cwd=d)

    def path(self, name):
        return os.path.join(self.dir, name)

    def install_server(self, name, to="live"):
        """Copy NAME.crt/.key over TO.crt/.key (the files seqd is told of)."""
        for ext in (".crt", ".key"):
            with open(self.path(name + ext), "rb") as src, open(self.path(to + ext) + ".tmp", "wb") as dst:
                dst.write(src.read())
            os.replace(self.path(to + ext) + ".tmp", self.path(to + ext))


_certs = None


def certs():
    global _certs
    if _certs is None:
        _certs = Certs()
    return _certs


def port_apart(*taken):
    """A free port that is none of taken (free_port may hand out one twice)."""
    return wait_for(lambda: (lambda p: p if p not in taken else None)(free_port()), 5, "a port apart")


def tls_server(auth_clients="no", plain=True, https=False, live=None):
    """A seqd (not started) with a TLS port (and the HTTPS door when https). live: the
    name its certificate files get, for a test that replaces them."""
    c = certs()
    cert, key = c.path("server.crt"), c.path("server.key")
    if live:
        c.install_server("server", live)
        cert, key = c.path(live + ".crt"), c.path(live + ".key")
    port = free_port()
    tls = {"port": port_apart(port), "cert_file": cert, "key_file": key, "ca_file": c.path("ca.crt"),
           "auth_clients": auth_clients}
    config = {"tls": tls}
    if not plain:
        config["port"] = 0
    if https:
        config["http"] = {"port": port_apart(port, tls["port"]), "tls": True}
    s = Seqd(config=config, port=port)
    s.tls_port = tls["port"]
    return s                    # `with` starts it


def context(cert=None):
    """A client context that trusts the test CA (and shows cert, if given)."""
    ctx = ssl.create_default_context(cafile=certs().path("ca.crt"))
    if cert:
        ctx.load_cert_chain(certs().path(cert + ".crt"), certs().path(cert + ".key"))
    return ctx


class TlsClient(Client):
    """tests/lib's raw RESP client over TLS."""

    def __init__(self, port, cert=None, timeout=10.0, rcvbuf=None):
        raw = socket.socket()
        if rcvbuf:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        raw.settimeout(timeout)
        raw.connect(("127.0.0.1", port))
        self.sock = context(cert).wrap_socket(raw, server_hostname="127.0.0.1")
        self.buf = b""

    def serial(self):
        return self.sock.getpeercert()["serialNumber"]


def cli_tls(s, *args, cert=None):
    """The real redis-cli over TLS; returns (exit code, stdout + stderr)."""
    cmd = ["redis-cli", "--tls", "--cacert", certs().path("ca.crt"), "-h", "127.0.0.1", "-p", str(s.tls_port)]
    if cert:
        cmd += ["--cert", certs().path(cert + ".crt"), "--key", certs().path(cert + ".key")]
    r = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=20)
    return r.returncode, (r.stdout + r.stderr).strip()


def tls_failures(s):
    """INFO total_tls_handshake_failures, asked over TLS when the plain port is off."""
    if s.config.get("port") == 0:
        c = TlsClient(s.tls_port)
        try:
            text = c.command("INFO", "stats")
        finally:
            c.close()
        return int(dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)
                   ["total_tls_handshake_failures"])
    return int(info(s.port, "stats")["total_tls_handshake_failures"])


def wait_failures(s, n, what):
    wait_for(lambda: tls_failures(s) >= n, 10, what, detail=s.log_tail)
    eq(tls_failures(s), n, what)


def refused(port, cert):
    """Connect with client certificate cert (or none) and send PING: True
    when the server never answers it (the handshake fails, or the server
    closes after it: with TLS 1.3 the client's side is done before the
    server has checked the certificate)."""
    try:
        c = TlsClient(port, cert=cert, timeout=5)
    except (ssl.SSLError, OSError):
        return True
    try:
        reply = c.command("PING")
    except (ssl.SSLError, OSError, ConnectionError):
        return True
    finally:
        c.close()
    raise AssertionError("client certificate %s was accepted: PING answered %r" % (cert, reply))


# ---- the tests ---------------------------------------------------------------------

def test_redis_cli_over_tls_and_the_plain_port_beside_it():
    with tls_server() as s:
        eq(cli_tls(s, "PING"), (0, "PONG"), "redis-cli --tls PING")
        eq(cli_tls(s, "HSET", "t", "type", "3"), (0, "1"), "HSET over TLS")
        eq(cli_tls(s, "GET", "t"), (0, "1"), "GET over TLS")
        eq(cli_tls(s, "INCR", "t"), (0, "2"), "INCR over TLS")
        eq(s.cli("GET", "t"), "3", "the plain port serves the same sequence")
        eq(cli_tls(s, "GET", "t"), (0, "4"), "GET over TLS again")
        check("TLS handshake done: TLSv1.3" in s.log(), "the handshake is logged at verbose:\n" + s.log_tail())
        eq(tls_failures(s), 0, "no handshake failed")


def test_redis_py_with_ssl():
    redis = import_redis_py()
    if redis is None:
        if ALLOW_SKIP:
            raise Skip("python3-redis is not installed")
        raise AssertionError("python3-redis is not installed (or set SEQD_ALLOW_SKIP=1)")
    with tls_server() as s:
        r = redis.Redis(host="127.0.0.1", port=s.tls_port, ssl=True, ssl_ca_certs=certs().path("ca.crt"),
                        ssl_cert_reqs="required", socket_timeout=10)
        eq(r.ping(), True, "redis-py PING over TLS")
        eq(r.hset("p", "type", "3"), 1, "HSET")
        eq(r.get("p"), b"1", "GET")
        eq(r.incr("p"), 2, "INCR")
        eq(r.mget(["p", "p", "p"]), [b"3", b"4", b"5"], "MGET")
        pipe = r.pipeline(transaction=False)
        for _ in range(500):
            pipe.incr("p")
        eq(pipe.execute(), list(range(6, 506)), "500 pipelined INCRs over TLS, in order")
        r.close()


def test_redis_benchmark_pipelined_over_tls():
    with tls_server() as s:
        eq(cli_tls(s, "HSET", "bench", "type", "3"), (0, "1"), "HSET")
        n = 4000
        r = subprocess.run(["redis-benchmark", "--tls", "--cacert", certs().path("ca.crt"), "-h", "127.0.0.1",
                            "-p", str(s.tls_port), "-q", "-c", "4", "-n", str(n), "-P", "16", "INCR", "bench"],
                           capture_output=True, text=True, timeout=60)
        text = r.stdout + r.stderr
        eq(r.returncode, 0, "redis-benchmark --tls exit code (%r)" % text[-300:])
        check("requests per second" in text, "redis-benchmark result line: %r" % text[-300:])
        # Every pipelined INCR was answered, each once.
        eq(cli_tls(s, "GET", "bench"), (0, str(n + 1)), "GET after %d INCRs" % n)


def test_large_replies_to_a_slow_reader_and_requests_split_across_records():
    """Replies far larger than a TLS record, the socket buffers and
    output_limit_bytes, to a client that reads late: partial SSL writes
    that wait for the write event, and back-pressure. Behind them, sent
    while the server does not read, a 64 KB request in five TLS records:
    one read event takes four and part of the fifth (its 64 KB budget),
    and the rest of that record waits decrypted in OpenSSL with the socket
    silent (tls_pending: the server must read again without an event)."""
    with tls_server() as s:
        base = 10 ** 12
        c = TlsClient(s.tls_port, rcvbuf=4096)
        eq(c.command("HSET", "big", "type", "3", "starting", str(base), "segment", "1000000"), 1, "HSET")
        count, batches = 100000, 4          # about 8 MB of replies
        c.send(b"*3\r\n$4\r\nNEXT\r\n$3\r\nbig\r\n$6\r\n100000\r\n" * batches)
        time.sleep(0.3)                     # the server fills the socket and stops reading
        # 65558 bytes: its first 85 in a record of their own, then records
        # of 16384; the read budget (65536) ends 22 bytes into the last one.
        payload = b"p" * 65536
        large = b"*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n" % (len(payload), payload)
        for a, b in [(0, 85)] + [(i, i + 16384) for i in range(85, len(large), 16384)]:
            chunk = large[a:b]
            eq(c.sock.send(chunk), len(chunk), "one TLS record of the large request")
        time.sleep(0.3)
        got = []
        for _ in range(batches):
            reply = c.read_reply()
            check(isinstance(reply, list) and len(reply) == count, "a NEXT reply of %d numbers" % count)
            got.extend(int(x) for x in reply)
        eq(got, list(range(base, base + batches * count)), "every number, in order")
        eq(c.read_reply(), payload.decode(), "the large request's answer, though its last bytes made no event")
        eq(c.command("PING"), "PONG", "the connection goes on")
        c.close()


def test_client_certificates_when_required():
    c = certs()
    with tls_server(auth_clients="yes") as s:
        eq(cli_tls(s, "PING", cert="client"), (0, "PONG"), "redis-cli --cert/--key with a good certificate")
        check("client certificate CN=app" in s.log(), "the client's certificate is logged:\n" + s.log_tail())
        t = TlsClient(s.tls_port, cert="client")
        eq(t.command("PING"), "PONG", "python ssl with the client certificate")
        t.close()
        cases = [
            (None, "peer did not return a certificate"),
            ("expired", "certificate has expired"),
            ("stranger", "unable to get local issuer certificate"),
        ]
        for i, (cert, why) in enumerate(cases):
            time.sleep(LOG_INTERVAL)    # one line a second: each failure gets its own
            check(refused(s.tls_port, cert), "refused: %s" % cert)
            wait_log(s, "TLS handshake failed: ", i + 1)
            check(why in s.log(), "the log says %r:\n%s" % (why, s.log_tail()))
            wait_failures(s, i + 1, "total_tls_handshake_failures counts %s" % (cert or "no certificate"))
        rc, out = cli_tls(s, "PING")
        check(out != "PONG", "redis-cli without --cert is refused: %r" % out)
        eq(cli_tls(s, "PING", cert="client"), (0, "PONG"), "the good client still gets in")
        check(os.path.exists(c.path("expired.crt")), "the expired certificate was made")


def busy_client(port, stop, results):
    """GETs over TLS until stop is set (bounded by the caller)."""
    try:
        t = TlsClient(port)
        while not stop.is_set():
            results.append(t.command("GET", "busy"))
        t.close()
    except Exception as e:  # noqa: BLE001 - reported by the test
        results.append(e)


def test_plain_text_and_garbage_on_the_tls_port():
    with tls_server() as s:
        eq(cli_tls(s, "HSET", "busy", "type", "3"), (0, "1"), "HSET")
        stop, results = threading.Event(), []
        busy = threading.Thread(target=busy_client, args=(s.tls_port, stop, results))
        busy.start()
        try:
            wait_for(lambda: len(results) >= 10, 10, "the busy TLS client gets answers")
            bad = [
                (b"PING\r\n", "wrong version number"),
                # A handshake record header, then bytes that are no ClientHello.
                (b"\x16\x03\x01\x00\x20" + b"\xab" * 32, "TLS handshake failed"),
                (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "http request"),
            ]
            for i, (data, why) in enumerate(bad):
                time.sleep(LOG_INTERVAL)
                before = len(results)
                with socket.create_connection(("127.0.0.1", s.tls_port), timeout=5) as raw:
                    raw.sendall(data)
                    rest = b""
                    while True:
                        chunk = raw.recv(4096)      # a reset would raise here
                        if not chunk:
                            break
                        rest += chunk
                # At most a TLS alert (type 21), never a reply.
                check(rest == b"" or rest[:1] == b"\x15", "only an alert before the close: %r" % rest[:40])
                check(b"PONG" not in rest and b"-ERR" not in rest, "no RESP reply to plain text: %r" % rest)
                wait_log(s, "TLS handshake failed: ", i + 1)
                check(why in s.log(), "the log says %r:\n%s" % (why, s.log_tail()))
                wait_for(lambda: len(results) > before + 5, 10, "the busy client goes on after bad client %d" % i)
            wait_failures(s, len(bad), "each bad client counted")
            # A burst: counted each, logged once a second, and the next
            # line says how many it held back.
            time.sleep(LOG_INTERVAL)
            lines = s.log().count("TLS handshake failed: ")
            for _ in range(5):
                with socket.create_connection(("127.0.0.1", s.tls_port), timeout=5) as raw:
                    raw.sendall(b"PING\r\n")
                    raw.recv(4096)
            wait_failures(s, len(bad) + 5, "the burst counted")
            eq(s.log().count("TLS handshake failed: "), lines + 1, "one line for the burst")
            time.sleep(LOG_INTERVAL)
            with socket.create_connection(("127.0.0.1", s.tls_port), timeout=5) as raw:
                raw.sendall(b"PING\r\n")
                raw.recv(4096)
            wait_log(s, "(and 4 failed handshakes not logged since the last such line)")
        finally:
            stop.set()
            busy.join(15)
        errors = [r for r in results if not (isinstance(r, str) and r.isdigit())]
        eq(errors[:5], [], "the busy TLS client got only numbers")
        check([int(r) for r in results] == list(range(1, len(results) + 1)),
              "the busy client's %d numbers are 1, 2, 3, ... in order, none lost" % len(results))
        eq(s.cli("PING"), "PONG", "the plain port is untouched")


def test_silent_client_is_closed_after_the_handshake_timeout():
    """A client that connects to the TLS port and says nothing holds its
    slot for TLS_HANDSHAKE_TIMEOUT_S (10 s), then is closed and counted;
    one that sends half a ClientHello too."""
    with tls_server() as s:
        silent = socket.create_connection(("127.0.0.1", s.tls_port), timeout=20)
        half = socket.create_connection(("127.0.0.1", s.tls_port), timeout=20)
        half.sendall(b"\x16\x03\x01\x02\x00\x01\x00")
        t0 = time.monotonic()
        eq(cli_tls(s, "PING"), (0, "PONG"), "others are served meanwhile")
        for sock in (silent, half):
            eq(sock.recv(4096), b"", "closed by the server")
            sock.close()
        elapsed = time.monotonic() - t0
        check(9 <= elapsed <= 16, "closed after about 10 s, not %.1f s" % elapsed)
        wait_failures(s, 2, "both counted as failed handshakes")
        wait_log(s, "TLS handshake failed: not done within 10 s")


def test_plain_port_off():
    with tls_server(plain=False) as s:
        try:
            socket.create_connection(("127.0.0.1", s.port), timeout=2).close()
            raise AssertionError("something listens on the plain port %d" % s.port)
        except ConnectionRefusedError:
            pass
        eq(cli_tls(s, "PING"), (0, "PONG"), "TLS serves")
        t = TlsClient(s.tls_port)
        eq(t.command("CONFIG", "GET", "port"), ["port", "0"], "CONFIG GET port")
        t.close()
        check("ready on 127.0.0.1:%d (TLS)" % s.tls_port in s.log(), "the ready line names the TLS port only")


def https_serial(port):
    """The serial of the HTTPS door's certificate, from a new connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context().wrap_socket(raw, server_hostname="127.0.0.1") as t:
            return t.getpeercert()["serialNumber"]


def test_sighup_takes_a_new_certificate_and_keeps_it_when_the_next_is_broken():
    c = certs()
    with tls_server(https=True, live="live") as s:
        http_port = s.config["http"]["port"]
        old = TlsClient(s.tls_port)
        eq(old.serial(), "1001", "the first certificate")
        eq(old.command("HSET", "r", "type", "3"), 1, "HSET")
        eq(old.command("GET", "r"), "1", "GET before the reload")
        eq(https_serial(http_port), "1001", "the HTTPS door has the first certificate")

        c.install_server("server2", "live")
        s.signal(1)     # SIGHUP
        wait_log(s, "SIGHUP: TLS certificate loaded: subject CN=127.0.0.1, serial 0x1002")
        new = TlsClient(s.tls_port)
        eq(new.serial(), "1002", "a new connection gets the new certificate")
        eq(new.command("GET", "r"), "2", "and is served")
        eq(old.command("GET", "r"), "3", "the connection made before goes on")
        eq(https_serial(http_port), "1002", "the HTTPS door has the new certificate too")

        with open(c.path("live.crt"), "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
        s.signal(1)
        wait_log(s, "keeping the certificate and settings in force")
        check("tls.cert_file %s: " % c.path("live.crt") in s.log(), "the log names the file:\n" + s.log_tail())
        wait_log(s, "SIGHUP: configuration reloaded", 2)
        third = TlsClient(s.tls_port)
        eq(third.serial(), "1002", "a broken file keeps the certificate in force")
        eq(third.command("GET", "r"), "4", "and serves")
        eq(old.command("GET", "r"), "5", "the first connection still goes on")
        eq(new.command("GET", "r"), "6", "so does the second")
        for t in (old, new, third):
            t.close()


def test_https_door():
    with tls_server(https=True) as s:
        port = s.config["http"]["port"]
        with urllib.request.urlopen("https://127.0.0.1:%d/health" % port, context=context(), timeout=10) as r:
            eq(r.status, 200, "GET /health over HTTPS")
        check("HTTPS door on 127.0.0.1:%d" % port in s.log(), "the HTTPS door is logged")
        time.sleep(LOG_INTERVAL)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(b"GET /health HTTP/1.0\r\n\r\n")
            eq(raw.recv(4096), b"", "plain HTTP to the HTTPS door: closed, no answer")
        wait_log(s, "HTTP client 127.0.0.1:")
        check("TLS handshake failed: http request" in s.log(), "logged:\n" + s.log_tail())
        with urllib.request.urlopen("https://127.0.0.1:%d/health" % port, context=context(), timeout=10) as r:
            eq(r.status, 200, "the HTTPS door still serves")


def test_mysql_store_over_tls():
    """store.mysql.ssl_*: a MariaDB that takes TLS connections only
    (require_secure_transport) with the test CA's server certificate.
    verify_ca and verify_identity with the CA: claims work (so the session
    is encrypted); disabled, or the wrong CA: start-up fails, saying why."""
    from mariadb import MariaDB
    c = certs()
    db = MariaDB(server_args=["--ssl-ca=" + c.path("ca.crt"), "--ssl-cert=" + c.path("server.crt"),
                              "--ssl-key=" + c.path("server.key"), "--require-secure-transport=ON"])
    try:
        db.start()
        for mode in ("verify_ca", "verify_identity"):
            store = db.store_config(ssl_mode=mode, ssl_ca=c.path("ca.crt"))
            with Seqd(config={"store": store}, store="mysql") as s:
                eq(s.cli("HSET", "m_" + mode, "type", "3"), "1", "HSET through a TLS session (%s)" % mode)
                eq(s.cli("GET", "m_" + mode), "1", "GET (%s)" % mode)
        rows = db.rows("SELECT biz_tag FROM seqd_segments WHERE biz_tag LIKE 'm\\_%' ORDER BY biz_tag")
        eq(rows, [["m_verify_ca"], ["m_verify_identity"]], "the rows went through the TLS sessions")
        # MariaDB answers an unencrypted session "Access denied" (the same
        # credentials worked over TLS just before).
        for extra, why in (({"ssl_mode": "disabled"}, "Access denied"),
                           ({"ssl_mode": "verify_ca", "ssl_ca": c.path("other-ca.crt")}, "TLS/SSL error")):
            rc, _, log = Seqd(config={"store": db.store_config(connect_timeout_s=2, **extra)},
                              store="mysql").start_must_fail(20)
            check(rc != 0, "start-up fails with %s" % extra)
            check(why in log, "the log says why (%r) with %s: %r" % (why, extra, log[-400:]))
    finally:
        db.close()


def test_bad_certificate_files_stop_start_up_and_fail_seqd_t():
    c = certs()
    cases = [
        ({"cert_file": c.path("nosuch.crt")}, "tls.cert_file %s: " % c.path("nosuch.crt")),
        ({"key_file": c.path("client.key")}, "tls.key_file %s: " % c.path("client.key")),
        ({"ca_file": c.path("san.ext")}, "tls.ca_file %s: " % c.path("san.ext")),
    ]
    for change, why in cases:
        port = free_port()
        tls = {"port": port_apart(port), "cert_file": c.path("server.crt"), "key_file": c.path("server.key"),
               "ca_file": c.path("ca.crt")}
        tls.update(change)
        node = Seqd(config={"tls": tls}, port=port)
        rc, _, log = node.start_must_fail()
        eq(rc, 1, "exit code with %s" % change)
        check(why in log, "the reason %r is logged: %r" % (why, log[-500:]))
        # seqd -t checks the files as well.
        r = subprocess.run([BIN, "-t", "-c", node.config_path], capture_output=True, text=True, timeout=20)
        eq(r.returncode, 1, "seqd -t exit code with %s" % change)
        check(why in r.stderr, "seqd -t says %r: %r" % (why, r.stderr))
    tls = {"port": free_port(), "cert_file": c.path("server.crt"), "key_file": c.path("server.key"),
           "ca_file": c.path("ca.crt")}
    node = Seqd(config={"tls": tls})
    r = subprocess.run([BIN, "-t", "-c", node.config_path], capture_output=True, text=True, timeout=20)
    eq((r.returncode, r.stderr), (0, ""), "seqd -t with good files")


if __name__ == "__main__":
    run_tests([
        test_redis_cli_over_tls_and_the_plain_port_beside_it,
        test_redis_py_with_ssl,
        test_redis_benchmark_pipelined_over_tls,
        test_large_replies_to_a_slow_reader_and_requests_split_across_records,
        test_client_certificates_when_required,
        test_plain_text_and_garbage_on_the_tls_port,
        test_silent_client_is_closed_after_the_handshake_timeout,
        test_plain_port_off,
        test_sighup_takes_a_new_certificate_and_keeps_it_when_the_next_is_broken,
        test_https_door,
        test_bad_certificate_files_stop_start_up_and_fail_seqd_t,
        test_mysql_store_over_tls,
    ])
