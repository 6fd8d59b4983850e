/*
 * The element-wise activation entries (elu_f32, elu_copy_f32, bias_elu_f32, res_elu_f32,
 * gelu_f32, silu_mul_f32) and the ring attention (attn_ring_f32) of every kernel level this CPU
 * has, against the scalar reference table: every size from 0 to 70 and a few large odd ones (vector
 * tails), strided rows with untouched padding, NULL biases, rings that wrap. Also checks the
 * property the Mimi stream relies on for chunking-independent codes: an element's result has the
 * same bits whatever call (size, offset) it was computed in. The reference itself is checked
 * against double precision.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_levels.h"
#include "kernels/kernels.h"
#include "test.h"

#define SENTINEL -777.0f

static const kstt__kernels *levels[KSTT_TEST_MAX_LEVELS];
static int n_levels;

static void init_levels(void) {
    n_levels = kstt_test_levels(levels, 1);
}

/* Activation inputs: mostly [-12, 12], plus the edge cases at the front. */
static float *act_buf(long n) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    for (long i = 0; i < n; i++)
        p[i] = 12.0f * test_rand_uniform() * test_rand_uniform();
    static const float special[] = {0.0f,   -0.0f,   -100.0f, 1e-7f, -1e-7f, 90.0f,
                                    -87.5f, -1e-30f, 3.0f,    -3.0f, 0.5f,   -0.5f};
    for (long i = 0; i < n && i < (long)(sizeof special / sizeof *special); i++)
        p[i] = special[i];
    return p;
}

static int elu_close(float got, float want) {
    return fabsf(got - want) <= 3e-7f * fabsf(want) + 1e-30f;
}

static int gelu_close(float got, float want, float x) {
    return fabsf(got - want) <= 4e-7f * fabsf(x) + 1e-7f * fabsf(want);
}

static const long sizes_extra[] = {127, 128, 129, 255, 257, 1023, 4099};

static long size_at(int i) { /* 0..70, then the extras */
    return i <= 70 ? i : sizes_extra[i - 71];
}
#define N_SIZES (71 + (int)(sizeof sizes_extra / sizeof *sizes_extra))

/* In-place unary op at level k vs ref over every size; the float after n must be untouched. */
static void check_unary(const char *what, int gelu) {
    const kstt__kernels *ref = kstt__kernels_ref();
    for (int li = 0; li < n_levels; li++) {
        const kstt__kernels *k = levels[li];
        void (*f)(float *, long) = gelu ? k->gelu_f32 : k->elu_f32;
        void (*fr)(float *, long) = gelu ? ref->gelu_f32 : ref->elu_f32;
        ASSERT_TRUE(f != NULL);
        for (int si = 0; si < N_SIZES; si++) {
            const long n = size_at(si);
            float *x = act_buf(n + 1), *a = malloc((n + 1) * sizeof *a),
                  *b = malloc((n + 1) * sizeof *b);
            memcpy(a, x, n * sizeof *a);
            memcpy(b, x, n * sizeof *b);
            a[n] = b[n] = SENTINEL;
            f(a, n);
            fr(b, n);
            int ok = a[n] == SENTINEL;
            if (!ok)
                TEST_FAIL_("%s %s n=%ld wrote past the end", k->name, what, n);
            for (long i = 0; i < n && ok; i++) {
                if (!(gelu ? gelu_close(a[i], b[i], x[i]) : elu_close(a[i], b[i]))) {
                    TEST_FAIL_("%s %s n=%ld: f(%.9g) = %.9g, ref %.9g", k->name, what, n, x[i],
                               a[i], b[i]);
                    ok = 0;
                }
            }
            free(x);
            free(a);
            free(b);
            if (!ok)
                return;
        }
    }
}

static void test_elu(void) {
    check_unary("elu", 0);
}

static void test_gelu(void) {
    check_unary("gelu", 1);
}

static void test_elu_copy(void) {
    const kstt__kernels *ref = kstt__kernels_ref();
    for (int li = 0; li < n_levels; li++) {
        const kstt__kernels *k = levels[li];
        for (int si = 0; si < N_SIZES; si++) {
            const long n = size_at(si);
            float *x = act_buf(n), *src = malloc((n + 1) * sizeof *src);
            float *a = malloc((n + 1) * sizeof *a), *b = malloc((n + 1) * sizeof *b);
            memcpy(src, x, n * sizeof *src);
            a[n] = b[n] = SENTINEL;
            k->elu_copy_f32(a, src, n);
            ref->elu_copy_f32(b, src, n);
            int ok = a[n] == SENTINEL && memcmp(src, x, n * sizeof *x) == 0;
            if (!ok)
                TEST_FAIL_("%s elu_copy n=%ld wrote past dst or into src", k->name, n);
            for (long i = 0; i < n && ok; i++)
                if (!elu_close(a[i], b[i])) {
                    TEST_FAIL_("%s elu_copy n=%ld: f(%.9g) = %.9g, ref %.9g", k->name, n, x[i],
                               a[i], b[i]);
                    ok = 0;
                }
            free(x);
            free(src);
            free(a);
            free(b);
            if (!ok)
                return;
        }
    }
}

/* bias_elu over rows of ld floats (padding untouched) and res_elu, with and without bias. */
static void test_bias_res_elu(void) {
    const kstt__kernels *ref = kstt__kernels_ref();
    static const long cols_[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 37, 64, 67, 130};
    static const long rows_[] = {1, 2, 5};
    for (int li = 0; li < n_levels; li++) {
        const kstt__kernels *k = levels[li];
        for (size_t ci = 0; ci < sizeof cols_ / sizeof *cols_; ci++)
            for (size_t ri = 0; ri < sizeof rows_ / sizeof *rows_; ri++)
                for (int with_b = 0; with_b < 2; with_b++)
                    for (long pad = 0; pad <= 3; pad += 3) {
                        const long cols = cols_[ci], rows = rows_[ri], ld = cols + pad;
                        const long n = rows * ld;
                        float *x = act_buf(n), *u = act_buf(rows * cols), *bias = act_buf(cols);
                        float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
                        const float *bp = with_b ? bias : NULL;
                        for (long i = 0; i < n; i++)
                            a[i] = b[i] = (i % ld) < cols ? x[i] : SENTINEL;
                        k->bias_elu_f32(a, bp, rows, cols, ld);
                        ref->bias_elu_f32(b, bp, rows, cols, ld);
                        for (long i = 0; i < n; i++) {
                            if ((i % ld) >= cols) {
                                if (a[i] != SENTINEL) {
                                    TEST_FAIL_("%s bias_elu rows %ld cols %ld ld %ld: padding "
                                               "%ld written",
                                               k->name, rows, cols, ld, i);
                                    goto fail;
                                }
                            } else if (!elu_close(a[i], b[i])) {
                                TEST_FAIL_("%s bias_elu rows %ld cols %ld ld %ld b %d: [%ld] = "
                                           "%.9g, ref %.9g",
                                           k->name, rows, cols, ld, with_b, i, a[i], b[i]);
                                goto fail;
                            }
                        }
                        /* res_elu: packed rows */
                        memcpy(a, x, rows * cols * sizeof *a);
                        memcpy(b, x, rows * cols * sizeof *b);
                        if (pad)
                            a[rows * cols] = b[rows * cols] = SENTINEL;
                        k->res_elu_f32(a, u, bp, rows, cols);
                        ref->res_elu_f32(b, u, bp, rows, cols);
                        if (pad && a[rows * cols] != SENTINEL) {
                            TEST_FAIL_("%s res_elu rows %ld cols %ld wrote past the end", k->name,
                                       rows, cols);
                            goto fail;
                        }
                        for (long i = 0; i < rows * cols; i++)
                            if (!elu_close(a[i], b[i])) {
                                TEST_FAIL_("%s res_elu rows %ld cols %ld b %d: [%ld] = %.9g, "
                                           "ref %.9g",
                                           k->name, rows, cols, with_b, i, a[i], b[i]);
                                goto fail;
                            }
                        free(x);
                        free(u);
                        free(bias);
                        free(a);
                        free(b);
                        continue;
                    fail:
                        free(x);
                        free(u);
                        free(bias);
                        free(a);
                        free(b);
                        return;
                    }
    }
}

/* An element's bits must not depend on the call it is computed in: one call over n values vs
 * calls over random pieces (every tail length and alignment). */
static void test_chunking_invariance(void) {
    const long n = 1000;
    float *x = act_buf(n), *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    for (int li = 0; li < n_levels; li++) {
        const kstt__kernels *k = levels[li];
        for (int op = 0; op < 3; op++) {
            memcpy(a, x, n * sizeof *a);
            memcpy(b, x, n * sizeof *b);
            if (op == 0)
                k->elu_f32(a, n);
            else if (op == 1)
                k->gelu_f32(a, n);
            else
                k->elu_copy_f32(a, x, n);
            for (long i = 0; i < n;) {
                long m = test_rand_int(1, 40);
                if (m > n - i)
                    m = n - i;
                if (op == 0)
                    k->elu_f32(b + i, m);
                else if (op == 1)
                    k->gelu_f32(b + i, m);
                else
                    k->elu_copy_f32(b + i, x + i, m);
                i += m;
            }
            if (memcmp(a, b, n * sizeof *a) != 0) {
                TEST_FAIL_("%s op %d: results depend on the call split", k->name, op);
                break;
            }
        }
        /* the fused forms give the bits of their unfused composition (the Mimi's tap mode runs
         * them unfused and must see the same values) */
        const long rows = 8, cols = 100; /* bias x[900, 1000), residual x[100, 900) */
        memcpy(a, x, rows * cols * sizeof *a);
        memcpy(b, x, rows * cols * sizeof *b);
        k->bias_elu_f32(a, x + 900, rows, cols, cols);
        for (long t = 0; t < rows; t++)
            for (long c = 0; c < cols; c++)
                b[t * cols + c] += x[900 + c];
        k->elu_f32(b, rows * cols);
        if (memcmp(a, b, rows * cols * sizeof *a) != 0)
            TEST_FAIL_("%s bias_elu differs from add then elu", k->name);
        memcpy(a, x, rows * cols * sizeof *a);
        memcpy(b, x, rows * cols * sizeof *b);
        k->res_elu_f32(a, x + 100, x + 900, rows, cols);
        for (long t = 0; t < rows; t++)
            for (long c = 0; c < cols; c++)
                b[t * cols + c] = b[t * cols + c] + (x[100 + t * cols + c] + x[900 + c]);
        k->elu_f32(b, rows * cols);
        if (memcmp(a, b, rows * cols * sizeof *a) != 0)
            TEST_FAIL_("%s res_elu differs from residual add then elu", k->name);
    }
    free(x);
    free(a);
    free(b);
}

/* The reference's own accuracy against double precision. */
static void test_ref_against_double(void) {
    const kstt__kernels *ref = kstt__kernels_ref();
    const long n = 4099;
    float *x = act_buf(n), *a = malloc(n * sizeof *a);
    memcpy(a, x, n * sizeof *a);
    ref->elu_f32(a, n);
    for (long i = 0; i < n; i++)
        ASSERT_NEAR(a[i], x[i] > 0 ? x[i] : expm1((double)x[i]), 2e-7 * fabs(a[i]) + 1e-30);
    memcpy(a, x, n * sizeof *a);
    ref->gelu_f32(a, n);
    for (long i = 0; i < n; i++)
        ASSERT_NEAR(a[i], 0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0))), 3e-7 * fabs(x[i]) + 1e-30);
    free(x);
    free(a);
}

/* out[hd] in double: the softmax-weighted sum of the ring's values. */
static void attn_double(const float *q, const float *k, const float *v, long ld, long s0, long n,
                        long cap, int hd, float scale, double *want) {
    double *sc = malloc(n * sizeof *sc), mx = -1e300, sum = 0;
    for (long i = 0; i < n; i++) {
        const float *kr = k + ((s0 + i) % cap) * ld;
        double d = 0;
        for (int j = 0; j < hd; j++)
            d += (double)q[j] * kr[j];
        sc[i] = d * scale;
        mx = sc[i] > mx ? sc[i] : mx;
    }
    for (long i = 0; i < n; i++)
        sum += (sc[i] = exp(sc[i] - mx));
    for (int d = 0; d < hd; d++) {
        double acc = 0;
        for (long i = 0; i < n; i++)
            acc += sc[i] / sum * v[((s0 + i) % cap) * ld + d];
        want[d] = acc;
    }
    free(sc);
}

static void test_attn_ring(void) {
    const kstt__kernels *ref = kstt__kernels_ref();
    static const int hds[] = {1, 3, 8, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 80, 128};
    static const long ns[] = {1, 2, 7, 15, 16, 17, 29, 40, 70};
    for (size_t hi = 0; hi < sizeof hds / sizeof *hds; hi++)
        for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++) {
            const int hd = hds[hi];
            const long n = ns[ni], cap = n + test_rand_int(0, 9);
            const long s0 = test_rand_int(0, (int)cap - 1); /* the window wraps most times */
            const long ld = 2L * hd + test_rand_int(0, 5);  /* two heads and padding per row */
            const long off = test_rand_int(0, 1) ? hd : 1;  /* second head, or misaligned */
            const float scale = 1.0f / sqrtf((float)hd);
            float *kv = malloc(sizeof(float) * (size_t)(cap * ld * 2 + off));
            float *q = malloc(sizeof(float) * (size_t)(hd + 1));
            float *sc = malloc(sizeof(float) * (size_t)n), *scr = malloc(sizeof(float) * n);
            float *out = malloc(sizeof(float) * (size_t)(hd + 1));
            float *outr = malloc(sizeof(float) * (size_t)(hd + 1));
            double *want = malloc(sizeof(double) * hd);
            for (long i = 0; i < cap * ld * 2 + off; i++)
                kv[i] = test_rand_uniform();
            for (int d = 0; d < hd; d++)
                q[d] = 2.0f * test_rand_uniform();
            const float *k = kv + off, *v = kv + off + cap * ld;
            attn_double(q, k, v, ld, s0, n, cap, hd, scale, want);
            ref->attn_ring_f32(q, k, v, ld, s0, n, cap, hd, scale, scr, outr);
            for (int d = 0; d < hd; d++)
                if (!(fabs(outr[d] - want[d]) <= 2e-6)) {
                    TEST_FAIL_("ref attn hd %d n %ld: out[%d] = %.9g, double %.9g", hd, n, d,
                               outr[d], want[d]);
                    hi = 1000, ni = 1000;
                    break;
                }
            for (int li = 0; li < n_levels && hi < 1000; li++) {
                const kstt__kernels *kk = levels[li];
                out[hd] = SENTINEL;
                kk->attn_ring_f32(q, k, v, ld, s0, n, cap, hd, scale, sc, out);
                if (out[hd] != SENTINEL) {
                    TEST_FAIL_("%s attn hd %d n %ld wrote past out", kk->name, hd, n);
                    hi = 1000, ni = 1000;
                    break;
                }
                for (int d = 0; d < hd; d++)
                    if (!(fabs(out[d] - outr[d]) <= 2e-6)) {
                        TEST_FAIL_("%s attn hd %d n %ld cap %ld s0 %ld: out[%d] = %.9g, ref "
                                   "%.9g",
                                   kk->name, hd, n, cap, s0, d, out[d], outr[d]);
                        hi = 1000, ni = 1000;
                        break;
                    }
            }
            free(kv);
            free(q);
            free(sc);
            free(scr);
            free(out);
            free(outr);
            free(want);
        }
}

/* silu_mul against the reference (expf) within 6e-7 relative (the vector exp's 2 ulp, the
 * divide and the product), at every size, the float after n untouched, in place too (out ==
 * a), and each element the same bits whatever the call's size. */
static void test_silu_mul(void) {
    const kstt__kernels *ref = kstt__kernels_ref();
    for (int li = 0; li < n_levels; li++) {
        const kstt__kernels *k = levels[li];
        ASSERT_TRUE(k->silu_mul_f32 != NULL);
        for (int si = 0; si < N_SIZES; si++) {
            const long n = size_at(si);
            float *a = act_buf(n + 1), *b = act_buf(n + 1);
            float *got = malloc((size_t)(n + 1) * sizeof(float));
            float *want = malloc((size_t)(n + 1) * sizeof(float));
            float *one = malloc((size_t)(n + 1) * sizeof(float));
            got[n] = SENTINEL;
            k->silu_mul_f32(a, b, got, n);
            ref->silu_mul_f32(a, b, want, n);
            if (got[n] != SENTINEL)
                TEST_FAIL_("%s silu_mul n=%ld wrote past the end", k->variant, n);
            for (long i = 0; i < n; i++) {
                if (!(fabsf(got[i] - want[i]) <= 6e-7f * fabsf(want[i]) + 1e-30f)) {
                    TEST_FAIL_("%s silu_mul n=%ld: silu(%.9g) * %.9g = %.9g, ref %.9g", k->variant,
                               n, a[i], b[i], got[i], want[i]);
                    break;
                }
                k->silu_mul_f32(a + i, b + i, one + i, 1); /* alone */
                if (one[i] != got[i]) {
                    TEST_FAIL_("%s silu_mul n=%ld: element %ld alone differs", k->variant, n, i);
                    break;
                }
            }
            k->silu_mul_f32(a, b, a, n); /* in place */
            if (n > 0 && memcmp(a, got, (size_t)n * sizeof(float)))
                TEST_FAIL_("%s silu_mul n=%ld in place differs", k->variant, n);
            free(a);
            free(b);
            free(got);
            free(want);
            free(one);
        }
    }
}

int main(void) {
    init_levels();
    RUN(test_silu_mul);
    RUN(test_ref_against_double);
    RUN(test_elu);
    RUN(test_gelu);
    RUN(test_elu_copy);
    RUN(test_bias_res_elu);
    RUN(test_chunking_invariance);
    RUN(test_attn_ring);
    return test_summary();
}
