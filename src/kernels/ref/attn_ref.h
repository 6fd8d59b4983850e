/* Registration of the LM attention kernels (kernels.h, block "LM attention"): the scalar
 * references here, the x86 versions in kernels/x86/attn_x86.h. Called from dispatch.c. */
#ifndef KSTT_KERNELS_REF_ATTN_REF_H
#define KSTT_KERNELS_REF_ATTN_REF_H

#include "kernels/kernels.h"

void kstt__attn_fill_ref(kstt__kernels *k); /* attn_ref.c */

#endif
