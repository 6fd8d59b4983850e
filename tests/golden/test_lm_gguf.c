/*
 * The golden tiny model stored as GGUF, loaded through the same loaders as safetensors (the
 * format is told by the file's magic):
 *   - `kstt quantize --type q8_0|q4_0|q4_k` ($KSTT_BIN) on stt_tiny: the matmul weights whose
 *     row length is a multiple of the block (in_proj, out_proj, linear_in: 64 columns) are
 *     quantised by q8_0/q4_0, and the text head text_linear is q8_0 under every type (kstt
 *     quantize's default); linear_out (176 columns), the embeddings, norms and the [6, 64] VAD
 *     heads keep bf16; q4_k (blocks of 256) cannot apply at dim 64, so its file quantises the
 *     head alone (to q8_0). Teacher-forced on tf.input_tokens (126 steps, past the context),
 *     the text logits are compared with the golden f32 ones: relative RMS error over all steps
 *     and argmax agreement, against bounds measured on this model (below);
 *   - GGUF files holding the unquantised bf16 tensors, and f32 conversions of them, reproduce
 *     the golden logits within the golden tolerance (1e-4, argmax equal);
 *   - the whole pipeline through kstt_model_load of the q8_0 directory: the golden bria stream
 *     (zeros, clip, zeros) through its Mimi and the q8_0 LM, decoding free-running (each
 *     step's text input is the model's own previous token): the fraction of steps whose token
 *     equals asr.bria.tokens;
 *   - bad GGUF files through kstt_model_load, with exact error texts: truncated, a tensor of
 *     the wrong shape, a missing tensor. Nothing leaks on any path.
 *
 * The golden tiny model has random (untrained) weights, whose 2-layer network amplifies the
 * per-product error of the block formats about 4x on the way to the logits (as the random 1B
 * model of `kstt bench` does): the errors below are larger than a trained checkpoint's would
 * be (the trained demo model's errors are checked in test_quant_error.c). Measured (avx512
 * and ref kernels agree to the digits shown), with the scale search of quant.c (max-based
 * scales, the ggml reference rounding, in brackets):
 *   q8_0: logits rel RMS 2.11 % (2.03 %), argmax 125/126; with the same weights dequantised
 *         to f32 1.56 % (1.52 %: the weights' share); quantised kernels vs those f32 products
 *         ~1.4 % (the 8-bit activations' share);
 *   q4_0: 22.7 % (22.3 %), argmax 106/126; dequantised f32 weights 22.6 %: the 4-bit weights.
 *         With the head in q4_0 as well: 24.2 % (23.6 %). The random network amplifies each
 *         product's error ~4x and its realisation moves by a few % either way: the search's
 *         lower per-product error (8.6 % -> 8.1 % on Gaussian weights) does not show here,
 *         while on the trained demo model q4_0 drops from 5.5 % to 4.9 %;
 *   q4_k: the q8_0 head alone: 0.80 %, argmax 124/126 (bf16 GGUF and f32 GGUF: max abs
 *         6.7e-6 and 8.6e-6);
 *   q8_0 pipeline: 153/157 tokens equal to asr.bria.tokens (first difference at step 26).
 * The bounds (below) are about 1.3-1.5x these: a kernel or loader change that keeps the
 * formats' accuracy passes, a broken one does not.
 */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asr/asr.h"
#include "asr/model.h"
#include "codec/mimi_internal.h"
#include "core/alloc.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "kstt.h"
#include "lm/config.h"
#include "lm/cpu/lm_cpu.h"
#include "lm/lm.h"
#include "lm_teacher.h"
#include "quant/quant.h"
#include "test.h"

/* Bounds on the measured errors (see the header). */
#define Q8_0_MAX_REL_RMS 0.03
#define Q4_0_MAX_REL_RMS 0.30
#define Q4_K_MAX_REL_RMS 0.012 /* the q8_0 head alone */
#define Q8_0_MIN_ARGMAX 0.95
#define Q4_0_MIN_ARGMAX 0.75
#define Q4_K_MIN_ARGMAX 0.95
#define MAX_KERNEL_VS_DEQUANT 0.02
#define Q8_0_MIN_PIPELINE 0.90

static char tmp[256];

/* ---- writing GGUF variants of the golden file ---------------------------------------- */

typedef enum { G_KEEP, G_F32, G_DROP, G_SHRINK_ROWS, G_ROUNDTRIP } gaction;

/* G_ROUNDTRIP: f32 of the tensor as this quantised file holds it */
static kstt__gguf *roundtrip_src;

/* Writes `path`: the golden tensors as GGUF, each transformed by pick(name). */
static int write_gguf(const char *path, gaction (*pick)(const char *name)) {
    kstt__gguf_writer *w;
    if (kstt__gguf_writer_new(&w))
        return -1;
    const size_t n = kstt__st_count(golden);
    float **bufs = calloc(n, sizeof *bufs);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const kstt__tensor *t = kstt__st_at(golden, i);
        const gaction a = pick(t->name);
        int64_t shape[8];
        memcpy(shape, t->shape, sizeof shape);
        if (a == G_DROP)
            continue;
        if (a == G_SHRINK_ROWS)
            shape[0] -= 1; /* the leading rows */
        if (a == G_F32 || a == G_ROUNDTRIP) {
            bufs[i] = malloc((size_t)t->numel * sizeof(float));
            rc = kstt__st_to_f32(golden, t, bufs[i], err, sizeof err);
            if (a == G_ROUNDTRIP) {
                const kstt__gguf_tensor *q = kstt__gguf_find(roundtrip_src, t->name);
                kstt__dequantize_row(q->type, q->data, bufs[i], t->numel);
            }
            rc = rc || kstt__gguf_writer_add(w, t->name, KSTT_WT_F32, t->ndim, shape, bufs[i]);
        } else {
            const kstt__wtype wt = t->dtype == KSTT_DT_F32   ? KSTT_WT_F32
                                   : t->dtype == KSTT_DT_F16 ? KSTT_WT_F16
                                                             : KSTT_WT_BF16;
            rc = kstt__gguf_writer_add(w, t->name, wt, t->ndim, shape, t->data);
        }
    }
    if (!rc)
        rc = kstt__gguf_writer_save(w, path, err, sizeof err);
    kstt__gguf_writer_free(w);
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs);
    return rc ? -1 : 0;
}

static gaction keep_all(const char *n) {
    (void)n;
    return G_KEEP;
}
static gaction all_f32(const char *n) {
    (void)n;
    return G_F32;
}
/* the tensors the quantised file holds in a block type */
static gaction roundtrip(const char *n) {
    const kstt__gguf_tensor *t = kstt__gguf_find(roundtrip_src, n);
    return t && kstt__wtype_block_elems(t->type) > 1 ? G_ROUNDTRIP : G_KEEP;
}
static gaction drop_linear_in(const char *n) {
    return strcmp(n, "transformer.layers.1.gating.linear_in.weight") ? G_KEEP : G_DROP;
}
static gaction short_head(const char *n) {
    return strcmp(n, "text_linear.weight") ? G_KEEP : G_SHRINK_ROWS;
}

/* ---- teacher-forced logits of a weights file ------------------------------------------ */

/* ---- quantised files from the CLI ----------------------------------------------------- */

static const char *qdir(const char *type) {
    static char buf[3][512];
    static int k;
    char *b = buf[k++ % 3];
    snprintf(b, sizeof buf[0], "%s/%s", tmp, type);
    return b;
}

static const char *qfile(const char *type) {
    static char buf[3][512];
    static int k;
    char *b = buf[k++ % 3];
    snprintf(b, sizeof buf[0], "%s/%s/model.%s.gguf", tmp, type, type);
    return b;
}

static int quantize_with_cli(const char *type) {
    const char *bin = getenv("KSTT_BIN");
    if (!bin) {
        fprintf(stderr, "KSTT_BIN not set\n");
        return -1;
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' quantize --type %s '%s' '%s' > /dev/null", bin, type,
             test_golden("stt_tiny"), qdir(type));
    return system(cmd) == 0 ? 0 : -1;
}

/* Which tensors a quantised file stores in which type: the text head q8_0 (kstt quantize's
 * default head type), the other matmul weights in the file's type where the block fits. */
static void check_types(const char *type) {
    const kstt__wtype qt = (kstt__wtype)kstt__wtype_from_name(type);
    kstt__gguf *g;
    ASSERT_INT_EQ(kstt__gguf_open(&g, qfile(type), err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ((int)kstt__gguf_count(g), (int)kstt__st_count(golden));
    int nq = 0;
    for (size_t i = 0; i < kstt__gguf_count(g); i++) {
        const kstt__gguf_tensor *t = kstt__gguf_at(g, i);
        const int64_t cols = t->shape[t->ndim - 1];
        const int head = !strcmp(t->name, "text_linear.weight");
        const int want_q = (head || qt != KSTT_WT_Q4_K) && t->ndim == 2 && t->shape[0] >= 64 &&
                           cols % 32 == 0 && !strstr(t->name, "emb");
        const kstt__wtype want = want_q ? (head ? KSTT_WT_Q8_0 : qt) : KSTT_WT_BF16;
        if (t->type != want) {
            TEST_FAIL_("%s: tensor %s has type %s", type, t->name, kstt__wtype_name(t->type));
            break;
        }
        nq += want_q;
    }
    kstt__gguf_close(g);
    /* in_proj, out_proj, linear_in per layer (2 layers) and text_linear */
    ASSERT_INT_EQ(nq, qt == KSTT_WT_Q4_K ? 1 : 7);
}

static double rel_rms(const float *a, const float *b, long n) {
    double num = 0, den = 0;
    for (long i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return sqrt(num / den);
}

static tf_result r_auto, r_ref, r_rt;

static void run_quantized(const char *type, double max_rel, double min_argmax) {
    ASSERT_INT_EQ(quantize_with_cli(type), 0);
    check_types(type);
    tf_result *r = &r_auto, *rr = &r_ref, *rt = &r_rt;
    if (teacher_force(qfile(type), KSTT_KERNELS_AUTO, KSTT_KV_AUTO, r)) {
        TEST_FAIL_("%s: %s", type, err);
        return;
    }
    ASSERT_INT_EQ(teacher_force(qfile(type), KSTT_KERNELS_REF, KSTT_KV_AUTO, rr), 0);
    /* the same weights dequantised to f32: the error of the weights alone, and how far the
     * quantised kernels (8-bit activations) are from the f32 product on them */
    char p[512];
    snprintf(p, sizeof p, "%s/roundtrip.gguf", tmp);
    ASSERT_INT_EQ(kstt__gguf_open(&roundtrip_src, qfile(type), err, sizeof err), KSTT_OK);
    const int wrc = write_gguf(p, roundtrip);
    kstt__gguf_close(roundtrip_src);
    ASSERT_INT_EQ(wrc, 0);
    ASSERT_INT_EQ(teacher_force(p, KSTT_KERNELS_AUTO, KSTT_KV_AUTO, rt), 0);
    unlink(p);
    const double kern = rel_rms(r->logits, rt->logits, TF_STEPS * TF_VOCAB);
    printf("  %s: logits rel RMS %.3f%% (ref kernels %.3f%%), max abs %.3g, argmax %d/%d; "
           "dequantised f32 weights %.3f%% (argmax %d/%d); kernels vs dequantised %.3f%%\n",
           type, 100 * r->rel_rms, 100 * rr->rel_rms, r->max_abs, r->argmax_equal, r->steps,
           100 * rt->rel_rms, rt->argmax_equal, rt->steps, 100 * kern);
    ASSERT_TRUE(r->rel_rms <= max_rel);
    ASSERT_TRUE(rr->rel_rms <= max_rel);
    ASSERT_TRUE(r->argmax_equal >= min_argmax * r->steps);
    ASSERT_TRUE(kern <= MAX_KERNEL_VS_DEQUANT);
}

static void test_q8_0(void) {
    run_quantized("q8_0", Q8_0_MAX_REL_RMS, Q8_0_MIN_ARGMAX);
}
static void test_q4_0(void) {
    run_quantized("q4_0", Q4_0_MAX_REL_RMS, Q4_0_MIN_ARGMAX);
}
static void test_q4_k_head_only(void) {
    run_quantized("q4_k", Q4_K_MAX_REL_RMS, Q4_K_MIN_ARGMAX);
}

/* GGUF holding the bf16 tensors as stored, and converted to f32: the golden logits. */
static void test_unquantized_gguf(void) {
    const char *names[2] = {"bf16", "f32"};
    gaction (*picks[2])(const char *) = {keep_all, all_f32};
    for (int i = 0; i < 2; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s.gguf", tmp, names[i]);
        ASSERT_INT_EQ(write_gguf(p, picks[i]), 0);
        tf_result *r = &r_auto;
        ASSERT_INT_EQ(teacher_force(p, KSTT_KERNELS_AUTO, KSTT_KV_AUTO, r), 0);
        unlink(p);
        printf("  %s GGUF: logits max abs %.3g, argmax %d/%d\n", names[i], r->max_abs,
               r->argmax_equal, r->steps);
        ASSERT_TRUE(r->max_abs <= 1e-4);
        ASSERT_INT_EQ(r->argmax_equal, r->steps);
    }
}

/* The q8_0 directory through kstt_model_load, the golden bria stream (zeros, clip, zeros)
 * through its Mimi and LM, decoded free-running by the ASR state machine: the fraction of
 * steps whose token equals the golden one; and the words of the same stream through the
 * public stream API against the golden words. */
#define PREFIX 24960
#define SUFFIX 36480

static void test_pipeline_q8_0(void) {
    kstt_model *m;
    ASSERT_INT_EQ(kstt_model_load(&m, qdir("q8_0"), NULL, err, sizeof err), KSTT_OK);
    ASSERT_TRUE(kstt__weights_gguf(m->weights) != NULL);
    /* q8_0 in the file, packed at load as the chosen kernel level asks (kstt__kernels.pack:
     * Q8_0X where it runs q8_0 on the AMX tile unit), else as the default Q8_0R */
    const kstt__lm_cpu *cpu = kstt__lm_cpu_of(m->lm);
    const kstt__wtype want =
        cpu->k->pack[KSTT_WT_Q8_0] ? cpu->k->pack[KSTT_WT_Q8_0] : KSTT_WT_Q8_0R;
    ASSERT_INT_EQ((int)cpu->layers[0].in_proj.type, (int)want);
    size_t bytes;
    float *clip = test_read_file(test_golden("bria_10s_24k.f32"), &bytes);
    ASSERT_TRUE(clip != NULL);
    const size_t n = bytes / sizeof(float), total = PREFIX + n + SUFFIX;
    float *pcm = calloc(total, sizeof(float));
    memcpy(pcm + PREFIX, clip, n * sizeof(float));
    free(clip);
    const int T = (int)(total / 1920), nq = 8;
    ASSERT_INT_EQ(T, 157);
    const int32_t *gold = ref("asr.bria.tokens", T);

    kstt_mimi_stream *ms;
    ASSERT_INT_EQ(kstt_mimi_stream_new(&ms, m->mimi), KSTT_OK);
    int32_t *codes = calloc((size_t)T * nq, sizeof(int32_t));
    ASSERT_INT_EQ(kstt_mimi_stream_encode(ms, pcm, total, codes, (size_t)T), T);
    kstt_mimi_stream_free(ms);
    kstt__asr_params p = {.n_q = nq,
                          .card = 64,
                          .text_card = 128,
                          .pad_id = 3,
                          .epad_id = 0,
                          .delay = 6,
                          .n_vad = 4,
                          .vad_dim = 6,
                          .step_events = 1,
                          .spm = m->spm};
    kstt__asr a;
    ASSERT_INT_EQ(kstt__asr_init(&a, &p), KSTT_OK);
    kstt__lm_state *cp;
    kstt__lm_work *w;
    float logits[128], vad[24];
    ASSERT_INT_EQ(kstt__lm_state_new(&cp, m->lm), KSTT_OK);
    ASSERT_INT_EQ(kstt__lm_work_new(&w, m->lm, 1), KSTT_OK);
    int equal = 0, first_diff = -1;
    for (int t = 0; t < T; t++) {
        int32_t in[9];
        kstt__asr_release(&a);
        kstt__asr_input(&a, codes + t * nq, in);
        ASSERT_INT_EQ(kstt__lm_step(m->lm, w, &cp, in, 1, logits, vad), KSTT_OK);
        ASSERT_INT_EQ(kstt__asr_output(&a, logits, vad), KSTT_OK);
        equal += a.prev == gold[t];
        if (a.prev != gold[t] && first_diff < 0)
            first_diff = t;
        kstt_event ev[8];
        while (kstt__asr_read(&a, ev, 8) > 0) {
        }
    }
    kstt__lm_work_free(m->lm, w);
    kstt__lm_state_free(m->lm, cp);
    kstt__asr_free(&a);
    free(codes);

    /* the same stream through the public API: words */
    kstt_stream_params sp = kstt_stream_params_default();
    sp.pad = 0;
    sp.step_events = 0;
    kstt_stream *s;
    ASSERT_INT_EQ(kstt_stream_new(&s, m, &sp), KSTT_OK);
    ASSERT_TRUE(kstt_stream_feed(s, pcm, total) >= 0);
    ASSERT_INT_EQ(kstt_stream_flush(s), KSTT_OK);
    char words[512] = "";
    kstt_event ev[16];
    int k;
    while ((k = kstt_stream_read(s, ev, 16)) > 0)
        for (int i = 0; i < k; i++)
            if (ev[i].type == KSTT_EVENT_WORD && strlen(words) + strlen(ev[i].text) + 2 < 512) {
                strcat(words, words[0] ? " " : "");
                strcat(words, ev[i].text);
            }
    kstt_stream_free(s);
    free(pcm);
    kstt_model_free(m);
    printf("  q8_0 pipeline (bria): %d/%d tokens equal to the golden ones (first difference at "
           "step %d); words: \"%s\"\n",
           equal, T, first_diff, words);
    ASSERT_TRUE(equal >= Q8_0_MIN_PIPELINE * T);
}

/* Bad GGUF files through kstt_model_load (a copy of the q8_0 directory whose config names
 * bad.gguf): exact error texts, nothing allocated afterwards. */
static void write_bad_config(const char *dir) {
    size_t n;
    char *raw = test_read_file(test_golden("stt_tiny/config.json"), &n);
    char *js = calloc(1, n + 64);
    memcpy(js, raw, n);
    free(raw);
    const char *from = "\"moshi_name\": \"model.safetensors\"";
    char *at = strstr(js, from);
    if (!at) {
        fprintf(stderr, "config has no %s\n", from);
        exit(1);
    }
    char *out = calloc(1, n + 64);
    memcpy(out, js, (size_t)(at - js));
    strcat(out, "\"moshi_name\": \"bad.gguf\"");
    strcat(out, at + strlen(from));
    char p[600];
    snprintf(p, sizeof p, "%s/config.json", dir);
    FILE *f = fopen(p, "wb");
    fputs(out, f);
    fclose(f);
    free(js);
    free(out);
}

static void expect_load_error(const char *dir, int code, const char *want) {
    long long live = kstt__alloc_live_bytes();
    kstt_model *m = (kstt_model *)1;
    err[0] = 0;
    int rc = kstt_model_load(&m, dir, NULL, err, sizeof err);
    ASSERT_STR_EQ(err, want);
    ASSERT_INT_EQ(rc, code);
    ASSERT_TRUE(m == NULL);
    ASSERT_INT_EQ(kstt__alloc_live_bytes(), live);
}

/* What kstt_model_load's AUTO storage picks (KV ring, Mimi matrices), and that explicit
 * choices override it: exact f32 for bf16 weights, f16 KV for q8_0 (Mimi stays f32: bf16
 * Mimi cost the q8_0 pipeline 17 of 157 golden tokens), f16 KV + bf16 Mimi for 4-bit. */
static kstt__wtype mimi_type(const kstt_model *m) {
    return m->mimi->cfg.num_layers > 0 ? m->mimi->layers[0].in_proj.type : m->mimi->conv_out.w.type;
}

/* The storage of bf16 Mimi matrices at the model's level: AMX tiles where it has them. */
static kstt__wtype mimi_bf16(const kstt_model *m) {
    return m->mimi->k->wt[KSTT_WT_BF16X].matmul ? KSTT_WT_BF16X : KSTT_WT_BF16_PANEL;
}

static void test_storage_defaults(void) {
    struct {
        const char *dir;
        kstt_kv_type kv;
        kstt__wtype mimi;
    } cases[3] = {{test_golden("stt_tiny"), KSTT_KV_F32, KSTT_WT_F32_PANEL},
                  {qdir("q8_0"), KSTT_KV_F16, KSTT_WT_F32_PANEL},
                  {qdir("q4_0"), KSTT_KV_F16, KSTT_WT_BF16_PANEL}};
    for (int i = 0; i < 3; i++) {
        kstt_model *m;
        ASSERT_INT_EQ(kstt_model_load(&m, cases[i].dir, NULL, err, sizeof err), KSTT_OK);
        ASSERT_INT_EQ((int)m->lm->kv_type, (int)cases[i].kv);
        ASSERT_INT_EQ((int)mimi_type(m),
                      (int)(cases[i].mimi == KSTT_WT_BF16_PANEL ? mimi_bf16(m) : cases[i].mimi));
        kstt_model_free(m);
        kstt_model_params mp = kstt_model_params_default();
        mp.kv_type = cases[i].kv == KSTT_KV_F32 ? KSTT_KV_F16 : KSTT_KV_F32;
        mp.mimi_weights =
            cases[i].mimi == KSTT_WT_F32_PANEL ? KSTT_MIMI_WEIGHTS_BF16 : KSTT_MIMI_WEIGHTS_F32;
        ASSERT_INT_EQ(kstt_model_load(&m, cases[i].dir, &mp, err, sizeof err), KSTT_OK);
        ASSERT_INT_EQ((int)m->lm->kv_type, (int)mp.kv_type);
        ASSERT_INT_EQ((int)mimi_type(m),
                      (int)(cases[i].mimi == KSTT_WT_F32_PANEL ? mimi_bf16(m) : KSTT_WT_F32_PANEL));
        kstt_model_free(m);
    }
    kstt_model_params bad = kstt_model_params_default();
    bad.mimi_weights = (kstt_mimi_weights)7;
    kstt_model *m = NULL;
    ASSERT_INT_EQ(kstt_model_load(&m, qdir("q8_0"), &bad, err, sizeof err), KSTT_EINVAL);
    ASSERT_STR_CONTAINS(err, "mimi_weights");
}

static void test_bad_gguf(void) {
    char dir[512], bad[600], want[1400];
    snprintf(dir, sizeof dir, "%s/bad", tmp);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", qdir("q8_0"), dir);
    ASSERT_INT_EQ(system(cmd), 0);
    write_bad_config(dir);
    snprintf(bad, sizeof bad, "%s/bad.gguf", dir);
    /* no such file */
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", bad);
    expect_load_error(dir, KSTT_ENOTFOUND, want);
    /* truncated: the q8_0 file without its last 100 bytes */
    size_t n;
    unsigned char *g = test_read_file(qfile("q8_0"), &n);
    FILE *f = fopen(bad, "wb");
    fwrite(g, 1, n - 100, f);
    fclose(f);
    free(g);
    snprintf(want, sizeof want,
             "%s: tensor 'transformer.layers.1.self_attn.out_proj.weight' data [218880, +4352) "
             "runs past the end of the data section (223132 bytes)",
             bad);
    expect_load_error(dir, KSTT_EFORMAT, want);
    /* a header cut inside the tensor infos */
    g = test_read_file(qfile("q8_0"), &n);
    f = fopen(bad, "wb");
    fwrite(g, 1, 200, f);
    fclose(f);
    free(g);
    snprintf(want, sizeof want, "%s: tensor count 27 is impossible for a 200-byte file", bad);
    expect_load_error(dir, KSTT_EFORMAT, want);
    /* the text head one row short */
    ASSERT_INT_EQ(write_gguf(bad, short_head), 0);
    snprintf(want, sizeof want,
             "%s: tensor 'text_linear.weight' has shape [127, 64], expected [128, 64]", bad);
    expect_load_error(dir, KSTT_EFORMAT, want);
    /* a missing matrix */
    ASSERT_INT_EQ(write_gguf(bad, drop_linear_in), 0);
    snprintf(want, sizeof want, "%s: missing tensor 'transformer.layers.1.gating.linear_in.weight'",
             bad);
    expect_load_error(dir, KSTT_ENOTFOUND, want);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/kstt_lm_gguf_XXXXXX");
    if (!mkdtemp(tmp) || tf_setup())
        return 1;
    RUN(test_q8_0);
    RUN(test_q4_0);
    RUN(test_q4_k_head_only);
    RUN(test_unquantized_gguf);
    RUN(test_pipeline_q8_0);
    RUN(test_storage_defaults);
    RUN(test_bad_gguf);
    tf_teardown();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    if (kstt__alloc_live_bytes() != 0) {
        fprintf(stderr, "leak: %lld bytes\n", kstt__alloc_live_bytes());
        return 1;
    }
    return test_summary();
}
