#!/usr/bin/env bash
# Streaming input and output of `kstt transcribe` (issue 11, items 2 and 3), on the golden tiny
# model (KSTT_GOLDEN_DIR/stt_tiny), which is fast enough for an hour of audio:
#   1. raw PCM on standard input (s16le, f32le, stereo) gives the same transcript as the WAV;
#      a WAV and a FLAC piped into standard input too.
#   2. --format jsonl: one event per line, every line JSON, words/end_word/end events, and with
#      --vad end_of_turn events; the words are those of --format json.
#   3. first words on stdout before the input ends: a writer feeds 10 s of audio into a pipe
#      and keeps the pipe open until words appeared on stdout (an ordering check, not a speed
#      check; the latency is printed for information).
# The hour of audio in flat memory is tests/e2e/test_stream_memory_slow.sh (label slow: it is
# kept out of the sanitizer run, whose allocator quarantine would make RSS meaningless).
set -euo pipefail

BIN=${KSTT_BIN:?KSTT_BIN must point to the kstt binary}
G=${KSTT_GOLDEN_DIR:?KSTT_GOLDEN_DIR must point to the golden vectors}
PY=${PYTHON:-python3}
MODEL=$G/stt_tiny
BRIA=$G/bria_10s_24k.wav
FR=$G/fr_6s_24k.wav
T=$(mktemp -d)
cleanup() {
    jobs -p | xargs -r kill 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT

# shellcheck source=lib/tap.sh
source "${KSTT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib/tap.sh"
K() { "$BIN" transcribe -q --threads 1 --model "$MODEL" "$@"; }

# ---- 1. raw PCM and containers through standard input ---------------------------------
K --format json "$BRIA" >"$T/file.json"
# The golden WAV holds float samples (bria_10s_24k.f32 is the same samples, raw); the s16
# versions are written as raw and as a 16-bit WAV from the same integers.
"$PY" - "$G/bria_10s_24k.f32" "$T" <<'PYEOF'
import struct, sys
raw = open(sys.argv[1], "rb").read(); n = len(raw) // 4; d = sys.argv[2]
f = struct.unpack("<%df" % n, raw)
s16 = [max(-32768, min(32767, int(round(v * 32768)))) for v in f]
data = struct.pack("<%dh" % n, *s16)
open(d + "/bria.f32", "wb").write(raw)
open(d + "/bria.s16", "wb").write(data)
st = bytearray()
for v in s16:
    st += struct.pack("<hh", v, v)  # both channels equal: the mono mix is the signal itself
open(d + "/bria_stereo.s16", "wb").write(bytes(st))
with open(d + "/bria16.wav", "wb") as w:
    w.write(b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, 24000, 48000, 2, 16) + b"data" +
            struct.pack("<I", len(data)) + data)
PYEOF
K --raw s16le --rate 24000 - <"$T/bria.s16" >"$T/s16.txt"
K "$T/bria16.wav" >"$T/file16.txt"
[[ -s $T/s16.txt ]] || fail "no transcript of raw s16le"
cmp -s "$T/s16.txt" "$T/file16.txt" || fail "raw s16le on stdin differs from the 16-bit WAV"
cat "$T/bria_stereo.s16" | K --raw s16le --rate 24000 --channels 2 - >"$T/st.txt"
cmp -s "$T/st.txt" "$T/file16.txt" || fail "raw stereo differs from the mono WAV"
K "$BRIA" >"$T/file.txt"
cat "$T/bria.f32" | K --raw f32le --rate 24000 - >"$T/f32.txt"
cmp -s "$T/f32.txt" "$T/file.txt" || fail "raw f32le through a pipe differs from the float WAV"
cat "$BRIA" | K --format json - >"$T/pipe.json"
sed 's/"file": "-"/"file": "'"${BRIA//\//\\/}"'"/' "$T/pipe.json" | cmp -s - "$T/file.json" ||
    fail "a WAV through a pipe differs from the file"
if command -v sox >/dev/null 2>&1; then
    sox "$BRIA" "$T/bria.flac" 2>/dev/null
    cat "$T/bria.flac" | K - >"$T/flac.txt"
    cmp -s "$T/flac.txt" "$T/file.txt" || fail "FLAC through a pipe differs from the WAV"
fi
ok "standard input: raw s16le/f32le/stereo and WAV/FLAC through a pipe = the file's transcript"

# ---- 2. JSON lines -------------------------------------------------------------------
K --format jsonl --vad --eot-threshold 0.5 "$BRIA" "$FR" >"$T/ev.jsonl"
K --format json "$BRIA" "$FR" >"$T/multi.json"
"$PY" - "$T/ev.jsonl" "$T/multi.json" "$BRIA" "$FR" <<'PYEOF'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
events = [json.loads(l) for l in lines]  # every line is one JSON object
docs = json.load(open(sys.argv[2], encoding="utf-8"))
files = sys.argv[3:]
assert [e["file"] for e in events if e["type"] == "file"] == files
assert [e["file"] for e in events if e["type"] == "end"] == files
for doc in docs:
    i = [k for k, e in enumerate(events) if e["type"] == "file" and e["file"] == doc["file"]][0]
    j = [k for k, e in enumerate(events) if e["type"] == "end" and e["file"] == doc["file"]][0]
    words = [e for e in events[i + 1:j] if e["type"] == "word"]
    assert [w["text"] for w in words] == [w["word"] for w in doc["words"]], doc["file"]
    assert all(abs(w["start"] - d["start"]) < 1e-9 for w, d in zip(words, doc["words"]))
    for e in events[i + 1:j]:
        assert e["type"] in ("word", "end_word", "end_of_turn"), e
        if e["type"] == "end_of_turn":
            assert len(e["prs"]) == 4 and e["prs"][2] >= 0.5, e
types = {e["type"] for e in events}
assert {"word", "end_word", "file", "end"} <= types, types
PYEOF
[[ $? -eq 0 ]] || fail "jsonl"
ok "jsonl: one JSON event per line, the words of --format json, file/end events"

# ---- 3. first words before the input ends -----------------------------------------------
mkfifo "$T/fifo"
K --raw s16le --rate 24000 - <"$T/fifo" >"$T/live.txt" &
KPID=$!
"$PY" - "$T/fifo" "$T/bria.s16" "$T/live.txt" "$T/latency" <<'PYEOF'
import os, sys, time
fifo, src, out, lat = sys.argv[1:]
data = open(src, "rb").read()
f = open(fifo, "wb", buffering=0)
t0 = time.monotonic()
step = 24000 * 2 // 10  # 0.1 s of audio per write, 4x faster than real time
t_first, audio_first = -1.0, -1.0
for k in range(0, len(data), step):
    f.write(data[k:k + step])
    time.sleep(0.025)
    if t_first < 0 and os.path.getsize(out) > 0:
        t_first, audio_first = time.monotonic() - t0, (k + step) / 48000.0
t_end = time.monotonic()
# Keep the pipe open (the input has not ended) until words appear, for at most 60 s.
while time.monotonic() - t_end < 60 and os.path.getsize(out) == 0:
    time.sleep(0.05)
seen = os.path.getsize(out) > 0
t_seen = time.monotonic()
f.close()
if t_first < 0:
    t_first, audio_first = t_seen - t0, len(data) / 48000.0
open(lat, "w").write("%d %.2f %.2f %.1f\n" % (seen, t_end - t0, t_first, audio_first))
PYEOF
wait $KPID || fail "live transcription failed"
read -r seen t_end t_first audio_first <"$T/latency"
[[ $seen -eq 1 ]] || fail "no words on stdout while the input was still open"
[[ -s $T/live.txt ]] || fail "no transcript"
ok "first words on stdout before the input ended (first word after ${t_first} s, when ${audio_first} s of the 10 s were written)"

echo "all $n_ok streaming checks passed"
