/*
 * Kernel interface. Kernels know nothing about models: they take pointers, sizes and strides.
 *
 * The one hot operation is the weight-matrix product, for every weight type:
 *     y[b * ldy + r] = sum_c W[r, c] * x[b * ldx + c]      r in [r0, r1), b in [0, batch)
 * with W a [rows, cols] matrix in some storage type (row-major rows of row_bytes bytes) and
 * x, y f32. Everything else in the models is built on it: linear layers (batch = streams or
 * frames), and convolutions (time-major input: the receptive field of output t is the
 * contiguous run x + t * stride * C_in of K * C_in floats, so a conv is this product with
 * ldx = stride * C_in and the weight repacked to [C_out, K, C_in]).
 *
 * A kstt__kernels table holds the best implementation per entry for one CPU level; it is
 * chosen once at load (kstt__kernels_get) and model code only calls through it, or through
 * the drivers below, which split rows across a pool.
 */
#ifndef KSTT_KERNELS_H
#define KSTT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kstt.h"

typedef enum {
    KSTT_WT_F32 = 0,
    KSTT_WT_BF16,
    KSTT_WT_F16,
    KSTT_WT_Q8_0, /* ggml block layouts (src/quant/) */
    KSTT_WT_Q4_0,
    KSTT_WT_Q4_K,
    KSTT_WT_COUNT, /* the types of files (quant/quant.h); the packed types follow */
    /* Load-time repacks of q8_0 / q4_0 (and q4_K: KSTT_WT_Q4_KR below; quant/repack.h), never
     * found in files: the same quants and scales (identical dequantised values), rearranged so
     * that the products stream one 64-byte-aligned sequence per two rows. row_bytes is then
     * the bytes of a tile of two rows, and rows are not addressable one by one (no
     * kstt__wmat_row_f32). */
    KSTT_WT_Q8_0R = KSTT_WT_COUNT,
    KSTT_WT_Q4_0R,
    /* f32 pre-packed at load for the register-blocked GEMMs (kstt__f32_panel_pack): panels of
     * KSTT_F32_PANEL_ROWS rows, panel p holding W[32p + i, c] at float c * 32 + i (rows past
     * `rows` zero), panels row_bytes apart. Products give the same bits as KSTT_WT_F32 at every
     * level (the same FMA sequence per element); rows are not addressable one by one. */
    KSTT_WT_F32_PANEL,
    /* The same panels holding bf16 weights (row_bytes: 32 * cols * 2), widened exactly to f32
     * in the products: the bits of KSTT_WT_F32_PANEL over the widened weights. */
    KSTT_WT_BF16_PANEL,
    /* int8 rows with one f32 scale each (made at load, e.g. a screening copy; not a file type):
     * row r = {float s; int8_t q[cols]} at data + r * row_bytes (row_bytes >= 4 + cols, a
     * multiple of 4), W[r, c] = s * q[c]; y = s * (sum_c q[c] x[c] in f32, any order). */
    KSTT_WT_I8S,
    KSTT_WT_Q4_KR, /* load-time repack of q4_K, as Q8_0R / Q4_0R above (quant/repack.h) */
    KSTT_WT_NTYPES /* table size: file types + packed types */
} kstt__wtype;

/* A weight matrix [rows, cols]. data is borrowed (mmapped file or model-owned repack). For the
 * block types cols is a multiple of the block (32 for q8_0/q4_0, 256 for q4_K) and a row is
 * cols / block blocks (quant/quant.h); io/weights.h makes these from safetensors or GGUF. */
typedef struct {
    kstt__wtype type;
    int64_t rows, cols;
    size_t row_bytes; /* bytes from one row to the next */
    const void *data;
} kstt__wmat;

/* Scratch memory for kernels that transform activations first (e.g. quantize x to 8 bits).
 * Owned by the caller (a stream or model), sized once with kstt__matmul_ws_size. */
typedef struct {
    void *buf;
    size_t cap;
} kstt__ws;

typedef void (*kstt__matmul_fn)(const kstt__wmat *w, const float *x, long ldx, float *y,
                                long ldy, int batch, long r0, long r1, const kstt__ws *ws);

typedef struct kstt__kernels {
    kstt_kernels level; /* the level this table implements */
    const char *name;   /* "ref", "avx2", "avx512" */
    kstt__matmul_fn matmul[KSTT_WT_NTYPES]; /* NULL: type not supported at this level */
    /* Optional preparation of x for a weight type, run once per product before the rows are
     * split (e.g. quantizing activations). NULL: none needed. */
    void (*prepare_x[KSTT_WT_NTYPES])(const float *x, long ldx, int batch, long cols,
                                     const kstt__ws *ws);
    float (*dot_f32)(const float *a, const float *b, long n);
    /* y += a * x */
    void (*axpy_f32)(float a, const float *x, float *y, long n);
    /* The bf16 product through vdpbf16ps (x rounded to bf16 once per product: ~3 significant
     * digits, not f32-exact), NULL when the CPU lacks AVX512_BF16. matmul[KSTT_WT_BF16] is the
     * exact one (weights widened to f32, FMA) unless KSTT_BF16=dot selects this one. The bench
     * measures both. */
    kstt__matmul_fn matmul_bf16_dot;
    void (*prepare_x_bf16_dot)(const float *x, long ldx, int batch, long cols,
                               const kstt__ws *ws);

    /* Element-wise f32 activations (hot in convolutional encoders: an ELU on every activation).
     * The references are the libm forms (kstt__elu, kstt__gelu_erf); the vector versions are
     * within 2 ulp for exp/expm1, and GELU within 4e-7 |x| (erf by Abramowitz-Stegun 7.1.26).
     * Every implementation computes each element by the same arithmetic whatever n and the
     * element's position (tails are masked, not scalar), so splitting a call into pieces gives
     * the same bits. */
    /* x[n] = ELU(x) (alpha 1), in place */
    void (*elu_f32)(float *x, long n);
    /* dst[n] = ELU(src[n]); dst and src do not overlap */
    void (*elu_copy_f32)(float *dst, const float *src, long n);
    /* y[t * ld + c] = ELU(y[t * ld + c] + b[c]) for t < rows, c < cols (ld >= cols; the
     * ld - cols floats after each row are not touched); b [cols] or NULL (no bias) */
    void (*bias_elu_f32)(float *y, const float *b, long rows, long cols, long ld);
    /* x[t, c] = ELU(x[t, c] + (u[t, c] + b[c])), x and u [rows, cols] packed; b [cols] or
     * NULL. A residual add fused with the activation that follows it. */
    void (*res_elu_f32)(float *x, const float *u, const float *b, long rows, long cols);
    /* x[n] = GELU(x), exact erf form 0.5 x (1 + erf(x / sqrt 2)), in place */
    void (*gelu_f32)(float *x, long n);
    /* One attention query over n keys held in a ring of cap rows: key/value i (0 <= i < n) is
     * row (s0 + i) mod cap of k and v, rows ld floats apart, hd features at the row start.
     * out[hd] = sum_i softmax_i(scale * q.k_i) v_i. scores: scratch for n floats (left
     * holding the unnormalised weights). n >= 1, s0 >= 0. out overlaps none of the inputs. */
    void (*attn_ring_f32)(const float *q, const float *k, const float *v, long ld, long s0,
                          long n, long cap, int hd, float scale, float *scores, float *out);

    /* ---- LM attention (src/lm: head-major KV ring, kernels/ref/attn_ref.c, x86/attn_*.c) ----
     * One query head over n keys held in a ring of cap rows of hd contiguous elements (the KV
     * ring of one (layer, head): k and v [cap, hd], row r at k + r * hd): key/value i
     * (0 <= i < n) is row (s0 + i) mod cap. out[hd] = sum_i softmax_i(scale * q.k_i) v_i, the
     * keys and values widened to f32 and every sum in f32. scores: scratch for n floats (left
     * holding the unnormalised weights). 1 <= n <= cap, s0 >= 0; out overlaps no input. The
     * vector levels agree with the reference to f32 rounding (sums in another order, exp within
     * 2 ulp). */
    void (*attn_kv_f32)(const float *q, const float *k, const float *v, long s0, long n,
                        long cap, int hd, float scale, float *scores, float *out);
    /* The same over IEEE half K and V (f16 KV ring: half the bytes per step). */
    void (*attn_kv_f16)(const float *q, const uint16_t *k, const uint16_t *v, long s0, long n,
                        long cap, int hd, float scale, float *scores, float *out);
    /* y[n] = x[n] rounded to IEEE half, to nearest even (kstt__f32_to_f16 for every finite x:
     * the same bits at every level); y does not overlap x. Writes a step's keys and values. */
    void (*f32_to_f16)(const float *x, uint16_t *y, long n);
} kstt__kernels;

/* The table for this CPU, capped by `cap` and by the KSTT_KERNELS environment variable
 * (ref|avx2|avx512). Static storage, immutable. */
const kstt__kernels *kstt__kernels_get(kstt_kernels cap);
/* The reference (scalar) table: the oracle of every kernel test. */
const kstt__kernels *kstt__kernels_ref(void);

/* KSTT_WT_F32_PANEL: floats of the packed copy of a [rows, cols] matrix, and the packing of W
 * (row r at w + r * ldw) into dst (that many floats, 64-byte aligned) described by *out. */
#define KSTT_F32_PANEL_ROWS 32
size_t kstt__f32_panel_floats(long rows, long cols);
void kstt__f32_panel_pack(kstt__wmat *out, const float *w, long rows, long cols, long ldw,
                          float *dst);
/* KSTT_WT_BF16_PANEL: the same with W rounded to bf16 (nearest even) into dst
 * (kstt__f32_panel_floats(rows, cols) bf16 elements). */
void kstt__bf16_panel_pack(kstt__wmat *out, const float *w, long rows, long cols, long ldw,
                           uint16_t *dst);

/* Workspace bytes kstt__matmul needs for a product with this weight type and batch. The
 * workspace must be 64-byte aligned (kstt__alloc is) and at least this large. */
size_t kstt__matmul_ws_size(kstt__wtype type, long cols, int batch);

/* The driver: y = W x for `batch` activation rows, rows of W split across the pool. */
void kstt__matmul(kstt_pool *pool, const kstt__kernels *k, const kstt__wmat *w, const float *x,
                  long ldx, float *y, long ldy, int batch, const kstt__ws *ws);

/* ---- element-wise and small ops (scalar; not hot enough to dispatch) ------------------ *
 * kstt__elu and kstt__gelu_erf are also the reference entries elu_f32 / gelu_f32 of the
 * table above; hot callers go through the table. */

/* y = x * alpha / sqrt(mean(x^2) + eps), in f32. x and y may alias. */
void kstt__rmsnorm(const float *x, const float *alpha, float eps, float *y, long n);
/* y = (x - mean) / sqrt(var + eps) * w + b (biased variance). x and y may alias. */
void kstt__layernorm(const float *x, const float *w, const float *b, float eps, float *y,
                     long n);
/* Interleaved RoPE on n_heads heads of head_dim at position pos: pairs (2i, 2i+1) rotated by
 * pos * max_period^(-2i/head_dim). Frequencies and angles in f32 as the reference does. */
void kstt__rope_interleaved(float *x, int n_heads, int head_dim, int64_t pos, float max_period);
/* In-place softmax over n values. */
void kstt__softmax(float *x, long n);
void kstt__elu(float *x, long n);      /* alpha 1 */
void kstt__gelu_erf(float *x, long n); /* exact erf form */
/* out[i] = silu(a[i]) * b[i] */
void kstt__silu_mul(const float *a, const float *b, float *out, long n);

/* bf16 <-> f32 (round to nearest even for f32 -> bf16). */
static inline float kstt__bf16_to_f32(uint16_t h) {
    union {
        uint32_t u;
        float f;
    } v;
    v.u = (uint32_t)h << 16;
    return v.f;
}
static inline uint16_t kstt__f32_to_bf16(float f) {
    union {
        uint32_t u;
        float f;
    } v;
    v.f = f;
    if ((v.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40); /* NaN */
    v.u += 0x7fffu + ((v.u >> 16) & 1u);
    return (uint16_t)(v.u >> 16);
}
float kstt__f16_to_f32(uint16_t h);
uint16_t kstt__f32_to_f16(float f);

#endif
