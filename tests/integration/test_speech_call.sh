#!/usr/bin/env bash
# A caller that speaks: "I want to check my balance" (espeak-ng, 8 kHz,
# wrapped as RTP by tests/tools/wav2pcap) is played by sipp into the
# bank-hotline main_menu, which takes open speech (VAD endpointing, STT,
# NLU) as well as DTMF. Two calls:
#   after   the caller waits for the menu prompt to end, then speaks
#   during  the caller speaks ~1 s into the menu prompt (barge-in)
# A silent calibration call first finds where the prompts are.
# Checks per call: the turn recorded for main_menu (GET /v1/calls/{id}
# "turns", else the turns table) has input speech and a transcript within
# WER <= 20% of what was said; the intent is check_balance (when the
# daemon reports one); barge_in is false/true; the call reaches the
# balance node (CDR flow_path) and the balance prompt plays; in the
# capture of the caller's media port, the bot is silent while the caller
# speaks and its reply starts after the caller stops, within
# VG_REPLY_MAX_MS (default 5000 ms: endpointing silence + STT under ASan).
# Measurements (reply latency, per-turn times) are printed.
source "$(dirname "$0")/lib.sh"
vg_init
vg_speech_init
vg_pick_ports
vg_config
vg_start 120

SAY="I want to check my balance"
WER_MAX=20
REPLY_MAX_MS=${VG_REPLY_MAX_MS:-5000}

vg_speech_pcap "$SAY" "$VG_TMP/say.pcap" -t 4000
vg_say "caller speech: \"$SAY\" $(cat "$VG_TMP/say.info"), voiced ${VG_SPEECH_ONSET_MS}..${VG_SPEECH_END_MS} ms"

# ---- calibration: where the prompts are
vg_prompt_timing 16000
[ "$VG_PROMPT_END_MS" -gt 0 ] ||
	vg_fail "the opening prompts did not stop within the calibration call"

# One speech call; VARIANT is after|during.
speech_call() { # variant speak_at_ms
	local variant=$1 speak_at=$2 mp sf rc=0 caller onset speech_end
	local prompt_stop bot_during reply_at cid id body turn transcript wer
	vg_say "---- call '$variant': the caller speaks at ~${speak_at} ms"
	vg_pick_port mp
	vg_capture_media_start "$mp"
	# Like a phone, the caller sends RTP (silence) from the start.
	vg_speech_pcap "$SAY" "$VG_TMP/say-$variant.pcap" -l "$speak_at" -t 4000
	sf=$(vg_scenario uac_speech.xml HOLD_MS=30000 SPEAK_AT_MS=0 \
		SPEECH_PCAP="$VG_TMP/say-$variant.pcap" AFTER_BLOCK=)
	VG_SIPP_MP=$mp vg_sipp "$variant" "$sf" -m 1 -timeout 60s -timeout_error || rc=$?
	vg_capture_stop
	[ $rc -eq 0 ] || { vg_sipp_explain "$variant"; vg_fail "sipp call '$variant' failed (exit $rc)"; }
	vg_ok "$variant: sipp call completed"

	# ---- timing from the capture (ms from the first RTP packet)
	caller=$(vg_rtptiming -p "$mp" -d src -A 0 -g 500 -m 200)
	onset=$(vg_kv first_voiced_after "$caller" -1)
	speech_end=$(vg_kv end_ms "$(grep '^segment n=1 ' <<<"$caller")" -1)
	[ "$onset" -ge 0 ] || vg_fail "$variant: no voiced audio in the caller's RTP"
	prompt_stop=$(vg_kv stop_after "$(vg_rtptiming -p "$mp" -d dst -g 600 -S 0)" -1)
	bot_during=$(vg_kv first_voiced_after "$(vg_rtptiming -p "$mp" -d dst -A $((onset + 300)))" -1)
	reply_at=$(vg_kv first_voiced_after "$(vg_rtptiming -p "$mp" -d dst -A "$speech_end")" -1)
	vg_say "$variant: opening prompts stop at ${prompt_stop} ms; caller speaks ${onset}..${speech_end} ms; bot audio from $((onset + 300)) ms: ${bot_during} ms; reply starts ${reply_at} ms"
	if [ "$variant" == after ]; then
		vg_assert "$variant: the caller started after the prompts ended" \
			test "$onset" -ge "$prompt_stop"
	else
		# The calibration call says main_menu plays from VG_MENU_START_MS to
		# VG_PROMPT_END_MS; the bot's voice reaches up to about the onset
		# (the prompt's last voiced frame may fall in a word gap just before
		# it, then barge-in cuts it), and it stops long before its end.
		vg_assert "$variant: the caller started while the prompt played" \
			test "$onset" -ge "$VG_MENU_START_MS" -a "$onset" -lt "$VG_PROMPT_END_MS" \
			-a $((prompt_stop + 300)) -ge "$onset"
		vg_assert "$variant: barge-in cut the prompt short" \
			test "$prompt_stop" -lt $((VG_PROMPT_END_MS - 1000))
	fi
	# 300 ms after the onset leaves room for the barge-in stop itself
	# (measured by test_barge_in).
	vg_assert "$variant: the bot is silent while the caller speaks" \
		test "$bot_during" -lt 0 -o "$bot_during" -ge "$speech_end"
	# With the bot silent during the speech, the first voiced frame after
	# the caller's last one is the reply.
	vg_assert "$variant: reply audio follows the caller's speech" test "$reply_at" -ge 0
	if [ "$reply_at" -ge 0 ]; then
		vg_say "MEASURED $variant: reply latency $((reply_at - speech_end)) ms (caller's last voiced frame -> first voiced reply frame)"
		vg_assert_le "$variant: reply latency (ms)" $((reply_at - speech_end)) "$REPLY_MAX_MS"
	fi

	# ---- CDR and the turn record
	cid=$(vg_sipp_call_id "$variant")
	id=$(vg_cdr_id "$cid")
	path=$(vg_sql "SELECT flow_path FROM calls WHERE id='$id'")
	prompts=$(vg_sql "SELECT prompts FROM calls WHERE id='$id'")
	vg_say "$variant: CDR $id flow_path=$path"
	vg_assert "$variant: CDR flow_path has main_menu then balance" \
		jq -e 'index("main_menu") != null and index("balance") != null and index("main_menu") < index("balance")' <<<"$path"
	vg_assert "$variant: CDR prompts: balance played for over 2 s" \
		jq -e 'map(select(.name == "balance" and .played_ms > 2000)) | length == 1' <<<"$prompts"
	if [ "$variant" == during ]; then
		vg_assert "$variant: CDR prompts: main_menu interrupted" \
			jq -e 'map(select(.name == "main_menu")) | .[0].interrupted == true' <<<"$prompts"
	fi

	body=$(vg_http "/v1/calls/$id") || vg_fail "GET /v1/calls/$id failed"
	turn=$(jq -c '(.turns // []) | map(select(.node == "main_menu")) | .[0] // empty' <<<"$body")
	if [ -z "$turn" ]; then
		# The API has no turns yet: the table may.
		turn=$(vg_sql "SELECT json_object('node', node, 'input', input, 'transcript', transcript,
			'stt_engine', stt_engine, 'stt_confidence', stt_confidence, 'intent', intent,
			'intent_confidence', intent_confidence, 'barge_in', json(CASE barge_in WHEN 1 THEN 'true' WHEN 0 THEN 'false' ELSE 'null' END),
			'from', 'turns table')
			FROM turns WHERE call_id='$id' AND node='main_menu' ORDER BY seq LIMIT 1" 2>/dev/null || true)
		[ -n "$turn" ] && vg_bad "$variant: GET /v1/calls/{id} has no main_menu turn (the turns table has one)"
	fi
	vg_say "$variant: turn: ${turn:-<none>}"
	if [ -z "$turn" ]; then
		vg_bad "$variant: no main_menu turn recorded (API 'turns' or the turns table)"
		return 0
	fi
	transcript=$(jq -r '.transcript // ""' <<<"$turn")
	wer=$(vg_wer "$SAY" "$transcript")
	vg_say "MEASURED $variant: transcript \"$transcript\" WER ${wer}% (stt_engine $(jq -r '.stt_engine // "?"' <<<"$turn"))"
	vg_assert_eq "$variant: turn input" speech "$(jq -r '.input // ""' <<<"$turn")"
	vg_assert_le "$variant: transcript WER (%) against \"$SAY\"" "$wer" "$WER_MAX"
	if jq -e '.intent != null' <<<"$turn" >/dev/null; then
		vg_assert_eq "$variant: turn intent" check_balance "$(jq -r '.intent' <<<"$turn")"
	else
		vg_say "$variant: the turn has no intent field yet (not asserted)"
	fi
	vg_assert_eq "$variant: turn barge_in" "$([ "$variant" == during ] && echo true || echo false)" \
		"$(jq -r '.barge_in' <<<"$turn")"
	# Early decode (stt.early_decode, default 100 ms): the decode starts in
	# the caller's final pause, so the transcript is ready about when the
	# end of speech is confirmed.
	vg_assert_eq "$variant: turn stt_early (decoded during the trailing silence)" true \
		"$(jq -r '.stt_early' <<<"$turn")"
	if jq -e '.t_ms | type == "object"' <<<"$turn" >/dev/null; then
		vg_say "MEASURED $variant: turn t_ms (from speech_end): $(jq -c '.t_ms' <<<"$turn")"
		vg_assert "$variant: turn t_ms are ordered (stt_final <= response <= first_rtp)" \
			jq -e '.t_ms | (.stt_final <= .response) and (.response <= .first_rtp)' <<<"$turn"
	fi
}

# After the prompts: 700 ms into the menu's wait for input.
speech_call after $((VG_PROMPT_END_MS + 700))
# During the prompt: over 1 s into main_menu, inside a sentence.
speech_call during "$VG_BARGE_AT_MS"

metrics=$(vg_http /metrics) || vg_fail "GET /metrics failed"
vg_say "MEASURED early decodes: $(grep '^voxgate_stt_early_total' <<<"$metrics" | tr '\n' ' ')"
used=$(sed -n 's/^voxgate_stt_early_total{outcome="used"} //p' <<<"$metrics")
vg_assert_ge "early decodes used (one per spoken turn)" "${used:-0}" 2

vg_stop
vg_done
