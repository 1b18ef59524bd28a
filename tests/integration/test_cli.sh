#!/usr/bin/env bash
# The command line: --version, --help, usage errors, check-config on valid
# configs (examples/voxgate.yaml and a generated one) and on invalid ones
# (bad value, unknown key, YAML syntax error, unknown flow, missing file):
# each invalid one must give a non-zero exit and a file:line:col message
# pointing at the offending spot; `serve` refuses an invalid config
# without starting; `flow check` on the shipped flow and on a broken one.
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

vg_done
