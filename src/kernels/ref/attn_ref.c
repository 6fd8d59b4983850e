/*
 * Scalar references of the ring-attention entries (kernels.h, "ring attention"): one query head
 * over a head-major KV ring, f32, IEEE half or int8 rows with a scale each, and the f32 -> half row
 * conversion. They are the oracle of the x86 versions (tests/unit/test_attn.c) and the portable
 * path.
 *
 * The attention is the plain composition: scores q.k_i * scale in position order, their max,
 * exp(s - max) and its sum in position order, then sum_i e_i v_i scaled by 1 / sum at the end
 * (one rounding per output instead of one per weight). Half elements are widened exactly
 * (kstt__f16_to_f32), so the f16 entry computes in f32 on the values the ring holds.
 */
#include <math.h>

#include "kernels/ref/ref.h"
#include "quant/quant.h"

/* The ring as one or two runs of contiguous rows: rows r0 .. r0 + n1 - 1, then 0 .. n - n1 - 1
 * (the caller asserts n <= cap). */
static void ring_runs(long s0, long n, long cap, long *r0, long *n1) {
    *r0 = s0 % cap;
    *n1 = n < cap - *r0 ? n : cap - *r0;
}

static float softmax_num(float *s, long n) {
    float mx = -INFINITY;
    for (long i = 0; i < n; i++)
        mx = s[i] > mx ? s[i] : mx;
    float sum = 0.0f;
    for (long i = 0; i < n; i++) {
        s[i] = expf(s[i] - mx);
        sum += s[i];
    }
    return sum;
}

void kstt__attn_ring_f32_ref(const float *q, const float *k, const float *v, long ld, long s0,
                             long n, long cap, int hd, float scale, float *scores, float *out) {
    long r0, n1;
    ring_runs(s0, n, cap, &r0, &n1);
    for (long i = 0; i < n; i++) {
        const float *kr = k + (i < n1 ? r0 + i : i - n1) * ld;
        float acc = 0.0f;
        for (int d = 0; d < hd; d++)
            acc += q[d] * kr[d];
        scores[i] = acc * scale;
    }
    const float inv = 1.0f / softmax_num(scores, n);
    for (int d = 0; d < hd; d++)
        out[d] = 0.0f;
    for (long i = 0; i < n; i++) {
        const float *vr = v + (i < n1 ? r0 + i : i - n1) * ld;
        for (int d = 0; d < hd; d++)
            out[d] += scores[i] * vr[d];
    }
    for (int d = 0; d < hd; d++)
        out[d] *= inv;
}

void kstt__attn_ring_f16_ref(const float *q, const uint16_t *k, const uint16_t *v, long ld, long s0,
                             long n, long cap, int hd, float scale, float *scores, float *out) {
    long r0, n1;
    ring_runs(s0, n, cap, &r0, &n1);
    for (long i = 0; i < n; i++) {
        const uint16_t *kr = k + (i < n1 ? r0 + i : i - n1) * ld;
        float acc = 0.0f;
        for (int d = 0; d < hd; d++)
            acc += q[d] * kstt__f16_to_f32(kr[d]);
        scores[i] = acc * scale;
    }
    const float inv = 1.0f / softmax_num(scores, n);
    for (int d = 0; d < hd; d++)
        out[d] = 0.0f;
    for (long i = 0; i < n; i++) {
        const uint16_t *vr = v + (i < n1 ? r0 + i : i - n1) * ld;
        for (int d = 0; d < hd; d++)
            out[d] += scores[i] * kstt__f16_to_f32(vr[d]);
    }
    for (int d = 0; d < hd; d++)
        out[d] *= inv;
}

void kstt__attn_ring_q8_ref(const float *q, const int8_t *k, const float *ks, const int8_t *v,
                            const float *vs, long ld, long s0, long n, long cap, int hd,
                            float scale, float *scores, float *out) {
    long r0, n1;
    ring_runs(s0, n, cap, &r0, &n1);
    for (long i = 0; i < n; i++) {
        const long r = i < n1 ? r0 + i : i - n1;
        const int8_t *kr = k + r * ld;
        float acc = 0.0f;
        for (int d = 0; d < hd; d++)
            acc += q[d] * (float)kr[d];
        scores[i] = acc * ks[r] * scale;
    }
    const float inv = 1.0f / softmax_num(scores, n);
    for (int d = 0; d < hd; d++)
        out[d] = 0.0f;
    for (long i = 0; i < n; i++) {
        const long r = i < n1 ? r0 + i : i - n1;
        const int8_t *vr = v + r * ld;
        const float w = scores[i] * vs[r];
        for (int d = 0; d < hd; d++)
            out[d] += w * (float)vr[d];
    }
    for (int d = 0; d < hd; d++)
        out[d] *= inv;
}

void kstt__f32_to_f16_ref(const float *x, uint16_t *y, long n) {
    for (long i = 0; i < n; i++)
        y[i] = kstt__f32_to_f16(x[i]);
}

void kstt__quantize_i8_row_ref(const float *x, int8_t *q, float *d, long n) {
    kstt__quantize_i8_row(x, q, d, n);
}
