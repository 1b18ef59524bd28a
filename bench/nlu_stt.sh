#!/usr/bin/env bash
# bench/nlu_stt.sh BUILD_DIR [N]: intent accuracy on speech, the figure
# issue [3/7] asks for ("accuracy on STT-like input").
#
#  1. builds the spoken BANKING77 set (bench/speech/make_set.sh: N test
#     sentences, default NLU_STT_N or 100: each transcription loads the model, ~1 s;
#     two flite voices, through G.711 mu-law);
#  2. transcribes every file with `voxgate transcribe` (Moonshine, the
#     default open-speech engine);
#  3. trains the BANKING77 model on data/banking77/train.tsv (or reuses
#     BUILD_DIR/banking77.vxn) and runs `voxgate nlu eval` twice on the same
#     utterances: the reference texts (what was said) and the transcripts
#     (what was heard). The difference is what recognition errors cost.
#
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

if [ ! -s "$SET/open/refs.tsv" ]; then
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

: >"$SET/said.tsv"
: >"$SET/heard.tsv"
n=0 empty=0
while IFS=$'\t' read -r file _voice ref; do
	label=$(awk -F'\t' -v t="$ref" '$1 == t {print $2; exit}' "$SET/labels.tsv")
	[ -n "$label" ] || continue
	hyp=$("$V" transcribe "$SET/open/$file.wav" --engine moonshine --json 2>/dev/null </dev/null |
		sed -n 's/^{"text":"\([^"]*\)".*/\1/p')
	if [ -z "$hyp" ]; then
		empty=$((empty + 1))
		hyp="(nothing heard)"
	fi
	printf '%s\t%s\n' "$label" "$ref" >>"$SET/said.tsv"
	printf '%s\t%s\n' "$label" "$hyp" >>"$SET/heard.tsv"
	n=$((n + 1))
done <"$SET/open/refs.tsv"

acc() { "$V" nlu eval --model "$MODEL" --data "$1" --json | sed -n 's/.*"accuracy":\([0-9.]*\).*/\1/p'; }
a_said=$(acc "$SET/said.tsv")
a_heard=$(acc "$SET/heard.tsv")
echo "== intent accuracy on $n spoken BANKING77 test utterances (Moonshine, G.711)"
echo "said  (reference text): $a_said"
echo "heard (transcripts):    $a_heard   ($empty transcripts empty)"
awk -v a="$a_said" -v b="$a_heard" 'BEGIN { if (a > 0) printf "ratio heard/said:       %.3f\n", b / a }'
bench_figure nlu_stt.said "$a_said" accuracy
bench_figure nlu_stt.heard "$a_heard" accuracy
bench_figure nlu_stt.ratio "$(awk -v a="$a_said" -v b="$a_heard" 'BEGIN { if (a > 0) printf "%.3f", b / a }')" ratio
echo "set: $SET"
