#!/usr/bin/env python3
"""A long held-out recording with pauses, and the C engine's metrics on it.

  long_eval.py make CORPUS.tsv OUT_DIR [--minutes 10] [--seed 777] [--voices mixed|espeak]
  long_eval.py eval OUT_DIR --kstt build/kstt [--model models/kstt-demo-en] [--json OUT.json]

make: held-out sentences (corpus split 'test') by held-out voices (espeak-ng variants, flite
`rms`, festival `ked_diphone`, in turn), one after the other with pauses of 0.3-35 s (40 % under
1.5 s, 30 % 1.5-5 s, 20 % 5-15 s, 10 % 15-35 s) and one pause of 42 s in the middle; light
noise (-70..-60 dBFS), +-3 dB per sentence; 24 kHz 16-bit WAV `long.wav` and `manifest.json`.

eval (`kstt transcribe --format json --vad`), all over the whole file in one stream:
  * WER over the whole recording; per minute;
  * 30 s windows (step 5 s, windows with at least 5 reference words): errors whose time (the
    reference word's start; for an insertion, the recognized word's start) lies in the window /
    reference words there; the worst window;
  * the sentence after the 42 s pause: its words recognized;
  * end of turn (head 2, pause >= 2 s): share of sentence ends followed by at least 2 s of
    pause (or the end) after which the probability reaches 0.5 within 1 s; share of steps inside
    sentences below 0.5.
"""
import json
import os
import random
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
SR = 24000
ONSET_S = 0.24


def make(corpus, out, minutes, seed, voices="mixed"):
    import datagen
    import make_clips
    rows = datagen.load_corpus(corpus, "test")
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    total = int(minutes * 60 * SR)
    pool = make_clips.held_out_pool(rows, int(minutes * 60 / 6) + 30, seed, "", voices)
    x = np.zeros(total, np.float32)
    pos = int(1.0 * SR)
    sents = []
    forced = False
    k = 0
    while k < len(pool):
        u = pool[k]
        k += 1
        n = len(u["pcm"])
        s0, s1 = u["speech"]
        start = pos - s0
        if start + n > total - 3 * SR:
            break
        g = 10 ** (rng.uniform(-3, 3) / 20) * 0.6
        x[start:start + n] += u["pcm"].astype(np.float32) / 32768 * g
        sents.append({"voice": u["voice"], "words": u["words"],
                      "starts": [(start + s) / SR for s in u["starts"]],
                      "speech": [(start + s0) / SR, (start + s1) / SR]})
        r = rng.random()
        if not forced and start > total * 0.45:
            gap, forced = 42.0, True
            sents[-1]["long_pause_after"] = gap
        elif r < 0.4:
            gap = rng.uniform(0.3, 1.5)
        elif r < 0.7:
            gap = rng.uniform(1.5, 5.0)
        elif r < 0.9:
            gap = rng.uniform(5.0, 15.0)
        else:
            gap = rng.uniform(15.0, 35.0)
        pos = start + s1 + int(gap * SR)
    x += 10 ** (rng.uniform(-70, -60) / 20) * nrng.standard_normal(len(x)).astype(np.float32)
    os.makedirs(out, exist_ok=True)
    make_clips.write_wav(os.path.join(out, "long.wav"), x)
    man = {"duration": total / SR, "sentences": sents}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1)
    nw = sum(len(s["words"]) for s in sents)
    print(f"{len(sents)} sentences, {nw} words, {total / SR:.0f} s -> {out}/long.wav")


def align_ops(ref, hyp):
    """Levenshtein with the operations: list of (kind, ref index or None, hyp index or None)."""
    n, m = len(ref), len(hyp)
    d = np.zeros((n + 1, m + 1), np.int32)
    d[:, 0] = np.arange(n + 1)
    d[0, :] = np.arange(m + 1)
    hyp_a = np.array(hyp, dtype=object)
    for i in range(1, n + 1):
        sub = d[i - 1, :-1] + (hyp_a != ref[i - 1])
        row = np.minimum(sub, d[i - 1, 1:] + 1)
        # insertions need a left-to-right pass
        cur = np.empty(m + 1, np.int32)
        cur[0] = i
        for j in range(1, m + 1):
            cur[j] = min(row[j - 1], cur[j - 1] + 1)
        d[i] = cur
    ops, i, j = [], n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and d[i, j] == d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            ops.append(("ok" if ref[i - 1] == hyp[j - 1] else "sub", i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i > 0 and d[i, j] == d[i - 1, j] + 1:
            ops.append(("del", i - 1, None))
            i -= 1
        else:
            ops.append(("ins", None, j - 1))
            j -= 1
    return int(d[n, m]), ops[::-1]


def evaluate(out, kstt, model, json_out):
    from eval import norm_words
    man = json.load(open(os.path.join(out, "manifest.json")))
    r = subprocess.run([kstt, "transcribe", "--model", model, "--format", "json", "--vad", "-q",
                        os.path.join(out, "long.wav")], check=True, capture_output=True, text=True)
    res = json.loads(r.stdout)
    hyp, hyp_t = [], []
    for w in res["words"]:
        for x in norm_words(w["word"]):
            hyp.append(x)
            hyp_t.append(w["start"])
    ref, ref_t, ref_s = [], [], []
    for si, s in enumerate(man["sentences"]):
        ref += s["words"]
        ref_t += s["starts"]
        ref_s += [si] * len(s["words"])
    err, ops = align_ops(ref, hyp)
    ev_t = []   # (time, is_error, is_ref)
    sent_err = [0] * len(man["sentences"])
    sent_ok = [0] * len(man["sentences"])
    for kind, i, j in ops:
        if kind == "ins":
            ev_t.append((hyp_t[j], 1, 0))
        else:
            ev_t.append((ref_t[i], int(kind != "ok"), 1))
            if kind == "ok":
                sent_ok[ref_s[i]] += 1
            else:
                sent_err[ref_s[i]] += 1
    ev = np.array(ev_t, np.float64).reshape(-1, 3)
    dur = man["duration"]
    worst, worst_at, windows = 0.0, 0.0, 0
    for t0 in np.arange(0.0, max(1.0, dur - 30.0) + 1e-9, 5.0):
        m = (ev[:, 0] >= t0) & (ev[:, 0] < t0 + 30.0)
        nref = ev[m, 2].sum()
        if nref < 5:
            continue
        windows += 1
        rate = ev[m, 1].sum() / nref
        if rate > worst:
            worst, worst_at = rate, t0
    per_min = []
    for t0 in np.arange(0.0, dur, 60.0):
        m = (ev[:, 0] >= t0) & (ev[:, 0] < t0 + 60.0)
        per_min.append(round(float(ev[m, 1].sum() / max(1, ev[m, 2].sum())), 4))
    after = [i + 1 for i, s in enumerate(man["sentences"])
             if s.get("long_pause_after") and i + 1 < len(man["sentences"])]
    after_info = [{"sentence": i, "words": len(man["sentences"][i]["words"]),
                   "recognized": sent_ok[i], "errors": sent_err[i],
                   "ref": " ".join(man["sentences"][i]["words"])} for i in after]
    vad = [(v["time"], v["prs"][2]) for v in res.get("vad", [])]
    sents = man["sentences"]
    eot_n = eot_ok = 0
    ins_n = ins_ok = 0
    late_n = late_ok = 0
    for i, s in enumerate(sents):
        s0, s1 = s["speech"]
        nxt = sents[i + 1]["speech"][0] if i + 1 < len(sents) else dur
        if nxt - s1 >= 2.0:
            eot_n += 1
            eot_ok += any(s1 <= t <= s1 + 1.0 and p >= 0.5 for t, p in vad)
        ins = [p for t, p in vad if s0 < t <= s1]
        ins_n += len(ins)
        ins_ok += sum(p < 0.5 for p in ins)
        # diagnostic: the same without the first 0.24 s of the sentence (3 steps: the model can
        # only notice the onset once it has heard it, so after a long pause the probability
        # is still high there)
        late = [p for t, p in vad if s0 + ONSET_S < t <= s1]
        late_n += len(late)
        late_ok += sum(p < 0.5 for p in late)
    summ = {"duration_s": dur, "sentences": len(sents), "ref_words": len(ref),
            "errors": err, "wer": err / max(1, len(ref)),
            "worst_30s_window_error_rate": worst, "worst_window_start_s": float(worst_at),
            "windows": windows, "wer_per_minute": per_min, "after_42s_pause": after_info,
            "eot_crossing_within_1s": eot_ok / max(1, eot_n), "eot_ends": eot_n,
            "eot_below_inside_sentences": ins_ok / max(1, ins_n), "inside_steps": ins_n,
            "eot_below_inside_after_onset": late_ok / max(1, late_n), "after_onset_steps": late_n}
    print(f"long recording {dur:.0f} s, {len(sents)} sentences, {len(ref)} words")
    print(f"WER                                   {100 * summ['wer']:.2f} %  ({err} errors)")
    print(f"worst 30 s window error rate          {100 * worst:.2f} %  (at {worst_at:.0f} s, "
          f"{windows} windows)")
    print(f"WER per minute                        {per_min}")
    for a in after_info:
        print(f"after the 42 s pause: {a['recognized']}/{a['words']} words recognized "
              f"({a['errors']} errors): {a['ref']}")
    print(f"EOT 2 s prob >= 0.5 within 1 s of end  {100 * summ['eot_crossing_within_1s']:.2f} %"
          f"  ({eot_ok}/{eot_n} ends followed by >= 2 s)")
    print(f"EOT 2 s prob < 0.5 inside sentences    {100 * summ['eot_below_inside_sentences']:.2f} %"
          f"  ({ins_ok}/{ins_n} steps)")
    print(f"  same, from {ONSET_S:.2f} s after each onset   "
          f"{100 * summ['eot_below_inside_after_onset']:.2f} %  ({late_ok}/{late_n} steps)")
    if json_out:
        with open(json_out, "w") as f:
            json.dump({"summary": summ, "hyp": " ".join(hyp)}, f, indent=1)


def main():
    a = sys.argv[1:]

    def opt(name, default):
        if name in a:
            i = a.index(name)
            v = a[i + 1]
            del a[i:i + 2]
            return v
        return default
    if a[0] == "make":
        minutes = float(opt("--minutes", "10"))
        seed = int(opt("--seed", "777"))
        voices = opt("--voices", "mixed")
        make(a[1], a[2], minutes, seed, voices)
    else:
        kstt = opt("--kstt", os.path.join(HERE, "..", "..", "build", "kstt"))
        model = opt("--model", os.path.join(HERE, "..", "..", "models", "kstt-demo-en"))
        js = opt("--json", None)
        evaluate(a[1], kstt, model, js)


if __name__ == "__main__":
    main()
