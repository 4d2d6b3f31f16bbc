#!/usr/bin/env python3
"""test_status_page: the status page in a real browser, and its JSON.

* Headless Chromium (Debian's `chromium`) loads GET / and dumps the DOM it
  built: the table has the row of a sequence that was just used, with its
  current number and numbers served; a name full of HTML's special
  characters is a row with that name as text, not markup; the page asks
  to refresh itself and has no script.
* GET /api/v1/sequences parses as JSON and agrees with INFO <name> for
  every sequence (current, served, wasted, claims, segments), and with
  INFO for the node and the store.

Skipped (77) only when chromium is not installed. Environment: SEQD_BIN,
SEQD_SRCDIR.
"""
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from seqd import Client, run_tests, tmpdir  # noqa: E402
from test_http import http_server, request  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ODD = '<b>odd&"name\''


class Rows(HTMLParser):
    """The sequence rows of the page: {data-sequence: [cell texts]}, and
    every start tag seen (to prove a name did not become markup)."""

    def __init__(self):
        super().__init__()
        self.rows, self.tags, self.meta = {}, [], []
        self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "meta":
            self.meta.append(a)
        if tag == "tr" and "data-sequence" in a:
            self._row = a["data-sequence"]
            self.rows[self._row] = []
            assert a.get("id") == "seq-" + self._row, a
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._row is not None and self._cell is not None:
            self.rows[self._row].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def dump_dom(url):
    """The DOM headless Chromium built from url, as HTML text."""
    profile = tmpdir("seqd-chromium-")
    env = dict(os.environ, HOME=profile)
    r = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--no-first-run", "--user-data-dir=" + profile, "--dump-dom", url],
                       capture_output=True, text=True, timeout=90, env=env)
    assert r.returncode == 0 and "<html" in r.stdout, "chromium failed (%d): %s" % (r.returncode, r.stderr[-2000:])
    return r.stdout


def page_url(s, path="/"):
    return "http://127.0.0.1:%d%s" % (s.config["http"]["port"], path)


def test_chromium_renders_the_row_of_a_sequence_just_used():
    with http_server() as s:
        c = Client(s.port)
        assert c.command("HSET", "used", "type", "3", "starting", "1000") == 1
        assert c.command("HSET", ODD, "type", "2", "length", "6") == 1
        assert c.command("HSET", "idle", "type", "3") == 1
        for _ in range(3):
            last = int(c.command("GET", "used"))
        assert last == 1002
        assert int(c.command("GET", ODD)) == 100000
        c.close()

        page = Rows()
        page.feed(dump_dom(page_url(s)))
        assert set(page.rows) == {"used", ODD, "idle"}, page.rows.keys()
        used = page.rows["used"]
        # name, kind, current, current segment, next segment, served, ...
        assert used[0] == "used" and used[1] == "increasing", used
        assert used[2] == "1002", used
        assert used[5] == "3", used
        assert used[3].startswith("[0, "), used
        assert page.rows[ODD][0] == ODD and page.rows[ODD][2] == "100000", page.rows[ODD]
        assert page.rows["idle"][2] == "none", page.rows["idle"]
        assert "b" not in page.tags, "a sequence name became markup"
        assert "script" not in page.tags
        assert {"http-equiv": "refresh", "content": "5"} in page.meta, page.meta


def info_segment(text):
    """INFO's "[a,b) next p left l" as (a, b, p, l), or None."""
    if text == "none":
        return None
    rng, rest = text.split(" next ")
    a, b = rng[1:-1].split(",")
    p, left = rest.split(" left ")
    return int(a), int(b), int(p), int(left)


def test_the_json_agrees_with_info():
    with http_server() as s:
        c = Client(s.port)
        assert c.command("HSET", "j1", "type", "3", "segment", "50") == 1
        assert c.command("HSET", "j2", "type", "1", "length", "8") == 1
        assert c.command("HSET", "j3", "type", "3") == 1
        for _ in range(7):
            c.command("GET", "j1")
        c.command("NEXT", "j2", "4")
        c.close()

        status, headers, body = request(s, "/api/v1/sequences")
        assert status == 200, (status, body[:300])
        assert headers.get("content-type", "").startswith("application/json"), headers
        doc = json.loads(body)
        server = s.info("server")
        assert doc["node"]["version"] == server["seqd_version"]
        assert doc["node"]["run_id"] == server["run_id"]
        assert doc["node"]["workers"] == int(server["workers"])
        store = s.info("store")
        assert doc["store"]["type"] == store["store_type"] == "file"
        assert doc["store"]["reachable"] is True
        assert doc["health"]["ok"] is True

        by_name = {q["name"]: q for q in doc["sequences"]}
        assert set(by_name) == {"j1", "j2", "j3"}
        for name, q in by_name.items():
            inf = s.info(name)
            assert q["kind"] == inf["kind"], (q, inf)
            assert q["current"] == (None if inf["current"] == "none" else int(inf["current"])), (q, inf)
            assert q["served"] == int(inf["generated"]), (q, inf)
            assert q["wasted"] == int(inf["wasted"]), (q, inf)
            assert q["claims"] == int(inf["claims"]), (q, inf)
            assert abs(q["waste_rate"] * 100 - float(inf["waste_rate"].rstrip("%"))) < 0.01
            segs = [info_segment(inf["segment_current"]), info_segment(inf["segment_next"])]
            want = [(g["from"], g["to"], g["next"], g["left"]) for g in q["segments"]]
            assert want == [x for x in segs if x is not None], (q, inf)
            assert q["buffered"] == sum(x[3] for x in segs if x is not None)
        assert by_name["j1"]["served"] == 7 and by_name["j2"]["served"] == 4
        assert by_name["j1"]["last_claim_ms_ago"] >= 0 and by_name["j1"]["last_claim_latency_ms"] >= 0
        assert by_name["j3"]["current"] is None and by_name["j3"]["last_claim_ms_ago"] is None


if __name__ == "__main__":
    if not CHROMIUM:
        print("SKIP: chromium is not installed")
        sys.exit(77)
    run_tests([
        test_chromium_renders_the_row_of_a_sequence_just_used,
        test_the_json_agrees_with_info,
    ])
