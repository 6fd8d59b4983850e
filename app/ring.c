/* The SPSC float ring of ring.h. */
#include "ring.h"

#include <stdlib.h>
#include <string.h>

int app_ring_init(app_ring *r, size_t min_samples) {
    size_t cap = 1;
    while (cap < min_samples)
        cap <<= 1;
    r->buf = malloc(cap * sizeof *r->buf);
    if (!r->buf)
        return -1;
    r->cap = cap;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->dropped, 0);
    return 0;
}

void app_ring_free(app_ring *r) {
    free(r->buf);
    r->buf = NULL;
}

size_t app_ring_write(app_ring *r, const float *x, size_t n) {
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t room = r->cap - (size_t)(head - tail);
    size_t k = n < room ? n : room;
    size_t at = (size_t)(head & (r->cap - 1));
    size_t first = k < r->cap - at ? k : r->cap - at;
    memcpy(r->buf + at, x, first * sizeof *x);
    memcpy(r->buf, x + first, (k - first) * sizeof *x);
    atomic_store_explicit(&r->head, head + k, memory_order_release);
    if (k < n)
        atomic_fetch_add_explicit(&r->dropped, n - k, memory_order_relaxed);
    return k;
}

size_t app_ring_read(app_ring *r, float *out, size_t max) {
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t avail = (size_t)(head - tail);
    size_t k = max < avail ? max : avail;
    size_t at = (size_t)(tail & (r->cap - 1));
    size_t first = k < r->cap - at ? k : r->cap - at;
    memcpy(out, r->buf + at, first * sizeof *out);
    memcpy(out + first, r->buf, (k - first) * sizeof *out);
    atomic_store_explicit(&r->tail, tail + k, memory_order_release);
    return k;
}

size_t app_ring_available(app_ring *r) {
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    return (size_t)(head - tail);
}
