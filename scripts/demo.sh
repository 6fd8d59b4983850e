#!/usr/bin/env bash
# The main job of the README: installs dependencies, builds kstt, and transcribes a bundled
# English sample offline with the small demo model trained for this repo (models/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build >/dev/null
MODEL=models/kstt-demo-en
SAMPLE=$(ls "$MODEL"/samples/*.wav | head -n 1)
echo "kstt transcribe --model $MODEL --timestamps $SAMPLE" >&2
./build/kstt transcribe --model "$MODEL" --timestamps "$SAMPLE"
