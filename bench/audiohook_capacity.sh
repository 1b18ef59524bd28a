#!/usr/bin/env bash
# bench/audiohook_capacity.sh BUILD_DIR: concurrent Genesys AudioHook monitor
# sessions (stereo PCMU, both channels endpointed and transcribed, the
# customer's utterances classified) sustained on 2 cores.
#
# Starts BUILD_DIR/src/voxgate pinned to CPUs 0-1 (taskset) with
# genesys.enabled, then for every step runs tests/node/audiohook_bench.js:
# N signed sessions streaming a looped two-party conversation (espeak-ng
# speech) in real time for SECS seconds. Per step it prints the sessions,
# transcripts received / expected (a missing one is audio dropped or an STT
# failure), agent-assist events, transcript lag p50/p99/max (end of the
# utterance streamed -> transcript received; includes the 500 ms trailing
# silence of the endpointer), the daemon's CPU use in cores, and the
# real-time factor (CPU seconds per second of audio, both channels).
# Knobs: STEPS="2 8 16" SECS=30 VG_BENCH_KEEP=1 STT_EARLY=100ms (the
# stt.early_decode setting; 0 turns it off: the decode starts at the end)
# PARTIALS=true (genesys.partials: isFinal:false transcripts while an
# utterance goes on) PARTIAL_EVERY=500ms (stt.partial_every: Moonshine's
# partials re-decode the audio so far at most this often). Per step it also
# prints the partials: per final utterance, speech start -> first partial
# p50/p99, and the service's partial decodes run / skipped / late
# (voxgate_stt_partial_decodes_total, since the daemon started).
# The monitor starts its early decode 200 ms before the end it would
# confirm, so with it the lag is the trailing silence plus what is left of
# the decode.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init audiohook "$1"
TMP=$BENCH_TMP
STEPS=${STEPS:-"2 8 16"}
SECS=${SECS:-30}
STT_EARLY=${STT_EARLY:-100ms}
PARTIALS=${PARTIALS:-true}
PARTIAL_EVERY=${PARTIAL_EVERY:-500ms}
[ -x "$VOXGATE" ] || { echo "need $VOXGATE" >&2; exit 2; }
[ -f "$BUILD_DIR/models/default.vxn" ] ||
	{ echo "need $BUILD_DIR/models/default.vxn (cmake --build $BUILD_DIR --target vg_nlu_model)" >&2; exit 2; }
for t in node espeak-ng sox taskset; do
	command -v $t >/dev/null || { echo "need $t" >&2; exit 2; }
done

AH=$(bench_port)
KEY=bench-api-key
SECRET=$(printf 'bench-client-secret' | base64)
BENCH_LOG_LEVEL=info bench_config <<YAML
nlu:
  models_dir: "$BUILD_DIR/models"
limits:
  max_calls: 500
stt:
  early_decode: $STT_EARLY
  partial_every: $PARTIAL_EVERY
genesys:
  enabled: true
  partials: $PARTIALS
  listen: 127.0.0.1:$AH
  api_key: "$KEY"
  client_secret: "$SECRET"
  knowledge: "$SRC/examples/genesys/knowledge.yaml"
YAML

say() { # text out.ulaw
	espeak-ng -v en-us -s 140 -w "$TMP/e.wav" "$1"
	sox "$TMP/e.wav" -r 8000 -c 1 -t raw -e mu-law "$2"
}
say "thank you for calling, how can I help you today" "$TMP/agent.ulaw"
say "I ordered a new card and it still has not come" "$TMP/cust.ulaw"

bench_start_with taskset -c 0,1
PID=$VG_PID

cpu_s() { # utime+stime of the daemon, seconds
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$PID/stat"
}
printf '%-9s %-11s %-7s %-22s %-6s %-8s %-6s %-9s %-15s %s\n' sessions transcripts assists \
	"lag p50/p99/max ms" cores "RTF" "errors" "part/utt" "1st p50/p99 ms" "decodes run/skip/late"
for n in $STEPS; do
	c0=$(cpu_s)
	t0=$(date +%s.%N)
	out=$(node "$SRC/tests/node/audiohook_bench.js" --port "$AH" --key "$KEY" \
		--secret "$SECRET" --n "$n" --secs "$SECS" --ext "$TMP/cust.ulaw" \
		--int "$TMP/agent.ulaw")
	t1=$(date +%s.%N)
	c1=$(cpu_s)
	pd=$(curl -s "http://127.0.0.1:$BENCH_HTTP/metrics" |
		sed -n 's/^voxgate_stt_partial_decodes_total{outcome="\([a-z]*\)"} \([0-9]*\)$/\1=\2/p' | tr '\n' ' ')
	echo "$out" >>"$TMP/results.jsonl"
	python3 - "$out" "$c0" "$c1" "$t0" "$t1" "$pd" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
cpu = float(sys.argv[3]) - float(sys.argv[2])
wall = float(sys.argv[5]) - float(sys.argv[4])
audio = 2 * r["audio_s_per_channel"]  # both channels
l = {k: ("-" if v is None else v) for k, v in r["lag_ms"].items()}  # no transcript: no lag
pd = dict(kv.split('=') for kv in sys.argv[6].split())
fp = {k: ("-" if v is None else v) for k, v in r["first_partial_ms"].items()}
print(f'{r["sessions"]:<9} {r["transcripts"]:>4}/{r["expected_transcripts"]:<6} '
      f'{r["assists"]:<7} {l["p50"]}/{l["p99"]}/{l["max"]:<14} '
      f'{cpu / wall:<6.2f} {cpu / audio if audio else 0:<8.4f} {r["errors"]:<6} '
      f'{r["partials_per_utterance"]:<9} {fp["p50"]}/{fp["p99"]:<10} '
      f'{pd.get("decoded", "-")}/{pd.get("skipped", "-")}/{pd.get("late", "-")}')
n = r["sessions"]
print(f'BENCH audiohook.s{n}.transcripts {r["transcripts"] / r["expected_transcripts"] if r["expected_transcripts"] else 0:.3f} ratio')
print(f'BENCH audiohook.s{n}.lag_p99 {l["p99"]} ms')
print(f'BENCH audiohook.s{n}.rtf {cpu / audio if audio else 0:.4f} cpu-s/audio-s')
print(f'BENCH audiohook.s{n}.partials_per_utterance {r["partials_per_utterance"]} ratio')
print(f'BENCH audiohook.s{n}.first_partial_p50 {fp["p50"]} ms')
PY
	sleep 2
done
