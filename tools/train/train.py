#!/usr/bin/env python3
"""Train kstt-demo-en (reduced Mimi encoder + STT LM with VAD heads) on espeak-ng speech.

Time-budgeted and resumable: every call trains for --budget-s seconds of wall time and writes
a checkpoint (fp32 weights and codebooks, safetensors shards < 16 MB) to --out; --resume DIR
continues from such a checkpoint. The learning-rate schedule and the switch from continuous
latents (phase A) to quantized codes (phase B: k-means init of the RVQ, then EMA codebooks and
straight-through gradients) follow the cumulative training time over --total-s.

Data: a fresh pool of sentences is synthesized at start (datagen.py, espeak bundle), then every
batch composes 16 s clips from it: random leading silence, sentences separated by pauses of
varied length (35% 0.15-1.2 s, 65% 1.2-5 s), gain and noise augmentation, and digital-zero tails
(the CLI pads files with zeros). Text stream as Kyutai's DSM aligns it: a word's first token at
step round(start/80 ms) + delay, its other tokens after it, EPAD on the step before, PAD
elsewhere. VAD heads h (pause >= 0.5, 1, 2, 3 s): at step s (audio seen up to s*80 ms), class 0
if that instant lies in a pause of at least the horizon (the final pause counts as endless),
class 1 inside speech (sentence), class 2 in a shorter pause.
"""
import argparse
import json
import math
import os
import queue
import random
import sys
import threading
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datagen  # noqa: E402
import datagen_voices  # noqa: E402
import st_io  # noqa: E402
from model import MimiEncoder, STTLM, PAD, EPAD  # noqa: E402
from train_cfg import default_configs  # noqa: E402

# torch >= 2.1 has torch.OutOfMemoryError; Debian 12's 1.13 (the CPU smoke check) only the CUDA one
OOM_ERRORS = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)

FRAME = 1920
SR = 24000
HORIZONS = (0.5, 1.0, 2.0, 3.0)


# ----------------------------------------------------------------------------- data
class Resampler:
    """datagen's polyphase 22050 -> 24000 filter bank as one strided conv (torch)."""

    def __init__(self, device):
        bank, offs = datagen._sinc_bank()
        up, taps = bank.shape
        lo = offs.min()
        width = int(offs.max() - lo) + taps
        w = np.zeros((up, 1, width), np.float32)
        for r in range(up):
            o = int(offs[r] - lo)
            w[r, 0, o:o + taps] = bank[r]
        self.w = torch.tensor(w, device=device)
        self.lo = int(lo)
        self.device = device

    def __call__(self, x):
        up, down = 160, 147
        n_out = len(x) * up // down
        m = (n_out + up - 1) // up
        pad_l = 40
        t = torch.tensor(x, device=self.device, dtype=torch.float32)
        need = down * (m - 1) + pad_l + self.lo + self.w.shape[2]
        t = F.pad(t, (pad_l, max(0, need - len(x) - pad_l)))
        t = t[pad_l + self.lo:]
        y = F.conv1d(t[None, None], self.w, stride=down)[0]   # [up, m']
        y = y[:, :m].t().reshape(-1)[:n_out]
        return y.cpu().numpy()


def tokenize_pool(pool, sp, cache):
    for u in pool:
        ids = []
        for w in u["words"]:
            if w not in cache:
                cache[w] = sp.encode(w)
            ids.append(cache[w])
        u["ids"] = ids


def start_voice_pools(args, rows, seed):
    """flite and festival pools, built by worker processes (spawn: no CUDA, no GIL shared with
    the batch composers) in chunks that the caller adds to the pools as they arrive. Called
    before CUDA is used. Returns (executor, [(engine, future)])."""
    import concurrent.futures as cf
    import multiprocessing as mp
    todo = []
    for engine, n, bundle in (("flite", args.n_flite, args.flite),
                              ("festival", args.n_festival, args.festival)):
        if n <= 0 or not bundle:
            continue
        try:   # unpack the bundle once, before the workers start
            if engine == "flite":
                datagen_voices.flite_exe(bundle)
            else:
                datagen_voices.festival_cmd(bundle)
        except Exception as e:
            print(f"pool {engine}: cannot prepare: {e!r}", flush=True)
            continue
        for i, jobs in enumerate(datagen_voices.pool_chunks(rows, n, "train", engine,
                                                            seed + 17 + len(todo))):
            todo.append((engine, bundle, jobs, seed * 1000 + i, args.voice_speed_p))
    if not todo and args.refresh_inflight <= 0:
        return None, []
    # interleave the engines so that both appear early
    todo.sort(key=lambda t: t[3] % 1000)
    ex = cf.ProcessPoolExecutor(max_workers=args.voice_workers, mp_context=mp.get_context("spawn"))
    return ex, [(t[0], ex.submit(datagen_voices.build_chunk, *t)) for t in todo]


def chunk_utterances(fut, what, sp, cache):
    """The tokenized utterances of a finished pool-chunk future (a worker's (utterances,
    message)); a failed chunk is reported under `what` and gives none."""
    try:
        p, msg = fut.result()
    except Exception as ex:
        p, msg = [], repr(ex)
    if msg:
        print(f"{what}: chunk failed: {msg}", flush=True)
    tokenize_pool(p, sp, cache)
    return p


def build_pool(args, sp, seed, device, voice_futs, wait_s=90.0, min_ready=300):
    """Sources of utterances: {'espeak': [...], 'flite': [...], 'festival': [...]}. espeak-ng is
    synthesized first; flite and festival chunks (worker processes) are added by a background
    thread as they arrive; returns once each of them has min_ready utterances (or wait_s)."""
    rows = datagen.load_corpus(args.corpus, "train")
    t0 = time.time()
    pool = datagen.synth_pool(rows, args.pool, "train", args.espeak, seed, workers=args.workers)
    t1 = time.time()
    rs = Resampler(device)
    pool = datagen.finish_pool(pool, resample=rs)
    cache = {}
    tokenize_pool(pool, sp, cache)
    hours = sum(len(u["pcm"]) for u in pool) / SR / 3600
    print(f"pool espeak: {len(pool)} utterances, {hours:.2f} h, synth {t1 - t0:.1f}s, "
          f"resample {time.time() - t1:.1f}s", flush=True)
    pools = {"espeak": pool}
    engines = sorted(set(e for e, _ in voice_futs))
    pending = {e: sum(1 for x, _ in voice_futs if x == e) for e in engines}

    def collect():
        import concurrent.futures as cf
        t = time.time()
        eng_of = {f: e for e, f in voice_futs}
        for f in cf.as_completed(eng_of):
            e = eng_of[f]
            pending[e] -= 1
            p = chunk_utterances(f, f"pool {e}", sp, cache)
            if p:
                pools.setdefault(e, []).extend(p)   # list.extend: atomic for the readers
            if pending[e] == 0:
                q = pools.get(e, [])
                h = sum(len(u["pcm"]) for u in q) / SR / 3600
                print(f"pool {e}: {len(q)} utterances, {h:.2f} h, {time.time() - t:.1f}s, "
                      f"voices {sorted(set(u['voice'] for u in q))}", flush=True)
    collector = None
    if voice_futs:
        collector = threading.Thread(target=collect, daemon=True)
        collector.start()
    t = time.time()
    while time.time() - t < wait_s and any(
            len(pools.get(e, [])) < min_ready and pending[e] > 0 for e in engines):
        time.sleep(0.5)
    print("pools at start: " + ", ".join(f"{k} {len(v)}" for k, v in pools.items()) +
          f" (waited {time.time() - t:.1f}s)", flush=True)
    return pools, cache, collector


def refresh_pools(args, ex, pools, sp, cache, stop, counts, seed, after):
    """Keeps replacing pool entries by fresh utterances (new training sentences and voices)
    while training runs: --refresh-inflight chunks at a time in the worker processes (espeak-ng
    chunks of --refresh-chunk, flite/festival chunks of 100, in the --refresh-mix ratio), each
    replacing the entries of its pool in a random order (every original entry once before any
    fresh one). Starts when the thread `after` (the first flite/festival pools) is done."""
    import concurrent.futures as cf
    if after is not None:
        after.join()
    rows = datagen.load_corpus(args.corpus, "train")
    mix = []
    for e, w in parse_weights(args.refresh_mix).items():
        if e == "espeak" or pools.get(e):
            mix += [e] * int(w)
    if not mix:
        return
    perms, cursor, inflight = {}, {}, {}
    n_sub = [0]

    def submit():
        n_sub[0] += 1
        e = mix[n_sub[0] % len(mix)]
        s = seed * 100000 + n_sub[0]
        if e == "espeak":
            f = ex.submit(datagen.build_espeak_chunk, args.corpus, args.espeak,
                          args.refresh_chunk, s)
        else:
            jobs = datagen_voices.pool_chunks(rows, 100, "train", e, s)[0]
            f = ex.submit(datagen_voices.build_chunk, e, args.flite if e == "flite"
                          else args.festival, jobs, s, args.voice_speed_p)
        inflight[f] = e
    try:
        for _ in range(args.refresh_inflight):
            submit()
        print(f"refresh: started ({args.refresh_inflight} chunks in flight, mix {mix})",
              flush=True)
        while inflight and not stop.is_set():
            done, _ = cf.wait(list(inflight), timeout=1.0, return_when=cf.FIRST_COMPLETED)
            for f in done:
                e = inflight.pop(f)
                p = chunk_utterances(f, f"refresh {e}", sp, cache)
                q = pools[e]
                if e not in perms:
                    perms[e] = list(range(len(q)))
                    random.Random(seed).shuffle(perms[e])
                    cursor[e] = 0
                for u in p:
                    q[perms[e][cursor[e] % len(perms[e])]] = u   # one atomic item store
                    cursor[e] += 1
                counts[e] = counts.get(e, 0) + len(p)
                if not stop.is_set():
                    submit()
    except Exception as ex_:   # training goes on with the pools as they are
        print(f"refresh: stopped: {ex_!r}", flush=True)


def parse_weights(t):
    return {k: float(v) for k, v in (x.split("=") for x in t.split(","))}


def draw_gap(rng, long_gaps):
    r = rng.random()
    if not long_gaps:
        return rng.uniform(0.15, 1.2) if r < 0.35 else rng.uniform(1.2, 5.0)
    if r < 0.40:
        return rng.uniform(0.15, 1.2)
    if r < 0.75:
        return rng.uniform(1.2, 5.0)
    if r < 0.92:
        return rng.uniform(5.0, 15.0)
    return rng.uniform(15.0, 40.0)


SOURCE_WEIGHTS = {"espeak": 0.45, "flite": 0.35, "festival": 0.20}


def pick(pools, rng, weights=SOURCE_WEIGHTS):
    names = [k for k in weights if pools.get(k)]
    w = [weights[k] for k in names]
    src = rng.choices(names, w)[0]
    p = pools[src]
    return p[rng.randrange(len(p))]


def speed(u, rng, p):
    """Speed/pitch perturbation (as a tape played faster or slower): factor 0.88-1.12 with
    probability p, linear interpolation. Returns pcm, starts, speech."""
    if rng.random() >= p:
        return u["pcm"], u["starts"], u["speech"]
    f = rng.uniform(0.88, 1.12)
    n = len(u["pcm"])
    m = int(n / f)
    y = np.interp(np.arange(m, dtype=np.float64) * f, np.arange(n), u["pcm"].astype(np.float32))
    return (y.astype(np.int16), [int(st / f) for st in u["starts"]],
            (int(u["speech"][0] / f), int(u["speech"][1] / f)))


def compose(pools, rng, T, delay, long_gaps=False, speed_p=0.0, weights=SOURCE_WEIGHTS):
    """One training sequence of T steps. Returns pcm int16 [T*1920], gain, zero_from (sample
    index from which it is digital zeros, or len), text tokens [T], vad classes [T, 4].
    long_gaps: pauses of 0.15-40 s between sentences and sometimes 5-40 s of leading silence."""
    L = T * FRAME
    pcm = np.zeros(L, np.int16)
    limit = L - int(1.1 * SR)
    r = rng.random()
    if long_gaps and r < 0.1:
        pos = int(rng.uniform(5.0, 40.0) * SR)
    else:
        pos = int(rng.uniform(0.0, 1.2) * SR) if r < 0.75 else 0
    segs, words = [], []
    tries = 0
    while tries < 6:
        u = pick(pools, rng, weights)
        x, ust, (s0, s1) = speed(u, rng, speed_p)
        n = len(x)
        start = pos - s0
        if start < 0:
            start = 0
        if start + n > limit:
            tries += 1
            continue
        g = 10 ** (rng.uniform(-6 if long_gaps else -3, 3) / 20)
        pcm[start:start + n] = np.clip(x.astype(np.float32) * g, -32768, 32767)
        segs.append((start + s0, start + s1))
        for st, ids in zip(ust, u["ids"]):
            words.append((start + st, ids))
        pos = start + s1 + int(draw_gap(rng, long_gaps) * SR)
        if pos >= limit:
            break
    # text stream
    tok = np.full(T, PAD, np.int64)
    prev_end = -10
    for st, ids in words:
        f = int(round(st / FRAME))
        p = max(f + delay, prev_end + 2)
        if p + len(ids) > T:
            break
        tok[p - 1] = EPAD
        tok[p:p + len(ids)] = ids
        prev_end = p + len(ids) - 1
    # VAD classes
    vad = np.ones((T, 4), np.int64)
    if segs:
        taus = np.arange(T)[:, None] * FRAME
        a = np.array([x[0] for x in segs])[None]
        b = np.array([x[1] for x in segs])[None]
        inside = ((taus >= a) & (taus < b)).any(1)
        prev_end = np.where(b <= taus, b, 0).max(1)
        nxt = np.where(a > taus, a, 10 ** 12).min(1)
        length = np.where(nxt >= 10 ** 12, 1e9, (nxt - prev_end) / SR)
        for h, H in enumerate(HORIZONS):
            vad[:, h] = np.where(inside, 1, np.where(length >= H, 0, 2))
    else:
        vad[:] = 0
    zero_from = L
    if segs and rng.random() < 0.5:
        zero_from = min(L, segs[-1][1] + int(rng.uniform(0.2, 1.5) * SR))
    gain = 10 ** (rng.uniform(-22, 2) / 20)
    return pcm, gain, zero_from, tok, vad


def batches(pools, seed, delay, n, T, long_gaps, speed_p, weights, threads):
    q = queue.Queue(maxsize=6)

    def worker(wseed):
        rng = random.Random(wseed)
        while True:
            items = [compose(pools, rng, T, delay, long_gaps, speed_p, weights)
                     for _ in range(n)]
            pcm = np.stack([i[0] for i in items])
            gain = np.array([i[1] for i in items], np.float32)
            zf = np.array([i[2] for i in items], np.int64)
            tok = np.stack([i[3] for i in items])
            vad = np.stack([i[4] for i in items])
            q.put((pcm, gain, zf, tok, vad))
    for i in range(threads):
        threading.Thread(target=worker, args=(seed * 100 + i,), daemon=True).start()
    while True:
        yield q.get()


def reverb(x, p, device):
    """Synthetic room reverberation on a random share p of the rows: impulse response = direct
    path + exponentially decaying noise (RT60 0.15-0.7 s, 0.4 s long, -12..-3 dB wet), FFT
    convolution, RMS kept."""
    B, L = x.shape
    sel = torch.nonzero(torch.rand(B, device=device) < p).flatten()
    if len(sel) == 0:
        return x
    n_ir = int(0.4 * SR)
    t = torch.arange(n_ir, device=device, dtype=torch.float32) / SR
    rt60 = torch.empty(len(sel), 1, device=device).uniform_(0.15, 0.7)
    wet = 10 ** (torch.empty(len(sel), 1, device=device).uniform_(-12, -3) / 20)
    tail = torch.randn(len(sel), n_ir, device=device) * torch.exp(-6.9 * t[None] / rt60)
    tail = tail / tail.norm(dim=1, keepdim=True) * wet
    ir = tail
    ir[:, 0] = 1.0
    n = 1 << int(math.ceil(math.log2(L + n_ir)))
    xs = x[sel]
    y = torch.fft.irfft(torch.fft.rfft(xs, n) * torch.fft.rfft(ir, n), n)[:, :L]
    y = y * (xs.pow(2).mean(1, keepdim=True).sqrt() / y.pow(2).mean(1, keepdim=True).sqrt().clamp(min=1e-8))
    x = x.clone()
    x[sel] = y
    return x


def augment(pcm, gain, zero_from, device, reverb_p=0.0):
    x = torch.from_numpy(pcm).to(device, non_blocking=True).float() / 32768.0
    B, L = x.shape
    if reverb_p > 0:
        x = reverb(x, reverb_p, device)
    x = x * torch.from_numpy(gain).to(device)[:, None]
    lvl = 10 ** (torch.empty(B, 1, device=device).uniform_(-85, -42) / 20)
    white = torch.randn(B, L, device=device)
    mix = torch.rand(B, 1, device=device)
    smooth = F.avg_pool1d(white[:, None], 9, 1, 4)[0] * 3.0
    noise = lvl * (mix * white + (1 - mix) * smooth)
    x = x + noise
    idx = torch.arange(L, device=device)[None]
    x = torch.where(idx >= torch.from_numpy(zero_from).to(device)[:, None], torch.zeros_like(x), x)
    return x.clamp(-1, 1)


# ----------------------------------------------------------------------------- checkpoint
def save_ckpt(mimi, lm, state, out):
    os.makedirs(out, exist_ok=True)
    sd = {}
    for k, v in mimi.state_dict().items():
        sd["mimi." + k] = v.detach().float().cpu().numpy()
    for k, v in lm.state_dict().items():
        sd["lm." + k] = v.detach().float().cpu().numpy()
    shards, cur, size = [], {}, 0
    for k in sorted(sd):
        nb = sd[k].nbytes
        if size + nb > 14 * 2 ** 20 and cur:
            shards.append(cur)
            cur, size = {}, 0
        cur[k] = sd[k]
        size += nb
    shards.append(cur)
    for f in os.listdir(out):
        if f.startswith("ckpt-") and f.endswith(".safetensors"):
            os.remove(os.path.join(out, f))
    for i, s in enumerate(shards):
        st_io.save(s, os.path.join(out, f"ckpt-{i}.safetensors"))
    with open(os.path.join(out, "state.json"), "w") as f:
        json.dump(state, f, indent=1)


def load_ckpt(mimi, lm, d):
    sd = {}
    for f in sorted(os.listdir(d)):
        if f.startswith("ckpt-") and f.endswith(".safetensors"):
            sd.update(st_io.load(os.path.join(d, f))[0])
    ms = {k[5:]: torch.tensor(np.array(v)) for k, v in sd.items() if k.startswith("mimi.")}
    ls = {k[3:]: torch.tensor(np.array(v)) for k, v in sd.items() if k.startswith("lm.")}
    mimi.load_state_dict(ms)
    lm.load_state_dict(ls)
    return json.load(open(os.path.join(d, "state.json")))


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--espeak", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--resume", default=None)
    ap.add_argument("--budget-s", type=float, default=480)
    ap.add_argument("--total-s", type=float, default=1500)
    ap.add_argument("--phase-b-at", type=float, default=0.45)
    ap.add_argument("--restart-at", type=float, default=0.0,
                    help="cumulative train seconds where a fresh cosine segment starts "
                         "(fine-tuning: --resume with --restart-at = its train_s)")
    ap.add_argument("--pool", type=int, default=40000)
    ap.add_argument("--workers", type=int, default=14)
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--flite", default="", help="flite bundle folder (flite_words[.xz])")
    ap.add_argument("--festival", default="", help="festival bundle folder (festival.tar.xz)")
    ap.add_argument("--n-flite", type=int, default=0)
    ap.add_argument("--n-festival", type=int, default=0)
    ap.add_argument("--voice-workers", type=int, default=12)
    ap.add_argument("--compose-threads", type=int, default=3)
    ap.add_argument("--long-gaps", action="store_true",
                    help="pauses of 0.15-40 s between sentences, long leading silences")
    ap.add_argument("--speed-p", type=float, default=0.0)
    ap.add_argument("--reverb-p", type=float, default=0.0)
    ap.add_argument("--warmup", type=int, default=0, help="warm-up steps (0: 300 from scratch, "
                    "60 when resuming)")
    ap.add_argument("--short-batch", type=int, default=0,
                    help="also, every step, a batch of this many short clips (--short-steps "
                         "steps, the first recipe's pauses and gains) beside the long batch")
    ap.add_argument("--short-steps", type=int, default=200)
    ap.add_argument("--short-weight", type=float, default=1.0)
    ap.add_argument("--weights", default="espeak=0.45,flite=0.35,festival=0.2",
                    help="source shares of the main (--batch x --steps) sequences")
    ap.add_argument("--short-weights", default="espeak=0.6,flite=0.25,festival=0.15")
    ap.add_argument("--voice-speed-p", type=float, default=0.5,
                    help="share of flite/festival utterances played 0.88-1.12x faster "
                         "(speed and pitch), applied when the pool is built")
    ap.add_argument("--lm-other-lr-mult", type=float, default=1.0,
                    help="LR factor of the LM weights outside its attention (--lr is the "
                         "attention's)")
    ap.add_argument("--mimi-lr-mult", type=float, default=1.0,
                    help="LR factor of the Mimi encoder; 0: frozen (no gradients, codebooks "
                         "not updated)")
    ap.add_argument("--refresh-inflight", type=int, default=0,
                    help="keep this many fresh-utterance chunks in the worker processes while "
                         "training (0: pools built once per call)")
    ap.add_argument("--refresh-chunk", type=int, default=300)
    ap.add_argument("--refresh-mix", default="espeak=2,flite=1,festival=1")
    args = ap.parse_args()
    t_start = time.time()
    calls = 0
    if args.resume:
        calls = json.load(open(os.path.join(args.resume, "state.json"))).get("calls", 0)
    # voice pools first: worker processes started before CUDA is initialised
    voice_ex, voice_futs = start_voice_pools(
        args, datagen.load_corpus(args.corpus, "train"), args.seed * 1000 + calls + 1)
    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    import sentencepiece
    sp = sentencepiece.SentencePieceProcessor(model_file=args.tokenizer)
    mcfg, lcfg = default_configs(sp.get_piece_size())
    delay = 6
    mimi = MimiEncoder(mcfg).to(dev)
    lm = STTLM(lcfg, mcfg["quantizer"]["dimension"]).to(dev)
    state = {"train_s": 0.0, "step": 0, "phase": "A", "history": [], "calls": 0}
    if args.resume:
        state = load_ckpt(mimi, lm, args.resume)
        mimi.to(dev)
        lm.to(dev)
        print("resumed", {k: state[k] for k in ("train_s", "step", "phase")}, flush=True)
    state["calls"] += 1
    n_m = sum(p.numel() for p in mimi.parameters())
    n_l = sum(p.numel() for p in lm.parameters())
    print(f"params mimi {n_m / 1e6:.2f}M lm {n_l / 1e6:.2f}M", flush=True)

    pool, tok_cache, collector = build_pool(args, sp, args.seed * 1000 + state["calls"], dev,
                                            voice_futs)
    refresh_stop, refresh_counts = threading.Event(), {}
    if args.refresh_inflight > 0 and voice_ex is not None:
        threading.Thread(target=refresh_pools, daemon=True,
                         args=(args, voice_ex, pool, sp, tok_cache, refresh_stop, refresh_counts,
                               args.seed * 1000 + state["calls"], collector)).start()
    dseed = args.seed * 7 + state["calls"]
    data = batches(pool, dseed, delay, args.batch, args.steps, args.long_gaps, args.speed_p,
                   parse_weights(args.weights), args.compose_threads)
    short = None
    if args.short_batch > 0:
        short = batches(pool, dseed + 5000, delay, args.short_batch, args.short_steps, False,
                        0.0, parse_weights(args.short_weights), max(1, args.compose_threads // 2))
    frozen_mimi = args.mimi_lr_mult <= 0
    if frozen_mimi:
        for p in mimi.parameters():
            p.requires_grad_(False)
    attn = [p for n, p in lm.named_parameters() if ".self_attn." in n]
    other = [p for n, p in lm.named_parameters() if ".self_attn." not in n]
    groups = [(attn, 1.0), (other, args.lm_other_lr_mult)]   # (params, LR factor)
    if not frozen_mimi:
        groups.append((list(mimi.parameters()), args.mimi_lr_mult))
    params = [p for g, _ in groups for p in g]
    pgroups = []
    for g, mult in groups:
        pgroups.append({"params": [p for p in g if p.dim() >= 2], "weight_decay": 0.02,
                        "mult": mult})
        pgroups.append({"params": [p for p in g if p.dim() < 2], "weight_decay": 0.0,
                        "mult": mult})
    pgroups = [g for g in pgroups if g["params"]]
    print(f"optimizer: LM attention {sum(p.numel() for p in attn) / 1e6:.2f}M x1, other LM "
          f"{sum(p.numel() for p in other) / 1e6:.2f}M x{args.lm_other_lr_mult}, Mimi "
          + ("frozen" if frozen_mimi else f"x{args.mimi_lr_mult}"), flush=True)
    opt = torch.optim.AdamW(pgroups, lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    warm_steps = args.warmup or (300 if state["step"] == 0 else 60)
    call_step = 0
    t_train0 = time.time()
    base_train_s = state["train_s"]
    ema = {}
    amp = dict(device_type=dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda")

    def forward(batch, n_keep, reverb_p):
        """Loss terms and accuracy of one batch (teacher-forced)."""
        pcm, gain, zf, tok, vad = (a[:n_keep] for a in batch)
        x = augment(pcm, gain, zf, dev, reverb_p)
        tok = torch.from_numpy(tok).to(dev)
        vad = torch.from_numpy(vad).to(dev)
        B, T = tok.shape
        with torch.autocast(**amp):
            with torch.set_grad_enabled(not frozen_mimi):
                lat = mimi.latent(x[:, None])
                z1, zr = mimi.projections(lat)
            commit = torch.zeros((), device=dev)
            if state["phase"] == "B":
                with torch.set_grad_enabled(not frozen_mimi):
                    codes, q1, qr = mimi.quantize(z1.float(), zr.float(),
                                                  update=not frozen_mimi)
                commit = F.mse_loss(z1.float(), q1) + F.mse_loss(zr.float(), qr)
                a1 = z1 + (q1 - z1.float()).detach().to(z1.dtype)
                ar = zr + (qr - zr.float()).detach().to(zr.dtype)
            else:
                a1, ar = z1, zr
            avec = lm.audio_a(a1) + lm.audio_b(ar)                       # [B, T, d]
            avec = torch.cat([lm.audio_start.to(avec.dtype).expand(B, 1, -1), avec[:, :-1]], 1)
            start = torch.full((B, 1), lcfg["text_card"], dtype=torch.long, device=dev)
            text_in = torch.cat([start, tok[:, :-1]], 1)
            logits, extra = lm(text_in, avec)
            l_text = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), tok.reshape(-1))
            l_vad = F.cross_entropy(extra.float().reshape(-1, extra.shape[-1]), vad.reshape(-1))
            loss = l_text + 0.5 * l_vad + 0.1 * commit
        with torch.no_grad():
            word = tok != PAD
            acc = ((logits.argmax(-1) == tok) & word).sum().float() / word.sum().clamp(min=1)
        return loss, l_text, l_vad, commit, acc

    n_long, n_short = args.batch, args.short_batch
    try:
        while True:
            elapsed = time.time() - t_train0
            if elapsed > args.budget_s:
                break
            train_s = base_train_s + elapsed
            frac = min(1.0, train_s / args.total_s)
            lr_frac = min(1.0, max(0.0, (train_s - args.restart_at) / (args.total_s - args.restart_at)))
            if state["phase"] == "A" and frac >= args.phase_b_at:
                # k-means init of the RVQ on current latents, then quantized training
                with torch.no_grad(), torch.autocast(**amp):
                    z1s, zrs = [], []
                    for _ in range(6):
                        pcm, gain, zf, tok, vad = next(data)
                        x = augment(pcm, gain, zf, dev)
                        z1, zr = mimi.projections(mimi.latent(x[:, None]))
                        z1s.append(z1.float())
                        zrs.append(zr.float())
                mimi.kmeans_init(torch.cat(z1s).reshape(-1, z1.shape[-1]),
                                 torch.cat(zrs).reshape(-1, zr.shape[-1]))
                state["phase"] = "B"
                print(f"phase B at step {state['step']} ({train_s:.0f}s)", flush=True)
            lr = args.lr * min(1.0, (call_step + 1) / warm_steps) * \
                (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * lr_frac)))
            for g in opt.param_groups:
                g["lr"] = lr * g["mult"]
            b_long = next(data)
            b_short = next(short) if short is not None else None
            recs = {}
            try:
                opt.zero_grad(set_to_none=True)
                loss, l_text, l_vad, commit, acc = forward(b_long, n_long, args.reverb_p)
                loss.backward()
                recs.update(loss=loss.item(), text=l_text.item(), vad=l_vad.item(),
                            commit=commit.item(), acc_nonpad=acc.item())
                del loss
                if b_short is not None:
                    loss, l_text, l_vad, commit, acc = forward(b_short, n_short, args.reverb_p)
                    (args.short_weight * loss).backward()
                    recs.update(s_text=l_text.item(), s_vad=l_vad.item(), s_acc=acc.item())
                    del loss
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
            except OOM_ERRORS:
                if n_long <= 1:
                    raise
                opt.zero_grad(set_to_none=True)
                torch.cuda.empty_cache()
                n_long = max(1, n_long // 2)
                n_short = max(1, n_short // 2)
                print(f"out of memory: batches -> {n_long} long, {n_short} short", flush=True)
                continue
            call_step += 1
            state["step"] += 1
            for k, v in recs.items():
                ema[k] = v if k not in ema else 0.95 * ema[k] + 0.05 * v
            if state["step"] % args.log_every == 0:
                rec = {"step": state["step"], "train_s": round(base_train_s + time.time() - t_train0),
                       "lr": lr, "phase": state["phase"], **{k: round(v, 4) for k, v in ema.items()},
                       "pools": {k: len(v) for k, v in pool.items()}}
                if refresh_counts:
                    rec["fresh"] = dict(refresh_counts)
                if dev.type == "cuda":
                    rec["mem_gb"] = round(torch.cuda.max_memory_allocated() / 2 ** 30, 1)
                state["history"].append(rec)
                print(json.dumps(rec), flush=True)
    except Exception:   # keep what was learnt: the checkpoint is still written
        if call_step == 0:   # nothing learnt yet: a bug, fail at once
            raise
        import traceback
        traceback.print_exc()
        print("training stopped by the error above; saving", flush=True)
    refresh_stop.set()
    if refresh_counts:
        print(f"refresh: fresh utterances this call {refresh_counts}", flush=True)
    state["train_s"] = base_train_s + (time.time() - t_train0)
    state["configs"] = {"mimi": mcfg, "lm": lcfg, "delay": delay}
    save_ckpt(mimi, lm, state, args.out)
    if voice_ex is not None:
        voice_ex.shutdown(wait=False, cancel_futures=True)
    print(f"saved at step {state['step']}, train_s {state['train_s']:.0f}, "
          f"wall {time.time() - t_start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
