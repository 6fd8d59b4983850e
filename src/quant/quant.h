/*
 * Block-quantised weight formats, byte-compatible with ggml's published layouts so that GGUF
 * files written here are readable by GGUF tools and vice versa:
 *   q8_0: blocks of 32: f16 scale d, 32 int8 q;              value = d * q
 *   q4_0: blocks of 32: f16 scale d, 16 bytes of nibbles;    value = d * (q - 8)
 *         byte j holds element j (low nibble) and element j + 16 (high nibble)
 *   q4_K: super-blocks of 256 = 8 sub-blocks of 32: f16 d, f16 dmin, 12 bytes of packed 6-bit
 *         sub-block scales sc[8] and mins m[8], 128 bytes of nibbles;
 *         value = d * sc[j] * q - dmin * m[j] for an element of sub-block j
 *         (64-element chunk c: byte 32c + l holds element 64c + l low, 64c + 32 + l high)
 * Rows are whole blocks: a row of `cols` elements is cols / block_elems blocks back to back,
 * so cols must be a multiple of the block size. Quantisation is deterministic and allocation
 * free; all functions are thread-safe.
 */
#ifndef KSTT_QUANT_QUANT_H
#define KSTT_QUANT_QUANT_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wtype.h"

/* One row per weight type: everything the library knows about a storage type, in one place
 * (quant.c, kstt__wtypes). File types convert to and from f32; packed types (made at load,
 * quant/repack.h and kernels.h) are tile-addressed and have neither. */
typedef struct {
    const char *name;        /* "f32", "bf16", "f16", "q8_0", "q4_0", "q4_k"; packed: "q8_0r"... */
    int block_elems;         /* elements per block (1 for F32/BF16/F16); 0 for packed types */
    size_t block_bytes;      /* bytes per block; 0 for packed types */
    kstt__wtype file_type;   /* the file type a packed type is made from; itself otherwise */
    kstt__wtype packed_type; /* the load-time repack of a file type; itself when it has none */
    kstt__act_layout act;    /* activation preparation of its products (workspace size) */
    /* dequantise / quantise n elements (a multiple of block_elems); NULL for packed types */
    void (*to_f32)(const void *src, float *y, int64_t n);
    void (*from_f32)(const float *x, void *dst, int64_t n);
} kstt__wtype_traits;

/* The row of type t (t < KSTT_WT_NTYPES; any other value gives a row of zeros named "?"). */
const kstt__wtype_traits *kstt__wtype_info(kstt__wtype t);

/* Shorthands over the traits: elements and bytes per block (0 for packed or invalid types),
 * bytes of a row of `cols` elements (0 if cols is not a multiple of the block size). */
int kstt__wtype_block_elems(kstt__wtype t);
size_t kstt__wtype_block_bytes(kstt__wtype t);
size_t kstt__wtype_row_bytes(kstt__wtype t, int64_t cols);
/* "f32", "bf16", "f16", "q8_0", "q4_0", "q4_k"; and back for the file types (-1 when
 * unknown; "q4_K" accepted). */
const char *kstt__wtype_name(kstt__wtype t);
int kstt__wtype_from_name(const char *s);

/* Quantise n floats (n a multiple of the block size) into blocks at dst. q8_0 and q4_0 pick
 * each block's scale by a search for the lowest squared error (stored scale rounded to f16
 * included), which is never worse than the max-based scale of the _maxscale variants: the
 * published ggml reference rounding (q8_0 d = max|x| / 127; q4_0 d = extreme / -8), kept for
 * tests and for measuring what the search buys. */
void kstt__quantize_q8_0(const float *x, void *dst, int64_t n);
void kstt__quantize_q4_0(const float *x, void *dst, int64_t n);
void kstt__quantize_q8_0_maxscale(const float *x, void *dst, int64_t n);
void kstt__quantize_q4_0_maxscale(const float *x, void *dst, int64_t n);
void kstt__quantize_q4_K(const float *x, void *dst, int64_t n);
/* One int8 row with one f32 scale (KSTT_WT_I8S rows, the q8 KV ring): *d = max|x| / 127,
 * q[i] = x[i] * (127 / max|x|) rounded to nearest even (0 for a zero row, and where x or
 * max|x| is not finite). */
void kstt__quantize_i8_row(const float *x, int8_t *q, float *d, int64_t n);
/* Quantise a row of n floats to any weight type (F32/BF16/F16 convert). */
void kstt__quantize_row(kstt__wtype t, const float *x, void *dst, int64_t n);

/* Dequantise n elements (a multiple of the block size) starting at the first block of src. */
void kstt__dequantize_row(kstt__wtype t, const void *src, float *y, int64_t n);

/* Row r of a weight matrix as f32 (cols floats): embedding lookups and tests. */
void kstt__wmat_row_f32(const kstt__wmat *w, int64_t r, float *dst);

/* q4_K 6-bit scale/min j (0..7) of a packed scales[12]. */
static inline void kstt__q4k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

#endif
