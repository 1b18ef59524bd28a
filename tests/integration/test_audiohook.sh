#!/usr/bin/env bash
# Genesys AudioHook monitor, end to end: the daemon with genesys.enabled; a
# node `ws` client (tests/node/audiohook_client.js) plays Genesys Cloud.
# Checks: signed upgrades (valid; wrong secret, unknown key, stale, replayed
# nonce, unsigned, no key all 401 with nothing created); a synthesized
# two-party conversation (agent on internal, customer on external) over a
# stereo, an inverted and a mono offer: the chosen media, pong with the
# ping's seq, updated, the transcripts on the right channel with offsets
# from the audio position, isFinal:false transcripts (partials, real
# Moonshine through the service's emulated partials) with the final's id
# before each final, the customer's intent and the knowledge file's
# suggestion as agentassist; a client pause and a server pause asked over
# REST (PCI secure pause), each with a secret utterance sent during the
# pause that must be neither transcribed (final or partial) nor counted,
# and no partial arriving during the pause; close/closed; audio
# before open, a malformed message and a silent client refused with the
# documented error codes; a stereo L16 offer; a `discarded` span moving the
# position.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need jq node espeak-ng sox
NODE_DIR=$VG_SOURCE_DIR/tests/node
[ -d "$NODE_DIR/node_modules/ws" ] ||
	vg_fail "npm package ws missing in tests/node (run scripts/install-deps.sh)"
vg_pick_ports
vg_pick_port VG_AH_PORT
KEY=SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh
SECRET=TXlTdXBlclNlY3JldEtleVRlbGxOby0xITJAMyM0JDU=
# Agent assist classifies with the model named "default": the knowledge
# file's intents and two others, trained here (same in every build).
MODELS=$VG_TMP/models
vg_nlu_model "$MODELS" card_arrival card_delivery_estimate lost_or_stolen_card \
	compromised_card activate_my_card card_not_working exchange_rate top_up_failed
VG_EXTRA_YAML="nlu:
  models_dir: \"$MODELS\"
genesys:
  enabled: true
  listen: 127.0.0.1:$VG_AH_PORT
  api_key: \"$KEY\"
  client_secret: \"$SECRET\"
  knowledge: \"$VG_SOURCE_DIR/examples/genesys/knowledge.yaml\"
  idle_timeout: 30s"
vg_config
vg_start 120
vg_assert_log "AudioHook listener up" "event=audiohook_listening addr=127.0.0.1:$VG_AH_PORT"

ahc() { # mode [args...]: the client's JSON summary on stdout
	local mode=$1
	shift
	timeout 90 node "$NODE_DIR/audiohook_client.js" --port "$VG_AH_PORT" \
		--key "$KEY" --secret "$SECRET" --mode "$mode" \
		--http "http://127.0.0.1:$VG_HTTP_PORT" "$@"
}

# ---- 1. upgrades
out=$(ahc auth) || vg_fail "auth client failed: $out"
vg_say "auth: $out"
vg_assert_eq "a valid signed upgrade is accepted" 101 "$(jq -r .valid <<<"$out")"
vg_assert_eq "wrong client secret: 401" 401 "$(jq -r .wrong_secret <<<"$out")"
vg_assert_eq "unknown API key: 401" 401 "$(jq -r .unknown_key <<<"$out")"
vg_assert_eq "stale signature: 401" 401 "$(jq -r .stale <<<"$out")"
vg_assert_eq "first use of a nonce: accepted" 101 "$(jq -r .replay_first <<<"$out")"
vg_assert_eq "replayed nonce: 401" 401 "$(jq -r .replay_again <<<"$out")"
vg_assert_eq "unsigned upgrade: 401" 401 "$(jq -r .unsigned <<<"$out")"
vg_assert_eq "no API key: 401" 401 "$(jq -r .no_key <<<"$out")"
vg_assert_log "stale refusal logged" "event=audiohook_auth_refused why=stale"
vg_assert_log "replay refusal logged" "event=audiohook_auth_refused why=replayed_nonce"
vg_assert_log "unknown key refusal logged" "event=audiohook_auth_refused why=unknown_api_key"
vg_assert_eq "only the two accepted upgrades created sessions" 2 "$(vg_log_count 'event=audiohook_upgraded')"

# ---- speech
vg_say_wav "thank you for calling, how can I help you today" "$VG_TMP/agent.wav"
# Moonshine-tiny hears this espeak sentence word for word through G.711
# (card_arrival, 0.99); "my card has not arrived" came out "my car had
# been out of the air".
vg_say_wav "I ordered a new card and it still has not come" "$VG_TMP/cust.wav"
vg_say_wav "my card number is four one one one two two two two" "$VG_TMP/secret.wav"
for f in agent cust secret; do
	sox "$VG_TMP/$f.wav" -t raw -e mu-law -r 8000 -c 1 "$VG_TMP/$f.ulaw" ||
		vg_fail "sox mu-law failed"
done
SPEECH=(--int "$VG_TMP/agent.ulaw" --ext "$VG_TMP/cust.ulaw" --secret-audio "$VG_TMP/secret.ulaw" --speed 2 --settle 8000)

check_conversation() { # label json
	local label=$1 j=$2
	vg_assert_eq "$label: opened" true "$(jq -r '.opened != null' <<<"$j")"
	vg_assert_eq "$label: server seq numbers in order" true "$(jq -r .seq_ok <<<"$j")"
	vg_assert "$label: pong answers each ping with its seq" \
		jq -e '(.pongs | length) == 2 and all(.pongs[]; .matches)' <<<"$j"
	vg_assert_le "$label: pong within 200 ms" "$(jq -r '[.pongs[].ms] | max' <<<"$j")" 200
	vg_assert_eq "$label: update answered with updated" 1 "$(jq -r .updated <<<"$j")"
	vg_assert "$label: the customer's words on external" \
		jq -e '[.transcripts[] | select(.isFinal and .channel == "external" and (.text | test("ordered a new card")))] | length >= 1' <<<"$j"
	vg_assert "$label: final transcripts have a display interpretation and a confidence" \
		jq -e '[.transcripts[] | select(.isFinal)] | length >= 1 and all(.[]; .type == "display" and .confidence > 0 and .confidence <= 1)' <<<"$j"
	# Partials (genesys.partials, stt.partial_every: on by default; real
	# Moonshine, which cannot stream: the service re-decodes the audio so
	# far): the customer's utterance has isFinal:false transcripts with
	# the final's id, every one of them before the final.
	vg_assert "$label: isFinal:false transcripts of the customer's utterance, with its id, before its final" \
		jq -e '[.transcripts[] | select(.isFinal and .channel == "external" and (.text | test("ordered a new card")))][0] as $f
			| [.transcripts[] | select((.isFinal | not) and .id == $f.id)] as $p
			| ($p | length) >= 1 and all($p[]; .at <= $f.at and .type == "display" and .channel == "external" and .offset == $f.offset)' <<<"$j"
	vg_assert "$label: no partial after its utterance's final" \
		jq -e '[.transcripts[] | select(.isFinal)] as $f | all(.transcripts[] | select(.isFinal | not); . as $p | all($f[] | select(.id == $p.id); .at >= $p.at))' <<<"$j"
	vg_assert "$label: nothing said during the pause was transcribed, final or partial" \
		jq -e '[.transcripts[] | select(.text | test("four|number|one one"))] | length == 0' <<<"$j"
	vg_assert "$label: no partial arrived during the secure pause" \
		jq -e '.pause_at as $a | .resume_at as $b | ($a | type) == "number" and ($b | type) == "number" and $b > $a
			and ([.transcripts[] | select((.isFinal | not) and .at > $a + 200 and .at <= $b)] | length == 0)' <<<"$j"
	vg_assert "$label: agent assist names the intent and the knowledge file's answer" \
		jq -e '[.assists[] | select(.channel == "external" and .intent.name == "card_arrival" and .intent.confidence >= 0.5 and (.suggestions[0].type == "faq") and (.suggestions[0].answer | test("working days")))] | length >= 1' <<<"$j"
	vg_assert "$label: no assist for the agent's own words" \
		jq -e 'all(.assists[]; .channel == "external")' <<<"$j"
	vg_assert_eq "$label: close answered with closed" true "$(jq -r .closed <<<"$j")"
	vg_assert_eq "$label: no error messages" 0 "$(jq -r '.errors | length' <<<"$j")"
	local sid sent
	sid=$(jq -r .sid <<<"$j")
	sent=$(jq -r .sent_samples <<<"$j")
	local line="" t
	for t in $(seq 50); do
		line=$(grep "audiohook_released" "$VG_LOG" | grep -- "$sid" | tail -1)
		[ -n "$line" ] && break
		sleep 0.1
	done
	vg_assert_match "$label: the server kept exactly the unpaused audio ($sent samples)" \
		"samples=$sent( |\$)" "$line"
}

offset_ms() { # ISO duration -> ms
	awk -v d="$1" 'BEGIN { sub(/^PT/, "", d); sub(/S$/, "", d); printf "%d", d * 1000 }'
}

# ---- 2. stereo offer, the client pauses (hold / secure pause)
out=$(ahc session --offer stereo --pause client --discard 700 "${SPEECH[@]}") || vg_fail "stereo client failed: $out"
vg_say "stereo: $(jq -c '{opened, transcripts, assists: [.assists[] | {intent, n: (.suggestions | length)}], pongs, errors, paused_samples, sent_samples}' <<<"$out")"
vg_assert "stereo: the stereo PCMU offer is chosen, external first" \
	jq -e '.opened.media | length == 1 and .[0].format == "PCMU" and .[0].channels == ["external","internal"] and .[0].rate == 8000' <<<"$out"
check_conversation stereo "$out"
vg_assert "stereo: the agent's words on internal" \
	jq -e '[.transcripts[] | select(.channel == "internal" and (.text | test("help")))] | length >= 1' <<<"$out"
agent_off=$(offset_ms "$(jq -r '[.transcripts[] | select(.channel == "internal")][0].offset' <<<"$out")")
cust_off=$(offset_ms "$(jq -r '[.transcripts[] | select(.channel == "external")][0].offset' <<<"$out")")
agent_len=$(($(stat -c %s "$VG_TMP/agent.ulaw") / 8))
vg_say "offsets: agent ${agent_off} ms, customer ${cust_off} ms (agent audio ${agent_len} ms)"
# The agent speaks at 500 ms (espeak adds its own lead-in), the customer
# 800 ms after the agent's audio; the paused span is not in the position.
vg_assert "stereo: agent offset near 0.5 s" test "$agent_off" -ge 300 -a "$agent_off" -le 1200
# The client also reported 700 ms of discarded audio after the pause:
# the position moves on by it.
exp_cust=$((500 + agent_len + 800 + 700))
vg_assert "stereo: customer offset from the audio position, pause excluded, discarded included (expect ~$exp_cust ms)" \
	test "$cust_off" -ge $((exp_cust - 300)) -a "$cust_off" -le $((exp_cust + 900))
vg_assert_log "stereo: pause logged" "event=audiohook_paused"
# The early decode (stt.early_decode, on by default): each utterance's
# decode starts in its last pause, 200 ms before the end is confirmed, and
# answers it; a transcript's lag counts from the end of speech.
vg_say "MEASURED transcript lag: $(grep -o 'event=audiohook_transcript .*lag_ms=[0-9]* early=[01]' "$VG_LOG" | sed 's/.*\(channel=[a-z]*\).*\(lag_ms=[0-9]* early=[01]\)/\1 \2/' | tr '\n' ';')"
vg_assert_log "stereo: transcripts answered by the decode started in the pause" \
	"event=audiohook_transcript .*early=1 "
metrics=$(curl -s "http://127.0.0.1:$VG_HTTP_PORT/metrics")
used=$(sed -n 's/^voxgate_stt_early_total{outcome="used"} //p' <<<"$metrics")
vg_assert "stereo: early decodes counted as used in /metrics (got ${used:-none})" \
	test "${used:-0}" -ge 2
vg_assert_log "stereo: discarded logged" "event=audiohook_discarded .*discarded_ms=700"

# ---- 3. inverted channel order, server pause asked over REST
out=$(ahc session --offer inverted --pause rest "${SPEECH[@]}") || vg_fail "inverted client failed: $out"
vg_say "inverted: $(jq -c '{opened, transcripts, rest, server_pause, server_resume}' <<<"$out")"
vg_assert "inverted: the offer's channel order is kept" \
	jq -e '.opened.media[0].channels == ["internal","external"]' <<<"$out"
check_conversation inverted "$out"
inv_cust_off=$(offset_ms "$(jq -r '[.transcripts[] | select(.channel == "external")][0].offset' <<<"$out")")
vg_say "customer offset: stereo (700 ms discarded) $cust_off ms, inverted (none) $inv_cust_off ms"
vg_assert "the discarded 700 ms moved the stereo session's position by 700 ms (same audio)" \
	test $((cust_off - inv_cust_off)) -ge 660 -a $((cust_off - inv_cust_off)) -le 740
vg_assert "inverted: the agent's words still on internal" \
	jq -e '[.transcripts[] | select(.channel == "internal" and (.text | test("help")))] | length >= 1' <<<"$out"
vg_assert_eq "REST pause accepted" 200 "$(jq -r .rest.pause <<<"$out")"
vg_assert_eq "REST pause again: 409" 409 "$(jq -r .rest.pause_again <<<"$out")"
vg_assert_eq "REST resume accepted" 200 "$(jq -r .rest.resume <<<"$out")"
vg_assert_eq "REST on an unknown session: 404" 404 "$(jq -r .rest.unknown <<<"$out")"
vg_assert_eq "the server sent one pause" 1 "$(jq -r .server_pause <<<"$out")"
vg_assert_eq "the server sent one resume" 1 "$(jq -r .server_resume <<<"$out")"
vg_assert_eq "REST without the API key: 401" 401 \
	"$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$VG_HTTP_PORT/v1/audiohook/x/pause")"

# ---- 4. mono offer (an unusable stereo offer first)
out=$(ahc session --offer mono --pause client "${SPEECH[@]}") || vg_fail "mono client failed: $out"
vg_say "mono: $(jq -c '{opened, transcripts}' <<<"$out")"
vg_assert "mono: the mono PCMU external offer is chosen" \
	jq -e '.opened.media[0].channels == ["external"] and .opened.media[0].format == "PCMU"' <<<"$out"
check_conversation mono "$out"
vg_assert "mono: no internal transcripts" jq -e 'all(.transcripts[]; .channel == "external")' <<<"$out"

# ---- 5. stereo L16 (little-endian linear PCM), no pause
out=$(ahc session --offer l16 --pause none "${SPEECH[@]}") || vg_fail "l16 client failed: $out"
vg_say "l16: $(jq -c '{opened, transcripts}' <<<"$out")"
vg_assert "l16: the L16 offer is taken" \
	jq -e '.opened.media[0].format == "L16" and .opened.media[0].channels == ["external","internal"]' <<<"$out"
vg_assert "l16: the customer's words on external" \
	jq -e '[.transcripts[] | select(.channel == "external" and (.text | test("ordered a new card")))] | length >= 1' <<<"$out"
vg_assert "l16: the agent's words on internal" \
	jq -e '[.transcripts[] | select(.channel == "internal" and (.text | test("help")))] | length >= 1' <<<"$out"

# ---- 6. protocol errors
out=$(ahc early --timeout 5000) || vg_fail "early client failed: $out"
vg_say "early: $(jq -c '{errors, msgs, socket_closed}' <<<"$out")"
vg_assert_eq "audio before open: error 400" 400 "$(jq -r '.errors[0].code' <<<"$out")"
vg_assert_eq "audio before open: closed" true "$(jq -r .socket_closed <<<"$out")"
out=$(ahc garbage --timeout 10000) || vg_fail "garbage client failed: $out"
vg_say "garbage: $(jq -c '{errors, msgs, disconnect}' <<<"$out")"
vg_assert_eq "malformed message: error 400" 400 "$(jq -r '.errors[0].code' <<<"$out")"
vg_assert_eq "malformed message: disconnect reason error" error "$(jq -r '.disconnect.reason' <<<"$out")"
out=$(ahc noopen --timeout 9000) || vg_fail "noopen client failed: $out"
vg_say "noopen: $(jq -c '{errors, msgs, socket_closed}' <<<"$out")"
vg_assert_eq "no open: error 408" 408 "$(jq -r '.errors[0].code' <<<"$out")"
vg_assert_eq "no open: closed by the server" true "$(jq -r .socket_closed <<<"$out")"

sleep 0.5
vg_assert_eq "every upgraded session was released" "$(vg_log_count 'event=audiohook_upgraded')" \
	"$(vg_log_count 'event=audiohook_released')"
vg_done
