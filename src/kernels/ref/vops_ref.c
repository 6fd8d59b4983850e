/*
 * Scalar references of the element-wise activation entries and of the ring attention of the
 * kernel table (kernels.h): libm's expm1f / erff / expf, f32 sums in index order. They are the
 * oracle of the x86 versions (tests/unit/test_kernels_ops.c) and the portable path.
 *
 * The attention is the plain composition dot -> max -> exp-sum -> weighted sum of values, with
 * the same f32 operations as the reference dot and axpy (matmul_ref.c), so the reference level
 * computes exactly what a caller composing those entries would.
 */
#include <math.h>

#include "kernels/ref/ref.h"

static inline float elu1(float v) {
    return v > 0.0f ? v : expm1f(v);
}

static void elu_copy_f32_ref(float *dst, const float *src, long n) {
    for (long i = 0; i < n; i++)
        dst[i] = elu1(src[i]);
}

static void bias_elu_f32_ref(float *y, const float *b, long rows, long cols, long ld) {
    for (long t = 0; t < rows; t++)
        for (long c = 0; c < cols; c++)
            y[t * ld + c] = elu1(y[t * ld + c] + (b ? b[c] : 0.0f));
}

static void res_elu_f32_ref(float *x, const float *u, const float *b, long rows, long cols) {
    for (long t = 0; t < rows; t++)
        for (long c = 0; c < cols; c++) {
            const long i = t * cols + c;
            x[i] = elu1(x[i] + (u[i] + (b ? b[c] : 0.0f)));
        }
}

static void attn_ring_f32_ref(const float *q, const float *k, const float *v, long ld, long s0,
                              long n, long cap, int hd, float scale, float *scores, float *out) {
    float mx = -INFINITY;
    for (long i = 0; i < n; i++) {
        const float *kr = k + ((s0 + i) % cap) * ld;
        float acc = 0.0f;
        for (int d = 0; d < hd; d++)
            acc += q[d] * kr[d];
        scores[i] = acc * scale;
        mx = scores[i] > mx ? scores[i] : mx;
    }
    float sum = 0.0f;
    for (long i = 0; i < n; i++) {
        scores[i] = expf(scores[i] - mx);
        sum += scores[i];
    }
    const float inv = 1.0f / sum;
    for (int d = 0; d < hd; d++)
        out[d] = 0.0f;
    for (long i = 0; i < n; i++) {
        const float *vr = v + ((s0 + i) % cap) * ld;
        for (int d = 0; d < hd; d++)
            out[d] += scores[i] * vr[d];
    }
    for (int d = 0; d < hd; d++)
        out[d] *= inv;
}

void kstt__kernels_fill_vops_ref(kstt__kernels *k) {
    k->elu_f32 = kstt__elu;
    k->elu_copy_f32 = elu_copy_f32_ref;
    k->bias_elu_f32 = bias_elu_f32_ref;
    k->res_elu_f32 = res_elu_f32_ref;
    k->gelu_f32 = kstt__gelu_erf;
    k->attn_ring_f32 = attn_ring_f32_ref;
}
