#!/usr/bin/env python3
"""test_http: the HTTP door, with a real HTTP client (http.client).

* FeatherID: GET /api/v1/id and /api/v1/id/batch answer the documented JSON
  (exact status, Content-Type, shape); ids are JSON numbers up to 2^53-1
  and strings past it; the numbers are the RESP door's numbers (one
  sequence, no duplicates between the doors).
* Leaf: GET /api/segment/get/NAME answers the bare number as text/plain.
* Errors say what to do: 400 bad or missing parameter, 404 unknown name or
  path, 405 wrong method (and HEAD never takes a number), 409 exhausted,
  503 with Retry-After past segment.wait_ms, 401 without credentials when
  requirepass is set (never for /health; /metrics only with
  http.metrics_auth).
* GET /api/v1/log/level changes the log level at run time.
* Limits: a huge URL or huge headers are refused with 400, a slow
  client is cut off, and neither keeps others waiting.
* A request waiting for numbers does not hold its worker; a client that
  leaves while waiting does no harm; SIGTERM answers a waiting request 503
  and exits 0.
* A taken http.port stops start-up with a message that names the door.

Environment: SEQD_BIN, SEQD_SRCDIR.
"""
import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from seqd import (BIN, Client, Seqd, free_port, info, run_tests, timing_bound, wait_exit, wait_for,  # noqa: E402
                  wait_log)


def http_server(**cfg):
    cfg = dict(cfg)
    cfg["http"] = dict({"bind": "127.0.0.1", "port": free_port()}, **cfg.get("http", {}))
    return Seqd(config=cfg)


def request(s, path, method="GET", headers=None, timeout=10.0):
    """(status, headers as a dict with lower-case names, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", s.config["http"]["port"], timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def get_json(s, path, headers=None):
    status, hdrs, body = request(s, path, headers=headers)
    assert hdrs["content-type"] == "application/json", hdrs
    return status, json.loads(body), hdrs


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def eq(got, want, what):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def test_featherid_id_and_batch_share_the_resp_sequence():
    with http_server() as s:
        eq(s.cli("HSET", "order", "type", "3"), "1", "HSET")
        status, hdrs, body = request(s, "/api/v1/id?biz_tag=order")
        eq(status, 200, "status")
        eq(hdrs["content-type"], "application/json", "content type")
        doc = json.loads(body)
        eq(doc, {"code": 0, "message": "success", "data": {"biz_tag": "order", "id": 1}}, "the documented shape")
        check(isinstance(doc["data"]["id"], int), "the id is a JSON number")

        seen = [1]
        for _ in range(20):
            seen.append(int(s.cli("GET", "order")))
            seen.append(get_json(s, "/api/v1/id?biz_tag=order")[1]["data"]["id"])
        status, doc, _ = get_json(s, "/api/v1/id/batch?biz_tag=order&count=5")
        eq(status, 200, "batch status")
        eq(sorted(doc["data"]), ["biz_tag", "ids"], "batch data keys")
        eq(doc["data"]["biz_tag"], "order", "batch biz_tag")
        seen += doc["data"]["ids"]
        eq(seen, list(range(1, len(seen) + 1)), "one node, one sequence: consecutive, no duplicates")

        status, doc, _ = get_json(s, "/api/v1/id/batch?biz_tag=order&count=100000")
        ids = doc["data"]["ids"]
        eq((status, len(ids), len(set(ids))), (200, 100000, 100000), "a batch of 100000")
        eq(ids[0], seen[-1] + 1, "the batch continues the sequence")
        eq(int(s.info("stats")["total_numbers_served"]), len(seen) + 100000,
           "INFO counts the numbers every door served")


def test_ids_past_2_53_are_strings():
    with http_server() as s:
        s.cli("HSET", "big", "type", "3", "starting", str(2**53 - 2))
        ids = get_json(s, "/api/v1/id/batch?biz_tag=big&count=3")[1]["data"]["ids"]
        eq(ids, [2**53 - 2, 2**53 - 1, str(2**53)], "numbers while JavaScript holds them exactly, then strings")
        eq(get_json(s, "/api/v1/id?biz_tag=big")[1]["data"]["id"], str(2**53 + 1), "a single id too")


def test_leaf_segment_get():
    with http_server() as s:
        s.cli("HSET", "leaf-key", "type", "3", "starting", "100")
        status, hdrs, body = request(s, "/api/segment/get/leaf-key")
        eq((status, body), (200, b"100"), "the bare number")
        eq(hdrs["content-type"], "text/plain; charset=utf-8", "text/plain")
        eq(request(s, "/api/segment/get/leaf%2Dkey")[2], b"101", "a percent-encoded name")
        status, hdrs, body = request(s, "/api/segment/get/nope")
        eq(status, 404, "unknown name")
        check(body.startswith(b"no such sequence 'nope'"), body)
        eq(request(s, "/api/segment/get/")[0], 400, "no name")
        eq(request(s, "/api/segment/get/a/b")[0], 400, "a name with a slash")
        eq(s.cli("GET", "leaf-key"), "102", "RESP continues after the HTTP numbers")


def test_errors_say_what_to_do():
    with http_server() as s:
        s.cli("HSET", "one", "type", "2", "length", "1", "segment", "5")
        cases = [
            ("/api/v1/id", 400, "missing parameter 'biz_tag'"),
            ("/api/v1/id?biz_tag=", 400, "missing parameter 'biz_tag'"),
            ("/api/v1/id?biz_tag=" + "x" * 200, 400, "longer than 128 bytes"),
            ("/api/v1/id?biz_tag=nope", 404, "no such sequence 'nope'"),
            ("/api/v1/id/batch?biz_tag=one", 400, "'count' must be a whole number from 1 to 100000"),
            ("/api/v1/id/batch?biz_tag=one&count=0", 400, "'count' must be"),
            ("/api/v1/id/batch?biz_tag=one&count=100001", 400, "'count' must be"),
            ("/api/v1/id/batch?biz_tag=one&count=abc", 400, "'count' must be"),
            ("/api/v1/id/batch?biz_tag=one&count=-1", 400, "'count' must be"),
            ("/api/v1/log/level?level=loud", 400, "'level' must be debug, info, warn or error"),
        ]
        for path, want_status, want_text in cases:
            status, doc, _ = get_json(s, path)
            eq(status, want_status, path)
            eq(doc["code"], want_status, path + ": code")
            eq(doc["data"], None, path + ": data")
            check(want_text in doc["message"], "%s: %r" % (path, doc["message"]))

        # Type 2 of length 1 has nine numbers: 1..9, then 409.
        got = get_json(s, "/api/v1/id/batch?biz_tag=one&count=9")[1]["data"]["ids"]
        eq(sorted(got), list(range(1, 10)), "the nine numbers")
        status, doc, _ = get_json(s, "/api/v1/id?biz_tag=one")
        eq((status, doc["code"]), (409, 409), "exhausted")
        check("exhausted" in doc["message"], doc)

        status, hdrs, body = request(s, "/nope")
        eq(status, 404, "unknown path")
        check(b"/api/v1/id?biz_tag=NAME" in body, "the 404 lists the endpoints: %r" % body)
        status, hdrs, body = request(s, "/api/v1/id?biz_tag=one", method="POST")
        eq((status, hdrs.get("allow")), (405, "GET"), "POST")
        eq(request(s, "/metrics", method="DELETE")[1].get("allow"), "GET, HEAD", "DELETE on a view")


def test_head_never_takes_a_number():
    with http_server() as s:
        s.cli("HSET", "h", "type", "3")
        eq(s.cli("GET", "h"), "1", "first")
        status, hdrs, body = request(s, "/api/v1/id?biz_tag=h", method="HEAD")
        eq(status, 405, "HEAD on a number endpoint")
        eq(request(s, "/api/segment/get/h", method="HEAD")[0], 405, "HEAD on Leaf's endpoint")
        eq(s.cli("GET", "h"), "2", "no number was taken by the HEADs")
        status, hdrs, body = request(s, "/health", method="HEAD")
        eq((status, body), (200, b""), "HEAD /health")


def test_retry_after_when_no_numbers_in_time():
    with http_server(store={"test_delay_ms": 1500}, segment={"wait_ms": 200, "default": 5, "max": 5}) as s:
        s.cli("HSET", "slow", "type", "3")
        t0 = time.monotonic()
        status, doc, hdrs = get_json(s, "/api/v1/id?biz_tag=slow")
        took = time.monotonic() - t0
        eq((status, doc["code"]), (503, 503), "no numbers within segment.wait_ms")
        eq(hdrs.get("retry-after"), "1", "Retry-After")
        check("200 ms" in doc["message"] or "wait" in doc["message"], doc["message"])
        check(0.15 < took < 1.4, "answered after about segment.wait_ms, not after the claim (%.2f s)" % took)
        status, hdrs, body = request(s, "/api/segment/get/slow")
        eq(status, 503, "Leaf's endpoint too")
        eq(hdrs.get("retry-after"), "1", "Leaf's Retry-After")
        # Once the claim is in, numbers come.
        wait_for(lambda: request(s, "/api/segment/get/slow")[0] == 200, 10, "numbers after the claim")


def test_credentials():
    def basic(user, pw):
        return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()}

    with http_server(requirepass="s3cret") as s:
        s.cli("-a", "s3cret", "--no-auth-warning", "HSET", "a", "type", "3")
        for path in ("/api/v1/id?biz_tag=a", "/api/v1/id/batch?biz_tag=a&count=2", "/api/segment/get/a",
                     "/api/v1/sequences", "/", "/api/v1/log/level?level=notice"):
            status, hdrs, body = request(s, path)
            eq(status, 401, path + " without credentials")
            eq(hdrs.get("www-authenticate"), 'Basic realm="seqd", charset="UTF-8"', path + ": challenge")
            eq(request(s, path, headers=basic("default", "wrong"))[0], 401, path + " with a wrong password")
            eq(request(s, path, headers=basic("admin", "s3cret"))[0], 401, path + " with an unknown user")
        eq(request(s, "/api/v1/id?biz_tag=a", headers={"Authorization": "Basic !!!"})[0], 401, "not base64")
        status, doc, _ = get_json(s, "/api/v1/id?biz_tag=a", headers=basic("default", "s3cret"))
        eq((status, doc["data"]["id"]), (200, 1), "the right credentials")
        eq(request(s, "/health")[0], 200, "/health needs none")
        eq(request(s, "/metrics")[0], 200, "/metrics needs none by default")
        check(int(s.cli("-a", "s3cret", "--no-auth-warning", "INFO", "stats")
                  .split("total_auth_failures:")[1].split()[0]) >= 18, "failures are counted")

    with http_server(requirepass="s3cret", http={"metrics_auth": True}) as s:
        eq(request(s, "/metrics")[0], 401, "/metrics with http.metrics_auth")
        eq(request(s, "/metrics", headers=basic("default", "s3cret"))[0], 200, "and with credentials")
        eq(request(s, "/health")[0], 200, "/health still needs none")


def test_log_level_at_run_time():
    with http_server(log={"level": "notice"}) as s:
        mark = len(s.log())
        eq(Client(s.port).command("PING"), "PONG", "a connection at notice")
        check(" connected from " not in s.log()[mark:], "at notice, connections are not logged")
        status, doc, _ = get_json(s, "/api/v1/log/level?level=debug")
        eq((status, doc), (200, {"code": 0, "message": "success", "data": {"level": "debug"}}), "set debug")
        wait_log(s, "log level notice -> debug, set by HTTP client 127.0.0.1:")
        mark = len(s.log())
        Client(s.port).command("PING")
        wait_log(s, " connected from 127.0.0.1:", since=mark)
        for name, shown in (("info", "notice"), ("warn", "warning"), ("error", "warning"), ("verbose", "verbose")):
            eq(get_json(s, "/api/v1/log/level?level=" + name)[1]["data"]["level"], shown, name)


def test_limits_protect_other_clients():
    with http_server() as s:
        s.cli("HSET", "l", "type", "3")
        # libevent refuses a request line or headers past 8 KB as a bad
        # request, before any of it reaches seqd.
        status, hdrs, body = request(s, "/api/v1/id?biz_tag=l&pad=" + "x" * 20000)
        eq(status, 400, "a 20 KB URL")
        status, hdrs, body = request(s, "/health", headers={"X-Big": "y" * 20000})
        eq(status, 400, "20 KB of headers")
        conn = http.client.HTTPConnection("127.0.0.1", s.config["http"]["port"], timeout=10)
        conn.request("POST", "/api/v1/id?biz_tag=l", body=b"z" * 10000)
        eq(conn.getresponse().status, 413, "a 10 KB body")
        conn.close()

        # A client that sends half a request and stalls holds nothing.
        slow = socket.create_connection(("127.0.0.1", s.config["http"]["port"]))
        slow.sendall(b"GET /api/v1/id?biz_tag=l HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        for _ in range(20):
            eq(get_json(s, "/api/v1/id?biz_tag=l")[0], 200, "others are served meanwhile")
        check(time.monotonic() - t0 < 5, "without waiting for the slow client")
        slow.settimeout(25)
        eq(slow.recv(100), b"", "the slow client is cut off (after the 15 s timeout)")
        slow.close()
        eq(get_json(s, "/api/v1/id?biz_tag=l")[0], 200, "still serving")


@timing_bound
def test_waiting_request_does_not_hold_its_worker():
    with http_server(workers=1, store={"test_delay_ms": 800},
                     segment={"wait_ms": 5000, "default": 5, "max": 5}) as s:
        s.cli("HSET", "w", "type", "3")
        result = {}

        def slow_get():
            result["r"] = get_json(s, "/api/v1/id/batch?biz_tag=w&count=8")

        t = threading.Thread(target=slow_get)
        t0 = time.monotonic()
        t.start()
        wait_for(lambda: int(s.info("store")["store_pending_jobs"]) > 0, 5, "a claim on its way")
        eq(request(s, "/health")[0], 200, "the one worker answers /health meanwhile")
        eq(s.cli("PING"), "PONG", "and RESP")
        check(time.monotonic() - t0 < 0.7, "before the claim landed")
        t.join(10)
        status, doc, _ = result["r"]
        eq(status, 200, "the waiting batch")
        eq(len(set(doc["data"]["ids"])), 8, "eight distinct numbers")

        # A client that leaves while waiting: the server goes on.
        s.cli("HSET", "w2", "type", "3")
        c = socket.create_connection(("127.0.0.1", s.config["http"]["port"]))
        c.sendall(b"GET /api/v1/id/batch?biz_tag=w2&count=8 HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_for(lambda: int(s.info("store")["store_pending_jobs"]) > 0, 5, "w2's claim on its way")
        c.close()
        wait_for(lambda: int(s.info("store")["store_pending_jobs"]) == 0, 10, "the claims end")
        eq(get_json(s, "/api/v1/id/batch?biz_tag=w2&count=3")[0], 200, "w2 still serves")


def test_sigterm_answers_a_waiting_request():
    s = http_server(store={"test_delay_ms": 3000}, segment={"wait_ms": 10000, "default": 5, "max": 5}).start()
    try:
        s.cli("HSET", "t", "type", "3")
        result = {}

        def waiting():
            result["r"] = get_json(s, "/api/v1/id?biz_tag=t")

        t = threading.Thread(target=waiting)
        t.start()
        wait_for(lambda: int(s.info("store")["store_pending_jobs"]) > 0, 5, "the claim on its way")
        time.sleep(0.2)
        s.signal(signal.SIGTERM)
        t.join(10)
        status, doc, hdrs = result["r"]
        eq((status, doc["message"]), (503, "seqd is shutting down"), "the waiting request")
        eq(wait_exit(s.proc), 0, "exit status")
    finally:
        s.stop()


def test_http_port_taken_stops_start_up():
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    try:
        s = http_server(http={"port": holder.getsockname()[1]})
        r = subprocess.run([BIN, "-c", s.config_path], capture_output=True, text=True, timeout=15)
        eq(r.returncode, 1, "exit status")
        want = "http: cannot listen on 127.0.0.1:%d: Address already in use" % holder.getsockname()[1]
        check(want in r.stdout + r.stderr, "the reason names the HTTP door: %r" % (r.stdout + r.stderr))
    finally:
        holder.close()


if __name__ == "__main__":
    run_tests([
        test_featherid_id_and_batch_share_the_resp_sequence,
        test_ids_past_2_53_are_strings,
        test_leaf_segment_get,
        test_errors_say_what_to_do,
        test_head_never_takes_a_number,
        test_retry_after_when_no_numbers_in_time,
        test_credentials,
        test_log_level_at_run_time,
        test_limits_protect_other_clients,
        test_waiting_request_does_not_hold_its_worker,
        test_sigterm_answers_a_waiting_request,
        test_http_port_taken_stops_start_up,
    ])
