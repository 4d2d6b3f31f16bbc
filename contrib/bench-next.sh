#!/bin/sh
# bench-next.sh: NEXT name COUNT, two seqd binaries against each other.
#
# For a change that should make NEXT cheaper: starts $OLD_BIN and
# $SEQD_BIN side by side (file store each, in a temporary directory,
# default number of workers) on free loopback ports, then runs the same
# redis-benchmark load (CLIENTS connections, pipeline DEPTH) of
# `NEXT bench_id COUNT` against each, alternating which goes first, R
# times. Prints per run the numbers/s (requests/s x COUNT) and the
# server's CPU-seconds for the run (utime + stime from /proc/PID/stat),
# then the median of each and the ratio new/old.
#
# Usage: OLD_BIN=/path/to/old/seqd contrib/bench-next.sh
# Environment (all optional but OLD_BIN):
#   OLD_BIN        the seqd binary to compare with (required)
#   SEQD_BIN       the new one (default: <checkout>/build/src/seqd)
#   COUNT          NEXT's count (default 1000)
#   N              requests per redis-benchmark run (default 200000)
#   R              runs per binary (default 3; the median is shown)
#   CLIENTS        parallel connections (default 50)
#   DEPTH          pipeline depth (default 16)
#   SEQD_WORKERS   seqd "workers" (default 0: one per CPU)
#   RUN_TIMEOUT    seconds after which one run is stopped (default 120)
# A run that fails stops the script with exit status 1. Everything it
# started is stopped and its temporary directory removed on exit.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
COUNT=${COUNT:-1000}
N=${N:-200000}
R=${R:-3}
CLIENTS=${CLIENTS:-50}
DEPTH=${DEPTH:-16}
SEQD_WORKERS=${SEQD_WORKERS:-0}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}
KEY=bench_id

die() { echo "bench-next.sh: $*" >&2; exit 1; }
# shellcheck source-path=SCRIPTDIR source=bench-lib.sh
. "$here/bench-lib.sh"

[ -n "${OLD_BIN:-}" ] || die "set OLD_BIN to the seqd binary to compare with"
[ -x "$OLD_BIN" ] || die "no seqd binary at OLD_BIN=$OLD_BIN"
[ -x "$SEQD_BIN" ] || die "no seqd binary at $SEQD_BIN (build it, or set SEQD_BIN)"
for tool in redis-benchmark redis-cli python3; do
    command -v $tool >/dev/null || die "$tool not found"
done
[ -r /proc/self/stat ] || die "no /proc: the CPU time of the servers cannot be read"

base=$(mktemp -d "${TMPDIR:-/tmp}/seqd-bench-next.XXXXXX")
tmp=$base
bench_trap_cleanup
# bench_cleanup removes $tmp, which points into $base while a server starts.
trap 'tmp=$base; bench_cleanup' EXIT

# Each server in its own directory (bench_start_seqd_file uses $tmp).
# shellcheck disable=SC2046 # two words, split on purpose
set -- $(bench_free_ports 2)
old_port=$1
new_port=$2
tmp=$base/old && mkdir -p "$tmp" && SEQD_BIN_SAVED=$SEQD_BIN && SEQD_BIN=$OLD_BIN
bench_start_seqd_file "$old_port"
old_pid=$seqd_pid
bench_wait_ping "$old_port" seqd "$old_pid"
tmp=$base/new && mkdir -p "$tmp" && SEQD_BIN=$SEQD_BIN_SAVED
bench_start_seqd_file "$new_port"
new_pid=$seqd_pid
bench_wait_ping "$new_port" seqd "$new_pid"
tmp=$base
for port in "$old_port" "$new_port"; do
    [ "$(redis-cli -h 127.0.0.1 -p "$port" HSET "$KEY" type 3)" = 1 ] || die "HSET $KEY failed on port $port"
done

# utime + stime of a process in clock ticks.
cpu_ticks() {  # pid
    # Fields 14 and 15, counted after the ")" that ends the command name.
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
hz=$(getconf CLK_TCK)

# One run against port/pid: prints "numbers/s cpu-seconds".
run_one() {  # port pid
    t0=$(cpu_ticks "$2")
    rps=$(bench_run "$1" "$DEPTH" NEXT "$KEY" "$COUNT")
    t1=$(cpu_ticks "$2")
    awk -v r="$rps" -v c="$COUNT" -v t="$((t1 - t0))" -v hz="$hz" \
        'BEGIN { printf "%.0f %.2f\n", r * c, t / hz }'
}

echo "NEXT $KEY $COUNT: redis-benchmark -c $CLIENTS -n $N -P $DEPTH, $R runs each (alternating), $(nproc) CPUs"
echo "  old: $OLD_BIN"
echo "  new: $SEQD_BIN"
old_nps='' new_nps='' old_cpu='' new_cpu=''
i=1
while [ $i -le "$R" ]; do
    if [ $((i % 2)) -eq 1 ]; then
        o=$(run_one "$old_port" "$old_pid")
        n=$(run_one "$new_port" "$new_pid")
    else
        n=$(run_one "$new_port" "$new_pid")
        o=$(run_one "$old_port" "$old_pid")
    fi
    echo "  run $i: old ${o% *} numbers/s ${o#* } CPU-s, new ${n% *} numbers/s ${n#* } CPU-s"
    old_nps="$old_nps ${o% *}" old_cpu="$old_cpu ${o#* }"
    new_nps="$new_nps ${n% *}" new_cpu="$new_cpu ${n#* }"
    i=$((i + 1))
done
kill -0 "$old_pid" 2>/dev/null || die "the old seqd died during the run"
kill -0 "$new_pid" 2>/dev/null || die "the new seqd died during the run"

# bench_median rounds to an integer: CPU-seconds are shown in hundredths.
cs() { for v in "$@"; do awk -v v="$v" 'BEGIN { printf "%d\n", v * 100 }'; done; }
# shellcheck disable=SC2086 # lists of numbers, split on purpose
mo=$(bench_median $old_nps) mn=$(bench_median $new_nps)
# shellcheck disable=SC2086,SC2046
co=$(bench_median $(cs $old_cpu)) cn=$(bench_median $(cs $new_cpu))
echo
printf '%-6s %16s %14s\n' "" "numbers/s" "CPU-s/run"
printf '%-6s %16s %14s\n' old "$mo" "$(awk -v v="$co" 'BEGIN { printf "%.2f", v / 100 }')"
printf '%-6s %16s %14s\n' new "$mn" "$(awk -v v="$cn" 'BEGIN { printf "%.2f", v / 100 }')"
printf '%-6s %16s %14s\n' new/old "$(awk -v a="$mn" -v b="$mo" 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk -v a="$cn" -v b="$co" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
