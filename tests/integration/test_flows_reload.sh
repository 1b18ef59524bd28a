#!/usr/bin/env bash
# Flow routing and SIGHUP reload, with sipp callers.
#  - flows.dir holds a test flow "short" (say, then hang up); flows.routes
#    sends number 2000 to it; other numbers get flows.default
#    (bank-hotline).
#  - SIGHUP after the flow file changed: the next call runs the new version.
#  - SIGHUP with a broken flow file: the reload is refused (logged), the
#    old flows stay in service, the daemon keeps running.
# Checks: CDR flow name and flow_path per call, voxgate's BYE ending the
# short flow, reload log events, a clean exit.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need sipp jq
FLOWS=$VG_TMP/flows
mkdir -p "$FLOWS"
cat >"$FLOWS/short.yaml" <<'EOF'
name: short
start: hello
nodes:
  hello:
    type: say
    text: Hello from the test flow.
    next: bye
  bye:
    type: hangup
    reason: completed
EOF
VG_EXTRA_YAML="flows:
  dir: $FLOWS
  default: bank-hotline
  routes:
    - number: \"2000\"
      flow: short"
vg_pick_ports
vg_config
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

IFS='|' read -r flow path reason <<<"$(call short1 2000)"
vg_assert_eq "number 2000 is routed to the flow from flows.dir" short "$flow"
vg_assert_eq "short flow path" '["hello","bye"]' "$path"
vg_assert_eq "short flow ends the call itself" completed "$reason"
vg_assert "voxgate sent the BYE" grep -q server_bye "$VG_TMP/sipp-short1.log"

IFS='|' read -r flow path reason <<<"$(call default1 1000)"
vg_assert_eq "number 1000 falls back to flows.default" bank-hotline "$flow"
vg_assert "bank-hotline path starts with greeting" jq -e '.[0] == "greeting"' <<<"$path"

# ---- edit the flow, SIGHUP
cat >"$FLOWS/short.yaml" <<'EOF'
name: short
start: hello
nodes:
  hello:
    type: say
    text: Hello again.
    next: extra
  extra:
    type: say
    text: This node was added by a reload.
    next: bye
  bye:
    type: hangup
    reason: completed
EOF
kill -HUP "$VG_DAEMON_PID"
vg_wait_log 'event=flows_reloaded' 10 || vg_fail "no event=flows_reloaded after SIGHUP"
vg_ok "SIGHUP: flows reloaded"
vg_wait_log 'event=tts_presynth flow=short prompts=[1-9]' 10 || vg_fail "the reloaded flow's prompts were not pre-synthesized"
vg_ok "SIGHUP: the reloaded flow's prompts were pre-synthesized on the worker pool"
IFS='|' read -r flow path reason <<<"$(call short2 2000)"
vg_assert_eq "after reload: the new version runs" '["hello","extra","bye"]' "$path"
prompts=$(vg_sql "SELECT prompts FROM calls ORDER BY started_ms DESC LIMIT 1")
vg_assert "after reload: the new prompt text was played" \
	jq -e 'map(select(.text == "This node was added by a reload." and .played_ms > 0)) | length == 1' <<<"$prompts"

# ---- break the flow, SIGHUP: refused, old flows kept
printf 'name: short\nstart: hello\nnodes:\n  hello:\n    type: say\n    next: nowhere\n' >"$FLOWS/short.yaml"
kill -HUP "$VG_DAEMON_PID"
vg_wait_log 'event=flows_reload_failed' 10 || vg_fail "no event=flows_reload_failed after SIGHUP with a broken flow"
vg_ok "SIGHUP with a broken flow: reload refused"
vg_assert_log "the broken file is named with line:col" 'event=flow_error msg="[^"]*short\.yaml:[0-9]+:[0-9]+: '
vg_assert "daemon still running" vg_alive
IFS='|' read -r flow path reason <<<"$(call short3 2000)"
vg_assert_eq "after a failed reload the previous flows stay" '["hello","extra","bye"]' "$path"

vg_stop
vg_done
