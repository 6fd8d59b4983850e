/*
 * Kernel selection and the matmul driver. The tables are built once (pthread_once) and are
 * immutable afterwards: they are constants computed at run time, not mutable global state.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "core/status.h"
#include "kernels/cpu.h"
#include "kernels/kernels.h"
#include "kernels/ref/ref.h"

static kstt__kernels g_tables[4]; /* indexed by kstt_kernels level */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static kstt_kernels g_best = KSTT_KERNELS_REF;
static char g_info[256];

static void init_tables(void) {
    kstt__kernels_fill_ref(&g_tables[KSTT_KERNELS_REF]);
    g_best = KSTT_KERNELS_REF;
#ifdef KSTT_HAVE_X86
    const kstt__cpu_features *f = kstt__cpu_detect();
    if (f->avx2 && f->fma && f->f16c) {
        kstt__kernels_fill_ref(&g_tables[KSTT_KERNELS_AVX2]);
        kstt__kernels_fill_avx2(&g_tables[KSTT_KERNELS_AVX2]);
        g_best = KSTT_KERNELS_AVX2;
    }
    if (g_best == KSTT_KERNELS_AVX2 && f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq) {
        kstt__kernels_fill_ref(&g_tables[KSTT_KERNELS_AVX512]);
        kstt__kernels_fill_avx2(&g_tables[KSTT_KERNELS_AVX512]);
        kstt__kernels_fill_avx512(&g_tables[KSTT_KERNELS_AVX512], f);
        g_best = KSTT_KERNELS_AVX512;
    }
#endif
    snprintf(g_info, sizeof g_info, "kstt %s | cpu: %s | kernels: %s (best %s)", kstt_version(),
             kstt__cpu_describe(), g_tables[g_best].name, g_tables[g_best].name);
}

static kstt_kernels env_cap(void) {
    const char *e = getenv("KSTT_KERNELS");
    if (!e || !*e) return KSTT_KERNELS_AUTO;
    if (!strcmp(e, "ref")) return KSTT_KERNELS_REF;
    if (!strcmp(e, "avx2")) return KSTT_KERNELS_AVX2;
    if (!strcmp(e, "avx512")) return KSTT_KERNELS_AVX512;
    return KSTT_KERNELS_AUTO;
}

const kstt__kernels *kstt__kernels_get(kstt_kernels cap) {
    pthread_once(&g_once, init_tables);
    kstt_kernels level = g_best;
    if (cap != KSTT_KERNELS_AUTO && cap < level) level = cap;
    kstt_kernels e = env_cap();
    if (e != KSTT_KERNELS_AUTO && e < level) level = e;
    return &g_tables[level];
}

const kstt__kernels *kstt__kernels_ref(void) {
    pthread_once(&g_once, init_tables);
    return &g_tables[KSTT_KERNELS_REF];
}

const char *kstt_system_info(void) {
    pthread_once(&g_once, init_tables);
    return g_info;
}

size_t kstt__matmul_ws_size(kstt__wtype type, long cols, int batch) {
    switch (type) {
    case KSTT_WT_Q8_0:
    case KSTT_WT_Q4_0:
    case KSTT_WT_Q4_K:
        /* activations quantised to 8 bits in blocks of 32 with an f32 scale and sum */
        return (size_t)batch * ((size_t)(cols + 255) / 32 * 40 + 64);
    default:
        return 0;
    }
}

typedef struct {
    const kstt__kernels *k;
    const kstt__wmat *w;
    const float *x;
    long ldx;
    float *y;
    long ldy;
    int batch;
    const kstt__ws *ws;
} matmul_job;

static void matmul_task(void *arg, int ith, int nth) {
    const matmul_job *j = arg;
    long r0, r1;
    /* rows in multiples of 16 so that threads never share a cache line of y */
    kstt__split_range((long)j->w->rows, 16, ith, nth, &r0, &r1);
    if (r0 < r1) j->k->matmul[j->w->type](j->w, j->x, j->ldx, j->y, j->ldy, j->batch, r0, r1, j->ws);
}

void kstt__matmul(kstt_pool *pool, const kstt__kernels *k, const kstt__wmat *w, const float *x,
                  long ldx, float *y, long ldy, int batch, const kstt__ws *ws) {
    KSTT_ASSERT(k->matmul[w->type] != NULL);
    if (k->prepare_x[w->type]) k->prepare_x[w->type](x, ldx, batch, (long)w->cols, ws);
    matmul_job j = {k, w, x, ldx, y, ldy, batch, ws};
    /* tiny products are not worth waking workers for */
    if ((long)w->rows * w->cols * batch < 32768)
        matmul_task(&j, 0, 1);
    else
        kstt__pool_run(pool, matmul_task, &j);
}
