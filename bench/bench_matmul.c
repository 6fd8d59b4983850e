/*
 * kstt bench matmul: achieved read bandwidth of the quantised weight products for the 1B STT
 * LM's shapes (in_proj, out_proj, linear_in, linear_out, text head), next to the plain read
 * probe. Each shape's matrix is replicated until the copies far exceed the caches and the
 * products rotate through the copies, so every product streams its weights from DRAM as an LM
 * step does. Per shape and type it reports:
 *   drv   kstt__matmul through the pool (activation quantisation, chunking, sync included)
 *   k1    the kernel alone on one thread over all rows (prepared activations reused)
 *   prep  the activation quantisation alone (prepare_x)
 * as microseconds per product and GB/s of weight bytes; best of --reps rotations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_matmul.h"
#include "core/alloc.h"
#include "core/pool.h"
#include "kernels/kernels.h"
#include "quant/quant.h"
#include "quant/repack.h"

typedef struct {
    const char *name;
    long rows, cols;
} shape;

static const shape g_shapes[] = {
    {"in_proj", 6144, 2048},    {"out_proj", 2048, 2048},  {"linear_in", 11264, 2048},
    {"linear_out", 2048, 5632}, {"text_head", 8000, 2048},
};
#define N_SHAPES (int)(sizeof g_shapes / sizeof g_shapes[0])

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static float frand(void) {
    g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
    return (float)((double)(g_rng >> 11) / (double)(1ull << 53)) * 2.0f - 1.0f;
}

static void *xalloc(size_t n) {
    void *p = kstt__alloc(n);
    if (!p) {
        fprintf(stderr, "kstt bench matmul: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

/* Whole rotation through the copies, best of reps; returns seconds per product. */
typedef struct {
    kstt_pool *pool;
    const kstt__kernels *k;
    kstt__wmat *m;
    int ncopy;
    const float *x;
    float *y;
    int batch;
    kstt__ws ws;
} run_ctx;

static double time_driver(run_ctx *c, int reps) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        const double t0 = bench_now();
        for (int i = 0; i < c->ncopy; i++)
            kstt__matmul(c->pool, c->k, &c->m[i], c->x, c->m[i].cols, c->y, c->m[i].rows, c->batch,
                         &c->ws);
        const double dt = (bench_now() - t0) / c->ncopy;
        if (dt < best)
            best = dt;
    }
    return best;
}

static double time_kernel1(run_ctx *c, int reps) {
    const kstt__wmat *m0 = &c->m[0];
    if (c->k->wt[m0->type].prepare_x)
        c->k->wt[m0->type].prepare_x(c->x, m0->cols, c->batch, m0->cols, &c->ws);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        const double t0 = bench_now();
        for (int i = 0; i < c->ncopy; i++)
            c->k->wt[m0->type].matmul(&c->m[i], c->x, m0->cols, c->y, m0->rows, c->batch, 0,
                                      m0->rows, &c->ws);
        const double dt = (bench_now() - t0) / c->ncopy;
        if (dt < best)
            best = dt;
    }
    return best;
}

static double time_prepare(run_ctx *c, int reps) {
    const kstt__wmat *m0 = &c->m[0];
    if (!c->k->wt[m0->type].prepare_x)
        return 0.0;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        const double t0 = bench_now();
        for (int i = 0; i < 16; i++)
            c->k->wt[m0->type].prepare_x(c->x, m0->cols, c->batch, m0->cols, &c->ws);
        const double dt = (bench_now() - t0) / 16;
        if (dt < best)
            best = dt;
    }
    return best;
}

static void usage(void) {
    printf("usage: kstt bench matmul [--threads N] [--types LIST] [--batch LIST] [--reps N]\n"
           "                         [--mb M] [--no-repack] [--shapes LIST]\n"
           "  --types   comma-separated subset of q8_0,q4_0,q4_k (default all)\n"
           "  --batch   comma-separated batch sizes (default 1,8)\n"
           "  --mb      megabytes of weight copies per shape (default 384: beyond the caches)\n"
           "  --no-repack  measure the file block layout, not the load-time repack\n"
           "  --shapes  comma-separated subset of in_proj,out_proj,linear_in,linear_out,text_head\n"
           "  --probe-mb M  buffer of the read-bandwidth probe (default 512)\n");
}

static int in_list(const char *list, const char *name) {
    if (!list)
        return 1;
    const size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        const size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n))
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

int bench_matmul(int argc, char **argv) {
    int threads = 0, reps = 5, repack = 1;
    long mb = 384;
    const char *types = NULL, *batches = "1,8", *shapes = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--types") && i + 1 < argc)
            types = argv[++i];
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batches = argv[++i];
        else if (!strcmp(argv[i], "--shapes") && i + 1 < argc)
            shapes = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mb") && i + 1 < argc)
            mb = atol(argv[++i]);
        else if (!strcmp(argv[i], "--probe-mb") && i + 1 < argc)
            bench_set_probe_mb(atoi(argv[++i]));
        else if (!strcmp(argv[i], "--no-repack"))
            repack = 0;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return 0;
        } else {
            fprintf(stderr, "kstt bench matmul: unknown option '%s'\n", argv[i]);
            usage();
            return 2;
        }
    }
    if (reps < 1)
        reps = 1;
    kstt_pool *pool = NULL;
    if (kstt_pool_new(&pool, threads) != KSTT_OK) {
        fprintf(stderr, "kstt bench matmul: cannot create the thread pool\n");
        return 1;
    }
    const int nth = kstt__pool_size(pool);
    const kstt__kernels *k = kstt__kernels_get(KSTT_KERNELS_AUTO);
    printf("%s\nthreads %d, read probe %.1f GB/s (%d threads), %.1f GB/s (1 thread); %s layout\n",
           kstt_system_info(), nth, bench_read_bandwidth_gbs(nth), nth, bench_read_bandwidth_gbs(1),
           repack ? "repacked" : "file block");
    printf("%-8s %-11s %5s %9s %7s %9s %7s %8s\n", "type", "shape", "batch", "drv_us", "drv_GBs",
           "k1_us", "k1_GBs", "prep_us");
    const kstt__wtype tl[3] = {KSTT_WT_Q8_0, KSTT_WT_Q4_0, KSTT_WT_Q4_K};
    for (int ti = 0; ti < 3; ti++) {
        const kstt__wtype t = tl[ti];
        if (!in_list(types, kstt__wtype_name(t)))
            continue;
        for (int si = 0; si < N_SHAPES; si++) {
            const shape *sh = &g_shapes[si];
            if (!in_list(shapes, sh->name))
                continue;
            /* one random matrix in the file layout, replicated */
            const size_t rb = kstt__wtype_row_bytes(t, sh->cols), bytes = rb * (size_t)sh->rows;
            unsigned char *base = xalloc(bytes);
            float *row = xalloc(sizeof(float) * (size_t)sh->cols);
            for (long r = 0; r < sh->rows; r++) {
                for (long c = 0; c < sh->cols; c++)
                    row[c] = frand();
                kstt__quantize_row(t, row, base + (size_t)r * rb, sh->cols);
            }
            kstt__wmat src = {t, sh->rows, sh->cols, rb, base};
            int ncopy = (int)(((size_t)mb << 20) / bytes);
            if (ncopy < 2)
                ncopy = 2;
            kstt__wmat *m = xalloc(sizeof *m * (size_t)ncopy);
            void **blobs = xalloc(sizeof *blobs * (size_t)ncopy);
            for (int i = 0; i < ncopy; i++) {
                /* packed as the loader packs for this level (kstt__kernels.pack) */
                const kstt__wtype want = kstt__repack_choose(k->pack, t);
                if (repack && kstt__repack_bytes_as(&src, want)) {
                    blobs[i] = xalloc(kstt__repack_bytes_as(&src, want));
                    kstt__repack_rows_as(&src, want, blobs[i], 0, src.rows);
                    kstt__repack_view_as(&src, want, blobs[i], &m[i]);
                } else {
                    blobs[i] = xalloc(bytes);
                    memcpy(blobs[i], base, bytes);
                    m[i] = src;
                    m[i].data = blobs[i];
                }
            }
            for (int bi = 1; bi <= 8; bi++) {
                char bn[4];
                snprintf(bn, sizeof bn, "%d", bi);
                if (!in_list(batches, bn))
                    continue;
                float *x = xalloc(sizeof(float) * (size_t)sh->cols * (size_t)bi);
                float *y = xalloc(sizeof(float) * (size_t)sh->rows * (size_t)bi);
                for (long i = 0; i < sh->cols * bi; i++)
                    x[i] = frand();
                const size_t wsb = kstt__matmul_ws_size(m[0].type, sh->cols, bi);
                run_ctx c = {pool, k, m, ncopy, x, y, bi, {wsb ? xalloc(wsb) : NULL, wsb}};
                time_driver(&c, 1); /* fault in, warm up */
                const double td = time_driver(&c, reps), t1 = time_kernel1(&c, reps);
                const double tp = time_prepare(&c, reps);
                printf("%-8s %-11s %5d %9.1f %7.1f %9.1f %7.1f %8.2f\n", kstt__wtype_name(t),
                       sh->name, bi, td * 1e6, (double)bytes / td / 1e9, t1 * 1e6,
                       (double)bytes / t1 / 1e9, tp * 1e6);
                fflush(stdout);
                kstt__free(c.ws.buf);
                kstt__free(x);
                kstt__free(y);
            }
            for (int i = 0; i < ncopy; i++)
                kstt__free(blobs[i]);
            kstt__free(blobs);
            kstt__free(m);
            kstt__free(row);
            kstt__free(base);
        }
    }
    kstt_pool_free(pool);
    return 0;
}
