#!/bin/sh
# bench.sh: seqd GET against Redis INCR, same load, same machine, same run.
#
# Starts Debian's redis-server (no persistence) and seqd (file store in a
# temporary directory, default number of workers) side by side on free
# loopback ports, then for each pipeline depth runs the same
# redis-benchmark load (50 clients) against Redis `INCR bench_id` and seqd
# `GET bench_id`, alternating Redis and seqd R times, and prints the median
# requests/s of each and the ratio seqd/redis. Builds nothing: it runs
# $SEQD_BIN, else src/seqd next to this script's checkout. The shared
# machinery is in bench-lib.sh, beside this script.
#
# Usage: contrib/bench.sh
# Environment (all optional):
#   SEQD_BIN       seqd binary (default: <checkout>/build/src/seqd, else <checkout>/src/seqd)
#   REDIS_SERVER   redis-server binary (default: /usr/bin/redis-server)
#   N              requests per redis-benchmark run (default 200000)
#   R              runs per server and depth (default 3; the median is shown)
#   CLIENTS        parallel connections (default 50)
#   DEPTHS         pipeline depths (default "1 16")
#   SEQD_WORKERS   seqd "workers" (default 0: one per CPU)
#   RUN_TIMEOUT    seconds after which one redis-benchmark run is stopped
#                  (default 120)
# A run that fails (an error reply aborts redis-benchmark, or the timeout)
# stops the script with exit status 1. Everything it started is stopped and
# its temporary directory removed on exit.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
N=${N:-200000}
R=${R:-3}
CLIENTS=${CLIENTS:-50}
DEPTHS=${DEPTHS:-1 16}
SEQD_WORKERS=${SEQD_WORKERS:-0}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}
KEY=bench_id

die() { echo "bench.sh: $*" >&2; exit 1; }
# shellcheck source-path=SCRIPTDIR source=bench-lib.sh
. "$here/bench-lib.sh"

bench_need_seqd_and_redis

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seqd-bench.XXXXXX")
bench_trap_cleanup

bench_start_redis_and_seqd
[ "$(redis-cli -h 127.0.0.1 -p "$seqd_port" HSET "$KEY" type 3)" = 1 ] || die "HSET $KEY failed on seqd"
redis-cli -h 127.0.0.1 -p "$redis_port" DEL "$KEY" >/dev/null

cpus=$(nproc 2>/dev/null || echo "?")
echo "seqd $("$SEQD_BIN" -v | sed 's/^seqd //') ($SEQD_BIN) vs $("$REDIS_SERVER" --version | sed 's/ sha=.*//')"
echo "redis-benchmark -c $CLIENTS -n $N, $R runs each (alternating), median shown; $cpus CPUs, same machine"
echo

bench_compare "redis INCR" "$redis_port" "INCR $KEY" "seqd GET" "$seqd_port" "GET $KEY"

# Both servers must still be there: a crash under load is a failure too.
kill -0 "$redis_pid" 2>/dev/null || die "redis-server died during the run"
kill -0 "$seqd_pid" 2>/dev/null || die "seqd died during the run (log: $(tail -n 5 "$tmp/seqd.log"))"
