/* The reference product over int8 rows with a scale (KSTT_WT_I8S, i8s_ref.c). */
#ifndef KSTT_KERNELS_REF_I8S_REF_H
#define KSTT_KERNELS_REF_I8S_REF_H

#include "kernels/kernels.h"

/* Sets matmul[KSTT_WT_I8S]; called by kstt__kernels_fill_ref. */
void kstt__kernels_fill_i8s_ref(kstt__kernels *k);

#endif
