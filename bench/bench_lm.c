/*
 * kstt bench lm: the LM step of stt-1b-en_fr (d 2048, 16 layers, 16 heads of 128, gated FFN
 * 5632, context 750, text head 8000) on random full-size weights built in memory, for each
 * weight type (bf16, q8_0, q4_0, q4_k), at batch 1/4/8 over an empty and a full context.
 *
 * Every figure is set against the machine's limit: a step reads every weight once plus the
 * KV cache it attends over (K and V, batch x layers x 2 x positions x 2048 elements of 4 bytes
 * for the bf16 rows' f32 cache, 2 for the quantised rows' f16 cache: the KV type
 * KSTT_KV_AUTO picks for such models), so
 * bytes / measured read bandwidth is the fastest a step can be; speed is seconds of audio
 * (80 ms per step per stream) per second of wall time, summed over the batch.
 *
 * The step is the real computation (RMS norms, RoPE, attention over the ring, SiLU gating,
 * out_norm, text head) through the kernel table and the pool, as src/lm runs it; nothing is
 * allocated per step. The quantised types' logit error is measured against the exact f32
 * computation on the same (bf16-stored) weights over a few steps from an empty context; the
 * text head is stored as q8_0 under the 4-bit types, as `kstt quantize` does by default.
 * Then the same error on real directories (bench_error.c): the golden tiny model (random
 * weights) and the trained demo model, each through `kstt quantize`, when they are found.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"
#include "bench_error.h"
#include "core/alloc.h"
#include <unistd.h>
#include "asr/model.h"
#include "codec/mimi_internal.h"
#include "core/pool.h"
#include "kernels/kernels.h"
#include "lm/lm.h"
#include "quant/quant.h"
#include "quant/repack.h"

enum { D = 2048, L = 16, NH = 16, HD = 128, FF = 5632, CTX = 750, VOCAB = 8000, MAXB = 8 };
#define FRAME_S 0.08

typedef struct {
    kstt__wmat in_proj, out_proj, lin_in, lin_out;
} layer_w;

typedef struct {
    kstt__wtype type;
    layer_w layer[L];
    kstt__wmat head;
    void *blob;  /* owned storage of this type's matrices (NULL for the bf16 master) */
    void *blob2; /* a second one when only some matrices were packed */
    size_t bytes;
} model_w;

typedef struct {
    kstt_pool *pool;
    const kstt__kernels *k;
    int B;
    float *x, *h, *qkv, *att, *o, *ab, *g, *logits; /* [B, *] */
    void *kc, *vc;  /* [B, L, NH, CTX, HD] head-major as src/lm, f32 or f16 (kv16) */
    int kv16;       /* the KV cache holds IEEE half (sized for f32 either way) */
    float *scores;                                  /* [threads, CTX] */
    kstt__ws ws;
    int64_t pos;
} state;

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static inline float rnd(void) { /* uniform [-1, 1) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (float)(((rng_state * 2685821657736338717ull) >> 40) * (1.0 / 8388608.0) - 1.0);
}

static void *xalloc(size_t n) {
    void *p = kstt__alloc(n);
    if (!p) {
        fprintf(stderr, "kstt bench: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

/* ---- weights --------------------------------------------------------------------------- */

static kstt__wmat master_mat(long rows, long cols) {
    uint16_t *p = xalloc((size_t)rows * cols * 2);
    const float a = sqrtf(3.0f / (float)cols); /* unit-variance outputs for unit inputs */
    for (long i = 0; i < rows * cols; i++) p[i] = kstt__f32_to_bf16(a * rnd());
    return (kstt__wmat){KSTT_WT_BF16, rows, cols, (size_t)cols * 2, p};
}

static void build_master(model_w *m) {
    memset(m, 0, sizeof *m);
    m->type = KSTT_WT_BF16;
    for (int l = 0; l < L; l++) {
        m->layer[l].in_proj = master_mat(3 * D, D);
        m->layer[l].out_proj = master_mat(D, D);
        m->layer[l].lin_in = master_mat(2 * FF, D);
        m->layer[l].lin_out = master_mat(D, FF);
    }
    m->head = master_mat(VOCAB, D);
}

/* Bytes a product reads: for the load-time packed types, those of the file's block layout
 * they were packed from (the packed copy adds only alignment padding). */
static size_t mat_bytes(const kstt__wmat *w) {
    const kstt__wtype t = kstt__repack_file_type(w->type);
    if (t != w->type)
        return (size_t)w->rows * kstt__wtype_row_bytes(t, w->cols);
    return (size_t)w->rows * w->row_bytes;
}

static size_t model_bytes(const model_w *m) {
    size_t n = mat_bytes(&m->head);
    for (int l = 0; l < L; l++)
        n += mat_bytes(&m->layer[l].in_proj) + mat_bytes(&m->layer[l].out_proj) +
             mat_bytes(&m->layer[l].lin_in) + mat_bytes(&m->layer[l].lin_out);
    return n;
}

/* How the quantised types are built: `kstt quantize`'s defaults (text head q8_0, searched
 * scales) unless --head-type / --max-scale say otherwise (bench options, for measuring what
 * each buys). */
static int g_head_same, g_max_scale;

typedef struct {
    const kstt__wmat *src;
    kstt__wmat *dst;
} quant_job;

static void quant_task(void *arg, int ith, int nth) {
    const quant_job *j = arg;
    long r0, r1;
    kstt__split_range((long)j->src->rows, 1, ith, nth, &r0, &r1);
    float row[FF > D ? FF : D];
    for (long r = r0; r < r1; r++) {
        kstt__wmat_row_f32(j->src, r, row);
        char *out = (char *)j->dst->data + (size_t)r * j->dst->row_bytes;
        if (g_max_scale && j->dst->type == KSTT_WT_Q8_0)
            kstt__quantize_q8_0_maxscale(row, out, j->src->cols);
        else if (g_max_scale && j->dst->type == KSTT_WT_Q4_0)
            kstt__quantize_q4_0_maxscale(row, out, j->src->cols);
        else
            kstt__quantize_row(j->dst->type, row, out, j->src->cols);
    }
}

static void quantize_mat(kstt_pool *pool, const kstt__wmat *src, kstt__wmat *dst,
                         kstt__wtype t, unsigned char **cursor) {
    *dst = (kstt__wmat){t, src->rows, src->cols, kstt__wtype_row_bytes(t, src->cols), *cursor};
    *cursor += mat_bytes(dst);
    quant_job j = {src, dst};
    kstt__pool_run(pool, quant_task, &j);
}

/* The text head's type in a file of type t. */
static kstt__wtype head_type(kstt__wtype t) {
    return t == KSTT_WT_BF16 || g_head_same ? t : KSTT_WT_Q8_0;
}

static void build_quantized(kstt_pool *pool, const model_w *master, kstt__wtype t, model_w *m) {
    memset(m, 0, sizeof *m);
    m->type = t;
    size_t total = 0;
    for (int l = 0; l < L; l++) {
        total += kstt__wtype_row_bytes(t, D) * (4 * D + 2 * FF) + kstt__wtype_row_bytes(t, FF) * D;
    }
    total += kstt__wtype_row_bytes(head_type(t), D) * VOCAB;
    m->blob = xalloc(total);
    unsigned char *cur = m->blob;
    for (int l = 0; l < L; l++) {
        quantize_mat(pool, &master->layer[l].in_proj, &m->layer[l].in_proj, t, &cur);
        quantize_mat(pool, &master->layer[l].out_proj, &m->layer[l].out_proj, t, &cur);
        quantize_mat(pool, &master->layer[l].lin_in, &m->layer[l].lin_in, t, &cur);
        quantize_mat(pool, &master->layer[l].lin_out, &m->layer[l].lin_out, t, &cur);
    }
    quantize_mat(pool, &master->head, &m->head, head_type(t), &cur);
    /* Then packed into the kernels' layouts, as kstt_model_load does with a GGUF file. */
    kstt__wmat *mats[4 * L + 1];
    int nm = 0;
    for (int l = 0; l < L; l++) {
        mats[nm++] = &m->layer[l].in_proj;
        mats[nm++] = &m->layer[l].out_proj;
        mats[nm++] = &m->layer[l].lin_in;
        mats[nm++] = &m->layer[l].lin_out;
    }
    mats[nm++] = &m->head;
    size_t packed = 0;
    for (int i = 0; i < nm; i++)
        if (kstt__repack_type(mats[i]->type) != mats[i]->type)
            packed += (kstt__repack_bytes(mats[i]) + 63) & ~(size_t)63;
    if (packed == 0)
        return;
    unsigned char *blob = xalloc(packed), *pc = blob;
    for (int i = 0; i < nm; i++) {
        if (kstt__repack_type(mats[i]->type) == mats[i]->type)
            continue;
        const kstt__wmat src = *mats[i];
        kstt__repack(&src, pc, mats[i]);
        pc += (kstt__repack_bytes(&src) + 63) & ~(size_t)63;
    }
    /* matrices left in the file layout (none for the LM's shapes) would still point into the
     * old blob: keep it then */
    for (int i = 0; i < nm; i++)
        if (kstt__repack_type(mats[i]->type) == mats[i]->type && mats[i]->type != KSTT_WT_BF16) {
            m->blob2 = blob;
            return;
        }
    kstt__free(m->blob);
    m->blob = blob;
}

static void free_master(model_w *m) {
    for (int l = 0; l < L; l++) {
        kstt__free((void *)m->layer[l].in_proj.data);
        kstt__free((void *)m->layer[l].out_proj.data);
        kstt__free((void *)m->layer[l].lin_in.data);
        kstt__free((void *)m->layer[l].lin_out.data);
    }
    kstt__free((void *)m->head.data);
}

/* ---- the step --------------------------------------------------------------------------- */

static void state_init(state *s, kstt_pool *pool, const kstt__kernels *k, int B) {
    memset(s, 0, sizeof *s);
    s->pool = pool;
    s->k = k;
    s->B = B;
    s->x = xalloc(sizeof(float) * B * D);
    s->h = xalloc(sizeof(float) * B * D);
    s->qkv = xalloc(sizeof(float) * B * 3 * D);
    s->att = xalloc(sizeof(float) * B * D);
    s->o = xalloc(sizeof(float) * B * D);
    s->ab = xalloc(sizeof(float) * B * 2 * FF);
    s->g = xalloc(sizeof(float) * B * FF);
    s->logits = xalloc(sizeof(float) * B * VOCAB);
    const size_t kv = (size_t)B * L * CTX * D;
    s->kc = xalloc(sizeof(float) * kv);
    s->vc = xalloc(sizeof(float) * kv);
    for (size_t i = 0; i < kv; i++) ((float *)s->kc)[i] = rnd(), ((float *)s->vc)[i] = rnd();
    s->scores = xalloc(sizeof(float) * kstt__pool_size(pool) * CTX);
    size_t ws = 0;
    for (int t = 0; t < KSTT_WT_COUNT; t++) {
        size_t a = kstt__matmul_ws_size((kstt__wtype)t, FF, B);
        if (a > ws) ws = a;
    }
    s->ws.buf = xalloc(ws);
    s->ws.cap = ws;
}

static void state_free(state *s) {
    kstt__free(s->x), kstt__free(s->h), kstt__free(s->qkv), kstt__free(s->att);
    kstt__free(s->o), kstt__free(s->ab), kstt__free(s->g), kstt__free(s->logits);
    kstt__free(s->kc), kstt__free(s->vc), kstt__free(s->scores), kstt__free(s->ws.buf);
}

/* Switches the KV cache to f16 (1) or f32 (0), refilled with random values of that type. */
static void state_kv(state *s, int kv16) {
    if (s->kv16 == kv16) return;
    s->kv16 = kv16;
    const size_t kv = (size_t)s->B * L * CTX * D;
    for (size_t i = 0; i < kv; i++) {
        if (kv16) {
            ((uint16_t *)s->kc)[i] = kstt__f32_to_f16(rnd());
            ((uint16_t *)s->vc)[i] = kstt__f32_to_f16(rnd());
        } else {
            ((float *)s->kc)[i] = rnd(), ((float *)s->vc)[i] = rnd();
        }
    }
}

typedef struct {
    state *s;
    int layer;
} att_job;

/* Element offset of (stream b, layer l, head hh, slot t) in the head-major KV cache. */
static size_t kv_at(int b, int l, int hh, long t) {
    return ((((size_t)b * L + l) * NH + hh) * CTX + (size_t)t) * HD;
}

/* One (batch row, head) pair at a time, split across the pool: the fused kernel of src/lm. */
static void att_task(void *arg, int ith, int nth) {
    const att_job *j = arg;
    state *s = j->s;
    const int64_t pos = s->pos;
    const long n = pos + 1 < CTX ? (long)pos + 1 : CTX;
    const long s0 = (long)((pos - n + 1) % CTX);
    const float scale = 1.0f / sqrtf((float)HD);
    float *sc = s->scores + (size_t)ith * CTX;
    long p0, p1;
    kstt__split_range((long)s->B * NH, 1, ith, nth, &p0, &p1);
    for (long p = p0; p < p1; p++) {
        const int b = (int)(p / NH), hh = (int)(p % NH);
        const float *q = s->qkv + (size_t)b * 3 * D + hh * HD;
        const size_t at = kv_at(b, j->layer, hh, 0);
        float *out = s->att + (size_t)b * D + hh * HD;
        if (s->kv16)
            s->k->attn_kv_f16(q, (const uint16_t *)s->kc + at, (const uint16_t *)s->vc + at, s0,
                              n, CTX, HD, scale, sc, out);
        else
            s->k->attn_kv_f32(q, (const float *)s->kc + at, (const float *)s->vc + at, s0, n,
                              CTX, HD, scale, sc, out);
    }
}

/* Milliseconds of the attention alone (every layer's att_task at the state's position, the
 * KV cache as it is), best of 10: the share of a step that the KV type changes. */
static double time_attention(state *s) {
    double best = 1e30;
    for (int rep = 0; rep < 10; rep++) {
        const double t0 = kstt_bench_now();
        for (int l = 0; l < L; l++) {
            att_job aj = {s, l};
            kstt__pool_run(s->pool, att_task, &aj);
        }
        const double dt = kstt_bench_now() - t0;
        if (dt < best) best = dt;
    }
    return best * 1e3;
}

static void lm_step(state *s, const model_w *m, const float *emb) {
    const int B = s->B;
    kstt__matmul_ws_size(m->type, D, B);
    memcpy(s->x, emb, sizeof(float) * B * D);
    static float ones[FF];
    if (ones[0] == 0.0f)
        for (int i = 0; i < FF; i++) ones[i] = 1.0f;
    for (int l = 0; l < L; l++) {
        const layer_w *w = &m->layer[l];
        for (int b = 0; b < B; b++) kstt__rmsnorm(s->x + b * D, ones, 1e-8f, s->h + b * D, D);
        kstt__matmul(s->pool, s->k, &w->in_proj, s->h, D, s->qkv, 3 * D, B, &s->ws);
        const long slot = (long)(s->pos % CTX);
        for (int b = 0; b < B; b++) {
            float *q = s->qkv + (size_t)b * 3 * D;
            kstt__rope_interleaved(q, NH, HD, s->pos, 100000.0f);
            kstt__rope_interleaved(q + D, NH, HD, s->pos, 100000.0f);
            for (int hh = 0; hh < NH; hh++) {
                const size_t at = kv_at(b, l, hh, slot);
                if (s->kv16) {
                    s->k->f32_to_f16(q + D + hh * HD, (uint16_t *)s->kc + at, HD);
                    s->k->f32_to_f16(q + 2 * D + hh * HD, (uint16_t *)s->vc + at, HD);
                } else {
                    memcpy((float *)s->kc + at, q + D + hh * HD, sizeof(float) * HD);
                    memcpy((float *)s->vc + at, q + 2 * D + hh * HD, sizeof(float) * HD);
                }
            }
        }
        att_job aj = {s, l};
        kstt__pool_run(s->pool, att_task, &aj);
        kstt__matmul(s->pool, s->k, &w->out_proj, s->att, D, s->o, D, B, &s->ws);
        for (int i = 0; i < B * D; i++) s->x[i] += s->o[i];
        for (int b = 0; b < B; b++) kstt__rmsnorm(s->x + b * D, ones, 1e-8f, s->h + b * D, D);
        kstt__matmul(s->pool, s->k, &w->lin_in, s->h, D, s->ab, 2 * FF, B, &s->ws);
        for (int b = 0; b < B; b++)
            kstt__silu_mul(s->ab + (size_t)b * 2 * FF, s->ab + (size_t)b * 2 * FF + FF,
                           s->g + (size_t)b * FF, FF);
        kstt__matmul(s->pool, s->k, &w->lin_out, s->g, FF, s->o, D, B, &s->ws);
        for (int i = 0; i < B * D; i++) s->x[i] += s->o[i];
    }
    for (int b = 0; b < B; b++) kstt__rmsnorm(s->x + b * D, ones, 1e-8f, s->h + b * D, D);
    kstt__matmul(s->pool, s->k, &m->head, s->h, D, s->logits, VOCAB, B, &s->ws);
    s->pos++;
}

/* ---- measurements ----------------------------------------------------------------------- */

typedef struct {
    const char *weights;
    const char *kv; /* KV cache type: "f32" or "f16" */
    int batch, context;
    double ms, speed, bound_speed, fraction, bytes, kv_bytes;
} lm_row;

static double time_steps(state *s, const model_w *m, const float *emb, int64_t pos0, int warm,
                         int n) {
    s->pos = pos0;
    for (int i = 0; i < warm; i++) lm_step(s, m, emb);
    s->pos = pos0;
    double best = 1e30;
    /* best of 5 means of n steps: the minimum is the estimator least disturbed by other load */
    for (int rep = 0; rep < 5; rep++) {
        s->pos = pos0;
        const double t0 = kstt_bench_now();
        for (int i = 0; i < n; i++) lm_step(s, m, emb);
        const double dt = (kstt_bench_now() - t0) / n;
        if (dt < best) best = dt;
    }
    return best;
}

/* Relative RMS error of the logits of `m` vs the exact computation on `ref` (bf16 master
 * through the reference-exact bf16 kernel), over `steps` steps from an empty context. */
static double logit_error(state *s, const model_w *ref, const model_w *m, const float *embs,
                          int steps) {
    float *want = xalloc(sizeof(float) * (size_t)steps * VOCAB);
    s->pos = 0;
    for (int i = 0; i < steps; i++) {
        lm_step(s, ref, embs + (size_t)i * D);
        memcpy(want + (size_t)i * VOCAB, s->logits, sizeof(float) * VOCAB);
    }
    double num = 0, den = 0;
    s->pos = 0;
    for (int i = 0; i < steps; i++) {
        lm_step(s, m, embs + (size_t)i * D);
        for (int v = 0; v < VOCAB; v++) {
            const double d = (double)s->logits[v] - want[(size_t)i * VOCAB + v];
            num += d * d;
            den += (double)want[(size_t)i * VOCAB + v] * want[(size_t)i * VOCAB + v];
        }
    }
    kstt__free(want);
    return sqrt(num / (den > 0 ? den : 1));
}


/* ---- end to end through the public API ------------------------------------------------ */

typedef struct {
    char weights[16];
    const char *mimi, *kv; /* what the model load chose: Mimi matrices, KV ring */
    int batch, context;
    double speed;
    char note[160];
} e2e_row;

/* Speech if the golden directory is around, else a deterministic synthetic signal. */
static float *bench_audio(size_t n) {
    float *pcm = xalloc(n * sizeof(float));
    const char *dir = getenv("KSTT_GOLDEN_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/bria_10s_24k.f32", dir ? dir : "../shared/golden");
    FILE *f = fopen(path, "rb");
    size_t got = 0;
    if (f) {
        got = fread(pcm, sizeof(float), n, f);
        fclose(f);
    }
    for (size_t i = got; i < n; i++)
        pcm[i] = got ? pcm[i % got] : 0.1f * sinf(0.05f * (float)i) + 0.02f * rnd();
    return pcm;
}

/* Streams B copies of the audio through one model, `warm_s` seconds untimed then `secs`
 * seconds timed, one frame per call (as a live stream arrives). */
static int e2e_measure(const char *dir, kstt_pool *pool, int B, double warm_s, double secs,
                       kstt_mimi_weights mimi_weights, e2e_row *row, char *note,
                       size_t notelen) {
    double *speed = &row->speed;
    kstt_model *model = NULL;
    kstt_model_params mp = kstt_model_params_default();
    mp.pool = pool;
    mp.mimi_weights = mimi_weights;
    char err[512];
    int rc = kstt_model_load(&model, dir, &mp, err, sizeof err);
    if (rc != KSTT_OK) {
        snprintf(note, notelen, "%.95s", err);
        return rc;
    }
    row->mimi = model->mimi->layers[0].in_proj.type == KSTT_WT_BF16_PANEL ? "bf16" : "f32";
    row->kv = model->lm->kv_type == KSTT_KV_F16 ? "f16" : "f32";
    kstt_stream *st[MAXB] = {0};
    kstt_stream_params sp = kstt_stream_params_default();
    sp.pad = 0;
    sp.step_events = 0;
    for (int b = 0; b < B && rc == KSTT_OK; b++) rc = kstt_stream_new(&st[b], model, &sp);
    const size_t fs = 1920, nwarm = (size_t)(warm_s * 12.5), ntime = (size_t)(secs * 12.5);
    float *pcm = rc == KSTT_OK ? bench_audio((nwarm + ntime) * fs) : NULL;
    double t0 = 0;
    kstt_event ev[64];
    for (size_t fr = 0; rc == KSTT_OK && fr < nwarm + ntime; fr++) {
        if (fr == nwarm) t0 = kstt_bench_now();
        const float *chunk = pcm + fr * fs;
        if (B == 1) {
            const int r = kstt_stream_feed(st[0], chunk, fs);
            rc = r < 0 ? r : KSTT_OK;
        } else {
            const float *p[MAXB];
            size_t n[MAXB];
            for (int b = 0; b < B; b++) p[b] = chunk, n[b] = fs;
            rc = kstt_streams_feed(st, p, n, (size_t)B);
        }
        for (int b = 0; b < B; b++)
            while (kstt_stream_read(st[b], ev, 64) > 0) {
            }
    }
    if (rc == KSTT_OK)
        *speed = B * secs / (kstt_bench_now() - t0);
    else
        snprintf(note, notelen, "%s", st[0] ? kstt_stream_errmsg(st[0]) : kstt_strerror(rc));
    if (pcm) kstt__free(pcm);
    for (int b = 0; b < B; b++) kstt_stream_free(st[b]);
    kstt_model_free(model);
    return rc;
}

static double pool_job_us(kstt_pool *pool);

static void usage(void) {
    printf("usage: kstt bench [lm] [--quick] [--json] [--threads N] [--types LIST] [--steps N]\n"
           "                 [--model DIR] [--e2e-seconds S]\n"
           "  LM step of stt-1b-en_fr on random full-size weights, per weight type\n"
           "  --types   comma-separated subset of bf16,q8_0,q4_0,q4_k (default all)\n"
           "  --quick   batch 1 and 8 only, fewer steps (under five minutes)\n"
           "  --json    machine-readable output on stdout\n"
           "  --model DIR  also stream audio end to end (Mimi + LM, public API) through the\n"
           "            model in DIR (e.g. `kstt bench generate model DIR` plus a Mimi file);\n"
           "            quantised types use DIR-q8_0, DIR-q4_0, DIR-q4_k when they exist\n"
           "            (`kstt quantize --type q8_0 DIR DIR-q8_0`)\n"
           "  logit error of the quantised types, also on real directories through kstt quantize:\n"
           "  --golden DIR   golden vectors (default $KSTT_GOLDEN_DIR, else ../shared/golden):\n"
           "                 DIR/stt_tiny teacher-forced on DIR/stt_tiny_ref.safetensors\n"
           "  --demo DIR     a trained model with samples/ (default models/kstt-demo-en)\n"
           "                 (--golden none, --demo none: skip that model)\n"
           "  --head-type same  text head in the type of the rest (default q8_0 for q4_*)\n"
           "  --max-scale    max-based q8_0/q4_0 scales (ggml reference) instead of the search\n"
           "  --error-only   only the logit errors (no timing, no end to end)\n"
           "  --products     also the per-product error of each quantiser\n"
           "  --no-1b        skip the random 1B model (implies --error-only)\n"
           "  --no-transcripts  no word errors on the demo clips (logits only: faster)\n");
}

static void noop_task(void *arg, int ith, int nth) { (void)arg, (void)ith, (void)nth; }

static double pool_job_us(kstt_pool *pool) {
    for (int i = 0; i < 1000; i++) kstt__pool_run(pool, noop_task, NULL);
    const int n = 20000;
    const double t0 = kstt_bench_now();
    for (int i = 0; i < n; i++) kstt__pool_run(pool, noop_task, NULL);
    return (kstt_bench_now() - t0) / n * 1e6;
}

int kstt_bench_lm(int argc, char **argv) {
    int quick = 0, json = 0, threads = 0, steps = 0;
    double e2e_secs = 0;
    const char *types = "bf16,q8_0,q4_0,q4_k", *model_dir = NULL;
    const char *golden_dir = getenv("KSTT_GOLDEN_DIR"), *demo_dir = "models/kstt-demo-en";
    char qopts[64] = "";
    int error_only = 0, products = 0, no_1b = 0, transcripts = 1;
    if (!golden_dir || !*golden_dir) golden_dir = "../shared/golden";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--types") && i + 1 < argc) types = argv[++i];
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) model_dir = argv[++i];
        else if (!strcmp(argv[i], "--e2e-seconds") && i + 1 < argc) e2e_secs = atof(argv[++i]);
        else if (!strcmp(argv[i], "--golden") && i + 1 < argc) golden_dir = argv[++i];
        else if (!strcmp(argv[i], "--demo") && i + 1 < argc) demo_dir = argv[++i];
        else if (!strcmp(argv[i], "--head-type") && i + 1 < argc && !strcmp(argv[i + 1], "same")) {
            if (!g_head_same) strcat(qopts, " --head-type same");
            g_head_same = 1;
            i++;
        } else if (!strcmp(argv[i], "--max-scale")) {
            if (!g_max_scale) strcat(qopts, " --max-scale");
            g_max_scale = 1;
        }
        else if (!strcmp(argv[i], "--error-only")) error_only = 1;
        else if (!strcmp(argv[i], "--products")) products = 1;
        else if (!strcmp(argv[i], "--no-1b")) no_1b = error_only = 1;
        else if (!strcmp(argv[i], "--no-transcripts")) transcripts = 0;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return 0;
        } else {
            fprintf(stderr, "kstt bench: unknown option '%s'\n", argv[i]);
            usage();
            return 2;
        }
    }
    if (steps <= 0) steps = quick ? 3 : 8;
    kstt_pool *pool = NULL;
    if (kstt_pool_new(&pool, threads) != KSTT_OK) {
        fprintf(stderr, "kstt bench: cannot start the thread pool\n");
        return 1;
    }
    threads = kstt_pool_threads(pool);
    FILE *log = json ? stderr : stdout;
    const kstt__kernels *k = kstt__kernels_get(KSTT_KERNELS_AUTO);
    fprintf(log, "%s\n", kstt_system_info());
    /* The bound uses the best bandwidth seen (here, after each weight type and at the end): on a
     * busy machine (or a VM whose host is busy) a single probe reads low and would flatter
     * every fraction. */
    double gbs = kstt_bench_read_bandwidth_gbs(threads), gbs_best = gbs;
    double load = -1;
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
        if (fscanf(la, "%lf", &load) != 1) load = -1;
        fclose(la);
    }
    const double job_us = pool_job_us(pool);
    fprintf(log, "threads %d, read bandwidth %.1f GB/s, pool job overhead %.2f us\n", threads,
            gbs, job_us);

    /* The Mimi encoder's real-time factors (the full-size random Mimi, f32: exact codes). */
    kstt_bench_mimi_speed mimi = {0, 0, 0, 0};
    int have_mimi = 0;
    if (!error_only) {
        have_mimi = kstt_bench_mimi_speeds(threads, quick ? 4.0 : 10.0, quick ? 2 : 3, log,
                                           &mimi) == 0;
        if (have_mimi)
            fprintf(log,
                    "Mimi encoder (f32): offline %.1fx (1 thread) %.1fx (%d), streaming one "
                    "frame per call %.1fx (1 thread) %.1fx (%d)\n",
                    mimi.offline_1t, mimi.offline_all, threads, mimi.stream_1t, mimi.stream_all,
                    threads);
    }

    const double t_build = kstt_bench_now();
    model_w master;
    memset(&master, 0, sizeof master);
    if (!no_1b) { /* --no-1b: only the real directories' errors (tests) */
        build_master(&master);
        fprintf(log, "random 1B weights (bf16, %.0f MB) in %.1f s\n", model_bytes(&master) / 1e6,
                kstt_bench_now() - t_build);
    }

    const int batches_full[] = {1, 4, 8}, batches_quick[] = {1, 8};
    const int *batches = quick ? batches_quick : batches_full;
    const int nbatch = quick ? 2 : 3;
    lm_row rows[64];
    int nrows = 0;
    struct {
        const char *name;
        double err, mb;
    } errs[8];
    kstt_bench_err merr[32]; /* golden tiny and demo rows */
    int nmerr = 0;
    int nerr = 0;
    float *embs = xalloc(sizeof(float) * MAXB * D * 8);
    for (size_t i = 0; i < (size_t)MAXB * D * 8; i++) embs[i] = rnd();

    state s1;
    if (!no_1b) state_init(&s1, pool, k, 1);
    char list[128];
    snprintf(list, sizeof list, "%s", types);
    for (char *tok = no_1b ? NULL : strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        const int t = kstt__wtype_from_name(tok);
        if (t != KSTT_WT_BF16 && t != KSTT_WT_Q8_0 && t != KSTT_WT_Q4_0 && t != KSTT_WT_Q4_K) {
            fprintf(stderr, "kstt bench: unknown weight type '%s'\n", tok);
            continue;
        }
        model_w qm, *m = &master;
        if (t != KSTT_WT_BF16) {
            const double t0 = kstt_bench_now();
            build_quantized(pool, &master, (kstt__wtype)t, &qm);
            m = &qm;
            fprintf(log, "%s: quantised in %.1f s\n", tok, kstt_bench_now() - t0);
            errs[nerr].name = kstt__wtype_name((kstt__wtype)t);
            errs[nerr].err = logit_error(&s1, &master, m, embs, quick ? 4 : 8);
            errs[nerr].mb = model_bytes(m) / 1e6;
            nerr++;
        } else {
            errs[nerr].name = "bf16";
            errs[nerr].err = 0.0;
            errs[nerr].mb = model_bytes(m) / 1e6;
            nerr++;
        }
        const double wbytes = (double)model_bytes(m);
        for (int bi = 0; bi < (error_only ? 0 : nbatch); bi++) {
            const int B = batches[bi];
            state sb, *s = &s1;
            if (B != 1) {
                state_init(&sb, pool, k, B);
                s = &sb;
            }
            /* the KV type KSTT_KV_AUTO gives this model: f16 for quantised weights */
            const int kv16 = t != KSTT_WT_BF16;
            state_kv(s, kv16);
            for (int full = 0; full < 2; full++) {
                const int64_t pos0 = full ? 10 * CTX : 0;
                const double dt = time_steps(s, m, embs, pos0, 1, steps);
                /* positions attended: 1 at an empty context (grows by one per timed step:
                 * negligible), CTX when full */
                const double kv =
                    (double)B * L * 2 * (full ? CTX : 1) * D * (kv16 ? 2.0 : 4.0);
                lm_row *r = &rows[nrows++];
                r->weights = kstt__wtype_name((kstt__wtype)t);
                r->kv = kv16 ? "f16" : "f32";
                r->kv_bytes = kv;
                r->batch = B;
                r->context = full ? CTX : 0;
                r->ms = dt * 1e3;
                r->speed = B * FRAME_S / dt;
                r->bytes = wbytes + kv;
                r->bound_speed = B * FRAME_S / (r->bytes / (gbs * 1e9));
                r->fraction = r->speed / r->bound_speed;
                fprintf(log, "  %-5s batch %d context %3d: %7.2f ms/step  %5.2fx real time  "
                             "(bound %5.2fx, %3.0f%%)\n",
                        r->weights, B, r->context, r->ms, r->speed, r->bound_speed,
                        100 * r->fraction);
                if (full) {
                    const double ams = time_attention(s);
                    fprintf(log, "        attention alone (%s KV, %.0f MB): %6.2f ms/step, "
                                 "%.1f GB/s\n",
                            r->kv, kv / 1e6, ams, kv / (ams * 1e-3) / 1e9);
                }
            }
            if (B != 1) state_free(&sb);
        }
        state_kv(&s1, 0); /* the logit-error runs compare on an f32 cache */
        if (t != KSTT_WT_BF16) {
            kstt__free(qm.blob);
            kstt__free(qm.blob2);
        }
        const double g = kstt_bench_read_bandwidth_gbs(threads); /* probe again: see above */
        if (g > gbs_best) gbs_best = g;
    }
    if (!no_1b) state_free(&s1);

    /* bf16 through vdpbf16ps (KSTT_BF16=dot): speed and error at batch 1 and 8, for the
     * record of why it is not the default */
    double dot_ms[2] = {0, 0}, dot_err = -1;
    if (k->matmul_bf16_dot && strstr(types, "bf16") && !error_only && !no_1b) {
        kstt__kernels kd = *k;
        kd.matmul[KSTT_WT_BF16] = k->matmul_bf16_dot;
        kd.prepare_x[KSTT_WT_BF16] = k->prepare_x_bf16_dot;
        state s;
        state_init(&s, pool, &kd, 1);
        dot_ms[0] = time_steps(&s, &master, embs, 10 * CTX, 1, steps) * 1e3;
        state sref;
        state_init(&sref, pool, k, 1);
        /* error: same sequence through the exact and the dot kernels */
        float *want = xalloc(sizeof(float) * VOCAB * 4);
        sref.pos = 0;
        s.pos = 0;
        double num = 0, den = 0;
        for (int i = 0; i < 4; i++) {
            lm_step(&sref, &master, embs + (size_t)i * D);
            lm_step(&s, &master, embs + (size_t)i * D);
            for (int v = 0; v < VOCAB; v++) {
                const double d = (double)s.logits[v] - sref.logits[v];
                num += d * d;
                den += (double)sref.logits[v] * sref.logits[v];
            }
        }
        dot_err = sqrt(num / den);
        kstt__free(want);
        state_free(&sref);
        state_free(&s);
        state s8;
        state_init(&s8, pool, &kd, 8);
        dot_ms[1] = time_steps(&s8, &master, embs, 10 * CTX, 1, steps) * 1e3;
        state_free(&s8);
        fprintf(log, "  bf16 via vdpbf16ps (KSTT_BF16=dot), full context: batch 1 %.2f ms/step, "
                     "batch 8 %.2f ms/step, logit error %.2e\n",
                dot_ms[0], dot_ms[1], dot_err);
    }
    free_master(&master);
    kstt__free(embs);

    /* the real directories: golden tiny (random weights) and the trained demo model */
    {
        char gd[1024], gr[1100];
        snprintf(gd, sizeof gd, "%s/stt_tiny", golden_dir);
        snprintf(gr, sizeof gr, "%s/stt_tiny_ref.safetensors", golden_dir);
        const int skip_golden = !strcmp(golden_dir, "none"), skip_demo = !strcmp(demo_dir, "none");
        if (!skip_golden && access(gr, R_OK) == 0) {
            const int r = kstt_bench_error_model("golden-tiny", gd, gr, types, qopts, transcripts,
                                                 pool, log, merr + nmerr, 32 - nmerr);
            if (r > 0) nmerr += r;
        } else if (!skip_golden) {
            fprintf(log, "golden tiny model not found (%s): skipped\n", gr);
        }
        char dc[1100];
        snprintf(dc, sizeof dc, "%s/config.json", demo_dir);
        if (!skip_demo && access(dc, R_OK) == 0) {
            const int r = kstt_bench_error_model("demo", demo_dir, NULL, types, qopts,
                                                 transcripts, pool, log, merr + nmerr, 32 - nmerr);
            if (r > 0) nmerr += r;
        } else if (!skip_demo) {
            fprintf(log, "demo model not found (%s): skipped\n", dc);
        }
        if (products)
            kstt_bench_error_products(skip_demo || access(dc, R_OK) ? NULL : demo_dir, pool, log);
    }

    e2e_row e2e[32];
    int ne2e = 0;
    if (model_dir && !error_only) {
        if (e2e_secs <= 0) e2e_secs = quick ? 4 : 10;
        snprintf(list, sizeof list, "%s", types);
        for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
            const int t = kstt__wtype_from_name(tok);
            if (t < 0) continue;
            char dir[1024];
            if (t == KSTT_WT_BF16)
                snprintf(dir, sizeof dir, "%s", model_dir);
            else
                snprintf(dir, sizeof dir, "%s-%s", model_dir, kstt__wtype_name((kstt__wtype)t));
            for (int bi = 0; bi < nbatch + (quick ? 0 : 2); bi++) {
                /* the extra passes: one stream at a full context (60 s of audio first), with
                 * the Mimi storage the load chooses, then with exact f32 Mimi where that
                 * choice was bf16 */
                const int full = bi >= nbatch, B = full ? 1 : batches[bi];
                const int exact_mimi = bi == nbatch + 1;
                if (exact_mimi && !strcmp(e2e[ne2e - 1].mimi ? e2e[ne2e - 1].mimi : "f32", "f32"))
                    break;
                e2e_row *r = &e2e[ne2e++];
                memset(r, 0, sizeof *r);
                snprintf(r->weights, sizeof r->weights, "%s", kstt__wtype_name((kstt__wtype)t));
                r->batch = B;
                r->context = full ? CTX : (int)(e2e_secs * 12.5);
                const int rc = e2e_measure(dir, pool, B, full ? 60.0 : 1.0, e2e_secs,
                                           exact_mimi ? KSTT_MIMI_WEIGHTS_F32
                                                      : KSTT_MIMI_WEIGHTS_AUTO,
                                           r, r->note, sizeof r->note);
                if (rc != KSTT_OK) r->speed = -1;
                fprintf(log,
                        "  end to end %-5s (Mimi %s, KV %s) batch %d context %s: %.2fx real "
                        "time %s\n",
                        r->weights, r->mimi ? r->mimi : "-", r->kv ? r->kv : "-", B,
                        full ? "750" : "0..", r->speed, r->note);
                if (rc != KSTT_OK) break;
            }
        }
    }

    const double gbs_end = kstt_bench_read_bandwidth_gbs(threads);
    if (gbs_end > gbs_best) gbs_best = gbs_end;
    if (gbs_best > gbs) {
        for (int i = 0; i < nrows; i++) {
            rows[i].bound_speed *= gbs_best / gbs;
            rows[i].fraction = rows[i].speed / rows[i].bound_speed;
        }
        gbs = gbs_best;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const double rss_mb = ru.ru_maxrss / 1024.0;

    if (!json) {
        printf("\n| weights | KV | MB read/step (weights) | batch | context | ms/step | speed (x "
               "real time) | bound | fraction of bound |\n|---|---|---|---|---|---|---|---|---|\n");
        for (int i = 0; i < nrows; i++)
            printf("| %s | %s | %.0f (%.0f) | %d | %d | %.2f | %.2f | %.2f | %.0f%% |\n",
                   rows[i].weights, rows[i].kv, rows[i].bytes / 1e6,
                   (rows[i].bytes - rows[i].kv_bytes) / 1e6, rows[i].batch, rows[i].context,
                   rows[i].ms, rows[i].speed,
                   rows[i].bound_speed, 100 * rows[i].fraction);
        printf("\n| model | weights (text head) | LM MB | logit relative RMS error vs f32 | "
               "weights only | argmax equal | word errors | transcripts as original |\n"
               "|---|---|---|---|---|---|---|---|\n");
        for (int i = 0; i < nerr; i++)
            printf("| random-1b | %s (%s) | %.0f | %.3f%% | - | - | - | - |\n", errs[i].name,
                   kstt__wtype_name(head_type((kstt__wtype)kstt__wtype_from_name(errs[i].name))),
                   errs[i].mb, 100 * errs[i].err);
        if (dot_err >= 0) printf("| random-1b | bf16 (vdpbf16ps) | - | %.3f%% | - | - | - | - |\n",
                                 100 * dot_err);
        for (int i = 0; i < nmerr; i++) {
            const kstt_bench_err *e = &merr[i];
            printf("| %s | %s (%s) | %.2f | %.3f%% | %.3f%% | %d/%d |", e->model, e->weights,
                   e->head, e->lm_mb, 100 * e->rel_rms, 100 * e->weights_only, e->argmax_equal,
                   e->steps);
            if (e->words)
                printf(" %d/%d | %d/%d |\n", e->word_errors, e->words, e->same_transcripts,
                       e->n_transcripts);
            else
                printf(" - | - |\n");
        }
        if (ne2e) {
            printf("\n| end to end (Mimi + LM) | Mimi matrices | KV | batch | context (steps) | "
                   "speed (x real time) |\n|---|---|---|---|---|---|\n");
            for (int i = 0; i < ne2e; i++) {
                if (e2e[i].speed < 0)
                    printf("| %s | - | - | %d | - | not run: %s |\n", e2e[i].weights,
                           e2e[i].batch, e2e[i].note);
                else
                    printf("| %s | %s | %s | %d | %s%d | %.2f |\n", e2e[i].weights, e2e[i].mimi,
                           e2e[i].kv, e2e[i].batch, e2e[i].context == CTX ? "" : "0..",
                           e2e[i].context, e2e[i].speed);
            }
        }
        if (have_mimi)
            printf("\n| Mimi encoder (f32, full size) | 1 thread | %d threads |\n|---|---|---|\n"
                   "| offline (one call), x real time | %.1f | %.1f |\n"
                   "| streaming (1920-sample calls), x real time | %.1f | %.1f |\n",
                   threads, mimi.offline_1t, mimi.offline_all, mimi.stream_1t, mimi.stream_all);
        printf("\nread bandwidth %.1f GB/s (%d threads, best of the probes at start, between types "
               "and at the end), "
               "pool job overhead %.2f us, peak RSS %.0f MB, load average at start %.2f\n",
               gbs, threads, job_us, rss_mb, load);
    } else {
        printf("{\"machine\": {\"threads\": %d, \"read_gbs\": %.2f, \"pool_job_us\": %.3f, "
               "\"load_avg\": %.2f, \"system\": \"%s\"},\n",
               threads, gbs, job_us, load, kstt_system_info());
        if (have_mimi)
            printf(" \"mimi\": {\"speed_1t\": %.3f, \"speed_all\": %.3f, "
                   "\"stream_speed_1t\": %.3f, \"stream_speed_all\": %.3f},\n",
                   mimi.offline_1t, mimi.offline_all, mimi.stream_1t, mimi.stream_all);
        else
            printf(" \"mimi\": null,\n");
        printf(" \"lm\": [\n");
        for (int i = 0; i < nrows; i++)
            printf("  {\"weights\": \"%s\", \"kv\": \"%s\", \"batch\": %d, \"context\": %d, "
                   "\"ms_per_step\": %.3f, "
                   "\"speed\": %.3f, \"bound_speed\": %.3f, \"fraction_of_bound\": %.3f, "
                   "\"bytes_per_step\": %.0f}%s\n",
                   rows[i].weights, rows[i].kv, rows[i].batch, rows[i].context, rows[i].ms,
                   rows[i].speed,
                   rows[i].bound_speed, rows[i].fraction, rows[i].bytes,
                   i + 1 < nrows ? "," : "");
        printf(" ],\n \"lm_error\": [\n");
        for (int i = 0; i < nerr; i++)
            printf("  {\"model\": \"random-1b\", \"weights\": \"%s\", \"head\": \"%s\", "
                   "\"weight_mb\": %.1f, \"logit_rel_rms\": %.6f}%s\n",
                   errs[i].name,
                   kstt__wtype_name(head_type((kstt__wtype)kstt__wtype_from_name(errs[i].name))),
                   errs[i].mb, errs[i].err, i + 1 < nerr || nmerr ? "," : "");
        for (int i = 0; i < nmerr; i++) {
            const kstt_bench_err *e = &merr[i];
            printf("  {\"model\": \"%s\", \"weights\": \"%s\", \"head\": \"%s\", "
                   "\"weight_mb\": %.2f, \"logit_rel_rms\": %.6f, \"weights_only_rel_rms\": %.6f, "
                   "\"max_abs\": %.4f, \"argmax_equal\": %d, \"steps\": %d",
                   e->model, e->weights, e->head, e->lm_mb, e->rel_rms, e->weights_only,
                   e->max_abs, e->argmax_equal, e->steps);
            if (e->words)
                printf(", \"word_errors\": %d, \"words\": %d, \"same_transcripts\": %d, "
                       "\"transcripts\": %d",
                       e->word_errors, e->words, e->same_transcripts, e->n_transcripts);
            printf("}%s\n", i + 1 < nmerr ? "," : "");
        }
        printf(" ],\n");
        if (dot_err >= 0)
            printf(" \"bf16_dot\": {\"ms_per_step_b1\": %.3f, \"ms_per_step_b8\": %.3f, "
                   "\"logit_rel_rms\": %.6f},\n",
                   dot_ms[0], dot_ms[1], dot_err);
        printf(" \"end_to_end\": [");
        int first = 1;
        for (int i = 0; i < ne2e; i++) {
            if (e2e[i].speed < 0) continue;
            printf("%s\n  {\"weights\": \"%s\", \"mimi\": \"%s\", \"kv\": \"%s\", \"batch\": %d, "
                   "\"context\": %d, \"speed\": %.3f}",
                   first ? "" : ",", e2e[i].weights, e2e[i].mimi, e2e[i].kv, e2e[i].batch,
                   e2e[i].context, e2e[i].speed);
            first = 0;
        }
        printf("%s],\n \"peak_rss_mb\": %.1f}\n", first ? "" : "\n ", rss_mb);
    }
    kstt_pool_free(pool);
    return 0;
}
