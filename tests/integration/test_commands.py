#!/usr/bin/env python3
"""Every seqd command, driven by the real redis-cli (one-shot and
interactive) and, where the exact bytes matter, by the raw Client.

Covers DESIGN.md sections 5, 6 and 6a and issue 2: GET/INCR/MGET/NEXT on
the three kinds, HSET with each field and each validation error, DEL,
EXISTS, INFO (sections, CRLF, INFO <name>), PING, ECHO, QUIT, SELECT, AUTH,
HELLO 2/3, CLIENT, COMMAND, CONFIG GET, the error texts, exhaustion of
types 1 and 2, and redis-benchmark with and without pipelining.
"""
import os
import pty
import re
import select
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from seqd import (SRCDIR, Client, RespError, Seqd, WaitTimeout, check, eq, parse_info,  # noqa: E402
                  run_tests, timing_bound, wait_exit)

NO_SUCH = ("ERR no such sequence '%s' (create it with HSET %s type 3, "
           "or insert a row into seqd_segments)")


# ---- helpers -------------------------------------------------------------

def cli(s, *args, password=None, user=None, input=None, timeout=20.0):
    """redis-cli in one-shot mode (or reading commands from stdin when no
    args), formatted output (--no-raw) so the reply type shows:
    "1" bulk, (integer) 1, (error) ERR ..., (nil). Returns stdout."""
    cmd = ["redis-cli", "-h", "127.0.0.1", "-p", str(s.port), "--no-raw"]
    if user is not None:
        cmd += ["--user", user, "--pass", password]
    elif password is not None:
        cmd += ["-a", password]
    cmd += [str(a) for a in args]
    r = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
    return r.stdout.rstrip("\n")


def covers_once(nums, lo, hi, what):
    """nums holds every number of lo..hi exactly once; a short message
    (counts and a few examples) when not."""
    seen, dups = set(), set()
    for n in nums:
        (dups if n in seen else seen).add(n)
    outside = sorted(n for n in seen if not lo <= n <= hi)
    missing = sorted(set(range(lo, hi + 1)) - seen)
    if dups or outside or missing:
        raise AssertionError("%s: %d numbers, %d repeated (e.g. %r), %d outside %d..%d (e.g. %r), "
                             "%d missing (e.g. %r)" % (what, len(nums), len(dups), sorted(dups)[:5],
                                                       len(outside), lo, hi, outside[:5],
                                                       len(missing), missing[:5]))


def server(**config):
    """A Seqd to use in a with statement (which starts and stops it)."""
    return Seqd(config=config or None)


def array_ints(s):
    """redis-cli --no-raw array of bulk numbers (' 1) "5"' lines) -> ints."""
    out = []
    for line in s.split("\n"):
        m = re.fullmatch(r'\s*\d+\) "(-?\d+)"', line)
        check(m is not None, "not an array of bulk numbers: %r" % line)
        out.append(int(m.group(1)))
    return out


def bulk_int(s):
    """'"123"' (redis-cli --no-raw bulk) -> 123."""
    m = re.fullmatch(r'"(-?\d+)"', s)
    check(m is not None, "not a bulk number: %r" % s)
    return int(m.group(1))


# ---- numbers on each kind ------------------------------------------------

def test_type3_get_incr_mget_next():
    with server() as s:
        eq(cli(s, "HSET", "t3", "type", "3"), "(integer) 1", "HSET type 3")
        eq(cli(s, "GET", "t3"), '"1"', "first GET of type 3 (default starting 1)")
        eq(cli(s, "INCR", "t3"), "(integer) 2", "INCR is an integer reply")
        eq(cli(s, "MGET", "t3", "t3", "t3"), '1) "3"\n2) "4"\n3) "5"', "MGET")
        eq(cli(s, "NEXT", "t3", "3"), '1) "6"\n2) "7"\n3) "8"', "NEXT 3")
        eq(cli(s, "HSET", "s", "type", "3", "starting", "100", "step", "5"), "(integer) 1")
        eq(cli(s, "GET", "s"), '"100"', "starting 100")
        eq(cli(s, "INCR", "s"), "(integer) 105", "step 5")
        eq(cli(s, "NEXT", "s", "2"), '1) "110"\n2) "115"', "NEXT with step")
        eq(cli(s, "MGET", "t3", "s"), '1) "9"\n2) "120"', "MGET across sequences")
        # Negative starting is allowed for type 3.
        eq(cli(s, "HSET", "neg", "type", "3", "starting", "-2"), "(integer) 1")
        eq(cli(s, "NEXT", "neg", "3"), '1) "-2"\n2) "-1"\n3) "0"', "negative starting")
        eq(cli(s, "INCR", "neg"), "(integer) 1")


def test_type2_get_incr_mget_next():
    with server() as s:
        eq(cli(s, "HSET", "t2", "type", "2", "length", "5"), "(integer) 1")
        eq(cli(s, "GET", "t2"), '"10000"', "type 2 starts at 10^(length-1)")
        eq(cli(s, "INCR", "t2"), "(integer) 10001")
        eq(cli(s, "MGET", "t2", "t2"), '1) "10002"\n2) "10003"')
        eq(cli(s, "NEXT", "t2", "2"), '1) "10004"\n2) "10005"')
        eq(cli(s, "HSET", "o", "type", "2", "length", "12", "starting", "100000000000"), "(integer) 1")
        eq(cli(s, "GET", "o"), '"100000000000"', "DESIGN.md section 1 example")
        eq(cli(s, "GET", "o"), '"100000000001"')
        eq(cli(s, "HSET", "k", "type", "2", "length", "4", "starting", "1234", "step", "3"), "(integer) 1")
        eq(cli(s, "NEXT", "k", "3"), '1) "1234"\n2) "1237"\n3) "1240"', "type 2 step 3")


def test_type1_get_incr_mget_next():
    with server() as s:
        eq(cli(s, "HSET", "t1", "type", "1", "length", "6"), "(integer) 1")
        got = [bulk_int(cli(s, "GET", "t1"))]
        inc = cli(s, "INCR", "t1")
        check(re.fullmatch(r"\(integer\) \d{6}", inc) is not None, "INCR type 1: %r" % inc)
        got.append(int(inc.split()[1]))
        mget = array_ints(cli(s, "MGET", "t1", "t1"))
        eq(len(mget), 2, "MGET two names")
        nxt = array_ints(cli(s, "NEXT", "t1", "50"))
        eq(len(nxt), 50, "NEXT 50")
        got += mget + nxt
        for n in got:
            check(100000 <= n <= 999999, "type 1 length 6 gave %d" % n)
        eq(len(set(got)), len(got), "type 1 numbers are distinct")
        # Random-looking: not handed out in increasing order, and not a
        # run of consecutive numbers.
        check(got != sorted(got), "type 1 numbers came out sorted: %r" % got[:10])
        diffs = {b - a for a, b in zip(got, got[1:])}
        check(len(diffs) > 10, "type 1 numbers have a regular stride: %r" % sorted(diffs)[:10])


def test_type1_two_sequences_differ():
    """Each type 1 sequence has its own key: two of the same length do not
    hand out the same order."""
    with server() as s:
        cli(s, "HSET", "a", "type", "1", "length", "8")
        cli(s, "HSET", "b", "type", "1", "length", "8")
        a = cli(s, "NEXT", "a", "20")
        b = cli(s, "NEXT", "b", "20")
        check(a != b, "two type 1 sequences gave the same numbers")


# ---- HSET ----------------------------------------------------------------

def test_hset_fields_show_in_info():
    with server() as s:
        eq(cli(s, "HSET", "f", "type", "2", "length", "6", "starting", "123456", "step", "7",
               "segment", "50", "description", "order ids", "auto_disk", "pre_close"), "(integer) 1")
        f = parse_info(cli(s, "INFO", "f"))
        eq(f.get("kind"), "fixed", "kind")
        eq(f.get("type"), "2", "type")
        eq(f.get("length"), "6", "length")
        eq(f.get("starting"), "123456", "starting")
        eq(f.get("step"), "7", "step")
        eq(f.get("segment"), "50", "segment")
        eq(f.get("description"), "order ids", "description")
        eq(f.get("auto_disk"), "pre_close", "auto_disk")
        eq(cli(s, "NEXT", "f", "2"), '1) "123456"\n2) "123463"')
        # Field names are case-insensitive (Number Dispenser's clients vary).
        eq(cli(s, "HSET", "g", "TYPE", "3", "Step", "2"), "(integer) 1")
        eq(cli(s, "NEXT", "g", "2"), '1) "1"\n2) "3"')


AUTO_DISK_VALUES = ["default", "memory", "pre_base", "pre_checkpoint", "elegant_close", "pre_close"]


def test_hset_auto_disk_values():
    """Every auto_disk value the README lists is taken as INFO prints it
    (underscores) and with dashes, and INFO prints it with underscores;
    no auto_disk shows as 'default'; the error lists every value."""
    with server() as s:
        for i, v in enumerate(AUTO_DISK_VALUES):
            eq(cli(s, "HSET", "ad%d" % i, "type", "3", "auto_disk", v), "(integer) 1", "auto_disk " + v)
            eq(parse_info(cli(s, "INFO", "ad%d" % i)).get("auto_disk"), v, "INFO auto_disk " + v)
            eq(cli(s, "GET", "ad%d" % i), '"1"', "GET after auto_disk " + v)
            dashed = v.replace("_", "-").upper()
            eq(cli(s, "HSET", "dash%d" % i, "type", "3", "auto_disk", dashed), "(integer) 1",
               "auto_disk " + dashed)
            eq(parse_info(cli(s, "INFO", "dash%d" % i)).get("auto_disk"), v, "INFO auto_disk " + dashed)
        eq(cli(s, "HSET", "none", "type", "3"), "(integer) 1")
        eq(parse_info(cli(s, "INFO", "none")).get("auto_disk"), "default", "INFO without auto_disk")
        err = cli(s, "HSET", "bad", "type", "3", "auto_disk", "pre base")
        for v in AUTO_DISK_VALUES:
            assert v in err, "the error does not list %s: %r" % (v, err)
        # The README's table lists every value INFO can print.
        with open(os.path.join(SRCDIR, "README.md")) as f:
            readme = f.read()
        for v in AUTO_DISK_VALUES:
            assert re.search(r"^\| `%s` \|" % v, readme, re.M), "README's auto_disk table lacks %s" % v


def test_hset_validation_errors():
    """Each bad definition gets its own -ERR that names what is wrong, and
    creates nothing."""
    cases = [
        # (fields, regex the error must match)
        (["length", "3"], r"ERR type is required"),
        (["type", "4"], r"ERR type 4 needs prefix PATTERN"),
        (["type", "9"], r"ERR type must be 1, 2, 3, 4 or 5"),
        (["type", "x"], r"ERR type must be 1, 2, 3, 4 or 5"),
        (["type", "3", "colour", "red"], r"ERR unknown field 'colour'.*type, length, starting, step, segment, description, auto_disk"),
        (["type", "3", "type", "3"], r"ERR field 'type' given twice"),
        (["type", "3", "length", "5"], r"ERR type 3 takes no length"),
        (["type", "1", "length", "3", "starting", "100"], r"ERR type 1 takes no starting"),
        (["type", "1", "length", "3", "step", "2"], r"ERR type 1 takes no step"),
        (["type", "1"], r"ERR type 1 needs length 1\.\.18"),
        (["type", "2"], r"ERR type 2 needs length 1\.\.18"),
        (["type", "2", "length", "0"], r"ERR type 2 needs length 1\.\.18"),
        (["type", "2", "length", "19"], r"ERR type 2 needs length 1\.\.18"),
        (["type", "1", "length", "abc"], r"ERR type 1 needs length 1\.\.18"),
        (["type", "2", "length", "3", "starting", "99"], r"ERR type 2 length 3 needs starting 100\.\.999"),
        (["type", "2", "length", "3", "starting", "1000"], r"ERR type 2 length 3 needs starting 100\.\.999"),
        (["type", "3", "starting", "1.5"], r"ERR starting must be an integer"),
        (["type", "3", "starting", "99999999999999999999"], r"ERR starting must be an integer"),
        (["type", "3", "step", "0"], r"ERR step must be an integer >= 1"),
        (["type", "3", "step", "-1"], r"ERR step must be an integer >= 1"),
        (["type", "3", "segment", "0"], r"ERR segment must be an integer 1\.\."),
        (["type", "3", "segment", "1000000001"], r"ERR segment must be an integer 1\.\."),
        (["type", "3", "description", "x" * 257], r"ERR description must be at most 256"),
        (["type", "3", "auto_disk", "sometimes"], r"ERR auto_disk must be one of"),
        (["type", "3", "length"], r"ERR wrong number of arguments for 'hset' command"),
        (["type"], r"ERR wrong number of arguments for 'hset' command"),
    ]
    with server() as s:
        c = Client(s.port)
        for i, (fields, want) in enumerate(cases):
            name = "bad%d" % i
            r = c.command("HSET", name, *fields)
            check(isinstance(r, RespError), "HSET %s %r: expected an error, got %r" % (name, fields, r))
            check(re.match(want, r), "HSET %s %r: got %r, want /%s/" % (name, fields, r, want))
            check("\r" not in r and "\n" not in r, "error is one line")
            eq(c.command("EXISTS", name), 0, "a refused HSET %r created nothing" % fields)
        # A name with a space or a control byte is refused.
        r = c.command("HSET", "a b", "type", "3")
        check(isinstance(r, RespError) and "sequence name" in r, "name with a space: %r" % r)
        r = c.command("HSET", "x" * 129, "type", "3")
        check(isinstance(r, RespError) and "1..128" in r, "129-byte name: %r" % r)
        eq(c.command("HSET", "x" * 128, "type", "3"), 1, "128-byte name is fine")
        # The same through redis-cli: the error text arrives as it is.
        out = cli(s, "HSET", "bad", "type", "9")
        check(out.startswith("(error) ERR type must be 1, 2, 3, 4 or 5"), "redis-cli shows the error: %r" % out)
        # The largest edge values are accepted.
        eq(c.command("HSET", "edge", "type", "2", "length", "18"), 1, "length 18")
        eq(c.command("GET", "edge"), "100000000000000000", "length 18 first number")
        eq(c.command("HSET", "edge1", "type", "1", "length", "1"), 1, "type 1 length 1")
        # A claim is never above segment.max (1000000 by default): a larger
        # segment is refused, naming both values; segment.max itself is fine.
        eq(c.command("HSET", "seg", "type", "3", "segment", "2000000"),
           "ERR segment 2000000 is larger than segment.max (1000000): use at most 1000000 "
           "or raise segment.max in the configuration", "segment above segment.max")
        eq(c.command("EXISTS", "seg"), 0, "a refused HSET creates nothing")
        eq(c.command("HSET", "seg", "type", "3", "segment", "1000000"), 1, "segment = segment.max")
        eq(c.command("HSET", "d256", "type", "3", "description", "y" * 256), 1, "256-byte description")


def test_hset_redefine_is_an_error():
    with server() as s:
        eq(cli(s, "HSET", "r", "type", "3", "starting", "10"), "(integer) 1")
        eq(cli(s, "GET", "r"), '"10"')
        for fields in (["type", "3", "starting", "10"], ["type", "2", "length", "4"],
                       ["type", "3", "starting", "500"]):
            out = cli(s, "HSET", "r", *fields)
            check(out.startswith("(error) ERR sequence 'r' already exists"),
                  "redefining %r: %r" % (fields, out))
        # Nothing changed: the same definition, the count goes on.
        eq(cli(s, "GET", "r"), '"11"', "the old definition stands")
        f = parse_info(cli(s, "INFO", "r"))
        eq((f.get("type"), f.get("starting")), ("3", "10"), "INFO after refused redefinition")


# ---- DEL / EXISTS --------------------------------------------------------

def test_del_and_exists():
    with server() as s:
        for n in ("a", "b", "c"):
            cli(s, "HSET", n, "type", "3")
        eq(cli(s, "EXISTS", "a"), "(integer) 1")
        eq(cli(s, "EXISTS", "a", "b", "nope"), "(integer) 2", "EXISTS counts")
        eq(cli(s, "EXISTS", "a", "a"), "(integer) 2", "EXISTS counts repeats, as Redis")
        eq(cli(s, "EXISTS", "nope"), "(integer) 0")
        eq(cli(s, "GET", "a"), '"1"')
        eq(cli(s, "DEL", "a", "b", "nope"), "(integer) 2", "DEL counts what it removed")
        eq(cli(s, "EXISTS", "a", "b", "c"), "(integer) 1")
        eq(cli(s, "GET", "a"), "(error) " + NO_SUCH % ("a", "a"), "GET after DEL")
        eq(cli(s, "DEL", "a"), "(integer) 0", "DEL twice")
        eq(cli(s, "DEL", "c", "c"), "(integer) 1", "DEL the same name twice in one command")
        eq(cli(s, "DBSIZE"), "(integer) 0")
        # A deleted name can be defined again, from scratch.
        eq(cli(s, "HSET", "a", "type", "2", "length", "3"), "(integer) 1", "HSET after DEL")
        eq(cli(s, "GET", "a"), '"100"')
        # DEL and EXISTS need a name.
        eq(cli(s, "DEL"), "(error) ERR wrong number of arguments for 'del' command")
        eq(cli(s, "EXISTS"), "(error) ERR wrong number of arguments for 'exists' command")


def test_del_survives_restart():
    s = Seqd().start()
    try:
        cli(s, "HSET", "gone", "type", "3")
        cli(s, "HSET", "kept", "type", "3")
        eq(cli(s, "DEL", "gone"), "(integer) 1")
        eq(s.stop(), 0, "graceful stop exits 0")
        s.start()
        eq(cli(s, "EXISTS", "gone", "kept"), "(integer) 1", "definitions after restart")
    finally:
        if s.proc and s.proc.poll() is None:
            s.stop()


# ---- INFO ----------------------------------------------------------------

def test_info_sections():
    with server() as s:
        cli(s, "HSET", "k1", "type", "3")
        cli(s, "HSET", "k2", "type", "3")
        c = Client(s.port)
        srv = c.command("INFO", "server")
        check(srv.startswith("# Server\r\n"), "INFO server starts with its header: %r" % srv[:40])
        f = parse_info(srv)
        check(re.fullmatch(r"\d+\.\d+\.\d+", f.get("redis_version", "")), "redis_version: %r" % f)
        eq(f.get("seqd_version"), "0.1.0", "seqd_version")
        eq(f.get("tcp_port"), str(s.port), "tcp_port")
        eq(f.get("process_id"), str(s.proc.pid), "process_id")
        check("# Clients" not in srv and "# Stats" not in srv, "INFO server holds only Server")
        cl = parse_info(c.command("INFO", "clients"))
        check(int(cl["connected_clients"]) >= 1, "connected_clients %r" % cl)
        st = c.command("INFO", "stats")
        check(st.startswith("# Stats\r\n"), "INFO stats header")
        check(int(parse_info(st)["total_commands_processed"]) >= 3, "total_commands_processed")
        sto = parse_info(c.command("INFO", "store"))
        eq(sto.get("store_type"), "file", "store_type")
        eq(sto.get("sequences"), "2", "sequences")
        ks = c.command("INFO", "keyspace")
        check(ks.startswith("# Keyspace\r\n"), "keyspace header")
        eq(parse_info(ks).get("db0"), "keys=2,expires=0,avg_ttl=0", "db0 line")
        everything = c.command("INFO", "all")
        default = c.command("INFO")
        for text, what in ((everything, "INFO all"), (default, "INFO")):
            for sec in ("# Server", "# Clients", "# Stats", "# Store", "# Keyspace"):
                check(sec + "\r\n" in text, "%s lacks %s" % (what, sec))
            # Sections are separated by one empty line; the text ends with
            # a line, not an empty line (as Redis).
            check("\r\n\r\n# Clients\r\n" in text, "%s: blank line between sections" % what)
            check(not text.endswith("\r\n\r\n"), "%s ends without a blank line" % what)
        # Section names are case-insensitive; several at once.
        two = c.command("INFO", "SERVER", "Keyspace")
        check("# Server" in two and "# Keyspace" in two and "# Stats" not in two, "INFO server keyspace")
        # redis-cli prints it too.
        out = cli(s, "INFO", "server")
        check("redis_version:" in out, "redis-cli INFO: %r" % out[:80])


def test_info_lines_end_in_crlf():
    """redis_exporter and redis-cli --stat parse CRLF lines."""
    with server() as s:
        cli(s, "HSET", "z", "type", "2", "length", "4")
        cli(s, "GET", "z")
        c = Client(s.port)
        for args in (["INFO"], ["INFO", "all"], ["INFO", "server"], ["INFO", "z"]):
            raw = c.raw(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in args))
            check(raw.startswith(b"$"), "%s is a bulk reply in RESP2: %r" % (args, raw[:20]))
            header, body = raw.split(b"\r\n", 1)
            body = body[:-2]
            eq(len(body), int(header[1:]), "%s bulk length" % args)
            check(body.endswith(b"\r\n") or args != ["INFO", "z"], "INFO z ends its last line")
            stripped = body.replace(b"\r\n", b"")
            check(b"\n" not in stripped and b"\r" not in stripped,
                  "%s has a bare LF or CR: %r" % (args, body[:200]))
            check(body.count(b"\r\n") >= 5, "%s has lines" % args)
        # RESP3: a verbatim string of format txt.
        c.command("HELLO", "3")
        raw = c.raw(b"*1\r\n$4\r\nINFO\r\n")
        check(raw.startswith(b"=") and raw.split(b"\r\n", 1)[1].startswith(b"txt:"),
              "INFO after HELLO 3 is a verbatim string: %r" % raw[:30])


def test_info_sequence_fields():
    with server() as s:
        c = Client(s.port)
        c.command("HSET", "q", "type", "2", "length", "4", "starting", "1000", "step", "3", "segment", "10")
        f = parse_info(c.command("INFO", "q"))
        for key in ("kind", "length", "starting", "step", "current", "segment_current", "segment_next",
                    "generated", "wasted", "waste_rate"):
            check(key in f, "INFO q lacks %s: %r" % (key, sorted(f)))
        eq(f["generated"], "0", "nothing generated yet")
        eq(f["current"], "none", "no number handed out yet")
        nums = [int(c.command("GET", "q")) for _ in range(12)]   # crosses a segment of 10
        eq(nums, [1000 + 3 * i for i in range(12)], "numbers")
        f = parse_info(c.command("INFO", "q"))
        eq((f["kind"], f["length"], f["starting"], f["step"]), ("fixed", "4", "1000", "3"), "definition")
        eq(f["current"], str(nums[-1]), "current is the last number handed out")
        eq(f["generated"], "12", "generated")
        eq(f["wasted"], "0", "wasted")
        eq(f["waste_rate"], "0.00%", "waste_rate")
        m = re.match(r"\[(\d+),(\d+)\) next (\d+) left (\d+)", f["segment_current"])
        check(m is not None, "segment_current: %r" % f["segment_current"])
        start, end, nxt, left = map(int, m.groups())
        check(start <= 12 <= end and nxt == 12 and left == end - 12,
              "segment_current %r after 12 counters" % f["segment_current"])
        check(f["segment_next"] == "none" or re.match(r"\[\d+,\d+\) next \d+ left \d+", f["segment_next"]),
              "segment_next: %r" % f["segment_next"])
        # The reply of INFO name to an unknown name is the no-such error.
        eq(c.command("INFO", "nope"), NO_SUCH % ("nope", "nope"), "INFO unknown name")


def test_info_waste_after_crash():
    """kill -9 wastes the buffered segment; INFO says so after restart."""
    s = Seqd().start()
    try:
        cli(s, "HSET", "w", "type", "3", "segment", "100")
        before = [bulk_int(cli(s, "GET", "w")) for _ in range(3)]
        s.kill()
        s.start()
        after = bulk_int(cli(s, "GET", "w"))
        check(after > max(before), "after kill -9: %d not above %r" % (after, before))
        f = parse_info(cli(s, "INFO", "w"))
        eq(f["generated"], "1", "generated counts this run")
    finally:
        if s.proc and s.proc.poll() is None:
            s.stop()


# ---- connection commands ------------------------------------------------

def test_ping_echo_quit_select():
    with server() as s:
        eq(cli(s, "PING"), "PONG")
        eq(cli(s, "PING", "hello world"), '"hello world"', "PING msg is a bulk reply")
        eq(cli(s, "PING", "a", "b"), "(error) ERR wrong number of arguments for 'ping' command")
        eq(cli(s, "ECHO", "a b\tc"), '"a b\\tc"', "ECHO")
        eq(cli(s, "ECHO"), "(error) ERR wrong number of arguments for 'echo' command")
        eq(cli(s, "SELECT", "0"), "OK")
        eq(cli(s, "SELECT", "1"), "(error) ERR DB index is out of range")
        eq(cli(s, "SELECT", "x"), "(error) ERR value is not an integer or out of range")
        eq(cli(s, "QUIT"), "OK")
        c = Client(s.port)
        eq(c.raw(b"*1\r\n$4\r\nPING\r\n"), b"+PONG\r\n", "PING is a simple string")
        eq(c.raw(b"*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n"), b"$2\r\nhi\r\n", "PING msg")
        eq(c.raw(b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"), b"$0\r\n\r\n", "ECHO empty")
        eq(c.raw(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"), b"+OK\r\n", "SELECT 0")
        eq(c.raw(b"*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n"), b"-ERR DB index is out of range\r\n", "SELECT 1")
        eq(c.raw(b"*1\r\n$4\r\nQUIT\r\n"), b"+OK\r\n", "QUIT")
        check(c.closed_by_server(), "the server closes after QUIT")
        # Commands after QUIT in the same write are not run.
        c = Client(s.port)
        c.send(b"*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n")
        eq(c.read_raw_reply(), b"+OK\r\n")
        check(c.closed_by_server(), "closed after QUIT")
        eq(c.buf, b"", "nothing after QUIT's +OK")


def test_auth():
    with server(requirepass="s3cret") as s:
        c = Client(s.port)
        eq(c.command("GET", "x"), "NOAUTH Authentication required.", "GET before AUTH")
        check(isinstance(c.command("GET", "x"), RespError), "NOAUTH is an error reply")
        eq(c.command("HSET", "x", "type", "3"), "NOAUTH Authentication required.", "HSET before AUTH")
        eq(c.command("PING"), "PONG", "PING works before AUTH (HAProxy redis-check)")
        eq(c.command("AUTH", "wrong"), "WRONGPASS invalid username-password pair or user is disabled.")
        eq(c.command("AUTH", "bob", "s3cret"), "WRONGPASS invalid username-password pair or user is disabled.",
           "only the user 'default' exists")
        eq(c.command("GET", "x"), "NOAUTH Authentication required.", "still not authenticated")
        eq(c.command("AUTH", "s3cret"), "OK")
        eq(c.command("HSET", "x", "type", "3"), 1)
        eq(c.command("GET", "x"), "1")
        c2 = Client(s.port)
        eq(c2.command("AUTH", "default", "s3cret"), "OK", "AUTH default pass")
        eq(c2.command("GET", "x"), "2")
        eq(c2.command("AUTH", "a", "b", "c"), "ERR syntax error", "AUTH with 3 args")
        # redis-cli's own ways.
        eq(cli(s, "GET", "x"), "(error) NOAUTH Authentication required.", "redis-cli without -a")
        eq(cli(s, "GET", "x", password="s3cret"), '"3"', "redis-cli -a")
        eq(cli(s, "GET", "x", user="default", password="s3cret"), '"4"', "redis-cli --user --pass")
        eq(cli(s, "PING"), "PONG", "redis-cli PING without a password")
        r = subprocess.run(["redis-cli", "-p", str(s.port), "-a", "nope", "GET", "x"],
                           capture_output=True, text=True, timeout=10)
        check("WRONGPASS" in r.stderr, "redis-cli -a wrong shows WRONGPASS: %r" % r.stderr)
        eq(parse_info(c.command("INFO", "stats")).get("total_auth_failures"), "3",
           "failed AUTHs are counted")
    # Without requirepass, AUTH is an error as in Redis.
    with server() as s:
        r = Client(s.port).command("AUTH", "x")
        check(isinstance(r, RespError) and r.startswith("ERR AUTH <password> called without any password"),
              "AUTH without requirepass: %r" % r)


def test_auth_without_requirepass_is_like_redis():
    """Redis 7 without requirepass (the default user has nopass): the
    one-argument AUTH is an error, but AUTH default <anything> and HELLO 3
    AUTH default <anything> succeed, so a client configured with a
    password still connects (checked against Debian's redis-server 7.0)."""
    with server() as s:
        c = Client(s.port)
        r = c.command("AUTH", "x")
        check(isinstance(r, RespError) and r.startswith("ERR AUTH <password> called without any password"),
              "AUTH x without requirepass: %r" % r)
        eq(c.command("AUTH", "default", "whatever"), "OK", "AUTH default <any> without requirepass")
        eq(c.command("AUTH", "bob", "whatever"), "WRONGPASS invalid username-password pair or user is disabled.",
           "AUTH of an unknown user")
        m = c.command("HELLO", "3", "AUTH", "default", "whatever")
        check(isinstance(m, dict) and m.get("proto") == 3,
              "HELLO 3 AUTH default <any> without requirepass: %r" % (m,))


def test_hello():
    with server() as s:
        c = Client(s.port)
        cid = c.command("CLIENT", "ID")
        h2 = c.command("HELLO", "2")
        check(isinstance(h2, list) and len(h2) == 14, "HELLO 2 is a flat array of 7 pairs: %r" % h2)
        m2 = dict(zip(h2[::2], h2[1::2]))
        eq(m2["server"], "seqd")
        eq(m2["version"], "0.1.0")
        eq(m2["proto"], 2, "proto is an integer")
        eq(m2["id"], cid, "id is CLIENT ID")
        eq((m2["mode"], m2["role"], m2["modules"]), ("standalone", "master", []))
        raw = c.raw(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n")
        check(raw.startswith(b"%7\r\n"), "HELLO 3 is a RESP3 map of 7: %r" % raw[:20])
        check(b"$5\r\nproto\r\n:3\r\n" in raw, "proto :3 in %r" % raw)
        check(b"$7\r\nmodules\r\n*0\r\n" in raw, "modules empty array in %r" % raw)
        check(b"$2\r\nid\r\n:%d\r\n" % cid in raw, "id in %r" % raw)
        # After HELLO 3 a null is '_'.
        eq(c.raw(b"*2\r\n$6\r\nCLIENT\r\n$7\r\nGETNAME\r\n"), b"_\r\n", "RESP3 null")
        # Errors stay errors, integers stay integers.
        eq(c.raw(b"*1\r\n$3\r\nGET\r\n"), b"-ERR wrong number of arguments for 'get' command\r\n")
        eq(c.raw(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"), b"+OK\r\n")
        check(c.raw(b"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$4\r\nsave\r\n").startswith(b"%1\r\n"),
              "CONFIG GET is a map in RESP3")
        # HELLO without a version keeps the protocol and answers.
        eq(c.command("HELLO")["proto"], 3, "HELLO keeps proto 3")
        # Back to RESP2.
        c.command("HELLO", "2")
        eq(c.raw(b"*2\r\n$6\r\nCLIENT\r\n$7\r\nGETNAME\r\n"), b"$-1\r\n", "RESP2 null after HELLO 2")
        eq(c.command("HELLO", "4"), "NOPROTO unsupported protocol version")
        eq(c.command("HELLO", "x"), "ERR Protocol version is not an integer or out of range")
        r = c.command("HELLO", "3", "FOO")
        check(isinstance(r, RespError) and r.startswith("ERR Syntax error in HELLO option 'FOO'"), "%r" % r)
        # Lowercase, as go-redis sends it.
        eq(c.command("hello", "3", "setname", "lower")["server"], "seqd")
        eq(c.command("CLIENT", "GETNAME"), "lower")
        # redis-cli shows the map.
        out = cli(s, "HELLO", "3")
        check('"server" => "seqd"' in out and '"proto" => (integer) 3' in out, "redis-cli HELLO 3: %r" % out)


def test_hello_auth_setname():
    with server(requirepass="pw") as s:
        c = Client(s.port)
        r = c.command("HELLO", "3")
        check(isinstance(r, RespError) and r.startswith("NOAUTH HELLO must be called"), "HELLO 3 before AUTH: %r" % r)
        eq(c.command("HELLO", "3", "AUTH", "default", "bad"),
           "WRONGPASS invalid username-password pair or user is disabled.")
        eq(c.command("GET", "x"), "NOAUTH Authentication required.")
        m = c.command("HELLO", "3", "AUTH", "default", "pw", "SETNAME", "x")
        check(isinstance(m, dict), "HELLO 3 AUTH reply is a map: %r" % (m,))
        eq((m["server"], m["proto"]), ("seqd", 3))
        eq(c.command("CLIENT", "GETNAME"), "x", "SETNAME in HELLO")
        eq(c.command("HSET", "h", "type", "3"), 1, "authenticated by HELLO")
        eq(c.command("GET", "h"), "1")


def test_client_subcommands():
    with server() as s:
        c = Client(s.port)
        c2 = Client(s.port)
        id1, id2 = c.command("CLIENT", "ID"), c2.command("CLIENT", "ID")
        check(isinstance(id1, int) and isinstance(id2, int) and id1 != id2, "CLIENT ID %r %r" % (id1, id2))
        eq(c.raw(b"*2\r\n$6\r\nCLIENT\r\n$7\r\nGETNAME\r\n"), b"$-1\r\n", "no name: RESP2 null")
        eq(c.command("CLIENT", "SETNAME", "worker-1"), "OK")
        eq(c.command("CLIENT", "GETNAME"), "worker-1")
        eq(c2.command("CLIENT", "GETNAME"), None, "names are per connection")
        r = c.command("CLIENT", "SETNAME", "has space")
        check(isinstance(r, RespError) and "cannot contain spaces" in r, "bad name: %r" % r)
        eq(c.command("CLIENT", "GETNAME"), "worker-1", "a refused name changes nothing")
        eq(c.command("CLIENT", "SETINFO", "LIB-NAME", "redis-py"), "OK")
        eq(c.command("CLIENT", "SETINFO", "lib-ver", "5.0.1"), "OK")
        r = c.command("CLIENT", "SETINFO", "COLOUR", "x")
        check(isinstance(r, RespError), "SETINFO of an unknown attribute: %r" % r)
        info = c.command("CLIENT", "INFO")
        check("lib-name=redis-py" in info and "lib-ver=5.0.1" in info and "name=worker-1" in info
              and "id=%d " % id1 in info, "CLIENT INFO: %r" % info)
        r = c.command("CLIENT", "NOSUCH")
        check(isinstance(r, RespError) and r.startswith("ERR unknown subcommand"), "CLIENT NOSUCH: %r" % r)
        eq(cli(s, "CLIENT", "SETNAME", "cli"), "OK", "redis-cli CLIENT SETNAME")
        check(re.fullmatch(r"\(integer\) \d+", cli(s, "CLIENT", "ID")), "redis-cli CLIENT ID")


def test_command_and_config_get():
    with server() as s:
        c = Client(s.port)
        table = c.command("COMMAND")
        check(isinstance(table, list) and table, "COMMAND is an array")
        names = {e[0] for e in table}
        for n in ("get", "incr", "mget", "next", "hset", "del", "exists", "info", "ping", "echo",
                  "quit", "select", "auth", "hello", "client", "command", "config"):
            check(n in names, "COMMAND lacks %s: %r" % (n, sorted(names)))
        get = [e for e in table if e[0] == "get"][0]
        eq(get[1], 2, "GET's arity")
        eq(c.command("COMMAND", "COUNT"), len(table), "COMMAND COUNT matches COMMAND")
        docs = c.command("COMMAND", "DOCS")
        check(isinstance(docs, (list, dict)), "COMMAND DOCS is an array/map, not an error: %r" % (docs,))
        eq(c.command("CONFIG", "GET", "save"), ["save", ""], "CONFIG GET save")
        eq(c.command("CONFIG", "GET", "appendonly"), ["appendonly", "no"], "CONFIG GET appendonly")
        eq(c.command("CONFIG", "GET", "port"), ["port", str(s.port)], "CONFIG GET port")
        eq(c.command("CONFIG", "GET", "nothing-like-this"), [], "CONFIG GET of no key")
        allc = c.command("CONFIG", "GET", "*")
        check(len(allc) % 2 == 0, "CONFIG GET * is pairs")
        d = dict(zip(allc[::2], allc[1::2]))
        eq(d.get("port"), str(s.port))
        eq(d.get("bind"), "127.0.0.1")
        eq(d.get("save"), "", "save in CONFIG GET *")
        eq(d.get("appendonly"), "no", "appendonly in CONFIG GET *")
        eq(c.command("CONFIG", "GET", "save", "appendonly"), ["save", "", "appendonly", "no"],
           "two patterns, as redis-benchmark 7.2 sends")
        r = c.command("CONFIG", "SET", "port", "1")
        check(isinstance(r, RespError), "CONFIG SET is refused: %r" % r)
        # redis-cli shows it as Redis would.
        eq(cli(s, "CONFIG", "GET", "appendonly"), '1) "appendonly"\n2) "no"')
        check(re.fullmatch(r"\(integer\) \d+", cli(s, "COMMAND", "COUNT")), "redis-cli COMMAND COUNT")


def test_config_resetstat_resets_the_stats():
    """CONFIG RESETSTAT answers OK and the counters of INFO stats start again
    from zero (those of every worker and the listener), then count on."""
    with server() as s:
        c = Client(s.port)
        c.command("HSET", "rs", "type", "3")
        for _ in range(30):
            c.command("GET", "rs")
        others = [Client(s.port) for _ in range(3)]      # on the other worker too
        for o in others:
            o.command("GET", "rs")
        before = parse_info(c.command("INFO", "stats"))
        check(int(before["total_commands_processed"]) >= 34, "commands counted: %r" % before)
        check(int(before["total_numbers_served"]) == 33, "numbers counted: %r" % before)
        check(int(before["total_connections_received"]) >= 4, "connections counted: %r" % before)
        eq(c.command("CONFIG", "RESETSTAT"), "OK")
        after = parse_info(c.command("INFO", "stats"))
        eq(after["total_numbers_served"], "0", "numbers served after RESETSTAT")
        eq(after["total_connections_received"], "0", "connections after RESETSTAT")
        check(int(after["total_commands_processed"]) <= 1, "commands after RESETSTAT: %r" % after)
        for o in others:
            o.command("GET", "rs")
            o.close()
        again = parse_info(c.command("INFO", "stats"))
        eq(again["total_numbers_served"], "3", "counting goes on after RESETSTAT")
        eq(c.command("GET", "rs"), "37", "RESETSTAT touches no sequence")


def test_error_texts():
    with server() as s:
        c = Client(s.port)
        eq(c.raw(b"*3\r\n$3\r\nFOO\r\n$1\r\na\r\n$1\r\nb\r\n"),
           b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n", "unknown command")
        eq(c.raw(b"*1\r\n$6\r\nfooBar\r\n"),
           b"-ERR unknown command 'fooBar', with args beginning with: \r\n", "unknown command, no args")
        eq(cli(s, "FOO", "a", "b"), "(error) ERR unknown command 'FOO', with args beginning with: 'a' 'b' ")
        for args, name in ((["GET"], "get"), (["GET", "a", "b"], "get"), (["INCR"], "incr"),
                           (["MGET"], "mget"), (["NEXT", "a"], "next"), (["NEXT", "a", "1", "2"], "next"),
                           (["HSET", "a"], "hset"), (["SELECT"], "select"), (["get"], "get")):
            eq(c.command(*args), "ERR wrong number of arguments for '%s' command" % name, "arity of %r" % args)
        for args in (["GET", "nope"], ["INCR", "nope"], ["MGET", "nope"], ["NEXT", "nope", "2"]):
            eq(c.command(*args), NO_SUCH % ("nope", "nope"), "%r on an unknown name" % args)
        c.command("HSET", "ok", "type", "3")
        # Command names are case-insensitive.
        eq(c.command("GeT", "ok"), "1", "mixed-case GeT")
        eq(c.command("get", "ok"), "2", "lowercase get")
        eq(c.command("MGET", "ok", "nope"), NO_SUCH % ("nope", "nope"), "MGET with one unknown name")
        for bad in ("0", "100001", "-1", "abc", ""):
            eq(c.command("NEXT", "ok", bad), "ERR count must be an integer from 1 to 100000", "NEXT %r" % bad)
        big = c.command("NEXT", "ok", "100000")
        eq(len(big), 100000, "NEXT 100000")
        # MGET ok nope took nothing: every name is found before any number is taken.
        eq([int(x) for x in big[:3]], [3, 4, 5], "NEXT 100000 continues")
        eq(int(big[-1]), 100002, "NEXT 100000 ends")


# ---- exhaustion -----------------------------------------------------------

def test_type1_length3_covers_range_then_exhausted():
    """Issue 2: 900 GETs give 900 distinct numbers in 100..999; the 901st is
    the exhausted error. Driven by redis-cli reading from stdin."""
    with server() as s:
        eq(cli(s, "HSET", "x", "type", "1", "length", "3"), "(integer) 1")
        out = cli(s, input="GET x\n" * 902, timeout=30).split("\n")
        eq(len(out), 902, "one line per command")
        nums = [bulk_int(x) for x in out[:900]]
        covers_once(nums, 100, 999, "900 GETs of type 1 length 3")
        check(nums != sorted(nums), "type 1 order is not increasing")
        eq(out[900], "(error) ERR sequence 'x' is exhausted", "901st GET")
        eq(out[901], "(error) ERR sequence 'x' is exhausted", "902nd GET")
        eq(cli(s, "INCR", "x"), "(error) ERR sequence 'x' is exhausted", "INCR on an exhausted sequence")
        eq(cli(s, "NEXT", "x", "1"), "(error) ERR sequence 'x' is exhausted")
        eq(parse_info(cli(s, "INFO", "x")).get("generated"), "900", "generated after exhaustion")
        # Still exhausted after a graceful restart.
        eq(s.stop(), 0)
        s.start()
        eq(cli(s, "GET", "x"), "(error) ERR sequence 'x' is exhausted", "exhausted after restart")


def test_type1_exhaustion_across_small_segments():
    """The same over many claims (segment 64: 15 claims, the last partial),
    pipelined on one raw connection, and with NEXT."""
    with server() as s:
        c = Client(s.port)
        eq(c.command("HSET", "y", "type", "1", "length", "3", "segment", "64"), 1)
        c.send(b"*2\r\n$3\r\nGET\r\n$1\r\ny\r\n" * 450)
        nums = [c.read_reply() for _ in range(450)]
        nums += c.command("NEXT", "y", "450")
        nums = [int(n) for n in nums]
        covers_once(nums, 100, 999, "type 1 length 3 with segment 64")
        eq(c.command("GET", "y"), "ERR sequence 'y' is exhausted")
        eq(c.command("HSET", "one", "type", "1", "length", "1"), 1)
        covers_once([int(c.command("GET", "one")) for _ in range(9)], 1, 9, "type 1 length 1")
        eq(c.command("GET", "one"), "ERR sequence 'one' is exhausted")


def test_type2_exhaustion():
    with server() as s:
        eq(cli(s, "HSET", "x", "type", "2", "length", "2", "starting", "97"), "(integer) 1")
        out = cli(s, input="GET x\nGET x\nINCR x\nGET x\nGET x\n").split("\n")
        eq(out, ['"97"', '"98"', "(integer) 99", "(error) ERR sequence 'x' is exhausted",
                 "(error) ERR sequence 'x' is exhausted"], "type 2 length 2 from 97")
        c = Client(s.port)
        c.command("HSET", "st", "type", "2", "length", "2", "starting", "95", "step", "2")
        eq([c.command("GET", "st") for _ in range(4)], ["95", "97", "99", "ERR sequence 'st' is exhausted"],
           "type 2 with step 2")
        c.command("HSET", "nx", "type", "2", "length", "1", "starting", "7")
        r = c.command("NEXT", "nx", "5")
        eq(r, "ERR sequence 'nx' is exhausted", "NEXT asking past the end")
        c.command("HSET", "nx2", "type", "2", "length", "1", "starting", "7")
        eq(c.command("NEXT", "nx2", "3"), ["7", "8", "9"], "NEXT exactly to the end")
        eq(c.command("GET", "nx2"), "ERR sequence 'nx2' is exhausted")


# ---- interactive redis-cli ------------------------------------------------

def test_redis_cli_interactive_stdin():
    """`redis-cli -p N` without a command reads commands from stdin."""
    with server() as s:
        script = ("HSET i type 3\nGET i\nINCR i\nMGET i i\nNEXT i 2\nPING\nECHO hi\nSELECT 0\n"
                  "EXISTS i\nGET nope\nCLIENT SETNAME me\nCLIENT GETNAME\nDEL i\nEXISTS i\n")
        r = subprocess.run(["redis-cli", "-p", str(s.port)], input=script, capture_output=True,
                           text=True, timeout=20)
        eq(r.returncode, 0, "redis-cli exit code")
        # (redis-cli's raw output puts an empty line after an error.)
        want = ["1", "1", "2", "3", "4", "5", "6", "PONG", "hi", "OK", "1", NO_SUCH % ("nope", "nope"), "",
                "OK", "me", "1", "0"]
        eq(r.stdout.rstrip("\n").split("\n"), want, "redis-cli stdin session (raw output)")


def test_redis_cli_interactive_tty():
    """A real interactive redis-cli session on a terminal (a pty, TERM=dumb
    so no terminal escape dialogue is needed): it sends COMMAND DOCS on
    start and prints formatted replies after a prompt."""
    with server() as s:
        pid, fd = pty.fork()
        if pid == 0:  # child
            os.environ["TERM"] = "dumb"
            os.environ["HOME"] = s.tmp     # no ~/.redisclirc, history in tmp
            try:
                os.execvp("redis-cli", ["redis-cli", "-h", "127.0.0.1", "-p", str(s.port)])
            finally:
                os._exit(127)
        out = b""
        prompt = b"127.0.0.1:%d> " % s.port

        def read_until(token, timeout=5.0):
            nonlocal out
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                if out.count(prompt) >= token:
                    return True
                r, _, _ = select.select([fd], [], [], 0.1)
                if r:
                    try:
                        data = os.read(fd, 65536)
                    except OSError:
                        return False
                    if not data:
                        return False
                    out += data
            return out.count(prompt) >= token

        try:
            check(read_until(1), "no prompt: %r" % out)
            cmds = [b"HSET t type 2 length 3", b"GET t", b"INCR t", b"GET nope", b"HELLO 3", b"CLIENT GETNAME"]
            for i, cmd in enumerate(cmds):
                os.write(fd, cmd + b"\r")
                check(read_until(i + 2), "no prompt after %r: %r" % (cmd, out))
            os.write(fd, b"QUIT\r")
            text = out.decode("utf-8", "replace").replace("\r\n", "\n")
            for want in ("(integer) 1", '"100"', "(integer) 101",
                         "(error) " + NO_SUCH % ("nope", "nope"), '"server" => "seqd"', "(nil)"):
                check(want in text, "interactive session lacks %r:\n%s" % (want, text))
        finally:
            try:
                os.close(fd)
            except OSError:
                pass
            try:
                wait_exit(pid, 5, "redis-cli exits after QUIT")
            except WaitTimeout:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
        stats = parse_info(cli(s, "INFO", "stats"))
        # COMMAND DOCS on start, then the six commands (QUIT may not be
        # counted: the pty closes at once).
        check(int(stats["total_commands_processed"]) >= 7,
              "the session's commands were run: %r\n%s" % (stats, text))


# ---- load -------------------------------------------------------------------

def bench(s, pipeline, n, clients=50):
    r = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(s.port), "-q", "-c", str(clients),
                        "-n", str(n), "-P", str(pipeline), "GET", "bench"],
                       capture_output=True, text=True, timeout=60)
    text = r.stdout + r.stderr
    eq(r.returncode, 0, "redis-benchmark -P %d exit code (output %r)" % (pipeline, text[-300:]))
    check("requests per second" in text, "redis-benchmark -P %d result line: %r" % (pipeline, text[-300:]))
    for bad in ("error", "Error", "ERR", "WARN", "Could not"):
        check(bad not in text, "redis-benchmark -P %d printed %r: %r" % (pipeline, bad, text[-300:]))
    return text


def test_redis_benchmark_get():
    with server() as s:
        c = Client(s.port)
        c.command("HSET", "bench", "type", "3")
        first = int(c.command("GET", "bench"))
        before = int(parse_info(c.command("INFO", "bench"))["current"])
        eq(before, first, "current before the load")
        bench(s, 1, 20000)
        mid = parse_info(c.command("INFO", "bench"))
        check(int(mid["current"]) >= before + 20000, "current after -P 1: %r" % mid["current"])
        bench(s, 16, 200000)
        after = parse_info(c.command("INFO", "bench"))
        check(int(after["current"]) >= int(mid["current"]) + 200000, "current after -P 16: %r" % after["current"])
        check(int(after["generated"]) >= 220001, "generated after both runs: %r" % after["generated"])
        nxt = int(c.command("GET", "bench"))
        check(nxt > int(after["current"]), "GET after the load: %d not above current %s" % (nxt, after["current"]))
        eq(parse_info(c.command("INFO", "stats"))["total_protocol_errors"], "0", "no protocol errors")


@timing_bound
def test_redis_benchmark_next_pipelined():
    """Big replies in a deep pipeline (64 x NEXT 1000, ~780 KB of replies
    per round trip): redis-benchmark must finish, not hang."""
    with server() as s:
        c = Client(s.port)
        c.command("HSET", "nb", "type", "3")
        try:
            r = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(s.port), "-q", "-c", "4",
                                "-n", "2000", "-P", "64", "NEXT", "nb", "1000"],
                               capture_output=True, text=True, timeout=20)
        except subprocess.TimeoutExpired:
            raise AssertionError("redis-benchmark -P 64 NEXT nb 1000 did not finish within 20 s")
        eq(r.returncode, 0, "redis-benchmark exit code (%r)" % (r.stdout + r.stderr)[-300:])
        check("requests per second" in r.stdout, "result line: %r" % r.stdout[-300:])
        f = parse_info(c.command("INFO", "nb"))
        check(int(f["generated"]) >= 2000 * 1000, "generated %s" % f["generated"])
        eq(c.command("PING"), "PONG")


def test_concurrent_clients_never_share_a_number():
    """Many connections spread over the workers, small segments so claims
    race: every number is handed out once, each client sees its own
    numbers increase (types 3 and 2), type 1 stays unique."""
    with server() as s:
        c = Client(s.port)
        c.command("HSET", "u", "type", "3", "segment", "7")
        c.command("HSET", "f", "type", "2", "length", "9", "segment", "5")
        c.command("HSET", "r", "type", "1", "length", "5", "segment", "11")
        results, errors = {}, []

        def worker(i):
            try:
                k = Client(s.port)
                mine = {"u": [], "f": [], "r": []}
                for _ in range(20):
                    k.send(b"*2\r\n$3\r\nGET\r\n$1\r\nu\r\n" * 50 +
                           b"*3\r\n$4\r\nNEXT\r\n$1\r\nf\r\n$2\r\n25\r\n" +
                           b"*3\r\n$4\r\nMGET\r\n$1\r\nr\r\n$1\r\nr\r\n")
                    mine["u"] += [int(k.read_reply()) for _ in range(50)]
                    mine["f"] += [int(x) for x in k.read_reply()]
                    mine["r"] += [int(x) for x in k.read_reply()]
                results[i] = mine
                k.close()
            except Exception as e:  # noqa: BLE001
                errors.append("client %d: %r" % (i, e))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        check(not errors, "client errors: %r" % errors)
        eq(len(results), 8, "all clients finished")
        for kind, total in (("u", 8 * 20 * 50), ("f", 8 * 20 * 25), ("r", 8 * 20 * 2)):
            every = [n for m in results.values() for n in m[kind]]
            eq(len(every), total, "%s count" % kind)
            eq(len(set(every)), total, "%s: distinct numbers among %d handed out" % (kind, total))
            if kind != "r":
                for i, m in results.items():
                    check(all(a < b for a, b in zip(m[kind], m[kind][1:])),
                          "client %d saw %s go down" % (i, kind))
        covers_once([n for m in results.values() for n in m["u"]], 1, 8000,
                    "type 3 counters with no gap within one run")


if __name__ == "__main__":
    run_tests([
        test_config_resetstat_resets_the_stats,
        test_type3_get_incr_mget_next,
        test_type2_get_incr_mget_next,
        test_type1_get_incr_mget_next,
        test_type1_two_sequences_differ,
        test_hset_fields_show_in_info,
        test_hset_auto_disk_values,
        test_hset_validation_errors,
        test_hset_redefine_is_an_error,
        test_del_and_exists,
        test_del_survives_restart,
        test_info_sections,
        test_info_lines_end_in_crlf,
        test_info_sequence_fields,
        test_info_waste_after_crash,
        test_ping_echo_quit_select,
        test_auth,
        test_auth_without_requirepass_is_like_redis,
        test_hello,
        test_hello_auth_setname,
        test_client_subcommands,
        test_command_and_config_get,
        test_error_texts,
        test_type1_length3_covers_range_then_exhausted,
        test_type1_exhaustion_across_small_segments,
        test_type2_exhaustion,
        test_redis_cli_interactive_stdin,
        test_redis_cli_interactive_tty,
        test_redis_benchmark_get,
        test_redis_benchmark_next_pipelined,
        test_concurrent_clients_never_share_a_number,
    ])
