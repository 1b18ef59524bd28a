#!/usr/bin/env bash
# `voxgate nlu train --augment asr[:K]`: the CLI side of the ASR-noise
# augmentation (src/engines/nlu/asrnoise.h) on a tiny data set with its own
# dictionary and word list (no daemon). Checks: the confusion table is
# reported, the same arguments give the same model bytes, the copies change
# the model, `--augment none` is the plain model, the canonical-spelling
# flag is written, and bad arguments or a missing dictionary fail with a
# message and no model.
source "$(dirname "$0")/lib.sh"
vg_init
T=$VG_TMP
cat >"$T/train.tsv" <<'TSV'
card_lost	I lost my card
card_lost	my card is lost
card_lost	where is my card
transfer	transfer money to my friend
transfer	I want to make a transfer
transfer	send money any more
TSV
cat >"$T/cmu.dict" <<'DICT'
card K AA R D
cart K AA R T
heart HH AA R T
transfer T R AE N S F ER
trance T R AE N S
for F AO R
any EH N IY
more M AO R
anymore EH N IY M AO R
DICT
printf 'the\ncart\nheart\ntrance\nfor\nanymore\n' >"$T/words.txt"

train() { # out args...
	local out=$1
	shift
	timeout 60 "$VOXGATE" nlu train --data "$T/train.tsv" -o "$out" --epochs 5 "$@" 2>"$out.err"
}

train "$T/a.vxn" --augment asr:3 --dict "$T/cmu.dict" --augment-words "$T/words.txt" ||
	vg_fail "train --augment asr:3: $(cat "$T/a.vxn.err")"
vg_assert_match "the confusion table is reported" \
	'asr noise: [1-9][0-9]* words, [1-9][0-9]* merges \(6 known words\); 3 copies' "$(cat "$T/a.vxn.err")"
train "$T/b.vxn" --augment asr:3 --dict "$T/cmu.dict" --augment-words "$T/words.txt" || vg_fail "second train"
vg_assert "same arguments, same model bytes" cmp -s "$T/a.vxn" "$T/b.vxn"
train "$T/c.vxn" --augment asr:3 --dict "$T/cmu.dict" --augment-words "$T/words.txt" --seed 7 || vg_fail "seed 7"
vg_assert "another seed, another model" bash -c "! cmp -s '$T/a.vxn' '$T/c.vxn'"
train "$T/plain.vxn" || vg_fail "plain train"
train "$T/none.vxn" --augment none --dict /nonexistent || vg_fail "--augment none"
vg_assert "--augment none is the plain model (no dictionary read)" cmp -s "$T/plain.vxn" "$T/none.vxn"
vg_assert "the copies change the model" bash -c "! cmp -s '$T/a.vxn' '$T/plain.vxn'"
out=$("$VOXGATE" nlu eval --model "$T/a.vxn" --data "$T/train.tsv" --json)
vg_assert_match "the augmented model classifies its training set" '"accuracy":1\.0000' "$out"
train "$T/canon.vxn" --canon on || vg_fail "--canon on"
vg_assert_eq "--canon on sets model flag bit 0" 1 "$(od -An -tu1 -j12 -N1 "$T/canon.vxn" | tr -d ' ')"
vg_assert_eq "plain models keep flags 0" 0 "$(od -An -tu1 -j12 -N1 "$T/plain.vxn" | tr -d ' ')"

bad() { # description args...
	local d=$1
	shift
	rm -f "$T/bad.vxn"
	if train "$T/bad.vxn" "$@"; then
		vg_bad "$d: accepted"
	elif [ -e "$T/bad.vxn" ]; then
		vg_bad "$d: wrote a model"
	else
		vg_ok "$d: refused"
	fi
}
bad "too many copies" --augment asr:99 --dict "$T/cmu.dict"
bad "unknown augmentation" --augment typos --dict "$T/cmu.dict"
bad "rate above 1" --augment asr --dict "$T/cmu.dict" --augment-rates 2,0,0,0
bad "three rates" --augment asr --dict "$T/cmu.dict" --augment-rates 0.1,0.1,0.1
bad "bad --canon" --canon maybe
bad "missing dictionary" --augment asr --dict "$T/none.dict"
vg_assert_match "the missing dictionary is named" "none.dict: .*pocketsphinx-en-us" "$(cat "$T/bad.vxn.err")"
bad "missing word list" --augment asr --dict "$T/cmu.dict" --augment-words "$T/none.txt"
vg_done
