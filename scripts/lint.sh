#!/usr/bin/env bash
# make lint: layer rules, clang-format drift, clang-tidy and cppcheck; any
# finding fails.
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0

echo "== layers (src/<layer> may include only what CMake links it to)"
declare -A allow=(
	[core]="core"
	[metrics]="metrics core"
	[audio]="audio core"
	[call]="call audio metrics core"
	[engines]="engines call audio core metrics"
	[config]="config core"
	[store]="store core metrics"
	[flow]="flow call engines core config audio metrics"
	[telephony]="telephony call audio metrics core"
	[http]="http store metrics core"
	[security]="security core"
	[control]="control flow http store telephony call engines core config audio metrics"
	[sim]="sim engines audio config core"
)
for layer in "${!allow[@]}"; do
	[ -d "src/$layer" ] || continue
	while IFS= read -r line; do
		file=${line%%:*}
		inc=$(sed -E 's/.*#include "([^/"]+)\/.*/\1/' <<<"$line")
		if ! grep -qw "$inc" <<<"${allow[$layer]}"; then
			echo "layer violation: $file includes $inc/ (allowed: ${allow[$layer]})"
			rc=1
		fi
	done < <(grep -rn '#include "[a-z_]*/' "src/$layer" --include='*.c' --include='*.h')
done

echo "== clang-format (files that differ from .clang-format)"
drift=0
for f in $(git ls-files 'src/*.c' 'src/*.h'); do
	if ! clang-format --dry-run "$f" >/dev/null 2>&1 || \
	   [ -n "$(clang-format --dry-run "$f" 2>&1 | head -1)" ]; then
		drift=$((drift + 1))
	fi
done
echo "$drift file(s) differ from clang-format (run: make format)"
[ "$drift" -eq 0 ] || rc=1

echo "== clang-tidy (.clang-tidy)"
[ -f build/dev/compile_commands.json ] || cmake --preset dev >/dev/null
tidy=$(git ls-files 'src/*.c' | xargs -P2 -n4 clang-tidy -p build/dev --quiet --extra-arg=-Wno-unknown-warning-option 2>/dev/null | grep -E 'warning:|error:' || true)
if [ -n "$tidy" ]; then
	echo "$tidy"
	rc=1
fi

echo "== cppcheck"
if ! cppcheck --quiet --error-exitcode=1 --std=c11 --inline-suppr \
	--suppress=missingIncludeSystem --suppress=unusedFunction \
	--suppress=unmatchedSuppression -D_GNU_SOURCE -Isrc src; then
	rc=1
fi
exit $rc
