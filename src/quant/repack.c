/*
 * The load-time repack of q8_0 / q4_0 matrices (layout in repack.h). Pure byte moves: every
 * quant and every f16 scale is copied unchanged, so a packed matrix dequantises to exactly the
 * values of its source, and the products' integer dots and scales are the same numbers.
 */
#include "quant/repack.h"

#include <string.h>

#include "quant/quant.h"

kstt__wtype kstt__repack_type(kstt__wtype t) {
    return (unsigned)t < KSTT_WT_COUNT ? kstt__wtype_info(t)->packed_type : t;
}

kstt__wtype kstt__repack_file_type(kstt__wtype t) {
    return t >= KSTT_WT_COUNT && t < KSTT_WT_NTYPES ? kstt__wtype_info(t)->file_type : t;
}

static size_t tile_bytes(kstt__wtype packed, long cols) {
    return (size_t)kstt__rp_groups(cols) * kstt__rp_group_bytes(packed);
}

/* The packing of src into `packed` that is possible: Q8_0X from Q8_0, else the default. */
static kstt__wtype target(const kstt__wmat *src, kstt__wtype packed) {
    if (packed == KSTT_WT_Q8_0X && src->type == KSTT_WT_Q8_0)
        return packed;
    return kstt__repack_type(src->type);
}

kstt__wtype kstt__repack_choose(const kstt__wtype *pack, kstt__wtype t) {
    if (pack && (unsigned)t < KSTT_WT_COUNT && pack[t] != KSTT_WT_F32)
        return pack[t];
    return kstt__repack_type(t);
}

size_t kstt__repack_bytes(const kstt__wmat *src) {
    return kstt__repack_bytes_as(src, kstt__repack_type(src->type));
}

size_t kstt__repack_bytes_as(const kstt__wmat *src, kstt__wtype packed) {
    const kstt__wtype p = target(src, packed);
    if (p == src->type)
        return 0;
    if (p == KSTT_WT_Q8_0X)
        return (size_t)((src->rows + KSTT_RPX_ROWS - 1) / KSTT_RPX_ROWS) *
               kstt__rpx_panel_bytes((long)src->cols);
    return (size_t)((src->rows + 1) / 2) * tile_bytes(p, (long)src->cols);
}

/* Rows [r0, r1) of a q8_0 matrix into Q8_0X panels (r0 a multiple of 16). */
static void pack_rows_x(const kstt__wmat *src, void *dst, int64_t r0, int64_t r1) {
    const long nb = (long)src->cols / 32;
    const size_t pb = kstt__rpx_panel_bytes((long)src->cols);
    const int64_t p0 = r0 / KSTT_RPX_ROWS, p1 = (r1 + KSTT_RPX_ROWS - 1) / KSTT_RPX_ROWS;
    memset((unsigned char *)dst + (size_t)p0 * pb, 0, (size_t)(p1 - p0) * pb);
    for (int64_t r = r0; r < r1 && r < src->rows; r++) {
        const int n = (int)(r % KSTT_RPX_ROWS);
        unsigned char *panel = (unsigned char *)dst + (size_t)(r / KSTT_RPX_ROWS) * pb;
        const kstt__block_q8_0 *row = (const kstt__block_q8_0 *)((const unsigned char *)src->data +
                                                                 (size_t)r * src->row_bytes);
        for (long k = 0; k < nb; k++) {
            unsigned char *pair = panel + (size_t)(k / 2) * KSTT_RPX_PAIR_BYTES;
            memcpy(pair + 32 * (k & 1) + 2 * n, &row[k].d, 2);
            unsigned char *q = pair + 64 + 512 * (k & 1);
            for (int e = 0; e < 32; e++)
                q[64 * (e / 4) + 4 * n + e % 4] = (unsigned char)row[k].qs[e];
        }
    }
}

/* One source row into its slot of the packed tiles (the tile's bytes zeroed beforehand). */
static void pack_row(const kstt__wmat *src, void *dst, long r) {
    const kstt__wtype p = kstt__repack_type(src->type);
    const long cols = (long)src->cols, nb = cols / 32;
    const int slot = (int)(r & 1);
    const size_t gb = kstt__rp_group_bytes(p);
    unsigned char *tile = (unsigned char *)dst + (size_t)(r >> 1) * tile_bytes(p, cols);
    const unsigned char *row = (const unsigned char *)src->data + (size_t)r * src->row_bytes;
    for (long k = 0; k < nb; k++) {
        unsigned char *grp = tile + (size_t)(k / KSTT_RP_GROUP) * gb;
        const int j = (int)(k % KSTT_RP_GROUP); /* block within the group */
        int high;
        if (src->type == KSTT_WT_Q8_0) {
            const kstt__block_q8_0 *b = (const kstt__block_q8_0 *)row + k;
            memcpy(grp + 32 * slot + 2 * j, &b->d, 2);
            for (int e = 0; e < 32; e++)
                grp[kstt__rp_q_offset(p, slot, j, e, &high)] = (unsigned char)b->qs[e];
        } else if (src->type == KSTT_WT_Q4_K) {
            const kstt__block_q4_K *b = (const kstt__block_q4_K *)row + k / 8;
            const int sj = (int)(k % 8); /* sub-block of the super-block */
            if (sj == 0)
                memcpy(grp + 32 * slot + 16 * (j / 8), b, 16); /* d, dmin, scales */
            for (int e = 0; e < 32; e++) {
                /* ggml: byte 32 (sj / 2) + e, low nibble for an even sj, high for odd */
                const int q = (b->qs[32 * (sj / 2) + e] >> (4 * (sj & 1))) & 0xF;
                unsigned char *o = grp + kstt__rp_q_offset(p, slot, j, e, &high);
                *o = (unsigned char)(high ? (*o & 0x0F) | (q << 4) : (*o & 0xF0) | q);
            }
        } else {
            const kstt__block_q4_0 *b = (const kstt__block_q4_0 *)row + k;
            memcpy(grp + 32 * slot + 2 * j, &b->d, 2);
            for (int e = 0; e < 32; e++) {
                /* ggml: byte e holds element e (low) and e + 16 (high) */
                const int q = e < 16 ? b->qs[e] & 0xF : b->qs[e - 16] >> 4;
                unsigned char *o = grp + kstt__rp_q_offset(p, slot, j, e, &high);
                *o = (unsigned char)(high ? (*o & 0x0F) | (q << 4) : (*o & 0xF0) | q);
            }
        }
    }
}

void kstt__repack_rows(const kstt__wmat *src, void *dst, int64_t r0, int64_t r1) {
    kstt__repack_rows_as(src, kstt__repack_type(src->type), dst, r0, r1);
}

void kstt__repack_rows_as(const kstt__wmat *src, kstt__wtype packed, void *dst, int64_t r0,
                          int64_t r1) {
    const kstt__wtype p = target(src, packed);
    if (p == KSTT_WT_Q8_0X) {
        pack_rows_x(src, dst, r0, r1);
        return;
    }
    const size_t tb = tile_bytes(p, (long)src->cols);
    const int64_t t0 = r0 / 2, t1 = (r1 + 1) / 2;
    memset((unsigned char *)dst + (size_t)t0 * tb, 0, (size_t)(t1 - t0) * tb);
    for (int64_t r = 2 * t0; r < r1 && r < src->rows; r++)
        pack_row(src, dst, (long)r);
}

void kstt__repack(const kstt__wmat *src, void *dst, kstt__wmat *out) {
    kstt__repack_rows(src, dst, 0, src->rows);
    kstt__repack_view(src, dst, out);
}

void kstt__repack_view(const kstt__wmat *src, void *dst, kstt__wmat *out) {
    kstt__repack_view_as(src, kstt__repack_type(src->type), dst, out);
}

void kstt__repack_view_as(const kstt__wmat *src, kstt__wtype packed, void *dst, kstt__wmat *out) {
    out->type = target(src, packed);
    out->rows = src->rows;
    out->cols = src->cols;
    out->row_bytes = out->type == KSTT_WT_Q8_0X ? kstt__rpx_panel_bytes((long)src->cols)
                                                : tile_bytes(out->type, (long)src->cols);
    out->data = dst;
}

void kstt__repack_row_f32(const kstt__wmat *w, int64_t r, float *dst) {
    const long nb = (long)w->cols / 32;
    if (w->type == KSTT_WT_Q8_0X) {
        const int n = (int)(r % KSTT_RPX_ROWS);
        const unsigned char *panel =
            (const unsigned char *)w->data + (size_t)(r / KSTT_RPX_ROWS) * w->row_bytes;
        for (long k = 0; k < nb; k++) {
            const unsigned char *pair = panel + (size_t)(k / 2) * KSTT_RPX_PAIR_BYTES;
            uint16_t h;
            memcpy(&h, pair + 32 * (k & 1) + 2 * n, 2);
            const float d = kstt__f16_to_f32(h);
            const unsigned char *q = pair + 64 + 512 * (k & 1);
            for (int e = 0; e < 32; e++)
                dst[32 * k + e] = d * (float)(int8_t)q[64 * (e / 4) + 4 * n + e % 4];
        }
        return;
    }
    const int slot = (int)(r & 1);
    for (long k = 0; k < nb; k++) {
        const unsigned char *grp = kstt__rp_group(w, (long)r, k / KSTT_RP_GROUP);
        const int j = (int)(k % KSTT_RP_GROUP);
        float d, mn = 0.0f;
        uint16_t h;
        if (w->type == KSTT_WT_Q4_KR) {
            /* d * sc - dmin * m, as quant.c dequantises q4_K */
            const unsigned char *hd = grp + 32 * slot + 16 * (j / 8);
            uint16_t hmin;
            uint8_t sc, m;
            memcpy(&h, hd, 2);
            memcpy(&hmin, hd + 2, 2);
            kstt__q4k_scale_min(j % 8, hd + 4, &sc, &m);
            d = kstt__f16_to_f32(h) * (float)sc;
            mn = kstt__f16_to_f32(hmin) * (float)m;
        } else {
            memcpy(&h, grp + 32 * slot + 2 * j, 2);
            d = kstt__f16_to_f32(h);
        }
        for (int e = 0; e < 32; e++) {
            int high;
            const unsigned char v = grp[kstt__rp_q_offset(w->type, slot, j, e, &high)];
            if (w->type == KSTT_WT_Q8_0R) {
                dst[32 * k + e] = d * (float)(int8_t)v;
            } else if (w->type == KSTT_WT_Q4_0R) {
                dst[32 * k + e] = d * (float)((high ? v >> 4 : v & 0xF) - 8);
            } else {
                dst[32 * k + e] = d * (float)(high ? v >> 4 : v & 0xF) - mn;
            }
        }
    }
}
