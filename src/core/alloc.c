/*
 * Aligned, counted allocation. A 64-byte header in front of each block stores its size so
 * that free() can keep the live-byte count. The fault-injection counter and the statistics
 * are atomics: they are test instrumentation, not behaviour the library depends on.
 */
#include "core/alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HDR 64

static atomic_llong g_live;
static atomic_llong g_count;
static atomic_long g_fail_after = -1;

void kstt__alloc_fail_after(long n) {
    atomic_store(&g_fail_after, n);
}
long long kstt__alloc_live_bytes(void) {
    return atomic_load(&g_live);
}
long long kstt__alloc_count(void) {
    return atomic_load(&g_count);
}

static int should_fail(void) {
    long v = atomic_load(&g_fail_after);
    while (v >= 0) {
        if (v == 0)
            return 1;
        if (atomic_compare_exchange_weak(&g_fail_after, &v, v - 1))
            return 0;
    }
    return 0;
}

void *kstt__alloc(size_t size) {
    if (should_fail())
        return NULL;
    if (size > SIZE_MAX - 2 * HDR)
        return NULL;
    size_t total = (size + HDR + 63) & ~(size_t)63;
    unsigned char *p = aligned_alloc(64, total);
    if (!p)
        return NULL;
    memset(p, 0, total);
    memcpy(p, &size, sizeof size);
    atomic_fetch_add(&g_live, (long long)size);
    atomic_fetch_add(&g_count, 1);
    return p + HDR;
}

void *kstt__calloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size)
        return NULL;
    return kstt__alloc(n * size);
}

void *kstt__realloc(void *p, size_t old_size, size_t new_size) {
    void *q = kstt__alloc(new_size);
    if (!q)
        return NULL;
    if (p) {
        memcpy(q, p, old_size < new_size ? old_size : new_size);
        kstt__free(p);
    }
    return q;
}

void kstt__free(void *p) {
    if (!p)
        return;
    unsigned char *base = (unsigned char *)p - HDR;
    size_t size;
    memcpy(&size, base, sizeof size);
    atomic_fetch_sub(&g_live, (long long)size);
    free(base);
}

char *kstt__strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = kstt__alloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}
