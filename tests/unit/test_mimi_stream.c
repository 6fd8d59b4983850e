/*
 * Streaming behaviour of the Mimi encoder on the golden tiny Mimi (fast): any chunk size gives
 * the same codes (and latents, bit for bit) as one call; frames come out exactly when their
 * 1920th sample arrives; reset returns to a fresh state (replicate padding re-armed); empty
 * input; KSTT_ERANGE consumes nothing; several streams share one model; a 10-minute input
 * streams with flat memory (no allocation per call).
 */
#include "test.h"

#include "core/alloc.h"
#include "golden/mimi_test_util.h"

static kstt_mimi *g_mimi;
static kstt_pool *g_pool;
static float *g_pcm;
static size_t g_n;
static int g_k;

/* Encodes pcm in chunks drawn from `sizes` (cycled; a size of 0 = the rest in one call).
 * Returns malloc'd codes; *frames set; latents collected into *lat when non-NULL. */
static int32_t *run(kstt_mimi_stream *s, const float *pcm, size_t n, const size_t *sizes,
                    int n_sizes, long *frames, mt_taps *lat) {
    if (lat) {
        memset(lat, 0, sizeof *lat);
        lat->skip_prefix = "seanet_layer";
        kstt__mimi_stream_set_tap(s, mt_tap_fn, lat);
    }
    const size_t fmax = n / 1920 + 1;
    int32_t *codes = malloc(fmax * g_k * sizeof *codes);
    long done = 0;
    int si = 0;
    for (size_t i = 0; i < n;) {
        size_t len = sizes[si++ % n_sizes];
        if (len == 0 || len > n - i)
            len = n - i;
        const int r = kstt_mimi_stream_encode(s, pcm + i, len, codes + done * g_k, fmax - done);
        if (r < 0) {
            fprintf(stderr, "encode: %s\n", kstt_mimi_stream_errmsg(s));
            free(codes);
            return NULL;
        }
        done += r;
        i += len;
    }
    kstt__mimi_stream_set_tap(s, NULL, NULL);
    *frames = done;
    return codes;
}

static void test_chunk_invariance(void) {
    kstt_mimi_stream *s;
    ASSERT_INT_EQ(kstt_mimi_stream_new(&s, g_mimi), KSTT_OK);
    const size_t whole[1] = {0};
    long f0;
    mt_taps lat0;
    int32_t *ref = run(s, g_pcm, g_n, whole, 1, &f0, &lat0);
    ASSERT_TRUE(ref != NULL);
    ASSERT_INT_EQ(f0, (long)(g_n / 1920));
    static const size_t sizes[][4] = {{1},     {7}, {480}, {1920}, {3000}, {1919, 1921, 5, 38400},
                                      {100000}};
    static const int n_sizes[] = {1, 1, 1, 1, 1, 4, 1};
    for (size_t c = 0; c < sizeof n_sizes / sizeof *n_sizes; c++) {
        kstt_mimi_stream_reset(s);
        long f;
        mt_taps lat;
        int32_t *codes = run(s, g_pcm, g_n, sizes[c], n_sizes[c], &f, &lat);
        ASSERT_TRUE(codes != NULL);
        ASSERT_INT_EQ(f, f0);
        const mt_tap_buf *a = mt_find(&lat0, "latent"), *b = mt_find(&lat, "latent");
        const int same_codes = !memcmp(codes, ref, (size_t)f * g_k * sizeof *codes);
        const int same_lat = a && b && a->rows == b->rows &&
                             !memcmp(a->data, b->data, (size_t)a->rows * a->cols * sizeof(float));
        printf("  chunks of %zu%s: %ld frames, codes %s, latents %s\n", sizes[c][0],
               n_sizes[c] > 1 ? " (mixed)" : "", f, same_codes ? "identical" : "DIFFER",
               same_lat ? "bitwise identical" : "DIFFER");
        mt_taps_free(&lat);
        free(codes);
        ASSERT_TRUE(same_codes && same_lat);
    }
    mt_taps_free(&lat0);
    free(ref);
    kstt_mimi_stream_free(s);
}

/* Fed one sample at a time, a frame comes out exactly with its 1920th sample. */
static void test_one_sample_feeding(void) {
    kstt_mimi_stream *s;
    ASSERT_INT_EQ(kstt_mimi_stream_new(&s, g_mimi), KSTT_OK);
    const size_t n = 20 * 1920 + 77;
    int32_t *codes = malloc((n / 1920 + 1) * g_k * sizeof *codes);
    long done = 0;
    for (size_t i = 0; i < n; i++) {
        ASSERT_INT_EQ(kstt_mimi_stream_frames_after(s, 1), (i + 1) % 1920 == 0);
        const int r = kstt_mimi_stream_encode(s, g_pcm + i, 1, codes + done * g_k, 1);
        ASSERT_INT_EQ(r, (i + 1) % 1920 == 0 ? 1 : 0);
        done += r;
    }
    kstt_mimi_stream_reset(s);
    int32_t *ref = malloc((n / 1920) * g_k * sizeof *ref);
    ASSERT_INT_EQ(kstt_mimi_stream_encode(s, g_pcm, n, ref, n / 1920), (int)(n / 1920));
    ASSERT_TRUE(memcmp(codes, ref, (size_t)done * g_k * sizeof *codes) == 0);
    free(codes);
    free(ref);
    kstt_mimi_stream_free(s);
}

static void test_reset_and_empty(void) {
    kstt_mimi_stream *s, *fresh;
    ASSERT_INT_EQ(kstt_mimi_stream_new(&s, g_mimi), KSTT_OK);
    ASSERT_INT_EQ(kstt_mimi_stream_new(&fresh, g_mimi), KSTT_OK);
    /* empty input: nothing happens, NULL buffers allowed */
    ASSERT_INT_EQ(kstt_mimi_stream_encode(s, NULL, 0, NULL, 0), 0);
    ASSERT_INT_EQ(kstt_mimi_stream_frames_after(s, 0), 0);
    const size_t n = 40 * 1920;
    const long nf = 40;
    int32_t *a = malloc(nf * g_k * sizeof *a), *b = malloc(nf * g_k * sizeof *b);
    /* dirty the stream (part of a frame left buffered too), then reset */
    ASSERT_INT_EQ(kstt_mimi_stream_encode(s, g_pcm + 12345, 7 * 1920 + 100, a, nf), 7);
    kstt_mimi_stream_reset(s);
    ASSERT_INT_EQ(kstt_mimi_stream_frames_after(s, 1919), 0);
    /* different audio first so the replicate padding of the downsample must be re-armed */
    ASSERT_INT_EQ(kstt_mimi_stream_encode(s, g_pcm, n, a, nf), nf);
    ASSERT_INT_EQ(kstt_mimi_stream_encode(fresh, g_pcm, n, b, nf), nf);
    ASSERT_TRUE(memcmp(a, b, nf * g_k * sizeof *a) == 0);
    /* after an empty call the stream is unchanged */
    ASSERT_INT_EQ(kstt_mimi_stream_encode(s, g_pcm, 0, NULL, 0), 0);
    free(a);
    free(b);
    kstt_mimi_stream_free(s);
    kstt_mimi_stream_free(fresh);
}

static void test_erange_consumes_nothing(void) {
    kstt_mimi_stream *s, *t;
    ASSERT_INT_EQ(kstt_mimi_stream_new(&s, g_mimi), KSTT_OK);
    ASSERT_INT_EQ(kstt_mimi_stream_new(&t, g_mimi), KSTT_OK);
    int32_t a[5 * 8], b[5 * 8];
    ASSERT_TRUE(g_k <= 8);
    ASSERT_INT_EQ(kstt_mimi_stream_encode(s, g_pcm, 5 * 1920, a, 4), KSTT_ERANGE);
    ASSERT_STR_EQ(kstt_mimi_stream_errmsg(s),
                  "kstt_mimi_stream_encode: 5 frames complete but codes has room for 4");
    ASSERT_INT_EQ(kstt_mimi_stream_encode(s, g_pcm, 5 * 1920, a, 5), 5);
    ASSERT_STR_EQ(kstt_mimi_stream_errmsg(s), "");
    ASSERT_INT_EQ(kstt_mimi_stream_encode(t, g_pcm, 5 * 1920, b, 5), 5);
    ASSERT_TRUE(memcmp(a, b, 5 * g_k * sizeof *a) == 0);
    ASSERT_INT_EQ(kstt_mimi_stream_encode(s, NULL, 10, a, 5), KSTT_EINVAL);
    ASSERT_STR_EQ(kstt_mimi_stream_errmsg(s), "kstt_mimi_stream_encode: pcm is NULL with n = 10");
    ASSERT_INT_EQ(kstt_mimi_stream_encode(s, g_pcm, 1920, NULL, 1), KSTT_EINVAL);
    ASSERT_STR_EQ(kstt_mimi_stream_errmsg(s), "kstt_mimi_stream_encode: codes is NULL");
    kstt_mimi_stream_free(s);
    kstt_mimi_stream_free(t);
}

/* Streams of one model are independent: interleaved calls give each its own codes. */
static void test_streams_share_model(void) {
    kstt_mimi_stream *s1, *s2;
    ASSERT_INT_EQ(kstt_mimi_stream_new(&s1, g_mimi), KSTT_OK);
    ASSERT_INT_EQ(kstt_mimi_stream_new(&s2, g_mimi), KSTT_OK);
    const long nf = 30;
    int32_t *a = malloc(nf * g_k * sizeof *a), *b = malloc(nf * g_k * sizeof *b);
    long da = 0, db = 0;
    const float *pa = g_pcm, *pb = g_pcm + 50 * 1920;
    for (size_t i = 0; i < (size_t)nf * 1920; i += 960) {
        da += kstt_mimi_stream_encode(s1, pa + i, 960, a + da * g_k, nf - da);
        db += kstt_mimi_stream_encode(s2, pb + i, 960, b + db * g_k, nf - db);
    }
    ASSERT_INT_EQ(da, nf);
    ASSERT_INT_EQ(db, nf);
    int32_t *ra = malloc(nf * g_k * sizeof *ra), *rb = malloc(nf * g_k * sizeof *rb);
    kstt_mimi_stream_reset(s1);
    ASSERT_INT_EQ(kstt_mimi_stream_encode(s1, pa, nf * 1920, ra, nf), nf);
    kstt_mimi_stream_reset(s1);
    ASSERT_INT_EQ(kstt_mimi_stream_encode(s1, pb, nf * 1920, rb, nf), nf);
    ASSERT_TRUE(memcmp(a, ra, nf * g_k * sizeof *a) == 0);
    ASSERT_TRUE(memcmp(b, rb, nf * g_k * sizeof *b) == 0);
    free(a);
    free(b);
    free(ra);
    free(rb);
    kstt_mimi_stream_free(s1);
    kstt_mimi_stream_free(s2);
}

/* 10 minutes of synthetic audio: no allocation while streaming, every frame out, and the first
 * minute equal to the same audio in one call. */
static void test_ten_minutes_flat_memory(void) {
    const size_t n = 600 * 24000;
    float *pcm = malloc(n * sizeof *pcm);
    uint64_t r = 12345;
    for (size_t i = 0; i < n; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        const double t = (double)i / 24000.0;
        const double noise = (double)(r >> 40) / 16777216.0 - 0.5;
        pcm[i] = (float)(0.3 * sin(2 * M_PI * (220.0 + 80.0 * sin(0.3 * t)) * t) *
                             (0.5 + 0.5 * sin(0.7 * t)) +
                         0.05 * noise);
    }
    kstt_mimi_stream *s;
    ASSERT_INT_EQ(kstt_mimi_stream_new(&s, g_mimi), KSTT_OK);
    const long nf = (long)(n / 1920);
    int32_t *codes = malloc((size_t)nf * g_k * sizeof *codes);
    const long long live0 = kstt__alloc_live_bytes(), count0 = kstt__alloc_count();
    long done = 0;
    static const size_t chunks[] = {4800, 1920, 333, 19200, 7};
    for (size_t i = 0, c = 0; i < n; c++) {
        size_t len = chunks[c % 5];
        if (len > n - i)
            len = n - i;
        const int got = kstt_mimi_stream_encode(s, pcm + i, len, codes + done * g_k, nf - done);
        ASSERT_TRUE(got >= 0);
        done += got;
        i += len;
        if (kstt__alloc_live_bytes() != live0 || kstt__alloc_count() != count0) {
            TEST_FAIL_("memory changed while streaming at sample %zu: %lld -> %lld bytes, %lld "
                       "-> %lld allocations",
                       i, live0, kstt__alloc_live_bytes(), count0, kstt__alloc_count());
            break;
        }
    }
    ASSERT_INT_EQ(done, nf);
    printf("  %ld frames (10 min), live bytes flat at %lld, no allocation while streaming\n", done,
           live0);
    kstt_mimi_stream_reset(s);
    const long nf1 = 750;
    int32_t *one = malloc((size_t)nf1 * g_k * sizeof *one);
    ASSERT_INT_EQ(kstt_mimi_stream_encode(s, pcm, (size_t)nf1 * 1920, one, nf1), nf1);
    ASSERT_TRUE(memcmp(one, codes, (size_t)nf1 * g_k * sizeof *one) == 0);
    free(one);
    free(codes);
    free(pcm);
    kstt_mimi_stream_free(s);
}

/* A model on a 2-thread pool gives the same codes as one without. */
static void test_threads_same_codes(void) {
    char err[512];
    kstt_mimi_params p = kstt_mimi_params_default();
    p.config_path = test_golden("stt_tiny/mimi_tiny_config.json");
    p.pool = g_pool;
    kstt_mimi *m2;
    ASSERT_INT_EQ(
        kstt_mimi_load(&m2, test_golden("stt_tiny/mimi_tiny.safetensors"), &p, err, sizeof err),
        KSTT_OK);
    kstt_mimi_stream *s1, *s2;
    ASSERT_INT_EQ(kstt_mimi_stream_new(&s1, g_mimi), KSTT_OK);
    ASSERT_INT_EQ(kstt_mimi_stream_new(&s2, m2), KSTT_OK);
    const size_t sizes[2] = {0, 1920};
    for (int i = 0; i < 2; i++) {
        long f1, f2;
        kstt_mimi_stream_reset(s1);
        kstt_mimi_stream_reset(s2);
        int32_t *a = run(s1, g_pcm, g_n, &sizes[i], 1, &f1, NULL);
        int32_t *b = run(s2, g_pcm, g_n, &sizes[i], 1, &f2, NULL);
        ASSERT_TRUE(a && b && f1 == f2);
        ASSERT_TRUE(memcmp(a, b, (size_t)f1 * g_k * sizeof *a) == 0);
        free(a);
        free(b);
    }
    kstt_mimi_stream_free(s1);
    kstt_mimi_stream_free(s2);
    kstt_mimi_free(m2);
}

int main(void) {
    char err[512];
    if (kstt_pool_new(&g_pool, 2) != KSTT_OK)
        return 1;
    /* single-threaded model: these tests are about streaming, and tiny products do not gain
     * from threads (test_threads_same_codes covers the pool) */
    kstt_mimi_params p = kstt_mimi_params_default();
    p.config_path = test_golden("stt_tiny/mimi_tiny_config.json");
    if (kstt_mimi_load(&g_mimi, test_golden("stt_tiny/mimi_tiny.safetensors"), &p, err,
                       sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    g_k = kstt_mimi_num_codebooks(g_mimi);
    g_pcm = mt_read_pcm(test_golden("bria_10s_24k.f32"), &g_n);
    if (!g_pcm)
        return 1;
    RUN(test_chunk_invariance);
    RUN(test_one_sample_feeding);
    RUN(test_reset_and_empty);
    RUN(test_erange_consumes_nothing);
    RUN(test_streams_share_model);
    RUN(test_ten_minutes_flat_memory);
    RUN(test_threads_same_codes);
    free(g_pcm);
    kstt_mimi_free(g_mimi);
    kstt_pool_free(g_pool);
    return test_summary();
}
