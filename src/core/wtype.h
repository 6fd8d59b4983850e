/*
 * Weight storage types, block layouts and the f16/bf16 conversions: the leaf header shared by
 * src/quant (quantise, dequantise, repack), src/io (file readers) and src/kernels (products).
 * It includes only libc headers, so the folders above it depend on it and not on each other:
 * quant/ never includes kernels/ (kernels/ includes quant/ for the block layouts it reads).
 *
 * The facts about each type (name, block size, bytes, conversions, packed relations) are one
 * row of the traits table in quant/quant.h (kstt__wtype_info); a kernel level's entries for a
 * type are one row of its table (kernels/kernels.h, kstt__kernels.wt).
 */
#ifndef KSTT_CORE_WTYPE_H
#define KSTT_CORE_WTYPE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    KSTT_WT_F32 = 0,
    KSTT_WT_BF16,
    KSTT_WT_F16,
    KSTT_WT_Q8_0, /* ggml block layouts (quant/quant.h) */
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
    /* Load-time repack of q8_0 for the x86 AMX products (quant/repack.h, "Q8_0X"): panels of
     * 16 rows, each block of a panel one 512-byte AMX tile in the VNNI layout next to its 16
     * scales. Only a level whose table asks for it (kstt__kernels.pack) gets it. */
    KSTT_WT_Q8_0X,
    /* bf16 weights for the x86 AMX-BF16 products (kernels.h, kstt__bf16x_pack; the Mimi
     * encoder's optional bf16 storage on a level that has them): panels of 16 rows, each block
     * of 32 columns one 1 KB tile in the VNNI pair layout, columns past `cols` zero. The
     * products round the activations to bf16 too (moshi-server's own precision), so they are
     * not the bits of KSTT_WT_BF16_PANEL. Never in files; rows are not addressable. */
    KSTT_WT_BF16X,
    KSTT_WT_NTYPES /* table size: file types + packed types */
} kstt__wtype;

/* How a weight type's products want the activations prepared (kstt__kernels.wt[t].prepare_x),
 * which sizes the caller's workspace (kstt__matmul_ws_size; layouts in kernels/qx.h). */
typedef enum {
    KSTT_ACT_F32 = 0, /* none: x is read as given */
    KSTT_ACT_Q8,      /* int8 blocks of 32 (kstt__qx) */
    KSTT_ACT_Q8T,     /* int8 blocks of 32, transposed per group of 16 blocks (kstt__qxt) */
    KSTT_ACT_BF16,    /* x rounded to bf16 (only the optional bf16_dot entry uses it) */
    KSTT_ACT_Q8A,     /* int8 blocks of 32, per block the rows of 16 batch rows (kstt__qxa) */
} kstt__act_layout;

/* A weight matrix [rows, cols]. data is borrowed (mmapped file or model-owned repack). For the
 * block types cols is a multiple of the block (32 for q8_0/q4_0, 256 for q4_K) and a row is
 * cols / block blocks (quant/quant.h); io/weights.h makes these from safetensors or GGUF. */
typedef struct {
    kstt__wtype type;
    int64_t rows, cols;
    size_t row_bytes; /* bytes from one row to the next */
    const void *data;
} kstt__wmat;

#define KSTT_QK8_0 32
#define KSTT_QK4_0 32
#define KSTT_QK_K 256

typedef struct {
    uint16_t d; /* f16 */
    int8_t qs[KSTT_QK8_0];
} kstt__block_q8_0;

typedef struct {
    uint16_t d;                 /* f16 */
    uint8_t qs[KSTT_QK4_0 / 2]; /* nibbles */
} kstt__block_q4_0;

typedef struct {
    uint16_t d;         /* f16 super-block scale of the sub-block scales */
    uint16_t dmin;      /* f16 super-block scale of the sub-block mins */
    uint8_t scales[12]; /* 8 x 6-bit scales and 8 x 6-bit mins, packed */
    uint8_t qs[KSTT_QK_K / 2];
} kstt__block_q4_K;

static_assert(sizeof(kstt__block_q8_0) == 34, "q8_0 block is 34 bytes");
static_assert(sizeof(kstt__block_q4_0) == 18, "q4_0 block is 18 bytes");
static_assert(sizeof(kstt__block_q4_K) == 144, "q4_K block is 144 bytes");

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
    if ((v.u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((v.u >> 16) | 0x40); /* NaN */
    v.u += 0x7fffu + ((v.u >> 16) & 1u);
    return (uint16_t)(v.u >> 16);
}
float kstt__f16_to_f32(uint16_t h);
uint16_t kstt__f32_to_f16(float f);

/* IEEE half <-> f32: exact widening; rounding to nearest even (overflow to inf, subnormals
 * kept). core/wtype.c. */
float kstt__f16_to_f32(uint16_t h);
uint16_t kstt__f32_to_f16(float f);

#endif
