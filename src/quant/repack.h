/*
 * Load-time repacking of q8_0 / q4_0 weight matrices into the packed types KSTT_WT_Q8_0R /
 * KSTT_WT_Q4_0R (kernels/kernels.h). The ggml blocks interleave a 2-byte f16 scale with every
 * 32 or 16 bytes of quants: 34- and 18-byte strides, loads that straddle cache lines, two
 * half-used streams per tile of two rows, and one f32 scaling per pair of blocks. The packed
 * layout keeps exactly the same quants and f16 scales (dequantised values are identical) but
 * orders them as the kernels read them:
 *
 *   tile t = rows 2t and 2t+1 (slot 0 and 1; a missing last row is zero), tiles back to back,
 *   tile = G groups of 16 blocks (G = ceil(cols / 512)), group g:
 *     bytes  0..31   f16 scales of blocks 16g..16g+15 of slot 0
 *     bytes 32..63   the same for slot 1
 *     then 64-byte registers, slot 0 then slot 1, in which int32 lane l (bytes 4l..4l+3)
 *     holds 4 consecutive elements of block 16g + l:
 *       q8_0R  register m = 0..7: elements 4m..4m+3 of each block (group 64 + 1024 bytes)
 *       q4_0R  register c = 0..3: elements 8c..8c+3 in the low nibbles, 8c+4..8c+7 in the high
 *              nibbles (group 64 + 512 bytes)
 *       q4_KR  as q4_0R; a group is two super-blocks, and the 32 header bytes of a slot are the
 *              two super-blocks' f16 d, f16 dmin and 12 bytes of packed 6-bit scales and mins
 *              (16 bytes each, unchanged) in place of the 16 f16 scales
 *   blocks past the end of the row (cols not a multiple of 512) have zero quants and scales.
 *
 * So a tile is one sequential stream of aligned cache lines, the 16 scales of a row's group
 * come with one 32-byte load, and with the activations in the matching order (kernels/qx.h,
 * kstt__qxt) a vpdpbusd accumulates a whole block per int32 lane: one f32 scaling per 16
 * blocks. The row count and cols are unchanged; row_bytes of the packed matrix is the bytes of
 * one tile (two rows).
 */
#ifndef KSTT_QUANT_REPACK_H
#define KSTT_QUANT_REPACK_H

#include <stddef.h>
#include <stdint.h>

#include "core/wtype.h"

#define KSTT_RP_GROUP 16 /* blocks of 32 per group */

/* Q8_0X, the layout of the x86 AMX products (a level asks for it through kstt__kernels.pack;
 * no other code makes it): panel p = rows 16p..16p+15 (rows past the end zero), panels
 * row_bytes apart, a panel = ceil(nb / 2) pairs of blocks (nb = cols / 32; a missing last
 * block zero), pair q = blocks 2q and 2q+1 in 1088 bytes:
 *     bytes   0..31     f16 scales of block 2q of the panel's rows 0..15
 *     bytes  32..63     the same for block 2q+1
 *     bytes  64..575    block 2q's quants as one AMX B tile (8 rows of 64 bytes, the VNNI
 *                       layout): byte 64 + 64 k + 4 n + i = element 4k + i of row n
 *     bytes 576..1087   the same for block 2q+1
 * so a block of 16 rows is one tileloadd of 512 contiguous bytes, its 16 scales one 32-byte
 * load, and a panel one sequential stream. Same quants and scales as the file. */
#define KSTT_RPX_ROWS 16
#define KSTT_RPX_PAIR_BYTES 1088
static inline size_t kstt__rpx_panel_bytes(long cols) {
    return (size_t)((cols / 32 + 1) / 2) * KSTT_RPX_PAIR_BYTES;
}

/* The packed type of a file type (Q8_0 -> Q8_0R, Q4_0 -> Q4_0R, Q4_K -> Q4_KR), or t itself
 * when it has none: the default packing. */
kstt__wtype kstt__repack_type(kstt__wtype t);
/* The packed type for a file type t given a level's wishes (pack: KSTT_WT_COUNT entries,
 * kstt__kernels.pack; NULL or an unset KSTT_WT_F32 entry: the default kstt__repack_type). */
kstt__wtype kstt__repack_choose(const kstt__wtype *pack, kstt__wtype t);
/* kstt__repack_bytes / _rows / _view into a given packed type of src's file type (Q8_0X from
 * Q8_0, or the default packed type; anything else: no packing, bytes 0). */
size_t kstt__repack_bytes_as(const kstt__wmat *src, kstt__wtype packed);
void kstt__repack_rows_as(const kstt__wmat *src, kstt__wtype packed, void *dst, int64_t r0,
                          int64_t r1);
void kstt__repack_view_as(const kstt__wmat *src, kstt__wtype packed, void *dst, kstt__wmat *out);
/* The inverse: the file type a packed type was made from, or t itself. */
kstt__wtype kstt__repack_file_type(kstt__wtype t);
/* Bytes of the packed copy of src (a multiple of 64); 0 when src's type has no packed type. */
size_t kstt__repack_bytes(const kstt__wmat *src);
/* Writes the packed copy of src to dst (64-byte aligned, kstt__repack_bytes(src) bytes) and
 * describes it in *out (out->data = dst). src must have a packed type. kstt__repack_rows packs
 * rows [r0, r1) only (r0 even, r1 even or src->rows; for Q8_0X multiples of 16 or src->rows), so
 * that a loader can pack in slices and release each slice's source pages. */
void kstt__repack(const kstt__wmat *src, void *dst, kstt__wmat *out);
void kstt__repack_rows(const kstt__wmat *src, void *dst, int64_t r0, int64_t r1);
/* Only the description of the packed copy of src at dst (after kstt__repack_rows). */
void kstt__repack_view(const kstt__wmat *src, void *dst, kstt__wmat *out);
/* Row r of a packed matrix (any packed type, Q8_0X included) as f32 (cols floats): the
 * round-trip check. */
void kstt__repack_row_f32(const kstt__wmat *w, int64_t r, float *dst);

/* Addressing of the packed layout, shared by the repacker and every kernel level. */
static inline size_t kstt__rp_group_bytes(kstt__wtype t) {
    return t == KSTT_WT_Q8_0R ? 64 + 1024 : 64 + 512;
}
static inline long kstt__rp_groups(long cols) {
    return (cols / 32 + KSTT_RP_GROUP - 1) / KSTT_RP_GROUP;
}
/* the group g of row r: its first byte (the scales of slot 0) */
static inline const unsigned char *kstt__rp_group(const kstt__wmat *w, long r, long g) {
    return (const unsigned char *)w->data + (size_t)(r >> 1) * w->row_bytes +
           (size_t)g * kstt__rp_group_bytes(w->type);
}

/* Byte offset in a group of element e (0..31) of block j (0..15) of slot s; *high: the high
 * nibble (q4_0R). */
static inline size_t kstt__rp_q_offset(kstt__wtype t, int s, int j, int e, int *high) {
    if (t == KSTT_WT_Q8_0R) {
        *high = 0;
        return 64 + 128 * (size_t)(e / 4) + 64 * (size_t)s + 4 * (size_t)j + (size_t)(e % 4);
    }
    *high = (e % 8) >= 4;
    return 64 + 128 * (size_t)(e / 8) + 64 * (size_t)s + 4 * (size_t)j + (size_t)(e % 4);
}

#endif
