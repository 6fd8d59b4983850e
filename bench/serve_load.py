#!/usr/bin/python3
"""Load benchmark for `kstt serve`: how many concurrent real-time streams a model keeps up with.

For each stream count N it starts `kstt serve` on loopback, runs N clients that each send
1920-sample Audio messages at real-time pace (staggered over one frame), and records for every
frame the lag between sending its last sample and receiving its Step (models with VAD heads;
otherwise a Marker after each frame, whose lag is taken from the send time of the frame D
steps later, i.e. beyond the model's own delay). A count "keeps up" when the p99 lag over all
streams (the first 2 s excluded) is below --limit (250 ms). Reports p50/p99/max lag, the p99
of the second half alone (past a start-up transient), server CPU use (cores), the clients' own
CPU use, peak RSS, the server's streams per model step and mean step time (/metrics) per
count, the machine's memory read bandwidth measured just before (kstt's own probe: the limit
of a weight-bound step), and the largest count that keeps up. --serve-arg passes options to
kstt serve.

    nice -n 10 bench/serve_load.py --kstt build/kstt --model DIR --streams 4,8,10,12,14 \\
        --seconds 30 [--audio FILE.wav] [--json out.json]

Needs Debian's python3-websockets, python3-msgpack, python3-numpy (and python3-soundfile for
--audio). Not a test: numbers depend on the machine and on what else runs on it."""
import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time

import msgpack
import numpy as np
import websockets

FRAME = 1920


def proc_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return (int(parts[11]) + int(parts[12])) / tck


def proc_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0


def pack_frames(pcm):
    """The stream's messages, packed before the clock starts: the clients share the server's
    cores, so their own work per frame is kept to the send itself."""
    n = len(pcm) // FRAME
    audio = [msgpack.packb({"type": "Audio", "pcm": pcm[k * FRAME:(k + 1) * FRAME].tolist()},
                           use_single_float=True) for k in range(n)]
    return audio, [msgpack.packb({"type": "Marker", "id": k}) for k in range(n)]


async def client(url, msgs, t0, lags, delay, warm_frames):
    ws = await websockets.connect(url, extra_headers={"kyutai-api-key": "public_token"},
                                  max_size=None, compression=None)
    first = msgpack.unpackb(await ws.recv())
    if first.get("type") != "Ready":
        raise RuntimeError("first message %r" % first)
    audio, marker = msgs
    n = len(audio)
    sent = [None] * n
    steps = 0
    use_markers = None

    async def sender():
        for k in range(n):
            due = t0 + (k + 1) * FRAME / 24000.0
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            await ws.send(audio[k])
            sent[k] = time.monotonic()
            await ws.send(marker[k])

    task = asyncio.create_task(sender())
    try:
        while True:
            m = msgpack.unpackb(await asyncio.wait_for(ws.recv(), 60))
            now = time.monotonic()
            if m["type"] == "Step":
                use_markers = False
                k = steps
                steps += 1
                if k >= warm_frames and sent[k] is not None:
                    lags.append((k, now - sent[k]))
                if steps >= n:
                    break
            elif m["type"] == "Marker" and use_markers is not False:
                k = m["id"] + delay  # the frame whose processing made the marker due
                if k < n and k >= warm_frames and sent[k] is not None:
                    lags.append((k, now - sent[k]))
                if m["id"] + delay >= n - 1:
                    break
            elif m["type"] == "Error":
                raise RuntimeError(m["message"])
    finally:
        task.cancel()
        await ws.close()


def step_stats(port):
    """Streams per model step and mean step duration (ms) over the run, from /metrics."""
    import urllib.request
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read()
    val = {}
    for line in text.decode().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("kstt_model_steps_total", "kstt_stream_frames_total",
                                            "asr_model_step_duration_sum",
                                            "asr_model_step_duration_count"):
            val[parts[0]] = float(parts[1])
    steps = val.get("kstt_model_steps_total", 0)
    n = val.get("asr_model_step_duration_count", 0)
    return (val.get("kstt_stream_frames_total", 0) / steps if steps else 0.0,
            1000 * val.get("asr_model_step_duration_sum", 0) / n if n else 0.0)


def run_count(args, n, pcm_all):
    cmd = [args.kstt, "serve", "--model", args.model, "--port", "0", "--max-streams", str(n),
           "-q"] + (["--threads", str(args.threads)] if args.threads else []) + args.serve_arg
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        port = int(re.search(r":(\d+)$", line.strip()).group(1))
        url = "ws://127.0.0.1:%d/api/asr-streaming" % port
        lags = []
        secs = args.seconds
        msgs = [pack_frames(np.roll(pcm_all, i * 7919)[:int(secs * 24000)]) for i in range(n)]

        async def all_clients():
            t0 = time.monotonic() + 0.5
            await asyncio.gather(*[client(url, p, t0 + i * 0.08 / n, lags, args.delay,
                                          int(2 * 12.5)) for i, p in enumerate(msgs)])

        cpu0, w0, c0 = proc_cpu_seconds(proc.pid), time.monotonic(), time.process_time()
        asyncio.run(all_clients())
        wall = time.monotonic() - w0
        cpu = (proc_cpu_seconds(proc.pid) - cpu0) / wall
        client_cpu = (time.process_time() - c0) / wall
        rss = proc_rss_mb(proc.pid)
        batch, step_ms = step_stats(port)
    finally:
        proc.terminate()
        proc.wait(30)
    frame = np.array([k for k, _ in lags])
    lags = np.array([v for _, v in lags]) * 1000
    late = lags[frame >= frame.max() / 2]  # the second half: past any start-up transient
    return {"streams": n, "p50_ms": float(np.percentile(lags, 50)),
            "p99_ms": float(np.percentile(lags, 99)), "max_ms": float(lags.max()),
            "p99_second_half_ms": float(np.percentile(late, 99)),
            "frames": int(len(lags)), "cpu_cores": cpu, "client_cpu_cores": client_cpu,
            "peak_rss_mb": rss, "mean_batch": batch, "mean_step_ms": step_ms,
            "keeps_up": bool(np.percentile(lags, 99) < args.limit)}


def read_probe(kstt):
    """The machine's memory read bandwidth now (GB/s, all threads), from kstt's own probe: the
    limit a weight-bound step runs against (the host's varies from minute to minute)."""
    try:
        out = subprocess.run([kstt, "bench", "matmul", "--types", "q8_0", "--batch", "1",
                              "--shapes", "out_proj", "--mb", "64", "--reps", "1"],
                             capture_output=True, text=True, timeout=120).stdout
        m = re.search(r"read probe ([0-9.]+) GB/s", out)
        return float(m.group(1)) if m else float("nan")
    except (OSError, subprocess.SubprocessError):
        return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kstt", default="kstt")
    ap.add_argument("--model", required=True)
    ap.add_argument("--streams", default="1,2,4,8,10,12,16")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--delay", type=int, default=6, help="model delay D (marker mode)")
    ap.add_argument("--limit", type=float, default=250.0, help="p99 lag limit, ms")
    ap.add_argument("--audio", help="WAV at 24 kHz (default: noise-like synthetic speech)")
    ap.add_argument("--serve-arg", action="append", default=[],
                    help="extra kstt serve argument (repeat: --serve-arg=--batch-wait-ms "
                         "--serve-arg=0)")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.audio:
        import soundfile
        pcm, sr = soundfile.read(args.audio, dtype="float32", always_2d=True)
        pcm = pcm[:, 0]
    else:
        rng = np.random.RandomState(0)
        t = np.arange(int(24000 * 7)) / 24000
        pcm = (0.1 * rng.randn(len(t)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(
            np.float32)
    reps = int(np.ceil((args.seconds + 2) * 24000 / len(pcm)))
    pcm = np.tile(pcm, reps)
    rows = []
    print("%8s %9s %9s %9s %9s %9s %10s %11s %10s %8s %10s %s" % (
        "streams", "p50 ms", "p99 ms", "max ms", "p99 2nd", "cpu", "client cpu", "peak RSS MB",
        "mean batch", "step ms", "probe GB/s", "keeps up"))
    for n in [int(x) for x in args.streams.split(",")]:
        probe = read_probe(args.kstt)
        r = run_count(args, n, pcm)
        r["read_probe_gbs"] = probe
        rows.append(r)
        print("%8d %9.1f %9.1f %9.1f %9.1f %9.2f %10.2f %11.0f %10.2f %8.1f %10.1f %s" % (
            n, r["p50_ms"], r["p99_ms"], r["max_ms"], r["p99_second_half_ms"], r["cpu_cores"],
            r["client_cpu_cores"], r["peak_rss_mb"], r["mean_batch"], r["mean_step_ms"], probe,
            r["keeps_up"]), flush=True)
    ok = [r["streams"] for r in rows if r["keeps_up"]]
    print("largest count that keeps up (p99 < %.0f ms): %s" % (args.limit,
                                                             max(ok) if ok else "none"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model, "seconds": args.seconds, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
