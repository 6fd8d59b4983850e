/*
 * The i8mm level (dotprod + FEAT_I8MM: Apple M2+, Graviton 3+, Neoverse V1/N2): for now the
 * dotprod level's kernels (smmla pays off from 2 batch rows up: docs/ARM.md); a table of its
 * own so that KSTT_KERNELS=i8mm names it and its kernels slot in without a dispatch change.
 * Two variants: i8mm, and i8mm-bf16 (+ FEAT_BF16: the optional bfdot product matmul_bf16_dot).
 */
#include "kernels/arm/arm.h"
#include "kernels/cpu.h"
#include "kernels/ref/ref.h"

/* The entries both variants share (all but the optional bfdot product). */
#define I8MM_COMMON                                                                                \
    .level = KSTT_KERNELS_I8MM, .name = "i8mm",                                                    \
    .wt =                                                                                          \
        {                                                                                          \
            [KSTT_WT_F32] = {kstt__matmul_f32_neon, NULL},                                         \
            [KSTT_WT_BF16] = {kstt__matmul_bf16_neon, NULL},                                       \
            [KSTT_WT_F16] = {kstt__matmul_f16_neon, NULL},                                         \
            [KSTT_WT_Q8_0] = {kstt__matmul_q8_0_ref, kstt__prepare_x_q8_ref},                      \
            [KSTT_WT_Q4_0] = {kstt__matmul_q4_0_ref, kstt__prepare_x_q8_ref},                      \
            [KSTT_WT_Q4_K] = {kstt__matmul_q4_K_ref, kstt__prepare_x_q8_ref},                      \
            [KSTT_WT_Q8_0R] = {kstt__matmul_q8_0r_dotprod, kstt__prepare_x_qt_neon},               \
            [KSTT_WT_Q4_0R] = {kstt__matmul_q4_0r_dotprod, kstt__prepare_x_qt_neon},               \
            [KSTT_WT_F32_PANEL] = {kstt__matmul_f32_panel_neon, NULL},                             \
            [KSTT_WT_BF16_PANEL] = {kstt__matmul_bf16_panel_neon, NULL},                           \
            [KSTT_WT_I8S] = {kstt__matmul_i8s_neon, NULL},                                         \
            [KSTT_WT_Q4_KR] = {kstt__matmul_q4_kr_dotprod, kstt__prepare_x_qt_neon},               \
    },                                                                                             \
    .dot_f32 = kstt__dot_f32_neon, .axpy_f32 = kstt__axpy_f32_neon, .elu_f32 = kstt__elu_f32_neon, \
    .elu_copy_f32 = kstt__elu_copy_f32_neon, .bias_elu_f32 = kstt__bias_elu_f32_neon,              \
    .res_elu_f32 = kstt__res_elu_f32_neon, .gelu_f32 = kstt__gelu_f32_neon,                        \
    .attn_ring_f32 = kstt__attn_ring_f32_neon, .attn_ring_f16 = kstt__attn_ring_f16_neon,          \
    .attn_ring_q8 = kstt__attn_ring_q8_neon, .f32_to_f16 = kstt__f32_to_f16_neon,                  \
    .quantize_i8_row = kstt__quantize_i8_row_neon, .silu_mul_f32 = kstt__silu_mul_f32_neon

const kstt__kernels kstt__table_i8mm = {
    I8MM_COMMON,
    .variant = "i8mm",
    .requires = KSTT_CPU_NEON | KSTT_CPU_DOTPROD | KSTT_CPU_I8MM,
    .matmul_bf16_dot = NULL,
    .prepare_x_bf16_dot = NULL,
};

const kstt__kernels kstt__table_i8mm_bf16 = {
    I8MM_COMMON,
    .variant = "i8mm-bf16",
    .requires = KSTT_CPU_NEON | KSTT_CPU_DOTPROD | KSTT_CPU_I8MM | KSTT_CPU_BF16,
    .matmul_bf16_dot = kstt__matmul_bf16_dot_i8mm,
    .prepare_x_bf16_dot = kstt__prepare_x_bf16_dot_i8mm,
};
