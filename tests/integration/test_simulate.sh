#!/usr/bin/env bash
# `voxgate simulate` against the daemon on loopback SIP, bank-hotline flow:
#  1. examples/bank/scenario.yaml: a caller (flite slt) says "I lost my
#     card"; every expectation (intent, next node, words, nodes, no
#     transfer, end_reason) holds; the JSON report has the turn latency,
#     the server's stages (joined by Call-ID from GET /v1/calls) and
#     intent_accuracy 1, containment 1.
#  1b. the same, barging in during the menu prompt: the prompt stops.
#  2. a key press (0) for an agent: REFER answered, transfer target and
#     end_reason 'transferred' met; DTMF-to-prompt latency measured;
#     containment 0.
#  3. a deliberately wrong expectation fails the run (exit 1) and says why.
#  4. load mode: 4 calls, 2 at a time, all pass.
#  5. scenario errors exit 2 with file:line:col; a remote target is refused.
#  6. call setup time grows by the injected sip.answer_delay (800 ms).
#  7. DTMF-to-prompt latency grows by the delay of a slow back-end: a flow
#     whose http node calls tests/integration/http_stub.py, once answering
#     at once and once after 600 ms.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need jq python3
vg_pick_ports
vg_config
vg_start 120
API=http://127.0.0.1:$VG_HTTP_PORT

sim() { # scenario out.json [args...]: exit status in SIM_RC
	local sc=$1 out=$2; shift 2
	SIM_RC=0
	timeout 300 "$VOXGATE" simulate "$sc" --api "$API" --json --quiet "$@" \
		>"$out" 2>"$out.err" || SIM_RC=$?
	vg_say "simulate $(basename "$sc") $*: exit $SIM_RC, $(jq -c '{calls, failed, turn_latency_ms: .turn_latency_ms.p50, setup: .setup_ms.p50, failures}' "$out" 2>/dev/null)"
}

# ---- 1. the bank demo scenario
sed "s/127.0.0.1:5060/127.0.0.1:$VG_SIP_PORT/" \
	"$VG_SOURCE_DIR/examples/bank/scenario.yaml" >"$VG_TMP/bank.yaml"
sim "$VG_TMP/bank.yaml" "$VG_TMP/bank.json"
J=$VG_TMP/bank.json
vg_assert_eq "bank: exit status" 0 "$SIM_RC"
vg_assert_eq "bank: calls" 1 "$(jq .calls "$J")"
vg_assert_eq "bank: failed" 0 "$(jq .failed "$J")"
vg_assert_eq "bank: intent_accuracy" 1 "$(jq .intent_accuracy "$J")"
vg_assert_eq "bank: containment" 1 "$(jq .containment "$J")"
vg_assert "bank: the CDR was joined by Call-ID" \
	jq -e '.call_results[0].cdr_id | type == "string"' "$J"
# 0 ms is a valid stage: an early decode or a stream (stt.stream) can have
# the final by the time the end of speech is confirmed.
vg_assert "bank: the server's stt stage is there" \
	jq -e '.stages_ms.stt.n == 1 and (.stages_ms.stt.p50 | type == "number") and .stages_ms.stt.p50 >= 0' "$J"
LAT=$(jq '.turn_latency_ms.p50 | floor' "$J")
SRV=$(jq '.stages_ms.server_total.p50 | floor' "$J")
vg_assert_ge "bank: caller-side latency covers the server's part" "$LAT" "$SRV"
vg_assert_le "bank: turn latency under 5 s" "$LAT" 5000

# ---- 1a. the same call over SIP/TCP (;transport=tcp in the target)
sed "s/127.0.0.1:5060/127.0.0.1:$VG_SIP_PORT;transport=tcp/" \
	"$VG_SOURCE_DIR/examples/bank/scenario.yaml" >"$VG_TMP/bank-tcp.yaml"
tcp_before=$(grep -c 'event=call_incoming.*transport=TCP' "$VG_LOG" || true)
sim "$VG_TMP/bank-tcp.yaml" "$VG_TMP/bank-tcp.json"
J=$VG_TMP/bank-tcp.json
vg_assert_eq "bank over TCP: exit status" 0 "$SIM_RC"
vg_assert_eq "bank over TCP: failed" 0 "$(jq .failed "$J")"
vg_assert_eq "bank over TCP: intent_accuracy" 1 "$(jq .intent_accuracy "$J")"
vg_assert_eq "bank over TCP: the daemon took the call on TCP" \
	$((tcp_before + 1)) "$(grep -c 'event=call_incoming.*transport=TCP' "$VG_LOG" || true)"

# ---- 1b. barge-in: speak 5.5 s after the greeting started, in the middle
# of the main_menu prompt's second sentence (barge_in: true)
cat >"$VG_TMP/barge.yaml" <<EOS
name: barge-in
target: sip:1000@127.0.0.1:$VG_SIP_PORT
turns:
  - say: someone stole my credit card
    barge_in_ms: 5500
    expect: {intent: lost_card, next: card_lost}
EOS
sim "$VG_TMP/barge.yaml" "$VG_TMP/barge.json"
J=$VG_TMP/barge.json
vg_assert_eq "barge-in: exit status" 0 "$SIM_RC"
vg_assert "barge-in: the caller spoke over the prompt" \
	jq -e '.call_results[0].turns[0].barged' "$J"
vg_assert "barge-in: the prompt stopped within 1 s of the caller's onset" \
	jq -e '.barge_in_stop_ms.n == 1 and .barge_in_stop_ms.p50 < 1000' "$J"
vg_assert "barge-in: the reply was heard" jq -e '.turn_latency_ms.n == 1' "$J"

# ---- 2. a key for an agent: the transfer
cat >"$VG_TMP/agent.yaml" <<EOS
name: agent by key
target: sip:1000@127.0.0.1:$VG_SIP_PORT
turns:
  - dtmf: "0"
    expect:
      next: agent_hold
      says: connect you to an agent
expect:
  transfer: agents@127.0.0.1:$VG_AGENT_PORT
  end_reason: transferred
  nodes: [main_menu, agent_hold, agent]
EOS
sim "$VG_TMP/agent.yaml" "$VG_TMP/agent.json"
J=$VG_TMP/agent.json
vg_assert_eq "agent: exit status" 0 "$SIM_RC"
vg_assert_eq "agent: failed" 0 "$(jq .failed "$J")"
vg_assert_eq "agent: containment" 0 "$(jq .containment "$J")"
vg_assert "agent: REFER target recorded" \
	jq -e ".call_results[0].transfer | contains(\"agents@127.0.0.1:$VG_AGENT_PORT\")" "$J"
vg_assert "agent: DTMF-to-prompt latency measured" \
	jq -e '.dtmf_latency_ms.n == 1 and .dtmf_latency_ms.p50 >= 0 and .dtmf_latency_ms.p50 < 2000' "$J"

# ---- 3. a wrong expectation fails the run
sed -e 's/next: agent_hold/next: balance/' "$VG_TMP/agent.yaml" >"$VG_TMP/wrong.yaml"
sim "$VG_TMP/wrong.yaml" "$VG_TMP/wrong.json"
vg_assert_eq "wrong expectation: exit status" 1 "$SIM_RC"
vg_assert_eq "wrong expectation: failed" 1 "$(jq .failed "$VG_TMP/wrong.json")"
vg_assert "wrong expectation: the reason names the node" \
	jq -e '.failures[0].reason | contains("next node agent_hold, expected balance")' "$VG_TMP/wrong.json"

# ---- 4. load mode
sim "$VG_TMP/agent.yaml" "$VG_TMP/load.json" --calls 4 --concurrency 2 --rate 5
J=$VG_TMP/load.json
vg_assert_eq "load: exit status" 0 "$SIM_RC"
vg_assert_eq "load: calls" 4 "$(jq .calls "$J")"
vg_assert_eq "load: failed" 0 "$(jq .failed "$J")"
vg_assert_eq "load: four distinct CDRs" 4 "$(jq '[.call_results[].cdr_id] | unique | length' "$J")"
# warm calls without a delay: the baseline for section 6
SETUP0=$(jq '.setup_ms.p50 | floor' "$J")

# ---- 5. scenario errors
printf 'target: sip:1@127.0.0.1\nturns:\n  - say: hi\n    sya: typo\n' >"$VG_TMP/bad.yaml"
rc=0; "$VOXGATE" simulate "$VG_TMP/bad.yaml" 2>"$VG_TMP/bad.err" || rc=$?
vg_assert_eq "bad scenario: exit status" 2 "$rc"
vg_assert "bad scenario: file:line:col" grep -q "bad.yaml:4:5: unknown key 'sya'" "$VG_TMP/bad.err"
printf 'target: sip:1@192.0.2.1\nturns:\n  - dtmf: "1"\n' >"$VG_TMP/remote.yaml"
rc=0; "$VOXGATE" simulate "$VG_TMP/remote.yaml" 2>"$VG_TMP/remote.err" || rc=$?
vg_assert_eq "remote target: exit status" 2 "$rc"
vg_assert "remote target: refused without --allow-remote" grep -q 'allow-remote' "$VG_TMP/remote.err"
vg_stop

# ---- 6. setup time against an injected answer delay
VG_ANSWER_DELAY=800ms
vg_config
vg_start 120
sim "$VG_TMP/agent.yaml" "$VG_TMP/delay.json"
SETUP1=$(jq '.setup_ms.p50 | floor' "$VG_TMP/delay.json")
vg_say "call setup: ${SETUP0} ms without delay, ${SETUP1} ms with answer_delay 800ms"
vg_assert_ge "setup takes at least the delay" "$SETUP1" 795
vg_assert_ge "setup grows by about the delay (low)" "$((SETUP1 - SETUP0))" 760
vg_assert_le "setup grows by about the delay (high)" "$((SETUP1 - SETUP0))" 1000
vg_stop

# ---- 7. turn latency against a slow back-end
stub() { # name delay_ms: sets STUB_PORT
	python3 "$VG_INTEG_DIR/http_stub.py" --port-file "$VG_TMP/$1.port" \
		--log "$VG_TMP/$1.jsonl" --lifetime 200 --delay-ms "$2" \
		>"$VG_TMP/$1.out" 2>&1 &
	vg_track $!
	for _ in $(seq 1 50); do [ -s "$VG_TMP/$1.port" ] && break; sleep 0.1; done
	[ -s "$VG_TMP/$1.port" ] || vg_fail "http_stub.py ($1) did not start"
	STUB_PORT=$(<"$VG_TMP/$1.port")
}
FLOWS=$VG_TMP/flows
mkdir -p "$FLOWS"
for f in fast:0 slow:600; do
	name=${f%:*}
	stub "$name" "${f#*:}"
	cat >"$FLOWS/$name.yaml" <<EOF
name: $name
start: menu
nodes:
  menu:
    type: menu
    prompt: Press one.
    input: dtmf
    options: {1: crm}
    timeout: 5s
    on_max_retries: bye
  crm:
    type: http
    method: GET
    url: "http://127.0.0.1:$STUB_PORT/crm"
    map: {risk: risk}
    next: done
    on_error: done
  done: {type: say, text: "Thank you. Goodbye.", next: bye}
  bye: {type: hangup}
EOF
done
VG_ANSWER_DELAY=0s
VG_EXTRA_YAML="flows:
  dir: $FLOWS
  default: fast
  routes:
    - number: \"2001\"
      flow: slow"
vg_config
vg_start 120
for n in 1000:fast 2001:slow; do
	cat >"$VG_TMP/${n#*:}-sc.yaml" <<EOS
name: back-end ${n#*:}
target: sip:${n%:*}@127.0.0.1:$VG_SIP_PORT
quiet: 800ms
turns:
  - dtmf: "1"
    expect: {next: crm}
expect:
  nodes: [crm, done]
  says: Goodbye
EOS
	sim "$VG_TMP/${n#*:}-sc.yaml" "$VG_TMP/${n#*:}.json" --calls 3
	vg_assert_eq "${n#*:} back-end: exit status" 0 "$SIM_RC"
done
FAST=$(jq '.dtmf_latency_ms.p50 | floor' "$VG_TMP/fast.json")
SLOW=$(jq '.dtmf_latency_ms.p50 | floor' "$VG_TMP/slow.json")
vg_say "DTMF-to-prompt p50: ${FAST} ms with a quick back-end, ${SLOW} ms with one 600 ms slower"
vg_assert_ge "latency grows by at least the back-end delay" "$((SLOW - FAST))" 550
vg_assert_le "latency grows by about the back-end delay" "$((SLOW - FAST))" 800
vg_assert_eq "the slow back-end was called 3 times" 3 "$(wc -l <"$VG_TMP/slow.jsonl")"
vg_stop
vg_done
