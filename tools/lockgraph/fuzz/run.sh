#!/usr/bin/env bash
# tools/lockgraph/fuzz/run.sh [SECONDS]: fuzzes the dump parser (and the
# analysis and outputs behind it) with libFuzzer + ASan + UBSan for SECONDS
# (default 60), seeded with the committed dumps and the saved inputs.
# Crashing inputs are copied to tools/lockgraph/testdata/fuzz/ (replayed by
# tests/lockgraph_input_test.c); fix the bug, keep the input. Not run by CI.
set -euo pipefail
cd "$(dirname "$0")/../../.."
secs=${1:-60}
work=fuzz-out/lockgraph
mkdir -p "$work/corpus" "$work/crashes"
# lockgraph without its main, and the rule module (//lockcheck:graph)
src=$(ls tools/lockgraph/*.c | grep -v '/main.c$'
	sed -n '/^GRAPH_SRCS = \[/,/^]/s/^ *"\(.*\)",$/lockcheck\/\1/p' lockcheck/BUILD)
clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -Wall -Wextra -Werror -I. \
	tools/lockgraph/fuzz/fuzz_parse.c $src -o "$work/fuzz_parse"
cp tools/lockgraph/testdata/dumps/*/*.graph "$work/corpus/" 2>/dev/null || true
cp tools/lockgraph/testdata/fuzz/* "$work/corpus/" 2>/dev/null || true
rc=0
"$work/fuzz_parse" -max_total_time="$secs" -max_len=4096 -timeout=10 \
	-rss_limit_mb=2048 -artifact_prefix="$work/crashes/" \
	-dict=tools/lockgraph/fuzz/dump.dict "$work/corpus" || rc=$?
for f in "$work"/crashes/*; do
	[ -e "$f" ] || continue
	mv "$f" "tools/lockgraph/testdata/fuzz/$(basename "$f")"
	echo "fuzz: saved tools/lockgraph/testdata/fuzz/$(basename "$f")"
done
exit $rc
