#!/bin/sh
# The whole test suite, as CI runs it on a fresh Debian 12 machine:
# install every dependency, build with warnings as errors, run `make check`
# (Check unit tests and the integration tests against the real seqd,
# redis-cli, redis-benchmark, client libraries and a private MariaDB),
# then `make distcheck`.
set -eu
cd "$(dirname "$0")/.."
contrib/deps.sh --test
autoreconf -fi
./configure --enable-werror
make -j"$(nproc)"
make check -j2 || { cat test-suite.log; exit 1; }
make distcheck TESTS='$(UNIT_TESTS)' DISTCHECK_CONFIGURE_FLAGS=--enable-werror
