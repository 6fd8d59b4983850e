/*
 * safetensors reader and writer: a writer round trip (layout, alignment, values, metadata),
 * the golden files (BF16 LM, F32/F64/I32 reference tensors) against values decoded by Python,
 * every validation error with its exact text, kstt__st_get's errors, and the float conversions.
 */
#include <stdlib.h>
#include <unistd.h>

#include "core/alloc.h"
#include "io/safetensors.h"
#include "kernels/kernels.h"
#include "test.h"

#define NAME "model.safetensors"

static char tmpdir[256];

/* A file image: u64 header length, the JSON text (no padding), then `data_len` bytes of a
 * ramp. The caller frees it with free(). */
static unsigned char *image(const char *json, size_t data_len, size_t *size) {
    size_t hl = strlen(json);
    *size = 8 + hl + data_len;
    unsigned char *b = malloc(*size);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((unsigned long long)hl >> (8 * i));
    memcpy(b + 8, json, hl);
    for (size_t i = 0; i < data_len; i++)
        b[8 + hl + i] = (unsigned char)i;
    return b;
}

/* Opens an image that must be rejected, and returns its message (static buffer). */
static const char *open_err(const char *json, size_t data_len, int *rc) {
    static char err[512];
    size_t size;
    unsigned char *b = image(json, data_len, &size);
    kstt__st_file *f = (kstt__st_file *)1;
    err[0] = 0;
    *rc = kstt__st_open_memory(&f, b, size, NAME, err, sizeof err);
    if (*rc == KSTT_OK) {
        kstt__st_close(f);
        snprintf(err, sizeof err, "(accepted)");
    } else if (f != NULL) {
        snprintf(err, sizeof err, "(out not cleared)");
    }
    free(b);
    return err;
}

#define EXPECT_REJECT(json, data_len, text)                                                        \
    do {                                                                                           \
        int rc_;                                                                                   \
        long long live_ = kstt__alloc_live_bytes();                                                \
        const char *e_ = open_err(json, data_len, &rc_);                                           \
        ASSERT_STR_EQ(e_, text);                                                                   \
        ASSERT_INT_EQ(rc_, KSTT_EFORMAT);                                                          \
        ASSERT_INT_EQ(kstt__alloc_live_bytes(), live_);                                            \
    } while (0)

/* ---- round trip -------------------------------------------------------------------------- */

static void test_round_trip(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/rt.safetensors", tmpdir);
    kstt__st_writer *w;
    ASSERT_INT_EQ(kstt__st_writer_new(&w), KSTT_OK);

    float f32[6] = {1.5f, -2.25f, 0.0f, 3e-5f, -1e10f, 7.0f};
    uint16_t bf16[3] = {0x3f80, 0xc000, 0x3d8c}; /* 1, -2, 0.068359375 */
    uint16_t f16[3] = {0x3c00, 0xc000, 0x0001};  /* 1, -2, 2^-24 */
    double f64[2] = {0.1, -1e300};
    int32_t i32[3] = {-7, 0, 2147483647};
    uint8_t u8[5] = {1, 2, 3, 4, 5};
    float scalar = 42.0f;
    int64_t s_f32[2] = {2, 3}, s3[1] = {3}, s2[1] = {2}, s5[1] = {5}, s_empty[2] = {0, 3};

    ASSERT_INT_EQ(kstt__st_writer_add(w, "b.weight", KSTT_DT_F32, 2, s_f32, f32), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_add(w, "a.bf16", KSTT_DT_BF16, 1, s3, bf16), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_add(w, "c.f16", KSTT_DT_F16, 1, s3, f16), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_add(w, "z.f64", KSTT_DT_F64, 1, s2, f64), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_add(w, "i\"q\\x", KSTT_DT_I32, 1, s3, i32), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_add(w, "u8", KSTT_DT_U8, 1, s5, u8), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_add(w, "scalar", KSTT_DT_F32, 0, NULL, &scalar), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_add(w, "empty", KSTT_DT_F32, 2, s_empty, NULL), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_add(w, "__metadata__", KSTT_DT_F32, 0, NULL, &scalar),
                  KSTT_EINVAL);
    ASSERT_INT_EQ(kstt__st_writer_set_metadata(w, "format", "pt"), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_set_metadata(w, "note", "old"), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_set_metadata(w, "note", "line\n\"quoted\""), KSTT_OK);
    char err[512] = "";
    ASSERT_INT_EQ(kstt__st_writer_save(w, path, err, sizeof err), KSTT_OK);
    kstt__st_writer_free(w);

    /* Header length and data start are multiples of 8; padding is spaces. */
    size_t fsize;
    unsigned char *raw = test_read_file(path, &fsize);
    ASSERT_TRUE(raw != NULL);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = (hl << 8) | raw[i];
    ASSERT_INT_EQ(hl % 8, 0);
    ASSERT_TRUE(raw[8] == '{');
    size_t last = 8 + (size_t)hl - 1;
    while (raw[last] == ' ')
        last--;
    ASSERT_INT_EQ(raw[last], '}');
    ASSERT_TRUE(8 + hl - 1 - last < 8);
    free(raw);

    kstt__st_file *f;
    ASSERT_INT_EQ(kstt__st_open(&f, path, err, sizeof err), KSTT_OK);
    ASSERT_STR_EQ(kstt__st_path(f), path);
    ASSERT_INT_EQ(kstt__st_count(f), 8);
    ASSERT_STR_EQ(kstt__st_metadata(f, "format"), "pt");
    ASSERT_STR_EQ(kstt__st_metadata(f, "note"), "line\n\"quoted\"");
    ASSERT_TRUE(kstt__st_metadata(f, "absent") == NULL);
    ASSERT_INT_EQ(kstt__st_metadata_count(f), 2);

    /* Layout: element size descending, then name; contiguous from 0. */
    static const char *order[] = {"z.f64",  "b.weight", "empty", "i\"q\\x",
                                  "scalar", "a.bf16",   "c.f16", "u8"};
    const unsigned char *base = kstt__st_at(f, 0)->data;
    size_t expect_off = 0;
    for (size_t i = 0; i < 8; i++) {
        const kstt__tensor *t = kstt__st_at(f, i);
        ASSERT_STR_EQ(t->name, order[i]);
        ASSERT_INT_EQ((const unsigned char *)t->data - base, expect_off);
        ASSERT_INT_EQ(((uintptr_t)t->data) % kstt__dtype_size(t->dtype), 0);
        ASSERT_TRUE(kstt__st_find(f, t->name) == t);
        expect_off += t->nbytes;
    }
    ASSERT_TRUE(kstt__st_at(f, 8) == NULL);
    ASSERT_TRUE(kstt__st_find(f, "nope") == NULL);

    const kstt__tensor *t;
    float out[8];
    int64_t want[2] = {2, 3};
    ASSERT_INT_EQ(kstt__st_get(f, "b.weight", 2, want, &t, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(t->dtype, KSTT_DT_F32);
    ASSERT_INT_EQ(t->numel, 6);
    ASSERT_INT_EQ(t->nbytes, 24);
    ASSERT_INT_EQ(memcmp(t->data, f32, sizeof f32), 0);

    t = kstt__st_find(f, "a.bf16");
    ASSERT_INT_EQ(kstt__st_to_f32(f, t, out, err, sizeof err), KSTT_OK);
    ASSERT_TRUE(out[0] == 1.0f && out[1] == -2.0f && out[2] == 0.068359375f);
    t = kstt__st_find(f, "c.f16");
    ASSERT_INT_EQ(kstt__st_to_f32(f, t, out, err, sizeof err), KSTT_OK);
    ASSERT_TRUE(out[0] == 1.0f && out[1] == -2.0f && out[2] == ldexpf(1.0f, -24));
    t = kstt__st_find(f, "z.f64");
    ASSERT_INT_EQ(kstt__st_to_f32(f, t, out, err, sizeof err), KSTT_OK);
    ASSERT_TRUE(out[0] == 0.1f && isinf(out[1]) && out[1] < 0);
    t = kstt__st_find(f, "i\"q\\x");
    ASSERT_TRUE(t != NULL);
    ASSERT_INT_EQ(memcmp(t->data, i32, sizeof i32), 0);
    t = kstt__st_find(f, "scalar");
    ASSERT_INT_EQ(t->ndim, 0);
    ASSERT_INT_EQ(t->numel, 1);
    ASSERT_INT_EQ(kstt__st_to_f32(f, t, out, err, sizeof err), KSTT_OK);
    ASSERT_TRUE(out[0] == 42.0f);
    t = kstt__st_find(f, "empty");
    ASSERT_INT_EQ(t->numel, 0);
    ASSERT_INT_EQ(t->nbytes, 0);
    t = kstt__st_find(f, "u8");
    ASSERT_INT_EQ(memcmp(t->data, u8, sizeof u8), 0);
    ASSERT_INT_EQ(kstt__st_to_f32(f, t, out, err, sizeof err), KSTT_EFORMAT);
    char want_err[1024];
    snprintf(want_err, sizeof want_err, "%s: tensor 'u8' has dtype U8, not a float type", path);
    ASSERT_STR_EQ(err, want_err);
    kstt__st_close(f);
    unlink(path);
}

static void test_writer_errors(void) {
    kstt__st_writer *w;
    ASSERT_INT_EQ(kstt__st_writer_new(&w), KSTT_OK);
    float x[2] = {1, 2};
    int64_t s[1] = {2}, neg[1] = {-1}, big[3] = {INT64_MAX / 2, 4, 4};
    ASSERT_INT_EQ(kstt__st_writer_add(w, "x", KSTT_DT_F32, 1, s, x), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_add(w, "x", KSTT_DT_BF16, 1, s, x), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_add(w, "n", KSTT_DT_F32, 1, neg, x), KSTT_EINVAL);
    ASSERT_INT_EQ(kstt__st_writer_add(w, "n", KSTT_DT_F32, 9, big, x), KSTT_EINVAL);
    ASSERT_INT_EQ(kstt__st_writer_add(w, "n", KSTT_DT_F32, 3, big, x), KSTT_ERANGE);
    ASSERT_INT_EQ(kstt__st_writer_add(w, "n", KSTT_DT_COUNT, 1, s, x), KSTT_EINVAL);
    ASSERT_INT_EQ(kstt__st_writer_add(w, "n", KSTT_DT_F32, 1, s, NULL), KSTT_EINVAL);
    char path[512], err[512], want[1024];
    snprintf(path, sizeof path, "%s/dup.safetensors", tmpdir);
    ASSERT_INT_EQ(kstt__st_writer_save(w, path, err, sizeof err), KSTT_EINVAL);
    snprintf(want, sizeof want, "%s: duplicate tensor name 'x'", path);
    ASSERT_STR_EQ(err, want);
    kstt__st_writer_free(w);

    ASSERT_INT_EQ(kstt__st_writer_new(&w), KSTT_OK);
    snprintf(path, sizeof path, "%s/no/such/dir/x.safetensors", tmpdir);
    ASSERT_INT_EQ(kstt__st_writer_save(w, path, err, sizeof err), KSTT_EIO);
    snprintf(want, sizeof want, "%s: cannot open for writing: No such file or directory", path);
    ASSERT_STR_EQ(err, want);
    kstt__st_writer_free(w);
}

/* Every allocation failing in turn: open and save fail cleanly, without leaks. */
static void test_alloc_failures(void) {
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/fi.safetensors", tmpdir);
    kstt__st_writer *w;
    ASSERT_INT_EQ(kstt__st_writer_new(&w), KSTT_OK);
    float x[4] = {1, 2, 3, 4};
    int64_t s[2] = {2, 2};
    ASSERT_INT_EQ(kstt__st_writer_add(w, "a", KSTT_DT_F32, 2, s, x), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_add(w, "b", KSTT_DT_F32, 2, s, x), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_set_metadata(w, "k", "v"), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_save(w, path, err, sizeof err), KSTT_OK);
    kstt__st_writer_free(w);
    long long live = kstt__alloc_live_bytes();
    int failures = 0;
    for (long n = 0; n < 64; n++) {
        kstt__alloc_fail_after(n);
        kstt__st_file *f = NULL;
        int rc = kstt__st_open(&f, path, err, sizeof err);
        kstt__alloc_fail_after(-1);
        if (rc == KSTT_OK) {
            ASSERT_INT_EQ(kstt__st_count(f), 2);
            kstt__st_close(f);
            break;
        }
        ASSERT_INT_EQ(rc, KSTT_ENOMEM);
        ASSERT_TRUE(f == NULL);
        ASSERT_TRUE(strncmp(err, path, strlen(path)) == 0);
        ASSERT_INT_EQ(kstt__alloc_live_bytes(), live);
        failures++;
    }
    ASSERT_TRUE(failures >= 3);
    unlink(path);
}

/* ---- golden files ------------------------------------------------------------------------ */

static void test_golden_lm_bf16(void) {
    char err[512];
    kstt__st_file *f;
    ASSERT_INT_EQ(kstt__st_open(&f, test_golden("stt_tiny/model.safetensors"), err, sizeof err),
                  KSTT_OK);
    ASSERT_INT_EQ(kstt__st_count(f), 27);
    for (size_t i = 0; i < kstt__st_count(f); i++)
        ASSERT_INT_EQ(kstt__st_at(f, i)->dtype, KSTT_DT_BF16);
    const kstt__tensor *t;
    int64_t emb[2] = {129, 64}, alpha[3] = {1, 1, -1};
    ASSERT_INT_EQ(kstt__st_get(f, "text_emb.weight", 2, emb, &t, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(t->numel, 129 * 64);
    float *v = malloc(129 * 64 * sizeof *v);
    ASSERT_INT_EQ(kstt__st_to_f32(f, t, v, err, sizeof err), KSTT_OK);
    /* Decoded independently with Python's struct module. */
    ASSERT_TRUE(v[0] == 0.068359375f && v[1] == 0.068359375f && v[2] == 0.07763671875f &&
                v[3] == 0.02099609375f);
    free(v);
    ASSERT_INT_EQ(kstt__st_get(f, "out_norm.alpha", 3, alpha, &t, err, sizeof err), KSTT_OK);
    float a[64];
    ASSERT_INT_EQ(kstt__st_to_f32(f, t, a, err, sizeof err), KSTT_OK);
    ASSERT_TRUE(a[0] == 0.96484375f && a[1] == 0.94921875f);

    /* kstt__st_get errors. */
    char want[1024];
    int64_t wrong[2] = {128, 64};
    ASSERT_INT_EQ(kstt__st_get(f, "text_emb.weight", 2, wrong, &t, err, sizeof err), KSTT_EFORMAT);
    ASSERT_TRUE(t == NULL);
    snprintf(want, sizeof want,
             "%s: tensor 'text_emb.weight' has shape [129, 64], expected [128, 64]",
             kstt__st_path(f));
    ASSERT_STR_EQ(err, want);
    int64_t any1[1] = {-1};
    ASSERT_INT_EQ(kstt__st_get(f, "text_emb.weight", 1, any1, &t, err, sizeof err), KSTT_EFORMAT);
    snprintf(want, sizeof want, "%s: tensor 'text_emb.weight' has shape [129, 64], expected [*]",
             kstt__st_path(f));
    ASSERT_STR_EQ(err, want);
    ASSERT_INT_EQ(kstt__st_get(f, "no.such.weight", 2, emb, &t, err, sizeof err), KSTT_ENOTFOUND);
    snprintf(want, sizeof want, "%s: missing tensor 'no.such.weight'", kstt__st_path(f));
    ASSERT_STR_EQ(err, want);
    kstt__st_close(f);
}

static void test_golden_mimi_ref(void) {
    char err[512];
    kstt__st_file *f;
    ASSERT_INT_EQ(kstt__st_open(&f, test_golden("mimi_tiny_ref.safetensors"), err, sizeof err),
                  KSTT_OK);
    ASSERT_INT_EQ(kstt__st_count(f), 47);
    ASSERT_STR_EQ(kstt__st_metadata(f, "note"), "see README.md");
    const kstt__tensor *t32, *t64, *codes;
    int64_t lat[2] = {125, 64}, cs[2] = {125, 8};
    ASSERT_INT_EQ(kstt__st_get(f, "bria.latent", 2, lat, &t32, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_get(f, "bria.f64.latent", 2, lat, &t64, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_get(f, "bria.codes", 2, cs, &codes, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(t32->dtype, KSTT_DT_F32);
    ASSERT_INT_EQ(t64->dtype, KSTT_DT_F64);
    ASSERT_INT_EQ(codes->dtype, KSTT_DT_I32);
    float a[125 * 64], b[125 * 64];
    ASSERT_INT_EQ(kstt__st_to_f32(f, t32, a, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_to_f32(f, t64, b, err, sizeof err), KSTT_OK);
    ASSERT_TRUE(a[0] == -0.41034817695617676f && a[1] == -0.9792559146881104f);
    ASSERT_TRUE(b[0] == (float)-0.4103483010337539 && b[2] == (float)-0.37716428948637615);
    /* The float32 and float64 runs agree to float32 noise. */
    double maxd = 0;
    for (int i = 0; i < 125 * 64; i++)
        maxd = fmax(maxd, fabs((double)a[i] - b[i]));
    ASSERT_TRUE(maxd < 1e-3);
    int32_t c[8];
    memcpy(c, codes->data, sizeof c);
    static const int32_t first[8] = {34, 37, 43, 8, 36, 17, 1, 32};
    ASSERT_INT_EQ(memcmp(c, first, sizeof c), 0);
    memcpy(c, (const int32_t *)codes->data + 124 * 8, sizeof c);
    static const int32_t last[8] = {8, 12, 27, 53, 53, 20, 63, 35};
    ASSERT_INT_EQ(memcmp(c, last, sizeof c), 0);
    ASSERT_INT_EQ(kstt__st_to_f32(f, codes, a, err, sizeof err), KSTT_EFORMAT);
    kstt__st_close(f);
}

/* ---- conversions ------------------------------------------------------------------------- */

static void test_conversions(void) {
    /* f16: normals, subnormals, zeros, inf, nan, max. */
    static const struct {
        uint16_t h;
        float f;
    } f16[] = {
        {0x0000, 0.0f},
        {0x3c00, 1.0f},
        {0xc000, -2.0f},
        {0x3555, 0.333251953125f},
        {0x7bff, 65504.0f},
        {0x0400, 6.103515625e-05f},
        {0x03ff, 6.0975551605224609e-05f},
        {0x0001, 5.9604644775390625e-08f},
        {0x8001, -5.9604644775390625e-08f},
        {0x7c00, INFINITY},
        {0xfc00, -INFINITY},
    };
    for (size_t i = 0; i < sizeof f16 / sizeof f16[0]; i++) {
        float x = kstt__f16_to_f32(f16[i].h);
        if (x != f16[i].f) {
            TEST_FAIL_("f16 0x%04x -> %.9g, want %.9g", f16[i].h, x, f16[i].f);
            return;
        }
    }
    ASSERT_TRUE(isnan(kstt__f16_to_f32(0x7e00)));
    ASSERT_TRUE(signbit(kstt__f16_to_f32(0x8000)) && kstt__f16_to_f32(0x8000) == 0.0f);

    /* Through kstt__st_to_f32, from an unaligned in-memory image (odd data start). */
    const char *json = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                       "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]},"
                       "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]}}";
    size_t hl = strlen(json), size = 8 + hl + 16;
    ASSERT_TRUE(hl % 2 == 1 || hl % 8 != 0);
    unsigned char *buf = malloc(size);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(hl >> (8 * i));
    memcpy(buf + 8, json, hl);
    unsigned char *d = buf + 8 + hl;
    const unsigned char data[16] = {0x00, 0x3c, 0x01, 0x80, 0x80, 0xbf, 0x80, 0x7f,
                                    0,    0,    0,    0,    0,    0,    0xf0, 0x3f};
    memcpy(d, data, 16);
    kstt__st_file *f;
    char err[256];
    ASSERT_INT_EQ(kstt__st_open_memory(&f, buf, size, NAME, err, sizeof err), KSTT_OK);
    float out[2];
    ASSERT_INT_EQ(kstt__st_to_f32(f, kstt__st_find(f, "h"), out, err, sizeof err), KSTT_OK);
    ASSERT_TRUE(out[0] == 1.0f && out[1] == -5.9604644775390625e-08f);
    ASSERT_INT_EQ(kstt__st_to_f32(f, kstt__st_find(f, "b"), out, err, sizeof err), KSTT_OK);
    ASSERT_TRUE(out[0] == -1.0f && isinf(out[1]) && out[1] > 0);
    ASSERT_INT_EQ(kstt__st_to_f32(f, kstt__st_find(f, "d"), out, err, sizeof err), KSTT_OK);
    ASSERT_TRUE(out[0] == 1.0f);
    ASSERT_TRUE(strcmp(kstt__dtype_name(KSTT_DT_BF16), "BF16") == 0 &&
                kstt__dtype_size(KSTT_DT_BF16) == 2 && kstt__dtype_size(KSTT_DT_BOOL) == 1);
    kstt__st_close(f);
    free(buf);
}

/* ---- validation errors ------------------------------------------------------------------- */

static void test_err_header_length(void) {
    char err[256];
    kstt__st_file *f;
    unsigned char b[64] = {0};
    ASSERT_INT_EQ(kstt__st_open_memory(&f, b, 5, NAME, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_EQ(err, NAME ": file is 5 bytes, too short for the 8-byte header length");
    b[0] = 0xe8, b[1] = 0x03; /* 1000 */
    ASSERT_INT_EQ(kstt__st_open_memory(&f, b, 20, NAME, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_EQ(err, NAME ": header length 1000 runs past the end of the file (20 bytes)");
    /* 100,000,001 = 0x05F5E101 */
    b[0] = 0x01, b[1] = 0xe1, b[2] = 0xf5, b[3] = 0x05;
    ASSERT_INT_EQ(kstt__st_open_memory(&f, b, 20, NAME, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_EQ(err, NAME ": header length 100000001 is larger than the limit of 100000000 "
                            "bytes");
    memset(b, 0xff, 8);
    ASSERT_INT_EQ(kstt__st_open_memory(&f, b, 20, NAME, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_EQ(err, NAME ": header length 18446744073709551615 is larger than the limit of "
                            "100000000 bytes");
    ASSERT_TRUE(f == NULL);
}

static void test_err_json(void) {
    EXPECT_REJECT("{\"a\": ", 0, NAME ": header is not valid JSON (error near byte 5 of 6)");
    EXPECT_REJECT("", 0, NAME ": header is not valid JSON (error near byte 0 of 0)");
    EXPECT_REJECT("[1, 2]", 0, NAME ": header is not a JSON object");
    EXPECT_REJECT("\"str\"", 0, NAME ": header is not a JSON object");
    EXPECT_REJECT("{} x", 0, NAME ": header has unexpected bytes after the JSON value (at byte 3)");
    /* Padding with spaces is fine; an empty object is a valid file with no tensors. */
    int rc;
    ASSERT_STR_EQ(open_err("{}      ", 0, &rc), "(accepted)");
}

static void test_err_entry(void) {
    EXPECT_REJECT("{\"x\": 1}", 0, NAME ": tensor 'x': entry is not an object");
    EXPECT_REJECT("{\"x\": [\"F32\"]}", 0, NAME ": tensor 'x': entry is not an object");
}

static void test_err_dtype(void) {
    EXPECT_REJECT("{\"x\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
                  NAME ": tensor 'x': missing \"dtype\"");
    EXPECT_REJECT("{\"x\": {\"dtype\": 4, \"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
                  NAME ": tensor 'x': \"dtype\" is not a string");
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F8_E4M3\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 1,
                  NAME ": tensor 'x': unknown dtype \"F8_E4M3\"");
    EXPECT_REJECT("{\"x\": {\"dtype\": \"f32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
                  NAME ": tensor 'x': unknown dtype \"f32\"");
}

static void test_err_shape(void) {
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4,
                  NAME ": tensor 'x': missing \"shape\"");
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F32\", \"shape\": 4, \"data_offsets\": [0, 4]}}", 4,
                  NAME ": tensor 'x': \"shape\" is not an array");
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F32\", \"shape\": [2, -1], \"data_offsets\": [0, 4]}}", 4,
                  NAME ": tensor 'x': shape dim 1 is not a non-negative integer");
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", 4,
                  NAME ": tensor 'x': shape dim 0 is not a non-negative integer");
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F32\", \"shape\": [\"2\"], \"data_offsets\": [0, 8]}}", 8,
                  NAME ": tensor 'x': shape dim 0 is not a non-negative integer");
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F32\", \"shape\": [1e300], \"data_offsets\": [0, 4]}}", 4,
                  NAME ": tensor 'x': shape dim 0 is larger than 2^53");
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F32\", \"shape\": [1, 9007199254740994], "
                  "\"data_offsets\": [0, 4]}}",
                  4, NAME ": tensor 'x': shape dim 1 is larger than 2^53");
    EXPECT_REJECT("{\"x\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,1,1], "
                  "\"data_offsets\": [0, 1]}}",
                  1, NAME ": tensor 'x': shape has rank 9, more than the maximum of 8");
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], "
                  "\"data_offsets\": [0, 4]}}",
                  4,
                  NAME ": tensor 'x': shape [4294967296, 4294967296] of F32 overflows the "
                       "byte count");
    /* 2^62 elements fit in int64, their 2^65 bytes do not. */
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F64\", \"shape\": [9007199254740992, 512], "
                  "\"data_offsets\": [0, 4]}}",
                  4,
                  NAME ": tensor 'x': shape [9007199254740992, 512] of F64 overflows the byte "
                       "count");
    /* A zero dim makes the tensor empty even next to huge dims; rank 8 is allowed. */
    int rc;
    ASSERT_STR_EQ(open_err("{\"x\": {\"dtype\": \"F32\", \"shape\": [9007199254740992, 0, "
                           "9007199254740992], \"data_offsets\": [0, 0]}}",
                           0, &rc),
                  "(accepted)");
    ASSERT_STR_EQ(open_err("{\"x\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,2], "
                           "\"data_offsets\": [0, 2]}}",
                           2, &rc),
                  "(accepted)");
}

static void test_err_offsets(void) {
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4,
                  NAME ": tensor 'x': missing \"data_offsets\"");
    const char *ill = NAME ": tensor 'x': \"data_offsets\" is not an array of two non-negative "
                           "integers";
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4, ill);
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, 8]}}", 8,
                  ill);
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, 0]}}", 4,
                  ill);
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": \"0-4\"}}", 4,
                  ill);
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, null]}}", 4,
                  ill);
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 4]}}", 8,
                  NAME ": tensor 'x': data_offsets [8, 4) have begin > end");
    EXPECT_REJECT("{\"x\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 12,
                  NAME ": tensor 'x': data_offsets [0, 16) run past the end of the data block "
                       "(12 bytes)");
    EXPECT_REJECT("{\"x.weight\": {\"dtype\": \"F32\", \"shape\": [2, 4], "
                  "\"data_offsets\": [0, 12]}}",
                  32,
                  NAME ": tensor 'x.weight': data_offsets [0, 12) hold 12 bytes but shape "
                       "[2, 4] of F32 needs 32");
    EXPECT_REJECT("{\"s\": {\"dtype\": \"BF16\", \"shape\": [], \"data_offsets\": [0, 4]}}", 4,
                  NAME ": tensor 's': data_offsets [0, 4) hold 4 bytes but shape [] of BF16 "
                       "needs 2");
}

static void test_err_overlap_duplicate(void) {
    EXPECT_REJECT("{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
                  " \"b\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [12, 28]}}",
                  28, NAME ": tensors 'a' [0, 16) and 'b' [12, 28) overlap");
    /* Contained range, listed first in the header. */
    EXPECT_REJECT("{\"in\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]},"
                  " \"c\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [16, 20]},"
                  " \"out\": {\"dtype\": \"F32\", \"shape\": [8], \"data_offsets\": [0, 32]}}",
                  32, NAME ": tensors 'out' [0, 32) and 'in' [8, 12) overlap");
    /* Identical ranges. */
    EXPECT_REJECT("{\"a\": {\"dtype\": \"I32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                  " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}",
                  4, NAME ": tensors 'a' [0, 4) and 'b' [0, 4) overlap");
    EXPECT_REJECT("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                  " \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
                  8, NAME ": duplicate tensor name 'a'");
    /* Empty tensors overlap nothing; adjacent ranges and gaps are fine. */
    int rc;
    ASSERT_STR_EQ(
        open_err("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                 " \"e\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [4, 4]},"
                 " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]},"
                 " \"c\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [20, 21]}}",
                 24, &rc),
        "(accepted)");
}

static void test_err_metadata(void) {
    EXPECT_REJECT("{\"__metadata__\": [\"a\"]}", 0, NAME ": __metadata__ is not an object");
    EXPECT_REJECT("{\"__metadata__\": {\"a\": \"b\", \"n\": 3}}", 0,
                  NAME ": __metadata__ value of 'n' is not a string");
    EXPECT_REJECT("{\"__metadata__\": {\"o\": {}}}", 0,
                  NAME ": __metadata__ value of 'o' is not a string");
    EXPECT_REJECT("{\"__metadata__\": {}, \"__metadata__\": {}}", 0,
                  NAME ": duplicate \"__metadata__\"");
}

static void test_err_files(void) {
    char path[512], err[512], want[1024];
    kstt__st_file *f = (kstt__st_file *)1;
    snprintf(path, sizeof path, "%s/absent.safetensors", tmpdir);
    ASSERT_INT_EQ(kstt__st_open(&f, path, err, sizeof err), KSTT_ENOTFOUND);
    ASSERT_TRUE(f == NULL);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
    ASSERT_STR_EQ(err, want);
    ASSERT_INT_EQ(kstt__st_open(&f, tmpdir, err, sizeof err), KSTT_EIO);
    snprintf(want, sizeof want, "%s: not a regular file", tmpdir);
    ASSERT_STR_EQ(err, want);
    snprintf(path, sizeof path, "%s/empty.safetensors", tmpdir);
    FILE *fp = fopen(path, "wb");
    ASSERT_TRUE(fp != NULL);
    fclose(fp);
    ASSERT_INT_EQ(kstt__st_open(&f, path, err, sizeof err), KSTT_EFORMAT);
    snprintf(want, sizeof want, "%s: file is 0 bytes, too short for the 8-byte header length",
             path);
    ASSERT_STR_EQ(err, want);
    unlink(path);
    /* A NULL err buffer is allowed. */
    ASSERT_INT_EQ(kstt__st_open(&f, path, NULL, 0), KSTT_ENOTFOUND);
}

/* The fuzz seed corpus: valid_* files open, bad_* files are rejected with the path first. */
static void test_fuzz_corpus(void) {
    const char *src = getenv("KSTT_SOURCE_DIR");
    ASSERT_TRUE(src != NULL);
    static const char *valid[] = {"valid_f32", "valid_mixed", "valid_empty", "valid_rank8"};
    static const char *bad[] = {
        "bad_short",         "bad_hlen_past_eof",    "bad_json", "bad_not_object",
        "bad_size_mismatch", "bad_overlap",          "bad_dup",  "bad_dtype",
        "bad_metadata",      "bad_offsets_past_end", "bad_rank9"};
    char path[1024], err[1024];
    kstt__st_file *f;
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        snprintf(path, sizeof path, "%s/tests/fuzz/corpus/safetensors/%s", src, valid[i]);
        int rc = kstt__st_open(&f, path, err, sizeof err);
        if (rc != KSTT_OK) {
            TEST_FAIL_("%s rejected: %s", valid[i], err);
            return;
        }
        kstt__st_close(f);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(path, sizeof path, "%s/tests/fuzz/corpus/safetensors/%s", src, bad[i]);
        int rc = kstt__st_open(&f, path, err, sizeof err);
        if (rc != KSTT_EFORMAT || strncmp(err, path, strlen(path)) != 0) {
            TEST_FAIL_("%s: rc %d, message \"%s\"", bad[i], rc, err);
            return;
        }
    }
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kstt_st_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_round_trip);
    RUN(test_writer_errors);
    RUN(test_alloc_failures);
    RUN(test_golden_lm_bf16);
    RUN(test_golden_mimi_ref);
    RUN(test_conversions);
    RUN(test_err_header_length);
    RUN(test_err_json);
    RUN(test_err_entry);
    RUN(test_err_dtype);
    RUN(test_err_shape);
    RUN(test_err_offsets);
    RUN(test_err_overlap_duplicate);
    RUN(test_err_metadata);
    RUN(test_err_files);
    RUN(test_fuzz_corpus);
    rmdir(tmpdir);
    return test_summary();
}
