#!/usr/bin/env bash
# bench/bench_simulate.sh BUILD_DIR: turn latency as callers hear it, over
# loopback SIP, with `voxgate simulate` and examples/bank/scenario.yaml
# (the bank hotline; a caller says one of three "lost card" phrasings).
#
# Starts BUILD_DIR/src/voxgate on loopback (log.level warn, a temp store),
# then for every concurrency step runs CALLS_PER_STEP x step calls, step at
# a time, and prints the report's figures: turn latency p50/p95/p99, the
# server's stages (p50), failures, and the simulator's own CPU time.
# Knobs: STEPS="1 5 10" CALLS_PER_STEP=2 VG_BENCH_KEEP=1.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init sim "$1"
TMP=$BENCH_TMP
STEPS=${STEPS:-"1 5 10"}
CALLS_PER_STEP=${CALLS_PER_STEP:-2}
[ -x "$VOXGATE" ] || { echo "need $VOXGATE" >&2; exit 2; }
command -v jq >/dev/null || { echo "need jq" >&2; exit 2; }

bench_config <<YAML
rtp:
  address: 127.0.0.1
  port_min: 42000
  port_max: 44999
YAML
bench_start
HTTP=$BENCH_HTTP
SIP=$BENCH_SIP
sed "s/127.0.0.1:5060/127.0.0.1:$SIP/" "$SRC/examples/bank/scenario.yaml" >"$TMP/bank.yaml"

printf '%-5s %-6s %-7s %-24s %-40s %-10s\n' conc calls failed "turn ms p50/p95/p99" \
	"server p50 stt/nlu/tts/total ms" "sim cpu"
for c in $STEPS; do
	n=$((c * CALLS_PER_STEP))
	/usr/bin/time -f '%U %S' -o "$TMP/time.$c" "$VOXGATE" simulate "$TMP/bank.yaml" \
		--api "http://127.0.0.1:$HTTP" --calls "$n" --concurrency "$c" \
		--json --quiet >"$TMP/sim.$c.json" 2>"$TMP/sim.$c.err" || true
	J=$TMP/sim.$c.json
	read -r u s < <(tail -n 1 "$TMP/time.$c")
	printf '%-5s %-6s %-7s %-24s %-40s %-10s\n' "$c" "$(jq .calls "$J")" "$(jq .failed "$J")" \
		"$(jq -r '.turn_latency_ms | "\(.p50|floor)/\(.p95|floor)/\(.p99|floor)"' "$J")" \
		"$(jq -r '.stages_ms | "\(.stt.p50*10|floor/10)/\(.nlu.p50*10|floor/10)/\(.tts.p50*10|floor/10)/\(.server_total.p50*10|floor/10)"' "$J")" \
		"$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2fs", u + s }')"
	jq -r '.failures[] | "  failed: \(.reason)"' "$J" | head -5
	bench_figure "simulate.c$c.p95" "$(jq -r '.turn_latency_ms.p95 // empty | floor' "$J")" ms "<=600"
	bench_figure "simulate.c$c.sim_cpu" "$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')" s
done
