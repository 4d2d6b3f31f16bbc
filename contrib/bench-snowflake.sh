#!/bin/sh
# bench-snowflake.sh: snowflake ids (type 5) per second of one seqd node,
# next to a type 3 sequence and Redis INCR, same load, same run.
#
# Starts Debian's redis-server (no persistence) and seqd (file store in a
# temporary directory, worker_id 0) side by side on free loopback ports,
# then for each pipeline depth runs the same redis-benchmark load (50
# clients) against Redis `INCR bench_id`, seqd `GET bench_id` (type 3) and
# seqd `GET bench_sf` (type 5), R times in a rotating order, and prints the
# median requests/s of each and the ratio to Redis. Then batches: one
# client sends `NEXT bench_sf $BATCH` (and the same for type 3) NEXT_N
# times; the table shows the ids/s (requests/s x BATCH). A node makes at
# most 4096 snowflake ids a millisecond (4.096 M/s): NEXT waits for the
# next millisecond past that. Builds nothing; the shared machinery is in
# bench-lib.sh, beside this script.
#
# Usage: contrib/bench-snowflake.sh
# Environment (all optional):
#   SEQD_BIN       seqd binary (default: <checkout>/build/src/seqd, else <checkout>/src/seqd)
#   REDIS_SERVER   redis-server binary (default: /usr/bin/redis-server)
#   N              requests per redis-benchmark GET/INCR run (default 200000)
#   R              runs per server and depth (default 3; the median is shown)
#   CLIENTS        parallel connections of the GET/INCR runs (default 50)
#   DEPTHS         pipeline depths (default "1 16")
#   BATCH          NEXT's count (default 100000, its maximum)
#   NEXT_N         NEXT requests per run (default 60)
#   NEXT_CLIENTS   parallel connections of the NEXT runs (default 1)
#   SEQD_WORKERS   seqd "workers" (default 0: one per CPU)
#   RUN_TIMEOUT    seconds after which one redis-benchmark run is stopped
#                  (default 120)
# A run that fails stops the script with exit status 1. Everything it
# started is stopped and its temporary directory removed on exit.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
N=${N:-200000}
R=${R:-3}
CLIENTS=${CLIENTS:-50}
DEPTHS=${DEPTHS:-1 16}
BATCH=${BATCH:-100000}
NEXT_N=${NEXT_N:-60}
NEXT_CLIENTS=${NEXT_CLIENTS:-1}
SEQD_WORKERS=${SEQD_WORKERS:-0}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}

die() { echo "bench-snowflake.sh: $*" >&2; exit 1; }
# shellcheck source-path=SCRIPTDIR source=bench-lib.sh
. "$here/bench-lib.sh"

bench_need_seqd_and_redis

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seqd-bench.XXXXXX")
bench_trap_cleanup

bench_start_redis_and_seqd '"worker_id": 0,'
[ "$(redis-cli -h 127.0.0.1 -p "$seqd_port" HSET bench_id type 3)" = 1 ] || die "HSET bench_id failed on seqd"
[ "$(redis-cli -h 127.0.0.1 -p "$seqd_port" HSET bench_sf type 5)" = 1 ] || die "HSET bench_sf failed on seqd"
redis-cli -h 127.0.0.1 -p "$redis_port" DEL bench_id >/dev/null

cpus=$(nproc 2>/dev/null || echo "?")
echo "seqd $("$SEQD_BIN" -v | sed 's/^seqd //') ($SEQD_BIN) vs $("$REDIS_SERVER" --version | sed 's/ sha=.*//')"
echo "redis-benchmark -c $CLIENTS -n $N, $R runs each (rotating order), median shown; $cpus CPUs, same machine"
echo

# The three loads, rotated so that none always runs first (warm or cold).
run_one() {  # which depth
    case $1 in
        0) bench_run "$redis_port" "$2" INCR bench_id ;;
        1) bench_run "$seqd_port" "$2" GET bench_id ;;
        2) bench_run "$seqd_port" "$2" GET bench_sf ;;
    esac
}

results=
for d in $DEPTHS; do
    all0='' all1='' all2=''
    n=1
    while [ "$n" -le "$R" ]; do
        for k in 0 1 2; do
            which=$(((n + k) % 3))
            rps=$(run_one "$which" "$d")
            eval "all$which=\"\$all$which $rps\""
            eval "last$which=$rps"
        done
        # shellcheck disable=SC2154 # last0..2 are set by the eval above
        echo "  -P $d run $n: redis INCR $last0/s, seqd GET type 3 $last1/s, seqd GET type 5 $last2/s"
        n=$((n + 1))
    done
    # shellcheck disable=SC2086 # lists of numbers, split on purpose
    results="$results$d $(bench_median $all0) $(bench_median $all1) $(bench_median $all2)
"
done

# NEXT batches: requests/s of one NEXT, times BATCH.
N=$NEXT_N
CLIENTS=$NEXT_CLIENTS
next3=$(bench_run "$seqd_port" 1 NEXT bench_id "$BATCH")
next5=$(bench_run "$seqd_port" 1 NEXT bench_sf "$BATCH")

kill -0 "$redis_pid" 2>/dev/null || die "redis-server died during the run"
kill -0 "$seqd_pid" 2>/dev/null || die "seqd died during the run (log: $(tail -n 5 "$tmp/seqd.log"))"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
printf '%-6s %16s %16s %16s %10s %10s\n' depth "redis INCR r/s" "seqd t3 GET r/s" "seqd t5 GET r/s" \
    "t3/redis" "t5/redis"
printf '%s' "$results" | while read -r d m0 m1 m2; do
    printf '%-6s %16s %16s %16s %10s %10s\n' "-P $d" "$m0" "$m1" "$m2" "$(ratio "$m1" "$m0")" \
        "$(ratio "$m2" "$m0")"
done
echo
echo "NEXT name $BATCH, $NEXT_CLIENTS client(s), $NEXT_N requests:"
printf '  %-8s %12s %14s\n' kind "NEXT/s" "ids/s"
printf '  %-8s %12s %14s\n' "type 3" "$next3" "$(awk -v r="$next3" -v b="$BATCH" 'BEGIN { printf "%.0f", r * b }')"
printf '  %-8s %12s %14s\n' "type 5" "$next5" "$(awk -v r="$next5" -v b="$BATCH" 'BEGIN { printf "%.0f", r * b }')"
