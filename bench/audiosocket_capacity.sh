#!/usr/bin/env bash
# bench/audiosocket_capacity.sh BUILD_DIR: sustained Asterisk AudioSocket
# sessions on one voxgate media loop.
#
# Starts BUILD_DIR/src/voxgate (use a release build) on loopback with
# asterisk.audiosocket_enabled (log.level warn, a temp store), then for every
# step starts N sessions at once from one tests/tools/asclient process (-s -n
# N, one poll loop): each sends a UUID and a 20 ms frame of silence every
# 20 ms for HOLD seconds while the bank-hotline flow plays its prompts back,
# and records the arrival of the daemon's frames. Per step it prints:
#
#   sessions    N
#   cores       voxgate process CPU (utime+stime, /proc/PID/stat) in cores,
#               over the middle WINDOW seconds
#   ms/sess-s   CPU per session-second
#   rx/s        frames received per session per second (50 = all of them)
#   jit p50     median over sessions of the per-session median |interval -
#               20 ms| of frame arrival (us)
#   jit p99     worst per-session p99 (us); jit max: worst single interval
#   late p99    server side: p99 of how late each frame left against its
#               20 ms schedule (voxgate_audiosocket_send_lateness_seconds,
#               bucket upper bound, over the step; ms)
#   tick p99    one media clock tick over all sessions (ms)
#   dropped     voxgate_audiosocket_frames_dropped_total (frames not queued
#               because a socket held two frames already)
#
# The client runs on the same machine: its own scheduling shows in the
# client-side jitter (a late read sees a burst); late p99 is the server's.
# Knobs: STEPS="25 100" HOLD=12 (s) WINDOW=6 (s) VG_BENCH_KEEP=1.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init ascap "$1"
TMP=$BENCH_TMP
ASCLIENT=$BUILD_DIR/tests/asclient
STEPS=${STEPS:-"25 100"}
HOLD=${HOLD:-12}
WINDOW=${WINDOW:-6}
[ -x "$VOXGATE" ] && [ -x "$ASCLIENT" ] ||
	{ echo "need $VOXGATE and $ASCLIENT (cmake --build $BUILD_DIR --target voxgate asclient)" >&2; exit 2; }

say() { printf '[audiosocket_capacity] %s\n' "$*"; }
AS=$(bench_port)
bench_config <<YAML
limits:
  max_calls: 2000
asterisk:
  audiosocket_enabled: true
  audiosocket_listen: 127.0.0.1:$AS
YAML
bench_start
VG=$VG_PID
HTTP=$BENCH_HTTP
say "voxgate pid $VG, audiosocket 127.0.0.1:$AS, $(nproc) CPUs"

scrape() { curl -sf "http://127.0.0.1:$HTTP/metrics"; }
# p99 (bucket upper bound, ms) of histogram NAME between two scrapes.
p99_ms() { # name before after
	{ grep "^$1_bucket" "$2" | sed 's/^/A /'; grep "^$1_bucket" "$3" | sed 's/^/B /'; } |
		awk '{ match($2, /le="[^"]*"/); le = substr($2, RSTART + 4, RLENGTH - 5)
			if ($1 == "A") a[le] = $3; else { b[le] = $3; order[++n] = le } }
		END { tot = b["+Inf"] - a["+Inf"]; if (tot <= 0) { print "-"; exit }
			for (i = 1; i <= n; i++) { le = order[i]
				if (b[le] - a[le] >= 0.99 * tot) {
					if (le == "+Inf") print ">max"; else printf "%.1f\n", le * 1000
					exit } } }'
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$VG/stat"; }
dropped() {
	curl -sf "http://127.0.0.1:$HTTP/metrics" |
		awk '/^voxgate_audiosocket_frames_dropped_total/ { print $2 }'
}
HZ=$(getconf CLK_TCK)
printf '%-9s %6s %10s %6s %8s %8s %8s %8s %8s %8s\n' sessions cores ms/sess-s rx/s \
	"jit p50" "jit p99" "jit max" "late p99" "tick p99" dropped
for n in $STEPS; do
	rm -f "$TMP"/c.*
	d0=$(dropped)
	scrape >"$TMP/m0"
	"$ASCLIENT" -s -n "$n" -t $((HOLD * 1000)) 127.0.0.1 "$AS" >"$TMP/c.all" 2>"$TMP/c.err" &
	cpids=($!)
	sleep $(((HOLD - WINDOW) / 2))
	t0=$(cpu_ticks) s0=$(date +%s%N)
	sleep "$WINDOW"
	t1=$(cpu_ticks) s1=$(date +%s%N)
	for p in "${cpids[@]}"; do wait "$p" || true; done
	d1=$(dropped)
	scrape >"$TMP/m1"
	late=$(p99_ms voxgate_audiosocket_send_lateness_seconds "$TMP/m0" "$TMP/m1")
	tick=$(p99_ms voxgate_audiosocket_tick_seconds "$TMP/m0" "$TMP/m1")
	med=$(cat "$TMP"/c.* | grep -oE 'jitter_p50_us=[0-9]+' | cut -d= -f2 | sort -n |
		awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] + 0 }')
	cat "$TMP"/c.* | awk -v n="$n" -v med="$med" -v late="$late" -v tick="$tick" -v hold="$HOLD" -v cpu=$((t1 - t0)) -v hz="$HZ" \
		-v ns=$((s1 - s0)) -v drop=$((${d1:-0} - ${d0:-0})) '
		{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		  rx += v["frames_rx"]
		  if (v["jitter_p99_us"] > p99) p99 = v["jitter_p99_us"]
		  if (v["jitter_max_us"] > mx) mx = v["jitter_max_us"] }
		END { secs = ns / 1e9; cores = cpu / hz / secs
		  printf "%-9d %6.3f %10.3f %6.1f %8d %8d %8d %8s %8s %8d\n", n, cores,
		    cores * 1000 / n, rx / NR / hold, med, p99, mx, late, tick, drop
		  printf "BENCH audiosocket.s%d.ms_per_sess_s %.3f ms\n", n, cores * 1000 / n
		  printf "BENCH audiosocket.s%d.late_p99 %s ms\n", n, late }'
done
say "voxgate log warnings: $(grep -c 'level=warn' "$TMP/voxgate.log" || true)"
