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
