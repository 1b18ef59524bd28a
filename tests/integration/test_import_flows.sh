#!/usr/bin/env bash
# Foreign flows in flows.dir, imported in memory by the daemon: a call to
# number 3000 runs an Amazon Connect flow (*.json) and one to 3001 a
# Genesys flow script (*.js), checked by their CDR flow path; check-config
# loads them too, and refuses a Connect file with an unsupported action
# with a file:line:col message into the JSON (strict import).
source "$(dirname "$0")/lib.sh"
vg_init
vg_need sipp
FLOWS=$VG_TMP/flows
mkdir -p "$FLOWS"
cat >"$FLOWS/hello-connect.json" <<'EOF'
{
  "Version": "2019-10-30",
  "StartAction": "hello",
  "Actions": [
    {"Identifier": "hello", "Type": "MessageParticipant",
     "Parameters": {"Text": "Hello from an Amazon Connect flow."},
     "Transitions": {"NextAction": "bye"}},
    {"Identifier": "bye", "Type": "DisconnectParticipant",
     "Parameters": {}, "Transitions": {}}
  ]
}
EOF
cat >"$FLOWS/hello-genesys.js" <<'EOF'
// A Genesys flow script
const flow = {
  name: "hello-genesys",
  startState: "greeting",
  states: {
    greeting: {type: "message", properties: {message: "Hello from Genesys."},
               transitions: {next: "done"}},
    done: {type: "disconnect"},
  },
};
EOF
VG_EXTRA_YAML="flows:
  dir: $FLOWS
  default: bank-hotline
  routes:
    - number: \"3000\"
      flow: hello-connect
    - number: \"3001\"
      flow: hello-genesys"
vg_pick_ports
vg_config

rc=0
timeout 20 "$VOXGATE" check-config -c "$VG_CFG" >"$VG_TMP/cc.out" 2>"$VG_TMP/cc.err" || rc=$?
vg_assert_eq "check-config loads the imported flows" 0 "$rc"

vg_start
call() { # tag number -> prints "flow|flow_path|end_reason" of the new CDR
	local tag=$1 number=$2 before rc=0 sf
	before=$(vg_sql "SELECT count(*) FROM calls WHERE ended_ms > 0")
	sf=$(vg_scenario uac_call.xml HOLD_MS=8000 DTMF_BLOCK=)
	VG_SIPP_SERVICE=$number vg_sipp "$tag" "$sf" -m 1 -timeout 30s -timeout_error || rc=$?
	[ $rc -eq 0 ] || { vg_sipp_explain "$tag"; vg_fail "$tag: call to $number failed (sipp $rc)"; }
	vg_wait_sql "SELECT count(*) FROM calls WHERE ended_ms > 0" $((before + 1)) 10 || vg_fail "$tag: no CDR"
	vg_sql "SELECT flow, flow_path, end_reason FROM calls ORDER BY started_ms DESC LIMIT 1"
}
IFS='|' read -r flow path reason <<<"$(call connect1 3000)"
vg_assert_eq "number 3000 runs the imported Connect flow" hello-connect "$flow"
vg_assert_eq "Connect flow path" '["hello","bye"]' "$path"
vg_assert_eq "Connect flow hangs up itself" completed "$reason"
IFS='|' read -r flow path reason <<<"$(call genesys1 3001)"
vg_assert_eq "number 3001 runs the imported Genesys flow" hello-genesys "$flow"
vg_assert_eq "Genesys flow path" '["greeting","done"]' "$path"
vg_stop

# ---- strict: an unsupported action fails the load, pointing into the JSON
cat >"$FLOWS/bad.json" <<'EOF'
{"StartAction": "a", "Actions": [
  {"Identifier": "a", "Type": "InvokeFlowModule", "Parameters": {}, "Transitions": {}}]}
EOF
rc=0
timeout 20 "$VOXGATE" check-config -c "$VG_CFG" >"$VG_TMP/cc2.out" 2>"$VG_TMP/cc2.err" || rc=$?
vg_assert "check-config refuses the unsupported Connect action" test "$rc" -ne 0
vg_assert_match "the message points into bad.json" "bad\\.json:2:31: unsupported Connect action type 'InvokeFlowModule'" "$(cat "$VG_TMP/cc2.err")"
vg_done
