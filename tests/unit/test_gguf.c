/*
 * GGUF reader/writer, the format-agnostic weights API and `kstt quantize`:
 *   - writer -> reader round trip of every supported type, shapes (row-major <-> ne order),
 *     metadata, alignment of the data;
 *   - hand-built headers that break one rule each fail with a message naming the file and the
 *     problem; every truncation of a valid file fails cleanly;
 *   - kstt__weights gives the same matrices from safetensors and GGUF;
 *   - `kstt quantize` on a small model directory: GGUF written, config.json rewritten, other
 *     files copied, quantised matrices close to the originals.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "quant/quant.h"
#include "test.h"

static char tmpdir[256];

static const char *tmp(const char *name) {
    static char buf[4][512];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

static void test_round_trip(void) {
    kstt__gguf_writer *w;
    ASSERT_INT_EQ(kstt__gguf_writer_new(&w), KSTT_OK);
    const kstt__wtype types[] = {KSTT_WT_F32,  KSTT_WT_F16,  KSTT_WT_BF16,
                                 KSTT_WT_Q8_0, KSTT_WT_Q4_0, KSTT_WT_Q4_K};
    void *data[6];
    int64_t shapes[6][2];
    for (int i = 0; i < 6; i++) {
        const int64_t rows = 3 + i, cols = types[i] == KSTT_WT_Q4_K ? 512 : 64;
        shapes[i][0] = rows;
        shapes[i][1] = cols;
        const size_t n = kstt__wtype_row_bytes(types[i], cols) * (size_t)rows;
        data[i] = malloc(n);
        for (size_t b = 0; b < n; b++)
            ((unsigned char *)data[i])[b] = (unsigned char)(b * 7 + i);
        char name[32];
        snprintf(name, sizeof name, "t.%s", kstt__wtype_name(types[i]));
        ASSERT_INT_EQ(kstt__gguf_writer_add(w, name, types[i], 2, shapes[i], data[i]), KSTT_OK);
    }
    const int64_t s3[3] = {1, 1, 5};
    float alpha[5] = {1, 2, 3, 4, 5};
    ASSERT_INT_EQ(kstt__gguf_writer_add(w, "norm.alpha", KSTT_WT_F32, 3, s3, alpha), KSTT_OK);
    ASSERT_INT_EQ(kstt__gguf_writer_add(w, "bad", KSTT_WT_Q8_0, 2, shapes[0] /* 64 ok */, NULL),
                  KSTT_EINVAL);
    const int64_t odd[2] = {2, 33};
    ASSERT_INT_EQ(kstt__gguf_writer_add(w, "odd", KSTT_WT_Q8_0, 2, odd, alpha), KSTT_EINVAL);
    ASSERT_INT_EQ(kstt__gguf_writer_set_str(w, "general.architecture", "kyutai-stt"), KSTT_OK);
    char err[512];
    ASSERT_INT_EQ(kstt__gguf_writer_save(w, tmp("a.gguf"), err, sizeof err), KSTT_OK);
    kstt__gguf_writer_free(w);

    kstt__gguf *f;
    int rc = kstt__gguf_open(&f, tmp("a.gguf"), err, sizeof err);
    if (rc)
        TEST_FAIL_("%s", err);
    ASSERT_INT_EQ(rc, KSTT_OK);
    ASSERT_INT_EQ(kstt__gguf_count(f), 7);
    ASSERT_STR_EQ(kstt__gguf_meta_str(f, "general.architecture"), "kyutai-stt");
    int64_t al = 0;
    ASSERT_TRUE(kstt__gguf_meta_int(f, "general.alignment", &al));
    ASSERT_INT_EQ(al, 32);
    for (int i = 0; i < 6; i++) {
        char name[32];
        snprintf(name, sizeof name, "t.%s", kstt__wtype_name(types[i]));
        const kstt__gguf_tensor *t = kstt__gguf_find(f, name);
        ASSERT_TRUE(t != NULL);
        ASSERT_INT_EQ(t->type, types[i]);
        ASSERT_INT_EQ(t->ndim, 2);
        ASSERT_INT_EQ(t->shape[0], shapes[i][0]);
        ASSERT_INT_EQ(t->shape[1], shapes[i][1]);
        ASSERT_INT_EQ((uintptr_t)t->data % 32, 0);
        ASSERT_TRUE(!memcmp(t->data, data[i], t->nbytes));
        free(data[i]);
    }
    const kstt__gguf_tensor *t = kstt__gguf_find(f, "norm.alpha");
    ASSERT_TRUE(t && t->ndim == 3 && t->shape[2] == 5 && !memcmp(t->data, alpha, sizeof alpha));
    ASSERT_TRUE(kstt__gguf_find(f, "nope") == NULL);
    kstt__gguf_close(f);

    /* the same through kstt__weights */
    kstt__weights *wt;
    ASSERT_INT_EQ(kstt__weights_open(&wt, tmp("a.gguf"), err, sizeof err), KSTT_OK);
    ASSERT_TRUE(kstt__weights_gguf(wt) != NULL);
    kstt__wmat m;
    ASSERT_INT_EQ(kstt__weights_mat(wt, "t.q4_k", 8, 512, &m, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(m.type, KSTT_WT_Q4_K);
    ASSERT_INT_EQ(m.row_bytes, 288);
    ASSERT_INT_EQ(kstt__weights_mat(wt, "t.q4_k", 9, 512, &m, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_CONTAINS(err, "a.gguf");
    ASSERT_STR_CONTAINS(err, "[9, 512]");
    ASSERT_INT_EQ(kstt__weights_mat(wt, "missing", 1, 1, &m, err, sizeof err), KSTT_ENOTFOUND);
    ASSERT_STR_CONTAINS(err, "missing");
    float a5[5];
    ASSERT_INT_EQ(kstt__weights_f32(wt, "norm.alpha", 5, a5, err, sizeof err), KSTT_OK);
    ASSERT_NEAR(a5[4], 5.0, 0);
    ASSERT_INT_EQ(kstt__weights_f32(wt, "norm.alpha", 6, a5, err, sizeof err), KSTT_EFORMAT);
    kstt__weights_close(wt);
}

/* ---- hand-built headers -------------------------------------------------------------- */

typedef struct {
    unsigned char b[4096];
    size_t n;
} bytes;

static void u32(bytes *o, uint32_t v) {
    for (int i = 0; i < 4; i++)
        o->b[o->n++] = (unsigned char)(v >> (8 * i));
}
static void u64(bytes *o, uint64_t v) {
    for (int i = 0; i < 8; i++)
        o->b[o->n++] = (unsigned char)(v >> (8 * i));
}
static void str(bytes *o, const char *s) {
    u64(o, strlen(s));
    memcpy(o->b + o->n, s, strlen(s));
    o->n += strlen(s);
}

/* One q8_0 [2, 32] tensor "w" plus an optional second tensor; knobs break one rule each. */
typedef struct {
    uint32_t version, type, align, second_type;
    uint64_t off2, ne0;
    int second, dup, nest;
    const char *magic;
} knobs;

static bytes build(knobs k) {
    bytes o = {{0}, 0};
    memcpy(o.b, k.magic ? k.magic : "GGUF", 4);
    o.n = 4;
    u32(&o, k.version ? k.version : 3);
    u64(&o, k.second ? 2 : 1);
    u64(&o, 2);
    str(&o, "general.alignment");
    u32(&o, 4);
    u32(&o, k.align ? k.align : 32);
    str(&o, "x.arr");
    u32(&o, 9);
    if (k.nest) {
        for (int i = 0; i < 6; i++)
            u32(&o, 9), u64(&o, 1); /* arrays of arrays ... */
        u32(&o, 4);
        u64(&o, 0);
    } else {
        u32(&o, 8);
        u64(&o, 2);
        str(&o, "a");
        str(&o, "bc");
    }
    str(&o, "w");
    u32(&o, 2);
    u64(&o, k.ne0 ? k.ne0 : 32);
    u64(&o, 2);
    u32(&o, k.type ? k.type : 8);
    u64(&o, 0);
    if (k.second) {
        str(&o, k.dup ? "w" : "v");
        u32(&o, 1);
        u64(&o, 8);
        u32(&o, k.second_type);
        u64(&o, k.off2);
    }
    while (o.n % 32)
        o.b[o.n++] = 0;
    for (int i = 0; i < 128; i++)
        o.b[o.n++] = (unsigned char)i;
    return o;
}

static int open_bytes(const bytes *o, char *err, size_t errlen) {
    kstt__gguf *f;
    int rc = kstt__gguf_open_memory(&f, o->b, o->n, "mem.gguf", err, errlen);
    kstt__gguf_close(f);
    return rc;
}

static void expect_error(knobs k, int status, const char *msg) {
    bytes o = build(k);
    char err[512] = "";
    int rc = open_bytes(&o, err, sizeof err);
    if (rc != status || !strstr(err, msg) || !strstr(err, "mem.gguf"))
        TEST_FAIL_("expected %d \"%s\", got %d \"%s\"", status, msg, rc, err);
}

static void test_validation(void) {
    char err[512];
    bytes good = build((knobs){0});
    ASSERT_INT_EQ(open_bytes(&good, err, sizeof err), KSTT_OK);
    knobs two = {0};
    two.second = 1, two.second_type = 0, two.off2 = 96;
    bytes ok2 = build(two);
    ASSERT_INT_EQ(open_bytes(&ok2, err, sizeof err), KSTT_OK);

    expect_error((knobs){.magic = "GGUG"}, KSTT_EFORMAT, "bad magic");
    expect_error((knobs){.version = 2}, KSTT_EUNSUPPORTED, "version 2");
    expect_error((knobs){.type = 14}, KSTT_EUNSUPPORTED, "ggml type 14");
    expect_error((knobs){.ne0 = 48}, KSTT_EFORMAT, "not whole q8_0 blocks");
    expect_error((knobs){.align = 24}, KSTT_EFORMAT, "power of two");
    expect_error((knobs){.nest = 1}, KSTT_EFORMAT, "nests arrays");
    expect_error((knobs){.second = 1, .second_type = 0, .off2 = 40}, KSTT_EFORMAT, "alignment");
    expect_error((knobs){.second = 1, .second_type = 0, .off2 = 32}, KSTT_EFORMAT, "overlap");
    expect_error((knobs){.second = 1, .second_type = 0, .off2 = 128}, KSTT_EFORMAT, "past the end");
    expect_error((knobs){.second = 1, .dup = 1, .second_type = 0, .off2 = 96}, KSTT_EFORMAT,
                 "appears twice");
    /* every truncation that cuts into the header or w's 68 data bytes fails cleanly */
    for (size_t n = 0; n < good.n - 128 + 68; n++) {
        bytes t = good;
        t.n = n;
        if (open_bytes(&t, err, sizeof err) == KSTT_OK) {
            TEST_FAIL_("truncated to %zu bytes of %zu: accepted", n, good.n);
            return;
        }
    }
    ASSERT_INT_EQ(
        kstt__gguf_open((kstt__gguf **)&(kstt__gguf *){0}, tmp("none.gguf"), err, sizeof err),
        KSTT_ENOTFOUND);
    ASSERT_STR_CONTAINS(err, "none.gguf");
}

/* ---- kstt quantize -------------------------------------------------------------------- */

static void test_quantize_cli(void) {
    const char *bin = getenv("KSTT_BIN");
    if (!bin) {
        printf("  KSTT_BIN not set: skipped\n");
        return;
    }
    mkdir(tmp("in"), 0777);
    kstt__st_writer *sw;
    ASSERT_INT_EQ(kstt__st_writer_new(&sw), KSTT_OK);
    const int64_t s_mat[2] = {72, 512}, s_emb[2] = {10, 512}, s_norm[3] = {1, 1, 512},
                  s_odd[2] = {4, 100};
    float *mat = malloc(sizeof(float) * 72 * 512);
    uint16_t *matb = malloc(2 * 72 * 512), emb[10 * 512];
    float norm[512], odd[400];
    for (int i = 0; i < 72 * 512; i++)
        matb[i] = kstt__f32_to_bf16(mat[i] = 0.1f * test_rand_uniform());
    for (int i = 0; i < 72 * 512; i++)
        mat[i] = kstt__bf16_to_f32(matb[i]);
    for (int i = 0; i < 10 * 512; i++)
        emb[i] = kstt__f32_to_bf16(test_rand_uniform());
    for (int i = 0; i < 512; i++)
        norm[i] = 1.0f + 0.01f * (float)i;
    for (int i = 0; i < 400; i++)
        odd[i] = (float)i;
    ASSERT_INT_EQ(kstt__st_writer_add(sw, "layers.0.linear.weight", KSTT_DT_BF16, 2, s_mat, matb),
                  KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_add(sw, "text_emb.weight", KSTT_DT_BF16, 2, s_emb, emb), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_add(sw, "out_norm.alpha", KSTT_DT_F32, 3, s_norm, norm), KSTT_OK);
    ASSERT_INT_EQ(kstt__st_writer_add(sw, "odd.weight", KSTT_DT_F32, 2, s_odd, odd), KSTT_OK);
    const int64_t s_head[2] = {6, 512};
    ASSERT_INT_EQ(kstt__st_writer_add(sw, "head.weight", KSTT_DT_F32, 2, s_head, mat), KSTT_OK);
    char err[512];
    ASSERT_INT_EQ(kstt__st_writer_save(sw, tmp("in/lm.safetensors"), err, sizeof err), KSTT_OK);
    kstt__st_writer_free(sw);
    FILE *f = fopen(tmp("in/config.json"), "w");
    fputs("{\"moshi_name\": \"lm.safetensors\", \"mimi_name\": \"mimi.safetensors\", "
          "\"tokenizer_name\": \"tokenizer.model\", \"dim\": 512}\n",
          f);
    fclose(f);
    f = fopen(tmp("in/tokenizer.model"), "w");
    fputs("tok", f);
    fclose(f);
    f = fopen(tmp("in/mimi.safetensors"), "w"); /* copied as is: its content is not read */
    fputs("mimi", f);
    fclose(f);

    const char *types[3] = {"q8_0", "q4_0", "q4_k"};
    const double tol[3] = {0.006, 0.09, 0.07};
    for (int ti = 0; ti < 3; ti++) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "%s quantize --type %s %s %s >/dev/null", bin, types[ti],
                 tmp("in"), tmp("out"));
        ASSERT_INT_EQ(system(cmd), 0);
        size_t n;
        char *cfg = test_read_file(tmp("out/config.json"), &n);
        ASSERT_TRUE(cfg != NULL);
        char want[64];
        snprintf(want, sizeof want, "\"lm.%s.gguf\"", types[ti]);
        ASSERT_STR_CONTAINS(cfg, want);
        ASSERT_STR_CONTAINS(cfg, "\"dim\"");
        free(cfg);
        char *tok = test_read_file(tmp("out/tokenizer.model"), &n);
        ASSERT_TRUE(tok && n == 3 && !memcmp(tok, "tok", 3));
        free(tok);
        snprintf(want, sizeof want, "out/lm.%s.gguf", types[ti]);
        kstt__weights *w;
        int rc = kstt__weights_open(&w, tmp(want), err, sizeof err);
        if (rc)
            TEST_FAIL_("%s", err);
        ASSERT_INT_EQ(rc, KSTT_OK);
        kstt__wmat m;
        ASSERT_INT_EQ(kstt__weights_mat(w, "layers.0.linear.weight", 72, 512, &m, err, sizeof err),
                      KSTT_OK);
        ASSERT_INT_EQ(m.type, kstt__wtype_from_name(types[ti]));
        double e = 0, r = 0;
        float row[512];
        for (int i = 0; i < 72; i++) {
            kstt__wmat_row_f32(&m, i, row);
            for (int c = 0; c < 512; c++) {
                e += pow(row[c] - mat[i * 512 + c], 2);
                r += pow(mat[i * 512 + c], 2);
            }
        }
        if (!(sqrt(e / r) < tol[ti]))
            TEST_FAIL_("%s error %.4f", types[ti], sqrt(e / r));
        ASSERT_INT_EQ(kstt__weights_mat(w, "text_emb.weight", 10, 512, &m, err, sizeof err),
                      KSTT_OK);
        ASSERT_INT_EQ(m.type, KSTT_WT_BF16); /* embeddings kept */
        ASSERT_TRUE(!memcmp(m.data, emb, sizeof emb));
        ASSERT_INT_EQ(kstt__weights_mat(w, "odd.weight", 4, 100, &m, err, sizeof err), KSTT_OK);
        ASSERT_INT_EQ(m.type, KSTT_WT_F32); /* 100 columns: not whole blocks, kept */
        float a[512];
        ASSERT_INT_EQ(kstt__weights_f32(w, "out_norm.alpha", 512, a, err, sizeof err), KSTT_OK);
        ASSERT_INT_EQ(kstt__weights_mat(w, "head.weight", 6, 512, &m, err, sizeof err), KSTT_OK);
        ASSERT_INT_EQ(m.type, KSTT_WT_F32); /* fewer than 64 rows: kept */
        ASSERT_TRUE(!memcmp(a, norm, sizeof a));
        kstt__weights_close(w);
    }
    /* and the safetensors side of kstt__weights */
    kstt__weights *w;
    ASSERT_INT_EQ(kstt__weights_open(&w, tmp("in/lm.safetensors"), err, sizeof err), KSTT_OK);
    ASSERT_TRUE(kstt__weights_st(w) != NULL);
    kstt__wmat m;
    ASSERT_INT_EQ(kstt__weights_mat(w, "layers.0.linear.weight", -1, 512, &m, err, sizeof err),
                  KSTT_OK);
    ASSERT_INT_EQ(m.type, KSTT_WT_BF16);
    ASSERT_INT_EQ(m.rows, 72);
    kstt__weights_close(w);
    free(mat);
    free(matb);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kstt_test_gguf_XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    RUN(test_round_trip);
    RUN(test_validation);
    RUN(test_quantize_cli);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        return 1;
    return test_summary();
}
