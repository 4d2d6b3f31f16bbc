#!/bin/sh
# Checks tests/model/claims.pml (the claim protocol) and
# tests/model/leases.pml (type 5's worker-id leases) exhaustively with
# spin: the protocols' configurations must show no error, and each broken
# variant must produce a duplicate (its shortest trail is printed).
# Exit 0 pass, 77 skip (no spin), 1 fail. MODEL_DEEP=1 adds the largest
# configuration (about 6 million states, ~700 MB of memory).
set -u

srcdir=${SEQD_SRCDIR:-${srcdir:-$(dirname "$0")/../..}}
pml="$srcdir/tests/model/claims.pml"
leases_pml="$srcdir/tests/model/leases.pml"
if ! command -v spin >/dev/null 2>&1; then
    echo "SKIP: spin is not installed (apt-get install spin; contrib/deps.sh --test)"
    exit 77
fi
[ -f "$pml" ] || { echo "FAIL: $pml not found"; exit 1; }
[ -f "$leases_pml" ] || { echo "FAIL: $leases_pml not found"; exit 1; }
cc=${MODEL_CC:-${CC:-cc}}
command -v "$cc" >/dev/null 2>&1 || cc=gcc

work=$(mktemp -d "${TMPDIR:-/tmp}/seqd-model.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
cp "$pml" "$work/claims.pml"
cp "$leases_pml" "$work/leases.pml"
cd "$work" || exit 1
failed=0

# The model a check reads, and extra flags for its pan (COLLAPSE: the
# leases' state vector compressed, a third of the memory).
model=claims.pml
model_cflags=

# check NAME EXPECT [spin -D flags]: EXPECT is "ok" (errors: 0, the whole
# state space searched) or "dup" (an assertion violated: a duplicate).
check() {
    name=$1; expect=$2; shift 2
    rm -f pan pan.* "$model.trail"
    if ! spin -a "$@" "$model" >spin.out 2>&1; then
        cat spin.out; echo "FAIL: $name: spin -a $*"; failed=1; return
    fi
    # Exhaustive: never BITSTATE; breadth-first for the broken variants,
    # so that their trails are the shortest.
    flags="-O2 -w -DSAFETY $model_cflags"
    [ "$expect" = dup ] && flags="$flags -DBFS"
    if ! $cc $flags -o pan pan.c >cc.out 2>&1; then
        cat cc.out; echo "FAIL: $name: cannot compile pan"; failed=1; return
    fi
    start=$(date +%s)
    ./pan -m200000 >pan.out 2>&1
    secs=$(( $(date +%s) - start ))
    errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' pan.out | tail -n 1)
    vector=$(grep '^State-vector' pan.out)
    stored=$(grep -E '^ *[0-9.e+]+ states, stored' pan.out | sed 's/^ *//')
    echo "$name ($*): $vector; $stored; ${secs} s"
    if [ -z "$errors" ] || [ -z "$vector" ] || [ -z "$stored" ]; then
        cat pan.out; echo "FAIL: $name: no result from pan"; failed=1; return
    fi
    case $expect in
    ok)
        if [ "$errors" -ne 0 ] || ! grep -q 'Full statespace search' pan.out ||
           grep -qE 'max search depth too small|search not completed|out of memory' pan.out; then
            cat pan.out
            [ -f "$model.trail" ] && spin -t "$@" "$model" | grep 'MSC:'
            echo "FAIL: $name: the protocol hands out a duplicate (errors: $errors)"
            failed=1
            return
        fi
        echo "ok: $name: errors: 0";;
    dup)
        if [ "$errors" -lt 1 ] || [ ! -f "$model.trail" ]; then
            cat pan.out
            echo "FAIL: $name: the broken variant found no duplicate (errors: $errors)"
            failed=1
            return
        fi
        steps=$(grep -c . "$model.trail")
        echo "ok: $name: duplicate found (errors: $errors), trail of $steps steps:"
        spin -t "$@" "$model" 2>&1 | sed -n 's/^ *MSC: /    /p' | uniq;;
    esac
}

# The protocol: two nodes, two claims each (segment 2), a crash or a
# graceful stop of each node at every point, lost COMMIT answers, restarts.
check crashes ok -DNODES=2 -DCLAIMS=2 -DSEG=2 -DDOWNS=1 -DDEFS=1
# ... and DEL + re-create of the name, segment 1.
check recreate ok -DNODES=2 -DCLAIMS=2 -DSEG=1 -DDOWNS=1 -DDEFS=2
# One node, a database that loses its newest claim (failover, no fence).
check failover ok -DNODES=1 -DCLAIMS=3 -DSEG=2 -DDOWNS=2 -DDEFS=2 -DFAILOVER
if [ "${MODEL_DEEP:-0}" = 1 ]; then
    check deep ok -DNODES=2 -DCLAIMS=2 -DSEG=2 -DDOWNS=1 -DDEFS=2
fi

# Broken variants: each must hand out a duplicate. GB_ANY_DEF is seqd's
# old give-back, which compared max_id but not the row's definition.
check broken-give-back-without-cas dup -DNODES=2 -DCLAIMS=2 -DSEG=2 -DDOWNS=1 -DDEFS=1 -DGB_NO_CAS
check broken-serve-unknown dup -DNODES=2 -DCLAIMS=2 -DSEG=2 -DDOWNS=1 -DDEFS=1 -DSERVE_UNKNOWN
check broken-give-back-any-definition dup -DNODES=2 -DCLAIMS=2 -DSEG=1 -DDOWNS=1 -DDEFS=2 -DGB_ANY_DEF
check broken-forget-highwater dup -DNODES=1 -DCLAIMS=3 -DSEG=2 -DDOWNS=2 -DDEFS=2 -DFAILOVER -DNO_HIGHWATER

# The worker-id leases of type 5: two nodes contending for one worker id,
# time 0..4, a lease of 3 (a node stops 1 before it ends by its own
# clock), the reservation kept 1 ahead, one wall-clock step of each
# node, a crash or graceful stop of each, lost answers, stalls.
model=leases.pml
model_cflags=-DCOLLAPSE
check leases ok -DT=4 -DSTEPS=1
# Broken variants: each must make an id twice.
check broken-lease-without-floor dup -DT=4 -DSTEPS=1 -DNO_FLOOR
check broken-renew-any-generation dup -DT=4 -DSTEPS=1 -DRENEW_ANY_GEN
check broken-stop-any-generation dup -DT=4 -DSTEPS=1 -DSTOP_ANY_GEN

if [ "$failed" -ne 0 ]; then
    echo "FAIL: the models of the claim protocol and the worker-id leases"
    exit 1
fi
echo "PASS: the models of the claim protocol and the worker-id leases"
exit 0
