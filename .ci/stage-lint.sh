#!/usr/bin/env bash
# Portability lint: no Linux-only API (pthread barriers, getauxval, sched_getaffinity, /proc,
# MAP_POPULATE, epoll, <linux/...>, ...) outside a `#if defined(__linux__)` region; the
# portable forms live in src/core/platform.h. A second of work.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/lint-portability.sh
echo "lint-portability: clean"
