#!/usr/bin/env python3
"""Export a train.py checkpoint in Kyutai's STT file layout.

  export.py CKPT_DIR TOKENIZER.model OUT_DIR

Writes OUT_DIR/config.json (LMModel kwargs + stt_config, mimi_name, mimi_config_name,
tokenizer_name, extra heads), model.safetensors (BF16, Kyutai key names; emb.{k} tables built
from the codebooks: emb_0 = E_first A^T, emb_k = E_rest_{k-1} B^T, row `card` = audio start),
mimi-kstt-demo-en.safetensors (F32 encoder side with Kyutai key names and EMA codebook tensors;
the decoder is not stored), mimi_config.json (Kyutai's Mimi config schema) and the tokenizer.
"""
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

MIMI_NAME = "mimi-kstt-demo-en.safetensors"
MIMI_CONFIG_NAME = "mimi_config.json"


def load_ckpt(d):
    sd = {}
    for f in sorted(os.listdir(d)):
        if f.startswith("ckpt-") and f.endswith(".safetensors"):
            sd.update(st_io.load(os.path.join(d, f))[0])
    state = json.load(open(os.path.join(d, "state.json")))
    return sd, state


def main():
    ck, tok, out = sys.argv[1], sys.argv[2], sys.argv[3]
    sd, state = load_ckpt(ck)
    mcfg = state["configs"]["mimi"]
    lcfg = state["configs"]["lm"]
    os.makedirs(out, exist_ok=True)
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731

    # ---------------- Mimi
    mimi = {}
    for k, v in sd.items():
        if not k.startswith("mimi."):
            continue
        k = k[5:]
        if k.startswith("levels_"):
            continue
        mimi[k] = f32(v)
    bins, dq = mcfg["quantizer"]["bins"], mcfg["quantizer"]["dimension"]

    def put_cb(prefix, src):
        mimi[prefix + "._codebook.embedding_sum"] = f32(sd[f"mimi.{src}.embedding_sum"])
        mimi[prefix + "._codebook.cluster_usage"] = f32(sd[f"mimi.{src}.cluster_usage"])
        mimi[prefix + "._codebook._initialized"] = np.ones(1, np.float32)
    put_cb("quantizer.rvq_first.vq.layers.0", "levels_first.0")
    n_rest = mcfg["quantizer"]["n_q"] - 1
    for i in range(n_rest):
        put_cb(f"quantizer.rvq_rest.vq.layers.{i}", f"levels_rest.{i}")
    st_io.save(mimi, os.path.join(out, MIMI_NAME))
    with open(os.path.join(out, MIMI_CONFIG_NAME), "w") as f:
        json.dump(mcfg, f, indent=2)
        f.write("\n")

    # ---------------- LM
    def codebook(src):
        es = sd[f"mimi.{src}.embedding_sum"].astype(np.float32)
        cu = sd[f"mimi.{src}.cluster_usage"].astype(np.float32)
        return es / np.maximum(cu, 1e-5)[:, None]
    A = sd["lm.audio_a.weight"].astype(np.float32)      # [d, dq]
    B = sd["lm.audio_b.weight"].astype(np.float32)
    start = sd["lm.audio_start"].astype(np.float32)
    d = A.shape[0]
    lm = {}
    embs = [codebook("levels_first.0") @ A.T] + \
        [codebook(f"levels_rest.{i}") @ B.T for i in range(n_rest)]
    for k, e in enumerate(embs):
        t = np.zeros((bins + 1, d), np.float32)
        t[:bins] = e
        if k == 0:
            t[bins] = start
        lm[f"emb.{k}.weight"] = t
    for k, v in sd.items():
        if not k.startswith("lm.") or k[3:].startswith("audio_"):
            continue
        lm[k[3:]] = f32(v)
    lm16 = {k: st_io.f32_to_bf16_bits(v) for k, v in lm.items()}
    st_io.save(lm16, os.path.join(out, "model.safetensors"), bf16=set(lm16))

    tok_name = os.path.basename(tok)
    shutil.copy(tok, os.path.join(out, tok_name))
    n_q = mcfg["quantizer"]["n_q"]
    cfg = {
        "moshi_name": "model.safetensors",
        "mimi_name": MIMI_NAME,
        "mimi_config_name": MIMI_CONFIG_NAME,
        "tokenizer_name": tok_name,
        "model_type": "stt",
        "lm_gen_config": {"temp": 0.0, "temp_text": 0.0, "top_k": 250, "top_k_text": 50},
        "stt_config": {"audio_delay_seconds": 0.5, "audio_silence_prefix_seconds": 0.0},
        **{k: lcfg[k] for k in ("dim", "text_card", "existing_text_padding_id", "n_q", "dep_q",
                                "card", "num_heads", "num_layers", "hidden_scale", "causal",
                                "layer_scale", "context", "max_period", "gating", "norm",
                                "positional_embedding")},
        "depformer_dim": 32, "depformer_num_heads": 2, "depformer_num_layers": 1,
        "depformer_dim_feedforward": 64, "depformer_multi_linear": True,
        "depformer_pos_emb": "none", "depformer_weights_per_step": True,
        "delays": [0] * (n_q + 1),
        "extra_heads_num_heads": lcfg["extra_heads_num_heads"],
        "extra_heads_dim": lcfg["extra_heads_dim"],
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    tot = 0
    for fn in sorted(os.listdir(out)):
        p = os.path.join(out, fn)
        if os.path.isfile(p):
            tot += os.path.getsize(p)
            print(f"{os.path.getsize(p):>10}  {fn}")
    print(f"{tot:>10}  total")


if __name__ == "__main__":
    main()
