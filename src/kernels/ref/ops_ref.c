/*
 * Element-wise and small ops. They cost O(n) per step against O(n^2) for the products, so
 * they stay scalar and exact: the order of operations follows the PyTorch reference (sums in
 * f32, RoPE frequencies and angles in f32).
 */
#include <math.h>

#include "kernels/kernels.h"

void kstt__rmsnorm(const float *x, const float *alpha, float eps, float *y, long n) {
    /* eight partial sums: one chain of n dependent adds made this latency-bound, and the
     * batched LM step normalises 2 rows per layer and stream one after another */
    float part[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            part[j] += x[i + j] * x[i + j];
    float ss =
        ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    for (; i < n; i++)
        ss += x[i] * x[i];
    const float inv = 1.0f / sqrtf(ss / (float)n + eps);
    for (long i = 0; i < n; i++)
        y[i] = x[i] * inv * alpha[i];
}

void kstt__layernorm(const float *x, const float *w, const float *b, float eps, float *y, long n) {
    float mean = 0.0f;
    for (long i = 0; i < n; i++)
        mean += x[i];
    mean /= (float)n;
    float var = 0.0f;
    for (long i = 0; i < n; i++)
        var += (x[i] - mean) * (x[i] - mean);
    var /= (float)n;
    const float inv = 1.0f / sqrtf(var + eps);
    for (long i = 0; i < n; i++)
        y[i] = (x[i] - mean) * inv * w[i] + b[i];
}

void kstt__rope_table(int head_dim, int64_t pos, float max_period, float *cos_out, float *sin_out) {
    const int half = head_dim / 2;
    /* As the reference: freqs = exp(i * (-ln(max_period) * 2 / hd)), angle = pos * freq, f32. */
    const float scale = -logf(max_period) * 2.0f / (float)head_dim;
    for (int i = 0; i < half; i++) {
        const float freq = expf((float)i * scale);
        const float ang = (float)pos * freq;
        cos_out[i] = cosf(ang);
        sin_out[i] = sinf(ang);
    }
}

void kstt__rope_apply(float *x, int n_heads, int head_dim, const float *cos_in,
                      const float *sin_in) {
    const int half = head_dim / 2;
    for (int h = 0; h < n_heads; h++)
        for (int i = 0; i < half; i++) {
            float *u = x + (long)h * head_dim + 2 * i;
            const float a = u[0], b = u[1], c = cos_in[i], s = sin_in[i];
            u[0] = a * c - b * s;
            u[1] = a * s + b * c;
        }
}

void kstt__softmax(float *x, long n) {
    float m = x[0];
    for (long i = 1; i < n; i++)
        m = x[i] > m ? x[i] : m;
    float s = 0.0f;
    for (long i = 0; i < n; i++) {
        x[i] = expf(x[i] - m);
        s += x[i];
    }
    const float inv = 1.0f / s;
    for (long i = 0; i < n; i++)
        x[i] *= inv;
}

void kstt__elu(float *x, long n) {
    for (long i = 0; i < n; i++)
        x[i] = x[i] > 0.0f ? x[i] : expm1f(x[i]);
}

void kstt__gelu_erf(float *x, long n) {
    for (long i = 0; i < n; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

void kstt__silu_mul(const float *a, const float *b, float *out, long n) {
    for (long i = 0; i < n; i++)
        out[i] = a[i] / (1.0f + expf(-a[i])) * b[i];
}
