/*
 * JSON vocabularies: the tokenizer file of the macOS app kstt comes from
 * (`tokenizer_spm_8k_0.json` of lmz/moshi-swift), a JSON object mapping every token id, as a
 * decimal string, to its SentencePiece piece: {"0": "<unk>", "1": "<s>", ..., "4": "\u2581", ...}.
 * It loads as a kstt__spm (sentencepiece.h), so decoding is SentencePiece's: kstt__spm_load and
 * kstt__spm_load_memory recognise it by its first non-blank byte '{' (file name and extension
 * do not matter), and the model loader needs no change.
 *
 * The file carries only the piece texts, so the rest is inferred as SentencePiece's trainer
 * writes Kyutai's models: "<unk>" is the UNKNOWN piece (unk_id), "<s>", "</s>" and "<pad>" are
 * CONTROL pieces (bos/eos/pad ids), pieces spelled <0xHH> are BYTE pieces (byte_fallback), every
 * other piece is NORMAL; the normalizer settings are SentencePiece's defaults (add_dummy_prefix
 * etc.), scores are 0 (decoding does not read them). Ids must be exactly 0..n-1, each once.
 */
#ifndef KSTT_TOKENIZER_VOCAB_JSON_H
#define KSTT_TOKENIZER_VOCAB_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "tokenizer/sentencepiece.h"

/* 1 when the image looks like a JSON vocabulary (first non-blank byte '{'). */
int kstt__vocab_json_sniff(const void *buf, size_t size);
/* Parses a JSON vocabulary image (nothing of buf is kept); errors as kstt__spm_load_memory's
 * (KSTT_EFORMAT naming the file and the problem, KSTT_ENOMEM). */
int kstt__vocab_json_load_memory(kstt__spm **out, const void *buf, size_t size, const char *name,
                                 char *err, size_t errlen);

/* Builds a model from n pieces (text[i] of len[i] bytes, type[i] a kstt__spm_type) with the
 * given info; unk_surface is the default. Implemented in sentencepiece.c. */
int kstt__spm_from_pieces(kstt__spm **out, int n, const char *const *text, const size_t *len,
                          const uint8_t *type, const kstt__spm_info *info, const char *name,
                          char *err, size_t errlen);
/* SentencePiece's defaults for a model without trainer/normalizer specs. */
void kstt__spm_info_defaults(kstt__spm_info *info);

#endif
