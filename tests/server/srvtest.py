"""Helpers for the kstt serve tests: start a server, talk the protocol, run the reference.

Environment (set by ctest): KSTT_BIN (the kstt tool), KSTT_GOLDEN_DIR, KSTT_SOURCE_DIR,
SRV_REF (tests/server/srv_ref.c built). Loopback only."""
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import msgpack
import numpy as np
import soundfile
import websockets

KSTT = os.environ.get("KSTT_BIN", "kstt")
GOLDEN = os.environ.get("KSTT_GOLDEN_DIR", "")
SOURCE = os.environ.get("KSTT_SOURCE_DIR", ".")
SRV_REF = os.environ.get("SRV_REF", "srv_ref")
TINY = os.path.join(GOLDEN, "stt_tiny")
DEMO = os.path.join(SOURCE, "models", "kstt-demo-en")
FRAME = 1920


def fail(msg):
    print("FAIL:", msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


class Server:
    """kstt serve on 127.0.0.1 and a free port; stop() sends SIGTERM and waits."""

    def __init__(self, model, *args, env=None):
        self.log = tempfile.NamedTemporaryFile(prefix="kstt-serve-", suffix=".log", delete=False)
        cmd = [KSTT, "serve", "--model", model, "--addr", "127.0.0.1", "--port", "0", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log,
                                     env=env, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r":(\d+)$", line.strip())
        if not m:
            self.dump()
            fail("server did not start: %r" % line)
        self.port = int(m.group(1))
        self.url = "ws://127.0.0.1:%d/api/asr-streaming" % self.port
        self.http = "http://127.0.0.1:%d" % self.port

    def dump(self):
        self.log.flush()
        with open(self.log.name) as f:
            sys.stdout.write(f.read()[-4000:])

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.dump()
                fail("server did not stop on SIGTERM within %d s" % timeout)
        rc = self.proc.returncode
        os.unlink(self.log.name)
        return rc

    def get(self, path, data=None, headers=None, method=None):
        req = urllib.request.Request(self.http + path, data=data, headers=headers or {},
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        try:
            os.unlink(self.log.name)
        except OSError:
            pass


def load_wav(path):
    pcm, sr = soundfile.read(path, dtype="float32", always_2d=True)
    if sr != 24000:
        fail("%s: %d Hz, tests want 24 kHz" % (path, sr))
    return np.ascontiguousarray(pcm[:, 0])


def reference(model, pcm):
    """The messages a raw-mode stream produces for pcm (Step, Word, EndWord), via srv_ref."""
    with tempfile.NamedTemporaryFile(suffix=".f32", delete=False) as f:
        f.write(np.asarray(pcm, dtype="<f4").tobytes())
    try:
        out = subprocess.run([SRV_REF, model, f.name], capture_output=True, text=True, check=True)
    finally:
        os.unlink(f.name)
    msgs = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    delay = int(re.search(r"delay (\d+)", out.stderr).group(1))
    return msgs, delay


def cli_raw(model, pcm):
    """`kstt transcribe --no-padding --format json --vad` (the CLI in raw mode) on pcm: its
    words [(text, start)] and per-step VAD probabilities."""
    with tempfile.NamedTemporaryFile(suffix=".wav", delete=False) as f:
        name = f.name
    try:
        soundfile.write(name, np.asarray(pcm, dtype=np.float32), 24000, subtype="FLOAT")
        args = [KSTT, "transcribe", "--model", model, "--no-padding", "--format", "json", "-q"]
        vad = has_vad(model)
        out = subprocess.run(args + (["--vad"] if vad else []) + [name], capture_output=True,
                             text=True, check=True)
    finally:
        os.unlink(name)
    doc = json.loads(out.stdout)
    return [(w["word"], w["start"]) for w in doc["words"]], [v["prs"] for v in doc.get("vad", [])]


def has_vad(model):
    with open(os.path.join(model, "config.json")) as f:
        cfg = json.load(f)
    return cfg.get("extra_heads_num_heads", 0) > 0


def audio(pcm):
    return msgpack.packb({"type": "Audio", "pcm": [float(x) for x in pcm]}, use_bin_type=True,
                         use_single_float=True)


def marker(i):
    return msgpack.packb({"type": "Marker", "id": i}, use_bin_type=True)


async def connect(url, key="public_token", **kw):
    hdr = {"kyutai-api-key": key} if key is not None else {}
    return await websockets.connect(url, extra_headers=hdr, max_size=None, compression=None,
                                    open_timeout=10, **kw)


async def recv(ws, timeout=30):
    data = await asyncio.wait_for(ws.recv(), timeout)
    if isinstance(data, str):
        fail("server sent a text frame")
    return msgpack.unpackb(data, raw=False)


async def stream_file(url, pcm, marker_id, tail_frames, chunk=FRAME, pace=0.0, key="public_token"):
    """Sends pcm in chunks (paced at `pace` x real time when > 0), a Marker, then tail_frames
    of zeros; receives until every frame's Step (or the Marker when the model has no VAD) came
    back. Returns (messages, marker_index)."""
    ws = await connect(url, key)
    try:
        first = await recv(ws)
        check(first == {"type": "Ready"}, "first message %r, want Ready" % (first,))
        total = (len(pcm) + tail_frames * FRAME) // FRAME

        async def sender():
            t0 = time.monotonic()
            for i in range(0, len(pcm), chunk):
                if pace > 0:
                    due = t0 + i / 24000.0 / pace
                    now = time.monotonic()
                    if due > now:
                        await asyncio.sleep(due - now)
                await ws.send(audio(pcm[i:i + chunk]))
            await ws.send(marker(marker_id))
            for _ in range(tail_frames):
                await ws.send(audio(np.zeros(FRAME, dtype=np.float32)))

        task = asyncio.create_task(sender())
        msgs = []
        steps = 0
        got_marker = False
        while steps < total or not got_marker:
            m = await recv(ws, 60)
            msgs.append(m)
            if m["type"] == "Step":
                steps += 1
            elif m["type"] == "Marker":
                got_marker = True
            elif m["type"] == "Error":
                fail("server error: %r" % m)
        # the last step's Word/EndWord follow its Step (published together): drain them
        try:
            while True:
                m = await recv(ws, 0.5)
                check(m["type"] in ("Word", "EndWord"), "after the last step: %r" % (m,))
                msgs.append(m)
        except asyncio.TimeoutError:
            pass
        await task
        return msgs
    finally:
        await ws.close()


def compare(got, ref, what):
    """got: server messages (Ready/Marker removed); ref: srv_ref messages. Exact text, times,
    step indices; prs equal as float32."""
    g = [m for m in got if m["type"] in ("Step", "Word", "EndWord")]
    check(len(g) == len(ref), "%s: %d messages, reference %d" % (what, len(g), len(ref)))
    for i, (a, b) in enumerate(zip(g, ref)):
        check(a["type"] == b["type"], "%s: message %d is %s, reference %s" % (what, i, a, b))
        if a["type"] == "Step":
            check(a["step_idx"] == b["step_idx"], "%s: %r vs %r" % (what, a, b))
            check(len(a["prs"]) == 4, "%s: prs %r" % (what, a))
            for x, y in zip(a["prs"], b["prs"]):
                check(np.float32(x) == np.float32(y), "%s: prs %r vs %r" % (what, a, b))
            check(isinstance(a["buffered_pcm"], int) and a["buffered_pcm"] >= 0, "%r" % a)
        elif a["type"] == "Word":
            check(a["text"] == b["text"], "%s: %r vs %r" % (what, a, b))
            check(abs(a["start_time"] - b["start_time"]) < 1e-9, "%s: %r vs %r" % (what, a, b))
        else:
            check(abs(a["stop_time"] - b["stop_time"]) < 1e-9, "%s: %r vs %r" % (what, a, b))


def parse_metrics(text):
    """Prometheus text format -> {name{labels}: value}; fails on a malformed line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            check(not line or re.match(r"# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* ", line),
                  "bad comment line %r" % line)
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?) (\S+)$', line)
        check(m, "bad metrics line %r" % line)
        out[m.group(1)] = float(m.group(3))
    return out
