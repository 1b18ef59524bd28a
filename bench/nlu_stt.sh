#!/usr/bin/env bash
# bench/nlu_stt.sh BUILD_DIR [N]: intent accuracy on speech, the figure
# issue [3/7] asks for ("accuracy on STT-like input").
#
#  1. builds the spoken BANKING77 set (bench/speech/make_set.sh: N test
#     sentences, default NLU_STT_N or 100: each transcription loads the model, ~1 s;
#     two flite voices, through G.711 mu-law);
#  2. transcribes every file with `voxgate transcribe` twice: Moonshine (the
#     default open-speech engine) alone, and with the domain LM of the
#     training sentences (--lm-from: what an open flow step with intents
#     decodes with); the second gives nlu_stt.heard_lm;
#  3. trains the BANKING77 model on data/banking77/train.tsv (or reuses
#     BUILD_DIR/banking77.vxn) and runs `voxgate nlu eval` twice on the same
#     utterances: the reference texts (what was said) and the transcripts
#     (what was heard). The difference is what recognition errors cost.
#  4. trains BANKING77 twice more, without and with the ASR-noise
#     augmentation (`--augment none` / NLU_STT_AUGMENT, default
#     `--augment asr`; needs the CMU dictionary of pocketsphinx-en-us, else
#     skipped), and prints clean test, said and heard accuracy, heard ECE and
#     training time of both (BUILD_DIR/banking77-{plain,asr}.vxn, retrained
#     when voxgate is newer).
#
# NLU_SAID=said.tsv NLU_HEARD=heard.tsv (label<TAB>text, the same sentences
# in the same order) skip steps 1-2: e.g. another recognizer's transcripts.
# NLU_REFHYP=mode.tsv (reference<TAB>transcript, what `VG_STT_BENCH_HEARD=DIR
# bench_stt SET` writes per mode) does the same, labelling each reference
# from data/banking77/test.tsv.
# Prints both accuracies and their ratio; writes the TSVs next to the set.
set -euo pipefail
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 BUILD_DIR [N]" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
N=${2:-${NLU_STT_N:-100}}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
V=$BUILD/src/voxgate
[ -x "$V" ] || { echo "nlu_stt.sh: no $V (build first)" >&2; exit 2; }
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/src/engines/stt/sherpa/lsan.supp}
SET=${NLU_STT_SET:-$(mktemp -d)}

norm() {
	tr '[:upper:]' '[:lower:]' | sed -e "s/[^a-z0-9']/ /g" -e 's/  */ /g' -e 's/^ //' -e 's/ $//'
}

if [ -n "${NLU_REFHYP:-}" ]; then
	[ -s "$NLU_REFHYP" ] || { echo "nlu_stt.sh: no $NLU_REFHYP" >&2; exit 2; }
	mkdir -p "$SET"
elif [ -n "${NLU_HEARD:-}" ]; then
	[ -s "${NLU_SAID:-}" ] && [ -s "$NLU_HEARD" ] || { echo "nlu_stt.sh: NLU_HEARD needs NLU_SAID (both label<TAB>text)" >&2; exit 2; }
	mkdir -p "$SET"
elif [ ! -s "$SET/open/refs.tsv" ]; then
	echo "== building the spoken set ($N utterances) in $SET"
	VOXGATE=$V "$ROOT/bench/speech/make_set.sh" "$SET" "$N" >/dev/null
fi
BUILD_DIR=$BUILD SRC=$ROOT VOXGATE=$V
MODEL=$(bench_nlu_model)

# label of each normalized test sentence
awk -F'\t' '{print $1 "\t" $2}' "$ROOT/data/banking77/test.tsv" |
	while IFS=$'\t' read -r label text; do
		printf '%s\t%s\n' "$(printf '%s' "$text" | norm)" "$label"
	done >"$SET/labels.tsv"

n=0 empty=0
if [ -n "${NLU_REFHYP:-}" ]; then
	NLU_SAID=$SET/said-refhyp.tsv NLU_HEARD=$SET/heard-refhyp.tsv
	: >"$NLU_SAID"
	: >"$NLU_HEARD"
	while IFS=$'\t' read -r ref hyp; do
		label=$(awk -F'\t' -v t="$ref" '$1 == t {print $2; exit}' "$SET/labels.tsv")
		[ -n "$label" ] || continue
		printf '%s\t%s\n' "$label" "$ref" >>"$NLU_SAID"
		printf '%s\t%s\n' "$label" "${hyp:-(nothing heard)}" >>"$NLU_HEARD"
	done <"$NLU_REFHYP"
fi
if [ -n "${NLU_HEARD:-}" ]; then
	cp "$NLU_SAID" "$SET/said.tsv"
	cp "$NLU_HEARD" "$SET/heard.tsv"
	n=$(grep -c . "$SET/heard.tsv")
else
: >"$SET/said.tsv"
: >"$SET/heard.tsv"
: >"$SET/heard-lm.tsv"
while IFS=$'\t' read -r file _voice ref; do
	label=$(awk -F'\t' -v t="$ref" '$1 == t {print $2; exit}' "$SET/labels.tsv")
	[ -n "$label" ] || continue
	hyp=$("$V" transcribe "$SET/open/$file.wav" --engine moonshine --json 2>/dev/null </dev/null |
		sed -n 's/^{"text":"\([^"]*\)".*/\1/p')
	if [ -z "$hyp" ]; then
		empty=$((empty + 1))
		hyp="(nothing heard)"
	fi
	# the same audio with the step's domain LM, as the bank flow's open
	# steps decode (Moonshine beam search + the intent examples' trigram)
	hyp_lm=$("$V" transcribe "$SET/open/$file.wav" --engine moonshine \
		--lm-from "$ROOT/data/banking77/train.tsv" --json 2>/dev/null </dev/null |
		sed -n 's/^{"text":"\([^"]*\)".*/\1/p')
	printf '%s\t%s\n' "$label" "$ref" >>"$SET/said.tsv"
	printf '%s\t%s\n' "$label" "$hyp" >>"$SET/heard.tsv"
	printf '%s\t%s\n' "$label" "${hyp_lm:-(nothing heard)}" >>"$SET/heard-lm.tsv"
	n=$((n + 1))
done <"$SET/open/refs.tsv"
fi

acc() { "$V" nlu eval --model "${2:-$MODEL}" --data "$1" --json | sed -n 's/.*"accuracy":\([0-9.]*\).*/\1/p'; }
ece() { "$V" nlu eval --model "$2" --data "$1" --json | sed -n 's/.*"ece":\([0-9.]*\).*/\1/p'; }
a_said=$(acc "$SET/said.tsv")
a_heard=$(acc "$SET/heard.tsv")
echo "== intent accuracy on $n spoken BANKING77 test utterances (Moonshine, G.711)"
echo "said  (reference text): $a_said"
echo "heard (transcripts):    $a_heard   ($empty transcripts empty)"
awk -v a="$a_said" -v b="$a_heard" 'BEGIN { if (a > 0) printf "ratio heard/said:       %.3f\n", b / a }'
bench_figure nlu_stt.said "$a_said" accuracy
bench_figure nlu_stt.heard "$a_heard" accuracy
if [ -s "$SET/heard-lm.tsv" ]; then
	a_heard_lm=$(acc "$SET/heard-lm.tsv")
	echo "heard with the domain LM: $a_heard_lm"
	bench_figure nlu_stt.heard_lm "$a_heard_lm" accuracy
fi
bench_figure nlu_stt.ratio "$(awk -v a="$a_said" -v b="$a_heard" 'BEGIN { if (a > 0) printf "%.3f", b / a }')" ratio

# With and without the ASR-noise augmentation (same trainer otherwise).
DICT=${NLU_STT_DICT:-/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict}
read -r -a AUG <<<"${NLU_STT_AUGMENT:---augment asr}"
train() { # name args...: BUILD/banking77-NAME.vxn, its training seconds in .time
	local m=$BUILD/banking77-$1.vxn
	shift
	if [ ! -s "$m" ] || [ ! -s "$m.time" ] || [ "$V" -nt "$m" ]; then
		local t0 t1
		t0=$(date +%s.%N)
		"$V" nlu train --data "$ROOT/data/banking77/train.tsv" -o "$m" "$@" >/dev/null 2>&1 ||
			{ echo "nlu_stt.sh: cannot train $m" >&2; exit 1; }
		t1=$(date +%s.%N)
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", b - a }' >"$m.time"
	fi
	echo "$m"
}
if [ -r "$DICT" ]; then
	echo "== with and without ASR-noise augmentation (${AUG[*]}; training time on this box)"
	for variant in plain asr; do
		if [ $variant = plain ]; then
			m=$(train plain --augment none)
		else
			m=$(train asr "${AUG[@]}" --dict "$DICT")
		fi
		clean=$(acc "$ROOT/data/banking77/test.tsv" "$m")
		said=$(acc "$SET/said.tsv" "$m")
		heard=$(acc "$SET/heard.tsv" "$m")
		e_heard=$(ece "$SET/heard.tsv" "$m")
		secs=$(cat "$m.time")
		printf '%-5s clean test %s  said %s  heard %s  heard ECE %s  training %s s\n' \
			"$variant" "$clean" "$said" "$heard" "$e_heard" "$secs"
		bench_figure "nlu_stt.$variant.clean" "$clean" accuracy
		bench_figure "nlu_stt.$variant.said" "$said" accuracy
		bench_figure "nlu_stt.$variant.heard" "$heard" accuracy
		bench_figure "nlu_stt.$variant.heard_ece" "$e_heard" ece
		bench_figure "nlu_stt.$variant.train_s" "$secs" s "<=60"
	done
else
	echo "== no $DICT (package pocketsphinx-en-us): augmentation not measured"
fi
echo "set: $SET"
