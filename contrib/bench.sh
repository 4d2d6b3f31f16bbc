#!/bin/sh
# bench.sh: seqd against Redis and against the targets of the Performance
# issue, on the file and the mysql store, in one run and one table.
#
# A thin wrapper: the work is done by bench.py, beside this script (its
# docstring says what each row measures: GET vs Redis INCR with latency
# and CPU, NEXT and NEXTRANGE numbers/s, memory per idle sequence and per
# idle connection, contention, a slow store, idle connections beside busy
# ones). It starts Debian's redis-server (no persistence), seqd nodes and,
# for the mysql store, a private MariaDB (tests/lib/mariadb.py), all on
# 127.0.0.1, and stops them and removes their temporary directories on
# exit, also on error or Ctrl-C. Builds nothing.
#
# Usage: contrib/bench.sh
# Environment (all optional):
#   SEQD_BIN       seqd binary (default: <checkout>/build/src/seqd, else <checkout>/src/seqd)
#   REDIS_SERVER   redis-server binary (default: /usr/bin/redis-server)
#   STORES         seqd stores to measure (default "file mysql")
#   N              requests per redis-benchmark run (default 200000)
#   R              runs per case (default 3; the median is shown)
#   CLIENTS        parallel connections (default 50)
#   DEPTHS         pipeline depths (default "1 16")
#   SEQD_WORKERS   seqd "workers" (default 0: one per CPU)
#   RUN_TIMEOUT    seconds after which one redis-benchmark run is stopped
#                  (default 120)
#   QUICK=1        a short smoke run (small N, R 1, few sequences and
#                  idle connections; the variables above still win)
#   SEQUENCES, IDLE_CONNS, NEXT_N, NEXTRANGE_S, DELAY_MS, PHASE_TIMEOUT:
#                  see contrib/bench.py
# Exit status 1 when a measure could not be taken (a server died, a run
# failed or hit its timeout), 0 otherwise, whatever PASS or MISS says.

here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/bench.py" "$@"
