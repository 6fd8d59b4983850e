/*
 * Scalar reference products: the oracle for every optimised kernel. Accumulation is in f32,
 * in column order, exactly as written; optimised kernels may reorder sums and are compared to
 * these with a tolerance.
 */
#include "kernels/ref/ref.h"

void kstt__matmul_f32_ref(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                          int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    const long n = (long)w->cols;
    for (long r = r0; r < r1; r++) {
        const float *row = (const float *)((const char *)w->data + (size_t)r * w->row_bytes);
        for (int b = 0; b < batch; b++) {
            const float *xb = x + (long)b * ldx;
            float acc = 0.0f;
            for (long c = 0; c < n; c++)
                acc += row[c] * xb[c];
            y[(long)b * ldy + r] = acc;
        }
    }
}

void kstt__matmul_bf16_ref(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                           int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    const long n = (long)w->cols;
    for (long r = r0; r < r1; r++) {
        const uint16_t *row = (const uint16_t *)((const char *)w->data + (size_t)r * w->row_bytes);
        for (int b = 0; b < batch; b++) {
            const float *xb = x + (long)b * ldx;
            float acc = 0.0f;
            for (long c = 0; c < n; c++)
                acc += kstt__bf16_to_f32(row[c]) * xb[c];
            y[(long)b * ldy + r] = acc;
        }
    }
}

void kstt__matmul_f16_ref(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                          int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    const long n = (long)w->cols;
    for (long r = r0; r < r1; r++) {
        const uint16_t *row = (const uint16_t *)((const char *)w->data + (size_t)r * w->row_bytes);
        for (int b = 0; b < batch; b++) {
            const float *xb = x + (long)b * ldx;
            float acc = 0.0f;
            for (long c = 0; c < n; c++)
                acc += kstt__f16_to_f32(row[c]) * xb[c];
            y[(long)b * ldy + r] = acc;
        }
    }
}

float kstt__dot_f32_ref(const float *a, const float *b, long n) {
    float acc = 0.0f;
    for (long i = 0; i < n; i++)
        acc += a[i] * b[i];
    return acc;
}

void kstt__axpy_f32_ref(float a, const float *x, float *y, long n) {
    for (long i = 0; i < n; i++)
        y[i] += a * x[i];
}
