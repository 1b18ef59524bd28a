#!/usr/bin/env bash
# A real SIP user agent, baresip (headless: aufile plays a spoken wav as
# the microphone, aubridge is a device-less speaker, sndfile records what
# it hears), calls voxgate over UDP and then over TCP, talks for ~5 s and
# hangs up.
# Checks per call: answered; CDR end_reason caller_hangup, rtp_tx > 0 and
# rtp_rx > 0 (baresip's speech reached us), transport in the log; the audio
# baresip recorded from voxgate is speech (sox RMS level), not silence.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need baresip sox espeak-ng
vg_pick_ports
vg_config
vg_start

B=$VG_TMP/baresip
mkdir -p "$B"
# The caller's "microphone": 8 kHz mono S16 speech, padded to ~5 s. baresip
# hangs up when the file ends.
espeak-ng -w "$B/speech.wav" "Hello, I would like to know my balance please." ||
	vg_fail "espeak-ng failed"
sox "$B/speech.wav" -r 8000 -c 1 -b 16 -e signed-integer "$B/caller.wav" pad 0 5 trim 0 5 ||
	vg_fail "sox failed"

vg_pick_port BARESIP_PORT
cat >"$B/config" <<EOF
poll_method		epoll
sip_listen		127.0.0.1:$BARESIP_PORT
audio_player		aubridge,speaker
audio_source		aufile,$B/caller.wav
audio_alert		aubridge,alert
ausrc_srate		8000
auplay_srate		8000
rtp_ports		$((VG_RTP_MAX + 1 - 40))-$VG_RTP_MAX
module_path		/usr/lib/baresip/modules
module			g711.so
module			aufile.so
module			aubridge.so
module			sndfile.so
module_app		account.so
module_app		menu.so
snd_path		$B/snd
EOF
echo "<sip:caller@127.0.0.1>;regint=0" >"$B/accounts"

call_with_baresip() { # tag transport
	local tag=$1 tp=$2 uri="sip:1000@127.0.0.1:$VG_SIP_PORT"
	[ "$tp" == tcp ] && uri="$uri;transport=tcp"
	rm -rf "$B/snd"; mkdir -p "$B/snd"
	local before rc=0
	before=$(vg_sql "SELECT count(*) FROM calls")
	vg_say "baresip dials $uri"
	# -t bounds the run; the call itself ends when caller.wav ends.
	timeout 40 baresip -4 -n 127.0.0.1 -f "$B" -t 9 -e "/dial $uri" \
		</dev/null >"$VG_TMP/baresip-$tag.out" 2>&1 || rc=$?
	grep -a -q 'Call established' "$VG_TMP/baresip-$tag.out" ||
		{ tail -n 30 "$VG_TMP/baresip-$tag.out" >&2; vg_fail "$tag: baresip call was not established (exit $rc)"; }
	vg_ok "$tag: baresip call established"
	vg_wait_sql "SELECT count(*) FROM calls WHERE ended_ms > 0" $((before + 1)) 15 ||
		vg_fail "$tag: CDR not closed after baresip hung up"
	local id reason tx rx answered
	IFS='|' read -r id reason tx rx answered <<<"$(vg_sql \
		"SELECT id, end_reason, rtp_tx, rtp_rx, answered_ms FROM calls ORDER BY started_ms DESC LIMIT 1")"
	vg_say "$tag: CDR id=$id end_reason=$reason rtp_tx=$tx rtp_rx=$rx"
	vg_assert_ge "$tag: CDR answered_ms" "$answered" 1
	vg_assert_eq "$tag: CDR end_reason" caller_hangup "$reason"
	# ~5 s of call at 50 packets/s each way.
	vg_assert_ge "$tag: CDR rtp_tx" "$tx" 100
	vg_assert_ge "$tag: CDR rtp_rx (baresip's speech)" "$rx" 100
	vg_assert_log "$tag: log shows the $tp transport" \
		"event=call_incoming call=$id .*transport=$(echo "$tp" | tr a-z A-Z)"
	# What baresip heard from voxgate (decoded by its own G.711 codec).
	local dec
	dec=$(ls "$B"/snd/dump-*-dec.wav 2>/dev/null | head -n 1)
	[ -n "$dec" ] || vg_fail "$tag: baresip recorded no received audio"
	local rms dur
	rms=$(sox "$dec" -n stats 2>&1 | awk '/RMS lev dB/ { print int($4) }')
	dur=$(soxi -D "$dec" | awk '{ print int($1 * 1000) }')
	vg_say "$tag: baresip heard ${dur} ms of audio at ${rms} dBFS RMS"
	vg_assert_ge "$tag: received audio length in ms" "$dur" 3000
	vg_assert_ge "$tag: received audio is speech (RMS dBFS)" "$rms" -40
}

call_with_baresip udp udp
call_with_baresip tcp tcp

vg_assert_eq "two CDR rows" 2 "$(vg_sql "SELECT count(*) FROM calls")"
vg_stop
vg_done
