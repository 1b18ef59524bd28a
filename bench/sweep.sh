#!/usr/bin/env bash
# bench/sweep.sh BUILD_DIR: the concurrency sweep of issue [7/7]: speaking
# callers through SIP against the bank demo flow at growing concurrency,
# the highest concurrency whose p95 turn latency stays within 600 ms, and
# the simulator's own CPU share at the top level.
#
# Starts BUILD_DIR/src/voxgate on loopback (log.level warn, a temp store,
# the built-in bank-hotline flow) and plays examples/bank/scenario.yaml (a
# caller who lost a card says so in one of three phrasings, with the flite
# voice slt; the main menu answers in open speech: Moonshine STT, then the
# flow's intent classifier) at every level of LEVELS, concurrency = level,
# calls = max(level, CALLS). With a simulator that has `--sweep` (see
# docs/SIMULATOR.md) that is one `voxgate simulate --sweep 1,10,25,50,100
# --json` process; otherwise one `voxgate simulate --calls N --concurrency
# C --json` per level (SWEEP_MODE=loop forces that). The simulator's CPU
# (utime+stime from /proc/PID/stat, sampled every 200 ms) over the top
# level's wall time gives its share of one core.
#
# Prints a table per level (calls, failed, turn latency p50/p95/p99 ms, the
# server's stage p50s stt/nlu/tts/total ms, wall s, simulator CPU %) and the
# BENCH figure lines (bench/run.sh): sweep.cN.p50 and .p95 (targets p50 <=
# 350 ms and p95 <= 600 ms at 1 and at 50 calls), sweep.max_concurrency
# (the highest level with p95 <= SWEEP_P95 ms and no failed call; target
# >= 50) and sweep.sim_cpu (percent of one core at the top level; target
# <= 20). Failed calls are figures; the bench fails (exit 1) only when the
# simulator crashes, prints no JSON or runs out of time.
# With SPREAD=S (default 15, about one bank call; 0 = off) and a simulator
# that has --sweep-spread, the sweep runs a second time as a steady load:
# each level places 2 x level calls arriving level/S per second, so about
# `level` are up at once while their turns fall at different moments (the
# first run is the burst: every caller dials at once and stops speaking
# within the same moment, turn after turn: the worst case for the STT
# queue). Its figures are steady.cN.p50/.p95, steady.cN.up (median calls
# up when a turn started) and steady.max_concurrency.
# Knobs: LEVELS="1 10 25 50 100" CALLS=0 SWEEP_P95=600 SWEEP_MODE=auto|loop SPREAD=15
# LEVEL_TIMEOUT=180 (s per level) SWEEP_JSON=FILE (keep the JSON)
# SWEEP_HTML=FILE (--sweep mode: also the simulator's HTML report)
# VG_BENCH_KEEP=1.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init sweep "$1"
TMP=$BENCH_TMP
LEVELS=${LEVELS:-"1 10 25 50 100"}
CALLS=${CALLS:-0}
SWEEP_P95=${SWEEP_P95:-600}
SWEEP_MODE=${SWEEP_MODE:-auto}
LEVEL_TIMEOUT=${LEVEL_TIMEOUT:-180}
SPREAD=${SPREAD:-15}
HZ=$(getconf CLK_TCK)
bench_need jq curl python3
[ -x "$VOXGATE" ] || { echo "need $VOXGATE" >&2; exit 2; }

bench_config <<YAML
rtp:
  address: 127.0.0.1
  port_min: 42000
  port_max: 44999
limits:
  max_calls: 1000
YAML
bench_start
sed "s/127.0.0.1:5060/127.0.0.1:$BENCH_SIP/" "$SRC/examples/bank/scenario.yaml" >"$TMP/bank.yaml"

if [ "$SWEEP_MODE" = auto ]; then
	SWEEP_MODE=loop
	"$VOXGATE" simulate --help 2>&1 | grep -q -- '--sweep' && SWEEP_MODE=sweep
fi

# sim_sampled OUT SAMPLES TIMEOUT ARGS...: voxgate simulate ARGS with stdout
# to OUT, "ns ticks" of its CPU every 200 ms into SAMPLES, killed after
# TIMEOUT s. Returns its exit status (124 when it was killed).
sim_sampled() {
	local out=$1 samples=$2 limit=$3 pid rc end timed_out=0
	shift 3
	: >"$samples"
	"$VOXGATE" simulate "$@" >"$out" 2>>"$TMP/sim.err" &
	pid=$!
	bench_track "$pid"
	end=$((SECONDS + limit))
	while kill -0 "$pid" 2>/dev/null; do
		echo "$(date +%s%N) $(bench_cpu_ticks "$pid")" >>"$samples"
		if [ $SECONDS -ge $end ]; then
			kill -TERM "$pid" 2>/dev/null || true
			timed_out=1
			break
		fi
		sleep 0.2
	done
	rc=0
	wait "$pid" || rc=$?
	[ $timed_out = 0 ] || rc=124
	return $rc
}

# cpu_share SAMPLES WALL_MS: percent of one core over the last WALL_MS of
# the samples (the whole run when WALL_MS is 0).
cpu_share() {
	awk -v w="$2" -v hz="$HZ" '$2 > 0 { t[++n] = $1; c[n] = $2 } END {
		if (n < 2) { print "-"; exit }
		from = (w > 0) ? t[n] - w * 1e6 : t[1]
		i = 1; while (i < n && t[i + 1] <= from) i++
		if (t[n] <= t[i]) { print "-"; exit }
		printf "%.1f\n", 100 * (c[n] - c[i]) / hz / ((t[n] - t[i]) / 1e9) }' "$1"
}

levels_csv=$(tr ' ' ',' <<<"$LEVELS")
top=${LEVELS##* }
rc=0
bench_say "voxgate $("$VOXGATE" --version 2>/dev/null | head -1), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); mode $SWEEP_MODE; levels $LEVELS"
if [ "$SWEEP_MODE" = sweep ]; then
	n_levels=$(wc -w <<<"$LEVELS")
	cargs=()
	[ "$CALLS" -gt 0 ] && cargs=(--calls "$CALLS")
	[ -n "${SWEEP_HTML:-}" ] && cargs+=(--html "$SWEEP_HTML")
	src=0
	sim_sampled "$TMP/sweep.json" "$TMP/samples.all" $((LEVEL_TIMEOUT * n_levels)) \
		"$TMP/bank.yaml" --api "http://127.0.0.1:$BENCH_HTTP" --sweep "$levels_csv" \
		--sweep-p95 "$SWEEP_P95" "${cargs[@]}" --json --quiet || src=$?
	case $src in
	0 | 1) ;;
	*) bench_say "simulate --sweep exited $src"; rc=1 ;;
	esac
	jq -e '.sweep | arrays' "$TMP/sweep.json" >/dev/null 2>&1 || {
		bench_say "no sweep JSON: $(tail -3 "$TMP/sim.err")"
		exit 1
	}
	cp "$TMP/sweep.json" "$TMP/all.json"
	last_c=$(jq -r '.sweep[-1].concurrency' "$TMP/all.json")
	last_w=$(jq -r '.sweep[-1].wall_ms' "$TMP/all.json")
	sim_cpu=-
	[ "$last_c" = "$top" ] && sim_cpu=$(cpu_share "$TMP/samples.all" "$last_w")
else
	for c in $LEVELS; do
		n=$((CALLS > c ? CALLS : c))
		src=0
		sim_sampled "$TMP/level.$c.json" "$TMP/samples.$c" "$LEVEL_TIMEOUT" \
			"$TMP/bank.yaml" --api "http://127.0.0.1:$BENCH_HTTP" --calls "$n" \
			--concurrency "$c" --json --quiet || src=$?
		case $src in
		0 | 1) ;;
		*) bench_say "level $c: simulate exited $src"; rc=1 ;;
		esac
		if ! jq -e . "$TMP/level.$c.json" >/dev/null 2>&1; then
			bench_say "level $c: no JSON: $(tail -3 "$TMP/sim.err")"
			rc=1
			break
		fi
		jq -c --argjson c "$c" '{concurrency: $c, calls, failed, turn_latency_ms,
			stages_ms, wall_ms}' "$TMP/level.$c.json" >>"$TMP/levels.jsonl"
		# the --sweep contract: stop when more than half the calls failed
		[ "$(jq '.failed * 2 > .calls' "$TMP/level.$c.json")" = true ] &&
			{ bench_say "level $c: more than half the calls failed: stopping"; break; }
	done
	[ -s "$TMP/levels.jsonl" ] || exit 1
	jq -s --argjson p "$SWEEP_P95" '{sweep: ., sweep_p95_ms: $p,
		sweep_max_concurrency: ([.[] | select(.failed == 0 and .turn_latency_ms.p95 != null
			and .turn_latency_ms.p95 <= $p) | .concurrency] | max)}' \
		"$TMP/levels.jsonl" >"$TMP/all.json"
	last_c=$(jq -r '.sweep[-1].concurrency' "$TMP/all.json")
	sim_cpu=-
	[ "$last_c" = "$top" ] && sim_cpu=$(cpu_share "$TMP/samples.$top" 0)
fi
[ -n "${SWEEP_JSON:-}" ] && cp "$TMP/all.json" "$SWEEP_JSON"

printf '%-5s %-6s %-7s %-22s %-28s %-7s\n' conc calls failed "turn ms p50/p95/p99" \
	"server p50 stt/nlu/tts/total" "wall s"
jq -r 'def r1: if type == "number" then . * 10 | round / 10 else "-" end;
	.sweep[] | [.concurrency, .calls, .failed,
	(.turn_latency_ms | "\(.p50 | r1)/\(.p95 | r1)/\(.p99 | r1)"),
	(.stages_ms | "\(.stt.p50 | r1)/\(.nlu.p50 | r1)/\(.tts.p50 | r1)/\(.server_total.p50 | r1)"),
	((.wall_ms // 0) / 1000 | floor)] | @tsv' "$TMP/all.json" |
	while IFS=$'\t' read -r c n f t s w; do
		printf '%-5s %-6s %-7s %-22s %-28s %-7s\n' "$c" "$n" "$f" "$t" "$s" "$w"
	done
max_c=$(jq -r '.sweep_max_concurrency // "none"' "$TMP/all.json")
bench_say "highest concurrency with p95 <= $SWEEP_P95 ms and no failed call: $max_c; simulator CPU at $top calls: $sim_cpu% of one core"
grep -v '^$' "$TMP/sim.err" | sort | uniq -c | sort -rn | head -5 | sed 's/^/  sim: /' || true

while IFS=$'\t' read -r c p50 p95 f; do
	t50="" t95=""
	case $c in 1 | 50) t50="<=350" t95="<=600" ;; esac
	bench_figure "sweep.c$c.p50" "$p50" ms "$t50"
	bench_figure "sweep.c$c.p95" "$p95" ms "$t95"
	bench_figure "sweep.c$c.failed" "$f" calls
done < <(jq -r '.sweep[] | [.concurrency, (.turn_latency_ms.p50 // "-" | if type == "number" then floor else . end),
	(.turn_latency_ms.p95 // "-" | if type == "number" then floor else . end), .failed] | @tsv' "$TMP/all.json")
bench_figure sweep.max_concurrency "$( [ "$max_c" = none ] && echo 0 || echo "$max_c")" calls ">=50"
bench_figure sweep.sim_cpu "$sim_cpu" "%core" "<=20"

# The steady-load sweep (see SPREAD above).
if [ "$SWEEP_MODE" = sweep ] && [ "$SPREAD" != 0 ] &&
	"$VOXGATE" simulate --help 2>&1 | grep -q -- '--sweep-spread'; then
	n_levels=$(wc -w <<<"$LEVELS")
	src=0
	sim_sampled "$TMP/steady.json" "$TMP/samples.steady" $((LEVEL_TIMEOUT * n_levels * 2)) \
		"$TMP/bank.yaml" --api "http://127.0.0.1:$BENCH_HTTP" --sweep "$levels_csv" \
		--sweep-p95 "$SWEEP_P95" --sweep-spread "$SPREAD" --json --quiet || src=$?
	case $src in
	0 | 1) ;;
	*) bench_say "simulate --sweep-spread exited $src"; rc=1 ;;
	esac
	if jq -e '.sweep | arrays' "$TMP/steady.json" >/dev/null 2>&1; then
		bench_say "steady load (calls arrive level/$SPREAD per second, 2 x level calls):"
		printf '%-5s %-6s %-7s %-9s %-22s %-28s\n' conc calls failed "up p50" \
			"turn ms p50/p95/p99" "server p50 stt/nlu/tts/total"
		jq -r 'def r1: if type == "number" then . * 10 | round / 10 else "-" end;
			.sweep[] | [.concurrency, .calls, .failed, (.active_p50 | r1),
			(.turn_latency_ms | "\(.p50 | r1)/\(.p95 | r1)/\(.p99 | r1)"),
			(.stages_ms | "\(.stt.p50 | r1)/\(.nlu.p50 | r1)/\(.tts.p50 | r1)/\(.server_total.p50 | r1)")] | @tsv' \
			"$TMP/steady.json" |
			while IFS=$'\t' read -r c n f u t st; do
				printf '%-5s %-6s %-7s %-9s %-22s %-28s\n' "$c" "$n" "$f" "$u" "$t" "$st"
			done
		while IFS=$'\t' read -r c p50 p95 f u; do
			t50="" t95=""
			case $c in 1 | 50) t50="<=350" t95="<=600" ;; esac
			bench_figure "steady.c$c.p50" "$p50" ms "$t50"
			bench_figure "steady.c$c.p95" "$p95" ms "$t95"
			bench_figure "steady.c$c.failed" "$f" calls
			bench_figure "steady.c$c.up" "$u" calls
		done < <(jq -r '.sweep[] | [.concurrency, (.turn_latency_ms.p50 // "-" | if type == "number" then floor else . end),
			(.turn_latency_ms.p95 // "-" | if type == "number" then floor else . end), .failed,
			(.active_p50 | floor)] | @tsv' "$TMP/steady.json")
		smax=$(jq -r '.sweep_max_concurrency // 0' "$TMP/steady.json")
		bench_figure steady.max_concurrency "$smax" calls ">=50"
		[ -n "${SWEEP_JSON:-}" ] && cp "$TMP/steady.json" "${SWEEP_JSON%.json}.steady.json"
	else
		bench_say "no steady sweep JSON: $(tail -3 "$TMP/sim.err")"
		rc=1
	fi
fi
exit $rc
