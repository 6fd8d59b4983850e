"""The page at / in a real headless Chromium: its microphone is a fake capture device fed from
a WAV file (the demo model's sample1.wav plus silence, looped by Chromium); the page streams it
over the protocol and must show the expected words. Drives Chromium over the DevTools
protocol (python3-websockets). Exit 77 (skipped) when chromium is not installed."""
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np
import soundfile
import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srvtest import DEMO, Server, check, load_wav  # noqa: E402

EXPECTED = "i can deal with this crew of workers"


async def cdp_eval(ws_url, expr_list, timeout):
    async with websockets.connect(ws_url, max_size=None) as ws:
        msg_id = 0

        async def call(method, params=None):
            nonlocal msg_id
            msg_id += 1
            await ws.send(json.dumps({"id": msg_id, "method": method, "params": params or {}}))
            while True:
                r = json.loads(await ws.recv())
                if r.get("id") == msg_id:
                    return r

        t0 = time.monotonic()
        last = None
        while time.monotonic() - t0 < timeout:
            r = await call("Runtime.evaluate", {"expression": expr_list, "returnByValue": True})
            last = r.get("result", {}).get("result", {}).get("value")
            if last and last.get("done"):
                return last
            await asyncio.sleep(0.5)
        return last


def main():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("skipped: no chromium")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="kstt-page-")
    pcm = load_wav(os.path.join(DEMO, "samples", "sample1.wav"))
    wav = os.path.join(tmp, "mic.wav")
    # speech, then 3 s of silence (Chromium loops the file)
    soundfile.write(wav, np.concatenate([np.zeros(12000, np.float32), pcm,
                                         np.zeros(72000, np.float32)]), 24000,
                    subtype="PCM_16")
    srv = Server(DEMO)
    proc = None
    try:
        url = srv.http + "/?autostart=1"
        proc = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
             "--use-file-for-fake-audio-capture=" + wav,
             "--autoplay-policy=no-user-gesture-required", "--no-first-run",
             "--user-data-dir=" + os.path.join(tmp, "profile"), "--remote-debugging-port=0",
             "--remote-debugging-address=127.0.0.1", url],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        t0 = time.monotonic()
        while time.monotonic() - t0 < 60:
            line = proc.stderr.readline()
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                port = int(m.group(1))
                break
            if not line and proc.poll() is not None:
                break
        check(port, "chromium did not start")
        page = None
        for _ in range(60):
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port) as r:
                targets = json.loads(r.read())
            page = next((t for t in targets if t.get("type") == "page" and
                         t.get("url", "").startswith(srv.http)), None)
            if page:
                break
            time.sleep(0.5)
        check(page, "no page target")
        want = EXPECTED.split()
        expr = ("(() => { const t = document.getElementById('words').innerText"
                ".replace(/\\u23CE/g, ' ').toLowerCase().split(/\\s+/).filter(Boolean);"
                " const want = %s; let k = 0; for (const w of t) if (w === want[k]) k++;"
                " return {done: k === want.length, words: t.join(' '),"
                " status: document.getElementById('status').textContent,"
                " steps: document.body.dataset.steps || '0'}; })()" % json.dumps(want))
        res = asyncio.run(cdp_eval(page["webSocketDebuggerUrl"], expr, 45))
        check(res and res.get("done"), "page shows %r, want %r in order" % (res, EXPECTED))
        print("ok: the page shows %r (%s steps, status %s)" % (res["words"], res["steps"],
                                                             res["status"]))
    finally:
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        check(srv.stop() == 0, "server exit status")


if __name__ == "__main__":
    main()
