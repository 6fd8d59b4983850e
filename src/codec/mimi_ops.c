/*
 * Scalar element-wise ops of the Mimi encoder and the selection of their vectorised x86
 * versions (kernels/x86/f32_vops.h) by kernel level. Intrinsics stay in the kernel files.
 */
#include <math.h>

#include "codec/mimi_ops.h"
#ifdef KSTT_HAVE_X86
#include "kernels/x86/f32_vops.h"
#endif

static inline float elu1(float v) {
    return v > 0.0f ? v : expm1f(v);
}

static void elu_ref(float *x, long n) {
    for (long i = 0; i < n; i++)
        x[i] = elu1(x[i]);
}

static void elu_copy_ref(float *dst, const float *src, long n) {
    for (long i = 0; i < n; i++)
        dst[i] = elu1(src[i]);
}

static void bias_elu_ref(float *y, const float *b, long rows, long cols, long ld) {
    for (long t = 0; t < rows; t++)
        for (long c = 0; c < cols; c++)
            y[t * ld + c] = elu1(y[t * ld + c] + (b ? b[c] : 0.0f));
}

static void res_elu_ref(float *x, const float *u, const float *b, long rows, long cols) {
    for (long t = 0; t < rows; t++)
        for (long c = 0; c < cols; c++) {
            const long i = t * cols + c;
            x[i] = elu1(x[i] + (u[i] + (b ? b[c] : 0.0f)));
        }
}

static void gelu_ref(float *x, long n) {
    for (long i = 0; i < n; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

static float exp_sum_ref(float *x, long n, float m) {
    float s = 0.0f;
    for (long i = 0; i < n; i++) {
        x[i] = expf(x[i] - m);
        s += x[i];
    }
    return s;
}

void kstt__mimi_ops_init(kstt__mimi_ops *o, kstt_kernels level) {
    o->elu = elu_ref;
    o->elu_copy = elu_copy_ref;
    o->bias_elu = bias_elu_ref;
    o->res_elu = res_elu_ref;
    o->gelu = gelu_ref;
    o->exp_sum = exp_sum_ref;
    o->attn = NULL;
#ifdef KSTT_HAVE_X86
    if (level == KSTT_KERNELS_AVX2) {
        o->elu = kstt__x86_elu_avx2;
        o->elu_copy = kstt__x86_elu_copy_avx2;
        o->bias_elu = kstt__x86_bias_elu_avx2;
        o->res_elu = kstt__x86_res_elu_avx2;
        o->gelu = kstt__x86_gelu_avx2;
        o->exp_sum = kstt__x86_exp_sum_avx2;
    } else if (level == KSTT_KERNELS_AVX512) {
        o->elu = kstt__x86_elu_avx512;
        o->elu_copy = kstt__x86_elu_copy_avx512;
        o->bias_elu = kstt__x86_bias_elu_avx512;
        o->res_elu = kstt__x86_res_elu_avx512;
        o->gelu = kstt__x86_gelu_avx512;
        o->exp_sum = kstt__x86_exp_sum_avx512;
        o->attn = kstt__x86_attn_avx512;
    }
#else
    (void)level;
#endif
}
