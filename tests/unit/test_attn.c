/*
 * The ring-attention entries of the kernel table (attn_ring_f32, _f16, _q8, f32_to_f16) at
 * every level this CPU has, against the scalar reference table, and the reference against
 * double precision: head sizes with vector tails (1, 3, 15, 17, 31, 33, 63, 65, 127, 129) and
 * the real 64 and 128, key counts from 1 to a full 750 with partial last blocks, rings that
 * wrap (s0 + n > cap) and start offsets past one lap (s0 >= cap), rows hd apart (the LM's
 * head-major ring) and further apart (ld > hd: Mimi's time-major cache); outputs must not be
 * written past hd. f32_to_f16 must give the reference's bits for every finite input (normal,
 * subnormal, overflowing, ties) at every length, quantize_i8_row the reference's bytes and
 * scale (ties, zero, NaN and infinite rows).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_levels.h"
#include "kernels/kernels.h"
#include "quant/quant.h"
#include "test.h"

#define SENTINEL -777.0f
/* |level - ref| per output (outputs are convex combinations of values in [-1, 1)): the sums
 * run in another order and the exp is within 2 ulp */
#define TOL_LEVEL 3e-6
/* |ref - double| */
#define TOL_DOUBLE 3e-6

static const kstt__kernels *levels[KSTT_TEST_MAX_LEVELS];
static int n_levels;

static void init_levels(void) {
    n_levels = kstt_test_levels(levels, 1);
}

/* The attention in double over f32 rows (half rows are widened first by the caller). */
static void attn_double(const float *q, const float *k, const float *v, long ld, long s0, long n,
                        long cap, int hd, float scale, double *want) {
    double *sc = malloc(sizeof(double) * (size_t)n), mx = -1e300, sum = 0;
    for (long i = 0; i < n; i++) {
        const float *kr = k + ((s0 + i) % cap) * ld;
        double acc = 0;
        for (int d = 0; d < hd; d++)
            acc += (double)q[d] * kr[d];
        sc[i] = acc * scale;
        mx = sc[i] > mx ? sc[i] : mx;
    }
    for (long i = 0; i < n; i++) {
        sc[i] = exp(sc[i] - mx);
        sum += sc[i];
    }
    for (int d = 0; d < hd; d++) {
        double acc = 0;
        for (long i = 0; i < n; i++)
            acc += sc[i] / sum * v[((s0 + i) % cap) * ld + d];
        want[d] = acc;
    }
    free(sc);
}

/* el: 0 f32, 1 half, 2 int8 rows with a scale each */
static int check_one(int hd, long n, int el, int strided) {
    const int half = el == 1;
    static const char *const el_name[] = {"f32", "f16", "q8"};
    const long cap = n + test_rand_int(0, 9);
    const long ld = strided ? 2L * hd + test_rand_int(0, 7) : hd; /* row stride in elements */
    /* mostly a window that wraps; sometimes one that starts past a whole lap */
    const long s0 = test_rand_int(0, (int)cap - 1) + (test_rand_int(0, 3) == 0 ? 3 * cap : 0);
    const float scale = 1.0f / sqrtf((float)hd);
    const size_t nel = (size_t)(cap * ld);
    float *kf = malloc(sizeof(float) * nel), *vf = malloc(sizeof(float) * nel);
    uint16_t *kh = malloc(sizeof(uint16_t) * nel), *vh = malloc(sizeof(uint16_t) * nel);
    int8_t *k8 = malloc(nel), *v8 = malloc(nel);
    float *ks = malloc(sizeof(float) * (size_t)cap), *vs = malloc(sizeof(float) * (size_t)cap);
    float *q = malloc(sizeof(float) * (size_t)hd);
    float *sc = malloc(sizeof(float) * (size_t)n), *scr = malloc(sizeof(float) * (size_t)n);
    float *out = malloc(sizeof(float) * (size_t)(hd + 1));
    float *outr = malloc(sizeof(float) * (size_t)(hd + 1));
    double *want = malloc(sizeof(double) * (size_t)hd);
    for (size_t i = 0; i < nel; i++) {
        kf[i] = test_rand_uniform();
        vf[i] = test_rand_uniform();
        if (half) { /* the f32 copies hold exactly the half values */
            kh[i] = kstt__f32_to_f16(kf[i]);
            vh[i] = kstt__f32_to_f16(vf[i]);
            kf[i] = kstt__f16_to_f32(kh[i]);
            vf[i] = kstt__f16_to_f32(vh[i]);
        }
    }
    if (el == 2) /* rows as int8 times a scale; the f32 copies hold those products */
        for (long r = 0; r < cap; r++) {
            float *rows[2] = {kf + r * ld, vf + r * ld}, *scl[2] = {ks + r, vs + r};
            int8_t *qs[2] = {k8 + r * ld, v8 + r * ld};
            for (int t = 0; t < 2; t++) {
                float amax = 0.0f;
                for (int d = 0; d < hd; d++)
                    amax = fabsf(rows[t][d]) > amax ? fabsf(rows[t][d]) : amax;
                *scl[t] = amax / 127.0f;
                for (int d = 0; d < hd; d++) {
                    qs[t][d] = (int8_t)(amax > 0 ? nearbyintf(rows[t][d] * 127.0f / amax) : 0);
                    rows[t][d] = *scl[t] * (float)qs[t][d];
                }
            }
        }
    for (int d = 0; d < hd; d++)
        q[d] = 3.0f * test_rand_uniform(); /* peaky enough that the softmax matters */
    int ok = 1;
    attn_double(q, kf, vf, ld, s0, n, cap, hd, scale, want);
    const kstt__kernels *ref = kstt__kernels_ref();
    if (el == 2)
        ref->attn_ring_q8(q, k8, ks, v8, vs, ld, s0, n, cap, hd, scale, scr, outr);
    else if (half)
        ref->attn_ring_f16(q, kh, vh, ld, s0, n, cap, hd, scale, scr, outr);
    else
        ref->attn_ring_f32(q, kf, vf, ld, s0, n, cap, hd, scale, scr, outr);
    for (int d = 0; d < hd && ok; d++)
        if (!(fabs(outr[d] - want[d]) <= TOL_DOUBLE)) {
            TEST_FAIL_("ref %s hd %d ld %ld n %ld cap %ld s0 %ld: out[%d] = %.9g, double %.9g",
                       el_name[el], hd, ld, n, cap, s0, d, outr[d], want[d]);
            ok = 0;
        }
    for (int li = 1; li < n_levels && ok; li++) {
        const kstt__kernels *kk = levels[li];
        out[hd] = SENTINEL;
        if (el == 2)
            kk->attn_ring_q8(q, k8, ks, v8, vs, ld, s0, n, cap, hd, scale, sc, out);
        else if (half)
            kk->attn_ring_f16(q, kh, vh, ld, s0, n, cap, hd, scale, sc, out);
        else
            kk->attn_ring_f32(q, kf, vf, ld, s0, n, cap, hd, scale, sc, out);
        if (out[hd] != SENTINEL) {
            TEST_FAIL_("%s hd %d n %ld wrote past out", kk->name, hd, n);
            ok = 0;
        }
        for (int d = 0; d < hd && ok; d++)
            if (!(fabs(out[d] - outr[d]) <= TOL_LEVEL)) {
                TEST_FAIL_("%s %s hd %d ld %ld n %ld cap %ld s0 %ld: out[%d] = %.9g, ref %.9g",
                           kk->variant, el_name[el], hd, ld, n, cap, s0, d, out[d], outr[d]);
                ok = 0;
            }
    }
    free(k8), free(v8), free(ks), free(vs);
    free(kf), free(vf), free(kh), free(vh), free(q), free(sc), free(scr), free(out), free(outr);
    free(want);
    return ok;
}

static const int hds[] = {1, 3, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129};
static const long ns[] = {1, 2, 7, 8, 9, 15, 16, 17, 33, 100, 750};

/* rep 0: rows hd apart; rep 1: rows ld > hd apart */
static void run_attn(int el) {
    for (size_t hi = 0; hi < sizeof hds / sizeof *hds; hi++)
        for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++)
            for (int rep = 0; rep < 2; rep++)
                if (!check_one(hds[hi], ns[ni], el, rep))
                    return;
}

static void test_attn_ring_f32(void) {
    run_attn(0);
}

static void test_attn_ring_f16(void) {
    run_attn(1);
}

static void test_attn_ring_q8(void) {
    run_attn(2);
}

/* Scores are independent of where a window starts in the ring: the same keys laid out with
 * and without wrapping give the same output bits at every level. */
static void test_wrap_invariance(void) {
    const int hd = 128;
    const long n = 37, cap = 50;
    float *k = malloc(sizeof(float) * cap * hd), *v = malloc(sizeof(float) * cap * hd);
    float *k2 = malloc(sizeof(float) * cap * hd), *v2 = malloc(sizeof(float) * cap * hd);
    float q[128], a[128], b[128], sc[64];
    for (long i = 0; i < cap * hd; i++)
        k[i] = test_rand_uniform(), v[i] = test_rand_uniform();
    for (int d = 0; d < hd; d++)
        q[d] = test_rand_uniform();
    const long s0 = 31; /* rows 31..49 then 0..17 */
    for (long i = 0; i < n; i++) {
        memcpy(k2 + i * hd, k + ((s0 + i) % cap) * hd, sizeof(float) * hd);
        memcpy(v2 + i * hd, v + ((s0 + i) % cap) * hd, sizeof(float) * hd);
    }
    for (int li = 0; li < n_levels; li++) {
        levels[li]->attn_ring_f32(q, k, v, hd, s0, n, cap, hd, 0.1f, sc, a);
        levels[li]->attn_ring_f32(q, k2, v2, hd, 0, n, cap, hd, 0.1f, sc, b);
        for (int d = 0; d < hd; d++)
            if (a[d] != b[d]) {
                TEST_FAIL_("%s: out[%d] %.9g wrapped vs %.9g unwrapped", levels[li]->name, d, a[d],
                           b[d]);
                break;
            }
    }
    free(k), free(v), free(k2), free(v2);
}

static void test_f32_to_f16(void) {
    enum { N = 300 };
    float x[N];
    uint16_t want[N], got[N + 1];
    for (int i = 0; i < N; i++) {
        const int e = test_rand_int(-30, 17); /* subnormal .. overflow */
        x[i] = ldexpf(test_rand_uniform(), e);
    }
    static const float special[] = {0.0f,
                                    -0.0f,
                                    65504.0f,
                                    65519.0f,
                                    65520.0f,
                                    -70000.0f,
                                    6.1035156e-5f,
                                    6.09e-5f,
                                    5.96e-8f,
                                    2.98e-8f,
                                    2.99e-8f,
                                    1.0f + 1.0f / 2048,
                                    1.0f + 3.0f / 2048,
                                    -1.0009766f,
                                    1e-10f};
    for (size_t i = 0; i < sizeof special / sizeof *special; i++)
        x[i] = special[i];
    for (int i = 0; i < N; i++)
        want[i] = kstt__f32_to_f16(x[i]);
    ASSERT_INT_EQ(want[2], 0x7bff);
    ASSERT_INT_EQ(want[4], 0x7c00);
    ASSERT_INT_EQ(want[11], 0x3c00); /* tie to even: down */
    ASSERT_INT_EQ(want[12], 0x3c02); /* tie to even: up */
    for (int li = 0; li < n_levels; li++)
        for (int n = 0; n <= N; n += (n < 40 ? 1 : 37)) {
            for (int i = 0; i <= n && i < N + 1; i++)
                got[i] = 0xabcd;
            levels[li]->f32_to_f16(x, got, n);
            for (int i = 0; i < n; i++)
                if (got[i] != want[i]) {
                    TEST_FAIL_("%s n %d: f16(%.9g) = 0x%04x, ref 0x%04x", levels[li]->name, n, x[i],
                               got[i], want[i]);
                    return;
                }
            if (n < N && got[n] != 0xabcd) {
                TEST_FAIL_("%s n %d wrote past the end", levels[li]->name, n);
                return;
            }
        }
}

/* quantize_i8_row: the reference's bytes and scale at every level and length: random rows,
 * rows with exact ties (amax 127: the products are the values), zero, NaN and infinite rows;
 * nothing written past n. */
static void test_quantize_i8_row(void) {
    enum { N = 300 };
    float x[N], d_want, d_got;
    int8_t want[N], got[N + 1];
    for (int kind = 0; kind < 5; kind++) {
        for (int i = 0; i < N; i++) {
            x[i] = kind == 1 ? (float)test_rand_int(-126, 126) + 0.5f
                             : ldexpf(test_rand_uniform(), test_rand_int(-8, 8));
            if (kind == 2)
                x[i] = 0.0f;
        }
        if (kind >= 1 && kind != 2) /* first, so that every length has it */
            x[0] = kind == 1 ? 127.0f : kind == 3 ? NAN : -INFINITY;
        for (int li = 0; li < n_levels; li++)
            for (int n = 1; n <= N; n += (n < 40 ? 1 : 29)) {
                kstt__quantize_i8_row(x, want, &d_want, n);
                memset(got, 0x5a, sizeof got);
                levels[li]->quantize_i8_row(x, got, &d_got, n);
                if (memcmp(got, want, (size_t)n) || memcmp(&d_got, &d_want, sizeof d_got)) {
                    TEST_FAIL_("%s kind %d n %d: quantize_i8_row differs from the reference",
                               levels[li]->variant, kind, n);
                    return;
                }
                if (got[n] != 0x5a) {
                    TEST_FAIL_("%s n %d wrote past the end", levels[li]->variant, n);
                    return;
                }
            }
    }
}

int main(void) {
    init_levels();
    RUN(test_f32_to_f16);
    RUN(test_quantize_i8_row);
    RUN(test_attn_ring_f32);
    RUN(test_attn_ring_f16);
    RUN(test_attn_ring_q8);
    RUN(test_wrap_invariance);
    return test_summary();
}
