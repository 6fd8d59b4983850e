#!/usr/bin/env bash
# `kstt transcribe --codebooks K` (moshi-server's audio_codebooks) on the golden tiny model
# (n_q = 8): K = 8 gives byte-identical JSON to the default (words and timestamps), in pad and
# raw (--no-padding) mode; K = 3 runs and differs from the default (the option reaches the
# model); bad values are refused: -1 and junk as bad usage (exit 2) before the model loads,
# 9 (n_q + 1) by the model loader (exit 1) with the range in the message. About 2 s.
set -euo pipefail

BIN=${KSTT_BIN:?KSTT_BIN must point to the kstt binary}
G=${KSTT_GOLDEN_DIR:?KSTT_GOLDEN_DIR must point to the golden vectors}
MODEL=$G/stt_tiny
BRIA=$G/bria_10s_24k.wav
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# shellcheck source=lib/tap.sh
source "${KSTT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib/tap.sh"

# run NAME EXPECTED_STATUS ARGS...: kstt transcribe ARGS (lib/tap.sh run_status).
run() { run_status "$1" "$2" "$BIN" transcribe --quiet --threads 1 "${@:3}"; }

for mode in pad raw; do
    extra=()
    [[ $mode == raw ]] && extra=(--no-padding)
    run "def_$mode" 0 --format json --model "$MODEL" "${extra[@]}" "$BRIA"
    run "k8_$mode" 0 --format json --codebooks 8 --model "$MODEL" "${extra[@]}" "$BRIA"
    run "k0_$mode" 0 --format json --codebooks 0 --model "$MODEL" "${extra[@]}" "$BRIA"
    grep -q '"word"' "$T/def_$mode.out" || fail "$mode: the default run gives no words"
    cmp -s "$T/def_$mode.out" "$T/k8_$mode.out" || fail "$mode: --codebooks 8 differs from the default"
    cmp -s "$T/def_$mode.out" "$T/k0_$mode.out" || fail "$mode: --codebooks 0 differs from the default"
    ok "$mode: --codebooks 8 (= n_q) and 0 give the default's words and timestamps"
done

run k3 0 --format json --codebooks 3 --model "$MODEL" "$BRIA"
if cmp -s "$T/def_pad.out" "$T/k3.out"; then
    fail "--codebooks 3 gives the default's output: the option does not reach the model"
fi
ok "--codebooks 3 runs and changes the transcript"

run neg 2 --codebooks -1 --model "$MODEL" "$BRIA"
grep -q -- "--codebooks wants an integer in 0..1024, not '-1'" "$T/neg.err" || {
    cat "$T/neg.err" >&2
    fail "--codebooks -1: message"
}
run junk 2 --codebooks 3x --model "$MODEL" "$BRIA"
grep -q -- "--codebooks" "$T/junk.err" || fail "--codebooks 3x: message"
ok "--codebooks -1 and 3x: bad usage"

run big 1 --codebooks 9 --model "$MODEL" "$BRIA"
grep -q "num_codebooks 9 out of range 1..8 (0 = all" "$T/big.err" || {
    cat "$T/big.err" >&2
    fail "--codebooks 9: message"
}
[[ ! -s "$T/big.out" ]] || fail "--codebooks 9: output written"
ok "--codebooks 9 (n_q + 1) refused by the model loader"

"$BIN" transcribe --help >"$T/help.out"
grep -q -- "--codebooks K" "$T/help.out" || fail "--help does not list --codebooks"
ok "--help lists --codebooks"
echo "all $n_ok passed"
