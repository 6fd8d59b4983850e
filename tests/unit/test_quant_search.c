/*
 * The scale search of the q8_0 and q4_0 quantisers (quant.c: search_scale) and the q4_K
 * scale/min pair search:
 *   - per block, the searched scale's squared error is never above the max-based (ggml
 *     reference) scale's, over blocks drawn from many shapes: uniform, Gaussian, heavy-tailed,
 *     one outlier, constant, sparse, all zero, tiny (f16-subnormal scales) and large values
 *     (whose scales f16 can still hold: beyond that both overflow, as in ggml);
 *   - the blocks stay valid ggml blocks: q8_0 levels in -127..127 (never -128), every value
 *     decodes to d * level with the block's own f16 d, finite;
 *   - over many blocks the search buys what it was measured to buy (so a search that silently
 *     falls back to the max-based scale fails): q4_0 relative RMS error on Gaussian data at
 *     most 8.3 % (max-based 8.6 %), q8_0 at most 0.52 % (max-based 0.536 %), and q4_K at most
 *     7.3 % on Gaussian and 5.6 % on uniform data (before the pair search: 7.38 % / 5.66 %).
 */
#include <math.h>
#include <stdlib.h>

#include "quant/quant.h"
#include "test.h"

static float gauss(void) {
    float u = 0.5f * (test_rand_uniform() + 1.0f), v = test_rand_uniform();
    if (u < 1e-7f)
        u = 1e-7f;
    return sqrtf(-2.0f * logf(u)) * cosf(3.14159265f * v);
}

/* One block of n values of shape `kind`. */
static void fill(float *x, int n, int kind) {
    const float scale = powf(10.0f, (float)test_rand_int(-3, 2));
    for (int i = 0; i < n; i++) {
        switch (kind) {
        case 0:
            x[i] = test_rand_uniform();
            break;
        case 1:
            x[i] = gauss();
            break;
        case 2:
            x[i] = gauss() / (0.05f + fabsf(test_rand_uniform()));
            break; /* heavy tails */
        case 3:
            x[i] = 0.1f * gauss();
            break;
        case 4:
            x[i] = 0.37f;
            break; /* constant */
        case 5:
            x[i] = test_rand_int(0, 7) ? 0.0f : gauss();
            break; /* sparse */
        case 6:
            x[i] = 0.0f;
            break;
        case 7:
            x[i] = 1e-7f * gauss();
            break; /* scales below f16's normal range */
        default:
            x[i] = 3000.0f * gauss();
            break; /* large (d stays within f16's range) */
        }
        x[i] *= kind >= 6 ? 1.0f : scale;
    }
    if (kind == 3)
        x[test_rand_int(0, n - 1)] = (test_rand_int(0, 1) ? 1.0f : -1.0f) * scale;
}

static double sq_err(const float *x, const float *y, int n) {
    double e = 0;
    for (int i = 0; i < n; i++)
        e += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
    return e;
}

static void test_never_worse_than_max_scale(void) {
    int better8 = 0, better4 = 0, blocks = 0;
    for (int it = 0; it < 4000; it++) {
        const int kind = it % 9;
        float x[32], ys[32], ym[32];
        fill(x, 32, kind);
        kstt__block_q8_0 s8, m8;
        kstt__quantize_q8_0(x, &s8, 32);
        kstt__quantize_q8_0_maxscale(x, &m8, 32);
        kstt__dequantize_row(KSTT_WT_Q8_0, &s8, ys, 32);
        kstt__dequantize_row(KSTT_WT_Q8_0, &m8, ym, 32);
        const double es8 = sq_err(x, ys, 32), em8 = sq_err(x, ym, 32);
        /* the search scores in float: allow its rounding, nothing more */
        if (!(es8 <= em8 * (1 + 1e-5) + 1e-37)) {
            TEST_FAIL_("q8_0 block %d (kind %d): searched error %.9g > max-based %.9g", it, kind,
                       es8, em8);
            return;
        }
        for (int i = 0; i < 32; i++) {
            ASSERT_TRUE(s8.qs[i] >= -127);
            ASSERT_TRUE(isfinite(ys[i]));
            ASSERT_NEAR(ys[i], kstt__f16_to_f32(s8.d) * s8.qs[i], 0);
        }
        kstt__block_q4_0 s4, m4;
        kstt__quantize_q4_0(x, &s4, 32);
        kstt__quantize_q4_0_maxscale(x, &m4, 32);
        kstt__dequantize_row(KSTT_WT_Q4_0, &s4, ys, 32);
        kstt__dequantize_row(KSTT_WT_Q4_0, &m4, ym, 32);
        const double es4 = sq_err(x, ys, 32), em4 = sq_err(x, ym, 32);
        if (!(es4 <= em4 * (1 + 1e-5) + 1e-37)) {
            TEST_FAIL_("q4_0 block %d (kind %d): searched error %.9g > max-based %.9g", it, kind,
                       es4, em4);
            return;
        }
        for (int j = 0; j < 16; j++) {
            ASSERT_TRUE(isfinite(ys[j]));
            ASSERT_NEAR(ys[j], kstt__f16_to_f32(s4.d) * ((s4.qs[j] & 15) - 8), 0);
            ASSERT_NEAR(ys[j + 16], kstt__f16_to_f32(s4.d) * ((s4.qs[j] >> 4) - 8), 0);
        }
        if (kind == 6) {                                 /* all zero: nothing to search */
            ASSERT_TRUE(kstt__f16_to_f32(s8.d) == 0.0f); /* q4_0 stores -0 (max / -8) */
            ASSERT_TRUE(kstt__f16_to_f32(s4.d) == 0.0f);
        }
        better8 += es8 < em8;
        better4 += es4 < em4;
        blocks++;
    }
    printf("  searched scale strictly better than max-based in %d (q8_0) and %d (q4_0) of %d "
           "blocks\n",
           better8, better4, blocks);
    /* the search does something on most blocks that are not constant or zero */
    ASSERT_TRUE(better4 > blocks / 2);
    ASSERT_TRUE(better8 > blocks / 3);
}

/* Relative RMS error of `t` on n values drawn by `kind` (0 uniform, 1 Gaussian). */
static double rel_err(kstt__wtype t, void (*q)(const float *, void *, int64_t), int kind) {
    enum { N = 1 << 16 };
    static float x[N], y[N];
    static unsigned char buf[N * 2];
    for (int i = 0; i < N; i++)
        x[i] = kind ? gauss() : test_rand_uniform();
    if (q)
        q(x, buf, N);
    else
        kstt__quantize_row(t, x, buf, N);
    kstt__dequantize_row(t, buf, y, N);
    double e = 0, r = 0;
    for (int i = 0; i < N; i++) {
        e += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
        r += (double)x[i] * x[i];
    }
    return sqrt(e / r);
}

static void test_search_gains(void) {
    const double q8m = rel_err(KSTT_WT_Q8_0, kstt__quantize_q8_0_maxscale, 1);
    const double q8s = rel_err(KSTT_WT_Q8_0, NULL, 1);
    const double q4m = rel_err(KSTT_WT_Q4_0, kstt__quantize_q4_0_maxscale, 1);
    const double q4s = rel_err(KSTT_WT_Q4_0, NULL, 1);
    const double qkg = rel_err(KSTT_WT_Q4_K, NULL, 1), qku = rel_err(KSTT_WT_Q4_K, NULL, 0);
    printf("  Gaussian: q8_0 %.4f%% -> %.4f%%, q4_0 %.3f%% -> %.3f%% (max-based -> searched); "
           "q4_K %.3f%% (uniform %.3f%%)\n",
           100 * q8m, 100 * q8s, 100 * q4m, 100 * q4s, 100 * qkg, 100 * qku);
    ASSERT_TRUE(q8s <= 0.0052);
    ASSERT_TRUE(q8m > 0.0053); /* the reference really is the max-based one */
    ASSERT_TRUE(q4s <= 0.083);
    ASSERT_TRUE(q4m > 0.084);
    ASSERT_TRUE(qkg <= 0.073);
    ASSERT_TRUE(qku <= 0.056);
}

int main(void) {
    RUN(test_never_worse_than_max_scale);
    RUN(test_search_gains);
    return test_summary();
}
