#!/usr/bin/env bash
# A sipp caller dials voxgate, hears the greeting, presses 1 (RFC 4733,
# /usr/share/sip-tester/dtmf_2833_1.pcap), hears the balance prompt and is
# hung up by the flow (or hangs up itself after 30 s).
# Checks: the call is answered; the caller receives real prompt audio (RTP
# captured on its media port, G.711 decoded: hundreds of packets, speech
# level); the CDR row (dtmf '1', flow_path with "balance", end reason,
# prompts, RTP counters); GET /v1/calls/{id} and /v1/calls; /metrics; the
# log; a clean SIGTERM exit.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need sipp tcpdump jq
vg_pick_ports
vg_config
vg_start

vg_pick_port MEDIA_PORT
vg_capture_start "$MEDIA_PORT"
sf=$(vg_scenario uac_call.xml HOLD_MS=30000 \
	"DTMF_BLOCK=$(vg_dtmf_block 2500 "$VG_PCAP_DIR/dtmf_2833_1.pcap")")
rc=0
VG_SIPP_MP=$MEDIA_PORT vg_sipp dtmf "$sf" -m 1 -timeout 60s -timeout_error || rc=$?
vg_capture_stop
[ $rc -eq 0 ] || { vg_sipp_explain dtmf; vg_fail "sipp call failed (exit $rc)"; }
vg_ok "sipp call completed (INVITE, 200, ACK, DTMF 1, BYE)"

who_hung_up=caller
grep -q 'server_bye' "$VG_TMP/sipp-dtmf.log" 2>/dev/null && who_hung_up=voxgate
vg_say "the call was ended by: $who_hung_up"

# ---- audio heard by the caller
vg_rtp_audio_stats
vg_say "RTP to the caller: $VG_PKTS packets, $VG_RTP_AUDIO G.711, $VG_RTP_VOICED voiced, level ${VG_RTP_DBFS} dBFS, payload types:$VG_RTP_PTS"
# greeting (~1.7 s) + balance (~5 s) at 50 packets/s: well over 150.
vg_assert_ge "RTP packets received by the caller" "$VG_PKTS" 150
vg_assert_ge "G.711 audio packets" "$VG_RTP_AUDIO" 150
vg_assert_ge "packets carrying speech (> -45 dBFS)" "$VG_RTP_VOICED" 100
vg_assert_ge "overall prompt level in dBFS" "$VG_RTP_DBFS" -40

# ---- CDR
vg_wait_sql "SELECT count(*) FROM calls WHERE ended_ms > 0" 1 10 ||
	vg_fail "no ended CDR row"
IFS='|' read -r id sipcid dtmf path reason answered ended tx rx codec to <<<"$(vg_sql \
	"SELECT id, sip_call_id, dtmf, flow_path, end_reason, answered_ms, ended_ms, rtp_tx, rtp_rx, codec, to_uri FROM calls")"
vg_say "CDR: id=$id reason=$reason dtmf=$dtmf path=$path rtp_tx=$tx rtp_rx=$rx"
vg_assert_match "CDR sip_call_id is sipp's Call-ID" '@127\.0\.0\.1$' "$sipcid"
vg_assert_ge "CDR answered_ms" "$answered" 1
vg_assert_ge "CDR ended_ms >= answered_ms" "$ended" "$answered"
vg_assert_eq "CDR dtmf" "1" "$dtmf"
vg_assert_eq "CDR codec" "PCMU" "$codec"
vg_assert_eq "CDR to_uri (dialled number)" "1000" "$to"
vg_assert "CDR flow_path is a JSON array with greeting, main_menu, balance" \
	jq -e 'type == "array" and index("greeting") != null and index("main_menu") != null and index("balance") != null' <<<"$path"
if [ "$who_hung_up" == voxgate ]; then
	vg_assert_match "CDR end_reason when the flow hangs up" '^(completed|hangup)$' "$reason"
	vg_assert "CDR flow_path reached goodbye" jq -e 'index("goodbye") != null' <<<"$path"
else
	vg_assert_eq "CDR end_reason when the caller hangs up" caller_hangup "$reason"
fi
vg_assert_ge "CDR rtp_tx" "$tx" 150
vg_assert_ge "CDR rtp_rx (the 10 DTMF packets)" "$rx" 10
# What the daemon counted and what reached the caller agree within 10%.
vg_assert_ge "captured packets vs CDR rtp_tx" $((VG_PKTS * 100)) $((tx * 90))
prompts=$(vg_sql "SELECT prompts FROM calls WHERE id='$id'")
vg_assert "CDR prompts: balance played for over 2 s" \
	jq -e 'map(select(.name == "balance" and .played_ms > 2000)) | length == 1' <<<"$prompts"
vg_assert "CDR prompts: greeting played" \
	jq -e 'map(select(.name == "greeting" and .played_ms > 500)) | length == 1' <<<"$prompts"
vg_assert "CDR prompts: main_menu was interrupted by the digit" \
	jq -e 'map(select(.name == "main_menu")) | .[0].interrupted == true' <<<"$prompts"

# ---- REST API
body=$(vg_http "/v1/calls/$id") || vg_fail "GET /v1/calls/$id failed"
vg_assert "GET /v1/calls/{id}: id, dtmf, end_reason, flow_path match the CDR" \
	jq -e --arg id "$id" --arg r "$reason" \
	'.id == $id and .dtmf == "1" and .end_reason == $r and (.flow_path | index("balance")) != null and .rtp_tx > 0' <<<"$body"
vg_assert "GET /v1/calls/{id}: prompts included" jq -e '.prompts | length >= 3' <<<"$body"
list=$(vg_http "/v1/calls") || vg_fail "GET /v1/calls failed"
vg_assert "GET /v1/calls lists the call" jq -e --arg id "$id" '.calls | map(.id) | index($id) != null' <<<"$list"
vg_assert_eq "GET /v1/calls/unknown is 404" 404 "$(vg_http_code /v1/calls/00000000-0000-0000-0000-000000000000)"
vg_assert_eq "GET /healthz is 200" 200 "$(vg_http_code /healthz)"

# ---- metrics and log
metrics=$(vg_http /metrics) || vg_fail "GET /metrics failed"
vg_assert_match "metrics: calls started" $'(^|\n)voxgate_calls_started_total 1(\n|$)' "$metrics"
vg_assert_match "metrics: calls ended by reason" "voxgate_calls_total\\{reason=\"$reason\"\\} 1" "$metrics"
vg_assert_log "log: dtmf digit=1" "event=dtmf call=$id digit=1"
vg_assert_log "log: call_end with the reason" "event=call_end call=$id reason=$reason "

vg_stop
vg_done
