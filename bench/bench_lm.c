/*
 * kstt bench lm: the library's LM step (src/lm through its seam lm/lm.h, exactly what a
 * stream runs) on a generated random model with the real dimensions (stt-1b-en_fr by default:
 * d 2048, 16 layers, 16 heads of 128, gated FFN 5632, context 750, text head 8000, 32
 * codebooks, 4 VAD heads), for each weight type (bf16, q8_0, q4_0, q4_k), at batch 1/4/8 over
 * an empty and a full context.
 *
 * The model is written once by the generator of `kstt bench generate` (bench/gen_lm.c, bf16)
 * into the bench cache (bench_cache_dir) and quantised once there by `kstt quantize` (the
 * library's quantiser: text head q8_0 under the 4-bit types, searched scales, unless
 * --head-type same / --max-scale); later runs load the cached files.
 *
 * Every figure is set against the machine's limit: a step reads every weight once plus the
 * KV cache it attends over (K and V, batch x layers x 2 x positions x dim elements of 4 bytes
 * for the f32 ring of the bf16 model, 2 for the f16 ring of the quantised ones: what
 * KSTT_KV_AUTO picks), so bytes / measured read bandwidth is the fastest a step can be; speed
 * is seconds of audio (80 ms per step per stream) per second of wall time, summed over the
 * batch. A full context is reached by moving the streams' positions (kstt__lm_state_seek), not
 * by stepping through it. The quantised types' logit error is measured against the bf16 model
 * over a few steps from an empty context, both on an f32 KV ring. Then the same error on real
 * directories (bench_error.c): the golden tiny model (random weights) and the trained demo
 * model, each through `kstt quantize`, when they are found.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asr/model.h"
#include "bench.h"
#include "bench_error.h"
#include "codec/mimi_internal.h"
#include "commands.h"
#include "core/alloc.h"
#include "core/pool.h"
#include "gen_lm.h"
#include "io/weights.h"
#include "lm/config.h"
#include "lm/cpu/lm_cpu.h"
#include "lm/lm.h"
#include "quant/quant.h"
#include "quant/repack.h"

enum { MAXB = 8 };
#define FRAME_S 0.08

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

/* ---- the cached models ------------------------------------------------------------------ */

/* How the quantised types are built: `kstt quantize`'s defaults unless --head-type same /
 * --max-scale (bench options, for measuring what each buys). */
static int g_head_same, g_max_scale;

static int exists(const char *dir, const char *name) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return stat(p, &st) == 0;
}

/* The directory of the random `dims` model in weight type `type` ("bf16": the generated file;
 * else its quantisation), made on first use: written into DIR.tmp, then renamed, so an
 * interrupted run leaves nothing that looks complete. 0 on success (message on stderr). */
static int cached_lm(const char *dims, const char *type, int threads, char *dir, size_t cap,
                     FILE *log) {
    char base[900], src[1024], tmp[1100], err[512];
    bench_cache_dir(base, sizeof base);
    snprintf(src, sizeof src, "%s/lm-%s-seed1", base, dims);
    if (!exists(src, "config.json")) {
        bench_gen_lm_dims d;
        if (bench_gen_lm_dims_get(dims, &d)) {
            fprintf(stderr, "kstt bench: unknown --dims %s (1b, 2.6b or tiny)\n", dims);
            return -1;
        }
        fprintf(log, "generating the random %s LM (bf16) into %s\n", dims, src);
        fflush(log);
        const double t0 = bench_now();
        snprintf(tmp, sizeof tmp, "%s.tmp", src);
        char p[1200];
        int rc = mkdir(tmp, 0755) != 0 && errno != EEXIST ? KSTT_EIO : KSTT_OK;
        snprintf(p, sizeof p, "%s/model.safetensors", tmp);
        if (!rc)
            rc = bench_gen_lm_write(p, &d, 1, err, sizeof err);
        snprintf(p, sizeof p, "%s/tokenizer.model", tmp);
        if (!rc)
            rc = bench_gen_tokenizer_write(p, d.text_card, 1, err, sizeof err);
        /* the LM alone is measured: config.json must name a Mimi file (kstt quantize copies
         * it), so an empty stand-in takes its place */
        snprintf(p, sizeof p, "%s/no-mimi.safetensors", tmp);
        FILE *f = rc ? NULL : fopen(p, "wb");
        if (f)
            fclose(f);
        else if (!rc)
            rc = KSTT_EIO, snprintf(err, sizeof err, "%.400s: cannot create", p);
        snprintf(p, sizeof p, "%s/config.json", tmp);
        if (!rc)
            rc = bench_gen_config_write(p, &d, "no-mimi.safetensors", NULL, "tokenizer.model", err,
                                        sizeof err);
        if (!rc && rename(tmp, src) != 0) {
            snprintf(err, sizeof err, "cannot rename %.200s to %.200s", tmp, src);
            rc = KSTT_EIO;
        }
        if (rc) {
            fprintf(stderr, "kstt bench: %s\n", err);
            return -1;
        }
        fprintf(log, "  written in %.1f s\n", bench_now() - t0);
    }
    if (!strcmp(type, "bf16")) {
        snprintf(dir, cap, "%s", src);
        return 0;
    }
    snprintf(dir, cap, "%s-%s%s%s", src, type, g_head_same ? "-head-same" : "",
             g_max_scale ? "-max-scale" : "");
    if (exists(dir, "config.json"))
        return 0;
    fprintf(log, "quantising it to %s with kstt quantize into %s\n", type, dir);
    fflush(log);
    const double t0 = bench_now();
    char th[16];
    snprintf(tmp, sizeof tmp, "%s.tmp", dir);
    snprintf(th, sizeof th, "%d", threads);
    char *argv[12] = {"quantize", "--type", (char *)type, "--threads", th, "--quiet"};
    int argc = 6;
    if (g_head_same)
        argv[argc++] = "--head-type", argv[argc++] = "same";
    if (g_max_scale)
        argv[argc++] = "--max-scale";
    argv[argc++] = src;
    argv[argc++] = tmp;
    if (cli_cmd_quantize(argc, argv) != 0)
        return -1;
    if (rename(tmp, dir) != 0) {
        fprintf(stderr, "kstt bench: %s: cannot rename to %s\n", tmp, dir);
        return -1;
    }
    fprintf(log, "  quantised in %.1f s\n", bench_now() - t0);
    return 0;
}

/* An LM loaded alone from a model directory (no Mimi, no tokenizer). */
typedef struct {
    kstt__stt_config cfg;
    kstt__weights *wf;
    kstt__lm *lm;
} lm_model;

static void lm_close(lm_model *m) {
    kstt__lm_free(m->lm);
    kstt__weights_close(m->wf);
    memset(m, 0, sizeof *m);
}

static int lm_open(lm_model *m, const char *dir, kstt_pool *pool, kstt_kv_type kv) {
    char p[1200], err[512];
    memset(m, 0, sizeof *m);
    snprintf(p, sizeof p, "%s/config.json", dir);
    int rc = kstt__stt_config_load(&m->cfg, p, err, sizeof err);
    snprintf(p, sizeof p, "%s/%s", dir, m->cfg.moshi_name);
    if (!rc)
        rc = kstt__weights_open(&m->wf, p, err, sizeof err);
    if (!rc)
        rc = kstt__lm_load_kv(&m->lm, m->wf, &m->cfg, pool, KSTT_KERNELS_AUTO, kv, err, sizeof err);
    if (rc) {
        fprintf(stderr, "kstt bench: %s\n", err);
        lm_close(m);
        return -1;
    }
    return 0;
}

/* Bytes a product reads: for the load-time packed types, those of the file's block layout
 * they were packed from (the packed copy adds only alignment padding). */
static size_t mat_bytes(const kstt__wmat *w) {
    const kstt__wtype t = kstt__repack_file_type(w->type);
    if (t != w->type)
        return (size_t)w->rows * kstt__wtype_row_bytes(t, w->cols);
    return (size_t)w->rows * w->row_bytes;
}

/* Weight bytes one step reads: every layer matrix, the text head and the VAD heads (the
 * embedding rows, n_q + 1 per stream, are negligible). */
static size_t model_bytes(const kstt__lm *lm) {
    const kstt__lm_cpu *c = kstt__lm_cpu_of(lm);
    size_t n = mat_bytes(&c->text_linear);
    for (int h = 0; h < lm->n_vad; h++)
        n += mat_bytes(&c->vad[h]);
    for (int l = 0; l < lm->n_layers; l++)
        n += mat_bytes(&c->layers[l].in_proj) + mat_bytes(&c->layers[l].out_proj) +
             mat_bytes(&c->layers[l].linear_in) + mat_bytes(&c->layers[l].linear_out);
    return n;
}

/* ---- the step ------------------------------------------------------------------------------ */

/* B streams of one LM stepped together, with random tokens. */
typedef struct {
    const kstt__lm *lm;
    int B;
    kstt__lm_work *w;
    kstt__lm_state *st[MAXB];
    int32_t *tok;        /* [B, 1 + n_q] */
    float *logits, *vad; /* [B, text_card], [B, n_vad * vad_dim] */
} runner;

static void runner_free(runner *r) {
    for (int b = 0; b < r->B; b++)
        kstt__lm_state_free(r->lm, r->st[b]);
    kstt__lm_work_free(r->lm, r->w);
    kstt__free(r->tok);
    kstt__free(r->logits);
    kstt__free(r->vad);
}

static void runner_init(runner *r, const kstt__lm *lm, int B) {
    memset(r, 0, sizeof *r);
    r->lm = lm;
    r->B = B;
    if (kstt__lm_work_new(&r->w, lm, B)) {
        fprintf(stderr, "kstt bench: out of memory (LM work)\n");
        exit(1);
    }
    for (int b = 0; b < B; b++)
        if (kstt__lm_state_new(&r->st[b], lm)) {
            fprintf(stderr, "kstt bench: out of memory (KV ring)\n");
            exit(1);
        }
    r->tok = xalloc(sizeof(int32_t) * (size_t)B * (size_t)(1 + lm->n_q));
    r->logits = xalloc(sizeof(float) * (size_t)B * (size_t)lm->text_card);
    r->vad = xalloc(sizeof(float) * ((size_t)B * (size_t)(lm->n_vad * lm->vad_dim) + 1));
}

/* Random text and audio tokens for every stream (the rng's sequence: two runners draw the
 * same tokens from the same rng state). */
static void random_tokens(runner *r) {
    const int nq = r->lm->n_q;
    for (int b = 0; b < r->B; b++) {
        int32_t *t = r->tok + (size_t)b * (1 + nq);
        t[0] = (int32_t)((rnd() + 1.0f) * 0.5f * (float)r->lm->text_card);
        for (int k = 0; k < nq; k++)
            t[1 + k] = (int32_t)((rnd() + 1.0f) * 0.5f * (float)r->lm->card);
    }
}

static void step(runner *r) {
    if (kstt__lm_step(r->lm, r->w, r->st, r->tok, r->B, r->logits, r->vad) != KSTT_OK) {
        fprintf(stderr, "kstt bench: LM step failed\n");
        exit(1);
    }
}

static void seek(runner *r, int64_t pos) {
    for (int b = 0; b < r->B; b++)
        kstt__lm_state_seek(r->lm, r->st[b], pos);
}

/* ---- measurements ----------------------------------------------------------------------- */

typedef struct {
    const char *weights;
    const char *kv; /* KV cache type: "f32" or "f16" */
    int batch, context;
    double ms, speed, bound_speed, fraction, bytes, kv_bytes;
} lm_row;

/* Seconds per step of the runner's streams at position pos0 (best of 5 means of n steps: the
 * minimum is the estimator least disturbed by other load). */
static double time_steps(runner *r, int64_t pos0, int warm, int n) {
    random_tokens(r);
    seek(r, pos0);
    for (int i = 0; i < warm; i++)
        step(r);
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        seek(r, pos0);
        const double t0 = bench_now();
        for (int i = 0; i < n; i++)
            step(r);
        const double dt = (bench_now() - t0) / n;
        if (dt < best)
            best = dt;
    }
    return best;
}

/* Relative RMS error of the logits of `m` vs `ref` on the same random tokens, over `steps`
 * steps from an empty context (both LMs loaded with an f32 KV ring). */
static double logit_error(const kstt__lm *ref, const kstt__lm *m, int steps) {
    runner a, b;
    runner_init(&a, ref, 1);
    runner_init(&b, m, 1);
    const int V = ref->text_card;
    double num = 0, den = 0;
    for (int i = 0; i < steps; i++) {
        random_tokens(&a);
        memcpy(b.tok, a.tok, sizeof(int32_t) * (size_t)(1 + ref->n_q));
        step(&a);
        step(&b);
        for (int v = 0; v < V; v++) {
            const double d = (double)b.logits[v] - a.logits[v];
            num += d * d;
            den += (double)a.logits[v] * a.logits[v];
        }
    }
    runner_free(&a);
    runner_free(&b);
    return sqrt(num / (den > 0 ? den : 1));
}

/* The text head's type in a file of type t. */
static kstt__wtype head_type(kstt__wtype t) {
    return t == KSTT_WT_BF16 || t == KSTT_WT_Q8_0 || g_head_same ? t : KSTT_WT_Q8_0;
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
                       kstt_mimi_weights mimi_weights, e2e_row *row, char *note, size_t notelen) {
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
    for (int b = 0; b < B && rc == KSTT_OK; b++)
        rc = kstt_stream_new(&st[b], model, &sp);
    kstt_batch *bt = NULL;
    if (rc == KSTT_OK && B > 1)
        rc = kstt_batch_new(&bt, model, (size_t)B, err, sizeof err);
    const size_t fs = 1920, nwarm = (size_t)(warm_s * 12.5), ntime = (size_t)(secs * 12.5);
    float *pcm = rc == KSTT_OK ? bench_audio((nwarm + ntime) * fs) : NULL;
    double t0 = 0;
    kstt_event ev[64];
    for (size_t fr = 0; rc == KSTT_OK && fr < nwarm + ntime; fr++) {
        if (fr == nwarm)
            t0 = bench_now();
        const float *chunk = pcm + fr * fs;
        if (B == 1) {
            const int r = kstt_stream_feed(st[0], chunk, fs);
            rc = r < 0 ? r : KSTT_OK;
        } else {
            const float *p[MAXB];
            size_t n[MAXB];
            for (int b = 0; b < B; b++)
                p[b] = chunk, n[b] = fs;
            const int r = kstt_batch_feed(bt, st, p, n, (size_t)B);
            rc = r < 0 ? r : KSTT_OK;
        }
        for (int b = 0; b < B; b++)
            while (kstt_stream_read(st[b], ev, 64) > 0) {
            }
    }
    if (rc == KSTT_OK)
        *speed = B * secs / (bench_now() - t0);
    else
        snprintf(note, notelen, "%s", st[0] ? kstt_stream_errmsg(st[0]) : kstt_strerror(rc));
    if (pcm)
        kstt__free(pcm);
    kstt_batch_free(bt);
    for (int b = 0; b < B; b++)
        kstt_stream_free(st[b]);
    kstt_model_free(model);
    return rc;
}

static double pool_job_us(kstt_pool *pool);

static void usage(void) {
    printf("usage: kstt bench lm [--quick] [--json] [--threads N] [--types LIST] [--steps N]\n"
           "                    [--dims 1b|2.6b|tiny] [--model DIR] [--e2e-seconds S] [--no-mimi]\n"
           "  the library's LM step on a random model of the real dimensions, per weight type\n"
           "  (generated once into the bench cache, $KSTT_CACHE_DIR/bench or ~/.cache/kstt/bench:\n"
           "  the 1B model is 2 GB in bf16 plus its quantisations, about 5 GB in all)\n"
           "  --types   comma-separated subset of bf16,q8_0,q4_0,q4_k (default all)\n"
           "  --dims    the generated model's dimensions (default 1b; tiny: a quick check)\n"
           "  --quick   batch 1 and 8 only, fewer steps (under five minutes once cached)\n"
           "  --json    machine-readable output on stdout\n"
           "  --no-mimi skip the Mimi encoder's real-time factors\n"
           "  --mimi-model FILE, --mimi-config JSON, --mimi-seconds S  those factors on another\n"
           "            Mimi (default: the cached full-size random one, 4 s of audio with\n"
           "            --quick, else 10) and audio length (e.g. a tiny Mimi for a smoke run)\n"
           "  --probe-mb M  buffer of the read-bandwidth probe (default 512)\n"
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
           "  --no-1b        skip the generated model (implies --error-only)\n"
           "  --no-transcripts  no word errors on the demo clips (logits only: faster)\n");
}

static void noop_task(void *arg, int ith, int nth) {
    (void)arg, (void)ith, (void)nth;
}

static double pool_job_us(kstt_pool *pool) {
    for (int i = 0; i < 1000; i++)
        kstt__pool_run(pool, noop_task, NULL);
    const int n = 20000;
    const double t0 = bench_now();
    for (int i = 0; i < n; i++)
        kstt__pool_run(pool, noop_task, NULL);
    return (bench_now() - t0) / n * 1e6;
}

int bench_lm(int argc, char **argv) {
    int quick = 0, json = 0, threads = 0, steps = 0;
    double e2e_secs = 0;
    const char *types = "bf16,q8_0,q4_0,q4_k", *model_dir = NULL;
    const char *golden_dir = getenv("KSTT_GOLDEN_DIR"), *demo_dir = "models/kstt-demo-en";
    char qopts[64] = "";
    int error_only = 0, products = 0, no_1b = 0, transcripts = 1, no_mimi = 0;
    const char *mimi_model = NULL, *mimi_config = NULL;
    double mimi_secs = 0;
    const char *dims = "1b";
    if (!golden_dir || !*golden_dir)
        golden_dir = "../shared/golden";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--types") && i + 1 < argc)
            types = argv[++i];
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model_dir = argv[++i];
        else if (!strcmp(argv[i], "--e2e-seconds") && i + 1 < argc)
            e2e_secs = atof(argv[++i]);
        else if (!strcmp(argv[i], "--golden") && i + 1 < argc)
            golden_dir = argv[++i];
        else if (!strcmp(argv[i], "--demo") && i + 1 < argc)
            demo_dir = argv[++i];
        else if (!strcmp(argv[i], "--head-type") && i + 1 < argc && !strcmp(argv[i + 1], "same")) {
            if (!g_head_same)
                strcat(qopts, " --head-type same");
            g_head_same = 1;
            i++;
        } else if (!strcmp(argv[i], "--max-scale")) {
            if (!g_max_scale)
                strcat(qopts, " --max-scale");
            g_max_scale = 1;
        } else if (!strcmp(argv[i], "--error-only"))
            error_only = 1;
        else if (!strcmp(argv[i], "--products"))
            products = 1;
        else if (!strcmp(argv[i], "--no-1b"))
            no_1b = error_only = 1;
        else if (!strcmp(argv[i], "--no-transcripts"))
            transcripts = 0;
        else if (!strcmp(argv[i], "--no-mimi"))
            no_mimi = 1;
        else if (!strcmp(argv[i], "--mimi-model") && i + 1 < argc)
            mimi_model = argv[++i];
        else if (!strcmp(argv[i], "--mimi-config") && i + 1 < argc)
            mimi_config = argv[++i];
        else if (!strcmp(argv[i], "--mimi-seconds") && i + 1 < argc)
            mimi_secs = atof(argv[++i]);
        else if (!strcmp(argv[i], "--probe-mb") && i + 1 < argc)
            bench_set_probe_mb(atoi(argv[++i]));
        else if (!strcmp(argv[i], "--dims") && i + 1 < argc)
            dims = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return 0;
        } else {
            fprintf(stderr, "kstt bench: unknown option '%s'\n", argv[i]);
            usage();
            return 2;
        }
    }
    if (steps <= 0)
        steps = quick ? 3 : 8;
    if (mimi_model)
        bench_mimi_set_model(mimi_model, mimi_config);
    if (mimi_secs <= 0)
        mimi_secs = quick ? 4.0 : 10.0;
    kstt_pool *pool = NULL;
    if (kstt_pool_new(&pool, threads) != KSTT_OK) {
        fprintf(stderr, "kstt bench: cannot start the thread pool\n");
        return 1;
    }
    threads = kstt_pool_threads(pool);
    FILE *log = json ? stderr : stdout;
    fprintf(log, "%s\n", kstt_system_info());
    /* The bound uses the best bandwidth seen (here, after each weight type and at the end): on a
     * busy machine (or a VM whose host is busy) a single probe reads low and would flatter
     * every fraction. */
    double gbs = bench_read_bandwidth_gbs(threads), gbs_best = gbs;
    double load = -1;
    double la[1];
    if (getloadavg(la, 1) == 1) /* portable (glibc, macOS, BSD), unlike /proc/loadavg */
        load = la[0];
    const double job_us = pool_job_us(pool);
    fprintf(log, "threads %d, read bandwidth %.1f GB/s, pool job overhead %.2f us\n", threads, gbs,
            job_us);

    /* The Mimi encoder's real-time factors (the full-size random Mimi, f32: exact codes). */
    bench_mimi_speed mimi = {0, 0, 0, 0};
    int have_mimi = 0;
    if (!error_only && !no_mimi) {
        have_mimi = bench_mimi_speeds(threads, mimi_secs, quick ? 2 : 3, log, &mimi) == 0;
        if (have_mimi)
            fprintf(log,
                    "Mimi encoder (f32): offline %.1fx (1 thread) %.1fx (%d), streaming one "
                    "frame per call %.1fx (1 thread) %.1fx (%d)\n",
                    mimi.offline_1t, mimi.offline_all, threads, mimi.stream_1t, mimi.stream_all,
                    threads);
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
    bench_err merr[32]; /* golden tiny and demo rows */
    int nmerr = 0;
    int nerr = 0;

    /* The bf16 model on an f32 ring: the reference of the logit errors. */
    lm_model ref;
    memset(&ref, 0, sizeof ref);
    char dir[1200], list[128];
    if (!no_1b && (cached_lm(dims, "bf16", threads, dir, sizeof dir, log) ||
                   lm_open(&ref, dir, pool, KSTT_KV_F32))) {
        kstt_pool_free(pool);
        return 1;
    }
    snprintf(list, sizeof list, "%s", types);
    for (char *tok = no_1b ? NULL : strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        const int t = kstt__wtype_from_name(tok);
        if (t != KSTT_WT_BF16 && t != KSTT_WT_Q8_0 && t != KSTT_WT_Q4_0 && t != KSTT_WT_Q4_K) {
            fprintf(stderr, "kstt bench: unknown weight type '%s'\n", tok);
            continue;
        }
        const char *tname = kstt__wtype_name((kstt__wtype)t);
        lm_model qm;
        if (cached_lm(dims, tname, threads, dir, sizeof dir, log) ||
            lm_open(&qm, dir, pool, KSTT_KV_AUTO))
            continue;
        errs[nerr].name = tname;
        errs[nerr].mb = model_bytes(qm.lm) / 1e6;
        errs[nerr].err = 0.0;
        if (t != KSTT_WT_BF16) {
            /* the same weights on an f32 ring, against the bf16 model */
            lm_model q32;
            if (lm_open(&q32, dir, pool, KSTT_KV_F32) == 0) {
                errs[nerr].err = logit_error(ref.lm, q32.lm, quick ? 4 : 8);
                lm_close(&q32);
            }
        }
        nerr++;
        const kstt__lm *lm = qm.lm;
        const double wbytes = (double)model_bytes(lm);
        const int kv16 = lm->kv_type == KSTT_KV_F16;
        for (int bi = 0; bi < (error_only ? 0 : nbatch); bi++) {
            const int B = batches[bi];
            runner r;
            runner_init(&r, lm, B);
            for (int full = 0; full < 2; full++) {
                const int64_t pos0 = full ? 10 * (int64_t)lm->context : 0;
                const double dt = time_steps(&r, pos0, 1, steps);
                /* positions attended: 1 at an empty context (grows by one per timed step:
                 * negligible), the whole ring when full */
                const double kv = (double)B * lm->n_layers * 2 * (full ? lm->context : 1) *
                                  lm->dim * (kv16 ? 2.0 : 4.0);
                lm_row *row = &rows[nrows++];
                row->weights = tname;
                row->kv = kv16 ? "f16" : "f32";
                row->kv_bytes = kv;
                row->batch = B;
                row->context = full ? lm->context : 0;
                row->ms = dt * 1e3;
                row->speed = B * FRAME_S / dt;
                row->bytes = wbytes + kv;
                row->bound_speed = B * FRAME_S / (row->bytes / (gbs * 1e9));
                row->fraction = row->speed / row->bound_speed;
                fprintf(log,
                        "  %-5s batch %d context %3d: %7.2f ms/step  %5.2fx real time  "
                        "(bound %5.2fx, %3.0f%%)\n",
                        row->weights, B, row->context, row->ms, row->speed, row->bound_speed,
                        100 * row->fraction);
            }
            runner_free(&r);
        }
        lm_close(&qm);
        const double g = bench_read_bandwidth_gbs(threads); /* probe again: see above */
        if (g > gbs_best)
            gbs_best = g;
    }
    lm_close(&ref);

    /* the real directories: golden tiny (random weights) and the trained demo model */
    {
        char gd[1024], gr[1100];
        snprintf(gd, sizeof gd, "%s/stt_tiny", golden_dir);
        snprintf(gr, sizeof gr, "%s/stt_tiny_ref.safetensors", golden_dir);
        const int skip_golden = !strcmp(golden_dir, "none"), skip_demo = !strcmp(demo_dir, "none");
        if (!skip_golden && access(gr, R_OK) == 0) {
            const int r = bench_error_model("golden-tiny", gd, gr, types, qopts, transcripts, pool,
                                            log, merr + nmerr, 32 - nmerr);
            if (r > 0)
                nmerr += r;
        } else if (!skip_golden) {
            fprintf(log, "golden tiny model not found (%s): skipped\n", gr);
        }
        char dc[1100];
        snprintf(dc, sizeof dc, "%s/config.json", demo_dir);
        if (!skip_demo && access(dc, R_OK) == 0) {
            const int r = bench_error_model("demo", demo_dir, NULL, types, qopts, transcripts, pool,
                                            log, merr + nmerr, 32 - nmerr);
            if (r > 0)
                nmerr += r;
        } else if (!skip_demo) {
            fprintf(log, "demo model not found (%s): skipped\n", dc);
        }
        if (products)
            bench_error_products(skip_demo || access(dc, R_OK) ? NULL : demo_dir, pool, log);
    }

    e2e_row e2e[32];
    int ne2e = 0;
    if (model_dir && !error_only) {
        if (e2e_secs <= 0)
            e2e_secs = quick ? 4 : 10;
        snprintf(list, sizeof list, "%s", types);
        for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
            const int t = kstt__wtype_from_name(tok);
            if (t < 0)
                continue;
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
                r->context = full ? 750 : (int)(e2e_secs * 12.5);
                const int rc =
                    e2e_measure(dir, pool, B, full ? 60.0 : 1.0, e2e_secs,
                                exact_mimi ? KSTT_MIMI_WEIGHTS_F32 : KSTT_MIMI_WEIGHTS_AUTO, r,
                                r->note, sizeof r->note);
                if (rc != KSTT_OK)
                    r->speed = -1;
                fprintf(log,
                        "  end to end %-5s (Mimi %s, KV %s) batch %d context %s: %.2fx real "
                        "time %s\n",
                        r->weights, r->mimi ? r->mimi : "-", r->kv ? r->kv : "-", B,
                        full ? "750" : "0..", r->speed, r->note);
                if (rc != KSTT_OK)
                    break;
            }
        }
    }

    const double gbs_end = bench_read_bandwidth_gbs(threads);
    if (gbs_end > gbs_best)
        gbs_best = gbs_end;
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
                   rows[i].ms, rows[i].speed, rows[i].bound_speed, 100 * rows[i].fraction);
        printf("\n| model | weights (text head) | LM MB | logit relative RMS error vs f32 | "
               "weights only | argmax equal | word errors | transcripts as original |\n"
               "|---|---|---|---|---|---|---|---|\n");
        for (int i = 0; i < nerr; i++)
            printf("| random-%s | %s (%s) | %.0f | %.3f%% | - | - | - | - |\n", dims, errs[i].name,
                   kstt__wtype_name(head_type((kstt__wtype)kstt__wtype_from_name(errs[i].name))),
                   errs[i].mb, 100 * errs[i].err);
        for (int i = 0; i < nmerr; i++) {
            const bench_err *e = &merr[i];
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
                    printf("| %s | - | - | %d | - | not run: %s |\n", e2e[i].weights, e2e[i].batch,
                           e2e[i].note);
                else
                    printf("| %s | %s | %s | %d | %s%d | %.2f |\n", e2e[i].weights, e2e[i].mimi,
                           e2e[i].kv, e2e[i].batch, e2e[i].context == 750 ? "" : "0..",
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
                   rows[i].speed, rows[i].bound_speed, rows[i].fraction, rows[i].bytes,
                   i + 1 < nrows ? "," : "");
        printf(" ],\n \"lm_error\": [\n");
        for (int i = 0; i < nerr; i++)
            printf("  {\"model\": \"random-%s\", \"weights\": \"%s\", \"head\": \"%s\", "
                   "\"weight_mb\": %.1f, \"logit_rel_rms\": %.6f}%s\n",
                   dims, errs[i].name,
                   kstt__wtype_name(head_type((kstt__wtype)kstt__wtype_from_name(errs[i].name))),
                   errs[i].mb, errs[i].err, i + 1 < nerr || nmerr ? "," : "");
        for (int i = 0; i < nmerr; i++) {
            const bench_err *e = &merr[i];
            printf("  {\"model\": \"%s\", \"weights\": \"%s\", \"head\": \"%s\", "
                   "\"weight_mb\": %.2f, \"logit_rel_rms\": %.6f, \"weights_only_rel_rms\": %.6f, "
                   "\"max_abs\": %.4f, \"argmax_equal\": %d, \"steps\": %d",
                   e->model, e->weights, e->head, e->lm_mb, e->rel_rms, e->weights_only, e->max_abs,
                   e->argmax_equal, e->steps);
            if (e->words)
                printf(", \"word_errors\": %d, \"words\": %d, \"same_transcripts\": %d, "
                       "\"transcripts\": %d",
                       e->word_errors, e->words, e->same_transcripts, e->n_transcripts);
            printf("}%s\n", i + 1 < nmerr ? "," : "");
        }
        printf(" ],\n");
        printf(" \"end_to_end\": [");
        int first = 1;
        for (int i = 0; i < ne2e; i++) {
            if (e2e[i].speed < 0)
                continue;
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
