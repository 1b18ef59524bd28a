#!/usr/bin/env bash
# bench/adapter_turns.sh BUILD_DIR: one caller turn through each adapter,
# timed as the caller experiences it (issue [5/7], "turn latency through
# each adapter").
#
# Starts BUILD_DIR/src/voxgate on loopback (a temp dir, the built-in
# bank-hotline flow, every adapter enabled) and plays the same spoken turn
# (SAY, synthesized once with `voxgate say --voice slt`, 8 kHz) N times
# through each adapter, one session at a time:
#   sip             `voxgate simulate --json` (a scenario with a wav: turn);
#                   its turn latency: the caller's end of speech -> first
#                   voiced reply RTP
#   audiosocket     tests/tools/asclient: last voiced frame sent -> first
#                   voiced frame received
#   twilio-media    tests/node/turn_client.js --proto mstream: the same on
#                   media messages
#   audioconnector  tests/node/turn_client.js --proto audioconnector: the
#                   same on PCMU binary frames (Genesys Audio Connector)
#   fastagi         tests/integration/agi_asterisk.py --timing (control:
#                   Asterisk plays): the first RECORD FILE's 200 sent -> the
#                   STREAM FILE of the reply received (voxgate's STT of the
#                   file, NLU, TTS of the reply into sounds_dir)
#   twilio-gather   turn_client.js --proto gather (control: Twilio's own
#                   STT and playback are outside voxgate): POST /twilio/gather
#                   with SpeechResult -> the TwiML answer
# Prints per adapter: turns measured, p50/p95 ms, the server's own stages
# (p50 of the CDR turns' t_ms via GET /v1/calls/{id}: stt_final, nlu_done,
# tts_ready, first_rtp, ms after the detected end of speech) and p50 and
# p95 against the seed's 1.5 s round trip. A part whose tool is missing is
# skipped with a line saying so; a part whose turns all fail says so too.
# Knobs: N=10 ADAPTERS="sip audiosocket twilio-media audioconnector fastagi
# twilio-gather" SAY="I want to check my balance" STT_EARLY=100ms (the
# daemon's stt.early_decode; 0 = off, to compare) VG_BENCH_LOG=warn (the
# daemon's log.level) VG_BENCH_KEEP=1 (keep the temp dir: the daemon log,
# each client's JSON line in <adapter>.out).
set -uo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init turns "$1"
TMP=$BENCH_TMP
ASCLIENT=${ASCLIENT:-$BUILD_DIR/tests/asclient}
NODE_DIR=$SRC/tests/node
N=${N:-10}
ADAPTERS=${ADAPTERS:-"sip audiosocket twilio-media audioconnector fastagi twilio-gather"}
SAY=${SAY:-"I want to check my balance"}
STT_EARLY=${STT_EARLY:-100ms}
SEED_MS=1500
for t in jq curl sqlite3 python3; do
	command -v "$t" >/dev/null || { echo "need $t" >&2; exit 2; }
done
[ -x "$VOXGATE" ] || { echo "need $VOXGATE (cmake --build $BUILD_DIR --target voxgate)" >&2; exit 2; }

AS=$(bench_port) AGI=$(bench_port) MS=$(bench_port) AH=$(bench_port)
TOKEN=0123456789abcdef0123456789abcdef
PUBLIC=https://vg.example.test
KEY=bench-api-key-0123456789
SECRET=$(printf 'audio-connector-bench-secret-012' | base64)
mkdir -p "$TMP/sounds"
BENCH_LOG_LEVEL=${VG_BENCH_LOG:-warn} bench_config <<YAML
stt:
  early_decode: $STT_EARLY
rtp:
  address: 127.0.0.1
  port_min: 42000
  port_max: 44999
asterisk:
  agi_enabled: true
  agi_listen: 127.0.0.1:$AGI
  sounds_dir: $TMP/sounds
  audiosocket_enabled: true
  audiosocket_listen: 127.0.0.1:$AS
twilio:
  enabled: true
  auth_token: "$TOKEN"
  public_url: "$PUBLIC"
  media_enabled: true
  media_listen: 127.0.0.1:$MS
genesys:
  enabled: true
  listen: 127.0.0.1:$AH
  api_key: "$KEY"
  client_secret: "$SECRET"
YAML
bench_start
HTTP=$BENCH_HTTP SIP=$BENCH_SIP

# The caller's turn, once: WAV (s16) for asclient/AGI/simulate, mu-law
# for the WebSocket clients.
if ! "$VOXGATE" say "$SAY" -o "$TMP/say.wav" --voice slt --rate 8000 >"$TMP/say.log" 2>&1; then
	command -v espeak-ng >/dev/null && command -v sox >/dev/null ||
		{ cat "$TMP/say.log" >&2; echo "cannot synthesize the turn" >&2; exit 1; }
	espeak-ng -v en-us -s 140 -w "$TMP/say.raw.wav" "$SAY" &&
		sox "$TMP/say.raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$TMP/say.wav" || exit 1
fi
python3 - "$TMP/say.wav" "$TMP/say.ulaw" <<'PY' || { echo "cannot write mu-law" >&2; exit 1; }
import struct, sys
d = open(sys.argv[1], "rb").read()
i, pcm = 12, b""
while i + 8 <= len(d):
    cid, n = d[i:i + 4], struct.unpack("<I", d[i + 4:i + 8])[0]
    if cid == b"data":
        pcm = d[i + 8:i + 8 + n]
        break
    i += 8 + n + (n & 1)
def ulaw(s):  # G.711 mu-law encoder
    sign = 0x80 if s < 0 else 0
    s = min(abs(s), 32635) + 0x84
    e = 7
    while e > 0 and not s & (0x4000 >> (7 - e)):
        e -= 1
    return ~(sign | e << 4 | (s >> (e + 3)) & 0x0f) & 0xff
n = len(pcm) // 2
open(sys.argv[2], "wb").write(bytes(ulaw(v) for v in struct.unpack("<%dh" % n, pcm[:2 * n])))
PY
SPEECH_MS=$(($(stat -c %s "$TMP/say.ulaw") / 8))

# ---- results: $TMP/<adapter>.lat (one turn ms a line), .ids (CDR ids)
skip() { printf '%-15s skipped: %s\n' "$1" "$2" >>"$TMP/skips"; }
have_node() { # module...
	command -v node >/dev/null || return 1
	local m
	for m in "$@"; do [ -d "$NODE_DIR/node_modules/$m" ] || return 1; done
}
note_fail() { # adapter text
	echo "$2" | head -c 300 >>"$TMP/$1.fail"
	echo >>"$TMP/$1.fail"
}

run_sip() {
	cat >"$TMP/turn.yaml" <<YAML
name: adapter turn bench
target: sip:1000@127.0.0.1:$SIP
from: "+14155550199"
turns:
  - wav: say.wav
YAML
	timeout $((N * 40 + 30)) "$VOXGATE" simulate "$TMP/turn.yaml" --api "http://127.0.0.1:$HTTP" \
		--calls "$N" --concurrency 1 --json --quiet >"$TMP/sim.json" 2>"$TMP/sim.err" || true
	jq -e . "$TMP/sim.json" >/dev/null 2>&1 || { note_fail sip "$(cat "$TMP/sim.err")"; return; }
	jq -r '.call_results[]?.turns[]?.latency_ms | numbers' "$TMP/sim.json" >"$TMP/sip.lat"
	jq -r '.failures[]? | .reason' "$TMP/sim.json" 2>/dev/null | head -3 |
		while read -r r; do note_fail sip "$r"; done
	jq -r '.call_results[]?.cdr_id | strings' "$TMP/sim.json" >"$TMP/sip.ids"
}

run_audiosocket() {
	[ -x "$ASCLIENT" ] || { skip audiosocket "no $ASCLIENT (cmake --build $BUILD_DIR --target asclient)"; return 1; }
	local i uuid out
	for i in $(seq 1 "$N"); do
		uuid=$(printf 'be0c%028x' "$i")
		out=$(timeout 60 "$ASCLIENT" -u "$uuid" -w "$TMP/say.wav" -g 700 \
			-t $((SPEECH_MS + 25000)) 127.0.0.1 "$AS" 2>&1) || { note_fail audiosocket "$out"; continue; }
		local ve rp
		ve=$(sed -nE 's/.*voiced_end_ms=(-?[0-9]+).*/\1/p' <<<"$out")
		rp=$(sed -nE 's/.*reply_ms=(-?[0-9]+).*/\1/p' <<<"$out")
		if [ "${ve:--1}" -ge 0 ] && [ "${rp:--1}" -ge 0 ]; then
			echo $((rp - ve)) >>"$TMP/audiosocket.lat"
		else
			note_fail audiosocket "no reply: $out"
		fi
		echo "${uuid:0:8}-${uuid:8:4}-${uuid:12:4}-${uuid:16:4}-${uuid:20:12}" >>"$TMP/audiosocket.ids"
	done
}

run_node() { # adapter proto id_key args...
	local ad=$1 proto=$2 key=$3 i out
	shift 3
	for i in $(seq 1 "$N"); do
		out=$(timeout 70 node "$NODE_DIR/turn_client.js" --proto "$proto" "$@" 2>&1)
		echo "$out" >>"$TMP/$ad.out"
		if jq -e '.turn_ms >= 0' <<<"$out" >/dev/null 2>&1; then
			jq -r .turn_ms <<<"$out" >>"$TMP/$ad.lat"
		else
			note_fail "$ad" "$out"
		fi
		[ "$key" = - ] || jq -r ".$key // empty" <<<"$out" 2>/dev/null >>"$TMP/$ad.keys"
	done
}

run_twilio_media() {
	have_node ws twilio || { skip twilio-media "node or npm ws/twilio missing in tests/node (scripts/install-deps.sh)"; return 1; }
	run_node twilio-media mstream call_id --port "$MS" --public "$PUBLIC" \
		--token "$TOKEN" --ulaw "$TMP/say.ulaw" --gap 700 --timeout 60000
	ids_by_key twilio-media
}

run_audioconnector() {
	have_node ws || { skip audioconnector "node or npm ws missing in tests/node (scripts/install-deps.sh)"; return 1; }
	run_node audioconnector audioconnector call_id --port "$AH" --key "$KEY" \
		--secret "$SECRET" --ulaw "$TMP/say.ulaw" --gap 700 --timeout 60000
	ids_by_key audioconnector
}

run_twilio_gather() {
	have_node twilio || { skip twilio-gather "node or npm twilio missing in tests/node (scripts/install-deps.sh)"; return 1; }
	run_node twilio-gather gather call_id --base "http://127.0.0.1:$HTTP" \
		--public "$PUBLIC" --token "$TOKEN" --say "$SAY" --timeout 20000
	ids_by_key twilio-gather
}

run_fastagi() {
	local i out
	for i in $(seq 1 "$N"); do
		out=$(timeout 70 python3 "$SRC/tests/integration/agi_asterisk.py" "$AGI" \
			--speech "$TMP/say.wav" --timeout 60 --timing \
			--uniqueid "1700000000.$((100 + i))" 2>&1)
		if jq -e '.turn_ms >= 0' <<<"$out" >/dev/null 2>&1; then
			jq -r .turn_ms <<<"$out" >>"$TMP/fastagi.lat"
		else
			note_fail fastagi "$(jq -c '{commands: .commands[-4:], vars}' <<<"$out" 2>/dev/null || echo "$out")"
		fi
		echo "1700000000.$((100 + i))" >>"$TMP/fastagi.keys"
	done
	ids_by_key fastagi
}

# CDR ids from the platform's call ids (sip_call_id) the clients reported.
ids_by_key() { # adapter
	local k
	[ -s "$TMP/$1.keys" ] || return 0
	sleep 1
	while read -r k; do
		sqlite3 "$TMP/cdr.db" "SELECT id FROM calls WHERE sip_call_id='$k' OR id='$k'"
	done <"$TMP/$1.keys" >"$TMP/$1.ids"
}

# p-th percentile (nearest rank) of the numbers on stdin, with D decimals.
pct() { # p [D]
	sort -g | awk -v p="$1" -v d="${2:-0}" '{ a[NR] = $1 } END {
	if (!NR) { print "-"; exit }
	r = int((p / 100) * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR
	printf("%." d "f\n", a[r]) }'
}

# The server's stages for an adapter: p50 of each t_ms milestone over the
# speech turns (the first turn with t_ms.stt_final) of its calls.
stages() { # adapter
	local id
	[ -s "$TMP/$1.ids" ] || { echo "no-cdr - - -"; return; }
	while read -r id; do
		[ -n "$id" ] || continue
		curl -sf -m 5 "http://127.0.0.1:$HTTP/v1/calls/$id" |
			jq -r '[.turns[]? | select(.t_ms.stt_final != null)][0].t_ms // empty
				| "\(.stt_final) \(.nlu_done) \(.tts_ready // "null") \(.first_rtp // "null")"'
	done <"$TMP/$1.ids" >"$TMP/$1.stages"
	[ -s "$TMP/$1.stages" ] || { echo "no-t_ms - - -"; return; }
	local c s=""
	for c in 1 2 3 4; do
		s+="$(awk -v c=$c '$c != "null" { print $c }' "$TMP/$1.stages" | pct 50 1) "
	done
	echo "$s"
}

echo "voxgate $("$VOXGATE" --version 2>/dev/null | head -1) ($BUILD_DIR), $(nproc) CPUs," \
	"load $(cut -d' ' -f1-3 /proc/loadavg); turn: \"$SAY\" (${SPEECH_MS} ms, slt), N=$N"
for ad in $ADAPTERS; do
	start=$SECONDS
	case $ad in
	sip) run_sip ;;
	audiosocket) run_audiosocket ;;
	twilio-media) run_twilio_media ;;
	audioconnector) run_audioconnector ;;
	fastagi) run_fastagi ;;
	twilio-gather) run_twilio_gather ;;
	*) skip "$ad" "unknown adapter" ;;
	esac
	echo "  $ad: $((SECONDS - start)) s" >&2
done

printf '\n%-15s %-6s %-8s %-8s %-30s %s\n' adapter turns "p50 ms" "p95 ms" \
	"server p50 stt/nlu/tts/1st ms" "p50/1.5s p95/1.5s"
rc=0
for ad in $ADAPTERS; do
	grep -q "^$ad " "$TMP/skips" 2>/dev/null && continue
	if [ -s "$TMP/$ad.lat" ]; then
		n=$(wc -l <"$TMP/$ad.lat")
		p50=$(pct 50 <"$TMP/$ad.lat")
		p95=$(pct 95 <"$TMP/$ad.lat")
	else
		n=0 p50=- p95=-
	fi
	read -r s1 s2 s3 s4 < <(stages "$ad")
	case $s1 in
	no-cdr) st="(no CDR found)" ;;
	no-t_ms) st="(CDR turns carry no t_ms)" ;;
	*) st="$s1/$s2/$s3/$s4" ;;
	esac
	ratio=-
	[ "$p50" != - ] && ratio=$(awk -v a="$p50" -v b="$p95" -v s=$SEED_MS \
		'BEGIN { printf "%.2f %.2f", a / s, b / s }')
	printf '%-15s %-6s %-8s %-8s %-30s %s\n' "$ad" "$n/$N" "$p50" "$p95" \
		"$st" "$ratio"
	# the issue's turn targets apply to the media adapters; fastagi and
	# twilio-gather time other things (see the note below the table)
	tp50="<=350" tp95="<=600"
	case $ad in fastagi | twilio-gather) tp50="" tp95="" ;; esac
	bench_figure "turn.$ad.p50" "$p50" ms "$tp50"
	bench_figure "turn.$ad.p95" "$p95" ms "$tp95"
	if [ -s "$TMP/$ad.fail" ]; then
		echo "  failed turns ($ad): $(sort "$TMP/$ad.fail" | uniq -c | head -3 | tr '\n' ' ')"
		rc=1
	fi
	[ "$n" = 0 ] && rc=1
done
[ -s "$TMP/skips" ] && cat "$TMP/skips"
echo "(control adapters: fastagi = RECORD FILE result -> STREAM FILE of the reply;" \
	"twilio-gather = the gather webhook's answer time; server stages are ms after the detected end of speech)"
exit $rc
