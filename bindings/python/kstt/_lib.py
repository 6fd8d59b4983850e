"""ctypes declarations of libkstt (include/kstt.h) and how the library is found.

Lookup order of the shared library:
  1. $KSTT_LIBRARY: a path to libkstt.so (or .dylib);
  2. the copy bundled into the package at install time (kstt/_native/);
  3. the system's: ctypes.util.find_library("kstt") (e.g. after `cmake --install`).
The struct layouts below mirror kstt.h; tests/test_layout.py checks them against the header
(sizeof/offsetof printed by a small C program built with the library).
"""
import ctypes
import ctypes.util
import glob
import os
import sys

c_int = ctypes.c_int
c_int32 = ctypes.c_int32
c_int64 = ctypes.c_int64
c_size_t = ctypes.c_size_t
c_double = ctypes.c_double
c_float = ctypes.c_float
c_char_p = ctypes.c_char_p
c_void_p = ctypes.c_void_p
POINTER = ctypes.POINTER

# kstt_event_type
EVENT_WORD = 1
EVENT_END_WORD = 2
EVENT_STEP = 3

# kstt_kernels
KERNELS = {"auto": 0, "ref": 1, "avx2": 2, "avx512": 3, "neon": 4, "dotprod": 5, "i8mm": 6}
# kstt_kv_type
KV_TYPES = {"auto": 0, "f32": 1, "f16": 2, "q8": 3}
# kstt_mimi_weights
MIMI_WEIGHTS = {"auto": 0, "f32": 1, "bf16": 2}


class Event(ctypes.Structure):
    _fields_ = [
        ("type", c_int),
        ("step", c_int64),
        ("start", c_double),
        ("stop", c_double),
        ("prs", c_float * 4),
        ("text", c_char_p),
        ("tokens", POINTER(c_int32)),
        ("n_tokens", c_int32),
    ]


EVENT_CB = ctypes.CFUNCTYPE(None, c_void_p, POINTER(Event))
ABORT_CB = ctypes.CFUNCTYPE(c_int, c_void_p)


class StreamParams(ctypes.Structure):
    _fields_ = [
        ("pad", c_int),
        ("step_events", c_int),
        ("temperature", c_float),
        ("seed", ctypes.c_uint64),
        ("on_event", c_void_p),
        ("user", c_void_p),
        ("abort", c_void_p),
    ]


class ModelParams(ctypes.Structure):
    _fields_ = [
        ("pool", c_void_p),
        ("kernels", c_int),
        ("asr_delay_in_tokens", c_int),
        ("kv_type", c_int),
        ("mimi_weights", c_int),
        ("num_codebooks", c_int),
    ]


class ModelInfo(ctypes.Structure):
    _fields_ = [
        ("sample_rate", c_int),
        ("frame_size", c_int),
        ("frame_rate", c_double),
        ("asr_delay_in_tokens", c_int),
        ("audio_delay_seconds", c_double),
        ("silence_prefix_seconds", c_double),
        ("prefix_frames", c_int64),
        ("has_vad", c_int),
        ("num_codebooks", c_int),
        ("text_vocab", c_int),
        ("context", c_int64),
    ]


class MimiParams(ctypes.Structure):
    _fields_ = [
        ("config_path", c_char_p),
        ("num_codebooks", c_int),
        ("pool", c_void_p),
        ("kernels", c_int),
        ("weights", c_int),
    ]


# The structs the layout test checks: Python name -> (C name, ctypes class).
STRUCTS = {
    "kstt_event": Event,
    "kstt_stream_params": StreamParams,
    "kstt_model_params": ModelParams,
    "kstt_model_info": ModelInfo,
    "kstt_mimi_params": MimiParams,
}

_SIGNATURES = {
    # name: (restype, argtypes)
    "kstt_strerror": (c_char_p, [c_int]),
    "kstt_version": (c_char_p, []),
    "kstt_system_info": (c_char_p, []),
    "kstt_pool_new": (c_int, [POINTER(c_void_p), c_int]),
    "kstt_pool_free": (None, [c_void_p]),
    "kstt_pool_threads": (c_int, [c_void_p]),
    "kstt_model_params_default": (ModelParams, []),
    "kstt_model_load": (c_int, [POINTER(c_void_p), c_char_p, POINTER(ModelParams), c_char_p,
                                c_size_t]),
    "kstt_model_free": (None, [c_void_p]),
    "kstt_model_get_info": (None, [c_void_p, POINTER(ModelInfo)]),
    "kstt_model_decode": (c_int, [c_void_p, POINTER(c_int32), c_size_t, c_char_p, c_size_t,
                                  POINTER(c_size_t)]),
    "kstt_stream_params_default": (StreamParams, []),
    "kstt_stream_new": (c_int, [POINTER(c_void_p), c_void_p, POINTER(StreamParams)]),
    "kstt_stream_free": (None, [c_void_p]),
    "kstt_stream_feed": (c_int, [c_void_p, c_void_p, c_size_t]),
    "kstt_stream_flush": (c_int, [c_void_p]),
    "kstt_stream_read": (c_int, [c_void_p, POINTER(Event), c_size_t]),
    "kstt_stream_reset": (None, [c_void_p]),
    "kstt_stream_errmsg": (c_char_p, [c_void_p]),
}


def _candidates():
    env = os.environ.get("KSTT_LIBRARY")
    if env:
        return [env], True
    out = []
    native = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_native")
    out += sorted(glob.glob(os.path.join(native, "libkstt.so*")))
    out += sorted(glob.glob(os.path.join(native, "libkstt*.dylib")))
    found = ctypes.util.find_library("kstt")
    if found:
        out.append(found)
    if sys.platform == "darwin":
        out.append("libkstt.dylib")
    else:
        out += ["libkstt.so.0", "libkstt.so"]
    return out, False


def _load():
    names, explicit = _candidates()
    errors = []
    for name in names:
        try:
            lib = ctypes.CDLL(name)  # CDLL: the GIL is released during every call
        except OSError as e:
            errors.append("%s: %s" % (name, e))
            if explicit:
                break
            continue
        for fn, (res, args) in _SIGNATURES.items():
            f = getattr(lib, fn)
            f.restype = res
            f.argtypes = args
        lib._kstt_path = name
        return lib
    raise ImportError(
        "kstt: cannot load libkstt (%s). Build it (cmake -S . -B build && ninja -C build) and "
        "either reinstall the package with KSTT_BUILD_DIR=build, install the library "
        "(cmake --install build), or set KSTT_LIBRARY to the path of libkstt.so"
        % "; ".join(errors or ["not found"]))


lib = _load()
