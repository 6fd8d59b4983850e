/*
 * SentencePiece reader and decoder.
 *
 * Oracles: the golden tiny tokenizer's .vocab listing (every piece and score, in id order) and
 * the decoded text of every Word event of the golden ASR run; tests/data/spm/decode_cases.txt,
 * written by SentencePiece 0.1.97 itself (make_fixtures.py) for models trained with spm_train
 * (unigram, BPE with byte fallback, no dummy prefix with a custom unk_surface) and one written
 * field by field (user-defined and unused pieces, unknown fields of every wire type). Broken
 * images (every truncation, hand-made corruptions) must fail with a message naming the file;
 * every allocation failure during load must fail cleanly without leaking. JSON vocabularies
 * (the macOS app's tokenizer_spm_8k_0.json: {"id": "piece"}) written from the golden and
 * fixture models must load with the same pieces, types and special ids and decode every id
 * sequence exactly as the SentencePiece model; malformed ones fail with the file's name.
 */
#include <cjson/cJSON.h>
#include <unistd.h>

#include "core/alloc.h"
#include "kstt.h"
#include "test.h"
#include "tokenizer/sentencepiece.h"
#include "tokenizer/vocab_json.h"

#define TINY "stt_tiny/tokenizer_tiny_en_fr_audio_128.model"

static const char *data_path(const char *name) {
    static char buf[4][1024];
    static int k;
    const char *src = getenv("KSTT_SOURCE_DIR");
    char *out = buf[k++ & 3];
    snprintf(out, 1024, "%s/tests/data/spm/%s", src ? src : ".", name);
    return out;
}

static int load(kstt__spm **out, const char *path) {
    char err[512] = "";
    int rc = kstt__spm_load(out, path, err, sizeof err);
    if (rc)
        fprintf(stderr, "  load %s: %s\n", path, err);
    return rc;
}

/* ---- the golden tiny tokenizer ------------------------------------------------------- */

static void test_golden_vocab(void) {
    kstt__spm *spm;
    ASSERT_INT_EQ(load(&spm, test_golden(TINY)), KSTT_OK);
    ASSERT_INT_EQ(kstt__spm_size(spm), 128);
    size_t size;
    char *vocab =
        test_read_file(test_golden("stt_tiny/tokenizer_tiny_en_fr_audio_128.vocab"), &size);
    ASSERT_TRUE(vocab != NULL);
    vocab = realloc(vocab, size + 1);
    vocab[size] = '\0';
    int id = 0, bad = 0;
    for (char *line = strtok(vocab, "\n"); line; line = strtok(NULL, "\n"), id++) {
        char *tab = strchr(line, '\t');
        if (!tab) {
            bad++;
            break;
        }
        *tab = '\0';
        const char *piece = kstt__spm_piece(spm, id);
        if (!piece || strcmp(piece, line) != 0 ||
            fabs(kstt__spm_score(spm, id) - strtod(tab + 1, NULL)) > 1e-4) {
            fprintf(stderr, "  piece %d: \"%s\" %g vs .vocab \"%s\" %s\n", id,
                    piece ? piece : "(null)", kstt__spm_score(spm, id), line, tab + 1);
            bad++;
        }
    }
    free(vocab);
    ASSERT_INT_EQ(bad, 0);
    ASSERT_INT_EQ(id, 128);
    ASSERT_TRUE(kstt__spm_piece(spm, 128) == NULL);
    ASSERT_TRUE(kstt__spm_piece(spm, -1) == NULL);
    ASSERT_INT_EQ(kstt__spm_piece_type(spm, 0), KSTT_SPM_UNKNOWN);
    for (int i = 1; i <= 3; i++)
        ASSERT_INT_EQ(kstt__spm_piece_type(spm, i), KSTT_SPM_CONTROL);
    for (int i = 4; i < 128; i++)
        ASSERT_INT_EQ(kstt__spm_piece_type(spm, i), KSTT_SPM_NORMAL);
    ASSERT_STR_EQ(kstt__spm_piece(spm, 4), "\xE2\x96\x81");
    kstt__spm_info info;
    kstt__spm_get_info(spm, &info);
    ASSERT_INT_EQ(info.model_type, 1);
    ASSERT_INT_EQ(info.vocab_size, 128);
    ASSERT_INT_EQ(info.unk_id, 0);
    ASSERT_INT_EQ(info.bos_id, 1);
    ASSERT_INT_EQ(info.eos_id, 2);
    ASSERT_INT_EQ(info.pad_id, 3);
    ASSERT_INT_EQ(info.byte_fallback, 0);
    ASSERT_INT_EQ(info.add_dummy_prefix, 1);
    ASSERT_INT_EQ(info.remove_extra_whitespaces, 1);
    ASSERT_STR_EQ(info.unk_surface, " \xE2\x81\x87 ");
    kstt__spm_free(spm);
}

static void test_golden_words(void) {
    kstt__spm *spm;
    ASSERT_INT_EQ(load(&spm, test_golden(TINY)), KSTT_OK);
    size_t size;
    char *json = test_read_file(test_golden("stt_tiny_asr_events.json"), &size);
    ASSERT_TRUE(json != NULL);
    cJSON *root = cJSON_ParseWithLength(json, size);
    free(json);
    ASSERT_TRUE(root != NULL);
    int words = 0, bad = 0;
    const cJSON *clip;
    cJSON_ArrayForEach(clip, root) {
        const cJSON *ev;
        cJSON_ArrayForEach(ev, cJSON_GetObjectItem(clip, "events")) {
            if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(ev, "type")), "Word"))
                continue;
            const cJSON *toks = cJSON_GetObjectItem(ev, "tokens"), *t;
            int32_t ids[64];
            size_t n = 0;
            cJSON_ArrayForEach(t, toks) {
                if (n < 64)
                    ids[n++] = (int32_t)t->valuedouble;
            }
            char out[512];
            int len = kstt__spm_decode(spm, ids, n, out, sizeof out);
            const char *want = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "text"));
            if (len != (int)strlen(want) || strcmp(out, want) != 0) {
                fprintf(stderr, "  word %d: \"%s\" (%d) vs golden \"%s\"\n", words, out, len, want);
                bad++;
            }
            words++;
        }
    }
    cJSON_Delete(root);
    kstt__spm_free(spm);
    ASSERT_INT_EQ(bad, 0);
    ASSERT_INT_EQ(words, 29 + 6);
}

/* ---- SentencePiece's own outputs on trained and crafted models ---------------------- */

static int hexdigit(int c) {
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

static void test_decode_cases(void) {
    static const char *names[] = {"uni", "bpe_bytes", "nodummy", "crafted"};
    kstt__spm *models[4] = {0};
    int counts[4] = {0};
    for (int m = 0; m < 4; m++) {
        char file[64];
        snprintf(file, sizeof file, "%s.model", names[m]);
        ASSERT_INT_EQ(load(&models[m], data_path(file)), KSTT_OK);
    }
    FILE *f = fopen(data_path("decode_cases.txt"), "r");
    ASSERT_TRUE(f != NULL);
    static char line[1 << 14];
    int bad = 0, cases = 0;
    while (fgets(line, sizeof line, f)) {
        char *name = strtok(line, "\t"), *idtxt = strtok(NULL, "\t"), *hex = strtok(NULL, "\n");
        if (!name || !idtxt)
            continue;
        int m = 0;
        while (m < 4 && strcmp(names[m], name))
            m++;
        if (m == 4)
            continue;
        int32_t ids[64];
        size_t n = 0;
        for (char *p = idtxt; *p && n < 64;) {
            ids[n++] = (int32_t)strtol(p, &p, 10);
            if (*p == ',')
                p++;
        }
        char want[1024] = "";
        size_t wn = 0;
        for (const char *h = hex ? hex : ""; h[0] && h[1] && wn + 1 < sizeof want; h += 2)
            want[wn++] = (char)(hexdigit(h[0]) * 16 + hexdigit(h[1]));
        want[wn] = '\0';
        char out[1024];
        int len = kstt__spm_decode(models[m], ids, n, out, sizeof out);
        if (len != (int)wn || memcmp(out, want, wn) != 0) {
            if (bad < 10)
                fprintf(stderr, "  %s [%s]: got \"%s\" (%d), SentencePiece says \"%s\" (%zu)\n",
                        name, idtxt, len >= 0 ? out : "", len, want, wn);
            bad++;
        }
        counts[m]++;
        cases++;
    }
    fclose(f);
    for (int m = 0; m < 4; m++)
        kstt__spm_free(models[m]);
    ASSERT_INT_EQ(bad, 0);
    ASSERT_TRUE(cases > 900);
    for (int m = 0; m < 4; m++)
        ASSERT_TRUE(counts[m] > 20);
}

static void test_fixture_specs(void) {
    kstt__spm *spm;
    kstt__spm_info info;
    ASSERT_INT_EQ(load(&spm, data_path("bpe_bytes.model")), KSTT_OK);
    kstt__spm_get_info(spm, &info);
    ASSERT_INT_EQ(info.model_type, 2);
    ASSERT_INT_EQ(info.byte_fallback, 1);
    int bytes = 0;
    for (int i = 0; i < kstt__spm_size(spm); i++)
        bytes += kstt__spm_piece_type(spm, i) == 6;
    ASSERT_INT_EQ(bytes, 256);
    ASSERT_STR_EQ(kstt__spm_piece(spm, 4), "<0x00>");
    kstt__spm_free(spm);

    ASSERT_INT_EQ(load(&spm, data_path("nodummy.model")), KSTT_OK);
    kstt__spm_get_info(spm, &info);
    ASSERT_INT_EQ(info.add_dummy_prefix, 0);
    ASSERT_INT_EQ(info.remove_extra_whitespaces, 0);
    ASSERT_STR_EQ(info.unk_surface, "<?>");
    kstt__spm_free(spm);

    ASSERT_INT_EQ(load(&spm, data_path("crafted.model")), KSTT_OK);
    ASSERT_INT_EQ(kstt__spm_size(spm), 12);
    ASSERT_INT_EQ(kstt__spm_piece_type(spm, 7), KSTT_SPM_USER_DEFINED);
    ASSERT_INT_EQ(kstt__spm_piece_type(spm, 8), KSTT_SPM_UNUSED);
    ASSERT_STR_EQ(kstt__spm_piece(spm, 11), "\xC3\xA9t\xC3\xA9");
    ASSERT_NEAR(kstt__spm_score(spm, 11), -5.0, 0);
    kstt__spm_free(spm);
}

static void test_decode_edges(void) {
    kstt__spm *spm;
    ASSERT_INT_EQ(load(&spm, data_path("crafted.model")), KSTT_OK);
    char out[64];
    /* Ids out of range decode as unk_surface, like the unknown piece. */
    int32_t oor[] = {5, -1, 12, 5};
    ASSERT_INT_EQ(kstt__spm_decode(spm, oor, 4, out, sizeof out), 12);
    ASSERT_STR_EQ(out, "a \xE2\x81\x87  \xE2\x81\x87 a");
    /* Empty input. */
    ASSERT_INT_EQ(kstt__spm_decode(spm, NULL, 0, out, sizeof out), 0);
    ASSERT_STR_EQ(out, "");
    /* Only control pieces: nothing; the next piece still loses its leading space. */
    int32_t ctl[] = {1, 3, 2, 6};
    ASSERT_INT_EQ(kstt__spm_decode(spm, ctl, 4, out, sizeof out), 1);
    ASSERT_STR_EQ(out, "b");
    /* "▁▁" at the start loses one mark, "▁b" after it keeps its space. */
    int32_t sp[] = {10, 6};
    ASSERT_INT_EQ(kstt__spm_decode(spm, sp, 2, out, sizeof out), 3);
    ASSERT_STR_EQ(out, "  b");

    /* Output too small: KSTT_ERANGE, a NUL-terminated prefix cut at a character boundary. */
    int32_t ete[] = {5, 11}; /* "aété" = 61 C3 A9 74 C3 A9 */
    ASSERT_INT_EQ(kstt__spm_decode(spm, ete, 2, out, 7), 6);
    ASSERT_STR_EQ(out, "a\xC3\xA9t\xC3\xA9");
    ASSERT_INT_EQ(kstt__spm_decode(spm, ete, 2, out, 6), KSTT_ERANGE);
    ASSERT_STR_EQ(out, "a\xC3\xA9t");
    ASSERT_INT_EQ(kstt__spm_decode(spm, ete, 2, out, 3), KSTT_ERANGE);
    ASSERT_STR_EQ(out, "a");
    ASSERT_INT_EQ(kstt__spm_decode(spm, ete, 2, out, 1), KSTT_ERANGE);
    ASSERT_STR_EQ(out, "");
    ASSERT_INT_EQ(kstt__spm_decode(spm, ete, 2, NULL, 0), KSTT_ERANGE);
    ASSERT_INT_EQ(kstt__spm_decode(NULL, ete, 2, out, sizeof out), KSTT_EINVAL);
    kstt__spm_free(spm);

    /* Byte fallback: a well-formed run, one cut by a control piece, ill-formed bytes. */
    ASSERT_INT_EQ(load(&spm, data_path("bpe_bytes.model")), KSTT_OK);
    const int B = 4; /* <0x00> is id 4: byte b is id 4 + b */
    int32_t e9[] = {B + 0xC3, B + 0xA9};
    ASSERT_INT_EQ(kstt__spm_decode(spm, e9, 2, out, sizeof out), 2);
    ASSERT_STR_EQ(out, "\xC3\xA9");
    int32_t split[] = {B + 0xC3, 1, B + 0xA9};
    ASSERT_INT_EQ(kstt__spm_decode(spm, split, 3, out, sizeof out), 6);
    ASSERT_STR_EQ(out, "\xEF\xBF\xBD\xEF\xBF\xBD");
    int32_t emoji[] = {B + 0xF0, B + 0x9F, B + 0x98, B + 0x80, B + 0xED, B + 0xA0, B + 0x80};
    ASSERT_INT_EQ(kstt__spm_decode(spm, emoji, 7, out, sizeof out), 4 + 9);
    ASSERT_STR_EQ(out, "\xF0\x9F\x98\x80\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    /* A leading byte piece for a space is not stripped (only pieces starting with U+2581). */
    int32_t lead[] = {B + 0x20, B + 'x'};
    ASSERT_INT_EQ(kstt__spm_decode(spm, lead, 2, out, sizeof out), 2);
    ASSERT_STR_EQ(out, " x");
    kstt__spm_free(spm);
}

/* ---- broken files -------------------------------------------------------------------- */

static void test_missing_file(void) {
    kstt__spm *spm = (kstt__spm *)1;
    char err[512];
    ASSERT_INT_EQ(kstt__spm_load(&spm, "/nonexistent/dir/tok.model", err, sizeof err),
                  KSTT_ENOTFOUND);
    ASSERT_TRUE(spm == NULL);
    ASSERT_STR_EQ(err, "/nonexistent/dir/tok.model: cannot open tokenizer: No such file or "
                       "directory");
    /* A directory opens but cannot be read. */
    const char *dir = getenv("KSTT_SOURCE_DIR");
    ASSERT_TRUE(kstt__spm_load(&spm, dir ? dir : ".", err, sizeof err) < 0);
    ASSERT_TRUE(spm == NULL);
    ASSERT_STR_CONTAINS(err, dir ? dir : ".");
}

static void test_every_truncation_fails(void) {
    size_t size;
    uint8_t *img = test_read_file(test_golden(TINY), &size);
    ASSERT_TRUE(img != NULL && size > 100);
    long long live0 = kstt__alloc_live_bytes();
    int bad = 0;
    char err[512];
    for (size_t cut = 0; cut < size; cut++) {
        kstt__spm *spm = NULL;
        err[0] = '\0';
        int rc = kstt__spm_load_memory(&spm, img, cut, "tok.model", err, sizeof err);
        if (rc != KSTT_EFORMAT || spm != NULL || strncmp(err, "tok.model: ", 11) != 0) {
            if (bad < 5)
                fprintf(stderr, "  cut at %zu: rc %d, \"%s\"\n", cut, rc, err);
            bad++;
            kstt__spm_free(spm);
        }
    }
    ASSERT_INT_EQ(bad, 0);
    ASSERT_INT_EQ(kstt__alloc_live_bytes(), live0);
    /* Exact messages for the three kinds of cut. */
    kstt__spm *spm;
    ASSERT_INT_EQ(kstt__spm_load_memory(&spm, img, 0, "tok.model", err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_EQ(err, "tok.model: not a SentencePiece model: no pieces (0 bytes)");
    ASSERT_INT_EQ(kstt__spm_load_memory(&spm, img, size - 1, "tok.model", err, sizeof err),
                  KSTT_EFORMAT);
    ASSERT_STR_CONTAINS(err, "tok.model: malformed SentencePiece model: length runs past the "
                             "end of its message at byte ");
    /* The first piece record is 2 + 8 bytes ("<unk>" with its score and type). */
    size_t first = 2 + img[1];
    ASSERT_INT_EQ(kstt__spm_load_memory(&spm, img, first, "tok.model", err, sizeof err),
                  KSTT_EFORMAT);
    ASSERT_STR_EQ(err, "tok.model: malformed SentencePiece model: no trainer_spec after 1 pieces "
                       "(file cut short?)");

    /* Through a real file: the message names the path. */
    char path[] = "/tmp/kstt_spm_cut_XXXXXX";
    int fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    ASSERT_TRUE(write(fd, img, size / 2) == (ssize_t)(size / 2));
    close(fd);
    free(img);
    int rc = kstt__spm_load(&spm, path, err, sizeof err);
    unlink(path);
    ASSERT_INT_EQ(rc, KSTT_EFORMAT);
    ASSERT_TRUE(strncmp(err, path, strlen(path)) == 0);
    ASSERT_STR_CONTAINS(err, "malformed SentencePiece model");
}

/* A little protobuf writer for hand-made images. */
typedef struct {
    uint8_t d[512];
    size_t n;
} pbuf;

static void pb_raw(pbuf *b, const void *p, size_t n) {
    memcpy(b->d + b->n, p, n);
    b->n += n;
}
static void pb_varint(pbuf *b, uint64_t v) {
    do {
        uint8_t c = (uint8_t)(v & 0x7f);
        v >>= 7;
        b->d[b->n++] = c | (v ? 0x80 : 0);
    } while (v);
}
static void pb_key(pbuf *b, unsigned field, unsigned wire) {
    pb_varint(b, field << 3 | wire);
}
static void pb_bytes(pbuf *b, unsigned field, const void *p, size_t n) {
    pb_key(b, field, 2);
    pb_varint(b, n);
    pb_raw(b, p, n);
}
static void pb_str(pbuf *b, unsigned field, const char *s) {
    pb_bytes(b, field, s, strlen(s));
}
static void pb_int(pbuf *b, unsigned field, uint64_t v) {
    pb_key(b, field, 0);
    pb_varint(b, v);
}

/* A complete model: the given piece records, then trainer and normalizer specs. */
static pbuf model_with(const pbuf *pieces) {
    pbuf m = *pieces, t = {{0}, 0}, nz = {{0}, 0};
    pb_int(&t, 3, 1);
    pb_int(&nz, 3, 1);
    pb_bytes(&m, 2, t.d, t.n);
    pb_bytes(&m, 3, nz.d, nz.n);
    return m;
}

static pbuf one_piece(const void *text, size_t len, int type) {
    pbuf p = {{0}, 0}, m = {{0}, 0};
    pb_bytes(&p, 1, text, len);
    if (type)
        pb_int(&p, 3, (uint64_t)type);
    pb_bytes(&m, 1, p.d, p.n);
    return m;
}

static int load_img(const pbuf *b, char *err, size_t errlen) {
    kstt__spm *spm = NULL;
    int rc = kstt__spm_load_memory(&spm, b->d, b->n, "bad.model", err, errlen);
    kstt__spm_free(spm);
    return rc;
}

static void test_corrupt_images(void) {
    char err[512];
    pbuf p, m;

    p = one_piece("a", 1, 0);
    m = model_with(&p);
    ASSERT_INT_EQ(load_img(&m, err, sizeof err), KSTT_OK);

    p = one_piece("", 0, 0);
    m = model_with(&p);
    ASSERT_INT_EQ(load_img(&m, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_EQ(err, "bad.model: malformed SentencePiece model: piece 0 is empty (at byte 0)");

    p = one_piece("a\0b", 3, 0);
    m = model_with(&p);
    ASSERT_INT_EQ(load_img(&m, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_CONTAINS(err, "piece 0 contains a NUL byte");

    static const char *bad_bytes[] = {"<0xzz>", "<0xab>", "<0x1>", "<0x100>", "[0x41]"};
    for (int i = 0; i < 5; i++) {
        p = one_piece(bad_bytes[i], strlen(bad_bytes[i]), KSTT_SPM_BYTE);
        m = model_with(&p);
        ASSERT_INT_EQ(load_img(&m, err, sizeof err), KSTT_EFORMAT);
        ASSERT_STR_EQ(err, "bad.model: malformed SentencePiece model: piece 0 has type BYTE but "
                           "is not spelled <0xHH> (at byte 0)");
    }

    /* Wire type 7 at the top level. */
    p = one_piece("a", 1, 0);
    pb_key(&p, 9, 7);
    m = model_with(&p);
    ASSERT_INT_EQ(load_img(&m, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_EQ(err, "bad.model: malformed SentencePiece model: invalid wire type at byte 5");

    /* Ten-byte varints whose last byte overflows 64 bits, a varint cut by the end. */
    uint8_t ff[12];
    memset(ff, 0xff, sizeof ff);
    p = one_piece("a", 1, 0);
    pb_key(&p, 9, 0);
    pb_raw(&p, ff, 10);
    pb_raw(&p, "\x01", 1);
    ASSERT_INT_EQ(load_img(&p, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_EQ(err, "bad.model: malformed SentencePiece model: varint overflows 64 bits at "
                       "byte 6");
    p = one_piece("a", 1, 0);
    pb_key(&p, 9, 0);
    pb_raw(&p, ff, 9);
    pb_raw(&p, "\x02", 1);
    ASSERT_INT_EQ(load_img(&p, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_CONTAINS(err, "varint overflows 64 bits");
    p = one_piece("a", 1, 0);
    pb_key(&p, 9, 0);
    pb_raw(&p, ff, 3);
    ASSERT_INT_EQ(load_img(&p, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_EQ(err, "bad.model: malformed SentencePiece model: truncated varint at byte 6");

    /* Truncated fixed32 inside a piece. */
    p = (pbuf){{0}, 0};
    pb_raw(&p,
           "\x0a\x05\x0a\x01"
           "a\x15\x00",
           7);
    m = model_with(&p);
    ASSERT_INT_EQ(load_img(&m, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_EQ(err, "bad.model: malformed SentencePiece model: truncated fixed32 at byte 6");

    /* Field number 0; an end-group without a start; a group closed by another field. */
    p = one_piece("a", 1, 0);
    pb_raw(&p, "\x00", 1);
    ASSERT_INT_EQ(load_img(&p, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_EQ(err, "bad.model: malformed SentencePiece model: field number 0 at byte 5");
    p = one_piece("a", 1, 0);
    pb_key(&p, 9, 4);
    ASSERT_INT_EQ(load_img(&p, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_CONTAINS(err, "end of group without a start at byte 5");
    p = one_piece("a", 1, 0);
    pb_key(&p, 9, 3);
    pb_key(&p, 10, 4);
    ASSERT_INT_EQ(load_img(&p, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_CONTAINS(err, "end of group does not match its start at byte 6");
    p = one_piece("a", 1, 0);
    pb_key(&p, 9, 3);
    pb_int(&p, 1, 1);
    ASSERT_INT_EQ(load_img(&p, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_CONTAINS(err, "unterminated group at byte 5");
    /* Groups nested deeper than the limit, and a well-formed nesting below it. */
    p = one_piece("a", 1, 0);
    for (int i = 0; i < 40; i++)
        pb_key(&p, 9, 3);
    for (int i = 0; i < 40; i++)
        pb_key(&p, 9, 4);
    m = model_with(&p);
    ASSERT_INT_EQ(load_img(&m, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_CONTAINS(err, "groups nested too deeply");
    p = one_piece("a", 1, 0);
    for (int i = 0; i < 10; i++)
        pb_key(&p, 9, 3);
    pb_int(&p, 1, 1);
    for (int i = 0; i < 10; i++)
        pb_key(&p, 9, 4);
    m = model_with(&p);
    ASSERT_INT_EQ(load_img(&m, err, sizeof err), KSTT_OK);

    /* Lenient where protobuf is: an enum value outside the list keeps NORMAL, a known field
     * with an unexpected wire type is skipped (here: score as a varint). */
    p = (pbuf){{0}, 0};
    pbuf body = {{0}, 0};
    pb_str(&body, 1, "zz");
    pb_int(&body, 2, 7);
    pb_int(&body, 3, 9);
    pb_bytes(&p, 1, body.d, body.n);
    m = model_with(&p);
    kstt__spm *spm;
    ASSERT_INT_EQ(kstt__spm_load_memory(&spm, m.d, m.n, "x", err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(kstt__spm_piece_type(spm, 0), KSTT_SPM_NORMAL);
    ASSERT_NEAR(kstt__spm_score(spm, 0), 0.0, 0);
    ASSERT_STR_EQ(kstt__spm_piece(spm, 0), "zz");
    kstt__spm_free(spm);

    /* A specs-only image (no piece) and a missing normalizer. */
    p = (pbuf){{0}, 0};
    m = model_with(&p);
    ASSERT_INT_EQ(load_img(&m, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_CONTAINS(err, "bad.model: not a SentencePiece model: no pieces");
    p = one_piece("a", 1, 0);
    pb_bytes(&p, 2, "", 0);
    ASSERT_INT_EQ(load_img(&p, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_CONTAINS(err, "no normalizer_spec after 1 pieces");

    /* Arguments. */
    ASSERT_INT_EQ(kstt__spm_load_memory(NULL, m.d, m.n, "x", err, sizeof err), KSTT_EINVAL);
    ASSERT_INT_EQ(kstt__spm_load_memory(&spm, NULL, 5, "x", err, sizeof err), KSTT_EINVAL);
    ASSERT_INT_EQ(kstt__spm_load(&spm, NULL, err, sizeof err), KSTT_EINVAL);
    ASSERT_INT_EQ(kstt__spm_load_memory(&spm, m.d, (size_t)65 << 20, "big", err, sizeof err),
                  KSTT_EFORMAT);
    ASSERT_STR_CONTAINS(err, "big: 68157440 bytes is too large");
    kstt__spm_free(NULL);
}

static void test_alloc_failures(void) {
    const char *path = data_path("bpe_bytes.model");
    long long live0 = kstt__alloc_live_bytes();
    int n, ok = 0;
    for (n = 0; n < 100 && !ok; n++) {
        kstt__spm *spm = NULL;
        char err[512] = "";
        kstt__alloc_fail_after(n);
        int rc = kstt__spm_load(&spm, path, err, sizeof err);
        kstt__alloc_fail_after(-1);
        if (rc == KSTT_OK) {
            ok = 1;
            ASSERT_INT_EQ(kstt__spm_size(spm), 330);
            kstt__spm_free(spm);
        } else {
            ASSERT_INT_EQ(rc, KSTT_ENOMEM);
            ASSERT_TRUE(spm == NULL);
            ASSERT_STR_CONTAINS(err, path);
            ASSERT_STR_CONTAINS(err, "out of memory");
        }
        ASSERT_INT_EQ(kstt__alloc_live_bytes(), live0);
    }
    ASSERT_TRUE(ok);
    ASSERT_TRUE(n > 5); /* the read buffer, the model and its arrays each failed once */
}

/* ---- JSON vocabularies ---------------------------------------------------------------- */

/* {"0": piece0, ...} of a loaded model, keys in a scrambled order. Caller frees. */
static char *vocab_json_of(const kstt__spm *spm) {
    cJSON *o = cJSON_CreateObject();
    int n = kstt__spm_size(spm);
    for (int k = 0; k < n; k++) {
        int id = (int)(((long long)k * 7919) % n); /* every id once when n is not 7919k */
        char key[16];
        snprintf(key, sizeof key, "%d", id);
        cJSON_AddItemToObject(o, key, cJSON_CreateString(kstt__spm_piece(spm, id)));
    }
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return txt;
}

static void test_json_vocab_equals_model(void) {
    const char *paths[] = {test_golden(TINY), data_path("uni.model"), data_path("bpe_bytes.model")};
    for (int m = 0; m < 3; m++) {
        kstt__spm *spm, *js;
        ASSERT_INT_EQ(load(&spm, paths[m]), KSTT_OK);
        char *txt = vocab_json_of(spm);
        ASSERT_TRUE(txt != NULL);
        char err[256] = "";
        int rc = kstt__spm_load_memory(&js, txt, strlen(txt), "v.json", err, sizeof err);
        if (rc)
            fprintf(stderr, "  %s: %s\n", paths[m], err);
        ASSERT_INT_EQ(rc, KSTT_OK);
        const int n = kstt__spm_size(spm);
        ASSERT_INT_EQ(kstt__spm_size(js), n);
        int nbyte = 0;
        for (int id = 0; id < n; id++) {
            ASSERT_STR_EQ(kstt__spm_piece(js, id), kstt__spm_piece(spm, id));
            ASSERT_INT_EQ(kstt__spm_piece_type(js, id), kstt__spm_piece_type(spm, id));
            nbyte += kstt__spm_piece_type(js, id) == KSTT_SPM_BYTE;
        }
        if (m == 2)
            ASSERT_INT_EQ(nbyte, 256);
        kstt__spm_info a, b;
        kstt__spm_get_info(spm, &a);
        kstt__spm_get_info(js, &b);
        ASSERT_INT_EQ(b.unk_id, a.unk_id);
        ASSERT_INT_EQ(b.bos_id, a.bos_id);
        ASSERT_INT_EQ(b.eos_id, a.eos_id);
        ASSERT_INT_EQ(b.byte_fallback, a.byte_fallback);
        ASSERT_INT_EQ(b.add_dummy_prefix, a.add_dummy_prefix);
        ASSERT_STR_EQ(b.unk_surface, a.unk_surface);
        /* random id sequences, in and out of range, decode identically */
        for (int t = 0; t < 2000; t++) {
            int32_t ids[24];
            size_t len = (size_t)test_rand_int(0, 24);
            for (size_t i = 0; i < len; i++)
                ids[i] =
                    test_rand_int(0, 50) == 0 ? test_rand_int(-3, n + 3) : test_rand_int(0, n - 1);
            char o1[1024], o2[1024];
            int l1 = kstt__spm_decode(spm, ids, len, o1, sizeof o1);
            int l2 = kstt__spm_decode(js, ids, len, o2, sizeof o2);
            ASSERT_INT_EQ(l2, l1);
            ASSERT_TRUE(l1 < 0 || memcmp(o1, o2, (size_t)l1) == 0);
        }
        cJSON_free(txt);
        kstt__spm_free(js);
        kstt__spm_free(spm);
    }
}

static void test_json_vocab_file(void) {
    kstt__spm *spm, *js;
    ASSERT_INT_EQ(load(&spm, test_golden(TINY)), KSTT_OK);
    char *txt = vocab_json_of(spm);
    char path[] = "/tmp/kstt_vocab_XXXXXX";
    int fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    ASSERT_INT_EQ(write(fd, "\n  ", 3), 3);
    ASSERT_INT_EQ(write(fd, txt, strlen(txt)), (long long)strlen(txt));
    close(fd);
    int rc = load(&js, path); /* by content: the name has no .json extension */
    unlink(path);
    ASSERT_INT_EQ(rc, KSTT_OK);
    ASSERT_INT_EQ(kstt__spm_size(js), 128);
    const int32_t ids[] = {4, 13, 3, 5, 6};
    char o1[64], o2[64];
    ASSERT_INT_EQ(kstt__spm_decode(js, ids, 5, o2, sizeof o2),
                  kstt__spm_decode(spm, ids, 5, o1, sizeof o1));
    ASSERT_STR_EQ(o2, o1);
    cJSON_free(txt);
    kstt__spm_free(js);
    kstt__spm_free(spm);
}

static void test_json_vocab_errors(void) {
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"{}", "0 pieces"},
        {"{\"0\": \"a\", \"2\": \"b\"}", "not a token id"},
        {"{\"0\": \"a\", \"0\": \"b\"}", "appears twice"},
        {"{\"0\": \"a\", \"1\": 5}", "non-empty string"},
        {"{\"0\": \"a\", \"1\": \"\"}", "non-empty string"},
        {"{\"00\": \"a\"}", "not a token id"},
        {"{\"-0\": \"a\"}", "not a token id"},
        {"{\"0\": \"a\", \"1\": \"b\"", "not a valid JSON vocabulary"},
        {"{\"0\": \"a\"} trailing", "not a valid JSON vocabulary"},
        {"{\"0\": \"a\\u0000b\"}", NULL}, /* cJSON stops at the NUL: piece "a" */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kstt__spm *js = (kstt__spm *)1;
        char err[256] = "";
        int rc = kstt__spm_load_memory(&js, cases[i].json, strlen(cases[i].json), "bad.json", err,
                                       sizeof err);
        if (!cases[i].msg) {
            if (rc == KSTT_OK)
                kstt__spm_free(js);
            continue;
        }
        ASSERT_INT_EQ(rc, KSTT_EFORMAT);
        ASSERT_TRUE(js == NULL);
        ASSERT_STR_CONTAINS(err, "bad.json");
        ASSERT_STR_CONTAINS(err, cases[i].msg);
    }
    ASSERT_INT_EQ(kstt__vocab_json_sniff(" \n{", 3), 1);
    ASSERT_INT_EQ(kstt__vocab_json_sniff("\x0a\x05", 2), 0);
    ASSERT_INT_EQ(kstt__vocab_json_sniff("   ", 3), 0);
}

int main(void) {
    RUN(test_golden_vocab);
    RUN(test_golden_words);
    RUN(test_decode_cases);
    RUN(test_fixture_specs);
    RUN(test_decode_edges);
    RUN(test_missing_file);
    RUN(test_every_truncation_fails);
    RUN(test_corrupt_images);
    RUN(test_alloc_failures);
    RUN(test_json_vocab_equals_model);
    RUN(test_json_vocab_file);
    RUN(test_json_vocab_errors);
    return test_summary();
}
