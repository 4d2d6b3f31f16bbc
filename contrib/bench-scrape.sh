#!/bin/sh
# bench-scrape.sh: does a /metrics scrape of many sequences hold up clients?
#
# Starts one seqd (memory store, HTTP door on) and defines SEQUENCES
# sequences (default 100000). Then, R times each, in turn: a
# redis-benchmark GET load (CLIENTS connections, -P 1) alone; the same load
# beside a busy loop that only burns one CPU (what any other busy process
# on the machine does to latency); and the same load while a loop scrapes
# /metrics back to back (far more often than any Prometheus would). Prints
# the time one scrape takes and its size, and the median of the GET
# latency summary (p50, p99, max in ms) and requests/s of each case. A
# scrape that holds up a worker shows as a max well past the busy loop's.
#
# Usage: contrib/bench-scrape.sh
# Environment (all optional):
#   SEQD_BIN     seqd binary (default: <checkout>/build/src/seqd, else <checkout>/src/seqd)
#   SEQUENCES    sequences defined (default 100000)
#   N            requests per redis-benchmark run (default 200000)
#   R            runs per case (default 3; the median is shown)
#   CLIENTS      redis-benchmark connections (default 4)
#   RUN_TIMEOUT  seconds after which one run is stopped (default 120)

set -eu

here=$(cd "$(dirname "$0")" && pwd)
SEQUENCES=${SEQUENCES:-100000}
N=${N:-200000}
R=${R:-3}
CLIENTS=${CLIENTS:-4}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}

die() { echo "bench-scrape.sh: $*" >&2; exit 1; }
# shellcheck source-path=SCRIPTDIR source=bench-lib.sh
. "$here/bench-lib.sh"

[ -x "$SEQD_BIN" ] || die "no seqd binary at $SEQD_BIN (build it, or set SEQD_BIN)"
for tool in redis-benchmark redis-cli curl python3; do
    command -v $tool >/dev/null || die "$tool not found (contrib/deps.sh --test installs it)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seqd-bench-scrape.XXXXXX")
bench_trap_cleanup

# shellcheck disable=SC2046 # two words, split on purpose
set -- $(bench_free_ports 2)
port=$1
http_port=$2
cat >"$tmp/seqd.json" <<EOF
{ "bind": "127.0.0.1", "port": $port, "workers": 2, "log": { "level": "warning" },
  "http": { "bind": "127.0.0.1", "port": $http_port },
  "store": { "type": "memory" } }
EOF
"$SEQD_BIN" -c "$tmp/seqd.json" >"$tmp/seqd.log" 2>&1 &
seqd_pid=$!
bench_started "$seqd_pid"
bench_wait_ping "$port" seqd "$seqd_pid"

# The sequences, pipelined: HSET s<i> type 3.
python3 - "$SEQUENCES" <<'EOF' | timeout "$RUN_TIMEOUT" redis-cli -p "$port" --pipe >"$tmp/pipe.log" 2>&1 ||
import sys
out = sys.stdout.buffer
for i in range(int(sys.argv[1])):
    n = b"s%d" % i
    out.write(b"*4\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n$4\r\ntype\r\n$1\r\n3\r\n" % (len(n), n))
EOF
    die "defining $SEQUENCES sequences failed: $(cat "$tmp/pipe.log")"
redis-cli -p "$port" HSET bench type 3 >/dev/null
[ "$(redis-cli -p "$port" DBSIZE)" = $((SEQUENCES + 1)) ] || die "DBSIZE is not $((SEQUENCES + 1))"

scrape() {
    curl -s -o "$tmp/metrics.txt" -w '%{time_total} %{size_download}\n' --max-time 30 \
        "http://127.0.0.1:$http_port/metrics"
}
# shellcheck disable=SC2046 # two words, split on purpose
set -- $(scrape)
echo "one scrape of $SEQUENCES sequences: $(echo "$1" | awk '{printf "%.0f ms", $1 * 1000}'), $(($2 / 1000000)) MB"

# One GET load; prints "rps p50 p99 max".
get_load() {
    timeout "$RUN_TIMEOUT" redis-benchmark -p "$port" -c "$CLIENTS" -n "$N" --precision 3 GET bench \
        >"$tmp/bench.txt" 2>&1 || die "redis-benchmark failed: $(tail -3 "$tmp/bench.txt")"
    tr '\r' '\n' <"$tmp/bench.txt" | awk '
        /requests per second/ { for (i = 1; i <= NF; i++) if ($i == "requests") rps = $(i - 1) }
        /latency summary/ { getline; getline; p50 = $3; p99 = $5; max = $6 }
        END { print rps, p50, p99, max }'
}

for _ in $(seq "$R"); do
    get_load >>"$tmp/alone.txt"
    # One CPU burnt for as long as the load runs (bounded).
    python3 -c 'import os, sys, time
end = time.monotonic() + int(sys.argv[1])
while time.monotonic() < end and not os.path.exists(sys.argv[2]):
    pass' "$RUN_TIMEOUT" "$tmp/stop" &
    burner=$!
    get_load >>"$tmp/busy.txt"
    touch "$tmp/stop"
    wait "$burner"
    rm -f "$tmp/stop"
    # Scrapes back to back for as long as the load runs (bounded).
    (end=$(($(date +%s) + RUN_TIMEOUT)); n=0
     while [ ! -e "$tmp/stop" ] && [ "$(date +%s)" -lt "$end" ]; do scrape >/dev/null; n=$((n + 1)); done
     echo "$n" >>"$tmp/scrapes.txt") &
    scraper=$!
    sleep 0.2
    get_load >>"$tmp/scraped.txt"
    touch "$tmp/stop"
    wait "$scraper"
    rm -f "$tmp/stop"
done

column() {  # file field: the median, with the decimals of a latency
    awk -v f="$2" '{ print $f }' "$1" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf (m >= 1000 ? "%.0f\n" : "%.3f\n"), m }'
}
echo
printf '%-26s %12s %10s %10s %10s\n' "GET bench ($CLIENTS clients)" "requests/s" "p50 ms" "p99 ms" "max ms"
for case in alone busy scraped; do
    label="alone"
    [ $case = busy ] && label="beside a busy loop"
    [ $case = scraped ] && label="during /metrics scrapes"
    printf '%-26s %12s %10s %10s %10s\n' "$label" "$(column "$tmp/$case.txt" 1)" "$(column "$tmp/$case.txt" 2)" \
        "$(column "$tmp/$case.txt" 3)" "$(column "$tmp/$case.txt" 4)"
done
echo "(medians of $R runs; scrapes per run: $(tr '\n' ' ' <"$tmp/scrapes.txt"))"
