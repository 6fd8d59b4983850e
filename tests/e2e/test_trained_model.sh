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
[ "$fail" -eq 0 ] && echo "PASS: $n clips"
exit "$fail"
