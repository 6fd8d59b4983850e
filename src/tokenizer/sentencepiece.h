/*
 * SentencePiece model reader (decoding only). Reads the ModelProto protobuf directly: the
 * pieces (text, score, type), the trainer spec fields that matter for decoding (unk/bos/eos/
 * pad ids, byte_fallback, unk_surface) and the normalizer's add_dummy_prefix. Decoding turns
 * ids into UTF-8 as SentencePiece's decode() does: U+2581 becomes a space, the leading space
 * of the text is dropped, control pieces vanish, <0xNN> byte pieces are gathered and emitted
 * as UTF-8 (invalid sequences become U+FFFD), unknown pieces print unk_surface.
 */
#ifndef KSTT_TOKENIZER_SENTENCEPIECE_H
#define KSTT_TOKENIZER_SENTENCEPIECE_H

#include <stddef.h>
#include <stdint.h>

typedef struct kstt__spm kstt__spm;

typedef enum {
    KSTT_SPM_NORMAL = 1,
    KSTT_SPM_UNKNOWN = 2,
    KSTT_SPM_CONTROL = 3,
    KSTT_SPM_USER_DEFINED = 4,
    KSTT_SPM_UNUSED = 5,
    KSTT_SPM_BYTE = 6,
} kstt__spm_type;

int kstt__spm_load(kstt__spm **out, const char *path, char *err, size_t errlen);
/* Parses a model image in memory (copied); `name` appears in errors. The fuzzer's entry. */
int kstt__spm_load_memory(kstt__spm **out, const void *buf, size_t size, const char *name,
                          char *err, size_t errlen);
void kstt__spm_free(kstt__spm *spm);

int kstt__spm_size(const kstt__spm *spm);
/* The piece text (NULL for an id out of range) and type. */
const char *kstt__spm_piece(const kstt__spm *spm, int id);
kstt__spm_type kstt__spm_piece_type(const kstt__spm *spm, int id);

/* Decodes ids to NUL-terminated UTF-8. Returns the length written (excluding the NUL) or
 * KSTT_ERANGE when cap is too small (out then holds a truncated NUL-terminated prefix).
 * Ids out of range decode as unk_surface. */
int kstt__spm_decode(const kstt__spm *spm, const int32_t *ids, size_t n, char *out, size_t cap);

#endif
