#!/bin/sh
# Run each libFuzzer target of tests/fuzz for FUZZ_SECONDS (default 10)
# from its seed corpus, with leak detection; fail on any crash, leak or
# sanitizer report, and print what each run did (executions, coverage).
#
# A `make check` test: skipped (77) unless the build was configured with
# --enable-fuzzing. CI runs it with FUZZ_SECONDS=60. New inputs the fuzzer
# finds go to a scratch directory, never into the seed corpora in the
# source tree; a crashing input is kept in tests/fuzz/crashes/ of the
# build tree (see tests/fuzz/README.md to reproduce it).
set -u

srcdir=${SEQD_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${SEQD_BUILDDIR:-$(pwd)}
seconds=${FUZZ_SECONDS:-10}
targets=${FUZZ_TARGETS:-"fuzz_resp fuzz_conn"}

if [ "${SEQD_FUZZING:-no}" != yes ]; then
    echo "run-fuzz: not a fuzzing build (configure CC=clang --enable-fuzzing): skipped"
    exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/seqd-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
crashes="$builddir/tests/fuzz/crashes"
mkdir -p "$crashes"

# Leaks are reported per input (-detect_leaks) and at exit (LeakSanitizer);
# UBSan stops at its first report and prints a stack.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

failed=0
for t in $targets; do
    bin="$builddir/tests/fuzz/$t"
    seeds="$srcdir/tests/fuzz/corpus_${t#fuzz_}"
    if [ ! -x "$bin" ]; then
        echo "run-fuzz: $bin is missing (make in the fuzzing build)"
        failed=1
        continue
    fi
    # The seeds are read, new inputs are written to the scratch corpus.
    mkdir -p "$work/$t"
    log="$work/$t.log"
    echo "run-fuzz: $t for $seconds s"
    "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -detect_leaks=1 \
        -print_final_stats=1 -dict="$srcdir/tests/fuzz/seqd.dict" \
        -artifact_prefix="$crashes/$t-" "$work/$t" "$seeds" >"$log" 2>&1
    rc=$?
    # libFuzzer's last status line ("#N DONE cov: C ft: F corp: ...") and
    # its final stats (stat::number_of_executed_units: N).
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(printf '%s\n' "$done_line" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s\n' "$done_line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    echo "run-fuzz: $t: exit $rc, ${execs:-?} executions, cov: ${cov:-?} ft: ${ft:-?}"
    # Any sanitizer report fails the run, even one that did not stop it.
    if [ "$rc" -ne 0 ] || [ -z "$done_line" ] ||
        grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: (Address|Leak|Undefined)' "$log"; then
        echo "run-fuzz: $t FAILED; its log:"
        tail -n 80 "$log"
        ls "$crashes"/"$t"-* 2>/dev/null | sed 's/^/run-fuzz: input kept: /'
        failed=1
    fi
done
exit $failed
