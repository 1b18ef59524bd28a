#!/usr/bin/env bash
# `voxgate transcribe --stream`: flite speech (voxgate say) streamed in
# 20 ms frames through stt_stream_*() to PocketSphinx, in LM and grammar
# mode, and to Moonshine (emulated partials). Checks: the final text,
# partials that grow before the end of the audio, a finalize time inside
# the 150 ms budget (PocketSphinx), the JSON shape, and the
# usage error for --stream with --no-vad. Then `voxgate transcribe` of the
# same file in LM mode, plain and --degrade: "degraded" in the JSON (per
# segment and overall) and the text output. Skips when PocketSphinx's model
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
print("%s|%d|%d|%d|%d|%s|%s" % (j["text"], len(p), early, inc, round(j["finalize_ms"]),
      j.get("grammar_phrase", ""), json.dumps(j.get("degraded"))))'
}
IFS='|' read -r text np early inc fin phrase deg <<<"$(summary <<<"$out")"
vg_say "LM: \"$text\", $np partials, finalize $fin ms"
vg_assert_eq "LM final text" "i want to transfer money" "$text"
vg_assert_ge "LM partials" "$np" 2
vg_assert_ge "LM non-empty partials before the end of the audio" "$early" 1
vg_assert_eq "LM partial offsets increase" 1 "$inc"
vg_assert_le "LM finalize ms" "$fin" 150
vg_assert_eq "LM stream not degraded" false "$deg"

# the same file decoded whole (VAD segments), on time and as under load:
# text | segments' "degraded" | the top-level "degraded"
decoded() {
	python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
print("%s|%s|%s" % (j["text"], ",".join(json.dumps(s.get("degraded"))
      for s in j["segments"]), json.dumps(j.get("degraded"))))'
}
for mode in on-time degrade; do
	flag=
	[ "$mode" = degrade ] && flag=--degrade
	out=$(timeout 60 "$VOXGATE" transcribe "$wav" --engine pocketsphinx \
		--lm-from "$VG_SOURCE_DIR/data/banking77/train.tsv" $flag --json \
		2>>"$VG_LOG") || vg_fail "transcribe --json $flag failed"
	IFS='|' read -r text segs deg <<<"$(decoded <<<"$out")"
	vg_say "$mode: \"$text\", segments degraded: $segs"
	want=false
	[ "$mode" = degrade ] && want=true
	vg_assert_eq "$mode: one segment, its \"degraded\"" "$want" "$segs"
	vg_assert_eq "$mode: top-level \"degraded\"" "$want" "$deg"
	[ "$mode" = degrade ] ||
		vg_assert_eq "$mode: text" "i want to transfer money" "$text"
done
plain=$(timeout 60 "$VOXGATE" transcribe "$wav" --engine pocketsphinx \
	--lm-from "$VG_SOURCE_DIR/data/banking77/train.tsv" --degrade 2>>"$VG_LOG") ||
	vg_fail "transcribe --degrade failed"
vg_assert_match "segment line says degraded" "ms, degraded\)" "$plain"
vg_assert_match "timings line counts degraded" "RTF: [0-9.]+  degraded: 1 of 1" "$plain"

printf 'balance\ncard services\ntransfer money\nagent\n' >"$VG_TMP/menu.txt"
"$VOXGATE" say "Transfer money." -o "$wav" --voice kal >/dev/null 2>>"$VG_LOG" ||
	vg_fail "voxgate say failed"
out=$(timeout 60 "$VOXGATE" transcribe "$wav" --engine pocketsphinx \
	--grammar "$VG_TMP/menu.txt" --stream --json 2>>"$VG_LOG") ||
	vg_fail "grammar stream failed"
IFS='|' read -r text np early inc fin phrase deg <<<"$(summary <<<"$out")"
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
vg_assert_match "finalize line" "finalize: [0-9.]+ ms .*degraded: no" "$plain"

# Moonshine cannot stream: the service emulates its partials (the audio
# so far re-decoded every 500 ms or more), so partials come before the end
# of the audio here too, each the decode of a longer prefix.
"$VOXGATE" say "I would like to transfer money to my savings account." \
	-o "$VG_TMP/m.wav" --voice slt >/dev/null 2>>"$VG_LOG" ||
	vg_fail "voxgate say failed"
set +e
# (onnxruntime's one-time allocation is suppressed as for the daemon)
out=$(LSAN_OPTIONS=$(vg_lsan_options) timeout 60 "$VOXGATE" transcribe \
	"$VG_TMP/m.wav" --engine moonshine --stream --json 2>>"$VG_LOG")
rc=$?
set -e
if [ "$rc" -ne 0 ] && grep -q "no STT engine installed" "$VG_LOG"; then
	vg_say "SKIP (Moonshine part): Moonshine is not installed"
else
	vg_assert_eq "Moonshine stream exits 0" 0 "$rc"
	IFS='|' read -r text np early inc fin phrase deg <<<"$(summary <<<"$out")"
	vg_say "Moonshine: \"$text\", $np partials, finalize $fin ms"
	vg_assert_match "Moonshine final text" "savings account" "$text"
	vg_assert_ge "Moonshine emulated partials" "$np" 2
	vg_assert_ge "Moonshine partials before the end of the audio" "$early" 2
	vg_assert_eq "Moonshine partial offsets increase" 1 "$inc"
	plain=$(LSAN_OPTIONS=$(vg_lsan_options) timeout 60 "$VOXGATE" \
		transcribe "$VG_TMP/m.wav" --engine moonshine --stream \
		2>>"$VG_LOG") ||
		vg_fail "Moonshine plain stream failed"
	vg_assert_match "Moonshine partial lines" "partial @ +[0-9.]+ s: " "$plain"
fi

set +e
"$VOXGATE" transcribe "$wav" --stream --no-vad >/dev/null 2>&1
rc=$?
set -e
vg_assert_eq "--stream with --no-vad is a usage error" 2 "$rc"
vg_done
