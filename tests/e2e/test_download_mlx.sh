#!/usr/bin/env bash
# `kstt download kyutai/stt-1b-en_fr-mlx` (the repo the macOS app downloads its LM from) against
# tests/e2e/fake_hf_server.py: the fake repo is the golden tiny model in that repo's shape (LM
# tensors under MLX names, config.json naming mimi_name / tokenizer_name and relying on the
# default moshi_name), and the downloaded snapshot must transcribe exactly as the original tiny
# model, through the cache (`--model kyutai/stt-1b-en_fr-mlx`, offline). The app's JSON
# vocabulary (lmz/moshi-swift) in place of the SentencePiece model is checked too.
set -euo pipefail
: "${KSTT_BIN:?KSTT_BIN must name the kstt binary}"
: "${KSTT_GOLDEN_DIR:?KSTT_GOLDEN_DIR must name the golden folder}"
: "${KSTT_SOURCE_DIR:?KSTT_SOURCE_DIR must name the source tree}"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
unset HF_HUB_CACHE HUGGINGFACE_HUB_CACHE HF_TOKEN HUGGING_FACE_HUB_TOKEN HF_HUB_OFFLINE XDG_CACHE_HOME
here=$(cd "$(dirname "$0")" && pwd)
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
work=$(mktemp -d "${TMPDIR:-/tmp}/kstt_mlx.XXXXXX")
pid=""
cleanup() {
    [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
    rm -rf "$work"
}
trap cleanup EXIT

conv=$KSTT_SOURCE_DIR/tests/bindings/mlx_model_files.py
"$py" "$conv" "$KSTT_GOLDEN_DIR/stt_tiny" "$work/mlx" --keep-spm >/dev/null
"$py" "$conv" "$KSTT_GOLDEN_DIR/stt_tiny" "$work/mlx_json" >/dev/null
grep -q moshi_name "$work/mlx/config.json" && { echo "FAIL: moshi_name should be absent"; exit 1; }

python3 "$here/fake_hf_server.py" --repo kyutai/stt-1b-en_fr-mlx="$work/mlx" \
    --repo kyutai/stt-mlx-json="$work/mlx_json" --redirect --log "$work/log" \
    --port-file "$work/port" --lifetime 120 >/dev/null 2>"$work/server.err" &
pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "FAIL: server did not start: $(cat "$work/server.err")"; exit 1; }
export HF_ENDPOINT="http://127.0.0.1:$(cat "$work/port")" HF_HOME="$work/hf"

for repo in kyutai/stt-1b-en_fr-mlx kyutai/stt-mlx-json; do
    snap=$(timeout 60 "$KSTT_BIN" download --quiet "$repo")
    src=$work/mlx
    [ "$repo" = kyutai/stt-mlx-json ] && src=$work/mlx_json
    for f in "$src"/*; do
        name=$(basename "$f")
        cmp -s "$f" "$snap/$name" || { echo "FAIL: $repo: $name missing or different"; exit 1; }
    done
    echo "$repo: downloaded to $snap ($(ls "$snap" | tr '\n' ' '))"
    HF_HUB_OFFLINE=1 timeout 120 "$KSTT_BIN" transcribe --quiet --format json --vad \
        --model "$repo" "$KSTT_GOLDEN_DIR/bria_10s_24k.wav" > "$work/got.json"
    timeout 120 "$KSTT_BIN" transcribe --quiet --format json --vad \
        --model "$KSTT_GOLDEN_DIR/stt_tiny" "$KSTT_GOLDEN_DIR/bria_10s_24k.wav" > "$work/want.json"
    cmp -s "$work/got.json" "$work/want.json" || {
        echo "FAIL: $repo transcribes differently"; diff "$work/got.json" "$work/want.json" | head; exit 1; }
    echo "$repo: transcript identical to the original tiny model's ($(grep -c '"word"' "$work/got.json") words)"
done
