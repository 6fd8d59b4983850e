/*
 * safetensors reader: the file is mmapped read-only and tensors point into the mapping, so a
 * bf16 LM is used in place without a copy. The header is validated completely at open (JSON
 * syntax, dtypes, shapes, offsets in range, sizes = product(shape) * dtype size, no overlaps),
 * so users of a tensor never re-check bounds. Every error names the file and the problem.
 *
 * Format: u64 little-endian header length N, N bytes of JSON {name: {"dtype", "shape",
 * "data_offsets": [begin, end)}, "__metadata__": {str: str}}, then the data block; offsets are
 * relative to the data block.
 */
#ifndef KSTT_IO_SAFETENSORS_H
#define KSTT_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "kstt.h"

typedef enum {
    KSTT_DT_F64,
    KSTT_DT_F32,
    KSTT_DT_F16,
    KSTT_DT_BF16,
    KSTT_DT_I64,
    KSTT_DT_I32,
    KSTT_DT_I16,
    KSTT_DT_I8,
    KSTT_DT_U64,
    KSTT_DT_U32,
    KSTT_DT_U16,
    KSTT_DT_U8,
    KSTT_DT_BOOL,
    KSTT_DT_COUNT
} kstt__dtype;

#define KSTT_ST_MAX_DIMS 8

typedef struct {
    const char *name; /* NUL-terminated, owned by the file */
    kstt__dtype dtype;
    int ndim;
    int64_t shape[KSTT_ST_MAX_DIMS];
    int64_t numel;
    const void *data; /* into the mapping; aligned as the file aligns it */
    size_t nbytes;
} kstt__tensor;

typedef struct kstt__st_file kstt__st_file;

/* Opens and validates a file (mmap). */
int kstt__st_open(kstt__st_file **out, const char *path, char *err, size_t errlen);
/* Parses a file image already in memory (borrowed; must outlive the handle). `name` is used in
 * error messages. This is what the fuzzer drives. */
int kstt__st_open_memory(kstt__st_file **out, const void *buf, size_t size, const char *name,
                         char *err, size_t errlen);
void kstt__st_close(kstt__st_file *f);

const char *kstt__st_path(const kstt__st_file *f);
size_t kstt__st_count(const kstt__st_file *f);
const kstt__tensor *kstt__st_at(const kstt__st_file *f, size_t i);
/* NULL when absent. */
const kstt__tensor *kstt__st_find(const kstt__st_file *f, const char *name);
/* Value of a __metadata__ key, or NULL. */
const char *kstt__st_metadata(const kstt__st_file *f, const char *key);
/* Number of __metadata__ entries. */
size_t kstt__st_metadata_count(const kstt__st_file *f);

const char *kstt__dtype_name(kstt__dtype t); /* "F32", "BF16", ... */
size_t kstt__dtype_size(kstt__dtype t);

/* Looks up `name` and checks its shape: ndim dims given in `shape` (-1 = any size). Errors
 * (missing key, wrong rank or size) name the file, the tensor and the expected/actual shape. */
int kstt__st_get(const kstt__st_file *f, const char *name, int ndim, const int64_t *shape,
                 const kstt__tensor **out, char *err, size_t errlen);

/* Converts a tensor of any float dtype (F32, F16, BF16, F64) to f32 into dst (numel floats).
 * Errors on non-float dtypes. */
int kstt__st_to_f32(const kstt__st_file *f, const kstt__tensor *t, float *dst, char *err,
                    size_t errlen);

/* Writer (generators, `kstt codes --format safetensors`, tests): collects tensors then writes
 * the file as the Python writer does: the header (sorted names within each element size,
 * `__metadata__` first) padded with spaces to a multiple of 8 bytes, then the data back to back,
 * largest element size first, so offsets are contiguous and each tensor is aligned to its
 * element size. Add/set return KSTT_EINVAL (bad arguments), KSTT_ERANGE (size overflow) or
 * KSTT_ENOMEM; duplicate names are reported by save. */
typedef struct kstt__st_writer kstt__st_writer;
int kstt__st_writer_new(kstt__st_writer **out);
/* data is copied. */
int kstt__st_writer_add(kstt__st_writer *w, const char *name, kstt__dtype dtype, int ndim,
                        const int64_t *shape, const void *data);
/* Sets a __metadata__ string (replacing an earlier value of the same key). */
int kstt__st_writer_set_metadata(kstt__st_writer *w, const char *key, const char *value);
int kstt__st_writer_save(kstt__st_writer *w, const char *path, char *err, size_t errlen);
void kstt__st_writer_free(kstt__st_writer *w);

#endif
