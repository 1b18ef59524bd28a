#!/usr/bin/env bash
# Amazon Connect endpoints, end to end: the daemon with connect.enabled and
# the demo CRM; a node client (tests/node/connect_client.js) that signs
# like the example forwarding Lambda (examples/connect/lambda/index.mjs).
# Checks: wrong key / bad signature / stale / replay get 401 and create
# nothing; crm_lookup finds the demo customer +14155550101 (by
# CustomerEndpoint.Address, by a Parameters key, through the Lambda handler
# itself) and answers found=false for a stranger; classify answers an
# intent and entities; the flow function starts a flow on one invocation
# and advances it on the next (state in adapter_sessions), ending with a
# transfer; a configured http function (JSON answer); an oversize body is
# 413; the Lex code hook reclassifies a FallbackIntent.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need jq node sqlite3 python3
NODE_DIR=$VG_SOURCE_DIR/tests/node
DATA=$VG_SOURCE_DIR/tests/data/connect
KEY=connect-test-key
SECRET=connect-test-secret-0123456789
vg_pick_ports
python3 "$VG_INTEG_DIR/http_stub.py" --port-file "$VG_TMP/stub.port" \
	--log "$VG_TMP/stub.jsonl" --lifetime 240 >"$VG_TMP/stub.out" 2>&1 &
vg_track $!
for _ in $(seq 1 50); do [ -s "$VG_TMP/stub.port" ] && break; sleep 0.1; done
[ -s "$VG_TMP/stub.port" ] || vg_fail "http_stub.py did not start"
# A back-end whose answer is bigger than Connect's 32 KB.
python3 -c 'import json; print(json.dumps({"k%d" % i: "x" * 1000 for i in range(40)}))' >"$VG_TMP/big.reply"
python3 "$VG_INTEG_DIR/http_stub.py" --port-file "$VG_TMP/big.port" \
	--log "$VG_TMP/big.jsonl" --reply "$(<"$VG_TMP/big.reply")" --lifetime 240 >"$VG_TMP/big.out" 2>&1 &
vg_track $!
for _ in $(seq 1 50); do [ -s "$VG_TMP/big.port" ] && break; sleep 0.1; done
[ -s "$VG_TMP/big.port" ] || vg_fail "the second http_stub.py did not start"
mkdir -p "$VG_TMP/flows" "$VG_TMP/models"
cp "$VG_SOURCE_DIR/examples/connect/connect-lambda-demo.yaml" "$VG_TMP/flows/"
# A small model of our own, so the test does not depend on the build's.
printf '%s\t%s\n' card_lost "I lost my card" card_lost "my card is missing" \
	card_lost "my card was stolen" card_lost "I can't find my card" \
	balance "what is my balance" balance "how much money do I have" \
	balance "check my account balance" balance "balance please" \
	transfer "send money to my friend" transfer "transfer fifty dollars to savings" \
	transfer "I want to make a transfer" transfer "move money between accounts" \
	>"$VG_TMP/bank.tsv"
"$VOXGATE" nlu train --data "$VG_TMP/bank.tsv" -o "$VG_TMP/models/bank.vxn" >/dev/null ||
	vg_fail "cannot train the test model"
VG_EXTRA_YAML="flows:
  dir: $VG_TMP/flows
nlu:
  models_dir: $VG_TMP/models
transfer:
  queues:
    support: \"sip:support@127.0.0.1:$VG_AGENT_PORT\"
connect:
  enabled: true
  api_key: $KEY
  secret: \"$SECRET\"
  max_body: 8KB
  flow: connect-lambda-demo
  model: bank
  lex_intents:
    - {intent: transfer, slots: \"amount:money, account\", confirm: true}
  functions:
    - {name: echo, type: http, url: \"http://127.0.0.1:$(<"$VG_TMP/stub.port")/echo\", response: json}
    - {name: who, type: crm_lookup, param: customer.phone}
    - {name: big, type: http, url: \"http://127.0.0.1:$(<"$VG_TMP/big.port")/big\"}"
vg_config
sed -i 's/^store:$/store:\n  crm_demo: true/' "$VG_CFG"
vg_start 120
vg_assert_log "connect routes up" "event=connect_endpoints"

cc() { # path file [options]: the client's JSON on stdout
	local path=$1 file=$2; shift 2
	timeout 30 node "$NODE_DIR/connect_client.js" "http://127.0.0.1:$VG_HTTP_PORT" \
		"$KEY" "$SECRET" "$path" "$file" "$@"
}
EV=$DATA/contact_flow_event.json
sessions() { vg_sql "SELECT count(*) FROM adapter_sessions WHERE platform='connect'"; }

# ---- refused before anything happens
for opt in --wrong-key --bad-sig --stale; do
	out=$(cc /connect/lambda/flow "$EV" "$opt" --contact "bad$opt") || vg_fail "client failed"
	vg_assert_eq "$opt is refused" 401 "$(jq -r .status <<<"$out")"
done
out=$(cc /connect/lex "$DATA/lex_fallback.json" --bad-sig) || vg_fail "client failed"
vg_assert_eq "lex with a bad signature is refused" 401 "$(jq -r .status <<<"$out")"
vg_assert_eq "no contact state from refused requests" 0 "$(sessions)"
vg_assert_eq "no call records from refused requests" 0 "$(vg_sql "SELECT count(*) FROM calls")"
vg_assert_log "the refusal reason is logged" "event=connect_auth_failed.*reason=bad_signature"

# ---- crm_lookup
out=$(cc /connect/lambda/crm_lookup "$EV" --replay) || vg_fail "client failed"
vg_assert_eq "crm_lookup answers" 200 "$(jq -r .status <<<"$out")"
vg_assert_eq "the demo customer is found by CustomerEndpoint.Address" true "$(jq -r .body.found <<<"$out")"
vg_assert_eq "with the first name" Alice "$(jq -r .body.first_name <<<"$out")"
vg_assert_eq "values are strings (STRING_MAP)" string "$(jq -r '.body.pin_set|type' <<<"$out")"
vg_assert_eq "the exact replay is refused" 401 "$(jq -r .replay.status <<<"$out")"
vg_assert_eq "as a replay" replay "$(jq -r .replay.body.message <<<"$out")"
out=$(cc /connect/lambda/who "$EV" --params '{"customer":{"phone":"+15550009999"}}') || vg_fail "client failed"
vg_assert_eq "a stranger by nested Parameters key is not found" false "$(jq -r .body.found <<<"$out")"
out=$(cc /connect/lambda/crm_lookup "$EV" --handler) || vg_fail "client failed"
vg_assert_eq "the forwarding Lambda handler returns the map" true "$(jq -r .body.found <<<"$out")"

# ---- classify
out=$(cc /connect/lambda/classify "$EV" --params '{"transcript":"I lost my card, it was 25 dollars"}') ||
	vg_fail "client failed"
vg_assert_eq "classify answers" 200 "$(jq -r .status <<<"$out")"
vg_assert_eq "the intent" card_lost "$(jq -r .body.intent <<<"$out")"
vg_assert_match "a confidence" '^0\.[0-9]{3}$|^1\.000$' "$(jq -r .body.confidence <<<"$out")"
vg_assert_eq "the money entity, flattened" 25.00 "$(jq -r '.body["slots.money"]' <<<"$out")"
vg_assert_eq "alternatives flattened" string "$(jq -r '.body["alternatives.0.intent"]|type' <<<"$out")"

# ---- flow: start, then advance with the caller's key
C=connect-flow-contact-1
out=$(cc /connect/lambda/flow "$EV" --contact "$C") || vg_fail "client failed"
vg_assert_eq "flow start answers" 200 "$(jq -r .status <<<"$out")"
vg_assert_eq "first answer gathers" gather "$(jq -r .body.action <<<"$out")"
vg_assert_match "greets the known caller and prompts" "Welcome back to voxgate bank, Alice\. Press 1" \
	"$(jq -r .body.prompt <<<"$out")"
vg_assert_eq "input both ways" "dtmf speech" "$(jq -r .body.input <<<"$out")"
vg_wait_sql "SELECT count(*) FROM adapter_sessions WHERE platform='connect' AND session_key='$C'" 1 5 &&
	vg_ok "contact state stored" || vg_bad "contact state not stored"
out=$(cc /connect/lambda/flow "$EV" --contact "$C" --params '{"digits":"2"}') || vg_fail "client failed"
vg_assert_eq "second invocation transfers" transfer "$(jq -r .body.action <<<"$out")"
vg_assert_eq "to the queue" "queue:support" "$(jq -r .body.target <<<"$out")"
vg_assert_eq "the flow ended" transferred "$(jq -r .body.end_reason <<<"$out")"
vg_wait_sql "SELECT count(*) FROM adapter_sessions WHERE platform='connect' AND session_key='$C'" 0 5 &&
	vg_ok "contact state removed at the end" || vg_bad "contact state left behind"
vg_wait_sql "SELECT end_reason || ' ' || from_uri || ' ' || flow FROM calls WHERE id='$C' AND platform='connect'" \
	"transferred +14155550101 connect-lambda-demo" 5 &&
	vg_ok "the contact has an ended call record" || vg_bad "no ended call record for $C"
vg_assert_eq "its flow path spans both invocations" '["who","hello_known","menu","agent"]' \
	"$(vg_sql "SELECT flow_path FROM calls WHERE id='$C'")"
C2=connect-flow-contact-2
out=$(cc /connect/lambda/flow "$EV" --contact "$C2") || vg_fail "client failed"
vg_assert_eq "second contact gathers" gather "$(jq -r .body.action <<<"$out")"
out=$(cc /connect/lambda/flow "$EV" --contact "$C2" --params '{"transcript":"what is my balance","confidence":"0.9"}') ||
	vg_fail "client failed"
vg_assert_eq "speech advances to the balance and hangs up" hangup "$(jq -r .body.action <<<"$out")"
vg_assert_match "says the balance text" "balance is available" "$(jq -r .body.prompt <<<"$out")"

out=$(cc /connect/lambda/flow "$EV" --contact connect-flow-contact-3) || vg_fail "client failed"
vg_assert_eq "third contact gathers" gather "$(jq -r .body.action <<<"$out")"
out=$(cc /connect/lambda/flow "$EV" --contact connect-flow-contact-3 --params '{"event":"hangup"}') ||
	vg_fail "client failed"
vg_assert_eq "a hangup event ends the contact" hangup "$(jq -r .body.action <<<"$out")"
vg_wait_sql "SELECT count(*) FROM adapter_sessions WHERE platform='connect'" 0 5 &&
	vg_ok "no contact state left" || vg_bad "contact state left after hangup"
out=$(cc /connect/lambda/flow "$EV" --contact connect-flow-contact-4 --params '{"event":"hangup"}') ||
	vg_fail "client failed"
vg_assert_eq "a hangup for an unknown contact starts nothing" "hangup 0" \
	"$(jq -r .body.action <<<"$out") $(sessions)"

# ---- http function, JSON answer
out=$(cc /connect/lambda/echo "$EV") || vg_fail "client failed"
vg_assert_eq "http function answers" 200 "$(jq -r .status <<<"$out")"
vg_assert_eq "the JSON answer keeps the endpoint's object" low "$(jq -r .body.risk <<<"$out")"
vg_assert_eq "the stub saw the Connect event" ContactFlowEvent \
	"$(jq -r 'select(.path=="/echo") | .body | fromjson | .Name' "$VG_TMP/stub.jsonl" | head -1)"

out=$(cc /connect/lambda/big "$EV") || vg_fail "client failed"
vg_assert_eq "an answer over 32 KB is refused" 500 "$(jq -r .status <<<"$out")"
vg_assert_eq "with a clear error" answer_too_large "$(jq -r .body.error <<<"$out")"
vg_assert_match "saying why" "exceeds the 32768 byte limit" "$(jq -r .body.message <<<"$out")"
vg_assert_log "and logged" "event=connect_answer_refused"

# ---- caps and routes
big=$VG_TMP/big.json
python3 - "$EV" "$big" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))
ev["Details"]["Parameters"]["pad"] = "x" * 9000
json.dump(ev, open(sys.argv[2], "w"))
PY
out=$(cc /connect/lambda/classify "$big") || vg_fail "client failed"
vg_assert_eq "a body over max_body is 413" 413 "$(jq -r .status <<<"$out")"
out=$(cc /connect/lambda/nope "$EV") || vg_fail "client failed"
vg_assert_eq "an unknown function is 404" 404 "$(jq -r .status <<<"$out")"

# ---- Lex V2 code hook
out=$(cc /connect/lex "$DATA/lex_fallback.json") || vg_fail "client failed"
vg_assert_eq "lex answers" 200 "$(jq -r .status <<<"$out")"
vg_assert_match "a dialog action" '^(Delegate|Close|ElicitSlot|ConfirmIntent|ElicitIntent)$' \
	"$(jq -r .body.sessionState.dialogAction.type <<<"$out")"
vg_assert_eq "FallbackIntent reclassified by voxgate" card_lost \
	"$(jq -r .body.sessionState.sessionAttributes.voxgate_intent <<<"$out")"
vg_assert_eq "an unconfigured intent is delegated" Delegate \
	"$(jq -r .body.sessionState.dialogAction.type <<<"$out")"
lex2=$VG_TMP/lex2.json
jq '.inputTranscript = "transfer fifty dollars to savings"' "$DATA/lex_fallback.json" >"$lex2"
out=$(cc /connect/lex "$lex2") || vg_fail "client failed"
vg_assert_eq "a configured intent elicits its missing slot" ElicitSlot \
	"$(jq -r .body.sessionState.dialogAction.type <<<"$out")"
vg_assert_eq "the second required slot" account \
	"$(jq -r .body.sessionState.dialogAction.slotToElicit <<<"$out")"
vg_assert_eq "the first filled from voxgate's entities (Scalar shape)" "50.00" \
	"$(jq -r .body.sessionState.intent.slots.amount.value.interpretedValue <<<"$out")"
vg_assert_eq "session attributes kept" "+14155550101" \
	"$(jq -r .body.sessionState.sessionAttributes.caller <<<"$out")"
out=$(cc /connect/lex "$lex2" --handler) || vg_fail "client failed"
vg_assert_eq "the forwarding Lambda sends Lex events to /connect/lex" ElicitSlot \
	"$(jq -r .body.sessionState.dialogAction.type <<<"$out")"

metrics=$(vg_http /metrics)
vg_assert_match "requests are counted" 'voxgate_connect_requests_total\{route="lambda",code="401"\} 4' "$metrics"
vg_stop
vg_check_sanitizers
vg_done
