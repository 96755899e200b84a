#!/usr/bin/env bash
# bench/ledger.sh: ds_ledger's per-account locks (taken in id order) vs the
# same ledger behind one global lock, side by side in one run.
#
# bench/ledger_bench.c is built as users build production code: LOCKCHECK=0,
# gcc -O2 (Bazel: //bench:ledger_bench). For each row it runs the two
# variants in 5 interleaved rounds and prints the medians and the
# ordered:global ratio. MS=<ms> sets the length of one run (default 300).
set -euo pipefail
cd "$(dirname "$0")/.."

MS=${MS:-300}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

gcc -std=gnu11 -O2 -g -pthread -Iinclude -DLOCKCHECK=0 \
	bench/ledger_bench.c ds/ledger.c lockcheck/mode_off.c -o "$out/ledger_bench"
echo "machine: $(nproc) cpus, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$out/ledger_bench" "$MS"
