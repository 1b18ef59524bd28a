#!/usr/bin/env bash
# Agent transfer: a sipp caller presses 0 in the bank-hotline menu; voxgate
# says "please hold" and sends REFER (RFC 3515) with Refer-To: sip.agent_uri.
#  1. The caller accepts (202) and NOTIFYs "SIP/2.0 200 OK": voxgate ends
#     its leg with BYE; CDR end_reason 'transferred'.
#  2. The caller NOTIFYs "SIP/2.0 503 Service Unavailable": the flow takes
#     its on_fail branch ("no agents"), says goodbye and hangs up; CDR
#     end_reason 'completed', flow_path with no_agents.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need sipp jq
vg_pick_ports
vg_config
vg_start
PCAP0=$VG_PCAP_DIR/dtmf_2833_0.pcap
[ -f "$PCAP0" ] || vg_fail "missing $PCAP0"

transfer_call() { # tag sipfrag
	local tag=$1 frag=$2 sf rc=0 before
	before=$(vg_sql "SELECT count(*) FROM calls WHERE ended_ms > 0")
	sf=$(vg_scenario uac_transfer.xml GREET_MS=2500 "DTMF_PCAP=$PCAP0" "SIPFRAG=$frag" HOLD_MS=25000)
	vg_sipp "$tag" "$sf" -m 1 -timeout 60s -timeout_error || rc=$?
	[ $rc -eq 0 ] || { vg_sipp_explain "$tag"; vg_fail "$tag: transfer scenario failed (sipp $rc)"; }
	vg_ok "$tag: REFER received, 202 sent, NOTIFY ($frag) answered 200"
	vg_wait_sql "SELECT count(*) FROM calls WHERE ended_ms > 0" $((before + 1)) 10 || vg_fail "$tag: no CDR"
}

# ---- 1. the agent answers
transfer_call ok "200 OK"
target=$(sed -nE 's/.*refer_to ([^ ]+) .*/\1/p' "$VG_TMP/sipp-ok.log" | head -n 1)
vg_assert_eq "Refer-To is sip.agent_uri" "sip:agents@127.0.0.1:$VG_AGENT_PORT" "$target"
vg_assert "voxgate hung up after the transfer" grep -q server_bye "$VG_TMP/sipp-ok.log"
IFS='|' read -r id dtmf path reason <<<"$(vg_sql "SELECT id, dtmf, flow_path, end_reason FROM calls ORDER BY started_ms DESC LIMIT 1")"
vg_assert_eq "CDR dtmf" 0 "$dtmf"
vg_assert_eq "CDR end_reason" transferred "$reason"
vg_assert "CDR flow_path has agent_hold and agent" jq -e 'index("agent_hold") != null and index("agent") != null' <<<"$path"
vg_assert_log "log: transfer with the target" "event=transfer call=$id target=\"sip:agents@127.0.0.1:$VG_AGENT_PORT\""
vg_assert_log "log: transfer_result status=200" "event=transfer_result call=$id status=200"

# ---- 2. no agent
transfer_call busy "503 Service Unavailable"
IFS='|' read -r id path reason <<<"$(vg_sql "SELECT id, flow_path, end_reason FROM calls ORDER BY started_ms DESC LIMIT 1")"
vg_assert "failed transfer: flow went on to no_agents and goodbye" \
	jq -e 'index("no_agents") != null and index("goodbye") != null' <<<"$path"
vg_assert_eq "failed transfer: CDR end_reason" completed "$reason"
vg_assert "failed transfer: voxgate hung up after goodbye" grep -q server_bye "$VG_TMP/sipp-busy.log"
vg_assert_log "log: transfer_result status=503" "event=transfer_result call=$id status=503"

vg_assert_match "metrics: transferred" 'voxgate_calls_total\{reason="transferred"\} 1' "$(vg_http /metrics)"
vg_stop
vg_done
