#!/usr/bin/env python3
"""Turns a model directory into the file set of the macOS app kstt comes from: the LM's tensors
renamed to the MLX checkpoint's names (kyutai/stt-1b-en_fr-mlx: audio_embs.N, norm*.weight of
shape [D], self_attn.in_proj.weight, out_norm.weight) and the tokenizer replaced by a JSON
vocabulary ({"id": "piece"}, as lmz/moshi-swift's tokenizer_spm_8k_0.json) written from the
SentencePiece model's .vocab listing. config.json is rewritten to name the new files.

    mlx_model_files.py SRC_DIR DST_DIR [--keep-spm]

--keep-spm keeps the SentencePiece model (what the kyutai/stt-1b-en_fr-mlx repo itself ships).
"""
import json
import os
import re
import shutil
import struct
import sys


def rename(name):
    name = re.sub(r"^emb\.(\d+)\.weight$", r"audio_embs.\1.weight", name)
    name = re.sub(r"\.(norm[12])\.alpha$", r".\1.weight", name)
    name = name.replace("self_attn.in_proj_weight", "self_attn.in_proj.weight")
    if name == "out_norm.alpha":
        name = "out_norm.weight"
    return name


def convert_lm(src, dst):
    with open(src, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    renamed = 0
    for k, v in header.items():
        if k == "__metadata__":
            out[k] = v
            continue
        nk = rename(k)
        if nk != k:
            renamed += 1
        if nk.endswith("norm1.weight") or nk.endswith("norm2.weight") or nk == "out_norm.weight":
            v = dict(v, shape=[v["shape"][-1]])  # MLX stores norms as [D]
        out[nk] = v
    assert renamed > 0, "no tensor was renamed"
    h = json.dumps(out, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        f.write(data)
    return renamed


def vocab_json(vocab_path, dst):
    pieces = {}
    with open(vocab_path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            pieces[str(i)] = line.rstrip("\n").split("\t")[0]
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(pieces, f, ensure_ascii=False)
    return len(pieces)


def main(src, dst, keep_spm=False):
    os.makedirs(dst, exist_ok=True)
    cfg = json.load(open(os.path.join(src, "config.json")))
    lm = cfg.get("moshi_name", "model.safetensors")
    tok = cfg["tokenizer_name"]
    for name in os.listdir(src):
        if name not in (lm, tok, "config.json") and not name.endswith(".vocab") or \
                (keep_spm and name == tok):
            shutil.copy(os.path.join(src, name), os.path.join(dst, name))
    renamed = convert_lm(os.path.join(src, lm), os.path.join(dst, "model.safetensors"))
    cfg.pop("moshi_name", None)  # the MLX repo's config relies on the default name
    n = 0
    if not keep_spm:
        n = vocab_json(os.path.join(src, os.path.splitext(tok)[0] + ".vocab"),
                       os.path.join(dst, "tokenizer_spm_8k_0.json"))
        cfg["tokenizer_name"] = "tokenizer_spm_8k_0.json"
    json.dump(cfg, open(os.path.join(dst, "config.json"), "w"), indent=2)
    print("%s: %d tensors renamed to MLX names, %s" % (
        dst, renamed, "%d-piece JSON vocabulary" % n if n else "SentencePiece model kept"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], "--keep-spm" in sys.argv[3:])
