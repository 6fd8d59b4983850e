/* IEEE half <-> f32 conversions of core/wtype.h: portable scalar code, the reference every
 * vector conversion (vcvtph2ps, vcvtps2ph, fcvt) must match bit for bit on finite values. */
#include "core/wtype.h"

#include <math.h>

float kstt__f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    union {
        uint32_t u;
        float f;
    } v;
    if (exp == 0) {
        if (mant == 0) {
            v.u = sign;
            return v.f;
        }
        /* subnormal: value = mant * 2^-24 */
        float f = ldexpf((float)mant, -24);
        return sign ? -f : f;
    }
    if (exp == 31) {
        v.u = sign | 0x7f800000u | (mant << 13);
        return v.f;
    }
    v.u = sign | ((exp + 112) << 23) | (mant << 13);
    return v.f;
}

uint16_t kstt__f32_to_f16(float f) {
    union {
        uint32_t u;
        float f;
    } v;
    v.f = f;
    const uint16_t sign = (uint16_t)((v.u >> 16) & 0x8000);
    const float a = fabsf(f);
    if (a != a)
        return sign | 0x7e00;
    if (a >= 65520.0f)
        return sign | 0x7c00;
    if (a < 6.103515625e-05f) { /* subnormal or zero: round to a multiple of 2^-24 */
        return sign | (uint16_t)lrintf(a * 16777216.0f);
    }
    uint32_t u = v.u & 0x7fffffffu;
    u += 0xfffu + ((u >> 13) & 1u); /* round to nearest even on the 13 dropped bits */
    return sign | (uint16_t)(((u >> 23) - 112) << 10 | ((u >> 13) & 0x3ff));
}
