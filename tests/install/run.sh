#!/usr/bin/env bash
# tests/install/run.sh: the install as a user outside Bazel sees it.
# Installs into a temporary PREFIX with `tools/dev install`, then builds the
# consumer project in tests/install/consumer (app.c: two structures and a
# planted AB-BA lock-order cycle) with make and with CMake's
# pkg_check_modules, plain and checked, shared and static, and runs it:
# plain is silent, checked reports exactly the planted cycle, the structures
# work in both. Prints one "PASS: <case>" or "FAIL: <case>" line per case
# (tools/dev test counts them); exits 1 when a case failed.
# Not a Bazel test: it runs Bazel itself and needs make, cmake, pkg-config.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CONSUMER=$ROOT/tests/install/consumer
CYCLE="lockcheck: lock-order-cycle: beta -> alpha -> beta (2 locks, 2 threads)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/lc-install.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
P=$TMP/prefix # the PREFIX under test
PASSED=0
FAILED=0

# What the user's shell may carry must not change the builds or the runs.
for v in $(compgen -e | grep -E '^LOCKCHECK_'); do unset "$v"; done
unset CFLAGS CPPFLAGS LDFLAGS LDLIBS CMAKE_PREFIX_PATH PKG_CONFIG_LIBDIR
export PKG_CONFIG_PATH=$P/lib/pkgconfig

# check NAME FUNCTION ARGS...: runs one case in a subshell with errexit (so
# the first failing step ends it); its output is shown only on failure.
check() {
	local name=$1 log=$TMP/case.log rc
	shift
	(
		set -e
		"$@"
	) >"$log" 2>&1
	rc=$? # not `|| rc=$?`: errexit is off in any part of a || list
	if [ "$rc" = 0 ]; then
		echo "PASS: $name"
		PASSED=$((PASSED + 1))
	else
		echo "FAIL: $name"
		sed 's/^/    /' "$log" | tail -n 30
		FAILED=$((FAILED + 1))
	fi
}

fail() {
	echo "$*"
	return 1
}

# ---- the install itself

missing_prefix_refused() {
	local rc=0
	tools/dev install 2>"$TMP/err" || rc=$?
	cat "$TMP/err"
	[ "$rc" = 2 ] || fail "exit status $rc, want 2"
	grep -q '^tools/dev install: missing PREFIX' "$TMP/err" ||
		fail "no 'missing PREFIX' error"
}

# Installed from another directory with a relative PREFIX: the caller's
# directory is where it goes.
installs_every_file() {
	local f
	(cd "$TMP" && "$ROOT/tools/dev" install prefix) || fail "install failed"
	for f in include/lockcheck/lockcheck.h include/ds/cache.h \
		include/ds/ledger.h include/ds/reaper.h include/ds/rwmap.h \
		lib/liblockcheck.a lib/liblockcheck.so \
		lib/liblockcheck-checked.a lib/liblockcheck-checked.so \
		lib/pkgconfig/lockcheck.pc lib/pkgconfig/lockcheck-checked.pc \
		bin/lockgraph share/man/man1/lockgraph.1 \
		bin/lockcheck-run lib/liblockcheck-preload.so \
		share/man/man1/lockcheck-run.1 \
		share/man/man7/lockcheck.7; do
		[ -s "$P/$f" ] || fail "$P/$f missing"
	done
	[ -x "$P/bin/lockgraph" ] || fail "lockgraph is not executable"
	[ -x "$P/bin/lockcheck-run" ] || fail "lockcheck-run is not executable"
}

# A second install over the first replaces a damaged file.
reinstall_replaces() {
	local lib=$P/lib/liblockcheck-checked.so sum
	sum=$(cksum <"$lib")
	: >"$lib"
	tools/dev install "$P" || fail "second install failed"
	[ "$(cksum <"$lib")" = "$sum" ] || fail "$lib not restored"
}

# pkg_config_is WHAT PACKAGE WANT: pkg-config's answer, trailing blank off.
pkg_config_is() {
	local got
	got=$(pkg-config "$1" "$2")
	[ "${got% }" = "$3" ] || fail "pkg-config $1 $2: '$got', want '$3'"
}

pkg_config_flags() {
	pkg_config_is --cflags lockcheck "-I$P/include -DLOCKCHECK=0"
	pkg_config_is --cflags lockcheck-checked "-I$P/include -DLOCKCHECK=1"
	pkg_config_is --libs lockcheck "-L$P/lib -llockcheck -pthread"
	pkg_config_is --libs lockcheck-checked \
		"-L$P/lib -llockcheck-checked -pthread -Wl,--wrap=pthread_create -Wl,--wrap=pthread_join"
}

# ---- consumer programs

# linked_as APP PACKAGE LINK: the program uses the shared library, or
# (static) no lockcheck library at run time at all.
linked_as() {
	local deps
	deps=$(LD_LIBRARY_PATH=$P/lib ldd "$1") || fail "ldd $1 failed"
	if [ "$3" = shared ]; then
		grep -q "lib$2.so => $P/lib/lib$2.so" <<<"$deps" ||
			fail "$1 does not load $P/lib/lib$2.so: $deps"
	else
		! grep -q liblockcheck <<<"$deps" ||
			fail "$1 loads a shared lockcheck: $deps"
	fi
}

# runs_as APP MODE: the structures' output, and stderr silent (plain) or
# exactly the planted cycle with symbolised frames of app.c (checked).
runs_as() {
	local out=$TMP/run.out err=$TMP/run.err rc=0
	LD_LIBRARY_PATH=$P/lib LOCKCHECK_EXITCODE=66 "$1" >"$out" 2>"$err" || rc=$?
	cat "$err"
	diff -u "$CONSUMER/expected.out" "$out" || fail "stdout differs"
	if [ "$2" = plain ]; then
		[ "$rc" = 0 ] || fail "exit status $rc, want 0"
		[ ! -s "$err" ] || fail "stderr not empty"
		return 0
	fi
	[ "$rc" = 66 ] || fail "exit status $rc, want 66 (LOCKCHECK_EXITCODE)"
	[ "$(grep '^lockcheck: ' "$err")" = "$CYCLE" ] ||
		fail "want exactly one finding: $CYCLE"
	grep -qE '#0 take_in_order(\(void\*\))? at .*app\.c:[0-9]+' "$err" ||
		fail "no symbolised frame of app.c in the report"
}

package_of() { [ "$1" = plain ] && echo lockcheck || echo lockcheck-checked; }

# builds_with_make MODE LINK
builds_with_make() {
	local dir=$TMP/make-$1-$2 pkg
	pkg=$(package_of "$1")
	cp -r "$CONSUMER" "$dir"
	if [ "$2" = static ]; then
		make -C "$dir" LC_PKG="$pkg" STATIC=1 || fail "make failed"
	else
		make -C "$dir" LC_PKG="$pkg" || fail "make failed"
	fi
	linked_as "$dir/app" "$pkg" "$2"
	runs_as "$dir/app" "$1"
}

# builds_with_cmake MODE LINK
builds_with_cmake() {
	local build=$TMP/cmake-$1-$2 checked=OFF static=OFF
	[ "$1" = checked ] && checked=ON
	[ "$2" = static ] && static=ON
	cmake -S "$CONSUMER" -B "$build" -DLC_CHECKED=$checked \
		-DLC_STATIC=$static || fail "cmake failed"
	cmake --build "$build" || fail "cmake --build failed"
	linked_as "$build/app" "$(package_of "$1")" "$2"
	runs_as "$build/app" "$1"
}

# The same program compiled as C++11 against the installed headers.
builds_as_cxx() {
	local pkg app=$TMP/cxx-$1
	pkg=$(package_of "$1")
	# shellcheck disable=SC2046
	g++ -std=c++11 -g -Wall -Werror -x c++ "$CONSUMER/app.c" -x none \
		$(pkg-config --cflags --libs "$pkg") -o "$app" ||
		fail "g++ failed"
	runs_as "$app" "$1"
}

# A plain object linked with the checked library: refused, naming the mode.
mixed_modes_refused() {
	local obj=$TMP/mixed.o
	# shellcheck disable=SC2046
	cc -c $(pkg-config --cflags lockcheck) "$CONSUMER/app.c" -o "$obj" ||
		fail "compile failed"
	# shellcheck disable=SC2046
	if cc "$obj" $(pkg-config --libs lockcheck-checked) -o "$TMP/mixed" \
		2>"$TMP/err"; then
		fail "a plain object linked with lockcheck-checked"
	fi
	cat "$TMP/err"
	grep -q "undefined reference to .lc_built_with_LOCKCHECK_0" "$TMP/err" ||
		fail "the link error does not name lc_built_with_LOCKCHECK_0"
}

# The installed lockgraph merges the checked program's dump and fails CI.
lockgraph_checks_dump() {
	local dumps=$TMP/dumps rc=0 out
	mkdir -p "$dumps"
	LD_LIBRARY_PATH=$P/lib LOCKCHECK_DUMP=$dumps \
		"$TMP/make-checked-shared/app" >/dev/null 2>&1 || true # 66
	out=$("$P/bin/lockgraph" check "$dumps") || rc=$?
	echo "$out"
	[ "$rc" = 1 ] || fail "lockgraph check exit status $rc, want 1"
	grep -qE '^cycle: alpha \[app\.c:[0-9]+\] -> beta \[app\.c:[0-9]+\] -> alpha' \
		<<<"$out" || fail "no alpha/beta cycle line"
}

# The installed lockcheck-run checks a program built with no lockcheck
# header at all (tests/preload/ab_ba.c: an AB-BA inversion through a
# static mutex), with the preload library found under PREFIX/lib, and
# says where the dump went and how to read it with the installed lockgraph.
lockcheck_run_installed() {
	local rc=0
	cc -O0 -g -pthread -o "$TMP/ab_ba" "$ROOT/tests/preload/ab_ba.c" ||
		fail "cannot build ab_ba"
	(
		unset LOCKCHECK_PRELOAD_LIB
		cd "$TMP" && "$P/bin/lockcheck-run" --dump "$TMP/run-dumps" ./ab_ba
	) >"$TMP/out" 2>"$TMP/err" || rc=$?
	cat "$TMP/out" "$TMP/err"
	[ "$rc" = 66 ] || fail "exit status $rc, want 66"
	grep -Eq '^lockcheck: lock-order-cycle: ab_ba\+0x[0-9a-f]+ -> lock_a -> ab_ba\+0x[0-9a-f]+ \(2 locks, 2 threads\)$' \
		"$TMP/err" || fail "no cycle through lock_a"
	grep -qF "read them with: $P/bin/lockgraph report $TMP/run-dumps" \
		"$TMP/err" || fail "the summary does not name the installed lockgraph"
	rc=0
	"$P/bin/lockcheck-run" ./no-such-program 2>"$TMP/err" || rc=$?
	[ "$rc" = 127 ] || fail "missing program: exit status $rc, want 127"
	rc=0
	(cd "$TMP" && "$P/bin/lockcheck-run" ./ab_ba twin) >/dev/null 2>&1 || rc=$?
	[ "$rc" = 0 ] || fail "the silent twin: exit status $rc, want 0"
}

# The man pages render without a warning and name what they document:
# lockgraph.1 every command of lockgraph's usage, lockcheck.7 every
# finding kind and environment variable in README's tables.
man_pages_complete() {
	local page w
	for page in "$P"/share/man/man1/lockgraph.1 "$P"/share/man/man7/lockcheck.7 \
		"$P"/share/man/man1/lockcheck-run.1; do
		w=$(groff -man -ww -z "$page" 2>&1)
		[ -z "$w" ] || fail "$page: $w"
	done
	for w in $("$P/bin/lockgraph" --help 2>&1 | awk '/^  [a-z]+  /{ print $1 }'); do
		grep -q "^\.B $w\$" "$P/share/man/man1/lockgraph.1" ||
			fail "lockgraph.1 lacks the command $w"
	done
	sed 's/\\-/-/g' "$P/share/man/man7/lockcheck.7" >"$TMP/lockcheck.7.txt"
	# shellcheck disable=SC2016 # the backquotes are README's markdown
	for w in $(grep -oE '^\| `[a-z-]+`' README.md | tr -d '|` ') \
		$(grep '^| `LOCKCHECK_' README.md | grep -oE 'LOCKCHECK_[A-Z_]+'); do
		grep -qF -- "$w" "$TMP/lockcheck.7.txt" || fail "lockcheck.7 lacks $w"
	done
}

check install-missing-prefix missing_prefix_refused
check install installs_every_file
check reinstall reinstall_replaces
check pkg-config pkg_config_flags
for mode in plain checked; do
	for link in shared static; do
		check "make-$mode-$link" builds_with_make "$mode" "$link"
		check "cmake-$mode-$link" builds_with_cmake "$mode" "$link"
	done
done
check cxx-plain builds_as_cxx plain
check cxx-checked builds_as_cxx checked
check mixed-modes-refused mixed_modes_refused
check lockgraph-check lockgraph_checks_dump
check lockcheck-run-installed lockcheck_run_installed
check man-pages man_pages_complete

echo "tests/install: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
