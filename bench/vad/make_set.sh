#!/usr/bin/env bash
# bench/vad/make_set.sh OUT_DIR: build the labelled VAD test set (no audio is
# committed; this script is the set). Needs sox and espeak-ng (CLI only).
#
# Every item is OUT_DIR/<condition>__<name>.raw (s16le, 8 kHz, mono, passed
# through G.711 mu-law as on a call) and <same>.lab: one line per 20 ms frame,
# 1 speech / 0 not. Speech truth comes from the clean speech track before
# mixing: frames within 30 dB of the utterance's loudest frame, gaps shorter
# than 100 ms filled. Deterministic: fixed texts, fixed noise seeds (sox -R).
# VAD_SET_HELDOUT=1 builds the held-out variant (see below).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
OUT=$1
command -v sox >/dev/null || { echo "make_set.sh: sox not found" >&2; exit 1; }
command -v espeak-ng >/dev/null || { echo "make_set.sh: espeak-ng not found" >&2; exit 1; }
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# -R: sox's noise generator uses a fixed seed, so the set is reproducible.
SOX=(sox -R -V1)
RAW=(-t raw -r 8000 -e signed -b 16 -c 1)

# VAD_SET_HELDOUT=1: other sentences and other voices, to check that the
# thresholds tuned on the default set are not fitted to its speech.
if [ "${VAD_SET_HELDOUT:-0}" = 1 ]; then
	TEXTS=(
		"Hello, I am calling about the letter you sent me last week."
		"Can I change the address on my account?"
		"Well, I think the payment went through on Friday."
		"Okay."
		"It says my transfer was declined, but I have enough money."
		"Please send me a new card to my home address."
		"Right, thank you very much, goodbye."
		"I don't remember my password."
	)
	VOICES=(en-gb-scotland en-us+m3)
else
	TEXTS=(
		"Thank you for calling. Please tell me in a few words why you are calling today."
		"I would like to check the balance of my savings account."
		"My card was stolen yesterday evening and I need to block it right away."
		"Yes, that's correct."
		"Could you repeat the last four digits, please?"
		"I was charged twice for the same transfer last Monday."
		"No."
		"I want to speak to an agent."
	)
	VOICES=(en-us en-gb+f3)
fi

# frame_labels IN.raw: per 20 ms frame, 1 when its energy is within 30 dB of
# the loudest frame, then gaps shorter than 5 frames (100 ms) between speech
# frames filled.
frame_labels() {
	od -An -v -td2 -w320 "$1" | awk '
	{ e = 0; for (i = 1; i <= NF; i++) e += $i * $i
	  n++; en[n] = 10 * log(e / 160 + 1e-3) / log(10); if (en[n] > pk) pk = en[n] }
	BEGIN { pk = -1e9 }
	END {
		for (i = 1; i <= n; i++) l[i] = (en[i] >= pk - 30) ? 1 : 0
		last = 0
		for (i = 1; i <= n; i++) if (l[i]) {
			if (last && i - last - 1 < 5) for (j = last + 1; j < i; j++) l[j] = 1
			last = i
		}
		for (i = 1; i <= n; i++) print l[i]
	}'
}

# gain_to LEVEL RMS: the sox effect taking a signal at RMS dBFS to LEVEL; a
# boost goes through sox's limiter so loud speech does not clip (the limiter
# also compresses, so it is not used when attenuating).
gain_to() {
	awk -v a="$1" -v b="$2" 'BEGIN { g = a - b; if (g > 0) print "gain -l " g; else print "gain " g }'
}

# zeros N: N lines of 0.
zeros() { local i; for ((i = 0; i < $1; i++)); do echo 0; done; }

# pad_frames IN OUT: pad raw audio with zeros to a whole number of frames.
pad_frames() {
	local n=$(($(stat -c %s "$1") / 2))
	local pad=$(((160 - n % 160) % 160))
	"${SOX[@]}" "${RAW[@]}" "$1" "${RAW[@]}" "$2" pad "${pad}s"
}

# speech_track VOICE LEVEL_DBFS FIRST OUT: sentences FIRST.. (four of them)
# by VOICE, each at LEVEL dBFS RMS, with 0.6-1.6 s of digital silence
# between them and 0.8 s before the first; writes OUT.raw and OUT.lab.
speech_track() {
	local voice=$1 level=$2 first=$3 out=$4 k idx gap
	: >"$out.lab"
	: >"$TMP/parts"
	"${SOX[@]}" -n "${RAW[@]}" "$TMP/lead.raw" trim 0 0.8
	echo "$TMP/lead.raw" >>"$TMP/parts"
	zeros 40 >>"$out.lab"
	for k in 0 1 2 3; do
		idx=$(((first + k) % ${#TEXTS[@]}))
		espeak-ng -v "$voice" -w "$TMP/e.wav" "${TEXTS[$idx]}"
		"${SOX[@]}" "$TMP/e.wav" "${RAW[@]}" "$TMP/e8.raw" rate -v 8000 channels 1
		# Gain so the utterance's RMS level is LEVEL; the limiter keeps
		# the loud (-10 dBFS) case from clipping.
		local rms
		rms=$("${SOX[@]}" "${RAW[@]}" "$TMP/e8.raw" -n stats 2>&1 | awk '/^RMS lev dB/ { print $4 }')
		# shellcheck disable=SC2046 # gain_to prints the effect's words
		"${SOX[@]}" "${RAW[@]}" "$TMP/e8.raw" "${RAW[@]}" "$TMP/eg.raw" $(gain_to "$level" "$rms")
		pad_frames "$TMP/eg.raw" "$TMP/u$k.raw"
		frame_labels "$TMP/u$k.raw" >>"$out.lab"
		echo "$TMP/u$k.raw" >>"$TMP/parts"
		gap=$((30 + (k * 17 + first * 7) % 50)) # frames: 0.6-1.6 s
		"${SOX[@]}" -n "${RAW[@]}" "$TMP/g$k.raw" trim 0 "$(awk -v g="$gap" 'BEGIN { print g * 0.02 }')"
		echo "$TMP/g$k.raw" >>"$TMP/parts"
		zeros "$gap" >>"$out.lab"
	done
	# shellcheck disable=SC2046
	cat $(cat "$TMP/parts") >"$out.raw"
}

# noise COLOUR LEVEL SECONDS OUT.raw: COLOUR noise at LEVEL dBFS RMS.
noise() {
	"${SOX[@]}" -n "${RAW[@]}" "$TMP/n.raw" synth "$3" "${1}noise"
	local rms
	rms=$("${SOX[@]}" "${RAW[@]}" "$TMP/n.raw" -n stats 2>&1 | awk '/^RMS lev dB/ { print $4 }')
	"${SOX[@]}" "${RAW[@]}" "$TMP/n.raw" "${RAW[@]}" "$4" gain "$(awk -v a="$2" -v b="$rms" 'BEGIN { print a - b }')"
}

# finish COND NAME SRC.raw LAB: G.711 mu-law round trip, into the set.
finish() {
	local base="$OUT/${1}__${2}"
	"${SOX[@]}" "${RAW[@]}" "$3" -t raw -r 8000 -e u-law -b 8 -c 1 "$TMP/f.ul"
	"${SOX[@]}" -t raw -r 8000 -e u-law -b 8 -c 1 "$TMP/f.ul" "${RAW[@]}" "$base.raw"
	local frames=$(($(stat -c %s "$base.raw") / 320))
	head -n "$frames" "$4" >"$base.lab"
	local have
	have=$(wc -l <"$base.lab")
	[ "$have" -eq "$frames" ] || zeros $((frames - have)) >>"$base.lab"
}

# nolabels SRC.raw: a label file of zeros as long as SRC.
nolabels() { zeros $(($(stat -c %s "$1") / 320)) >"$TMP/z.lab"; }

# mix A.raw B.raw OUT.raw: sample sum, length of the longer (clipped).
mix() { "${SOX[@]}" -m "${RAW[@]}" "$1" "${RAW[@]}" "$2" "${RAW[@]}" "$3"; }

echo "make_set.sh: speech" >&2
first=0
for v in "${VOICES[@]}"; do
	for lvl in -10 -20 -30 -40; do
		speech_track "$v" "$lvl" "$first" "$TMP/s"
		# A -70 dBFS line hiss under the digital silence: no real call
		# is digitally silent between words.
		noise white -70 "$(awk -v n="$(stat -c %s "$TMP/s.raw")" 'BEGIN { print n / 16000 }')" "$TMP/h.raw"
		mix "$TMP/s.raw" "$TMP/h.raw" "$TMP/m.raw"
		finish speech "${v/+/_}_${lvl#-}dB" "$TMP/m.raw" "$TMP/s.lab"
		first=$((first + 3))
	done
done

echo "make_set.sh: speech in noise" >&2
for v in "${VOICES[@]}"; do
	for colour in white pink brown; do
		for snr in 20 10; do
			speech_track "$v" -25 "$first" "$TMP/s"
			secs=$(awk -v n="$(stat -c %s "$TMP/s.raw")" 'BEGIN { print n / 16000 }')
			noise "$colour" $((-25 - snr)) "$secs" "$TMP/n2.raw"
			mix "$TMP/s.raw" "$TMP/n2.raw" "$TMP/m.raw"
			finish speech_noise "${v/+/_}_${colour}_snr${snr}" "$TMP/m.raw" "$TMP/s.lab"
			first=$((first + 1))
		done
	done
done

echo "make_set.sh: silence and noise" >&2
"${SOX[@]}" -n "${RAW[@]}" "$TMP/z.raw" trim 0 10
nolabels "$TMP/z.raw"
finish silence digital "$TMP/z.raw" "$TMP/z.lab"
noise white -70 10 "$TMP/z.raw"
finish silence hiss70dB "$TMP/z.raw" "$TMP/z.lab"
for colour in white pink brown; do
	for lvl in -50 -40 -30; do
		noise "$colour" "$lvl" 10 "$TMP/z.raw"
		nolabels "$TMP/z.raw"
		finish noise "${colour}_${lvl#-}dB" "$TMP/z.raw" "$TMP/z.lab"
	done
done

echo "make_set.sh: DTMF and call-progress tones" >&2
# DTMF: each key two sines at the given level each (dBFS of each sine:
# amplitude 10^(L/20) of full scale), ON ms on, OFF ms off.
dtmf() {
	local keys=$1 lvl=$2 on=$3 off=$4 out=$5 k lo hi
	: >"$TMP/dparts"
	local amp
	amp=$(awk -v l="$lvl" 'BEGIN { printf "%.4f", 10 ^ (l / 20) }')
	for ((i = 0; i < ${#keys}; i++)); do
		k=${keys:i:1}
		case $k in
		1 | 2 | 3 | A) lo=697 ;; 4 | 5 | 6 | B) lo=770 ;;
		7 | 8 | 9 | C) lo=852 ;; *) lo=941 ;;
		esac
		case $k in
		1 | 4 | 7 | '*') hi=1209 ;; 2 | 5 | 8 | 0) hi=1336 ;;
		3 | 6 | 9 | '#') hi=1477 ;; *) hi=1633 ;;
		esac
		# sox's synth amplitude is a percentage of full scale per tone
		# after -m halves each input, hence the factor 2.
		"${SOX[@]}" -n "${RAW[@]}" "$TMP/lo.raw" synth "0.$(printf %03d "$on")" sine "$lo" vol "$amp"
		"${SOX[@]}" -n "${RAW[@]}" "$TMP/hi.raw" synth "0.$(printf %03d "$on")" sine "$hi" vol "$amp"
		"${SOX[@]}" -m -v 1 "${RAW[@]}" "$TMP/lo.raw" -v 1 "${RAW[@]}" "$TMP/hi.raw" "${RAW[@]}" "$TMP/d$i.raw"
		"${SOX[@]}" -n "${RAW[@]}" "$TMP/o$i.raw" trim 0 "0.$(printf %03d "$off")"
		echo "$TMP/d$i.raw $TMP/o$i.raw" >>"$TMP/dparts"
	done
	# shellcheck disable=SC2046
	cat $(cat "$TMP/dparts") >"$out"
}
dtmf 0123456789 -10 100 100 "$TMP/t.raw"
nolabels "$TMP/t.raw"; finish dtmf keys_10dB_100ms "$TMP/t.raw" "$TMP/z.lab"
dtmf '*#ABCD4711' -18 70 60 "$TMP/t.raw"
nolabels "$TMP/t.raw"; finish dtmf keys_18dB_70ms "$TMP/t.raw" "$TMP/z.lab"
dtmf 9876543210 -25 200 150 "$TMP/t.raw"
nolabels "$TMP/t.raw"; finish dtmf keys_25dB_200ms "$TMP/t.raw" "$TMP/z.lab"

# Call-progress tones (North American): -13 dBFS per tone.
tone2() { # F1 F2 SECONDS OUT
	"${SOX[@]}" -n "${RAW[@]}" "$TMP/a.raw" synth "$3" sine "$1" vol 0.22
	"${SOX[@]}" -n "${RAW[@]}" "$TMP/b.raw" synth "$3" sine "$2" vol 0.22
	"${SOX[@]}" -m -v 1 "${RAW[@]}" "$TMP/a.raw" -v 1 "${RAW[@]}" "$TMP/b.raw" "${RAW[@]}" "$4"
}
tone2 350 440 8 "$TMP/t.raw"
nolabels "$TMP/t.raw"; finish tone dial "$TMP/t.raw" "$TMP/z.lab"
tone2 480 620 0.5 "$TMP/on.raw"
"${SOX[@]}" -n "${RAW[@]}" "$TMP/off.raw" trim 0 0.5
cat "$TMP"/{on,off,on,off,on,off,on,off,on,off,on,off,on,off,on,off}.raw >"$TMP/t.raw"
nolabels "$TMP/t.raw"; finish tone busy "$TMP/t.raw" "$TMP/z.lab"
tone2 440 480 2 "$TMP/on.raw"
"${SOX[@]}" -n "${RAW[@]}" "$TMP/off.raw" trim 0 4
cat "$TMP"/{on,off,on}.raw >"$TMP/t.raw"
nolabels "$TMP/t.raw"; finish tone ringback "$TMP/t.raw" "$TMP/z.lab"
"${SOX[@]}" -n "${RAW[@]}" "$TMP/t.raw" synth 6 sine 1000 vol 0.3
nolabels "$TMP/t.raw"; finish tone single1k "$TMP/t.raw" "$TMP/z.lab"

echo "make_set.sh: music on hold" >&2
# Chords as semitones from A4 (sox's %N frequency syntax).
CHORDS=("-21 -17 -14" "-24 -21 -17" "-28 -24 -21" "-26 -22 -19" "-21 -17 -14")
# chords WAVE SECONDS OUT.wav: the progression in WAVE (sine, square...),
# each chord SECONDS long, three notes mixed to mono.
chords() {
	local wave=$1 secs=$2 out=$3 parts=() i=0 c
	for c in "${CHORDS[@]}"; do
		# shellcheck disable=SC2086
		set -- $c
		"${SOX[@]}" -c 3 -r 8000 -n -b 16 -c 1 "$TMP/ch$i.wav" \
			synth "$secs" "$wave" "%$1" "$wave" "%$2" "$wave" "%$3" remix -
		parts+=("$TMP/ch$i.wav")
		i=$((i + 1))
	done
	"${SOX[@]}" "${parts[@]}" "$TMP/chords.wav"
	mv "$TMP/chords.wav" "$out"
}
# melody WAVE OUT.wav NOTE:DURATION...: a melody, each note faded out.
melody() {
	local wave=$1 out=$2 parts=() i=0 nd
	shift 2
	for nd in "$@"; do
		"${SOX[@]}" -n -r 8000 -c 1 -b 16 "$TMP/me$i.wav" \
			synth "${nd#*:}" "$wave" "%${nd%%:*}" fade 0.01 "${nd#*:}" 0.05
		parts+=("$TMP/me$i.wav")
		i=$((i + 1))
	done
	"${SOX[@]}" "${parts[@]}" "$out"
}
# to_level IN.wav LEVEL OUT.raw: RMS LEVEL dBFS, limited, raw.
to_level() {
	local rms
	rms=$("${SOX[@]}" "$1" -n stats 2>&1 | awk '/^RMS lev dB/ { print $4 }')
	# shellcheck disable=SC2046 # gain_to prints the effect's words
	"${SOX[@]}" "$1" "${RAW[@]}" "$3" $(gain_to "$2" "$rms")
}
# A sine chord pad under a plucked melody (0.25-0.5 s notes), with reverb,
# band-limited like a phone line, at -20 dBFS.
chords sine 2 "$TMP/pad.wav"
melody pluck "$TMP/mel.wav" 3:0.25 7:0.25 10:0.5 7:0.25 3:0.25 5:0.5 8:0.25 \
	12:0.25 10:0.5 8:0.25 7:0.25 5:0.5 3:0.25 7:0.25 10:0.5 15:0.25 14:0.25 \
	12:0.5 10:0.25 7:0.25 5:0.5 3:0.25 2:0.25 3:0.5 7:0.25 10:0.25 7:0.5
"${SOX[@]}" -m "$TMP/pad.wav" "$TMP/mel.wav" "$TMP/moh.wav" reverb 30 sinc 300-3400 trim 0 10
to_level "$TMP/moh.wav" -20 "$TMP/t.raw"
nolabels "$TMP/t.raw"; finish music moh_pluck_pad "$TMP/t.raw" "$TMP/z.lab"
# Square-wave chords (organ-like, rich harmonics) with a sine melody and a
# 4 Hz tremolo (a syllable-like energy modulation), at -22 dBFS.
chords square 1.5 "$TMP/pad.wav"
melody sine "$TMP/mel.wav" 15:0.375 12:0.375 10:0.375 12:0.375 15:0.375 \
	17:0.375 19:0.375 17:0.375 15:0.375 12:0.375 10:0.375 8:0.375 10:0.375 \
	12:0.375 15:0.375 12:0.375 10:0.375 8:0.375 7:0.375 8:0.375
"${SOX[@]}" -m "$TMP/pad.wav" "$TMP/mel.wav" "$TMP/moh.wav" sinc 300-3400 tremolo 4 40 trim 0 7.5
to_level "$TMP/moh.wav" -22 "$TMP/t.raw"
nolabels "$TMP/t.raw"; finish music moh_square_sine "$TMP/t.raw" "$TMP/z.lab"

n=$(find "$OUT" -name '*.raw' | wc -l)
echo "make_set.sh: $n items in $OUT" >&2
