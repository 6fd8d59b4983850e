#!/usr/bin/env python3
"""Speech from Debian's other English synthesizers, with word starts, for kstt-demo-en.

* flite 2.2 voices kal (8 kHz diphone), kal16, awb, rms, slt (clustergen), through
  `flite_words` (flite_words.c, voices linked in statically): the start of each input word is the
  start of the first segment of the first word of flite's Token item for it.
* festival 2.5 voices kal_diphone, ked_diphone (festvox-kdlpc16k) and cmu_us_slt_arctic_hts,
  through a Scheme batch file: the same feature path on festival's Token relation
  (`daughter1.R:SylStructure.daughter1.daughter1.R:Segment.p.end`).

Both give one start per space-separated word of the spoken text (punctuation stays attached to
its word), so words map one to one; an utterance whose count or order does not match is
dropped. Rate: duration stretch 0.8-1.25; pitch: flite's int_f0_target_mean (half of the
utterances). Audio is resampled to 24 kHz (polyphase windowed sinc, any rational ratio).

Held out for evaluation (never in training): flite `rms`, festival `ked_diphone`.
"""
import lzma
import math
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import threading
import wave

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datagen  # noqa: E402

SR = 24000
HERE = os.path.dirname(os.path.abspath(__file__))
FLITE_TRAIN = ["kal", "kal16", "awb", "slt"]
FLITE_TEST = ["rms"]
FEST_TRAIN = ["kal_diphone", "cmu_us_slt_arctic_hts"]
FEST_TEST = ["ked_diphone"]
FEMALE = {"slt", "cmu_us_slt_arctic_hts"}


# ----------------------------------------------------------------------------- resampling
_BANKS = {}


def _bank(up, down, half=16):
    key = (up, down)
    if key not in _BANKS:
        ratio = min(1.0, up / down)
        fc = 0.485 * ratio                       # cycles per input sample
        h = int(math.ceil(half / ratio))
        taps = 2 * h + 2
        bank = np.zeros((up, taps), np.float64)
        offs = np.zeros(up, np.int64)
        for r in range(up):
            t = r * down / up
            o = int(math.floor(t)) - h
            offs[r] = o
            j = np.arange(taps) + o
            d = t - j
            w = 0.5 + 0.5 * np.cos(np.pi * np.clip(d / (h + 1), -1, 1))
            bank[r] = 2 * fc * np.sinc(2 * fc * d) * w
        _BANKS[key] = (bank.astype(np.float32), offs)
    return _BANKS[key]


def resample(x, sr_in, sr_out=SR):
    """float32 mono numpy at sr_in -> sr_out (len * sr_out / sr_in, floor)."""
    g = math.gcd(sr_in, sr_out)
    up, down = sr_out // g, sr_in // g
    if up == down:
        return x.astype(np.float32)
    bank, offs = _bank(up, down)
    n_out = len(x) * up // down
    m = (n_out + up - 1) // up
    taps = bank.shape[1]
    pad = -int(offs.min()) + 2
    xp = np.concatenate([np.zeros(pad, np.float32), x.astype(np.float32),
                         np.zeros(down * m + taps + 8 - len(x), np.float32)])
    out = np.zeros((m, up), np.float32)
    base = np.arange(m) * down + pad
    for r in range(up):
        idx = base[:, None] + offs[r] + np.arange(taps)[None]
        out[:, r] = xp[idx] @ bank[r]
    return out.reshape(-1)[:n_out]


# ----------------------------------------------------------------------------- engines
def flite_exe(bundle):
    """flite_words from the carried bundle (xz-compressed) or built against the system's
    libflite (Debian: flite1-dev)."""
    if bundle:
        exe = os.path.join(bundle, "flite_words")
        xz = exe + ".xz"
        if not os.path.exists(exe) and os.path.exists(xz):
            tmp = exe + ".tmp%d" % os.getpid()
            with lzma.open(xz) as f, open(tmp, "wb") as g:
                shutil.copyfileobj(f, g)
            os.chmod(tmp, 0o755)
            os.replace(tmp, exe)
        if os.path.exists(exe):
            os.chmod(exe, 0o755)
            return exe
    exe = "/tmp/kstt_flite_words"
    if not os.path.exists(exe):
        libs = ["-lflite_cmu_us_kal", "-lflite_cmu_us_kal16", "-lflite_cmu_us_awb",
                "-lflite_cmu_us_rms", "-lflite_cmu_us_slt", "-lflite_usenglish",
                "-lflite_cmulex", "-lflite"]
        subprocess.run(["cc", "-O2", "-o", exe, os.path.join(HERE, "flite_words.c"),
                        os.path.join(HERE, "alsa_stub.c"), "-Wl,-Bstatic"] + libs +
                       ["-Wl,-Bdynamic", "-lm"], check=True)
    return exe


def festival_cmd(bundle):
    """(argv prefix, env) for festival: from the carried tar.xz (unpacked once to /tmp) or the
    system's festival."""
    tar = os.path.join(bundle, "festival.tar.xz") if bundle else ""
    if tar and os.path.exists(tar):
        root = "/tmp/kstt_fest"
        if not os.path.exists(os.path.join(root, "fest", "festival")):
            with tarfile.open(tar) as t:
                t.extractall(root)
        d = os.path.join(root, "fest")
        # festival reads init.scm from its compiled-in library folder (/usr/share/festival)
        # whatever --libdir says; where that folder is missing (the GPU machine) point it at the
        # bundle's (without it festival prints "init.scm not found" and synthesizes nothing)
        sys_lib = "/usr/share/festival"
        if not os.path.exists(os.path.join(sys_lib, "init.scm")):
            try:
                if os.path.islink(sys_lib):
                    os.remove(sys_lib)
                elif os.path.isdir(sys_lib) and not os.listdir(sys_lib):
                    os.rmdir(sys_lib)
                os.symlink(os.path.join(d, "share"), sys_lib)
            except OSError as e:
                print(f"festival: cannot provide {sys_lib}: {e}", file=sys.stderr, flush=True)
        env = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": os.path.join(d, "lib"),
               "HOME": "/tmp"}
        return [os.path.join(d, "festival"), "--libdir", os.path.join(d, "share")], env
    return ["festival"], dict(os.environ)


def random_job(rng, rows, split, engine):
    spoken, words = rng.choice(rows)
    if engine == "flite":
        v = rng.choice(FLITE_TRAIN if split == "train" else FLITE_TEST)
    else:
        v = rng.choice(FEST_TRAIN if split == "train" else FEST_TEST)
    stretch = round(rng.uniform(0.8, 1.25), 3)
    f0 = 0
    if engine == "flite" and rng.random() < 0.5:
        f0 = int(rng.uniform(150, 240) if v in FEMALE else rng.uniform(80, 150))
    return v, stretch, f0, spoken, words


def _flite_worker(exe, jobs, out):
    p = subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def feed():
        try:
            for v, st, f0, spoken, _ in jobs:
                p.stdin.write(f"{v}\t{st}\t{f0}\t{spoken}\n".encode())
            p.stdin.close()
        except (BrokenPipeError, OSError):
            pass
    t = threading.Thread(target=feed)
    t.start()
    f = p.stdout
    for job in jobs:
        hdr = f.read(12)
        if len(hdr) < 12:
            break
        n, nw, sr = struct.unpack("<iii", hdr)
        w = np.frombuffer(f.read(12 * nw), np.int32).reshape(nw, 3)
        pcm = np.frombuffer(f.read(2 * n), np.int16)
        if len(pcm) < n:
            break
        out.append((job, pcm, sr, [int(x) for x in w[:, 2]]))
    t.join()
    p.wait()


def _scm_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


SCM_HEAD = """(define (kstt_say voice stretch text wav)
  (eval (list voice))
  (Parameter.set 'Duration_Stretch stretch)
  (set! utt (SynthText text))
  (utt.save.wave utt wav 'riff)
  (format t "WORDS %s" wav)
  (set! tok (utt.relation.first utt 'Token))
  (while tok
    (format t " %f" (item.feat tok "daughter1.R:SylStructure.daughter1.daughter1.R:Segment.p.end"))
    (set! tok (item.next tok)))
  (format t "\\n"))
"""


def _festival_worker(cmd, env, jobs, out):
    d = tempfile.mkdtemp(prefix="kstt_fest_")
    try:
        lines = [SCM_HEAD]
        for i, (v, st, f0, spoken, _) in enumerate(jobs):
            lines.append(f"(kstt_say 'voice_{v} {st} {_scm_str(spoken)} "
                         f"{_scm_str(os.path.join(d, f'{i}.wav'))})\n")
        scm = os.path.join(d, "jobs.scm")
        open(scm, "w").write("".join(lines))
        try:
            r = subprocess.run(cmd + ["-b", scm], env=env, capture_output=True, text=True,
                               timeout=900)
            text = r.stdout
            if "WORDS " not in text:
                print(f"festival produced nothing (rc {r.returncode}): {r.stderr[-800:]}",
                      file=sys.stderr, flush=True)
        except subprocess.TimeoutExpired as e:
            text = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        for line in text.splitlines():
            if not line.startswith("WORDS "):
                continue
            parts = line.split()
            i = int(os.path.basename(parts[1]).split(".")[0])
            try:
                with wave.open(parts[1]) as w:
                    sr = w.getframerate()
                    pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
            except (OSError, EOFError, wave.Error):
                continue
            out.append((jobs[i], pcm, sr, [int(round(float(x) * sr)) for x in parts[2:]]))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def synth_pool(rows, n_utts, split, engine, bundle, seed, workers=8):
    """n_utts random sentences of `rows` by random `engine` ('flite' or 'festival') voices of
    `split`. Returns pool dicts as datagen.finish_pool gives them (pcm int16 @24 kHz, words,
    starts, exact, speech, voice, rate)."""
    rng = random.Random(seed)
    jobs = [random_job(rng, rows, split, engine) for _ in range(n_utts)]
    shards = [jobs[i::workers] for i in range(workers)]
    outs = [[] for _ in range(workers)]
    if engine == "flite":
        exe = flite_exe(bundle)
        ths = [threading.Thread(target=_flite_worker, args=(exe, shards[i], outs[i]))
               for i in range(workers)]
    else:
        cmd, env = festival_cmd(bundle)
        ths = [threading.Thread(target=_festival_worker, args=(cmd, env, shards[i], outs[i]))
               for i in range(workers)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    return _filter(engine, [r for o in outs for r in o])


def _filter(engine, results):
    pool = []
    for (v, st, f0, spoken, words), pcm, sr, starts in results:
        if len(starts) != len(words) or len(pcm) < sr // 10:
            continue
        if starts[0] <= 0 or any(b < a for a, b in zip(starts, starts[1:])):
            continue
        if starts[-1] >= len(pcm):
            continue
        pool.append({"pcm_n": pcm, "sr": sr, "words": words, "starts_n": starts,
                     "voice": f"{engine}:{v}", "rate": st})
    return pool


def tape_speed(u, rng, p, lo=0.88, hi=1.12):
    """Speed and pitch perturbation (a tape played faster or slower) of a finished utterance
    with probability p: factor lo..hi, linear interpolation; word starts and speech bounds
    follow."""
    if rng.random() >= p:
        return u
    f = rng.uniform(lo, hi)
    x = u["pcm"].astype(np.float32)
    m = int(len(x) / f)
    y = np.interp(np.arange(m, dtype=np.float32) * f, np.arange(len(x), dtype=np.float32), x)
    u["pcm"] = np.clip(np.round(y), -32768, 32767).astype(np.int16)
    u["starts"] = [min(m - 1, int(st / f)) for st in u["starts"]]
    u["speech"] = datagen.speech_bounds(u["pcm"])
    u["speed"] = round(f, 3)
    return u


def build_chunk(engine, bundle, jobs, seed, speed_p):
    """One chunk of a pool, for a worker process: synthesize `jobs` (random_job tuples) with
    one synthesizer process, filter, resample to 24 kHz, tape-speed perturbation. Returns
    (pool dicts, message or '')."""
    out = []
    try:
        if engine == "flite":
            _flite_worker(flite_exe(bundle), jobs, out)
        else:
            cmd, env = festival_cmd(bundle)
            _festival_worker(cmd, env, jobs, out)
    except Exception as e:  # reported by the caller; training goes on without this chunk
        return [], f"{engine}: {e!r}"
    pool = finish_pool(_filter(engine, out))
    rng = random.Random(seed)
    return [tape_speed(u, rng, speed_p) for u in pool], ""


def pool_chunks(rows, n_utts, split, engine, seed, chunk=100):
    """The jobs of a pool of n_utts utterances, cut into chunks for build_chunk."""
    rng = random.Random(seed)
    jobs = [random_job(rng, rows, split, engine) for _ in range(n_utts)]
    return [jobs[i:i + chunk] for i in range(0, len(jobs), chunk)]


def finish_pool(pool):
    for u in pool:
        sr = u.pop("sr")
        x = u.pop("pcm_n").astype(np.float32) / 32768.0
        y = resample(x, sr)
        # loudness: the voices differ a lot in level; bring the peak near espeak-ng's
        peak = float(np.abs(y).max()) + 1e-9
        y = y * (0.7 / peak)
        u["pcm"] = np.clip(np.round(y * 32767.0), -32768, 32767).astype(np.int16)
        u["starts"] = [int(round(s * SR / sr)) for s in u.pop("starts_n")]
        u["exact"] = [True] * len(u["starts"])
        u["speech"] = datagen.speech_bounds(u["pcm"])
    return pool


if __name__ == "__main__":
    import time
    corpus, engine = sys.argv[1], sys.argv[2]
    bundle = sys.argv[3] if len(sys.argv) > 3 else ""
    split = sys.argv[4] if len(sys.argv) > 4 else "train"
    rows = datagen.load_corpus(corpus, split)
    t = time.time()
    pool = finish_pool(synth_pool(rows, 40, split, engine, bundle, 0, workers=2))
    dur = sum(len(u["pcm"]) for u in pool) / SR
    print(len(pool), "utts", round(dur, 1), "s audio", round(time.time() - t, 1), "s",
          sorted(set(u["voice"] for u in pool)))
