/*
 * Loading the Mimi encoder from bad inputs (exact error texts), its options (codebook prefix,
 * folded weight norm, module-style attention names), fault injection during load and stream
 * creation (every allocation failing in turn: an error, no leak), and the rustymimi-c
 * compatible API of include/mimi.h driven from C.
 */
#include <unistd.h>

#include "test.h"

#include "core/alloc.h"
#include "golden/mimi_test_util.h"
#include "mimi.h"

static char g_dir[64];
static const char *g_file, *g_cfg;
static float *g_pcm;
static size_t g_n;

static const char *tmp_path(const char *name) {
    static char buf[4][256];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 256, "%s/%s", g_dir, name);
    return p;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* Copies the tiny Mimi to `out`, dropping `drop` (may be NULL), renaming `from` to `to`, and
 * giving `reshape` (may be NULL) a first dimension smaller by one (data truncated). */
static int copy_model(const char *out, const char *drop, const char *from, const char *to,
                      const char *reshape) {
    char err[256];
    kstt__st_file *f;
    if (kstt__st_open(&f, g_file, err, sizeof err))
        return -1;
    kstt__st_writer *w;
    if (kstt__st_writer_new(&w))
        return -1;
    for (size_t i = 0; i < kstt__st_count(f); i++) {
        const kstt__tensor *t = kstt__st_at(f, i);
        if (drop && !strcmp(t->name, drop))
            continue;
        int64_t shape[KSTT_ST_MAX_DIMS];
        memcpy(shape, t->shape, sizeof shape);
        if (reshape && !strcmp(t->name, reshape))
            shape[0]--;
        const char *name = from && !strcmp(t->name, from) ? to : t->name;
        if (kstt__st_writer_add(w, name, t->dtype, t->ndim, shape, t->data))
            return -1;
    }
    int rc = kstt__st_writer_save(w, out, err, sizeof err);
    kstt__st_writer_free(w);
    kstt__st_close(f);
    return rc;
}

static int load(kstt_mimi **m, const char *path, const char *cfg, int ncb, char *err, size_t n) {
    kstt_mimi_params p = kstt_mimi_params_default();
    p.config_path = cfg;
    p.num_codebooks = ncb;
    return kstt_mimi_load(m, path, &p, err, n);
}

static void expect_error(const char *path, const char *cfg, int ncb, int status, const char *text) {
    char err[512] = "untouched";
    kstt_mimi *m = (kstt_mimi *)1;
    const int rc = load(&m, path, cfg, ncb, err, sizeof err);
    if (rc != status || m != NULL || strcmp(err, text) != 0)
        TEST_FAIL_("load(%s, %s, %d): status %d (want %d), message \"%s\"\n        want \"%s\"",
                   path, cfg ? cfg : "-", ncb, rc, status, err, text);
}

static void test_missing_and_bad_files(void) {
    char want[768];
    const char *nofile = tmp_path("nope.safetensors");
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", nofile);
    expect_error(nofile, g_cfg, 0, KSTT_ENOTFOUND, want);

    const char *p = tmp_path("missing.safetensors");
    ASSERT_INT_EQ(copy_model(p, "encoder.model.3.conv.conv.weight", NULL, NULL, NULL), 0);
    snprintf(want, sizeof want, "%s: missing tensor 'encoder.model.3.conv.conv.weight'", p);
    expect_error(p, g_cfg, 0, KSTT_ENOTFOUND, want);

    p = tmp_path("missing_cb.safetensors");
    ASSERT_INT_EQ(
        copy_model(p, "quantizer.rvq_rest.vq.layers.6._codebook.cluster_usage", NULL, NULL, NULL),
        0);
    snprintf(want, sizeof want,
             "%s: missing tensor 'quantizer.rvq_rest.vq.layers.6._codebook.cluster_usage'", p);
    expect_error(p, g_cfg, 0, KSTT_ENOTFOUND, want);
    /* ... which is not needed for the first 7 codebooks */
    char err[512];
    kstt_mimi *m;
    ASSERT_INT_EQ(load(&m, p, g_cfg, 7, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(kstt_mimi_num_codebooks(m), 7);
    kstt_mimi_free(m);

    p = tmp_path("shape.safetensors");
    ASSERT_INT_EQ(
        copy_model(p, NULL, NULL, NULL, "encoder_transformer.transformer.layers.1.linear1.weight"),
        0);
    snprintf(want, sizeof want,
             "%s: tensor 'encoder_transformer.transformer.layers.1.linear1.weight' has shape "
             "[255, 64], expected [256, 64]",
             p);
    expect_error(p, g_cfg, 0, KSTT_EFORMAT, want);

    p = tmp_path("conv_shape.safetensors");
    ASSERT_INT_EQ(copy_model(p, NULL, NULL, NULL, "encoder.model.14.conv.conv.weight"), 0);
    snprintf(want, sizeof want,
             "%s: tensor 'encoder.model.14.conv.conv.weight' has shape [63, 128, 3], expected "
             "[64, 128, 3]",
             p);
    expect_error(p, g_cfg, 0, KSTT_EFORMAT, want);

    /* the tiny file read with the built-in real dimensions */
    snprintf(want, sizeof want,
             "%s: tensor 'encoder.model.0.conv.conv.weight' has shape [8, 1, 7], expected "
             "[64, 1, 7]",
             g_file);
    expect_error(g_file, NULL, 0, KSTT_EFORMAT, want);

    /* not a safetensors file at all: the reader's message, naming the file */
    m = NULL;
    ASSERT_TRUE(load(&m, g_cfg, g_cfg, 0, err, sizeof err) != KSTT_OK);
    ASSERT_TRUE(m == NULL);
    ASSERT_STR_CONTAINS(err, g_cfg);
}

static void test_bad_config(void) {
    char want[768];
    const char *c = tmp_path("c1.json");
    write_text(c, "{\"seanet\": {\"ratios\": [8, 6, 5, 4], }");
    kstt_mimi *m;
    char err[512];
    ASSERT_INT_EQ(load(&m, g_file, c, 0, err, sizeof err), KSTT_EFORMAT);
    snprintf(want, sizeof want, "%s: not valid JSON (error near byte", c);
    ASSERT_STR_CONTAINS(err, want);

    write_text(c, "{\"seanet\": {\"ratios\": \"8,6,5,4\"}}");
    snprintf(want, sizeof want, "%s: key \"seanet.ratios\" must be an array of 1..8 integers", c);
    expect_error(g_file, c, 0, KSTT_EFORMAT, want);

    write_text(c, "{\"transformer\": {\"num_heads\": 4.5}}");
    snprintf(want, sizeof want, "%s: key \"transformer.num_heads\" must be an integer", c);
    expect_error(g_file, c, 0, KSTT_EFORMAT, want);

    write_text(c, "{\"transformer\": {\"gating\": \"silu\"}}");
    snprintf(want, sizeof want,
             "%s: key \"transformer.gating\" = \"silu\" is not supported (expected \"none\")", c);
    expect_error(g_file, c, 0, KSTT_EUNSUPPORTED, want);

    /* a context shorter than a frame's 2 steps would leave the first query of each frame with
     * nothing to attend to (NaN activations, codes all 0) */
    write_text(c, "{\"transformer\": {\"context\": 1}}");
    snprintf(want, sizeof want,
             "%s: transformer.context 1 is shorter than the 2 transformer steps of a frame", c);
    expect_error(g_file, c, 0, KSTT_EUNSUPPORTED, want);
    write_text(c, "{\"transformer\": {\"context\": 2}}");
    kstt_mimi *m2;
    ASSERT_INT_EQ(load(&m2, g_file, c, 0, err, sizeof err), KSTT_EFORMAT); /* real dims */
    ASSERT_TRUE(strstr(err, "context") == NULL);

    write_text(c, "{\"seanet\": {\"causal\": false}}");
    snprintf(want, sizeof want, "%s: key \"seanet.causal\" = false is not supported", c);
    expect_error(g_file, c, 0, KSTT_EUNSUPPORTED, want);

    write_text(c, "{\"quantizer\": {\"n_q\": 0}}");
    snprintf(want, sizeof want, "%s: key \"quantizer.n_q\" out of range (got 0; expected 1..1024)",
             c);
    expect_error(g_file, c, 0, KSTT_EFORMAT, want);

    write_text(c, "[1, 2]");
    snprintf(want, sizeof want, "%s: the document must be a JSON object", c);
    expect_error(g_file, c, 0, KSTT_EFORMAT, want);

    const char *none = tmp_path("none.json");
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", none);
    expect_error(g_file, none, 0, KSTT_ENOTFOUND, want); /* as for a missing weights file */
}

static void test_bad_num_codebooks(void) {
    char want[768];
    snprintf(want, sizeof want, "%s: num_codebooks 9 out of range 1..8 (0 = all)", g_file);
    expect_error(g_file, g_cfg, 9, KSTT_EINVAL, want);
    snprintf(want, sizeof want, "%s: num_codebooks -1 out of range 1..8 (0 = all)", g_file);
    expect_error(g_file, g_cfg, -1, KSTT_EINVAL, want);
    char err[64];
    ASSERT_INT_EQ(kstt_mimi_load(NULL, g_file, NULL, err, sizeof err), KSTT_EINVAL);
    ASSERT_STR_EQ(err, "kstt_mimi_load: out is NULL");
}

/* codes [frames, K] of the first `frames` frames of the clip */
static int32_t *codes_of(kstt_mimi *m, long frames) {
    kstt_mimi_stream *s;
    if (kstt_mimi_stream_new(&s, m))
        return NULL;
    const int K = kstt_mimi_num_codebooks(m);
    int32_t *c = malloc((size_t)frames * K * sizeof *c);
    int r = kstt_mimi_stream_encode(s, g_pcm, (size_t)frames * 1920, c, (size_t)frames);
    kstt_mimi_stream_free(s);
    if (r != frames) {
        free(c);
        return NULL;
    }
    return c;
}

static void test_codebook_prefix_and_names(void) {
    char err[512];
    kstt_mimi *all, *three, *alt;
    ASSERT_INT_EQ(load(&all, g_file, g_cfg, 0, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(load(&three, g_file, g_cfg, 3, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(kstt_mimi_num_codebooks(all), 8);
    ASSERT_INT_EQ(kstt_mimi_num_codebooks(three), 3);
    ASSERT_INT_EQ(kstt_mimi_sample_rate(all), 24000);
    ASSERT_INT_EQ(kstt_mimi_frame_size(all), 1920);
    const char *p = tmp_path("alt.safetensors");
    ASSERT_INT_EQ(
        copy_model(p, NULL, "encoder_transformer.transformer.layers.0.self_attn.in_proj_weight",
                   "encoder_transformer.transformer.layers.0.self_attn.in_projs.0.weight", NULL),
        0);
    ASSERT_INT_EQ(load(&alt, p, g_cfg, 0, err, sizeof err), KSTT_OK);
    const long nf = 60;
    int32_t *a = codes_of(all, nf), *b = codes_of(three, nf), *c = codes_of(alt, nf);
    ASSERT_TRUE(a && b && c);
    for (long f = 0; f < nf; f++)
        for (int k = 0; k < 3; k++)
            ASSERT_INT_EQ(b[f * 3 + k], a[f * 8 + k]);
    ASSERT_TRUE(memcmp(a, c, nf * 8 * sizeof *a) == 0);
    free(a);
    free(b);
    free(c);
    kstt_mimi_free(all);
    kstt_mimi_free(three);
    kstt_mimi_free(alt);
}

/* A file storing one conv as weight_g / weight_v (v = 3 w, g = ||w|| per output) loads to the
 * same weights up to rounding. */
static void test_weight_norm_fold(void) {
    char err[512];
    kstt__st_file *f;
    ASSERT_INT_EQ(kstt__st_open(&f, g_file, err, sizeof err), KSTT_OK);
    kstt__st_writer *w;
    ASSERT_INT_EQ(kstt__st_writer_new(&w), KSTT_OK);
    const char *target = "encoder.model.6.conv.conv.weight";
    for (size_t i = 0; i < kstt__st_count(f); i++) {
        const kstt__tensor *t = kstt__st_at(f, i);
        if (strcmp(t->name, target) != 0) {
            ASSERT_INT_EQ(kstt__st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data), 0);
            continue;
        }
        const int64_t co = t->shape[0], per = t->shape[1] * t->shape[2];
        float *v = malloc((size_t)t->numel * sizeof *v), *g = malloc((size_t)co * sizeof *g);
        memcpy(v, t->data, t->nbytes);
        for (int64_t o = 0; o < co; o++) {
            double ss = 0;
            for (int64_t i2 = 0; i2 < per; i2++)
                ss += (double)v[o * per + i2] * v[o * per + i2];
            g[o] = (float)sqrt(ss);
            for (int64_t i2 = 0; i2 < per; i2++)
                v[o * per + i2] *= 3.0f;
        }
        const int64_t gs[3] = {co, 1, 1};
        ASSERT_INT_EQ(kstt__st_writer_add(w, "encoder.model.6.conv.conv.weight_v", KSTT_DT_F32, 3,
                                          t->shape, v),
                      0);
        ASSERT_INT_EQ(
            kstt__st_writer_add(w, "encoder.model.6.conv.conv.weight_g", KSTT_DT_F32, 3, gs, g), 0);
        free(v);
        free(g);
    }
    const char *p = tmp_path("wn.safetensors");
    ASSERT_INT_EQ(kstt__st_writer_save(w, p, err, sizeof err), KSTT_OK);
    kstt__st_writer_free(w);
    kstt__st_close(f);
    kstt_mimi *m0, *m1;
    ASSERT_INT_EQ(load(&m0, g_file, g_cfg, 0, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(load(&m1, p, g_cfg, 0, err, sizeof err), KSTT_OK);
    const kstt__wmat *a = &m0->stages[1].down.w, *b = &m1->stages[1].down.w;
    double maxd = 0;
    for (long i = 0; i < a->rows * a->cols; i++) {
        const double d = fabs((double)((const float *)a->data)[i] - ((const float *)b->data)[i]);
        maxd = d > maxd ? d : maxd;
    }
    printf("  folded weight_g/weight_v: max |w - g v / ||v|||| = %.2e\n", maxd);
    ASSERT_TRUE(maxd < 1e-6);
    kstt_mimi_free(m0);
    kstt_mimi_free(m1);
}

/* Every allocation of load and stream_new fails in turn: an error each time, nothing leaked. */
static void test_fault_injection(void) {
    const long long base = kstt__alloc_live_bytes();
    int n_load = -1;
    for (long n = 0; n < 1000; n++) {
        char err[512] = "";
        kstt_mimi *m = NULL;
        kstt__alloc_fail_after(n);
        const int rc = load(&m, g_file, g_cfg, 0, err, sizeof err);
        kstt__alloc_fail_after(-1);
        if (rc == KSTT_OK) {
            n_load = (int)n;
            kstt_mimi_stream *s = NULL;
            for (long k = 0;; k++) {
                kstt__alloc_fail_after(k);
                const int rs = kstt_mimi_stream_new(&s, m);
                kstt__alloc_fail_after(-1);
                if (rs == KSTT_OK)
                    break;
                ASSERT_INT_EQ(rs, KSTT_ENOMEM);
                ASSERT_TRUE(s == NULL);
            }
            kstt_mimi_stream_free(s);
            kstt_mimi_free(m);
            break;
        }
        ASSERT_TRUE(m == NULL);
        if (rc != KSTT_ENOMEM)
            TEST_FAIL_("allocation %ld failing: status %d (%s)", n, rc, err);
        ASSERT_INT_EQ(rc, KSTT_ENOMEM);
        ASSERT_STR_CONTAINS(err, "out of memory");
        ASSERT_INT_EQ(kstt__alloc_live_bytes(), base);
    }
    ASSERT_TRUE(n_load > 0);
    printf("  load survives each of its %d allocations failing\n", n_load);
    ASSERT_INT_EQ(kstt__alloc_live_bytes(), base);

    for (long n = 0; n < 1000; n++) {
        char err[512] = "";
        kstt__alloc_fail_after(n);
        MimiTokenizer *t = mimi_tokenizer_new_ex(g_file, 8, g_cfg, err, sizeof err);
        kstt__alloc_fail_after(-1);
        if (t) {
            mimi_tokenizer_free(t);
            break;
        }
        ASSERT_TRUE(err[0] != '\0');
        ASSERT_INT_EQ(kstt__alloc_live_bytes(), base);
    }
    ASSERT_INT_EQ(kstt__alloc_live_bytes(), base);
}

/* include/mimi.h driven from C: the same codes as the native API, step-major. */
static void test_mimi_h(void) {
    char err[512];
    ASSERT_TRUE(mimi_tokenizer_new(NULL, 8) == NULL);
    ASSERT_TRUE(mimi_tokenizer_new(g_file, 8) == NULL); /* the tiny file is not the real Mimi */
    ASSERT_TRUE(mimi_tokenizer_new_ex(g_file, 8, NULL, err, sizeof err) == NULL);
    ASSERT_STR_CONTAINS(err, "has shape [8, 1, 7], expected [64, 1, 7]");
    ASSERT_TRUE(mimi_tokenizer_new_ex(g_file, 0, g_cfg, err, sizeof err) == NULL);
    char want[768];
    snprintf(want, sizeof want, "%s: num_codebooks 0 out of range (1..n_q)", g_file);
    ASSERT_STR_EQ(err, want);
    ASSERT_TRUE(mimi_tokenizer_new_ex(g_file, 9, g_cfg, err, sizeof err) == NULL);
    snprintf(want, sizeof want, "%s: num_codebooks 9 out of range 1..8 (0 = all)", g_file);
    ASSERT_STR_EQ(err, want);

    MimiTokenizer *t = mimi_tokenizer_new_ex(g_file, 5, g_cfg, err, sizeof err);
    ASSERT_TRUE(t != NULL);
    const long nf = 40;
    kstt_mimi *m;
    ASSERT_INT_EQ(load(&m, g_file, g_cfg, 5, err, sizeof err), KSTT_OK);
    int32_t *ref = codes_of(m, nf);
    ASSERT_TRUE(ref != NULL);
    for (int pass = 0; pass < 2; pass++) { /* the second pass after mimi_reset */
        long got = 0;
        for (size_t i = 0; i < (size_t)nf * 1920; i += 1000) {
            const size_t len = (size_t)nf * 1920 - i < 1000 ? (size_t)nf * 1920 - i : 1000;
            uint32_t *codes = NULL;
            size_t k = 0, steps = 0;
            const int32_t rc = mimi_encode_step(t, g_pcm + i, len, &codes, &k, &steps);
            const long complete = (long)((i + len) / 1920) - got;
            if (complete == 0) {
                ASSERT_INT_EQ(rc, -1);
                ASSERT_TRUE(codes == NULL);
                ASSERT_STR_EQ(mimi_last_error(t), "");
                continue;
            }
            ASSERT_INT_EQ(rc, 0);
            ASSERT_INT_EQ(k, 5);
            ASSERT_INT_EQ(steps, complete);
            for (size_t j = 0; j < steps * k; j++)
                ASSERT_INT_EQ(codes[j], ref[got * 5 + (long)j]);
            mimi_free_codes(codes, steps * k);
            got += (long)steps;
        }
        ASSERT_INT_EQ(got, nf);
        mimi_reset(t);
    }
    uint32_t *codes;
    size_t k, steps;
    ASSERT_INT_EQ(mimi_encode_step(t, NULL, 10, &codes, &k, &steps), -1);
    ASSERT_STR_EQ(mimi_last_error(t), "mimi_encode_step: NULL argument");
    ASSERT_INT_EQ(mimi_encode_step(NULL, g_pcm, 10, &codes, &k, &steps), -1);
    mimi_free_codes(NULL, 0);
    mimi_reset(NULL);
    mimi_tokenizer_free(NULL);
    mimi_tokenizer_free(t);
    free(ref);
    kstt_mimi_free(m);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/kstt_mimi_api_XXXXXX");
    if (!mkdtemp(g_dir))
        return 1;
    g_file = test_golden("stt_tiny/mimi_tiny.safetensors");
    g_cfg = test_golden("stt_tiny/mimi_tiny_config.json");
    g_pcm = mt_read_pcm(test_golden("bria_10s_24k.f32"), &g_n);
    RUN(test_missing_and_bad_files);
    RUN(test_bad_config);
    RUN(test_bad_num_codebooks);
    RUN(test_codebook_prefix_and_names);
    RUN(test_weight_norm_fold);
    RUN(test_fault_injection);
    RUN(test_mimi_h);
    static const char *const files[] = {"missing.safetensors",
                                        "missing_cb.safetensors",
                                        "shape.safetensors",
                                        "conv_shape.safetensors",
                                        "alt.safetensors",
                                        "wn.safetensors",
                                        "c1.json"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        unlink(tmp_path(files[i]));
    rmdir(g_dir);
    free(g_pcm);
    return test_summary();
}
