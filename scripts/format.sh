#!/usr/bin/env bash
# Reformats every tracked C/C++ file with the repo's .clang-format (CI checks it).
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files '*.c' '*.h' '*.cpp' | grep -v '^tests/fuzz/corpus/' | xargs clang-format -i
