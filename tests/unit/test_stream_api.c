/*
 * The public model/stream API on the golden tiny model directory: loading and its info, every
 * bad-input error with its exact text (missing files, bad config, shape mismatch, truncated
 * weights, unsupported weights), fault injection over kstt_model_load and kstt_stream_new
 * (every allocation failing in turn: an error, no leak), call-order errors (feed after flush),
 * zero-length audio, argument checks of kstt_batch_feed, and the asr_delay_in_tokens rule.
 * The transcripts themselves are checked by tests/golden/test_asr_pipeline.c.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "io/safetensors.h"
#include "kstt.h"
#include "test.h"

static char tmp[256];
static char err[1024];

/* A scratch model directory: symlinks to the golden files plus a config written by the test. */
static void make_dir(void) {
    snprintf(tmp, sizeof tmp, "/tmp/kstt_stream_api_XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        exit(1);
    }
    const char *files[] = {"model.safetensors", "mimi_tiny.safetensors", "mimi_tiny_config.json",
                           "tokenizer_tiny_en_fr_audio_128.model"};
    for (int i = 0; i < 4; i++) {
        char src[1024], dst[512];
        snprintf(dst, sizeof dst, "%s/%s", tmp, files[i]);
        snprintf(src, sizeof src, "%s", test_golden("stt_tiny/model.safetensors"));
        char *slash = strrchr(src, '/');
        snprintf(slash + 1, sizeof src - (size_t)(slash + 1 - src), "%s", files[i]);
        if (symlink(src, dst) != 0) {
            perror("symlink");
            exit(1);
        }
    }
}

static void rm_dir(void) {
    const char *files[] = {"model.safetensors",
                           "mimi_tiny.safetensors",
                           "mimi_tiny_config.json",
                           "tokenizer_tiny_en_fr_audio_128.model",
                           "config.json",
                           "cut.safetensors",
                           "f32.safetensors",
                           "card32.safetensors",
                           "model.gguf"};
    for (int i = 0; i < 9; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", tmp, files[i]);
        unlink(p);
    }
    rmdir(tmp);
}

/* Writes config.json = the golden config with each edits[i][0] replaced by edits[i][1] (each
 * must occur), in order. */
static void write_config_edits(int n_edits, const char *const (*edits)[2]) {
    size_t n;
    char *raw = test_read_file(test_golden("stt_tiny/config.json"), &n);
    char *js = calloc(1, n + 1);
    memcpy(js, raw, n);
    free(raw);
    for (int i = 0; i < n_edits; i++) {
        const char *from = edits[i][0], *to = edits[i][1];
        char *at = strstr(js, from);
        if (!at) {
            fprintf(stderr, "config has no \"%s\"\n", from);
            exit(1);
        }
        char *out = malloc(strlen(js) + strlen(to) + 1);
        size_t pre = (size_t)(at - js);
        memcpy(out, js, pre);
        strcpy(out + pre, to);
        strcat(out, at + strlen(from));
        free(js);
        js = out;
    }
    char p[512];
    snprintf(p, sizeof p, "%s/config.json", tmp);
    FILE *f = fopen(p, "wb");
    fputs(js, f);
    fclose(f);
    free(js);
}

/* The golden config with `from` replaced by `to` (must occur); NULL from: unchanged. */
static void write_config(const char *from, const char *to) {
    const char *const edit[1][2] = {{from, to}};
    write_config_edits(from ? 1 : 0, edit);
}

/* Loads the scratch dir; returns the status and leaves the message in err. */
static int load_tmp(kstt_model **m) {
    err[0] = 0;
    kstt_model_params mp = kstt_model_params_default();
    return kstt_model_load(m, tmp, &mp, err, sizeof err);
}

#define EXPECT_LOAD_ERR(code, ...)                                                                 \
    do {                                                                                           \
        kstt_model *m_ = (kstt_model *)1;                                                          \
        long long live_ = kstt__alloc_live_bytes();                                                \
        int rc_ = load_tmp(&m_);                                                                   \
        char want_[1024];                                                                          \
        snprintf(want_, sizeof want_, __VA_ARGS__);                                                \
        ASSERT_STR_EQ(err, want_);                                                                 \
        ASSERT_INT_EQ(rc_, code);                                                                  \
        ASSERT_TRUE(m_ == NULL);                                                                   \
        ASSERT_INT_EQ(kstt__alloc_live_bytes(), live_);                                            \
    } while (0)

static void test_load_info(void) {
    kstt_model *m;
    kstt_model_params mp = kstt_model_params_default();
    ASSERT_INT_EQ(mp.asr_delay_in_tokens, -1);
    const char *dir = test_golden("stt_tiny");
    ASSERT_INT_EQ(kstt_model_load(&m, dir, &mp, err, sizeof err), KSTT_OK);
    kstt_model_info info;
    kstt_model_get_info(m, &info);
    ASSERT_INT_EQ(info.sample_rate, 24000);
    ASSERT_INT_EQ(info.frame_size, 1920);
    ASSERT_NEAR(info.frame_rate, 12.5, 0);
    ASSERT_INT_EQ(info.asr_delay_in_tokens, 6); /* floor(0.5 * 12.5) */
    ASSERT_NEAR(info.audio_delay_seconds, 0.5, 0);
    ASSERT_NEAR(info.silence_prefix_seconds, 1.0, 0);
    ASSERT_INT_EQ(info.prefix_frames, 13); /* ceil(1.0 s * 12.5) */
    ASSERT_INT_EQ(info.has_vad, 1);
    ASSERT_INT_EQ(info.num_codebooks, 8);
    ASSERT_INT_EQ(info.text_vocab, 128);
    ASSERT_INT_EQ(info.context, 16);
    /* decode as SentencePiece does: pieces joined, the leading space dropped */
    int32_t ids[] = {72, 72, 105};
    char text[64];
    size_t need = 99;
    ASSERT_INT_EQ(kstt_model_decode(m, ids, 3, text, sizeof text, NULL), (int)strlen("qu quî"));
    ASSERT_STR_EQ(text, "qu quî");
    ASSERT_INT_EQ(kstt_model_decode(m, ids, 3, text, sizeof text, &need), (int)strlen("qu quî"));
    ASSERT_INT_EQ(need, strlen("qu quî") + 1);
    /* too small: a truncated prefix at a character boundary, and the capacity needed */
    need = 0;
    ASSERT_INT_EQ(kstt_model_decode(m, ids, 3, text, 3, &need), KSTT_ERANGE);
    ASSERT_STR_EQ(text, "qu");
    ASSERT_INT_EQ(need, strlen("qu quî") + 1);
    need = 0;
    ASSERT_INT_EQ(kstt_model_decode(m, ids, 3, text, 7, &need), KSTT_ERANGE);
    ASSERT_STR_EQ(text, "qu qu"); /* the 2-byte character does not fit in 6 bytes */
    ASSERT_INT_EQ(need, 8);
    ASSERT_INT_EQ(kstt_model_decode(m, ids, 3, text, 1, NULL), KSTT_ERANGE);
    ASSERT_STR_EQ(text, "");
    /* measuring only: no buffer; then a buffer of exactly the size needed */
    need = 0;
    ASSERT_INT_EQ(kstt_model_decode(m, ids, 3, NULL, 0, &need), KSTT_ERANGE);
    ASSERT_INT_EQ(need, 8);
    char exact[8];
    ASSERT_INT_EQ(kstt_model_decode(m, ids, 3, exact, need, &need), 7);
    ASSERT_STR_EQ(exact, "qu quî");
    ASSERT_INT_EQ(kstt_model_decode(m, NULL, 0, text, sizeof text, &need), 0);
    ASSERT_INT_EQ(need, 1);
    /* argument errors: nothing needed reported */
    need = 5;
    ASSERT_INT_EQ(kstt_model_decode(m, NULL, 3, text, sizeof text, &need), KSTT_EINVAL);
    ASSERT_INT_EQ(need, 0);
    ASSERT_INT_EQ(kstt_model_decode(NULL, ids, 3, text, sizeof text, NULL), KSTT_EINVAL);
    ASSERT_INT_EQ(kstt_model_decode(m, ids, 3, NULL, 4, NULL), KSTT_EINVAL);
    kstt_model_free(m);
    /* the params override the delay; NULL params mean the defaults */
    mp.asr_delay_in_tokens = 9;
    ASSERT_INT_EQ(kstt_model_load(&m, dir, &mp, NULL, 0), KSTT_OK);
    kstt_model_get_info(m, &info);
    ASSERT_INT_EQ(info.asr_delay_in_tokens, 9);
    kstt_model_free(m);
    ASSERT_INT_EQ(kstt_model_load(&m, dir, NULL, NULL, 0), KSTT_OK);
    kstt_model_free(m);
    kstt_model_free(NULL);
    /* a kernel level outside the enum is refused before anything loads, by this call */
    mp = kstt_model_params_default();
    mp.kernels = (kstt_kernels)7;
    m = (kstt_model *)1;
    ASSERT_INT_EQ(kstt_model_load(&m, dir, &mp, err, sizeof err), KSTT_EINVAL);
    ASSERT_STR_EQ(err, "kstt_model_load: kernels 7 out of range");
    ASSERT_TRUE(m == NULL);
}

static void test_delay_from_config(void) {
    make_dir();
    kstt_model *m;
    kstt_model_info info;
    write_config("\"dim\"", "\"asr_delay_in_tokens\": 4, \"dim\"");
    ASSERT_INT_EQ(load_tmp(&m), KSTT_OK);
    kstt_model_get_info(m, &info);
    ASSERT_INT_EQ(info.asr_delay_in_tokens, 4);
    kstt_model_free(m);
    write_config("\"audio_delay_seconds\": 0.5", "\"audio_delay_seconds\": 2.5");
    ASSERT_INT_EQ(load_tmp(&m), KSTT_OK);
    kstt_model_get_info(m, &info);
    ASSERT_INT_EQ(info.asr_delay_in_tokens, 31); /* floor(2.5 * 12.5), as stt-rs */
    kstt_model_free(m);
    rm_dir();
}

static void test_bad_inputs(void) {
    make_dir();
    /* no config.json */
    EXPECT_LOAD_ERR(KSTT_ENOTFOUND, "%s/config.json: cannot open: No such file or directory", tmp);
    write_config("\"dim\": 64", "\"dim\": 64,,");
    EXPECT_LOAD_ERR(KSTT_EFORMAT, "%s/config.json: not valid JSON (error near byte 421)", tmp);
    write_config("\"dim\": 64,", "");
    EXPECT_LOAD_ERR(KSTT_EFORMAT, "%s/config.json: missing key \"dim\"", tmp);
    write_config("\"n_q\": 8", "\"n_q\": \"8\"");
    EXPECT_LOAD_ERR(KSTT_EFORMAT, "%s/config.json: key \"n_q\" must be an integer", tmp);
    /* files named by the config that are missing */
    write_config("\"moshi_name\": \"model.safetensors\"", "\"moshi_name\": \"lm.safetensors\"");
    EXPECT_LOAD_ERR(KSTT_ENOTFOUND, "%s/lm.safetensors: cannot open: No such file or directory",
                    tmp);
    write_config("\"tokenizer_name\": \"tokenizer_tiny_en_fr_audio_128.model\"",
                 "\"tokenizer_name\": \"tok.model\"");
    EXPECT_LOAD_ERR(KSTT_ENOTFOUND,
                    "%s/tok.model: cannot open tokenizer: No such file or directory", tmp);
    write_config("\"mimi_name\": \"mimi_tiny.safetensors\"", "\"mimi_name\": \"mimi.safetensors\"");
    EXPECT_LOAD_ERR(KSTT_ENOTFOUND, "%s/mimi.safetensors: cannot open: No such file or directory",
                    tmp);
    write_config("\"mimi_config_name\": \"mimi_tiny_config.json\"",
                 "\"mimi_config_name\": \"mimi.json\"");
    EXPECT_LOAD_ERR(KSTT_ENOTFOUND, "%s/mimi.json: cannot open: No such file or directory", tmp);
    write_config("\"moshi_name\": \"model.safetensors\"", "\"moshi_name\": \"model.gguf\"");
    EXPECT_LOAD_ERR(KSTT_ENOTFOUND, "%s/model.gguf: cannot open: No such file or directory", tmp);
    /* the format is told by the file's magic, not its name: safetensors named .gguf loads */
    {
        char src[1024], dst[512];
        snprintf(src, sizeof src, "%s", test_golden("stt_tiny/model.safetensors"));
        snprintf(dst, sizeof dst, "%s/model.gguf", tmp);
        ASSERT_INT_EQ(symlink(src, dst), 0);
        kstt_model *m;
        ASSERT_INT_EQ(load_tmp(&m), KSTT_OK);
        kstt_model_free(m);
    }
    /* shapes that do not match the config */
    write_config("\"dim\": 64", "\"dim\": 32");
    EXPECT_LOAD_ERR(KSTT_EFORMAT,
                    "%s/model.safetensors: tensor 'text_emb.weight' has shape [129, 64], "
                    "expected [129, 32]",
                    tmp);
    write_config("\"card\": 64", "\"card\": 63");
    EXPECT_LOAD_ERR(KSTT_EFORMAT,
                    "%s/model.safetensors: tensor 'emb.0.weight' has shape [65, 64], expected "
                    "[64, 64]",
                    tmp);
    write_config("\"num_layers\": 2", "\"num_layers\": 3");
    EXPECT_LOAD_ERR(KSTT_ENOTFOUND,
                    "%s/model.safetensors: missing tensor 'transformer.layers.2.norm1.alpha'", tmp);
    write_config("\"extra_heads_num_heads\": 4", "\"extra_heads_num_heads\": 3");
    EXPECT_LOAD_ERR(KSTT_EFORMAT,
                    "%s/model.safetensors: 4 extra heads in the file but extra_heads_num_heads "
                    "is 3",
                    tmp);
    write_config("\"extra_heads_dim\": 6", "\"extra_heads_dim\": 5");
    EXPECT_LOAD_ERR(KSTT_EFORMAT,
                    "%s/model.safetensors: tensor 'extra_heads.0.weight' has shape [6, 64], "
                    "expected [5, 64]",
                    tmp);
    /* truncated weights */
    size_t n;
    unsigned char *w = test_read_file(test_golden("stt_tiny/model.safetensors"), &n);
    char p[512];
    snprintf(p, sizeof p, "%s/cut.safetensors", tmp);
    FILE *f = fopen(p, "wb");
    fwrite(w, 1, n - 100, f);
    fclose(f);
    free(w);
    write_config("\"moshi_name\": \"model.safetensors\"", "\"moshi_name\": \"cut.safetensors\"");
    EXPECT_LOAD_ERR(KSTT_EFORMAT,
                    "%s/cut.safetensors: tensor 'transformer.layers.1.self_attn.out_proj.weight':"
                    " data_offsets [295680, 303872) run past the end of the data block (303772 "
                    "bytes)",
                    tmp);
    rm_dir();
}

/* An LM whose audio vocabulary (card) is smaller than the Mimi codebooks (bins) cannot read the
 * codes: refused at load, naming both, instead of loading and then failing (or misreading codes
 * >= card as the audio pad token) at the first feed. */
static void test_card_smaller_than_bins(void) {
    make_dir();
    char e2[512];
    kstt__st_file *src;
    ASSERT_INT_EQ(kstt__st_open(&src, test_golden("stt_tiny/model.safetensors"), e2, sizeof e2),
                  KSTT_OK);
    kstt__st_writer *wr;
    ASSERT_INT_EQ(kstt__st_writer_new(&wr), KSTT_OK);
    for (size_t i = 0; i < kstt__st_count(src); i++) {
        const kstt__tensor *t = kstt__st_at(src, i);
        int64_t shape[3] = {t->shape[0], t->ndim > 1 ? t->shape[1] : 0,
                            t->ndim > 2 ? t->shape[2] : 0};
        if (!strncmp(t->name, "emb.", 4))
            shape[0] = 33; /* card 32: rows 0..31 and the pad row */
        ASSERT_INT_EQ(kstt__st_writer_add(wr, t->name, t->dtype, t->ndim, shape, t->data), KSTT_OK);
    }
    char p[512];
    snprintf(p, sizeof p, "%s/card32.safetensors", tmp);
    ASSERT_INT_EQ(kstt__st_writer_save(wr, p, e2, sizeof e2), KSTT_OK);
    kstt__st_writer_free(wr);
    kstt__st_close(src);
    const char *const edits[2][2] = {
        {"\"card\": 64", "\"card\": 32"},
        {"\"moshi_name\": \"model.safetensors\"", "\"moshi_name\": \"card32.safetensors\""}};
    write_config_edits(2, edits);
    EXPECT_LOAD_ERR(KSTT_EFORMAT,
                    "%s/mimi_tiny.safetensors: the Mimi codebooks have 64 entries but the LM's "
                    "audio vocabulary (card) is 32",
                    tmp);
    rm_dir();
}

/* Weights stored as F32 (and a [D] norm) load and give the same logits path: checked here by
 * loading only; the golden comparison runs on the BF16 file. */
static void test_f32_weights_and_mlx_names(void) {
    make_dir();
    char e2[512];
    kstt__st_file *src;
    ASSERT_INT_EQ(kstt__st_open(&src, test_golden("stt_tiny/model.safetensors"), e2, sizeof e2),
                  KSTT_OK);
    kstt__st_writer *wr;
    ASSERT_INT_EQ(kstt__st_writer_new(&wr), KSTT_OK);
    for (size_t i = 0; i < kstt__st_count(src); i++) {
        const kstt__tensor *t = kstt__st_at(src, i);
        float *buf = malloc((size_t)t->numel * sizeof(float));
        ASSERT_INT_EQ(kstt__st_to_f32(src, t, buf, e2, sizeof e2), KSTT_OK);
        /* MLX names: audio_embs.k, in_proj.weight, norm*.weight [D] */
        char name[256];
        snprintf(name, sizeof name, "%s", t->name);
        int64_t shape[3] = {t->shape[0], t->ndim > 1 ? t->shape[1] : 0,
                            t->ndim > 2 ? t->shape[2] : 0};
        int ndim = t->ndim;
        char *a;
        if (!strncmp(name, "emb.", 4))
            snprintf(name, sizeof name, "audio_embs.%s", t->name + 4);
        if ((a = strstr(name, "in_proj_weight")))
            strcpy(a, "in_proj.weight");
        if ((a = strstr(name, ".alpha"))) {
            strcpy(a, ".weight");
            ndim = 1;
            shape[0] = t->shape[2];
        }
        ASSERT_INT_EQ(kstt__st_writer_add(wr, name, KSTT_DT_F32, ndim, shape, buf), KSTT_OK);
        free(buf);
    }
    char p[512];
    snprintf(p, sizeof p, "%s/f32.safetensors", tmp);
    ASSERT_INT_EQ(kstt__st_writer_save(wr, p, e2, sizeof e2), KSTT_OK);
    kstt__st_writer_free(wr);
    kstt__st_close(src);
    write_config("\"moshi_name\": \"model.safetensors\"", "\"moshi_name\": \"f32.safetensors\"");
    kstt_model *m;
    ASSERT_INT_EQ(load_tmp(&m), KSTT_OK);
    /* the same transcript as the BF16 file (the values are the same numbers) */
    kstt_model *ref;
    ASSERT_INT_EQ(kstt_model_load(&ref, test_golden("stt_tiny"), NULL, err, sizeof err), KSTT_OK);
    kstt_stream *s1, *s2;
    kstt_stream_params sp = kstt_stream_params_default();
    ASSERT_INT_EQ(kstt_stream_new(&s1, m, &sp), KSTT_OK);
    ASSERT_INT_EQ(kstt_stream_new(&s2, ref, &sp), KSTT_OK);
    float pcm[9600];
    for (int i = 0; i < 9600; i++)
        pcm[i] = 0.3f * sinf((float)i * 0.05f) * (float)(i % 97) / 97;
    int r1 = kstt_stream_feed(s1, pcm, 9600);
    if (r1 != 18)
        fprintf(stderr, "%s\n", kstt_stream_errmsg(s1));
    ASSERT_INT_EQ(r1, 18);
    ASSERT_INT_EQ(kstt_stream_feed(s2, pcm, 9600), 18);
    kstt_event e1[64], ev2[64];
    int n1 = kstt_stream_read(s1, e1, 64), n2 = kstt_stream_read(s2, ev2, 64);
    ASSERT_INT_EQ(n1, n2);
    ASSERT_INT_EQ(n1, 18);
    for (int i = 0; i < n1; i++) {
        ASSERT_INT_EQ(e1[i].type, ev2[i].type);
        ASSERT_NEAR(e1[i].prs[2], ev2[i].prs[2], 1e-6);
    }
    kstt_stream_free(s1);
    kstt_stream_free(s2);
    kstt_model_free(m);
    kstt_model_free(ref);
    rm_dir();
}

/* Every allocation of kstt_model_load and kstt_stream_new fails in turn: an error, no leak;
 * then the load succeeds once the failures run out. */
static void test_fault_injection(void) {
    const char *dir = test_golden("stt_tiny");
    int load_fail = 0, new_fail = 0;
    for (long k = 0; k < 100000; k++) {
        long long live = kstt__alloc_live_bytes();
        kstt_model *m = NULL;
        kstt__alloc_fail_after(k);
        int rc = kstt_model_load(&m, dir, NULL, err, sizeof err);
        kstt__alloc_fail_after(-1);
        if (rc == KSTT_OK) {
            kstt_model_free(m);
            ASSERT_INT_EQ(kstt__alloc_live_bytes(), live);
            break;
        }
        ASSERT_TRUE(m == NULL);
        ASSERT_TRUE(err[0] != 0);
        ASSERT_INT_EQ(kstt__alloc_live_bytes(), live);
        load_fail++;
    }
    kstt_model *m;
    ASSERT_INT_EQ(kstt_model_load(&m, dir, NULL, err, sizeof err), KSTT_OK);
    for (long k = 0; k < 100000; k++) {
        long long live = kstt__alloc_live_bytes();
        kstt_stream *s = NULL;
        kstt__alloc_fail_after(k);
        int rc = kstt_stream_new(&s, m, NULL);
        kstt__alloc_fail_after(-1);
        if (rc == KSTT_OK) {
            kstt_stream_free(s);
            ASSERT_INT_EQ(kstt__alloc_live_bytes(), live);
            break;
        }
        ASSERT_INT_EQ(rc, KSTT_ENOMEM);
        ASSERT_TRUE(s == NULL);
        ASSERT_INT_EQ(kstt__alloc_live_bytes(), live);
        new_fail++;
    }
    kstt_model_free(m);
    printf("  %d failing load points, %d failing stream_new points\n", load_fail, new_fail);
    ASSERT_TRUE(load_fail > 10 && new_fail > 5);
}

static void test_call_order_and_empty_audio(void) {
    kstt_model *m;
    ASSERT_INT_EQ(kstt_model_load(&m, test_golden("stt_tiny"), NULL, err, sizeof err), KSTT_OK);
    for (int pad = 0; pad <= 1; pad++) {
        kstt_stream *s;
        kstt_stream_params sp = kstt_stream_params_default();
        sp.pad = pad;
        ASSERT_INT_EQ(kstt_stream_new(&s, m, &sp), KSTT_OK);
        kstt_event ev[8];
        /* no audio at all: nothing runs, nothing comes out */
        ASSERT_INT_EQ(kstt_stream_feed(s, NULL, 0), 0);
        ASSERT_INT_EQ(kstt_stream_flush(s), 0);
        ASSERT_INT_EQ(kstt_stream_read(s, ev, 8), 0);
        ASSERT_STR_EQ(kstt_stream_errmsg(s), "");
        /* after flush: feed and flush are refused until reset */
        float pcm[100] = {0};
        ASSERT_INT_EQ(kstt_stream_feed(s, pcm, 100), KSTT_ESTATE);
        ASSERT_STR_EQ(kstt_stream_errmsg(s),
                      "the stream was flushed; call kstt_stream_reset before feeding it again");
        ASSERT_INT_EQ(kstt_stream_flush(s), KSTT_ESTATE);
        kstt_stream_reset(s);
        ASSERT_STR_EQ(kstt_stream_errmsg(s), "");
        /* less than a frame: no step until flush pads it (plus the pad-mode silences) */
        ASSERT_INT_EQ(kstt_stream_feed(s, pcm, 100), pad ? 13 : 0);
        ASSERT_INT_EQ(kstt_stream_flush(s), pad ? 1 + 19 : 1);
        kstt_stream_reset(s);
        ASSERT_INT_EQ(kstt_stream_feed(s, NULL, 5), KSTT_EINVAL);
        ASSERT_STR_EQ(kstt_stream_errmsg(s), "kstt_stream_feed: NULL samples (n = 5)");
        /* a whole frame: one step in raw mode; flush without a partial frame adds none */
        float frame[1920] = {0};
        ASSERT_INT_EQ(kstt_stream_feed(s, frame, 1920), pad ? 14 : 1);
        ASSERT_INT_EQ(kstt_stream_flush(s), pad ? 19 : 0);
        kstt_stream_free(s);
    }
    ASSERT_INT_EQ(kstt_stream_feed(NULL, NULL, 0), KSTT_EINVAL);
    ASSERT_INT_EQ(kstt_stream_read(NULL, NULL, 0), KSTT_EINVAL);
    kstt_stream_free(NULL);
    kstt_model_free(m);
}

/* kstt_batch_feed refuses bad arguments before any stream runs, naming the stream at fault in
 * the batch's message and the stream's own. */
static void test_batch_feed_args(void) {
    kstt_model *m, *m2;
    ASSERT_INT_EQ(kstt_model_load(&m, test_golden("stt_tiny"), NULL, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(kstt_model_load(&m2, test_golden("stt_tiny"), NULL, err, sizeof err), KSTT_OK);
    kstt_batch *bt;
    ASSERT_INT_EQ(kstt_batch_new(&bt, m, 0, err, sizeof err), KSTT_EINVAL);
    ASSERT_STR_CONTAINS(err, "max_streams 0 out of range");
    ASSERT_INT_EQ(kstt_batch_new(&bt, NULL, 2, err, sizeof err), KSTT_EINVAL);
    ASSERT_INT_EQ(kstt_batch_new(&bt, m, 2, err, sizeof err), KSTT_OK);
    kstt_stream *a, *b, *c;
    ASSERT_INT_EQ(kstt_stream_new(&a, m, NULL), KSTT_OK);
    ASSERT_INT_EQ(kstt_stream_new(&b, m, NULL), KSTT_OK);
    ASSERT_INT_EQ(kstt_stream_new(&c, m2, NULL), KSTT_OK);
    float pcm[1920] = {0};
    const float *p3[3] = {pcm, pcm, pcm};
    size_t n3[3] = {1920, 1920, 1920};
    kstt_stream *three[3] = {a, b, c};
    ASSERT_INT_EQ(kstt_batch_feed(bt, three, p3, n3, 3), KSTT_EINVAL);
    ASSERT_STR_EQ(kstt_batch_errmsg(bt),
                  "kstt_batch_feed: 3 streams but the batch holds at most 2");
    kstt_stream *dup[2] = {a, a};
    ASSERT_INT_EQ(kstt_batch_feed(bt, dup, p3, n3, 2), KSTT_EINVAL);
    ASSERT_STR_EQ(kstt_stream_errmsg(a), "kstt_batch_feed: stream 1 appears twice (also at 0)");
    ASSERT_STR_EQ(kstt_batch_errmsg(bt), "kstt_batch_feed: stream 1 appears twice (also at 0)");
    kstt_stream *mixed[2] = {a, c};
    ASSERT_INT_EQ(kstt_batch_feed(bt, mixed, p3, n3, 2), KSTT_EINVAL);
    ASSERT_STR_EQ(kstt_stream_errmsg(c),
                  "kstt_batch_feed: stream 1 belongs to another model than the batch");
    kstt_stream *ab[2] = {a, b};
    const float *pn[2] = {pcm, NULL};
    ASSERT_INT_EQ(kstt_batch_feed(bt, ab, pn, n3, 2), KSTT_EINVAL);
    ASSERT_STR_EQ(kstt_stream_errmsg(b), "kstt_batch_feed: NULL samples for stream 1");
    ASSERT_INT_EQ(kstt_batch_feed(bt, ab, p3, n3, 0), 0);
    ASSERT_INT_EQ(kstt_batch_feed(NULL, ab, p3, n3, 2), KSTT_EINVAL);
    /* nothing ran in the refused calls: a then b step as fresh streams (prefix 13 + 1) */
    ASSERT_INT_EQ(kstt_batch_feed(bt, ab, p3, n3, 2), 14);
    ASSERT_STR_EQ(kstt_stream_errmsg(a), "");
    ASSERT_STR_EQ(kstt_batch_errmsg(bt), "");
    kstt_event ev[32];
    ASSERT_INT_EQ(kstt_stream_read(a, ev, 32), 14); /* Step events */
    ASSERT_INT_EQ(ev[13].step, 14);
    ASSERT_INT_EQ(kstt_stream_read(b, ev, 32), 14);
    ASSERT_INT_EQ(kstt_stream_flush(b), 19);
    ASSERT_INT_EQ(kstt_batch_feed(bt, ab, p3, n3, 2), KSTT_ESTATE);
    ASSERT_STR_EQ(kstt_stream_errmsg(b), "kstt_batch_feed: stream 1 was flushed; call "
                                         "kstt_stream_reset before feeding it again");
    /* the streams of a batch are reordered and freed freely between feeds */
    kstt_stream_reset(b);
    kstt_stream *ba[2] = {b, a};
    /* b fresh again (prefix 13 + 1), a one frame further: 14 model steps */
    ASSERT_INT_EQ(kstt_batch_feed(bt, ba, p3, n3, 2), 14);
    kstt_stream_free(a);
    kstt_stream *bonly[1] = {b};
    ASSERT_INT_EQ(kstt_batch_feed(bt, bonly, p3, n3, 1), 1);
    kstt_batch_free(bt);
    kstt_batch_free(NULL);
    ASSERT_STR_EQ(kstt_batch_errmsg(NULL), "NULL batch");
    kstt_stream_free(b);
    kstt_stream_free(c);
    kstt_model_free(m);
    kstt_model_free(m2);
}

/* Temperature > 0: Gumbel-max sampling, reproducible for a seed (also after reset). */
static void sampled_words(kstt_model *m, uint64_t seed, int reset_first, char *out, size_t cap) {
    kstt_stream_params sp = kstt_stream_params_default();
    sp.temperature = 1.0f;
    sp.seed = seed;
    sp.step_events = 0;
    kstt_stream *s;
    out[0] = 0;
    if (kstt_stream_new(&s, m, &sp))
        return;
    size_t n;
    float *pcm = test_read_file(test_golden("bria_10s_24k.f32"), &n);
    n = 3 * 24000;
    if (reset_first) {
        if (kstt_stream_feed(s, pcm, 5000) < 0)
            return;
        kstt_stream_reset(s);
    }
    if (kstt_stream_feed(s, pcm, n) < 0 || kstt_stream_flush(s) < 0)
        return;
    kstt_event ev[64];
    int k;
    while ((k = kstt_stream_read(s, ev, 64)) > 0)
        for (int i = 0; i < k; i++) {
            if (ev[i].type != KSTT_EVENT_WORD)
                continue;
            size_t len = strlen(out);
            snprintf(out + len, cap - len, "%s|", ev[i].text);
        }
    free(pcm);
    kstt_stream_free(s);
}

static void test_sampling(void) {
    kstt_model *m;
    ASSERT_INT_EQ(kstt_model_load(&m, test_golden("stt_tiny"), NULL, err, sizeof err), KSTT_OK);
    static char a[8192], b[8192], c[8192];
    sampled_words(m, 7, 0, a, sizeof a);
    sampled_words(m, 7, 1, b, sizeof b);
    sampled_words(m, 8, 0, c, sizeof c);
    ASSERT_TRUE(a[0] != 0);
    ASSERT_STR_EQ(a, b);
    ASSERT_TRUE(strcmp(a, c) != 0);
    /* a negative temperature is refused */
    kstt_stream_params sp = kstt_stream_params_default();
    sp.temperature = -1.0f;
    kstt_stream *s = (kstt_stream *)1;
    ASSERT_INT_EQ(kstt_stream_new(&s, m, &sp), KSTT_EINVAL);
    ASSERT_TRUE(s == NULL);
    kstt_model_free(m);
}

/* After warm-up, feeding and reading allocate nothing (batches of 1 and 2 streams). */
static void test_no_alloc_in_steps(void) {
    kstt_model *m;
    ASSERT_INT_EQ(kstt_model_load(&m, test_golden("stt_tiny"), NULL, err, sizeof err), KSTT_OK);
    size_t n;
    float *pcm = test_read_file(test_golden("bria_10s_24k.f32"), &n);
    n /= sizeof(float);
    kstt_stream *s[2];
    ASSERT_INT_EQ(kstt_stream_new(&s[0], m, NULL), KSTT_OK);
    ASSERT_INT_EQ(kstt_stream_new(&s[1], m, NULL), KSTT_OK);
    kstt_batch *bt;
    ASSERT_INT_EQ(kstt_batch_new(&bt, m, 2, err, sizeof err), KSTT_OK);
    kstt_event ev[64];
    const size_t piece = 12345;
    long long before = 0;
    for (size_t off = 0; off + piece <= n; off += piece) {
        if (off == 3 * piece)
            before = kstt__alloc_count(); /* warmed up */
        const float *p[2] = {pcm + off, pcm + n - off - piece};
        size_t k[2] = {piece, piece};
        ASSERT_TRUE(kstt_stream_feed(s[0], pcm + off, piece) >= 0);
        ASSERT_TRUE(kstt_batch_feed(bt, s, p, k, 2) >= 6);
        while (kstt_stream_read(s[0], ev, 64) > 0) {
        }
        while (kstt_stream_read(s[1], ev, 64) > 0) {
        }
    }
    ASSERT_INT_EQ(kstt__alloc_count(), before);
    kstt_batch_free(bt);
    kstt_stream_free(s[0]);
    kstt_stream_free(s[1]);
    kstt_model_free(m);
    free(pcm);
}

int main(void) {
    RUN(test_load_info);
    RUN(test_delay_from_config);
    RUN(test_bad_inputs);
    RUN(test_f32_weights_and_mlx_names);
    RUN(test_card_smaller_than_bins);
    RUN(test_fault_injection);
    RUN(test_call_order_and_empty_audio);
    RUN(test_batch_feed_args);
    RUN(test_sampling);
    RUN(test_no_alloc_in_steps);
    if (kstt__alloc_live_bytes() != 0) {
        fprintf(stderr, "leak: %lld bytes\n", kstt__alloc_live_bytes());
        return 1;
    }
    return test_summary();
}
