/*
 * Element-wise ops of the Mimi encoder, chosen once per model by kernel level. The scalar
 * versions (libm: expm1f, erff, expf) are the reference and the portable path; on x86 the
 * vectorised ones of kernels/x86/f32_vops.h replace them (they are hot: ELU touches every
 * SEANet activation). A stream gives the same results for any chunking with either set.
 */
#ifndef KSTT_CODEC_MIMI_OPS_H
#define KSTT_CODEC_MIMI_OPS_H

#include "kstt.h"

typedef struct {
    /* x = ELU(x) in place */
    void (*elu)(float *x, long n);
    /* dst = ELU(src) */
    void (*elu_copy)(float *dst, const float *src, long n);
    /* y[t, c] = ELU(y[t, c] + b[c]) for rows of ld floats; b may be NULL */
    void (*bias_elu)(float *y, const float *b, long rows, long cols, long ld);
    /* x[t, c] = ELU(x[t, c] + (u[t, c] + b[c])), rows of cols floats; b may be NULL */
    void (*res_elu)(float *x, const float *u, const float *b, long rows, long cols);
    /* x = GELU(x) (exact erf form) */
    void (*gelu)(float *x, long n);
    /* x = exp(x - m); returns the sum */
    float (*exp_sum)(float *x, long n, float m);
    /* One query of one head over n ring keys: key i is row (s0 + i) mod cap of k and v (rows
     * ld floats apart). out[hd] = sum_i softmax_i(scale q.k_i) v_i; scores: n floats scratch.
     * NULL: the stream composes it from the kernel table's dot and axpy. */
    void (*attn)(const float *q, const float *k, const float *v, long ld, long s0, long n, long cap,
                 int hd, float scale, float *scores, float *out);
} kstt__mimi_ops;

/* Fills o for the given resolved level (KSTT_KERNELS_REF, _AVX2 or _AVX512). */
void kstt__mimi_ops_init(kstt__mimi_ops *o, kstt_kernels level);

#endif
