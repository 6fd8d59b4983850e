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

#include "kstt.h" /* status codes */

typedef struct kstt__spm kstt__spm;

typedef enum {
    KSTT_SPM_NORMAL = 1,
    KSTT_SPM_UNKNOWN = 2,
    KSTT_SPM_CONTROL = 3,
    KSTT_SPM_USER_DEFINED = 4,
    KSTT_SPM_UNUSED = 5,
    KSTT_SPM_BYTE = 6,
} kstt__spm_type;

/* What the model's trainer and normalizer specs say (SentencePiece's defaults where absent). */
typedef struct {
    int model_type; /* 1 unigram, 2 bpe, 3 word, 4 char */
    int vocab_size; /* as recorded by the trainer (the piece count is kstt__spm_size) */
    int unk_id, bos_id, eos_id, pad_id; /* -1 = none */
    int byte_fallback;
    int treat_whitespace_as_suffix;
    int add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces;
    const char *unk_surface; /* what an unknown piece decodes to (default " U+2047 ") */
} kstt__spm_info;

/* Reads a `.model` file (a serialized ModelProto). Owned: release with kstt__spm_free. Errors:
 * KSTT_ENOTFOUND / KSTT_EIO (cannot open or read), KSTT_EFORMAT (malformed; the message names
 * the file, the problem and the byte offset), KSTT_ENOMEM. */
int kstt__spm_load(kstt__spm **out, const char *path, char *err, size_t errlen);
/* Parses a model image in memory (nothing of buf is kept); `name` appears in errors. The
 * fuzzer's entry. */
int kstt__spm_load_memory(kstt__spm **out, const void *buf, size_t size, const char *name,
                          char *err, size_t errlen);
/* Accepts NULL. */
void kstt__spm_free(kstt__spm *spm);

int kstt__spm_size(const kstt__spm *spm);
/* The piece text (NULL for an id out of range) and type. */
const char *kstt__spm_piece(const kstt__spm *spm, int id);
kstt__spm_type kstt__spm_piece_type(const kstt__spm *spm, int id);
/* The piece's score (0 for an id out of range). */
float kstt__spm_score(const kstt__spm *spm, int id);
/* info->unk_surface is borrowed from the model. */
void kstt__spm_get_info(const kstt__spm *spm, kstt__spm_info *info);

/* Decodes ids to NUL-terminated UTF-8. Returns the length written (excluding the NUL) or
 * KSTT_ERANGE when cap is too small (out then holds a truncated NUL-terminated prefix, cut at
 * a character boundary; nothing is written when cap is 0). Ids out of range decode as
 * unk_surface. A <0x00> byte piece yields a NUL inside the text (as in SentencePiece): the
 * return value, not strlen, is the length. Allocates nothing; safe to call from many threads
 * on one model. */
int kstt__spm_decode(const kstt__spm *spm, const int32_t *ids, size_t n, char *out, size_t cap);
/* The same, and *len (when len is not NULL) gets the full decoded length in bytes (excluding
 * the NUL) on success and on KSTT_ERANGE, so a caller can size a second try with len + 1 bytes.
 * out may be NULL with cap 0 to only measure (returns KSTT_ERANGE). */
int kstt__spm_decode_len(const kstt__spm *spm, const int32_t *ids, size_t n, char *out, size_t cap,
                         size_t *len);

#endif
