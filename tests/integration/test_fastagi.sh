#!/usr/bin/env bash
# Asterisk FastAGI, end to end: the daemon with asterisk.agi_enabled;
# tests/integration/agi_asterisk.py plays Asterisk (env block, then a reply
# to every command). The bank-hotline flow runs over AGI: its prompts are
# played as 8 kHz WAVs voxgate wrote into sounds_dir, the caller's first
# speech turn ("I want to check my balance", espeak-ng) is recorded with
# RECORD FILE and transcribed by voxgate. Checks: the commands, the
# variables set for the dialplan, and the CDR (platform asterisk, flow,
# path through balance, turn rows with their timings).
source "$(dirname "$0")/lib.sh"
vg_init
vg_need jq espeak-ng sox python3
vg_pick_ports
vg_pick_port VG_AGI_PORT
mkdir -p "$VG_TMP/sounds"
VG_EXTRA_YAML="asterisk:
  agi_enabled: true
  agi_listen: 127.0.0.1:$VG_AGI_PORT
  sounds_dir: $VG_TMP/sounds"
vg_config
vg_start 120

vg_say_wav "I want to check my balance" "$VG_TMP/say.wav"
out=$(timeout 90 python3 "$VG_INTEG_DIR/agi_asterisk.py" "$VG_AGI_PORT" \
	--speech "$VG_TMP/say.wav" --timeout 60) || vg_fail "agi_asterisk failed"
vg_say "asterisk side: $(jq -c '{commands: .commands[:40], vars, prompts, bad_prompts, records, closed}' <<<"$out")"
vg_assert_eq "first command" ANSWER "$(jq -r '.commands[0]' <<<"$out")"
vg_assert_ge "prompts played" "$(jq -r .prompts <<<"$out")" 2
vg_assert_eq "every prompt an 8 kHz WAV that exists" 0 "$(jq -r .bad_prompts <<<"$out")"
vg_assert_ge "speech turns recorded" "$(jq -r .records <<<"$out")" 1
# The main menu (input both, no end_silence/max_speech): s=1 (300 ms
# rounded up) and max speech only (a hybrid step leaves no-input to the
# digit wait); tests/unit/telephony/asterisk/test_fastagi.c covers a step
# with its own timeout and end_silence.
vg_assert_match "RECORD FILE args from the step" ' wav "0123456789\*#" 15000 s=1$' \
	"$(jq -r '.record_cmds[0] // ""' <<<"$out")"
vg_assert_eq "voxgate ended the AGI step" true "$(jq -r .closed <<<"$out")"
vg_assert_eq "VOXGATE_INTENT" check_balance "$(jq -r '.vars.VOXGATE_INTENT // ""' <<<"$out")"
vg_assert_match "VOXGATE_CONFIDENCE" '^[01]\.[0-9][0-9]$' "$(jq -r '.vars.VOXGATE_CONFIDENCE // ""' <<<"$out")"
vg_assert_match "VOXGATE_RESULT" '^(completed|transferred|hangup)$' "$(jq -r '.vars.VOXGATE_RESULT // ""' <<<"$out")"
vg_assert_eq "recordings deleted after reading" 0 "$(find "$VG_TMP/sounds" -name 'rec-*' | wc -l)"

vg_wait_sql "SELECT count(*) FROM calls WHERE platform='asterisk' AND ended_ms > 0" 1 15 ||
	vg_fail "no ended CDR row for the AGI call"
vg_assert_eq "CDR flow" bank-hotline "$(vg_sql "SELECT flow FROM calls WHERE platform='asterisk'")"
vg_assert_eq "CDR platform id" 1700000000.42 "$(vg_sql "SELECT sip_call_id FROM calls WHERE platform='asterisk'")"
path=$(vg_sql "SELECT flow_path FROM calls WHERE platform='asterisk'")
vg_say "CDR flow_path=$path"
vg_assert "CDR flow_path reaches balance" jq -e 'index("balance") != null' <<<"$path"

# Turn rows: what FastAGI can measure. The spoken turn's times run from
# the end of the RECORD FILE: STT final, NLU, response chosen, and
# tts_ready when the reply's STREAM FILE was sent; first_rtp is null
# (Asterisk plays the file).
turn=$(vg_sql "SELECT json_object('node', t.node, 'input', t.input, 'intent', t.intent,
	'stt_engine', t.stt_engine, 'transcript', t.transcript, 'end', t.end_kind,
	'stt', t.stt_ms, 'nlu', t.nlu_ms, 'resp', t.response_ms,
	'tts', t.tts_ready_ms, 'rtp', t.first_rtp_ms)
	FROM turns t JOIN calls c ON c.id = t.call_id
	WHERE c.platform='asterisk' AND t.input='speech' ORDER BY t.seq LIMIT 1")
vg_say "AGI speech turn: ${turn:-<none>}"
[ -n "$turn" ] || vg_fail "no speech turn row for the AGI call"
vg_assert_eq "turn node" main_menu "$(jq -r .node <<<"$turn")"
vg_assert_eq "turn intent" check_balance "$(jq -r .intent <<<"$turn")"
vg_assert_eq "turn end" speech "$(jq -r .end <<<"$turn")"
vg_assert "turn transcript and engine" jq -e '(.transcript | length) > 0 and (.stt_engine | length) > 0' <<<"$turn"
vg_assert "turn times ordered: 0 <= stt <= nlu <= response <= tts_ready" \
	jq -e '.stt != null and .nlu != null and .resp != null and .tts != null and
		.stt >= 0 and .stt <= .nlu and .nlu <= .resp and .resp <= .tts' <<<"$turn"
vg_assert "turn first_rtp null (not measurable over AGI)" jq -e '.rtp == null' <<<"$turn"
vg_assert_eq "turn rows in seq order from 1" 1 \
	"$(vg_sql "SELECT min(t.seq) FROM turns t JOIN calls c ON c.id = t.call_id WHERE c.platform='asterisk'")"

# A malformed environment: closed, no call.
printf 'agi_network: yes\nnot an agi line\n\n' | timeout 5 python3 -c '
import socket,sys
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])),timeout=5)
s.sendall(sys.stdin.buffer.read())
print("closed" if s.recv(100)==b"" else "open")' "$VG_AGI_PORT" >"$VG_TMP/bad.out" || true
vg_assert_eq "bad env closed" closed "$(cat "$VG_TMP/bad.out")"
vg_assert_log "bad env logged" "event=agi_protocol_error"
vg_stop 30
vg_done
