#!/usr/bin/env bash
# tests/format/run.sh: every C and C++ file the project wrote matches the
# committed .clang-format (third_party/ is not ours). One case per top-level
# directory; a failing case names its files and shows clang-format's first
# complaints. `tools/dev format` applies the style.
set -uo pipefail
cd "$(dirname "$0")/../.."

if ! command -v clang-format >/dev/null; then
	echo "FAIL: clang-format is not installed (tools/dev deps installs it)"
	exit 1
fi

failed=0
for dir in $(git ls-files '*.c' '*.h' '*.cc' | grep -v '^third_party/' |
	cut -d/ -f1 | sort -u); do
	bad=()
	while read -r f; do
		clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
	done < <(git ls-files "$dir/*.c" "$dir/*.h" "$dir/*.cc")
	if [ ${#bad[@]} = 0 ]; then
		echo "PASS: $dir/ matches .clang-format"
	else
		echo "FAIL: $dir/ matches .clang-format: ${bad[*]}"
		clang-format --dry-run "${bad[0]}" 2>&1 | head -n 12
		failed=1
	fi
done
exit "$failed"
