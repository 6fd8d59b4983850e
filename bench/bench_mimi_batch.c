/*
 * kstt bench mimi-batch: the Mimi encoder of B live streams, one 1920-sample frame per stream
 * per step (as kstt_streams_feed drives it), two ways on the same model:
 *   - per stream: kstt_mimi_stream_encode on each stream in turn (every stream's step reads
 *     all the back's weights: SEANet back, transformer, codebooks);
 *   - batched: one kstt__mimi_encode over all streams (the back runs once over the B
 *     frames, so its weights are read once per step).
 * Each way has its own B fresh streams fed the same audio; after `--warm` untimed steps the
 * mean of `--steps` steps is taken, best of `--reps` (the ways alternate, so a change of
 * machine load hits both). The codes of the two ways are compared (they must be identical).
 * Figures: ms per step, ms per stream-frame, aggregate real-time factor (B x 80 ms of audio
 * per step), and per step the time of the parts (front: input conv and first SEANet stages;
 * SEANet back; transformer; downsample + quantizer) from the encoder's profiling hooks. Default
 * model: the cached full-size random Mimi of `kstt bench mimi`.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_mimi_batch.h"
#include "cli_opts.h"
#include "codec/mimi_internal.h"
#include "core/pool.h"

#define MB_MAXB 64

static void usage(void) {
    printf(
        "usage: kstt bench mimi-batch [--model FILE] [--batch LIST] [--steps N] [--warm N]\n"
        "                             [--reps N] [--threads N] [--config JSON]\n"
        "                             [--mimi-weights auto|f32|bf16]\n"
        "  Mimi of B live streams, one frame per stream per step: per-stream encode calls\n"
        "  against one batched call (default --batch 1,2,4,8 --steps 8 --warm 4 --reps 3)\n"
        "  --config JSON  the Mimi config of a --model of other dimensions (e.g. a tiny Mimi)\n"
        "  --mimi-weights the matrices' storage (kstt transcribe's option; bf16 runs on the AMX\n"
        "                 tile unit where the CPU has AMX-BF16)\n");
}

/* The cache path of `kstt bench mimi` (bench_mimi.c): written there when missing. */
static int default_model(char *out, size_t cap) {
    const char *k = getenv("KSTT_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    if (k && *k)
        snprintf(out, cap, "%s/bench/mimi-random-f32-seed1.safetensors", k);
    else if (x && *x)
        snprintf(out, cap, "%s/kstt/bench/mimi-random-f32-seed1.safetensors", x);
    else
        snprintf(out, cap, "%s/.cache/kstt/bench/mimi-random-f32-seed1.safetensors",
                 h && *h ? h : ".");
    if (access(out, R_OK) == 0)
        return 0;
    fprintf(stderr, "no cached Mimi at %s: run `kstt bench mimi` once (it writes it)\n", out);
    return -1;
}

typedef struct {
    kstt_mimi_stream *s[MB_MAXB];
    int32_t *codes;       /* [B, steps_total, K] */
    kstt__mimi_prof prof; /* seconds per part over the current rep */
} way;

/* One step of a way: frame `f` of the audio to each of the B streams. */
static int step(const kstt_mimi *m, way *w, kstt__mimi_batch *bt, int B, const float *pcm, long f,
                long steps_total, int batched) {
    const int K = kstt_mimi_num_codebooks(m);
    kstt__mimi_job jobs[MB_MAXB];
    for (int b = 0; b < B; b++) {
        jobs[b] = (kstt__mimi_job){.s = w->s[b], .n = 1920, .max_frames = 1};
        jobs[b].pcm = pcm + (size_t)(f + 7 * b) * 1920; /* different audio per stream */
        jobs[b].codes = w->codes + ((size_t)b * steps_total + (size_t)f) * K;
    }
    if (batched)
        return kstt__mimi_encode(bt, jobs, B);
    for (int b = 0; b < B; b++) {
        const int r = kstt_mimi_stream_encode(jobs[b].s, jobs[b].pcm, jobs[b].n, jobs[b].codes,
                                              jobs[b].max_frames);
        if (r != 1)
            return r < 0 ? r : KSTT_ESTATE;
    }
    return KSTT_OK;
}

int bench_mimi_batch(int argc, char **argv) {
    const char *model = NULL, *list = "1,2,4,8", *config = NULL;
    int steps = 8, warm = 4, reps = 3, threads = 0;
    kstt_mimi_weights weights = KSTT_MIMI_WEIGHTS_AUTO;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config = argv[++i];
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            list = argv[++i];
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warm") && i + 1 < argc)
            warm = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mimi-weights") && i + 1 < argc) {
            if (cli_parse_mimi_weights("bench mimi-batch", argv[i], argv[i + 1], &weights))
                return 2;
            i++;
        } else {
            usage();
            return strcmp(argv[i], "-h") && strcmp(argv[i], "--help") ? 2 : 0;
        }
    }
    if (steps < 1 || warm < 0 || reps < 1) {
        usage();
        return 2;
    }
    char path[1024];
    if (!model) {
        if (default_model(path, sizeof path))
            return 1;
        model = path;
    }
    kstt_pool *pool = NULL;
    if (kstt_pool_new(&pool, threads) != KSTT_OK) {
        fprintf(stderr, "pool failed\n");
        return 1;
    }
    kstt_mimi_params mp = kstt_mimi_params_default();
    mp.pool = pool;
    mp.config_path = config;
    mp.weights = weights;
    kstt_mimi *m = NULL;
    char err[512];
    if (kstt_mimi_load(&m, model, &mp, err, sizeof err) != KSTT_OK) {
        fprintf(stderr, "%s\n", err);
        kstt_pool_free(pool);
        return 1;
    }
    const int K = kstt_mimi_num_codebooks(m);
    const long total = (long)warm + (long)reps * steps;
    const size_t nsamp = (size_t)(total + 7 * MB_MAXB + 1) * 1920;
    float *pcm = malloc(nsamp * sizeof(float));
    if (!pcm) {
        fprintf(stderr, "kstt bench mimi-batch: out of memory\n");
        kstt_mimi_free(m);
        kstt_pool_free(pool);
        return 1;
    }
    uint64_t r = 88172645463325252ull;
    for (size_t i = 0; i < nsamp; i++) { /* a wobbling tone plus noise */
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        const float t = (float)i;
        pcm[i] = 0.3f * sinf(0.03f * t + 2.0f * sinf(1e-4f * t)) +
                 0.05f * ((float)(r >> 40) / 16777216.0f - 0.5f);
    }
    printf("Mimi %s (%s matrices), %d threads; one frame per stream per step, mean of %d steps "
           "after %d, best of %d\n",
           model, weights == KSTT_MIMI_WEIGHTS_BF16 ? "bf16" : "f32", kstt__pool_size(pool), steps,
           warm, reps);
    printf("| batch | per-stream ms/step | batched ms/step | batched ms/stream-frame | speedup | "
           "aggregate x real time (per-stream / batched) | codes identical | per-stream parts "
           "ms/step | batched parts ms/step |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    int rc = 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok && !rc; tok = strtok(NULL, ",")) {
        const int B = atoi(tok);
        if (B < 1 || B > MB_MAXB)
            continue;
        way w[2];
        memset(w, 0, sizeof w);
        kstt__mimi_batch *bt = NULL;
        int ok = kstt__mimi_batch_new(&bt, m, B) == KSTT_OK;
        for (int k = 0; k < 2 && ok; k++) {
            w[k].codes = calloc((size_t)B * total * K, sizeof(int32_t));
            ok = w[k].codes != NULL;
            for (int b = 0; b < B && ok; b++)
                ok = kstt_mimi_stream_new(&w[k].s[b], m) == KSTT_OK;
        }
        for (int b = 0; b < B && ok; b++)
            kstt__mimi_stream_set_prof(w[0].s[b], &w[0].prof);
        if (ok)
            kstt__mimi_batch_set_prof(bt, &w[1].prof);
        double best[2] = {1e30, 1e30};
        kstt__mimi_prof parts[2];
        memset(parts, 0, sizeof parts);
        long f = 0;
        for (; ok && f < warm; f++)
            for (int k = 0; k < 2 && ok; k++)
                ok = step(m, &w[k], bt, B, pcm, f, total, k) == KSTT_OK;
        for (int rep = 0; ok && rep < reps; rep++) {
            for (int k0 = 0; k0 < 2 && ok; k0++) {
                const int k = (k0 + rep) & 1; /* alternate which way goes first */
                memset(&w[k].prof, 0, sizeof w[k].prof);
                const double t0 = bench_now();
                for (long j = 0; j < steps && ok; j++)
                    ok = step(m, &w[k], bt, B, pcm, f + j, total, k) == KSTT_OK;
                const double dt = (bench_now() - t0) / steps;
                if (dt < best[k]) {
                    best[k] = dt;
                    parts[k] = w[k].prof;
                }
            }
            f += steps;
        }
        if (!ok) {
            fprintf(stderr, "batch %d: encode failed\n", B);
            rc = 1;
        } else {
            const int same =
                !memcmp(w[0].codes, w[1].codes, (size_t)B * total * K * sizeof(int32_t));
            char pp[2][96];
            for (int k = 0; k < 2; k++) { /* front / SEANet back / transformer / ds + RVQ */
                const double u = 1e3 / steps;
                snprintf(pp[k], sizeof pp[k], "%.1f / %.1f / %.1f / %.1f", u * parts[k].front,
                         u * parts[k].seanet, u * parts[k].transformer, u * parts[k].quant);
            }
            printf("| %d | %.2f | %.2f | %.2f | %.2fx | %.1f / %.1f | %s | %s | %s |\n", B,
                   1e3 * best[0], 1e3 * best[1], 1e3 * best[1] / B, best[0] / best[1],
                   B * 0.08 / best[0], B * 0.08 / best[1], same ? "yes" : "NO", pp[0], pp[1]);
            if (!same)
                rc = 1;
        }
        fflush(stdout);
        for (int k = 0; k < 2; k++) {
            for (int b = 0; b < B; b++)
                kstt_mimi_stream_free(w[k].s[b]);
            free(w[k].codes);
        }
        kstt__mimi_batch_free(bt);
    }
    free(pcm);
    kstt_mimi_free(m);
    kstt_pool_free(pool);
    return rc;
}
