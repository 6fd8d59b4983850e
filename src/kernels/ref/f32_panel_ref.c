/*
 * KSTT_WT_F32_PANEL and KSTT_WT_BF16_PANEL (kernels.h): the load-time packing and the scalar
 * reference products; also the packing of KSTT_WT_BF16X (its products are x86/bf16_amx.c's).
 *
 * The panel layout is the one the register-blocked f32 GEMMs read (32 rows of W interleaved
 * column by column), made once at load so that a product streams the weights in one
 * sequential pass instead of transposing them per call. The reference computes every element
 * exactly as the row-major reference does (f32 sum in increasing column order), so the two
 * types give the same bits at the reference level.
 */
#include <string.h>

#include "kernels/ref/ref.h"

size_t kstt__f32_panel_floats(long rows, long cols) {
    const size_t panels = (size_t)((rows + KSTT_F32_PANEL_ROWS - 1) / KSTT_F32_PANEL_ROWS);
    return panels * KSTT_F32_PANEL_ROWS * (size_t)cols;
}

void kstt__f32_panel_pack(kstt__wmat *out, const float *w, long rows, long cols, long ldw,
                          float *dst) {
    const long R = KSTT_F32_PANEL_ROWS;
    for (long p = 0; p * R < rows; p++) {
        float *P = dst + (size_t)p * R * cols;
        for (long c = 0; c < cols; c++)
            for (long i = 0; i < R; i++) {
                const long r = p * R + i;
                P[c * R + i] = r < rows ? w[(size_t)r * ldw + c] : 0.0f;
            }
    }
    out->type = KSTT_WT_F32_PANEL;
    out->rows = rows;
    out->cols = cols;
    out->row_bytes = (size_t)R * (size_t)cols * sizeof(float);
    out->data = dst;
}

void kstt__bf16_panel_pack(kstt__wmat *out, const float *w, long rows, long cols, long ldw,
                           uint16_t *dst) {
    const long R = KSTT_F32_PANEL_ROWS;
    for (long p = 0; p * R < rows; p++) {
        uint16_t *P = dst + (size_t)p * R * cols;
        for (long c = 0; c < cols; c++)
            for (long i = 0; i < R; i++) {
                const long r = p * R + i;
                P[c * R + i] = r < rows ? kstt__f32_to_bf16(w[(size_t)r * ldw + c]) : 0;
            }
    }
    out->type = KSTT_WT_BF16_PANEL;
    out->rows = rows;
    out->cols = cols;
    out->row_bytes = (size_t)R * (size_t)cols * sizeof(uint16_t);
    out->data = dst;
}

size_t kstt__bf16x_elems(long rows, long cols) {
    const size_t panels = (size_t)((rows + KSTT_BF16X_ROWS - 1) / KSTT_BF16X_ROWS);
    return panels * (size_t)((cols + 31) / 32) * 512;
}

void kstt__bf16x_pack(kstt__wmat *out, const float *w, long rows, long cols, long ldw,
                      uint16_t *dst) {
    const long nb = (cols + 31) / 32;
    for (long p = 0; p * KSTT_BF16X_ROWS < rows; p++)
        for (long k = 0; k < nb; k++) {
            uint16_t *t = dst + (size_t)(p * nb + k) * 512;
            for (int j = 0; j < 16; j++)
                for (int n = 0; n < 16; n++)
                    for (int e = 0; e < 2; e++) {
                        const long r = p * KSTT_BF16X_ROWS + n, c = 32 * k + 2 * j + e;
                        t[32 * j + 2 * n + e] =
                            r < rows && c < cols ? kstt__f32_to_bf16(w[(size_t)r * ldw + c]) : 0;
                    }
        }
    out->type = KSTT_WT_BF16X;
    out->rows = rows;
    out->cols = cols;
    out->row_bytes = (size_t)nb * 512 * sizeof(uint16_t);
    out->data = dst;
}

void kstt__matmul_f32_panel_ref(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                                int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    const long n = (long)w->cols, R = KSTT_F32_PANEL_ROWS;
    for (long r = r0; r < r1; r++) {
        const float *p =
            (const float *)((const char *)w->data + (size_t)(r / R) * w->row_bytes) + r % R;
        for (int b = 0; b < batch; b++) {
            const float *xb = x + (long)b * ldx;
            float acc = 0.0f;
            for (long c = 0; c < n; c++)
                acc += p[c * R] * xb[c];
            y[(long)b * ldy + r] = acc;
        }
    }
}

void kstt__matmul_bf16_panel_ref(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                                 int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    const long n = (long)w->cols, R = KSTT_F32_PANEL_ROWS;
    for (long r = r0; r < r1; r++) {
        const uint16_t *p =
            (const uint16_t *)((const char *)w->data + (size_t)(r / R) * w->row_bytes) + r % R;
        for (int b = 0; b < batch; b++) {
            const float *xb = x + (long)b * ldx;
            float acc = 0.0f;
            for (long c = 0; c < n; c++)
                acc += kstt__bf16_to_f32(p[c * R]) * xb[c];
            y[(long)b * ldy + r] = acc;
        }
    }
}
