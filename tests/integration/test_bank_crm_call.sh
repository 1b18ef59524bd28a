#!/usr/bin/env bash
# The built-in bank-crm demo flow on a real SIP call: Alice (+14155550101,
# a demo CRM customer, store.crm_demo) dials 2000 (routed to bank-crm) and
# says "I lost my card" during the menu prompt. The flow records the call,
# looks her up by her number, greets her by name, classifies her request,
# opens a CRM ticket and reads its number back, then says goodbye and hangs
# up. Checks: the CDR flow path, the classified turn (intent lost_card), the
# ticket in the CRM tables (customer C1001, open), the recording file, and
# the greeting and ticket prompts in the prompts record.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need sipp jq
vg_speech_init
vg_pick_ports

SAY="I lost my card"
RECS=$VG_TMP/recordings
VG_EXTRA_YAML="recordings:
  dir: $RECS
flows:
  routes:
    - number: \"2000\"
      flow: bank-crm"
vg_config
sed -i 's/^store:$/store:\n  crm_demo: true/' "$VG_CFG"
grep -q '^  crm_demo: true' "$VG_CFG" || vg_fail "could not enable store.crm_demo"
vg_start 120

TICKETS0=$(vg_sql "SELECT count(*) FROM tickets WHERE customer_id = 'C1001'")

# The caller speaks ~3 s in: during the menu prompt, after the greeting.
vg_speech_pcap "$SAY" "$VG_TMP/say.pcap" -l 3000 -t 4000
sf=$(vg_scenario uac_speech.xml HOLD_MS=30000 SPEAK_AT_MS=0 \
	SPEECH_PCAP="$VG_TMP/say.pcap" AFTER_BLOCK=)
sed -i 's|sip:sipp@\[local_ip\]|sip:+14155550101@[local_ip]|g' "$sf"
grep -q 'sip:+14155550101@' "$sf" || vg_fail "could not set the caller's number"
rc=0
vg_sipp alice "$sf" -s 2000 -m 1 -timeout 60s -timeout_error || rc=$?
[ $rc -eq 0 ] || { vg_sipp_explain alice; vg_fail "the call failed (sipp $rc)"; }
vg_ok "sipp call to 2000 completed"

vg_wait_sql "SELECT count(*) FROM calls WHERE ended_ms > 0" 1 15 >/dev/null || true
ID=$(vg_sql "SELECT id FROM calls WHERE ended_ms > 0 ORDER BY started_ms DESC LIMIT 1")
[ -n "$ID" ] || vg_fail "no CDR for the call"
CDR=$(curl -sS -f -m 5 "http://127.0.0.1:$VG_HTTP_PORT/v1/calls/$ID") || vg_fail "GET /v1/calls/$ID failed"
PATH_STR=$(jq -r '.flow_path | join(",")' <<<"$CDR")
vg_say "flow path: $PATH_STR"
vg_say "turns: $(jq -c '[.turns[] | {node, input, transcript, intent, intent_confidence, match, next}]' <<<"$CDR")"

vg_assert "the flow is bank-crm" test "$(jq -r .flow <<<"$CDR")" == bank-crm
vg_assert "the caller was found and greeted by name" \
	grep -q '^record_call,identify,welcome_back,main,' <<<"$PATH_STR"
vg_assert "a lost card opens a ticket and says goodbye" \
	grep -q ',lost_card,open_ticket,card_blocked,goodbye,stop_recording,end$' <<<"$PATH_STR"
vg_assert "the spoken turn is classified as lost_card" \
	jq -e '[.turns[] | select(.node == "main" and .input == "speech" and .intent == "lost_card")] | length == 1' <<<"$CDR"
vg_assert "the flow ended the call (completed)" test "$(jq -r .end_reason <<<"$CDR")" == completed

TICKETS1=$(vg_sql "SELECT count(*) FROM tickets WHERE customer_id = 'C1001'")
vg_assert "one new ticket for C1001" test "$TICKETS1" -eq $((TICKETS0 + 1))
TICKET=$(vg_sql "SELECT id || '|' || status || '|' || subject FROM tickets WHERE customer_id = 'C1001' ORDER BY id DESC LIMIT 1")
vg_say "ticket: $TICKET"
vg_assert "the ticket is open and says why" grep -q '|open|Lost or stolen card reported by phone$' <<<"$TICKET"

vg_assert "the greeting names the caller" \
	jq -e '[.prompts[] | select(.name == "welcome_back")] | length == 1' <<<"$CDR"
vg_assert "the ticket prompt played" \
	jq -e '[.prompts[] | select(.name == "card_blocked")] | length == 1' <<<"$CDR"

vg_assert "the call was recorded" test -s "$RECS/$ID.wav"
vg_stop
vg_done
