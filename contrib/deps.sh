#!/bin/sh
# Install what seqd needs to build, and (with --test) what its test suite
# runs against, from Debian 12's packages. (libclang-rt-14-dev holds
# libFuzzer and the sanitizer runtimes: clang only recommends it, and
# recommends are not installed here.) Safe to run again: apt-get skips
# what is there. Uses sudo when not run as root.
set -eu

BUILD="build-essential autoconf automake pkgconf libevent-dev default-libmysqlclient-dev libcjson-dev libssl-dev check"
TEST="redis-tools redis-server mariadb-server mariadb-client haproxy python3 python3-redis \
libhiredis-dev debhelper dpkg-dev fakeroot lintian valgrind clang libclang-rt-14-dev procps man-db \
curl chromium python3-prometheus-client wrk faketime galera-4 rsync spin openssl"

want="$BUILD"
[ "${1:-}" = "--test" ] && want="$BUILD $TEST"

missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# The node-redis tests need node and npm: Debian's packages only when the
# machine has none (a NodeSource node, which bundles npm, is fine as it is).
if [ "${1:-}" = "--test" ]; then
    command -v node >/dev/null 2>&1 || missing="$missing nodejs"
    command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "seqd: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Debian starts installed daemons (mariadb, redis, haproxy) by default; the
# tests run their own private instances, so keep the system ones from
# starting where policy-rc.d allows it.
$SUDO apt-get install -y -qq --no-install-recommends $missing
