"""Audio files: decoded with libsndfile (any format it reads: WAV, FLAC, Ogg/Vorbis/Opus, MP3
with libsndfile >= 1.1), mixed to mono, resampled with libsoxr (high quality) to the model's
rate, through ctypes over the two system libraries kstt's own front end uses, so a file gives
the same samples as `kstt transcribe` reads.
"""
import array
import ctypes
import ctypes.util
import os
import sys

from ._errors import Error

SFM_READ = 0x10
_READ_FRAMES = 1 << 16
_MAX_SECONDS = 24 * 3600


class _SfInfo(ctypes.Structure):
    _fields_ = [
        ("frames", ctypes.c_int64),
        ("samplerate", ctypes.c_int),
        ("channels", ctypes.c_int),
        ("format", ctypes.c_int),
        ("sections", ctypes.c_int),
        ("seekable", ctypes.c_int),
    ]


def _open_lib(short, fallbacks):
    names = []
    found = ctypes.util.find_library(short)
    if found:
        names.append(found)
    names += fallbacks
    last = None
    for n in names:
        try:
            return ctypes.CDLL(n)
        except OSError as e:
            last = e
    raise Error("cannot load lib%s (needed to read audio files): %s" % (short, last))


_sf = None
_soxr = None


def _libs():
    global _sf, _soxr
    if _sf is None:
        mac = sys.platform == "darwin"
        sf = _open_lib("sndfile", ["libsndfile.1.dylib"] if mac else ["libsndfile.so.1"])
        sf.sf_open.restype = ctypes.c_void_p
        sf.sf_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(_SfInfo)]
        sf.sf_readf_float.restype = ctypes.c_int64
        sf.sf_readf_float.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        sf.sf_strerror.restype = ctypes.c_char_p
        sf.sf_strerror.argtypes = [ctypes.c_void_p]
        sf.sf_error.restype = ctypes.c_int
        sf.sf_error.argtypes = [ctypes.c_void_p]
        sf.sf_close.restype = ctypes.c_int
        sf.sf_close.argtypes = [ctypes.c_void_p]
        sx = _open_lib("soxr", ["libsoxr.0.dylib"] if mac else ["libsoxr.so.0"])
        # NULL io/quality/runtime specs: float32 interleaved, SOXR_HQ, one thread (the defaults).
        sx.soxr_oneshot.restype = ctypes.c_char_p
        sx.soxr_oneshot.argtypes = [ctypes.c_double, ctypes.c_double, ctypes.c_uint,
                                    ctypes.c_void_p, ctypes.c_size_t,
                                    ctypes.POINTER(ctypes.c_size_t), ctypes.c_void_p,
                                    ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t),
                                    ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        _sf, _soxr = sf, sx
    return _sf, _soxr


def _mix(buf, total, ch):
    """Mono mix in float32, channel by channel in order (as the C front end does)."""
    if ch == 1:
        return buf
    try:
        import numpy as np
    except ImportError:
        np = None
    if np is not None:
        fr = np.frombuffer(buf, dtype=np.float32, count=total * ch).reshape(total, ch)
        s = fr[:, 0].copy()
        for c in range(1, ch):
            s += fr[:, c]
        s *= np.float32(1.0 / ch)
        return array.array("f", s.tobytes())
    inv = array.array("f", [1.0 / ch])[0]
    out = array.array("f", bytes(4 * total))
    tmp = array.array("f", [0.0])
    for i in range(total):
        tmp[0] = buf[i * ch]
        for c in range(1, ch):
            tmp[0] = tmp[0] + buf[i * ch + c]
        tmp[0] = tmp[0] * inv
        out[i] = tmp[0]
    return out


def load(path, sample_rate):
    """Returns (array('f') of mono samples at sample_rate, the file's own rate)."""
    sf, sx = _libs()
    name = os.fspath(path)
    info = _SfInfo()
    h = sf.sf_open(os.fsencode(name), SFM_READ, ctypes.byref(info))
    if not h:
        if not os.path.exists(name):
            raise Error("%s: no such file" % name, -9)
        raise Error("%s: not an audio format libsndfile can read (%s)"
                    % (name, sf.sf_strerror(None).decode("utf-8", "replace")), -4)
    try:
        ch, rate = info.channels, info.samplerate
        if ch < 1 or rate < 1:
            raise Error("%s: bad header (%d channels, %d Hz)" % (name, ch, rate), -4)
        chunks = []
        total = 0
        while True:
            chunk = array.array("f", bytes(4 * _READ_FRAMES * ch))
            addr, _ = chunk.buffer_info()
            got = sf.sf_readf_float(h, addr, _READ_FRAMES)
            if got <= 0:
                break
            del chunk[got * ch:]
            chunks.append(chunk)
            total += got
            if total > _MAX_SECONDS * rate:
                raise Error("%s: audio is more than the 24-hour limit" % name, -8)
        if sf.sf_error(h):
            raise Error("%s: read error (%s)" % (name, sf.sf_strerror(h).decode()), -3)
    finally:
        sf.sf_close(h)
    if total == 0:
        raise Error("%s: contains no audio samples" % name, -4)
    buf = array.array("f")
    for c in chunks:
        buf.extend(c)
    mono = _mix(buf, total, ch)
    if rate == sample_rate:
        return mono, rate
    olen = int(-(-total * sample_rate // rate)) + 16
    out = array.array("f", bytes(4 * olen))
    odone = ctypes.c_size_t(0)
    err = sx.soxr_oneshot(float(rate), float(sample_rate), 1, mono.buffer_info()[0], total,
                          None, out.buffer_info()[0], olen, ctypes.byref(odone), None, None, None)
    if err:
        raise Error("%s: resampling %d to %d Hz failed: %s"
                    % (name, rate, sample_rate, err.decode()), -3)
    del out[odone.value:]
    if not out:
        raise Error("%s: contains no audio samples after resampling" % name, -4)
    return out, rate
