#!/usr/bin/env bash
# bench/run.sh [--write-summary] BUILD_DIR: every benchmark, in one go.
# `make bench` runs `BENCH_WRITE=1 bench/run.sh build/release`.
#
# Parts, in this order, each bounded in time and each skipped with its
# SKIP_<PART>=1 (default time limit in seconds in brackets):
#   MICRO          every micro-benchmark BUILD_DIR/bench/bench_* (bench/*.c,
#                  bench/CMakeLists.txt), each [BENCH_TIMEOUT=120]
#   SWEEP          bench/sweep.sh: speaking SIP callers against the bank flow
#                  at 1, 10, 25, 50, 100 concurrent calls [1000]
#   TURNS          bench/adapter_turns.sh: one turn through each adapter [600]
#   NLU_STT        bench/nlu_stt.sh: intent accuracy on transcribed speech [600]
#   CAPACITY       bench/media_capacity.sh: concurrent RTP calls [600]
#   AUDIOSOCKET    bench/audiosocket_capacity.sh [300]
#   TWILIO_MEDIA   bench/twilio_media_capacity.sh [300]
#   AUDIOCONNECTOR bench/audioconnector_capacity.sh [300]
#   AUDIOHOOK      bench/audiohook_capacity.sh [300]
#   STREAM_CALLS   bench/stream_calls.sh: streaming vs batch STT in SIP calls
#                  [600]
#   SIMULATE       bench/bench_simulate.sh [300]
#   TWILIO_WEBHOOK bench/bench_twilio_webhook.sh [300]
#   BOTCONNECTOR   bench/bench_botconnector.sh [300]
#   CONNECT        bench/bench_connect.sh [300]
#   CONNECT_FLOW   bench/bench_connect_flow.sh [300]
# PART_TIMEOUT=S overrides every script's limit. BENCH_FULL=1 runs each
# script with its own (longer) defaults; otherwise run.sh passes the trimmed
# knobs below so the whole run takes about 20 minutes on 2 cores (set any
# of them yourself to override):
#   sweep LEVELS="1 10 25 50 100"     adapter_turns N=3
#   nlu_stt NLU_STT_N=40              media_capacity STEPS="250 1000"
#     (utterances)                      WINDOW=10 HOLD_S=20
#   audiosocket STEPS="25 100" HOLD=8 WINDOW=4
#   twilio_media / audioconnector STEPS="10 100" HOLD=6
#   audiohook STEPS="2 8" SECS=15     bench_simulate STEPS=5 CALLS_PER_STEP=2
#   stream_calls LEVELS="1:10:2 6:24:6"
#   webhook / botconnector / connect STEPS="1 8" SECS=4
#   connect_flow STEPS="1 8" SECS=4
#
# Figures. Every bench prints its headline numbers as one line each:
#
#   BENCH <name> <value> <unit> [target=<op><value>]
#
# name: dotted, no spaces (e.g. sweep.c50.p95); value: a number, or "-"
# when it could not be measured; op: <= >= < >. run.sh collects these
# lines from every part and ends with a summary table: name, value, unit,
# target, and "met" / "MISSED" (or "-" without a target). A missed target
# is a figure, not a failure: run.sh exits non-zero only when a part
# crashes, exits non-zero or runs out of time (the part's name is listed).
#
# --write-summary (or BENCH_WRITE=1) rewrites only the block between
# `<!-- bench-summary:begin -->` and `<!-- bench-summary:end -->` in
# docs/BENCHMARKS.md with that table, the date, the machine, the build type,
# the load average before and after, and the commands. BENCH_LOG=FILE keeps
# the whole output (default: a temp file, removed unless the run failed).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
WRITE=${BENCH_WRITE:-0}
if [ "${1:-}" = --write-summary ]; then
	WRITE=1
	shift
fi
[ $# -eq 1 ] || { echo "usage: $0 [--write-summary] BUILD_DIR" >&2; exit 2; }
BUILD_DIR=$(cd "$1" 2>/dev/null && pwd) || { echo "run.sh: no build dir $1 (make release)" >&2; exit 2; }
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}
cd "$ROOT" || exit 2 # the micro-benchmarks read data/ relative to the tree
FIGS=$(mktemp /tmp/vg-bench-figs.XXXXXX)
LOG=${BENCH_LOG:-$(mktemp /tmp/vg-bench-log.XXXXXX)}
: >"$LOG"
FAILED=()
T0=$SECONDS
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
BTYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null)
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
COMMANDS=()

# part NAME LIMIT CMD...: run CMD bounded by LIMIT seconds, its output to
# the terminal and the log, its BENCH lines to the figures.
part() {
	local name=$1 limit=${PART_TIMEOUT:-$2} start prc
	shift 2
	echo
	echo "== $name: $*"
	start=$SECONDS
	timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$FIGS.part"
	prc=${PIPESTATUS[0]}
	cat "$FIGS.part" >>"$LOG"
	grep '^BENCH ' "$FIGS.part" >>"$FIGS"
	if [ "$prc" -eq 124 ] || [ "$prc" -eq 137 ]; then
		echo "== $name: TIMEOUT after ${limit}s"
		FAILED+=("$name (timeout)")
	elif [ "$prc" -ne 0 ]; then
		echo "== $name: exit $prc after $((SECONDS - start)) s"
		FAILED+=("$name (exit $prc)")
	else
		echo "== $name: done in $((SECONDS - start)) s"
	fi
}

# script PART LIMIT SCRIPT [KNOB=VALUE...]: a bench/*.sh part; the knobs
# apply unless BENCH_FULL=1 or the variable is already set.
script() {
	local name=$1 limit=$2 sh=$3 kv var skip=SKIP_$1 env=() shown=""
	shift 3
	[ "${!skip:-0}" = 1 ] && { echo; echo "== $name: skipped ($skip=1)"; return; }
	for kv in "$@"; do
		var=${kv%%=*}
		if [ -n "${!var:-}" ]; then
			shown+="$var=\"${!var}\" " # set by the caller: exported, as it is
		elif [ "${BENCH_FULL:-0}" != 1 ]; then
			env+=("$kv")
			shown+="$var=\"${kv#*=}\" "
		fi
	done
	COMMANDS+=("${shown}bench/$sh BUILD_DIR")
	part "$name" "$limit" env "${env[@]}" "$HERE/$sh" "$BUILD_DIR"
}

echo "== machine: $(nproc) CPUs, $CPU, load $LOAD0"
echo "== build: $BUILD_DIR (${BTYPE:-?})"

if [ "${SKIP_MICRO:-0}" != 1 ]; then
	found=0
	for b in "$BUILD_DIR"/bench/bench_*; do
		if [ ! -f "$b" ] || [ ! -x "$b" ]; then continue; fi
		found=$((found + 1))
		part "$(basename "$b")" "$BENCH_TIMEOUT" "$b"
	done
	[ $found -gt 0 ] || echo "== no micro-benchmarks in $BUILD_DIR/bench (build the bench_* targets)"
	COMMANDS+=("BUILD_DIR/bench/bench_* (each, at most ${BENCH_TIMEOUT} s)")
fi

script SWEEP 1500 sweep.sh LEVELS="1 10 25 50 100"
script TURNS 600 adapter_turns.sh N=3
script NLU_STT 600 nlu_stt.sh NLU_STT_N=40
script CAPACITY 600 media_capacity.sh STEPS="250 1000" WINDOW=10 HOLD_S=20
script AUDIOSOCKET 300 audiosocket_capacity.sh STEPS="25 100" HOLD=8 WINDOW=4
script TWILIO_MEDIA 300 twilio_media_capacity.sh STEPS="10 100" HOLD=6
script AUDIOCONNECTOR 300 audioconnector_capacity.sh STEPS="10 100" HOLD=6
script AUDIOHOOK 300 audiohook_capacity.sh STEPS="2 8" SECS=15
script STREAM_CALLS 600 stream_calls.sh LEVELS="1:10:2 6:24:6"
script SIMULATE 300 bench_simulate.sh STEPS=5 CALLS_PER_STEP=2
script TWILIO_WEBHOOK 300 bench_twilio_webhook.sh STEPS="1 8" SECS=4
script BOTCONNECTOR 300 bench_botconnector.sh STEPS="1 8" SECS=4
script CONNECT 300 bench_connect.sh STEPS="1 8" SECS=4
script CONNECT_FLOW 300 bench_connect_flow.sh STEPS="1 8" SECS=4

LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
MINUTES=$(((SECONDS - T0 + 30) / 60))

# The summary: one row per BENCH line.
summary() { # markdown(0/1)
	awk -v md="$1" '
	function verdict(v, t,   op, x) {
		if (t == "") return "-"
		if (v !~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/) return "MISSED"
		match(t, /^(<=|>=|<|>)/); op = substr(t, 1, RLENGTH); x = substr(t, RLENGTH + 1) + 0; v += 0
		if ((op == "<=" && v <= x) || (op == ">=" && v >= x) || (op == "<" && v < x) || (op == ">" && v > x)) return "met"
		return "MISSED"
	}
	# a well-formed line only (a stderr line run into one is dropped)
	$1 == "BENCH" && (NF == 4 || (NF == 5 && $5 ~ /^target=/)) {
		t = ""; if ($5 ~ /^target=/) t = substr($5, 8)
		if (md) printf "| %s | %s | %s | %s | %s |\n", $2, $3, $4, t == "" ? "" : t, verdict($3, t)
		else printf "%-52s %12s %-14s %-10s %s\n", $2, $3, $4, t == "" ? "-" : t, verdict($3, t)
	}' "$FIGS"
}
echo
echo "== summary ($(grep -c '^BENCH ' "$FIGS") figures, ${MINUTES} min, load $LOAD0 -> $LOAD1)"
printf '%-52s %12s %-14s %-10s %s\n' figure value unit target result
summary 0
met=$(summary 0 | awk '$NF == "met"' | wc -l)
missed=$(summary 0 | awk '$NF == "MISSED"' | wc -l)
echo "targets met: $met, missed: $missed"
if [ ${#FAILED[@]} -gt 0 ]; then
	echo "FAILED parts: ${FAILED[*]} (log: $LOG)"
fi

if [ "$WRITE" = 1 ]; then
	DOC=$ROOT/docs/BENCHMARKS.md
	if ! grep -q '^<!-- bench-summary:begin -->$' "$DOC" || ! grep -q '^<!-- bench-summary:end -->$' "$DOC"; then
		echo "run.sh: no bench-summary markers in $DOC: not written" >&2
		FAILED+=("write-summary")
	else
		BLOCK=$(mktemp /tmp/vg-bench-block.XXXXXX)
		{
			echo "<!-- bench-summary:begin -->"
			echo "<!-- written by bench/run.sh --write-summary; edit the note below the end marker, not this block -->"
			echo "Last \`make bench\`: $STARTED, ${MINUTES} min; $(nproc) CPUs ($CPU);"
			echo "build \`$(basename "$BUILD_DIR")\` (${BTYPE:-?}); load average $LOAD0 before, $LOAD1 after;"
			echo "targets met $met, missed $missed$([ ${#FAILED[@]} -gt 0 ] && echo "; FAILED parts: ${FAILED[*]}")."
			echo
			echo "| figure | value | unit | target | result |"
			echo "|---|---|---|---|---|"
			summary 1
			echo
			echo "Commands (BUILD_DIR = \`$BUILD_DIR\`; \`make bench\` = \`make release\` then \`BENCH_WRITE=1 bench/run.sh build/release\`):"
			echo
			echo '```sh'
			printf '%s\n' "${COMMANDS[@]}"
			echo '```'
			echo "<!-- bench-summary:end -->"
		} >"$BLOCK"
		awk -v block="$BLOCK" '
			$0 == "<!-- bench-summary:begin -->" { while ((getline l < block) > 0) print l; skip = 1; next }
			$0 == "<!-- bench-summary:end -->" { skip = 0; next }
			!skip' "$DOC" >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
		rm -f "$BLOCK"
		echo "== wrote the summary into docs/BENCHMARKS.md"
	fi
fi

rm -f "$FIGS" "$FIGS.part"
if [ ${#FAILED[@]} -gt 0 ]; then
	exit 1
fi
[ -n "${BENCH_LOG:-}" ] || rm -f "$LOG"
exit 0
