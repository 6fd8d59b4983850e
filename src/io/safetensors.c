/*
 * safetensors reader and writer.
 *
 * Reader: the file is mmapped read-only (or borrowed from memory) and every tensor's `data`
 * points into it. The JSON header is parsed with cJSON and validated completely at open, in
 * this order: header length (8-byte prefix) sane and inside the file; header is a JSON object
 * followed only by whitespace padding; `__metadata__` an object of strings; every other key an
 * object with a known string "dtype", an integer "shape" array of rank <= 8 whose element count
 * does not overflow, and "data_offsets" [begin, end) with begin <= end <= data block size and
 * end - begin == numel * dtype size; no duplicate names; no two non-empty tensors overlapping.
 * After that, users of a tensor never re-check bounds. Errors always start with the file path.
 *
 * JSON numbers reach us as doubles, so offsets and dims are accepted only when they are exact
 * integers in [0, 2^53]; a file of more than 8 PB is not a concern.
 *
 * Writer: tensors are laid out back to back, ordered by element size (largest first) and then
 * by name, as the reference Rust/Python writer does: offsets are then contiguous (which the
 * Python reader requires) and each tensor is aligned to its element size. The JSON header is
 * padded with spaces so that the data block starts at a multiple of 8 bytes.
 *
 * cJSON allocates with the C heap internally (its hooks are process-global, so they are left
 * alone); its tree lives only for the duration of kstt__st_open_memory.
 */
#include "io/safetensors.h"
#include "io/file.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "core/wtype.h"

#define MAX_HEADER_BYTES (100u * 1000u * 1000u)
#define MAX_JSON_INT 9007199254740992.0 /* 2^53 */

typedef struct {
    kstt__tensor t; /* first member: kstt__st_at returns &entry->t */
    uint64_t begin, end;
} entry;

typedef struct {
    const char *key, *value;
} meta_kv;

struct kstt__st_file {
    char *path;
    void *map; /* mmap base, NULL for memory images */
    size_t map_size;
    const unsigned char *data; /* data block */
    size_t data_size;
    entry *entries; /* header order */
    size_t n;
    entry **by_name; /* sorted by name, for kstt__st_find */
    meta_kv *meta;
    size_t n_meta;
    char *strings; /* names, metadata keys and values */
};

static const struct {
    const char *name;
    size_t size;
} dtype_info[KSTT_DT_COUNT] = {
    [KSTT_DT_F64] = {"F64", 8},   [KSTT_DT_F32] = {"F32", 4}, [KSTT_DT_F16] = {"F16", 2},
    [KSTT_DT_BF16] = {"BF16", 2}, [KSTT_DT_I64] = {"I64", 8}, [KSTT_DT_I32] = {"I32", 4},
    [KSTT_DT_I16] = {"I16", 2},   [KSTT_DT_I8] = {"I8", 1},   [KSTT_DT_U64] = {"U64", 8},
    [KSTT_DT_U32] = {"U32", 4},   [KSTT_DT_U16] = {"U16", 2}, [KSTT_DT_U8] = {"U8", 1},
    [KSTT_DT_BOOL] = {"BOOL", 1},
};

const char *kstt__dtype_name(kstt__dtype t) {
    return (unsigned)t < KSTT_DT_COUNT ? dtype_info[t].name : "?";
}

size_t kstt__dtype_size(kstt__dtype t) {
    return (unsigned)t < KSTT_DT_COUNT ? dtype_info[t].size : 0;
}

static int dtype_from_name(const char *s, kstt__dtype *out) {
    for (int i = 0; i < KSTT_DT_COUNT; i++) {
        if (strcmp(s, dtype_info[i].name) == 0) {
            *out = (kstt__dtype)i;
            return 1;
        }
    }
    return 0;
}

/* "[2, 4]" into buf; -1 dims print as "*". */
static const char *fmt_shape(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = 0;
    k += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++) {
        if (shape[i] < 0)
            k += (size_t)snprintf(buf + k, cap - k, "%s*", i ? ", " : "");
        else
            k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    }
    if (k < cap)
        snprintf(buf + k, cap - k, "]");
    return buf;
}

/* A JSON number that is an exact integer in [0, 2^53]: 1 when it is, 0 when it is not a
 * non-negative integer, -1 when it is one but too large to be represented exactly. */
static int json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v))
        return 0;
    double d = v->valuedouble;
    if (!(d >= 0.0) || d != floor(d))
        return 0; /* also NaN */
    if (d > MAX_JSON_INT)
        return -1;
    *out = (uint64_t)d;
    return 1;
}

static int cmp_entry_name(const void *a, const void *b) {
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    return strcmp(x->t.name, y->t.name);
}

static int cmp_entry_begin(const void *a, const void *b) {
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

static size_t string_bytes(const char *s) {
    return strlen(s) + 1;
}

static char *put_string(char **cursor, const char *s) {
    size_t n = strlen(s) + 1;
    char *d = *cursor;
    memcpy(d, s, n);
    *cursor += n;
    return d;
}

/* Validates one tensor entry and fills e (name already set). */
static int parse_entry(kstt__st_file *f, const cJSON *item, entry *e, char *err, size_t errlen) {
    const char *path = f->path, *name = e->t.name;
    if (!cJSON_IsObject(item))
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: tensor '%s': entry is not an object",
                          path, name);

    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    if (!dt)
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: tensor '%s': missing \"dtype\"", path,
                          name);
    if (!cJSON_IsString(dt))
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: tensor '%s': \"dtype\" is not a string",
                          path, name);
    if (!dtype_from_name(dt->valuestring, &e->t.dtype))
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: tensor '%s': unknown dtype \"%s\"", path,
                          name, dt->valuestring);

    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(item, "shape");
    if (!sh)
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: tensor '%s': missing \"shape\"", path,
                          name);
    if (!cJSON_IsArray(sh))
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: tensor '%s': \"shape\" is not an array",
                          path, name);
    int rank = cJSON_GetArraySize(sh);
    if (rank > KSTT_ST_MAX_DIMS)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: tensor '%s': shape has rank %d, more than the maximum of %d", path,
                          name, rank, KSTT_ST_MAX_DIMS);
    e->t.ndim = rank;
    int i = 0, has_zero = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, sh) {
        uint64_t v;
        int ok = json_uint(d, &v);
        if (ok == 0)
            return kstt__errf(err, errlen, KSTT_EFORMAT,
                              "%s: tensor '%s': shape dim %d is not a non-negative integer", path,
                              name, i);
        if (ok < 0)
            return kstt__errf(err, errlen, KSTT_EFORMAT,
                              "%s: tensor '%s': shape dim %d is larger than 2^53", path, name, i);
        e->t.shape[i++] = (int64_t)v;
        if (v == 0)
            has_zero = 1;
    }
    /* The element count must fit (a zero dim makes it 0 whatever the others are), and so must
     * the byte count, in int64 and in size_t. */
    size_t esize = dtype_info[e->t.dtype].size;
    uint64_t numel = 1, limit = (uint64_t)INT64_MAX / esize;
    int overflow = 0;
    if (SIZE_MAX / esize < limit)
        limit = SIZE_MAX / esize;
    for (int k = 0; k < rank && !has_zero; k++) {
        uint64_t v = (uint64_t)e->t.shape[k];
        if (numel > limit / v)
            overflow = 1;
        else
            numel *= v;
    }
    if (has_zero)
        numel = 0;
    char sbuf[256];
    if (overflow)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: tensor '%s': shape %s of %s overflows the byte count", path, name,
                          fmt_shape(sbuf, sizeof sbuf, rank, e->t.shape), dt->valuestring);
    e->t.numel = (int64_t)numel;

    const cJSON *off = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!off)
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: tensor '%s': missing \"data_offsets\"",
                          path, name);
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
        json_uint(cJSON_GetArrayItem(off, 0), &e->begin) != 1 ||
        json_uint(cJSON_GetArrayItem(off, 1), &e->end) != 1)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: tensor '%s': \"data_offsets\" is not an array of two "
                          "non-negative integers",
                          path, name);
    if (e->begin > e->end)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: tensor '%s': data_offsets [%llu, %llu) have begin > end", path, name,
                          (unsigned long long)e->begin, (unsigned long long)e->end);
    if (e->end > f->data_size)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: tensor '%s': data_offsets [%llu, %llu) run past the end of the "
                          "data block (%zu bytes)",
                          path, name, (unsigned long long)e->begin, (unsigned long long)e->end,
                          f->data_size);
    uint64_t need = numel * esize;
    if (e->end - e->begin != need)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: tensor '%s': data_offsets [%llu, %llu) hold %llu bytes but shape "
                          "%s of %s needs %llu",
                          path, name, (unsigned long long)e->begin, (unsigned long long)e->end,
                          (unsigned long long)(e->end - e->begin),
                          fmt_shape(sbuf, sizeof sbuf, rank, e->t.shape), dt->valuestring,
                          (unsigned long long)need);
    e->t.data = f->data + e->begin;
    e->t.nbytes = (size_t)need;
    return KSTT_OK;
}

static int parse_header(kstt__st_file *f, const unsigned char *buf, size_t size, char *err,
                        size_t errlen) {
    const char *path = f->path;
    if (size < 8)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: file is %zu bytes, too short for the 8-byte header length", path,
                          size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | buf[i];
    if (hlen > MAX_HEADER_BYTES)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: header length %llu is larger than the limit of %u bytes", path,
                          (unsigned long long)hlen, MAX_HEADER_BYTES);
    if (hlen > size - 8)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: header length %llu runs past the end of the file (%zu bytes)", path,
                          (unsigned long long)hlen, size);
    f->data = buf + 8 + hlen;
    f->data_size = size - 8 - (size_t)hlen;

    const char *json = (const char *)buf + 8, *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, (size_t)hlen, &end, 0);
    if (!root) {
        size_t at = end && end >= json && end <= json + hlen ? (size_t)(end - json) : 0;
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: header is not valid JSON (error near byte %zu of %llu)", path, at,
                          (unsigned long long)hlen);
    }
    int rc = KSTT_OK;
    for (const char *p = end; p < json + hlen; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            rc = kstt__errf(err, errlen, KSTT_EFORMAT,
                            "%s: header has unexpected bytes after the JSON value (at byte %zu)",
                            path, (size_t)(p - json));
            goto done;
        }
    }
    if (!cJSON_IsObject(root)) {
        rc = kstt__errf(err, errlen, KSTT_EFORMAT, "%s: header is not a JSON object", path);
        goto done;
    }

    /* Pass 1: count tensors and metadata, size the string block, check __metadata__. */
    size_t n = 0, n_meta = 0, sbytes = 0;
    int seen_meta = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, root) {
        if (strcmp(it->string, "__metadata__") == 0) {
            if (seen_meta) {
                rc = kstt__errf(err, errlen, KSTT_EFORMAT, "%s: duplicate \"__metadata__\"", path);
                goto done;
            }
            seen_meta = 1;
            if (!cJSON_IsObject(it)) {
                rc = kstt__errf(err, errlen, KSTT_EFORMAT, "%s: __metadata__ is not an object",
                                path);
                goto done;
            }
            const cJSON *kv;
            cJSON_ArrayForEach(kv, it) {
                if (!cJSON_IsString(kv)) {
                    rc = kstt__errf(err, errlen, KSTT_EFORMAT,
                                    "%s: __metadata__ value of '%s' is not a string", path,
                                    kv->string);
                    goto done;
                }
                n_meta++;
                sbytes += string_bytes(kv->string) + string_bytes(kv->valuestring);
            }
        } else {
            n++;
            sbytes += string_bytes(it->string);
        }
    }

    f->entries = kstt__calloc(n ? n : 1, sizeof *f->entries);
    f->by_name = kstt__calloc(n ? n : 1, sizeof *f->by_name);
    f->meta = kstt__calloc(n_meta ? n_meta : 1, sizeof *f->meta);
    f->strings = kstt__alloc(sbytes ? sbytes : 1);
    if (!f->entries || !f->by_name || !f->meta || !f->strings) {
        rc = kstt__errf(err, errlen, KSTT_ENOMEM,
                        "%s: out of memory reading the header (%zu "
                        "tensors)",
                        path, n);
        goto done;
    }

    /* Pass 2: fill and validate each entry. */
    char *cursor = f->strings;
    cJSON_ArrayForEach(it, root) {
        if (strcmp(it->string, "__metadata__") == 0) {
            const cJSON *kv;
            cJSON_ArrayForEach(kv, it) {
                meta_kv *m = &f->meta[f->n_meta++];
                m->key = put_string(&cursor, kv->string);
                m->value = put_string(&cursor, kv->valuestring);
            }
            continue;
        }
        entry *e = &f->entries[f->n];
        e->t.name = put_string(&cursor, it->string);
        rc = parse_entry(f, it, e, err, errlen);
        if (rc)
            goto done;
        f->by_name[f->n] = e;
        f->n++;
    }

    /* Duplicates: adjacent after sorting by name. */
    qsort(f->by_name, f->n, sizeof *f->by_name, cmp_entry_name);
    for (size_t i = 1; i < f->n; i++) {
        if (strcmp(f->by_name[i - 1]->t.name, f->by_name[i]->t.name) == 0) {
            rc = kstt__errf(err, errlen, KSTT_EFORMAT, "%s: duplicate tensor name '%s'", path,
                            f->by_name[i]->t.name);
            goto done;
        }
    }

    /* Overlaps: sort a copy by offset, compare each non-empty range with the furthest end so
     * far. Empty tensors occupy no bytes and may sit anywhere in range. */
    if (f->n > 1) {
        entry **by_off = kstt__calloc(f->n, sizeof *by_off);
        if (!by_off) {
            rc = kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory reading the header", path);
            goto done;
        }
        memcpy(by_off, f->by_name, f->n * sizeof *by_off);
        qsort(by_off, f->n, sizeof *by_off, cmp_entry_begin);
        const entry *prev = NULL;
        for (size_t i = 0; i < f->n; i++) {
            const entry *e = by_off[i];
            if (e->begin == e->end)
                continue;
            if (prev && e->begin < prev->end) {
                rc = kstt__errf(err, errlen, KSTT_EFORMAT,
                                "%s: tensors '%s' [%llu, %llu) and '%s' [%llu, %llu) overlap", path,
                                prev->t.name, (unsigned long long)prev->begin,
                                (unsigned long long)prev->end, e->t.name,
                                (unsigned long long)e->begin, (unsigned long long)e->end);
                break;
            }
            if (!prev || e->end > prev->end)
                prev = e;
        }
        kstt__free(by_off);
    }

done:
    cJSON_Delete(root);
    return rc;
}

static int new_file(kstt__st_file **out, const char *name, char *err, size_t errlen) {
    kstt__st_file *f = kstt__calloc(1, sizeof *f);
    if (f)
        f->path = kstt__strdup(name);
    if (!f || !f->path) {
        kstt__free(f);
        return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", name);
    }
    *out = f;
    return KSTT_OK;
}

int kstt__st_open_memory(kstt__st_file **out, const void *buf, size_t size, const char *name,
                         char *err, size_t errlen) {
    *out = NULL;
    if (!name)
        name = "(memory)";
    if (!buf && size)
        return kstt__errf(err, errlen, KSTT_EINVAL, "%s: NULL buffer of %zu bytes", name, size);
    kstt__st_file *f = NULL;
    int rc = new_file(&f, name, err, errlen);
    if (rc)
        return rc;
    rc = parse_header(f, buf, size, err, errlen);
    if (rc) {
        kstt__st_close(f);
        return rc;
    }
    *out = f;
    return KSTT_OK;
}

int kstt__st_open(kstt__st_file **out, const char *path, char *err, size_t errlen) {
    *out = NULL;
    if (!path)
        return kstt__errf(err, errlen, KSTT_EINVAL, "safetensors: NULL path");
    void *map;
    size_t size;
    int rc = kstt__map_file(path, &map, &size, err, errlen);
    if (rc)
        return rc;
    kstt__st_file *f = NULL;
    if ((rc = new_file(&f, path, err, errlen))) {
        kstt__unmap_file(map, size);
        return rc;
    }
    f->map = map;
    f->map_size = size;
    rc = parse_header(f, f->map, size, err, errlen);
    if (rc) {
        kstt__st_close(f);
        return rc;
    }
    *out = f;
    return KSTT_OK;
}

void kstt__st_close(kstt__st_file *f) {
    if (!f)
        return;
    kstt__unmap_file(f->map, f->map_size);
    kstt__free(f->entries);
    kstt__free(f->by_name);
    kstt__free(f->meta);
    kstt__free(f->strings);
    kstt__free(f->path);
    kstt__free(f);
}

const char *kstt__st_path(const kstt__st_file *f) {
    return f->path;
}
size_t kstt__st_count(const kstt__st_file *f) {
    return f->n;
}

const kstt__tensor *kstt__st_at(const kstt__st_file *f, size_t i) {
    return i < f->n ? &f->entries[i].t : NULL;
}

const kstt__tensor *kstt__st_find(const kstt__st_file *f, const char *name) {
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, f->by_name[mid]->t.name);
        if (c == 0)
            return &f->by_name[mid]->t;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *kstt__st_metadata(const kstt__st_file *f, const char *key) {
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[i].key, key) == 0)
            return f->meta[i].value;
    return NULL;
}

size_t kstt__st_metadata_count(const kstt__st_file *f) {
    return f->n_meta;
}

int kstt__st_get(const kstt__st_file *f, const char *name, int ndim, const int64_t *shape,
                 const kstt__tensor **out, char *err, size_t errlen) {
    *out = NULL;
    const kstt__tensor *t = kstt__st_find(f, name);
    if (!t)
        return kstt__errf(err, errlen, KSTT_ENOTFOUND, "%s: missing tensor '%s'", f->path, name);
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        if (shape[i] >= 0 && shape[i] != t->shape[i])
            ok = 0;
    if (!ok) {
        char a[256], b[256];
        return kstt__errf(
            err, errlen, KSTT_EFORMAT, "%s: tensor '%s' has shape %s, expected %s", f->path, name,
            fmt_shape(a, sizeof a, t->ndim, t->shape),
            fmt_shape(b, sizeof b, ndim > 0 && ndim <= KSTT_ST_MAX_DIMS ? ndim : 0, shape));
    }
    *out = t;
    return KSTT_OK;
}

/* ---- conversions ------------------------------------------------------------------------- */

int kstt__st_to_f32(const kstt__st_file *f, const kstt__tensor *t, float *dst, char *err,
                    size_t errlen) {
    const unsigned char *p = t->data;
    size_t n = (size_t)t->numel;
    switch (t->dtype) {
    case KSTT_DT_F32:
        if (n)
            memcpy(dst, p, n * sizeof(float));
        return KSTT_OK;
    case KSTT_DT_BF16:
    case KSTT_DT_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
            dst[i] = t->dtype == KSTT_DT_BF16 ? kstt__bf16_to_f32(h) : kstt__f16_to_f32(h);
        }
        return KSTT_OK;
    case KSTT_DT_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, sizeof d);
            dst[i] = (float)d;
        }
        return KSTT_OK;
    default:
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: tensor '%s' has dtype %s, not a float type", f->path, t->name,
                          kstt__dtype_name(t->dtype));
    }
}

/* ---- writer ------------------------------------------------------------------------------ */

typedef struct {
    char *name;
    kstt__dtype dtype;
    int ndim;
    int64_t shape[KSTT_ST_MAX_DIMS];
    void *data;
    size_t nbytes;
} wtensor;

struct kstt__st_writer {
    wtensor *t;
    size_t n, cap;
    char **meta; /* key, value pairs */
    size_t n_meta, cap_meta;
};

int kstt__st_writer_new(kstt__st_writer **out) {
    *out = kstt__calloc(1, sizeof **out);
    return *out ? KSTT_OK : KSTT_ENOMEM;
}

void kstt__st_writer_free(kstt__st_writer *w) {
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++) {
        kstt__free(w->t[i].name);
        kstt__free(w->t[i].data);
    }
    for (size_t i = 0; i < 2 * w->n_meta; i++)
        kstt__free(w->meta[i]);
    kstt__free(w->meta);
    kstt__free(w->t);
    kstt__free(w);
}

int kstt__st_writer_add(kstt__st_writer *w, const char *name, kstt__dtype dtype, int ndim,
                        const int64_t *shape, const void *data) {
    if (!w || !name || (unsigned)dtype >= KSTT_DT_COUNT || ndim < 0 || ndim > KSTT_ST_MAX_DIMS ||
        (ndim > 0 && !shape) || strcmp(name, "__metadata__") == 0)
        return KSTT_EINVAL;
    uint64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return KSTT_EINVAL;
        if (shape[i] != 0 && numel > (uint64_t)INT64_MAX / (uint64_t)shape[i])
            return KSTT_ERANGE;
        numel *= (uint64_t)shape[i];
    }
    size_t esize = dtype_info[dtype].size;
    if (numel > SIZE_MAX / esize)
        return KSTT_ERANGE;
    size_t nbytes = (size_t)numel * esize;
    if (nbytes && !data)
        return KSTT_EINVAL;
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        wtensor *t = kstt__realloc(w->t, w->cap * sizeof *t, cap * sizeof *t);
        if (!t)
            return KSTT_ENOMEM;
        w->t = t;
        w->cap = cap;
    }
    wtensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    t->name = kstt__strdup(name);
    t->data = kstt__alloc(nbytes ? nbytes : 1);
    if (!t->name || !t->data) {
        kstt__free(t->name);
        kstt__free(t->data);
        return KSTT_ENOMEM;
    }
    if (nbytes)
        memcpy(t->data, data, nbytes);
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->nbytes = nbytes;
    w->n++;
    return KSTT_OK;
}

int kstt__st_writer_set_metadata(kstt__st_writer *w, const char *key, const char *value) {
    if (!w || !key || !value)
        return KSTT_EINVAL;
    for (size_t i = 0; i < w->n_meta; i++) {
        if (strcmp(w->meta[2 * i], key) == 0) {
            char *v = kstt__strdup(value);
            if (!v)
                return KSTT_ENOMEM;
            kstt__free(w->meta[2 * i + 1]);
            w->meta[2 * i + 1] = v;
            return KSTT_OK;
        }
    }
    if (w->n_meta == w->cap_meta) {
        size_t cap = w->cap_meta ? 2 * w->cap_meta : 4;
        char **m = kstt__realloc(w->meta, 2 * w->cap_meta * sizeof *m, 2 * cap * sizeof *m);
        if (!m)
            return KSTT_ENOMEM;
        w->meta = m;
        w->cap_meta = cap;
    }
    char *k = kstt__strdup(key), *v = kstt__strdup(value);
    if (!k || !v) {
        kstt__free(k);
        kstt__free(v);
        return KSTT_ENOMEM;
    }
    w->meta[2 * w->n_meta] = k;
    w->meta[2 * w->n_meta + 1] = v;
    w->n_meta++;
    return KSTT_OK;
}

/* Growable text buffer for the JSON header. */
typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = kstt__realloc(b->p, b->cap, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_str(sbuf *b, const char *s) {
    sb_put(b, s, strlen(s));
}

static void sb_fmt(sbuf *b, const char *fmt, unsigned long long v) {
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, fmt, v);
    sb_put(b, tmp, (size_t)n);
}

/* A JSON string literal: quotes, backslashes and control bytes escaped; other bytes as is. */
static void sb_json_string(sbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sb_put(b, e, 2);
        } else if (c < 0x20) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", c);
            sb_put(b, e, 6);
        } else {
            sb_put(b, s, 1);
        }
    }
    sb_put(b, "\"", 1);
}

static int cmp_wtensor_name(const void *a, const void *b) {
    const wtensor *x = *(const wtensor *const *)a, *y = *(const wtensor *const *)b;
    return strcmp(x->name, y->name);
}

static int cmp_wtensor(const void *a, const void *b) {
    const wtensor *x = *(const wtensor *const *)a, *y = *(const wtensor *const *)b;
    size_t sx = dtype_info[x->dtype].size, sy = dtype_info[y->dtype].size;
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return strcmp(x->name, y->name);
}

int kstt__st_writer_save(kstt__st_writer *w, const char *path, char *err, size_t errlen) {
    int rc = KSTT_OK;
    sbuf b = {0};
    FILE *fp = NULL;
    wtensor **order = kstt__calloc(w->n ? w->n : 1, sizeof *order);
    if (!order)
        return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < w->n; i++)
        order[i] = &w->t[i];
    /* Duplicates are adjacent when sorted by name; then sort into the layout order. */
    qsort(order, w->n, sizeof *order, cmp_wtensor_name);
    for (size_t i = 1; i < w->n; i++) {
        if (strcmp(order[i - 1]->name, order[i]->name) == 0) {
            rc = kstt__errf(err, errlen, KSTT_EINVAL, "%s: duplicate tensor name '%s'", path,
                            order[i]->name);
            goto done;
        }
    }
    qsort(order, w->n, sizeof *order, cmp_wtensor);

    sb_put(&b, "{", 1);
    int first = 1;
    if (w->n_meta) {
        sb_str(&b, "\"__metadata__\":{");
        for (size_t i = 0; i < w->n_meta; i++) {
            if (i)
                sb_put(&b, ",", 1);
            sb_json_string(&b, w->meta[2 * i]);
            sb_put(&b, ":", 1);
            sb_json_string(&b, w->meta[2 * i + 1]);
        }
        sb_put(&b, "}", 1);
        first = 0;
    }
    unsigned long long off = 0;
    for (size_t i = 0; i < w->n; i++) {
        const wtensor *t = order[i];
        if (!first)
            sb_put(&b, ",", 1);
        first = 0;
        sb_json_string(&b, t->name);
        sb_str(&b, ":{\"dtype\":\"");
        sb_str(&b, dtype_info[t->dtype].name);
        sb_str(&b, "\",\"shape\":[");
        for (int k = 0; k < t->ndim; k++)
            sb_fmt(&b, k ? ",%llu" : "%llu", (unsigned long long)t->shape[k]);
        sb_fmt(&b, "],\"data_offsets\":[%llu,", off);
        off += t->nbytes;
        sb_fmt(&b, "%llu]}", off);
    }
    sb_put(&b, "}", 1);
    while (b.len % 8)
        sb_put(&b, " ", 1);
    if (b.oom) {
        rc = kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory building the header", path);
        goto done;
    }

    fp = fopen(path, "wb");
    if (!fp) {
        rc = kstt__errf(err, errlen, KSTT_EIO, "%s: cannot open for writing: %s", path,
                        strerror(errno));
        goto done;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((unsigned long long)b.len >> (8 * i));
    int ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(b.p, 1, b.len, fp) == b.len;
    for (size_t i = 0; ok && i < w->n; i++)
        if (order[i]->nbytes)
            ok = fwrite(order[i]->data, 1, order[i]->nbytes, fp) == order[i]->nbytes;
    int e = errno;
    if (fclose(fp) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!ok)
        rc = kstt__errf(err, errlen, KSTT_EIO, "%s: write failed: %s", path, strerror(e));

done:
    kstt__free(b.p);
    kstt__free(order);
    return rc;
}
