/* The reference product over pre-packed f32 panels (KSTT_WT_F32_PANEL, f32_panel_ref.c). */
#ifndef KSTT_KERNELS_REF_F32_PANEL_REF_H
#define KSTT_KERNELS_REF_F32_PANEL_REF_H

#include "kernels/kernels.h"

/* Sets matmul[KSTT_WT_F32_PANEL]; called by kstt__kernels_fill_ref. */
void kstt__kernels_fill_f32_panel_ref(kstt__kernels *k);

#endif
