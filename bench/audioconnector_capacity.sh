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
BUILD_DIR=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
VOXGATE=$BUILD_DIR/src/voxgate
NODE_DIR=$SRC/tests/node
STEPS=${STEPS:-"10 50 100"}
HOLD=${HOLD:-10}
[ -x "$VOXGATE" ] || { echo "need $VOXGATE" >&2; exit 2; }
[ -d "$NODE_DIR/node_modules/ws" ] || { echo "need tests/node/node_modules (scripts/install-deps.sh)" >&2; exit 2; }

say() { printf '[audioconnector_capacity] %s\n' "$*"; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vg-accap.XXXXXX")
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	[ -n "${VG_BENCH_KEEP:-}" ] && say "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
	local p
	while :; do
		p=$((11000 + RANDOM % 9000))
		ss -Hantu | awk '{ n = split($5, a, ":"); print a[n] }' | grep -qx "$p" || { echo "$p"; return; }
	done
}
SIP=$(free_port) HTTP=$(free_port) MS=$(free_port)
KEY=bench-audioconnector-key
SECRET=$(printf 'bench-audioconnector-secret-0123' | base64)
cat >"$TMP/vg.yaml" <<YAML
sip:
  listen: ["udp:127.0.0.1:$SIP"]
http:
  listen: 127.0.0.1:$HTTP
limits:
  max_calls: 1000
store:
  path: $TMP/vg.db
log:
  level: warn
genesys:
  enabled: true
  listen: 127.0.0.1:$MS
  api_key: "$KEY"
  client_secret: "$SECRET"
YAML
"$VOXGATE" serve -c "$TMP/vg.yaml" >"$TMP/vg.log" 2>&1 &
VG=$!
PIDS+=("$VG")
for _ in $(seq 1 600); do
	curl -sf "http://127.0.0.1:$HTTP/metrics" >/dev/null 2>&1 && break
	kill -0 "$VG" 2>/dev/null || { cat "$TMP/vg.log" >&2; exit 1; }
	sleep 0.1
done
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
	sleep 2
done
