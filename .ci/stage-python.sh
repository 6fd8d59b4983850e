#!/usr/bin/env bash
# Python bindings (bindings/python): installs the package offline into a fresh venv of Debian's
# interpreter (`/usr/bin/python3 -m venv --system-site-packages`: setuptools, numpy and pytest
# come from python3-* packages; no index is reachable) with the freshly built libkstt bundled,
# runs its pytest suite against the installed copy, then the README's one-liner.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export KSTT_GOLDEN_DIR=${KSTT_GOLDEN_DIR:-$(cd .. && pwd)/shared/golden}
build=${KSTT_PYTHON_BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKSTT_GOLDEN_DIR="$KSTT_GOLDEN_DIR" \
    >/dev/null
ninja -C "$build" kstt kstt_shared kstt_layout >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 -m venv --system-site-packages "$tmp/venv"
py=$tmp/venv/bin/python
unset KSTT_LIBRARY
# A copy of the package source: pip's in-tree build writes build/ and *.egg-info next to it.
cp -r bindings/python "$tmp/src"
KSTT_BUILD_DIR=$build "$py" -m pip install --quiet --no-build-isolation --no-index "$tmp/src"
rm -rf "$tmp/src"

# The installed package, with its bundled library, is what gets imported.
(cd "$tmp" && "$py" -c "
import kstt, kstt._lib as c, sys
assert '/venv/' in kstt.__file__, kstt.__file__
assert '/venv/' in c.lib._kstt_path, c.lib._kstt_path
print('python: kstt', kstt.__version__, 'from', kstt.__file__, 'over', c.lib._kstt_path)
")

set +e
(cd "$tmp" && KSTT_SOURCE_DIR=$root KSTT_BUILD_DIR=$build KSTT_BIN=$build/kstt \
    "$py" -m pytest -q -p no:cacheprovider "$root/bindings/python/tests")
rc=$?
set -e
if [ $rc -eq 5 ]; then echo "python: FAIL: pytest collected no tests"; exit 1; fi
if [ $rc -ne 0 ]; then echo "python: FAIL: pytest exit status $rc"; exit 1; fi

out=$("$py" -c "import kstt; print(kstt.Model('models/kstt-demo-en').transcribe('models/kstt-demo-en/samples/sample1.wav'))")
echo "$out"
for w in i can deal with this crew of workers; do
    grep -q "Word(text='$w'" <<<"$out" || { echo "python: FAIL: '$w' missing"; exit 1; }
done
echo "python: package installed offline, tests and the README one-liner passed"
