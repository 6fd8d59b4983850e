/*
 * The dotprod level (NEON + FEAT_DotProd: Apple M1+, Graviton 2+, Cortex-A76+): the
 * packed block-quantised products by sdot; every other entry is the NEON level's.
 */
#include "kernels/arm/arm.h"
#include "kernels/cpu.h"
#include "kernels/ref/ref.h"

const kstt__kernels kstt__table_dotprod = {
    .level = KSTT_KERNELS_DOTPROD,
    .name = "dotprod",
    .variant = "dotprod",
    .requires = KSTT_CPU_NEON | KSTT_CPU_DOTPROD,
    .wt =
        {
            [KSTT_WT_F32] = {kstt__matmul_f32_neon, NULL},
            [KSTT_WT_BF16] = {kstt__matmul_bf16_neon, NULL},
            [KSTT_WT_F16] = {kstt__matmul_f16_neon, NULL},
            [KSTT_WT_Q8_0] = {kstt__matmul_q8_0_ref, kstt__prepare_x_q8_ref},
            [KSTT_WT_Q4_0] = {kstt__matmul_q4_0_ref, kstt__prepare_x_q8_ref},
            [KSTT_WT_Q4_K] = {kstt__matmul_q4_K_ref, kstt__prepare_x_q8_ref},
            [KSTT_WT_Q8_0R] = {kstt__matmul_q8_0r_dotprod, kstt__prepare_x_qt_neon},
            [KSTT_WT_Q4_0R] = {kstt__matmul_q4_0r_dotprod, kstt__prepare_x_qt_neon},
            [KSTT_WT_F32_PANEL] = {kstt__matmul_f32_panel_neon, NULL},
            [KSTT_WT_BF16_PANEL] = {kstt__matmul_bf16_panel_neon, NULL},
            [KSTT_WT_I8S] = {kstt__matmul_i8s_neon, NULL},
            [KSTT_WT_Q4_KR] = {kstt__matmul_q4_kr_dotprod, kstt__prepare_x_qt_neon},
        },
    .dot_f32 = kstt__dot_f32_neon,
    .axpy_f32 = kstt__axpy_f32_neon,
    .matmul_bf16_dot = NULL,
    .prepare_x_bf16_dot = NULL,
    .elu_f32 = kstt__elu_f32_neon,
    .elu_copy_f32 = kstt__elu_copy_f32_neon,
    .bias_elu_f32 = kstt__bias_elu_f32_neon,
    .res_elu_f32 = kstt__res_elu_f32_neon,
    .gelu_f32 = kstt__gelu_f32_neon,
    .attn_ring_f32 = kstt__attn_ring_f32_neon,
    .attn_ring_f16 = kstt__attn_ring_f16_neon,
    .attn_ring_q8 = kstt__attn_ring_q8_neon,
    .f32_to_f16 = kstt__f32_to_f16_neon,
    .quantize_i8_row = kstt__quantize_i8_row_neon,
    .silu_mul_f32 = kstt__silu_mul_f32_neon,
};
