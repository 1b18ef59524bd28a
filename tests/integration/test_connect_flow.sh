#!/usr/bin/env bash
# Amazon Connect and Genesys flows answering real SIP calls here
# ([6/7] item 3). The flows directory holds examples/connect/bank-connect.json
# (a Connect flow-language export), the seed's Connect flow
# (examples/connect/seed-connect.json) and the seed's Genesys flow script
# (examples/genesys/seed-genesys.js), each imported in memory by the daemon
# with its side file FLOW.values.yaml (Lambda function / action -> URL of
# tests/integration/http_stub.py). transfer.queues maps the Connect queue
# "VIP" to a SIP URI; "billing" is left unmapped.
#  1. 4000, key 1, Lambda answers tier=gold: the stub receives the exact
#     Connect Lambda event (Name, Details.ContactData.{Attributes, Channel,
#     ContactId, InitialContactId, InitiationMethod, CustomerEndpoint,
#     SystemEndpoint, Queue}, Details.Parameters); the answer drives the
#     Compare to the VIP queue, and voxgate sends REFER to the queue's URI.
#  2. 4000, key 1, Lambda answers tier=silver: the Compare's default
#     (balance), no transfer.
#  3. 4000, key 3: queue "billing" has no URI: no REFER, the transfer's
#     on_fail (busy) and the call hangs up; logged transfer_unknown_queue.
#  4. 4000, key 2 then "I lost my card": the Lex step (voxgate NLU) picks
#     lost_or_stolen_card.
#  5. 4001, the seed's Connect flow: "I lost my card" -> the Lex turn ->
#     the process-intent Lambda gets a Connect event; the call ends.
#  5b. 4001, the caller says nothing: the Lex turn's error branch goes to
#     FallbackToAgent (named, never defined in the seed): REFER to
#     sip.agent_uri, accepted; CDR end reason transferred.
#  6. 4002, the seed's Genesys flow: "I lost my card" -> aiIntent high ->
#     the processCustomerRequest action is posted with the intent.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need sipp jq python3
vg_speech_init
vg_pick_ports
PCAP1=$VG_PCAP_DIR/dtmf_2833_1.pcap
PCAP2=$VG_PCAP_DIR/dtmf_2833_2.pcap
PCAP3=$VG_PCAP_DIR/dtmf_2833_3.pcap
[ -f "$PCAP1" ] || vg_fail "missing $PCAP1"

# ---- the Lambda / action endpoint
STUB_LOG=$VG_TMP/http-stub.jsonl
STUB_PORT=
start_stub() { # reply-json
	local pf=$VG_TMP/stub.port.$RANDOM
	python3 "$VG_INTEG_DIR/http_stub.py" --port-file "$pf" ${STUB_PORT:+--port "$STUB_PORT"} \
		--log "$STUB_LOG" --lifetime 300 --reply "$1" >>"$VG_TMP/http-stub.out" 2>&1 &
	STUB_PID=$!
	vg_track "$STUB_PID"
	for _ in $(seq 1 50); do [ -s "$pf" ] && break; sleep 0.1; done
	[ -s "$pf" ] || vg_fail "http_stub.py did not start"
	STUB_PORT=$(<"$pf")
}
stop_stub() { kill "$STUB_PID" 2>/dev/null; wait "$STUB_PID" 2>/dev/null || true; }
start_stub '{"tier":"gold","first_name":"Ada","balance":"42"}'
vg_say "Lambda stub on 127.0.0.1:$STUB_PORT"

# ---- the flows, as shipped, plus their values files
FLOWS=$VG_TMP/flows
mkdir -p "$FLOWS"
cp "$VG_SOURCE_DIR/examples/connect/bank-connect.json" "$VG_SOURCE_DIR/examples/connect/seed-connect.json" \
	"$VG_SOURCE_DIR/examples/genesys/seed-genesys.js" "$FLOWS/"
cat >"$FLOWS/bank-connect.values.yaml" <<EOF
customer-lookup: "http://127.0.0.1:$STUB_PORT/lambda/customer-lookup"
EOF
cat >"$FLOWS/seed-connect.values.yaml" <<EOF
"arn:aws:lambda:us-east-1:123456789012:function:process-intent": "http://127.0.0.1:$STUB_PORT/lambda/process-intent"
EOF
cat >"$FLOWS/seed-genesys.values.yaml" <<EOF
processCustomerRequest: "http://127.0.0.1:$STUB_PORT/actions/processCustomerRequest"
EOF
# The Lex and aiIntent steps classify with the model named "default": a
# small one of eight BANKING77 intents (the two the flows branch on and six
# neighbours), the same in every build.
vg_nlu_model "$VG_TMP/models" lost_or_stolen_card card_arrival card_not_working \
	compromised_card balance_not_updated_after_bank_transfer top_up_failed \
	exchange_rate pin_blocked
VIP_URI="sip:vip@127.0.0.1:$VG_AGENT_PORT"
VG_EXTRA_YAML="flows:
  dir: $FLOWS
  default: bank-hotline
  routes:
    - number: \"4000\"
      flow: bank-connect
    - number: \"4001\"
      flow: seed-connect
    - number: \"4002\"
      flow: AI-Powered_Customer_Service
nlu:
  models_dir: $VG_TMP/models
transfer:
  queues:
    VIP: \"$VIP_URI\""
vg_config
rc=0
timeout 30 "$VOXGATE" check-config -c "$VG_CFG" >"$VG_TMP/cc.out" 2>"$VG_TMP/cc.err" || rc=$?
[ $rc -eq 0 ] || cat "$VG_TMP/cc.err" >&2
vg_assert_eq "check-config imports the three flows with their values files" 0 "$rc"
vg_start 120

last_cdr() { vg_sql "SELECT id, from_uri, flow, flow_path, end_reason FROM calls ORDER BY started_ms DESC LIMIT 1"; }
wait_cdr() { # tag before
	vg_wait_sql "SELECT count(*) FROM calls WHERE ended_ms > 0" $(($2 + 1)) 15 || vg_fail "$1: no CDR"
}
stub_count() { [ -f "$STUB_LOG" ] && wc -l <"$STUB_LOG" || echo 0; }

# ---- 1. Lambda says gold: the VIP queue, REFER to its URI
before=$(vg_sql "SELECT count(*) FROM calls WHERE ended_ms > 0")
sf=$(vg_scenario uac_transfer.xml GREET_MS=1500 "DTMF_PCAP=$PCAP1" "SIPFRAG=200 OK" HOLD_MS=25000)
rc=0
VG_SIPP_SERVICE=4000 vg_sipp gold "$sf" -m 1 -timeout 60s -timeout_error || rc=$?
[ $rc -eq 0 ] || { vg_sipp_explain gold; vg_fail "gold: call failed (sipp $rc)"; }
wait_cdr gold "$before"
IFS='|' read -r id from flow path reason <<<"$(last_cdr)"
vg_say "gold: CDR $id from=$from flow=$flow path=$path reason=$reason"
vg_assert_eq "gold: number 4000 runs the imported Connect flow" bank-connect "$flow"
vg_assert "gold: Lambda, Compare, VIP queue, transfer in the flow path" \
	jq -e '. as $p | ["welcome","tag-caller","menu","lookup","check-tier","vip-queue","vip-hold","to-queue"] | all(. as $n | $p | index($n) != null)' <<<"$path"
vg_assert "gold: no balance message (the Compare matched)" jq -e 'index("balance") == null' <<<"$path"
vg_assert_eq "gold: CDR end_reason" transferred "$reason"
target=$(sed -nE 's/.*refer_to ([^ ]+) .*/\1/p' "$VG_TMP/sipp-gold.log" | head -n 1)
vg_assert_eq "gold: Refer-To is the VIP queue's URI (transfer.queues)" "$VIP_URI" "$target"
vg_assert_log "gold: log: queue resolved" "event=flow_transfer_queue call=$id node=to-queue queue=\"?VIP\"? uri=\"?$VIP_URI"
vg_assert_log "gold: log: REFER to the URI" "event=transfer call=$id target=\"?$VIP_URI"

# The Lambda event, field by field.
ev=$(jq -c 'select(.path == "/lambda/customer-lookup")' "$STUB_LOG" | tail -n 1)
[ -n "$ev" ] || vg_fail "gold: the Lambda endpoint got no request"
vg_assert_eq "Lambda: method" POST "$(jq -r .method <<<"$ev")"
vg_assert_eq "Lambda: content type" application/json "$(jq -r '.headers["content-type"]' <<<"$ev")"
body=$(jq -r .body <<<"$ev")
vg_say "Lambda event: $body"
cd_=$(jq -c '.Details.ContactData' <<<"$body")
vg_assert_eq "event: Name" ContactFlowEvent "$(jq -r .Name <<<"$body")"
vg_assert_eq "event: ContactData.Channel" VOICE "$(jq -r .Channel <<<"$cd_")"
vg_assert_eq "event: ContactData.ContactId is the call id" "$id" "$(jq -r .ContactId <<<"$cd_")"
vg_assert_eq "event: ContactData.InitialContactId" "$id" "$(jq -r .InitialContactId <<<"$cd_")"
vg_assert_eq "event: ContactData.InitiationMethod" INBOUND "$(jq -r .InitiationMethod <<<"$cd_")"
vg_assert_eq "event: CustomerEndpoint.Type" TELEPHONE_NUMBER "$(jq -r .CustomerEndpoint.Type <<<"$cd_")"
# Connect's addresses are numbers: the user part of the caller's URI.
vg_assert_eq "event: CustomerEndpoint.Address is the caller's number ($from)" \
	sipp "$(jq -r .CustomerEndpoint.Address <<<"$cd_")"
caller=$from
vg_assert_eq "event: SystemEndpoint.Address is the dialled number" 4000 "$(jq -r .SystemEndpoint.Address <<<"$cd_")"
vg_assert_eq "event: SystemEndpoint.Type" TELEPHONE_NUMBER "$(jq -r .SystemEndpoint.Type <<<"$cd_")"
vg_assert_eq "event: Attributes from UpdateContactAttributes" \
	"{\"caller\":\"$caller\",\"entry\":\"ivr-main\"}" "$(jq -c -S .Attributes <<<"$cd_")"
vg_assert_eq "event: Queue is null before a queue is set" null "$(jq -c .Queue <<<"$cd_")"
vg_assert_eq "event: Details.Parameters from LambdaInvocationAttributes" \
	"{\"phone\":\"$caller\",\"purpose\":\"balance\"}" "$(jq -c -S .Details.Parameters <<<"$body")"

# ---- 2. Lambda says silver: the Compare's default branch
stop_stub
start_stub '{"tier":"silver","first_name":"Bo","balance":"7"}'
n0=$(stub_count)
before=$(vg_sql "SELECT count(*) FROM calls WHERE ended_ms > 0")
sf=$(vg_scenario uac_call.xml HOLD_MS=25000 "DTMF_BLOCK=$(vg_dtmf_block 1500 "$PCAP1")")
rc=0
VG_SIPP_SERVICE=4000 vg_sipp silver "$sf" -m 1 -timeout 60s -timeout_error || rc=$?
[ $rc -eq 0 ] || { vg_sipp_explain silver; vg_fail "silver: call failed (sipp $rc)"; }
wait_cdr silver "$before"
IFS='|' read -r id from flow path reason <<<"$(last_cdr)"
vg_say "silver: CDR $id path=$path reason=$reason"
vg_assert "silver: the Lambda was called again" test "$(stub_count)" -gt "$n0"
vg_assert "silver: check-tier then balance, no queue" \
	jq -e 'index("check-tier") != null and index("balance") > index("check-tier") and index("vip-queue") == null and index("bye") != null' <<<"$path"
vg_assert_eq "silver: the flow hung up" completed "$reason"
vg_assert "silver: voxgate sent BYE" grep -q server_bye "$VG_TMP/sipp-silver.log"

# ---- 3. billing: a queue without a URI is not sent to the SIP peer
before=$(vg_sql "SELECT count(*) FROM calls WHERE ended_ms > 0")
sf=$(vg_scenario uac_call.xml HOLD_MS=25000 "DTMF_BLOCK=$(vg_dtmf_block 1500 "$PCAP3")")
rc=0
VG_SIPP_SERVICE=4000 vg_sipp billing "$sf" -m 1 -timeout 60s -timeout_error || rc=$?
[ $rc -eq 0 ] || { vg_sipp_explain billing; vg_fail "billing: call failed (sipp $rc; a REFER would fail it)"; }
wait_cdr billing "$before"
IFS='|' read -r id from flow path reason <<<"$(last_cdr)"
vg_say "billing: CDR $id path=$path reason=$reason"
vg_assert "billing: billing-queue, to-queue, then on_fail busy and bye" \
	jq -e 'index("billing-queue") != null and index("to-queue") != null and index("busy") > index("to-queue") and index("bye") != null' <<<"$path"
vg_assert_eq "billing: end_reason" completed "$reason"
vg_assert_log "billing: log: transfer_unknown_queue" "event=transfer_unknown_queue call=$id queue=\"?billing"
vg_assert "billing: no REFER was sent" bash -c "! grep -q refer_to '$VG_TMP/sipp-billing.log'"

# ---- speech calls
SAY="I lost my card"
vg_speech_pcap "$SAY" "$VG_TMP/lost.pcap" -l 200 -t 3000
speech_call() { # tag number first_pcap at_ms after_block
	local tag=$1 number=$2 pcap=$3 at=$4 after=$5 sf rc=0 mp
	vg_pick_port mp
	sf=$(vg_scenario uac_speech.xml HOLD_MS=30000 "SPEAK_AT_MS=$at" "SPEECH_PCAP=$pcap" "AFTER_BLOCK=$after")
	before=$(vg_sql "SELECT count(*) FROM calls WHERE ended_ms > 0")
	VG_SIPP_MP=$mp VG_SIPP_SERVICE=$number vg_sipp "$tag" "$sf" -m 1 -timeout 90s -timeout_error || rc=$?
	[ $rc -eq 0 ] || { vg_sipp_explain "$tag"; vg_fail "$tag: call failed (sipp $rc)"; }
	wait_cdr "$tag" "$before"
}
turn_intent() { # call id, node
	vg_sql "SELECT coalesce(intent,'') FROM turns WHERE call_id='$1' AND node='$2' ORDER BY seq LIMIT 1" 2>/dev/null || true
}

# ---- 4. the Lex step: key 2, then the caller speaks
speech_call lex 4000 "$PCAP2" 1500 \
	"<pause milliseconds=\"5000\"/><nop><action><exec play_pcap_audio=\"$VG_TMP/lost.pcap\"/></action></nop>"
IFS='|' read -r id from flow path reason <<<"$(last_cdr)"
vg_say "lex: CDR $id path=$path reason=$reason turn intent=$(turn_intent "$id" card-bot)"
vg_assert "lex: card-bot classified the speech as lost_or_stolen_card (-> lost-card)" \
	jq -e 'index("card-bot") != null and index("lost-card") > index("card-bot")' <<<"$path"
vg_assert_eq "lex: the turn's intent" lost_or_stolen_card "$(turn_intent "$id" card-bot)"

# ---- 5. the seed's Connect flow: Lex turn, then the Lambda
n0=$(stub_count)
speech_call seedc 4001 "$VG_TMP/lost.pcap" 3500 ""
IFS='|' read -r id from flow path reason <<<"$(last_cdr)"
vg_say "seed-connect: CDR $id flow=$flow path=$path reason=$reason"
vg_assert_eq "seed-connect: flow" seed-connect "$flow"
vg_assert_eq "seed-connect: path (bot turn, Lambda, end)" '["start","ProcessIntent","end"]' "$path"
vg_assert_eq "seed-connect: the Lex turn's intent" lost_or_stolen_card "$(turn_intent "$id" start)"
ev=$(tail -n +"$((n0 + 1))" "$STUB_LOG" | jq -c 'select(.path == "/lambda/process-intent")' | tail -n 1)
vg_assert "seed-connect: the process-intent Lambda got a request" test -n "$ev"
body=$(jq -r '.body // "{}"' <<<"${ev:-{\}}")
vg_assert_eq "seed-connect: a Connect event" ContactFlowEvent "$(jq -r .Name <<<"$body")"
vg_assert_eq "seed-connect: its ContactId" "$id" "$(jq -r .Details.ContactData.ContactId <<<"$body")"
vg_assert_eq "seed-connect: SystemEndpoint" 4001 "$(jq -r .Details.ContactData.SystemEndpoint.Address <<<"$body")"

# ---- 5b. the seed's Connect flow, the caller says nothing: the Lex turn's
# Error branch, FallbackToAgent (never defined in the seed): a message and
# a transfer to the agent, REFER to sip.agent_uri, which takes the call
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$VG_TMP/silence.wav" trim 0 1 ||
	vg_fail "sox failed"
"$WAV2PCAP" "$VG_TMP/silence.wav" "$VG_TMP/silence.pcap" >/dev/null || vg_fail "wav2pcap failed"
before=$(vg_sql "SELECT count(*) FROM calls WHERE ended_ms > 0")
# uac_transfer plays its pcap (silence here) at GREET_MS, then waits 20 s
# for the REFER (three silent Lex turns come first).
sf=$(vg_scenario uac_transfer.xml GREET_MS=12000 "DTMF_PCAP=$VG_TMP/silence.pcap" "SIPFRAG=200 OK" HOLD_MS=25000)
rc=0
VG_SIPP_SERVICE=4001 vg_sipp seedc-silent "$sf" -m 1 -timeout 90s -timeout_error || rc=$?
[ $rc -eq 0 ] || { vg_sipp_explain seedc-silent; vg_fail "seedc-silent: call failed (sipp $rc)"; }
wait_cdr seedc-silent "$before"
IFS='|' read -r id from flow path reason <<<"$(last_cdr)"
vg_say "seed-connect silent: CDR $id path=$path reason=$reason"
vg_assert_eq "seed-connect silent: no input -> FallbackToAgent -> transfer" \
	'["start","FallbackToAgent","FallbackToAgent_transfer"]' "$path"
target=$(sed -nE 's/.*refer_to ([^ ]+) .*/\1/p' "$VG_TMP/sipp-seedc-silent.log" | head -n 1)
vg_assert_eq "seed-connect silent: Refer-To is sip.agent_uri" "sip:agents@127.0.0.1:$VG_AGENT_PORT" "$target"
vg_assert_eq "seed-connect silent: CDR end_reason" transferred "$reason"

# ---- 6. the seed's Genesys flow: aiIntent, then the action
n0=$(stub_count)
speech_call seedg 4002 "$VG_TMP/lost.pcap" 5000 ""
IFS='|' read -r id from flow path reason <<<"$(last_cdr)"
vg_say "seed-genesys: CDR $id flow=$flow path=$path reason=$reason"
vg_assert_eq "seed-genesys: flow" AI-Powered_Customer_Service "$flow"
# The greeting and the aiIntent state became one classify node (IMPORT.md).
vg_assert_eq "seed-genesys: path (greeting+intent, action, end)" '["greeting","processIntent","end"]' "$path"
vg_assert_log "seed-genesys: the intent turn was speech, high confidence" \
	"event=flow_turn call=$id node=greeting input=speech .*intent=lost_or_stolen_card .*match=high next=processIntent"
ev=$(tail -n +"$((n0 + 1))" "$STUB_LOG" | jq -c 'select(.path == "/actions/processCustomerRequest")' | tail -n 1)
vg_assert "seed-genesys: the action got a request" test -n "$ev"
body=$(jq -r '.body // "{}"' <<<"${ev:-{\}}")
vg_say "seed-genesys: action body $body"
vg_assert_eq "seed-genesys: action name" processCustomerRequest "$(jq -r .action <<<"$body")"
vg_assert_eq "seed-genesys: call id" "$id" "$(jq -r .call_id <<<"$body")"
vg_assert_eq "seed-genesys: intent" lost_or_stolen_card "$(jq -r .intent <<<"$body")"

vg_stop
vg_done
