/*
 * Persistent worker pool. A job is fn(arg, ith, nth) run once on each of nth threads (the
 * caller is thread 0); kstt__pool_run returns when all have finished, so it doubles as the
 * barrier between layers. Work is split inside fn, by rows (ith/nth) or by claiming chunks
 * from an atomic counter. A NULL pool runs fn(arg, 0, 1) on the caller.
 */
#ifndef KSTT_CORE_POOL_H
#define KSTT_CORE_POOL_H

#include "kstt.h"

typedef void (*kstt__task_fn)(void *arg, int ith, int nth);

void kstt__pool_run(kstt_pool *pool, kstt__task_fn fn, void *arg);
/* Threads a job gets (1 for NULL). */
int kstt__pool_size(const kstt_pool *pool);

/* Splits [0, n) into nth near-equal ranges, rounded to multiples of `align` (>= 1). */
static inline void kstt__split_range(long n, long align, int ith, int nth, long *begin, long *end) {
    long blocks = (n + align - 1) / align;
    long b0 = blocks * ith / nth, b1 = blocks * (ith + 1) / nth;
    *begin = b0 * align < n ? b0 * align : n;
    *end = b1 * align < n ? b1 * align : n;
}

#endif
