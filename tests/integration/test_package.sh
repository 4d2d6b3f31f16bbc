#!/bin/bash
# test_package.sh: the Debian package, end to end, as an administrator uses it.
#
# Builds seqd_<version>_<arch>.deb from a COPY of this checkout
# (dpkg-buildpackage -us -uc -b in a temporary directory), runs lintian on
# it (errors fail the test), installs it with apt-get, then drives
# /etc/init.d/seqd directly (this machine runs no systemd): start, GET
# through redis-cli, status, reload, stop, restart, force-reload; then
# remove (data kept) and purge (data gone).
#
# Needs root. Not root: fails with a clear message, or exits 77 (skip)
# when SEQD_ALLOW_SKIP=1. Refuses to run when a seqd package is already
# installed, since it would purge it. Every step has a time bound; the
# package is purged and the temporary directory removed on any exit
# (SEQD_KEEP_TMP=1 keeps the directory for a post-mortem).
#
# Environment: SEQD_SRCDIR (the checkout; default: two levels up from this
# script), SEQD_PKG_BUILD_TIMEOUT (seconds, default 1500).

set -u -o pipefail

SRCDIR=${SEQD_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD_TIMEOUT=${SEQD_PKG_BUILD_TIMEOUT:-1500}
PORT=6380
WORK=""
INSTALLED=0
PASSED=0
FAILED=0

say() { printf '%s\n' "test_package: $*"; }

# A precondition this machine does not meet: fail, or skip on request.
unmet() {
	if [ "${SEQD_ALLOW_SKIP:-}" = 1 ]; then
		say "SKIP: $*"
		exit 77
	fi
	say "FAIL: $* (set SEQD_ALLOW_SKIP=1 to skip instead)"
	exit 1
}

ok() { PASSED=$((PASSED + 1)); say "ok - $*"; }
die() {
	FAILED=$((FAILED + 1))
	say "FAIL - $*"
	exit 1
}
# check DESCRIPTION COMMAND...: run COMMAND, pass when it succeeds.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else die "$what"; fi
}

init_script() { timeout 90 /etc/init.d/seqd "$@"; }
cli() { timeout 10 redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }
seqd_pid() { cat /run/seqd/seqd.pid 2>/dev/null; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# Wait up to $2 tenths of a second for process $1 to be gone.
wait_gone() {
	local i=0
	while alive "$1" && [ $i -lt "$2" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	! alive "$1"
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "$INSTALLED" = 1 ]; then
		local pid
		pid=$(seqd_pid)
		[ -x /etc/init.d/seqd ] && timeout 60 /etc/init.d/seqd stop >/dev/null 2>&1
		# Our own daemon only, by the pid it wrote.
		alive "$pid" && kill -KILL "$pid" 2>/dev/null
		timeout 180 env DEBIAN_FRONTEND=noninteractive apt-get purge -y seqd \
			>/dev/null 2>&1 || say "cleanup: apt-get purge seqd failed"
	fi
	if [ -n "$WORK" ]; then
		if [ "${SEQD_KEEP_TMP:-}" = 1 ]; then
			say "kept $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
	say "$PASSED passed, $FAILED failed"
	exit $rc
}

# ---- preconditions -------------------------------------------------------
[ "$(id -u)" = 0 ] ||
	unmet "must run as root: it installs the package and runs /etc/init.d/seqd"
for tool in dpkg-buildpackage dpkg-checkbuilddeps lintian apt-get redis-cli timeout python3; do
	command -v "$tool" >/dev/null ||
		unmet "$tool is missing (apt-get install dpkg-dev lintian redis-tools)"
done
if dpkg-query -W -f '${Status}' seqd 2>/dev/null | grep -q 'installed\|config-files'; then
	die "a seqd package is already on this machine; this test installs and purges it, remove it first (apt-get purge seqd)"
fi
[ -f "$SRCDIR/debian/control" ] || die "no debian/control under $SRCDIR"

# The version the package, configure.ac and seqd -v must agree on.
AC_VERSION=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$SRCDIR/configure.ac")
DEB_VERSION=$(dpkg-parsechangelog -l "$SRCDIR/debian/changelog" -S Version)
[ "${DEB_VERSION%-*}" = "$AC_VERSION" ] ||
	die "debian/changelog says $DEB_VERSION but configure.ac says $AC_VERSION"
ok "versions agree: configure.ac $AC_VERSION, package $DEB_VERSION"

trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build from a copy ----------------------------------------------------
WORK=$(mktemp -d /tmp/seqd-pkgtest.XXXXXX)
COPY=$WORK/seqd-$AC_VERSION
mkdir "$COPY"
# Everything but git's own data and leftovers of an earlier package build;
# an in-tree configured build is cleaned by dh_auto_clean (make distclean).
tar -C "$SRCDIR" --exclude=./.git --exclude=./debian/seqd \
	--exclude=./debian/.debhelper --exclude=./debian/tmp \
	--exclude=./debian/files --exclude='./debian/*.substvars' \
	--exclude='./debian/*.log' -cf - . | tar -C "$COPY" -xf - ||
	die "copying $SRCDIR to $COPY"

if ! (cd "$COPY" && dpkg-checkbuilddeps) >"$WORK/builddeps.log" 2>&1; then
	cat "$WORK/builddeps.log"
	unmet "build dependencies missing (see above; apt-get build-dep ./ in the checkout)"
fi

say "building the package in $COPY (log: build.log, at most ${BUILD_TIMEOUT}s)"
start_s=$(date +%s)
# A make check that runs this test must not hand its jobserver and flags
# down to the package's own build.
if ! (cd "$COPY" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
	DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
	timeout "$BUILD_TIMEOUT" dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1; then
	tail -n 80 "$WORK/build.log"
	die "dpkg-buildpackage -us -uc -b failed (last lines above)"
fi
ok "dpkg-buildpackage -us -uc -b ($(($(date +%s) - start_s))s)"

ARCH=$(dpkg --print-architecture)
DEB=$WORK/seqd_${DEB_VERSION}_${ARCH}.deb
CHANGES=$WORK/seqd_${DEB_VERSION}_${ARCH}.changes
check "built $(basename "$DEB")" test -f "$DEB"

contents=$(dpkg-deb -c "$DEB" | awk '{print $6}')
for f in ./usr/sbin/seqd ./etc/seqd/seqd.json ./etc/init.d/seqd \
	./lib/systemd/system/seqd.service ./usr/share/man/man8/seqd.8.gz \
	./usr/share/man/man5/seqd.json.5.gz ./usr/share/doc/seqd/copyright \
	./usr/share/doc/seqd/examples/haproxy.cfg; do
	printf '%s\n' "$contents" | grep -qx "$f" || die "the package lacks $f"
done
ok "the package holds the binary, config, init script, unit, man pages, examples"
conffiles=$(dpkg-deb -I "$DEB" conffiles)
for f in /etc/seqd/seqd.json /etc/init.d/seqd; do
	printf '%s\n' "$conffiles" | grep -qx "$f" || die "$f is not a conffile"
done
ok "conffiles: $(printf '%s' "$conffiles" | tr '\n' ' ')"

# ---- lintian -----------------------------------------------------------
say "lintian (at most 600s)"
timeout 600 lintian --fail-on error --display-info "$CHANGES" >"$WORK/lintian.log" 2>&1
lintian_rc=$?
sed 's/^/    /' "$WORK/lintian.log"
count() { grep -c "^$1: " "$WORK/lintian.log"; }
say "lintian summary: $(count E) errors, $(count W) warnings, $(count I) info, $(count P) pedantic, $(count O) overridden"
[ $lintian_rc = 0 ] || die "lintian reports errors (exit $lintian_rc)"
ok "lintian: no errors"

# ---- install ------------------------------------------------------------
INSTALLED=1
if ! timeout 300 env DEBIAN_FRONTEND=noninteractive apt-get install -y \
	--no-install-recommends "$DEB" >"$WORK/install.log" 2>&1; then
	tail -n 40 "$WORK/install.log"
	die "apt-get install $DEB failed"
fi
ok "apt-get install ./$(basename "$DEB")"

check "/usr/sbin/seqd is installed" test -x /usr/sbin/seqd
v=$(timeout 10 /usr/sbin/seqd -v 2>&1)
case "$v" in
*"$AC_VERSION"*) ok "seqd -v prints $AC_VERSION ($v)" ;;
*) die "seqd -v prints '$v', not $AC_VERSION" ;;
esac
check "the seqd system user exists" getent passwd seqd
owner=$(stat -c %U:%G /var/lib/seqd)
[ "$owner" = seqd:seqd ] || die "/var/lib/seqd is owned by $owner, not seqd:seqd"
ok "/var/lib/seqd is owned by seqd:seqd"
cfg_mode=$(stat -c '%U:%G %a' /etc/seqd/seqd.json)
[ "$cfg_mode" = "root:seqd 640" ] || die "/etc/seqd/seqd.json is $cfg_mode, not root:seqd 640"
ok "/etc/seqd/seqd.json is root:seqd 640"
check "seqd -t accepts the packaged config" timeout 10 runuser -u seqd -- /usr/sbin/seqd -t -c /etc/seqd/seqd.json

# The packaged config listens on 6380. If something else holds that port
# here, move this installation to a free one (the conffile goes at purge).
if ! python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 6380))' 2>/dev/null; then
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	python3 - "$PORT" <<'EOF' || die "could not move /etc/seqd/seqd.json to a free port"
import json, sys
p = "/etc/seqd/seqd.json"
c = json.load(open(p))
c["port"] = int(sys.argv[1])
open(p, "w").write(json.dumps(c, indent=2) + "\n")
EOF
	say "port 6380 is taken on this machine; using $PORT"
fi

# ---- the init script -------------------------------------------------------
check "/etc/init.d/seqd start" init_script start
pid=$(seqd_pid)
alive "$pid" || die "no live seqd behind /run/seqd/seqd.pid after start ('$pid')"
user=$(ps -o user= -p "$pid" | tr -d ' ')
[ "$user" = seqd ] || die "seqd runs as '$user', not seqd"
ok "seqd runs as pid $pid, user seqd, pidfile /run/seqd/seqd.pid"
[ "$(stat -c %U /run/seqd)" = seqd ] || die "/run/seqd is not owned by seqd"
ok "/run/seqd is owned by seqd"

check "a second start is a no-op" init_script start
[ "$(seqd_pid)" = "$pid" ] || die "a second start changed the pid"

[ "$(cli PING)" = PONG ] || die "redis-cli PING did not get PONG"
ok "redis-cli -p $PORT PING"
SEQ=pkgtest_$$_$RANDOM
r=$(cli HSET "$SEQ" type 3 starting 1000)
[ "$r" = 1 ] || die "HSET $SEQ type 3 starting 1000 answered '$r'"
r1=$(cli GET "$SEQ")
r2=$(cli GET "$SEQ")
[ "$r1" = 1000 ] && [ "$r2" = 1001 ] || die "GET $SEQ gave '$r1', '$r2', not 1000, 1001"
ok "HSET then GET through redis-cli: $r1, $r2"

out=$(init_script status 2>&1)
rc=$?
[ $rc = 0 ] || die "status while running exits $rc: $out"
ok "status while running: $out"

check "/etc/init.d/seqd reload" init_script reload
sleep 1
[ "$(seqd_pid)" = "$pid" ] && alive "$pid" || die "reload changed or killed the process"
r=$(cli GET "$SEQ")
[ "$r" = 1002 ] || die "after reload GET gave '$r', not 1002"
ok "reload: same pid $pid, still answering ($r)"

check "/etc/init.d/seqd force-reload" init_script force-reload
sleep 1
[ "$(seqd_pid)" = "$pid" ] && alive "$pid" || die "force-reload changed or killed the process"
ok "force-reload: same pid"

check "/etc/init.d/seqd stop" init_script stop
wait_gone "$pid" 100 || die "seqd (pid $pid) still runs after stop"
[ ! -e /run/seqd/seqd.pid ] || die "the pidfile is still there after stop"
ok "stop: process $pid gone, pidfile gone"
init_script status >/dev/null 2>&1
rc=$?
[ $rc = 3 ] || die "status after stop exits $rc, not 3 (not running)"
ok "status after stop exits 3"
check "a second stop is a no-op" init_script stop

check "start after stop" init_script start
pid2=$(seqd_pid)
alive "$pid2" || die "no seqd after the second start"
r=$(cli GET "$SEQ")
# stop sends SIGTERM and waits: seqd gives its unused range back, so the
# sequence continues exactly where it stopped.
[ "$r" = 1003 ] || die "after stop and start GET gave '$r', not 1003 (was the stop graceful?)"
ok "after a graceful stop and start the sequence continues: $r"

check "/etc/init.d/seqd restart" init_script restart
pid3=$(seqd_pid)
alive "$pid3" && [ "$pid3" != "$pid2" ] || die "restart left pid '$pid3' (was $pid2)"
wait_gone "$pid2" 10 || die "the old seqd $pid2 still runs after restart"
r=$(cli GET "$SEQ")
[ "$r" = 1004 ] || die "after restart GET gave '$r', not 1004"
ok "restart: new pid $pid3, GET gives $r"

# invoke-rc.d is held back by policy-rc.d on this kind of machine, so the
# package's prerm may not stop seqd: stop it through the script first.
check "stop before removal" init_script stop
wait_gone "$pid3" 100 || die "seqd still runs after stop"

# ---- remove keeps data, purge removes it ----------------------------------
timeout 180 env DEBIAN_FRONTEND=noninteractive apt-get remove -y seqd >"$WORK/remove.log" 2>&1 ||
	{ tail -n 20 "$WORK/remove.log"; die "apt-get remove seqd failed"; }
[ ! -e /usr/sbin/seqd ] || die "/usr/sbin/seqd is still there after remove"
[ -d /var/lib/seqd ] && [ -n "$(ls -A /var/lib/seqd)" ] || die "remove took /var/lib/seqd's data away"
[ -f /etc/seqd/seqd.json ] || die "remove took the conffile away"
ok "apt-get remove: binary gone, /var/lib/seqd and /etc/seqd/seqd.json kept"

timeout 180 env DEBIAN_FRONTEND=noninteractive apt-get purge -y seqd >"$WORK/purge.log" 2>&1 ||
	{ tail -n 20 "$WORK/purge.log"; die "apt-get purge seqd failed"; }
INSTALLED=0
for p in /usr/sbin/seqd /var/lib/seqd /var/log/seqd /etc/seqd /etc/init.d/seqd /run/seqd; do
	[ ! -e "$p" ] || die "$p is still there after purge"
done
if dpkg-query -W -f '${Status}' seqd 2>/dev/null | grep -q 'installed\|config-files'; then
	die "dpkg still knows seqd after purge"
fi
ok "apt-get purge: binary, /var/lib/seqd, /var/log/seqd, /etc/seqd, init script gone"

exit 0
