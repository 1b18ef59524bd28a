#!/usr/bin/env bash
# Barge-in: the caller interrupts the main_menu prompt, once by speaking
# and once with an RFC 4733 digit, and voxgate must stop the prompt audio.
#
# How it is measured: one tcpdump on the caller's media port captures both
# directions. tests/tools/rtptiming decodes the G.711 audio of each
# direction per 20 ms frame; the barge-in stop time is
#   (end of the last voiced prompt frame the caller received)
#   - (first voiced frame of the caller's own RTP, or its first digit packet)
# The stop is the first frame whose payload differs from what a silent
# calibration call received at the same point (both calls play the same
# cached prompt byte for byte), with an energy threshold as the fallback.
# The calibration call also finds where the prompts are, so the caller
# interrupts main_menu inside a sentence, over 1 s into it, whatever the
# TTS voice.
#
# Limits: the issue wants playback to stop within 100 ms, measured from the
# caller's speech onset in the RTP it sent. voxgate holds the prompt at the
# first frame its VAD scores as speech and only then waits for the
# endpointer's confirmation (VG_BARGE_CONFIRM_MS, 120 ms: a cough must not
# cut the prompt for good), so the assertion is stop <= 100 ms + one 20 ms
# frame of measurement granularity. The caller sends RTP (silence) from the
# start of the call, as phones do. For DTMF the limit is 100 ms + one frame
# from the digit's first packet.
# Also checked: the CDR prompt record of main_menu is interrupted, the
# turn is marked barge_in (when the daemon records turns), the flow went
# on to balance, and the bot did not talk over the caller.
source "$(dirname "$0")/lib.sh"
vg_init
vg_speech_init
vg_pick_ports
vg_config
vg_start 120

CONFIRM_MS=${VG_BARGE_CONFIRM_MS:-120}
STOP_LIMIT_MS=100
FRAME_MS=20
SAY="I want to check my balance"

# When the prompt audio stopped, as the caller heard it, for an event at
# AT ms: preferably the first frame that differs from the silent call's
# (vg_divergence: exact to the frame, no threshold), if the two calls
# played at least 1 s of identical audio and part ways no earlier than a
# frame before AT; otherwise the end of the last voiced frame before a
# gap of GAP ms (rtptiming -S). Sets STOP and STOP_HOW.
measure_stop() { # port at_ms gap_ms
	local energy div dms same
	energy=$(vg_kv stop_after "$(vg_rtptiming -p "$1" -d dst -g "$3" -S "$2")" -1)
	div=$(vg_divergence "$1")
	dms=$(vg_kv diverge_ms "$div" -1)
	same=$(vg_kv same "$div" 0)
	if [ "$same" -ge 50 ] && [ "$dms" -ge $(($2 - FRAME_MS)) ]; then
		STOP=$dms
		STOP_HOW="first frame unlike the silent call's, after $same identical ones; energy method: $energy ms"
	else
		STOP=$energy
		STOP_HOW="energy: last voiced frame before a ${3} ms gap (payload comparison unusable: $div)"
	fi
}

# ---- 1. where the prompts are (silent caller)
vg_prompt_timing 16000
[ "$VG_PROMPT_END_MS" -gt 0 ] ||
	vg_fail "the opening prompts did not stop within the calibration call"
speak_at=$VG_BARGE_AT_MS
vg_say "the caller will interrupt main_menu at ~${speak_at} ms ($((speak_at - VG_MENU_START_MS)) ms into it)"

# ---- 2. speech barge-in
# Like a phone, the caller sends RTP from the start: silence until it
# speaks (the pcap's lead-in), so voxgate's VAD hears the line before the
# speech, as it would on a real call.
vg_speech_pcap "$SAY" "$VG_TMP/say.pcap" -l "$speak_at" -t 4000
vg_say "caller speech: $(cat "$VG_TMP/say.info"), voiced ${VG_SPEECH_ONSET_MS}..${VG_SPEECH_END_MS} ms of the pcap"
vg_pick_port MP
vg_capture_media_start "$MP"
sf=$(vg_scenario uac_speech.xml HOLD_MS=25000 SPEAK_AT_MS=0 \
	SPEECH_PCAP="$VG_TMP/say.pcap" AFTER_BLOCK=)
rc=0
VG_SIPP_MP=$MP vg_sipp speech "$sf" -m 1 -timeout 60s -timeout_error || rc=$?
vg_capture_stop
[ $rc -eq 0 ] || { vg_sipp_explain speech; vg_fail "sipp speech call failed (exit $rc)"; }
vg_ok "sipp speech call completed"

caller=$(vg_rtptiming -p "$MP" -d src -A 0 -g 500 -m 200)
onset=$(vg_kv first_voiced_after "$caller" -1)
speech_end=$(vg_kv end_ms "$(grep '^segment n=1 ' <<<"$caller")" -1)
[ "$onset" -ge 0 ] || vg_fail "no voiced audio in the caller's RTP (pcap not played?)"
# The bot's prompt audio around the onset: was it playing, and when did it
# stop? (Energy fallback gap 600 ms: longer than the pauses between the
# sentences of a prompt.)
bot=$(vg_rtptiming -p "$MP" -d dst -A $((onset - 100)))
playing_from=$(vg_kv first_voiced_after "$bot" -1)
measure_stop "$MP" "$onset" 600
stop=$STOP
vg_say "speech barge-in stop measured by $STOP_HOW"
after=$(vg_rtptiming -p "$MP" -d dst -A "$((stop + 1))")
resume=$(vg_kv first_voiced_after "$after" -1)
barge_ms=$((stop - onset))
vg_say "speech barge-in: caller voice ${onset}..${speech_end} ms; prompt audio stopped at ${stop} ms; next bot audio at ${resume} ms"
vg_say "MEASURED speech barge-in stop time: ${barge_ms} ms from the caller's first voiced frame (the endpointer confirms speech ${CONFIRM_MS} ms after its first speech frame; the prompt is held before that)"
# Voiced prompt audio in the 100 ms before the onset: the caller really
# talked over the prompt (not into a pause between its sentences).
vg_assert "the prompt was playing when the caller started to speak" \
	test "$playing_from" -ge 0 -a "$playing_from" -le "$onset"
vg_assert_le "speech barge-in: prompt audio stops within ${STOP_LIMIT_MS} ms of the caller's onset (+${FRAME_MS} ms frame)" \
	"$barge_ms" $((STOP_LIMIT_MS + FRAME_MS))
vg_assert "the bot stays quiet until the caller stops speaking" \
	test "$resume" -lt 0 -o "$resume" -ge "$speech_end"

cid=$(vg_sipp_call_id speech)
id=$(vg_cdr_id "$cid")
# The daemon's own account: when its endpointer confirmed speech (log
# event=speech_start), on the capture's time line.
t0_ms=$(($(vg_kv t0_us "$bot") / 1000))
vad_epoch=$(vg_log_epoch_ms "event=speech_start call=$id ")
if [ -n "$vad_epoch" ]; then
	vad_ms=$((vad_epoch - t0_ms))
	vg_say "MEASURED speech barge-in breakdown: onset ${onset} ms -> VAD speech_start logged at ${vad_ms} ms (+$((vad_ms - onset)) ms) -> prompt audio stopped at ${stop} ms ($((stop - vad_ms)) ms after the log line)"
	vg_assert_le "speech barge-in: prompt audio stops within ${STOP_LIMIT_MS} ms (+${FRAME_MS} ms frame) of the daemon's speech_start" \
		$((stop - vad_ms)) $((STOP_LIMIT_MS + FRAME_MS))
else
	vg_bad "no event=speech_start line for call $id in the daemon log"
fi
prompts=$(vg_sql "SELECT prompts FROM calls WHERE id='$id'")
path=$(vg_sql "SELECT flow_path FROM calls WHERE id='$id'")
vg_say "CDR $id: flow_path=$path prompts=$prompts"
vg_assert "CDR prompts: main_menu interrupted by the speech" \
	jq -e 'map(select(.name == "main_menu")) | .[0].interrupted == true' <<<"$prompts"
played=$(jq -r 'map(select(.name == "main_menu")) | .[0].played_ms // -1' <<<"$prompts")
vg_say "CDR main_menu played_ms=$played; captured menu audio ${VG_MENU_START_MS}..${stop} ms (~$((stop - VG_MENU_START_MS)) ms of voice)"
vg_assert "CDR flow_path reached balance after the spoken request" \
	jq -e 'index("balance") != null' <<<"$path"
turn=$(vg_sql "SELECT node, input, barge_in, transcript FROM turns WHERE call_id='$id' ORDER BY seq LIMIT 1" 2>/dev/null || true)
vg_say "turn 1: ${turn:-<none>}"
if [ -n "$turn" ]; then
	IFS='|' read -r _ t_input t_barge _ <<<"$turn"
	vg_assert_eq "turn 1 is marked barge_in" 1 "$t_barge"
	vg_assert_eq "turn 1 input" speech "$t_input"
else
	vg_bad "no turn recorded in the turns table for $id"
fi

# ---- 3. DTMF barge-in: RFC 4733 digit 1 at the same point of main_menu
vg_pick_port MP2
vg_capture_media_start "$MP2"
sf=$(vg_scenario uac_call.xml HOLD_MS=20000 \
	"DTMF_BLOCK=$(vg_dtmf_block "$speak_at" "$VG_PCAP_DIR/dtmf_2833_1.pcap")")
rc=0
VG_SIPP_MP=$MP2 vg_sipp dtmf "$sf" -m 1 -timeout 60s -timeout_error || rc=$?
vg_capture_stop
[ $rc -eq 0 ] || { vg_sipp_explain dtmf; vg_fail "sipp DTMF call failed (exit $rc)"; }
vg_ok "sipp DTMF call completed"
caller=$(vg_rtptiming -p "$MP2" -d src)
ev=$(grep -m 1 '^event ' <<<"$caller" || true)
digit_at=$(vg_kv t_ms "$ev" -1)
digit_end=$(vg_kv end_ms "$ev" -1)
[ "$digit_at" -ge 0 ] || vg_fail "no RFC 4733 event in the caller's RTP"
# The balance prompt follows the digit at once, so the energy fallback
# needs a short gap (150 ms: the digit falls inside a sentence, which has
# no pause of 200 ms, see vg_prompt_timing).
bot=$(vg_rtptiming -p "$MP2" -d dst -A $((digit_at - 100)))
playing_from=$(vg_kv first_voiced_after "$bot" -1)
measure_stop "$MP2" "$digit_at" 150
stop=$STOP
vg_say "DTMF barge-in stop measured by $STOP_HOW"
next=$(vg_kv first_voiced_after "$(vg_rtptiming -p "$MP2" -d dst -A $((stop + 1)))" -1)
dtmf_ms=$((stop - digit_at))
vg_say "DTMF barge-in: digit ${digit_at}..${digit_end} ms; prompt audio stopped at ${stop} ms; next bot audio at ${next} ms"
vg_say "MEASURED DTMF barge-in stop time: ${dtmf_ms} ms from the digit's first packet ($((stop - digit_end)) ms from its last)"
vg_assert "the prompt was playing when the digit was sent" \
	test "$playing_from" -ge 0 -a "$playing_from" -le "$digit_at"
vg_assert_le "DTMF barge-in: prompt audio stops within ${STOP_LIMIT_MS} ms (+${FRAME_MS} ms frame) of the digit" \
	"$dtmf_ms" $((STOP_LIMIT_MS + FRAME_MS))
cid=$(vg_sipp_call_id dtmf)
id=$(vg_cdr_id "$cid")
dtmf_epoch=$(vg_log_epoch_ms "event=dtmf call=$id ")
if [ -n "$dtmf_epoch" ]; then
	dtmf_log_ms=$((dtmf_epoch - $(vg_kv t0_us "$bot") / 1000))
	vg_say "MEASURED DTMF barge-in breakdown: first digit packet ${digit_at} ms -> event=dtmf logged at ${dtmf_log_ms} ms -> prompt audio stopped at ${stop} ms"
fi
prompts=$(vg_sql "SELECT prompts FROM calls WHERE id='$id'")
vg_assert "CDR prompts: main_menu interrupted by the digit" \
	jq -e 'map(select(.name == "main_menu")) | .[0].interrupted == true' <<<"$prompts"
vg_assert_eq "CDR dtmf" 1 "$(vg_sql "SELECT dtmf FROM calls WHERE id='$id'")"

vg_stop
vg_done
