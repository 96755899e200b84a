#!/usr/bin/env bash
# tests/preload/run.sh: lockcheck-run on small unmodified pthread programs
# (this directory's *.c and *.cc, built here with the system compiler, no
# lockcheck header). Builds //lockcheck/preload and //tools/lockgraph
# (plain build), then one case per behaviour: each prints "PASS: <case>"
# or "FAIL: <case>" (tools/dev test counts them); exits 1 when a case
# failed. Not a Bazel test: it runs Bazel itself.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SRC=$ROOT/tests/preload
RUN=$ROOT/tools/lockcheck-run

TMP=$(mktemp -d "${TMPDIR:-/tmp}/lc-preload.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
PASSED=0
FAILED=0

for v in $(compgen -e | grep -E '^LOCKCHECK_'); do unset "$v"; done
unset LD_PRELOAD

QUIET=(--ui_event_filters=-info,-progress,-debug --noshow_progress --noshow_loading_progress)
if ! bazel build "${QUIET[@]}" //lockcheck/preload //tools/lockgraph; then
	echo "FAIL: build //lockcheck/preload"
	exit 1
fi
BIN=$(bazel info "${QUIET[@]}" bazel-bin 2>/dev/null)
export LOCKCHECK_PRELOAD_LIB=$BIN/lockcheck/preload/liblockcheck-preload.so
LOCKGRAPH=$BIN/tools/lockgraph/lockgraph

CC=${CC:-cc}
CXX=${CXX:-c++}
build() { # NAME SOURCE [FLAGS...]: a program in $TMP, -O0 for stable names
	local name=$1 src=$2
	shift 2
	"$CC" -std=gnu11 -O0 -g -pthread -o "$TMP/$name" "$SRC/$src" "$@"
}
build ab_ba ab_ba.c &&
	build trylock trylock.c &&
	build kinds kinds.c &&
	build leave leave.c &&
	build forked forked.c &&
	build foreign_unlock foreign_unlock.c &&
	build threads_end threads_end.c &&
	"$CXX" -std=c++11 -O0 -g -pthread -o "$TMP/accounts" "$SRC/accounts.cc" &&
	"$CC" -O0 -g -fPIC -shared -pthread -o "$TMP/libearly.so" "$SRC/early_lib.c" &&
	"$CC" -O0 -g -pthread -o "$TMP/early" "$SRC/early_main.c" -L"$TMP" -learly -Wl,-rpath,"$TMP" ||
	{ echo "FAIL: build the test programs"; exit 1; }

# check NAME FUNCTION ARGS...: one case in a subshell with errexit; its
# output is shown only when it fails.
check() {
	local name=$1 log=$TMP/case.log rc
	shift
	(
		set -e
		"$@"
	) >"$log" 2>&1
	rc=$?
	if [ "$rc" = 0 ]; then
		echo "PASS: $name"
		PASSED=$((PASSED + 1))
	else
		echo "FAIL: $name"
		sed 's/^/    /' "$log" | tail -n 40
		FAILED=$((FAILED + 1))
	fi
}

fail() {
	echo "$*"
	return 1
}

# run OUT ERR PROGRAM ARGS...: lockcheck-run's exit status in $STATUS.
run() {
	local out=$1 err=$2
	shift 2
	STATUS=0
	"$RUN" "$@" >"$out" 2>"$err" || STATUS=$?
	cat "$out" "$err"
}

want_status() { # WANT
	[ "$STATUS" = "$1" ] || fail "exit status $STATUS, want $1"
}

no_finding() { # ERR
	! grep -q '^lockcheck: ' "$1" || fail "unexpected finding"
}

# ---- lock-order cycles with the three kinds of class names

abba_reported_with_class_names() {
	run "$TMP/out" "$TMP/err" --dump "$TMP/abba" "$TMP/ab_ba"
	want_status 66
	grep -q '^done$' "$TMP/out" || fail "the program did not finish"
	[ "$(grep -c '^lockcheck: ' "$TMP/err")" = 2 ] || fail "want 2 findings"
	grep -Eq '^lockcheck: lock-order-cycle: ab_ba\+0x[0-9a-f]+ -> lock_a -> ab_ba\+0x[0-9a-f]+ \(2 locks, 2 threads\)$' "$TMP/err" ||
		fail "no cycle line through lock_a"
	grep -q 'lock_a \[static in ab_ba\]' "$TMP/err" || fail "no static class"
	grep -Eq 'ab_ba\+0x[0-9a-f]+ \[pthread_mutex_init in make_b\]' "$TMP/err" ||
		fail "no init-site class"
	grep -Eq 'ab_ba\+0x[0-9a-f]+ \[first locked in one\]' "$TMP/err" ||
		fail "no first-lock class"
	grep -Eq 'held lock taken at ab_ba\+0x[0-9a-f]+ in two\(\)' "$TMP/err" ||
		fail "no site of the held lock"
	grep -Eq '#0 two at .*ab_ba\.c:[0-9]+' "$TMP/err" ||
		fail "no file:line from the debug info"
	grep -Eq '^lockcheck-run: .*ab_ba exited with status 66; 2 findings \(lock-order-cycle\), 3 lock classes in 1 checked process; 1 dump written to ' "$TMP/err" ||
		fail "no summary"
}

abba_dump_read_by_lockgraph() {
	local rc=0
	"$LOCKGRAPH" check "$TMP/abba" >"$TMP/check" 2>&1 || rc=$?
	cat "$TMP/check"
	[ "$rc" = 1 ] || fail "lockgraph check: $rc, want 1"
	"$LOCKGRAPH" report "$TMP/abba" >"$TMP/report"
	grep -q '^cycle 1: ' "$TMP/report" || fail "no cycle in the report"
	grep -q 'lock_a \[static in ab_ba\]' "$TMP/report" || fail "no class name"
}

abba_twin_silent() {
	run "$TMP/out" "$TMP/err" "$TMP/ab_ba" twin
	want_status 0
	no_finding "$TMP/err"
	grep -q 'exited with status 0; no finding, 3 lock classes' "$TMP/err" ||
		fail "no summary"
}

trylock_inversion_silent() {
	run "$TMP/out" "$TMP/err" "$TMP/trylock"
	want_status 0
	no_finding "$TMP/err"
	grep -q '^done$' "$TMP/out" || fail "the program did not finish"
}

stdmutex_cycle_reported() {
	run "$TMP/out" "$TMP/err" "$TMP/accounts"
	want_status 66
	grep -Eq '^lockcheck: lock-order-cycle: accounts\+0x[0-9a-f]+ -> accounts\+0x[0-9a-f]+ -> accounts\+0x[0-9a-f]+ \(2 locks, 2 threads\)$' "$TMP/err" ||
		fail "no cycle between the two first-lock sites"
	[ "$(grep -c '^lockcheck: ' "$TMP/err")" = 1 ] || fail "want 1 finding"
}

constructor_locks_seen() {
	run "$TMP/out" "$TMP/err" "$TMP/early"
	want_status 66
	grep -q '^lockcheck: lock-order-cycle: early_inner -> early_outer -> early_inner (2 locks, 1 thread)$' "$TMP/err" ||
		grep -q '^lockcheck: lock-order-cycle: early_outer -> early_inner -> early_outer (2 locks, 1 thread)$' "$TMP/err" ||
		fail "the constructor's order was not seen"
}

# ---- what glibc's mutex kinds return stays theirs

kinds_keep_pthread_results() {
	run "$TMP/out" "$TMP/err" "$TMP/kinds"
	want_status 0
	no_finding "$TMP/err"
	grep -q "^results are pthreads'$" "$TMP/out" || fail "results differ"
	grep -q '^errorcheck relock: 35$' "$TMP/out" || fail "no EDEADLK"
}

foreign_unlock_refused() {
	run "$TMP/out" "$TMP/err" "$TMP/foreign_unlock"
	want_status 66
	grep -q '^unlock by main: 1$' "$TMP/out" || fail "not refused with EPERM"
	grep -q '^trylock: 16$' "$TMP/out" || fail "the mutex was unlocked"
	grep -q '^done$' "$TMP/out" || fail "the program did not finish"
	grep -q '^lockcheck: unlock-not-held: ' "$TMP/err" || fail "not reported"
}

# ---- the process's end

exit_paths_write_dump() {
	local how
	for how in _exit _Exit exit; do
		rm -rf "$TMP/d"
		run "$TMP/out" "$TMP/err" --dump "$TMP/d" "$TMP/leave" "$how"
		want_status 3
		no_finding "$TMP/err"
		ls "$TMP/d"/leave.*.graph >/dev/null || fail "$how: no dump"
		rm -rf "$TMP/d"
		run "$TMP/out" "$TMP/err" --dump "$TMP/d" "$TMP/leave" "$how" cycle
		want_status 66
		grep -q '^lockcheck: lock-order-cycle: second -> first -> second' "$TMP/err" ||
			fail "$how: no cycle"
		grep -q '^finding lock-order-cycle ' "$TMP/d"/leave.*.graph ||
			fail "$how: the dump lacks the finding"
	done
}

exitcode_zero_keeps_status() {
	STATUS=0
	LOCKCHECK_EXITCODE=0 "$RUN" "$TMP/leave" _exit cycle 2>"$TMP/err" || STATUS=$?
	cat "$TMP/err"
	want_status 3
}

fork_child_checked() {
	rm -rf "$TMP/f"
	run "$TMP/out" "$TMP/err" --dump "$TMP/f" "$TMP/forked"
	want_status 0
	grep -q '^child status 66$' "$TMP/out" || fail "child not 66"
	[ "$(grep -c '^lockcheck: lock-order-cycle: b -> a -> b' "$TMP/err")" = 1 ] ||
		fail "want the child's cycle once"
	[ "$(ls "$TMP/f"/forked.*.graph | wc -l)" = 2 ] || fail "want 2 dumps"
}

# ---- threads' ends: pthread_exit, the joins

pthread_exit_holding_reported() {
	run "$TMP/out" "$TMP/err" "$TMP/threads_end" held
	want_status 66
	grep -q '^join: 0 11$' "$TMP/out" || fail "join did not return 0, 11"
	[ "$(grep -c '^lockcheck: ' "$TMP/err")" = 1 ] || fail "want 1 finding"
	grep -Eq '^lockcheck: exit-held: thread "holder" \(tid [0-9]+\) exits holding 1 lock$' "$TMP/err" ||
		fail "no exit-held line for holder"
	grep -Eq '^  holds kept \[static in threads_end\], taken at threads_end\+0x[0-9a-f]+ in leaver\(\)$' "$TMP/err" ||
		fail "no held lock with its name"
}

joins_silent_with_pthread_results() {
	run "$TMP/out" "$TMP/err" "$TMP/threads_end" clean
	want_status 7
	no_finding "$TMP/err"
	# The same lines as without the preload: pthreads' results.
	"$TMP/threads_end" clean >"$TMP/plain" || [ $? = 7 ] ||
		fail "the program failed without the preload"
	diff "$TMP/plain" "$TMP/out" || fail "results differ from pthreads'"
	grep -q '^timedjoin: 0 12$' "$TMP/out" || fail "timedjoin"
	grep -q '^tryjoin running: 1$' "$TMP/out" || fail "tryjoin not EBUSY"
	grep -q '^join self: 1$' "$TMP/out" || fail "self join not EDEADLK"
}

# Once main has left by pthread_exit, /proc/self is a zombie: the names
# still come from the program's file (/proc/thread-self).
main_pthread_exit_names_kept() {
	run "$TMP/out" "$TMP/err" "$TMP/threads_end" main_exit cycle
	want_status 66
	grep -q '^join main: 0$' "$TMP/out" || fail "joining main failed"
	grep -q '^done$' "$TMP/out" || fail "the program did not finish"
	[ "$(grep -c '^lockcheck: ' "$TMP/err")" = 1 ] || fail "want 1 finding"
	grep -q '^lockcheck: lock-order-cycle: second -> first -> second (2 locks, 1 thread)$' "$TMP/err" ||
		fail "no cycle between the named locks"
	grep -q 'second \[static in threads_end\] -> first \[static in threads_end\]' "$TMP/err" ||
		fail "no module name"
	grep -Eq '#0 pair at .*threads_end\.c:[0-9]+' "$TMP/err" ||
		fail "no file:line from the debug info"
	run "$TMP/out" "$TMP/err" "$TMP/threads_end" main_exit held
	want_status 66
	[ "$(grep -c '^lockcheck: ' "$TMP/err")" = 1 ] || fail "want 1 finding"
	grep -Eq '^lockcheck: exit-held: thread "threads_end" \(tid [0-9]+\) exits holding 1 lock$' "$TMP/err" ||
		fail "no exit-held line for main"
	grep -Eq '^  holds kept \[static in threads_end\], taken at threads_end\+0x[0-9a-f]+ in main_exit\(\)$' "$TMP/err" ||
		fail "no held lock with its name"
	run "$TMP/out" "$TMP/err" "$TMP/threads_end" main_exit
	want_status 0
	no_finding "$TMP/err"
	grep -q '^done$' "$TMP/out" || fail "the twin did not finish"
}

# ---- the command line

missing_program_refused() {
	run "$TMP/out" "$TMP/err" "$TMP/no-such-program"
	want_status 127
	grep -q "^lockcheck-run: $TMP/no-such-program: program not found$" "$TMP/err" ||
		fail "no message"
	run "$TMP/out" "$TMP/err" no-such-program-on-path
	want_status 127
}

static_program_refused() {
	if ! "$CC" -static -O0 -pthread -o "$TMP/static" "$SRC/trylock.c" 2>"$TMP/cc"; then
		cat "$TMP/cc"
		fail "cannot link statically here"
	fi
	run "$TMP/out" "$TMP/err" "$TMP/static"
	want_status 126
	grep -q "^lockcheck-run: $TMP/static: statically linked: " "$TMP/err" ||
		fail "no message"
	[ ! -s "$TMP/out" ] || fail "the program ran"
}

bad_usage_refused() {
	local a
	for a in "" "--bogus" "--dump" "--watchdog 0" "--watchdog x"; do
		# shellcheck disable=SC2086
		run "$TMP/out" "$TMP/err" $a
		want_status 2
		grep -q '^lockcheck-run: ' "$TMP/err" || fail "'$a': no message"
		grep -q 'lockcheck-run \[--dump DIR\]' "$TMP/err" || fail "'$a': no usage"
	done
	run "$TMP/out" "$TMP/err" --help
	want_status 0
	grep -q -- '--no-children' "$TMP/out" || fail "no help"
}

no_children_not_checked() {
	cat >"$TMP/kid.sh" <<'EOF'
#!/bin/sh
echo "kid LD_PRELOAD=[${LD_PRELOAD:-}]"
EOF
	chmod +x "$TMP/kid.sh"
	run "$TMP/out" "$TMP/err" --no-children /bin/sh -c "$TMP/kid.sh"
	want_status 0
	grep -q '^kid LD_PRELOAD=\[\]$' "$TMP/out" || fail "the child is preloaded"
	run "$TMP/out" "$TMP/err" /bin/sh -c "$TMP/kid.sh"
	grep -q '^kid LD_PRELOAD=\[/.*liblockcheck-preload.so\]$' "$TMP/out" ||
		fail "the child is not preloaded"
}

# A server stopped by the pid it was started with: lockcheck-run's.
signal_reaches_program() {
	local pid i kid=""
	"$RUN" sleep 300 >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	for i in $(seq 100); do # up to 10 s for sleep to start
		kid=$(pgrep -P "$pid" sleep) && break
		sleep 0.1
	done
	[ -n "$kid" ] || fail "sleep did not start"
	kill -TERM "$pid"
	STATUS=0
	wait "$pid" || STATUS=$?
	cat "$TMP/err"
	want_status 143
	! kill -0 "$kid" 2>/dev/null || fail "the program is still running"
	grep -q 'sleep exited with status 143' "$TMP/err" || fail "no summary"
}

library_found_in_tree() {
	STATUS=0
	env -u LOCKCHECK_PRELOAD_LIB "$RUN" "$TMP/ab_ba" twin >"$TMP/out" 2>"$TMP/err" || STATUS=$?
	cat "$TMP/out" "$TMP/err"
	want_status 0
	grep -q 'no finding, 3 lock classes' "$TMP/err" || fail "not checked"
}

check abba_reported_with_class_names abba_reported_with_class_names
check abba_dump_read_by_lockgraph abba_dump_read_by_lockgraph
check abba_twin_silent abba_twin_silent
check trylock_inversion_silent trylock_inversion_silent
check stdmutex_cycle_reported stdmutex_cycle_reported
check constructor_locks_seen constructor_locks_seen
check kinds_keep_pthread_results kinds_keep_pthread_results
check foreign_unlock_refused foreign_unlock_refused
check exit_paths_write_dump exit_paths_write_dump
check exitcode_zero_keeps_status exitcode_zero_keeps_status
check fork_child_checked fork_child_checked
check pthread_exit_holding_reported pthread_exit_holding_reported
check joins_silent_with_pthread_results joins_silent_with_pthread_results
check main_pthread_exit_names_kept main_pthread_exit_names_kept
check missing_program_refused missing_program_refused
check static_program_refused static_program_refused
check bad_usage_refused bad_usage_refused
check no_children_not_checked no_children_not_checked
check signal_reaches_program signal_reaches_program
check library_found_in_tree library_found_in_tree

echo "preload: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
