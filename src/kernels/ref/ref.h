/* Fills a kernel table with the scalar reference kernels (every entry that has one). Each
 * ISA level starts from this table and overrides what it implements, so a missing fast
 * kernel falls back to the reference, never to NULL. */
#ifndef KSTT_KERNELS_REF_H
#define KSTT_KERNELS_REF_H

#include "kernels/kernels.h"

void kstt__kernels_fill_ref(kstt__kernels *k);
/* The element-wise activation and ring-attention references (vops_ref.c); called by
 * kstt__kernels_fill_ref. */
void kstt__kernels_fill_vops_ref(kstt__kernels *k);

#endif
