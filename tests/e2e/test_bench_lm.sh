#!/bin/bash
# kstt bench: with no command it prints its usage and the choices and exits (status 2) at once,
# instead of starting a multi-minute run. `kstt bench lm` times the library's own LM step (the
# seam of src/lm) on the generator's model, here the tiny dimensions in a temporary bench cache:
# the model is generated and quantised once (a second run reuses the cache), and the JSON has
# the schema of the LM rows (weights, kv, batch, context, ms_per_step, speed, bound_speed,
# fraction_of_bound, bytes_per_step) with the KV type each weight type gets and the logit error
# of the quantised type against bf16. Takes a few seconds.
set -euo pipefail

BIN=${KSTT_BIN:?KSTT_BIN not set}
T=$(mktemp -d /tmp/kstt_bench_lm_XXXXXX)
trap 'rm -rf "$T"' EXIT

set +e
out=$("$BIN" bench 2>&1)
rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "kstt bench: status $rc, expected 2"; exit 1; }
for w in "usage: kstt bench COMMAND" "  lm " "  mimi " "  matmul " "  generate "; do
    grep -qF -- "$w" <<<"$out" || { echo "kstt bench: no '$w' in:"; echo "$out"; exit 1; }
done

run() {
    KSTT_CACHE_DIR="$T" "$BIN" bench lm --dims tiny --quick --json --no-mimi --steps 2 \
        --golden none --demo none --types bf16,q8_0 --threads 2 2>"$T/log"
}
run >"$T/a.json"
[ -f "$T/bench/lm-tiny-seed1/config.json" ] || { echo "no cached model"; cat "$T/log"; exit 1; }
[ -f "$T/bench/lm-tiny-seed1-q8_0/config.json" ] || { echo "no cached q8_0"; cat "$T/log"; exit 1; }
grep -q "generating the random tiny LM" "$T/log"
run >"$T/b.json"
if grep -q "generating\|quantising" "$T/log"; then echo "cache not reused"; exit 1; fi

python3 - "$T/a.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = d["lm"]
assert len(rows) == 8, rows  # 2 types x batch 1, 8 x empty/full context
keys = {"weights", "kv", "batch", "context", "ms_per_step", "speed", "bound_speed",
        "fraction_of_bound", "bytes_per_step"}
for r in rows:
    assert set(r) == keys, r
    assert r["ms_per_step"] > 0 and r["speed"] > 0 and r["bytes_per_step"] > 0, r
    assert r["kv"] == ("f32" if r["weights"] == "bf16" else "f16"), r
assert sorted({r["batch"] for r in rows}) == [1, 8]
assert sorted({r["context"] for r in rows}) == [0, 16]  # the tiny context
err = {e["weights"]: e["logit_rel_rms"] for e in d["lm_error"]}
assert err["bf16"] == 0 and 0 < err["q8_0"] < 0.1, err
assert d["mimi"] is None
print("ok:", len(rows), "LM rows; q8_0 logit error", err["q8_0"])
PY
