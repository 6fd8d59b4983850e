#!/usr/bin/env bash
# Local preparation for tools/train/train.py (Debian 12):
#   corpus + tokenizer  -> .ref/data/{corpus.tsv, spm_corpus.txt, tokenizer_en_demo_2000.model}
#   espeak-ng bundle    -> .ref/espeak/{espeak_words, lib/libsonic.so.0, espeak-ng-data/}
# (.ref/ is git-ignored; both folders are carried to the GPU machine.)
# Needs: apt-get install fortunes wordnet-base sentencepiece libespeak-ng-dev espeak-ng-data
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/tools/train"
DATA="$ROOT/.ref/data"
BUNDLE="$ROOT/.ref/espeak"
mkdir -p "$DATA"
python3 "$HERE/make_corpus.py" "$DATA"
(cd "$DATA" && spm_train --input=spm_corpus.txt --model_prefix=tokenizer_en_demo_2000 \
    --vocab_size=2000 --model_type=unigram --character_coverage=1.0 \
    --normalization_rule_name=identity --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=3 \
    --input_sentence_size=0 --shuffle_input_sentence=false --num_threads=2 > spm.log 2>&1)
rm -rf "$BUNDLE"
mkdir -p "$BUNDLE/lib" "$BUNDLE/espeak-ng-data"
LIB=/usr/lib/x86_64-linux-gnu
# libespeak-ng linked statically (no audio stack to carry), libsonic carried
cc -O2 -o "$BUNDLE/espeak_words" "$HERE/espeak_words.c" "$HERE/pcaudio_stub.c" \
    "$LIB/libespeak-ng.a" "$LIB/libsonic.so.0" -lm
cp -L "$LIB/libsonic.so.0" "$BUNDLE/lib/"
D="$LIB/espeak-ng-data"
cp -r "$D/phondata" "$D/phonindex" "$D/phontab" "$D/intonations" "$D/en_dict" "$D/lang" \
    "$D/voices" "$BUNDLE/espeak-ng-data/"
# the variants folder is named '!v'; carried as 'v' (datagen.prepare_bundle renames it back)
mv "$BUNDLE/espeak-ng-data/voices/!v" "$BUNDLE/espeak-ng-data/voices/v"
du -sh "$DATA" "$BUNDLE"
# flite voices (kal kal16 awb rms slt) linked statically into flite_words (needs flite1-dev);
# carried xz-compressed (datagen_voices.prepare_flite unpacks it)
FL="$ROOT/.ref/flite"
rm -rf "$FL" && mkdir -p "$FL"
cc -O2 -s -o "$FL/flite_words" "$HERE/flite_words.c" "$HERE/alsa_stub.c" -Wl,-Bstatic \
    -lflite_cmu_us_kal -lflite_cmu_us_kal16 -lflite_cmu_us_awb -lflite_cmu_us_rms \
    -lflite_cmu_us_slt -lflite_usenglish -lflite_cmulex -lflite -Wl,-Bdynamic -lm
xz -6 "$FL/flite_words"
# festival bundle: binary, its shared libraries (but libc/libm/libstdc++/libgcc), its library
# folder with the training voices kal_diphone and cmu_us_slt_arctic_hts (ked_diphone, held out
# for evaluation, stays behind); one tar.xz (needs festival festvox-kallpc16k festvox-us-slt-hts)
FB="$ROOT/.ref/festival_build"
rm -rf "$FB" && mkdir -p "$FB/fest/lib" "$FB/fest/share"
cp /usr/bin/festival "$FB/fest/"
ldd /usr/bin/festival | awk '/=>/ {print $3}' | grep -v -E 'lib(c|m|stdc\+\+|gcc_s)\.so' |
    while read -r l; do cp -L "$l" "$FB/fest/lib/"; done
cp -rL /usr/share/festival/. "$FB/fest/share/"
rm -rf "$FB/fest/share/voices/english/ked_diphone"
mkdir -p "$ROOT/.ref/fest"
tar -C "$FB" -cJf "$ROOT/.ref/fest/festival.tar.xz" fest
rm -rf "$FB"
du -sh "$FL" "$ROOT/.ref/fest"
