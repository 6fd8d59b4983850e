#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds a small program against it three
# ways: pkg-config (shared), pkg-config --static, and CMake's find_package(kstt). Each program
# must run on the golden tiny model. Also checks that the shared library exports only the
# public kstt_* / mimi_* symbols and that no private header is installed.
set -euo pipefail
# (no `producer | grep -q` under pipefail: grep's early exit can kill the producer with SIGPIPE
# and fail the pipeline at random; outputs are captured first)
build=$1
src=$KSTT_SOURCE_DIR/tests/install/consumer
model=$KSTT_GOLDEN_DIR/stt_tiny
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name kstt.pc)")
libdir=$(dirname "$libdir")
test -f "$prefix/include/kstt.h" && test -f "$prefix/include/mimi.h"
headers=$(find "$prefix/include" -type f)
if grep -qv '/kstt.h$\|/mimi.h$' <<<"$headers"; then
    echo "FAIL: unexpected installed headers:"; find "$prefix/include" -type f; exit 1
fi
test -x "$prefix/bin/kstt"

# (a coverage-instrumented build adds the linker's __start/__stop section symbols: not ours)
bad=$(nm -D --defined-only "$libdir/libkstt.so" | awk '{print $3}' |
      grep -v '^kstt_\|^mimi_\|^__start___sancov\|^__stop___sancov' || true)
if [ -n "$bad" ]; then echo "FAIL: non-public exports: $bad"; exit 1; fi

export PKG_CONFIG_PATH=$libdir/pkgconfig
cc="${CC:-cc} ${KSTT_INSTALL_CFLAGS:-}"
# shellcheck disable=SC2046
$cc -std=c11 -o "$tmp/c_shared" "$src/consumer.c" $(pkg-config --cflags --libs kstt)
LD_LIBRARY_PATH=$libdir "$tmp/c_shared" "$model"
if grep -q "libkstt.so" <<<"$(ldd "$tmp/c_shared")"; then echo "pkg-config shared: linked libkstt.so"; else
    echo "FAIL: pkg-config build did not link the shared library"; exit 1; fi
# shellcheck disable=SC2046
$cc -std=c11 -o "$tmp/c_static" "$src/consumer.c" $(pkg-config --static --cflags kstt) \
    "$libdir/libkstt.a" $(pkg-config --static --libs-only-other --libs-only-L kstt) \
    $(pkg-config --static --libs kstt | tr ' ' '\n' | grep -v '^-lkstt$' | tr '\n' ' ')
"$tmp/c_static" "$model"
if grep -q "libkstt.so" <<<"$(ldd "$tmp/c_static")"; then
    echo "FAIL: static build links libkstt.so"; exit 1; fi
# The documented static line must work as is, with the static archive preferred.
$cc -std=c11 -o "$tmp/c_static2" "$src/consumer.c" -Wl,-Bstatic -lkstt -Wl,-Bdynamic \
    $(pkg-config --static --cflags kstt) \
    $(pkg-config --static --libs kstt | tr ' ' '\n' | grep -v '^-lkstt$' | tr '\n' ' ')
"$tmp/c_static2" "$model"

cmake -S "$src" -B "$tmp/cm" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="${CC:-cc}" \
    -DCMAKE_C_FLAGS="${KSTT_INSTALL_CFLAGS:-}" >/dev/null
ninja -C "$tmp/cm" >/dev/null
LD_LIBRARY_PATH=$libdir "$tmp/cm/consumer_shared" "$model"
"$tmp/cm/consumer_static" "$model"
echo "install test: pkg-config shared/static and find_package builds all ran"
