/*
 * GGUF v3 reader and writer (the llama.cpp/ggml weights format), for block-quantised LM
 * weights. The reader mmaps the file read-only and validates it completely at open, like the
 * safetensors reader: magic and version, counts against the file size, every string and
 * metadata value inside the file, known value types, array nesting depth, general.alignment a
 * power of two, per tensor: rank 1..4, dims >= 1, a supported ggml type whose block size
 * divides the row length, byte size without overflow, offset aligned and the data inside the
 * data section, no duplicate names, no overlapping tensors. After that, users never re-check
 * bounds. Every error names the file and the problem.
 *
 * Layout: "GGUF", u32 version (3), u64 tensor count, u64 metadata count, the metadata
 * (key string, u32 value type, value), the tensor infos (name string, u32 n_dims, u64 ne[n_dims]
 * with ne[0] the row length, u32 ggml type, u64 offset into the data section), padding to the
 * alignment (general.alignment, default 32), the data section. Strings are u64 length + bytes.
 *
 * Shapes here are row-major like safetensors and PyTorch (shape[0] outermost): the reverse of
 * the file's ne order. A torch [rows, cols] weight is ne = [cols, rows] in the file.
 */
#ifndef KSTT_IO_GGUF_H
#define KSTT_IO_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

#define KSTT_GGUF_MAX_DIMS 4

/* ggml type ids of the types kstt reads and writes */
enum {
    KSTT_GGML_F32 = 0,
    KSTT_GGML_F16 = 1,
    KSTT_GGML_Q4_0 = 2,
    KSTT_GGML_Q8_0 = 8,
    KSTT_GGML_Q4_K = 12,
    KSTT_GGML_BF16 = 30,
};

typedef struct {
    const char *name; /* NUL-terminated, owned by the file */
    kstt__wtype type;
    int ndim;
    int64_t shape[KSTT_GGUF_MAX_DIMS]; /* row-major: shape[ndim - 1] is the row length */
    int64_t numel;
    const void *data; /* into the mapping, aligned to general.alignment */
    size_t nbytes;
} kstt__gguf_tensor;

typedef struct kstt__gguf kstt__gguf;

/* Opens and validates a file (mmap). Owned: release with kstt__gguf_close. */
int kstt__gguf_open(kstt__gguf **out, const char *path, char *err, size_t errlen);
/* Parses a file image in memory (borrowed; must outlive the handle); `name` for messages. */
int kstt__gguf_open_memory(kstt__gguf **out, const void *buf, size_t size, const char *name,
                           char *err, size_t errlen);
void kstt__gguf_close(kstt__gguf *f);

const char *kstt__gguf_path(const kstt__gguf *f);
size_t kstt__gguf_count(const kstt__gguf *f);
const kstt__gguf_tensor *kstt__gguf_at(const kstt__gguf *f, size_t i);
/* NULL when absent. */
const kstt__gguf_tensor *kstt__gguf_find(const kstt__gguf *f, const char *name);
/* Metadata: a string value (NULL if absent or not a string); an integer value of any integer
 * type (returns 1 and sets *v, else 0). */
const char *kstt__gguf_meta_str(const kstt__gguf *f, const char *key);
int kstt__gguf_meta_int(const kstt__gguf *f, const char *key, int64_t *v);

/* ggml type id of a weight type, or -1. */
int kstt__gguf_type_of(kstt__wtype t);

/* Writer: metadata and tensors are collected (tensor data borrowed until save), then written
 * in one pass with general.alignment 32. */
typedef struct kstt__gguf_writer kstt__gguf_writer;
int kstt__gguf_writer_new(kstt__gguf_writer **out);
int kstt__gguf_writer_set_str(kstt__gguf_writer *w, const char *key, const char *value);
int kstt__gguf_writer_set_u32(kstt__gguf_writer *w, const char *key, uint32_t value);
/* shape row-major (as kstt__gguf_tensor); data holds the exact byte size of the type. */
int kstt__gguf_writer_add(kstt__gguf_writer *w, const char *name, kstt__wtype type, int ndim,
                          const int64_t *shape, const void *data);
int kstt__gguf_writer_save(kstt__gguf_writer *w, const char *path, char *err, size_t errlen);
void kstt__gguf_writer_free(kstt__gguf_writer *w);

#endif
