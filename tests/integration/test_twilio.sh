#!/usr/bin/env bash
# Twilio webhooks + TwiML, end to end: the daemon with twilio.enabled; a
# node client (tests/node/twilio_client.js) signs each request with the
# official `twilio` helper library, posts it and parses the TwiML. Checks:
# /voice answers <Say> + <Gather> with the right attributes; a bad
# signature gets 403 and creates nothing; the daemon is restarted between
# /voice and /gather and the call continues from the store; "I lost my
# card" routes to card_lost and ends with <Hangup/>; the CDR (platform
# twilio, flow path, turn with the intent, end reason); /status ends a call
# in progress; Twilio's retries (a repeated /voice, a repeated /gather of
# the same step) answer the current step again without advancing; a slow
# back-end keeps the caller with <Pause> + <Redirect> to /twilio/continue
# and continues when it answers (or takes the flow's error path); a <Sip>
# transfer carries the flow's context as X-Voxgate- headers; twilio.enabled
# false answers 404.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need jq node
NODE_DIR=$VG_SOURCE_DIR/tests/node
[ -d "$NODE_DIR/node_modules/twilio" ] ||
	vg_fail "npm package twilio missing in tests/node (run scripts/install-deps.sh)"
vg_pick_ports
TOKEN=0123456789abcdef0123456789abcdef
PUBLIC=https://vg.example.test
mkdir -p "$VG_TMP/flows"
cp "$VG_SOURCE_DIR/examples/twilio/seed-flask.yaml" "$VG_TMP/flows/"
# A back-end slower than anything waits for it (backend_timeout 20 s below,
# the flow's 20 s): the redirect bound must end the wait, not a timeout
# racing it (3 waits of 3 s plus the client's own time came within 0.1 s of
# a 10 s backend_timeout on a loaded CI box).
python3 "$VG_INTEG_DIR/http_stub.py" --port-file "$VG_TMP/stub.port" \
	--log "$VG_TMP/stub.jsonl" --lifetime 240 --delay-ms 30000 >"$VG_TMP/stub.out" 2>&1 &
vg_track $!
# One slower than a webhook is held (backend_wait 3 s) but within the 20 s.
python3 "$VG_INTEG_DIR/http_stub.py" --port-file "$VG_TMP/stub2.port" \
	--log "$VG_TMP/stub2.jsonl" --lifetime 240 --delay-ms 5000 >"$VG_TMP/stub2.out" 2>&1 &
vg_track $!
for _ in $(seq 1 50); do [ -s "$VG_TMP/stub.port" ] && [ -s "$VG_TMP/stub2.port" ] && break; sleep 0.1; done
[ -s "$VG_TMP/stub.port" ] && [ -s "$VG_TMP/stub2.port" ] || vg_fail "http_stub.py did not start"
cat >"$VG_TMP/flows/slow.yaml" <<YAML
name: slow-backend
start: hello
nodes:
  hello: {type: say, text: One moment please., next: fetch}
  fetch:
    type: http
    url: "http://127.0.0.1:$(<"$VG_TMP/stub.port")/slow"
    timeout: 20s
    retries: 0
    next: got
    on_error: failed
  got: {type: say, text: Got it., next: done}
  failed: {type: say, text: The service is unavailable., next: done}
  done: {type: hangup, reason: completed}
YAML
sed -e 's/^name: slow-backend/name: wait-backend/' \
	-e "s#:$(<"$VG_TMP/stub.port")/slow#:$(<"$VG_TMP/stub2.port")/slow#" \
	"$VG_TMP/flows/slow.yaml" >"$VG_TMP/flows/wait.yaml"
cat >"$VG_TMP/flows/xfer.yaml" <<YAML
name: xfer-context
start: xfer
nodes:
  xfer:
    type: transfer
    target: sip:desk@pbx.example.test
    context:
      Account: "12 34&x<y"
      Lang: en
    on_fail: done
  done: {type: hangup, reason: completed}
YAML
VG_EXTRA_YAML="flows:
  dir: $VG_TMP/flows
  routes:
    - number: \"+18005550200\"
      flow: bank-crm
    - number: \"+18005550300\"
      flow: seed-flask
    - number: \"+18005550400\"
      flow: slow-backend
    - number: \"+18005550500\"
      flow: wait-backend
    - number: \"+18005550600\"
      flow: xfer-context
webhooks:
  urls: [\"http://127.0.0.1:$(<"$VG_TMP/stub.port")/hook\"]
  secret: \"integration-test-secret-0123456789\"
twilio:
  enabled: true
  auth_token: \"$TOKEN\"
  public_url: \"$PUBLIC\"
  voice: Polly.Joanna
  language: en-US
  backend_wait: 3s
  backend_timeout: 20s
  redirects_max: 2"
vg_config
sed -i 's/^store:$/store:\n  crm_demo: true/' "$VG_CFG"
vg_start 120
vg_assert_log "twilio routes up" "event=twilio_webhooks"

tw() { # path [args...]: the client's JSON on stdout
	local path=$1; shift
	timeout 30 node "$NODE_DIR/twilio_client.js" "http://127.0.0.1:$VG_HTTP_PORT" \
		"$PUBLIC" "$TOKEN" "$path" "$@"
}
SID=CA00000000000000000000000000000001
CALL=(CallSid="$SID" AccountSid=AC0123 From=+15551230001 To=+18005550100
	CallStatus=ringing Direction=inbound)

# ---- a bad signature: 403, and nothing is created
out=$(tw /twilio/voice --bad-sig CallSid=CA0000000000000000000000000000BAD \
	From=+15551230009 To=+18005550100) || vg_fail "client failed"
vg_assert_eq "bad signature on /voice is refused" 403 "$(jq -r .status <<<"$out")"
out=$(tw /twilio/gather --bad-sig CallSid="$SID" SpeechResult=hi) || vg_fail "client failed"
vg_assert_eq "bad signature on /gather is refused" 403 "$(jq -r .status <<<"$out")"
out=$(tw /twilio/voice --get --bad-sig CallSid=CA0000000000000000000000000000BAD) || vg_fail "client failed"
vg_assert_eq "bad signature on GET /voice is refused" 403 "$(jq -r .status <<<"$out")"
sleep 0.3
vg_assert_eq "no CDR for the refused call" 0 \
	"$(vg_sql "SELECT count(*) FROM calls WHERE id LIKE 'CA%BAD'")"
vg_assert_eq "no saved state for the refused call" 0 \
	"$(vg_sql "SELECT count(*) FROM adapter_sessions WHERE platform='twilio'")"

# ---- /voice: greeting + a speech/DTMF gather
out=$(tw /twilio/voice "${CALL[@]}") || vg_fail "client failed"
vg_say "voice: $(jq -c .verbs <<<"$out")"
vg_assert_eq "/voice answers 200" 200 "$(jq -r .status <<<"$out")"
vg_assert_eq "/voice TwiML is well-formed" true "$(jq -r .xml_ok <<<"$out")"
vg_assert_eq "first verb is the greeting <Say>" "Say|Welcome to voxgate bank.|Polly.Joanna|en-US" \
	"$(jq -r '.verbs[0] | "\(.name)|\(.text)|\(.attrs.voice)|\(.attrs.language)"' <<<"$out")"
g='.verbs[] | select(.name=="Gather")'
vg_assert_eq "a <Gather> follows" 1 "$(jq "[$g] | length" <<<"$out")"
vg_assert_eq "gather input" "dtmf speech" "$(jq -r "$g.attrs.input" <<<"$out")"
vg_assert_eq "gather action (with its step)" "$PUBLIC/twilio/gather?step=0" "$(jq -r "$g.attrs.action" <<<"$out")"
vg_assert_eq "gather method" POST "$(jq -r "$g.attrs.method" <<<"$out")"
vg_assert_eq "gather speechTimeout" auto "$(jq -r "$g.attrs.speechTimeout" <<<"$out")"
vg_assert_eq "gather timeout (6s)" 6 "$(jq -r "$g.attrs.timeout" <<<"$out")"
vg_assert_eq "gather actionOnEmptyResult" true "$(jq -r "$g.attrs.actionOnEmptyResult" <<<"$out")"
vg_assert_eq "gather bargeIn" true "$(jq -r "$g.attrs.bargeIn" <<<"$out")"
vg_assert_match "the menu prompt is a <Say> inside the <Gather>" \
	"^Say:In a few words, tell me what you need" \
	"$(jq -r "$g.children[0] | \"\(.name):\(.text)\"" <<<"$out")"
vg_wait_sql "SELECT count(*) FROM adapter_sessions WHERE platform='twilio' AND session_key='$SID'" 1 5 ||
	vg_fail "call state not saved"
vg_assert_eq "CDR begun for the call" "twilio|+15551230001|+18005550100|bank-hotline|0" \
	"$(vg_sql "SELECT platform, from_uri, to_uri, flow, ended_ms FROM calls WHERE id='$SID'")"

# ---- restart between two webhooks of the call
vg_stop
vg_start 120
out=$(tw '/twilio/gather?step=0' CallSid="$SID" From=+15551230001 To=+18005550100 \
	"SpeechResult=I lost my card" Confidence=0.91) || vg_fail "client failed"
vg_say "gather: $(jq -c .verbs <<<"$out")"
vg_assert_eq "/gather after a restart answers 200" 200 "$(jq -r .status <<<"$out")"
vg_assert_eq "/gather TwiML is well-formed" true "$(jq -r .xml_ok <<<"$out")"
vg_assert_log "the call was restored from the store" "event=twilio_call_restored"
vg_assert_match "the lost-card answer is said" "Your card has been blocked" \
	"$(jq -r '[.verbs[] | select(.name=="Say") | .text] | join(" ")' <<<"$out")"
vg_assert_eq "then goodbye and <Hangup/>" \
	"Say:Thank you for calling voxgate bank. Goodbye.|Hangup:" \
	"$(jq -r '[.verbs[-2:][] | .name + ":" + .text] | join("|")' <<<"$out")"
vg_assert_eq "last verb is <Hangup/>" Hangup "$(jq -r '.verbs[-1].name' <<<"$out")"
vg_wait_sql "SELECT end_reason FROM calls WHERE id='$SID' AND ended_ms > 0" completed 5 ||
	vg_fail "CDR not ended"
vg_assert_match "CDR flow path reaches card_lost" '"main_menu".*"card_lost".*"goodbye"' \
	"$(vg_sql "SELECT flow_path FROM calls WHERE id='$SID'")"
vg_assert_eq "the turn: speech, the transcript, lost_card, Twilio's confidence" \
	"speech|I lost my card|lost_card|0.91" \
	"$(vg_sql "SELECT input, transcript, intent, round(stt_confidence, 2) FROM turns WHERE call_id='$SID'")"
vg_assert_eq "saved state deleted at the end" 0 \
	"$(vg_sql "SELECT count(*) FROM adapter_sessions WHERE platform='twilio' AND session_key='$SID'")"
sid_events() { # sid: the events the hook received for it, sorted (they
	# are posted concurrently, so they may arrive in any order)
	jq -r '.body | fromjson | select(.call_id == "'"$1"'") | .event + (if .intent then ":" + .intent else "" end)' \
		"$VG_TMP/stub.jsonl" 2>/dev/null | sort | tr '\n' ' '
}
for _ in $(seq 1 50); do
	[[ "$(sid_events "$SID")" == *ended* ]] && break
	sleep 0.1
done
vg_assert_eq "call events for webhooks.urls (across the restart)" \
	"ended intent:lost_card started " "$(sid_events "$SID")"
out=$(tw /twilio/status CallSid="$SID" CallStatus=completed CallDuration=12) || vg_fail "client failed"
vg_assert_eq "status callback of an ended call: 200" 200 "$(jq -r .status <<<"$out")"

# ---- a caller hanging up mid-call: /status ends it
SID2=CA00000000000000000000000000000002
out=$(tw /twilio/voice CallSid="$SID2" From=+15551230002 To=+18005550100) || vg_fail "client failed"
vg_assert_eq "second call answered" 200 "$(jq -r .status <<<"$out")"
out=$(tw /twilio/gather CallSid="$SID2" Digits=) || vg_fail "client failed"
vg_assert_match "empty gather result: the no-input retry" "Sorry, I did not hear you" \
	"$(jq -r '[.. | objects | select(.name=="Say") | .text] | join(" ")' <<<"$out")"
out=$(tw /twilio/status CallSid="$SID2" CallStatus=completed) || vg_fail "client failed"
vg_assert_eq "status callback answered" 200 "$(jq -r .status <<<"$out")"
vg_wait_sql "SELECT end_reason FROM calls WHERE id='$SID2' AND ended_ms > 0" caller_hangup 5 ||
	vg_fail "status did not end the call"
vg_assert_eq "no saved state left" 0 "$(vg_sql "SELECT count(*) FROM adapter_sessions WHERE platform='twilio'")"
vg_assert_eq "the no-input turn is recorded" "none" \
	"$(vg_sql "SELECT input FROM turns WHERE call_id='$SID2' ORDER BY seq LIMIT 1")"

# ---- DTMF via GET (Twilio's method="GET" webhooks)
SID3=CA00000000000000000000000000000003
out=$(tw /twilio/voice --get CallSid="$SID3" From=+15551230003 To=+18005550100) || vg_fail "client failed"
vg_assert_eq "GET /voice answered" 200 "$(jq -r .status <<<"$out")"
out=$(tw /twilio/gather CallSid="$SID3" Digits=1) || vg_fail "client failed"
vg_assert_match "key 1: the balance" "Your available balance is" \
	"$(jq -r '[.verbs[] | select(.name=="Say") | .text] | join(" ")' <<<"$out")"
vg_wait_sql "SELECT dtmf FROM calls WHERE id='$SID3' AND ended_ms > 0" 1 5 ||
	vg_fail "DTMF not in the CDR"

# ---- bank-crm: the record node is skipped, the CRM lookup holds the
# webhook until the store answers, and greets the caller by name
SID4=CA00000000000000000000000000000004
out=$(tw /twilio/voice CallSid="$SID4" From=+14155550101 To=+18005550200) || vg_fail "client failed"
vg_say "crm voice: $(jq -c '[.verbs[] | .name + ":" + .text]' <<<"$out")"
vg_assert_eq "bank-crm: greeted by name after the lookup" "Welcome back to voxgate bank, Alice." \
	"$(jq -r '.verbs[0].text' <<<"$out")"
vg_assert_log "record skipped on Twilio" "event=twilio_record_skipped"
out=$(tw /twilio/gather CallSid="$SID4" Digits=1) || vg_fail "client failed"
vg_say "crm gather: $(jq -c '[.verbs[] | .name + ":" + .text]' <<<"$out")"
vg_assert_match "bank-crm: the balance read from the CRM" "balance is 1250.40 USD" \
	"$(jq -r '[.verbs[] | select(.name=="Say") | .text] | join(" ")' <<<"$out")"

# ---- the seed's Flask app as a flow: password -> agent (<Dial><Sip>)
SID5=CA00000000000000000000000000000005
out=$(tw /twilio/voice CallSid="$SID5" From=+15551230005 To=+18005550300) || vg_fail "client failed"
vg_assert_eq "seed flow: greeting then a speech-only gather" \
	"Welcome to our AI assistant. How can I help you today?|speech|Please tell me what you need help with." \
	"$(jq -r '"\(.verbs[0].text)|\(.verbs[1].attrs.input)|\(.verbs[1].children[0].text)"' <<<"$out")"
out=$(tw /twilio/gather CallSid="$SID5" "SpeechResult=I forgot my password" Confidence=0.8) || vg_fail "client failed"
vg_say "seed gather: $(jq -c '.verbs' <<<"$out")"
vg_assert_eq "seed flow: password help, then <Dial><Sip> to the agent" \
	"I understand you need password help. Let me connect you with an agent.|Dial|Sip:sip:agents@127.0.0.1:$VG_AGENT_PORT" \
	"$(jq -r '"\(.verbs[0].text)|\(.verbs[1].name)|\(.verbs[1].children[0].name):\(.verbs[1].children[0].text)"' <<<"$out")"
vg_wait_sql "SELECT end_reason FROM calls WHERE id='$SID5' AND ended_ms > 0" transferred 5 ||
	vg_fail "transfer did not end the call"
for _ in $(seq 1 50); do
	[[ "$(sid_events "$SID5")" == *ended* ]] && break
	sleep 0.1
done
vg_assert_eq "seed flow: events with the transfer" \
	"ended intent:password started transferred " "$(sid_events "$SID5")"

# ---- Twilio's retries: a repeated /voice answers the current step again
# (not 409); a repeated /gather of the same step does not advance the flow
SID7=CA00000000000000000000000000000007
out1=$(tw /twilio/voice CallSid="$SID7" From=+15551230007 To=+18005550100) || vg_fail "client failed"
out2=$(tw /twilio/voice CallSid="$SID7" From=+15551230007 To=+18005550100) || vg_fail "client failed"
vg_assert_eq "repeated /voice: 200" 200 "$(jq -r .status <<<"$out2")"
vg_assert_eq "repeated /voice: the same TwiML again" "$(jq -c .verbs <<<"$out1")" "$(jq -c .verbs <<<"$out2")"
out3=$(tw '/twilio/gather?step=0' CallSid="$SID7" Digits=) || vg_fail "client failed"
out4=$(tw '/twilio/gather?step=0' CallSid="$SID7" Digits=) || vg_fail "client failed"
vg_say "gather: $(jq -c '[.. | objects | select(.name) | .name + ":" + (.text // "")]' <<<"$out3")"
vg_assert_match "first /gather: the no-input retry" "Sorry, I did not hear you" \
	"$(jq -r '[.. | objects | select(.name=="Say") | .text] | join(" ")' <<<"$out3")"
vg_assert_eq "the next gather's step" "$PUBLIC/twilio/gather?step=1" \
	"$(jq -r '.verbs[] | select(.name=="Gather") | .attrs.action' <<<"$out3")"
vg_assert_eq "retried /gather: the same answer" "$(jq -c .verbs <<<"$out3")" "$(jq -c .verbs <<<"$out4")"
vg_assert_log "the retry was replayed" "event=twilio_step_replayed"
out=$(tw /twilio/status CallSid="$SID7" CallStatus=completed) || vg_fail "client failed"
vg_wait_sql "SELECT end_reason FROM calls WHERE id='$SID7' AND ended_ms > 0" caller_hangup 5 ||
	vg_fail "status did not end the call"
vg_assert_eq "one turn, not two" 1 "$(vg_sql "SELECT count(*) FROM turns WHERE call_id='$SID7'")"

# ---- a <Sip> transfer carries the flow's context as X- headers
SID8=CA00000000000000000000000000000008
out=$(tw /twilio/voice CallSid="$SID8" From=+15551230008 To=+18005550600) || vg_fail "client failed"
vg_assert_eq "<Dial><Sip> with X-Voxgate- headers, URL-encoded" \
	"Dial|sip:desk@pbx.example.test?X-Voxgate-Account=12%2034%26x%3Cy&X-Voxgate-Lang=en" \
	"$(jq -r '"\(.verbs[0].name)|\(.verbs[0].children[0].text)"' <<<"$out")"

# ---- a back-end slower than a webhook may be held: the caller is kept
# with <Pause> + <Redirect> to /twilio/continue, which gets the answer
wait_verbs() { jq -r '[.verbs[] | .name + ":" + .text] | join("|")' <<<"$1"; }
SID9=CA00000000000000000000000000000009
t0=$(date +%s%N)
out=$(tw /twilio/voice CallSid="$SID9" From=+15551230009 To=+18005550500) || vg_fail "client failed"
ms=$((($(date +%s%N) - t0) / 1000000))
vg_say "wait back-end: answered after $ms ms: $(wait_verbs "$out")"
vg_assert "answered after backend_wait (3 s)" test "$ms" -ge 2900 -a "$ms" -lt 4500
vg_assert_eq "the prompt so far, a pause, a redirect to /twilio/continue" \
	"Say:One moment please.|Pause:|Redirect:$PUBLIC/twilio/continue?step=0" "$(wait_verbs "$out")"
vg_assert_eq "redirect method" POST "$(jq -r '.verbs[2].attrs.method' <<<"$out")"
out=$(tw '/twilio/continue?step=0' --bad-sig CallSid="$SID9") || vg_fail "client failed"
vg_assert_eq "the redirect's signature is checked" 403 "$(jq -r .status <<<"$out")"
out=$(tw '/twilio/continue?step=0' CallSid="$SID9" From=+15551230009 To=+18005550500) || vg_fail "client failed"
vg_say "continue: $(wait_verbs "$out")"
vg_assert_eq "continue: the back-end's answer" "Say:Got it.|Hangup:" "$(wait_verbs "$out")"
vg_wait_sql "SELECT end_reason FROM calls WHERE id='$SID9' AND ended_ms > 0" completed 5 ||
	vg_fail "CDR not ended"

# A repeated /voice (Twilio's fallback URL) while the back-end runs picks
# the call up where it is, not a second call
SID10=CA00000000000000000000000000000010
out=$(tw /twilio/voice CallSid="$SID10" From=+15551230010 To=+18005550500) || vg_fail "client failed"
vg_assert_eq "fallback test: a wait answer first" Redirect "$(jq -r '.verbs[-1].name' <<<"$out")"
out=$(tw /twilio/voice CallSid="$SID10" From=+15551230010 To=+18005550500) || vg_fail "client failed"
vg_assert_eq "repeated /voice during the back-end: its answer" "Say:Got it.|Hangup:" "$(wait_verbs "$out")"
vg_assert_eq "one CDR for the call" 1 "$(vg_sql "SELECT count(*) FROM calls WHERE id='$SID10'")"

# ---- a back-end that keeps the caller waiting: redirects_max (2)
# redirects, then the flow's error path
SID6=CA00000000000000000000000000000006
t0=$(date +%s%N)
out=$(tw /twilio/voice CallSid="$SID6" From=+15551230006 To=+18005550400) || vg_fail "client failed"
vg_assert_eq "slow: pause and redirect first" \
	"Say:One moment please.|Pause:|Redirect:$PUBLIC/twilio/continue?step=0" "$(wait_verbs "$out")"
for n in 1 2 3 4; do
	out=$(tw '/twilio/continue?step=0' CallSid="$SID6" From=+15551230006 To=+18005550400) || vg_fail "client failed"
	vg_say "continue $n: $(wait_verbs "$out")"
	[ "$(jq -r '.verbs[-1].name' <<<"$out")" = Redirect ] || break
done
ms=$((($(date +%s%N) - t0) / 1000000))
vg_assert "3 waits of 3 s, then given up" test "$ms" -ge 8800 -a "$ms" -lt 13000
vg_assert_log "the redirect bound was hit" "event=twilio_backend_redirects"
vg_assert_eq "the flow's error path, no apology from voxgate" \
	"Say:The service is unavailable.|Hangup:" "$(wait_verbs "$out")"
vg_wait_sql "SELECT end_reason FROM calls WHERE id='$SID6' AND ended_ms > 0" completed 5 ||
	vg_fail "CDR not ended"
vg_stop

# ---- twilio.enabled false: the routes do not exist
VG_EXTRA_YAML=""
vg_config
vg_start 120
vg_assert_eq "disabled: /twilio/voice is 404" 404 \
	"$(curl -s -o /dev/null -m 10 -w '%{http_code}' -X POST "http://127.0.0.1:$VG_HTTP_PORT/twilio/voice")"
vg_stop
vg_done
