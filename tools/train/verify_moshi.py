#!/usr/bin/env python3
"""Check an exported model with Kyutai's own PyTorch classes (moshi package, CPU, float32).

  PYTHONPATH=<moshi source> verify_moshi.py MODEL_DIR WAV...

Loads the files through moshi's loaders (Mimi: encoder weights strictly, only decoder-side
tensors may be missing; LM: strict), runs the streaming ASR loop of Kyutai's Rust asr.rs
(golden generator's asr_run: one-step audio lag, start tokens, delay 6) on each WAV with the
CLI's padding (prefix audio_silence_prefix_seconds, suffix delay + 1 s of zeros) and prints
the words with their start times.
"""
import json
import math
import os
import sys
import wave

import numpy as np
import torch

# The golden generator lives in ../shared beside the checkout (KSTT_GOLDEN_DIR overrides).
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_GOLDEN = os.environ.get("KSTT_GOLDEN_DIR", os.path.join(_REPO, "..", "shared", "golden"))
sys.path.insert(0, os.path.join(_GOLDEN, "generator"))
import gen_golden  # noqa: E402


def read_wav(p):
    with wave.open(p) as w:
        assert w.getframerate() == 24000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768


def _sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False):
    """scaled_dot_product_attention for torch < 2.0 (Debian 12's torch 1.13)."""
    w = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            w = w.masked_fill(~attn_mask, float("-inf"))
        else:
            w = w + attn_mask
    return w.softmax(-1) @ v


if not hasattr(torch.nn.functional, "scaled_dot_product_attention"):
    torch.nn.functional.scaled_dot_product_attention = _sdpa


def main():
    model_dir = sys.argv[1]
    loaders, lm_mod = gen_golden.import_moshi()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import st_io
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    mcfg = json.load(open(os.path.join(model_dir, cfg["mimi_config_name"])))
    torch.set_num_threads(2)
    mimi = loaders.get_mimi(None, mcfg, device="cpu", num_codebooks=mcfg["quantizer"]["n_q"])
    msd, _, _ = st_io.load(os.path.join(model_dir, cfg["mimi_name"]))
    msd = {k.replace(".self_attn.in_proj_weight", ".self_attn.in_projs.0.weight")
            .replace(".self_attn.out_proj.weight", ".self_attn.out_projs.0.weight"):
           torch.tensor(np.array(v)) for k, v in msd.items()}
    missing, unexpected = mimi.load_state_dict(msd, strict=False)
    bad = [k for k in missing if not k.startswith(("decoder", "upsample"))]
    assert not bad and not unexpected, (bad, unexpected)
    mimi.eval()
    lsd, dts, _ = st_io.load(os.path.join(model_dir, "model.safetensors"))
    assert all(v == "BF16" for v in dts.values())
    lsd = {k.replace(".self_attn.in_proj_weight", ".self_attn.in_projs.0.weight")
           .replace(".self_attn.out_proj.weight", ".self_attn.out_projs.0.weight"):
           torch.tensor(st_io.bf16_bits_to_f32(np.array(v))) for k, v in lsd.items()}
    lm_kwargs = {k: v for k, v in cfg.items() if k not in gen_golden.NON_LM_KEYS}
    lm = loaders.get_moshi_lm(None, lm_kwargs=lm_kwargs, device="cpu", dtype=torch.float32)
    lm.load_state_dict(lsd, strict=True)
    lm.eval()
    import sentencepiece
    sp = sentencepiece.SentencePieceProcessor(
        model_file=os.path.join(model_dir, cfg["tokenizer_name"]))
    delay = int(cfg["stt_config"]["audio_delay_seconds"] * 12.5)
    pre = math.ceil(cfg["stt_config"]["audio_silence_prefix_seconds"] * 12.5)
    suf = math.ceil((cfg["stt_config"]["audio_delay_seconds"] + 1.0) * 12.5)
    for wav in sys.argv[2:]:
        x = read_wav(wav)
        n = math.ceil(len(x) / 1920) * 1920
        pcm = np.concatenate([np.zeros(pre * 1920, np.float32), x,
                              np.zeros(n - len(x) + suf * 1920, np.float32)])
        out, events = gen_golden.asr_run(mimi, lm, torch.tensor(pcm), delay, tokenizer=sp)
        words = [(e["text"], e["start_time"] - pre * 0.08) for e in events if e["type"] == "Word"]
        print(os.path.basename(wav), " ".join(w for w, _ in words))
        print("   starts:", " ".join(f"{t:.2f}" for _, t in words))
        prs = [e["prs"][2] for e in events if e["type"] == "Step"]
        print("   vad2s:", " ".join(f"{p:.1f}" for p in prs))


if __name__ == "__main__":
    main()
