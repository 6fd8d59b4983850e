/*
 * SentencePiece model reader and decoder (see sentencepiece.h).
 *
 * Reading. A `.model` file is a serialized ModelProto (proto2). We walk it with the wire-format
 * reader of protobuf.h in two passes over the image: the first validates everything and counts
 * the pieces and their bytes, the second copies the piece texts into one arena. Field numbers
 * (sentencepiece_model.proto):
 *   ModelProto      1 pieces (repeated SentencePiece), 2 trainer_spec, 3 normalizer_spec
 *   SentencePiece   1 piece (string), 2 score (float), 3 type (enum, default NORMAL)
 *   TrainerSpec     3 model_type, 4 vocab_size, 24 treat_whitespace_as_suffix, 35 byte_fallback,
 *                   40 unk_id, 41 bos_id, 42 eos_id, 43 pad_id, 44 unk_surface
 *   NormalizerSpec  3 add_dummy_prefix, 4 remove_extra_whitespaces, 5 escape_whitespaces
 * As protobuf itself does: unknown fields of any wire type are skipped, a known field number
 * carrying an unexpected wire type counts as unknown, the last value of a repeated scalar wins,
 * a repeated sub-message is merged, and an enum value outside the list leaves the default
 * (NORMAL). Beyond the wire format we check what decoding relies on, as SentencePiece's own
 * loader does: at least one piece, no empty piece, no NUL inside a piece (we hand out C
 * strings), BYTE pieces spelled exactly <0xHH> (upper-case hex). trainer_spec and
 * normalizer_spec must be present: SentencePiece always writes them after the pieces, so their
 * absence almost always means a file cut short at a piece boundary, which would otherwise load
 * as a smaller, wrong vocabulary.
 *
 * Decoding follows SentencePiece's DecodeIds (checked against the C++ library, version 0.1.97):
 * the pieces' surfaces are appended in order; CONTROL pieces add nothing; UNKNOWN pieces (and
 * ids out of range) add unk_surface; a maximal run of consecutive BYTE pieces is joined into a
 * byte string and read as UTF-8, each ill-formed byte giving U+FFFD; every other piece adds
 * its text with each U+2581 turned into a space, after dropping one leading U+2581 while the
 * text written so far is still empty (only when add_dummy_prefix or remove_extra_whitespaces is
 * set). So "▁▁▁a" at the start decodes to "a"; a control piece between two byte pieces splits
 * their run. treat_whitespace_as_suffix changes nothing in decoding (as in 0.1.97).
 *
 * Decoding allocates nothing and reads the model only, so one model may decode from many
 * threads at once.
 */
#include "tokenizer/sentencepiece.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "io/file.h"
#include "tokenizer/protobuf.h"
#include "tokenizer/vocab_json.h"

/* Larger files are refused before reading: real models are well under 1 MiB (8000 pieces plus
 * an optional 240 KiB normalization table). */
#define MAX_FILE_SIZE ((size_t)64 << 20)

static const char DEFAULT_UNK_SURFACE[] = " \xE2\x81\x87 "; /* " ⁇ " */

struct kstt__spm {
    int n;             /* number of pieces */
    char *arena;       /* piece texts, each NUL-terminated */
    uint32_t *offset;  /* [n] start of piece i in arena */
    uint32_t *len;     /* [n] its length in bytes */
    float *score;      /* [n] */
    uint8_t *type;     /* [n] kstt__spm_type */
    int16_t *byte;     /* [n] the byte of a BYTE piece, else -1 */
    char *unk_surface; /* NUL-terminated */
    size_t unk_surface_len;
    kstt__spm_info info;
};

/* ---- parsing ------------------------------------------------------------------------- */

typedef struct {
    kstt__spm_info info;
    const uint8_t *unk_surface; /* borrowed from the image, NULL = default */
    size_t unk_surface_len;
    int have_trainer, have_normalizer;
    int n_pieces;
    size_t piece_bytes; /* sum of piece lengths, NULs excluded */
} header;

static int32_t as_int32(uint64_t v) {
    return (int32_t)(uint32_t)(v & 0xffffffffu);
}

static int parse_trainer(kstt__pb r, header *h, char *err, size_t errlen) {
    kstt__pb_field f;
    int rc;
    while ((rc = kstt__pb_next(&r, &f, err, errlen)) == 1) {
        if (f.wire == KSTT__PB_BYTES && f.field == 44) {
            h->unk_surface = f.data;
            h->unk_surface_len = f.len;
            continue;
        }
        if (f.wire != KSTT__PB_VARINT)
            continue;
        switch (f.field) {
        case 3:
            h->info.model_type = as_int32(f.value);
            break;
        case 4:
            h->info.vocab_size = as_int32(f.value);
            break;
        case 24:
            h->info.treat_whitespace_as_suffix = f.value != 0;
            break;
        case 35:
            h->info.byte_fallback = f.value != 0;
            break;
        case 40:
            h->info.unk_id = as_int32(f.value);
            break;
        case 41:
            h->info.bos_id = as_int32(f.value);
            break;
        case 42:
            h->info.eos_id = as_int32(f.value);
            break;
        case 43:
            h->info.pad_id = as_int32(f.value);
            break;
        default:
            break;
        }
    }
    return rc < 0 ? rc : KSTT_OK;
}

static int parse_normalizer(kstt__pb r, header *h, char *err, size_t errlen) {
    kstt__pb_field f;
    int rc;
    while ((rc = kstt__pb_next(&r, &f, err, errlen)) == 1) {
        if (f.wire != KSTT__PB_VARINT)
            continue;
        switch (f.field) {
        case 3:
            h->info.add_dummy_prefix = f.value != 0;
            break;
        case 4:
            h->info.remove_extra_whitespaces = f.value != 0;
            break;
        case 5:
            h->info.escape_whitespaces = f.value != 0;
            break;
        default:
            break;
        }
    }
    return rc < 0 ? rc : KSTT_OK;
}

typedef struct {
    const uint8_t *text;
    size_t len;
    float score;
    int type;
    int byte; /* -1 unless type is BYTE */
} piece;

static int hexval(uint8_t c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1; /* SentencePiece spells byte pieces with upper-case hex only */
}

static int parse_piece(kstt__pb r, int index, size_t at, piece *p, char *err, size_t errlen) {
    kstt__pb_field f;
    int rc;
    p->text = NULL;
    p->len = 0;
    p->score = 0.0f;
    p->type = KSTT_SPM_NORMAL;
    p->byte = -1;
    while ((rc = kstt__pb_next(&r, &f, err, errlen)) == 1) {
        if (f.field == 1 && f.wire == KSTT__PB_BYTES) {
            p->text = f.data;
            p->len = f.len;
        } else if (f.field == 2 && f.wire == KSTT__PB_FIXED32) {
            uint32_t bits = (uint32_t)f.value;
            memcpy(&p->score, &bits, sizeof bits);
        } else if (f.field == 3 && f.wire == KSTT__PB_VARINT) {
            /* proto2: a value outside the enum is an unknown field; the default stays. */
            if (f.value >= KSTT_SPM_NORMAL && f.value <= KSTT_SPM_BYTE)
                p->type = (int)f.value;
        }
    }
    if (rc < 0)
        return rc;
    if (p->len == 0)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: malformed SentencePiece model: piece %d is empty (at byte %zu)",
                          r.name, index, at);
    if (memchr(p->text, 0, p->len))
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: malformed SentencePiece model: piece %d contains a NUL byte "
                          "(at byte %zu)",
                          r.name, index, at);
    if (p->type == KSTT_SPM_BYTE) {
        const uint8_t *t = p->text;
        int hi = p->len == 6 ? hexval(t[3]) : -1, lo = p->len == 6 ? hexval(t[4]) : -1;
        if (p->len != 6 || memcmp(t, "<0x", 3) != 0 || t[5] != '>' || hi < 0 || lo < 0)
            return kstt__errf(err, errlen, KSTT_EFORMAT,
                              "%s: malformed SentencePiece model: piece %d has type BYTE but is "
                              "not spelled <0xHH> (at byte %zu)",
                              r.name, index, at);
        p->byte = hi * 16 + lo;
    }
    return KSTT_OK;
}

/* One pass over the top-level message. With spm == NULL it validates and fills h; with spm
 * set (second pass, same image) it copies the pieces into the allocated arrays. */
static int parse_model(kstt__pb r, header *h, kstt__spm *spm, char *err, size_t errlen) {
    kstt__pb_field f;
    int rc, index = 0;
    size_t arena_at = 0;
    while ((rc = kstt__pb_next(&r, &f, err, errlen)) == 1) {
        if (f.wire != KSTT__PB_BYTES)
            continue;
        if (f.field == 1) {
            piece p;
            if (!spm && index == INT_MAX)
                return kstt__errf(err, errlen, KSTT_EFORMAT,
                                  "%s: malformed SentencePiece model: too many pieces", r.name);
            if ((rc = parse_piece(kstt__pb_sub(&r, &f), index, f.offset, &p, err, errlen)))
                return rc;
            if (spm) {
                memcpy(spm->arena + arena_at, p.text, p.len);
                spm->arena[arena_at + p.len] = '\0';
                spm->offset[index] = (uint32_t)arena_at;
                spm->len[index] = (uint32_t)p.len;
                spm->score[index] = p.score;
                spm->type[index] = (uint8_t)p.type;
                spm->byte[index] = (int16_t)p.byte;
                arena_at += p.len + 1;
            } else {
                h->piece_bytes += p.len;
            }
            index++;
        } else if (!spm && f.field == 2) {
            h->have_trainer = 1;
            if ((rc = parse_trainer(kstt__pb_sub(&r, &f), h, err, errlen)))
                return rc;
        } else if (!spm && f.field == 3) {
            h->have_normalizer = 1;
            if ((rc = parse_normalizer(kstt__pb_sub(&r, &f), h, err, errlen)))
                return rc;
        }
    }
    if (rc < 0)
        return rc;
    if (!spm)
        h->n_pieces = index;
    return KSTT_OK;
}

static void info_defaults(kstt__spm_info *info) {
    memset(info, 0, sizeof *info);
    info->model_type = 1; /* UNIGRAM */
    info->vocab_size = 8000;
    info->unk_id = 0;
    info->bos_id = 1;
    info->eos_id = 2;
    info->pad_id = -1;
    info->add_dummy_prefix = 1;
    info->remove_extra_whitespaces = 1;
    info->escape_whitespaces = 1;
}

void kstt__spm_free(kstt__spm *spm) {
    if (!spm)
        return;
    kstt__free(spm->arena);
    kstt__free(spm->offset);
    kstt__free(spm->len);
    kstt__free(spm->score);
    kstt__free(spm->type);
    kstt__free(spm->byte);
    kstt__free(spm->unk_surface);
    kstt__free(spm);
}

int kstt__spm_load_memory(kstt__spm **out, const void *buf, size_t size, const char *name,
                          char *err, size_t errlen) {
    if (!out)
        return kstt__errf(err, errlen, KSTT_EINVAL, "kstt__spm_load_memory: out is NULL");
    *out = NULL;
    if (!name)
        name = "(memory)";
    if (!buf && size > 0)
        return kstt__errf(err, errlen, KSTT_EINVAL, "%s: buffer is NULL", name);
    if (size > MAX_FILE_SIZE)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: %zu bytes is too large for a SentencePiece model (limit %zu)", name,
                          size, MAX_FILE_SIZE);

    /* A JSON vocabulary ({"0": "<unk>", ...}, the macOS app's tokenizer_spm_8k_0.json): its
     * first non-blank byte is '{', which no ModelProto starts with (0x7B is field 15 as a
     * group, a wire type SentencePiece never writes). */
    if (kstt__vocab_json_sniff(buf, size))
        return kstt__vocab_json_load_memory(out, buf, size, name, err, errlen);

    static const uint8_t empty = 0;
    kstt__pb r = kstt__pb_reader(buf ? buf : &empty, size, name, "SentencePiece model");
    header h;
    memset(&h, 0, sizeof h);
    info_defaults(&h.info);
    int rc = parse_model(r, &h, NULL, err, errlen);
    if (rc)
        return rc;
    if (h.n_pieces == 0)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: not a SentencePiece model: no pieces (%zu bytes)", name, size);
    if (!h.have_trainer || !h.have_normalizer)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: malformed SentencePiece model: no %s after %d pieces (file cut "
                          "short?)",
                          name, h.have_trainer ? "normalizer_spec" : "trainer_spec", h.n_pieces);

    kstt__spm *spm = kstt__alloc(sizeof *spm);
    if (!spm)
        goto oom;
    size_t n = (size_t)h.n_pieces;
    spm->n = h.n_pieces;
    spm->info = h.info;
    /* piece_bytes + n <= size <= MAX_FILE_SIZE: offsets fit in 32 bits. */
    spm->arena = kstt__alloc(h.piece_bytes + n);
    spm->offset = kstt__calloc(n, sizeof *spm->offset);
    spm->len = kstt__calloc(n, sizeof *spm->len);
    spm->score = kstt__calloc(n, sizeof *spm->score);
    spm->type = kstt__calloc(n, sizeof *spm->type);
    spm->byte = kstt__calloc(n, sizeof *spm->byte);
    const uint8_t *us = h.unk_surface ? h.unk_surface : (const uint8_t *)DEFAULT_UNK_SURFACE;
    size_t us_len = h.unk_surface ? h.unk_surface_len : sizeof DEFAULT_UNK_SURFACE - 1;
    spm->unk_surface = kstt__alloc(us_len + 1);
    if (!spm->arena || !spm->offset || !spm->len || !spm->score || !spm->type || !spm->byte ||
        !spm->unk_surface)
        goto oom;
    memcpy(spm->unk_surface, us, us_len);
    spm->unk_surface[us_len] = '\0';
    spm->unk_surface_len = us_len;
    spm->info.unk_surface = spm->unk_surface;

    rc = parse_model(r, &h, spm, err, errlen); /* cannot fail: same image, already checked */
    KSTT_ASSERT(rc == KSTT_OK);
    *out = spm;
    return KSTT_OK;

oom:
    kstt__spm_free(spm);
    return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory reading a %d-piece model", name,
                      h.n_pieces);
}

int kstt__spm_load(kstt__spm **out, const char *path, char *err, size_t errlen) {
    if (!out || !path)
        return kstt__errf(err, errlen, KSTT_EINVAL, "kstt__spm_load: NULL argument");
    *out = NULL;
    void *buf;
    size_t size;
    int rc = kstt__read_file(path, MAX_FILE_SIZE, "tokenizer", &buf, &size, err, errlen);
    if (rc == KSTT_OK)
        rc = kstt__spm_load_memory(out, buf, size, path, err, errlen);
    kstt__free(buf);
    return rc;
}

/* ---- models from a piece list (vocab_json.h) -------------------------------------------- */

int kstt__spm_from_pieces(kstt__spm **out, int n, const char *const *text, const size_t *len,
                          const uint8_t *type, const kstt__spm_info *info, const char *name,
                          char *err, size_t errlen) {
    *out = NULL;
    size_t bytes = 0;
    for (int i = 0; i < n; i++) {
        piece p = {(const uint8_t *)text[i], len[i], 0.0f, type[i], -1};
        if (p.len == 0 || memchr(p.text, 0, p.len))
            return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: piece %d is empty or holds a NUL",
                              name, i);
        if (p.len > MAX_FILE_SIZE || bytes > MAX_FILE_SIZE)
            return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: pieces too long", name);
        bytes += p.len;
    }
    kstt__spm *spm = kstt__alloc(sizeof *spm);
    if (!spm)
        goto oom;
    memset(spm, 0, sizeof *spm);
    size_t un = (size_t)n;
    spm->n = n;
    spm->info = *info;
    spm->arena = kstt__alloc(bytes + un);
    spm->offset = kstt__calloc(un, sizeof *spm->offset);
    spm->len = kstt__calloc(un, sizeof *spm->len);
    spm->score = kstt__calloc(un, sizeof *spm->score);
    spm->type = kstt__calloc(un, sizeof *spm->type);
    spm->byte = kstt__calloc(un, sizeof *spm->byte);
    spm->unk_surface = kstt__alloc(sizeof DEFAULT_UNK_SURFACE);
    if (!spm->arena || !spm->offset || !spm->len || !spm->score || !spm->type || !spm->byte ||
        !spm->unk_surface)
        goto oom;
    memcpy(spm->unk_surface, DEFAULT_UNK_SURFACE, sizeof DEFAULT_UNK_SURFACE);
    spm->unk_surface_len = sizeof DEFAULT_UNK_SURFACE - 1;
    spm->info.unk_surface = spm->unk_surface;
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        const uint8_t *t = (const uint8_t *)text[i];
        memcpy(spm->arena + at, t, len[i]);
        spm->arena[at + len[i]] = '\0';
        spm->offset[i] = (uint32_t)at;
        spm->len[i] = (uint32_t)len[i];
        spm->type[i] = type[i];
        spm->byte[i] = -1;
        if (type[i] == KSTT_SPM_BYTE) {
            int hi = len[i] == 6 ? hexval(t[3]) : -1, lo = len[i] == 6 ? hexval(t[4]) : -1;
            if (hi < 0 || lo < 0 || memcmp(t, "<0x", 3) != 0 || t[5] != '>') {
                kstt__spm_free(spm);
                return kstt__errf(err, errlen, KSTT_EFORMAT,
                                  "%s: piece %d is typed BYTE but not spelled <0xHH>", name, i);
            }
            spm->byte[i] = (int16_t)(hi * 16 + lo);
        }
        at += len[i] + 1;
    }
    *out = spm;
    return KSTT_OK;
oom:
    kstt__spm_free(spm);
    return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory reading a %d-piece vocabulary",
                      name, n);
}

void kstt__spm_info_defaults(kstt__spm_info *info) {
    info_defaults(info);
}

/* ---- queries ------------------------------------------------------------------------- */

int kstt__spm_size(const kstt__spm *spm) {
    return spm ? spm->n : 0;
}

const char *kstt__spm_piece(const kstt__spm *spm, int id) {
    if (!spm || id < 0 || id >= spm->n)
        return NULL;
    return spm->arena + spm->offset[id];
}

kstt__spm_type kstt__spm_piece_type(const kstt__spm *spm, int id) {
    if (!spm || id < 0 || id >= spm->n)
        return KSTT_SPM_UNKNOWN;
    return (kstt__spm_type)spm->type[id];
}

float kstt__spm_score(const kstt__spm *spm, int id) {
    if (!spm || id < 0 || id >= spm->n)
        return 0.0f;
    return spm->score[id];
}

void kstt__spm_get_info(const kstt__spm *spm, kstt__spm_info *info) {
    if (spm) {
        *info = spm->info;
    } else {
        info_defaults(info);
        info->unk_surface = DEFAULT_UNK_SURFACE;
    }
}

/* ---- decoding ------------------------------------------------------------------------ */

typedef struct {
    char *out;
    size_t cap;   /* bytes usable for text: the caller's cap minus the NUL */
    size_t pos;   /* bytes written to out (<= cap) */
    size_t total; /* bytes the whole text takes (may exceed cap) */
} sink;

static void put(sink *s, const void *p, size_t n) {
    size_t room = s->cap - s->pos;
    size_t k = n < room ? n : room;
    if (k)
        memcpy(s->out + s->pos, p, k);
    s->pos += k;
    s->total += n;
}

static const char SPACE_MARK[] = "\xE2\x96\x81";  /* U+2581, SentencePiece's whitespace */
static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Length of the well-formed UTF-8 character at b[0..n) (Unicode table 3-7: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 when the first byte does not start one. */
static size_t utf8_char(const uint8_t *b, size_t n) {
    uint8_t c = b[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else
        return 0;
    if (n < len || b[1] < lo || b[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((b[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

/* Emits the run of BYTE pieces ids[0..n) as UTF-8, one U+FFFD per byte that does not begin a
 * well-formed character. Works through a small window so it needs no buffer of the run. */
static void put_bytes(sink *s, const kstt__spm *spm, const int32_t *ids, size_t n) {
    uint8_t w[4];
    size_t i = 0;
    while (i < n) {
        size_t k = n - i < 4 ? n - i : 4;
        for (size_t j = 0; j < k; j++)
            w[j] = (uint8_t)spm->byte[ids[i + j]];
        size_t len = utf8_char(w, k);
        if (len) {
            put(s, w, len);
            i += len;
        } else {
            put(s, REPLACEMENT, 3);
            i += 1;
        }
    }
}

/* A piece's surface: U+2581 becomes a space. */
static void put_piece(sink *s, const char *p, size_t n) {
    size_t start = 0;
    for (size_t i = 0; i + 3 <= n;) {
        if (memcmp(p + i, SPACE_MARK, 3) == 0) {
            put(s, p + start, i - start);
            put(s, " ", 1);
            i += 3;
            start = i;
        } else {
            i++;
        }
    }
    put(s, p + start, n - start);
}

static int is_byte(const kstt__spm *spm, int32_t id) {
    return id >= 0 && id < spm->n && spm->type[id] == KSTT_SPM_BYTE;
}

/* Cuts a truncated output back to the last complete UTF-8 character it holds, so that a
 * truncated prefix is still valid text when the whole would be. */
static size_t trim_partial_char(const char *out, size_t pos) {
    size_t start = pos, back = 0;
    while (start > 0 && back < 3 && ((uint8_t)out[start - 1] & 0xC0) == 0x80) {
        start--;
        back++;
    }
    if (start == 0)
        return pos;
    uint8_t lead = (uint8_t)out[start - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return need > back + 1 ? start - 1 : pos;
}

int kstt__spm_decode(const kstt__spm *spm, const int32_t *ids, size_t n, char *out, size_t cap) {
    return kstt__spm_decode_len(spm, ids, n, out, cap, NULL);
}

int kstt__spm_decode_len(const kstt__spm *spm, const int32_t *ids, size_t n, char *out, size_t cap,
                         size_t *len) {
    if (len)
        *len = 0;
    if (!spm || (!ids && n > 0))
        return KSTT_EINVAL;
    if (!out)
        cap = 0;
    /* with cap 0 nothing is written (the sink has no room) but the length is still counted */
    sink s = {out, cap ? cap - 1 : 0, 0, 0};
    int strip_lead = spm->info.add_dummy_prefix || spm->info.remove_extra_whitespaces;
    size_t run = 0; /* start of the current run of BYTE pieces */
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (is_byte(spm, id))
            continue;
        if (run < i)
            put_bytes(&s, spm, ids + run, i - run);
        run = i + 1;
        if (id < 0 || id >= spm->n || spm->type[id] == KSTT_SPM_UNKNOWN) {
            put(&s, spm->unk_surface, spm->unk_surface_len);
        } else if (spm->type[id] != KSTT_SPM_CONTROL) {
            const char *p = spm->arena + spm->offset[id];
            size_t len = spm->len[id];
            if (s.total == 0 && strip_lead && len >= 3 && memcmp(p, SPACE_MARK, 3) == 0) {
                p += 3;
                len -= 3;
            }
            put_piece(&s, p, len);
        }
    }
    if (run < n)
        put_bytes(&s, spm, ids + run, n - run);
    if (len)
        *len = s.total;
    if (cap == 0)
        return KSTT_ERANGE;
    if (s.total > s.cap || s.total > (size_t)INT_MAX) {
        out[trim_partial_char(out, s.pos)] = '\0';
        return KSTT_ERANGE;
    }
    out[s.pos] = '\0';
    return (int)s.total;
}
