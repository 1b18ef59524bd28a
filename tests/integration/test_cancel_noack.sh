#!/usr/bin/env bash
# Calls that never become calls. voxgate rings for 1 s (sip.answer_delay).
#  1. no ACK: a sipp caller receives the 200 and never ACKs it; libre
#     retransmits the 200 and gives up after 64*T1 = 32 s. Runs in the
#     background while 2. runs.
#  2. CANCEL: a sipp caller CANCELs while it rings; expects 200 (CANCEL)
#     and 487 (INVITE), then ACKs.
# Checks: CDR end_reason 'cancelled' (never answered) and 'no_ack'
# (answered, ended ~32 s later); /metrics counts both; the 200 was
# retransmitted; the daemon stays up and exits cleanly. Bounded to ~45 s.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need sipp
VG_ANSWER_DELAY=1s
vg_pick_ports
vg_config
vg_start

# ---- 1. no ACK (background)
sf_noack=$(vg_scenario uac_noack.xml HOLD_MS=42000)
noack_start=$SECONDS
vg_sipp_bg noack "$sf_noack" -m 1 -timeout 50s
noack_pid=$VG_SIPP_PID
vg_wait_log 'event=call_answered' 10 || vg_fail "no-ACK call was not answered"
noack_id=$(grep -m1 'event=call_answered' "$VG_LOG" | sed -E 's/.* call=([^ ]+).*/\1/')
vg_say "no-ACK call $noack_id answered; waiting for the 200 retransmissions to time out"

# ---- 2. CANCEL while ringing
sf_cancel=$(vg_scenario uac_cancel.xml)
rc=0
vg_sipp cancel "$sf_cancel" -m 1 -timeout 20s -timeout_error || rc=$?
[ $rc -eq 0 ] || { vg_sipp_explain cancel; vg_fail "CANCEL scenario failed (exit $rc): expected 180, 200 to CANCEL, 487"; }
vg_ok "CANCEL: got 180, 200 (CANCEL) and 487 (INVITE)"
vg_wait_sql "SELECT count(*) FROM calls WHERE end_reason = 'cancelled'" 1 10 ||
	vg_fail "no CDR with end_reason 'cancelled': $(vg_sql 'SELECT id, end_reason, answered_ms FROM calls')"
IFS='|' read -r cid canswered cended <<<"$(vg_sql "SELECT id, answered_ms, ended_ms FROM calls WHERE end_reason = 'cancelled'")"
vg_ok "CANCEL: CDR end_reason cancelled ($cid)"
vg_assert_eq "CANCEL: CDR never answered (answered_ms)" 0 "$canswered"
vg_assert_ge "CANCEL: CDR ended_ms set" "$cended" 1
vg_assert_log "CANCEL: call_end logged with reason=cancelled" "event=call_end call=$cid reason=cancelled"

# The cancelled call was never answered: the 1 s answer timer must not
# fire a late 200 for it.
sleep 1.5
vg_assert_eq "CANCEL: no answer after cancel (call_answered for it)" 0 \
	"$(vg_log_count "event=call_answered call=$cid")"

# ---- 1. (cont.) wait for the no-ACK timeout: 32 s after the 200
if ! vg_wait_sql "SELECT end_reason FROM calls WHERE id = '$noack_id'" no_ack 40; then
	vg_fail "no-ACK call: CDR end_reason is '$(vg_sql "SELECT end_reason FROM calls WHERE id = '$noack_id'")', expected no_ack"
fi
waited=$((SECONDS - noack_start))
vg_ok "no ACK: CDR end_reason no_ack after ${waited}s"
IFS='|' read -r nanswered nended <<<"$(vg_sql "SELECT answered_ms, ended_ms FROM calls WHERE id = '$noack_id'")"
vg_assert_ge "no ACK: answered_ms set" "$nanswered" 1
gap=$((nended - nanswered))
vg_say "no ACK: ended ${gap} ms after the 200"
vg_assert_ge "no ACK: gave up no sooner than 64*T1 (ms)" "$gap" 31000
vg_assert_le "no ACK: gave up within 64*T1 + 4 s (ms)" "$gap" 36000
retrans=$(grep -c 'SIP/2.0 200 OK' "$VG_TMP/sipp-noack.messages" 2>/dev/null || echo 0)
vg_say "no ACK: sipp received the 200 $retrans times"
vg_assert_ge "no ACK: the 200 was retransmitted" "$retrans" 5
# RFC 3261 13.3.1.4: a UAS whose 2xx is never ACKed SHOULD end the dialog
# with BYE (libre does).
vg_assert "no ACK: voxgate sent BYE after the timeout" grep -q "^BYE " "$VG_TMP/sipp-noack.messages"
kill $noack_pid 2>/dev/null || true

metrics=$(vg_http /metrics)
vg_assert_match "metrics: cancelled" 'voxgate_calls_total\{reason="cancelled"\} 1' "$metrics"
vg_assert_match "metrics: no_ack" 'voxgate_calls_total\{reason="no_ack"\} 1' "$metrics"
vg_assert_eq "OPTIONS still answered" "200 OPTIONS" "$(vg_options)"

vg_stop
vg_done
