#!/usr/bin/env bash
# bench/stream_calls.sh BUILD_DIR: streaming recognition in SIP calls
# (docs/BENCHMARKS.md "Streaming in calls"), stream against batch, at 1, 6
# and 10 callers speaking at once. The machinery is the integration test's
# (tests/integration/test_stream_call.sh: the flow, the scenario, the
# daemon, `voxgate simulate` over loopback SIP, its checks), run once per
# level with VG_STREAM_CALLS / _CONCURRENCY / _DECODERS / _MODES; this
# script reads the MEASURED lines it prints and turns them into figures:
#   BENCH stream_calls.<mode>_<C>_callers_stt_p95 MS ms
#   BENCH stream_calls.<mode>_<C>_callers_turn_p95 MS ms
# (the server's STT stage, detected end of speech -> final transcript, and
# the caller's turn latency, p95 over the level's calls). A level whose
# test failed prints its figures as "-" and the script exits 1.
# Knobs: LEVELS ("callers:calls:decoders ...", default "1:10:2 6:24:6
# 10:40:10"), MODES (default "stream batch"; batch-noearly too), VG_KEEP=1
# (each level's output kept in $TMPDIR). Bounded: 30 min per level.
set -uo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$(cd "$1" && pwd) || exit 2
SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$SRC/bench/lib.sh"
[ -x "$BUILD/src/voxgate" ] || { echo "$0: no $BUILD/src/voxgate" >&2; exit 2; }
LEVELS=${LEVELS:-"1:10:2 6:24:6 10:40:10"}
MODES=${MODES:-"stream batch"}
rc=0
for lv in $LEVELS; do
	IFS=: read -r callers calls decoders <<<"$lv"
	[[ "$callers" =~ ^[0-9]+$ && "$calls" =~ ^[0-9]+$ && "$calls" -ge 2 &&
		"$decoders" =~ ^[0-9]+$ ]] ||
		{ echo "$0: LEVELS entry '$lv' is not callers:calls(>=2):decoders" >&2; exit 2; }
	log=$(mktemp "${TMPDIR:-/tmp}/vg-stream-calls.XXXXXX")
	echo "stream_calls: $callers caller(s) at once, $calls calls, stt.decoders $decoders, load $(cut -d' ' -f1-3 /proc/loadavg)"
	VOXGATE=$BUILD/src/voxgate VG_SOURCE_DIR=$SRC VG_BUILD_DIR=$BUILD \
		VG_STREAM_CALLS=$calls VG_STREAM_CONCURRENCY=$callers \
		VG_STREAM_DECODERS=$decoders VG_STREAM_MODES=$MODES \
		timeout 1800 bash "$SRC/tests/integration/test_stream_call.sh" >"$log" 2>&1
	lrc=$?
	[ $lrc -eq 0 ] || { rc=1; echo "stream_calls: the level failed (exit $lrc), log $log" >&2; }
	for m in $MODES; do
		line=$(grep -m1 "MEASURED $m: " "$log" || true)
		echo "  ${line#*MEASURED }"
		stt=$(sed -n 's/.*server STT stage[^{]*\({[^}]*}\).*/\1/p' <<<"$line")
		turn=$(sed -n 's/.*turn latency ms \({[^}]*}\).*/\1/p' <<<"$line")
		s95=$(jq -r '.p95 // "-"' <<<"${stt:-{\}}" 2>/dev/null || echo -)
		t95=$(jq -r '.p95 // "-"' <<<"${turn:-{\}}" 2>/dev/null || echo -)
		bench_figure "stream_calls.${m//-/_}_${callers}_callers_stt_p95" "$s95" ms
		bench_figure "stream_calls.${m//-/_}_${callers}_callers_turn_p95" "$t95" ms
	done
	[ -n "${VG_KEEP:-}" ] || [ $lrc -ne 0 ] || rm -f "$log"
done
exit $rc
