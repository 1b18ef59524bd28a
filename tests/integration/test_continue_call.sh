#!/usr/bin/env bash
# Continued turns in a real SIP call (stt.continue_window, docs/SPEECH.md
# "Continued turns"): `voxgate simulate` calls a flow whose menu routes
# intents; the caller says one sentence with a pause of ~450 ms in the
# middle ("I lost my card | can you block it please", two espeak-ng halves
# joined by sox), longer than the 300 ms trailing silence, so the turn ends
# at the pause and the reply starts. The caller goes on within the window:
#   joined   stt.continue_window 250ms: the call's turns (GET
#            /v1/calls/{id}) for node ask are the superseded first half
#            (continues false) and the joined turn (continues true) whose
#            transcript has both halves' words; the first reply was
#            stopped (its prompt record interrupted); the log says
#            flow_turn_continue outcome=joined and the metric counts it.
#   off      stt.continue_window 0: the same call; no turn continues, node
#            ask heard the first half only (the second is spoken over the
#            reply, which no listen hears).
source "$(dirname "$0")/lib.sh"
vg_init
vg_need jq espeak-ng sox
vg_pick_ports
FIRST="I lost my card"
SECOND="can you block it please"
PAUSE_S=${VG_CONTINUE_PAUSE_S:-0.45}
WER_MAX=35

# ---- the caller's audio: two halves, trimmed, joined with a pause
AUD=$VG_TMP/audio
mkdir -p "$AUD"
half() { # text out.wav: speech only, no silence before or after
	vg_say_wav "$1" "$AUD/raw.wav"
	sox "$AUD/raw.wav" "$2" silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse ||
		vg_fail "sox trim failed"
}
half "$FIRST" "$AUD/a.wav"
half "$SECOND" "$AUD/b.wav"
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$AUD/gap.wav" trim 0 "$PAUSE_S"
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$AUD/lead.wav" trim 0 0.3
sox "$AUD/lead.wav" "$AUD/a.wav" "$AUD/gap.wav" "$AUD/b.wav" "$AUD/lead.wav" \
	"$AUD/caller.wav" || vg_fail "sox join failed"
vg_say "caller: \"$FIRST\" + ${PAUSE_S}s + \"$SECOND\" ($(soxi -D "$AUD/caller.wav") s)"

# ---- the flow: open speech, intents routed; the reply, then one more turn
FLOWS=$VG_TMP/flows
mkdir -p "$FLOWS"
cat >"$FLOWS/cont.yaml" <<'EOF'
name: cont
start: ask
intents:
  check_balance:
    examples: [check my balance, i want to check my balance, what is my balance,
               how much money do i have, my account balance please]
  lost_card:
    examples: [i lost my card, my card was stolen, report a lost card,
               please block my card, can you block my card, i cannot find my card]
nodes:
  ask:
    type: menu
    prompt: How can I help you today?
    input: speech
    intents: {check_balance: balance, lost_card: card}
    timeout: 8s
    retries: 1
    on_max_retries: bye
  balance: {type: say, text: Your balance is one hundred dollars., next: more}
  card: {type: say, text: Your card is blocked now. Is there anything else I can do for you?, next: more}
  more:
    type: menu
    prompt: Say yes or no.
    input: speech
    intents: {check_balance: balance, lost_card: card}
    timeout: 3s
    retries: 0
    on_max_retries: bye
  bye: {type: hangup, reason: completed}
EOF

cat >"$VG_TMP/scenario.yaml" <<EOF
name: continued turn
target: sip:1000@127.0.0.1:$VG_SIP_PORT
from: "+14155550123"
turns:
  - wav: $AUD/caller.wav
EOF

run_mode() { # name continue_window
	local mode=$1 window=$2 out=$VG_TMP/sim-$1.json rc=0 id body turns prompts
	VG_EXTRA_YAML="flows:
  dir: $FLOWS
  default: cont
stt:
  continue_window: $window"
	vg_config
	vg_start 120
	vg_say "---- $mode: stt.continue_window $window"
	timeout 300 "$VOXGATE" simulate "$VG_TMP/scenario.yaml" \
		--api "http://127.0.0.1:$VG_HTTP_PORT" --calls 1 \
		--json --quiet >"$out" 2>"$out.err" || rc=$?
	vg_assert_eq "$mode: simulate exit status" 0 "$rc"
	[ $rc -eq 0 ] || vg_say "$mode: $(jq -c .failures "$out" 2>/dev/null) $(tail -n 3 "$out.err")"
	id=$(jq -r '.call_results[0].cdr_id // empty' "$out")
	[ -n "$id" ] || vg_fail "$mode: no CDR id in the simulator's report"
	body=$(vg_http "/v1/calls/$id") || vg_fail "GET /v1/calls/$id failed"
	turns=$(jq -c '.turns // []' <<<"$body")
	prompts=$(jq -c '.prompts // []' <<<"$body")
	vg_say "$mode: turns $(jq -c 'map({node, transcript, continues, intent, next})' <<<"$turns")"
	vg_say "$mode: prompts $(jq -c 'map({text, played_ms, interrupted})' <<<"$prompts")"
	if [ "$mode" == joined ]; then
		local last first wer
		vg_assert_eq "$mode: two turns at node ask (the first half, then the joined)" 2 \
			"$(jq '[.[] | select(.node == "ask")] | length' <<<"$turns")"
		first=$(jq -c '[.[] | select(.node == "ask")][0]' <<<"$turns")
		last=$(jq -c '[.[] | select(.node == "ask")][1]' <<<"$turns")
		vg_assert_eq "$mode: the first half's turn does not continue" false \
			"$(jq -r .continues <<<"$first")"
		vg_assert_eq "$mode: the joined turn continues" true "$(jq -r .continues <<<"$last")"
		wer=$(vg_wer "$FIRST $SECOND" "$(jq -r '.transcript // ""' <<<"$last")")
		vg_assert_le "$mode: joined transcript WER against both halves (%)" "$wer" "$WER_MAX"
		vg_assert "$mode: the joined transcript has the first half's words" \
			jq -e '.transcript | test("card")' <<<"$last"
		vg_assert "$mode: the joined transcript has the second half's words" \
			jq -e '.transcript | test("block")' <<<"$last"
		vg_assert "$mode: the first half's transcript has not" \
			jq -e '.transcript | test("block") | not' <<<"$first"
		vg_assert "$mode: the first reply was stopped" \
			jq -e 'map(select(.text | test("blocked now"))) | .[0].interrupted == true' <<<"$prompts"
		vg_assert_log "$mode: the session joined the turns" 'event=flow_turn_continue .*outcome=joined'
		local metrics
		metrics=$(vg_http /metrics) || vg_fail "GET /metrics failed"
		vg_assert "$mode: voxgate_turn_continuations_total{outcome=\"joined\"} 1" \
			grep -q '^voxgate_turn_continuations_total{outcome="joined"} 1$' \
			<<<"$metrics"
	else
		vg_assert_eq "$mode: no turn continues" 0 \
			"$(jq '[.[] | select(.continues == true)] | length' <<<"$turns")"
		vg_assert_eq "$mode: one turn at node ask" 1 \
			"$(jq '[.[] | select(.node == "ask")] | length' <<<"$turns")"
		vg_assert "$mode: it is the first half only" \
			jq -e '[.[] | select(.node == "ask")][0].transcript | test("block") | not' <<<"$turns"
	fi
	vg_stop
}

for m in ${VG_CONTINUE_MODES:-joined off}; do
	case $m in
	joined) run_mode joined 250ms ;;
	off) run_mode off 0 ;;
	*) vg_fail "VG_CONTINUE_MODES: unknown mode $m" ;;
	esac
done
vg_done
