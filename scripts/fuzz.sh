#!/usr/bin/env bash
# make fuzz: run every libFuzzer target for N seconds on a copy of its corpus,
# with the dictionaries from ../shared when one fits. Crashes land in
# build/fuzz/artifacts/; add them to fuzz/corpus/<target>/ as regressions.
set -euo pipefail
build=${1:-build/fuzz}
secs=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
shared="$root/../shared/corpora/fuzz-dicts"
mkdir -p "$build/artifacts"
fail=0
for bin in "$build"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin"); target=${name#fuzz_}
	work="$build/corpus-$target"
	mkdir -p "$work"
	cp -n "$root/fuzz/corpus/$target/"* "$work/" 2>/dev/null || true
	dict=()
	case "$target" in
	sdp) ;;
	http_query) dict=(-dict="$shared/afl++/url.dict") ;;
	config|flow|ydoc) ;;
	esac
	echo "== $name (${secs}s)"
	if ! "$bin" "${dict[@]}" -max_total_time="$secs" -artifact_prefix="$build/artifacts/$name-" "$work" 2>"$build/$name.log"; then
		echo "   FAILED: see $build/$name.log and $build/artifacts/"
		fail=1
	else
		grep -E '^Done|stat::number_of_executed_units' "$build/$name.log" | tail -1
	fi
done
exit $fail
