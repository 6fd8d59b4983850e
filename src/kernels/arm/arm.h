/*
 * The aarch64 kernels (compiled with the flags of their suffix, cmake/kernels.cmake: *_neon.c
 * ARMv8-A, *_dotprod.c ARMv8.2-A + dotprod, *_i8mm.c + i8mm + bf16), listed in arm/table_neon.c,
 * arm/table_dotprod.c and arm/table_i8mm.c, and the helpers the arm files share.
 * docs/ARM.md has the inner-loop accounting of every kernel.
 */
#ifndef KSTT_KERNELS_ARM_H
#define KSTT_KERNELS_ARM_H

#include "kernels/kernels.h"

/* ---- NEON (ARMv8-A Advanced SIMD baseline; f16 only converted: fcvtl / fcvtn) ---- */
/* f32_neon.c: register-blocked f32 GEMM (16 rows x 4 batch rows per tile, FMA by lane) over
 * f32 rows (packed per call) and f32 / bf16 panels (read in place); int8 rows; dot, axpy */
kstt__matmul_kernel kstt__matmul_f32_neon, kstt__matmul_f32_panel_neon,
    kstt__matmul_bf16_panel_neon, kstt__matmul_i8s_neon;
/* bf16_neon.c: exact bf16 and f16 row products (widen + FMA, row x batch tiles, no packing) */
kstt__matmul_kernel kstt__matmul_bf16_neon, kstt__matmul_f16_neon;
kstt__dot_kernel kstt__dot_f32_neon;
kstt__axpy_kernel kstt__axpy_f32_neon;
/* q_neon.c: the packed-layout (quant/repack.h) products without sdot (smull + sadalp), and the
 * activation quantisations (bit-identical to the reference's) */
kstt__matmul_kernel kstt__matmul_q8_0r_neon, kstt__matmul_q4_0r_neon, kstt__matmul_q4_kr_neon;
kstt__prepare_kernel kstt__prepare_x_qt_neon;
/* vops_neon.c: ELU, GELU, the gated feed-forward's silu(a) * b */
kstt__map_kernel kstt__elu_f32_neon, kstt__gelu_f32_neon;
kstt__silu_mul_kernel kstt__silu_mul_f32_neon;
kstt__map_copy_kernel kstt__elu_copy_f32_neon;
kstt__bias_map_kernel kstt__bias_elu_f32_neon;
kstt__res_map_kernel kstt__res_elu_f32_neon;
/* attn_neon.c: ring attention over f32, half and int8 K/V, f32 -> half rows, the int8 KV row
 * quantiser (the reference's bits) */
kstt__attn_f32_kernel kstt__attn_ring_f32_neon;
kstt__attn_f16_kernel kstt__attn_ring_f16_neon;
kstt__attn_q8_kernel kstt__attn_ring_q8_neon;
kstt__f32_to_f16_kernel kstt__f32_to_f16_neon;
kstt__i8_row_kernel kstt__quantize_i8_row_neon;

/* ---- + FEAT_DotProd ---- */
/* q_dotprod.c: the packed-layout products with sdot (one int32 lane = one block's 4-element
 * dot, exactly the lane layout of the x86 vpdpbusd kernels) */
kstt__matmul_kernel kstt__matmul_q8_0r_dotprod, kstt__matmul_q4_0r_dotprod,
    kstt__matmul_q4_kr_dotprod;

/* ---- + FEAT_I8MM, FEAT_BF16 ---- */
/* bf16_i8mm.c: the optional bfdot product (kernels.h matmul_bf16_dot; FEAT_BF16) */
kstt__matmul_kernel kstt__matmul_bf16_dot_i8mm;
kstt__prepare_kernel kstt__prepare_x_bf16_dot_i8mm;

/* Shared between arm files (vops_neon.c, used by attn_neon.c): x[n] = exp(x - m) with the
 * NEON exp (2 ulp); returns the sum of the results (a softmax numerator). */
float kstt__arm_exp_sum_neon(float *x, long n, float m);

#endif
