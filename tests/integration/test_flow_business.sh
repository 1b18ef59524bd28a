#!/usr/bin/env bash
# A business flow on a real SIP call: a sipp caller whose number belongs to
# a demo CRM customer (store.crm_demo) dials a test flow and talks all along
# (espeak-ng speech as RTP). The flow starts recording, looks the caller up
# (lookup customer_by_phone), posts to a local HTTP service that answers
# after 1.5 s (tests/integration/http_stub.py; JSON reply mapped into
# variables), switches on the answer, greets the customer by name
# (recorded), pauses the recording around a "card number" prompt (PCI),
# resumes, stops, and transfers to the agent with context.
# Checks: the CDR flow path via the REST API; the request the HTTP service
# saw (method, path, JSON body with the customer's id); the recording
# (<recordings.dir>/<call id>.wav: a valid 8 kHz 16-bit WAV whose length
# matches what the daemon logged; the caller's voice while voxgate waited
# for the HTTP service, so both directions are mixed; exact silence in the
# paused span although the caller was talking); the REFER's Refer-To with the X-Voxgate- headers; the
# webhooks (started, transferred, ended); a clean SIGTERM exit.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need sipp jq python3
vg_speech_init
vg_pick_ports

# ---- the caller's voice (about 15 s, longer than the flow up to the REFER)
vg_speech_pcap "I am calling about my card and I would like to speak to someone about the charges on my account please, it is quite urgent and I have been waiting for a while now." \
	"$VG_TMP/talk.pcap" -l 100

# ---- the HTTP service (flow http node + webhooks)
STUB_LOG=$VG_TMP/http-stub.jsonl
python3 "$VG_INTEG_DIR/http_stub.py" --port-file "$VG_TMP/stub.port" \
	--log "$STUB_LOG" --lifetime 240 --delay-ms 1500 >"$VG_TMP/http-stub.out" 2>&1 &
vg_track $!
for _ in $(seq 1 50); do [ -s "$VG_TMP/stub.port" ] && break; sleep 0.1; done
[ -s "$VG_TMP/stub.port" ] || vg_fail "http_stub.py did not start"
STUB_PORT=$(<"$VG_TMP/stub.port")
vg_say "HTTP stub on 127.0.0.1:$STUB_PORT"

# ---- the flow
FLOWS=$VG_TMP/flows
RECS=$VG_TMP/recordings
mkdir -p "$FLOWS"
cat >"$FLOWS/biz.yaml" <<EOF
name: biz
description: integration test of lookup, http, switch, record, transfer
start: rec_start
nodes:
  rec_start: {type: record, action: start, next: find}
  find:
    type: lookup
    query: customer_by_phone
    next: crm
    not_found: unknown
  crm:
    type: http
    method: POST
    url: "http://127.0.0.1:$STUB_PORT/crm?id={{customer.id}}"
    json:
      customer: "{{customer.id}}"
      tier: "{{customer.tier}}"
      caller: "{{call.from}}"
    map: {risk: risk, queue: queue}
    next: route
    on_error: http_failed
  route:
    type: switch
    value: "{{risk}}"
    cases:
      - {equals: low, next: greet}
    default: unknown
  greet:
    type: say
    text: "Hello {{customer.first_name}}, thank you for calling."
    next: pause
  pause: {type: record, action: pause, next: card}
  card: {type: say, text: "Please key in your card number now.", next: resume}
  resume: {type: record, action: resume, next: rec_stop}
  rec_stop: {type: record, action: stop, next: agent}
  agent:
    type: transfer
    target: agent
    context:
      customer_id: "{{customer.id}}"
      Queue: "{{queue}}"
      reason: "vip support & more"
    on_fail: bye
  unknown: {type: say, text: Sorry we do not know you., next: bye}
  http_failed: {type: say, text: Sorry something went wrong., next: bye}
  bye: {type: hangup}
EOF

VG_EXTRA_YAML="flows:
  dir: $FLOWS
  default: biz
recordings:
  dir: $RECS
webhooks:
  urls: [\"http://127.0.0.1:$STUB_PORT/hook\"]
  secret: \"integration-test-secret-0123456789\""
vg_config
sed -i 's/^store:$/store:\n  crm_demo: true/' "$VG_CFG"
grep -q '^  crm_demo: true' "$VG_CFG" || vg_fail "could not enable store.crm_demo"
vg_start

# ---- a demo customer's number (whatever the demo bank holds)
IFS='|' read -r CUST_ID CUST_PHONE CUST_NAME <<<"$(vg_sql \
	"SELECT id, phone, first_name FROM customers WHERE phone IS NOT NULL ORDER BY id LIMIT 1")"
[ -n "$CUST_PHONE" ] || vg_fail "no demo customer with a phone (store.crm_demo)"
vg_say "caller: $CUST_NAME ($CUST_ID) at $CUST_PHONE"

# ---- the call
sf=$(vg_scenario uac_business.xml "FROM=$CUST_PHONE" HOLD_MS=20000 "TALK_PCAP=$VG_TMP/talk.pcap")
rc=0
vg_sipp biz "$sf" -m 1 -timeout 90s -timeout_error || rc=$?
[ $rc -eq 0 ] || { vg_sipp_explain biz; vg_fail "business call failed (sipp $rc)"; }
vg_ok "call: INVITE, REFER (202, NOTIFY 200), BYE"

vg_wait_sql "SELECT count(*) FROM calls WHERE ended_ms > 0" 1 15 || vg_fail "no ended CDR"
id=$(vg_sql "SELECT id FROM calls ORDER BY started_ms DESC LIMIT 1")

# ---- CDR via the REST API
call=$(vg_http "/v1/calls/$id") || vg_fail "GET /v1/calls/$id failed"
vg_assert_eq "CDR end_reason" transferred "$(jq -r .end_reason <<<"$call")"
path=$(jq -c .flow_path <<<"$call")
vg_say "flow_path: $path"
vg_assert_eq "CDR flow path" \
	'["rec_start","find","crm","route","greet","pause","card","resume","rec_stop","agent"]' \
	"$path"

# ---- what the HTTP service saw
req=$(grep '"path": "/crm' "$STUB_LOG" | head -n 1)
[ -n "$req" ] || vg_fail "the HTTP service saw no /crm request ($(wc -l <"$STUB_LOG") requests)"
vg_assert_eq "http node: method" POST "$(jq -r .method <<<"$req")"
vg_assert_eq "http node: url with the customer id" "/crm?id=$CUST_ID" "$(jq -r .path <<<"$req")"
vg_assert_match "http node: JSON content type" '^application/json' "$(jq -r '.headers["content-type"]' <<<"$req")"
body=$(jq -r .body <<<"$req")
vg_assert_eq "http node: body.customer" "$CUST_ID" "$(jq -r .customer <<<"$body")"
vg_assert_match "http node: body.caller is the caller" "$(sed 's/+/\\+/' <<<"$CUST_PHONE")" "$(jq -r .caller <<<"$body")"

# ---- the REFER
target=$(sed -nE 's/.*refer_to ([^ ]+) .*/\1/p' "$VG_TMP/sipp-biz.log" | head -n 1)
vg_say "Refer-To: $target"
vg_assert_match "Refer-To is the agent URI" "^sip:agents@127\.0\.0\.1:$VG_AGENT_PORT\?" "$target"
vg_assert_match "Refer-To carries X-Voxgate-customer_id" "[?&]X-Voxgate-customer_id=$CUST_ID(&|$)" "$target"
vg_assert_match "Refer-To carries X-Voxgate-Queue from the http reply" '[?&]X-Voxgate-Queue=vip(&|$)' "$target"
vg_assert_match "Refer-To escapes values (RFC 3261 hvalue)" '[?&]X-Voxgate-reason=vip%20support%20%26%20more(&|$)' "$target"

# ---- the recording
wav=$RECS/$id.wav
[ -f "$wav" ] || vg_fail "no recording at $wav"
vg_wait_log "event=recording_done call=$id" 10 || vg_bad "no recording_done log line"
logged_ms=$(sed -nE "s/.*event=recording_stop call=$id .*ms=([0-9]+).*/\1/p" "$VG_LOG" | head -n 1)
pause_ms=$(sed -nE "s/.*event=recording_pause call=$id .*at_ms=([0-9]+).*/\1/p" "$VG_LOG" | head -n 1)
resume_ms=$(sed -nE "s/.*event=recording_resume call=$id .*at_ms=([0-9]+).*/\1/p" "$VG_LOG" | head -n 1)
vg_say "recording: stop at ${logged_ms:-?} ms, paused ${pause_ms:-?}..${resume_ms:-?} ms"
stats=$(python3 - "$wav" "${pause_ms:-0}" "${resume_ms:-0}" <<'PY'
import struct, sys, wave
w = wave.open(sys.argv[1], "rb")
ch, width, rate, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
pcm = struct.unpack("<%dh" % n, w.readframes(n))
p0, p1 = int(sys.argv[2]) * 8, int(sys.argv[3]) * 8
before = max((abs(x) for x in pcm[:p0]), default=0)
paused = max((abs(x) for x in pcm[p0:p1]), default=-1)
# 0.3-1.3 s: voxgate is silent (waiting for the HTTP service), the caller
# talks: that audio can only come from the caller's side of the mix.
caller = max((abs(x) for x in pcm[2400:10400]), default=0)
print(ch, width, rate, n * 1000 // rate, before, paused, p1 - p0, caller)
PY
) || vg_fail "recording is not a readable WAV"
read -r wch wwidth wrate wms wbefore wpaused wspan wcaller <<<"$stats"
vg_assert_eq "recording: mono" 1 "$wch"
vg_assert_eq "recording: 16-bit" 2 "$wwidth"
vg_assert_eq "recording: 8 kHz" 8000 "$wrate"
vg_assert_eq "recording: length as logged at stop (ms)" "$logged_ms" "$wms"
# greet ("Hello <name>, thank you for calling.") is well over a second,
# the whole recording well under the call.
vg_assert_ge "recording: at least the greeting long (ms)" "$wms" 1000
vg_assert_le "recording: shorter than 60 s" "$wms" 60000
vg_assert_ge "recording: the greeting is audible before the pause" "$wbefore" 1000
vg_assert_ge "recording: the paused span covers the card prompt (samples)" "$wspan" 4000
vg_assert_ge "recording: the caller is heard while voxgate waits (peak)" "$wcaller" 1000
vg_assert_eq "recording: the paused span is exact silence (caller talking)" 0 "$wpaused"

# ---- webhooks (best effort, posted by the web loop: allow a moment)
hooks() { grep '"path": "/hook"' "$STUB_LOG" | jq -r .body; }
has_hook() { hooks | jq -s -e --arg e "$1" --arg id "$id" 'any(.[]; .event == $e and .call_id == $id)' >/dev/null 2>&1; }
for _ in $(seq 1 50); do has_hook ended && break; sleep 0.1; done
for ev in started transferred ended; do
	if has_hook "$ev"; then vg_ok "webhook '$ev' for the call"
	else vg_bad "webhook '$ev' for the call: not received ($(hooks | jq -c .event | tr '\n' ' '))"; fi
done
hook=$(grep '"path": "/hook"' "$STUB_LOG" | head -n 1)
vg_assert_match "webhooks are signed" '^v1=[0-9a-f]{64}$' "$(jq -r '.headers["x-voxgate-signature"]' <<<"$hook")"

metrics=$(vg_http /metrics)
vg_assert_match "metrics: no recording audio dropped" 'voxgate_recording_chunks_dropped 0' "$metrics"
vg_assert_match "metrics: no recording failed" 'voxgate_recording_files_failed 0' "$metrics"
vg_stop
vg_done
