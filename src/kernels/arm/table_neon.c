/*
 * The NEON level (ARMv8.0-A Advanced SIMD: every AArch64 core, Cortex-A53/A72 and up; half <->
 * single conversions are the base fcvtl / fcvtn, no FEAT_FP16 arithmetic): every entry listed
 * (kernels.h, "HOW LEVELS ARE MADE"). The block-quantised products over the file layouts stay
 * the reference's (the loader repacks q8_0 / q4_0 / q4_K, io/weights.c, and these are the
 * products of the packed layouts); the packed products emulate sdot with smull + sadalp.
 */
#include "kernels/arm/arm.h"
#include "kernels/cpu.h"
#include "kernels/ref/ref.h"

const kstt__kernels kstt__table_neon = {
    .level = KSTT_KERNELS_NEON,
    .name = "neon",
    .variant = "neon",
    .requires = KSTT_CPU_NEON,
    .wt =
        {
            [KSTT_WT_F32] = {kstt__matmul_f32_neon, NULL},
            [KSTT_WT_BF16] = {kstt__matmul_bf16_neon, NULL},
            [KSTT_WT_F16] = {kstt__matmul_f16_neon, NULL},
            [KSTT_WT_Q8_0] = {kstt__matmul_q8_0_ref, kstt__prepare_x_q8_ref},
            [KSTT_WT_Q4_0] = {kstt__matmul_q4_0_ref, kstt__prepare_x_q8_ref},
            [KSTT_WT_Q4_K] = {kstt__matmul_q4_K_ref, kstt__prepare_x_q8_ref},
            [KSTT_WT_Q8_0R] = {kstt__matmul_q8_0r_neon, kstt__prepare_x_qt_neon},
            [KSTT_WT_Q4_0R] = {kstt__matmul_q4_0r_neon, kstt__prepare_x_qt_neon},
            [KSTT_WT_F32_PANEL] = {kstt__matmul_f32_panel_neon, NULL},
            [KSTT_WT_BF16_PANEL] = {kstt__matmul_bf16_panel_neon, NULL},
            [KSTT_WT_I8S] = {kstt__matmul_i8s_neon, NULL},
            [KSTT_WT_Q4_KR] = {kstt__matmul_q4_kr_neon, kstt__prepare_x_qt_neon},
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
