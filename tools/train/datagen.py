#!/usr/bin/env python3
"""Synthetic English speech for kstt-demo-en: espeak-ng sentences with exact word starts.

Each sentence is spoken by `espeak_words` (a small C program against libespeak-ng, in this
folder) with a voice (accent + variant), a rate, a pitch and a pitch range; espeak-ng's own
espeakEVENT_WORD events give the output sample at which every word starts. Audio is resampled
from espeak-ng's 22050 Hz to 24 kHz (polyphase windowed sinc, `resample_22k_to_24k`).

Used by train.py (training pool, built on the GPU machine from the carried espeak bundle) and
by eval.py / make_samples (held-out clips, built locally).
"""
import math
import os
import random
import struct
import subprocess
import sys
import threading

import numpy as np

SR = 24000
ESPEAK_SR = 22050
ACCENTS = ["en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd", "en-029", "en-us-nyc"]
TRAIN_VARIANTS = ["m1", "m2", "m4", "m5", "m6", "m7", "m8", "f1", "f3", "f5", "klatt", "klatt3",
                  "klatt4", "klatt6", "Alex", "Andy", "Annie", "adam", "anika", "aunty",
                  "belinda", "benjamin", "boris", "caleb", "david", "ed", "edward", "john",
                  "linda", "max", "michel", "norbert", "paul", "pedro", "quincy", "rob",
                  "robert", "shelby", "steph", "travis", "victor", "zac", "Gene", "Hugo",
                  "Lee", "Mike", "Storm", "announcer", "grandma", "grandpa", "iven", "iven3",
                  ""]
# held-out voices: these variants never occur in training
TEST_VARIANTS = ["m3", "f2", "f4", "klatt2", "Michael", "steph2", "iven2", "Andrea"]


def voice_name(accent, variant):
    return accent + ("+" + variant if variant else "")


def random_voice(rng, split):
    variants = TRAIN_VARIANTS if split == "train" else TEST_VARIANTS
    return (voice_name(rng.choice(ACCENTS), rng.choice(variants)),
            int(rng.uniform(135, 230)), int(rng.uniform(25, 75)), int(rng.uniform(25, 85)))


def load_corpus(path, split):
    rows = []
    for line in open(path, encoding="utf-8"):
        sp, spoken, words = line.rstrip("\n").split("\t")
        if sp == split:
            rows.append((spoken, words.split(" ")))
    return rows


def word_char_starts(spoken):
    """1-based character index of each space-separated word of `spoken`."""
    starts, pos = [], 1
    for tok in spoken.split(" "):
        starts.append(pos)
        pos += len(tok) + 1
    return starts


def system_espeak_words():
    """Build espeak_words against the system's libespeak-ng (Debian: libespeak-ng-dev)."""
    exe = "/tmp/kstt_espeak_words"
    if not os.path.exists(exe):
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "espeak_words.c")
        subprocess.run(["cc", "-O2", "-o", exe, src, "-lespeak-ng"], check=True)
    return exe


def prepare_bundle(bundle):
    """The carried bundle stores espeak-ng's variant folder `voices/!v` as `voices/v` (file
    transfer tools may drop names with '!'); restore the name espeak-ng expects."""
    vd = os.path.join(bundle, "espeak-ng-data", "voices")
    if os.path.isdir(os.path.join(vd, "v")) and not os.path.exists(os.path.join(vd, "!v")):
        os.rename(os.path.join(vd, "v"), os.path.join(vd, "!v"))
    exe = os.path.join(bundle, "espeak_words")
    if os.path.exists(exe) and not os.access(exe, os.X_OK):
        os.chmod(exe, 0o755)


class Espeak:
    """One espeak_words process. synth(jobs) -> list of (pcm int16 @22050, word samples)."""

    def __init__(self, bundle):
        self.bundle = bundle
        env = dict(os.environ)
        lib = os.path.join(bundle, "lib")
        if bundle and os.path.isdir(lib):
            env["LD_LIBRARY_PATH"] = lib + ":" + env.get("LD_LIBRARY_PATH", "")
        exe = os.path.join(bundle, "espeak_words")
        if not os.path.exists(exe):
            exe, bundle = system_espeak_words(), ""
        data_parent = bundle if bundle and os.path.isdir(os.path.join(bundle, "espeak-ng-data")) else ""
        args = [exe] + ([data_parent] if data_parent else [])
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def _run(self, jobs):
        """Feeds jobs; returns the results read before the process ended (it may crash)."""
        def feed():
            try:
                for voice, rate, pitch, rng_, text in jobs:
                    self.p.stdin.write(f"{voice}\t{rate}\t{pitch}\t{rng_}\t{text}\n".encode())
                self.p.stdin.close()
            except (BrokenPipeError, OSError):
                pass
        t = threading.Thread(target=feed)
        t.start()
        out = []
        f = self.p.stdout
        for _ in jobs:
            hdr = f.read(12)
            if len(hdr) < 12:
                break
            n, nw, sr = struct.unpack("<iii", hdr)
            w = np.frombuffer(f.read(12 * nw), np.int32).reshape(nw, 3)
            pcm = np.frombuffer(f.read(2 * n), np.int16)
            if len(pcm) < n:
                break
            out.append((pcm, w))
        t.join()
        self.p.wait()
        return out

    def synth_many(self, jobs):
        """Results in job order; a job that crashes espeak-ng (rare segfaults inside
        libespeak-ng) gets None and the process is restarted after it."""
        res = []
        while True:
            got = self._run(jobs[len(res):])
            res.extend(got)
            if len(res) >= len(jobs):
                return res
            res.append(None)
            if len(res) >= len(jobs):
                return res
            self.__init__(self.bundle)


def align_words(spoken, words, events, n_samples):
    """Map espeak WORD events to our words by character position. Returns (start sample at
    22050 Hz of each word, exact flag of each word), or None if an event matches no word.

    espeak-ng joins some unstressed function words to a neighbour ("going to", "may have") and
    then reports one event for both; such a word gets its start by interpolation on character
    position between the surrounding events (exact = False; eval.py leaves these out of the
    timestamp metric)."""
    starts = word_char_starts(spoken)
    idx = {s: i for i, s in enumerate(starts)}
    res = [None] * len(words)
    for tp, ln, smp in events:
        if ln == 0:
            continue  # espeak-ng also reports pauses (punctuation, end) as empty words
        i = idx.get(int(tp))
        if i is None or res[i] is not None:
            return None
        res[i] = int(smp)
    if res[0] is None:
        return None
    exact = [r is not None for r in res]
    known = [i for i in range(len(words)) if exact[i]]
    if any(res[b] < res[a] for a, b in zip(known, known[1:])):
        return None
    end_char = len(spoken) + 1
    for k in range(len(words)):
        if exact[k]:
            continue
        a = max(i for i in known if i < k)
        nxt = [i for i in known if i > k]
        ca, sa = starts[a], res[a]
        if nxt:
            cb, sb = starts[nxt[0]], res[nxt[0]]
        else:
            cb, sb = end_char, n_samples
        res[k] = int(sa + (sb - sa) * (starts[k] - ca) / max(1, cb - ca))
    return res, exact


def _sinc_bank(up=160, down=147, half=16):
    """Polyphase filters: output n (of phase r = n % up) = sum_j x[base + j] h_r[j]."""
    cutoff = 0.5 * 0.97  # of the input rate (22050 Hz: the output band is wider)
    taps = 2 * half + 2
    bank = np.zeros((up, taps), np.float64)
    offs = np.zeros(up, np.int64)
    for r in range(up):
        t = r * down / up           # position in input samples, relative to base 147*m
        o = int(math.floor(t)) - half
        offs[r] = o
        j = np.arange(taps) + o
        d = t - j
        w = 0.5 + 0.5 * np.cos(np.pi * np.clip(d / (half + 1), -1, 1))
        bank[r] = 2 * cutoff * np.sinc(2 * cutoff * d) * w
    return bank, offs


_BANK = None


def resample_22k_to_24k(x):
    """float32 numpy mono @22050 -> float32 @24000 (len * 160/147, floor)."""
    global _BANK
    if _BANK is None:
        _BANK = _sinc_bank()
    bank, offs = _BANK
    up, down = 160, 147
    n_out = len(x) * up // down
    m = np.arange((n_out + up - 1) // up)
    pad = 40
    xp = np.concatenate([np.zeros(pad, np.float32), x.astype(np.float32), np.zeros(200, np.float32)])
    out = np.zeros((len(m), up), np.float32)
    taps = bank.shape[1]
    for r in range(up):
        base = down * m + offs[r] + pad
        idx = base[:, None] + np.arange(taps)[None, :]
        out[:, r] = (xp[idx] * bank[r][None, :].astype(np.float32)).sum(1)
    return out.reshape(-1)[:n_out]


def speech_bounds(pcm24, thresh=0.004):
    """First and last sample of speech (20 ms RMS above thresh x full scale) of a clean clip."""
    x = pcm24.astype(np.float32) / 32768.0 if pcm24.dtype == np.int16 else pcm24
    hop = 480
    n = len(x) // hop
    if n == 0:
        return 0, len(x)
    e = np.sqrt((x[: n * hop].reshape(n, hop) ** 2).mean(1))
    on = np.nonzero(e > thresh)[0]
    if len(on) == 0:
        return 0, len(x)
    return int(on[0] * hop), int((on[-1] + 1) * hop)


def synth_pool(corpus_rows, n_utts, split, bundle, seed, workers=8):
    """Synthesize n_utts random sentences of corpus_rows with random voices of `split`.
    Returns a list of dicts: pcm (int16 @24 kHz), words, starts (samples @24 kHz), speech
    (first, last speech sample), voice."""
    rng = random.Random(seed)
    jobs = []
    for _ in range(n_utts):
        spoken, words = rng.choice(corpus_rows)
        v, rate, pitch, prange = random_voice(rng, split)
        jobs.append((v, rate, pitch, prange, spoken, words))
    prepare_bundle(bundle)
    shards = [jobs[i::workers] for i in range(workers)]
    results = [None] * workers

    def run(i):
        es = Espeak(bundle)
        results[i] = es.synth_many([j[:5] for j in shards[i]])
    ths = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    pool = []
    for i in range(workers):
        for job, r in zip(shards[i], results[i]):
            if r is None:
                continue
            pcm, ev = r
            al = align_words(job[4], job[5], ev, len(pcm))
            if al is None or len(pcm) < 2000:
                continue
            pool.append({"pcm22": pcm, "words": job[5], "starts22": al[0], "exact": al[1],
                         "voice": job[0], "rate": job[1]})
    return pool


def finish_pool(pool, resample=resample_22k_to_24k):
    """Resample each utterance to 24 kHz int16 and compute word starts and speech bounds."""
    for u in pool:
        x = u.pop("pcm22").astype(np.float32) / 32768.0
        y = resample(x)
        u["pcm"] = np.clip(np.round(y * 32767.0), -32768, 32767).astype(np.int16)
        u["starts"] = [int(round(s * SR / ESPEAK_SR)) for s in u.pop("starts22")]
        u["speech"] = speech_bounds(u["pcm"])
    return pool


_ROWS = {}


def build_espeak_chunk(corpus, bundle, n_utts, seed):
    """One chunk of fresh espeak-ng utterances for a worker process (train.py --refresh):
    n_utts random training sentences with random training voices, one synthesizer process,
    resampled to 24 kHz (numpy). Returns (pool dicts, message or '')."""
    try:
        if corpus not in _ROWS:
            _ROWS[corpus] = load_corpus(corpus, "train")
        return finish_pool(synth_pool(_ROWS[corpus], n_utts, "train", bundle, seed, workers=1)), ""
    except Exception as e:  # reported by the caller; training goes on without this chunk
        return [], f"espeak: {e!r}"


if __name__ == "__main__":
    bundle, corpus = sys.argv[1], sys.argv[2]
    rows = load_corpus(corpus, "train")
    import time
    t = time.time()
    pool = finish_pool(synth_pool(rows, 200, "train", bundle, 0, workers=2))
    dur = sum(len(u["pcm"]) for u in pool) / SR
    print(len(pool), "utts", dur, "s audio", time.time() - t, "s")
