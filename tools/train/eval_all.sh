#!/usr/bin/env bash
# All the issue-14 metrics of one model with the C engine, from the repository root:
#   tools/train/eval_all.sh KSTT MODEL_DIR NAME
# Sets (made on first use, in the ignored .ref/eval/; needs tools/train/prepare.sh's corpus):
#   A      250 short clips: held-out sentences x held-out espeak-ng variants (seed 1234)
#   C      250 short clips: held-out sentences x held-out espeak-ng variants, flite rms,
#          festival ked_diphone, in turn (seed 4321)
#   long10e  10-minute recording, held-out sentences x held-out espeak-ng variants, pauses
#          0.3-35 s and one of 42 s
#   long10   the same with the three held-out voice families (espeak-ng, flite rms, festival ked)
# Results: .ref/eval/NAME_{A,C,long,longe}.{txt,json}; a summary on stdout.
set -euo pipefail
K=$1; M=$2; N=$3
PY=${PYTHON:-python3}
E=.ref/eval
C=.ref/data/corpus.tsv
mkdir -p $E
[ -f $E/long10/long.wav ] || $PY tools/train/long_eval.py make $C $E/long10
[ -f $E/long10e/long.wav ] || $PY tools/train/long_eval.py make $C $E/long10e --voices espeak
$PY tools/train/eval.py --kstt "$K" --model "$M" --corpus $C --clips $E/setA \
    --json $E/${N}_A.json > $E/${N}_A.txt 2>&1
$PY tools/train/eval.py --kstt "$K" --model "$M" --corpus $C --clips $E/setC --voices mixed \
    --seed 4321 --json $E/${N}_C.json > $E/${N}_C.txt 2>&1
$PY tools/train/long_eval.py eval $E/long10e --kstt "$K" --model "$M" --json $E/${N}_longe.json \
    > $E/${N}_longe.txt 2>&1
$PY tools/train/long_eval.py eval $E/long10 --kstt "$K" --model "$M" --json $E/${N}_long.json \
    > $E/${N}_long.txt 2>&1
for s in A C; do echo "== $N set $s"; grep -A8 '^WER ' $E/${N}_$s.txt; done
for s in longe long; do echo "== $N $s"; cat $E/${N}_$s.txt; done
