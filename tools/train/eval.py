#!/usr/bin/env python3
"""Evaluate a kstt model with the C engine on held-out synthetic speech.

  eval.py [--kstt build/kstt] [--model models/kstt-demo-en] [--n 250] [--clips DIR]
          [--corpus CORPUS.tsv] [--json OUT.json]

Clips: `--n` held-out sentences (corpus split 'test', never trained on) spoken by held-out
espeak-ng voices (variants never used in training), made by make_clips.py into --clips (reused
if its manifest has at least --n clips). The corpus is rebuilt from Debian's fortunes and
wordnet-base (make_corpus.py) if --corpus is not given.

Metrics, all from `kstt transcribe --format json --vad`:
  * WER: word edit distance / reference words (lowercase words, punctuation stripped);
  * timestamps: share of reference words whose espeak-ng start is exact (espeak-ng reported
    it) and that were recognized (aligned as correct), with |start - espeak start| <= 160 ms;
    also given over all exact reference words (a misrecognized word counts as a miss);
  * end of turn (head 2 = pause >= 2 s): share of sentence ends after which the probability
    reaches 0.5 at a step whose time lies within 1 s after the end of speech; and share of
    steps inside sentences (time in (speech start, speech end]) with probability < 0.5.
Step times are the engine's "time" (step index x 80 ms since the start of the file).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def norm_words(text):
    return [w for w in re.sub(r"[^a-z' ]", " ", text.lower()).split() if w.strip("'")]


def align(ref, hyp):
    """Levenshtein alignment. Returns (errors, pairs of (ref index, hyp index) that match)."""
    n, m = len(ref), len(hyp)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            c = 0 if ref[i - 1] == hyp[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + c)
    pairs, i, j = [], n, m
    while i > 0 and j > 0:
        c = 0 if ref[i - 1] == hyp[j - 1] else 1
        if d[i][j] == d[i - 1][j - 1] + c:
            if c == 0:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif d[i][j] == d[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return d[n][m], pairs[::-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kstt", default=os.environ.get("KSTT_BIN", os.path.join(ROOT, "build", "kstt")))
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "kstt-demo-en"))
    ap.add_argument("--n", type=int, default=250)
    ap.add_argument("--clips", default=os.path.join(ROOT, "tools", "train", "runs", "eval_clips"))
    ap.add_argument("--corpus", default=None)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json", default=None)
    ap.add_argument("--voices", default="espeak", help="espeak (sets A/B) or mixed (set C: "
                    "held-out espeak-ng, flite and festival voices)")
    args = ap.parse_args()

    man_path = os.path.join(args.clips, "manifest.json")
    if not (os.path.exists(man_path) and len(json.load(open(man_path))) >= args.n):
        corpus = args.corpus
        if corpus is None:
            tmp = tempfile.mkdtemp()
            subprocess.run([sys.executable, os.path.join(HERE, "make_corpus.py"), tmp], check=True)
            corpus = os.path.join(tmp, "corpus.tsv")
        subprocess.run([sys.executable, os.path.join(HERE, "make_clips.py"), corpus, args.clips,
                        str(args.n), str(args.seed), "--voices", args.voices], check=True)
    man = json.load(open(man_path))[:args.n]

    cmd = [args.kstt, "transcribe", "--model", args.model, "--format", "json", "--vad", "-q"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    files = [os.path.join(args.clips, c["file"]) for c in man]
    res = []
    for k in range(0, len(files), 50):
        out = subprocess.run(cmd + files[k:k + 50], check=True, capture_output=True, text=True)
        r = json.loads(out.stdout)
        res += r if isinstance(r, list) else [r]
    assert len(res) == len(man)

    n_ref = n_err = 0
    ts_ok = ts_rec = ts_exact = 0
    eot_ok = 0
    inside_ok = inside_n = 0
    per = []
    for c, r in zip(man, res):
        ref = c["words"]
        hw = [w for w in r["words"] if norm_words(w["word"])]
        hyp, hyp_start = [], []
        for w in hw:
            for x in norm_words(w["word"]):
                hyp.append(x)
                hyp_start.append(w["start"])
        err, pairs = align(ref, hyp)
        n_ref += len(ref)
        n_err += err
        for i, j in pairs:
            if c["exact"][i]:
                ts_rec += 1
                if abs(hyp_start[j] - c["starts"][i]) <= 0.16:
                    ts_ok += 1
        ts_exact += sum(c["exact"])
        s0, s1 = c["speech"]
        vad = [(v["time"], v["prs"][2]) for v in r.get("vad", [])]
        crossed = any(s1 <= t <= s1 + 1.0 and p >= 0.5 for t, p in vad)
        eot_ok += crossed
        ins = [p for t, p in vad if s0 < t <= s1]
        inside_n += len(ins)
        inside_ok += sum(p < 0.5 for p in ins)
        per.append({"file": c["file"], "voice": c["voice"], "ref": " ".join(ref),
                    "hyp": " ".join(hyp), "errors": err, "eot": crossed, "n_ref": len(ref)})
    summary = {
        "clips": len(man), "ref_words": n_ref,
        "wer": n_err / max(1, n_ref),
        "ts_within_160ms_of_recognized": ts_ok / max(1, ts_rec),
        "ts_within_160ms_of_all_exact": ts_ok / max(1, ts_exact),
        "exact_ref_words": ts_exact, "recognized_exact_words": ts_rec,
        "eot_crossing_within_1s": eot_ok / max(1, len(man)),
        "eot_below_inside_sentences": inside_ok / max(1, inside_n),
        "inside_steps": inside_n,
    }
    fam = {}   # WER per voice family (espeak-ng, flite, festival)
    for p in per:
        f = p["voice"].split(":")[0] if ":" in p["voice"] else "espeak"
        e, n = fam.get(f, (0, 0))
        fam[f] = (e + p["errors"], n + p["n_ref"])
    summary["wer_per_family"] = {f: e / max(1, n) for f, (e, n) in fam.items()}
    bad = [p for p in per if p["errors"]]
    for p in bad[:15]:
        print(f"{p['file']} [{p['voice']}]\n  ref: {p['ref']}\n  hyp: {p['hyp']}")
    print(f"\n{len(bad)} of {len(per)} clips with errors")
    print(f"WER                                   {100 * summary['wer']:.2f} %  "
          f"({n_err} errors / {n_ref} words, {len(man)} clips)")
    if len(fam) > 1:
        print("WER per voice family                  " + ", ".join(
            f"{f} {100 * e / max(1, n):.2f} % ({e}/{n})" for f, (e, n) in sorted(fam.items())))
    print(f"word starts within 160 ms (recognized) {100 * summary['ts_within_160ms_of_recognized']:.2f} %"
          f"  ({ts_ok}/{ts_rec})")
    print(f"word starts within 160 ms (all exact)  {100 * summary['ts_within_160ms_of_all_exact']:.2f} %"
          f"  ({ts_ok}/{ts_exact})")
    print(f"EOT 2 s prob >= 0.5 within 1 s of end  {100 * summary['eot_crossing_within_1s']:.2f} %"
          f"  ({eot_ok}/{len(man)})")
    print(f"EOT 2 s prob < 0.5 inside sentences    {100 * summary['eot_below_inside_sentences']:.2f} %"
          f"  ({inside_ok}/{inside_n} steps)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "clips": per}, f, indent=1)


if __name__ == "__main__":
    main()
