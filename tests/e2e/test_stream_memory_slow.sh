#!/usr/bin/env bash
# Memory stays flat whatever the input's length (issue 11, item 2): `kstt transcribe` on 1 hour
# of audio (the golden 10 s clip 360 times, on the golden tiny model) through standard input
# (raw s16le) and from a WAV file: the peak RSS must stay within BOUND_KB (4096 KB) of the
# peak RSS of 1 minute of the same audio, and the hour must be transcribed to its end. Peak RSS
# is the child's ru_maxrss (getrusage RUSAGE_CHILDREN, in a Python wrapper).
# Measured (Release, --threads 1): about 17.5 MB for 1 minute and for 1 hour alike, stdin and
# file; the hour costs about 12 s of CPU per run (~25 s for the test). Label slow: not run
# under ASan (its quarantine grows RSS with every free).
set -euo pipefail

BIN=${KSTT_BIN:?KSTT_BIN must point to the kstt binary}
G=${KSTT_GOLDEN_DIR:?KSTT_GOLDEN_DIR must point to the golden vectors}
PY=${PYTHON:-python3}
MODEL=$G/stt_tiny
BOUND_KB=${BOUND_KB:-4096}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# shellcheck source=lib/tap.sh
source "${KSTT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/e2e/lib/tap.sh"

# The clip as raw s16le (from the golden float samples).
"$PY" - "$G/bria_10s_24k.f32" "$T/bria.s16" <<'PYEOF'
import struct, sys
raw = open(sys.argv[1], "rb").read(); n = len(raw) // 4
f = struct.unpack("<%df" % n, raw)
open(sys.argv[2], "wb").write(struct.pack("<%dh" % n, *[max(-32768, min(32767, int(round(v * 32768)))) for v in f]))
PYEOF

# ---- one hour in flat memory -------------------------------------------------------
cat >"$T/rss.py" <<'PYEOF'
# usage: rss.py MODE REPEATS OUT -- CMD...   MODE stdin: the raw clip REPEATS times on stdin;
# MODE file: CMD reads the WAV written beforehand. Prints the child's peak RSS in KB.
import resource, subprocess, sys
mode, reps, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cmd = sys.argv[sys.argv.index("--") + 1:]
clip = open(sys.argv[0].replace("rss.py", "bria.s16"), "rb").read()
with open(out, "wb") as o:
    if mode == "stdin":
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=o)
        for _ in range(reps):
            p.stdin.write(clip)
        p.stdin.close()
    else:
        p = subprocess.Popen(cmd, stdout=o)
    rc = p.wait()
if rc != 0:
    sys.exit("command failed: %d" % rc)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PYEOF
KARGS=(transcribe -q --threads 1 --model "$MODEL" --raw s16le --rate 24000 -)
r_min=$("$PY" "$T/rss.py" stdin 6 "$T/min.txt" -- "$BIN" "${KARGS[@]}")
r_hour=$("$PY" "$T/rss.py" stdin 360 "$T/hour.txt" -- "$BIN" "${KARGS[@]}")
words_min=$(wc -w <"$T/min.txt")
words_hour=$(wc -w <"$T/hour.txt")
echo "# stdin: peak RSS 1 min $r_min KB, 1 h $r_hour KB; words $words_min / $words_hour"
[[ $words_hour -gt $((words_min * 30)) ]] || fail "the hour was not transcribed to the end"
[[ $r_hour -le $((r_min + BOUND_KB)) ]] ||
    fail "stdin: 1 h peak RSS $r_hour KB > 1 min $r_min KB + $BOUND_KB KB"
# The same hour from a WAV file (written here: header + the clip 360 times).
"$PY" - "$T/bria.s16" "$T/hour.wav" 360 "$T/minute.wav" 6 <<'PYEOF'
import struct, sys
clip = open(sys.argv[1], "rb").read()
for path, reps in ((sys.argv[2], int(sys.argv[3])), (sys.argv[4], int(sys.argv[5]))):
    n = len(clip) * reps
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + n) + b"WAVEfmt " +
                struct.pack("<IHHIIHH", 16, 1, 1, 24000, 48000, 2, 16) + b"data" + struct.pack("<I", n))
        for _ in range(reps):
            f.write(clip)
PYEOF
f_min=$("$PY" "$T/rss.py" file 0 "$T/fmin.txt" -- "$BIN" transcribe -q --threads 1 --model "$MODEL" "$T/minute.wav")
f_hour=$("$PY" "$T/rss.py" file 0 "$T/fhour.txt" -- "$BIN" transcribe -q --threads 1 --model "$MODEL" "$T/hour.wav")
rm -f "$T/hour.wav"
echo "# file: peak RSS 1 min $f_min KB, 1 h $f_hour KB"
cmp -s "$T/fhour.txt" "$T/hour.txt" || fail "the hour from the file differs from the hour on stdin"
[[ $f_hour -le $((f_min + BOUND_KB)) ]] ||
    fail "file: 1 h peak RSS $f_hour KB > 1 min $f_min KB + $BOUND_KB KB"
ok "1 hour in flat memory: stdin $r_hour KB, file $f_hour KB (1 minute: $r_min / $f_min KB; bound +$BOUND_KB KB)"

echo "all $n_ok memory checks passed"
