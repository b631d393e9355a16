#!/usr/bin/env bash
# Profiles whole calls (bench/cmd/e2e) of bare gRPC and of Bulwark's two
# chains, each alone in its process, and writes the profiles and pprof's
# reports to a folder:
#
#   bench/profile.sh [folder]        (default: ../.bin/profiles)
#
#   {bare,bulwark}-unary.cpu      CPU, unary calls, 8 in flight
#   {bare,bulwark}-unary.mem      allocations (MemProfileRate=1: every one),
#                                 with .base after the warm-up
#   {bare,bulwark}-stream.{cpu,mem}  the same for server streams
#   report-*.txt                  pprof -top of each (divide allocation
#                                 counts by the calls of the run)
#
# Environment: CALLS (default 300000; the allocation runs make a third of
# them), STREAMS (default 2000), INFLIGHT (8).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../.bin/profiles}
calls=${CALLS:-300000}
memcalls=$((calls / 3))
streams=${STREAMS:-2000}
inflight=${INFLIGHT:-8}
go=${GO:-go}

mkdir -p "$out"
out=$(cd "$out" && pwd)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cd "$here"
"$go" build -o "$bin/e2e" ./cmd/e2e
echo "profile: $calls unary calls ($memcalls with every allocation recorded), $streams streams, $inflight in flight; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

for impl in bare bulwark; do
	# CPU and allocations in separate runs: recording every allocation
	# slows the program down and would distort the CPU profile.
	"$bin/e2e" -impls=$impl -rounds=1 -calls="$calls" -inflight="$inflight" -streams=0 \
		-cpuprofile="$out/$impl-unary.cpu" >"$out/$impl-unary.cpu.md"
	"$bin/e2e" -impls=$impl -rounds=1 -calls="$memcalls" -inflight="$inflight" -streams=0 \
		-memprofile="$out/$impl-unary.mem" -memprofilerate=1 >"$out/$impl-unary.mem.md"
	"$bin/e2e" -impls=$impl -rounds=1 -calls=1 -inflight= -streams="$streams" -streams-inflight="$inflight" \
		-cpuprofile="$out/$impl-stream.cpu" >"$out/$impl-stream.cpu.md"
	"$bin/e2e" -impls=$impl -rounds=1 -calls=1 -inflight= -streams="$streams" -streams-inflight="$inflight" \
		-memprofile="$out/$impl-stream.mem" -memprofilerate=1 >"$out/$impl-stream.mem.md"
done 2>>"$out/e2e.log"
echo "profile: load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

pprof() { "$go" tool pprof "$@" 2>/dev/null; }
for kind in unary stream; do
	for impl in bare bulwark; do
		pprof -top -nodecount=60 "$out/$impl-$kind.cpu" >"$out/report-$impl-$kind-cpu.txt"
		pprof -top -nodecount=80 -sample_index=alloc_objects -base="$out/$impl-$kind.mem.base" \
			"$out/$impl-$kind.mem" >"$out/report-$impl-$kind-allocs.txt"
		pprof -top -lines -nodecount=200 -nodefraction=0 -sample_index=alloc_objects -base="$out/$impl-$kind.mem.base" \
			"$out/$impl-$kind.mem" >"$out/report-$impl-$kind-allocs-lines.txt"
	done
done
# What Bulwark adds: CPU (both runs made the same number of calls) and
# allocation sites per call or per stream, Bulwark's run minus bare's.
for kind in unary stream; do
	pprof -top -cum -nodecount=80 -diff_base="$out/bare-$kind.cpu" "$out/bulwark-$kind.cpu" >"$out/cpu-diff-$kind.txt"
	n=$memcalls
	[ "$kind" = stream ] && n=$streams
	for impl in bare bulwark; do
		pprof -top -lines -nodecount=100000 -nodefraction=0 -sample_index=alloc_objects \
			-base="$out/$impl-$kind.mem.base" "$out/$impl-$kind.mem" >"$bin/$impl-$kind.lines"
	done
	{
		echo "Allocation sites per $([ "$kind" = unary ] && echo call || echo stream), Bulwark minus bare, from $n measured in each run (pprof -top -lines -nodefraction=0 -sample_index=alloc_objects -base=X.mem.base X.mem)"
		echo
		awk -v n="$n" '
			# pprof -top rows: flat flat% sum% cum cum% location...
			$2 ~ /%$/ && $5 ~ /%$/ && $1 ~ /^-?[0-9]+$/ {
				loc = $6
				for (i = 7; i <= NF; i++) loc = loc " " $i
				b = FILENAME ~ /bulwark/
				v[loc] += b ? $1 : -$1
				tot[b] += $1
			}
			END {
				for (l in v) if (v[l] / n >= 0.05 || v[l] / n <= -0.05) printf "%+7.2f  %s\n", v[l] / n, l
				printf "%+7.2f  total (bare %.1f, bulwark %.1f)\n", (tot[1] - tot[0]) / n, tot[0] / n, tot[1] / n
			}' "$bin/bare-$kind.lines" "$bin/bulwark-$kind.lines" | sort -gr
	} >"$out/alloc-diff-$kind.txt"
done
echo "profile: reports in $out" >&2
