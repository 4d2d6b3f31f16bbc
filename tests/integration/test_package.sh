#!/bin/bash
# test_package.sh: the Debian package, end to end, as an administrator uses it.
#
# Builds seqd_<version>_<arch>.deb from a COPY of this checkout
# (dpkg-buildpackage -us -uc -b in a temporary directory), runs lintian on
# it (errors fail the test) and prints its summary, installs it with
# apt-get, then drives /etc/init.d/seqd directly (CI machines run no
# systemd): start, GET through redis-cli, status, reload, force-reload,
# stop, start (the sequence continues: the stop was graceful), restart;
# logs to syslog and to log.file, a log.level reload, a bad config refused
# by reload and restart; the recipe of contrib/haproxy/README.md for three
# nodes on one machine (its start and stop loops taken from the README as
# printed, per-node configs made from its node1.json), once beside the
# packaged seqd and once with /run/seqd gone; then remove (data kept) and
# purge (data gone). Lintian errors and warnings fail the test.
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
SYSLOG_PID=""
RECIPE_RAN=0
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
		# The recipe's nodes, if it got that far: ours, by their pidfiles.
		if [ "$RECIPE_RAN" = 1 ]; then
			for n in 1 2 3; do
				pid=$(cat "/run/seqd/node$n.pid" 2>/dev/null)
				alive "$pid" && kill -KILL "$pid" 2>/dev/null
				rm -f "/etc/seqd/node$n.json"
			done
		fi
		timeout 180 env DEBIAN_FRONTEND=noninteractive apt-get purge -y seqd \
			>/dev/null 2>&1 || say "cleanup: apt-get purge seqd failed"
	fi
	if [ -n "$SYSLOG_PID" ]; then
		kill "$SYSLOG_PID" 2>/dev/null
		rm -f /dev/log
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
# Everything but git's own data, leftovers of an earlier package build and
# out-of-tree build directories (any subdirectory with a config.status, such
# as build/ of contrib/test.sh); an in-tree configured build is cleaned by
# dh_auto_clean (make distclean).
set -- --exclude=./.git --exclude=./debian/seqd --exclude=./debian/.debhelper \
	--exclude=./debian/tmp --exclude=./debian/files \
	--exclude='./debian/*.substvars' --exclude='./debian/*.log'
for status in $(cd "$SRCDIR" && find . -mindepth 2 -maxdepth 3 -name config.status \
	-not -path './.git/*' 2>/dev/null); do
	set -- "$@" --exclude="$(dirname "$status")"
done
tar -C "$SRCDIR" "$@" -cf - . | tar -C "$COPY" -xf - ||
	die "copying $SRCDIR to $COPY"
set --

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
	./usr/share/doc/seqd/examples/haproxy.cfg ./usr/share/seqd/sql/schema.sql \
	./usr/share/seqd/sql/upgrade-from-leaf.sql ./usr/share/seqd/sql/upgrade-from-featherid.sql \
	./usr/share/seqd/sql/upgrade-kinds.sql \
	./usr/share/doc/seqd/migrate.md.gz ./usr/lib/tmpfiles.d/seqd.conf; do
	printf '%s\n' "$contents" | grep -qx "$f" || die "the package lacks $f"
done
ok "the package holds the binary, config, init script, unit, tmpfiles.d entry, man pages, examples, schema, upgrade scripts, migration notes"
conffiles=$(dpkg-deb -I "$DEB" conffiles)
for f in /etc/seqd/seqd.json /etc/init.d/seqd; do
	printf '%s\n' "$conffiles" | grep -qx "$f" || die "$f is not a conffile"
done
ok "conffiles: $(printf '%s' "$conffiles" | tr '\n' ' ')"

# ---- lintian -----------------------------------------------------------
say "lintian (at most 600s)"
timeout 600 lintian --fail-on error --display-info --show-overrides "$CHANGES" >"$WORK/lintian.log" 2>&1
lintian_rc=$?
sed 's/^/    /' "$WORK/lintian.log"
count() { grep -c "^$1: " "$WORK/lintian.log"; }
say "lintian summary: $(count E) errors, $(count W) warnings, $(count I) info, $(count P) pedantic, $(count O) overridden"
[ $lintian_rc = 0 ] || die "lintian reports errors (exit $lintian_rc)"
[ "$(count W)" = 0 ] || die "lintian reports warnings (above); fix them or override them with a reason"
ok "lintian: no errors, no warnings"

# ---- install ------------------------------------------------------------
INSTALLED=1
if ! timeout 300 env DEBIAN_FRONTEND=noninteractive apt-get install -y \
	--no-install-recommends "$DEB" >"$WORK/install.log" 2>&1; then
	tail -n 40 "$WORK/install.log"
	die "apt-get install $DEB failed"
fi
ok "apt-get install ./$(basename "$DEB")"

check "/usr/sbin/seqd is installed" test -x /usr/sbin/seqd
# Under systemd, /run/seqd (the pidfiles of nodes started by hand, see
# contrib/haproxy/README.md) is made by the unit and kept when it stops,
# and made at boot by tmpfiles.d.
UNIT=/lib/systemd/system/seqd.service
for line in RuntimeDirectory=seqd RuntimeDirectoryPreserve=yes; do
	grep -qx "$line" "$UNIT" || die "$UNIT lacks $line"
done
ok "$UNIT has RuntimeDirectory=seqd, RuntimeDirectoryPreserve=yes"
grep -qx 'd /run/seqd 0755 seqd seqd -' /usr/lib/tmpfiles.d/seqd.conf ||
	die "/usr/lib/tmpfiles.d/seqd.conf does not make /run/seqd: $(cat /usr/lib/tmpfiles.d/seqd.conf)"
ok "/usr/lib/tmpfiles.d/seqd.conf makes /run/seqd, owned by seqd"
if command -v systemd-analyze >/dev/null; then
	out=$(timeout 30 systemd-analyze verify --man=no "$UNIT" 2>&1) ||
		die "systemd-analyze verify $UNIT: $out"
	ok "systemd-analyze verify $UNIT${out:+: $(printf '%s' "$out" | tr '\n' ' ')}"
fi
v=$(timeout 10 /usr/sbin/seqd -v 2>&1)
case "$v" in
*"$AC_VERSION"*) ok "seqd -v prints $AC_VERSION ($v)" ;;
*) die "seqd -v prints '$v', not $AC_VERSION" ;;
esac
getent passwd seqd >/dev/null || die "there is no seqd user after install"
ok "the seqd system user exists"
owner=$(stat -c %U:%G /var/lib/seqd)
[ "$owner" = seqd:seqd ] || die "/var/lib/seqd is owned by $owner, not seqd:seqd"
ok "/var/lib/seqd is owned by seqd:seqd"
cfg_mode=$(stat -c '%U:%G %a' /etc/seqd/seqd.json)
[ "$cfg_mode" = "root:seqd 640" ] || die "/etc/seqd/seqd.json is $cfg_mode, not root:seqd 640"
ok "/etc/seqd/seqd.json is root:seqd 640"
out=$(timeout 10 runuser -u seqd -- /usr/sbin/seqd -t -c /etc/seqd/seqd.json 2>&1) ||
	die "seqd -t rejects the packaged config: $out"
ok "seqd -t, as the seqd user, accepts the packaged config"

# The packaged config listens on 6380 (Redis protocol) and 6381 (HTTP). If
# something else holds one of them here, move this installation to free
# ones (the conffile goes at purge).
port_free() {
	python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
HTTP_PORT=6381
if ! port_free 6380 || ! port_free 6381; then
	port_free 6380 || PORT=$(free_port)
	port_free 6381 || HTTP_PORT=$(free_port)
	python3 - "$PORT" "$HTTP_PORT" <<'EOF' || die "could not move /etc/seqd/seqd.json to free ports"
import json, sys
p = "/etc/seqd/seqd.json"
c = json.load(open(p))
c["port"] = int(sys.argv[1])
c["http"]["port"] = int(sys.argv[2])
open(p, "w").write(json.dumps(c, indent=2) + "\n")
EOF
	say "port 6380 or 6381 is taken on this machine; using $PORT and $HTTP_PORT"
fi

# Where systemd runs (not on this project's CI machines), postinst has
# started seqd.service: check the unit briefly, stop it, and keep
# init-functions from redirecting /etc/init.d/seqd to systemctl, so that the
# init script itself is what the rest of this test drives.
if [ -d /run/systemd/system ]; then
	timeout 60 systemctl restart seqd.service || die "systemctl restart seqd.service failed"
	i=0
	until [ "$(cli PING 2>/dev/null)" = PONG ] || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
	[ "$(cli PING)" = PONG ] || die "seqd.service does not answer PING"
	mainpid=$(systemctl show -p MainPID --value seqd.service)
	timeout 60 systemctl reload seqd.service || die "systemctl reload seqd.service failed"
	[ "$(systemctl show -p MainPID --value seqd.service)" = "$mainpid" ] ||
		die "systemctl reload changed the main pid"
	timeout 60 systemctl stop seqd.service || die "systemctl stop seqd.service failed"
	wait_gone "$mainpid" 100 || die "seqd $mainpid still runs after systemctl stop"
	ok "seqd.service: start, PING, reload (same pid $mainpid), stop"
	export SYSTEMCTL_SKIP_REDIRECT=1
fi

# Daemonized with log.file "", seqd logs to syslog. This machine may run no
# syslog daemon: then a listener of ours takes /dev/log for the test (and
# gives it back at the end), so that the lines can be checked.
SYSLOG_FILE=$WORK/syslog.txt
if [ ! -e /dev/log ]; then
	python3 - /dev/log "$SYSLOG_FILE" <<'EOF' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
s.settimeout(0.5)
end = time.monotonic() + 900          # bounded, whatever happens
with open(sys.argv[2], "ab", buffering=0) as f:
    while time.monotonic() < end:
        try:
            f.write(s.recv(65536) + b"\n")
        except socket.timeout:
            pass
EOF
	SYSLOG_PID=$!
	i=0
	while [ ! -S /dev/log ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	[ -S /dev/log ] || die "could not start a syslog listener on /dev/log"
fi

# Wait up to 5 s for a fixed string in a file.
wait_grep() {
	local i=0
	while [ $i -lt 50 ]; do
		grep -qF -- "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# Wait until seqd (pid $1) has logged its $2-th SIGHUP reload. Without our
# own syslog listener the log is not ours to read: wait a second instead.
wait_reloads() {
	local i=0
	if [ -z "$SYSLOG_PID" ]; then
		sleep 1
		return 0
	fi
	while [ $i -lt 50 ]; do
		[ "$(grep -cF "seqd[$1]: SIGHUP: configuration reloaded" "$SYSLOG_FILE")" -ge "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# ---- the init script -------------------------------------------------------
check "/etc/init.d/seqd start" init_script start
pid=$(seqd_pid)
alive "$pid" || die "no live seqd behind /run/seqd/seqd.pid after start ('$pid')"
user=$(ps -o user= -p "$pid" | tr -d ' ')
[ "$user" = seqd ] || die "seqd runs as '$user', not seqd"
ok "seqd runs as pid $pid, user seqd, pidfile /run/seqd/seqd.pid"
[ "$(stat -c %U /run/seqd)" = seqd ] || die "/run/seqd is not owned by seqd"
ok "/run/seqd is owned by seqd"
if [ -n "$SYSLOG_PID" ]; then
	wait_grep "seqd[$pid]: " "$SYSLOG_FILE" ||
		die "no syslog line from seqd[$pid] (log.file is \"\", daemonized)"
	ok "daemonized, seqd logs to syslog: $(grep -F "seqd[$pid]: " "$SYSLOG_FILE" | head -n 1 | cut -c1-100)"
else
	say "a syslog daemon owns /dev/log here; syslog lines not checked"
fi

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
r=$(curl -s --max-time 10 "http://127.0.0.1:$HTTP_PORT/api/v1/id?biz_tag=$SEQ")
[ "$r" = '{"code":0,"message":"success","data":{"biz_tag":"'"$SEQ"'","id":1002}}' ] ||
	die "the packaged HTTP door answered '$r' for /api/v1/id"
r=$(curl -s --max-time 10 "http://127.0.0.1:$HTTP_PORT/health")
[ "$r" = OK ] || die "the packaged HTTP door answered '$r' for /health"
ok "the packaged HTTP door on $HTTP_PORT: /api/v1/id (1002), /health"

out=$(init_script status 2>&1)
rc=$?
[ $rc = 0 ] || die "status while running exits $rc: $out"
ok "status while running: $out"

check "/etc/init.d/seqd reload" init_script reload
wait_reloads "$pid" 1 || die "no log line of the reload"
[ "$(seqd_pid)" = "$pid" ] && alive "$pid" || die "reload changed or killed the process"
r=$(cli GET "$SEQ")
[ "$r" = 1003 ] || die "after reload GET gave '$r', not 1003"
ok "reload: same pid $pid, still answering ($r)"

check "/etc/init.d/seqd force-reload" init_script force-reload
wait_reloads "$pid" 2 || die "no log line of the force-reload"
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
[ "$r" = 1004 ] || die "after stop and start GET gave '$r', not 1004 (was the stop graceful?)"
ok "after a graceful stop and start the sequence continues: $r"

check "/etc/init.d/seqd restart" init_script restart
pid3=$(seqd_pid)
alive "$pid3" && [ "$pid3" != "$pid2" ] || die "restart left pid '$pid3' (was $pid2)"
wait_gone "$pid2" 10 || die "the old seqd $pid2 still runs after restart"
r=$(cli GET "$SEQ")
[ "$r" = 1005 ] || die "after restart GET gave '$r', not 1005"
ok "restart: new pid $pid3, GET gives $r"

# log.file in the config: seqd (as the seqd user) writes to /var/log/seqd;
# log.level is applied by reload; connection messages carry the client's
# address.
LOG=/var/log/seqd/seqd.log
set_config() {
	python3 - "$@" <<'EOF' || die "could not edit /etc/seqd/seqd.json"
import json, sys
p = "/etc/seqd/seqd.json"
c = json.load(open(p))
for kv in sys.argv[1:]:
    key, value = kv.split("=", 1)
    *path, last = key.split(".")
    d = c
    for k in path:
        d = d[k]
    d[last] = value
open(p, "w").write(json.dumps(c, indent=4) + "\n")
EOF
}
set_config log.file=$LOG log.level=notice
check "restart with log.file $LOG" init_script restart
pid4=$(seqd_pid)
cli PING >/dev/null
r=$(cli HSET "${SEQ}_log" type 3)
[ "$r" = 1 ] || die "HSET ${SEQ}_log answered '$r'"
wait_grep "created sequence '${SEQ}_log'" "$LOG" || die "no notice line in $LOG: $(tail -n 5 "$LOG")"
grep -F "created sequence '${SEQ}_log'" "$LOG" | grep -q "client 127.0.0.1:" ||
	die "the HSET notice does not name the client's address: $(grep -F "${SEQ}_log" "$LOG")"
if grep -q "connected from" "$LOG"; then
	die "log.level notice logs connections: $(grep "connected from" "$LOG" | head -n 1)"
fi
[ "$(stat -c %U "$LOG")" = seqd ] || die "$LOG is not owned by seqd"
ok "logs to $LOG (owned by seqd); the notice names the client: $(grep -F "${SEQ}_log" "$LOG" | head -n 1 | cut -c1-100)"

set_config log.level=verbose
check "reload after setting log.level verbose" init_script reload
wait_grep "log.level notice->verbose" "$LOG" || die "no reload line in $LOG: $(tail -n 5 "$LOG")"
cli PING >/dev/null
wait_grep "connected from 127.0.0.1:" "$LOG" ||
	die "after the reload to verbose, no 'connected from 127.0.0.1:' line: $(tail -n 5 "$LOG")"
[ "$(seqd_pid)" = "$pid4" ] || die "reload changed the pid"
ok "reload applied log.level verbose: $(grep -F "connected from 127.0.0.1:" "$LOG" | tail -n 1 | cut -c1-100)"

# A config seqd cannot use: reload refuses it and seqd keeps running.
set_config log.level=loud
if init_script reload >"$WORK/badreload.log" 2>&1; then
	die "reload accepted log.level loud"
fi
alive "$pid4" && [ "$(cli PING)" = PONG ] || die "seqd did not survive a reload with a bad config"
ok "reload with a bad config fails, seqd keeps running: $(tr '\n' ' ' <"$WORK/badreload.log")"
if init_script restart >"$WORK/badrestart.log" 2>&1; then
	die "restart accepted log.level loud"
fi
[ "$(seqd_pid)" = "$pid4" ] && alive "$pid4" ||
	die "restart with a bad config stopped the running seqd"
ok "restart with a bad config fails before stopping seqd: $(tr '\n' ' ' <"$WORK/badrestart.log")"
set_config log.level=notice

# ---- several nodes on one machine (contrib/haproxy/README.md) -------------
# The README's start and stop loops are run exactly as printed (taken from
# the README, so that this fails when the README drifts). The per-node
# files are the README's /etc/seqd/node1.json with, per node, a free port,
# its own log file, and the file store in a directory of its own instead of
# MySQL (this test has no database; the loops do not depend on the store).
README=$SRCDIR/contrib/haproxy/README.md
RECIPE_START=$WORK/recipe-start.sh
RECIPE_STOP=$WORK/recipe-stop.sh
NODE_JSON=$WORK/node1.json
python3 - "$README" "$RECIPE_START" "$RECIPE_STOP" "$NODE_JSON" <<'EOF' || die "could not take the recipe out of $README"
import sys, textwrap
readme, start, stop, node = sys.argv[1:]
lines = open(readme).read().split("\n")
# Code blocks: runs of lines indented by 7 spaces (inside a numbered list
# item), blank lines within them included.
blocks, cur = [], []
for i, l in enumerate(lines):
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    if l.startswith("       ") or (cur and l == "" and nxt.startswith("       ")):
        cur.append(l)
        continue
    if cur:
        blocks.append((i - len(cur), textwrap.dedent("\n".join(cur)).strip() + "\n"))
    cur = []
def find(word):
    found = [b for i, b in blocks if word in b]
    if len(found) != 1:
        sys.exit("%d code blocks with %r in %s" % (len(found), word, readme))
    return found[0]
open(start, "w").write(find("start-stop-daemon --start"))
open(stop, "w").write(find("start-stop-daemon --stop"))
# The block after the line that names /etc/seqd/node1.json.
where = next(i for i, l in enumerate(lines) if "`/etc/seqd/node1.json`:" in l)
open(node, "w").write(next(b for i, b in blocks if i > where))
EOF
grep -q 'for n in 1 2 3' "$RECIPE_START" && grep -q 'for n in 1 2 3' "$RECIPE_STOP" ||
	die "the README's loops are not over nodes 1 2 3: $(cat "$RECIPE_START" "$RECIPE_STOP")"
say "the README's start commands:"
sed 's/^/    /' "$RECIPE_START"
say "the README's stop commands:"
sed 's/^/    /' "$RECIPE_STOP"
NODES="1 2 3"
RECIPE_RAN=1
declare -A NODE_PORT
for n in $NODES; do
	NODE_PORT[$n]=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	install -d -o seqd -g seqd -m 0750 "/var/lib/seqd/node$n"
	python3 - "$NODE_JSON" "$n" "${NODE_PORT[$n]}" <<'EOF' || die "could not write /etc/seqd/node$n.json from the README's node1.json"
import json, sys
src, n, port = sys.argv[1:]
c = json.load(open(src))
assert c["store"]["type"] == "mysql" and c["port"] == 6401, c
assert c["log"]["file"] == "/var/log/seqd/node1.log", c
c["port"] = int(port)
c["log"]["file"] = "/var/log/seqd/node%s.log" % n
c["store"] = {"type": "file", "dir": "/var/lib/seqd/node%s" % n}
open("/etc/seqd/node%s.json" % n, "w").write(json.dumps(c, indent=4) + "\n")
EOF
	chown root:seqd "/etc/seqd/node$n.json"
	chmod 0640 "/etc/seqd/node$n.json"
	out=$(timeout 10 runuser -u seqd -- /usr/sbin/seqd -t -c "/etc/seqd/node$n.json" 2>&1) ||
		die "seqd -t rejects /etc/seqd/node$n.json: $out"
done
ok "/etc/seqd/node{1,2,3}.json from the README's node1.json: ports $(for n in $NODES; do printf '%s ' "${NODE_PORT[$n]}"; done)file store"
node_pid() { cat "/run/seqd/node$1.pid" 2>/dev/null; }
node_cli() {
	local n=$1
	shift
	timeout 10 redis-cli -h 127.0.0.1 -p "${NODE_PORT[$n]}" "$@"
}

# Run the README's start loop: every node runs as seqd with its own
# pidfile and answers PING and GET; the loop run again changes nothing.
# Then the README's stop loop: every node and pidfile gone. $1 names the
# round.
run_recipe() {
	local round=$1 n p out r pids=()
	out=$(cd / && timeout 120 bash -e "$RECIPE_START" 2>&1) ||
		die "$round: the README's start loop failed: $out"
	ok "$round: the README's start loop"
	for n in $NODES; do
		p=$(node_pid "$n")
		alive "$p" || die "$round: no live node $n behind /run/seqd/node$n.pid ('$p')"
		[ "$(ps -o user= -p "$p" | tr -d ' ')" = seqd ] || die "$round: node $n does not run as seqd"
		tr '\0' ' ' <"/proc/$p/cmdline" | grep -q "/etc/seqd/node$n.json" ||
			die "$round: pid $p is not node $n: $(tr '\0' ' ' <"/proc/$p/cmdline")"
		pids+=("$p")
		r=$(node_cli "$n" PING)
		[ "$r" = PONG ] || die "$round: node $n (port ${NODE_PORT[$n]}) answered PING with '$r'"
		r=$(node_cli "$n" HSET "recipe_$round" type 3 starting "${n}000")
		[ "$r" = 1 ] || die "$round: node $n: HSET recipe_$round answered '$r'"
		r=$(node_cli "$n" GET "recipe_$round")
		[ "$r" = "${n}000" ] || die "$round: node $n: GET recipe_$round answered '$r', not ${n}000"
		ok "$round: node $n, pid $p, user seqd, port ${NODE_PORT[$n]}: PING, GET $r"
	done
	out=$(cd / && timeout 120 bash -e "$RECIPE_START" 2>&1) ||
		die "$round: the README's start loop, run again, failed: $out"
	for n in $NODES; do
		[ "$(node_pid "$n")" = "${pids[$((n - 1))]}" ] ||
			die "$round: the start loop run again changed node $n's pid"
	done
	ok "$round: the start loop run again leaves the nodes alone: $(printf '%s' "$out" | tr '\n' ' ')"
	out=$(cd / && timeout 200 bash -e "$RECIPE_STOP" 2>&1) ||
		die "$round: the README's stop loop failed: $out"
	for n in $NODES; do
		p=${pids[$((n - 1))]}
		wait_gone "$p" 100 || die "$round: node $n (pid $p) still runs after the stop loop"
		[ ! -e "/run/seqd/node$n.pid" ] || die "$round: /run/seqd/node$n.pid is still there after the stop loop"
	done
	ok "$round: the README's stop loop: pids ${pids[*]} gone, pidfiles gone"
}

# Round 1: beside the packaged node (/run/seqd/seqd.pid), which must
# neither make the recipe's nodes "already running" nor be stopped by it.
run_recipe beside_service
alive "$pid4" && [ "$(seqd_pid)" = "$pid4" ] && [ "$(cli PING)" = PONG ] ||
	die "the packaged seqd (pid $pid4) did not survive the recipe's nodes"
ok "the packaged seqd (pid $pid4) still runs and answers"

# invoke-rc.d is held back by policy-rc.d on this kind of machine, so the
# package's prerm may not stop seqd: stop it through the script first.
check "stop before removal" init_script stop
wait_gone "$pid4" 100 || die "seqd still runs after stop"

# Round 2: as after a boot with no seqd service and no tmpfiles.d run:
# /run/seqd does not exist, and the recipe makes it.
rm -rf /run/seqd
run_recipe no_run_dir
[ "$(stat -c '%U:%G %a' /run/seqd)" = "seqd:seqd 755" ] ||
	die "/run/seqd after the recipe is $(stat -c '%U:%G %a' /run/seqd), not seqd:seqd 755"
ok "the recipe made /run/seqd (seqd:seqd 755)"
# Purge removes the package's files in /etc/seqd, not these.
for n in $NODES; do rm -f "/etc/seqd/node$n.json"; done

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
