/*
 * The tiny Mimi of the golden set (stt_tiny/mimi_tiny.safetensors + its config JSON) against
 * the PyTorch reference (mimi_tiny_ref.safetensors, golden README section 4): codes with the
 * near-tie rule, and every recorded intermediate (SEANet modules, SEANet output, transformer
 * layers, latent, projections) within the README's tolerances, for both clips, streamed in
 * 1920-sample chunks as the reference was; then the whole clip in one call (the batched path)
 * must give the same codes and latents bit for bit.
 */
#include "test.h"

#include "golden/mimi_test_util.h"

static kstt_mimi *g_mimi;
static kstt__st_file *g_ref;

static void load_all(void) {
    char err[512];
    kstt_mimi_params p = kstt_mimi_params_default();
    p.config_path = test_golden("stt_tiny/mimi_tiny_config.json");
    if (kstt_mimi_load(&g_mimi, test_golden("stt_tiny/mimi_tiny.safetensors"), &p, err,
                       sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        exit(1);
    }
    if (kstt__st_open(&g_ref, test_golden("mimi_tiny_ref.safetensors"), err, sizeof err)) {
        fprintf(stderr, "ref: %s\n", err);
        exit(1);
    }
}

/* Encodes pcm[0, n) in chunks of `chunk` samples (0: one call); codes [frames, K] malloc'd. */
static int32_t *encode(kstt_mimi_stream *s, const float *pcm, size_t n, size_t chunk,
                       long *frames) {
    const int K = kstt_mimi_num_codebooks(g_mimi);
    const size_t fmax = n / 1920 + 1;
    int32_t *codes = malloc(fmax * K * sizeof *codes);
    long done = 0;
    if (!chunk)
        chunk = n ? n : 1;
    for (size_t i = 0; i < n; i += chunk) {
        const size_t len = n - i < chunk ? n - i : chunk;
        const int r = kstt_mimi_stream_encode(s, pcm + i, len, codes + done * K, fmax - done);
        if (r < 0) {
            fprintf(stderr, "encode: %s\n", kstt_mimi_stream_errmsg(s));
            free(codes);
            return NULL;
        }
        done += r;
    }
    *frames = done;
    return codes;
}

static void check_clip(const char *clip, const char *file) {
    char nm[128];
    size_t n;
    float *pcm = mt_read_pcm(test_golden(file), &n);
    ASSERT_TRUE(pcm != NULL);
    kstt_mimi_stream *s;
    ASSERT_INT_EQ(kstt_mimi_stream_new(&s, g_mimi), KSTT_OK);
    mt_taps taps;
    memset(&taps, 0, sizeof taps);
    taps.skip_prefix = "seanet_layer";
    kstt__mimi_stream_set_tap(s, mt_tap_fn, &taps);
    long frames;
    int32_t *codes = encode(s, pcm, n, 1920, &frames);
    ASSERT_TRUE(codes != NULL);
    const int K = kstt_mimi_num_codebooks(g_mimi);
    int64_t rr, rc;
    snprintf(nm, sizeof nm, "%s.codes", clip);
    int32_t *ref = mt_get_i32(g_ref, nm, &rr, &rc);
    snprintf(nm, sizeof nm, "%s.code_margin", clip);
    float *margin = mt_get_f32(g_ref, nm, NULL, NULL);
    ASSERT_TRUE(ref && margin);
    ASSERT_INT_EQ(frames, rr);
    ASSERT_INT_EQ(K, rc);
    mt_code_stats cs = mt_compare_codes(codes, ref, margin, frames, K);
    mt_print_codes(clip, cs);
    int ok = cs.bad == 0;

    static const char *const names[] = {"seanet_out",      "tr_layer0_out", "tr_layer1_out",
                                        "transformer_out", "latent",        "proj_semantic",
                                        "proj_acoustic"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(nm, sizeof nm, "%s.%s", clip, names[i]);
        int64_t r0, c0;
        float *want = mt_get_f32(g_ref, nm, &r0, &c0);
        const mt_tap_buf *b = mt_find(&taps, names[i]);
        if (!want || !b || b->rows != r0 || b->cols != c0) {
            TEST_FAIL_("%s: missing or shape differs", nm);
            ok = 0;
        } else if (!mt_compare(nm, b->data, want, (long)r0, (long)c0, 0, 0)) {
            ok = 0;
        }
        free(want);
    }

    /* the whole clip in one call: same codes and latents, bit for bit */
    mt_taps taps2;
    memset(&taps2, 0, sizeof taps2);
    taps2.skip_prefix = "seanet_layer";
    kstt_mimi_stream_reset(s);
    kstt__mimi_stream_set_tap(s, mt_tap_fn, &taps2);
    long frames2;
    int32_t *codes2 = encode(s, pcm, n, 0, &frames2);
    ASSERT_TRUE(codes2 != NULL);
    ASSERT_INT_EQ(frames2, frames);
    ASSERT_TRUE(memcmp(codes, codes2, (size_t)frames * K * sizeof *codes) == 0);
    const mt_tap_buf *l1 = mt_find(&taps, "latent"), *l2 = mt_find(&taps2, "latent");
    ASSERT_TRUE(l1 && l2 && l1->rows == l2->rows);
    ASSERT_TRUE(memcmp(l1->data, l2->data, (size_t)l1->rows * l1->cols * sizeof(float)) == 0);
    printf("  %s: one call == 1920-sample chunks (codes and latents bitwise)\n", clip);

    mt_taps_free(&taps);
    mt_taps_free(&taps2);
    free(codes);
    free(codes2);
    free(ref);
    free(margin);
    free(pcm);
    kstt_mimi_stream_free(s);
    ASSERT_TRUE(ok);
}

static void test_bria(void) {
    check_clip("bria", "bria_10s_24k.f32");
}
static void test_fr(void) {
    check_clip("fr", "fr_6s_24k.f32");
}

/* Every SEANet module's output over the first 4 chunks (README 4.4: channels-first). */
static void test_seanet_layers(void) {
    size_t n;
    float *pcm = mt_read_pcm(test_golden("bria_10s_24k.f32"), &n);
    ASSERT_TRUE(pcm != NULL && n >= 4 * 1920);
    kstt_mimi_stream *s;
    ASSERT_INT_EQ(kstt_mimi_stream_new(&s, g_mimi), KSTT_OK);
    mt_taps taps;
    memset(&taps, 0, sizeof taps);
    kstt__mimi_stream_set_tap(s, mt_tap_fn, &taps);
    long frames;
    int32_t *codes = encode(s, pcm, 4 * 1920, 1920, &frames);
    ASSERT_TRUE(codes != NULL);
    int ok = 1;
    for (int i = 0; i <= 14; i++) {
        char nm[64], tn[40];
        snprintf(tn, sizeof tn, "seanet_layer%02d_out", i);
        snprintf(nm, sizeof nm, "bria.first4.%s", tn);
        int64_t C, T;
        float *want = mt_get_f32(g_ref, nm, &C, &T);
        const mt_tap_buf *b = mt_find(&taps, tn);
        if (!want || !b || b->rows != T || b->cols != C) {
            TEST_FAIL_("%s: missing or shape differs (got [%ld, %ld])", nm, b ? b->rows : -1,
                       b ? b->cols : -1);
            ok = 0;
        } else if (!mt_compare(nm, b->data, want, (long)T, (long)C, 1, (long)T)) {
            ok = 0;
        }
        free(want);
    }
    mt_taps_free(&taps);
    free(codes);
    free(pcm);
    kstt_mimi_stream_free(s);
    ASSERT_TRUE(ok);
}

int main(void) {
    load_all();
    RUN(test_seanet_layers);
    RUN(test_bria);
    RUN(test_fr);
    kstt__st_close(g_ref);
    kstt_mimi_free(g_mimi);
    return test_summary();
}
