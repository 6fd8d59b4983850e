#!/usr/bin/env bash
# End-to-end test with the bundled trained model (models/kstt-demo-en): `kstt transcribe`
# turns real (synthetic, held-out voice and sentence) speech into the right words.
# For each clip of models/kstt-demo-en/samples/expected.tsv, the transcript must be within
# MAX_ERR word edits (substitutions + insertions + deletions) of the reference words.
# The JSON output must also hold one timestamped word per transcript word, in time order.
set -euo pipefail

: "${KSTT_BIN:?KSTT_BIN must name the kstt binary}"
SRC=${KSTT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
MODEL="$SRC/models/kstt-demo-en"
MAX_ERR=${MAX_ERR:-2}
[ -f "$MODEL/config.json" ] || { echo "FAIL: model missing: $MODEL"; exit 1; }

# word edit distance between two strings of space-separated words
wer_edits() {
    awk -v r="$1" -v h="$2" 'BEGIN {
        n = split(r, a, " "); m = split(h, b, " ");
        for (j = 0; j <= m; j++) d[0, j] = j;
        for (i = 1; i <= n; i++) {
            d[i, 0] = i;
            for (j = 1; j <= m; j++) {
                c = (a[i] == b[j]) ? 0 : 1;
                v = d[i-1, j-1] + c;
                if (d[i-1, j] + 1 < v) v = d[i-1, j] + 1;
                if (d[i, j-1] + 1 < v) v = d[i, j-1] + 1;
                d[i, j] = v;
            }
        }
        print d[n, m];
    }'
}

normalize() { tr 'A-Z' 'a-z' | sed "s/[^a-z' ]/ /g" | tr -s ' ' | sed 's/^ //; s/ $//'; }

fail=0
n=0
while IFS=$'\t' read -r file voice ref; do
    case "$file" in ''|'#'*) continue ;; esac
    wav="$MODEL/samples/$file"
    hyp=$(timeout 120 "$KSTT_BIN" transcribe --model "$MODEL" -q "$wav" | normalize)
    e=$(wer_edits "$ref" "$hyp")
    n=$((n + 1))
    if [ "$e" -gt "$MAX_ERR" ]; then
        echo "FAIL: $file ($voice): $e word errors"
        echo "  ref: $ref"
        echo "  hyp: $hyp"
        fail=1
    else
        echo "ok: $file ($e word errors): $hyp"
    fi
    json=$(timeout 120 "$KSTT_BIN" transcribe --model "$MODEL" --format json -q "$wav")
    nw=$(printf '%s\n' "$json" | grep -c '"word":' || true)
    nh=$(printf '%s\n' "$hyp" | wc -w)
    if [ "$nw" -ne "$nh" ]; then
        echo "FAIL: $file: $nw JSON words for $nh transcript words"
        fail=1
    fi
    starts=$(printf '%s\n' "$json" | sed -n 's/.*"start": *\([0-9.]*\).*/\1/p')
    if ! printf '%s\n' "$starts" | sort -n -c 2>/dev/null; then
        echo "FAIL: $file: word starts not in time order"
        fail=1
    fi
done < "$MODEL/samples/expected.tsv"

[ "$n" -ge 3 ] || { echo "FAIL: expected at least 3 clips, got $n"; exit 1; }

# The speed options on a trained model: a q4_0 copy (kstt quantize) with the loader's defaults
# (f16 KV, bf16 Mimi matrices), the same with the exact storage forced (--kv f32
# --mimi-weights f32), the original with the approximate storage forced, and both with the
# int8 KV ring (--kv q8); every clip must
# stay within MAX_ERR word edits (measured: the same words as the original, but "about" heard
# as "a boat" by q4_0). Bad option values exit 2 with a message.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$KSTT_BIN" quantize --quiet --type q4_0 "$MODEL" "$TMP/q4_0" || { echo "FAIL: quantize"; exit 1; }
for run in "$TMP/q4_0|" "$TMP/q4_0|--kv f32 --mimi-weights f32" "$MODEL|--kv f16 --mimi-weights bf16" \
           "$TMP/q4_0|--kv q8" "$MODEL|--kv q8"; do
    dir=${run%%|*}
    opts=${run#*|}
    while IFS=$'\t' read -r file voice ref; do
        case "$file" in ''|'#'*) continue ;; esac
        # shellcheck disable=SC2086
        hyp=$(timeout 120 "$KSTT_BIN" transcribe --model "$dir" $opts -q "$MODEL/samples/$file" |
              normalize)
        e=$(wer_edits "$ref" "$hyp")
        if [ "$e" -gt "$MAX_ERR" ]; then
            echo "FAIL: $file with $(basename "$dir") $opts: $e word errors: $hyp"
            fail=1
        else
            echo "ok: $file with $(basename "$dir") ${opts:-(defaults)}: $e word errors"
        fi
    done < "$MODEL/samples/expected.tsv"
done
for bad in "--kv f8" "--mimi-weights q4" "--kv" ; do
    # shellcheck disable=SC2086
    if out=$("$KSTT_BIN" transcribe --model "$MODEL" $bad "$MODEL/samples/sample1.wav" 2>&1); then
        echo "FAIL: '$bad' accepted"
        fail=1
    elif ! grep -q -- "${bad%% *}" <<<"$out"; then
        echo "FAIL: '$bad': the message does not name the option: $out"
        fail=1
    fi
done

[ "$fail" -eq 0 ] && echo "PASS: $n clips"
exit "$fail"
