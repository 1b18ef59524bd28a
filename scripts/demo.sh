#!/usr/bin/env bash
# scripts/demo.sh BINARY: place one real SIP call through voxgate and show
# what happened. `make demo` runs it.
#
# Starts BINARY (voxgate) with a temporary config on 127.0.0.1:5060
# (UDP+TCP) and HTTP 127.0.0.1:8080 (free ports instead when those are
# taken), calls it with sipp, presses 1 (an RFC 4733 DTMF pcap) after the
# greeting, listens to the balance and goodbye prompts, then prints the
# prompts played, the digits, the flow path, the CDR (GET /v1/calls/{id}),
# a few /metrics lines and how to call it from a softphone. A second call
# speaks to the menu ("I want to check my balance"); a third, from a demo
# CRM customer's number to 2000 (the bank-crm flow: CRM lookup, intents,
# a ticket, recording), says "I lost my card". Then `voxgate simulate`
# plays three callers of examples/bank/scenario.yaml and prints its report.
# Stops the
# daemon at the end. Exits non-zero when the call did not work.
# KEEP=1 keeps the temp dir (config, log, CDR database, sipp traces).
set -euo pipefail

BIN=${1:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
	echo "usage: scripts/demo.sh path/to/voxgate" >&2
	exit 2
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PCAP=/usr/share/sip-tester/dtmf_2833_1.pcap
for t in sipp curl jq sqlite3 ss; do
	command -v "$t" >/dev/null || { echo "demo: '$t' is missing; run scripts/install-deps.sh" >&2; exit 1; }
done
[ -f "$PCAP" ] || { echo "demo: $PCAP missing (package sip-tester)" >&2; exit 1; }
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: note: sipp sends the DTMF pcap through a raw socket, which needs root;" >&2
	echo "      without it the digit is not sent and the demo fails at the DTMF check." >&2
fi

B=$'\e[1m' N=$'\e[0m'
[ -t 1 ] || { B=""; N=""; }
say() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/voxgate-demo.XXXXXX")
PID=""
SIPP_PID=""
cleanup() {
	local rc=$?
	[ -n "$SIPP_PID" ] && kill "$SIPP_PID" 2>/dev/null || true
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PID" 2>/dev/null || true
	fi
	if [ -n "${KEEP:-}" ] || [ $rc -ne 0 ]; then
		echo "demo: files kept in $TMP" >&2
	else
		rm -rf "$TMP"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- ports: the defaults when free, else free ones
used=" $(ss -Hantu 2>/dev/null | awk '{ n = split($5, a, ":"); print a[n] }' | sort -un | tr '\n' ' ') "
free() { [[ "$used" != *" $1 "* ]]; }
pick() {
	local p
	for _ in $(seq 1 500); do
		p=$((11000 + RANDOM % 9000))
		if free "$p" && [[ " $* " != *" $p "* ]]; then echo "$p"; return; fi
	done
	echo "demo: no free port" >&2
	exit 1
}
SIP_PORT=5060; free 5060 || SIP_PORT=$(pick)
HTTP_PORT=8080; free 8080 || HTTP_PORT=$(pick "$SIP_PORT")
SIPP_PORT=$(pick "$SIP_PORT" "$HTTP_PORT")
MEDIA_PORT=$(pick "$SIP_PORT" "$HTTP_PORT" "$SIPP_PORT")
[ "$SIP_PORT" == 5060 ] || echo "demo: 5060 is busy, using SIP port $SIP_PORT"
[ "$HTTP_PORT" == 8080 ] || echo "demo: 8080 is busy, using HTTP port $HTTP_PORT"

cat >"$TMP/voxgate.yaml" <<EOF
# demo config written by scripts/demo.sh
sip:
  listen: ["udp:127.0.0.1:$SIP_PORT", "tcp:127.0.0.1:$SIP_PORT"]
  answer_delay: 500ms
rtp:
  address: 127.0.0.1
  port_min: 20000
  port_max: 29999
  media_timeout: 60s
http:
  listen: 127.0.0.1:$HTTP_PORT
store:
  path: $TMP/voxgate.db
  crm_demo: true
flows:
  routes:
    - number: "2000"
      flow: bank-crm
recordings:
  dir: $TMP/recordings
log:
  level: info
  format: kv
shutdown:
  drain_timeout: 5s
EOF

say "Starting voxgate ($BIN)"
"$BIN" serve -c "$TMP/voxgate.yaml" </dev/null >"$TMP/voxgate.log" 2>&1 &
PID=$!
for _ in $(seq 1 300); do
	grep -q 'event=ready' "$TMP/voxgate.log" && break
	kill -0 "$PID" 2>/dev/null || { cat "$TMP/voxgate.log" >&2; echo "demo: voxgate exited" >&2; exit 1; }
	sleep 0.1
done
grep -q 'event=ready' "$TMP/voxgate.log" || { cat "$TMP/voxgate.log" >&2; echo "demo: voxgate not ready" >&2; exit 1; }
grep 'event=ready' "$TMP/voxgate.log"

say "Calling sip:1000@127.0.0.1:$SIP_PORT with sipp; pressing 1 after the greeting"
sed -e 's|@HOLD_MS@|30000|' \
	-e "s|@DTMF_BLOCK@|<pause milliseconds=\"2500\"/><nop><action><exec play_pcap_audio=\"$PCAP\"/></action></nop>|" \
	"$ROOT/tests/integration/sipp/uac_call.xml" >"$TMP/call.xml"
rc=0
sipp 127.0.0.1:"$SIP_PORT" -sf "$TMP/call.xml" -i 127.0.0.1 -p "$SIPP_PORT" \
	-mi 127.0.0.1 -mp "$MEDIA_PORT" -s 1000 -m 1 -nostdin -timeout 60s -timeout_error \
	-trace_msg -message_file "$TMP/sipp.messages" -trace_err -error_file "$TMP/sipp.errors" \
	-trace_logs -log_file "$TMP/sipp.log" </dev/null >"$TMP/sipp.out" 2>&1 &
SIPP_PID=$!
wait "$SIPP_PID" || rc=$?
SIPP_PID=""
if [ $rc -ne 0 ]; then
	tail -n 20 "$TMP/sipp.out" >&2
	[ -f "$TMP/sipp.errors" ] && head -n 20 "$TMP/sipp.errors" >&2
	echo "demo: the call failed (sipp exit $rc)" >&2
	exit 1
fi
if grep -q server_bye "$TMP/sipp.log" 2>/dev/null; then
	echo "call answered; voxgate played its prompts, said goodbye and hung up"
else
	echo "call answered; the caller hung up"
fi

# The CDR is written by a worker thread: give it a moment.
ID=""
for _ in $(seq 1 50); do
	ID=$(sqlite3 -cmd ".timeout 2000" "$TMP/voxgate.db" "SELECT id FROM calls WHERE ended_ms > 0 LIMIT 1" 2>/dev/null || true)
	[ -n "$ID" ] && break
	sleep 0.1
done
[ -n "$ID" ] || { echo "demo: no CDR written" >&2; exit 1; }
CDR=$(curl -sS -f -m 5 "http://127.0.0.1:$HTTP_PORT/v1/calls/$ID") || { echo "demo: GET /v1/calls/$ID failed" >&2; exit 1; }

say "Prompts played (CDR prompts)"
jq -r '.prompts[] | "  \(.name | .+ "              " | .[0:14]) \(.played_ms) of \(.duration_ms) ms\(if .interrupted then " (interrupted by a key)" else "" end)\n      \"\(.text)\""' <<<"$CDR"

say "What the log says about the call (call=$ID)"
grep -E "call=$ID" "$TMP/voxgate.log" | grep -E 'event=(call_incoming|call_answered|dtmf|transfer|call_end)' |
	sed -E 's/^ts=[^ ]+ //' | cut -c1-200 | sed 's/^/  /'

DTMF=$(jq -r .dtmf <<<"$CDR")
PATH_STR=$(jq -r '.flow_path | join(" -> ")' <<<"$CDR")
say "Digits pressed"
echo "  ${DTMF:-(none)}"
say "Flow path"
echo "  $PATH_STR"

say "The call detail record: GET http://127.0.0.1:$HTTP_PORT/v1/calls/$ID"
jq 'del(.prompts)' <<<"$CDR"

say "Calling again and speaking: \"I want to check my balance\" (during the menu prompt)"
WAV2PCAP="$(dirname "$BIN")/../tests/wav2pcap"
if [ ! -x "$WAV2PCAP" ]; then
	cc -O2 -o "$TMP/wav2pcap" "$ROOT/tests/tools/wav2pcap.c" || { echo "demo: cannot build wav2pcap" >&2; exit 1; }
	WAV2PCAP=$TMP/wav2pcap
fi
espeak-ng -v en-us -s 140 -w "$TMP/say22k.wav" "I want to check my balance" &&
	sox "$TMP/say22k.wav" -r 8000 -c 1 -b 16 -e signed-integer "$TMP/say.wav" &&
	"$WAV2PCAP" -l 3300 -t 4000 "$TMP/say.wav" "$TMP/say.pcap" >/dev/null ||
	{ echo "demo: could not make the caller's speech" >&2; exit 1; }
sed -e 's|@HOLD_MS@|30000|' -e 's|@SPEAK_AT_MS@|0|' -e "s|@SPEECH_PCAP@|$TMP/say.pcap|" \
	-e 's|@AFTER_BLOCK@||' "$ROOT/tests/integration/sipp/uac_speech.xml" >"$TMP/speech.xml"
rc=0
sipp 127.0.0.1:"$SIP_PORT" -sf "$TMP/speech.xml" -i 127.0.0.1 -p "$SIPP_PORT" \
	-mi 127.0.0.1 -mp "$MEDIA_PORT" -s 1000 -m 1 -nostdin -timeout 60s -timeout_error \
	-trace_err -error_file "$TMP/sipp2.errors" </dev/null >"$TMP/sipp2.out" 2>&1 || rc=$?
[ $rc -eq 0 ] || { tail -n 20 "$TMP/sipp2.out" >&2; echo "demo: the speech call failed (sipp exit $rc)" >&2; exit 1; }
ID2=""
for _ in $(seq 1 50); do
	ID2=$(sqlite3 -cmd ".timeout 2000" "$TMP/voxgate.db" "SELECT id FROM calls WHERE ended_ms > 0 AND id != '$ID' LIMIT 1" 2>/dev/null || true)
	[ -n "$ID2" ] && break
	sleep 0.1
done
[ -n "$ID2" ] || { echo "demo: no CDR for the speech call" >&2; exit 1; }
CDR2=$(curl -sS -f -m 5 "http://127.0.0.1:$HTTP_PORT/v1/calls/$ID2") || { echo "demo: GET /v1/calls/$ID2 failed" >&2; exit 1; }
say "The spoken turn (CDR turns of call $ID2)"
jq -r '.turns[] | "  node \(.node): heard \"\(.transcript)\" (\(.stt_engine), confidence \(.stt_confidence))\n  intent \(.intent) (confidence \(.intent_confidence), \(.match)) -> \(.next); barge-in: \(.barge_in)\n  from the end of speech: STT final \(.t_ms.stt_final) ms, NLU \(.t_ms.nlu_done) ms, first reply RTP \(.t_ms.first_rtp) ms"' <<<"$CDR2"
echo "  flow path: $(jq -r '.flow_path | join(" -> ")' <<<"$CDR2")"
jq -r '.prompts[] | select(.interrupted) | "  prompt \(.name) interrupted by the caller after \(.played_ms) ms"' <<<"$CDR2"

say "A customer calls the bank-crm flow (2000) from +14155550101 and says \"I lost my card\""
espeak-ng -v en-us -s 140 -w "$TMP/lost22k.wav" "I lost my card" &&
	sox "$TMP/lost22k.wav" -r 8000 -c 1 -b 16 -e signed-integer "$TMP/lost.wav" &&
	"$WAV2PCAP" -l 3000 -t 4000 "$TMP/lost.wav" "$TMP/lost.pcap" >/dev/null ||
	{ echo "demo: could not make the caller's speech" >&2; exit 1; }
sed -e 's|@HOLD_MS@|30000|' -e 's|@SPEAK_AT_MS@|0|' -e "s|@SPEECH_PCAP@|$TMP/lost.pcap|" \
	-e 's|@AFTER_BLOCK@||' -e 's|sip:sipp@\[local_ip\]|sip:+14155550101@[local_ip]|g' \
	"$ROOT/tests/integration/sipp/uac_speech.xml" >"$TMP/crm.xml"
rc=0
sipp 127.0.0.1:"$SIP_PORT" -sf "$TMP/crm.xml" -i 127.0.0.1 -p "$SIPP_PORT" \
	-mi 127.0.0.1 -mp "$MEDIA_PORT" -s 2000 -m 1 -nostdin -timeout 60s -timeout_error \
	-trace_err -error_file "$TMP/sipp3.errors" </dev/null >"$TMP/sipp3.out" 2>&1 || rc=$?
[ $rc -eq 0 ] || { tail -n 20 "$TMP/sipp3.out" >&2; echo "demo: the bank-crm call failed (sipp exit $rc)" >&2; exit 1; }
ID3=""
for _ in $(seq 1 50); do
	ID3=$(sqlite3 -cmd ".timeout 2000" "$TMP/voxgate.db" "SELECT id FROM calls WHERE ended_ms > 0 AND flow = 'bank-crm' LIMIT 1" 2>/dev/null || true)
	[ -n "$ID3" ] && break
	sleep 0.1
done
[ -n "$ID3" ] || { echo "demo: no CDR for the bank-crm call" >&2; exit 1; }
CDR3=$(curl -sS -f -m 5 "http://127.0.0.1:$HTTP_PORT/v1/calls/$ID3") || { echo "demo: GET /v1/calls/$ID3 failed" >&2; exit 1; }
echo "  what voxgate said:"
jq -r '.prompts[] | "    \(.name): \"\(.text)\""' <<<"$CDR3"
jq -r '.turns[] | "  heard \"\(.transcript)\" -> intent \(.intent) (\(.intent_confidence), \(.match)) -> \(.next)"' <<<"$CDR3"
echo "  flow path: $(jq -r '.flow_path | join(" -> ")' <<<"$CDR3")"
echo "  CRM ticket: $(sqlite3 -cmd ".timeout 2000" "$TMP/voxgate.db" "SELECT 'id ' || id || ', customer ' || customer_id || ', ' || status || ': ' || subject FROM tickets ORDER BY id DESC LIMIT 1")"
REC="$TMP/recordings/$ID3.wav"
[ -s "$REC" ] && echo "  recording: $REC ($(stat -c %s "$REC") bytes; KEEP=1 keeps the temp dir)"

say "The call simulator: 3 callers report a lost card (examples/bank/scenario.yaml)"
sed "s/127.0.0.1:5060/127.0.0.1:$SIP_PORT/" "$ROOT/examples/bank/scenario.yaml" >"$TMP/scenario.yaml"
SIMRC=0
"$BIN" simulate "$TMP/scenario.yaml" --api "http://127.0.0.1:$HTTP_PORT" \
	--calls 3 --concurrency 3 --quiet | sed 's/^/  /' || SIMRC=$?
echo "  (docs/SIMULATOR.md; --json for machines, --calls/--concurrency for load)"

say "A few lines of GET http://127.0.0.1:$HTTP_PORT/metrics"
curl -sS -m 5 "http://127.0.0.1:$HTTP_PORT/metrics" |
	grep -E '^voxgate_(calls_started_total|calls_total|active_calls|rtp_packets_sent_total|rtp_packets_received_total|tts_cache_hits_total|sip_options_total|stt_requests_total|turn_stage_seconds_count)' |
	grep -v ' 0$' | sed 's/^/  /' || true

say "Call it yourself"
cat <<EOF
  Start the daemon:      $BIN serve -c $ROOT/examples/voxgate.yaml
                         (SIP on 127.0.0.1:5060 UDP+TCP, HTTP on 127.0.0.1:8080)
  From a softphone:      point Linphone, Zoiper or any SIP phone at
                         sip:1000@127.0.0.1:5060 (no registration needed),
                         then say what you need ("I lost my card") or press
                         1 (balance), 2 (card services) or 0 (agent).
  With baresip:          baresip -e '/dial sip:1000@127.0.0.1:5060'
  With sipp:             sipp -sn uac -s 1000 127.0.0.1:5060 -m 1
  Look at calls:         curl -s http://127.0.0.1:8080/v1/calls | jq .
EOF

# ---- verdict
fail=0
[ "$DTMF" == 1 ] || { echo "demo: expected the digit 1 in the CDR, got '$DTMF'" >&2; fail=1; }
jq -e '.flow_path | index("balance") != null' >/dev/null <<<"$CDR" ||
	{ echo "demo: the flow did not reach 'balance'" >&2; fail=1; }
[ "$(jq -r '.rtp_tx' <<<"$CDR")" -gt 100 ] || { echo "demo: voxgate sent no prompt audio" >&2; fail=1; }
jq -e '.turns | map(select(.input == "speech" and .intent == "check_balance")) | length == 1' >/dev/null <<<"$CDR2" ||
	{ echo "demo: the spoken request was not understood as check_balance" >&2; fail=1; }
jq -e '.flow_path | index("balance") != null' >/dev/null <<<"$CDR2" ||
	{ echo "demo: the speech call did not reach 'balance'" >&2; fail=1; }
jq -e '.flow_path | index("welcome_back") != null and index("open_ticket") != null' >/dev/null <<<"$CDR3" ||
	{ echo "demo: the bank-crm call did not greet the customer and open a ticket" >&2; fail=1; }

[ $SIMRC -eq 0 ] || { echo "demo: a simulated caller's expectations failed" >&2; fail=1; }

say "Stopping voxgate"
kill -TERM "$PID"
drc=0
wait "$PID" || drc=$?
PID=""
grep -E 'event=(draining|drained|exit)' "$TMP/voxgate.log" | sed -E 's/^ts=[^ ]+ //' | sed 's/^/  /'
[ $drc -eq 0 ] || { echo "demo: voxgate exited with $drc" >&2; fail=1; }

if [ $fail -ne 0 ]; then
	echo "demo: FAILED" >&2
	exit 1
fi
say "Demo OK"
