#!/usr/bin/env python3
"""test_metrics: /metrics as Prometheus reads it, /health as a balancer does.

* Numbers taken over RESP show up in /metrics, parsed by the real
  Prometheus text parser (Debian's python3-prometheus-client): per
  sequence numbers, claims and buffered numbers; the claim latency
  histogram counts every claim; requests and errors per RESP command
  (unknown commands too); the store is up; a sequence name with a quote
  and a backslash is escaped as the format says.
* /health is 200 while the store answers; with a MariaDB store that is
  stopped it stays 200 while every sequence has numbers buffered, and is
  503 with the reason once a sequence has none; it is 200 again when
  MariaDB is back.

Environment: SEQD_BIN, SEQD_SRCDIR.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from seqd import Client, RespError, run_tests, wait_for  # noqa: E402
from test_http import http_server, request  # noqa: E402



def import_parser():
    """The text parser of Debian's python3-prometheus-client. A python3
    other than Debian's (pyenv, a venv) does not see it, but it is pure
    Python: its dist-packages directory serves as well."""
    for extra in (None, "/usr/lib/python3/dist-packages"):
        if extra and extra not in sys.path:
            sys.path.append(extra)
        try:
            from prometheus_client.parser import text_string_to_metric_families as parse
            return parse
        except ImportError:
            pass
    if os.environ.get("SEQD_ALLOW_SKIP") == "1":
        print("SKIP: python3-prometheus-client is not installed")
        sys.exit(77)
    sys.exit("python3-prometheus-client is not installed: apt-get install python3-prometheus-client "
             "(or set SEQD_ALLOW_SKIP=1 to skip)")


text_string_to_metric_families = import_parser()

WEIRD = 'we"ird\\name'          # a valid name: printable, no spaces


def get_text(s, path):
    """(status, {header: value} in lower case, body as text)."""
    status, headers, body = request(s, path)
    return status, headers, body.decode("utf-8")


def scrape(s):
    """(raw text, {(sample name, frozenset of labels): value}) of /metrics,
    read by the real Prometheus parser (which fails on a bad line)."""
    status, headers, text = get_text(s, "/metrics")
    assert status == 200, (status, text[:300])
    assert headers.get("content-type", "").startswith("text/plain"), headers
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in samples, "sample twice: %r" % (key,)
            samples[key] = s.value
    return text, samples


def value(samples, name, **labels):
    key = (name, frozenset(labels.items()))
    assert key in samples, "no sample %s%r" % (name, labels)
    return samples[key]


def test_metrics_count_what_was_taken_over_resp():
    with http_server() as s:
        c = Client(s.port)
        assert c.command("HSET", "a", "type", "3", "segment", "100") == 1
        assert c.command("HSET", WEIRD, "type", "3") == 1
        got = [int(c.command("GET", "a")) for _ in range(5)]
        got += c.command("NEXT", "a", "10")
        assert len(got) == 15
        for _ in range(3):
            assert isinstance(c.command("INCR", WEIRD), int)
        assert isinstance(c.command("GET", "nosuch"), RespError)
        assert isinstance(c.command("FROB", "x"), RespError)
        c.close()

        text, m = scrape(s)
        assert value(m, "seqd_numbers_total", sequence="a") == 15
        assert value(m, "seqd_numbers_total", sequence=WEIRD) == 3
        assert value(m, "seqd_wasted_total", sequence="a") == 0
        # The escaped label as it is on the wire: \" and \\.
        assert 'seqd_numbers_total{sequence="we\\"ird\\\\name"} 3\n' in text, text
        claims = value(m, "seqd_claims_total", sequence="a") + value(m, "seqd_claims_total", sequence=WEIRD)
        assert claims >= 2
        assert value(m, "seqd_claim_duration_seconds_count") == claims
        assert value(m, "seqd_claim_duration_seconds_bucket", le="+Inf") == claims
        assert value(m, "seqd_claim_duration_seconds_sum") > 0
        # Buffered: what is left in both segments, as INFO a says.
        assert value(m, "seqd_buffered_numbers", sequence="a") == buffered_from_info(s.info("a")) > 0

        assert value(m, "seqd_requests_total", door="resp", command="get") == 6
        assert value(m, "seqd_request_errors_total", door="resp", command="get") == 1
        assert value(m, "seqd_requests_total", door="resp", command="next") == 1
        assert value(m, "seqd_request_errors_total", door="resp", command="next") == 0
        assert value(m, "seqd_requests_total", door="resp", command="incr") == 3
        assert value(m, "seqd_requests_total", door="resp", command="hset") == 2
        assert value(m, "seqd_requests_total", door="resp", command="unknown") == 1
        assert value(m, "seqd_request_errors_total", door="resp", command="unknown") == 1

        assert value(m, "seqd_store_up") == 1
        assert value(m, "seqd_store_info", type="file", shared="false") == 1
        assert value(m, "seqd_healthy") == 1
        assert value(m, "seqd_sequences") == 2
        assert value(m, "seqd_numbers_served_total") == 18
        assert value(m, "seqd_connections_received_total") >= 1
        assert value(m, "seqd_connected_clients") >= 0
        assert value(m, "seqd_workers") == 2
        assert value(m, "seqd_build_info", version=s.info("server")["seqd_version"]) == 1
        assert value(m, "seqd_uptime_seconds") >= 0

        status, _, body = get_text(s, "/health")
        assert status == 200, (status, body)


def buffered_from_info(inf):
    """Numbers left in both segments, from INFO name's segment lines."""
    left = 0
    for key in ("segment_current", "segment_next"):
        if inf[key] != "none":
            left += int(inf[key].rsplit(" left ", 1)[1])
    return left


def test_health_follows_the_store_and_the_buffers():
    from mariadb import MariaDB
    with MariaDB() as db:
        store = db.store_config(rescan_s=1, connect_timeout_s=2, rw_timeout_s=2)
        with http_server(store=store) as s:
            c = Client(s.port)
            assert c.command("HSET", "wet", "type", "3", "segment", "1000") == 1
            assert isinstance(int(c.command("GET", "wet")), int)
            c.close()
            status, _, body = get_text(s, "/health")
            assert status == 200, (status, body)

            # The store goes away; every sequence still has numbers: serving.
            db.stop()
            wait_for(lambda: value(scrape(s)[1], "seqd_store_up") == 0, 15,
                     "seqd_store_up 0 after MariaDB stopped")
            status, _, body = get_text(s, "/health")
            assert status == 200, (status, body)
            _, m = scrape(s)
            assert value(m, "seqd_healthy") == 1

            # Back; then a sequence with nothing buffered, and the store away again.
            db.start()
            wait_for(lambda: value(scrape(s)[1], "seqd_store_up") == 1, 15,
                     "seqd_store_up 1 after MariaDB came back")
            c = Client(s.port)
            assert c.command("HSET", "dry", "type", "3") == 1
            c.close()
            db.stop()
            seen = {}

            def unhealthy():
                seen["r"] = get_text(s, "/health")
                return seen["r"][0] == 503
            wait_for(unhealthy, 15, "/health 503 with MariaDB stopped and 'dry' empty",
                     detail=lambda: seen.get("r"))
            body = seen["r"][2]
            assert "store unreachable since" in body, body
            assert "1 sequence has no numbers buffered" in body, body
            _, m = scrape(s)
            assert value(m, "seqd_healthy") == 0
            assert value(m, "seqd_buffered_numbers", sequence="dry") == 0

            db.start()
            wait_for(lambda: get_text(s, "/health")[0] == 200, 15,
                     "/health 200 once MariaDB is back")


if __name__ == "__main__":
    run_tests([
        test_metrics_count_what_was_taken_over_resp,
        test_health_follows_the_store_and_the_buffers,
    ])
