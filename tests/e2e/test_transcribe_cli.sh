#!/usr/bin/env bash
# End-to-end tests of `kstt transcribe` on the golden tiny model (KSTT_GOLDEN_DIR/stt_tiny).
#
# The oracle is the golden streaming run (stt_tiny_asr_events.json, golden README 7 and 7.1):
# the JSON output must list exactly its Word events (empty ones left out), with start_time minus
# the 1.04 s silence prefix (clamped at 0), ends by the rule of cli/transcript.h (the next
# EndWord's stop when it comes before the next Word, else the next Word's start), followed by the
# word still pending when input ends (which flush reports and the reference never does), whose
# tokens come from the golden token sequence (asr.CLIP.tokens) and whose text is decoded with the
# golden .vocab. Then: the same through stdin, txt/srt/vtt agree with the JSON, several files,
# -o, --vad against the golden Step events, and every error path with its exit status.
set -euo pipefail

BIN=${KSTT_BIN:?KSTT_BIN must point to the kstt binary}
G=${KSTT_GOLDEN_DIR:?KSTT_GOLDEN_DIR must point to the golden vectors}
PY=${PYTHON:-python3}
MODEL=$G/stt_tiny
BRIA=$G/bria_10s_24k.wav
FR=$G/fr_6s_24k.wav
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# shellcheck source=lib/tap.sh
source "${KSTT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib/tap.sh"

# run NAME EXPECTED_STATUS ARGS...: kstt transcribe ARGS (lib/tap.sh run_status).
run() { run_status "$1" "$2" "$BIN" transcribe "${@:3}"; }

# ---- the checker (Python, standard library only) ---------------------------------------
cat >"$T/check.py" <<'PYEOF'
import json, math, re, struct, sys

G = sys.argv[1]
PREFIX = 13 / 12.5  # ceil(1.0 s * 12.5) frames of silence before the audio
DELAY = 6

def golden_tokens(clip):
    with open(f"{G}/stt_tiny_ref.safetensors", "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    meta = json.loads(data[8:8 + n])[f"asr.{clip}.tokens"]
    a, b = meta["data_offsets"]
    raw = data[8 + n + a:8 + n + b]
    return list(struct.unpack(f"<{len(raw) // 4}i", raw))

def decode(ids):
    with open(f"{G}/stt_tiny/tokenizer_tiny_en_fr_audio_128.vocab", encoding="utf-8") as f:
        pieces = [line.split("\t")[0] for line in f.read().splitlines()]
    text = "".join(pieces[i] for i in ids if i > 3)
    if text.startswith("\u2581"):
        text = text[1:]
    return text.replace("\u2581", " ")

def clip_time(t):
    return max(0.0, t - PREFIX)

def expected(clip):
    """[(word, start, end or None)] from the golden events plus the pending word."""
    with open(f"{G}/stt_tiny_asr_events.json", encoding="utf-8") as f:
        events = json.load(f)[clip]["events"]
    seq = [(e["type"], e) for e in events if e["type"] in ("Word", "EndWord")]
    # The word the reference leaves pending: tokens after the last boundary (0 or 3).
    toks = golden_tokens(clip)
    pending, last_stop = [], 0.0
    for i, tok in enumerate(toks):
        n = i + 1
        if n < DELAY:
            continue
        if tok in (0, 3):
            pending = []
        else:
            pending.append(tok)
        if tok == 0:
            last_stop = (n - DELAY) / 12.5
    words = []  # [word, start, end]
    open_ = False
    for kind, e in seq:
        if kind == "Word":
            if not e["text"]:
                continue  # kstt does not report empty words
            if open_:
                words[-1][2] = max(words[-1][1], clip_time(e["start_time"]))
            words.append([e["text"], clip_time(e["start_time"]), None])
            open_ = True
        elif open_:
            words[-1][2] = max(words[-1][1], clip_time(e["stop_time"]))
            open_ = False
    if pending and decode(pending):
        if open_:
            words[-1][2] = max(words[-1][1], clip_time(last_stop))
        words.append([decode(pending), clip_time(last_stop), None])
    return words

def check_json(clip, path, name):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if isinstance(doc, list):
        doc = [d for d in doc if d["file"] == name][0]
    assert doc["file"] == name, (doc["file"], name)
    want = expected(clip)
    got = doc["words"]
    assert len(got) == len(want), f"{clip}: {len(got)} words, golden {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        assert g["word"] == w[0], f"{clip} word {i}: {g['word']!r} vs golden {w[0]!r}"
        assert abs(g["start"] - round(w[1], 2)) < 1e-9, f"{clip} word {i} start {g} vs {w}"
        if w[2] is not None:
            assert abs(g["end"] - round(w[2], 2)) < 1e-9, f"{clip} word {i} end {g} vs {w}"
        assert g["end"] >= g["start"], f"{clip} word {i}: end before start {g}"
    assert doc["text"] == " ".join(w[0] for w in want), doc["text"]
    return doc

def check_vad(clip, path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    with open(f"{G}/stt_tiny_asr_events.json", encoding="utf-8") as f:
        steps = [e for e in json.load(f)[clip]["events"] if e["type"] == "Step"]
    want = {round((s["step_idx"] - 13) / 12.5, 2): s["prs"] for s in steps if s["step_idx"] >= 13}
    got = {v["time"]: v["prs"] for v in doc["vad"]}
    assert len(got) == len(doc["vad"]) and len(got) >= len(want), (len(got), len(want))
    for t, prs in want.items():
        assert t in got, f"vad: no entry at {t}"
        for a, b in zip(got[t], prs):
            assert abs(a - b) < 2e-3, f"vad at {t}: {got[t]} vs golden {prs}"
    assert min(got) == 0.0

def text_of(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)["text"]

def check_subtitles(kind, path, json_path):
    """Valid SRT/VTT: numbering, timestamps in order, and cues made of consecutive words of the
    JSON (a Word can hold spaces) in <= 2 lines of <= 42 characters lasting <= 7 s, unless the
    cue is a single word."""
    with open(json_path, encoding="utf-8") as f:
        words = [w["word"] for w in json.load(f)["words"]]
    with open(path, encoding="utf-8") as f:
        body = f.read()
    if kind == "vtt":
        assert body.startswith("WEBVTT\n\n"), body[:20]
        body = body[len("WEBVTT\n\n"):]
    ts = r"(\d\d):(\d\d):(\d\d)" + ("," if kind == "srt" else r"\.") + r"(\d\d\d)"
    sec = lambda m, k: int(m[k]) * 3600 + int(m[k + 1]) * 60 + int(m[k + 2]) + int(m[k + 3]) / 1000
    blocks = body.split("\n\n")
    assert blocks[-1] == "", "file must end with a blank line"
    prev_end, at = 0.0, 0
    for i, block in enumerate(blocks[:-1]):
        lines = block.split("\n")
        if kind == "srt":
            assert lines[0] == str(i + 1), f"cue number {lines[0]!r}"
            lines = lines[1:]
        m = re.fullmatch(ts + " --> " + ts, lines[0])
        assert m, f"timing line {lines[0]!r}"
        g = m.groups()
        start, end = sec(g, 0), sec(g, 4)
        assert prev_end - 1e-9 <= start < end, (prev_end, start, end)
        prev_end = end
        cue = lines[1:]
        assert 1 <= len(cue) <= 2, cue
        text, n = " ".join(cue), 0
        while " ".join(words[at:at + n]) != text:
            n += 1
            assert at + n <= len(words), f"cue {cue} is not the next words {words[at:at + 3]}"
        at += n
        if n > 1:
            assert all(len(l) <= 42 for l in cue), cue
            assert end - start <= 7.0 + 1e-9, (start, end)
    assert at == len(words), f"{len(words) - at} words missing from the cues"

cmd = sys.argv[2]
if cmd == "json":
    check_json(sys.argv[3], sys.argv[4], sys.argv[5])
elif cmd == "vad":
    check_vad(sys.argv[3], sys.argv[4])
elif cmd == "text":
    with open(sys.argv[3], encoding="utf-8") as f:
        assert f.read() == text_of(sys.argv[4]) + "\n"
elif cmd == "timestamps":
    with open(sys.argv[4], encoding="utf-8") as f:
        doc = json.load(f)
    with open(sys.argv[3], encoding="utf-8") as f:
        lines = f.read().splitlines()
    want = [f"[{w['start']:.2f} - {w['end']:.2f}] {w['word']}" for w in doc["words"]]
    assert lines == want, (lines[:3], want[:3])
elif cmd == "subtitles":
    check_subtitles(sys.argv[3], sys.argv[4], sys.argv[5])
elif cmd == "multi":
    with open(sys.argv[3], encoding="utf-8") as f:
        doc = json.load(f)
    assert isinstance(doc, list) and [d["file"] for d in doc] == sys.argv[4:], doc
    for d in doc:
        check_json("bria" if "bria" in d["file"] else "fr", sys.argv[3], d["file"])
else:
    sys.exit("unknown check " + cmd)
PYEOF
check() { "$PY" "$T/check.py" "$G" "$@" || fail "check $*"; }

# ---- golden transcripts ------------------------------------------------------------------
run bria 0 --model "$MODEL" "$BRIA" --format json
[[ -s $T/bria.err ]] && fail "bria: unexpected stderr: $(cat "$T/bria.err")"
check json bria "$T/bria.out" "$BRIA"
ok "json of bria_10s_24k.wav = golden words and times (prefix subtracted) + pending word"

run fr 0 --model "$MODEL" "$FR" --format=json --threads 2
check json fr "$T/fr.out" "$FR"
ok "json of fr_6s_24k.wav = golden words, --format=VALUE and --threads"

run stdin 0 --model "$MODEL" --format json - <"$BRIA"
check json bria "$T/stdin.out" "-"
ok "audio from standard input"

run txt 0 --model "$MODEL" "$BRIA"
check text "$T/txt.out" "$T/bria.out"
run ts 0 --model "$MODEL" --timestamps "$FR"
check timestamps "$T/ts.out" "$T/fr.out"
ok "txt and txt --timestamps agree with the json"

run srt 0 --model "$MODEL" --format srt "$BRIA"
check subtitles srt "$T/srt.out" "$T/bria.out"
run vtt 0 --model "$MODEL" --format vtt "$FR"
check subtitles vtt "$T/vtt.out" "$T/fr.out"
[[ $(head -n 1 "$T/srt.out") == 1 ]] || fail "srt starts with cue 1"
ok "srt and vtt: valid cues that spell the transcript"

run vad 0 --model "$MODEL" --format json --vad "$BRIA"
check vad bria "$T/vad.out"
check json bria "$T/vad.out" "$BRIA"
grep -q '"vad"' "$T/bria.out" && fail "vad without --vad"
ok "--vad: golden end-of-turn probabilities per step"

# ---- several files, -o -------------------------------------------------------------------
run multi 0 --model "$MODEL" --format json "$BRIA" "$FR"
check multi "$T/multi.out" "$BRIA" "$FR"
run multitxt 0 --model "$MODEL" "$BRIA" "$FR"
[[ $(grep -c '^==> .* <==$' "$T/multitxt.out") -eq 2 ]] || fail "txt headers"
sed -n 2p "$T/multitxt.out" | cmp -s - "$T/txt.out" || fail "txt of the first file"
ok "several files: a json array, txt with one header per file"

run outfile 0 --model "$MODEL" -o "$T/out.json" --format json "$BRIA"
[[ -s $T/outfile.out ]] && fail "-o: stdout should be empty"
cmp -s "$T/out.json" "$T/bria.out" || fail "-o: file differs from stdout output"
run outeq 0 --model "$MODEL" --output="$T/out.vtt" --format vtt "$FR"
cmp -s "$T/out.vtt" "$T/vtt.out" || fail "--output="
ok "-o and --output= write the same bytes as stdout"

# ---- errors ------------------------------------------------------------------------------
run missing 1 --model "$MODEL" "$T/nope.wav"
expect_err missing "$T/nope.wav"
: >"$T/empty.wav"
run empty 1 --model "$MODEL" "$T/empty.wav"
expect_err empty "$T/empty.wav"
"$PY" -c 'import sys, wave
w = wave.open(sys.argv[1], "wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(24000)
w.writeframes(b""); w.close()' "$T/zero.wav"
run zero 1 --model "$MODEL" "$T/zero.wav"
expect_err zero "$T/zero.wav"
expect_err zero "no audio samples"
head -c 44 "$BRIA" >"$T/header_only.wav"
run cut 1 --model "$MODEL" "$T/header_only.wav"
expect_err cut "$T/header_only.wav"
echo "not audio at all" >"$T/text.wav"
run notaudio 1 --model "$MODEL" "$T/text.wav"
expect_err notaudio "$T/text.wav"
[[ -s $T/notaudio.out ]] && fail "failed input must print nothing on stdout"
run partial 1 --model "$MODEL" --format json "$T/nope.wav" "$FR"
expect_err partial "$T/nope.wav: file not found"
expect_err partial "1 of 2 inputs cannot be read; nothing was transcribed"
[[ -s $T/partial.out ]] && fail "inputs are checked before the model loads: nothing transcribed"
run noout 1 --model "$MODEL" -o "$T/never.txt" "$T/nope.wav"
[[ -e $T/never.txt ]] && fail "-o file created although nothing was transcribed"
run badout 1 --model "$MODEL" -o "$T/no/such/dir/x.txt" "$BRIA"
expect_err badout "$T/no/such/dir/x.txt"
st=0
"$BIN" transcribe -q --model "$MODEL" "$FR" >/dev/full 2>"$T/full.err" || st=$?
[[ $st -eq 1 ]] || fail "stdout on a full disk: exit status $st, expected 1"
[[ $(grep -c "cannot write to standard output" "$T/full.err") -eq 1 ]] ||
    fail "stdout on a full disk: want the error once: $(cat "$T/full.err")"
ok "unreadable, empty, zero-sample and non-audio inputs, unwritable output: fail, named once"

mkdir -p "$T/nomodel"
run nomodel 1 --model "$T/nomodel" "$BRIA"
expect_err nomodel "$T/nomodel"
cp -r "$MODEL" "$T/badmodel"
chmod -R u+w "$T/badmodel"
echo '{"dim": 64' >"$T/badmodel/config.json"
run badmodel 1 --model "$T/badmodel" "$BRIA"
expect_err badmodel "config.json"
ok "model errors: exit 1 with the path in the message"

run noargs 2
run badopt 2 --bogus "$BRIA"
expect_err badopt "unknown option '--bogus'"
run badfmt 2 --format doc "$BRIA"
expect_err badfmt "unknown format 'doc'"
run novalue 2 "$BRIA" --model
expect_err novalue "--model needs a value"
run srt2 2 --format srt "$BRIA" "$FR"
run vadtxt 2 --vad "$BRIA"
run threads 2 --threads 0 "$BRIA"
run stdin2 2 - -
run help 0 --help
grep -q "usage: kstt transcribe" "$T/help.out" || fail "--help on stdout"
ok "usage errors exit 2"

# ---- progress bar only on a terminal -----------------------------------------------------
[[ -s $T/bria.err ]] && fail "no progress output when stderr is not a terminal"
if command -v script >/dev/null 2>&1; then
    script -qec "$(printf '%q ' "$BIN" transcribe --model "$MODEL" "$BRIA") >/dev/null" \
        "$T/tty.log" >/dev/null 2>&1 </dev/null || fail "under a pseudo-terminal"
    grep -q "bria_10s_24k.wav \[#*\] 100%" "$T/tty.log" || fail "no progress bar on a terminal"
    script -qec "$(printf '%q ' "$BIN" transcribe -q --model "$MODEL" "$FR") >/dev/null" \
        "$T/quiet.log" >/dev/null 2>&1 </dev/null || fail "-q under a pseudo-terminal"
    grep -q '\[#' "$T/quiet.log" && fail "-q still draws the progress bar"
    ok "progress bar drawn on a terminal only"
fi

echo "all $n_ok checks passed"
