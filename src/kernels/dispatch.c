/*
 * Kernel selection and the matmul driver. The tables are built once (pthread_once) and are
 * immutable afterwards: they are constants computed at run time, not mutable global state.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "core/status.h"
#include "kernels/cpu.h"
#include "kernels/kernels.h"
#include "kernels/qx.h"
#include "kernels/ref/ref.h"
#include "kernels/ref/ref_q.h"
#include "kernels/ref/attn_ref.h" /* LM attention */
#ifdef KSTT_HAVE_X86
#include "kernels/x86/attn_x86.h" /* LM attention */
#endif

static kstt__kernels g_tables[4]; /* indexed by kstt_kernels level */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static kstt_kernels g_best = KSTT_KERNELS_REF;
static char g_info[256];

/* KSTT_BF16=dot makes the vdpbf16ps product the bf16 entry (where the CPU has it). Read once,
 * with the tables. */
static void apply_bf16_mode(kstt__kernels *k) {
    const char *e = getenv("KSTT_BF16");
    if (e && !strcmp(e, "dot") && k->matmul_bf16_dot) {
        k->matmul[KSTT_WT_BF16] = k->matmul_bf16_dot;
        k->prepare_x[KSTT_WT_BF16] = k->prepare_x_bf16_dot;
    }
}

static void fill_ref(kstt__kernels *k) {
    kstt__kernels_fill_ref(k);
    kstt__kernels_fill_q_ref(k);
    kstt__attn_fill_ref(k); /* LM attention */
}

static void init_tables(void) {
    fill_ref(&g_tables[KSTT_KERNELS_REF]);
    g_best = KSTT_KERNELS_REF;
#ifdef KSTT_HAVE_X86
    const kstt__cpu_features *f = kstt__cpu_detect();
    if (f->avx2 && f->fma && f->f16c) {
        fill_ref(&g_tables[KSTT_KERNELS_AVX2]);
        kstt__kernels_fill_avx2(&g_tables[KSTT_KERNELS_AVX2]);
        kstt__attn_fill_avx2(&g_tables[KSTT_KERNELS_AVX2]); /* LM attention */
        apply_bf16_mode(&g_tables[KSTT_KERNELS_AVX2]);
        g_best = KSTT_KERNELS_AVX2;
    }
    if (g_best == KSTT_KERNELS_AVX2 && f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq) {
        fill_ref(&g_tables[KSTT_KERNELS_AVX512]);
        kstt__kernels_fill_avx2(&g_tables[KSTT_KERNELS_AVX512]);
        kstt__kernels_fill_avx512(&g_tables[KSTT_KERNELS_AVX512], f);
        kstt__attn_fill_avx2(&g_tables[KSTT_KERNELS_AVX512]); /* LM attention */
        kstt__attn_fill_avx512(&g_tables[KSTT_KERNELS_AVX512]);
        apply_bf16_mode(&g_tables[KSTT_KERNELS_AVX512]);
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
    case KSTT_WT_Q8_0R:
    case KSTT_WT_Q4_0R:
    case KSTT_WT_Q4_KR:
        /* the same quantisation, transposed per group of 16 blocks (kernels/qx.h, kstt__qxt) */
        return (size_t)batch * kstt__qxt_row_bytes(cols) + 64;
    case KSTT_WT_Q8_0:
    case KSTT_WT_Q4_0:
    case KSTT_WT_Q4_K:
        /* activations quantised to 8 bits in blocks of 32 (kernels/qx.h) */
        return (size_t)batch * kstt__qx_row_bytes(cols) + 64;
    case KSTT_WT_BF16:
        /* activations rounded to bf16 when KSTT_BF16=dot selects the vdpbf16ps product */
        return (size_t)batch * kstt__bx_row_bytes(cols) + 64;
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
    long chunk;        /* rows per claim, a multiple of 16 */
    atomic_long next;  /* first row not yet claimed */
} matmul_job;

/* Threads claim chunks of rows from a shared counter rather than taking a fixed 1/nth: when a
 * core is busy with something else (another process, a slower sibling), the others take over
 * its share instead of waiting for it. Chunks are multiples of 16 rows so that threads never
 * share a cache line of y, and a row's result does not depend on the chunk it falls in. */
static void matmul_task(void *arg, int ith, int nth) {
    (void)ith, (void)nth;
    matmul_job *j = arg;
    const long rows = (long)j->w->rows;
    for (;;) {
        const long r0 = atomic_fetch_add_explicit(&j->next, j->chunk, memory_order_relaxed);
        if (r0 >= rows) break;
        const long r1 = r0 + j->chunk < rows ? r0 + j->chunk : rows;
        j->k->matmul[j->w->type](j->w, j->x, j->ldx, j->y, j->ldy, j->batch, r0, r1, j->ws);
    }
}

void kstt__matmul(kstt_pool *pool, const kstt__kernels *k, const kstt__wmat *w, const float *x,
                  long ldx, float *y, long ldy, int batch, const kstt__ws *ws) {
    KSTT_ASSERT(k->matmul[w->type] != NULL);
    /* the prepared activations are read with aligned 512-bit loads */
    KSTT_ASSERT(!k->prepare_x[w->type] ||
                (ws && ((uintptr_t)ws->buf & 63) == 0 &&
                 ws->cap >= kstt__matmul_ws_size(w->type, (long)w->cols, batch) - 64));
    if (k->prepare_x[w->type]) k->prepare_x[w->type](x, ldx, batch, (long)w->cols, ws);
    matmul_job j = {k, w, x, ldx, y, ldy, batch, ws, 0, 0};
    /* about 8 chunks per thread: fine enough to rebalance, coarse enough to keep the weight
     * streams long */
    const long nth = kstt__pool_size(pool), rows = (long)w->rows;
    long chunk = (rows + 8 * nth - 1) / (8 * nth);
    chunk = (chunk + 15) / 16 * 16;
    j.chunk = chunk < 16 ? 16 : chunk;
    atomic_init(&j.next, 0);
    /* tiny products are not worth waking workers for */
    if ((long)w->rows * w->cols * batch < 32768)
        matmul_task(&j, 0, 1);
    else
        kstt__pool_run(pool, matmul_task, &j);
}
