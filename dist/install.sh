#!/usr/bin/env bash
# dist/install.sh PREFIX: builds the plain and the checked libraries and
# installs what dist/MANIFEST lists under PREFIX (created when missing; no
# root needed unless PREFIX needs it). Installing again over an earlier
# install replaces its files. Called by `tools/dev install PREFIX`; a
# relative PREFIX is taken from the current directory.
set -euo pipefail

export USER="${USER:-$(id -un)}"
ME="tools/dev install"
INSTALLED=0
# shellcheck disable=SC2054 # the commas belong to one flag
QUIET=(--ui_event_filters=-info,-progress,-debug --noshow_progress --noshow_loading_progress --show_result=0)

die() {
	echo "$ME: $*" >&2
	exit 2
}

# The two builds. The checked one gets output directories of its own, so
# building one mode does not throw the other's objects away.
mode_flags() {
	case "$1" in
	plain) echo "-c opt --copt=-g" ;;
	checked) echo "--config=lockcheck -c opt --copt=-g --platform_suffix=-checked" ;;
	*) die "dist/MANIFEST: unknown build '$1' (plain, checked or src)" ;;
	esac
}

# PREFIX as an absolute path, created if missing.
prefix_path() {
	[ $# -ge 1 ] || die "missing PREFIX (usage: $ME PREFIX)"
	[ -n "$1" ] || die "missing PREFIX: the argument is empty"
	[ $# -eq 1 ] || die "one PREFIX expected, got $# arguments (usage: $ME PREFIX)"
	# pkg-config splits its flags at blanks: such a prefix could not be used.
	[[ "$1" != *[[:space:]]* ]] || die "PREFIX must not contain blanks: '$1'"
	mkdir -p -- "$1" 2>/dev/null || die "cannot create PREFIX '$1'"
	[ -w "$1" ] || die "PREFIX '$1' is not writable (install as its owner)"
	(cd -- "$1" && pwd)
}

# dist/MANIFEST without comments: "FROM TARGET FILE DEST" lines.
manifest() {
	grep -vE '^[[:space:]]*(#|$)' dist/MANIFEST
}

# Builds the targets the manifest names for one mode; prints its bazel-bin.
build_mode() {
	local mode=$1 targets
	targets=$(manifest | awk -v m="$mode" '$1 == m { print $2 }' | sort -u)
	[ -n "$targets" ] || return 0
	echo "$ME: building the $mode libraries: bazel build $(mode_flags "$mode")" >&2
	# shellcheck disable=SC2046,SC2086
	bazel build "${QUIET[@]}" $(mode_flags "$mode") $targets >&2 ||
		die "the $mode build failed"
	# shellcheck disable=SC2046
	bazel info $(mode_flags "$mode") bazel-bin 2>/dev/null
}

# Copies one file into PREFIX/DEST: executables and shared libraries 755,
# the rest 644; a .pc file with its prefix filled in. `install` replaces
# the file (a running program keeps the old one).
install_file() {
	local src=$1 dest=$2 perm=644 text
	[ -f "$src" ] || die "$src is missing (see dist/MANIFEST)"
	[[ "$dest" == bin || "$src" == *.so ]] && perm=755
	mkdir -p -- "$PREFIX/$dest"
	if [[ "$src" == *.pc ]]; then
		text=$(<"$src")
		printf '%s\n' "${text//@PREFIX@/"$PREFIX"}" >"$PREFIX/$dest/.tmp.pc"
		mv -f -- "$PREFIX/$dest/.tmp.pc" "$PREFIX/$dest/${src##*/}"
		chmod 644 "$PREFIX/$dest/${src##*/}"
	else
		install -m "$perm" -- "$src" "$PREFIX/$dest/"
	fi
	INSTALLED=$((INSTALLED + 1))
}

main() {
	local plain_bin checked_bin from file dest f
	PREFIX=$(prefix_path "$@")
	cd "$(dirname "$0")/.."
	plain_bin=$(build_mode plain)
	checked_bin=$(build_mode checked)
	while read -r from _ file dest; do
		case "$from" in
		plain) install_file "$plain_bin/$file" "$dest" ;;
		checked) install_file "$checked_bin/$file" "$dest" ;;
		src) for f in $file; do install_file "$f" "$dest"; done ;;
		*) mode_flags "$from" ;;
		esac
	done < <(manifest)
	echo "$ME: $INSTALLED files installed under $PREFIX"
	echo "$ME: use them with PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig pkg-config --cflags --libs lockcheck-checked (or lockcheck)"
}

main "$@"
