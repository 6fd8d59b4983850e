/*
 * Block formats q8_0, q4_0, q4_K: sizes, byte layout (decoded here independently from the
 * published ggml definitions), quantise/dequantise round trips with per-type error bounds,
 * zero and constant blocks, and the generic row helpers. The max-based (ggml reference)
 * q8_0/q4_0 quantisers are checked digit for digit here; the searched scales that
 * kstt quantize uses are checked against them in test_quant_search.c.
 */
#include <math.h>
#include <stdlib.h>

#include "quant/quant.h"
#include "test.h"

static float f16(uint16_t h) {
    return kstt__f16_to_f32(h);
}

static void test_sizes(void) {
    ASSERT_INT_EQ(kstt__wtype_row_bytes(KSTT_WT_Q8_0, 64), 68);
    ASSERT_INT_EQ(kstt__wtype_row_bytes(KSTT_WT_Q4_0, 64), 36);
    ASSERT_INT_EQ(kstt__wtype_row_bytes(KSTT_WT_Q4_K, 512), 288);
    ASSERT_INT_EQ(kstt__wtype_row_bytes(KSTT_WT_Q4_K, 100), 0);
    ASSERT_INT_EQ(kstt__wtype_row_bytes(KSTT_WT_BF16, 3), 6);
    ASSERT_INT_EQ(kstt__wtype_from_name("q4_K"), KSTT_WT_Q4_K);
    ASSERT_INT_EQ(kstt__wtype_from_name("q4_k"), KSTT_WT_Q4_K);
    ASSERT_INT_EQ(kstt__wtype_from_name("q5_0"), -1);
}

static void test_q8_0(void) {
    for (int it = 0; it < 50; it++) {
        float x[64], y[64];
        const float s = (float)test_rand_int(1, 1000) * 1e-3f;
        for (int i = 0; i < 64; i++)
            x[i] = s * test_rand_uniform();
        kstt__block_q8_0 b[2];
        kstt__quantize_q8_0_maxscale(x, b, 64);
        kstt__dequantize_row(KSTT_WT_Q8_0, b, y, 64);
        for (int k = 0; k < 2; k++) {
            float amax = 0;
            for (int i = 0; i < 32; i++)
                amax = fmaxf(amax, fabsf(x[32 * k + i]));
            ASSERT_INT_EQ(b[k].d, kstt__f32_to_f16(amax / 127.0f));
            const float d = f16(b[k].d);
            for (int i = 0; i < 32; i++) {
                /* layout: value = d * qs[i], element order as stored */
                ASSERT_NEAR(y[32 * k + i], d * b[k].qs[i], 0);
                ASSERT_NEAR(y[32 * k + i], x[32 * k + i], 0.5 * d + 2e-3 * amax);
            }
        }
    }
}

static void test_q4_0(void) {
    for (int it = 0; it < 50; it++) {
        float x[32], y[32];
        for (int i = 0; i < 32; i++)
            x[i] = test_rand_uniform();
        const int peak = test_rand_int(0, 31);
        x[peak] = it & 1 ? 1.5f : -1.5f;
        kstt__block_q4_0 b;
        kstt__quantize_q4_0_maxscale(x, &b, 32);
        kstt__dequantize_row(KSTT_WT_Q4_0, &b, y, 32);
        const float d = f16(b.d);
        ASSERT_NEAR(d, x[peak] / -8.0f, 1e-3);
        for (int j = 0; j < 16; j++) {
            /* layout: byte j = element j (low nibble), element j + 16 (high nibble) */
            ASSERT_NEAR(y[j], d * ((b.qs[j] & 15) - 8), 0);
            ASSERT_NEAR(y[j + 16], d * ((b.qs[j] >> 4) - 8), 0);
        }
        ASSERT_NEAR(y[peak], x[peak], 1e-3); /* the extreme maps to -8 exactly */
        for (int i = 0; i < 32; i++)
            ASSERT_NEAR(y[i], x[i], 0.5 * fabsf(d) + 1e-3);
    }
}

/* The published q4_K decoding, written out independently of quant.c. */
static void decode_q4K(const kstt__block_q4_K *b, float *y) {
    const float d = f16(b->d), dmin = f16(b->dmin);
    const uint8_t *q = b->scales;
    for (int j = 0; j < 8; j++) {
        int sc, m;
        if (j < 4) {
            sc = q[j] & 63;
            m = q[j + 4] & 63;
        } else {
            sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
            m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        }
        for (int l = 0; l < 32; l++) {
            const uint8_t byte = b->qs[32 * (j / 2) + l];
            const int nib = j % 2 ? byte >> 4 : byte & 15;
            y[32 * j + l] = d * (float)sc * (float)nib - dmin * (float)m;
        }
    }
}

static void test_q4_K(void) {
    double err = 0, ref = 0;
    for (int it = 0; it < 40; it++) {
        float x[512], y[512], z[512];
        for (int i = 0; i < 512; i++)
            x[i] = (it % 4 == 0 ? 0.5f : 1.0f) * test_rand_uniform() + (it % 3 == 1 ? 0.3f : 0.f);
        if (it % 5 == 2)
            for (int i = 40; i < 72; i++)
                x[i] = 0.0f; /* a zero sub-block */
        kstt__block_q4_K b[2];
        kstt__quantize_q4_K(x, b, 512);
        kstt__dequantize_row(KSTT_WT_Q4_K, b, y, 512);
        decode_q4K(&b[0], z);
        decode_q4K(&b[1], z + 256);
        for (int i = 0; i < 512; i++) {
            ASSERT_NEAR(y[i], z[i], 1e-6 * (1 + fabsf(z[i])));
            err += (double)(y[i] - x[i]) * (y[i] - x[i]);
            ref += (double)x[i] * x[i];
            ASSERT_NEAR(y[i], x[i], 0.2);
        }
    }
    const double rel = sqrt(err / ref);
    printf("  q4_K relative RMS error %.4f\n", rel);
    ASSERT_TRUE(rel < 0.08);
}

static void test_zero_and_rows(void) {
    float x[256] = {0}, y[256];
    unsigned char buf[512];
    for (int t = 0; t < KSTT_WT_COUNT; t++) {
        const int n = t == KSTT_WT_Q4_K ? 256 : 64;
        memset(buf, 0xAB, sizeof buf);
        kstt__quantize_row((kstt__wtype)t, x, buf, n);
        kstt__dequantize_row((kstt__wtype)t, buf, y, n);
        for (int i = 0; i < n; i++)
            ASSERT_NEAR(y[i], 0, 0);
    }
    /* wmat row helper */
    float src[3 * 64];
    for (int i = 0; i < 3 * 64; i++)
        src[i] = test_rand_uniform();
    unsigned char q[3 * 68];
    for (int r = 0; r < 3; r++)
        kstt__quantize_row(KSTT_WT_Q8_0, src + 64 * r, q + 68 * r, 64);
    kstt__wmat w = {KSTT_WT_Q8_0, 3, 64, 68, q};
    kstt__wmat_row_f32(&w, 2, y);
    for (int i = 0; i < 64; i++)
        ASSERT_NEAR(y[i], src[128 + i], 0.01);
}

/* int8 row with a scale: the nearest-even rounding of x * 127 / max|x| (ties included), the
 * extreme at +-127, and 0 for zero and non-finite rows. */
static void test_i8_row(void) {
    enum { N = 131 };
    float x[N], d;
    int8_t q[N];
    for (int i = 0; i < N; i++)
        x[i] = test_rand_uniform() * 3.0f;
    x[7] = -5.08f;              /* the extreme: amax 5.08, d = 0.04 */
    x[8] = 0.5f * 0.04f * 5.0f; /* x * 127 / amax = 2.5 (up to rounding): a near tie */
    kstt__quantize_i8_row(x, q, &d, N);
    ASSERT_NEAR(d, 5.08f / 127.0f, 1e-9);
    ASSERT_INT_EQ(q[7], -127);
    for (int i = 0; i < N; i++)
        if (q[i] != (int8_t)nearbyintf(x[i] * (127.0f / 5.08f))) {
            TEST_FAIL_("q[%d] = %d for x %.9g", i, q[i], x[i]);
            return;
        }
    float t[4] = {2.5f, -1.5f, 0.5f, 127.0f}; /* amax 127: q = x exactly, ties to even */
    kstt__quantize_i8_row(t, q, &d, 4);
    ASSERT_INT_EQ(q[0], 2);
    ASSERT_INT_EQ(q[1], -2);
    ASSERT_INT_EQ(q[2], 0);
    ASSERT_INT_EQ(q[3], 127);
    float z[3] = {0, 0, 0}, bad[3] = {1.0f, NAN, INFINITY};
    kstt__quantize_i8_row(z, q, &d, 3);
    ASSERT_TRUE(d == 0.0f && q[0] == 0 && q[1] == 0 && q[2] == 0);
    kstt__quantize_i8_row(bad, q, &d, 3);
    ASSERT_TRUE(q[1] == 0 && q[2] == 0);
}

int main(void) {
    RUN(test_sizes);
    RUN(test_q8_0);
    RUN(test_q4_0);
    RUN(test_q4_K);
    RUN(test_i8_row);
    RUN(test_zero_and_rows);
    return test_summary();
}
