#!/bin/sh
# Quick start: install the build dependencies and redis-tools (redis-cli,
# for the README's examples), build seqd (in build/) and run it in the
# foreground on the embedded file store (etc/seqd.json: 127.0.0.1:6380,
# data in ./data). Stop it with Ctrl-C: it gives back its unused numbers.
set -eu
cd "$(dirname "$0")/.."
contrib/deps.sh
# The README's redis-cli lines need redis-tools (no build dependency).
if ! command -v redis-cli >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "seqd: installing: redis-tools"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-tools
fi
[ -x configure ] || autoreconf -fi
[ -f config.status ] && make distclean >/dev/null
mkdir -p build
(cd build && { [ -f Makefile ] || ../configure; } && make -j"$(nproc)")
exec build/src/seqd -c etc/seqd.json "$@"
