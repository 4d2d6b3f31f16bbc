#!/bin/sh
# The whole test suite, as CI runs it on a fresh Debian 12 machine:
# install every dependency, then
#  1. build/      warnings as errors; `make check` (Check unit tests and the
#                 integration tests against the real seqd, redis-cli,
#                 redis-benchmark, client libraries, a private MariaDB and
#                 HAProxy); `make distcheck`;
#  2. build-asan/ the same build with AddressSanitizer + UBSan, `make check`;
#  3. the Debian package: build, lintian, install, init script, purge.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
contrib/deps.sh --test
# Out-of-tree builds need a source tree that was not configured in place.
[ -f config.status ] && make distclean >/dev/null
autoreconf -fi

run_check() {   # dir, configure flags...
    dir=$1; shift
    mkdir -p "$dir" && cd "$dir"
    "$top/configure" "$@"
    make -j"$(nproc)"
    make check -j2 || { cat test-suite.log; exit 1; }
    cd "$top"
}

run_check build --enable-werror
(cd build && make distcheck TESTS='$(UNIT_TESTS)' DISTCHECK_CONFIGURE_FLAGS=--enable-werror)
run_check build-asan --enable-werror --enable-asan --enable-debug
tests/integration/test_package.sh
