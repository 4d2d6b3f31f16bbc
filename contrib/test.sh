#!/bin/sh
# The whole test suite, as CI runs it on a fresh Debian 12 machine:
# install every dependency, then
#  1. build/      warnings as errors; `make check` (Check unit tests and the
#                 integration tests against the real seqd, redis-cli,
#                 redis-benchmark, client libraries, a private MariaDB and
#                 HAProxy); `make distcheck`;
#  2. valgrind:   a subset of the integration tests once more, build/'s
#                 seqd under valgrind memcheck (no errors, no definite leaks);
#  3. build-asan/ the same build with AddressSanitizer + UBSan, `make check`;
#  4. build-fuzz/ clang, libFuzzer + ASan + UBSan, warnings as errors: each
#                 fuzz target runs 60 s from its seed corpus (tests/fuzz);
#  5. the Debian package: build, lintian, install, init script, purge.
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

# The integration tests that run much of seqd's code without tight timing
# bounds (tests marked timing_bound skip themselves under valgrind): the
# commands, the protocol and its errors, HTTP, ACLs, restarts, the mysql
# store. 6 to 8 minutes on two busy CPUs; the timeout only stops a hang.
# run-corpus.sh replays the fuzz seeds (a whole connection each) under it.
VALGRIND_TESTS="tests/integration/test_commands.py tests/integration/test_protocol.py \
tests/integration/test_http.py tests/integration/test_acl.py tests/integration/test_restart.py \
tests/integration/test_mysql.py tests/fuzz/run-corpus.sh"

run_valgrind() {
    cd build
    SEQD_VALGRIND=1 timeout 1800 make check -j2 TESTS="$VALGRIND_TESTS" || { cat test-suite.log; exit 1; }
    cd "$top"
}

run_fuzz() {
    mkdir -p build-fuzz && cd build-fuzz
    # -O1 and asserts on (--enable-debug): fast enough to fuzz, and every
    # assert() is a check the fuzzer can trip.
    "$top/configure" CC=clang CFLAGS="-O1 -g" --enable-fuzzing --enable-debug --enable-werror
    make -j"$(nproc)"
    FUZZ_SECONDS=60 make check TESTS=tests/fuzz/run-fuzz.sh || { cat test-suite.log; exit 1; }
    cd "$top"
}

run_check build --enable-werror
(cd build && make distcheck TESTS='$(UNIT_TESTS)' DISTCHECK_CONFIGURE_FLAGS=--enable-werror)
run_valgrind
run_check build-asan --enable-werror --enable-asan --enable-debug
run_fuzz
tests/integration/test_package.sh
