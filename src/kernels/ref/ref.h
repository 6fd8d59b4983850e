/*
 * The scalar reference kernels (every entry of kernels.h): the oracle of every kernel test and
 * the portable level. Listed in ref/table_ref.c; other levels name them for the entries they
 * do not speed up.
 */
#ifndef KSTT_KERNELS_REF_H
#define KSTT_KERNELS_REF_H

#include "kernels/kernels.h"

/* matmul_ref.c, f32_panel_ref.c, i8s_ref.c: the plain and panel products, dot, axpy */
kstt__matmul_kernel kstt__matmul_f32_ref, kstt__matmul_bf16_ref, kstt__matmul_f16_ref,
    kstt__matmul_f32_panel_ref, kstt__matmul_bf16_panel_ref, kstt__matmul_i8s_ref;
kstt__dot_kernel kstt__dot_f32_ref;
kstt__axpy_kernel kstt__axpy_f32_ref;

/* matmul_q_ref.c: the block-quantised products over the file layouts (activations by
 * kstt__prepare_x_q8_ref, kernels/qx.h kstt__qx) and the packed layouts (kstt__prepare_x_qt_ref,
 * kstt__qxt). The preparations are the bit-exact contract every level's versions match. */
kstt__matmul_kernel kstt__matmul_q8_0_ref, kstt__matmul_q4_0_ref, kstt__matmul_q4_K_ref,
    kstt__matmul_qr_ref /* Q8_0R and Q4_0R */, kstt__matmul_q4_kr_ref;
kstt__prepare_kernel kstt__prepare_x_q8_ref, kstt__prepare_x_qt_ref;

/* vops_ref.c: element-wise activations (kstt__elu and kstt__gelu_erf, ops_ref.c, are the
 * in-place references) */
kstt__map_copy_kernel kstt__elu_copy_f32_ref;
kstt__bias_map_kernel kstt__bias_elu_f32_ref;
kstt__res_map_kernel kstt__res_elu_f32_ref;

/* attn_ref.c: ring attention over f32 and half K/V, and the f32 -> half rows */
kstt__attn_f32_kernel kstt__attn_ring_f32_ref;
kstt__attn_f16_kernel kstt__attn_ring_f16_ref;
kstt__attn_q8_kernel kstt__attn_ring_q8_ref;
kstt__f32_to_f16_kernel kstt__f32_to_f16_ref;
kstt__i8_row_kernel kstt__quantize_i8_row_ref;

#endif
