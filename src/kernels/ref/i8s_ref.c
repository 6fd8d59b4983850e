/*
 * KSTT_WT_I8S (kernels.h): the scalar reference product over int8 rows with one f32 scale each:
 * y = s * sum_c q[c] x[c], the sum in f32 in increasing c. The vector levels sum in another
 * order (within the f32 summation bound of any order, which is what its user, the Mimi
 * quantizer's screening, relies on).
 */
#include <string.h>

#include "kernels/ref/ref.h"

void kstt__matmul_i8s_ref(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                          int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    const long n = (long)w->cols;
    for (long r = r0; r < r1; r++) {
        const char *row = (const char *)w->data + (size_t)r * w->row_bytes;
        float s;
        memcpy(&s, row, sizeof s);
        const int8_t *q = (const int8_t *)(row + sizeof(float));
        for (int b = 0; b < batch; b++) {
            const float *xb = x + (long)b * ldx;
            float acc = 0.0f;
            for (long c = 0; c < n; c++)
                acc += (float)q[c] * xb[c];
            y[(long)b * ldy + r] = s * acc;
        }
    }
}
