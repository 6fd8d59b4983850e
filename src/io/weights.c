/*
 * kstt__weights: safetensors or GGUF behind one lookup API (see weights.h). A thin dispatch:
 * both readers validate their files completely at open, so this layer only maps dtypes to
 * weight types and checks shapes.
 */
#include "io/weights.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/status.h"
#include "quant/quant.h"
#include "quant/repack.h"

/* The packed copies made by kstt__weights_mat_packed, owned (and freed) by the weights object,
 * reached through a pointer so that loaders holding a const kstt__weights * can add to it.
 * Not looked up by name: each call packs anew (the LM loader asks once per matrix). */
typedef struct {
    void **blob;
    size_t n, cap;
} packs;

struct kstt__weights {
    kstt__st_file *st;
    kstt__gguf *gg;
    packs *packs;
};

int kstt__weights_open(kstt__weights **out, const char *path, char *err, size_t errlen) {
    *out = NULL;
    if (!path)
        return kstt__errf(err, errlen, KSTT_EINVAL, "weights: NULL path");
    char magic[4] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, magic, 4) != 4)
            memset(magic, 0, 4);
        close(fd);
    }
    kstt__weights *w = kstt__calloc(1, sizeof *w);
    if (w && !(w->packs = kstt__calloc(1, sizeof *w->packs))) {
        kstt__free(w);
        w = NULL;
    }
    if (!w)
        return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
    int rc = memcmp(magic, "GGUF", 4) == 0 ? kstt__gguf_open(&w->gg, path, err, errlen)
                                           : kstt__st_open(&w->st, path, err, errlen);
    if (rc) {
        kstt__free(w->packs);
        kstt__free(w);
        return rc;
    }
    *out = w;
    return KSTT_OK;
}

void kstt__weights_close(kstt__weights *w) {
    if (!w)
        return;
    kstt__st_close(w->st);
    kstt__gguf_close(w->gg);
    for (size_t i = 0; i < w->packs->n; i++)
        kstt__free(w->packs->blob[i]);
    kstt__free(w->packs->blob);
    kstt__free(w->packs);
    kstt__free(w);
}

const char *kstt__weights_path(const kstt__weights *w) {
    return w->st ? kstt__st_path(w->st) : kstt__gguf_path(w->gg);
}
const kstt__st_file *kstt__weights_st(const kstt__weights *w) {
    return w->st;
}
const kstt__gguf *kstt__weights_gguf(const kstt__weights *w) {
    return w->gg;
}

/* A uniform view of one tensor. */
typedef struct {
    const char *name;
    int ndim;
    int64_t shape[KSTT_ST_MAX_DIMS];
    int64_t numel;
    int wtype; /* kstt__wtype or -1 (a non-float safetensors dtype) */
    const char *dtype_name;
    const void *data;
} view;

static int find(const kstt__weights *w, const char *name, view *v) {
    memset(v, 0, sizeof *v);
    if (w->st) {
        const kstt__tensor *t = kstt__st_find(w->st, name);
        if (!t)
            return 0;
        v->name = t->name;
        v->ndim = t->ndim;
        memcpy(v->shape, t->shape, sizeof v->shape);
        v->numel = t->numel;
        v->data = t->data;
        v->dtype_name = kstt__dtype_name(t->dtype);
        v->wtype = t->dtype == KSTT_DT_F32    ? KSTT_WT_F32
                   : t->dtype == KSTT_DT_BF16 ? KSTT_WT_BF16
                   : t->dtype == KSTT_DT_F16  ? KSTT_WT_F16
                                              : -1;
        return 1;
    }
    const kstt__gguf_tensor *t = kstt__gguf_find(w->gg, name);
    if (!t)
        return 0;
    v->name = t->name;
    v->ndim = t->ndim;
    memcpy(v->shape, t->shape, sizeof(int64_t) * KSTT_GGUF_MAX_DIMS);
    v->numel = t->numel;
    v->data = t->data;
    v->wtype = t->type;
    v->dtype_name = kstt__wtype_name(t->type);
    return 1;
}

int kstt__weights_has(const kstt__weights *w, const char *name) {
    view v;
    return find(w, name, &v);
}

int kstt__weights_shape(const kstt__weights *w, const char *name, int *ndim, int64_t *shape) {
    view v;
    if (!find(w, name, &v))
        return KSTT_ENOTFOUND;
    *ndim = v.ndim;
    memcpy(shape, v.shape, sizeof(int64_t) * (size_t)v.ndim);
    return KSTT_OK;
}

static const char *fmt_shape(char *buf, size_t cap, int ndim, const int64_t *s) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)(s[i] < 0
                          ? snprintf(buf + k, cap - k, "%s*", i ? ", " : "")
                          : snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)s[i]));
    if (k < cap)
        snprintf(buf + k, cap - k, "]");
    return buf;
}

int kstt__weights_mat(const kstt__weights *w, const char *name, int64_t rows, int64_t cols,
                      kstt__wmat *out, char *err, size_t errlen) {
    const char *path = kstt__weights_path(w);
    view v;
    if (!find(w, name, &v))
        return kstt__errf(err, errlen, KSTT_ENOTFOUND, "%s: missing tensor '%s'", path, name);
    const int64_t want[2] = {rows, cols};
    if (v.ndim != 2 || (rows >= 0 && v.shape[0] != rows) || (cols >= 0 && v.shape[1] != cols)) {
        char a[128], b[128];
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: tensor '%s' has shape %s, expected %s",
                          path, name, fmt_shape(a, sizeof a, v.ndim, v.shape),
                          fmt_shape(b, sizeof b, 2, want));
    }
    if (v.wtype < 0)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: tensor '%s' has dtype %s; expected a float or quantised type", path,
                          name, v.dtype_name);
    const size_t el = kstt__wtype_block_bytes((kstt__wtype)v.wtype);
    if (kstt__wtype_block_elems((kstt__wtype)v.wtype) == 1 && (uintptr_t)v.data % el)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: tensor '%s' is not aligned to its element size in the file", path,
                          name);
    out->type = (kstt__wtype)v.wtype;
    out->rows = v.shape[0];
    out->cols = v.shape[1];
    out->row_bytes = kstt__wtype_row_bytes((kstt__wtype)v.wtype, v.shape[1]);
    out->data = v.data;
    return KSTT_OK;
}

int kstt__weights_f32(const kstt__weights *w, const char *name, int64_t n, float *dst, char *err,
                      size_t errlen) {
    const char *path = kstt__weights_path(w);
    view v;
    if (!find(w, name, &v))
        return kstt__errf(err, errlen, KSTT_ENOTFOUND, "%s: missing tensor '%s'", path, name);
    if (v.numel != n) {
        char a[128];
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: tensor '%s' has shape %s, expected %lld elements", path, name,
                          fmt_shape(a, sizeof a, v.ndim, v.shape), (long long)n);
    }
    if (w->st) {
        const kstt__tensor *t = kstt__st_find(w->st, name);
        return kstt__st_to_f32(w->st, t, dst, err, errlen);
    }
    kstt__dequantize_row((kstt__wtype)v.wtype, v.data, dst, n);
    return KSTT_OK;
}

/* Drops the resident pages wholly inside [p, p + n) of the read-only file mapping: they are
 * clean, so a later touch would read them again from the file (nothing does: the packed copy
 * replaces them). Only a hint; failure is harmless. */
static void release_pages(const void *p, size_t n) {
    const long pg = sysconf(_SC_PAGESIZE);
    if (pg <= 0)
        return;
    const uintptr_t a = ((uintptr_t)p + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
    const uintptr_t e = ((uintptr_t)p + n) & ~((uintptr_t)pg - 1);
    if (e > a)
        (void)madvise((void *)a, e - a, MADV_DONTNEED);
}

int kstt__weights_mat_packed(const kstt__weights *w, const char *name, int64_t rows, int64_t cols,
                             const kstt__wtype *pack, kstt__wmat *out, char *err, size_t errlen) {
    kstt__wmat src;
    int rc = kstt__weights_mat(w, name, rows, cols, &src, err, errlen);
    if (rc)
        return rc;
    const kstt__wtype want = kstt__repack_choose(pack, src.type);
    const size_t bytes = kstt__repack_bytes_as(&src, want);
    if (!bytes || !w->gg) { /* no packed layout for this type (packed types only come in GGUF) */
        *out = src;
        return KSTT_OK;
    }
    packs *pk = w->packs;
    if (pk->n == pk->cap) {
        const size_t cap = pk->cap ? 2 * pk->cap : 64;
        void **b = kstt__realloc(pk->blob, pk->cap * sizeof *b, cap * sizeof *b);
        if (!b)
            return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory packing '%s'",
                              kstt__weights_path(w), name);
        pk->blob = b;
        pk->cap = cap;
    }
    void *dst = kstt__alloc(bytes);
    if (!dst)
        return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory packing '%s' (%zu bytes)",
                          kstt__weights_path(w), name, bytes);
    pk->blob[pk->n++] = dst;
    /* in slices of rows, each slice's source pages released once packed: the file's pages
     * and the copy are never both resident for more than a slice */
    const int64_t slice = 256;
    for (int64_t r0 = 0; r0 < src.rows; r0 += slice) {
        const int64_t r1 = r0 + slice < src.rows ? r0 + slice : src.rows;
        kstt__repack_rows_as(&src, want, dst, r0, r1);
        release_pages((const char *)src.data + (size_t)r0 * src.row_bytes,
                      (size_t)(r1 - r0) * src.row_bytes);
    }
    kstt__repack_view_as(&src, want, dst, out);
    return KSTT_OK;
}
