/*
 * Measures the machine's sustained memory read bandwidth: every thread sums its own slice of a
 * 512 MiB buffer (far beyond any cache), best of several passes. This is the physical limit
 * that bandwidth-bound figures (LM steps read every weight once) are compared against.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

double kstt_bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    const uint64_t *p;
    size_t n;
    uint64_t sum;
} slice;

static void *read_slice(void *arg) {
    slice *s = arg;
    /* four independent accumulators keep several loads in flight */
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 4 <= s->n; i += 4) {
        a += s->p[i];
        b += s->p[i + 1];
        c += s->p[i + 2];
        d += s->p[i + 3];
    }
    s->sum = a + b + c + d;
    return NULL;
}

double kstt_bench_read_bandwidth_gbs(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    if (n_threads > 64) n_threads = 64;
    const size_t bytes = (size_t)512 << 20;
    uint64_t *buf = malloc(bytes);
    if (!buf) return 0.0;
    memset(buf, 1, bytes); /* fault the pages in */
    const size_t words = bytes / 8, per = words / (size_t)n_threads;
    double best = 0.0;
    volatile uint64_t sink = 0;
    for (int pass = 0; pass < 5; pass++) {
        pthread_t th[64];
        slice sl[64];
        double t0 = kstt_bench_now();
        for (int i = 0; i < n_threads; i++) {
            sl[i] = (slice){buf + (size_t)i * per, per, 0};
            if (i > 0) pthread_create(&th[i], NULL, read_slice, &sl[i]);
        }
        read_slice(&sl[0]);
        for (int i = 1; i < n_threads; i++) pthread_join(th[i], NULL);
        double dt = kstt_bench_now() - t0;
        for (int i = 0; i < n_threads; i++) sink += sl[i].sum;
        double gbs = (double)(per * (size_t)n_threads * 8) / dt / 1e9;
        if (gbs > best) best = gbs;
    }
    (void)sink;
    free(buf);
    return best;
}
