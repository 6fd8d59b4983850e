"""safetensors.torch.load_file / save_file on top of tools/train/st_io.py (numpy)."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
import st_io  # noqa: E402


def load_file(path, device="cpu"):
    t, dts, _ = st_io.load(str(path))
    out = {}
    for k, v in t.items():
        if dts[k] == "BF16":
            out[k] = torch.tensor(st_io.bf16_bits_to_f32(np.array(v))).to(torch.bfloat16)
        else:
            out[k] = torch.tensor(np.array(v))
    return out


def save_file(tensors, path, metadata=None):
    arrs, bf = {}, set()
    for k, v in tensors.items():
        if v.dtype == torch.bfloat16:
            arrs[k] = st_io.f32_to_bf16_bits(v.float().numpy())
            bf.add(k)
        else:
            arrs[k] = v.numpy()
    st_io.save(arrs, str(path), bf16=bf, metadata=metadata)
