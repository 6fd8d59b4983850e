/*
 * The AVX2 level (AVX2 + FMA + F16C): every entry listed (kernels.h, "HOW LEVELS ARE MADE").
 * The f16 product stays the reference's (f16 weights only appear in tests and small tensors).
 */
#include "kernels/cpu.h"
#include "kernels/ref/ref.h"
#include "kernels/x86/x86.h"

const kstt__kernels kstt__table_avx2 = {
    .level = KSTT_KERNELS_AVX2,
    .name = "avx2",
    .variant = "avx2",
    .requires = KSTT_CPU_AVX2 | KSTT_CPU_FMA | KSTT_CPU_F16C,
    .wt =
        {
            [KSTT_WT_F32] = {kstt__matmul_f32_avx2, NULL},
            [KSTT_WT_BF16] = {kstt__matmul_bf16_avx2, NULL},
            [KSTT_WT_F16] = {kstt__matmul_f16_ref, NULL},
            [KSTT_WT_Q8_0] = {kstt__matmul_q8_0_avx2, kstt__prepare_x_q8_avx2},
            [KSTT_WT_Q4_0] = {kstt__matmul_q4_0_avx2, kstt__prepare_x_q8_avx2},
            [KSTT_WT_Q4_K] = {kstt__matmul_q4_K_avx2, kstt__prepare_x_q8_avx2},
            [KSTT_WT_Q8_0R] = {kstt__matmul_q8_0r_avx2, kstt__prepare_x_qt_avx2},
            [KSTT_WT_Q4_0R] = {kstt__matmul_q4_0r_avx2, kstt__prepare_x_qt_avx2},
            [KSTT_WT_F32_PANEL] = {kstt__matmul_f32_panel_avx2, NULL},
            [KSTT_WT_BF16_PANEL] = {kstt__matmul_bf16_panel_avx2, NULL},
            [KSTT_WT_I8S] = {kstt__matmul_i8s_avx2, NULL},
            [KSTT_WT_Q4_KR] = {kstt__matmul_q4_kr_avx2, kstt__prepare_x_qt_avx2},
        },
    .dot_f32 = kstt__dot_f32_avx2,
    .axpy_f32 = kstt__axpy_f32_avx2,
    .matmul_bf16_dot = NULL,
    .prepare_x_bf16_dot = NULL,
    .elu_f32 = kstt__elu_f32_avx2,
    .elu_copy_f32 = kstt__elu_copy_f32_avx2,
    .bias_elu_f32 = kstt__bias_elu_f32_avx2,
    .res_elu_f32 = kstt__res_elu_f32_avx2,
    .gelu_f32 = kstt__gelu_f32_avx2,
    .attn_ring_f32 = kstt__attn_ring_f32_avx2,
    .attn_ring_f16 = kstt__attn_ring_f16_avx2,
    .attn_ring_q8 = kstt__attn_ring_q8_avx2,
    .f32_to_f16 = kstt__f32_to_f16_avx2,
    .quantize_i8_row = kstt__quantize_i8_row_avx2,
    .silu_mul_f32 = kstt__silu_mul_f32_avx2,
};
