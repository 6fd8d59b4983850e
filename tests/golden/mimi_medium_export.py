#!/usr/bin/env python3
"""Regenerates the real-size Mimi weights behind golden/mimi_medium_ref.safetensors.

The golden generator (shared/golden/generator/gen_golden.py, `medium`) builds the reference
MimiModel with seeded random weights but does not store them (385 MB). This script runs the
same recipe and writes them, in checkpoint key names, to a git-ignored path that
tests/golden/test_mimi_medium.c reads (default .ref/medium/mimi_medium.safetensors):

    /usr/bin/python3 tests/golden/mimi_medium_export.py --moshi .ref/moshi [--check]

Needs Debian's python3-torch and python3-numpy, and the `moshi` package source of
kyutai-labs/moshi extracted into an ignored folder (`--moshi` points at the folder holding
`moshi/`; never commit it). Debian lacks einops and safetensors: the few calls the Mimi path
makes are provided below. The SHA-256 of the weights is checked against
golden/mimi_medium_info.json; --check also encodes the first 1.28 s and compares the codes.
"""
import argparse
import hashlib
import json
import math
import os
import struct
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(os.environ.get("KSTT_GOLDEN_DIR", ROOT.parent / "shared" / "golden"))


def install_shims(torch, np):
    """Stand-ins for the einops patterns and safetensors calls the Mimi code path uses."""
    def rearrange(x, pat, **kw):
        p = " ".join(pat.split())
        if p in ("b t (p h d) -> p b h t d", "b t (p kh d) -> p b kh t d"):
            b, t, n = x.shape
            P, H = kw["p"], kw.get("h", kw.get("kh"))
            return x.reshape(b, t, P, H, n // (P * H)).permute(2, 0, 3, 1, 4)
        if p == "b t (h d) -> b h t d":
            b, t, n = x.shape
            return x.reshape(b, t, kw["h"], n // kw["h"]).permute(0, 2, 1, 3)
        if p == "b h t d -> b t (h d)":
            b, h, t, d = x.shape
            return x.permute(0, 2, 1, 3).reshape(b, t, h * d)
        if p == "b c t -> (b c) () t":
            return x.reshape(x.shape[0] * x.shape[1], 1, x.shape[2])
        if p == "(b c) () t -> b c t":
            return x.reshape(kw["b"], x.shape[0] // kw["b"], x.shape[2])
        if p == "... d -> (...) d":
            return x.reshape(-1, x.shape[-1])
        if p in ("b d n -> b n d", "b n d -> b d n"):
            return x.transpose(1, 2)
        raise NotImplementedError(pat)

    def repeat(x, pat, **kw):
        if " ".join(pat.split()) == "n -> n d":
            return x[:, None].expand(x.shape[0], kw["d"])
        raise NotImplementedError(pat)

    einops = types.ModuleType("einops")
    einops.rearrange, einops.repeat = rearrange, repeat
    sys.modules.setdefault("einops", einops)

    dt = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}

    def load_file(path, device="cpu"):
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            hdr = json.loads(f.read(n))
            data = f.read()
        out = {}
        for k, v in hdr.items():
            if k != "__metadata__":
                a, b = v["data_offsets"]
                arr = np.frombuffer(data[a:b], dtype=dt[v["dtype"]]).reshape(v["shape"])
                out[k] = torch.from_numpy(arr.copy())
        return out

    st = types.ModuleType("safetensors")
    stt = types.ModuleType("safetensors.torch")
    stt.load_file = load_file
    st.torch = stt
    sys.modules.setdefault("safetensors", st)
    sys.modules.setdefault("safetensors.torch", stt)

    F = torch.nn.functional
    if not hasattr(F, "scaled_dot_product_attention"):  # torch < 2.0
        def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False):
            s = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
            if attn_mask is not None:
                s = s.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool \
                    else s + attn_mask
            return torch.softmax(s, dim=-1) @ v
        F.scaled_dot_product_attention = sdpa


def save_f32(tensors, path):
    """safetensors with F32 tensors, sorted names, data back to back."""
    hdr, blobs, off = {}, [], 0
    for k in sorted(tensors):
        b = tensors[k].detach().float().contiguous().numpy().tobytes()
        hdr[k] = {"dtype": "F32", "shape": list(tensors[k].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--moshi", default=str(ROOT / ".ref" / "moshi"))
    ap.add_argument("--out", default=str(ROOT / ".ref" / "medium" / "mimi_medium.safetensors"))
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    import numpy as np
    import torch
    install_shims(torch, np)
    sys.path[:0] = [a.moshi, str(GOLDEN / "generator")]
    import gen_golden as g
    torch.set_num_threads(os.cpu_count() or 1)
    loaders, _ = g.import_moshi()
    mimi, _ = g.build_medium_mimi(loaders)
    sd = g.to_checkpoint_keys(mimi.state_dict())
    _, digest = g.state_checksums(sd)
    want = json.loads((GOLDEN / "mimi_medium_info.json").read_text())["weights_sha256_f32_sorted"]
    if digest != want:
        sys.exit(f"weights differ from the golden run: sha256 {digest}, expected {want}")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    save_f32(sd, a.out)
    print(f"wrote {a.out} (sha256 of the weights {digest}, as in mimi_medium_info.json)")
    if a.check:
        x = g.load_pcm(GOLDEN / "bria_10s_24k.f32")[: 16 * g.FRAME]
        codes, _ = g.mimi_stream(mimi, x, None)
        ref = sys.modules["safetensors.torch"].load_file(str(GOLDEN / "mimi_medium_ref.safetensors"))
        ok = bool(torch.equal(codes.int(), ref["bria.codes"][:16]))
        print("codes of the first 16 frames equal the golden:", ok)
        if not ok:
            sys.exit(1)


if __name__ == "__main__":
    main()
