#!/usr/bin/env python3
"""Build the English sentence corpus for kstt-demo-en from Debian packages.

Sources (free licences): `fortunes` (BSD, University of California and contributors) and
`wordnet-base` (WordNet 3.0 licence: example sentences and glosses).
Only sentences made of the 8000 most frequent words are kept. Each kept sentence is lowercase words [a-z'] (4 to 22 words, no digits); the spoken form keeps
commas and the final punctuation so espeak-ng produces natural prosody.
Output: corpus.tsv lines `split<TAB>spoken<TAB>words` with split 'train' or 'test' (about 3% of
sentences, chosen by a hash of the word string), and spm_corpus.txt (training sentences only).
"""
import glob
import hashlib
import os
import re
import sys

VOCAB = 8000
WORD = re.compile(r"^[a-z]+(?:'[a-z]+)*$")


def clean_sentence(s):
    s = s.replace("\u2019", "'").replace("`", "'")
    s = re.sub(r"\s+", " ", s).strip()
    s = s.replace("-", " ").replace("--", " ")
    s = re.sub(r"[\"()\[\]{}*_/]", " ", s)
    s = re.sub(r"\s+", " ", s).strip()
    if not s or re.search(r"[0-9@#$%&=<>+|~^\\]", s):
        return None
    toks = s.split(" ")
    spoken, words = [], []
    for i, t in enumerate(toks):
        m = re.match(r"^'*([A-Za-z][A-Za-z']*?)'*([,;:.!?]*)$", t)
        if not m:
            return None
        w = m.group(1).lower()
        if not WORD.match(w):
            return None
        punct = m.group(2)
        if punct and i < len(toks) - 1:
            if "." in punct or "!" in punct or "?" in punct:
                return None  # abbreviation or several sentences: skip
            punct = ","
        words.append(w)
        spoken.append(w + punct)
    if not (4 <= len(words) <= 22):
        return None
    last = spoken[-1]
    if not last.endswith((".", "!", "?")):
        spoken[-1] = last.rstrip(",;:") + "."
    return " ".join(spoken), " ".join(words)


def fortunes_sentences():
    for path in sorted(glob.glob("/usr/share/games/fortunes/*")):
        if "." in os.path.basename(path):
            continue
        try:
            text = open(path, encoding="utf-8", errors="replace").read()
        except OSError:
            continue
        for entry in text.split("\n%\n"):
            lines = [ln for ln in entry.split("\n") if not re.match(r"^\s*(--|\t\t)", ln)]
            body = " ".join(ln.strip() for ln in lines)
            for sent in re.split(r"(?<=[.!?])\s+", body):
                yield sent


def wordnet_sentences():
    for pos in ("noun", "verb", "adj", "adv"):
        path = f"/usr/share/wordnet/data.{pos}"
        for line in open(path, encoding="latin-1"):
            if line.startswith("  ") or "|" not in line:
                continue
            gloss = line.split("|", 1)[1]
            for ex in re.findall(r'"([^"]+)"', gloss):
                yield ex
            g = re.sub(r'"[^"]*"', "", gloss).split(";")[0].strip()
            if g:
                yield g


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    seen = set()
    rows = []
    for src in (fortunes_sentences(), wordnet_sentences()):
        for s in src:
            r = clean_sentence(s)
            if r is None or r[1] in seen:
                continue
            seen.add(r[1])
            h = int(hashlib.sha1(r[1].encode()).hexdigest()[:8], 16)
            split = "test" if h % 100 < 3 else "train"
            rows.append((split, r[0], r[1]))
    # keep sentences made only of the VOCAB most frequent words (closed vocabulary demo model)
    from collections import Counter
    counts = Counter(w for r in rows for w in r[2].split())
    vocab = set(w for w, _ in counts.most_common(VOCAB))
    rows = [r for r in rows if all(w in vocab for w in r[2].split())]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "corpus.tsv"), "w") as f:
        for r in rows:
            f.write("\t".join(r) + "\n")
    with open(os.path.join(out, "spm_corpus.txt"), "w") as f:
        for r in rows:
            if r[0] == "train":
                f.write(r[2] + "\n")
    n_test = sum(r[0] == "test" for r in rows)
    print(f"{len(rows)} sentences, {n_test} test", file=sys.stderr)


if __name__ == "__main__":
    main()
