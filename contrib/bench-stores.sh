#!/bin/sh
# bench-stores.sh: GET throughput of one seqd node on the mysql store
# against the same binary on the file store, same load, same run.
#
# Starts a private MariaDB server (tests/lib/mariadb.py: its own data dir,
# socket and loopback port, schema loaded) and two seqd nodes from the same
# binary and the same settings except the store: one on the mysql store
# (that MariaDB), one on the file store (a temporary directory). For each
# pipeline depth it runs the same redis-benchmark load (50 clients) of
# `GET bench_id` against each node, alternating file and mysql R times,
# and prints the median requests/s of each and the ratio mysql/file, then
# how many claims each node made. Builds nothing: it runs $SEQD_BIN, else
# src/seqd next to this script's checkout. The shared machinery is in
# bench-lib.sh, beside this script.
#
# Usage: contrib/bench-stores.sh
# Environment (all optional):
#   SEQD_BIN       seqd binary (default: <checkout>/build/src/seqd, else <checkout>/src/seqd)
#   N              requests per redis-benchmark run (default 200000)
#   R              runs per store and depth (default 3; the median is shown)
#   CLIENTS        parallel connections (default 50)
#   DEPTHS         pipeline depths (default "1 16")
#   SEQD_WORKERS   seqd "workers" (default 0: one per CPU)
#   SEGMENT_MAX    seqd segment.max for both nodes (default: seqd's default)
#   RUN_TIMEOUT    seconds after which one redis-benchmark run is stopped
#                  (default 120)
# Needs mariadb-server (mariadbd, mariadb-install-db, mariadb), redis-tools
# and python3. A run that fails (an error reply aborts redis-benchmark, or
# the timeout) stops the script with exit status 1. Everything it started
# is stopped and its temporary directories removed on exit.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
# The build of contrib/run.sh (build/), else an in-place build.
if [ -z "${SEQD_BIN:-}" ]; then
    SEQD_BIN=$top/build/src/seqd
    [ -x "$SEQD_BIN" ] || SEQD_BIN=$top/src/seqd
fi
N=${N:-200000}
R=${R:-3}
CLIENTS=${CLIENTS:-50}
DEPTHS=${DEPTHS:-1 16}
SEQD_WORKERS=${SEQD_WORKERS:-0}
SEGMENT_MAX=${SEGMENT_MAX:-}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}
KEY=bench_id

die() { echo "bench-stores.sh: $*" >&2; exit 1; }
# shellcheck source-path=SCRIPTDIR source=bench-lib.sh
. "$here/bench-lib.sh"

[ -x "$SEQD_BIN" ] || die "no seqd binary at $SEQD_BIN (build it, or set SEQD_BIN)"
command -v redis-benchmark >/dev/null || die "redis-benchmark not found (apt-get install redis-tools)"
command -v redis-cli >/dev/null || die "redis-cli not found (apt-get install redis-tools)"
command -v python3 >/dev/null || die "python3 not found (runs the MariaDB helper)"
[ -f "$top/tests/lib/mariadb.py" ] || die "no $top/tests/lib/mariadb.py (run from a seqd checkout)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seqd-bench-stores.XXXXXX")
bench_trap_cleanup

# The MariaDB helper: starts a private server, writes the "store" object
# for seqd.json to $tmp/store.json, and keeps the server until it gets
# SIGTERM (mariadb.py then stops the server and removes its directory).
SEQD_SRCDIR=$top python3 -c '
import json, os, sys, time
sys.path.insert(0, os.path.join(sys.argv[1], "tests", "lib"))
from mariadb import MariaDB
db = MariaDB(tmpdir=os.path.join(sys.argv[2], "mariadb"))
db.start()
try:
    with open(sys.argv[2] + "/store.json.new", "w") as f:
        json.dump(db.store_config(), f)
    os.rename(sys.argv[2] + "/store.json.new", sys.argv[2] + "/store.json")
    while True:
        time.sleep(1)
finally:
    db.close()
' "$top" "$tmp" >"$tmp/mariadb-helper.log" 2>&1 &
db_pid=$!
bench_started "$db_pid"
mkdir "$tmp/mariadb"

i=0
while [ ! -f "$tmp/store.json" ]; do
    kill -0 "$db_pid" 2>/dev/null || die "the MariaDB helper failed:
$(tail -n 20 "$tmp/mariadb-helper.log")"
    i=$((i + 1))
    [ $i -lt 1200 ] || die "MariaDB did not start within 120 s"
    sleep 0.1
done

# Two distinct free loopback ports.
# shellcheck disable=SC2046 # two words, split on purpose
set -- $(bench_free_ports 2)
file_port=$1
mysql_port=$2

segment=
[ -z "$SEGMENT_MAX" ] || segment=", \"segment\": { \"max\": $SEGMENT_MAX, \"default\": $SEGMENT_MAX }"
mkdir "$tmp/data"
cat >"$tmp/file.json" <<EOF
{ "bind": "127.0.0.1", "port": $file_port, "workers": $SEQD_WORKERS,
  "log": { "level": "warning" }$segment,
  "store": { "type": "file", "dir": "$tmp/data" } }
EOF
cat >"$tmp/mysql.json" <<EOF
{ "bind": "127.0.0.1", "port": $mysql_port, "workers": $SEQD_WORKERS,
  "log": { "level": "warning" }$segment,
  "store": $(cat "$tmp/store.json") }
EOF

"$SEQD_BIN" -c "$tmp/file.json" >"$tmp/file.log" 2>&1 &
file_pid=$!
bench_started "$file_pid"
"$SEQD_BIN" -c "$tmp/mysql.json" >"$tmp/mysql.log" 2>&1 &
mysql_pid=$!
bench_started "$mysql_pid"
bench_wait_ping "$file_port" file "$file_pid"
bench_wait_ping "$mysql_port" mysql "$mysql_pid"
for port in $file_port $mysql_port; do
    [ "$(redis-cli -h 127.0.0.1 -p "$port" HSET "$KEY" type 3)" = 1 ] || die "HSET $KEY failed on port $port"
done

info_field() {  # port field
    redis-cli -h 127.0.0.1 -p "$1" INFO "$KEY" | tr -d '\r' | sed -n "s/^$2://p"
}

cpus=$(nproc 2>/dev/null || echo "?")
mariadbd=$(command -v mariadbd 2>/dev/null || echo /usr/sbin/mariadbd)
echo "seqd $("$SEQD_BIN" -v | sed 's/^seqd //') ($SEQD_BIN), file store vs mysql store"
echo "($("$mariadbd" --version 2>/dev/null | sed 's/^.*Ver //' | cut -d' ' -f1 || echo MariaDB), private server on loopback TCP)"
echo "redis-benchmark -c $CLIENTS -n $N GET $KEY, $R runs each (alternating), median shown; $cpus CPUs, same machine"
echo

bench_compare "file GET" "$file_port" "GET $KEY" "mysql GET" "$mysql_port" "GET $KEY"
echo
echo "segments claimed: file $(info_field "$file_port" claims) (last of $(info_field "$file_port" last_claim_size))," \
     "mysql $(info_field "$mysql_port" claims) (last of $(info_field "$mysql_port" last_claim_size))"

# Both nodes must still be there: a crash under load is a failure too.
kill -0 "$file_pid" 2>/dev/null || die "seqd (file) died during the run (log: $(tail -n 5 "$tmp/file.log"))"
kill -0 "$mysql_pid" 2>/dev/null || die "seqd (mysql) died during the run (log: $(tail -n 5 "$tmp/mysql.log"))"
