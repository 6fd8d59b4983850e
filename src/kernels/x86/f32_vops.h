/*
 * Vectorised element-wise f32 ops for the Mimi encoder (ELU runs on every SEANet activation,
 * about 7 million values per second of audio, so libm's scalar expm1f would cost more than the
 * convolutions). Implemented per ISA in f32_vops_avx2.c and f32_vops_avx512.c; the codec picks
 * them through src/codec/mimi_ops.c by kernel level, never directly.
 *
 * Accuracy: expm1/exp within 2 ulp (Cody-Waite reduction, degree-8 polynomial); erf by
 * Abramowitz-Stegun 7.1.26 (absolute error <= 1.5e-7 plus f32 rounding), so GELU(x) is within
 * 4e-7 * |x| of the exact value (tests/unit/test_kernels_f32.c checks both against libm).
 */
#ifndef KSTT_KERNELS_X86_F32_VOPS_H
#define KSTT_KERNELS_X86_F32_VOPS_H

/* x = ELU(x) (alpha 1), in place. */
void kstt__x86_elu_avx2(float *x, long n);
void kstt__x86_elu_avx512(float *x, long n);
/* dst = ELU(src). */
void kstt__x86_elu_copy_avx2(float *dst, const float *src, long n);
void kstt__x86_elu_copy_avx512(float *dst, const float *src, long n);
/* y[t, c] = ELU(y[t, c] + b[c]) over rows of ld floats (b may be NULL: no bias). */
void kstt__x86_bias_elu_avx2(float *y, const float *b, long rows, long cols, long ld);
void kstt__x86_bias_elu_avx512(float *y, const float *b, long rows, long cols, long ld);
/* x[t, c] = ELU(x[t, c] + (u[t, c] + b[c])) (residual block output; b may be NULL). */
void kstt__x86_res_elu_avx2(float *x, const float *u, const float *b, long rows, long cols);
void kstt__x86_res_elu_avx512(float *x, const float *u, const float *b, long rows, long cols);
/* x = GELU(x), exact-erf form 0.5 x (1 + erf(x / sqrt 2)), in place. */
void kstt__x86_gelu_avx2(float *x, long n);
void kstt__x86_gelu_avx512(float *x, long n);
/* x = exp(x - m), returns the sum of the results (softmax numerator). */
float kstt__x86_exp_sum_avx2(float *x, long n, float m);
float kstt__x86_exp_sum_avx512(float *x, long n, float m);

/* One attention query of one head over n keys held in a ring: key i (0 <= i < n) is row
 * (s0 + i) mod cap of k and v (rows ld floats apart, this head's hd features at the row start).
 * out[hd] = sum_i softmax_i(scale * q.k_i) v_i; scores is scratch for n floats. */
void kstt__x86_attn_avx512(const float *q, const float *k, const float *v, long ld, long s0, long n,
                           long cap, int hd, float scale, float *scores, float *out);

#endif
