"""Kyutai's own clients, unchanged, against kstt serve.

usage: python3 kyutai_clients.py           (needs KYUTAI_DSM_DIR and KYUTAI_UNMUTE_DIR: work
                                            trees of kyutai-labs/delayed-streams-modeling and
                                            kyutai-labs/unmute; exits 77 = skipped without them)

Runs DSM's scripts/stt_from_file_rust_server.py and unmute's scripts/stt_from_file_example.py
as they are, plus unmute's find_instance()/SpeechToText.start_up (Ready within 0.5 s; Error at
capacity -> MissingServiceAtCapacity). Debian 12 lacks some of their dependencies, so this
file installs stand-ins before running them (runner mode, `python3 kyutai_clients.py run ...`):
  sphn         read() via soundfile (24 kHz files are used, so no resampling happens)
  fastrtc      audio_to_float32 (int16 / 32768)
  websockets   Debian has 10.4: connect(additional_headers=) -> extra_headers, and
               websockets.protocol.State (>= 14 names)
  pydantic     Debian has 1.10: TypeAdapter(...).validate_python -> parse_obj_as
  unmute.exceptions  the two exception classes SpeechToText uses (the real module imports
               the OpenAI-event models, which need pydantic 2)
The transcripts are compared with the reference (the library in raw mode) for the exact audio
each client sends."""
import asyncio
import os
import re
import runpy
import subprocess
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))


def install_standins(unmute_dir=None):
    import numpy as np
    import soundfile
    import websockets

    sphn = types.ModuleType("sphn")

    def read(path, sample_rate=None, **kw):
        data, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
        data = data.T
        if sample_rate and sr != sample_rate:
            n = int(round(data.shape[1] * sample_rate / sr))
            t = np.arange(n) * (sr / sample_rate)
            data = np.stack([np.interp(t, np.arange(data.shape[1]), ch) for ch in data])
            sr = sample_rate
        return np.ascontiguousarray(data, dtype=np.float32), sr

    sphn.read = read
    sys.modules["sphn"] = sphn

    fastrtc = types.ModuleType("fastrtc")
    fastrtc.audio_to_float32 = lambda a: (np.asarray(a).astype(np.float32) / 32768.0
                                          if np.asarray(a).dtype == np.int16
                                          else np.asarray(a, dtype=np.float32))
    sys.modules["fastrtc"] = fastrtc

    real_connect = websockets.connect

    def connect(uri, additional_headers=None, **kw):
        if additional_headers is not None:
            kw["extra_headers"] = additional_headers
        return real_connect(uri, **kw)

    websockets.connect = connect
    if not hasattr(websockets, "protocol"):
        import websockets.connection as wc
        websockets.protocol = types.SimpleNamespace(State=wc.State)
    if not hasattr(websockets, "ClientConnection"):
        websockets.ClientConnection = object

    import pydantic
    if not hasattr(pydantic, "TypeAdapter"):
        class TypeAdapter:
            def __init__(self, t):
                self.t = t

            def validate_python(self, obj):
                return pydantic.parse_obj_as(self.t, obj)

        pydantic.TypeAdapter = TypeAdapter

    if unmute_dir:
        sys.path.insert(0, unmute_dir)
        exc = types.ModuleType("unmute.exceptions")

        class MissingServiceAtCapacity(Exception):
            def __init__(self, service):
                self.service = service
                super().__init__(f"{service} is not available.")

        class MissingServiceTimeout(Exception):
            def __init__(self, service):
                self.service = service
                super().__init__(f"{service} timed out.")

        exc.MissingServiceAtCapacity = MissingServiceAtCapacity
        exc.MissingServiceTimeout = MissingServiceTimeout
        import unmute  # noqa: F401  (the real package)
        sys.modules["unmute.exceptions"] = exc


def runner(argv):
    """run dsm SCRIPT ARGS... | run unmute-example DIR ARGS... | run unmute-find DIR"""
    kind = argv[0]
    if kind == "dsm":
        install_standins()
        sys.argv = [argv[1]] + argv[2:]
        runpy.run_path(argv[1], run_name="__main__")
    elif kind == "unmute-example":
        install_standins(argv[1])
        script = os.path.join(argv[1], "unmute", "scripts", "stt_from_file_example.py")
        sys.argv = [script] + argv[2:]
        runpy.run_path(script, run_name="__main__")
    elif kind == "unmute-find":
        install_standins(argv[1])
        from unmute.exceptions import MissingServiceAtCapacity
        from unmute.service_discovery import find_instance
        from unmute.stt.speech_to_text import SpeechToText

        async def go():
            try:
                stt = await find_instance("stt", SpeechToText)
            except MissingServiceAtCapacity:
                print("AT CAPACITY")
                return
            print("READY")
            await stt.websocket.close()

        asyncio.run(go())


def main():
    dsm = os.environ.get("KYUTAI_DSM_DIR")
    um = os.environ.get("KYUTAI_UNMUTE_DIR")
    if not dsm or not um:
        print("skipped: set KYUTAI_DSM_DIR and KYUTAI_UNMUTE_DIR")
        sys.exit(77)
    sys.path.insert(0, HERE)
    import numpy as np
    from srvtest import DEMO, FRAME, Server, check, load_wav, reference

    wav = os.path.join(DEMO, "samples", "sample1.wav")
    pcm = load_wav(wav)
    me = [sys.executable, os.path.abspath(__file__), "run"]

    def words_until_marker(msgs, due):
        """Word/EndWord messages up to the end of step `due` (where the Marker comes)."""
        out = []
        for m in msgs:
            if m["type"] == "Step" and m["step_idx"] > due:
                break
            out.append(m)
        return out

    srv = Server(DEMO, "--max-streams", "2")
    try:
        # DSM: 1 s of zeros, the audio (paced at --rtf), 5 s zeros, Marker 0, 35 s zeros
        out = subprocess.run(me + ["dsm", os.path.join(dsm, "scripts",
                                                      "stt_from_file_rust_server.py"),
                                   wav, "--url", "ws://127.0.0.1:%d" % srv.port, "--rtf", "8"],
                             capture_output=True, text=True, timeout=120)
        check(out.returncode == 0, "DSM client failed: %s" % out.stderr[-2000:])
        got = re.findall(r"^\s*(-?\d+\.\d\d) -\s*(-?\d+\.\d\d)  (.*)$", out.stdout, re.M)
        sent = np.concatenate([np.zeros(24000, np.float32), pcm,
                               np.zeros(40 * 24000, np.float32)])
        ref, delay = reference(DEMO, sent)
        due = -(-(24000 + len(pcm) + 5 * 24000) // FRAME) + delay
        exp = []
        for m in words_until_marker(ref, due):
            if m["type"] == "Word":
                exp.append([m["text"], m["start_time"], m["start_time"]])
            elif m["type"] == "EndWord" and exp:
                exp[-1][2] = m["stop_time"]
        exp = [("%.2f" % a, "%.2f" % b, t) for t, a, b in exp]
        got = [(a, b, t) for a, b, t in got]
        check(got == exp, "DSM transcript\n%r\nreference\n%r" % (got, exp))
        print("ok: DSM stt_from_file_rust_server.py: %d words, same as the reference" % len(got))

        # unmute: stt_from_file_example.py (real-time frames, Marker 0, 25 frames of zeros)
        env = dict(os.environ, KYUTAI_STT_URL="ws://127.0.0.1:%d" % srv.port)
        out = subprocess.run(me + ["unmute-example", um, wav], capture_output=True, text=True,
                             timeout=120, env=env)
        check(out.returncode == 0, "unmute example failed: %s" % out.stderr[-2000:])
        got = re.findall(r"text='(.*?)' start_time=([-\d.e]+)", out.stdout)
        sent = np.concatenate([pcm, np.zeros(25 * FRAME, np.float32)])
        ref, delay = reference(DEMO, sent)
        due = -(-len(pcm) // FRAME) + delay
        exp = [(m["text"], m["start_time"]) for m in words_until_marker(ref, due)
               if m["type"] == "Word"]
        check([(t, float(s)) for t, s in got] == exp,
              "unmute words\n%r\nreference\n%r" % (got, exp))
        print("ok: unmute stt_from_file_example.py: %d words, same as the reference" % len(got))

        # unmute's service discovery: Ready within its 0.5 s, then "at capacity"
        out = subprocess.run(me + ["unmute-find", um], capture_output=True, text=True,
                             timeout=60, env=env)
        check("READY" in out.stdout, "find_instance: %s %s" % (out.stdout, out.stderr[-1500:]))

        async def hold_and_find():
            import websockets
            hdr = {"kyutai-api-key": "public_token"}
            a = await websockets.connect(srv.url, extra_headers=hdr)
            b = await websockets.connect(srv.url, extra_headers=hdr)
            await a.recv()
            await b.recv()
            proc = await asyncio.create_subprocess_exec(
                *(me + ["unmute-find", um]), env=env, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
            so, se = await proc.communicate()
            await a.close()
            await b.close()
            return so.decode(), se.decode()

        so, se = asyncio.run(hold_and_find())
        check("AT CAPACITY" in so, "find_instance at capacity: %s %s" % (so, se[-1500:]))
        print("ok: unmute find_instance: Ready in time; MissingServiceAtCapacity when full")
    finally:
        check(srv.stop() == 0, "server exit status")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "run":
        runner(sys.argv[2:])
    else:
        main()
