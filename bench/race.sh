#!/usr/bin/env bash
# bench/race.sh: race checking's cost, side by side in one run.
#
# One counter program (bench/race_bench.c) built four ways: raw (plain
# pthreads and plain accesses), the lc_ layer with LOCKCHECK=0, with
# LOCKCHECK=1 (every access checked: a declared guard, then an undeclared
# counter by happens-before), and raw under ThreadSanitizer (which checks
# every access of the program). All -O2 with gcc. Each variant runs RUNS
# times at 1 and 2 threads, interleaved; the median is kept. Instruction
# counts of the loop (callgrind) show LOCKCHECK=0 equal to raw.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
STEPS=${STEPS:-1000000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

CFLAGS=(-std=gnu11 -O2 -g -pthread -Iinclude -Ibench)
mapfile -t CHECKER < <(ls lockcheck/*.c | grep -v mode_off.c)
gcc "${CFLAGS[@]}" -DBENCH_RAW bench/race_bench.c -o "$out/raw"
gcc "${CFLAGS[@]}" -DLOCKCHECK=0 bench/race_bench.c lockcheck/mode_off.c -o "$out/off"
gcc "${CFLAGS[@]}" -DLOCKCHECK=1 -rdynamic bench/race_bench.c "${CHECKER[@]}" \
	-Wl,--wrap=pthread_create -Wl,--wrap=pthread_join -o "$out/on"
gcc "${CFLAGS[@]}" -DBENCH_RAW -fsanitize=thread bench/race_bench.c -o "$out/tsan"

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

declare -A ns
for t in 1 2; do
	for v in raw off on tsan; do
		ns[$v.$t]=$(for i in $(seq "$RUNS"); do
			"$out/$v" "$t" "$STEPS" | awk '{print $4}'
		done | median)
	done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

echo "ns per step, median of $RUNS (a step: lock, guarded read+write, unlock, undeclared read+write)"
printf "%-6s %10s %10s\n" variant 1T 2T
for v in raw off on tsan; do
	printf "%-6s %10s %10s\n" "$v" "${ns[$v.1]}" "${ns[$v.2]}"
done
for t in 1 2; do
	echo "${t}T: off/raw $(ratio "${ns[off.$t]}" "${ns[raw.$t]}")" \
		" on/raw $(ratio "${ns[on.$t]}" "${ns[raw.$t]}")" \
		" tsan/raw $(ratio "${ns[tsan.$t]}" "${ns[raw.$t]}")" \
		" tsan/on $(ratio "${ns[tsan.$t]}" "${ns[on.$t]}")"
done
# Per-access cost over raw: (variant - raw) / 4 accesses a step.
for t in 1 2; do
	echo "${t}T per access over raw (ns): on $(awk -v a="${ns[on.$t]}" -v r="${ns[raw.$t]}" 'BEGIN {printf "%.2f", (a - r) / 4}')" \
		" tsan $(awk -v a="${ns[tsan.$t]}" -v r="${ns[raw.$t]}" 'BEGIN {printf "%.2f", (a - r) / 4}')"
done

count() { # VARIANT
	valgrind -q --tool=callgrind --toggle-collect=loop \
		--callgrind-out-file="$out/cg.$1" "$out/$1" 1 100000 >/dev/null
	awk '/^summary:/ {print $2}' "$out/cg.$1"
}
echo "loop instructions (callgrind, 100000 steps): raw $(count raw)  off $(count off)  on $(count on)"
"$out/on" memory
