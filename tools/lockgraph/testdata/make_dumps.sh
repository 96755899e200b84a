#!/usr/bin/env bash
# make_dumps.sh SCENARIO [OUTDIR]: regenerates the committed dumps of
# tools/lockgraph/testdata/dumps from real runs of the scenario program
# built with LOCKCHECK=1, e.g.
#   bazel build --config=lockcheck //tools/lockgraph:scenario
#   tools/lockgraph/testdata/make_dumps.sh bazel-bin/tools/lockgraph/scenario
# Each set is a directory; each file is one process running the patterns
# named after its file name ("gate_ab.graph" ran `scenario gate_ab`).
set -euo pipefail
bin=$(realpath "$1")
out=${2:-$(dirname "$0")/dumps}

declare -A sets=(
	[opposite]="ab ba"
	[chain3]="ab bc ca"
	[abba]="abba"
	[threads]="threads"
	[rr]="rr_xy rr_yx"
	[rw]="rw_xy rw_yx"
	[xryw]="xr_yw yw_xr"
	[gate]="gate_ab gate_ba"
	[gate2]="gate_ab gate2_ba"
	[pool]="pool_ab pool_ba"
	[recursive]="recursive"
	[weird]="weird aw"
	[counted]="counted"
	[clean]="ab bc"
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for set in "${!sets[@]}"; do
	rm -rf "${out:?}/$set"
	mkdir -p "$out/$set"
	for pattern in ${sets[$set]}; do
		rm -f "$tmp"/*
		# the findings are the point here: keep the scenario's status
		LOCKCHECK_DUMP="$tmp" LOCKCHECK_LOG=/dev/null LOCKCHECK_EXITCODE=0 \
			"$bin" "$pattern"
		mv "$tmp"/*.graph "$out/$set/$pattern.graph"
	done
done
