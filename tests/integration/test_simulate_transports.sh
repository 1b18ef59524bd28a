#!/usr/bin/env bash
# `voxgate simulate` over its non-SIP transports, one daemon for all of them
# (each transport appends its own section; SIP is test_simulate.sh):
#  AudioSocket (the simulator plays Asterisk):
#   1. examples/asterisk/scenario.yaml, the bank demo: every expectation holds
#      (intent, next node, words, nodes, no transfer, end_reason), the CDR is
#      joined by the call's UUID (the daemon's platform id and CDR id),
#      turn latency measured, our frames reached the daemon; the caller
#      speaks over the menu prompt (barge-in) and the prompt stops within
#      100 ms of its onset as the caller hears it (after the playout queue).
#   2. a key (1 = balance) with a deliberately wrong expectation (next:
#      card_lost): the run fails (exit 1) and says why -- which also shows the
#      key went over the wire (kind 0x03) and reached the flow.
#   3. nobody listening: the call fails with the connect error (exit 1); a
#      remote tcp:// target is refused without --allow-remote and a target
#      of another form is an error at its position (exit 2).
#   4. params agi + flow: each call first plays the FastAGI set-up step
#      (AGI(agi://.../audiosocket,UUID,FLOW)); the AudioSocket call runs
#      that flow, not asterisk.default_flow.
#  Twilio Media Streams (H3; the simulator plays Twilio: signed upgrade,
#  connected/start/media/dtmf/stop; plays our media out, echoes marks):
#   T1. examples/twilio/scenario.yaml: every expectation holds, the CDR is
#       joined by the callSid (platform twilio-media), every mark echoed.
#   T1b. barge-in over the menu: voxgate's `clear` flushes the playout.
#   T2. a key with a wrong expectation: exit 1 and the reason.
#   T3. a wrong auth token: the upgrade is refused, the call fails.
#  Genesys Audio Connector (signed upgrade, open/opened, PCMU, close):
#   G1. examples/genesys/scenario.yaml: asks for an agent; the transfer
#       comes from the disconnect's outputVariables; CDR joined by the
#       conversation id.
#   G2. a key with a wrong expectation: exit 1 and the reason.
#  Genesys AudioHook monitor (transcripts are the replies):
#   M1. examples/genesys/scenario-monitor.yaml: intents and transcript
#       words hold; turn latency = end of speech -> transcript event.
#   M2. a wrong intent: exit 1 and the reason.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need jq
vg_pick_ports
vg_pick_port VG_AS_PORT
vg_pick_port VG_AGI_PORT
mkdir -p "$VG_TMP/sounds"
vg_pick_port VG_MS_PORT
vg_pick_port VG_AH_PORT
TW_TOKEN=0123456789abcdef0123456789abcdef
GS_KEY=sim-api-key
GS_SECRET=c2ltdWxhdG9yLWNsaWVudC1zZWNyZXQ=
# The AudioHook monitor classifies with the model named "default": trained
# here from BANKING77 intents (the ASan build of make check has none).
MODELS=$VG_TMP/models
vg_nlu_model "$MODELS" lost_or_stolen_card change_pin card_arrival \
	activate_my_card card_not_working pin_blocked compromised_card
VG_EXTRA_YAML="nlu:
  models_dir: \"$MODELS\"
asterisk:
  audiosocket_enabled: true
  audiosocket_listen: 127.0.0.1:$VG_AS_PORT
  default_flow: bank-hotline
  agi_enabled: true
  agi_listen: 127.0.0.1:$VG_AGI_PORT
  sounds_dir: $VG_TMP/sounds
twilio:
  enabled: true
  auth_token: \"$TW_TOKEN\"
  public_url: \"https://vg.example.test\"
  media_enabled: true
  media_listen: 127.0.0.1:$VG_MS_PORT
genesys:
  enabled: true
  listen: 127.0.0.1:$VG_AH_PORT
  api_key: \"$GS_KEY\"
  client_secret: \"$GS_SECRET\"
  knowledge: $VG_SOURCE_DIR/examples/genesys/knowledge.yaml
genesys_bot:
  audio_flow: bank-hotline"
vg_config
vg_start 120
vg_assert_log "AudioSocket listener up" "event=audiosocket_listening addr=127.0.0.1:$VG_AS_PORT"
API=http://127.0.0.1:$VG_HTTP_PORT

sim() { # scenario out.json [args...]: exit status in SIM_RC
	local sc=$1 out=$2
	shift 2
	SIM_RC=0
	timeout 120 "$VOXGATE" simulate "$sc" --api "$API" --json --quiet "$@" \
		>"$out" 2>"$out.err" || SIM_RC=$?
	vg_say "simulate $(basename "$sc") $*: exit $SIM_RC, $(jq -c '{calls, failed, turn_latency_ms: .turn_latency_ms.p50, setup: .setup_ms.p50, failures}' "$out" 2>/dev/null)"
}

# ---- AudioSocket 1. the bank demo
sed "s|tcp://127.0.0.1:9092|tcp://127.0.0.1:$VG_AS_PORT|" \
	"$VG_SOURCE_DIR/examples/asterisk/scenario.yaml" |
	sed '0,/^    expect:/s//    barge_in_ms: 5500\n    expect:/' >"$VG_TMP/as-bank.yaml"
sim "$VG_TMP/as-bank.yaml" "$VG_TMP/as-bank.json"
J=$VG_TMP/as-bank.json
vg_assert_eq "as bank: exit status" 0 "$SIM_RC"
vg_assert_eq "as bank: calls" 1 "$(jq .calls "$J")"
vg_assert_eq "as bank: failed" 0 "$(jq .failed "$J")"
vg_assert_eq "as bank: intent_accuracy" 1 "$(jq .intent_accuracy "$J")"
vg_assert_eq "as bank: containment" 1 "$(jq .containment "$J")"
UUID=$(jq -r '.call_results[0].sip_call_id' "$J")
vg_assert_match "as bank: the call reference is a UUID" \
	'^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "$UUID"
vg_assert_eq "as bank: the CDR was joined by the UUID" "$UUID" \
	"$(jq -r '.call_results[0].cdr_id' "$J")"
vg_assert_eq "as bank: the daemon saw an AudioSocket call" audiosocket \
	"$(vg_sql "SELECT platform FROM calls WHERE id='$UUID'")"
# 0 ms is a valid stage: an early decode or a stream (stt.stream) can have
# the final by the time the end of speech is confirmed.
vg_assert "as bank: the server's stt stage is there" \
	jq -e '.stages_ms.stt.n == 1 and (.stages_ms.stt.p50 | type == "number") and .stages_ms.stt.p50 >= 0' "$J"
vg_assert "as bank: the reply latency was measured" \
	jq -e '.turn_latency_ms.n == 1 and .turn_latency_ms.p50 > 0 and .turn_latency_ms.p50 < 5000' "$J"
vg_assert "as bank: the server hung up at the end" \
	jq -e '.call_results[0].hangup == "server"' "$J"
# (gap <= 60 ms: the onset tick may run a tick late on a loaded machine; a
# pause between words is longer)
vg_assert "as bank: the caller spoke over the menu prompt" \
	jq -e '.call_results[0].turns[0].barged and .call_results[0].turns[0].barge_gap_ms >= 0 and .call_results[0].turns[0].barge_gap_ms <= 60' "$J"
vg_assert "as bank: the prompt stopped within 100 ms of the caller's onset" \
	jq -e '.barge_in_stop_ms.n == 1 and .barge_in_stop_ms.p50 < 100' "$J"
RX=$(vg_sql "SELECT rtp_rx FROM calls WHERE id='$UUID'")
vg_assert_ge "as bank: the daemon got our 20 ms frames" "$RX" 200

# ---- AudioSocket 2. a key, and a wrong expectation that must fail the run
cat >"$VG_TMP/as-key.yaml" <<EOS
name: balance by key, wrong expectation
transport: audiosocket
target: tcp://127.0.0.1:$VG_AS_PORT
variation: {seed: 8}
turns:
  - dtmf: "1"
    expect:
      next: card_lost
EOS
sim "$VG_TMP/as-key.yaml" "$VG_TMP/as-key.json"
J=$VG_TMP/as-key.json
vg_assert_eq "as key: exit status" 1 "$SIM_RC"
vg_assert_eq "as key: failed" 1 "$(jq .failed "$J")"
vg_assert "as key: the reason names the node the key reached" \
	jq -e '.failures[0].reason | contains("next node balance, expected card_lost")' "$J"
vg_assert "as key: DTMF-to-prompt latency measured" \
	jq -e '.dtmf_latency_ms.n == 1 and .dtmf_latency_ms.p50 < 3000' "$J"

# ---- AudioSocket 3. nobody listening
vg_pick_port VG_DEAD_PORT
printf 'transport: audiosocket\ntarget: tcp://127.0.0.1:%s\nturns:\n  - dtmf: "1"\n' \
	"$VG_DEAD_PORT" >"$VG_TMP/as-dead.yaml"
SIM_RC=0
timeout 30 "$VOXGATE" simulate "$VG_TMP/as-dead.yaml" --json --quiet \
	>"$VG_TMP/as-dead.json" 2>"$VG_TMP/as-dead.err" || SIM_RC=$?
vg_assert_eq "as refused: exit status" 1 "$SIM_RC"
vg_assert "as refused: the reason is the connect error" \
	jq -e '.failures[0].reason | contains("AudioSocket connect: Connection refused")' "$VG_TMP/as-dead.json"
printf 'transport: audiosocket\ntarget: tcp://192.0.2.1:9092\nturns:\n  - dtmf: "1"\n' \
	>"$VG_TMP/as-remote.yaml"
SIM_RC=0
"$VOXGATE" simulate "$VG_TMP/as-remote.yaml" --quiet 2>"$VG_TMP/as-remote.err" || SIM_RC=$?
vg_assert_eq "as remote target: exit status" 2 "$SIM_RC"
vg_assert "as remote target: refused without --allow-remote" grep -q 'allow-remote' "$VG_TMP/as-remote.err"
printf 'transport: audiosocket\ntarget: ws://127.0.0.1:9092/x\nturns:\n  - dtmf: "1"\n' \
	>"$VG_TMP/as-form.yaml"
SIM_RC=0
"$VOXGATE" simulate "$VG_TMP/as-form.yaml" --quiet 2>"$VG_TMP/as-form.err" || SIM_RC=$?
vg_assert_eq "as target form: exit status" 2 "$SIM_RC"
vg_assert "as target form: the error has the target's position" \
	grep -q "as-form.yaml:2:9: target 'ws://127.0.0.1:9092/x' does not fit transport audiosocket" "$VG_TMP/as-form.err"

# ---- AudioSocket 4. the FastAGI set-up step picks the flow (bank-crm, not
# the default bank-hotline), as AGI(agi://.../audiosocket,UUID,FLOW) does
cat >"$VG_TMP/as-agi.yaml" <<EOS
name: flow picked over FastAGI
transport: audiosocket
target: tcp://127.0.0.1:$VG_AS_PORT
params:
  agi: agi://127.0.0.1:$VG_AGI_PORT/audiosocket
  flow: bank-crm
max_duration: 20s
end_silence: 2s
variation: {seed: 11}
turns:
  - silence: 1s
expect:
  nodes: [record_call]
EOS
sim "$VG_TMP/as-agi.yaml" "$VG_TMP/as-agi.json"
J=$VG_TMP/as-agi.json
UUID=$(jq -r '.call_results[0].sip_call_id' "$J")
vg_assert_eq "as agi: exit status" 0 "$SIM_RC"
vg_assert_eq "as agi: the AudioSocket call ran the flow the AGI step named" bank-crm \
	"$(vg_sql "SELECT flow FROM calls WHERE id='$UUID'")"
vg_assert_log "as agi: the daemon took the hand-off" "event=audiosocket_flow_handoff uuid=.?$UUID.? flow=.?bank-crm"

# ---- Twilio Media Streams T1. the bank demo
sed "s|ws://127.0.0.1:8081/|ws://127.0.0.1:$VG_MS_PORT/|" \
	"$VG_SOURCE_DIR/examples/twilio/scenario.yaml" >"$VG_TMP/tw-bank.yaml"
sim "$VG_TMP/tw-bank.yaml" "$VG_TMP/tw-bank.json"
J=$VG_TMP/tw-bank.json
vg_assert_eq "tw bank: exit status" 0 "$SIM_RC"
vg_assert_eq "tw bank: failed" 0 "$(jq .failed "$J")"
vg_assert_eq "tw bank: intent_accuracy" 1 "$(jq .intent_accuracy "$J")"
SID=$(jq -r '.call_results[0].sip_call_id' "$J")
vg_assert_match "tw bank: the call reference is a callSid" '^CA[0-9a-f]{32}$' "$SID"
CID=$(jq -r '.call_results[0].cdr_id' "$J")
vg_assert_eq "tw bank: the CDR was joined by the callSid" "$SID" \
	"$(vg_sql "SELECT sip_call_id FROM calls WHERE id='$CID'")"
vg_assert_eq "tw bank: the daemon saw a Media Streams call" twilio-media \
	"$(vg_sql "SELECT platform FROM calls WHERE id='$CID'")"
vg_assert "tw bank: the reply latency was measured" \
	jq -e '.turn_latency_ms.n == 1 and .turn_latency_ms.p50 > 0 and .turn_latency_ms.p50 < 5000' "$J"
vg_assert "tw bank: media went both ways" \
	jq -e '.call_results[0].rtp_rx > 100 and .call_results[0].rtp_tx > 200' "$J"
vg_assert "tw bank: the server ended the stream" jq -e '.call_results[0].hangup == "server"' "$J"
vg_assert_eq "tw bank: every mark was echoed (no mark timeout)" 0 \
	"$(grep -c 'event=mstream_mark_timeout' "$VG_LOG" || true)"
vg_assert_eq "tw bank: the caller's number went as the from parameter" "+14155550199" \
	"$(vg_sql "SELECT from_uri FROM calls WHERE id='$CID'")"

# ---- T1b. barge-in over the menu prompt: voxgate's clear flushes our playout
cat >"$VG_TMP/tw-barge.yaml" <<EOS
transport: twilio_media
target: ws://127.0.0.1:$VG_MS_PORT/twilio/media
params: {auth_token: "$TW_TOKEN", public_url: "https://vg.example.test", custom.flow: bank-hotline}
voice: slt
turns:
  - say: someone stole my credit card
    barge_in_ms: 5500
    expect: {intent: lost_card, next: card_lost}
EOS
sim "$VG_TMP/tw-barge.yaml" "$VG_TMP/tw-barge.json"
J=$VG_TMP/tw-barge.json
vg_assert_eq "tw barge-in: exit status" 0 "$SIM_RC"
vg_assert "tw barge-in: the caller spoke over the prompt and it stopped" \
	jq -e '.call_results[0].turns[0].barged and .barge_in_stop_ms.n == 1 and .barge_in_stop_ms.p50 < 1000' "$J"
vg_assert_ge "tw barge-in: voxgate sent a clear" \
	"$(vg_http /metrics | sed -n 's/^voxgate_twilio_media_clears_total //p')" 1

# ---- T2. a key (dtmf message) with a wrong expectation
cat >"$VG_TMP/tw-key.yaml" <<EOS
transport: twilio_media
target: ws://127.0.0.1:$VG_MS_PORT/twilio/media
params: {auth_token: "$TW_TOKEN", public_url: "https://vg.example.test", custom.flow: bank-hotline}
turns:
  - dtmf: "1"
    expect: {next: card_lost}
EOS
sim "$VG_TMP/tw-key.yaml" "$VG_TMP/tw-key.json"
J=$VG_TMP/tw-key.json
vg_assert_eq "tw key: exit status" 1 "$SIM_RC"
vg_assert "tw key: the reason names the node the key reached" \
	jq -e '.failures[0].reason | contains("next node balance, expected card_lost")' "$J"

# ---- T3. a wrong auth token: the upgrade is refused
sed 's/auth_token: "[0-9a-f]*"/auth_token: "not-the-token"/' "$VG_TMP/tw-key.yaml" >"$VG_TMP/tw-sig.yaml"
sim "$VG_TMP/tw-sig.yaml" "$VG_TMP/tw-sig.json"
vg_assert_eq "tw bad signature: exit status" 1 "$SIM_RC"
vg_assert "tw bad signature: the reason says the upgrade was refused" \
	jq -e '.failures[0].reason | contains("upgrade refused")' "$VG_TMP/tw-sig.json"
vg_assert_log "tw bad signature: the daemon refused it" "event=mstream_signature_invalid"

# ---- Genesys Audio Connector G1. asks for an agent: the transfer
sed -e "s|ws://127.0.0.1:8082/|ws://127.0.0.1:$VG_AH_PORT/|" \
	-e "s|agents@127.0.0.1:5070|agents@127.0.0.1:$VG_AGENT_PORT|" \
	"$VG_SOURCE_DIR/examples/genesys/scenario.yaml" >"$VG_TMP/ac-agent.yaml"
sim "$VG_TMP/ac-agent.yaml" "$VG_TMP/ac-agent.json"
J=$VG_TMP/ac-agent.json
vg_assert_eq "ac agent: exit status" 0 "$SIM_RC"
vg_assert_eq "ac agent: failed" 0 "$(jq .failed "$J")"
vg_assert_eq "ac agent: intent_accuracy" 1 "$(jq .intent_accuracy "$J")"
vg_assert_eq "ac agent: containment (transferred)" 0 "$(jq .containment "$J")"
vg_assert "ac agent: the transfer target came from outputVariables" \
	jq -e ".call_results[0].transfer == \"sip:agents@127.0.0.1:$VG_AGENT_PORT\"" "$J"
CONV=$(jq -r '.call_results[0].sip_call_id' "$J")
CID=$(jq -r '.call_results[0].cdr_id' "$J")
vg_assert_eq "ac agent: the CDR was joined by the conversation id" "$CONV" \
	"$(vg_sql "SELECT sip_call_id FROM calls WHERE id='$CID'")"
vg_assert_eq "ac agent: the daemon saw a Genesys call" genesys \
	"$(vg_sql "SELECT platform FROM calls WHERE id='$CID'")"
vg_assert "ac agent: the reply latency was measured" \
	jq -e '.turn_latency_ms.n == 1 and .turn_latency_ms.p50 > 0 and .turn_latency_ms.p50 < 5000' "$J"
vg_assert_log "ac agent: the signed upgrade was accepted" \
	"event=audiohook_opened .*conversation=\"$CONV\""

# ---- G2. a key with a wrong expectation
cat >"$VG_TMP/ac-key.yaml" <<EOS
transport: audioconnector
target: ws://127.0.0.1:$VG_AH_PORT/genesys/audioconnector
params: {api_key: "$GS_KEY", client_secret: "$GS_SECRET", input.flow: bank-hotline}
turns:
  - dtmf: "1"
    expect: {next: card_lost}
EOS
sim "$VG_TMP/ac-key.yaml" "$VG_TMP/ac-key.json"
J=$VG_TMP/ac-key.json
vg_assert_eq "ac key: exit status" 1 "$SIM_RC"
vg_assert "ac key: the reason names the node the key reached" \
	jq -e '.failures[0].reason | contains("next node balance, expected card_lost")' "$J"

# ---- Genesys AudioHook monitor M1. two customer utterances
sed "s|ws://127.0.0.1:8082/|ws://127.0.0.1:$VG_AH_PORT/|" \
	"$VG_SOURCE_DIR/examples/genesys/scenario-monitor.yaml" >"$VG_TMP/mon.yaml"
sim "$VG_TMP/mon.yaml" "$VG_TMP/mon.json"
J=$VG_TMP/mon.json
vg_assert_eq "monitor: exit status" 0 "$SIM_RC"
vg_assert_eq "monitor: intent_accuracy (agentassist intents)" 1 "$(jq .intent_accuracy "$J")"
vg_assert "monitor: both transcripts timed as replies" \
	jq -e '.turn_latency_ms.n == 2 and .turn_latency_ms.p50 > 0 and .turn_latency_ms.max < 5000' "$J"
vg_assert_log "monitor: the daemon sent the assist" "event=audiohook_assist .*intent=lost_or_stolen_card"

# ---- M2. a wrong intent
cat >"$VG_TMP/mon-wrong.yaml" <<EOS
transport: audiohook
target: ws://127.0.0.1:$VG_AH_PORT/genesys/audiohook
params: {api_key: "$GS_KEY", client_secret: "$GS_SECRET"}
turns:
  - say: I lost my card
    expect: {intent: change_pin}
EOS
sim "$VG_TMP/mon-wrong.yaml" "$VG_TMP/mon-wrong.json"
J=$VG_TMP/mon-wrong.json
vg_assert_eq "monitor wrong: exit status" 1 "$SIM_RC"
vg_assert "monitor wrong: the reason names both intents" \
	jq -e '.failures[0].reason | contains("intent lost_or_stolen_card, expected change_pin")' "$J"

vg_done
