#!/usr/bin/env bash
# bench/media_capacity.sh BUILD_DIR: how many concurrent calls one voxgate
# media loop carries, with RTP both ways, measured step by step.
#
# Starts BUILD_DIR/src/voxgate (use a release build) on loopback with a temp
# config (max_calls 2000, a wide RTP range, log.level warn, a store in the temp
# dir), then for every step runs one sipp load generator that ramps to N
# concurrent calls (bench/sipp/uac_rtp_hold.xml: PCMU offer, a looped mu-law
# stream from sipp's rtpstream engine, voxgate's bank-hotline prompts back),
# lets them settle, and measures a window of WINDOW seconds:
#
#   calls      voxgate_active_calls (mean of the window's start and end)
#   ms/call-s  voxgate process CPU (utime+stime, /proc/PID/stat) per call-second
#   vg cores   voxgate process CPU in cores
#   media      CPU of the main thread (= the media loop) in cores
#   tx, rx     RTP packets sent/received per second over 50/call/s (ratio)
#   late p99   per-packet send lateness vs the 20 ms schedule (ms)
#   tick p99   duration of one media tick over all calls (ms)
#   lag p99    loop lag, media and web loops (ms)
#   RSS        voxgate resident memory (MB)
#   sipp       the load generator's CPU in cores; host = all CPUs busy (cores)
#
# p99s are histogram_quantile-style interpolations of the bucket deltas between
# the window's two /metrics scrapes. Then one summary line against the target
# (TARGET_CALLS calls on this machine, media loop <= 1 core, p99 lateness
# <= 5 ms) and, when it falls short, what the measurements point at.
#
# Knobs (environment): STEPS="100 250 500 750 1000" WINDOW=20 (s) SETTLE=2 (s)
# RATE=250 (calls/s while ramping) HOLD_S=30 (call length) TARGET_CALLS=1000 TARGET_MEDIA_CORES=1
# TARGET_LATE_MS=5 SIPP_TRANSPORT=u1 RESULTS=FILE (also write TSV rows)
# VG_NICE=0 (nice level of voxgate; -10 puts it ahead of other tenants)
# VG_RT_PRIO=0 (limits.media_rt_priority: SCHED_FIFO for the media loop)
# VG_BENCH_KEEP=1 (keep the temp dir). Every process started here is stopped
# on exit; each step is bounded in time (sipp -timeout plus our own kill).
set -euo pipefail

usage() { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
BUILD_DIR=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Only bench_figure from the shared pieces: this bench manages its own ports
# (fixed ranges for sipp), limits and processes.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
VOXGATE=$BUILD_DIR/src/voxgate
SCEN_TEMPLATE=$HERE/sipp/uac_rtp_hold.xml

STEPS=${STEPS:-"100 250 500 750 1000"}
WINDOW=${WINDOW:-20}
SETTLE=${SETTLE:-2}
RATE=${RATE:-250}
TARGET_CALLS=${TARGET_CALLS:-1000}
TARGET_MEDIA_CORES=${TARGET_MEDIA_CORES:-1}
TARGET_LATE_MS=${TARGET_LATE_MS:-5}
SIPP_TRANSPORT=${SIPP_TRANSPORT:-u1}
RESULTS=${RESULTS:-}
# The bank-hotline flow transfers (REFER) ~32 s after answer when no digit
# is pressed (3 menu rounds); sipp would count that as an unexpected message. Calls must end
# before: each call holds HOLD_S and the window fits in what the ramp leaves.
HOLD_S=${HOLD_S:-30}
VG_RT_PRIO=${VG_RT_PRIO:-0}
VG_NICE=${VG_NICE:-0} # e.g. -10 on a shared machine: voxgate ahead of other tenants

say() { printf '[media_capacity] %s\n' "$*"; }
die() { printf '[media_capacity] ERROR: %s\n' "$*" >&2; exit 1; }

[ -x "$VOXGATE" ] || die "$VOXGATE not found (build it: cmake --build $BUILD_DIR --target voxgate)"
[ -f "$SCEN_TEMPLATE" ] || die "missing $SCEN_TEMPLATE"
for t in sipp curl awk ss; do
	command -v "$t" >/dev/null 2>&1 || die "'$t' is missing (scripts/install-deps.sh)"
done
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)
case "$btype" in
Release | RelWithDebInfo) ;;
*) say "WARNING: $BUILD_DIR is a '${btype:-unknown}' build; figures are only meaningful for a release build" ;;
esac

# ---------- processes, cleanup ----------

TMP=$(mktemp -d /tmp/vg-media-capacity.XXXXXX)
VG_PID=""
SIPP_PID=""
NAP_PID=""
cleanup() {
	local rc=$?
	[ -z "$NAP_PID" ] || kill "$NAP_PID" 2>/dev/null || true
	if [ -n "$SIPP_PID" ] && kill -0 "$SIPP_PID" 2>/dev/null; then
		kill -TERM "$SIPP_PID" 2>/dev/null || true
		sleep 0.5
		kill -KILL "$SIPP_PID" 2>/dev/null || true
	fi
	if [ -n "$VG_PID" ] && kill -0 "$VG_PID" 2>/dev/null; then
		kill -TERM "$VG_PID" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$VG_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$VG_PID" 2>/dev/null || true
	fi
	wait 2>/dev/null || true
	if [ "${VG_BENCH_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
		say "temp dir kept: $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Both voxgate (it also raises its own limit) and sipp inherit this.
hard=$(ulimit -Hn)
want=65536
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then want=$hard; fi
ulimit -n "$want" || say "WARNING: cannot raise ulimit -n to $want"

# ---------- ports ----------

port_busy() { ss -Hltun "sport = :$1" 2>/dev/null | grep -q .; }
pick_port() { # lo hi step: a free port (UDP and TCP) in [lo, hi)
	local lo=$1 hi=$2 step=${3:-1} p
	for _ in $(seq 1 200); do
		p=$((lo + (RANDOM * 32768 + RANDOM) % ((hi - lo) / step) * step))
		port_busy "$p" || { echo "$p"; return; }
	done
	die "no free port in $lo..$hi"
}
SIP_PORT=$(pick_port 30000 32000)
HTTP_PORT=$(pick_port 30000 32000)
while [ "$HTTP_PORT" = "$SIP_PORT" ]; do HTTP_PORT=$(pick_port 30000 32000); done
SIPP_PORT=$(pick_port 32000 32700)
SIPP_CTRL_PORT=$(pick_port 32700 32760)
SIPP_MEDIA_PORT=$(pick_port 40000 44000 4)
# 10000 ports = 5000 calls (RTP + RTCP): at least twice max_calls, as CONFIG.md asks.
RTP_MIN=${RTP_MIN:-50000}
RTP_MAX=${RTP_MAX:-59998}

# ---------- voxgate ----------

cat >"$TMP/voxgate.yaml" <<EOF
sip:
  listen: ["udp:127.0.0.1:$SIP_PORT"]
rtp:
  address: 127.0.0.1
  port_min: $RTP_MIN
  port_max: $RTP_MAX
  media_timeout: 60s
http:
  listen: 127.0.0.1:$HTTP_PORT
limits:
  max_calls: 2000
  media_rt_priority: $VG_RT_PRIO
store:
  path: $TMP/voxgate.db
log:
  level: warn
shutdown:
  drain_timeout: 2s
EOF

# The caller's audio: a quiet 440 Hz tone as raw mu-law (PT 0), looped.
ULAW=$TMP/caller.ulaw
if command -v sox >/dev/null 2>&1; then
	sox -n -r 8000 -c 1 -e u-law -t raw "$ULAW" synth 10 sine 440 vol 0.1
else
	head -c 80000 /dev/zero | tr '\000' '\377' >"$ULAW" # mu-law silence
fi
sed "s|@ULAW_FILE@|$ULAW|" "$SCEN_TEMPLATE" >"$TMP/uac_rtp_hold.xml"

METRICS_URL=http://127.0.0.1:$HTTP_PORT/metrics
(cd "$TMP" && exec nice -n "$VG_NICE" "$VOXGATE" serve -c "$TMP/voxgate.yaml") >"$TMP/voxgate.log" 2>&1 &
VG_PID=$!
for _ in $(seq 1 100); do
	curl -sf --max-time 1 "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null 2>&1 && break
	kill -0 "$VG_PID" 2>/dev/null || { cat "$TMP/voxgate.log" >&2; die "voxgate exited at start"; }
	sleep 0.1
done
curl -sf --max-time 1 "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null ||
	die "voxgate not healthy after 10 s (log: $TMP/voxgate.log)"

NPROC=$(nproc)
HZ=$(getconf CLK_TCK)
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
say "voxgate $VOXGATE (pid $VG_PID, ${btype:-?}), SIP udp:127.0.0.1:$SIP_PORT, HTTP :$HTTP_PORT, RTP $RTP_MIN-$RTP_MAX"
say "machine: $NPROC CPUs, ${CPU_MODEL:-unknown CPU}; ulimit -n $(ulimit -n)"
[ "$VG_NICE" = 0 ] || say "voxgate runs at nice $VG_NICE (sipp at 0)"
say "steps: $STEPS; window ${WINDOW}s after ${SETTLE}s settle; ramp ${RATE} calls/s; sipp -t $SIPP_TRANSPORT, rtpstream PT 0"

# ---------- measurements ----------

scrape() { curl -sf --max-time 5 "$METRICS_URL" >"$1" || : >"$1"; }
metric() { # file name [label-substring]: value of a counter/gauge (0 if absent)
	awk -v m="$2" -v f="${3:-}" '
		($1 == m || index($1, m "{") == 1) && (f == "" || index($1, f)) { v += $2; n++ }
		END { printf "%.0f\n", n ? v : 0 }' "$1"
}
# hist_q Q FILE_A FILE_B NAME [LABEL]: the Q quantile (in ms) of the
# observations between two scrapes, interpolated inside its bucket as
# Prometheus' histogram_quantile does. ">X" when it lies in the +Inf bucket.
hist_q() {
	awk -v q="$1" -v m="$4_bucket{" -v f="${5:-}" '
		function le_of(s) { match(s, /le="[^"]*"/); return substr(s, RSTART + 4, RLENGTH - 5) }
		index($1, m) != 1 || (f != "" && !index($1, f)) { next }
		FNR == NR { a[le_of($1)] = $2; next }
		{ n++; le[n] = le_of($1); c[n] = $2 - a[le[n]] }
		END {
			if (!n || c[n] <= 0) { print "n/a"; exit }
			rank = q * c[n]; plo = 0; pc = 0
			for (i = 1; i <= n; i++) {
				if (c[i] >= rank) {
					if (le[i] == "+Inf") { printf ">%.3g\n", plo * 1000; exit }
					v = (c[i] > pc) ? plo + (le[i] - plo) * (rank - pc) / (c[i] - pc) : le[i]
					printf "%.2f\n", v * 1000; exit
				}
				plo = le[i]; pc = c[i]
			}
		}' "$2" "$3"
}
ticks() { # pid [tid]: "utime stime" in clock ticks (0 0 if gone)
	local f=/proc/$1/stat
	[ -n "${2:-}" ] && f=/proc/$1/task/$2/stat
	awk '{ sub(/^.*\) /, ""); print $12, $13 }' "$f" 2>/dev/null || echo 0 0
}
host_cpu() { # busy total (jiffies, all CPUs)
	awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}
nvcsw() { awk '/^nonvoluntary_ctxt_switches/ { print $2 }' "/proc/$1/task/$1/status" 2>/dev/null || echo 0; }
rss_mb() { awk '/^VmRSS/ { printf "%.0f\n", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo 0; }
now() { date +%s.%N; }
# sleep that a trapped signal interrupts at once (bash runs traps only
# between foreground commands, but does interrupt `wait`)
nap() { sleep "$1" & NAP_PID=$!; wait "$NAP_PID" 2>/dev/null || true; NAP_PID=""; }
fcalc() { awk "BEGIN { printf \"$1\n\", ($2) }"; } # parenthesized: '>' compares
active() { { curl -sf --max-time 2 "$METRICS_URL" || true; } | awk '$1 == "voxgate_active_calls" { v = $2 } END { print v + 0 }'; }

if [ -n "$RESULTS" ]; then
	printf 'step\tcalls\tms_per_call_s\tvg_cores\tmedia_cores\ttx_ratio\trx_ratio\tlate_p99_ms\ttick_p99_ms\ttick_jitter_p99_ms\tlag_media_p99_ms\tlag_web_p99_ms\trss_mb\tsipp_cores\thost_cores\tsipp_failed\tlate_p50_ms\ttick_p50_ms\tpreempt_per_s\tclock_callbacks_per_s\n' >"$RESULTS"
fi
row() { printf '%5s %6s %9s %6s %6s %13s %13s %8s %8s %7s %11s %5s %5s %5s %s\n' "$@"; }
row step calls ms/call-s vgcore media "tx/s (ratio)" "rx/s (ratio)" late-p99 tick-p99 wake-p99 "lag p99 m/w" RSS sipp host "sipp ok/fail"
row "" "" "" cores cores "" "" ms ms ms ms MB cores cores ""

LAST_STEP=0 LAST_CALLS=0 LAST_MEDIA=0 LAST_LATE=n/a LAST_TX=0 LAST_RX=0
LAST_SIPP=0 LAST_HOST=0 LAST_FAILED=0 LAST_REJ=0 LAST_OTHERS=0 LAST_WAKES=0 LAST_PREEMPT=0 LAST_TICK=n/a LAST_LATE50=0 LAST_TICK50=0
for N in $STEPS; do
	# Every call holds HOLD_S; the window is what is left of it after the
	# ramp (as it actually went) and the settle time, at most WINDOW.
	ramp_s=$(((N + RATE - 1) / RATE))
	hold_s=$HOLD_S
	# Leftovers from the previous step would skew this one: wait for them.
	for _ in $(seq 1 40); do [ "$(active)" -eq 0 ] && break; nap 0.5; done

	sdir=$TMP/step-$N
	mkdir -p "$sdir"
	rej0=$(curl -sf --max-time 2 "$METRICS_URL" | awk '/^voxgate_sip_invites_rejected_total/ { s += $2 } END { print s + 0 }')
	t_sipp=$(now)
	(cd "$sdir" && exec sipp "127.0.0.1:$SIP_PORT" -sf "$TMP/uac_rtp_hold.xml" -s 1000 \
		-i 127.0.0.1 -mi 127.0.0.1 -p "$SIPP_PORT" -mp "$SIPP_MEDIA_PORT" -cp "$SIPP_CTRL_PORT" \
		-t "$SIPP_TRANSPORT" -max_socket 4096 -r "$RATE" -rp 1000 -l "$N" -m "$N" \
		-d $((hold_s * 1000)) -timeout $((hold_s + 30))s -nostdin \
		-trace_screen -trace_err) >"$sdir/sipp.out" 2>&1 &
	SIPP_PID=$!

	# Ramp: until all N are up (or the ramp plus 10 s has passed).
	deadline=$(($(date +%s) + ramp_s + 10))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		[ "$(active)" -ge "$N" ] && break
		kill -0 "$SIPP_PID" 2>/dev/null || break
		nap 0.5
	done
	nap "$SETTLE"
	ramp_took=$(fcalc %.1f "$(now) - $t_sipp - $SETTLE")
	win=$(fcalc %d "$HOLD_S - 2 - ($(now) - $t_sipp)")
	[ "$win" -le "$WINDOW" ] || win=$WINDOW
	if [ "$win" -lt 5 ]; then
		say "step $N: the ramp took ${ramp_took}s: no window left before the calls end (raise RATE or HOLD_S)"
		break
	fi
	[ "$win" -eq "$WINDOW" ] || say "step $N: ramp took ${ramp_took}s: window shortened to ${win}s"

	# The window: counters from the scrapes, CPU from /proc, time at the
	# middle of each scrape.
	ta=$(now); scrape "$sdir/m0"; tb=$(now)
	read -r vgu0 vgs0 < <(ticks "$VG_PID"); read -r mu0 ms0 < <(ticks "$VG_PID" "$VG_PID")
	read -r spu0 sps0 < <(ticks "$SIPP_PID"); read -r hb0 ht0 < <(host_cpu)
	t0=$(fcalc %.6f "($ta + $tb) / 2"); cs0=$(nvcsw "$VG_PID")
	a0=$(metric "$sdir/m0" voxgate_active_calls)
	nap "$win"
	ta=$(now); scrape "$sdir/m1"; tb=$(now)
	read -r vgu1 vgs1 < <(ticks "$VG_PID"); read -r mu1 ms1 < <(ticks "$VG_PID" "$VG_PID")
	read -r spu1 sps1 < <(ticks "$SIPP_PID"); read -r hb1 ht1 < <(host_cpu)
	t1=$(fcalc %.6f "($ta + $tb) / 2"); cs1=$(nvcsw "$VG_PID")
	a1=$(metric "$sdir/m1" voxgate_active_calls)
	vg0=$((vgu0 + vgs0)) vg1=$((vgu1 + vgs1)) mt0=$((mu0 + ms0)) mt1=$((mu1 + ms1))
	sp0=$((spu0 + sps0)) sp1=$((spu1 + sps1))
	rss=$(rss_mb "$VG_PID")
	nfd=$(find "/proc/$VG_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)

	dt=$(fcalc %.3f "$t1 - $t0")
	calls=$(fcalc %.0f "($a0 + $a1) / 2")
	vg_cores=$(fcalc %.3f "($vg1 - $vg0) / $HZ / $dt")
	media_cores=$(fcalc %.3f "($mt1 - $mt0) / $HZ / $dt")
	media_usr=$(fcalc %.3f "($mu1 - $mu0) / $HZ / $dt")
	media_sys=$(fcalc %.3f "($ms1 - $ms0) / $HZ / $dt")
	vg_other=$(fcalc %.3f "($vg1 - $vg0 - $mt1 + $mt0) / $HZ / $dt")
	sipp_cores=$(fcalc %.3f "($sp1 - $sp0) / $HZ / $dt")
	host_cores=$(fcalc %.2f "($ht1 > $ht0) ? ($hb1 - $hb0) / ($ht1 - $ht0) * $NPROC : 0")
	others=$(fcalc %.2f "$host_cores - $vg_cores - $sipp_cores")
	ms_cs=$(fcalc %.3f "$calls > 0 ? ($vg1 - $vg0) / $HZ * 1000 / ($calls * $dt) : 0")
	tx=$(($(metric "$sdir/m1" voxgate_rtp_packets_sent_total) - $(metric "$sdir/m0" voxgate_rtp_packets_sent_total)))
	rx=$(($(metric "$sdir/m1" voxgate_rtp_packets_received_total) - $(metric "$sdir/m0" voxgate_rtp_packets_received_total)))
	txs=$(fcalc %.0f "$tx / $dt"); rxs=$(fcalc %.0f "$rx / $dt")
	txr=$(fcalc %.3f "$calls > 0 ? $tx / $dt / (50 * $calls) : 0")
	rxr=$(fcalc %.3f "$calls > 0 ? $rx / $dt / (50 * $calls) : 0")
	late=$(hist_q 0.99 "$sdir/m0" "$sdir/m1" voxgate_rtp_send_lateness_seconds)
	tick=$(hist_q 0.99 "$sdir/m0" "$sdir/m1" voxgate_media_tick_seconds)
	late50=$(hist_q 0.50 "$sdir/m0" "$sdir/m1" voxgate_rtp_send_lateness_seconds)
	tick50=$(hist_q 0.50 "$sdir/m0" "$sdir/m1" voxgate_media_tick_seconds)
	wakes=$(fcalc %.1f "($(metric "$sdir/m1" voxgate_media_tick_seconds_count) - $(metric "$sdir/m0" voxgate_media_tick_seconds_count)) / $dt")
	preempt=$(fcalc %.0f "($cs1 - $cs0) / $dt")
	tjit=$(hist_q 0.99 "$sdir/m0" "$sdir/m1" voxgate_media_tick_lateness_seconds)
	lagm=$(hist_q 0.99 "$sdir/m0" "$sdir/m1" voxgate_loop_lag_seconds 'loop="media"')
	lagw=$(hist_q 0.99 "$sdir/m0" "$sdir/m1" voxgate_loop_lag_seconds 'loop="web"')

	# Let the step's calls end (sipp sends BYE at hold_s), bounded.
	deadline=$(($(date +%s) + hold_s + 40))
	while kill -0 "$SIPP_PID" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do nap 0.5; done
	if kill -0 "$SIPP_PID" 2>/dev/null; then
		say "step $N: sipp still running after its calls should have ended: stopping it"
		kill -TERM "$SIPP_PID" 2>/dev/null || true; nap 1; kill -KILL "$SIPP_PID" 2>/dev/null || true
	fi
	wait "$SIPP_PID" 2>/dev/null || true
	SIPP_PID=""
	scr=$(find "$sdir" -name '*_screen.log' | head -1)
	ok=$(awk '/Successful call/ { v = $(NF) } END { print v + 0 }' "${scr:-/dev/null}")
	failed=$(awk '/Failed call/ { v = $(NF) } END { print v + 0 }' "${scr:-/dev/null}")
	rej=$(($(curl -sf --max-time 2 "$METRICS_URL" | awk '/^voxgate_sip_invites_rejected_total/ { s += $2 } END { print s + 0 }') - rej0))

	row "$N" "$calls" "$ms_cs" "$vg_cores" "$media_cores" "$txs ($txr)" "$rxs ($rxr)" \
		"$late" "$tick" "$tjit" "$lagm/$lagw" "$rss" "$sipp_cores" "$host_cores" "$ok/$failed"
	[ "$rej" -eq 0 ] || say "step $N: voxgate refused $rej INVITEs (voxgate_sip_invites_rejected_total)"
	say "step $N: media loop user $media_usr + sys $media_sys cores, preempted ${preempt}/s, clock ticks ${wakes}/s (200 due: 4 phases of 5 ms); p50 lateness $late50 ms, p50 tick $tick50 ms; other voxgate threads $vg_other cores; host busy $host_cores of $NPROC cores, $others of them neither voxgate nor sipp; voxgate fds $nfd; window ${dt}s after a ${ramp_took}s ramp"
	if [ -n "$RESULTS" ]; then
		printf '%s\t' "$N" "$calls" "$ms_cs" "$vg_cores" "$media_cores" "$txr" "$rxr" "$late" \
			"$tick" "$tjit" "$lagm" "$lagw" "$rss" "$sipp_cores" "$host_cores" "$failed" \
			"$late50" "$tick50" "$preempt" >>"$RESULTS"
		printf '%s\n' "$wakes" >>"$RESULTS"
	fi
	LAST_STEP=$N LAST_CALLS=$calls LAST_MEDIA=$media_cores LAST_LATE=$late LAST_TX=$txr LAST_RX=$rxr
	LAST_SIPP=$sipp_cores LAST_HOST=$host_cores LAST_FAILED=$failed LAST_REJ=$rej LAST_OTHERS=$others LAST_WAKES=$wakes LAST_PREEMPT=$preempt LAST_TICK=$tick
	LAST_LATE50=$(tr -d '>' <<<"$late50") LAST_TICK50=$(tr -d '>' <<<"$tick50")
	kill -0 "$VG_PID" 2>/dev/null || die "voxgate died during step $N (log: $TMP/voxgate.log)"
	# Stop ramping when this step could not even be carried: the calls did
	# not come up, or voxgate sent under 90% of the packets due.
	if awk "BEGIN { exit !($calls < 0.9 * $N || $txr < 0.9) }"; then
		say "step $N: $calls of $N calls up, tx ratio $txr: stopping the ramp"
		break
	fi
done

# ---------- summary ----------

late_num=$(tr -d '>' <<<"$LAST_LATE")
[ "$late_num" = n/a ] && late_num=9999
verdict=$(awk -v c="$LAST_CALLS" -v tc="$TARGET_CALLS" -v m="$LAST_MEDIA" -v tm="$TARGET_MEDIA_CORES" \
	-v l="$late_num" -v tl="$TARGET_LATE_MS" -v tx="$LAST_TX" 'BEGIN {
	ok = (c >= 0.99 * tc && m <= tm && l <= tl && tx >= 0.98)
	printf "%s: %d/%d calls (%.2f), media loop %.2f/%g core (%.2f of budget), p99 send lateness %.2f/%g ms (%.2f of budget), tx %.3f of 50/call/s",
		ok ? "PASS" : "FALL SHORT", c, tc, c / tc, m, tm, m / tm, l, tl, l / tl, tx
}')
say "summary (highest step $LAST_STEP, $NPROC CPUs): $verdict"
bench_figure media.calls "$LAST_CALLS" calls ">=$TARGET_CALLS"
bench_figure media.media_cores "$LAST_MEDIA" cores "<=$TARGET_MEDIA_CORES"
bench_figure media.late_p99 "$([ "$late_num" = 9999 ] || echo "$late_num")" ms "<=$TARGET_LATE_MS"
bench_figure media.tx_ratio "$LAST_TX" ratio ">=0.98"
if [[ $verdict == FALL* ]]; then
	# Where the limit is, from what was measured at the last step.
	awk -v c="$LAST_CALLS" -v n="$LAST_STEP" -v tc="$TARGET_CALLS" -v s="$LAST_SIPP" -v h="$LAST_HOST" \
		-v np="$NPROC" -v m="$LAST_MEDIA" -v tm="$TARGET_MEDIA_CORES" -v l="$late_num" -v tl="$TARGET_LATE_MS" \
		-v rx="$LAST_RX" -v tx="$LAST_TX" -v f="$LAST_FAILED" -v rj="$LAST_REJ" -v o="$LAST_OTHERS" \
		-v w="$LAST_WAKES" -v pr="$LAST_PREEMPT" -v tk="$(tr -d '>' <<<"$LAST_TICK")" \
		-v l50="$LAST_LATE50" -v t50="$LAST_TICK50" 'BEGIN {
		if (n < tc) print "  - the ramp stopped at " n " calls, below the target step"
		if (c < 0.99 * n) printf "  - only %d of %d calls were up (sipp failed %d, voxgate refused %d)\n", c, n, f, rj
		if (h >= 0.9 * np) printf "  - the host was saturated: %.2f of %d cores busy (sipp %.2f, other processes %.2f, the rest voxgate)\n", h, np, s, o
		if (o >= 0.5) printf "  - %.2f cores went to processes other than voxgate and sipp (a shared machine): figures are pessimistic\n", o
		if (s >= 0.7) printf "  - the load generator itself used %.2f cores: it competes with voxgate for the same %d CPUs\n", s, np
		if (m > tm) printf "  - the media loop needs %.2f cores: one thread cannot keep up\n", m
		if (l > tl && m <= 0.9 && h < 0.9 * np) printf "  - lateness is high while the media loop has CPU to spare (%.2f cores): it is a matter of when packets leave, not of CPU\n", m
		if (l > tl && (m > 0.9 || h >= 0.9 * np)) print "  - lateness follows from CPU starvation (media loop or host at its limit)"
		if (l50 > 0.5 * tl) printf "  - even the median packet leaves %.1f ms late, with a median tick of %.1f ms for %d calls (%.1f us per call): every packet of a tick goes out in one pass, one call after another\n", l50, t50, c, c ? t50 * 1000 / c : 0
		if (l > tl && tk + 0 >= 0.7 * l) printf "  - p99 lateness (%.1f ms) tracks the p99 tick duration (%.1f ms): packets leave one call after another, so the last calls of a tick are as late as the tick is long\n", l, tk
		if (pr >= 20) printf "  - the media loop was preempted %d times/s (involuntary context switches)\n", pr
		if (w < 195) printf "  - the media clock served %.1f ticks/s of 200 due: ticks merged after stalls\n", w
		if (tx < 0.98) printf "  - voxgate sent only %.3f of the packets due (ticks merged or skipped)\n", tx
		if (rx < 0.95) printf "  - voxgate received only %.3f of 50/call/s: the generator (sipp rtpstream) or the socket buffers lag\n", rx
	}'
fi
say "voxgate log: $(grep -c . "$TMP/voxgate.log" || true) lines at warn+ ($(grep -c 'level=error' "$TMP/voxgate.log" || true) errors)"
