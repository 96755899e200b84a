#!/usr/bin/env bash
# bench/cache.sh: ds_cache against a one-lock uthash LRU and LevelDB's LRU
# cache, ds_rwmap against the same map under one mutex, the memory per
# cache entry, and what LOCKCHECK=1 costs; all side by side in one run.
#
# Built as users build production code: gcc -O2, LOCKCHECK=0 (and once
# more with LOCKCHECK=1 for the checker's ratio). bench/cache_bench.c and
# bench/rwmap_bench.c say what they measure; docs/performance.md ("Cache
# and map") has the method and the results. REPS=<n> (default 7) runs per
# variant, MS=<ms> (default 400) the length of one run.
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-7}
MS=${MS:-400}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

CFLAGS=(-std=gnu11 -O2 -g -pthread -I. -Iinclude -Ibench)
CHECKER=()
for f in lockcheck/*.c; do
	[ "$f" = lockcheck/mode_off.c ] || CHECKER+=("$f")
done
DS=(ds/cache.c ds/rwmap.c ds/hash.c)

g++ -O2 -g -Ibench -c bench/cache_bench_leveldb.cc -o "$out/leveldb.o"
build() { # NAME LOCKCHECK SOURCES...
	local name=$1 lc=$2
	shift 2
	local lock=(lockcheck/mode_off.c)
	[ "$lc" = 1 ] && lock=("${CHECKER[@]}" -rdynamic)
	gcc "${CFLAGS[@]}" -DLOCKCHECK="$lc" "$@" "${DS[@]}" "${lock[@]}" \
		-lstdc++ -lm -o "$out/$name"
}
build cache 0 bench/cache_bench.c bench/cache_bench_global.c "$out/leveldb.o" -lleveldb
build cache_lc 1 bench/cache_bench.c bench/cache_bench_global.c "$out/leveldb.o" -lleveldb
build rwmap 0 bench/rwmap_bench.c
build rwmap_lc 1 bench/rwmap_bench.c

cpu() { "$out/cache" --cpu | grep '^CPU'; }
echo "machine: $(nproc) cpus, load average $(cut -d' ' -f1-3 /proc/loadavg)"
cpu

# 1. The caches: every mix, distribution and thread count.
"$out/cache" --reps="$REPS" --ms="$MS" | grep -v '^RESULT'

# 2. Memory per entry.
"$out/cache" --overhead | grep -v '^cache_bench:'

# 3. The checker's cost on the read-heavy zipfian mix: the plain and the
# LOCKCHECK=1 build run alternately, REPS times each, medians compared.
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
for _ in $(seq "$REPS"); do
	"$out/cache" --impls=ds --mix=90 --dist=zipf --reps=1 --ms="$MS"
	"$out/cache_lc" --impls=ds --mix=90 --dist=zipf --reps=1 --ms="$MS"
done | grep '^RESULT' >"$out/lc.txt"
col() { # IMPL THREADS COLUMN -> median of that column of RESULT lines
	awk -v i="$1" -v t="$2" -v c="$3" '$2 == i && $5 == t {print $c}' \
		"$out/lc.txt" | median
}
for t in 1T 2T; do
	awk -v pw="$(col ds $t 6)" -v cw="$(col ds-lockcheck $t 6)" \
		-v pc="$(col ds $t 8)" -v cc="$(col ds-lockcheck $t 8)" -v t=$t 'BEGIN {
		printf "RATIO ds-lockcheck/ds 90%% zipf %s wall %.2f cpu %.2f", t, cw / pw, cc / pc
		printf " (%.2f vs %.2f Mops/s, %.2f vs %.2f Mops/cpu-s)\n",
			cw / 1e6, pw / 1e6, cc / 1e6, pc / 1e6 }'
done

# 4. The map; then its LOCKCHECK=1 build against the (unchecked) mutex map.
"$out/rwmap" "$REPS" "$MS" | grep -v '^RESULT'
"$out/rwmap_lc" "$REPS" "$MS" | grep '^RATIO'
echo "after: load average $(cut -d' ' -f1-3 /proc/loadavg)"
cpu
