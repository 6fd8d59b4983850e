/*
 * GGUF v3 reader and writer. See gguf.h for the format and the validation contract.
 *
 * The reader walks the header with a bounds-checked cursor (every read checks the bytes left
 * first, so a truncated or hostile header fails cleanly), copies tensor names and the string
 * and integer metadata it keeps into one owned block, and leaves tensor data in the mapping.
 * Counts are checked against the bytes left before anything is allocated: each metadata entry
 * takes at least 13 bytes and each tensor info at least 28, so a small file cannot request a
 * huge allocation.
 */
#include "io/gguf.h"
#include "io/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "quant/quant.h"

#define GGUF_MAGIC "GGUF"
#define DEFAULT_ALIGN 32
#define MAX_DEPTH 4
#define MAX_STRING (1u << 20)

enum {
    T_U8 = 0,
    T_I8 = 1,
    T_U16 = 2,
    T_I16 = 3,
    T_U32 = 4,
    T_I32 = 5,
    T_F32 = 6,
    T_BOOL = 7,
    T_STRING = 8,
    T_ARRAY = 9,
    T_U64 = 10,
    T_I64 = 11,
    T_F64 = 12,
    T_COUNT = 13
};

static const size_t scalar_size[T_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

typedef struct {
    kstt__gguf_tensor t;
    uint64_t offset;
} entry;

typedef struct {
    char *key;
    int type;
    char *str;    /* T_STRING */
    int64_t ival; /* integer types and bool */
} meta;

struct kstt__gguf {
    char *path;
    void *map;
    size_t map_size;
    entry *e;
    size_t n;
    entry **by_name;
    meta *m;
    size_t n_meta;
};

typedef struct {
    const unsigned char *p;
    size_t size, pos;
    const char *path;
    char *err;
    size_t errlen;
} cursor;

static int need(cursor *c, size_t n, const char *what) {
    if (n > c->size - c->pos)
        return kstt__errf(c->err, c->errlen, KSTT_EFORMAT,
                          "%s: truncated at byte %zu reading %s (%zu bytes needed, %zu left)",
                          c->path, c->pos, what, n, c->size - c->pos);
    return KSTT_OK;
}

static int rd_u32(cursor *c, uint32_t *v, const char *what) {
    int rc = need(c, 4, what);
    if (rc)
        return rc;
    *v = 0;
    for (int i = 3; i >= 0; i--)
        *v = (*v << 8) | c->p[c->pos + (size_t)i];
    c->pos += 4;
    return KSTT_OK;
}

static int rd_u64(cursor *c, uint64_t *v, const char *what) {
    int rc = need(c, 8, what);
    if (rc)
        return rc;
    *v = 0;
    for (int i = 7; i >= 0; i--)
        *v = (*v << 8) | c->p[c->pos + (size_t)i];
    c->pos += 8;
    return KSTT_OK;
}

/* A string: borrowed pointer into the image and its length. */
static int rd_str(cursor *c, const char **s, size_t *len, const char *what) {
    uint64_t n;
    int rc = rd_u64(c, &n, what);
    if (rc)
        return rc;
    if (n > c->size - c->pos)
        return kstt__errf(c->err, c->errlen, KSTT_EFORMAT,
                          "%s: %s at byte %zu has length %llu, past the end of the file", c->path,
                          what, c->pos - 8, (unsigned long long)n);
    *s = (const char *)c->p + c->pos;
    *len = (size_t)n;
    c->pos += (size_t)n;
    return KSTT_OK;
}

static char *dup_n(const char *s, size_t n) {
    char *d = kstt__alloc(n + 1);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Skips (validating) a value of `type`; for scalars/strings at depth 0 also returns it. */
static int rd_value(cursor *c, uint32_t type, int depth, const char *key, int64_t *ival,
                    const char **s, size_t *slen) {
    if (type >= T_COUNT)
        return kstt__errf(c->err, c->errlen, KSTT_EFORMAT,
                          "%s: metadata '%s' has unknown value type %u", c->path, key, type);
    if (type == T_STRING)
        return rd_str(c, s, slen, "a metadata string");
    if (type == T_ARRAY) {
        if (depth >= MAX_DEPTH)
            return kstt__errf(c->err, c->errlen, KSTT_EFORMAT,
                              "%s: metadata '%s' nests arrays more than %d deep", c->path, key,
                              MAX_DEPTH);
        uint32_t et;
        uint64_t n;
        int rc = rd_u32(c, &et, "an array type");
        if (!rc)
            rc = rd_u64(c, &n, "an array length");
        if (rc)
            return rc;
        if (et >= T_COUNT)
            return kstt__errf(c->err, c->errlen, KSTT_EFORMAT,
                              "%s: metadata '%s' is an array of unknown type %u", c->path, key, et);
        if (et != T_STRING && et != T_ARRAY) {
            if (n > (c->size - c->pos) / scalar_size[et])
                return kstt__errf(c->err, c->errlen, KSTT_EFORMAT,
                                  "%s: metadata '%s' array of %llu elements runs past the end "
                                  "of the file",
                                  c->path, key, (unsigned long long)n);
            c->pos += (size_t)n * scalar_size[et];
            return KSTT_OK;
        }
        /* every string or array element takes at least 8 bytes */
        if (n > (c->size - c->pos) / 8)
            return kstt__errf(c->err, c->errlen, KSTT_EFORMAT,
                              "%s: metadata '%s' array of %llu elements runs past the end of "
                              "the file",
                              c->path, key, (unsigned long long)n);
        for (uint64_t i = 0; i < n; i++) {
            const char *ss;
            size_t sl;
            int64_t iv;
            rc = rd_value(c, et, depth + 1, key, &iv, &ss, &sl);
            if (rc)
                return rc;
        }
        return KSTT_OK;
    }
    int rc = need(c, scalar_size[type], "a metadata value");
    if (rc)
        return rc;
    const unsigned char *p = c->p + c->pos;
    uint64_t u = 0;
    for (int i = (int)scalar_size[type] - 1; i >= 0; i--)
        u = (u << 8) | p[i];
    switch (type) {
    case T_I8:
        *ival = (int8_t)u;
        break;
    case T_I16:
        *ival = (int16_t)u;
        break;
    case T_I32:
        *ival = (int32_t)u;
        break;
    case T_I64:
        *ival = (int64_t)u;
        break;
    default:
        *ival = (int64_t)u;
        break;
    }
    c->pos += scalar_size[type];
    return KSTT_OK;
}

static int wtype_of_ggml(uint32_t g, kstt__wtype *t) {
    switch (g) {
    case KSTT_GGML_F32:
        *t = KSTT_WT_F32;
        return 1;
    case KSTT_GGML_F16:
        *t = KSTT_WT_F16;
        return 1;
    case KSTT_GGML_BF16:
        *t = KSTT_WT_BF16;
        return 1;
    case KSTT_GGML_Q8_0:
        *t = KSTT_WT_Q8_0;
        return 1;
    case KSTT_GGML_Q4_0:
        *t = KSTT_WT_Q4_0;
        return 1;
    case KSTT_GGML_Q4_K:
        *t = KSTT_WT_Q4_K;
        return 1;
    default:
        return 0;
    }
}

int kstt__gguf_type_of(kstt__wtype t) {
    switch (t) {
    case KSTT_WT_F32:
        return KSTT_GGML_F32;
    case KSTT_WT_F16:
        return KSTT_GGML_F16;
    case KSTT_WT_BF16:
        return KSTT_GGML_BF16;
    case KSTT_WT_Q8_0:
        return KSTT_GGML_Q8_0;
    case KSTT_WT_Q4_0:
        return KSTT_GGML_Q4_0;
    case KSTT_WT_Q4_K:
        return KSTT_GGML_Q4_K;
    default:
        return -1;
    }
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const entry *const *)a)->t.name, (*(const entry *const *)b)->t.name);
}

static int cmp_off(const void *a, const void *b) {
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int parse(kstt__gguf *f, const unsigned char *buf, size_t size, char *err, size_t errlen) {
    cursor c = {buf, size, 0, f->path, err, errlen};
    const char *path = f->path;
    int rc = need(&c, 4, "the magic");
    if (rc)
        return rc;
    if (memcmp(buf, GGUF_MAGIC, 4) != 0)
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: not a GGUF file (bad magic)", path);
    c.pos = 4;
    uint32_t version;
    uint64_t n_tensors, n_kv;
    if ((rc = rd_u32(&c, &version, "the version")))
        return rc;
    if (version != 3)
        return kstt__errf(err, errlen, KSTT_EUNSUPPORTED,
                          "%s: GGUF version %u is not supported (only 3)", path, version);
    if ((rc = rd_u64(&c, &n_tensors, "the tensor count")))
        return rc;
    if ((rc = rd_u64(&c, &n_kv, "the metadata count")))
        return rc;
    if (n_kv > (size - c.pos) / 13)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: metadata count %llu is impossible for a %zu-byte file", path,
                          (unsigned long long)n_kv, size);
    if (n_tensors > (size - c.pos) / 28)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: tensor count %llu is impossible for a %zu-byte file", path,
                          (unsigned long long)n_tensors, size);

    f->m = kstt__calloc((size_t)n_kv + 1, sizeof *f->m);
    f->e = kstt__calloc((size_t)n_tensors + 1, sizeof *f->e);
    f->by_name = kstt__calloc((size_t)n_tensors + 1, sizeof *f->by_name);
    if (!f->m || !f->e || !f->by_name)
        return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);

    uint64_t align = DEFAULT_ALIGN;
    for (uint64_t i = 0; i < n_kv; i++) {
        const char *k;
        size_t kl;
        uint32_t type;
        if ((rc = rd_str(&c, &k, &kl, "a metadata key")))
            return rc;
        if (kl == 0 || kl > 65535)
            return kstt__errf(err, errlen, KSTT_EFORMAT,
                              "%s: metadata key %llu has length %zu (1..65535 allowed)", path,
                              (unsigned long long)i, kl);
        meta *m = &f->m[f->n_meta];
        if (!(m->key = dup_n(k, kl)))
            return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
        f->n_meta++;
        if ((rc = rd_u32(&c, &type, "a metadata type")))
            return rc;
        const char *s = NULL;
        size_t sl = 0;
        int64_t iv = 0;
        if ((rc = rd_value(&c, type, 0, m->key, &iv, &s, &sl)))
            return rc;
        m->type = (int)type;
        m->ival = iv;
        if (type == T_STRING && !(m->str = dup_n(s, sl)))
            return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
        if (!strcmp(m->key, "general.alignment")) {
            if (type != T_U32)
                return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: general.alignment is not a u32",
                                  path);
            align = (uint64_t)iv;
            if (align == 0 || (align & (align - 1)) || align > (1u << 20))
                return kstt__errf(err, errlen, KSTT_EFORMAT,
                                  "%s: general.alignment %llu is not a power of two <= 2^20", path,
                                  (unsigned long long)align);
        }
    }

    for (uint64_t i = 0; i < n_tensors; i++) {
        entry *e = &f->e[i];
        const char *nm;
        size_t nl;
        if ((rc = rd_str(&c, &nm, &nl, "a tensor name")))
            return rc;
        if (nl == 0 || nl > 65535 || memchr(nm, 0, nl))
            return kstt__errf(err, errlen, KSTT_EFORMAT,
                              "%s: tensor %llu has an invalid name (length %zu)", path,
                              (unsigned long long)i, nl);
        char *name = dup_n(nm, nl);
        if (!name)
            return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
        e->t.name = name;
        f->n++;
        uint32_t nd, gt;
        if ((rc = rd_u32(&c, &nd, "a tensor rank")))
            return rc;
        if (nd < 1 || nd > KSTT_GGUF_MAX_DIMS)
            return kstt__errf(err, errlen, KSTT_EFORMAT,
                              "%s: tensor '%s' has rank %u (1..%d allowed)", path, name, nd,
                              KSTT_GGUF_MAX_DIMS);
        e->t.ndim = (int)nd;
        uint64_t numel = 1;
        for (uint32_t d = 0; d < nd; d++) {
            uint64_t ne;
            if ((rc = rd_u64(&c, &ne, "a tensor dimension")))
                return rc;
            if (ne == 0 || ne > (uint64_t)INT64_MAX / numel)
                return kstt__errf(err, errlen, KSTT_EFORMAT,
                                  "%s: tensor '%s' dimension %u is %llu (zero or overflowing)",
                                  path, name, d, (unsigned long long)ne);
            numel *= ne;
            e->t.shape[nd - 1 - d] = (int64_t)ne;
        }
        e->t.numel = (int64_t)numel;
        if ((rc = rd_u32(&c, &gt, "a tensor type")))
            return rc;
        if (!wtype_of_ggml(gt, &e->t.type))
            return kstt__errf(err, errlen, KSTT_EUNSUPPORTED,
                              "%s: tensor '%s' has ggml type %u, not one of f32, f16, bf16, "
                              "q8_0, q4_0, q4_K",
                              path, name, gt);
        const int64_t row = e->t.shape[nd - 1];
        const int be = kstt__wtype_block_elems(e->t.type);
        if (row % be)
            return kstt__errf(err, errlen, KSTT_EFORMAT,
                              "%s: tensor '%s' rows of %lld elements are not whole %s blocks "
                              "of %d",
                              path, name, (long long)row, kstt__wtype_name(e->t.type), be);
        const uint64_t nblocks = numel / (uint64_t)be, bb = kstt__wtype_block_bytes(e->t.type);
        if (nblocks > (uint64_t)SIZE_MAX / bb)
            return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: tensor '%s' is too large", path,
                              name);
        e->t.nbytes = (size_t)(nblocks * bb);
        if ((rc = rd_u64(&c, &e->offset, "a tensor offset")))
            return rc;
        if (e->offset % align)
            return kstt__errf(err, errlen, KSTT_EFORMAT,
                              "%s: tensor '%s' offset %llu is not a multiple of the alignment "
                              "%llu",
                              path, name, (unsigned long long)e->offset, (unsigned long long)align);
    }
    /* the data section starts at the next multiple of the alignment */
    const size_t data_start = (size_t)((c.pos + align - 1) / align * align);
    if (data_start > size)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: the data section would start at byte %zu, past the end of the "
                          "file (%zu bytes)",
                          path, data_start, size);
    const size_t data_size = size - data_start;
    for (size_t i = 0; i < f->n; i++) {
        entry *e = &f->e[i];
        if (e->offset > data_size || e->t.nbytes > data_size - e->offset)
            return kstt__errf(err, errlen, KSTT_EFORMAT,
                              "%s: tensor '%s' data [%llu, +%zu) runs past the end of the data "
                              "section (%zu bytes)",
                              path, e->t.name, (unsigned long long)e->offset, e->t.nbytes,
                              data_size);
        e->t.data = buf + data_start + e->offset;
        f->by_name[i] = e;
    }
    qsort(f->by_name, f->n, sizeof *f->by_name, cmp_name);
    for (size_t i = 1; i < f->n; i++)
        if (!strcmp(f->by_name[i - 1]->t.name, f->by_name[i]->t.name))
            return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: tensor '%s' appears twice", path,
                              f->by_name[i]->t.name);
    entry **by_off = kstt__calloc(f->n + 1, sizeof *by_off);
    if (!by_off)
        return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
    memcpy(by_off, f->by_name, f->n * sizeof *by_off);
    qsort(by_off, f->n, sizeof *by_off, cmp_off);
    rc = KSTT_OK;
    for (size_t i = 1; i < f->n; i++) {
        if (by_off[i]->offset < by_off[i - 1]->offset + by_off[i - 1]->t.nbytes) {
            rc = kstt__errf(err, errlen, KSTT_EFORMAT, "%s: tensors '%s' and '%s' overlap", path,
                            by_off[i - 1]->t.name, by_off[i]->t.name);
            break;
        }
    }
    kstt__free(by_off);
    return rc;
}

static int new_file(kstt__gguf **out, const char *name, char *err, size_t errlen) {
    kstt__gguf *f = kstt__calloc(1, sizeof *f);
    if (f)
        f->path = kstt__strdup(name);
    if (!f || !f->path) {
        kstt__free(f);
        return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", name);
    }
    *out = f;
    return KSTT_OK;
}

int kstt__gguf_open_memory(kstt__gguf **out, const void *buf, size_t size, const char *name,
                           char *err, size_t errlen) {
    *out = NULL;
    if (!name)
        name = "(memory)";
    if (!buf && size)
        return kstt__errf(err, errlen, KSTT_EINVAL, "%s: NULL buffer of %zu bytes", name, size);
    kstt__gguf *f;
    int rc = new_file(&f, name, err, errlen);
    if (rc)
        return rc;
    if ((rc = parse(f, buf, size, err, errlen))) {
        kstt__gguf_close(f);
        return rc;
    }
    *out = f;
    return KSTT_OK;
}

int kstt__gguf_open(kstt__gguf **out, const char *path, char *err, size_t errlen) {
    *out = NULL;
    if (!path)
        return kstt__errf(err, errlen, KSTT_EINVAL, "gguf: NULL path");
    void *map;
    size_t size;
    int rc = kstt__map_file(path, &map, &size, err, errlen);
    if (rc)
        return rc;
    kstt__gguf *f;
    if ((rc = new_file(&f, path, err, errlen))) {
        kstt__unmap_file(map, size);
        return rc;
    }
    f->map = map;
    f->map_size = size;
    if ((rc = parse(f, f->map, size, err, errlen))) {
        kstt__gguf_close(f);
        return rc;
    }
    *out = f;
    return KSTT_OK;
}

void kstt__gguf_close(kstt__gguf *f) {
    if (!f)
        return;
    kstt__unmap_file(f->map, f->map_size);
    for (size_t i = 0; i < f->n; i++)
        kstt__free((void *)f->e[i].t.name);
    for (size_t i = 0; i < f->n_meta; i++) {
        kstt__free(f->m[i].key);
        kstt__free(f->m[i].str);
    }
    kstt__free(f->e);
    kstt__free(f->by_name);
    kstt__free(f->m);
    kstt__free(f->path);
    kstt__free(f);
}

const char *kstt__gguf_path(const kstt__gguf *f) {
    return f->path;
}
size_t kstt__gguf_count(const kstt__gguf *f) {
    return f->n;
}

const kstt__gguf_tensor *kstt__gguf_at(const kstt__gguf *f, size_t i) {
    return i < f->n ? &f->e[i].t : NULL;
}

const kstt__gguf_tensor *kstt__gguf_find(const kstt__gguf *f, const char *name) {
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int c = strcmp(name, f->by_name[mid]->t.name);
        if (!c)
            return &f->by_name[mid]->t;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *kstt__gguf_meta_str(const kstt__gguf *f, const char *key) {
    for (size_t i = 0; i < f->n_meta; i++)
        if (!strcmp(f->m[i].key, key))
            return f->m[i].type == T_STRING ? f->m[i].str : NULL;
    return NULL;
}

int kstt__gguf_meta_int(const kstt__gguf *f, const char *key, int64_t *v) {
    for (size_t i = 0; i < f->n_meta; i++) {
        if (strcmp(f->m[i].key, key))
            continue;
        const int t = f->m[i].type;
        if (t == T_F32 || t == T_F64 || t == T_STRING || t == T_ARRAY)
            return 0;
        *v = f->m[i].ival;
        return 1;
    }
    return 0;
}

/* ---- writer ------------------------------------------------------------------------------ */

typedef struct {
    char *name;
    kstt__wtype type;
    int ndim;
    int64_t shape[KSTT_GGUF_MAX_DIMS];
    const void *data;
    size_t nbytes;
    uint64_t offset;
} wtensor;

typedef struct {
    char *key, *str;
    uint32_t u32;
    int is_str;
} wmeta;

struct kstt__gguf_writer {
    wtensor *t;
    size_t n, cap;
    wmeta *m;
    size_t n_meta, cap_meta;
};

int kstt__gguf_writer_new(kstt__gguf_writer **out) {
    *out = kstt__calloc(1, sizeof **out);
    return *out ? KSTT_OK : KSTT_ENOMEM;
}

void kstt__gguf_writer_free(kstt__gguf_writer *w) {
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        kstt__free(w->t[i].name);
    for (size_t i = 0; i < w->n_meta; i++) {
        kstt__free(w->m[i].key);
        kstt__free(w->m[i].str);
    }
    kstt__free(w->t);
    kstt__free(w->m);
    kstt__free(w);
}

static wmeta *meta_slot(kstt__gguf_writer *w, const char *key) {
    for (size_t i = 0; i < w->n_meta; i++)
        if (!strcmp(w->m[i].key, key)) {
            kstt__free(w->m[i].str);
            w->m[i].str = NULL;
            return &w->m[i];
        }
    if (w->n_meta == w->cap_meta) {
        const size_t cap = w->cap_meta ? 2 * w->cap_meta : 8;
        wmeta *m = kstt__realloc(w->m, w->cap_meta * sizeof *m, cap * sizeof *m);
        if (!m)
            return NULL;
        w->m = m;
        w->cap_meta = cap;
    }
    wmeta *m = &w->m[w->n_meta];
    memset(m, 0, sizeof *m);
    if (!(m->key = kstt__strdup(key)))
        return NULL;
    w->n_meta++;
    return m;
}

int kstt__gguf_writer_set_str(kstt__gguf_writer *w, const char *key, const char *value) {
    if (!w || !key || !value)
        return KSTT_EINVAL;
    wmeta *m = meta_slot(w, key);
    if (!m || !(m->str = kstt__strdup(value)))
        return KSTT_ENOMEM;
    m->is_str = 1;
    return KSTT_OK;
}

int kstt__gguf_writer_set_u32(kstt__gguf_writer *w, const char *key, uint32_t value) {
    if (!w || !key)
        return KSTT_EINVAL;
    wmeta *m = meta_slot(w, key);
    if (!m)
        return KSTT_ENOMEM;
    m->is_str = 0;
    m->u32 = value;
    return KSTT_OK;
}

int kstt__gguf_writer_add(kstt__gguf_writer *w, const char *name, kstt__wtype type, int ndim,
                          const int64_t *shape, const void *data) {
    if (!w || !name || !*name || kstt__gguf_type_of(type) < 0 || ndim < 1 ||
        ndim > KSTT_GGUF_MAX_DIMS || !shape)
        return KSTT_EINVAL;
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0 || shape[i] > INT64_MAX / numel)
            return KSTT_EINVAL;
        numel *= shape[i];
    }
    const int be = kstt__wtype_block_elems(type);
    if (shape[ndim - 1] % be)
        return KSTT_EINVAL;
    if (!data)
        return KSTT_EINVAL;
    if (w->n == w->cap) {
        const size_t cap = w->cap ? 2 * w->cap : 64;
        wtensor *t = kstt__realloc(w->t, w->cap * sizeof *t, cap * sizeof *t);
        if (!t)
            return KSTT_ENOMEM;
        w->t = t;
        w->cap = cap;
    }
    wtensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    if (!(t->name = kstt__strdup(name)))
        return KSTT_ENOMEM;
    t->type = type;
    t->ndim = ndim;
    memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
    t->data = data;
    t->nbytes = (size_t)(numel / be) * kstt__wtype_block_bytes(type);
    w->n++;
    return KSTT_OK;
}

static int put(FILE *fp, const void *p, size_t n) {
    return fwrite(p, 1, n, fp) == n;
}
static int put_u32(FILE *fp, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    return put(fp, b, 4);
}
static int put_u64(FILE *fp, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    return put(fp, b, 8);
}
static int put_str(FILE *fp, const char *s) {
    const size_t n = strlen(s);
    return put_u64(fp, n) && put(fp, s, n);
}
static int put_pad(FILE *fp, uint64_t pos) {
    static const unsigned char zero[DEFAULT_ALIGN];
    const size_t pad = (size_t)((DEFAULT_ALIGN - pos % DEFAULT_ALIGN) % DEFAULT_ALIGN);
    return put(fp, zero, pad);
}

int kstt__gguf_writer_save(kstt__gguf_writer *w, const char *path, char *err, size_t errlen) {
    int rc = kstt__gguf_writer_set_u32(w, "general.alignment", DEFAULT_ALIGN);
    if (rc)
        return kstt__errf(err, errlen, rc, "%s: out of memory", path);
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return kstt__errf(err, errlen, KSTT_EIO, "%s: cannot create: %s", path, strerror(errno));
    uint64_t off = 0;
    for (size_t i = 0; i < w->n; i++) {
        w->t[i].offset = off;
        off += w->t[i].nbytes;
        off = (off + DEFAULT_ALIGN - 1) / DEFAULT_ALIGN * DEFAULT_ALIGN;
    }
    int ok =
        put(fp, GGUF_MAGIC, 4) && put_u32(fp, 3) && put_u64(fp, w->n) && put_u64(fp, w->n_meta);
    for (size_t i = 0; ok && i < w->n_meta; i++) {
        ok = put_str(fp, w->m[i].key);
        if (ok && w->m[i].is_str)
            ok = put_u32(fp, T_STRING) && put_str(fp, w->m[i].str);
        else if (ok)
            ok = put_u32(fp, T_U32) && put_u32(fp, w->m[i].u32);
    }
    for (size_t i = 0; ok && i < w->n; i++) {
        const wtensor *t = &w->t[i];
        ok = put_str(fp, t->name) && put_u32(fp, (uint32_t)t->ndim);
        for (int d = t->ndim - 1; ok && d >= 0; d--)
            ok = put_u64(fp, (uint64_t)t->shape[d]);
        ok = ok && put_u32(fp, (uint32_t)kstt__gguf_type_of(t->type)) && put_u64(fp, t->offset);
    }
    long pos = ok ? ftell(fp) : -1;
    ok = ok && pos >= 0 && put_pad(fp, (uint64_t)pos);
    for (size_t i = 0; ok && i < w->n; i++) {
        ok = put(fp, w->t[i].data, w->t[i].nbytes) && put_pad(fp, w->t[i].nbytes);
    }
    if (fclose(fp) != 0)
        ok = 0;
    if (!ok) {
        remove(path);
        return kstt__errf(err, errlen, KSTT_EIO, "%s: write failed: %s", path, strerror(errno));
    }
    return KSTT_OK;
}
