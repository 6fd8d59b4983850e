#!/usr/bin/env bash
# One continued-training call on the GPU machine (device tool), from the repository root:
# carry .ref/espeak .ref/flite .ref/fest .ref/corpus [.ref/ck]. Resumes from .ref/ck_dev (left
# by the previous call on a still-warm machine), else .ref/ck (a carried checkpoint), else
# imports the shipped model (import_model.py). Writes the checkpoint to $OUT/ck and the log to
# $OUT/train_log.txt. Extra arguments go to train.py (e.g. --budget-s 450).
set -euo pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
python3 -c "import lzma,shutil;shutil.copyfileobj(lzma.open('.ref/corpus/corpus.tsv.xz'),open('/tmp/corpus.tsv','wb'))"
if [ -f .ref/ck_dev/state.json ]; then CK=.ref/ck_dev
elif [ -f .ref/ck/state.json ]; then CK=.ref/ck
else python3 tools/train/import_model.py models/kstt-demo-en /tmp/ck0; CK=/tmp/ck0; fi
echo "resume from $CK"
python3 tools/train/train.py --corpus /tmp/corpus.tsv \
    --tokenizer models/kstt-demo-en/tokenizer_en_demo_2000.model \
    --espeak "$PWD/.ref/espeak" --flite "$PWD/.ref/flite" --festival "$PWD/.ref/fest" \
    --n-flite 16000 --n-festival 3000 --pool 30000 --workers 14 --voice-workers 12 \
    --compose-threads 6 --out "$OUT/ck" --resume "$CK" --total-s 1000 --lr 5e-4 --warmup 100 \
    --batch 8 --steps 2500 --long-gaps --speed-p 0.4 --reverb-p 0.3 "$@" 2>&1 | tee "$OUT/train_log.txt"
rm -rf .ref/ck_dev.tmp && cp -r "$OUT/ck" .ref/ck_dev.tmp && rm -rf .ref/ck_dev && mv .ref/ck_dev.tmp .ref/ck_dev
ls -la "$OUT/ck"
