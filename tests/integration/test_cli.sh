#!/usr/bin/env bash
# The command line: --version, --help, usage errors, check-config on valid
# configs (examples/voxgate.yaml and a generated one) and on invalid ones
# (bad value, unknown key, YAML syntax error, unknown flow, missing file):
# each invalid one must give a non-zero exit and a file:line:col message
# pointing at the offending spot; `serve` refuses an invalid config
# without starting; `flow check` on the shipped flow and on a broken one;
# `flow import` from Connect, Genesys and Archy (seeds, fixtures, --values,
# --intents, --lenient, unsupported types with file:line:col, usage errors).
source "$(dirname "$0")/lib.sh"
vg_init

run() { # expected_rc name args...: runs voxgate, sets OUT and ERR
	local want=$1 name=$2; shift 2
	local rc=0
	timeout 20 "$VOXGATE" "$@" >"$VG_TMP/$name.out" 2>"$VG_TMP/$name.err" </dev/null || rc=$?
	OUT=$(cat "$VG_TMP/$name.out")
	ERR=$(cat "$VG_TMP/$name.err")
	if [ "$want" == nonzero ]; then
		if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -lt 128 ]; then vg_ok "$name: exit $rc (non-zero)"
		else vg_bad "$name: expected a non-zero exit (not a crash or hang), got $rc; stderr: $ERR"; fi
	else
		vg_assert_eq "$name: exit status" "$want" "$rc"
	fi
}

# ---- --version and --help
version=$(sed -nE 's/^project\(voxgate VERSION ([0-9.]+).*/\1/p' "$VG_SOURCE_DIR/CMakeLists.txt")
run 0 version --version
vg_assert_eq "--version prints the project version" "voxgate $version" "$OUT"
run 0 help --help
vg_assert_match "--help shows usage" 'usage: voxgate serve' "$OUT"
vg_assert_match "--help lists check-config" 'check-config' "$OUT"
vg_assert_match "--help lists the signals" 'SIGTERM' "$OUT"
run 0 help-short -h
vg_assert_match "-h shows usage" 'usage:' "$OUT"
run 2 noargs
vg_assert_match "no arguments: usage on stderr" 'usage:' "$ERR"
run 2 unknown-cmd frobnicate
vg_assert_match "unknown command named" "unknown command 'frobnicate'" "$ERR"
run 2 check-no-c check-config
vg_assert_match "check-config without -c explains" '-c FILE is required' "$ERR"
run 2 bad-option serve --no-such-option

# ---- check-config: valid
run 0 example check-config -c "$VG_SOURCE_DIR/examples/voxgate.yaml"
vg_assert_match "examples/voxgate.yaml: ok on stderr" 'voxgate.yaml: ok' "$ERR"
vg_assert_match "examples/voxgate.yaml: effective config printed" 'max_calls' "$OUT"
vg_pick_ports
VG_ANSWER_DELAY=500ms VG_MAX_CALLS=7
vg_config
run 0 generated check-config -c "$VG_CFG"
vg_assert_match "generated config: effective config shows max_calls 7" 'max_calls: 7' "$OUT"
vg_assert_match "generated config: effective config shows the SIP port" "$VG_SIP_PORT" "$OUT"

# ---- check-config: invalid, each with file:line:col
bad() { # name line col expected-message-regex yaml
	local name=$1 line=$2 col=$3 re=$4
	printf '%s' "$5" >"$VG_TMP/$name.yaml"
	run nonzero "$name" check-config -c "$VG_TMP/$name.yaml"
	vg_say "$name: $ERR"
	vg_assert_match "$name: message at $name.yaml:$line:$col" "$name\\.yaml:$line:$col: " "$ERR"
	vg_assert_match "$name: message says what is wrong" "$re" "$ERR"
}
bad bad-value 4 14 'max_calls' \
	$'sip:\n  listen: ["udp:127.0.0.1:5060"]\nlimits:\n  max_calls: lots\n'
bad unknown-key 2 3 "lisen" \
	$'sip:\n  lisen: ["udp:127.0.0.1:5060"]\n'
bad bad-duration 3 17 'answer_delay' \
	$'sip:\n  listen: ["udp:127.0.0.1:5060"]\n  answer_delay: soon\n'
bad bad-listen 2 12 'listen' \
	$'sip:\n  listen: ["carrier-pigeon:127.0.0.1:5060"]\n'
bad unknown-flow 2 12 "nosuchflow" \
	$'flows:\n  default: nosuchflow\n'
# A YAML syntax error: the line/col libyaml reports for an unclosed [.
printf 'sip:\n  listen: ["udp:127.0.0.1:5060"\nhttp: {\n' >"$VG_TMP/syntax.yaml"
run nonzero syntax check-config -c "$VG_TMP/syntax.yaml"
vg_say "syntax: $ERR"
vg_assert_match "YAML syntax error: file:line:col" 'syntax\.yaml:[0-9]+:[0-9]+: ' "$ERR"
run nonzero missing check-config -c "$VG_TMP/does-not-exist.yaml"
vg_assert_match "missing file named in the message" 'does-not-exist\.yaml' "$ERR"

# ---- serve refuses an invalid config before listening
run nonzero serve-bad serve -c "$VG_TMP/bad-value.yaml"
vg_assert_match "serve with a bad config: file:line:col" 'bad-value\.yaml:4:14: ' "$ERR"
vg_assert "serve with a bad config never got ready" bash -c "! grep -q 'event=ready' '$VG_TMP/serve-bad.err'"

# ---- flow check
run 0 flow-ok flow check "$VG_SOURCE_DIR/flows/bank-hotline.yaml"
vg_assert_match "flow check: bank-hotline ok" "ok \\(flow 'bank-hotline'\\)" "$OUT"
cat >"$VG_TMP/broken-flow.yaml" <<'EOF'
name: broken
start: greeting
nodes:
  greeting:
    type: say
    text: Hello.
    next: nowhere
EOF
run nonzero flow-bad flow check "$VG_TMP/broken-flow.yaml"
vg_say "flow-bad: $ERR"
vg_assert_match "flow check: broken flow error at file:line:col" 'broken-flow\.yaml:[0-9]+:[0-9]+: ' "$ERR"
vg_assert_match "flow check: names the missing node" 'nowhere' "$ERR"

# ---- flow check across files: a subflow must name a flow given (or built in)
cat >"$VG_TMP/main-flow.yaml" <<'EOF'
name: main
start: pay
nodes:
  pay:
    type: subflow
    flow: payments
    next: bye
  bye:
    type: hangup
EOF
cat >"$VG_TMP/payments-flow.yaml" <<'EOF'
name: payments
start: done
nodes:
  done:
    type: return
EOF
run nonzero flow-subflow-missing flow check "$VG_TMP/main-flow.yaml"
vg_assert_match "flow check: a missing subflow is reported at its flow: value" \
	"main-flow\\.yaml:6:11: node 'pay': subflow 'payments' names no loaded flow" "$ERR"
run 0 flow-subflow-ok flow check "$VG_TMP/main-flow.yaml" "$VG_TMP/payments-flow.yaml"
vg_assert_match "flow check: both files ok" "ok \\(flow 'payments'\\)" "$OUT"

# ---- flow import (Amazon Connect, Genesys, Archy) round trips
IMP="$VG_SOURCE_DIR/tests/data/import"
run 0 import-connect-seed flow import --from connect "$IMP/seed_connect.json" -o "$VG_TMP/seed_connect.yaml"
vg_assert_match "import connect seed: ok" "seed_connect\\.yaml: ok \\(flow 'seed_connect'" "$ERR"
vg_assert_match "import connect seed: comments name the source" "# Connect state 'ProcessIntent' \\(InvokeLambdaFunction\\)" "$(cat "$VG_TMP/seed_connect.yaml")"
run 0 import-connect-check flow check "$VG_TMP/seed_connect.yaml"
vg_assert_match "imported connect seed passes flow check" "ok \\(flow 'seed_connect'\\)" "$OUT"
run 0 import-genesys-seed flow import --from genesys "$IMP/seed_genesys.js" -o "$VG_TMP/seed_genesys.yaml"
run 0 import-genesys-check flow check "$VG_TMP/seed_genesys.yaml"
vg_assert_match "imported genesys seed passes flow check" "ok \\(flow 'AI-Powered_Customer_Service'\\)" "$OUT"
run 0 import-connect-all flow import --from connect "$IMP/connect_all.json" --values "$IMP/connect_values.yaml" -o "$VG_TMP/connect_all.yaml"
vg_assert_match "import connect with --values: Lambda URL" 'url: "http://127.0.0.1:9000/lookup"' "$(cat "$VG_TMP/connect_all.yaml")"
run 0 import-genesys-intents flow import --from genesys "$IMP/genesys_all.js" --values "$IMP/genesys_values.yaml" --intents "$IMP/intents.yaml" -o "$VG_TMP/genesys_all.yaml"
vg_assert_match "import genesys with --intents: the flow's intents" 'lost_card:' "$(cat "$VG_TMP/genesys_all.yaml")"
run 0 import-archy flow import --from archy "$IMP/archy_all.yaml" --values "$IMP/archy_values.yaml" -o -
vg_assert_match "import archy to stdout" 'text: "Welcome to Example Bank."' "$OUT"
run nonzero import-archy-novalues flow import --from archy "$IMP/archy_all.yaml" -o "$VG_TMP/archy.yaml"
vg_assert_match "archy placeholder without a value: file:line:col" "archy_all\\.yaml:10:22: placeholder '\\{\\{company\\}\\}' has no value" "$ERR"
cat >"$VG_TMP/unsupported.json" <<'EOF'
{"StartAction": "a", "Actions": [
  {"Identifier": "a", "Type": "InvokeFlowModule", "Parameters": {}, "Transitions": {"NextAction": "b"}},
  {"Identifier": "b", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}]}
EOF
run nonzero import-unsupported flow import --from connect "$VG_TMP/unsupported.json" -o "$VG_TMP/unsupported.yaml"
vg_assert_match "unsupported Connect type at file:line:col" "unsupported\\.json:2:31: unsupported Connect action type 'InvokeFlowModule' \\(action 'a'\\)" "$ERR"
run 0 import-lenient flow import --from connect --lenient "$VG_TMP/unsupported.json" -o "$VG_TMP/lenient.yaml"
vg_assert_match "lenient: a warning is logged" 'flow_import_unsupported' "$ERR"
vg_assert_match "lenient: a commented no-op" 'not imported: a no-op' "$(cat "$VG_TMP/lenient.yaml")"
run 2 import-bad-from flow import --from five9 "$VG_TMP/unsupported.json" -o "$VG_TMP/x.yaml"
vg_assert_match "import: bad --from explained" '--from must be connect, genesys or archy' "$ERR"
run 2 import-no-out flow import --from connect "$VG_TMP/unsupported.json"
run nonzero import-missing flow import --from connect "$VG_TMP/nope.json" -o "$VG_TMP/x.yaml"
vg_assert_match "import: missing file named" 'nope\.json: cannot read' "$ERR"
run 0 check-foreign flow check "$IMP/seed_connect.json" "$IMP/seed_genesys.js"
vg_assert_match "flow check imports a Connect file" "seed_connect\\.json \\(imported\\): ok \\(flow 'seed_connect'\\)" "$OUT"
vg_assert_match "flow check imports a Genesys script" "seed_genesys\\.js \\(imported\\): ok" "$OUT"
run nonzero check-foreign-bad flow check "$VG_TMP/unsupported.json"
vg_assert_match "flow check: unsupported Connect type at file:line:col" "unsupported\\.json:2:31: unsupported Connect action type" "$ERR"
run 0 help-import --help
vg_assert_match "--help lists flow import" 'flow import' "$OUT"

vg_done
