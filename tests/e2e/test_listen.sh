#!/usr/bin/env bash
# kstt listen on a virtual microphone (tests/e2e/lib/vmic.sh) with the demo model:
#   1. the words (text and start times) equal kstt transcribe's on the same samples;
#   2. --once returns by itself at the end of turn and prints the utterance;
#   3. SIGINT mid-utterance (0.2 s after the last word, inside the model's 0.5 s delay)
#      flushes: the last word is printed and kstt exits 0.
# Skips (77) only where PulseAudio cannot start.
set -euo pipefail
# Under AddressSanitizer: ALSA's and PulseAudio's plugins (dlopen'ed by PortAudio, unloaded at
# exit) leave allocations that LeakSanitizer reports from an "<unknown module>"; memory errors
# are still checked, leaks of kstt's own code are covered by the other tests.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
# shellcheck source=lib/vmic.sh
source "$KSTT_SOURCE_DIR/tests/e2e/lib/vmic.sh"
model=$KSTT_SOURCE_DIR/models/kstt-demo-en
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    vmic_stop
    rm -rf "$tmp"
}
trap cleanup EXIT
rc=0; vmic_start || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"

grep -q '^\*' <<<"$("$KSTT_BIN" listen --list-devices)" || { echo "FAIL: no default input listed"; exit 1; }

wav=$model/samples/sample1.wav
sox "$wav" -t raw -e signed -b 16 -c 1 -r 24000 "$tmp/speech.raw"
"$KSTT_BIN" transcribe --model "$model" --format json -q "$wav" >"$tmp/ref.json"
expected=$(python3 -c 'import json,sys; print(" ".join(w["word"] for w in json.load(open(sys.argv[1]))["words"]))' "$tmp/ref.json")
expected_starts=$(python3 -c 'import json,sys; print(" ".join("%.2f" % w["start"] for w in json.load(open(sys.argv[1]))["words"]))' "$tmp/ref.json")
echo "expected: $expected ($expected_starts)"

# Keeps feeding silence (the source is not clocked) until killed.
feed_silence() { while true; do vmic_zeros 0.08; sleep 0.04; done; }
# Waits (up to 60 s: the machine may be loaded) until FILE holds at least N words / events.
wait_words() {
    for _ in $(seq 600); do
        [ "$(wc -w <"$1")" -ge "$2" ] && return 0
        sleep 0.1
    done
    echo "FAIL: timed out waiting for $2 words in $1:"; cat "$1"; return 1
}
nwords=$(echo "$expected" | wc -w)

# 1. live words = file words
timeout 120 "$KSTT_BIN" listen --model "$model" --format jsonl -q >"$tmp/live.jsonl" &
lpid=$!; pids+=("$lpid")
vmic_wait_client
vmic_write "$tmp/speech.raw"
vmic_zeros 2
# every word is out once the 2 s of silence passed the model's 0.5 s delay
for _ in $(seq 600); do
    [ "$(grep -c '"type":"word"' "$tmp/live.jsonl")" -ge "$nwords" ] && break
    sleep 0.1
done
kill -INT "$lpid"
wait "$lpid" || { echo "FAIL: kstt listen exited $?"; exit 1; }
got=$(python3 -c 'import json,sys; print(" ".join(e["text"] for e in map(json.loads, open(sys.argv[1])) if e["type"]=="word"))' "$tmp/live.jsonl")
got_starts=$(python3 -c 'import json,sys; print(" ".join("%.2f" % e["start"] for e in map(json.loads, open(sys.argv[1])) if e["type"]=="word"))' "$tmp/live.jsonl")
echo "live:     $got ($got_starts)"
[ "$got" = "$expected" ] || { echo "FAIL: live words differ"; cat "$tmp/live.jsonl"; exit 1; }
[ "$got_starts" = "$expected_starts" ] || { echo "FAIL: live start times differ"; exit 1; }
grep -q '"type":"end_word"' "$tmp/live.jsonl" || { echo "FAIL: no end_word event"; exit 1; }

# 2. --once: returns by itself after the end of turn, the utterance on one line.
start=$(date +%s.%N)
timeout 120 "$KSTT_BIN" listen --model "$model" --once -q >"$tmp/once.txt" &
lpid=$!; pids+=("$lpid")
vmic_wait_client
vmic_write "$tmp/speech.raw"
feed_silence &
fpid=$!; pids+=("$fpid")
wait "$lpid" || { echo "FAIL: kstt listen --once exited $? (124 = did not stop at the end of turn)"; exit 1; }
kill "$fpid" 2>/dev/null || true
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
echo "once:     $(cat "$tmp/once.txt") (returned after ${elapsed} s)"
[ "$(cat "$tmp/once.txt")" = "$expected" ] || { echo "FAIL: --once output differs"; exit 1; }
[ "$(wc -l <"$tmp/once.txt")" -eq 1 ] || { echo "FAIL: --once printed more than one line"; exit 1; }

# 3. SIGINT 0.2 s after the speech: the last word is still inside the model's delay and must
#    come out of the flush.
timeout 120 "$KSTT_BIN" listen --model "$model" -q >"$tmp/int.txt" &
lpid=$!; pids+=("$lpid")
vmic_wait_client
vmic_write "$tmp/speech.raw"
vmic_zeros 0.2
# The words before the model's delay (0.5 s = about 2 words here) come out while listening;
# wait for them, then give the capture a moment to take the rest of the audio.
wait_words "$tmp/int.txt" $((nwords - 2))
sleep 1
kill -INT "$lpid"
wait "$lpid" || { echo "FAIL: kstt listen exited $? after SIGINT"; exit 1; }
echo "sigint:   $(cat "$tmp/int.txt")"
[ "$(cat "$tmp/int.txt")" = "$expected" ] || { echo "FAIL: words lost at SIGINT"; exit 1; }
echo "PASS"
