/*
 * The reference level: every entry of kernels.h by its scalar kernel. The model of every table
 * file (kernels.h, "HOW LEVELS ARE MADE"): constant data, every entry listed.
 */
#include "kernels/ref/ref.h"

const kstt__kernels kstt__table_ref = {
    .level = KSTT_KERNELS_REF,
    .name = "ref",
    .variant = "ref",
    .requires = 0,
    .wt =
        {
            [KSTT_WT_F32] = {kstt__matmul_f32_ref, NULL},
            [KSTT_WT_BF16] = {kstt__matmul_bf16_ref, NULL},
            [KSTT_WT_F16] = {kstt__matmul_f16_ref, NULL},
            [KSTT_WT_Q8_0] = {kstt__matmul_q8_0_ref, kstt__prepare_x_q8_ref},
            [KSTT_WT_Q4_0] = {kstt__matmul_q4_0_ref, kstt__prepare_x_q8_ref},
            [KSTT_WT_Q4_K] = {kstt__matmul_q4_K_ref, kstt__prepare_x_q8_ref},
            [KSTT_WT_Q8_0R] = {kstt__matmul_qr_ref, kstt__prepare_x_qt_ref},
            [KSTT_WT_Q4_0R] = {kstt__matmul_qr_ref, kstt__prepare_x_qt_ref},
            [KSTT_WT_F32_PANEL] = {kstt__matmul_f32_panel_ref, NULL},
            [KSTT_WT_BF16_PANEL] = {kstt__matmul_bf16_panel_ref, NULL},
            [KSTT_WT_I8S] = {kstt__matmul_i8s_ref, NULL},
            [KSTT_WT_Q4_KR] = {kstt__matmul_q4_kr_ref, kstt__prepare_x_qt_ref},
        },
    .dot_f32 = kstt__dot_f32_ref,
    .axpy_f32 = kstt__axpy_f32_ref,
    .matmul_bf16_dot = NULL,
    .prepare_x_bf16_dot = NULL,
    .elu_f32 = kstt__elu,
    .elu_copy_f32 = kstt__elu_copy_f32_ref,
    .bias_elu_f32 = kstt__bias_elu_f32_ref,
    .res_elu_f32 = kstt__res_elu_f32_ref,
    .gelu_f32 = kstt__gelu_erf,
    .silu_mul_f32 = kstt__silu_mul,
    .attn_ring_f32 = kstt__attn_ring_f32_ref,
    .attn_ring_f16 = kstt__attn_ring_f16_ref,
    .attn_ring_q8 = kstt__attn_ring_q8_ref,
    .f32_to_f16 = kstt__f32_to_f16_ref,
    .quantize_i8_row = kstt__quantize_i8_row_ref,
};
