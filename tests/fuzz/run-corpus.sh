#!/bin/sh
# Replay the fuzz targets' seed corpora (tests/fuzz/corpus_*) in a build
# without libFuzzer: tests/fuzz/replay_* are the targets with a plain
# main() (replay.c). Every input, the regression seeds among them, must
# run without a broken property, a crash or a sanitizer report. With
# SEQD_VALGRIND=1 each replay runs under valgrind memcheck and fails on
# any error or definite leak. A fuzzing build skips this (77): there
# run-fuzz.sh runs the same seeds and fuzzes from them.
set -u

srcdir=${SEQD_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${SEQD_BUILDDIR:-$(pwd)}

if [ "${SEQD_FUZZING:-no}" = yes ]; then
    echo "run-corpus: a fuzzing build replays the seeds in run-fuzz.sh: skipped"
    exit 77
fi

export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
wrap=""
if [ "${SEQD_VALGRIND:-}" = 1 ]; then
    wrap="valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=97 --quiet"
fi

failed=0
for t in resp conn; do
    bin="$builddir/tests/fuzz/replay_$t"
    if [ ! -x "$bin" ]; then
        echo "run-corpus: $bin is missing (make check builds it)"
        failed=1
        continue
    fi
    # shellcheck disable=SC2086 # $wrap is a command line
    if ! $wrap "$bin" "$srcdir/tests/fuzz/corpus_$t"; then
        echo "run-corpus: replay_$t FAILED"
        failed=1
    fi
done
exit $failed
