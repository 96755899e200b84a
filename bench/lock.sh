#!/usr/bin/env bash
# bench/lock.sh: the lock layer's cost, side by side in one run.
#
# One program (bench/lock_bench.c) built five ways: raw pthreads, the lc_
# layer with the checker off, with it on, raw under ThreadSanitizer, raw
# under Helgrind. All -O2 with gcc. Workloads: pair, nested (table -> shard
# -> entry) and stats (table -> shard -> stats, table and stats initialised
# on one line). Each native variant runs RUNS times,
# interleaved, and the median is kept; Helgrind is slow, so it runs once
# with fewer steps (ns per step stays comparable). Instruction counts of
# the lock loop come from callgrind (repeatable, whatever the machine does).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
PAIR_STEPS=${PAIR_STEPS:-10000000}
NESTED_STEPS=${NESTED_STEPS:-2000000}
SLOW_DIV=${SLOW_DIV:-50} # Helgrind does 1/SLOW_DIV of the steps
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

CFLAGS=(-std=gnu11 -O2 -g -pthread -Iinclude -Ibench)
mapfile -t CHECKER < <(ls lockcheck/*.c | grep -v mode_off.c)
gcc "${CFLAGS[@]}" -DBENCH_RAW bench/lock_bench.c -o "$out/raw"
gcc "${CFLAGS[@]}" -DLOCKCHECK=0 bench/lock_bench.c lockcheck/mode_off.c -o "$out/off"
gcc "${CFLAGS[@]}" -DLOCKCHECK=1 -rdynamic bench/lock_bench.c "${CHECKER[@]}" \
	-Wl,--wrap=pthread_create -Wl,--wrap=pthread_join -o "$out/on"
gcc "${CFLAGS[@]}" -DBENCH_RAW -fsanitize=thread bench/lock_bench.c -o "$out/tsan"

# The median, and the spread as [min-max] in spread[$key].
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)], v[1], v[NR]}'; }

declare -A ns spread

# run KEY VARIANT WORKLOAD THREADS STEPS: median ns/step into ns[KEY]
run() {
	local i m
	m=$(for i in $(seq "$RUNS"); do
		"$out/$2" "$3" "$4" "$5" | awk '{print $4}'
	done | median)
	ns[$1]=${m%% *}
	spread[$1]="[${m#* }]"
	spread[$1]=${spread[$1]/ /-}
}

for w in pair nested stats; do
	steps=$PAIR_STEPS
	[ "$w" != pair ] && steps=$NESTED_STEPS
	for t in 1 2; do
		for v in raw off on tsan; do
			run "$v.$w.$t" "$v" "$w" "$t" "$steps"
		done
	done
	ns[helgrind.$w.1]=$(valgrind -q --tool=helgrind "$out/raw" "$w" 1 $((steps / SLOW_DIV)) 2>/dev/null | awk '{print $4}')
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

echo "ns per step, median [min-max] of $RUNS (pair: lock+unlock; nested, stats: 3 locks in, 3 out)"
printf "%-9s %-22s %-22s %-22s %-22s %-22s %-22s\n" variant pair-1T pair-2T nested-1T nested-2T stats-1T stats-2T
for v in raw off on tsan; do
	printf "%-9s" "$v"
	for k in pair.1 pair.2 nested.1 nested.2 stats.1 stats.2; do
		printf " %-22s" "${ns[$v.$k]} ${spread[$v.$k]}"
	done
	printf "\n"
done
printf "%-9s %-22s %-22s %-22s %-22s %-22s %-22s\n" helgrind "${ns[helgrind.pair.1]}" - "${ns[helgrind.nested.1]}" - "${ns[helgrind.stats.1]}" -
echo
for w in pair nested stats; do
	echo "$w: off/raw $(ratio "${ns[off.$w.1]}" "${ns[raw.$w.1]}")" \
		" on/raw $(ratio "${ns[on.$w.1]}" "${ns[raw.$w.1]}")" \
		" tsan/on $(ratio "${ns[tsan.$w.1]}" "${ns[on.$w.1]}")" \
		" helgrind/on $(ratio "${ns[helgrind.$w.1]}" "${ns[on.$w.1]}")" \
		" on 2T/1T $(ratio "${ns[on.$w.2]}" "${ns[on.$w.1]}")" \
		" raw 2T/1T $(ratio "${ns[raw.$w.2]}" "${ns[raw.$w.1]}")"
done

# Instructions in the measured loops, raw vs checker off: must be equal.
count() { # VARIANT FUNCTION WORKLOAD
	valgrind -q --tool=callgrind --toggle-collect="$2" \
		--callgrind-out-file="$out/cg.$1" "$out/$1" "$3" 1 100000 >/dev/null
	awk '/^summary:/ {print $2}' "$out/cg.$1"
}
for w in pair nested stats; do
	echo "$w loop instructions (callgrind, 100000 steps): raw $(count raw ${w}_loop $w)" \
		" off $(count off ${w}_loop $w)  on $(count on ${w}_loop $w)"
done
"$out/raw" memory
"$out/on" memory
