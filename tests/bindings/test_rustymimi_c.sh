#!/usr/bin/env bash
# The rustymimi_c drop-in: librustymimi_c exports exactly the five functions of rustymimi-c,
# and a program written against the original declarations, linked with -lrustymimi_c, gets
# the codes of libkstt's native Mimi API (those the golden tests check against PyTorch) on a
# real-size Mimi file (the original interface loads only the real Mimi's dimensions; the file
# is the seeded random full-size Mimi of `kstt bench generate mimi`), 2 s of the golden clip.
#   test_rustymimi_c.sh LIBRUSTYMIMI_C CONSUMER NATIVE_REFERENCE
set -euo pipefail
lib=$1 consumer=$2 native=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

exports=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TtWwDdBbRr]$/ {print $3}' | sort | tr '\n' ' ')
want="mimi_encode_step mimi_free_codes mimi_reset mimi_tokenizer_free mimi_tokenizer_new "
if [ "$exports" != "$want" ]; then
    echo "FAIL: librustymimi_c exports '$exports', want '$want'"; exit 1
fi
echo "exports: $exports"
deps=$(ldd "$consumer")
if ! grep -q "librustymimi_c.so" <<<"$deps"; then
    echo "FAIL: the consumer is not linked with librustymimi_c"; exit 1
fi
if grep -q "libkstt.so" <<<"$deps"; then
    echo "FAIL: the consumer pulls in libkstt.so"; exit 1
fi

"$KSTT_BIN" bench generate mimi "$tmp/m" 2>/dev/null
mimi=$(ls "$tmp"/m/*.safetensors)
head -c $((48000 * 4)) "$KSTT_GOLDEN_DIR/bria_10s_24k.f32" > "$tmp/pcm.f32"
"$consumer" "$mimi" "$tmp/pcm.f32" 32 > "$tmp/drop_in.txt"
"$native" "$mimi" "$tmp/pcm.f32" 32 > "$tmp/native.txt"
frames=$(wc -l < "$tmp/drop_in.txt")
if [ "$frames" -ne 25 ] || [ "$(awk '{print NF}' "$tmp/drop_in.txt" | sort -u)" != "32" ]; then
    echo "FAIL: expected 25 frames of 32 codes, got $frames frames"; exit 1
fi
if ! cmp -s "$tmp/drop_in.txt" "$tmp/native.txt"; then
    echo "FAIL: rustymimi_c codes differ from libkstt's"; diff "$tmp/drop_in.txt" "$tmp/native.txt" | head; exit 1
fi
# 8 codebooks: the first 8 columns of the same codes
"$consumer" "$mimi" "$tmp/pcm.f32" 8 > "$tmp/drop_in8.txt"
if ! cmp -s "$tmp/drop_in8.txt" <(cut -d' ' -f1-8 "$tmp/native.txt"); then
    echo "FAIL: 8-codebook codes are not the prefix of the 32-codebook ones"; exit 1
fi
echo "rustymimi_c: $frames frames x 32 codes equal to libkstt's native Mimi API"
