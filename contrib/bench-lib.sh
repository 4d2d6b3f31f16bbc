# shellcheck shell=sh
# bench-lib.sh: the machinery shared by contrib/bench-snowflake.sh,
# bench-stores.sh, bench-doors.sh and bench-scrape.sh. Sourced
# (`. bench-lib.sh`), not run. (contrib/bench.sh is bench.py, in Python:
# it shares tests/lib/ instead.)
#
# The sourcing script defines die() (message to stderr, exit 1) and sets
# tmp (its temporary directory; start-up logs are $tmp/<what>.log), N,
# R, CLIENTS, DEPTHS and RUN_TIMEOUT (see the scripts' headers). POSIX sh
# has no local variables: the functions keep theirs under the bench_
# prefix. Everything talks to 127.0.0.1 only.

# The seqd under test: $SEQD_BIN, else the build of contrib/run.sh
# (build/), else an in-place build. $here is the sourcing script's directory.
# shellcheck disable=SC2154 # here is set by the sourcing script
if [ -z "${SEQD_BIN:-}" ]; then
    SEQD_BIN=$here/../build/src/seqd
    [ -x "$SEQD_BIN" ] || SEQD_BIN=$here/../src/seqd
fi

# What every script comparing seqd with Redis needs; dies naming what is missing.
bench_need_seqd_and_redis() {
    [ -x "$SEQD_BIN" ] || die "no seqd binary at $SEQD_BIN (build it, or set SEQD_BIN)"
    # shellcheck disable=SC2154 # REDIS_SERVER is set by the sourcing script
    [ -x "$REDIS_SERVER" ] || die "no redis-server at $REDIS_SERVER (apt-get install redis-server, or set REDIS_SERVER)"
    for bench_tool in redis-benchmark redis-cli; do
        command -v $bench_tool >/dev/null || die "$bench_tool not found (apt-get install redis-tools)"
    done
    command -v python3 >/dev/null || die "python3 not found (used to pick free ports)"
}

# A redis-server without persistence on 127.0.0.1:port; sets redis_pid.
bench_start_redis() {  # port
    # shellcheck disable=SC2154 # REDIS_SERVER and tmp are set by the sourcing script
    "$REDIS_SERVER" --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$tmp" --daemonize no --loglevel warning >"$tmp/redis.log" 2>&1 &
    redis_pid=$!
    bench_started "$redis_pid"
}

# seqd on 127.0.0.1:port with the file store in $tmp/data (made here),
# $SEQD_WORKERS workers and log level warning; extra: more top-level JSON
# members, each followed by a comma (e.g. '"worker_id": 0,'). Sets seqd_pid.
bench_start_seqd_file() {  # port [extra]
    # shellcheck disable=SC2154 # tmp and SEQD_WORKERS are set by the sourcing script
    mkdir -p "$tmp/data"
    cat >"$tmp/seqd.json" <<EOF
{ "bind": "127.0.0.1", "port": $1, "workers": $SEQD_WORKERS, ${2:-}
  "log": { "level": "warning" },
  "store": { "type": "file", "dir": "$tmp/data" } }
EOF
    "$SEQD_BIN" -c "$tmp/seqd.json" >"$tmp/seqd.log" 2>&1 &
    seqd_pid=$!
    bench_started "$seqd_pid"
}

# Redis and seqd (bench_start_seqd_file, extra as there) side by side on
# two free loopback ports, both answering PING when it returns. Sets
# redis_port, seqd_port, redis_pid and seqd_pid.
bench_start_redis_and_seqd() {  # [extra]
    # shellcheck disable=SC2046 # two words, split on purpose
    set -- "${1:-}" $(bench_free_ports 2)
    redis_port=$2
    seqd_port=$3
    bench_start_redis "$redis_port"
    bench_start_seqd_file "$seqd_port" "$1"
    bench_wait_ping "$redis_port" redis "$redis_pid"
    bench_wait_ping "$seqd_port" seqd "$seqd_pid"
}

# The servers the script started, newest first; bench_cleanup stops them
# (so a database started first is stopped last) and removes $tmp.
bench_pids=

# Remembers a started server for bench_cleanup.
bench_started() {  # pid
    bench_pids="$1 $bench_pids"
}

bench_cleanup() {
    bench_status=$?
    trap - EXIT INT TERM
    for bench_pid in $bench_pids; do
        kill "$bench_pid" 2>/dev/null || true
    done
    for bench_pid in $bench_pids; do
        wait "$bench_pid" 2>/dev/null || true
    done
    # shellcheck disable=SC2154 # tmp is set by the sourcing script
    rm -rf "$tmp"
    exit "$bench_status"
}

# Runs bench_cleanup on exit and on HUP / INT / PIPE / TERM (exit 129 /
# 130 / 141 / 143): output piped to `head` that closes early must not
# leave the servers running.
bench_trap_cleanup() {
    trap bench_cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 141' PIPE
    trap 'exit 143' TERM
}

# Prints n distinct free loopback TCP ports, on one line.
bench_free_ports() {  # n
    python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
' "$1"
}

# Waits (up to 10 s) until the server on port answers PING; dies if the
# process pid exits first (showing the end of $tmp/<what>.log) or on timeout.
bench_wait_ping() {  # port what pid
    bench_i=0
    while [ "$(redis-cli -h 127.0.0.1 -p "$1" PING 2>/dev/null)" != PONG ]; do
        # shellcheck disable=SC2154 # tmp is set by the sourcing script
        kill -0 "$3" 2>/dev/null || die "$2 exited at start-up (log: $tmp/$2.log):
$(tail -n 20 "$tmp/$2.log" 2>/dev/null)"
        bench_i=$((bench_i + 1))
        [ $bench_i -lt 100 ] || die "$2 does not answer PING on port $1"
        sleep 0.1
    done
}

# One redis-benchmark run (CLIENTS connections, N requests, pipeline depth,
# at most RUN_TIMEOUT seconds); prints its requests per second, or dies.
bench_run() {  # port depth command...
    bench_port=$1 bench_depth=$2
    shift 2
    bench_out=$(timeout "$RUN_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "$bench_port" -q -c "$CLIENTS" \
          -n "$N" -P "$bench_depth" "$@" 2>&1) || die "redis-benchmark $* on port $bench_port (-P $bench_depth) failed:
$(printf '%s\n' "$bench_out" | tr '\r' '\n' | tail -n 5)"
    bench_rps=$(printf '%s\n' "$bench_out" | tr '\r' '\n' |
          sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -n 1)
    [ -n "$bench_rps" ] || die "no requests/s in the output of redis-benchmark $* (port $bench_port):
$(printf '%s\n' "$bench_out" | tr '\r' '\n' | tail -n 5)"
    echo "$bench_rps"
}

# Prints the median of its arguments, rounded to an integer.
bench_median() {  # numbers...
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) printf "%.0f\n", v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# For each depth in DEPTHS, runs the same load R times against A and B
# (which of the two goes first alternates, so neither always runs warm),
# printing one line per run, then a table of the median requests/s of
# each and the ratio B/A. The column titles are "<label> r/s"; the ratio's
# title is the first words of the labels, "B/A". A command is one string,
# split on blanks (e.g. "GET bench_id").
bench_compare() {  # labelA portA "cmdA..." labelB portB "cmdB..."
    bench_la=$1 bench_pa=$2 bench_ca=$3 bench_lb=$4 bench_pb=$5 bench_cb=$6
    bench_results=
    for bench_d in $DEPTHS; do
        bench_all_a=
        bench_all_b=
        bench_n=1
        while [ $bench_n -le "$R" ]; do
            # shellcheck disable=SC2086 # the commands are split on purpose
            if [ $((bench_n % 2)) -eq 1 ]; then
                bench_a=$(bench_run "$bench_pa" "$bench_d" $bench_ca)
                bench_b=$(bench_run "$bench_pb" "$bench_d" $bench_cb)
            else
                bench_b=$(bench_run "$bench_pb" "$bench_d" $bench_cb)
                bench_a=$(bench_run "$bench_pa" "$bench_d" $bench_ca)
            fi
            echo "  -P $bench_d run $bench_n: $bench_la $bench_a/s, $bench_lb $bench_b/s"
            bench_all_a="$bench_all_a $bench_a"
            bench_all_b="$bench_all_b $bench_b"
            bench_n=$((bench_n + 1))
        done
        # shellcheck disable=SC2086 # a list of numbers, split on purpose
        bench_ma=$(bench_median $bench_all_a)
        # shellcheck disable=SC2086
        bench_mb=$(bench_median $bench_all_b)
        bench_results="$bench_results$bench_d $bench_ma $bench_mb
"
    done

    echo
    printf '%-6s %16s %16s %12s\n' depth "$bench_la r/s" "$bench_lb r/s" "${bench_lb%% *}/${bench_la%% *}"
    printf '%s' "$bench_results" | while read -r bench_d bench_ma bench_mb; do
        printf '%-6s %16s %16s %12s\n' "-P $bench_d" "$bench_ma" "$bench_mb" \
            "$(awk -v a="$bench_mb" -v b="$bench_ma" 'BEGIN { printf "%.2f", a / b }')"
    done
}
