/*
 * All heap memory of the library goes through these calls: 64-byte aligned (cache lines and
 * AVX-512 loads), zero-filled, counted. Tests inject failures with kstt__alloc_fail_after().
 * Allocation happens in _load/_new only; the per-frame paths allocate nothing.
 */
#ifndef KSTT_CORE_ALLOC_H
#define KSTT_CORE_ALLOC_H

#include <stddef.h>

/* Zero-filled, 64-byte aligned; NULL on failure or on size overflow (n * size). */
void *kstt__alloc(size_t size);
void *kstt__calloc(size_t n, size_t size);
/* Like realloc, keeps alignment; contents up to min(old, new) preserved, the rest zeroed. */
void *kstt__realloc(void *p, size_t old_size, size_t new_size);
void kstt__free(void *p);
/* Duplicates a NUL-terminated string (NULL on failure). */
char *kstt__strdup(const char *s);

/* Test hooks. fail_after(n): the n-th allocation from now (0 = the next one) and every later
 * one fails until fail_after(-1). live_bytes: bytes currently allocated through kstt__alloc. */
void kstt__alloc_fail_after(long n);
long long kstt__alloc_live_bytes(void);
long long kstt__alloc_count(void);

#endif
