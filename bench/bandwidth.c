/*
 * Measures the machine's sustained memory read bandwidth: every thread sums its own slice of a
 * 512 MiB buffer (far beyond any cache), best of several passes of two read loops. This is the
 * physical limit that bandwidth-bound figures (LM steps read every weight once) are compared
 * against.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "core/platform.h"

double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Two read loops; the probe keeps the faster. The scalar one is what any compiler makes of a
 * plain sum; the vector one reads 64 bytes per iteration with software prefetch 1 KiB ahead,
 * like the weight kernels do (GCC vector types: SSE2 at the baseline ISA, no intrinsics), so
 * that a kernel beating the probe means the probe, not the kernel, was short of the limit. */
typedef uint64_t v2u64 __attribute__((vector_size(16)));

typedef struct {
    const uint64_t *p;
    size_t n;
    int vector;
    kstt__barrier *go;
    double seconds;
    uint64_t sum;
} slice;

static uint64_t sum_scalar(const uint64_t *p, size_t n) {
    /* four independent accumulators keep several loads in flight */
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 4 <= n; i += 4) {
        a += p[i];
        b += p[i + 1];
        c += p[i + 2];
        d += p[i + 3];
    }
    return a + b + c + d;
}

static uint64_t sum_vector(const uint64_t *p, size_t n) {
    v2u64 a = {0, 0}, b = a, c = a, d = a;
    const v2u64 *v = (const v2u64 *)p;
    const size_t nv = n / 2;
    for (size_t i = 0; i + 4 <= nv; i += 4) {
        __builtin_prefetch(v + i + 64);
        a += v[i];
        b += v[i + 1];
        c += v[i + 2];
        d += v[i + 3];
    }
    a += b + c + d;
    return a[0] + a[1];
}

static void *read_slice(void *arg) {
    slice *s = arg;
    kstt__barrier_wait(s->go); /* thread start-up stays out of the timed region */
    const double t0 = bench_now();
    s->sum = s->vector ? sum_vector(s->p, s->n) : sum_scalar(s->p, s->n);
    s->seconds = bench_now() - t0;
    return NULL;
}

static int g_probe_mb = 512;

void bench_set_probe_mb(int mb) {
    g_probe_mb = mb >= 1 ? mb : 512;
}

double bench_read_bandwidth_gbs(int n_threads) {
    if (n_threads < 1)
        n_threads = 1;
    if (n_threads > 64)
        n_threads = 64;
    const size_t bytes = (size_t)g_probe_mb << 20;
    uint64_t *buf = aligned_alloc(64, bytes);
    if (!buf)
        return 0.0;
    memset(buf, 1, bytes); /* fault the pages in */
    const size_t words = bytes / 8, per = words / (size_t)n_threads / 8 * 8;
    double best = 0.0;
    volatile uint64_t sink = 0;
    for (int pass = 0; pass < 6; pass++) {
        pthread_t th[64];
        slice sl[64];
        kstt__barrier go; /* core/platform.h: macOS has no pthread barriers */
        if (kstt__barrier_init(&go, (unsigned)n_threads) != 0)
            break;
        for (int i = 0; i < n_threads; i++) {
            sl[i] = (slice){buf + (size_t)i * per, per, pass & 1, &go, 0.0, 0};
            if (i > 0)
                pthread_create(&th[i], NULL, read_slice, &sl[i]);
        }
        read_slice(&sl[0]);
        for (int i = 1; i < n_threads; i++)
            pthread_join(th[i], NULL);
        kstt__barrier_destroy(&go);
        /* the slowest thread's time: all slices read in parallel */
        double dt = 0.0;
        for (int i = 0; i < n_threads; i++) {
            sink += sl[i].sum;
            if (sl[i].seconds > dt)
                dt = sl[i].seconds;
        }
        double gbs = (double)(per * (size_t)n_threads * 8) / dt / 1e9;
        if (gbs > best)
            best = gbs;
    }
    (void)sink;
    free(buf);
    return best;
}
