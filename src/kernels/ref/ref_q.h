/* Scalar reference products for the block-quantised weight types (q8_0, q4_0, q4_K) and their
 * activation preparation (kernels/qx.h): the oracle of the x86 quantised kernels. */
#ifndef KSTT_KERNELS_REF_Q_H
#define KSTT_KERNELS_REF_Q_H

#include "kernels/kernels.h"

/* Sets matmul[] and prepare_x[] for Q8_0, Q4_0, Q4_K. */
void kstt__kernels_fill_q_ref(kstt__kernels *k);
/* The reference activation quantisation (shared by every level: bit-exact contract). */
void kstt__prepare_x_q8_ref(const float *x, long ldx, int batch, long cols, const kstt__ws *ws);

#endif
