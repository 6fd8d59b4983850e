#!/usr/bin/env python3
"""Turn an exported model (Kyutai layout, export.py's output) back into a train.py checkpoint,
so that training can continue from the shipped weights.

  import_model.py MODEL_DIR CKPT_DIR [--train-s S]

Mimi tensors are F32 in the export and come back exactly (codebooks from
`_codebook.embedding_sum` / `cluster_usage`). LM tensors are BF16 in the export and come back
as their BF16 values. The training form of the audio embedding (audio_a, audio_b, audio_start)
is recovered from the emb.{k} tables by least squares: emb_0 = C_first A^T, emb_k = C_rest_{k-1}
B^T (exact up to BF16 rounding); audio_start = emb_0[card]. The checkpoint is in phase B
(quantized) and its state records the configs, so export.py gives back the same files.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402
from train_cfg import default_configs  # noqa: E402


def load_any(path):
    t, dts, _ = st_io.load(path)
    out = {}
    for k, v in t.items():
        out[k] = st_io.bf16_bits_to_f32(v) if dts[k] == "BF16" else np.array(v, np.float32)
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    mdir, ck = args[0], args[1]
    train_s = 0.0
    if "--train-s" in sys.argv:
        train_s = float(sys.argv[sys.argv.index("--train-s") + 1])
    cfg = json.load(open(os.path.join(mdir, "config.json")))
    mimi = load_any(os.path.join(mdir, cfg["mimi_name"]))
    lm = load_any(os.path.join(mdir, cfg["moshi_name"]))
    mcfg, lcfg = default_configs(cfg["text_card"])
    sd = {}
    cbs = {}
    for k, v in mimi.items():
        if "._codebook." in k:
            continue
        sd["mimi." + k] = v
    n_rest = mcfg["quantizer"]["n_q"] - 1

    def get_cb(prefix, dst):
        es = mimi[prefix + "._codebook.embedding_sum"]
        cu = mimi[prefix + "._codebook.cluster_usage"]
        sd[f"mimi.{dst}.embedding_sum"] = es
        sd[f"mimi.{dst}.cluster_usage"] = cu
        return es / np.maximum(cu, 1e-5)[:, None]
    cbs[0] = get_cb("quantizer.rvq_first.vq.layers.0", "levels_first.0")
    for i in range(n_rest):
        cbs[i + 1] = get_cb(f"quantizer.rvq_rest.vq.layers.{i}", f"levels_rest.{i}")
    card = cfg["card"]
    e0 = lm["emb.0.weight"]
    At, *_ = np.linalg.lstsq(cbs[0].astype(np.float64), e0[:card].astype(np.float64), rcond=None)
    C = np.concatenate([cbs[i] for i in range(1, n_rest + 1)]).astype(np.float64)
    E = np.concatenate([lm[f"emb.{i}.weight"][:card] for i in range(1, n_rest + 1)]).astype(np.float64)
    Bt, *_ = np.linalg.lstsq(C, E, rcond=None)
    rel_a = np.linalg.norm(cbs[0] @ At - e0[:card]) / np.linalg.norm(e0[:card])
    rel_b = np.linalg.norm(C @ Bt - E) / np.linalg.norm(E)
    print(f"audio_a fit rel err {rel_a:.2e}, audio_b fit rel err {rel_b:.2e}")
    sd["lm.audio_a.weight"] = np.ascontiguousarray(At.T, np.float32)
    sd["lm.audio_b.weight"] = np.ascontiguousarray(Bt.T, np.float32)
    sd["lm.audio_start"] = e0[card].astype(np.float32)
    for k, v in lm.items():
        if k.startswith("emb."):
            continue
        sd["lm." + k] = v
    os.makedirs(ck, exist_ok=True)
    st_io.save(sd, os.path.join(ck, "ckpt-0.safetensors"))
    state = {"train_s": train_s, "step": 0, "phase": "B", "history": [], "calls": 0,
             "imported_from": os.path.basename(os.path.abspath(mdir)),
             "configs": {"mimi": mcfg, "lm": lcfg, "delay": 6}}
    with open(os.path.join(ck, "state.json"), "w") as f:
        json.dump(state, f, indent=1)
    print(f"{len(sd)} tensors -> {ck}")


if __name__ == "__main__":
    main()
