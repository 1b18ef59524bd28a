#!/usr/bin/env bash
# Twilio Media Streams, end to end: the daemon with twilio.media_enabled; a
# node `ws` client (tests/node/mstream_client.js) plays Twilio: it signs the
# upgrade with the official `twilio` helper, sends connected/start, streams
# mu-law at real-time pace, plays our frames on a 20 ms clock and echoes our
# marks. Checks: a forged signature gets 403 and no call; speaking "I want to
# check my balance" over the main menu prompt brings a `clear` (barge-in),
# then the balance reply, then the flow hangs up (WebSocket closed); the CDR
# (platform twilio-media, flow from the <Stream> parameter, flow path, the
# main_menu turn's intent); a DTMF session (digit 1 over the prompt: clear,
# balance) ended by `stop`; malformed, unknown, binary and oversized frames
# are logged and the session goes on; out-of-order chunks are reordered and
# a late one dropped; prompts end on the mark timeout when Twilio never
# echoes; a stream without `start` and one in another format are closed.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need jq node espeak-ng sox
NODE_DIR=$VG_SOURCE_DIR/tests/node
[ -d "$NODE_DIR/node_modules/ws" ] && [ -d "$NODE_DIR/node_modules/twilio" ] ||
	vg_fail "npm packages ws/twilio missing in tests/node (run scripts/install-deps.sh)"
vg_pick_ports
vg_pick_port VG_MS_PORT
TOKEN=fedcba9876543210fedcba9876543210
PUBLIC=https://vg.example.test
VG_EXTRA_YAML="twilio:
  enabled: true
  auth_token: \"$TOKEN\"
  public_url: \"$PUBLIC\"
  media_enabled: true
  media_calls: true
  media_listen: 127.0.0.1:$VG_MS_PORT"
vg_config
vg_start 120
vg_assert_log "Media Streams listener up" "event=twilio_media_listening addr=127.0.0.1:$VG_MS_PORT"

# ---- twilio.media_calls: the voice webhook hands the call to the stream
out=$(timeout 30 node "$NODE_DIR/twilio_client.js" "http://127.0.0.1:$VG_HTTP_PORT" \
	"$PUBLIC" "$TOKEN" /twilio/voice CallSid=CA00000000000000000000000000000MC1 \
	AccountSid=AC0123 From=+15551230001 To=+18005550100 CallStatus=ringing) ||
	vg_fail "twilio_client.js failed"
vg_say "voice webhook answer: $(jq -c .verbs <<<"$out")"
vg_assert_eq "the voice webhook answers 200" 200 "$(jq -r .status <<<"$out")"
vg_assert "it answers <Connect><Stream> to the signed wss URL" \
	jq -e '.verbs[0].name == "Connect" and .verbs[0].children[0].name == "Stream" and .verbs[0].children[0].attrs.url == "wss://vg.example.test/twilio/media"' <<<"$out"
vg_assert "the stream names the routed flow and the numbers" \
	jq -e '[.verbs[0].children[0].children[] | {(.attrs.name): .attrs.value}] | add | .flow == "bank-hotline" and .from == "+15551230001" and .to == "+18005550100"' <<<"$out"

msc() { # mode [args...]: the client's JSON summary on stdout
	local mode=$1
	shift
	timeout 60 node "$NODE_DIR/mstream_client.js" --port "$VG_MS_PORT" \
		--public "$PUBLIC" --token "$TOKEN" --mode "$mode" "$@"
}

# 1. A forged signature: 403 before the upgrade, no call.
out=$(msc badsig) || vg_fail "badsig client failed: $out"
vg_say "badsig: $out"
vg_assert_eq "forged upgrade refused" 403 "$(jq -r .status <<<"$out")"
vg_assert_log "the refusal is logged" "event=mstream_signature_invalid"
vg_assert_eq "no call from it" 0 "$(vg_sql "SELECT count(*) FROM calls WHERE platform='twilio-media'")"

# 2. Speech over the main menu prompt.
vg_say_wav "I want to check my balance" "$VG_TMP/say.wav"
sox "$VG_TMP/say.wav" -t raw -e mu-law -r 8000 -c 1 "$VG_TMP/say.ulaw" ||
	vg_fail "sox mu-law failed"
SID1=MZ11111111111111111111111111111111
CALL1=CA11111111111111111111111111111111
out=$(msc speech --ulaw "$VG_TMP/say.ulaw" --sid "$SID1" --callsid "$CALL1") ||
	vg_fail "speech client failed: $out"
vg_say "speech: $out"
vg_assert_eq "no malformed messages from us" 0 "$(jq -r .bad_outbound <<<"$out")"
vg_assert "the caller spoke during the second prompt" test "$(jq -r '.speech_start_ms // -1' <<<"$out")" -gt 0
vg_assert_ge "clear on barge-in" "$(jq -r .clears <<<"$out")" 1
vg_assert "clear came after the caller started speaking" \
	test "$(jq -r '.clear_ms // -1' <<<"$out")" -gt "$(jq -r .speech_start_ms <<<"$out")"
vg_assert "reply audio after the clear" test "$(jq -r '.reply_start_ms // -1' <<<"$out")" -gt 0
vg_assert_ge "marks sent after prompts" "$(jq -r .marks_rx <<<"$out")" 2
vg_assert_ge "media frames received" "$(jq -r .media_rx <<<"$out")" 200
vg_assert_le "audio queued at 'Twilio' stays short (frames)" "$(jq -r .queue_max <<<"$out")" 5
vg_assert_eq "the flow hung up: WebSocket closed" true "$(jq -r .closed <<<"$out")"
vg_say "MEASURED clear latency $(($(jq -r .clear_ms <<<"$out") - $(jq -r .speech_start_ms <<<"$out"))) ms (speech start -> clear); reply $(($(jq -r .reply_start_ms <<<"$out") - $(jq -r .speech_end_ms <<<"$out"))) ms after the speech ended"

vg_wait_sql "SELECT count(*) FROM calls WHERE sip_call_id='$CALL1' AND ended_ms > 0" 1 15 ||
	vg_fail "no ended CDR for $CALL1"
ID1=$(vg_sql "SELECT id FROM calls WHERE sip_call_id='$CALL1'")
vg_assert_eq "CDR platform" twilio-media "$(vg_sql "SELECT platform FROM calls WHERE id='$ID1'")"
vg_assert_eq "CDR flow (from the <Stream> parameter)" bank-hotline "$(vg_sql "SELECT flow FROM calls WHERE id='$ID1'")"
vg_assert_eq "CDR from (customParameters)" "+15550001111" "$(vg_sql "SELECT from_uri FROM calls WHERE id='$ID1'")"
vg_assert_eq "CDR codec" PCMU "$(vg_sql "SELECT codec FROM calls WHERE id='$ID1'")"
path=$(vg_sql "SELECT flow_path FROM calls WHERE id='$ID1'")
vg_say "CDR flow_path=$path end_reason=$(vg_sql "SELECT end_reason FROM calls WHERE id='$ID1'")"
vg_assert "CDR flow_path has main_menu then balance" \
	jq -e 'index("main_menu") != null and index("balance") != null and index("main_menu") < index("balance")' <<<"$path"
body=$(vg_http "/v1/calls/$ID1") || vg_fail "GET /v1/calls/$ID1 failed"
turn=$(jq -c '(.turns // []) | map(select(.node == "main_menu")) | .[0] // empty' <<<"$body")
vg_say "turn: ${turn:-<none>}"
vg_assert_eq "main_menu turn input" speech "$(jq -r '.input // ""' <<<"${turn:-{\}}")"
vg_assert_eq "main_menu turn intent" check_balance "$(jq -r '.intent // ""' <<<"${turn:-{\}}")"
vg_assert_eq "main_menu turn barged in" true "$(jq -r '.barge_in // false' <<<"${turn:-{\}}")"
prompts=$(vg_sql "SELECT prompts FROM calls WHERE id='$ID1'")
vg_assert "the menu prompt is recorded as interrupted" \
	jq -e 'map(select(.interrupted == true)) | length >= 1' <<<"$prompts"

# 3. Junk frames, then DTMF over the prompt, then `stop` (URL with a query).
SID2=MZ22222222222222222222222222222222
CALL2=CA22222222222222222222222222222222
# The <Stream url> carries a query here: it is part of the signed URL.
out=$(msc junk --digit 1 --sid "$SID2" --callsid "$CALL2" --query "tenant=acme&x=1") ||
	vg_fail "junk/dtmf client failed: $out"
vg_say "junk+dtmf: $out"
vg_assert_ge "clear on DTMF barge-in" "$(jq -r .clears <<<"$out")" 1
vg_assert "reply audio after the digit" test "$(jq -r '.reply_start_ms // -1' <<<"$out")" -gt 0
vg_assert_eq "closed after stop" true "$(jq -r .closed <<<"$out")"
vg_assert_log "malformed JSON logged" "event=mstream_bad_message .*what=malformed"
vg_assert_log "unknown event logged" "event=mstream_unknown_event .*frobnicate"
vg_assert_log "binary frame logged" "event=mstream_bad_message .*what=binary"
vg_assert_log "oversized frame logged" "event=mstream_bad_message .*what=too_big|event=mstream_bad_message .*what=oversized"
vg_assert_log "bad base64 logged" "event=mstream_bad_message .*what=payload_base64"
vg_assert_ge "chunks sent out of order" "$(jq -r '.swapped // 0' <<<"$out")" 1
vg_assert_log "the late duplicate chunk was dropped, none lost" \
	"event=mstream_released call=.* late=1 lost=0"
vg_wait_sql "SELECT count(*) FROM calls WHERE sip_call_id='$CALL2' AND ended_ms > 0" 1 15 ||
	vg_fail "no ended CDR for $CALL2"
ID2=$(vg_sql "SELECT id FROM calls WHERE sip_call_id='$CALL2'")
vg_assert_eq "CDR dtmf" 1 "$(vg_sql "SELECT dtmf FROM calls WHERE id='$ID2'")"
vg_assert_eq "CDR end reason: the caller (stop)" caller_hangup "$(vg_sql "SELECT end_reason FROM calls WHERE id='$ID2'")"
path2=$(vg_sql "SELECT flow_path FROM calls WHERE id='$ID2'")
vg_assert "DTMF path reaches balance" jq -e 'index("balance") != null' <<<"$path2"

# 4. Twilio never echoing a mark: each prompt ends after the 3 s mark
# timeout and the flow goes on. A WebSocket that never sends `start` is
# closed after 5 s (both at once).
msc silent --sid MZ44444444444444444444444444444444 >"$VG_TMP/silent.out" &
silent=$!
vg_track "$silent"
out=$(msc nomark --sid MZ55555555555555555555555555555555) || vg_fail "nomark client failed: $out"
vg_say "nomark: $out"
vg_assert_ge "the second prompt played without mark echoes" "$(jq -r .prompts <<<"$out")" 2
vg_assert_log "the mark timeout is logged" "event=mstream_mark_timeout"
wait "$silent" || vg_fail "silent client failed"
out=$(cat "$VG_TMP/silent.out")
vg_say "silent: $out"
vg_assert_eq "a stream without start is closed" true "$(jq -r .closed <<<"$out")"
vg_assert "after the start timeout" test "$(jq -r .t_end_ms <<<"$out")" -ge 4500
vg_assert_log "the start timeout is logged" "event=mstream_start_timeout"

# 5. A stream in another audio format: closed with a log line, no call.
out=$(msc badformat --sid MZ33333333333333333333333333333333) ||
	vg_fail "badformat client failed: $out"
vg_say "badformat: $out"
vg_assert_eq "the stream was closed" true "$(jq -r .closed <<<"$out")"
vg_assert_log "the refusal is logged" "event=mstream_format_refused encoding=\"audio/x-l16\" rate=16000"

vg_assert "daemon still alive" vg_alive
vg_stop 40
vg_done
