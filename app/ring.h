/*
 * A single-producer single-consumer ring of float samples, lock-free (C11 atomics), for the
 * hand-off from a real-time audio callback (the producer: it must never block or allocate)
 * to the thread that runs the model (the consumer).
 *
 * Capacity is a power of two; head and tail count samples since creation (they never wrap in
 * practice: 2^64 samples), so "used" is head - tail and no slot is wasted. The producer
 * publishes with a release store of head after writing the samples; the consumer reads head
 * with acquire before reading them (and the reverse for tail), which is all the ordering an
 * SPSC ring needs.
 */
#ifndef APP_RING_H
#define APP_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    float *buf;               /* [cap] */
    size_t cap;               /* power of two */
    _Atomic uint64_t head;    /* samples written (producer) */
    _Atomic uint64_t tail;    /* samples read (consumer) */
    _Atomic uint64_t dropped; /* samples the producer could not store (ring full) */
} app_ring;

/* Allocates a ring of at least min_samples (rounded up to a power of two). 0 or -1. */
int app_ring_init(app_ring *r, size_t min_samples);
void app_ring_free(app_ring *r);

/* Producer: stores up to n samples; those that do not fit are counted in `dropped`. Returns
 * the number stored. Wait-free. */
size_t app_ring_write(app_ring *r, const float *x, size_t n);
/* Consumer: copies up to max samples out; returns the number copied. Wait-free. */
size_t app_ring_read(app_ring *r, float *out, size_t max);
/* Samples ready for the consumer. */
size_t app_ring_available(app_ring *r);

#endif
