#!/usr/bin/env bash
# tests/consumer/run.sh: README's "From another Bazel workspace", tried as a
# user would, outside this checkout. `tools/dev test` runs it after the four
# builds; one "PASS: <check>" or "FAIL: <check>" line per check.
#
# A workspace in /tmp whose WORKSPACE is exactly README's three lines, the
# BUILD and .bazelrc of this directory and three cc_tests: session_test (a
# lock-order bug between two locks initialised on one line), ledger_test
# (a three-lock cycle) and clean_test. Built offline with --config=lockcheck
# under Bazel's default spawn strategy (linux-sandbox: every test process
# has the same pid), all dumping into one LOCKCHECK_DUMP directory. Wanted:
# the two buggy tests fail with exit 66 and their report, the clean one
# passes, three dumps, and `lockgraph check` (built from @lockcheck too)
# exits 1 naming both cycles.
#
# Its own Bazel server (--output_user_root under the work directory, one
# per checkout) so it does not fight the checkout's; kept between runs for
# speed, shut down at the end. LC_CONSUMER_DIR moves the work directory.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
checkout=$(cd "$here/../.." && pwd)
# One work directory per checkout: two checkouts may run this at once.
tag=$(printf '%s' "$checkout" | cksum | cut -d' ' -f1)
work=${LC_CONSUMER_DIR:-/tmp/lockcheck-consumer-$(id -u)-$tag}
ws=$work/ws
dumps=$work/dumps
bazel=(bazel --output_user_root="$work/bazel-root")
passed=0
failed=0

check() { # WHAT CONDITION...: counts one check
	local what=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
		echo "PASS: $what"
	else
		failed=$((failed + 1))
		echo "FAIL: $what"
	fi
}

setup() {
	rm -rf "$ws" "$dumps"
	mkdir -p "$ws" || return 1
	cat >"$ws/WORKSPACE" <<EOF
local_repository(name = "lockcheck", path = "$checkout")
load("@lockcheck//bazel:deps.bzl", "lockcheck_dependencies")
lockcheck_dependencies()
EOF
	cp "$here/BUILD.consumer" "$ws/BUILD" &&
		cp "$here/bazelrc.consumer" "$ws/.bazelrc" &&
		cp "$here"/*_test.c "$ws/"
}

# The exit status Bazel recorded for a test (its generated test.xml).
test_exit() {
	local xml="$ws/bazel-testlogs/$1/test.xml"
	[ -f "$xml" ] || { echo none; return; }
	if grep -q 'exited with error code' "$xml"; then
		sed -nE 's/.*exited with error code ([0-9]+).*/\1/p' "$xml" | head -n 1
	else
		echo 0
	fi
}

log_has() { # TEST LINE: the test's log holds this exact line
	grep -qxF "$2" "$ws/bazel-testlogs/$1/test.log" 2>/dev/null
}

count_dumps() { find "$dumps" -name '*.graph' 2>/dev/null | wc -l; }

echo "=== consumer workspace: $ws (@lockcheck = $checkout)"
setup || { echo "FAIL: set up $ws"; exit 1; }
cd "$ws" || exit 1
rc=0
"${bazel[@]}" test --config=lockcheck --keep_going --nocache_test_results \
	--test_env=LOCKCHECK_DUMP="$dumps/" //... >"$work/test.out" 2>&1 || rc=$?
grep -E '^//:' "$work/test.out"
check "bazel test builds offline and only tests fail (exit 3, got $rc)" \
	[ "$rc" = 3 ]
check "session_test fails with exit 66 (got $(test_exit session_test))" \
	[ "$(test_exit session_test)" = 66 ]
check "session_test reports the cycle of its one-line pair" log_has \
	session_test "lockcheck: lock-order-cycle: session.state -> session.conn -> session.state (2 locks, 2 threads)"
check "ledger_test fails with exit 66 (got $(test_exit ledger_test))" \
	[ "$(test_exit ledger_test)" = 66 ]
check "ledger_test reports its three-lock cycle" grep -q \
	'^lockcheck: lock-order-cycle: .*ledger.journal.* (3 locks, 3 threads)$' \
	"$ws/bazel-testlogs/ledger_test/test.log"
check "clean_test passes (exit $(test_exit clean_test))" \
	[ "$(test_exit clean_test)" = 0 ]
check "three dumps in one directory (got $(count_dumps))" \
	[ "$(count_dumps)" = 3 ]
lrc=0
"${bazel[@]}" build --config=lockcheck @lockcheck//tools/lockgraph \
	>>"$work/test.out" 2>&1 &&
	bazel-bin/external/lockcheck/tools/lockgraph/lockgraph check "$dumps" \
		>"$work/check.out" 2>&1 || lrc=$?
sed 's/^/  | /' "$work/check.out" 2>/dev/null
check "lockgraph check exits 1 (got $lrc)" [ "$lrc" = 1 ]
check "lockgraph check names the session cycle" grep -q \
	'^cycle: session.\(conn\|state\) .*session.\(conn\|state\) ' "$work/check.out"
check "lockgraph check names the ledger cycle" grep -q \
	'^cycle: ledger\..*ledger\..*ledger\..* (3 locks' "$work/check.out"
"${bazel[@]}" shutdown >/dev/null 2>&1
if [ "$failed" != 0 ]; then
	echo "  (bazel's output: $work/test.out)"
	tail -n 30 "$work/test.out" | sed 's/^/  | /'
fi
echo "tests/consumer: $passed passed, $failed failed"
[ "$failed" = 0 ]
