#!/usr/bin/env bash
# bench/nesting.sh: the checker's time and memory when a thread holds many
# locks at once, and when per-object locks are made and destroyed in a
# loop, side by side with the plain build in one run.
#
# bench/nesting_bench.c built twice with gcc -O2: the lc_ layer with the
# checker off and on. deep N: a recursion holding N locks of N classes;
# churn N: N objects with two nested locks of one class, made and
# destroyed. Each prints seconds and peak RSS; the driver tabulates them.
set -euo pipefail
cd "$(dirname "$0")/.."

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

CFLAGS=(-std=gnu11 -O2 -g -pthread -Iinclude)
mapfile -t CHECKER < <(ls lockcheck/*.c | grep -v mode_off.c)
gcc "${CFLAGS[@]}" -DLOCKCHECK=0 bench/nesting_bench.c lockcheck/mode_off.c \
	-o "$out/off"
gcc "${CFLAGS[@]}" -DLOCKCHECK=1 -rdynamic bench/nesting_bench.c \
	"${CHECKER[@]}" -Wl,--wrap=pthread_create -o "$out/on"

# run VARIANT WORKLOAD N: "seconds MiB"
run() {
	LOCKCHECK_SYMBOLIZE=0 "$out/$1" "$2" "$3" 2>/dev/null |
		awk '{print $3, $7}'
}

printf "%-14s %-20s %-20s\n" workload "plain: s, MiB" "checked: s, MiB"
for w in "deep 500" "deep 2000" "deep 10000" "churn 10000" "churn 100000"; do
	read -r s0 m0 < <(run off $w)
	read -r s1 m1 < <(run on $w)
	printf "%-14s %-20s %-20s\n" "$w" "$s0 s, $m0" "$s1 s, $m1"
done
