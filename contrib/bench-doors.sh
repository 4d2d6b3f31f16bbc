#!/bin/sh
# bench-doors.sh: each of seqd's doors on one node, a single number per
# request, next to seqd's RESP GET and Redis INCR, same machine, same run.
#
# Starts Debian's redis-server (no persistence) and one seqd (file store in
# a temporary directory; RESP, HTTP and UDP doors) on free loopback ports,
# defines the sequence bench_id and the UDP rule bench_rule on RESP (the
# UDP door's counter for app bench_app is the sequence bench_rule:bench_app,
# made on first use), then R times runs, in an order that rotates from one
# run to the next so that no door always runs first or warm:
#   Redis INCR bench_id        redis-benchmark, CLIENTS clients, -P 1, N requests
#   seqd RESP GET bench_id     redis-benchmark, the same
#   HTTP FeatherID             wrk, 2 threads, CLIENTS keep-alive connections, D s:
#                              GET /api/v1/id?biz_tag=bench_id
#   HTTP Leaf                  wrk, the same: GET /api/segment/get/bench_id
#   UDP JSON (id_server)       udp-bench (contrib/udp-bench.c, compiled here with
#                              cc -O2), CLIENTS requests in flight, D s
# and prints the median requests/s of each door with its ratio to RESP GET
# and to Redis INCR. The load generators run on the same CPUs as the
# servers. Builds nothing of seqd: it runs $SEQD_BIN, else src/seqd next
# to this script's checkout. The shared machinery is in bench-lib.sh.
#
# Usage: contrib/bench-doors.sh
# Environment (all optional):
#   SEQD_BIN       seqd binary (default: <checkout>/build/src/seqd, else <checkout>/src/seqd)
#   REDIS_SERVER   redis-server binary (default: /usr/bin/redis-server)
#   R              runs per door (default 3; the median is shown)
#   D              seconds of each wrk and udp-bench run (default 5)
#   N              requests per redis-benchmark run (default D x 100000)
#   CLIENTS        connections, or UDP requests in flight (default 50)
#   UDP_SOCKETS    sockets udp-bench spreads its requests over (default 2)
#   SEQD_WORKERS   seqd "workers" (default 0: one per CPU)
#   RUN_TIMEOUT    seconds after which one load run is stopped (default D + 120)
#   CC             C compiler for udp-bench (default cc)
# A run that fails stops the script with exit status 1: an error reply
# (redis-benchmark aborts; wrk counts a non-2xx answer or a socket error;
# udp-bench a non-zero code), or the timeout. A UDP datagram not answered
# within a second is counted as lost, shown, and not a failure. A seqd
# built without the UDP door (it refuses udp.port) is run without it and
# the UDP row says so. Everything the script started is stopped and its
# temporary directory removed on exit.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
R=${R:-3}
D=${D:-5}
N=${N:-$((D * 100000))}
CLIENTS=${CLIENTS:-50}
UDP_SOCKETS=${UDP_SOCKETS:-2}
SEQD_WORKERS=${SEQD_WORKERS:-0}
RUN_TIMEOUT=${RUN_TIMEOUT:-$((D + 120))}
CC=${CC:-cc}
KEY=bench_id
RULE=bench_rule
APP=bench_app
WRK_THREADS=2

die() { echo "bench-doors.sh: $*" >&2; exit 1; }
# shellcheck source-path=SCRIPTDIR source=bench-lib.sh
. "$here/bench-lib.sh"

bench_need_seqd_and_redis
command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
command -v "$CC" >/dev/null || die "no C compiler '$CC' for udp-bench (apt-get install build-essential, or set CC)"
[ "$CLIENTS" -ge "$WRK_THREADS" ] || die "CLIENTS must be at least $WRK_THREADS (wrk's threads)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seqd-bench-doors.XXXXXX")
bench_trap_cleanup

"$CC" -O2 -o "$tmp/udp-bench" "$here/udp-bench.c" 2>"$tmp/cc.log" ||
    die "cannot compile $here/udp-bench.c: $(tail -n 5 "$tmp/cc.log")"

# Four distinct free loopback ports (TCP-free; the UDP door's is very
# likely UDP-free too, and seqd says so at start-up when it is not).
# shellcheck disable=SC2046 # four words, split on purpose
set -- $(bench_free_ports 4)
redis_port=$1
seqd_port=$2
http_port=$3
udp_port=$4

bench_start_redis "$redis_port"

# Starts seqd with the UDP door on port $1 (0: off); sets seqd_pid.
seqd_start() {  # udp_port
    bench_start_seqd_file "$seqd_port" "\"http\": { \"bind\": \"127.0.0.1\", \"port\": $http_port },
  \"udp\": { \"bind\": \"127.0.0.1\", \"port\": $1 },"
}

mkdir "$tmp/data"
udp_skipped=
seqd_start "$udp_port"
bench_wait_ping "$redis_port" redis "$redis_pid"
# A seqd without the UDP door refuses to start with udp.port set: run it
# without the door, and say so in the table.
if ! (bench_wait_ping "$seqd_port" seqd "$seqd_pid") 2>"$tmp/wait.err"; then
    if ! grep -q 'UDP door is not built' "$tmp/seqd.log"; then
        cat "$tmp/wait.err" >&2
        exit 1
    fi
    udp_skipped="skipped: this seqd has no UDP door ($(grep -o 'udp: .*not built[^"]*' "$tmp/seqd.log" | head -n 1))"
    wait "$seqd_pid" 2>/dev/null || true
    bench_pids=${bench_pids#"$seqd_pid "}     # gone: nothing to stop
    seqd_start 0
    bench_wait_ping "$seqd_port" seqd "$seqd_pid"
fi

seqd_cli() {
    redis-cli -h 127.0.0.1 -p "$seqd_port" "$@"
}
[ "$(seqd_cli HSET "$KEY" type 3 segment 100000)" = 1 ] || die "HSET $KEY failed on seqd"
[ "$(seqd_cli HSET "$RULE" type 3 segment 100000)" = 1 ] || die "HSET $RULE failed on seqd"
redis-cli -h 127.0.0.1 -p "$redis_port" DEL "$KEY" >/dev/null

# One wrk run of D seconds against the path; prints its requests/s, or
# dies on a non-2xx answer, a socket error or the timeout.
wrk_run() {  # path
    wrk_out=$(timeout "$RUN_TIMEOUT" wrk -t "$WRK_THREADS" -c "$CLIENTS" -d "${D}s" \
        "http://127.0.0.1:$http_port$1" 2>&1) || die "wrk $1 failed:
$(printf '%s\n' "$wrk_out" | tail -n 5)"
    case $wrk_out in
    *Non-2xx*|*"Socket errors"*) die "wrk $1: errors:
$(printf '%s\n' "$wrk_out" | grep -e Non-2xx -e 'Socket errors')" ;;
    esac
    wrk_rps=$(printf '%s\n' "$wrk_out" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
    [ -n "$wrk_rps" ] || die "no Requests/sec in the output of wrk $1:
$(printf '%s\n' "$wrk_out" | tail -n 5)"
    echo "$wrk_rps"
}

# One udp-bench run of D seconds; prints its requests/s and appends its
# line (lost, late, errors) to $tmp/udp.runs, or dies on an error reply,
# no answer or the timeout.
udp_run() {
    udp_out=$(timeout "$RUN_TIMEOUT" "$tmp/udp-bench" -c "$CLIENTS" -d "$D" -s "$UDP_SOCKETS" \
        -r "$RULE" -a "$APP" 127.0.0.1 "$udp_port" 2>&1) || die "udp-bench failed:
$(printf '%s\n' "$udp_out" | tail -n 5)"
    printf '%s\n' "$udp_out" >>"$tmp/udp.runs"
    udp_rps=$(printf '%s\n' "$udp_out" | sed -n 's/^rps=\([0-9]*\) .*/\1/p')
    [ -n "$udp_rps" ] || die "no rps= in the output of udp-bench: $udp_out"
    echo "$udp_rps"
}

# One run of a door; prints its requests/s.
door_run() {  # door
    case $1 in
    redis) bench_run "$redis_port" 1 INCR "$KEY" ;;
    resp) bench_run "$seqd_port" 1 GET "$KEY" ;;
    featherid) wrk_run "/api/v1/id?biz_tag=$KEY" ;;
    leaf) wrk_run "/api/segment/get/$KEY" ;;
    udp) udp_run ;;
    esac
}

doors="redis resp featherid leaf"
[ -n "$udp_skipped" ] || doors="$doors udp"

cpus=$(nproc 2>/dev/null || echo "?")
echo "seqd $("$SEQD_BIN" -v | sed 's/^seqd //') ($SEQD_BIN) vs $("$REDIS_SERVER" --version | sed 's/ sha=.*//')"
echo "one GET per request, $CLIENTS clients: redis-benchmark -P 1 -n $N; wrk -t $WRK_THREADS -d ${D}s (keep-alive);"
echo "udp-bench $CLIENTS in flight over $UDP_SOCKETS sockets, ${D}s; $R runs each (order rotating), median shown;"
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
echo "$cpus CPUs (load average $load at the start), servers and load generators on the same machine"
echo

n=1
while [ $n -le "$R" ]; do
    # shellcheck disable=SC2086 # a list of door names, split on purpose
    set -- $doors
    i=1
    while [ $i -lt $n ]; do     # rotate: run n starts with door n (mod count)
        first=$1
        shift
        set -- "$@" "$first"
        i=$((i + 1))
    done
    line=
    for door in "$@"; do
        rps=$(door_run "$door")
        eval "all_$door=\"\${all_$door:-} $rps\""
        line="$line, $door $rps/s"
    done
    echo "  run $n: ${line#, }"
    n=$((n + 1))
done

# Both servers must still be there: a crash under load is a failure too.
kill -0 "$redis_pid" 2>/dev/null || die "redis-server died during the run"
kill -0 "$seqd_pid" 2>/dev/null || die "seqd died during the run (log: $(tail -n 5 "$tmp/seqd.log"))"

for door in $doors; do
    eval "runs=\$all_$door"
    # shellcheck disable=SC2086,SC2154 # a list of numbers, split on purpose; set by eval
    eval "med_$door=$(bench_median $runs)"
done

ratio() {  # value base
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}
echo
printf '%-16s %-16s %12s %10s %12s\n' door tool requests/s "/RESP GET" "/Redis INCR"
for door in redis resp featherid leaf udp; do
    case $door in
    redis) label="Redis INCR" tool=redis-benchmark ;;
    resp) label="RESP GET" tool=redis-benchmark ;;
    featherid) label="HTTP FeatherID" tool=wrk ;;
    leaf) label="HTTP Leaf" tool=wrk ;;
    udp) label="UDP JSON" tool=udp-bench ;;
    esac
    if [ "$door" = udp ] && [ -n "$udp_skipped" ]; then
        printf '%-16s %-16s %s\n' "$label" "$tool" "$udp_skipped"
        continue
    fi
    eval "med=\$med_$door"
    # shellcheck disable=SC2154 # med_resp and med_redis are set by eval above
    printf '%-16s %-16s %12s %10s %12s\n' "$label" "$tool" "$med" \
        "$(ratio "$med" "$med_resp")" "$(ratio "$med" "$med_redis")"
done

echo
echo "HTTP: GET /api/v1/id?biz_tag=$KEY (FeatherID, JSON), GET /api/segment/get/$KEY (Leaf, text)"
if [ -z "$udp_skipped" ]; then
    awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); s[kv[1]] += kv[2] } }
        END { printf "UDP: {\"action\":\"get\",\"rule_name\":\"'"$RULE"'\",\"app_name\":\"'"$APP"'\",\"seq\":N}; " \
              "%d replies in %d runs, %d lost (no reply within 1 s), %d late, %d errors\n",
              s["replies"], NR, s["lost"], s["late"], s["errors"] }' "$tmp/udp.runs"
fi
