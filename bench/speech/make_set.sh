#!/usr/bin/env bash
# bench/speech/make_set.sh OUT_DIR [N]: build the STT test set (not
# committed: it is regenerated from text, deterministically).
#
#  OUT_DIR/open/     N banking utterances (default 300): every k-th sentence of
#                    2..12 words of data/banking77/test.tsv, spoken by two
#                    voices in turn, padded with 300 ms of silence, sent
#                    through G.711 mu-law and back to 8 kHz PCM16 WAV (what a
#                    caller's audio looks like after a PSTN leg).
#  OUT_DIR/grammar/  the in-grammar set: menu phrases, yes/no answers and digit
#                    strings, both voices, same channel; grammar.txt holds the
#                    menu phrases (yes/no and digits are the grammar's
#                    classes).
#  Each folder has refs.tsv: file<TAB>voice<TAB>normalized reference text.
#
# Voices (VOICES, two words): "flite:kal flite:slt" when $VOXGATE (the
# voxgate binary, for `voxgate say`) is set and works, else
# "espeak:en-us espeak:en-us+f3" (espeak-ng CLI: GPL, only run, never
# linked). The voice of each file is in refs.tsv.
set -euo pipefail

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 OUT_DIR [N]" >&2; exit 2; }
OUT=$1
N=${2:-300}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA=${VG_SOURCE_DIR:-$HERE/../..}/data/banking77/test.tsv
JOBS=${JOBS:-$(nproc)}
command -v sox >/dev/null || { echo "make_set.sh: sox not found" >&2; exit 1; }
[ -r "$DATA" ] || { echo "make_set.sh: no $DATA" >&2; exit 1; }
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] || { echo "make_set.sh: N must be a positive number" >&2; exit 2; }

mkdir -p "$OUT/open" "$OUT/grammar"
if [ -z "${VOICES:-}" ]; then
	VOICES="espeak:en-us espeak:en-us+f3"
	probe=$(mktemp --suffix=.wav)
	if [ -n "${VOXGATE:-}" ] && "$VOXGATE" say "test" -o "$probe" --voice kal --rate 8000 >/dev/null 2>&1; then
		VOICES="flite:kal flite:slt"
	fi
	rm -f "$probe"
fi
read -r VOICE0 VOICE1 <<<"$VOICES"
[ -n "$VOICE1" ] || { echo "make_set.sh: VOICES needs two voices" >&2; exit 2; }
for v in "$VOICE0" "$VOICE1"; do
	case $v in
	flite:*) [ -n "${VOXGATE:-}" ] || { echo "make_set.sh: $v needs VOXGATE" >&2; exit 1; } ;;
	espeak:*) command -v espeak-ng >/dev/null || { echo "make_set.sh: espeak-ng not found" >&2; exit 1; } ;;
	*) echo "make_set.sh: unknown voice $v (flite:NAME or espeak:NAME)" >&2; exit 2 ;;
	esac
done
export VOICE0 VOICE1 VOXGATE="${VOXGATE:-}"
echo "make_set.sh: voices $VOICE0, $VOICE1"

# The reference as the WER scorer sees it: lowercase, letters, digits and
# apostrophes, single spaces.
norm() {
	tr '[:upper:]' '[:lower:]' | sed -e "s/[^a-z0-9']/ /g" -e 's/  */ /g' -e 's/^ //' -e 's/ $//'
}

# speak ID TEXT VOICE_INDEX DIR: one utterance through the telephone channel.
speak() {
	local id=$1 text=$2 vi=$3 dir=$4 voice tmp
	if [ "$vi" = 0 ]; then voice=$VOICE0; else voice=$VOICE1; fi
	tmp=$(mktemp -d)
	case $voice in
	flite:*) "$VOXGATE" say "$text" -o "$tmp/raw.wav" --voice "${voice#flite:}" --rate 8000 >/dev/null ;;
	espeak:*) espeak-ng -v "${voice#espeak:}" -s 160 -w "$tmp/raw.wav" -- "$text" ;;
	esac
	sox -R -q "$tmp/raw.wav" -r 8000 -c 1 -e mu-law -t wav "$tmp/ulaw.wav" pad 0.3 0.3
	sox -R -q "$tmp/ulaw.wav" -e signed-integer -b 16 "$dir/$id.wav"
	rm -rf "$tmp"
}
export -f speak

# --- open set: pick every k-th short sentence ---
mapfile -t short < <(awk -F'\t' 'NF >= 2 { n = split($2, w, " "); if (n >= 2 && n <= 12) print $2 }' "$DATA")
total=${#short[@]}
[ "$N" -le "$total" ] || N=$total
step=$((total / N))
: >"$OUT/open/refs.tsv"
: >"$OUT/open/jobs.txt"
for ((i = 0; i < N; i++)); do
	text=${short[$((i * step))]}
	id=$(printf 'u%04d' "$i")
	vi=$((i % 2))
	if [ $vi = 0 ]; then voice=$VOICE0; else voice=$VOICE1; fi
	printf '%s\t%s\t%s\n' "$id" "$voice" "$(printf '%s' "$text" | norm)" >>"$OUT/open/refs.tsv"
	printf '%s\t%s\t%s\n' "$id" "$vi" "$text" >>"$OUT/open/jobs.txt"
done

# --- grammar set ---
PHRASES=(
	"check my balance" "report a lost card" "talk to an agent"
	"recent transactions" "activate my card" "pay a bill"
	"transfer money" "change my pin" "main menu" "repeat that"
	"open an account" "close my account" "card declined" "speak to someone"
	"exchange rates" "order a new card"
)
ANSWERS=("yes" "no" "yes please" "no thanks" "correct" "that is right")
DIGITS=("four one one" "one two three four" "nine eight seven six" "zero five"
	"three three two one" "seven zero nine" "two four six eight" "five five five"
	"one zero zero one" "six two")
printf '%s\n' "# menu phrases; yes/no and digit strings are classes" "${PHRASES[@]}" >"$OUT/grammar/grammar.txt"
: >"$OUT/grammar/refs.tsv"
: >"$OUT/grammar/jobs.txt"
i=0
for text in "${PHRASES[@]}" "${ANSWERS[@]}" "${DIGITS[@]}"; do
	for vi in 0 1; do
		id=$(printf 'g%04d' "$i")
		if [ $vi = 0 ]; then voice=$VOICE0; else voice=$VOICE1; fi
		printf '%s\t%s\t%s\n' "$id" "$voice" "$text" >>"$OUT/grammar/refs.tsv"
		printf '%s\t%s\t%s\n' "$id" "$vi" "$text" >>"$OUT/grammar/jobs.txt"
		i=$((i + 1))
	done
done

synth_all() {
	local dir=$1
	# one job per line: id, voice index, text
	while IFS=$'\t' read -r id vi text; do
		printf '%s\0%s\0%s\0' "$id" "$vi" "$text"
	done <"$dir/jobs.txt" | xargs -0 -n 3 -P "$JOBS" bash -c 'speak "$1" "$3" "$2" "$0"' "$dir"
	rm -f "$dir/jobs.txt"
}
synth_all "$OUT/open"
synth_all "$OUT/grammar"
echo "make_set.sh: $(wc -l <"$OUT/open/refs.tsv") open + $(wc -l <"$OUT/grammar/refs.tsv") grammar utterances in $OUT"
