#!/usr/bin/env bash
# Asterisk AudioSocket, end to end: the daemon with
# asterisk.audiosocket_enabled; tests/tools/asclient plays Asterisk: it
# sends a UUID, streams silence at real-time pace until the bank-hotline's
# opening prompts end, then "I want to check my balance" (espeak-ng, 8 kHz),
# then silence, and records the bot's audio. Checks: the CDR (platform
# audiosocket, id = the UUID, flow_path reaches balance, the main_menu turn's
# intent check_balance), reply audio after the speech, our frames paced at
# 20 ms, speech barge-in during main_menu (the prompt cut within a few
# frames), and that a session the daemon hangs up on gets a hangup
# frame (drain at SIGTERM).
source "$(dirname "$0")/lib.sh"
vg_init
vg_need jq espeak-ng sox
vg_tool_bin asclient
vg_pick_ports
vg_pick_port VG_AS_PORT
VG_DRAIN_TIMEOUT=2s
VG_EXTRA_YAML="asterisk:
  audiosocket_enabled: true
  audiosocket_listen: 127.0.0.1:$VG_AS_PORT"
vg_config
vg_start 120
vg_assert_log "AudioSocket listener up" "event=audiosocket_listening addr=127.0.0.1:$VG_AS_PORT"

SAY="I want to check my balance"
UUID_HEX=0123456789abcdef0123456789abcdef
UUID=01234567-89ab-cdef-0123-456789abcdef
vg_say_wav "$SAY" "$VG_TMP/say.wav"

out=$("$ASCLIENT" -u "$UUID_HEX" -w "$VG_TMP/say.wav" -g 700 -t 25000 \
	127.0.0.1 "$VG_AS_PORT") || vg_fail "asclient failed"
vg_say "asclient: $out"
vg_assert_eq "no malformed frames from us" 0 "$(vg_kv bad "$out")"
vg_assert_ge "bot audio frames received" "$(vg_kv frames_rx "$out")" 500
vg_assert "the opening prompts ended before the caller spoke" \
	test "$(vg_kv prompt_end_ms "$out" -1)" -gt 0
vg_assert "the caller's speech was sent" test "$(vg_kv speak_end_ms "$out" -1)" -gt 0
vg_assert "the bot was silent while the caller spoke" test "$(vg_kv voiced_during_speech "$out" -1)" -eq 0
reply=$(vg_kv reply_ms "$out" -1)
vg_assert "reply audio came back after the speech" test "$reply" -gt 0
[ "$reply" -gt 0 ] &&
	vg_say "MEASURED reply latency $((reply - $(vg_kv voiced_end_ms "$out"))) ms (caller's last voiced frame -> first voiced reply frame)"
# Client-side arrival: the median is the pacing; the tail is mostly this
# machine's scheduling (reported, not asserted).
vg_assert_le "frame arrival jitter p50 (us)" "$(vg_kv jitter_p50_us "$out")" 2000
vg_say "MEASURED frame arrival jitter p50 $(vg_kv jitter_p50_us "$out") us, p99 $(vg_kv jitter_p99_us "$out") us, max $(vg_kv jitter_max_us "$out") us"

vg_wait_sql "SELECT count(*) FROM calls WHERE id='$UUID' AND ended_ms > 0" 1 15 ||
	vg_fail "no ended CDR row for $UUID"
vg_assert_eq "CDR platform" audiosocket "$(vg_sql "SELECT platform FROM calls WHERE id='$UUID'")"
vg_assert_eq "CDR flow" bank-hotline "$(vg_sql "SELECT flow FROM calls WHERE id='$UUID'")"
path=$(vg_sql "SELECT flow_path FROM calls WHERE id='$UUID'")
vg_say "CDR flow_path=$path"
vg_assert "CDR flow_path has main_menu then balance" \
	jq -e 'index("main_menu") != null and index("balance") != null and index("main_menu") < index("balance")' <<<"$path"
body=$(vg_http "/v1/calls/$UUID") || vg_fail "GET /v1/calls/$UUID failed"
turn=$(jq -c '(.turns // []) | map(select(.node == "main_menu")) | .[0] // empty' <<<"$body")
vg_say "turn: ${turn:-<none>}"
vg_say "MEASURED turn t_ms (from speech_end): $(jq -c '.t_ms // {}' <<<"${turn:-{\}}")"
vg_assert_eq "main_menu turn input" speech "$(jq -r '.input // ""' <<<"${turn:-{\}}")"
vg_assert_eq "main_menu turn intent" check_balance "$(jq -r '.intent // ""' <<<"${turn:-{\}}")"

# Barge-in: the caller speaks ~3.5 s into the prompts (inside main_menu);
# the prompt must stop within a few frames of the speech onset (no audio
# queued in the socket to drain), and the turn still reaches balance.
UUID2_HEX=0123456789abcdef0123456789abcd02
UUID2=01234567-89ab-cdef-0123-456789abcd02
out=$("$ASCLIENT" -u "$UUID2_HEX" -w "$VG_TMP/say.wav" -a 3500 -t 20000 \
	127.0.0.1 "$VG_AS_PORT") || vg_fail "asclient (barge-in) failed"
vg_say "asclient (barge-in): $out"
onset=$(vg_kv onset_ms "$out" -1)
cut=$(vg_kv cut_ms "$out" -1)
vg_assert_eq "barge-in: the prompt was playing at the caller's onset" 1 "$(vg_kv playing_at_onset "$out")"
vg_assert "barge-in: the prompt was cut (digital silence) after the onset" test "$cut" -ge "$onset"
# No jitter buffer on this path and nothing queued in the socket: the
# prompt is held from the first frame the VAD finds voiced.
vg_say "MEASURED barge-in: caller's first voiced frame sent -> first silent bot frame received $((cut - onset)) ms"
vg_assert_le "barge-in cut (ms after onset)" $((cut - onset)) "${VG_AS_BARGE_MAX_MS:-300}"
vg_wait_sql "SELECT count(*) FROM calls WHERE id='$UUID2' AND ended_ms > 0" 1 15 ||
	vg_fail "no ended CDR row for $UUID2"
prompts=$(vg_sql "SELECT prompts FROM calls WHERE id='$UUID2'")
vg_assert "barge-in: CDR prompts: main_menu interrupted" \
	jq -e 'map(select(.name == "main_menu")) | .[0].interrupted == true' <<<"$prompts"
vg_assert "barge-in: CDR flow_path reaches balance" \
	jq -e 'index("balance") != null' <<<"$(vg_sql "SELECT flow_path FROM calls WHERE id='$UUID2'")"

# A session still open at SIGTERM: drained, then hung up with a 0x00 frame.
VG_AS_OUT=$VG_TMP/as2.out
"$ASCLIENT" -s -t 30000 127.0.0.1 "$VG_AS_PORT" >"$VG_AS_OUT" &
as2=$!
vg_track "$as2"
vg_wait_log "event=call_incoming .*platform=audiosocket" 10 || true
sleep 1
vg_stop 40
wait "$as2" || true
out2=$(cat "$VG_AS_OUT")
vg_say "asclient at shutdown: $out2"
vg_assert_eq "the open session got a hangup frame" 1 "$(vg_kv hangup "$out2")"
vg_assert_eq "and the socket closed" 1 "$(vg_kv eof "$out2")"
vg_done
