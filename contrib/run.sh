#!/bin/sh
# Quick start: install the build dependencies, build seqd (in build/) and
# run it in the foreground on the embedded file store (etc/seqd.json:
# 127.0.0.1:6380, data in ./data). Stop it with Ctrl-C: it gives back its
# unused numbers.
set -eu
cd "$(dirname "$0")/.."
contrib/deps.sh
[ -x configure ] || autoreconf -fi
[ -f config.status ] && make distclean >/dev/null
mkdir -p build
(cd build && { [ -f Makefile ] || ../configure; } && make -j"$(nproc)")
exec build/src/seqd -c etc/seqd.json "$@"
