#!/usr/bin/env bash
# Genesys Bot Connector, end to end: the daemon with genesys_bot.enabled;
# curl plays Genesys Cloud (the "Call Bot Connector" action): the bot list,
# then whole conversations through the bank demo flow. Checks: a missing or
# wrong API key gets 401 and creates nothing; the bot list holds the
# configured flows with their intents; a session opened with no text gets
# the greeting and the menu prompt (MOREDATA); the daemon is restarted and
# "I lost my card" continues it from the store: intent lost_card, the
# answer, COMPLETE with parameters; a first message that already says what
# the customer wants completes in one turn; "talk to a person" completes
# with action=transfer and the agent target; a queue target gives its name
# and the transfer's context as parameters; a required slot is asked for,
# then returned as an entity and a parameter; a retried message (same
# messageId) is answered again without advancing; keys choose menu
# options; an
# empty message is the no-input retry; malformed requests (bad JSON,
# missing fields, oversize) are refused and a UTF-8 BOM is tolerated; a
# back-end slower than the turn's hold ends the session FAILED, and a
# message arriving meanwhile gets 409.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need jq curl
vg_pick_ports
KEY=genesys-test-key-0123456789
mkdir -p "$VG_TMP/flows"
# A back-end slower than the 10 s a turn is held.
python3 "$VG_INTEG_DIR/http_stub.py" --port-file "$VG_TMP/stub.port" \
	--log "$VG_TMP/stub.jsonl" --lifetime 300 --delay-ms 14000 >"$VG_TMP/stub.out" 2>&1 &
vg_track $!
for _ in $(seq 1 50); do [ -s "$VG_TMP/stub.port" ] && break; sleep 0.1; done
[ -s "$VG_TMP/stub.port" ] || vg_fail "http_stub.py did not start"
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
    next: done
    on_error: done
  done: {type: hangup, reason: completed}
YAML
cat >"$VG_TMP/flows/pay.yaml" <<YAML
name: pay-bot
start: main
intents:
  transfer_money:
    examples: [send money to savings, transfer fifty dollars, move money,
      i want to transfer money, send money]
    slots:
      amount: {entity: money, required: true, prompt: "How much would you like to send?"}
  check_balance:
    examples: [what is my balance, check my balance, how much money do i have,
      account balance]
nodes:
  main:
    type: classify
    prompt: How can I help you today?
    intents: {transfer_money: sent, check_balance: balance}
    no_match: main
  sent: {type: say, text: "Sending {{slots.amount}} now.", next: bye}
  balance: {type: say, text: Your balance is ten dollars., next: bye}
  bye: {type: hangup, reason: completed}
YAML
cat >"$VG_TMP/flows/billing.yaml" <<YAML
name: billing-desk
start: hello
nodes:
  hello: {type: say, text: Connecting you to billing., next: xfer}
  xfer:
    type: transfer
    target: queue:billing
    context: {reason: invoice, caller: "{{call.from}}"}
    on_fail: bye
  bye: {type: hangup, reason: completed}
YAML
cat >"$VG_TMP/flows/hidden.yaml" <<YAML
name: hidden
start: hi
nodes:
  hi: {type: say, text: Not a bot., next: bye}
  bye: {type: hangup, reason: completed}
YAML
VG_EXTRA_YAML="flows:
  dir: $VG_TMP/flows
genesys_bot:
  enabled: true
  api_key: \"$KEY\"
  bots: bank-hotline,bank-crm,slow-backend,billing-desk,pay-bot
  language: en-us"
vg_config
vg_start 120
vg_assert_log "bot connector routes up" "event=genesys_bot_connector"

BASE=http://127.0.0.1:$VG_HTTP_PORT/genesys/botconnector
gb() { # method path [curl args...]: "<code> <body>"
	local m=$1 p=$2; shift 2
	curl -sS -m 15 -X "$m" -w '\n%{http_code}' -H "X-API-KEY: $KEY" \
		-H 'Content-Type: application/json' "$@" "$BASE$p" |
		awk '{ l[NR] = $0 } END { printf "%s", l[NR]; for (i = 1; i < NR; i++) printf " %s", l[i]; print "" }'
}
turn() { # session text [messageId]: a fresh messageId unless given
	local body
	body=$(jq -cn --arg s "$1" --arg t "$2" --arg m "${3:-m-$(date +%s%N)}" '{botId:"bank-hotline",
		botVersion:"1", botSessionId:$s, messageId:$m,
		inputMessage:{type:"Text", text:$t}, languageCode:"en-us",
		botSessionTimeout:30, genesysConversationId:"conv-\($s)",
		parameters:{ani:"+15551230001"}}')
	gb POST /messages --data-binary "$body"
}
code() { cut -d' ' -f1 <<<"$1"; }
body() { cut -d' ' -f2- <<<"$1"; }

# ---- auth first: no key, wrong key
out=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST --data-binary \
	'{"botId":"bank-hotline","botSessionId":"s-nokey","inputMessage":{"type":"Text","text":"hi"}}' \
	"$BASE/messages")
vg_assert_eq "no API key: 401" 401 "$out"
out=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'X-API-KEY: wrong' -X POST --data-binary \
	'{"botId":"bank-hotline","botSessionId":"s-nokey","inputMessage":{"type":"Text","text":"hi"}}' \
	"$BASE/messages")
vg_assert_eq "wrong API key: 401" 401 "$out"
out=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "X-API-KEY: ${KEY}x" "$BASE/bots")
vg_assert_eq "a longer key is wrong too: 401" 401 "$out"
sleep 0.3
vg_assert_eq "nothing created for refused requests" 0 \
	"$(vg_sql "SELECT count(*) FROM calls WHERE platform='genesys-bot'")"

# ---- the bot list
r=$(gb GET /bots)
vg_assert_eq "bot list: 200" 200 "$(code "$r")"
vg_assert_eq "bot list: the configured flows only" "bank-crm,bank-hotline,billing-desk,pay-bot,slow-backend" \
	"$(body "$r" | jq -r '[.entities[].id] | sort | join(",")')"
vg_assert_eq "bank-hotline lists its intents" true \
	"$(body "$r" | jq '[.entities[] | select(.id=="bank-hotline") | .versions[0].intents[].name] | index("lost_card") != null')"
vg_assert_eq "supported language" en-us \
	"$(body "$r" | jq -r '.entities[0].versions[0].supportedLanguages[0]')"
r=$(gb GET /bots/bank-hotline)
vg_assert_eq "one bot: 200 and its id" "200 bank-hotline" "$(code "$r") $(body "$r" | jq -r .id)"
r=$(gb GET /bots/hidden)
vg_assert_eq "a flow not in bots is not a bot: 404" 404 "$(code "$r")"
r=$(gb GET /botconnector/bots)
vg_assert_eq "an extra /botconnector segment is tolerated" 200 "$(code "$r")"

# ---- a session opened with no text: greeting + menu, MOREDATA
S1=sess-0001
r=$(turn $S1 "")
vg_say "turn 1: $(body "$r")"
vg_assert_eq "turn 1: 200 MOREDATA" "200 MOREDATA" "$(code "$r") $(body "$r" | jq -r .botState)"
vg_assert_eq "turn 1: the greeting first" "Welcome to voxgate bank." \
	"$(body "$r" | jq -r '.replymessages[0].text')"
vg_assert_match "turn 1: then the menu prompt" "^In a few words, tell me what you need" \
	"$(body "$r" | jq -r '.replymessages[1].text')"
vg_assert_eq "reply messages are Text" "Text" "$(body "$r" | jq -r '.replymessages[0].type')"
vg_wait_sql "SELECT count(*) FROM adapter_sessions WHERE platform='genesys-bot' AND session_key='$S1'" 1 5 ||
	vg_fail "session state not saved"
vg_assert_eq "CDR begun" "genesys-bot|conv-$S1|+15551230001|bank-hotline|0" \
	"$(vg_sql "SELECT platform, sip_call_id, from_uri, flow, ended_ms FROM calls WHERE id='$S1'")"

# ---- restart between two turns: the session continues from the store
vg_stop
vg_start 120
r=$(turn $S1 "I lost my card")
vg_say "turn 2: $(body "$r")"
vg_assert_log "the session was restored from the store" "event=genesys_bot_session_restored"
vg_assert_eq "turn 2: 200 COMPLETE" "200 COMPLETE" "$(code "$r") $(body "$r" | jq -r .botState)"
vg_assert_eq "intent lost_card" lost_card "$(body "$r" | jq -r .intent)"
vg_assert_eq "confidence is a number in (0.3, 1]" true \
	"$(body "$r" | jq '.confidence > 0.3 and .confidence <= 1')"
vg_assert_match "the lost-card answer" "Your card has been blocked" \
	"$(body "$r" | jq -r '[.replymessages[].text] | join(" ")')"
vg_assert_eq "then goodbye" "Thank you for calling voxgate bank. Goodbye." \
	"$(body "$r" | jq -r '.replymessages[-1].text')"
vg_assert_eq "parameters: action finished, endReason completed, intent" \
	"finished|completed|lost_card|bank-hotline" \
	"$(body "$r" | jq -r '.parameters | "\(.action)|\(.endReason)|\(.intent)|\(.flow)"')"
vg_wait_sql "SELECT end_reason FROM calls WHERE id='$S1' AND ended_ms > 0" completed 5 ||
	vg_fail "CDR not ended"
vg_assert_eq "the turn in the CDR: the text, lost_card" "I lost my card|lost_card" \
	"$(vg_sql "SELECT transcript, intent FROM turns WHERE call_id='$S1'")"
vg_assert_eq "saved state deleted at the end" 0 \
	"$(vg_sql "SELECT count(*) FROM adapter_sessions WHERE platform='genesys-bot' AND session_key='$S1'")"

# ---- the first message already says it: one turn, no menu prompt
S2=sess-0002
r=$(turn $S2 "someone stole my credit card")
vg_say "one-turn: $(body "$r")"
vg_assert_eq "one turn: COMPLETE lost_card" "COMPLETE lost_card" \
	"$(body "$r" | jq -r '"\(.botState) \(.intent)"')"
vg_assert_eq "one turn: greeting, answer, goodbye (no menu prompt)" 3 \
	"$(body "$r" | jq '.replymessages | length')"

# ---- talk to a person: COMPLETE with action transfer and the target
S3=sess-0003
r=$(turn $S3 "")
r=$(turn $S3 "I want to talk to a person")
vg_say "transfer: $(body "$r")"
vg_assert_eq "transfer: COMPLETE talk_to_agent" "COMPLETE talk_to_agent" \
	"$(body "$r" | jq -r '"\(.botState) \(.intent)"')"
vg_assert_eq "transfer: parameters action and target" \
	"transfer|sip:agents@127.0.0.1:$VG_AGENT_PORT" \
	"$(body "$r" | jq -r '.parameters | "\(.action)|\(.transferTarget)"')"
vg_assert_eq "transfer: the hold message" "Please hold while we connect you to an agent." \
	"$(body "$r" | jq -r '.replymessages[-1].text')"
vg_wait_sql "SELECT end_reason FROM calls WHERE id='$S3' AND ended_ms > 0" transferred 5 ||
	vg_fail "transfer did not end the session"

# ---- a queue target: its name for Architect's Transfer to ACD, and the
# transfer's context as parameters
r=$(gb POST /messages --data-binary '{"botId":"billing-desk","botSessionId":"sess-q","inputMessage":{"type":"Text","text":"hi"},"parameters":{"ani":"+15557654321"}}')
vg_say "queue: $(body "$r")"
vg_assert_eq "queue transfer: target, queue name, context" \
	"COMPLETE|transfer|queue:billing|billing|invoice|+15557654321" \
	"$(body "$r" | jq -r '"\(.botState)|\(.parameters | "\(.action)|\(.transferTarget)|\(.transferQueue)|\(.reason)|\(.caller)")"')"

# ---- slots: asked for, then returned as entities and parameters
pay() { gb POST /messages --data-binary "{\"botId\":\"pay-bot\",\"botSessionId\":\"sess-pay\",\"inputMessage\":{\"type\":\"Text\",\"text\":\"$1\"}}"; }
r=$(pay "I want to transfer money")
vg_say "slot 1: $(body "$r")"
vg_assert_eq "missing slot: asked for, MOREDATA, intent known" \
	"MOREDATA|How much would you like to send?|transfer_money" \
	"$(body "$r" | jq -r '"\(.botState)|\(.replymessages[-1].text)|\(.intent)"')"
r=$(pay "fifty dollars")
vg_say "slot 2: $(body "$r")"
vg_assert_eq "slot filled: COMPLETE" COMPLETE "$(body "$r" | jq -r .botState)"
vg_assert_match "the amount is an entity" '^amount=.*50' \
	"$(body "$r" | jq -r '.entities[] | "\(.name)=\(.value)"')"
vg_assert_match "and a parameter" '50' "$(body "$r" | jq -r '.parameters.amount')"
vg_assert_eq "no .original entities" 0 \
	"$(body "$r" | jq '[.entities[] | select(.name | contains("."))] | length')"

# ---- a retried message (same messageId) gets the same answer, and the
# flow does not advance twice; also once the session has ended
S5=sess-0005
r1=$(turn $S5 "" m-5-1)
r2=$(turn $S5 "" m-5-1)
vg_assert_eq "retry of turn 1: the same answer" "$(body "$r1")" "$(body "$r2")"
vg_assert_log "the retry is logged as replayed" "event=genesys_bot_turn_replayed"
r=$(turn $S5 "2" m-5-2)
vg_assert_match "after the retry the flow is where it was: key 2 is card services" \
	"To report a lost or stolen card" "$(body "$r" | jq -r '[.replymessages[].text] | join(" ")')"
r=$(turn $S5 "1" m-5-3)
vg_assert_eq "card menu key 1: lost card, COMPLETE" COMPLETE "$(body "$r" | jq -r .botState)"
r2=$(turn $S5 "1" m-5-3)
vg_assert_eq "retry of the last message after the end: the same answer" \
	"$(body "$r")" "$(body "$r2")"

# ---- keys, and an empty message (no input)
S4=sess-0004
r=$(turn $S4 "")
r=$(turn $S4 "")
vg_assert_eq "empty message: MOREDATA" MOREDATA "$(body "$r" | jq -r .botState)"
vg_assert_eq "empty message: the no-input retry" "Sorry, I did not hear you." \
	"$(body "$r" | jq -r '.replymessages[0].text')"
r=$(turn $S4 "1")
vg_assert_match "key 1: the balance" "Your available balance is" \
	"$(body "$r" | jq -r '[.replymessages[].text] | join(" ")')"
vg_assert_eq "key 1: COMPLETE" COMPLETE "$(body "$r" | jq -r .botState)"

# ---- malformed requests
r=$(gb POST /messages --data-binary '{"botId":"bank-hotline",')
vg_assert_eq "bad JSON: 400 FAILED with errorInfo" "400 FAILED bad_request" \
	"$(code "$r") $(body "$r" | jq -r '"\(.botState) \(.errorInfo.errorCode)"')"
r=$(gb POST /messages --data-binary '{"botId":"bank-hotline","inputMessage":{"type":"Text","text":"hi"}}')
vg_assert_eq "missing botSessionId: 400" 400 "$(code "$r")"
vg_assert_match "the reason is given" "botSessionId" "$(body "$r" | jq -r .errorInfo.errorMessage)"
r=$(gb POST /messages --data-binary '{"botId":"nope","botSessionId":"s-x","inputMessage":{"type":"Text","text":"hi"}}')
vg_assert_eq "unknown bot: 404" 404 "$(code "$r")"
head -c 70000 /dev/zero | tr '\0' 'a' >"$VG_TMP/big.txt"
r=$(gb POST /messages --data-binary @"$VG_TMP/big.txt")
vg_assert_eq "oversize body: 413" 413 "$(code "$r")"
printf '\xef\xbb\xbf{"botId":"bank-hotline","botSessionId":"sess-bom","inputMessage":{"type":"Text","text":"my card was stolen"}}' \
	>"$VG_TMP/bom.json"
r=$(gb POST /messages --data-binary @"$VG_TMP/bom.json")
vg_assert_eq "a UTF-8 BOM is tolerated" "200 COMPLETE lost_card" \
	"$(code "$r") $(body "$r" | jq -r '"\(.botState) \(.intent)"')"
r=$(gb GET /messages)
vg_assert_eq "GET on the turn route: 405" 405 "$(code "$r")"

# ---- a back-end that never answers in time: FAILED; a second message of
# the session meanwhile: 409
slow='{"botId":"slow-backend","botSessionId":"sess-slow","inputMessage":{"type":"Text","text":""}}'
gb POST /messages --data-binary "$slow" >"$VG_TMP/slow.out" &
slow_pid=$!
sleep 1
r=$(gb POST /messages --data-binary "$slow")
vg_assert_eq "a message while the session's turn is held: 409" "409 session_busy" \
	"$(code "$r") $(body "$r" | jq -r .errorInfo.errorCode)"
wait $slow_pid
r=$(cat "$VG_TMP/slow.out")
vg_say "slow: $r"
vg_assert_eq "back-end timeout: 200 FAILED backend_timeout" "200 FAILED backend_timeout" \
	"$(code "$r") $(body "$r" | jq -r '"\(.botState) \(.errorInfo.errorCode)"')"
vg_assert_eq "what was said before is still sent" "One moment please." \
	"$(body "$r" | jq -r '.replymessages[0].text')"
vg_wait_sql "SELECT end_reason FROM calls WHERE id='sess-slow' AND ended_ms > 0" error 5 ||
	vg_fail "the failed session's CDR did not end"
vg_assert "the daemon is still up" vg_alive
# Every session ended: a clean stop leaves no session state. (The marker
# row stays: this run began with one, so older sessions may remain, and
# unknown botSessionIds keep being looked up in the store.)
vg_stop
vg_assert_eq "no saved bot session after a clean stop" "0|1" \
	"$(vg_sql "SELECT sum(session_key <> '#sessions'), sum(session_key = '#sessions') FROM adapter_sessions WHERE platform='genesys-bot'")"
# A run that began with no saved bot state and ended every session: the
# marker goes too.
vg_sql "DELETE FROM adapter_sessions WHERE platform='genesys-bot'"
vg_start 120
r=$(turn sess-clean "")
r=$(turn sess-clean "1")
vg_assert_eq "clean run: a two-turn session completes" COMPLETE "$(body "$r" | jq -r .botState)"
vg_stop
vg_assert_eq "clean run: nothing saved at all after a clean stop" 0 \
	"$(vg_sql "SELECT count(*) FROM adapter_sessions WHERE platform='genesys-bot'")"
vg_done
