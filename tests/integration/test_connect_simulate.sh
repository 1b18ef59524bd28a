#!/usr/bin/env bash
# examples/connect/scenario.yaml with `voxgate simulate`: the daemon runs
# the imported Connect flow examples/connect/bank-connect.json on its own
# SIP (number 4000, as in test_connect_flow.sh; the Lex step classifies with
# a small BANKING77 model named default). A simulated caller presses 2 and
# says "I lost my card"; every expectation of the scenario holds (intent
# lost_or_stolen_card to lost-card, the card-bot and goodbye prompts, the
# nodes, no transfer, end_reason completed), and a wrong expectation fails
# the run. One simulated call takes about 26 s (greeting, menu, Lex
# question, answer, goodbye), hence a test of its own.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need jq
vg_pick_ports

FLOWS=$VG_TMP/flows
mkdir -p "$FLOWS"
cp "$VG_SOURCE_DIR/examples/connect/bank-connect.json" "$FLOWS/"
# The lookup Lambda is not reached on this path (key 2); a closed port.
cat >"$FLOWS/bank-connect.values.yaml" <<EOS
customer-lookup: "http://127.0.0.1:9/lambda/customer-lookup"
EOS
vg_nlu_model "$VG_TMP/models" lost_or_stolen_card card_arrival card_not_working \
	compromised_card balance_not_updated_after_bank_transfer top_up_failed \
	exchange_rate pin_blocked
VG_EXTRA_YAML="flows:
  dir: $FLOWS
  default: bank-hotline
  routes:
    - number: \"4000\"
      flow: bank-connect
nlu:
  models_dir: $VG_TMP/models"
vg_config
vg_start 120
API=http://127.0.0.1:$VG_HTTP_PORT

sim() { # scenario out.json: exit status in SIM_RC
	SIM_RC=0
	timeout 120 "$VOXGATE" simulate "$1" --api "$API" --json --quiet \
		>"$2" 2>"$2.err" || SIM_RC=$?
	vg_say "simulate $(basename "$1"): exit $SIM_RC, $(jq -c '{calls, failed, turn_latency_ms: .turn_latency_ms.p50, failures}' "$2" 2>/dev/null)"
}

sed "s/127.0.0.1:5060/127.0.0.1:$VG_SIP_PORT/" \
	"$VG_SOURCE_DIR/examples/connect/scenario.yaml" >"$VG_TMP/connect.yaml"
t0=$SECONDS
sim "$VG_TMP/connect.yaml" "$VG_TMP/connect.json"
vg_say "MEASURED the scenario took $((SECONDS - t0)) s"
J=$VG_TMP/connect.json
[ -s "$J" ] || { cat "$J.err" >&2; vg_fail "simulate printed no report"; }
vg_assert_eq "connect: exit status" 0 "$SIM_RC"
vg_assert_eq "connect: calls" 1 "$(jq .calls "$J")"
vg_assert_eq "connect: failed" 0 "$(jq .failed "$J")"
vg_assert_eq "connect: intent_accuracy" 1 "$(jq .intent_accuracy "$J")"
vg_assert_eq "connect: containment (no transfer)" 1 "$(jq .containment "$J")"
id=$(jq -r '.call_results[0].cdr_id // ""' "$J")
vg_assert "connect: the CDR was joined by Call-ID" test -n "$id"
vg_assert_eq "connect: the CDR's flow" bank-connect "$(vg_sql "SELECT flow FROM calls WHERE id='$id'")"
vg_assert_eq "connect: the Lex turn's intent in the turns table" lost_or_stolen_card \
	"$(vg_sql "SELECT intent FROM turns WHERE call_id='$id' AND node='card-bot'")"

# The same caller with a wrong expectation: the run fails and says why.
sed -e 's/intent: lost_or_stolen_card/intent: card_arrival/' "$VG_TMP/connect.yaml" >"$VG_TMP/wrong.yaml"
sim "$VG_TMP/wrong.yaml" "$VG_TMP/wrong.json"
vg_assert_eq "wrong expectation: exit status" 1 "$SIM_RC"
vg_assert "wrong expectation: the failure names the intents" \
	jq -e '.failures[0].reason | test("intent lost_or_stolen_card, expected card_arrival")' "$VG_TMP/wrong.json"
vg_stop 30
vg_done
