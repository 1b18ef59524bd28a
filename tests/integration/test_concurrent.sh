#!/usr/bin/env bash
# 100 concurrent sipp calls over UDP (50 calls/s, each held 6 s, so all 100
# are up at once for a few seconds), then 20 concurrent calls over one TCP
# connection.
# Checks: sipp reports every call successful (exit 0); /healthz saw all
# 100 calls active at once; 100 (then 120) CDR rows, each answered, ended
# by caller_hangup, with RTP sent; the prompt audio reached sipp's media
# port (packet count); no call was refused; a clean SIGTERM exit.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need sipp tcpdump jq
VG_RTP_BLOCK=600 # 100 calls x (RTP + RTCP) with room to spare
VG_MAX_CALLS=150
vg_pick_ports
vg_config
vg_start

N=100
HOLD_MS=6000
vg_pick_port MEDIA_PORT
vg_capture_start "$MEDIA_PORT"
sf=$(vg_scenario uac_call.xml HOLD_MS=$HOLD_MS DTMF_BLOCK=)
VG_SIPP_MP=$MEDIA_PORT vg_sipp_bg udp "$sf" -m $N -l $N -r 50 -timeout 90s -timeout_error
sipp_pid=$VG_SIPP_PID

# Watch the daemon's own view of concurrency while the calls run.
peak=0
deadline=$((SECONDS + 60))
while kill -0 $sipp_pid 2>/dev/null && [ $SECONDS -lt $deadline ]; do
	active=$(vg_http /healthz 2>/dev/null | jq -r '.active_calls // 0' 2>/dev/null || echo 0)
	[[ "$active" =~ ^[0-9]+$ ]] && [ "$active" -gt "$peak" ] && peak=$active
	sleep 0.2
done
vg_sipp_wait $sipp_pid 60
rc=$VG_SIPP_RC
vg_capture_stop
[ "$rc" == 0 ] || { vg_sipp_explain udp; vg_fail "sipp (UDP, $N calls) exit $rc"; }
vg_ok "sipp: $N UDP calls all successful"
vg_say "peak active calls seen on /healthz: $peak"
vg_assert_ge "peak concurrent calls (GET /healthz active_calls)" "$peak" $N

vg_wait_sql "SELECT count(*) FROM calls WHERE ended_ms > 0" $N 30 ||
	vg_fail "expected $N ended CDR rows, have $(vg_sql 'SELECT count(*) FROM calls WHERE ended_ms > 0')"
vg_assert_eq "CDR rows" $N "$(vg_sql "SELECT count(*) FROM calls")"
vg_assert_eq "CDR rows answered (answered_ms > 0)" $N "$(vg_sql "SELECT count(*) FROM calls WHERE answered_ms > 0")"
vg_assert_eq "CDR rows ended by caller_hangup" $N "$(vg_sql "SELECT count(*) FROM calls WHERE end_reason = 'caller_hangup'")"
vg_assert_eq "distinct SIP Call-IDs" $N "$(vg_sql "SELECT count(DISTINCT sip_call_id) FROM calls")"
vg_assert_eq "CDR rows with prompt audio sent (rtp_tx >= 150)" $N "$(vg_sql "SELECT count(*) FROM calls WHERE rtp_tx >= 150")"
min_tx=$(vg_sql "SELECT min(rtp_tx) FROM calls")
max_tx=$(vg_sql "SELECT max(rtp_tx) FROM calls")
total_tx=$(vg_sql "SELECT sum(rtp_tx) FROM calls")
vg_say "rtp_tx per call: min $min_tx max $max_tx; total $total_tx; captured at sipp: $VG_PKTS"
# Every call was held ~6 s, so every call should have streamed ~300
# packets: a stalled media loop shows up as a low minimum.
vg_assert_ge "minimum rtp_tx per call (6 s held: ~300)" "$min_tx" 200
vg_assert_ge "packets captured at sipp vs total rtp_tx (>= 90%)" $((VG_PKTS * 100)) $((total_tx * 90))
vg_assert_eq "no call refused (log call_rejected)" 0 "$(vg_log_count 'event=call_rejected')"

# ---- 20 concurrent calls over a single TCP connection
M=20
before=$(vg_sql "SELECT count(*) FROM calls")
sf2=$(vg_scenario uac_call.xml HOLD_MS=3000 DTMF_BLOCK=)
rc=0
vg_sipp tcp "$sf2" -t t1 -m $M -l $M -r 20 -timeout 60s -timeout_error || rc=$?
[ $rc -eq 0 ] || { vg_sipp_explain tcp; vg_fail "sipp (TCP, $M calls) exit $rc"; }
vg_ok "sipp: $M TCP calls all successful"
vg_wait_sql "SELECT count(*) FROM calls WHERE ended_ms > 0" $((before + M)) 20 ||
	vg_fail "TCP calls: CDR rows not closed"
vg_assert_eq "all $((N + M)) calls answered and ended by caller_hangup" $((N + M)) \
	"$(vg_sql "SELECT count(*) FROM calls WHERE answered_ms > 0 AND end_reason = 'caller_hangup'")"
vg_assert_eq "TCP transport in the log" $M "$(vg_log_count 'event=call_incoming .*transport=TCP')"

metrics=$(vg_http /metrics)
vg_assert_match "metrics: calls started" "voxgate_calls_started_total $((N + M))" "$metrics"
vg_assert_match "metrics: caller_hangup count" "voxgate_calls_total\\{reason=\"caller_hangup\"\\} $((N + M))" "$metrics"

vg_stop
vg_done
