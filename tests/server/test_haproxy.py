"""Scale-out: deploy/haproxy.cfg in front of two kstt serve instances, all on loopback.
Streams spread over both (leastconn); a stream through the proxy gets its exact words; when
one instance is stopped (SIGTERM), new streams go to the other. Exit 77 without haproxy."""
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srvtest import (FRAME, GOLDEN, SOURCE, TINY, Server, check, compare, connect,  # noqa: E402
                     load_wav, recv, reference, stream_file)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def used(srv):
    return int(json.loads(srv.get("/api/modules_info")[1])[0]["used_slots"])


def main():
    haproxy = shutil.which("haproxy") or (os.path.exists("/usr/sbin/haproxy") and
                                          "/usr/sbin/haproxy")
    if not haproxy:
        print("skipped: no haproxy")
        sys.exit(77)
    a = Server(TINY, "--drain-timeout", "30")
    b = Server(TINY)
    lb_port = free_port()
    env = dict(os.environ, KSTT_LB_BIND="127.0.0.1:%d" % lb_port,
               KSTT_BACKEND1="127.0.0.1:%d" % a.port, KSTT_BACKEND2="127.0.0.1:%d" % b.port)
    cfg = os.path.join(SOURCE, "deploy", "haproxy.cfg")
    check(subprocess.run([haproxy, "-c", "-q", "-f", cfg], env=env).returncode == 0,
          "haproxy -c rejects deploy/haproxy.cfg")
    lb = subprocess.Popen([haproxy, "-db", "-f", cfg], env=env)
    url = "ws://127.0.0.1:%d/api/asr-streaming" % lb_port
    pcm = load_wav(os.path.join(GOLDEN, "fr_6s_24k.wav"))
    try:
        async def run():
            # wait until the proxy answers
            for _ in range(100):
                try:
                    ws = await connect(url)
                    await recv(ws)
                    await ws.close()
                    break
                except Exception:
                    await asyncio.sleep(0.1)
            await asyncio.sleep(1.5)  # both instances seen healthy
            held = []
            for _ in range(4):
                ws = await connect(url)
                check((await recv(ws))["type"] == "Ready", "ready through the proxy")
                held.append(ws)
            ua, ub = used(a), used(b)
            check((ua, ub) == (2, 2), "leastconn spread: %d and %d streams" % (ua, ub))
            msgs = await stream_file(url, pcm, 9, 10)
            ref, _ = reference(TINY, np.concatenate([pcm, np.zeros(10 * FRAME, np.float32)]))
            compare(msgs, ref, "stream through haproxy")
            for ws in held:
                await ws.close()
            # stop instance a: it drains (healthz 503), then exits; new streams go to b
            a.proc.send_signal(15)
            a.proc.wait(30)
            await asyncio.sleep(1.5)
            held = []
            for _ in range(4):
                ws = await connect(url)
                m = await recv(ws)
                check(m["type"] == "Ready", "after stopping one instance: %r" % m)
                held.append(ws)
            check(used(b) == 4, "instance b has %d streams, want 4" % used(b))
            for ws in held:
                await ws.close()
        asyncio.run(run())
        print("ok: haproxy spreads streams over two instances and fails over")
    finally:
        lb.terminate()
        lb.wait(10)
        a.stop()
        check(b.stop() == 0, "server b exit status")


if __name__ == "__main__":
    main()
