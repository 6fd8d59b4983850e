#!/usr/bin/env bash
# Checks run_device.sh's whole path on this machine's CPU before GPU time is spent on it: voice
# worker processes, the refresh of the pools, the parameter groups, the frozen Mimi encoder, the
# checkpoint and the export, with tiny pools and batches and 60 s of training (~3 minutes).
# From the repository root, after prepare.sh, with Debian 12's PyTorch:
#   apt-get install python3-torch && tools/train/smoke_cpu.sh
# Extra arguments go to train.py (after the recipe's), e.g. --mimi-lr-mult 0.1.
set -euo pipefail
PY=${PYTHON:-/usr/bin/python3}
KSTT=${KSTT:-build/kstt}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/ref"
for d in espeak flite fest corpus; do cp -r ".ref/$d" "$W/ref/"; done   # bundles unpack in place
REF=$W/ref OUT=$W/out TMPDIR=$W PYTHON=$PY bash tools/train/run_device.sh \
    --n-flite 200 --n-festival 100 --pool 600 --workers 2 --voice-workers 2 --compose-threads 2 \
    --batch 1 --steps 250 --short-batch 4 --short-steps 100 --refresh-inflight 2 \
    --refresh-chunk 30 --budget-s 60 --log-every 2 --device cpu "$@" > "$W/log.txt" 2>&1 || {
    tail -30 "$W/log.txt"; echo "smoke_cpu: run_device.sh failed" >&2; exit 1; }
$PY - "$W" "$@" <<'EOF'
import os, re, sys
sys.path.insert(0, "tools/train")
from export import load_ckpt
w, extra = sys.argv[1], sys.argv[2:]
log = open(os.path.join(w, "log.txt")).read()
before, after = load_ckpt(os.path.join(w, "ck0"))[0], load_ckpt(os.path.join(w, "ck_new"))[0]
moved = {k for k in before if (before[k] != after[k]).any()}
steps = [int(s) for s in re.findall(r'"step": (\d+)', log)]
frozen = "Mimi frozen" in log   # train.py says so when --mimi-lr-mult <= 0
fails = []
if not steps:
    fails.append("no training step logged")
if "refresh: started" not in log or '"fresh"' not in log:
    fails.append("the pools were not refreshed")
if not frozen and "--mimi-lr-mult" not in extra:
    fails.append("the recipe's Mimi is frozen, the log does not say so")
if frozen and any(k.startswith("mimi.") for k in moved):
    fails.append("Mimi moved although frozen: "
                 + ", ".join(sorted(k for k in moved if k.startswith("mimi.")))[:200])
if not any(k.startswith("lm.") for k in moved):
    fails.append("no LM weight moved")
for f in ("config.json", "model.safetensors"):
    if not os.path.exists(os.path.join(w, "out", "m", f)):
        fails.append(f"export wrote no {f}")
print(f"smoke_cpu: {max(steps, default=0)} steps, {len(moved)} of {len(before)} tensors moved "
      f"({sum(k.startswith('mimi.') for k in moved)} of Mimi)")
for f in fails:
    print("smoke_cpu: FAIL:", f)
sys.exit(1 if fails else 0)
EOF
if [ -x "$KSTT" ]; then   # the exported files load in the C engine and transcribe
    words=$("$KSTT" transcribe -q --model "$W/out/m" models/kstt-demo-en/samples/sample1.wav)
    echo "smoke_cpu: exported model transcribes sample1.wav: $words"
    [ -n "$words" ] || { echo "smoke_cpu: FAIL: empty transcript" >&2; exit 1; }
fi
echo "smoke_cpu: ok"
