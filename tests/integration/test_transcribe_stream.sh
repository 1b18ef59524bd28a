#!/usr/bin/env bash
# `voxgate transcribe --stream`: flite speech (voxgate say) streamed in
# 20 ms frames through stt_stream_*() to PocketSphinx, in LM and grammar
# mode. Checks: the final text, partials that grow before the end of the
# audio, a finalize time inside the 150 ms budget, the JSON shape, and the
# usage error for --stream with --no-vad. Skips when PocketSphinx's model
# is not installed.
. "$(dirname "$0")/lib.sh"
vg_init
vg_need python3

wav=$VG_TMP/u.wav
"$VOXGATE" say "I want to transfer money." -o "$wav" --voice slt >/dev/null 2>>"$VG_LOG" ||
	vg_fail "voxgate say failed"

set +e
out=$(timeout 60 "$VOXGATE" transcribe "$wav" --engine pocketsphinx \
	--lm-from "$VG_SOURCE_DIR/data/banking77/train.tsv" --stream --json 2>>"$VG_LOG")
rc=$?
set -e
if [ "$rc" -ne 0 ] && grep -q "no STT engine installed" "$VG_LOG"; then
	vg_say "SKIP: PocketSphinx is not installed"
	exit 0
fi
vg_assert_eq "LM stream exits 0" 0 "$rc"
# text | number of partials | non-empty partials before the last 100 ms |
# partial offsets increasing | finalize ms
summary() {
	python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
p = j["partials"]
early = sum(1 for x in p if x["text"] and x["ms"] < j["audio_ms"] - 100)
inc = all(a["ms"] < b["ms"] for a, b in zip(p, p[1:]))
print("%s|%d|%d|%d|%d|%s" % (j["text"], len(p), early, inc, round(j["finalize_ms"]),
      j.get("grammar_phrase", "")))'
}
IFS='|' read -r text np early inc fin phrase <<<"$(summary <<<"$out")"
vg_say "LM: \"$text\", $np partials, finalize $fin ms"
vg_assert_eq "LM final text" "i want to transfer money" "$text"
vg_assert_ge "LM partials" "$np" 2
vg_assert_ge "LM non-empty partials before the end of the audio" "$early" 1
vg_assert_eq "LM partial offsets increase" 1 "$inc"
vg_assert_le "LM finalize ms" "$fin" 150

printf 'balance\ncard services\ntransfer money\nagent\n' >"$VG_TMP/menu.txt"
"$VOXGATE" say "Transfer money." -o "$wav" --voice kal >/dev/null 2>>"$VG_LOG" ||
	vg_fail "voxgate say failed"
out=$(timeout 60 "$VOXGATE" transcribe "$wav" --engine pocketsphinx \
	--grammar "$VG_TMP/menu.txt" --stream --json 2>>"$VG_LOG") ||
	vg_fail "grammar stream failed"
IFS='|' read -r text np early inc fin phrase <<<"$(summary <<<"$out")"
vg_say "grammar: \"$text\", $np partials, finalize $fin ms"
vg_assert_eq "grammar final text" "transfer money" "$text"
vg_assert_eq "grammar phrase" "transfer money" "$phrase"
vg_assert_ge "grammar partials" "$np" 1
vg_assert_le "grammar finalize ms" "$fin" 150

# plain output: partial lines, then final and finalize
plain=$(timeout 60 "$VOXGATE" transcribe "$wav" --engine pocketsphinx \
	--grammar "$VG_TMP/menu.txt" --stream 2>>"$VG_LOG")
vg_assert_match "partial lines" "partial @ +[0-9.]+ s: " "$plain"
vg_assert_match "final line" "final: transfer money \(confidence" "$plain"
vg_assert_match "finalize line" "finalize: [0-9.]+ ms" "$plain"

set +e
"$VOXGATE" transcribe "$wav" --stream --no-vad >/dev/null 2>&1
rc=$?
set -e
vg_assert_eq "--stream with --no-vad is a usage error" 2 "$rc"
vg_done
