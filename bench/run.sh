#!/usr/bin/env bash
# bench/run.sh BUILD_DIR: every benchmark, in one go (`make bench` runs
# `bench/run.sh build/release`).
#
#  1. every micro-benchmark BUILD_DIR/bench/bench_* that was built
#     (bench/bench_*.c, see bench/CMakeLists.txt), each bounded by
#     BENCH_TIMEOUT seconds (default 120);
#  2. bench/media_capacity.sh BUILD_DIR: concurrent calls with RTP both ways
#     through a running daemon (its knobs, e.g. STEPS or WINDOW, pass through
#     the environment).
#
#  3. bench/nlu_stt.sh BUILD_DIR: intent accuracy on spoken, transcribed
#     BANKING77 utterances against the same utterances as text.
#
# Figures go to stdout; docs/BENCHMARKS.md records a reference run. Set
# SKIP_CAPACITY=1 / SKIP_NLU_STT=1 to leave those out. Exits non-zero when a
# micro-benchmark fails or times out, or media_capacity.sh fails to run
# (a capacity result that falls short of its target is a figure, not a
# failure).
set -uo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD_DIR=$(cd "$1" 2>/dev/null && pwd) || { echo "run.sh: no build dir $1 (make release)" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}
[ -d "$BUILD_DIR" ] || { echo "run.sh: no build dir $BUILD_DIR (make release)" >&2; exit 2; }

rc=0
echo "== machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== build: $BUILD_DIR ($(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || echo '?'))"

found=0
for b in "$BUILD_DIR"/bench/bench_*; do
	if [ ! -f "$b" ] || [ ! -x "$b" ]; then continue; fi
	found=$((found + 1))
	echo
	echo "== $(basename "$b")"
	start=$(date +%s)
	timeout --kill-after=5 "$BENCH_TIMEOUT" "$b"
	brc=$?
	if [ $brc -eq 124 ] || [ $brc -eq 137 ]; then
		echo "== $(basename "$b"): TIMEOUT after ${BENCH_TIMEOUT}s"
		rc=1
	elif [ $brc -ne 0 ]; then
		echo "== $(basename "$b"): exit $brc"
		rc=1
	else
		echo "== $(basename "$b"): done in $(($(date +%s) - start)) s"
	fi
done
[ $found -gt 0 ] || echo "== no micro-benchmarks in $BUILD_DIR/bench (build the bench_* targets)"

if [ "${SKIP_NLU_STT:-0}" != 1 ]; then
	echo
	echo "== nlu_stt.sh (intent accuracy on transcribed speech)"
	"$HERE/nlu_stt.sh" "$BUILD_DIR" || rc=1
fi

if [ "${SKIP_CAPACITY:-0}" != 1 ]; then
	echo
	echo "== media_capacity.sh"
	"$HERE/media_capacity.sh" "$BUILD_DIR" || rc=1
fi
exit $rc
