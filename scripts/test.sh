#!/usr/bin/env bash
# The test command of the README: installs dependencies, builds (gcc, Release) and runs the
# whole suite (unit, golden, end-to-end, fuzz-corpus replay). Golden vectors are read from
# ../shared/golden unless KSTT_GOLDEN_DIR says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release ${KSTT_GOLDEN_DIR:+-DKSTT_GOLDEN_DIR="$KSTT_GOLDEN_DIR"}
ninja -C "$BUILD"
ctest --test-dir "$BUILD" --output-on-failure -j2 "$@"
