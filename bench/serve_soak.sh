#!/usr/bin/env bash
# Soak test of `kstt serve`: the CI load test (tests/server/test_server.py load: N streams of the
# tiny golden model at real-time pace, each checked message by message against the library,
# server RSS sampled every second) run for longer. Defaults: 100 streams x 600 s.
#   bench/serve_soak.sh BUILD_DIR [STREAMS] [SECONDS]
# Prints the RSS figures (25 % mark, max after it, end) and the mean batch and step time; the
# result goes into BENCHMARKS.md ("Server").
set -euo pipefail
build=${1:?usage: bench/serve_soak.sh BUILD_DIR [STREAMS] [SECONDS]}
src=$(cd "$(dirname "$0")/.." && pwd)
export KSTT_BIN="$build/kstt" SRV_REF="$build/tests/srv_ref" KSTT_SOURCE_DIR="$src"
export KSTT_GOLDEN_DIR=${KSTT_GOLDEN_DIR:-$src/../shared/golden}
export SRV_LOAD_STREAMS=${2:-100} SRV_LOAD_SECONDS=${3:-600}
exec nice -n 10 /usr/bin/python3 "$src/tests/server/test_server.py" load
