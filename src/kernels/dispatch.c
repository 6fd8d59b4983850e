/*
 * Kernel selection and the matmul driver. Architecture-free: the tables are constant data
 * (ref/table_ref.c and one file per level), the target's detection file (kernels/cpu.h)
 * lists them, and this file only picks per public level the last listed table whose
 * required features the CPU has. Chosen once (pthread_once), immutable afterwards.
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
#include "quant/quant.h"

extern const kstt__kernels kstt__table_ref;

#define NLEVELS 16 /* > every kstt_kernels value */

static const kstt__kernels *g_level[NLEVELS]; /* per public level: the table, or NULL */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static kstt_kernels g_best = KSTT_KERNELS_REF;
static uint64_t g_features;
static char g_cpu[192];
static char g_info[320];

static kstt_kernels env_cap(void);
static const kstt__kernels *level_at_most(kstt_kernels cap);

static void init_tables(void) {
    g_features = kstt__cpu_arch.detect(g_cpu, sizeof g_cpu);
    g_level[KSTT_KERNELS_REF] = &kstt__table_ref;
    for (int i = 0; i < kstt__cpu_arch.ntables; i++) {
        const kstt__kernels *t = kstt__cpu_arch.tables[i];
        if ((t->requires & ~g_features) != 0 || (unsigned)t->level >= NLEVELS)
            continue;
        g_level[t->level] = t;
        if (t->level > g_best)
            g_best = t->level;
    }
    /* "kstt 0.x | cpu: <arch and features found> | kernels: <level used> (<table>; best
     * <level>)": the level used is the best capped by KSTT_KERNELS as read now. */
    const kstt__kernels *used = level_at_most(env_cap());
    snprintf(g_info, sizeof g_info, "kstt %s | cpu: %s | kernels: %s (%s; best %s)", kstt_version(),
             g_cpu, used->name, used->variant, g_level[g_best]->name);
}

/* KSTT_KERNELS=<level name>: "ref" or the name of one of the arch's tables; anything else
 * (or unset) caps nothing. */
static kstt_kernels env_cap(void) {
    const char *e = getenv("KSTT_KERNELS");
    if (!e || !*e)
        return KSTT_KERNELS_AUTO;
    if (!strcmp(e, kstt__table_ref.name))
        return KSTT_KERNELS_REF;
    for (int i = 0; i < kstt__cpu_arch.ntables; i++)
        if (!strcmp(e, kstt__cpu_arch.tables[i]->name))
            return kstt__cpu_arch.tables[i]->level;
    return KSTT_KERNELS_AUTO;
}

/* The highest level the CPU has at or below cap (AUTO: the best). */
static const kstt__kernels *level_at_most(kstt_kernels cap) {
    int l = cap == KSTT_KERNELS_AUTO || cap > g_best ? (int)g_best : (int)cap;
    while (l > KSTT_KERNELS_REF && !g_level[l])
        l--;
    return g_level[l > KSTT_KERNELS_REF ? l : KSTT_KERNELS_REF];
}

const kstt__kernels *kstt__kernels_get(kstt_kernels cap) {
    pthread_once(&g_once, init_tables);
    const kstt_kernels e = env_cap();
    if (e != KSTT_KERNELS_AUTO && (cap == KSTT_KERNELS_AUTO || e < cap))
        cap = e;
    return level_at_most(cap);
}

int kstt__kernels_available(const kstt__kernels **out, int max) {
    pthread_once(&g_once, init_tables);
    const kstt__kernels *cap = kstt__kernels_get(KSTT_KERNELS_AUTO);
    int n = 0;
    if (n < max)
        out[n++] = &kstt__table_ref;
    for (int i = 0; i < kstt__cpu_arch.ntables && n < max; i++) {
        const kstt__kernels *t = kstt__cpu_arch.tables[i];
        if ((t->requires & ~g_features) == 0 && t->level <= cap->level)
            out[n++] = t;
    }
    return n;
}

const kstt__kernels *kstt__kernels_ref(void) {
    return &kstt__table_ref;
}

uint64_t kstt__cpu_features(void) {
    pthread_once(&g_once, init_tables);
    return g_features;
}

const char *kstt_system_info(void) {
    pthread_once(&g_once, init_tables);
    return g_info;
}

size_t kstt__matmul_ws_size(kstt__wtype type, long cols, int batch) {
    switch (kstt__wtype_info(type)->act) {
    case KSTT_ACT_Q8T:
        return (size_t)batch * kstt__qxt_row_bytes(cols) + 64;
    case KSTT_ACT_Q8:
        return (size_t)batch * kstt__qx_row_bytes(cols) + 64;
    case KSTT_ACT_BF16:
        return (size_t)batch * kstt__bx_row_bytes(cols) + 64;
    case KSTT_ACT_Q8A:
        return kstt__qxa_bytes(cols, batch) + 64;
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
    long chunk;       /* rows per claim, a multiple of 16 */
    atomic_long next; /* first row not yet claimed */
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
        if (r0 >= rows)
            break;
        const long r1 = r0 + j->chunk < rows ? r0 + j->chunk : rows;
        j->k->wt[j->w->type].matmul(j->w, j->x, j->ldx, j->y, j->ldy, j->batch, r0, r1, j->ws);
    }
}

void kstt__matmul(kstt_pool *pool, const kstt__kernels *k, const kstt__wmat *w, const float *x,
                  long ldx, float *y, long ldy, int batch, const kstt__ws *ws) {
    KSTT_ASSERT(k->wt[w->type].matmul != NULL);
    /* the prepared activations are read with aligned 512-bit loads */
    KSTT_ASSERT(!k->wt[w->type].prepare_x ||
                (ws && ((uintptr_t)ws->buf & 63) == 0 &&
                 ws->cap >= kstt__matmul_ws_size(w->type, (long)w->cols, batch) - 64));
    if (k->wt[w->type].prepare_x)
        k->wt[w->type].prepare_x(x, ldx, batch, (long)w->cols, ws);
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
