/*
 * The AVX-512 level (F/BW/VL/DQ on top of AVX2 + FMA + F16C), in three variants by the CPU's
 * extra features (kernels.h, "HOW LEVELS ARE MADE"; the dispatcher takes the last variant the
 * CPU has, x86/cpu_x86.c):
 *   avx512       the block-quantised products stay AVX2's (they need vpdpbusd to pay off);
 *                only the activation quantisation (bit-identical to every level's) is AVX-512
 *   avx512-vnni  + AVX512-VNNI: the block-quantised products and packed preparations
 *   avx512-bf16  + AVX512-BF16: also the optional vdpbf16ps product (matmul_bf16_dot)
 *   avx512-amx   + AMX-INT8 and AMX-BF16 (enabled for the process, x86/cpu_x86.c): q8_0
 *                matrices are packed at load as Q8_0X and multiplied on the tile unit
 *                (x86/q8_amx.c): the batched LM step of many streams stops being compute-bound;
 *                bf16 Mimi matrices are packed as BF16X (x86/bf16_amx.c)
 * AVX512_COMMON lists the entries the three share; each variant lists the rest.
 */
#include "kernels/cpu.h"
#include "kernels/ref/ref.h"
#include "kernels/x86/x86.h"

#define AVX512_BASE                                                                                \
    (KSTT_CPU_AVX2 | KSTT_CPU_FMA | KSTT_CPU_F16C | KSTT_CPU_AVX512F | KSTT_CPU_AVX512BW |         \
     KSTT_CPU_AVX512VL | KSTT_CPU_AVX512DQ)

#define AVX512_COMMON                                                                              \
    .level = KSTT_KERNELS_AVX512, .name = "avx512",                                                \
    .wt[KSTT_WT_F32] = {kstt__matmul_f32_avx512, NULL},                                            \
    .wt[KSTT_WT_BF16] = {kstt__matmul_bf16_avx512, NULL},                                          \
    .wt[KSTT_WT_F16] = {kstt__matmul_f16_ref, NULL},                                               \
    .wt[KSTT_WT_F32_PANEL] = {kstt__matmul_f32_panel_avx512, NULL},                                \
    .wt[KSTT_WT_BF16_PANEL] = {kstt__matmul_bf16_panel_avx512, NULL},                              \
    .wt[KSTT_WT_I8S] = {kstt__matmul_i8s_avx512, NULL}, .dot_f32 = kstt__dot_f32_avx512,           \
    .axpy_f32 = kstt__axpy_f32_avx512, .elu_f32 = kstt__elu_f32_avx512,                            \
    .elu_copy_f32 = kstt__elu_copy_f32_avx512, .bias_elu_f32 = kstt__bias_elu_f32_avx512,          \
    .res_elu_f32 = kstt__res_elu_f32_avx512, .gelu_f32 = kstt__gelu_f32_avx512,                    \
    .attn_ring_f32 = kstt__attn_ring_f32_avx512, .attn_ring_f16 = kstt__attn_ring_f16_avx512,      \
    .attn_ring_q8 = kstt__attn_ring_q8_avx512, .f32_to_f16 = kstt__f32_to_f16_avx512,              \
    .quantize_i8_row = kstt__quantize_i8_row_avx512, .silu_mul_f32 = kstt__silu_mul_f32_avx512

/* The VNNI block-quantised products and packed preparations (vnni, bf16 and amx variants). */
#define AVX512_VNNI_QUANT                                                                          \
    .wt[KSTT_WT_Q8_0] = {kstt__matmul_q8_0_avx512, kstt__prepare_x_q8_avx512},                     \
    .wt[KSTT_WT_Q4_0] = {kstt__matmul_q4_0_avx512, kstt__prepare_x_q8_avx512},                     \
    .wt[KSTT_WT_Q4_K] = {kstt__matmul_q4_K_avx512, kstt__prepare_x_q8_avx512},                     \
    .wt[KSTT_WT_Q8_0R] = {kstt__matmul_q8_0r_avx512, kstt__prepare_x_qt_avx512},                   \
    .wt[KSTT_WT_Q4_0R] = {kstt__matmul_q4_0r_avx512, kstt__prepare_x_qt_avx512},                   \
    .wt[KSTT_WT_Q4_KR] = {kstt__matmul_q4_kr_avx512, kstt__prepare_x_qt_avx512}

const kstt__kernels kstt__table_avx512 = {
    AVX512_COMMON,
    .variant = "avx512",
    .requires = AVX512_BASE,
    .wt[KSTT_WT_Q8_0] = {kstt__matmul_q8_0_avx2, kstt__prepare_x_q8_avx512},
    .wt[KSTT_WT_Q4_0] = {kstt__matmul_q4_0_avx2, kstt__prepare_x_q8_avx512},
    .wt[KSTT_WT_Q4_K] = {kstt__matmul_q4_K_avx2, kstt__prepare_x_q8_avx512},
    .wt[KSTT_WT_Q8_0R] = {kstt__matmul_q8_0r_avx2, kstt__prepare_x_qt_avx2},
    .wt[KSTT_WT_Q4_0R] = {kstt__matmul_q4_0r_avx2, kstt__prepare_x_qt_avx2},
    .wt[KSTT_WT_Q4_KR] = {kstt__matmul_q4_kr_avx2, kstt__prepare_x_qt_avx2},
    .matmul_bf16_dot = NULL,
    .prepare_x_bf16_dot = NULL,
};

const kstt__kernels kstt__table_avx512_vnni = {
    AVX512_COMMON,     .variant = "avx512-vnni", .requires = AVX512_BASE | KSTT_CPU_AVX512VNNI,
    AVX512_VNNI_QUANT, .matmul_bf16_dot = NULL,  .prepare_x_bf16_dot = NULL,
};

const kstt__kernels kstt__table_avx512_bf16 = {
    AVX512_COMMON,
    .variant = "avx512-bf16",
    .requires = AVX512_BASE | KSTT_CPU_AVX512VNNI | KSTT_CPU_AVX512BF16,
    AVX512_VNNI_QUANT,
    .matmul_bf16_dot = kstt__matmul_bf16_dot_avx512,
    .prepare_x_bf16_dot = kstt__prepare_x_bf16_dot_avx512,
};

const kstt__kernels kstt__table_avx512_amx = {
    AVX512_COMMON,
    .variant = "avx512-amx",
    .requires = AVX512_BASE | KSTT_CPU_AVX512VNNI | KSTT_CPU_AVX512BF16 | KSTT_CPU_AMXINT8 |
                KSTT_CPU_AMXBF16,
    AVX512_VNNI_QUANT,
    .wt[KSTT_WT_Q8_0X] = {kstt__matmul_q8_0x_amx, kstt__prepare_x_qa_amx},
    .wt[KSTT_WT_BF16X] = {kstt__matmul_bf16x_amx, NULL},
    .pack[KSTT_WT_Q8_0] = KSTT_WT_Q8_0X,
    .matmul_bf16_dot = kstt__matmul_bf16_dot_avx512,
    .prepare_x_bf16_dot = kstt__prepare_x_bf16_dot_avx512,
};
