#!/usr/bin/python3
"""Regenerates the SentencePiece test fixtures in this directory.

Needs Debian's `sentencepiece` (spm_train, spm_decode) and `python3-sentencepiece`; run it with
the system interpreter: /usr/bin/python3 tests/data/spm/make_fixtures.py

Writes:
  uni.model        unigram, 120 pieces, identity normalization (the Kyutai layout: <unk> 0,
                   <s> 1, </s> 2, <pad> 3)
  bpe_bytes.model  BPE with byte fallback (256 <0xNN> pieces), character coverage 0.98 so that
                   rare letters (accents, anything not in the corpus) go through bytes
  nodummy.model    unigram without add_dummy_prefix / remove_extra_whitespaces, unk_surface "<?>"
  crafted.model    written here field by field: USER_DEFINED and UNUSED pieces, a piece made of
                   U+2581 only, an unknown field of every wire type (varint, fixed64, bytes,
                   group, fixed32) at every message level
  decode_cases.txt one case per line: MODEL <TAB> comma-separated ids <TAB> hex of the UTF-8 text
                   that SentencePiece 0.1.97 decodes them to (checked against spm_decode too)

The ids are encodings of sentences (with characters outside the vocabulary) and random id
sequences over the whole vocabulary (control, unknown and byte pieces included), so the cases
cover leading-space removal, byte runs with ill-formed UTF-8, unk_surface and control pieces.
"""
import os
import random
import struct
import subprocess
import sys
import tempfile

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))


def train(name, *args):
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.txt")
        with open(os.path.join(HERE, "corpus.txt"), encoding="utf-8") as f:
            text = f.read()
        with open(corpus, "w", encoding="utf-8") as f:
            f.write(text * 3)
        prefix = os.path.join(tmp, name)
        subprocess.run(["spm_train", "--input=" + corpus, "--model_prefix=" + prefix,
                        "--normalization_rule_name=identity", "--pad_id=3", "--unk_id=0",
                        "--bos_id=1", "--eos_id=2", *args],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(prefix + ".model", "rb") as f:
            data = f.read()
    with open(os.path.join(HERE, name + ".model"), "wb") as f:
        f.write(data)


# ---- a hand-written protobuf encoder for the crafted model ----------------------------------

def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def ld(field, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return key(field, 2) + varint(len(data)) + data


def vint(field, v):
    return key(field, 0) + varint(v)


def unknown_fields():
    """One unknown field of each wire type, numbered high enough to be unknown everywhere."""
    return (vint(900, 7) + key(901, 1) + struct.pack("<d", 1.5) + ld(902, b"\x00\xff")
            + key(903, 3) + vint(1, 5) + ld(2, "x") + key(903, 4)
            + key(904, 5) + struct.pack("<f", 2.0))


def piece(text, score=0.0, typ=None):
    body = ld(1, text) + key(2, 5) + struct.pack("<f", score) + unknown_fields()
    if typ is not None:
        body += vint(3, typ)
    return ld(1, body)


def crafted():
    pieces = [piece("<unk>", 0, 2), piece("<s>", 0, 3), piece("</s>", 0, 3), piece("<pad>", 0, 3),
              piece("\u2581", -1), piece("a", -2), piece("\u2581b", -3),
              piece("\u2581xyz", 0, 4), piece("qq", 0, 5), piece("\u2581uu\u2581v", 0, 5),
              piece("\u2581\u2581", -4), piece("\u00e9t\u00e9", -5)]
    trainer = vint(3, 1) + vint(4, len(pieces)) + vint(43, 3) + unknown_fields()
    normalizer = ld(1, "identity") + vint(3, 1) + vint(4, 1) + vint(5, 1) + unknown_fields()
    return b"".join(pieces) + unknown_fields() + ld(2, trainer) + ld(3, normalizer)


# ---- decode cases ------------------------------------------------------------------------

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Bonjour à tous, ça va très bien aujourd'hui.",
    "Où est la bibliothèque? Elle est près de la gare.",
    "Zürich, Ærøskøbing und Þingvellir sind schön 😀 中文 ok",
    "  leading and   inner   spaces ",
    "Numbers like 42 and 1999 appear here too.",
]


def spm_decode_cli(model, idlists):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for ids in idlists:
            f.write(" ".join(map(str, ids)) + "\n")
        path = f.name
    try:
        out = subprocess.run(["spm_decode", "--model=" + model, "--input_format=id", path],
                             check=True, capture_output=True).stdout
    finally:
        os.unlink(path)
    return out.decode("utf-8").split("\n")[: len(idlists)]


def cases_for(name, rng):
    path = os.path.join(HERE, name + ".model")
    sp = spm.SentencePieceProcessor(model_file=path)
    n = sp.get_piece_size()
    idlists = [sp.encode(s) for s in SENTENCES]
    idlists += [[i] for i in range(n)]  # every piece alone
    for _ in range(80):
        idlists.append([rng.randrange(n) for _ in range(rng.randint(1, 14))])
    bytes_ = [i for i in range(n) if sp.is_byte(i)]
    for _ in range(40 if bytes_ else 0):  # dense byte runs: mostly ill-formed UTF-8
        idlists.append([rng.choice(bytes_) if rng.random() < 0.8 else rng.randrange(n)
                        for _ in range(rng.randint(1, 10))])
    texts = [sp.decode(ids) for ids in idlists]
    # spm_decode writes one line per input line: leave out texts holding a line break.
    one_line = [(ids, t) for ids, t in zip(idlists, texts) if "\n" not in t and "\r" not in t]
    cli = spm_decode_cli(path, [ids for ids, _ in one_line])
    for (ids, t), c in zip(one_line, cli):
        if t != c:
            sys.exit(f"{name}: python and spm_decode disagree on {ids}: {t!r} vs {c!r}")
    return [(name, ids, t) for ids, t in zip(idlists, texts)]


def main():
    train("uni", "--model_type=unigram", "--vocab_size=120")
    train("bpe_bytes", "--model_type=bpe", "--vocab_size=330", "--byte_fallback=true",
          "--character_coverage=0.98", "--hard_vocab_limit=false")
    train("nodummy", "--model_type=unigram", "--vocab_size=100", "--add_dummy_prefix=false",
          "--remove_extra_whitespaces=false", "--unk_surface=<?>")
    with open(os.path.join(HERE, "crafted.model"), "wb") as f:
        f.write(crafted())
    rng = random.Random(1234)
    cases = []
    for name in ("uni", "bpe_bytes", "nodummy", "crafted"):
        cases += cases_for(name, rng)
    with open(os.path.join(HERE, "decode_cases.txt"), "w", encoding="ascii") as f:
        for name, ids, text in cases:
            f.write(f"{name}\t{','.join(map(str, ids))}\t{text.encode('utf-8').hex()}\n")
    print(f"wrote {len(cases)} cases")


if __name__ == "__main__":
    main()
