#!/usr/bin/env bash
# The kstt tool never loses a user's data and fails early with clear messages (issue 11, items
# 4 to 6). Every case checks the exit status, the message, and that the input files are
# unchanged (sha256 before and after); output destinations are only replaced on success and no
# temporary file is left behind. Uses the golden tiny model (KSTT_GOLDEN_DIR/stt_tiny) and, for
# `kstt quantize`, the demo model (models/kstt-demo-en).
set -euo pipefail

BIN=${KSTT_BIN:?KSTT_BIN must point to the kstt binary}
G=${KSTT_GOLDEN_DIR:?KSTT_GOLDEN_DIR must point to the golden vectors}
SRC=${KSTT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=${PYTHON:-python3}
BRIA=$G/bria_10s_24k.wav
FR=$G/fr_6s_24k.wav
T=$(mktemp -d)
cleanup() {
    jobs -p | xargs -r kill 2>/dev/null || true
    chmod -R u+w "$T" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT

# shellcheck source=lib/tap.sh
source "${KSTT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib/tap.sh"
# run NAME WANT_STATUS CMD... (lib/tap.sh run_status)
run() { run_status "$@"; }
sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
no_temps() { ! grep -q '\.kstt-' <<<"$(ls -a "$1")" || fail "temporary files left in $1: $(ls -a "$1")"; }

# A private copy of the tiny model and two inputs, so that any write to them would show.
cp -r "$G/stt_tiny" "$T/model"
chmod -R u+w "$T/model"
mkdir "$T/in"
cp "$BRIA" "$T/in/a.wav"
cp "$FR" "$T/in/b.wav"
MODEL=$T/model
sums "$T/model" >"$T/model.sum"
sums "$T/in" >"$T/in.sum"
unchanged() {
    sums "$T/model" | cmp -s - "$T/model.sum" || fail "a model file changed"
    sums "$T/in" | cmp -s - "$T/in.sum" || fail "an input file changed"
}
KT=("$BIN" transcribe -q --threads 1)
K() { "${KT[@]}" "$@"; }

# ---- the output is one of the inputs, or a model file ----------------------------------
run self 1 "${KT[@]}" --model "$MODEL" -o "$T/in/a.wav" "$T/in/a.wav"
expect_err self "the output $T/in/a.wav is the input $T/in/a.wav; refusing to overwrite it"
ln "$T/in/b.wav" "$T/hardlink.wav"
run hard 1 "${KT[@]}" --model "$MODEL" -o "$T/hardlink.wav" "$T/in/a.wav" "$T/in/b.wav"
expect_err hard "is the input $T/in/b.wav"
ln -s "$T/in/a.wav" "$T/symlink.wav"
run sym 1 "${KT[@]}" --model "$MODEL" --output="$T/symlink.wav" "$T/in/a.wav"
expect_err sym "refusing to overwrite it"
run dotpath 1 "${KT[@]}" --model "$MODEL" -o "$T/in/../in/a.wav" "$T/in/a.wav"
run modelout 1 "${KT[@]}" --model "$MODEL" -o "$MODEL/model.safetensors" "$T/in/a.wav"
expect_err modelout "is a file of the model $MODEL; refusing to overwrite it"
run codes_self 1 "$BIN" codes --mimi "$MODEL/mimi_tiny.safetensors" --mimi-config \
    "$MODEL/mimi_tiny_config.json" -o "$MODEL/mimi_tiny.safetensors" "$T/in/a.wav"
expect_err codes_self "refusing to overwrite it"
rm "$T/hardlink.wav" "$T/symlink.wav"
unchanged
ok "an output that is an input (same path, hard link, symlink, ../) or a model file is refused"

# ---- outputs are replaced only on success ----------------------------------------------
echo "precious" >"$T/out.txt"
# A float WAV with a NaN at 3 s: it opens fine, then fails while being transcribed.
"$PY" - "$T/in/nan.wav" <<'PYEOF'
import struct, sys
n = 24000 * 5
s = [0.0] * n
s[72000] = float("nan")
data = struct.pack("<%df" % n, *s)
open(sys.argv[1], "wb").write(b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " +
    struct.pack("<IHHIIHH", 16, 3, 1, 24000, 96000, 4, 32) + b"data" + struct.pack("<I", len(data)) + data)
PYEOF
sums "$T/in" >"$T/in.sum"
run nanout 1 "${KT[@]}" --model "$MODEL" -o "$T/out.txt" "$T/in/a.wav" "$T/in/nan.wav"
expect_err nanout "$T/in/nan.wav: sample 72000 (at 3.000 s) is NaN: the audio is corrupt"
expect_err nanout "$T/out.txt was not written: 1 of 2 inputs failed"
[[ $(cat "$T/out.txt") == precious ]] || fail "the existing output was replaced after an error"
no_temps "$T"
run good 0 "${KT[@]}" --model "$MODEL" -o "$T/out.txt" "$T/in/a.wav"
[[ $(cat "$T/out.txt") != precious && -s $T/out.txt ]] || fail "a successful run did not write"
K --model "$MODEL" "$T/in/a.wav" | cmp -s - "$T/out.txt" || fail "-o differs from stdout"
no_temps "$T"
unchanged
ok "-o replaces its destination only when every input succeeded; no temporary file remains"

# Ctrl-C in the middle of a live input: the destination is untouched, no temporary file.
echo "precious" >"$T/out.txt"
mkfifo "$T/fifo"
"$BIN" transcribe -q --threads 1 --model "$MODEL" --raw f32le --rate 24000 -o "$T/out.txt" - \
    <"$T/fifo" 2>"$T/int.err" &
KPID=$!
exec 3>"$T/fifo"
head -c 960000 "$G/bria_10s_24k.f32" >&3
for _ in $(seq 200); do # until the temporary output exists
    grep -q '\.out\.txt\.kstt-' <<<"$(ls -a "$T")" && break
    sleep 0.05
done
grep -q '\.out\.txt\.kstt-' <<<"$(ls -a "$T")" || fail "no temporary output while running"
kill -INT $KPID
st=0
wait $KPID || st=$?
exec 3>&-
[[ $st -eq 130 ]] || fail "SIGINT: exit status $st, expected 130"
[[ $(cat "$T/out.txt") == precious ]] || fail "Ctrl-C replaced the destination"
no_temps "$T"
ok "Ctrl-C mid-run leaves the destination as it was and removes the temporary file"

# ---- kstt quantize -----------------------------------------------------------------------
DEMO=$SRC/models/kstt-demo-en
cp -r "$DEMO" "$T/demo"
chmod -R u+w "$T/demo"
sums "$T/demo" >"$T/demo.sum"
demo_unchanged() { sums "$T/demo" | cmp -s - "$T/demo.sum" || fail "the model directory changed"; }
run q_same 1 "$BIN" quantize --type q8_0 "$T/demo" "$T/demo"
expect_err q_same "OUT_DIR $T/demo is the same directory as IN_DIR $T/demo"
run q_slash 1 "$BIN" quantize --type q8_0 "$T/demo" "$T/demo/./"
expect_err q_slash "the same directory as"
run q_inside 1 "$BIN" quantize --type q8_0 "$T/demo" "$T/demo/q8"
expect_err q_inside "OUT_DIR $T/demo/q8 is inside IN_DIR $T/demo"
[[ ! -e $T/demo/q8 ]] || fail "OUT_DIR created inside IN_DIR"
ln -s "$T/demo" "$T/demo_link"
run q_link 1 "$BIN" quantize --type q8_0 "$T/demo" "$T/demo_link"
expect_err q_link "the same directory as"
run q_linkin 1 "$BIN" quantize --type q8_0 "$T/demo_link" "$T/demo/x"
expect_err q_linkin "is inside IN_DIR"
run q_notype 2 "$BIN" quantize "$T/demo" "$T/q"
expect_err q_notype "kstt quantize: --type is required (q8_0, q4_0 or q4_k"
run q_badtype 2 "$BIN" quantize --type q3 "$T/demo" "$T/q"
expect_err q_badtype "unknown --type 'q3'"
run q_noout 2 "$BIN" quantize --type q8_0 "$T/demo"
expect_err q_noout "OUT_DIR (the directory to write) is required"
run q_threads 2 "$BIN" quantize --type q8_0 --threads abc "$T/demo" "$T/q"
expect_err q_threads "--threads wants an integer in 1..1024, not 'abc'"
run q_nodir 1 "$BIN" quantize --type q8_0 "$T/nodir" "$T/q"
expect_err q_nodir "$T/nodir: no such model directory"
# Into an existing OUT_DIR: its files are replaced whole (no truncated file ever visible).
mkdir "$T/q"
echo old >"$T/q/config.json"
run q_ok 0 "$BIN" quantize --quiet --type q8_0 "$T/demo" "$T/q"
grep -q '"moshi_name"' "$T/q/config.json" || fail "config.json not replaced"
no_temps "$T/q"
"$BIN" transcribe -q --model "$T/q" "$DEMO/samples/sample1.wav" >/dev/null ||
    fail "the quantized model does not load"
demo_unchanged
ok "quantize: OUT_DIR = IN_DIR (any spelling), inside it, or a link to it is refused; usage errors"

# ---- clear errors, early -----------------------------------------------------------------
# Inputs are checked before the model: a missing input with an unreachable hub model fails on
# the input, with no network attempt (a dead endpoint would take seconds to time out).
run early 1 env HF_HOME="$T/hf" HF_ENDPOINT=http://127.0.0.1:9 \
    "$BIN" transcribe --model fake/unreachable "$T/in/nope.wav"
expect_err early "$T/in/nope.wav: file not found"
grep -q "127.0.0.1" "$T/early.err" && fail "the hub was asked before the input was checked"
run nomodel 1 "${KT[@]}" --model ./no-such-model "$T/in/a.wav"
expect_err nomodel "./no-such-model: no such model directory"
mkdir -p "$T/models"
(cd "$T" && timeout 60 "$BIN" transcribe -q --model models/typo "$T/in/a.wav" \
    >"$T/typo.out" 2>"$T/typo.err") && fail "a typo in a local model name was accepted"
expect_err typo "models/typo: no such model directory"
# Named pipes and devices as model files are refused before anything is opened (no hang).
cp -r "$MODEL" "$T/fifomodel"
rm "$T/fifomodel/model.safetensors"
mkfifo "$T/fifomodel/model.safetensors"
run fifo 1 "${KT[@]}" --model "$T/fifomodel" "$T/in/a.wav"
expect_err fifo "$T/fifomodel/model.safetensors is a named pipe, not a model file"
rm "$T/fifomodel/model.safetensors"
ln -s /dev/zero "$T/fifomodel/model.safetensors"
run device 1 "${KT[@]}" --model "$T/fifomodel" "$T/in/a.wav"
expect_err device "is a device, not a model file"
# A WAV header promising more than the file holds: a warning, then what is there.
head -c 200044 "$BRIA" >"$T/cut.wav"
run cut 0 "$BIN" transcribe --threads 1 --model "$MODEL" "$T/cut.wav"
expect_err cut "warning: $T/cut.wav: the WAV header announces"
expect_err cut "(a truncated file?); reading what is there"
# Numbers are validated.
for bad in abc -1 5000 0 1.5 ""; do
    run "threads$bad" 2 "${KT[@]}" --model "$MODEL" --threads "$bad" "$T/in/a.wav"
    expect_err "threads$bad" "--threads wants an integer in 1..1024, not '$bad'"
done
run rate 2 "${KT[@]}" --model "$MODEL" --raw s16le --rate 12k -
expect_err rate "--rate wants an integer in 1000..768000, not '12k'"
run norate 2 "${KT[@]}" --model "$MODEL" --raw s16le -
expect_err norate "--raw needs --rate"
run rawfmt 2 "${KT[@]}" --model "$MODEL" --raw s24le --rate 16000 -
expect_err rawfmt "--raw wants s16le or f32le, not 's24le'"
run ratenoraw 2 "${KT[@]}" --model "$MODEL" --rate 16000 "$T/in/a.wav"
expect_err ratenoraw "--rate and --channels describe --raw input"
run eot 2 "${KT[@]}" --model "$MODEL" --format jsonl --vad --eot-threshold 2 "$T/in/a.wav"
expect_err eot "--eot-threshold wants a number in (0, 1), not '2'"
run codesthreads 2 "$BIN" codes --mimi "$MODEL/mimi_tiny.safetensors" --threads -1 "$T/in/a.wav"
expect_err codesthreads "--threads wants an integer in 1..1024, not '-1'"
unchanged
ok "errors come early and say what is wrong: inputs first, local-looking model paths, pipes and devices, truncated WAV, numbers"

# ---- help that teaches -----------------------------------------------------------------------
"$BIN" transcribe --help >"$T/help.txt"
for want in --model --format --timestamps --vad --eot-threshold --output --raw --rate \
    --channels --threads --kv --mimi-weights --quiet jsonl '"prs"' "0.5, 1, 2 and 3 s" \
    HF_HOME HF_HUB_CACHE HF_ENDPOINT HF_TOKEN HF_HUB_OFFLINE KSTT_KERNELS "Exit status"; do
    grep -qF -- "$want" "$T/help.txt" || fail "kstt transcribe --help lacks $want"
done
"$BIN" download --help >"$T/dhelp.txt"
for want in --revision --quiet --progress HF_ENDPOINT HF_TOKEN HF_HOME HF_HUB_CACHE \
    HF_HUB_OFFLINE HF_HUB_DISABLE_PROGRESS_BARS HF_HUB_ETAG_TIMEOUT HF_HUB_DOWNLOAD_TIMEOUT; do
    grep -qF -- "$want" "$T/dhelp.txt" || fail "kstt download --help lacks $want"
done
"$BIN" quantize --help >"$T/qhelp.txt"
for want in --type --head-type --threads --max-scale --quiet OUT_DIR KSTT_KERNELS; do
    grep -qF -- "$want" "$T/qhelp.txt" || fail "kstt quantize --help lacks $want"
done
"$BIN" codes --help >"$T/chelp.txt"
for want in --mimi --mimi-config --codebooks --format --threads KSTT_KERNELS; do
    grep -qF -- "$want" "$T/chelp.txt" || fail "kstt codes --help lacks $want"
done
ok "--help documents every option, the JSON fields and the environment"

echo "all $n_ok safety checks passed"
