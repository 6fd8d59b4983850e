#!/usr/bin/env bash
# The macOS app's model files (issue: the LM with MLX tensor names, a JSON vocabulary instead of
# the SentencePiece model) transcribe exactly as the original files: the golden tiny model is
# rewritten by mlx_model_files.py and `kstt transcribe --format json --vad` (words, times and
# end-of-turn probabilities of every step) must be byte-identical on both golden clips.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
"$py" "$here/mlx_model_files.py" "$KSTT_GOLDEN_DIR/stt_tiny" "$tmp/mlx"
test -f "$tmp/mlx/tokenizer_spm_8k_0.json"
! ls "$tmp"/mlx/*.model 2>/dev/null
for clip in bria_10s_24k fr_6s_24k; do
    wav=$KSTT_GOLDEN_DIR/$clip.wav
    "$KSTT_BIN" transcribe --quiet --format json --vad --model "$KSTT_GOLDEN_DIR/stt_tiny" "$wav" \
        > "$tmp/orig.json"
    "$KSTT_BIN" transcribe --quiet --format json --vad --model "$tmp/mlx" "$wav" > "$tmp/mlx.json"
    words=$(grep -c '"word"' "$tmp/orig.json" || true)
    if [ "$words" -lt 5 ]; then echo "FAIL: $clip: only $words words"; exit 1; fi
    if ! cmp -s "$tmp/orig.json" "$tmp/mlx.json"; then
        echo "FAIL: $clip: MLX names + JSON vocabulary transcribe differently"
        diff "$tmp/orig.json" "$tmp/mlx.json" | head -20
        exit 1
    fi
    echo "$clip: $words words, identical output"
done
# A broken JSON vocabulary is refused with a message naming the file.
printf '{"0": "<unk>", "2": "x"}' > "$tmp/mlx/tokenizer_spm_8k_0.json"
if "$KSTT_BIN" transcribe --quiet --model "$tmp/mlx" "$KSTT_GOLDEN_DIR/fr_6s_24k.wav" \
    2> "$tmp/err.txt"; then
    echo "FAIL: a broken vocabulary was accepted"; exit 1
fi
grep -q "tokenizer_spm_8k_0.json" "$tmp/err.txt" || { cat "$tmp/err.txt"; exit 1; }
echo "broken vocabulary: $(cat "$tmp/err.txt")"
