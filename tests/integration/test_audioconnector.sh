#!/usr/bin/env bash
# Genesys Audio Connector bot, end to end: the daemon with genesys.enabled
# (the AudioHook listener) runs the bank demo flow as a voice bot on
# /genesys/audioconnector; a node `ws` client (tests/node/
# audioconnector_client.js) plays Genesys Cloud: signed upgrade, `open` with
# one mono PCMU external offer and inputVariables.flow, PCMU at real-time
# pace. Checks: a wrong API key is refused before the upgrade and makes no
# call; the bot's prompts arrive as 160-byte PCMU frames paced in real time
# (spread over as long as the audio they carry, never far ahead of
# playout); a key pressed over the menu prompt brings one `barge_in` (none
# when a prompt plays to its end), then the balance, then `disconnect` with
# outputVariables action=finished; key 0 ends with action=transfer and the
# agent target; the caller's speech over the menu prompt brings `barge_in`
# and intent lost_card in outputVariables; CDRs (platform genesys, the flow
# from inputVariables, the turn's intent); a call on hold (`paused`) outlives
# the media timeout, a silent one does not.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need jq node espeak-ng sox
NODE_DIR=$VG_SOURCE_DIR/tests/node
[ -d "$NODE_DIR/node_modules/ws" ] ||
	vg_fail "npm package ws missing in tests/node (run scripts/install-deps.sh)"
vg_pick_ports
vg_pick_port VG_AH_PORT
VG_MEDIA_TIMEOUT=3s # a silent line ends the call; a paused one must not
KEY=ac-test-api-key-0123456789
SECRET=$(printf 'audio-connector-test-secret-0123' | base64)
VG_EXTRA_YAML="genesys:
  enabled: true
  listen: 127.0.0.1:$VG_AH_PORT
  api_key: \"$KEY\"
  client_secret: \"$SECRET\""
vg_config
vg_start 120
vg_assert_log "Audio Connector bot up" "event=genesys_audioconnector_ready"

acc() { # mode [args...]: the client's JSON summary on stdout
	local mode=$1
	shift
	timeout 90 node "$NODE_DIR/audioconnector_client.js" --port "$VG_AH_PORT" \
		--key "$KEY" --secret "$SECRET" --mode "$mode" "$@"
}

# ---- a wrong key: refused before the upgrade, no call
out=$(acc badkey) || vg_fail "badkey client failed: $out"
vg_say "badkey: $out"
vg_assert_eq "wrong API key refused" 401 "$(jq -r .status <<<"$out")"
vg_assert_eq "no call from it" 0 "$(vg_sql "SELECT count(*) FROM calls WHERE platform='genesys'")"

# ---- key 1 over the menu prompt: barge_in, the balance, disconnect
out=$(acc dtmf --digit 1 --flow bank-hotline) || vg_fail "dtmf client failed: $out"
vg_say "dtmf 1: $out"
vg_assert_eq "opened" true "$(jq -r .opened <<<"$out")"
vg_assert_eq "every bot frame is 160 bytes of PCMU after opened" 0 "$(jq -r .frame_bytes_bad <<<"$out")"
vg_assert_eq "no malformed messages from us" 0 "$(jq -r .bad_outbound <<<"$out")"
vg_assert_ge "bot audio frames received" "$(jq -r .bot_frames <<<"$out")" 250
# A burst would put seconds of a prompt ahead of playout; 300 ms leaves
# room for the client's own scheduling stalls on a loaded machine.
vg_assert_le "bot audio never far ahead of real-time playout (ms)" \
	"$(jq -r .ahead_max_ms <<<"$out")" 300
vg_assert "bot audio not delivered faster than real time (span >= 95% of its length)" \
	jq -e '(.last_frame_ms - .first_frame_ms) >= (.bot_frames * 20 * 0.95 - 100)' <<<"$out"
vg_assert_eq "one barge_in: on the key, none at the ends of whole prompts" 1 \
	"$(jq -r .barge_ins <<<"$out")"
vg_assert "barge_in came after the key" \
	test "$(jq -r '.barge_in_ms // -1' <<<"$out")" -ge "$(jq -r .dtmf_ms <<<"$out")"
vg_assert "the reply's audio after barge_in" test "$(jq -r '.reply_start_ms // -1' <<<"$out")" -gt 0
vg_assert_eq "disconnect completed, action finished" "completed|finished" \
	"$(jq -r '"\(.disconnect.reason)|\(.disconnect.outputVariables.action)"' <<<"$out")"
vg_assert_eq "outputVariables: endReason, flow" "completed|bank-hotline" \
	"$(jq -r '"\(.disconnect.outputVariables.endReason)|\(.disconnect.outputVariables.flow)"' <<<"$out")"
vg_assert_eq "closed after our close" true "$(jq -r .closed_msg <<<"$out")"
SID=$(jq -r .sid <<<"$out")
vg_wait_sql "SELECT count(*) FROM calls WHERE platform='genesys' AND ended_ms > 0" 1 10 ||
	vg_fail "no ended CDR for the dtmf session"
vg_assert_eq "CDR: flow from inputVariables, caller, DTMF" "bank-hotline|+15551230001|1" \
	"$(vg_sql "SELECT flow, from_uri, dtmf FROM calls WHERE platform='genesys'")"
vg_assert_match "CDR flow path: balance then goodbye" '"balance".*"goodbye"' \
	"$(vg_sql "SELECT flow_path FROM calls WHERE platform='genesys'")"

# ---- key 0: transfer to the agent, as outputVariables
out=$(acc dtmf --digit 0) || vg_fail "transfer client failed: $out"
vg_say "dtmf 0: $out"
vg_assert_eq "transfer: action and target" "transfer|sip:agents@127.0.0.1:$VG_AGENT_PORT" \
	"$(jq -r '"\(.disconnect.outputVariables.action)|\(.disconnect.outputVariables.transferTarget)"' <<<"$out")"
vg_assert_eq "transfer: disconnect completed, endReason transferred" "completed|transferred" \
	"$(jq -r '"\(.disconnect.reason)|\(.disconnect.outputVariables.endReason)"' <<<"$out")"

# ---- speech over the menu prompt: barge_in, lost_card
vg_say_wav "I lost my card" "$VG_TMP/say.wav"
sox "$VG_TMP/say.wav" -t raw -e mu-law -r 8000 -c 1 "$VG_TMP/say.ulaw" ||
	vg_fail "sox mu-law failed"
out=$(acc speech --ulaw "$VG_TMP/say.ulaw") || vg_fail "speech client failed: $out"
vg_say "speech: $out"
vg_assert_eq "one barge_in on speech" 1 "$(jq -r .barge_ins <<<"$out")"
vg_assert "barge_in after the caller started speaking" \
	test "$(jq -r '.barge_in_ms // -1' <<<"$out")" -gt "$(jq -r .speech_start_ms <<<"$out")"
vg_assert_eq "outputVariables: intent lost_card, action finished" "lost_card|finished" \
	"$(jq -r '"\(.disconnect.outputVariables.intent)|\(.disconnect.outputVariables.action)"' <<<"$out")"
vg_assert "outputVariables: a confidence" \
	jq -e '(.disconnect.outputVariables.confidence | tonumber) > 0.3' <<<"$out"
vg_wait_sql "SELECT count(*) FROM turns t JOIN calls c ON c.id = t.call_id WHERE c.platform='genesys' AND t.intent='lost_card'" 1 10 ||
	vg_fail "the lost_card turn is not in the CDR"
# ---- hold: `paused`, 5 s without audio (media timeout 3 s), `resumed`:
# the call goes on; the same silence without `paused` ends it
out=$(acc pause --digit 0 --quiet 5000) || vg_fail "pause client failed: $out"
vg_say "pause: $out"
vg_assert_eq "paused 5 s: the call survives, key 0 transfers" "transfer|transferred" \
	"$(jq -r '"\(.disconnect.outputVariables.action)|\(.disconnect.outputVariables.endReason)"' <<<"$out")"
out=$(acc mute --digit 0 --quiet 5000) || vg_fail "mute client failed: $out"
vg_say "mute: $out"
vg_assert_eq "silent 5 s without paused: media timeout" "finished|media_timeout" \
	"$(jq -r '"\(.disconnect.outputVariables.action)|\(.disconnect.outputVariables.endReason)"' <<<"$out")"
vg_assert "the daemon is still up" vg_alive
vg_done
