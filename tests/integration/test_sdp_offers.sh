#!/usr/bin/env bash
# SDP offer/answer with sipp callers (RFC 3264).
#  1. PCMA-only offer: answered with PCMA; the caller hears speech in
#     G.711 A-law (RTP PT 8, decoded level); CDR codec PCMA.
#  2. audio + video offer (what softphones often send): answered, the
#     audio stream accepted and the video m-line rejected with port 0.
#  3. G.722-only offer (no common codec): 488 Not Acceptable Here.
#  4. INVITE without SDP (delayed offer): the 200 carries voxgate's offer
#     (PCMU/PCMA + telephone-event), the ACK carries the answer, and the
#     prompts flow; CDR codec PCMU.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need sipp tcpdump jq
vg_pick_ports
vg_config
vg_start

SDP_HEAD='v=0
o=sipp 53655765 2353687637 IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0'
CT='Content-Type: application/sdp'
NOCT='Subject: no body' # stands in for Content-Type when there is no body

last_cdr() { # columns
	vg_sql "SELECT $1 FROM calls ORDER BY started_ms DESC LIMIT 1"
}
wait_ended() { # n
	vg_wait_sql "SELECT count(*) FROM calls WHERE ended_ms > 0" "$1" 10 || vg_fail "CDR $1 not closed"
}

# ---- 1. PCMA only
vg_pick_port MEDIA_PORT
vg_capture_start "$MEDIA_PORT"
sf=$(vg_scenario uac_offer.xml HOLD_MS=3000 "INVITE_CTYPE=$CT" \
	"INVITE_BODY=$SDP_HEAD
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15" \
	"ANSWER_RE=m=audio [1-9][0-9]* RTP/AVP 8( 101)?[[:space:]]" "ACK_CTYPE=$NOCT" ACK_BODY=)
rc=0
VG_SIPP_MP=$MEDIA_PORT vg_sipp pcma "$sf" -m 1 -timeout 30s -timeout_error || rc=$?
vg_capture_stop
if [ $rc -eq 0 ]; then vg_ok "PCMA-only offer: 200 with an m=audio ... RTP/AVP 8 answer"
else vg_sipp_explain pcma; vg_bad "PCMA-only offer: sipp exit $rc (expected a 200 answering PCMA)"; fi
wait_ended 1
vg_assert_eq "PCMA-only offer: CDR codec" PCMA "$(last_cdr codec)"
vg_rtp_audio_stats
vg_say "PCMA call: $VG_PKTS packets to the caller, PT:$VG_RTP_PTS, $VG_RTP_VOICED voiced, ${VG_RTP_DBFS} dBFS"
vg_assert_eq "PCMA-only offer: RTP payload types sent" 8 "$VG_RTP_PTS"
vg_assert_ge "PCMA-only offer: packets carrying speech" "$VG_RTP_VOICED" 50
vg_assert_ge "PCMA-only offer: A-law decodes to speech level (dBFS)" "$VG_RTP_DBFS" -40

# ---- 2. audio + video
sf=$(vg_scenario uac_offer.xml HOLD_MS=2000 "INVITE_CTYPE=$CT" \
	"INVITE_BODY=$SDP_HEAD
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
m=video [media_port+2] RTP/AVP 96
a=rtpmap:96 H264/90000" \
	"ANSWER_RE=m=audio [1-9][0-9]* RTP/AVP 0.*m=video 0 " "ACK_CTYPE=$NOCT" ACK_BODY=)
rc=0
vg_sipp video "$sf" -m 1 -timeout 30s -timeout_error || rc=$?
if [ $rc -eq 0 ]; then
	vg_ok "audio+video offer: answered, audio accepted, video rejected with port 0"
	wait_ended 2
	vg_assert_eq "audio+video offer: CDR codec" PCMU "$(last_cdr codec)"
else
	vg_sipp_explain video
	vg_bad "audio+video offer: sipp exit $rc; expected a 200 answering audio with m=video 0 (RFC 3264 6). Daemon log: $(grep -E 'call_rejected|sdp' "$VG_LOG" | tail -n 1)"
fi

# ---- 3. no common codec
sf=$(vg_scenario uac_reject.xml CODE=488 NEED_RETRY_AFTER=false "MLINES=m=audio [media_port] RTP/AVP 9
a=rtpmap:9 G722/8000")
rc=0
vg_sipp g722 "$sf" -m 1 -timeout 15s -timeout_error || rc=$?
if [ $rc -eq 0 ]; then vg_ok "G.722-only offer: 488"
else vg_sipp_explain g722; vg_bad "G.722-only offer: expected 488 (sipp exit $rc)"; fi
vg_assert_match "metrics: rejected for no codec" 'voxgate_sip_invites_rejected_total\{reason="no_codec"\} 1' "$(vg_http /metrics)"

# ---- 4. delayed offer: no SDP in the INVITE, answer in the ACK
n_before=$(vg_sql "SELECT count(*) FROM calls WHERE ended_ms > 0")
vg_pick_port MEDIA_PORT
vg_capture_start "$MEDIA_PORT"
sf=$(vg_scenario uac_offer.xml HOLD_MS=3000 "INVITE_CTYPE=$NOCT" INVITE_BODY= \
	"ANSWER_RE=m=audio [1-9][0-9]* RTP/AVP 0 8 101" \
	"ACK_CTYPE=$CT" "ACK_BODY=$SDP_HEAD
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15")
rc=0
VG_SIPP_MP=$MEDIA_PORT vg_sipp delayed "$sf" -m 1 -timeout 30s -timeout_error || rc=$?
vg_capture_stop
if [ $rc -eq 0 ]; then vg_ok "delayed offer: 200 carries an offer (PCMU, PCMA, telephone-event)"
else vg_sipp_explain delayed; vg_bad "delayed offer: sipp exit $rc"; fi
wait_ended $((n_before + 1))
vg_assert_eq "delayed offer: CDR codec from the ACK's answer" PCMU "$(last_cdr codec)"
vg_assert_eq "delayed offer: CDR end_reason" caller_hangup "$(last_cdr end_reason)"
vg_assert_ge "delayed offer: RTP reached the caller's port from the ACK" "$VG_PKTS" 100

vg_stop
vg_done
