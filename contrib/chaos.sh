#!/bin/sh
# chaos.sh [DURATION_S]: the chaos soak of three seqd nodes on a private
# MariaDB, with faults and a checker over the whole history (contrib/chaos.py
# says what it does). Default duration: 600 s (10 minutes).
# Environment: SEQD_BIN (default build/src/seqd, else src/seqd), SEED.
set -eu
exec python3 "$(dirname "$0")/chaos.py" "${1:-600}"
