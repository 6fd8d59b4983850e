#!/usr/bin/env python3
"""Weight interpolation of two train.py checkpoints of the same model (e.g. the shipped model,
imported with import_model.py, and a checkpoint continued from it):

  interpolate.py CK_A CK_B ALPHA OUT_CK        weights (1 - ALPHA) * A + ALPHA * B

ALPHA is one number, or per parameter-name prefix with a default, e.g.
"0.7,mimi.=0.5,lm.transformer.=0.8" (the longest matching prefix wins); "lm_qk=ALPHA" sets
the query and key rows of the LM's attention input projections (in_proj_weight = [q; k; v])
apart, e.g. "0,lm_qk=0.8": the shipped model with only the LM's queries and keys moved 80 %
towards B.

Every float tensor is interpolated; an RVQ codebook is interpolated as centroids
(embedding_sum / cluster_usage) with the mean usage. The state (configs, step) is B's.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402
from export import load_ckpt  # noqa: E402


def main():
    a_dir, b_dir, spec, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    parts = spec.split(",")
    default = float(parts[0])
    named = dict((p.split("=")[0], float(p.split("=")[1])) for p in parts[1:])
    qk = named.pop("lm_qk", None)
    by_prefix = sorted(named.items(), key=lambda x: -len(x[0]))

    def alpha_of(key):
        return next((v for p, v in by_prefix if key.startswith(p)), default)
    a, _ = load_ckpt(a_dir)
    b, state = load_ckpt(b_dir)
    assert set(a) == set(b), set(a) ^ set(b)
    sd = {}
    for k in b:
        if k.endswith(".cluster_usage"):
            continue
        if k.endswith(".embedding_sum"):
            p = k[:-len("embedding_sum")]
            alpha = alpha_of(k)
            ca = a[k] / np.maximum(a[p + "cluster_usage"], 1e-5)[:, None]
            cb = b[k] / np.maximum(b[p + "cluster_usage"], 1e-5)[:, None]
            cu = (1 - alpha) * np.asarray(a[p + "cluster_usage"]) + \
                alpha * np.asarray(b[p + "cluster_usage"])
            sd[k] = ((1 - alpha) * ca + alpha * cb) * np.maximum(cu, 1e-5)[:, None]
            sd[p + "cluster_usage"] = cu
            continue
        alpha = alpha_of(k)
        sd[k] = (1 - alpha) * np.asarray(a[k], np.float32) + alpha * np.asarray(b[k], np.float32)
        if qk is not None and k.startswith("lm.transformer.") and k.endswith("in_proj_weight"):
            n = 2 * sd[k].shape[0] // 3
            sd[k][:n] = (1 - qk) * np.asarray(a[k][:n], np.float32) + \
                qk * np.asarray(b[k][:n], np.float32)
    os.makedirs(out, exist_ok=True)
    st_io.save({k: np.ascontiguousarray(v, np.float32) for k, v in sd.items()},
               os.path.join(out, "ckpt-0.safetensors"))
    state = dict(state, interpolated={"a": os.path.basename(os.path.abspath(a_dir)),
                                      "b": os.path.basename(os.path.abspath(b_dir)),
                                      "alpha": spec})
    with open(os.path.join(out, "state.json"), "w") as f:
        json.dump(state, f, indent=1)
    print(f"{len(sd)} tensors, alpha {spec} -> {out}")


if __name__ == "__main__":
    main()
