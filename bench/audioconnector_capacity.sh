#!/usr/bin/env bash
# bench/audioconnector_capacity.sh BUILD_DIR: sustained Genesys Audio
# Connector bot sessions on one voxgate media loop.
#
# Starts BUILD_DIR/src/voxgate on loopback with genesys.enabled (the
# AudioHook listener; log.level warn, a temp store), then per step runs
# tests/node/audioconnector_bench.js with N sessions for HOLD seconds:
# signed upgrades, `open` for the bank-hotline flow (mono PCMU external),
# PCMU silence every 20 ms. Per step it prints the client's JSON
# (rx_per_sess_s: bot frames per session-second while prompts play; jit_*:
# |arrival interval - 20 ms| of consecutive frames, us) and the daemon's CPU
# (utime+stime from /proc/PID/stat over the step, in cores, and ms per
# session-second). The client is node on the same machine: its timers show
# in the jitter. Knobs: STEPS="10 50 100" HOLD=10 (s) VG_BENCH_KEEP=1.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init accap "$1"
NODE_DIR=$SRC/tests/node
STEPS=${STEPS:-"10 50 100"}
HOLD=${HOLD:-10}
[ -x "$VOXGATE" ] || { echo "need $VOXGATE" >&2; exit 2; }
[ -d "$NODE_DIR/node_modules/ws" ] || { echo "need tests/node/node_modules (scripts/install-deps.sh)" >&2; exit 2; }

say() { printf '[audioconnector_capacity] %s\n' "$*"; }
MS=$(bench_port)
KEY=bench-audioconnector-key
SECRET=$(printf 'bench-audioconnector-secret-0123' | base64)
bench_config <<YAML
limits:
  max_calls: 1000
genesys:
  enabled: true
  listen: 127.0.0.1:$MS
  api_key: "$KEY"
  client_secret: "$SECRET"
YAML
bench_start
VG=$VG_PID
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$VG/stat"; }
HZ=$(getconf CLK_TCK)
say "voxgate pid $VG, audio connector on 127.0.0.1:$MS, steps: $STEPS, hold ${HOLD}s"
for n in $STEPS; do
	c0=$(cpu_ticks)
	s0=$(date +%s.%N)
	out=$(node "$NODE_DIR/audioconnector_bench.js" --port "$MS" --key "$KEY" \
		--secret "$SECRET" --n "$n" --secs "$HOLD")
	s1=$(date +%s.%N)
	c1=$(cpu_ticks)
	cores=$(awk -v c="$((c1 - c0))" -v hz="$HZ" -v s0="$s0" -v s1="$s1" 'BEGIN { printf "%.3f", c / hz / (s1 - s0) }')
	msps=$(awk -v c="$((c1 - c0))" -v hz="$HZ" -v n="$n" -v h="$HOLD" 'BEGIN { printf "%.3f", c * 1000 / hz / (n * h) }')
	say "sessions=$n cores=$cores ms_per_sess_s=$msps client=$out"
	bench_figure "audioconnector.s$n.ms_per_sess_s" "$msps" ms
	bench_figure "audioconnector.s$n.rx_per_sess_s" "$(jq -r '.rx_per_sess_s // empty' <<<"$out" 2>/dev/null)" frames/s
	sleep 2
done
