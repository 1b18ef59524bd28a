#!/usr/bin/env bash
# Streaming recognition in a real SIP call (stt.stream): `voxgate simulate`
# calls a flow whose menu routes intents on a PocketSphinx domain-LM step
# (an engine that streams); the caller (flite slt) says "I want to check
# my balance". Webhooks go to tests/integration/http_stub.py with
# webhooks.events naming "partial".
#   stream   stt.stream true: the intent is check_balance; the turn
#            (GET /v1/calls/{id}) was streamed (stt_streamed true, not
#            early), its transcript within WER 20%; "partial" webhooks
#            (node, transcript, audio_ms) arrived for the call, all before
#            its "intent" webhook.
#   batch    stt.stream false: the same call, answered by the early
#            decode as before (stt_streamed false, stt_early true), and no
#            "partial" webhook.
# VG_STREAM_CALLS=N (default 1) calls per mode, VG_STREAM_CONCURRENCY=C
# (default 1) at a time; with N > 1 a third mode (stream false,
# stt.early_decode 0: the whole utterance decoded after the end of speech)
# is run too, and the server's STT stage (t_ms.stt_final: detected end of
# speech -> final transcript) and how many turns were streamed or early are
# printed per mode (MEASURED lines, docs/BENCHMARKS.md "Streaming in
# calls"; bench/stream_calls.sh runs this test per level and reads them).
# VG_STREAM_DECODERS sets stt.decoders (PocketSphinx decoders;
# a live stream holds one from speech start to its end); VG_STREAM_MODES
# (default "stream batch", plus batch-noearly with N > 1) picks modes.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need jq python3
vg_pick_ports
CALLS=${VG_STREAM_CALLS:-1}
CONC=${VG_STREAM_CONCURRENCY:-1}
SAY="I want to check my balance"
WER_MAX=20

# ---- the webhook receiver
STUB_LOG=$VG_TMP/http-stub.jsonl
python3 "$VG_INTEG_DIR/http_stub.py" --port-file "$VG_TMP/stub.port" \
	--log "$STUB_LOG" --lifetime 1800 >"$VG_TMP/http-stub.out" 2>&1 &
vg_track $!
for _ in $(seq 1 50); do [ -s "$VG_TMP/stub.port" ] && break; sleep 0.1; done
[ -s "$VG_TMP/stub.port" ] || vg_fail "http_stub.py did not start"
STUB_PORT=$(<"$VG_TMP/stub.port")

# ---- the flow: open speech on PocketSphinx with the intents' domain LM
FLOWS=$VG_TMP/flows
mkdir -p "$FLOWS"
cat >"$FLOWS/stream.yaml" <<'EOF'
name: stream
start: ask
intents:
  check_balance:
    examples: [check my balance, i want to check my balance, what is my balance,
               how much money do i have, my account balance please]
  lost_card:
    examples: [i lost my card, my card was stolen, report a lost card,
               someone took my credit card, i cannot find my card]
nodes:
  ask:
    type: menu
    prompt: How can I help you today?
    input: speech
    intents: {check_balance: balance, lost_card: card}
    stt: pocketsphinx
    timeout: 8s
    retries: 1
    on_max_retries: bye
  balance: {type: say, text: Your balance is one hundred dollars., next: bye}
  card: {type: say, text: Your card is blocked., next: bye}
  bye: {type: hangup, reason: completed}
EOF

cat >"$VG_TMP/scenario.yaml" <<EOF
name: streaming turn
target: sip:1000@127.0.0.1:$VG_SIP_PORT
from: "+14155550123"
voice: slt
turns:
  - say: $SAY
    expect: {intent: check_balance, next: balance}
expect:
  nodes: [ask, balance]
EOF

hooks() { grep '"path": "/hook"' "$STUB_LOG" | jq -c '.body | fromjson'; }

# One mode: start the daemon with stt.stream / stt.early_decode, run the
# calls, check the first, print the STT stage.
run_mode() { # name stream early_decode
	local mode=$1 stream=$2 early=$3 out=$VG_TMP/sim-$1.json rc=0 id body turn
	VG_EXTRA_YAML="flows:
  dir: $FLOWS
  default: stream
stt:
  engines: pocketsphinx${VG_STREAM_DECODERS:+
  decoders: $VG_STREAM_DECODERS}
  stream: $stream
  early_decode: $early
webhooks:
  urls: [\"http://127.0.0.1:$STUB_PORT/hook\"]
  secret: \"integration-test-secret-0123456789\"
  events: \"started,intent,partial,ended\""
	vg_config
	vg_start 120
	vg_say "---- $mode: stt.stream $stream, stt.early_decode $early, $CALLS call(s)"
	timeout 600 "$VOXGATE" simulate "$VG_TMP/scenario.yaml" \
		--api "http://127.0.0.1:$VG_HTTP_PORT" --calls "$CALLS" \
		--concurrency "$CONC" \
		--json --quiet >"$out" 2>"$out.err" || rc=$?
	vg_assert_eq "$mode: simulate exit status (intent check_balance met)" 0 "$rc"
	[ $rc -eq 0 ] || vg_say "$mode: $(jq -c .failures "$out" 2>/dev/null) $(tail -n 3 "$out.err")"
	if [ "$CALLS" -gt 1 ]; then
		local streamed=0 nearly=0 cid t
		for cid in $(jq -r '.call_results[].cdr_id // empty' "$out"); do
			t=$(vg_http "/v1/calls/$cid" | jq -c '(.turns // []) | map(select(.node == "ask")) | .[0] // {}')
			[ "$(jq -r .stt_streamed <<<"$t")" == true ] && streamed=$((streamed + 1))
			[ "$(jq -r .stt_early <<<"$t")" == true ] && nearly=$((nearly + 1))
		done
		vg_say "MEASURED $mode: $CALLS calls, $CONC at a time, load $(cut -d' ' -f1-3 /proc/loadavg): server STT stage (detected end of speech -> final) ms $(jq -c '.stages_ms.stt' "$out"); turn latency ms $(jq -c '.turn_latency_ms | {n, p50, p95}' "$out"); failed $(jq .failed "$out"); turns streamed $streamed, early $nearly"
	else
		vg_say "MEASURED $mode: server STT stage (detected end of speech -> final) ms $(jq -c '.stages_ms.stt' "$out")"
	fi

	id=$(jq -r '.call_results[0].cdr_id // empty' "$out")
	[ -n "$id" ] || vg_fail "$mode: no CDR id in the simulator's report"
	body=$(vg_http "/v1/calls/$id") || vg_fail "GET /v1/calls/$id failed"
	turn=$(jq -c '(.turns // []) | map(select(.node == "ask")) | .[0] // empty' <<<"$body")
	vg_say "$mode: turn $turn"
	[ -n "$turn" ] || vg_fail "$mode: no turn recorded for node ask"
	local transcript wer
	transcript=$(jq -r '.transcript // ""' <<<"$turn")
	wer=$(vg_wer "$SAY" "$transcript")
	vg_assert_le "$mode: transcript \"$transcript\" WER (%)" "$wer" "$WER_MAX"
	vg_assert_eq "$mode: turn stt_engine" pocketsphinx "$(jq -r .stt_engine <<<"$turn")"

	# webhooks are posted from the web loop: wait for the call's "ended"
	for _ in $(seq 1 50); do
		hooks | jq -e --arg id "$id" 'select(.event == "ended" and .call_id == $id)' >/dev/null && break
		sleep 0.1
	done
	local mine partials
	mine=$(hooks | jq -c --arg id "$id" 'select(.call_id == $id)')
	partials=$(jq -s 'map(select(.event == "partial")) | length' <<<"$mine")
	vg_say "$mode: webhooks for the call: $(jq -r .event <<<"$mine" | uniq -c | tr -s ' \n' ' ')"
	vg_say "$mode: partials: $(jq -c 'select(.event == "partial") | {transcript, audio_ms, ts}' <<<"$mine" | tr '\n' ' ')"
	if [ "$stream" == true ]; then
		vg_assert_eq "$mode: turn stt_streamed" true "$(jq -r .stt_streamed <<<"$turn")"
		vg_assert_eq "$mode: turn stt_early (a stream needs no early decode)" false \
			"$(jq -r .stt_early <<<"$turn")"
		vg_assert_ge "$mode: partial webhooks for the call" "$partials" 1
		vg_assert "$mode: every partial has node ask, a transcript and audio_ms" \
			jq -s -e 'map(select(.event == "partial")) | all(.node == "ask" and (.transcript | type == "string") and (.audio_ms | tonumber) > 0)' <<<"$mine"
		vg_assert "$mode: a partial has words" \
			jq -s -e 'map(select(.event == "partial" and (.transcript | length) > 0)) | length > 0' <<<"$mine"
		vg_assert "$mode: the partials came before the intent webhook (posting time and arrival order)" \
			jq -s -e '(map(.event) | index("intent")) as $i | ($i != null) and (map(.event) | rindex("partial")) < $i and (map(select(.event == "partial") | .ts) | max) <= (map(select(.event == "intent") | .ts) | min)' <<<"$mine"
	else
		vg_assert_eq "$mode: turn stt_streamed" false "$(jq -r .stt_streamed <<<"$turn")"
		vg_assert_eq "$mode: turn stt_early" "$([ "$early" != 0 ] && echo true || echo false)" \
			"$(jq -r .stt_early <<<"$turn")"
		vg_assert_eq "$mode: no partial webhooks when not streaming" 0 "$partials"
		vg_assert "$mode: the intent webhook came" \
			jq -s -e 'any(.event == "intent")' <<<"$mine"
	fi
	vg_stop
}

MODES="stream batch"
[ "$CALLS" -le 1 ] || MODES="$MODES batch-noearly"
MODES=${VG_STREAM_MODES:-$MODES}
for m in $MODES; do
	case $m in
	stream) run_mode stream true 100ms ;;
	batch) run_mode batch false 100ms ;;
	batch-noearly) run_mode batch-noearly false 0 ;;
	*) vg_fail "VG_STREAM_MODES: unknown mode $m" ;;
	esac
done
vg_done
