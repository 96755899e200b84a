#!/usr/bin/env bash
# bench/lockgraph.sh: lockgraph merging many dumps, on one core.
#
# bench/lockgraph_gen.c writes DUMPS synthetic dumps (docs/dump-format.md) of
# CLASSES classes and EDGES edges each, drawn from one code base's lock
# order with a few inversions (so the merge has cycles to find). Then
# `lockgraph check` (parse, merge, finish, components, cycle search) runs on
# the first quarter, half and all of them, pinned to one core, RUNS times
# each, median kept; time and peak RSS come from bench/lockgraph_run.c
# (wait4), CPU time (user + system) being the steadier one when the machine
# is shared. Linear scaling shows as a constant CPU time per line and
# memory growing with the lines. `cat` of the same files is the I/O floor, and
# `report` on all of them shows the cost of printing. Everything is built
# here with gcc -O2.
set -euo pipefail
cd "$(dirname "$0")/.."

DUMPS=${DUMPS:-1000}
CLASSES=${CLASSES:-1000}
EDGES=${EDGES:-5000}
RUNS=${RUNS:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

CFLAGS=(-std=gnu11 -O2 -g -I.)
# lockgraph and the rule module it shares with the checker (lockcheck:graph)
mapfile -t LIB < <(ls tools/lockgraph/*.c; sed -n '/^GRAPH_SRCS = \[/,/^]/s/^ *"\(.*\)",$/lockcheck\/\1/p' lockcheck/BUILD)
gcc "${CFLAGS[@]}" "${LIB[@]}" -o "$out/lockgraph"
gcc "${CFLAGS[@]}" bench/lockgraph_gen.c -o "$out/gen"
gcc "${CFLAGS[@]}" bench/lockgraph_run.c -o "$out/run"
mkdir "$out/dumps"
"$out/gen" "$out/dumps" "$DUMPS" "$CLASSES" "$EDGES"
mapfile -t FILES < <(ls "$out"/dumps/*.graph)

PIN=()
command -v taskset >/dev/null && PIN=(taskset -c 0)

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# measure CMD... -> "wall_s cpu_s rss_kb" (medians over RUNS)
measure() {
	local i w=() c=() m=() wall cpu rss
	for i in $(seq "$RUNS"); do
		read -r wall cpu rss _ < <("$out/run" "${PIN[@]}" "$@" 2>&1 >/dev/null)
		w+=("$wall")
		c+=("$cpu")
		m+=("$rss")
	done
	echo "$(printf '%s\n' "${w[@]}" | median) $(printf '%s\n' "${c[@]}" | median)" \
		"$(printf '%s\n' "${m[@]}" | median)"
}

echo "lockgraph: $DUMPS dumps of $CLASSES classes and $EDGES edges each," \
	"one core ($(nproc) online), median of $RUNS"
printf '%-7s %6s %8s %9s %8s %8s %8s %8s %8s\n' command dumps MiB lines \
	wall_s cpu_s "MiB/cpu_s" "ns/line" "RSS_MiB"
row() { # command dumps bytes lines wall cpu rss_kb
	awk -v c="$1" -v n="$2" -v b="$3" -v l="$4" -v w="$5" -v s="$6" -v r="$7" \
		'BEGIN { if (l > 0) printf "%-7s %6d %8.1f %9d %8.2f %8.2f %8.1f %8.1f %8.1f\n",
				c, n, b / 1048576, l, w, s, b / 1048576 / s, s * 1e9 / l, r / 1024
			else printf "%-7s %6d %8s %9s %8.2f %8.2f %8s %8s %8.1f\n",
				c, n, "-", "-", w, s, "-", "-", r / 1024 }'
}
for n in $((DUMPS / 4)) $((DUMPS / 2)) "$DUMPS"; do
	set -- "${FILES[@]:0:$n}"
	bytes=$(cat "$@" | wc -c)
	lines=$(cat "$@" | wc -l)
	read -r wall cpu rss < <(measure "$out/lockgraph" check "$@")
	row check "$n" "$bytes" "$lines" "$wall" "$cpu" "$rss"
done
set -- "${FILES[@]}"
read -r wall cpu rss < <(measure cat "$@")
row cat "$DUMPS" 0 0 "$wall" "$cpu" "$rss"
read -r wall cpu rss < <(measure "$out/lockgraph" report "$@")
row report "$DUMPS" 0 0 "$wall" "$cpu" "$rss"

if [ "${IR:-0}" = 1 ] && command -v valgrind >/dev/null; then
	echo "instructions (callgrind) of check:"
	for n in $((DUMPS / 10)) $((DUMPS / 5)) $((DUMPS * 2 / 5)); do
		set -- "${FILES[@]:0:$n}"
		lines=$(cat "$@" | wc -l)
		ir=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
			"$out/lockgraph" check "$@" 2>&1 >/dev/null |
			awk '/Collected/ { print $NF }' || true)
		awk -v n="$n" -v l="$lines" -v ir="$ir" 'BEGIN {
			printf "  %5d dumps %9d lines %14.0f instructions %7.0f per line\n",
				n, l, ir, ir / l }'
	done
fi
