#!/usr/bin/env bash
# Crash safety of the CDR store: 20 calls complete, then 20 long calls are
# in progress when the daemon is killed with SIGKILL; it is restarted on the
# same database.
# Checks: the crashed database passes PRAGMA integrity_check; after the
# restart the 20 completed CDRs are byte-for-byte what they were (end
# reason not 'interrupted'), the 20 in-flight ones are closed as
# 'interrupted' (ended_ms set), the log reports interrupted=20, the REST
# API filters them, integrity_check is still ok, and a new call works.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need sipp jq
vg_pick_ports
vg_config
vg_start

# ---- 20 completed calls
sf_short=$(vg_scenario uac_call.xml HOLD_MS=1500 DTMF_BLOCK=)
rc=0
vg_sipp done20 "$sf_short" -m 20 -l 20 -r 20 -timeout 60s -timeout_error || rc=$?
[ $rc -eq 0 ] || { vg_sipp_explain done20; vg_fail "20 short calls: sipp exit $rc"; }
vg_wait_sql "SELECT count(*) FROM calls WHERE ended_ms > 0" 20 15 || vg_fail "20 completed CDRs not written"
vg_ok "20 calls completed and recorded"
completed_ids=$(vg_sql "SELECT quote(id) FROM calls WHERE ended_ms > 0" | paste -sd, -)
completed_q="SELECT id, sip_call_id, from_uri, to_uri, flow, codec, started_ms, answered_ms, ended_ms, end_reason, dtmf, flow_path, prompts, rtp_tx, rtp_rx FROM calls WHERE id IN ($completed_ids) ORDER BY id"
vg_sql "$completed_q" >"$VG_TMP/completed.before"

# ---- 20 calls in progress
sf_long=$(vg_scenario uac_call.xml HOLD_MS=60000 DTMF_BLOCK=)
vg_sipp_bg long20 "$sf_long" -m 20 -l 20 -r 20 -timeout 90s
long_pid=$VG_SIPP_PID
vg_wait_sql "SELECT count(*) FROM calls WHERE ended_ms = 0" 20 20 ||
	vg_fail "20 long calls not up (open CDR rows)"
deadline=$((SECONDS + 20))
until [ "$(vg_http /healthz 2>/dev/null | jq -r .active_calls 2>/dev/null)" == 20 ]; do
	[ $SECONDS -lt $deadline ] || vg_fail "20 long calls not active"
	sleep 0.2
done
vg_ok "20 calls in progress (CDR rows open)"
sleep 1
# The row of an answered call records answered_ms while the call is up, so
# a crash does not lose it.
vg_assert_eq "open CDR rows of answered calls have answered_ms (mid-call)" 20 \
	"$(vg_sql 'SELECT count(*) FROM calls WHERE ended_ms = 0 AND answered_ms > 0')"

vg_kill9
vg_say "daemon killed with SIGKILL (status $VG_DAEMON_RC)"
kill "$long_pid" 2>/dev/null || true

# ---- the database as the crash left it
vg_assert_eq "integrity_check right after the crash" ok "$(vg_sql 'PRAGMA integrity_check')"
vg_assert_eq "open rows after the crash" 20 "$(vg_sql 'SELECT count(*) FROM calls WHERE ended_ms = 0')"

# ---- restart on the same database
vg_start
vg_assert_log "log: store_open counted the interrupted calls" 'event=store_open .*interrupted=20'
vg_sql "$completed_q" >"$VG_TMP/completed.after"
if cmp -s "$VG_TMP/completed.before" "$VG_TMP/completed.after"; then
	vg_ok "the 20 completed CDRs are unchanged"
else
	diff "$VG_TMP/completed.before" "$VG_TMP/completed.after" | head -20 >&2
	vg_fail "completed CDRs changed across the crash"
fi
vg_assert_eq "completed CDRs not marked interrupted" 0 \
	"$(vg_sql "SELECT count(*) FROM calls WHERE id IN ($completed_ids) AND end_reason = 'interrupted'")"
vg_assert_eq "in-flight CDRs marked interrupted" 20 \
	"$(vg_sql "SELECT count(*) FROM calls WHERE id NOT IN ($completed_ids) AND end_reason = 'interrupted'")"
vg_assert_eq "interrupted CDRs have ended_ms set" 0 \
	"$(vg_sql "SELECT count(*) FROM calls WHERE end_reason = 'interrupted' AND ended_ms = 0")"
vg_assert_eq "interrupted CDRs keep answered_ms" 20 \
	"$(vg_sql "SELECT count(*) FROM calls WHERE end_reason = 'interrupted' AND answered_ms > 0")"
vg_assert_eq "no open rows after restart" 0 "$(vg_sql 'SELECT count(*) FROM calls WHERE ended_ms = 0')"
vg_assert_eq "total rows" 40 "$(vg_sql 'SELECT count(*) FROM calls')"
vg_assert_eq "integrity_check after restart" ok "$(vg_sql 'PRAGMA integrity_check')"

body=$(vg_http "/v1/calls?end_reason=interrupted&limit=100") || vg_fail "GET /v1/calls?end_reason=interrupted failed"
vg_assert "GET /v1/calls?end_reason=interrupted lists the 20" \
	jq -e '.calls | length == 20 and all(.end_reason == "interrupted")' <<<"$body"

# ---- the restarted daemon takes calls
before=$(vg_sql 'SELECT count(*) FROM calls')
rc=0
vg_sipp after "$sf_short" -m 1 -timeout 30s -timeout_error || rc=$?
[ $rc -eq 0 ] || { vg_sipp_explain after; vg_fail "call after restart failed (sipp $rc)"; }
vg_wait_sql "SELECT count(*) FROM calls WHERE ended_ms > 0" $((before + 1)) 10 || vg_fail "CDR of the call after restart"
vg_ok "a call after the restart is answered and recorded"

vg_stop
vg_assert_eq "integrity_check after a clean stop" ok "$(vg_sql 'PRAGMA integrity_check')"
vg_done
