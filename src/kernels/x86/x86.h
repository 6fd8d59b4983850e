/*
 * The x86-64 kernels (compiled with the flags of their suffix, cmake/kernels.cmake), listed in
 * x86/table_avx2.c and x86/table_avx512.c, and the helpers x86 files share.
 */
#ifndef KSTT_KERNELS_X86_H
#define KSTT_KERNELS_X86_H

#include "kernels/kernels.h"

/* ---- AVX2 + FMA + F16C ---- */
/* f32_avx2.c: register-blocked f32 GEMM (plain and panel), bf16 panels, int8 rows */
kstt__matmul_kernel kstt__matmul_f32_avx2, kstt__matmul_f32_panel_avx2,
    kstt__matmul_bf16_panel_avx2, kstt__matmul_i8s_avx2;
/* bf16_avx2.c */
kstt__matmul_kernel kstt__matmul_bf16_avx2;
/* q_avx2.c (file layouts) and qr_avx2.c (packed layouts) */
kstt__matmul_kernel kstt__matmul_q8_0_avx2, kstt__matmul_q4_0_avx2, kstt__matmul_q4_K_avx2,
    kstt__matmul_q8_0r_avx2, kstt__matmul_q4_0r_avx2, kstt__matmul_q4_kr_avx2;
kstt__prepare_kernel kstt__prepare_x_q8_avx2, kstt__prepare_x_qt_avx2;
/* ops_avx2.c */
kstt__dot_kernel kstt__dot_f32_avx2;
kstt__axpy_kernel kstt__axpy_f32_avx2;
/* f32_vops_avx2.c */
kstt__map_kernel kstt__elu_f32_avx2, kstt__gelu_f32_avx2;
kstt__map_copy_kernel kstt__elu_copy_f32_avx2;
kstt__bias_map_kernel kstt__bias_elu_f32_avx2;
kstt__res_map_kernel kstt__res_elu_f32_avx2;
kstt__silu_mul_kernel kstt__silu_mul_f32_avx2;
/* attn_avx2.c */
kstt__attn_f32_kernel kstt__attn_ring_f32_avx2;
kstt__attn_f16_kernel kstt__attn_ring_f16_avx2;
kstt__attn_q8_kernel kstt__attn_ring_q8_avx2;
kstt__f32_to_f16_kernel kstt__f32_to_f16_avx2;
kstt__i8_row_kernel kstt__quantize_i8_row_avx2;

/* ---- AVX-512 F/BW/VL/DQ (+ VNNI, + BF16 where named) ---- */
kstt__matmul_kernel kstt__matmul_f32_avx512, kstt__matmul_f32_panel_avx512,
    kstt__matmul_bf16_panel_avx512, kstt__matmul_i8s_avx512;
kstt__matmul_kernel kstt__matmul_bf16_avx512;
kstt__matmul_kernel kstt__matmul_bf16_dot_avx512; /* AVX512_BF16 */
kstt__prepare_kernel kstt__prepare_x_bf16_dot_avx512;
kstt__prepare_kernel kstt__prepare_x_q8_avx512;
kstt__matmul_kernel kstt__matmul_q8_0_avx512, kstt__matmul_q4_0_avx512, kstt__matmul_q4_K_avx512,
    kstt__matmul_q8_0r_avx512, kstt__matmul_q4_0r_avx512, kstt__matmul_q4_kr_avx512; /* VNNI */
kstt__prepare_kernel kstt__prepare_x_qt_avx512;                                      /* VNNI */
/* q8_amx.c: AMX-INT8 (+ AVX-512) products of Q8_0X matrices */
kstt__matmul_kernel kstt__matmul_q8_0x_amx;
kstt__prepare_kernel kstt__prepare_x_qa_amx;
/* bf16_amx.c: AMX-BF16 products of BF16X matrices */
kstt__matmul_kernel kstt__matmul_bf16x_amx;
kstt__dot_kernel kstt__dot_f32_avx512;
kstt__axpy_kernel kstt__axpy_f32_avx512;
kstt__map_kernel kstt__elu_f32_avx512, kstt__gelu_f32_avx512;
kstt__silu_mul_kernel kstt__silu_mul_f32_avx512;
kstt__map_copy_kernel kstt__elu_copy_f32_avx512;
kstt__bias_map_kernel kstt__bias_elu_f32_avx512;
kstt__res_map_kernel kstt__res_elu_f32_avx512;
kstt__attn_f32_kernel kstt__attn_ring_f32_avx512;
kstt__attn_f16_kernel kstt__attn_ring_f16_avx512;
kstt__attn_q8_kernel kstt__attn_ring_q8_avx512;
kstt__f32_to_f16_kernel kstt__f32_to_f16_avx512;
kstt__i8_row_kernel kstt__quantize_i8_row_avx512;

/* Shared between x86 files (f32_vops_avx2.c, used by attn_avx2.c): x[n] = exp(x - m) with the
 * AVX2 exp (2 ulp); returns the sum of the results (a softmax numerator). */
float kstt__x86_exp_sum_avx2(float *x, long n, float m);

#endif
