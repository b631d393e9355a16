#!/usr/bin/env bash
# Runs the benchmarks of this module (Bulwark beside bare gRPC, sony/gobreaker,
# failsafe-go, go-grpc-middleware and x/sync/semaphore) and prints benchstat's
# side-by-side tables and the markdown tables of the README.
#
#   bench/run.sh [output file]          (default: ../.bin/bench-peers.txt)
#
# Environment (the Makefile passes its own):
#   BENCH       benchmarks to run, a -bench regexp      (default .)
#   BENCHCOUNT  rounds                                  (default 6)
#   BENCHTIME   -benchtime of each benchmark per round  (default 100ms)
#   BENCHCPU    -cpu list                               (default 1,2)
#
# The test binary is built once and run BENCHCOUNT times with -count=1, so
# that the rounds interleave: a burst of load from another process slows one
# round of every implementation instead of all the runs of one of them.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../.bin/bench-peers.txt}
bench=${BENCH:-.}
count=${BENCHCOUNT:-6}
benchtime=${BENCHTIME:-100ms}
cpu=${BENCHCPU:-1,2}
go=${GO:-go}

mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")" # absolute: we cd below
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT

cd "$here"
"$go" test -c -o "$bin/bench.test" .
echo "bench: $count rounds of -bench='$bench' -benchtime=$benchtime -cpu=$cpu; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
: >"$out"
for round in $(seq "$count"); do
	echo "bench: round $round of $count" >&2
	"$bin/bench.test" -test.run='^$' -test.bench="$bench" -test.benchmem \
		-test.benchtime="$benchtime" -test.cpu="$cpu" -test.count=1 >>"$out"
done
echo "bench: load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

"$go" tool -modfile="$here/../tools/go.mod" benchstat -table .name -col /impl "$out"
echo
"$go" run ./cmd/benchtable "$out"
