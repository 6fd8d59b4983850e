/*
 * Scalar references of the element-wise activation entries and of the ring attention of the
 * kernel table (kernels.h): libm's expm1f / erff / expf, f32 sums in index order. They are the
 * oracle of the x86 versions (tests/unit/test_kernels_ops.c) and the portable path.
 *
 * The attention is the plain composition dot -> max -> exp-sum -> weighted sum of values, with
 * the same f32 operations as the reference dot and axpy (matmul_ref.c), so the reference level
 * computes exactly what a caller composing those entries would.
 */
#include <math.h>

#include "kernels/ref/ref.h"

static inline float elu1(float v) {
    return v > 0.0f ? v : expm1f(v);
}

void kstt__elu_copy_f32_ref(float *dst, const float *src, long n) {
    for (long i = 0; i < n; i++)
        dst[i] = elu1(src[i]);
}

void kstt__bias_elu_f32_ref(float *y, const float *b, long rows, long cols, long ld) {
    for (long t = 0; t < rows; t++)
        for (long c = 0; c < cols; c++)
            y[t * ld + c] = elu1(y[t * ld + c] + (b ? b[c] : 0.0f));
}

void kstt__res_elu_f32_ref(float *x, const float *u, const float *b, long rows, long cols) {
    for (long t = 0; t < rows; t++)
        for (long c = 0; c < cols; c++) {
            const long i = t * cols + c;
            x[i] = elu1(x[i] + (u[i] + (b ? b[c] : 0.0f)));
        }
}
