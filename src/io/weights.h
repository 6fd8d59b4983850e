/*
 * One view over a weights file of either format: safetensors (bf16/f16/f32 tensors) or GGUF
 * (the same tensor names, 2-D matmul weights possibly block-quantised). The format is chosen
 * by the file's first bytes ("GGUF"), not its name. Model loaders ask for matrices and small
 * f32 vectors by name and never see the format:
 *     kstt__weights *w;  kstt__weights_open(&w, path, err, errlen);
 *     kstt__wmat m;      kstt__weights_mat(w, "text_linear.weight", 8000, 2048, &m, err, errlen);
 *     float alpha[2048]; kstt__weights_f32(w, "out_norm.alpha", 2048, alpha, err, errlen);
 * Matrices point into the mapping or into packed copies owned by w (borrowed until
 * kstt__weights_close); embedding rows of any file type come out with kstt__wmat_row_f32
 * (quant/quant.h).
 */
#ifndef KSTT_IO_WEIGHTS_H
#define KSTT_IO_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "io/gguf.h"
#include "io/safetensors.h"
#include "kernels/kernels.h"

typedef struct kstt__weights kstt__weights;

/* Opens a .safetensors or .gguf file (mmap, fully validated). Owned: kstt__weights_close. */
int kstt__weights_open(kstt__weights **out, const char *path, char *err, size_t errlen);
void kstt__weights_close(kstt__weights *w);

const char *kstt__weights_path(const kstt__weights *w);
/* The underlying file: exactly one is non-NULL. */
const kstt__st_file *kstt__weights_st(const kstt__weights *w);
const kstt__gguf *kstt__weights_gguf(const kstt__weights *w);

/* 1 when a tensor of that name exists. */
int kstt__weights_has(const kstt__weights *w, const char *name);
/* Rank and row-major shape (up to 8 dims); KSTT_ENOTFOUND when absent. */
int kstt__weights_shape(const kstt__weights *w, const char *name, int *ndim, int64_t *shape);

/* A 2-D tensor as a weight matrix of any supported type (rows/cols -1: any). Errors name the
 * file, tensor and expected/actual shape or the unsupported dtype. */
int kstt__weights_mat(const kstt__weights *w, const char *name, int64_t rows, int64_t cols,
                      kstt__wmat *out, char *err, size_t errlen);
/* kstt__weights_mat for a matrix used only in products (kstt__matmul, never
 * kstt__wmat_row_f32): a q8_0 / q4_0 matrix is repacked into its load-time layout
 * (quant/repack.h: the same quants and scales, dequantised values identical, faster products),
 * a copy owned by w until kstt__weights_close; the mapped pages it came from are released as
 * it is made, so resident memory stays near the file size. Other types are returned as
 * kstt__weights_mat returns them. pack (NULL: defaults) has KSTT_WT_COUNT entries: the packed
 * type wanted for each file type (a kernel level's kstt__kernels.pack; KSTT_WT_F32 = the
 * type's default packing). Not thread-safe with other calls on w (a loader's call). */
int kstt__weights_mat_packed(const kstt__weights *w, const char *name, int64_t rows, int64_t cols,
                             const kstt__wtype *pack, kstt__wmat *out, char *err, size_t errlen);
/* A tensor of exactly n elements (any shape, e.g. [D] or [1, 1, D]) converted to f32. */
int kstt__weights_f32(const kstt__weights *w, const char *name, int64_t n, float *dst, char *err,
                      size_t errlen);

#endif
