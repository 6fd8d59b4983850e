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
 * A kstt__kernels table holds the implementation of every entry for one CPU level (one file
 * per level, constant data: see "HOW LEVELS ARE MADE" below); it is chosen once at load
 * (kstt__kernels_get) and model code only calls through it, or through the drivers below,
 * which split rows across a pool.
 */
#ifndef KSTT_KERNELS_H
#define KSTT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "core/wtype.h"
#include "kstt.h"

/* Scratch memory for kernels that transform activations first (e.g. quantize x to 8 bits).
 * Owned by the caller (a stream or model), sized once with kstt__matmul_ws_size. */
typedef struct {
    void *buf;
    size_t cap;
} kstt__ws;

/* ---- kernel entry types (function types: a level header declares its kernels with them,
 * e.g. `kstt__matmul_kernel kstt__matmul_f32_avx2;`, so the compiler checks every signature) */

/* y[b * ldy + r] = sum_c W[r, c] x[b * ldx + c] for rows [r0, r1) and b < batch; ws: what
 * prepare_x wrote (or NULL when the type has no preparation). */
typedef void kstt__matmul_kernel(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                                 int batch, long r0, long r1, const kstt__ws *ws);
typedef kstt__matmul_kernel *kstt__matmul_fn;
/* Preparation of x for a weight type, run once per product before the rows are split (e.g.
 * quantizing activations, layouts in kernels/qx.h): writes ws. */
typedef void kstt__prepare_kernel(const float *x, long ldx, int batch, long cols,
                                  const kstt__ws *ws);
typedef float kstt__dot_kernel(const float *a, const float *b, long n);
typedef void kstt__axpy_kernel(float a, const float *x, float *y, long n);
typedef void kstt__map_kernel(float *x, long n);
typedef void kstt__map_copy_kernel(float *dst, const float *src, long n);
typedef void kstt__bias_map_kernel(float *y, const float *b, long rows, long cols, long ld);
typedef void kstt__res_map_kernel(float *x, const float *u, const float *b, long rows, long cols);
typedef void kstt__attn_f32_kernel(const float *q, const float *k, const float *v, long ld, long s0,
                                   long n, long cap, int hd, float scale, float *scores,
                                   float *out);
typedef void kstt__attn_f16_kernel(const float *q, const uint16_t *k, const uint16_t *v, long ld,
                                   long s0, long n, long cap, int hd, float scale, float *scores,
                                   float *out);
typedef void kstt__attn_q8_kernel(const float *q, const int8_t *k, const float *ks, const int8_t *v,
                                  const float *vs, long ld, long s0, long n, long cap, int hd,
                                  float scale, float *scores, float *out);
typedef void kstt__f32_to_f16_kernel(const float *x, uint16_t *y, long n);
typedef void kstt__i8_row_kernel(const float *x, int8_t *q, float *d, long n);
typedef void kstt__silu_mul_kernel(const float *a, const float *b, float *out, long n);

/* The entries of one weight type at one level (a row of kstt__kernels.wt). */
typedef struct {
    kstt__matmul_kernel *matmul;     /* NULL: type not supported at this level */
    kstt__prepare_kernel *prepare_x; /* NULL: the products read x as given */
} kstt__wt_kernels;

/*
 * HOW LEVELS ARE MADE (the pattern every table file follows; ref/table_ref.c is the model)
 *
 * - One table file per level: <arch>/table_<level>.c defines `const kstt__kernels
 *   kstt__table_<variant>` with designated initializers listing EVERY entry, the fallbacks
 *   written out (an entry the level does not speed up names the reference or a lower level's
 *   kernel explicitly; nothing is inherited or patched at run time).
 * - .wt has one row per weight type: `.wt[KSTT_WT_Q8_0] = {kstt__matmul_q8_0_neon,
 *   kstt__prepare_x_q8_ref}`. Prepared activation layouts (kernels/qx.h) are one contract for
 *   all levels, so a level may pair its product with another level's preparation.
 * - .requires lists the KSTT_CPU_* features (kernels/cpu.h) the table's kernels execute. A
 *   level may have several variants (tables with the same .level and more .requires, e.g.
 *   AVX-512 with VNNI); the dispatcher takes the last one in the arch's list whose features
 *   the CPU has.
 * - Kernels are declared with the entry types above in one header per arch (ref/ref.h,
 *   x86/x86.h, arm/arm.h) and are named kstt__<op>_<suffix>, where the suffix is the file's
 *   ISA suffix (cmake/kernels.cmake gives *_avx2.c, *_avx512.c, *_neon.c, *_dotprod.c,
 *   *_i8mm.c their compiler flags).
 * - Each arch has one detection file (x86/cpu_x86.c, arm/cpu_arm.c) that defines
 *   kstt__cpu_arch (kernels/cpu.h): the feature bits found, a description, and its list of
 *   tables in increasing order. A new level = its kernel files + its table file + one line in
 *   that list; dispatch.c does not change.
 */
typedef struct kstt__kernels {
    kstt_kernels level;  /* the public level this table implements */
    const char *name;    /* the level's name for KSTT_KERNELS: "ref", "avx2", "neon", ... */
    const char *variant; /* the table's own name, e.g. "avx512-vnni" (== name if only one) */
    uint64_t requires;   /* KSTT_CPU_* bits the CPU must have (kernels/cpu.h) */
    kstt__wt_kernels wt[KSTT_WT_NTYPES];
    /* The load-time packed type this level's products want for each file type
     * (io/weights.h kstt__weights_mat_packed); unset (KSTT_WT_F32): the type's default packing
     * (quant/repack.h). A level that names one has products for it in .wt. */
    kstt__wtype pack[KSTT_WT_COUNT];
    kstt__dot_kernel *dot_f32;
    /* y += a * x */
    kstt__axpy_kernel *axpy_f32;
    /* An optional second bf16 product, NULL where the CPU lacks it: through vdpbf16ps (x
     * rounded to bf16 once per product: ~3 significant digits, not f32-exact). Model code never
     * uses it (wt[KSTT_WT_BF16] is the exact one: weights widened to f32, FMA); the bench and
     * the kernel tests measure it. Workspace: kstt__matmul_ws_size(KSTT_WT_BF16, ...). */
    kstt__matmul_kernel *matmul_bf16_dot;
    kstt__prepare_kernel *prepare_x_bf16_dot;

    /* Element-wise f32 activations (hot in convolutional encoders: an ELU on every activation).
     * The references are the libm forms (kstt__elu, kstt__gelu_erf); the vector versions are
     * within 2 ulp for exp/expm1, and GELU within 4e-7 |x| (erf by Abramowitz-Stegun 7.1.26).
     * Every implementation computes each element by the same arithmetic whatever n and the
     * element's position (tails are masked, not scalar), so splitting a call into pieces gives
     * the same bits. */
    /* x[n] = ELU(x) (alpha 1), in place */
    kstt__map_kernel *elu_f32;
    /* dst[n] = ELU(src[n]); dst and src do not overlap */
    kstt__map_copy_kernel *elu_copy_f32;
    /* y[t * ld + c] = ELU(y[t * ld + c] + b[c]) for t < rows, c < cols (ld >= cols; the
     * ld - cols floats after each row are not touched); b [cols] or NULL (no bias) */
    kstt__bias_map_kernel *bias_elu_f32;
    /* x[t, c] = ELU(x[t, c] + (u[t, c] + b[c])), x and u [rows, cols] packed; b [cols] or
     * NULL. A residual add fused with the activation that follows it. */
    kstt__res_map_kernel *res_elu_f32;
    /* x[n] = GELU(x), exact erf form 0.5 x (1 + erf(x / sqrt 2)), in place */
    kstt__map_kernel *gelu_f32;
    /* out[n] = a / (1 + exp(-a)) * b: the LM's gated feed-forward (reference kstt__silu_mul;
     * the vector versions through their 2-ulp exp). out may alias a or b. */
    kstt__silu_mul_kernel *silu_mul_f32;

    /* ---- ring attention (the Mimi transformer and the LM; ref/attn_ref.c, x86/attn_*.c) ------
     * One query head over n keys held in a ring of cap rows: key/value i (0 <= i < n) is row
     * (s0 + i) mod cap of k and v, rows ld elements apart, hd features at the row start (the
     * LM's head-major ring: ld = hd; Mimi's time-major cache: ld = model dim, k and v offset to
     * the head). out[hd] = sum_i softmax_i(scale * q.k_i) v_i, keys and values widened to f32
     * and every sum in f32. scores: scratch for n floats (left holding the unnormalised
     * weights). 1 <= n <= cap, s0 >= 0, ld >= hd; out overlaps no input. The vector levels
     * agree with the reference to f32 rounding (sums in another order, exp within 2 ulp). */
    kstt__attn_f32_kernel *attn_ring_f32;
    /* The same over IEEE half K and V (f16 KV ring: half the bytes per step). */
    kstt__attn_f16_kernel *attn_ring_f16;
    /* The same over int8 K and V rows with one f32 scale per row (the q8 KV ring: a quarter of
     * the bytes): key i is ks[r] * k[r], value i is vs[r] * v[r], r = (s0 + i) mod cap, the
     * scales of consecutive rows adjacent. Scores (q.k[r]) * ks[r] * scale, weights
     * e_i * vs[r] times the int8 row. */
    kstt__attn_q8_kernel *attn_ring_q8;
    /* y[n] = x[n] rounded to IEEE half, to nearest even (kstt__f32_to_f16 for every finite x:
     * the same bits at every level); y does not overlap x. Writes a step's keys and values. */
    kstt__f32_to_f16_kernel *f32_to_f16;
    /* q[n] and *d: x as one int8 row with its scale, the bits of kstt__quantize_i8_row
     * (quant/quant.h: amax / 127, nearest even, non-finite products 0) at every level. Writes
     * a step's keys and values into the q8 KV ring. */
    kstt__i8_row_kernel *quantize_i8_row;
} kstt__kernels;

/* The table for this CPU, capped by `cap` and by the KSTT_KERNELS environment variable
 * (ref|avx2|avx512 on x86-64, ref|neon|dotprod|i8mm on aarch64: a level's name). Static
 * storage, immutable. */
const kstt__kernels *kstt__kernels_get(kstt_kernels cap);
/* Every table this CPU can run, the variants of each level included, within the KSTT_KERNELS
 * cap: the reference first, then in the arch's order (at most max; returns the count). For
 * tests and benchmarks; model code takes kstt__kernels_get. */
int kstt__kernels_available(const kstt__kernels **out, int max);
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
/* KSTT_WT_BF16X (core/wtype.h): bf16 elements of the packed copy, and the packing: panel p
 * (rows 16p..16p+15) then block k (columns 32k..32k+31) is the 512 bf16 at
 * dst + (p * nblocks + k) * 512, element 32 j + 2 n + e = W[16p + n, 32k + 2j + e] rounded to
 * nearest even (zero past rows or cols). */
#define KSTT_BF16X_ROWS 16
size_t kstt__bf16x_elems(long rows, long cols);
void kstt__bf16x_pack(kstt__wmat *out, const float *w, long rows, long cols, long ldw,
                      uint16_t *dst);

/* Workspace bytes kstt__matmul needs for a product with this weight type and batch. The
 * workspace must be 64-byte aligned (kstt__alloc is) and at least this large. */
size_t kstt__matmul_ws_size(kstt__wtype type, long cols, int batch);

/* The driver: y = W x for `batch` activation rows, rows of W split across the pool. */
void kstt__matmul(kstt_pool *pool, const kstt__kernels *k, const kstt__wmat *w, const float *x,
                  long ldx, float *y, long ldy, int batch, const kstt__ws *ws);

/* ---- element-wise and small ops (scalar; not hot enough to dispatch) ------------------ *
 * kstt__elu, kstt__gelu_erf and kstt__silu_mul are also the reference entries elu_f32,
 * gelu_f32 and silu_mul_f32 of the table above; hot callers go through the table. */

/* y = x * alpha / sqrt(mean(x^2) + eps), in f32. x and y may alias. */
void kstt__rmsnorm(const float *x, const float *alpha, float eps, float *y, long n);
/* y = (x - mean) / sqrt(var + eps) * w + b (biased variance). x and y may alias. */
void kstt__layernorm(const float *x, const float *w, const float *b, float eps, float *y, long n);
/* Interleaved RoPE on heads of head_dim at position pos: pairs (2i, 2i+1) rotated by
 * pos * max_period^(-2i/head_dim), frequencies and angles in f32 as the reference does. In
 * two halves, so that the angles of a position are computed once for all the heads and layers
 * that rotate by them: the table (head_dim / 2 cosines and sines), then the rotation of
 * n_heads consecutive heads of x by it. */
void kstt__rope_table(int head_dim, int64_t pos, float max_period, float *cos_out, float *sin_out);
void kstt__rope_apply(float *x, int n_heads, int head_dim, const float *cos_in,
                      const float *sin_in);
/* In-place softmax over n values. */
void kstt__softmax(float *x, long n);
void kstt__elu(float *x, long n);      /* alpha 1 */
void kstt__gelu_erf(float *x, long n); /* exact erf form */
/* out[i] = silu(a[i]) * b[i] */
void kstt__silu_mul(const float *a, const float *b, float *out, long n);

#endif
