/*
 * FEAT_DotProd block-quantised products over the packed layouts (arm/qr_arm.h): one sdot per
 * 16 bytes of weights and activations (4 blocks x 4 elements), the packed layout's lanes
 * exactly. The activations are kstt__prepare_x_qt_neon's (the reference's bits).
 */
#include <arm_neon.h>

static inline int32x4_t QR_DOT(int32x4_t acc, int8x16_t a, int8x16_t b) {
    return vdotq_s32(acc, a, b);
}

#include "kernels/arm/qr_arm.h"

QR_DEFINE(dotprod)
