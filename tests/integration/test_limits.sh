#!/usr/bin/env bash
# Admission and shutdown.
#  A. limits.max_calls 2: with two calls up a third INVITE gets 503;
#     OPTIONS gets 200 (UDP and TCP). SIGTERM while the two calls are up:
#     /healthz turns 503 "draining", a new INVITE gets 503 with
#     Retry-After = shutdown.retry_after, and the daemon exits 0 as soon
#     as the calls end (before drain_timeout).
#  B. shutdown.drain_timeout 2s: SIGTERM with a call that would last 30 s:
#     voxgate hangs it up (BYE) after ~2 s, CDR end_reason 'shutdown',
#     exit 0.
#  C. SIGINT with no calls: immediate clean exit.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need sipp jq
VG_MAX_CALLS=2
VG_DRAIN_TIMEOUT=20s
VG_RETRY_AFTER=7s
vg_pick_ports
vg_config
vg_start

wait_active() { # n timeout_s
	local deadline=$((SECONDS + $2)) a=""
	while [ $SECONDS -lt "$deadline" ]; do
		a=$(vg_http /healthz 2>/dev/null | jq -r .active_calls 2>/dev/null || true)
		[ "$a" == "$1" ] && return 0
		sleep 0.1
	done
	vg_say "active_calls is '$a', waited for $1"
	return 1
}

# ---- A. two calls up (held 8 s)
sf_hold=$(vg_scenario uac_call.xml HOLD_MS=8000 DTMF_BLOCK=)
vg_sipp_bg two "$sf_hold" -m 2 -l 2 -r 10 -timeout 40s -timeout_error
two_pid=$VG_SIPP_PID
wait_active 2 10 || vg_fail "two calls did not come up"
vg_ok "two calls active (max_calls 2)"

sf_503=$(vg_scenario uac_reject.xml CODE=503 NEED_RETRY_AFTER=false "MLINES=$VG_MLINES_PCMU")
rc=0
vg_sipp third "$sf_503" -m 1 -timeout 15s -timeout_error || rc=$?
[ $rc -eq 0 ] || { vg_sipp_explain third; vg_fail "third INVITE: expected 503 (sipp exit $rc)"; }
vg_ok "third concurrent INVITE refused with 503"
vg_assert_log "log: call_rejected reason=max_calls" 'event=call_rejected reason=max_calls'
vg_assert_match "metrics: INVITE rejected for max_calls" \
	'voxgate_sip_invites_rejected_total\{reason="max_calls"\} 1' "$(vg_http /metrics)"
vg_assert_eq "OPTIONS over UDP at the limit" "200 OPTIONS" "$(vg_options udp)"
vg_assert_eq "OPTIONS over TCP at the limit" "200 OPTIONS" "$(vg_options tcp)"
vg_assert_eq "the refused INVITE left no CDR row" 2 "$(vg_sql 'SELECT count(*) FROM calls')"

# SIGTERM while both calls are up.
term_at=$SECONDS
kill -TERM "$VG_DAEMON_PID"
vg_wait_log 'event=draining' 5 || vg_fail "no event=draining after SIGTERM"
vg_ok "SIGTERM: draining"
vg_assert_eq "GET /healthz while draining is 503" 503 "$(vg_http_code /healthz)"
health=$(curl -s -m 5 "http://127.0.0.1:$VG_HTTP_PORT/healthz" || true)
vg_assert "healthz body says draining" jq -e '.status == "draining"' <<<"$health"

sf_drain=$(vg_scenario uac_reject.xml CODE=503 NEED_RETRY_AFTER=true "MLINES=$VG_MLINES_PCMU")
rc=0
vg_sipp drain "$sf_drain" -m 1 -timeout 15s -timeout_error || rc=$?
[ $rc -eq 0 ] || { vg_sipp_explain drain; vg_fail "INVITE while draining: expected 503 with Retry-After (sipp exit $rc)"; }
ra=$(sed -nE 's/.*retry_after=([0-9]+).*/\1/p' "$VG_TMP/sipp-drain.log" | head -n 1)
vg_assert_eq "INVITE while draining: 503 with Retry-After (s)" 7 "$ra"
vg_assert_eq "OPTIONS while draining" "200 OPTIONS" "$(vg_options udp)"
vg_assert "daemon still up while calls last" vg_alive

vg_wait_exit 25 || vg_fail "daemon did not exit after the calls ended"
took=$((SECONDS - term_at))
vg_check_sanitizers
vg_assert_eq "exit status after draining" 0 "$VG_DAEMON_RC"
vg_assert_le "exited when the calls ended, before drain_timeout 20 s (s)" "$took" 15
vg_assert_log "log: drained" 'event=drained'
vg_sipp_wait "$two_pid" 20
[ "$VG_SIPP_RC" == 0 ] || { vg_sipp_explain two; vg_fail "the two held calls failed (sipp $VG_SIPP_RC)"; }
vg_ok "the two held calls completed normally"
vg_assert_eq "CDR: both calls ended by caller_hangup" 2 \
	"$(vg_sql "SELECT count(*) FROM calls WHERE end_reason = 'caller_hangup'")"

# ---- B. drain_timeout hangs up a long call
VG_DRAIN_TIMEOUT=2s
VG_MAX_CALLS=10
vg_config
vg_start
sf_long=$(vg_scenario uac_call.xml HOLD_MS=30000 DTMF_BLOCK=)
vg_sipp_bg long "$sf_long" -m 1 -timeout 45s -timeout_error
long_pid=$VG_SIPP_PID
wait_active 1 10 || vg_fail "long call did not come up"
term_at=$SECONDS
kill -TERM "$VG_DAEMON_PID"
vg_wait_exit 15 || vg_fail "daemon did not exit within 15 s (drain_timeout 2s)"
took=$((SECONDS - term_at))
vg_check_sanitizers
vg_assert_eq "drain timeout: exit status" 0 "$VG_DAEMON_RC"
vg_assert_ge "drain timeout: waited about drain_timeout (s)" "$took" 2
vg_assert_le "drain timeout: exited soon after drain_timeout (s)" "$took" 8
vg_assert_log "log: drain_timeout hanging up the call" 'event=drain_timeout hanging_up=1'
vg_sipp_wait "$long_pid" 10
[ "$VG_SIPP_RC" == 0 ] || { vg_sipp_explain long; vg_fail "long call: sipp $VG_SIPP_RC (expected voxgate's BYE)"; }
vg_assert "long call: voxgate sent BYE" grep -q server_bye "$VG_TMP/sipp-long.log"
vg_assert_eq "long call: CDR end_reason" shutdown \
	"$(vg_sql "SELECT end_reason FROM calls ORDER BY started_ms DESC LIMIT 1")"

# ---- C. SIGINT with nothing to drain
vg_start
kill -INT "$VG_DAEMON_PID"
vg_wait_exit 10 || vg_fail "daemon did not exit within 10 s of SIGINT"
vg_check_sanitizers
vg_assert_eq "SIGINT, idle: exit status" 0 "$VG_DAEMON_RC"
vg_assert_eq "no CDR left open" 0 "$(vg_sql 'SELECT count(*) FROM calls WHERE ended_ms = 0')"

vg_done
