#!/usr/bin/env bash
# bench/chan.sh: ds_chan against a bounded queue written plainly (one
# mutex, two condvars), 1 and 2 producer/consumer pairs, channel capacity
# 1 and 64, in a plain (LOCKCHECK=0) and a checked (LOCKCHECK=1) build,
# all side by side in one run.
#
# bench/chan_bench.c is built twice with gcc -O2 -g, as users build it.
# The two builds run alternately, REPS times each (every run measures
# every row and both queues, which one first alternating between rounds);
# each cell is the median of its REPS runs.
# Printed: messages/s, the ratio ds_chan:queue within each build, and
# checked:plain for each queue; then callgrind's instructions per message
# of the solo row (one thread, no waiting) for all four. MSGS=<n>
# messages per producer per run (default 200000), REPS=<n> (default 6).
# docs/performance.md ("Channel") has the method and the results.
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-6}
MSGS=${MSGS:-200000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

CFLAGS=(-std=gnu11 -O2 -g -pthread -Iinclude)
CHECKER=()
for f in lockcheck/*.c; do
	[ "$f" = lockcheck/mode_off.c ] || CHECKER+=("$f")
done
DS=(ds/chan.c ds/deadline.c)
gcc "${CFLAGS[@]}" -DLOCKCHECK=0 bench/chan_bench.c "${DS[@]}" \
	lockcheck/mode_off.c -o "$out/plain"
gcc "${CFLAGS[@]}" -DLOCKCHECK=1 -rdynamic bench/chan_bench.c "${DS[@]}" \
	"${CHECKER[@]}" -o "$out/checked"

echo "machine: $(nproc) cpus, load average $(cut -d' ' -f1-3 /proc/loadavg)"
# Odd rounds measure ds_chan first in every row, even rounds the queue.
for i in $(seq "$REPS"); do
	order=$([ $((i % 2)) = 1 ] && echo swap || echo keep)
	"$out/plain" "$MSGS" 1 "$order"
	"$out/checked" "$MSGS" 1 "$order"
done >"$out/results.txt"

# RESULT <impl> <pairs> <cap> <msgs/s> LOCKCHECK=<n>: medians per cell,
# then one line per row with the four cells and the ratios.
awk -v reps="$REPS" -v msgs="$MSGS" '
function median(key,   n, i, j, t, v) {
	n = split(vals[key], v, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
$1 == "RESULT" {
	key = $2 " " $3 " " $4 " " $6
	vals[key] = vals[key] " " $5
	if (!($3 " " $4 in seen)) { seen[$3 " " $4] = 1; order[++rows] = $3 " " $4 }
}
END {
	printf "channel: %d messages of 8 bytes per producer (cap 1: 1/16 of it; pairs 0: 8x), median of %d runs\n", msgs, reps
	printf "%-11s %-31s %-31s\n", "", "Mmsgs/s, plain build", "Mmsgs/s, checked build"
	printf "%5s %4s   %9s %9s %10s   %9s %9s %10s   %11s %11s\n", "pairs", "cap",
		"queue", "ds_chan", "chan:queue", "queue", "ds_chan", "chan:queue",
		"queue lc:0", "chan lc:0"
	for (r = 1; r <= rows; r++) {
		split(order[r], pc, " ")
		q0 = median("queue " order[r] " LOCKCHECK=0")
		c0 = median("ds_chan " order[r] " LOCKCHECK=0")
		q1 = median("queue " order[r] " LOCKCHECK=1")
		c1 = median("ds_chan " order[r] " LOCKCHECK=1")
		printf "%5d %4d   %9.3f %9.3f %10.2f   %9.3f %9.3f %10.2f   %11.2f %11.2f\n",
			pc[1], pc[2], q0 / 1e6, c0 / 1e6, c0 / q0,
			q1 / 1e6, c1 / 1e6, c1 / q1, q1 / q0, c1 / c0
	}
	print "pairs 0     one thread sends 32 and receives them back, over and over: no waiting"
	print "chan:queue  ds_chan messages/s over the plain queue'"'"'s, in one build (> 1: ds_chan faster)"
	print "lc:0        a queue'"'"'s messages/s checked over plain (< 1: what the checker costs)"
}' "$out/results.txt"

# Instructions per message of the solo loop (send 32, receive 32, no
# waiting), counted by callgrind: what the calls cost, whatever the load.
count() { # BUILD IMPL
	valgrind -q --tool=callgrind --toggle-collect=solo_run \
		--callgrind-out-file="$out/cg.$1.$2" "$out/$1" solo "$2" 320000
	awk '/^summary:/ {printf "%.0f", $2 / 320000}' "$out/cg.$1.$2"
}
echo "instructions per message, solo loop (callgrind):" \
	"plain: queue $(count plain queue), ds_chan $(count plain ds_chan);" \
	"checked: queue $(count checked queue), ds_chan $(count checked ds_chan)"
echo "after: load average $(cut -d' ' -f1-3 /proc/loadavg)"
