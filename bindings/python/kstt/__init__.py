"""kstt: streaming speech-to-text for Kyutai's STT models (Python bindings over libkstt).

    import kstt
    model = kstt.Model("kyutai/stt-1b-en_fr-candle")     # or a model directory
    for w in model.transcribe("talk.wav"):
        print(w.start, w.end, w.text)

    with model.stream() as s:                             # 24 kHz mono, any chunk size
        for chunk in microphone():                        # numpy float32/int16, array('f'), bytes
            for ev in s.feed(chunk):
                if isinstance(ev, kstt.Word):
                    print(ev.text)
        for ev in s.flush():
            ...

A Model is shareable between threads; a Stream is used by one thread at a time. Feeding runs
in libkstt with the GIL released, so streams on several threads run in parallel. Errors raise
kstt.Error carrying the library's message.
"""
import array as _array
import ctypes
import os
import threading
import weakref
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from . import _audio, _hub
from ._errors import Error
from . import _lib as _c

_kl = _c.lib

__all__ = ["Model", "Stream", "Word", "EndWord", "Step", "EndOfTurn", "Transcript", "Error",
           "version", "system_info", "load_audio"]

__version__ = "0.2.0"

SAMPLE_RATE = 24000


def version() -> str:
    """libkstt's version ("MAJOR.MINOR.PATCH")."""
    return _kl.kstt_version().decode()


def system_info() -> str:
    """CPU features found and the kernel level libkstt uses."""
    return _kl.kstt_system_info().decode()


# ---- events ---------------------------------------------------------------------------------

@dataclass
class Word:
    """A word. From a stream: emitted when complete, `end` is None (the next EndWord, or the
    next Word, gives it). From transcribe(): start and end in seconds."""
    text: str
    start: float
    end: Optional[float] = None
    tokens: Tuple[int, ...] = field(default=(), repr=False)
    step: int = field(default=0, repr=False, compare=False)


@dataclass
class EndWord:
    """The end of the previous word(s), in seconds."""
    stop: float
    step: int = field(default=0, repr=False, compare=False)


@dataclass
class Step:
    """One LM step of a model with end-of-turn (VAD) heads: prs[i] is the probability of a
    pause of at least 0.5, 1, 2, 3 s starting now; `time` is the step's time in seconds."""
    step: int
    time: float
    prs: Tuple[float, float, float, float]

    def end_of_turn(self, threshold: float = 0.5, head: int = 2) -> bool:
        """True when the pause head `head` (default 2: >= 2 s) exceeds threshold."""
        return self.prs[head] > threshold


EndOfTurn = Step  # the VAD events go by either name


class Transcript(list):
    """transcribe()'s result: a list of Word(text, start, end), with .text (the words joined by
    spaces), .duration (seconds of audio) and .steps (Step events, with vad=True)."""

    def __init__(self, words=(), duration=0.0, steps=None):
        super().__init__(words)
        self.duration = duration
        self.steps = steps if steps is not None else []

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self)


# ---- helpers --------------------------------------------------------------------------------

def _check(rc, obj_msg):
    if rc < 0:
        msg = obj_msg() if callable(obj_msg) else obj_msg
        if not msg:
            msg = _kl.kstt_strerror(rc).decode()
        raise Error(msg, rc)
    return rc


def _as_float32(samples, sample_format="f32"):
    """(ctypes address, count, keepalive) for samples of any accepted kind."""
    # numpy (without importing it when the caller does not use it)
    if type(samples).__module__ == "numpy" and hasattr(samples, "dtype"):
        import numpy as np
        a = samples
        if a.ndim != 1:
            if a.ndim == 2 and 1 in a.shape:
                a = a.reshape(-1)
            else:
                raise ValueError("kstt: samples must be mono (a 1-D array), got shape %s"
                                 % (a.shape,))
        if a.dtype == np.int16:
            a = a.astype(np.float32) / np.float32(32768.0)
        elif a.dtype.kind == "f":
            a = np.ascontiguousarray(a, dtype=np.float32)
        else:
            raise TypeError("kstt: numpy samples must be float32/float64 or int16, not %s"
                            % a.dtype)
        return a.ctypes.data, a.shape[0], a
    if isinstance(samples, _array.array):
        if samples.typecode == "f":
            a = samples
        elif samples.typecode == "d":
            a = _array.array("f", samples)
        elif samples.typecode == "h":
            a = _array.array("f", (x / 32768.0 for x in samples))
        else:
            raise TypeError("kstt: array samples must have typecode 'f', 'd' or 'h', not '%s'"
                            % samples.typecode)
        addr, n = a.buffer_info() if len(a) else (0, 0)
        return addr, n, a
    if isinstance(samples, memoryview) and samples.format in ("f", "h", "d"):
        return _as_float32(_array.array(samples.format, samples.tobytes()))
    if isinstance(samples, (bytes, bytearray, memoryview)):
        b = bytes(samples)
        if sample_format in ("f32", "float32"):
            if len(b) % 4:
                raise ValueError("kstt: float32 bytes must be a multiple of 4 long (got %d)"
                                 % len(b))
            a = _array.array("f")
            a.frombytes(b)
        elif sample_format in ("s16", "int16"):
            if len(b) % 2:
                raise ValueError("kstt: int16 bytes must be a multiple of 2 long (got %d)"
                                 % len(b))
            h = _array.array("h")
            h.frombytes(b)
            a = _array.array("f", (x / 32768.0 for x in h))
        else:
            raise ValueError("kstt: sample_format must be 'f32' or 's16'")
        if os.sys.byteorder != "little":
            a.byteswap()
        addr, n = a.buffer_info() if len(a) else (0, 0)
        return addr, n, a
    if isinstance(samples, (list, tuple)):
        return _as_float32(_array.array("f", samples))
    raise TypeError("kstt: samples must be a numpy array, array('f'), bytes or a list of "
                    "floats, not %s" % type(samples).__name__)


def load_audio(path, sample_rate: int = SAMPLE_RATE):
    """Reads an audio file (libsndfile), mixes it to mono and resamples it to sample_rate
    (libsoxr): an array('f')."""
    return _audio.load(path, sample_rate)[0]


# ---- model ----------------------------------------------------------------------------------

class _Closing:
    """Frees the native object on close(), at the end of a with block and when collected."""

    def close(self):
        raise NotImplementedError

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Model(_Closing):
    """An STT model: a model directory or a Hugging Face repo id (resolved through the local
    Hugging Face cache; a missing repo is fetched with `kstt download` when the kstt tool is
    installed, unless download=False).

    threads: worker threads (None: one per CPU). kernels: "auto", "ref", "avx2", "avx512",
    "neon", ... (a cap). kv: "auto", "f32", "f16", "q8" (KV cache storage). mimi_weights: "auto",
    "f32", "bf16". codebooks: use only the first K audio codebooks, 1..n_q (moshi-server's
    audio_codebooks; 0 = all)."""

    def __init__(self, path_or_repo_id, threads: Optional[int] = None, kernels: str = "auto",
                 kv: str = "auto", mimi_weights: str = "auto", download: bool = True,
                 revision: str = "main", codebooks: int = 0):
        self._model = None
        self._pool = None
        self._streams = weakref.WeakSet()
        self.path = _hub.resolve(path_or_repo_id, download=download, revision=revision)
        params = _kl.kstt_model_params_default()
        try:
            params.kernels = _c.KERNELS[kernels]
            params.kv_type = _c.KV_TYPES[kv]
            params.mimi_weights = _c.MIMI_WEIGHTS[mimi_weights]
            params.num_codebooks = int(codebooks)
        except KeyError as e:
            raise ValueError("kstt: unknown option value %s" % e) from None
        pool = ctypes.c_void_p()
        n = 0 if threads is None else int(threads)
        if n < 0:
            raise ValueError("kstt: threads must be >= 1 (or None)")
        _check(_kl.kstt_pool_new(ctypes.byref(pool), n), "cannot start %d threads" % n)
        self._pool = pool
        params.pool = pool
        err = ctypes.create_string_buffer(1024)
        m = ctypes.c_void_p()
        rc = _kl.kstt_model_load(ctypes.byref(m), os.fsencode(self.path), ctypes.byref(params),
                                  err, len(err))
        if rc:
            self.close()
            raise Error(err.value.decode("utf-8", "replace"), rc)
        self._model = m
        info = _c.ModelInfo()
        _kl.kstt_model_get_info(m, ctypes.byref(info))
        self._info = info
        self.sample_rate = info.sample_rate
        self.frame_size = info.frame_size
        self.frame_rate = info.frame_rate
        self.has_vad = bool(info.has_vad)
        self.threads = _kl.kstt_pool_threads(pool)

    @property
    def info(self) -> dict:
        """The model's constants (kstt_model_info)."""
        return {name: getattr(self._info, name) for name, _ in _c.ModelInfo._fields_}

    def close(self):
        """Frees the model now (also done when it is garbage-collected); its open streams are
        closed first."""
        for s in list(getattr(self, "_streams", ())):
            s.close()
        if self._model:
            _kl.kstt_model_free(self._model)
            self._model = None
        if self._pool:
            _kl.kstt_pool_free(self._pool)
            self._pool = None

    def _handle(self):
        if not self._model:
            raise Error("the model is closed", -6)
        return self._model

    def stream(self, pad: bool = True, vad: bool = True, temperature: float = 0.0,
               seed: int = 0) -> "Stream":
        """A new stream (a context manager). pad=True: the model's silence prefix before the
        audio and the trailing silence at flush, times from the start of your audio (what
        transcribe does); pad=False: raw stream as moshi-server runs it. vad: Step events on
        models with end-of-turn heads."""
        return Stream(self, pad=pad, vad=vad, temperature=temperature, seed=seed)

    def decode(self, tokens) -> str:
        """Token ids to text, as SentencePiece decodes them."""
        ids = (ctypes.c_int32 * len(tokens))(*tokens)
        need = ctypes.c_size_t(0)
        _kl.kstt_model_decode(self._handle(), ids, len(tokens), None, 0, ctypes.byref(need))
        buf = ctypes.create_string_buffer(max(need.value, 1))
        rc = _kl.kstt_model_decode(self._handle(), ids, len(tokens), buf, len(buf), None)
        _check(rc, "decode failed")
        return buf.raw[:rc].decode("utf-8", "replace")

    def transcribe(self, path_or_array, vad: bool = False, block_seconds: float = 10.0,
                   sample_format: str = "f32") -> Transcript:
        """Transcribes a whole file (any format libsndfile reads, resampled to 24 kHz) or array
        of 24 kHz mono samples: a Transcript, the list of Word(text, start, end) as
        `kstt transcribe --format json` gives them. vad=True: .steps holds the Step events."""
        if isinstance(path_or_array, (str, os.PathLike)):
            pcm = load_audio(path_or_array, self.sample_rate)
        else:
            pcm = path_or_array
        addr, n, keep = _as_float32(pcm, sample_format)
        words: List[Word] = []
        steps: List[Step] = []
        open_word = [False]

        def take(events):
            for ev in events:
                if isinstance(ev, Word):
                    if open_word[0]:
                        prev = words[-1]
                        prev.end = max(ev.start, prev.start)
                    ev.end = ev.start
                    words.append(ev)
                    open_word[0] = True
                elif isinstance(ev, EndWord):
                    if open_word[0]:
                        words[-1].end = max(ev.stop, words[-1].start)
                        open_word[0] = False
                elif vad and ev.time >= 0:
                    steps.append(ev)

        with self.stream(vad=vad) as s:
            block = max(1, int(block_seconds * self.sample_rate))
            for off in range(0, n, block):
                k = min(block, n - off)
                take(s._feed_raw(addr + 4 * off, k))
            take(s.flush())
        duration = n / self.sample_rate
        if open_word[0]:
            words[-1].end = max(duration, words[-1].start)
        del keep
        return Transcript(words, duration, steps)


# ---- streams --------------------------------------------------------------------------------

class Stream(_Closing):
    """One audio stream through the model: feed() samples (24 kHz mono, any count), get events.
    Use from one thread at a time; close() (or the with block) frees it."""

    _READ = 64

    def __init__(self, model: Model, pad=True, vad=True, temperature=0.0, seed=0):
        self.model = model  # keeps the model alive
        self._s = None
        self._lock = threading.Lock()
        p = _kl.kstt_stream_params_default()
        p.pad = 1 if pad else 0
        p.step_events = 1 if vad else 0
        p.temperature = float(temperature)
        p.seed = int(seed)
        s = ctypes.c_void_p()
        _check(_kl.kstt_stream_new(ctypes.byref(s), model._handle(), ctypes.byref(p)),
               "cannot create a stream")
        self._s = s
        model._streams.add(self)
        self._prefix = model._info.prefix_frames if pad else 0
        self._rate = model._info.frame_rate
        self._buf = (_c.Event * self._READ)()

    def close(self):
        """Frees the stream now (also done by the with block and when garbage-collected)."""
        with self._lock:
            if self._s:
                _kl.kstt_stream_free(self._s)
                self._s = None

    def _handle(self):
        if not self._s:
            raise Error("the stream is closed", -6)
        return self._s

    def _errmsg(self):
        return _kl.kstt_stream_errmsg(self._s).decode("utf-8", "replace")

    def _drain(self):
        out = []
        buf = self._buf
        while True:
            k = _check(_kl.kstt_stream_read(self._s, buf, self._READ), self._errmsg)
            for i in range(k):
                e = buf[i]
                if e.type == _c.EVENT_WORD:
                    toks = tuple(e.tokens[j] for j in range(e.n_tokens))
                    text = (e.text or b"").decode("utf-8", "replace")
                    out.append(Word(text, e.start, None, toks, e.step))
                elif e.type == _c.EVENT_END_WORD:
                    out.append(EndWord(e.stop, e.step))
                elif e.type == _c.EVENT_STEP:
                    t = (e.step - self._prefix) / self._rate
                    out.append(Step(e.step, t, tuple(e.prs)))
            if k < self._READ:
                return out

    def _feed_raw(self, addr, n):
        with self._lock:
            s = self._handle()
            _check(_kl.kstt_stream_feed(s, addr, n), self._errmsg)  # GIL released here
            return self._drain()

    def feed(self, samples, sample_format: str = "f32") -> list:
        """Feeds samples: a 1-D numpy array (float32, float64 or int16), array('f'/'d'/'h'),
        bytes (little-endian float32, or int16 with sample_format='s16'), or a list of floats.
        Returns the events the completed frames produced (Word, EndWord, Step)."""
        addr, n, keep = _as_float32(samples, sample_format)
        out = self._feed_raw(addr, n)
        del keep
        return out

    def flush(self) -> list:
        """End of input: the last words and a closing EndWord. The stream then takes no audio
        until reset()."""
        with self._lock:
            _check(_kl.kstt_stream_flush(self._handle()), self._errmsg)
            return self._drain()

    def reset(self):
        """Back to a fresh stream (same settings)."""
        with self._lock:
            _kl.kstt_stream_reset(self._handle())
