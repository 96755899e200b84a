#!/usr/bin/env bash
# bench/realworld.sh [TARGET...]: checkers on real multi-threaded programs
# that nobody here wrote, as Debian ships them (docs/performance.md, "Real
# programs"). Every target makes its own deterministic input, runs a bounded
# workload (loopback only for the server) once per mode, and its output must
# be identical to the plain run's. Prints a table: seconds per mode, ratio to
# plain, each tool's report counts, and whether the output matched.
#
#   TARGETS   memcached sort lbzip2 pzstd pigz pbzip2 xz git-grep (default all)
#   MODES     REALWORLD_MODES (default "plain helgrind lockcheck"; lockcheck
#             is tools/lockcheck-run, with the preload library it finds or
#             LOCKCHECK_PRELOAD_LIB: build it with -c opt for timings)
#   SCALE     REALWORLD_SCALE=N multiplies every workload (default 1)
#   LOGS      each tool's log is kept in REALWORLD_DIR (default a new
#             /tmp/realworld.XXXXXX, printed at the end)
#
# Not part of tools/dev test (Helgrind takes minutes). `tools/dev bench
# realworld` installs the packages first.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD

SCALE=${REALWORLD_SCALE:-1}
ALL_TARGETS=(memcached sort lbzip2 pzstd pigz pbzip2 xz git-grep)
read -r -a MODES <<<"${REALWORLD_MODES:-plain helgrind}"
if [ -z "${REALWORLD_MODES:-}" ] && [ -x tools/lockcheck-run ]; then
	MODES+=(lockcheck)
fi
PLAIN_RUNS=3
STEP_LIMIT=900 # seconds any one run may take before it is stopped

die() {
	echo "bench/realworld: $*" >&2
	exit 2
}

# ---- modes. A mode is one function:
#   mode_NAME wrap LOG    sets WRAP, the command prefix that runs a program
#                         under the tool with the tool's output going to LOG
#   mode_NAME count LOG   prints the tool's reports found in LOG, one word
# A new column (lockcheck-run) is one such function, named in MODES.

mode_plain() {
	case $1 in
	wrap) WRAP=() ;;
	count) echo - ;;
	esac
}

# Helgrind's distinct reports (valgrind prints each error context once):
# data races / lock-order violations.
mode_helgrind() {
	local races order
	case $1 in
	wrap) WRAP=(valgrind --tool=helgrind --error-limit=no "--log-file=$2") ;;
	count)
		races=$(grep -c 'Possible data race' "$2")
		order=$(grep -c 'lock order .* violated' "$2")
		echo "${races}race/${order}order"
		;;
	esac
}

# The preloaded checker (tools/lockcheck-run): findings are "lockcheck:
# <kind>:" lines; a finding makes the exit status 66, which run_mode
# accepts. Each process's dump goes to LOG.dumps: the lock classes found
# and the acquisitions counted (lockcheck_ops).
mode_lockcheck() {
	case $1 in
	wrap)
		rm -rf "$2.dumps"
		WRAP=(env "LOCKCHECK_LOG=$2" "$ROOT/tools/lockcheck-run" --dump "$2.dumps" --)
		;;
	count)
		echo "$(grep -c '^lockcheck: ' "$2" 2>/dev/null)finding/$(cat "$2.dumps"/*.graph 2>/dev/null | grep -c '^class ')cls"
		;;
	esac
}

# Acquisitions the lockcheck run counted (class lines' 5th field); threads
# still running at exit are not counted, so this is a lower bound.
lockcheck_ops() { # LOG
	cat "$1.dumps"/*.graph 2>/dev/null |
		awk '$1 == "class" { n += $5 } END { print n + 0 }'
}

# ---- helpers

now() { echo "$EPOCHREALTIME"; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# WALL and CPU += the wall time and the CPU time (user + sys, all threads
# and children) of COMMAND, bounded by STEP_LIMIT. The command's stderr goes
# to $WORK/stderr. CPU time hardly depends on what else the machine runs.
timed() {
	local TIMEFORMAT='%R %U %S' rc=0 t
	{ time timeout --kill-after=10 "$STEP_LIMIT" "$@" 2>>"$WORK/stderr" || rc=$?; } 2>"$WORK/time"
	t=$(tail -n 1 "$WORK/time")
	add_time "${t%% *}" "$(awk -v u="${t#* }" 'BEGIN { split(u, a, " "); printf "%.2f", a[1] + a[2] }')"
	return "$rc"
}

add_time() {
	WALL=$(awk -v a="$WALL" -v b="$1" 'BEGIN { printf "%.2f", a + b }')
	CPU=$(awk -v a="$CPU" -v b="$2" 'BEGIN { printf "%.2f", a + b }')
}

# Deterministic text: LINES lines of a MINSTD sequence (exact in awk's
# doubles), about 63 bytes each, compressible like a log.
make_text() {
	awk -v n="$1" 'BEGIN {
		x = 42
		for (i = 0; i < n; i++) {
			x = (x * 48271) % 2147483647
			y = (x * 48271) % 2147483647
			x = y
			printf "%010d line %d of the generated input, word%d %x\n",
				x, i, x % 997, y
		}
	}'
}

# ---- targets. prepare_T makes the input in $WORK once; run_T runs the
# workload with "${WRAP[@]}" in front of the program, adds the measured part
# to WALL and CPU and leaves what must match the plain run in $1.

# The text of LINES x SCALE lines in $WORK, made once; prints its path.
# Sizes are chosen so that Helgrind takes a minute or two per target.
text() {
	local f=$WORK/text.$1
	[ -s "$f" ] || make_text $(($1 * SCALE)) >"$f"
	echo "$f"
}

prepare_sort() { text 300000 >/dev/null; }
run_sort() {
	timed "${WRAP[@]}" sort --parallel=2 -S 256M "$(text 300000)" >"$1"
}

prepare_lbzip2() { text 150000 >/dev/null; }
run_lbzip2() { timed "${WRAP[@]}" lbzip2 -n 2 -c "$(text 150000)" >"$1"; }

prepare_pzstd() { text 150000 >/dev/null; }
run_pzstd() { timed "${WRAP[@]}" pzstd -q -p 2 -c "$(text 150000)" >"$1"; }

prepare_pigz() { text 300000 >/dev/null; }
run_pigz() { timed "${WRAP[@]}" pigz -p 2 -c "$(text 300000)" >"$1"; }

prepare_pbzip2() { text 150000 >/dev/null; }
run_pbzip2() { timed "${WRAP[@]}" pbzip2 -p2 -c "$(text 150000)" >"$1"; }

# -1: 1 MiB dictionary, 3 MiB blocks, so both threads get blocks.
prepare_xz() { text 100000 >/dev/null; }
run_xz() { timed "${WRAP[@]}" xz -T2 -1 -c "$(text 100000)" >"$1"; }

# A repository of the text in 2,000-line files; git grep reads the blobs
# of HEAD (inflating objects under its own locks) with two threads.
prepare_git-grep() {
	local repo=$WORK/repo src
	src=$(text 300000)
	[ -d "$repo/.git" ] && return 0
	mkdir -p "$repo"
	(
		cd "$repo" && git init -q &&
			split -l 2000 -d -a 5 "$src" part. &&
			git add -A &&
			git -c user.name=bench -c user.email=bench@localhost \
				commit -q -m input
	) || die "git-grep: could not make the repository"
}
run_git-grep() {
	timed "${WRAP[@]}" git -C "$WORK/repo" grep --threads=2 -n -E \
		'word(1|2)[0-9]* [0-9a-f]*(ab|cd)' HEAD >"$1"
}

# memcached: a server with 4 worker threads on a free loopback port, and 4
# client connections at once, each with its own keys: sets, gets and
# increments through bash's /dev/tcp; the responses must match.
MC_CLIENTS=4
MC_REQUESTS=$((1000 * SCALE)) # sets and gets per client, on 500 keys
prepare_memcached() {
	local c
	for c in $(seq "$MC_CLIENTS"); do
		[ -s "$WORK/mc-req.$c" ] && continue
		awk -v c="$c" -v n="$MC_REQUESTS" 'BEGIN {
			ORS = "\r\n"
			print "set n" c " 0 0 1"; print "0"
			for (i = 0; i < n; i++) {
				k = "c" c "k" (i % 500)
				v = sprintf("value-%d-%d-%0*d", c, i, 10 + i % 200, i)
				print "set " k " 0 0 " length(v); print v
				print "get " k
				if (i % 7 == 0) print "incr n" c " 1"
			}
			print "quit"
		}' >"$WORK/mc-req.$c"
	done
}

# Is something accepting connections on 127.0.0.1:PORT?
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# memcached sets both limits of RLIMIT_NOFILE to its -c (maxconns), and
# valgrind refuses any hard limit but its own (a few below the shell's): so
# -c is the hard limit as seen under the wrapper.
mc_maxconns() {
	local n
	n=$("${WRAP[@]}" sh -c 'ulimit -Hn')
	[[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -le 65536 ] || n=1024
	echo "$n"
}

# Starts memcached under WRAP on a free port: sets MC_PID and MC_PORT.
# Up to 10 ports are tried; each waits at most 60 s for the server.
start_memcached() {
	local user=() conns
	[ "$(id -u)" = 0 ] && user=(-u root)
	conns=$(mc_maxconns)
	for _ in $(seq 10); do
		MC_PORT=$((20000 + RANDOM % 30000))
		port_open "$MC_PORT" && continue
		"${WRAP[@]}" memcached -l 127.0.0.1 -p "$MC_PORT" -U 0 -t 4 \
			-c "$conns" "${user[@]}" >"$WORK/mc.out" 2>&1 &
		MC_PID=$!
		for _ in $(seq 600); do
			port_open "$MC_PORT" && return 0
			kill -0 "$MC_PID" 2>/dev/null || break
			sleep 0.1
		done
		stop_memcached
	done
	return 1
}

# SIGTERM (memcached exits cleanly, so a tool writes its summary), up to
# 60 s to go, then SIGKILL.
stop_memcached() {
	kill -TERM "$MC_PID" 2>/dev/null
	for _ in $(seq 600); do
		kill -0 "$MC_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$MC_PID" 2>/dev/null
	wait "$MC_PID" 2>/dev/null
}

# One client connection: requests written while responses are read.
mc_client() {
	local c=$1 writer
	exec 3<>"/dev/tcp/127.0.0.1/$MC_PORT" || return 1
	timeout "$STEP_LIMIT" cat "$WORK/mc-req.$c" >&3 &
	writer=$!
	timeout "$STEP_LIMIT" cat <&3 >"$WORK/mc-resp.$c"
	wait "$writer"
}

mc_load() {
	local c pids=() rc=0
	for c in $(seq "$MC_CLIENTS"); do
		mc_client "$c" &
		pids+=($!)
	done
	for c in "${pids[@]}"; do wait "$c" || rc=1; done
	return "$rc"
}

# Every client got an answer to every set (its n + 1 STOREDs) and to its
# last request before quit.
mc_answered_all() {
	local c want=$((MC_REQUESTS + 1))
	for c in $(seq "$MC_CLIENTS"); do
		[ "$(grep -c '^STORED' "$WORK/mc-resp.$c")" = "$want" ] || return 1
		[ "$(tail -n 1 "$WORK/mc-resp.$c")" = $'END\r' ] ||
			[[ "$(tail -n 1 "$WORK/mc-resp.$c")" =~ ^[0-9]+$'\r'$ ]] || return 1
	done
}

# CPU seconds the live threads of process PID and of its descendants
# have run so far (schedstat: nanoseconds, finer than the 10 ms ticks of
# /proc/PID/stat). Descendants: lockcheck-run runs the server as a child.
cpu_of() {
	local p pids=("$1") i=0
	while [ "$i" -lt "${#pids[@]}" ] && [ "$i" -lt 64 ]; do
		for p in $(pgrep -P "${pids[$i]}"); do pids+=("$p"); done
		i=$((i + 1))
	done
	for p in "${pids[@]}"; do cat /proc/"$p"/task/*/schedstat 2>/dev/null; done |
		awk '{ ns += $1 } END { printf "%.3f", ns / 1e9 }'
}

# Measured: the load's wall time and the server's CPU time during it.
run_memcached() {
	local rc=0 start cpu0
	start_memcached || return 1
	cpu0=$(cpu_of "$MC_PID")
	start=$(now)
	mc_load || rc=$?
	add_time "$(seconds_since "$start")" \
		"$(awk -v a="$(cpu_of "$MC_PID")" -v b="$cpu0" 'BEGIN { printf "%.2f", a - b }')"
	stop_memcached
	[ "$rc" = 0 ] || return "$rc"
	mc_answered_all || return 1
	cat "$WORK"/mc-resp.* >"$1"
}

# ---- the harness

declare -A SECS CPUS REPORTS STATUS

# run_once TARGET MODE: one run; sets WALL, CPU and RESULT (the output's
# checksum, or what went wrong).
run_once() {
	local t=$1 m=$2 log=$LOGS/$1.$2.log out=$WORK/out rc=0
	: >"$log"
	"mode_$m" wrap "$log"
	WALL=0 CPU=0
	"run_$t" "$out" || rc=$?
	if [ "$rc" != 0 ] && [ "$rc" != 66 ]; then
		RESULT="exit $rc"
	elif [ ! -s "$out" ]; then
		RESULT="no output"
	else
		RESULT=$(cksum <"$out")
	fi
	rm -f -- "$out"
}

median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }

# run_mode TARGET MODE: the tools run once; plain PLAIN_RUNS (3) times,
# keeping the median wall and CPU times, and its runs must agree.
run_mode() {
	local t=$1 m=$2 runs=1 walls=() cpus=() first=
	[ "$m" = plain ] && runs=$PLAIN_RUNS
	for _ in $(seq "$runs"); do
		run_once "$t" "$m"
		walls+=("$WALL")
		cpus+=("$CPU")
		[ -n "$first" ] || first=$RESULT
		[ "$RESULT" = "$first" ] || first="plain runs differ"
	done
	if [ ${#walls[@]} = 3 ]; then
		WALL=$(median3 "${walls[@]}") CPU=$(median3 "${cpus[@]}")
	fi
	SECS[$t.$m]=$WALL
	CPUS[$t.$m]=$CPU
	STATUS[$t.$m]=$first
	REPORTS[$t.$m]=$("mode_$m" count "$LOGS/$t.$m.log")
}

# What the row says about a mode's output: same as plain, or not.
verdict() {
	local t=$1 m=$2
	case ${STATUS[$t.$m]} in
	exit*) echo "${STATUS[$t.$m]}" ;;
	"${STATUS[$t.plain]}") echo same ;;
	*) echo DIFFERS ;;
	esac
}

# a / b as "41x", with one decimal below 10 ("1.4x").
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (b <= 0) { print "-"; exit }
		printf (a / b < 10 ? "%.1fx" : "%.0fx"), a / b
	}'
}

# One row per target: wall and CPU seconds of each mode, each tool's
# ratios to plain (wall, CPU) and reports, then the output verdict.
print_table() {
	local t m out
	printf "%-10s %13s" target "plain wall/cpu"
	for m in "${MODES[@]:1}"; do
		printf " %15s %11s %-14s" "$m wall/cpu" "ratio" "reports"
	done
	printf " %s\n" output
	for t in "${TARGETS[@]}"; do
		printf "%-10s %13s" "$t" "${SECS[$t.plain]}/${CPUS[$t.plain]}"
		out=same
		for m in "${MODES[@]:1}"; do
			printf " %15s %11s %-14s" "${SECS[$t.$m]}/${CPUS[$t.$m]}" \
				"$(ratio "${SECS[$t.$m]}" "${SECS[$t.plain]}")/$(ratio "${CPUS[$t.$m]}" "${CPUS[$t.plain]}")" \
				"${REPORTS[$t.$m]}"
			[ "$(verdict "$t" "$m")" = same ] || out="$m: $(verdict "$t" "$m")"
		done
		[ "$(verdict "$t" plain)" = same ] || out="plain: ${STATUS[$t.plain]}"
		printf " %s\n" "$out"
	done
}

need() {
	local cmd=$1 pkg=$2
	command -v "$cmd" >/dev/null ||
		die "$cmd is missing (Debian package $pkg): run tools/dev bench realworld"
}

main() {
	local t m
	TARGETS=("$@")
	[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL_TARGETS[@]}")
	for t in "${TARGETS[@]}"; do
		declare -F "run_$t" >/dev/null || die "no target '$t' (${ALL_TARGETS[*]})"
	done
	[ "${MODES[0]}" = plain ] || die "REALWORLD_MODES must start with plain"
	for m in "${MODES[@]}"; do
		declare -F "mode_$m" >/dev/null || die "no mode '$m'"
	done
	need memcached memcached; need lbzip2 lbzip2; need pzstd zstd
	need pigz pigz; need pbzip2 pbzip2; need xz xz-utils; need git git
	need valgrind valgrind
	[[ "$SCALE" =~ ^[1-9][0-9]*$ ]] || die "REALWORLD_SCALE must be a positive integer"

	# lockcheck-run times the optimised preload library (-c opt), built
	# here unless LOCKCHECK_PRELOAD_LIB names one.
	if [[ " ${MODES[*]} " == *" lockcheck "* && -z "${LOCKCHECK_PRELOAD_LIB:-}" ]]; then
		bazel build -c opt --ui_event_filters=-info,-progress,-debug \
			--noshow_progress //lockcheck/preload >&2 ||
			die "cannot build //lockcheck/preload"
		LOCKCHECK_PRELOAD_LIB=$(bazel info -c opt bazel-bin 2>/dev/null)/lockcheck/preload/liblockcheck-preload.so
		export LOCKCHECK_PRELOAD_LIB
	fi

	LOGS=${REALWORLD_DIR:-$(mktemp -d /tmp/realworld.XXXXXX)}
	mkdir -p "$LOGS" || die "cannot create $LOGS"
	WORK=$(mktemp -d)
	trap 'rm -rf "$WORK"' EXIT
	for t in "${TARGETS[@]}"; do
		"prepare_$t"
		for m in "${MODES[@]}"; do
			echo "bench/realworld: $t under $m" >&2
			run_mode "$t" "$m"
		done
	done
	echo "real programs, scale $SCALE: seconds of wall time / CPU time (user+sys), ratios to plain"
	print_table
	if [[ " ${MODES[*]} " == *" lockcheck "* && " ${MODES[*]} " == *" helgrind "* ]]; then
		echo "lockcheck-run against Helgrind: how many times cheaper (wall/cpu)"
		for t in "${TARGETS[@]}"; do
			printf "%-10s %s/%s\n" "$t" \
				"$(ratio "${SECS[$t.helgrind]}" "${SECS[$t.lockcheck]}")" \
				"$(ratio "${CPUS[$t.helgrind]}" "${CPUS[$t.lockcheck]}")"
		done
	fi
	if [[ " ${MODES[*]} " == *" lockcheck "* ]]; then
		echo "lockcheck-run: lock classes, acquisitions counted (threads alive at exit are not: a lower bound) and per second of its run"
		for t in "${TARGETS[@]}"; do
			local ops
			ops=$(lockcheck_ops "$LOGS/$t.lockcheck.log")
			printf "%-10s %s classes, %s acquisitions, %s/s\n" "$t" \
				"$(cat "$LOGS/$t.lockcheck.log.dumps"/*.graph 2>/dev/null | grep -c '^class ')" \
				"$ops" "$(awk -v n="$ops" -v s="${SECS[$t.lockcheck]}" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }')"
		done
	fi
	echo "tool logs: $LOGS"
}

main "$@"
