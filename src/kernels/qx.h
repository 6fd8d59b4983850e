/*
 * Activations quantised to 8 bits for the block-quantised products (q8_0, q4_0, q4_K), as
 * written by every level's prepare_x and read by its matmul. One layout for all levels, so a
 * level may override the product and keep the reference preparation (or the reverse).
 *
 * Per batch row b, at ws->buf + b * kstt__qx_row_bytes(cols), for nb = cols / 32 blocks:
 *   uint8_t u[nb * 32]   q + 128, q = lrintf(x * 127 / max|x| of the block) in [-127, 127]
 *   float   dv[nb * 8]   the block scale d = max|x| / 127, repeated 8 times per block (a
 *                        512-bit register of two blocks' int32 lane sums scales with one load)
 *   float   sx[nb]       d * sum(q): the block's sum of dequantised x (q4_K mins)
 *   int32_t ci[nb * 8]   -sum(q), repeated 8 times per block: started from it, vpdpbusd of
 *                        unsigned nibbles with signed x gives sum((nibble - 8) * q) over the
 *                        block's 8 lanes (q4_0 without unpacking to signed weights)
 * each array 64-byte aligned. vpdpbusd multiplies unsigned by signed bytes: q8_0 kernels use u
 * and subtract 128 * sum(w) per block (computed once per weight block, shared by the batch);
 * the q4 kernels use the nibbles as the unsigned side and u ^ 0x80 = q as the signed side.
 */
#ifndef KSTT_KERNELS_QX_H
#define KSTT_KERNELS_QX_H

#include <stddef.h>
#include <stdint.h>

#define KSTT__A64(n) (((size_t)(n) + 63) & ~(size_t)63)

static inline size_t kstt__qx_row_bytes(long cols) {
    const size_t nb = (size_t)cols / 32;
    return KSTT__A64(nb * 32) + KSTT__A64(nb * 32) + KSTT__A64(nb * 4) + KSTT__A64(nb * 32);
}

typedef struct {
    uint8_t *u;
    float *dv;
    float *sx;
    int32_t *ci;
} kstt__qx;

static inline kstt__qx kstt__qx_at(void *buf, long cols, int b) {
    const size_t nb = (size_t)cols / 32;
    unsigned char *p = (unsigned char *)buf + (size_t)b * kstt__qx_row_bytes(cols);
    kstt__qx q;
    q.u = p;
    q.dv = (float *)(p + KSTT__A64(nb * 32));
    q.sx = (float *)(p + KSTT__A64(nb * 32) + KSTT__A64(nb * 32));
    q.ci = (int32_t *)(p + KSTT__A64(nb * 32) + KSTT__A64(nb * 32) + KSTT__A64(nb * 4));
    return q;
}

/* bf16 activations for the vdpbf16ps product: batch rows of KSTT__A64(cols * 2) bytes. */
static inline size_t kstt__bx_row_bytes(long cols) {
    return KSTT__A64((size_t)cols * 2);
}

/* The transposed activation layout of the packed weight types (quant/repack.h), written by
 * their prepare_x: the same quantisation as above (same q and d, bit for bit), arranged per
 * group of 16 blocks so that one 512-bit register holds 4 consecutive elements of each of the
 * 16 blocks: a vpdpbusd then sums one block per int32 lane, the 8 registers of a group add up
 * in the same lanes, and the per-block f32 scaling is done once per 16 blocks, not per pair.
 * Per batch row b, at ws->buf + b * kstt__qxt_row_bytes(cols), G = ceil(cols / 512) groups of
 * 768 bytes each:
 *   int8_t  q[8][16][4]   q[m][l][i] = q of element 4m + i of block 16g + l (signed)
 *   float   d[16]         block scales
 *   int32_t c8[16]        -8 * sum(q) of each block (start of the q4_0 products: nibble - 8)
 *   int32_t c128[16]      -128 * sum(q) (start of q8_0 products with the weights biased +128)
 *   float   sx[16]        d * sum(q): the block's sum of dequantised x (q4_K mins)
 * blocks past the end of the row are zero in every array. */
#define KSTT__QXT_GROUP_BYTES 768

static inline size_t kstt__qxt_row_bytes(long cols) {
    return (size_t)((cols / 32 + 15) / 16) * KSTT__QXT_GROUP_BYTES;
}

typedef struct {
    int8_t *q;
    float *d;
    int32_t *c8, *c128;
    float *sx;
} kstt__qxt;

/* group g of batch row b */
static inline kstt__qxt kstt__qxt_at(void *buf, long cols, int b, long g) {
    unsigned char *p = (unsigned char *)buf + (size_t)b * kstt__qxt_row_bytes(cols) +
                       (size_t)g * KSTT__QXT_GROUP_BYTES;
    kstt__qxt q;
    q.q = (int8_t *)p;
    q.d = (float *)(p + 512);
    q.c8 = (int32_t *)(p + 576);
    q.c128 = (int32_t *)(p + 640);
    q.sx = (float *)(p + 704);
    return q;
}

/* The activation layout of the AMX products (KSTT_WT_Q8_0X, x86/q8_amx.c): the same
 * quantisation as above (same q and d, bit for bit), arranged as AMX A tiles. Batch rows in
 * chunks of 16 (chunk c = rows 16c..16c+15), a chunk = nb blocks of 576 bytes, block k:
 *   int8_t  q[16][32]   q[b][e] = q of element e of block k of batch row 16c + b (signed)
 *   float   d[16]       block k's scale of each batch row
 * (a batch of up to 16 fills only its rows, the tiles having exactly those; above 16 the rows
 * past the batch in the last chunk are zero, the tiles having 16). */
#define KSTT__QXA_ROWS 16
#define KSTT__QXA_BLOCK_BYTES 576

static inline size_t kstt__qxa_chunk_bytes(long cols) {
    return (size_t)(cols / 32) * KSTT__QXA_BLOCK_BYTES;
}

static inline size_t kstt__qxa_bytes(long cols, int batch) {
    return (size_t)((batch + KSTT__QXA_ROWS - 1) / KSTT__QXA_ROWS) * kstt__qxa_chunk_bytes(cols);
}

#endif
