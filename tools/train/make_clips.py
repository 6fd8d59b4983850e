#!/usr/bin/env python3
"""Held-out evaluation clips: held-out sentences (corpus split 'test') spoken by held-out voices.

  make_clips.py CORPUS.tsv OUT_DIR N [SEED] [--espeak BUNDLE] [--voices espeak|mixed]

--voices mixed: a third of the clips each by held-out espeak-ng variants, flite's held-out voice
`rms` and festival's held-out `ked_diphone` (datagen_voices.py; needs flite1-dev and festival
with festvox-kdlpc16k); default espeak only (the sets of the first model card).

Each clip: 0.3-1.0 s of leading silence, one sentence, 2.5 s of trailing silence, light noise
and a random gain (as in training), 24 kHz 16-bit mono WAV. OUT_DIR/manifest.json lists for
each clip the words, their espeak-ng start times (s) and whether espeak-ng reported the start
itself (exact) or it was interpolated, and the speech start/end times (s).
"""
import json
import os
import random
import sys
import wave

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datagen  # noqa: E402
import datagen_voices  # noqa: E402

SR = 24000


def write_wav(path, x):
    y = np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(y.tobytes())


def held_out_pool(rows, n, seed, bundle="", voices="espeak"):
    """n utterances of held-out sentences by held-out voices (mixed: espeak/flite/festival in
    turn), in a seeded random order."""
    if voices == "espeak":
        pool = datagen.synth_pool(rows, int(n * 1.1) + 5, "test",
                                  bundle or "/usr/lib/x86_64-linux-gnu", seed, workers=2)
        return datagen.finish_pool(pool)[:n]
    k = (n + 2) // 3
    e = datagen.finish_pool(datagen.synth_pool(rows, int(k * 1.1) + 5, "test",
                                               bundle or "/usr/lib/x86_64-linux-gnu", seed,
                                               workers=2))[:k]
    f = datagen_voices.finish_pool(datagen_voices.synth_pool(
        rows, int(k * 1.1) + 5, "test", "flite", "", seed + 1, workers=2))[:k]
    v = datagen_voices.finish_pool(datagen_voices.synth_pool(
        rows, int(k * 1.1) + 5, "test", "festival", "", seed + 2, workers=2))[:k]
    pool = [x for trio in zip(e, f, v) for x in trio][:n]
    return pool


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    bundle = ""
    if "--espeak" in sys.argv:
        bundle = sys.argv[sys.argv.index("--espeak") + 1]
        args.remove(bundle)
    corpus, out, n = args[0], args[1], int(args[2])
    seed = int(args[3]) if len(args) > 3 else 1234
    rows = datagen.load_corpus(corpus, "test")
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    voices = "espeak"
    if "--voices" in sys.argv:
        voices = sys.argv[sys.argv.index("--voices") + 1]
        args.remove(voices)
    pool = held_out_pool(rows, n, seed, bundle, voices)
    os.makedirs(out, exist_ok=True)
    man = []
    for i, u in enumerate(pool):
        lead = int(rng.uniform(0.3, 1.0) * SR)
        tail = int(2.5 * SR)
        x = np.zeros(lead + len(u["pcm"]) + tail, np.float32)
        x[lead:lead + len(u["pcm"])] = u["pcm"].astype(np.float32) / 32768
        x *= 10 ** (rng.uniform(-16, 0) / 20)
        x += 10 ** (rng.uniform(-80, -50) / 20) * nrng.standard_normal(len(x)).astype(np.float32)
        name = f"clip{i:04d}.wav"
        write_wav(os.path.join(out, name), x)
        man.append({"file": name, "voice": u["voice"], "rate": u["rate"], "words": u["words"],
                    "starts": [(lead + s) / SR for s in u["starts"]], "exact": u["exact"],
                    "speech": [(lead + u["speech"][0]) / SR, (lead + u["speech"][1]) / SR],
                    "duration": len(x) / SR})
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1)
    print(len(man), "clips")


if __name__ == "__main__":
    main()
