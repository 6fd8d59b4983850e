/*
 * kstt bench mimi: speed of the Mimi encoder at its real size on random weights.
 *
 * A full-size random Mimi is written once in the real file format (bench/gen_mimi.c, cached)
 * and loaded through kstt_mimi_load, so the real loader and the real stream code are measured.
 * The input is S seconds of synthetic audio (a wobbling tone plus noise), encoded
 *   - offline: one call for the whole input (the batched path a file takes);
 *   - streaming: 1920-sample chunks (one frame per call, as a live stream);
 * on one thread and on all threads (or --threads N). Figures: real-time factor (seconds of audio
 * per second of wall time), milliseconds per 80 ms frame, GFLOP/s reached (matrix products and
 * attention counted from the model's dimensions, the window rule included), the share of time
 * per part, and the machine's read bandwidth for reference (the streaming path reads every
 * weight, about 190 MB, once per frame).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "codec/mimi_internal.h"
#include "core/pool.h"
#include "gen_mimi.h"

/* Floating-point operations to encode `frames` frames from a fresh stream (products only). */
static double mimi_flops(const kstt_mimi *m, long frames) {
    const kstt__mimi_config *c = &m->cfg;
    double per_frame = 0;
    const kstt__mimi_conv *cv = &m->conv_in;
#define CONV(cv, t_out) (2.0 * (cv)->c_out * (cv)->k * (cv)->c_in * (double)(t_out))
    per_frame += CONV(cv, c->frame_size);
    for (int s = 0; s < m->n_stages; s++) {
        const kstt__mimi_stage *g = &m->stages[s];
        per_frame += CONV(&g->res_a, g->t_frame) + CONV(&g->res_b, g->t_frame) +
                     CONV(&g->down, g->t_frame / g->ratio);
    }
    per_frame += CONV(&m->conv_out, c->ds_stride);
    const double D = c->d_model, FF = c->dim_feedforward;
    per_frame += c->ds_stride * c->num_layers * 2.0 * (4 * D * D + 2 * FF * D);
    per_frame += CONV(&m->downsample, 1);
    per_frame += 2.0 * 2 * c->q_dim * D + m->num_codebooks * 2.0 * c->bins * c->q_dim;
#undef CONV
    double att = 0; /* QK and AV: 2 * 2 * keys * D per query and layer */
    for (long q = 0; q < frames * c->ds_stride; q++) {
        long lo = (q / c->ds_stride + 1) * c->ds_stride - c->context;
        if (lo < 0)
            lo = 0;
        att += 4.0 * (double)(q - lo + 1) * D * c->num_layers;
    }
    return per_frame * (double)frames + att;
}

static int mkdirs(const char *path) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static void cache_path(char *out, size_t cap) {
    const char *k = getenv("KSTT_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    char dir[900];
    if (k && *k)
        snprintf(dir, sizeof dir, "%s/bench", k);
    else if (x && *x)
        snprintf(dir, sizeof dir, "%s/kstt/bench", x);
    else
        snprintf(dir, sizeof dir, "%s/.cache/kstt/bench", h && *h ? h : "/tmp");
    mkdirs(dir);
    snprintf(out, cap, "%s/mimi-random-f32-seed1.safetensors", dir);
}

/* --config FILE: a Mimi config JSON for a --model of other dimensions (e.g. a tiny Mimi for a
 * smoke run under emulation); NULL: the real dimensions. */
static const char *g_config;
/* bench_mimi_set_model: the file bench_mimi_speeds measures instead of the cached one. */
static const char *g_speeds_model;

void bench_mimi_set_model(const char *path, const char *config) {
    g_speeds_model = path;
    g_config = config;
}

typedef struct {
    double offline_s, stream_s, stream_worst_ms;
    kstt__mimi_prof prof_off, prof_stream;
} result;

static int measure(const char *path, int threads, kstt_mimi_weights weights, const float *pcm,
                   size_t n, int reps, result *r) {
    char err[512];
    kstt_pool *pool = NULL;
    kstt_mimi *m = NULL;
    kstt_mimi_stream *s = NULL;
    int32_t *codes = NULL;
    int rc = 1;
    if (kstt_pool_new(&pool, threads) != KSTT_OK) {
        fprintf(stderr, "kstt bench mimi: cannot start %d threads\n", threads);
        return 1;
    }
    kstt_mimi_params p = kstt_mimi_params_default();
    p.pool = pool;
    p.weights = weights;
    p.config_path = g_config;
    if (kstt_mimi_load(&m, path, &p, err, sizeof err) != KSTT_OK) {
        fprintf(stderr, "kstt bench mimi: %s\n", err);
        goto done;
    }
    if (kstt_mimi_stream_new(&s, m) != KSTT_OK)
        goto done;
    const size_t frames = n / 1920;
    codes = malloc(frames * (size_t)kstt_mimi_num_codebooks(m) * sizeof *codes);
    if (!codes)
        goto done;
    r->offline_s = r->stream_s = 1e30;
    for (int i = 0; i < reps; i++) {
        kstt__mimi_prof prof = {0, 0, 0, 0};
        kstt_mimi_stream_reset(s);
        kstt__mimi_stream_set_prof(s, &prof);
        double t0 = bench_now();
        if (kstt_mimi_stream_encode(s, pcm, n, codes, frames) != (int)frames)
            goto done;
        const double dt = bench_now() - t0;
        if (dt < r->offline_s) {
            r->offline_s = dt;
            r->prof_off = prof;
        }
    }
    for (int i = 0; i < reps; i++) {
        kstt__mimi_prof prof = {0, 0, 0, 0};
        kstt_mimi_stream_reset(s);
        kstt__mimi_stream_set_prof(s, &prof);
        double worst = 0, t0 = bench_now();
        for (size_t f = 0; f < frames; f++) {
            const double a = bench_now();
            if (kstt_mimi_stream_encode(s, pcm + f * 1920, 1920, codes, 1) != 1)
                goto done;
            const double b = bench_now() - a;
            worst = b > worst ? b : worst;
        }
        const double dt = bench_now() - t0;
        if (dt < r->stream_s) {
            r->stream_s = dt;
            r->stream_worst_ms = worst * 1e3;
            r->prof_stream = prof;
        }
    }
    kstt__mimi_stream_set_prof(s, NULL);
    rc = 0;
done:
    free(codes);
    kstt_mimi_stream_free(s);
    kstt_mimi_free(m);
    kstt_pool_free(pool);
    return rc;
}

static void print_parts(const char *what, const kstt__mimi_prof *p) {
    const double t = p->front + p->seanet + p->transformer + p->quant;
    if (t <= 0)
        return;
    printf("    %-10s SEANet front %4.1f%%, SEANet back %4.1f%%, transformer %4.1f%%, "
           "downsample+RVQ %4.1f%%\n",
           what, 100 * p->front / t, 100 * p->seanet / t, 100 * p->transformer / t,
           100 * p->quant / t);
}

static void usage(FILE *f) {
    fprintf(f, "usage: kstt bench mimi [--seconds S] [--threads N] [--reps R] [--model FILE]\n"
               "                       [--weights f32|bf16] [--config JSON]\n"
               "  --seconds S   audio length (default 20)\n"
               "  --threads N   threads of the multi-threaded run (default: all cores)\n"
               "  --reps R      runs per figure, best kept (default 2)\n"
               "  --model FILE  a Mimi safetensors file (default: a random full-size Mimi,\n"
               "                generated once into $KSTT_CACHE_DIR or ~/.cache/kstt/bench)\n"
               "  --weights T   storage of the encoder's matrices (default f32: exact codes;\n"
               "                bf16: half the bytes, approximate codes)\n"
               "  --config JSON the Mimi config of a --model of other dimensions (e.g. a tiny\n"
               "                Mimi for a smoke run)\n"
               "  --probe-mb M  buffer of the read-bandwidth probe (default 512)\n");
}

/* S seconds of synthetic audio: a wobbling tone plus a little noise (deterministic). */
static float *synth_audio(size_t n) {
    float *pcm = malloc((n ? n : 1) * sizeof *pcm);
    if (!pcm)
        return NULL;
    uint64_t r = 1;
    for (size_t i = 0; i < n; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        const double t = (double)i / 24000.0;
        pcm[i] = (float)(0.3 * sin(2 * M_PI * (200.0 + 60.0 * sin(0.5 * t)) * t) +
                         0.02 * ((double)(r >> 40) / 16777216.0 - 0.5));
    }
    return pcm;
}

/* The cached random full-size Mimi, written on first use; messages go to `log`. */
static int cached_model(char *path, size_t cap, FILE *log) {
    char err[512];
    cache_path(path, cap);
    struct stat st;
    if (stat(path, &st) == 0)
        return 0;
    fprintf(log, "generating a random full-size Mimi: %s\n", path);
    fflush(log);
    if (bench_gen_mimi_write(path, 1, err, sizeof err) != KSTT_OK) {
        fprintf(stderr, "kstt bench mimi: %s\n", err);
        return 1;
    }
    return 0;
}

int bench_mimi_speeds(int threads, double seconds, int reps, FILE *log, bench_mimi_speed *out) {
    char path[1024];
    if (g_speeds_model)
        snprintf(path, sizeof path, "%s", g_speeds_model);
    else if (cached_model(path, sizeof path, log))
        return 1;
    const size_t n = (size_t)(seconds * 24000.0) / 1920 * 1920;
    float *pcm = synth_audio(n);
    if (!pcm || n == 0) {
        free(pcm);
        return 1;
    }
    const double audio_s = (double)n / 24000.0;
    result r1, ra;
    int rc = measure(path, 1, KSTT_MIMI_WEIGHTS_F32, pcm, n, reps, &r1);
    if (!rc)
        rc = threads > 1 ? measure(path, threads, KSTT_MIMI_WEIGHTS_F32, pcm, n, reps, &ra)
                         : (ra = r1, 0);
    free(pcm);
    if (rc)
        return 1;
    out->offline_1t = audio_s / r1.offline_s;
    out->offline_all = audio_s / ra.offline_s;
    out->stream_1t = audio_s / r1.stream_s;
    out->stream_all = audio_s / ra.stream_s;
    return 0;
}

int bench_mimi(int argc, char **argv) {
    double seconds = 20;
    int threads = 0, reps = 2;
    const char *model = NULL;
    kstt_mimi_weights weights = KSTT_MIMI_WEIGHTS_F32;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--config") && i + 1 < argc)
            g_config = argv[++i];
        else if (!strcmp(argv[i], "--probe-mb") && i + 1 < argc)
            bench_set_probe_mb(atoi(argv[++i]));
        else if (!strcmp(argv[i], "--weights") && i + 1 < argc) {
            const char *t = argv[++i];
            if (!strcmp(t, "f32"))
                weights = KSTT_MIMI_WEIGHTS_F32;
            else if (!strcmp(t, "bf16"))
                weights = KSTT_MIMI_WEIGHTS_BF16;
            else {
                fprintf(stderr, "kstt bench mimi: --weights f32 or bf16\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "kstt bench mimi: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!(seconds >= 0.08 && seconds <= 3600) || reps < 1 || threads < 0) {
        fprintf(stderr, "kstt bench mimi: bad --seconds, --reps or --threads\n");
        return 2;
    }
    if (threads == 0) {
        kstt_pool *tmp;
        if (kstt_pool_new(&tmp, 0) != KSTT_OK)
            return 1;
        threads = kstt_pool_threads(tmp);
        kstt_pool_free(tmp);
    }
    char path[1024], err[512];
    if (!model) {
        if (cached_model(path, sizeof path, stdout))
            return 1;
        model = path;
    }
    const size_t n = (size_t)(seconds * 24000.0) / 1920 * 1920;
    float *pcm = synth_audio(n);
    if (!pcm)
        return 1;
    const double audio_s = (double)n / 24000.0;

    kstt_mimi_params p = kstt_mimi_params_default();
    p.config_path = g_config;
    kstt_mimi *m;
    if (kstt_mimi_load(&m, model, &p, err, sizeof err) != KSTT_OK) {
        fprintf(stderr, "kstt bench mimi: %s\n", err);
        free(pcm);
        return 1;
    }
    const double flops = mimi_flops(m, (long)(n / 1920));
    kstt_mimi_free(m);

    printf("kstt bench mimi: %s\n%s\n", model, kstt_system_info());
    printf("input: %.2f s of audio (%zu frames), %.2f GFLOP per second of audio, %s weights\n\n",
           audio_s, n / 1920, flops / audio_s / 1e9,
           weights == KSTT_MIMI_WEIGHTS_BF16 ? "bf16" : "f32");
    printf("| threads | path | real-time factor | ms per 80 ms frame | GFLOP/s |\n"
           "|---|---|---|---|---|\n");
    const int counts[2] = {1, threads};
    result res[2];
    for (int i = 0; i < (threads > 1 ? 2 : 1); i++) {
        if (measure(model, counts[i], weights, pcm, n, reps, &res[i])) {
            free(pcm);
            return 1;
        }
        const double fr = (double)(n / 1920);
        printf("| %d | offline (one call) | %.1fx | %.2f | %.0f |\n", counts[i],
               audio_s / res[i].offline_s, 1e3 * res[i].offline_s / fr,
               flops / res[i].offline_s / 1e9);
        printf("| %d | streaming (1920-sample calls) | %.1fx | %.2f (worst %.2f) | %.0f |\n",
               counts[i], audio_s / res[i].stream_s, 1e3 * res[i].stream_s / fr,
               res[i].stream_worst_ms, flops / res[i].stream_s / 1e9);
        fflush(stdout);
    }
    printf("\ntime per part:\n");
    for (int i = 0; i < (threads > 1 ? 2 : 1); i++) {
        printf("  %d thread%s\n", counts[i], counts[i] > 1 ? "s" : "");
        print_parts("offline", &res[i].prof_off);
        print_parts("streaming", &res[i].prof_stream);
    }
    const double bw = bench_read_bandwidth_gbs(threads);
    printf("\nmachine read bandwidth (%d threads): %.1f GB/s\n", threads, bw);
    free(pcm);
    return 0;
}
