/*
 * The portability layer: the few things the library and its tools need from the operating
 * system that POSIX does not give everywhere. Every OS-specific call lives in core/platform.c
 * behind `#if defined(__linux__)` / `__APPLE__` with a fallback for any other system;
 * scripts/lint-portability.sh fails on a Linux-only API used anywhere else unguarded.
 *
 * Thread-safety: every function is safe to call from any thread.
 */
#ifndef KSTT_CORE_PLATFORM_H
#define KSTT_CORE_PLATFORM_H

#include <pthread.h>

/* The aarch64 features the OS reports (all 0 on other CPUs). */
typedef struct {
    int fp16;    /* FEAT_FP16: half-precision arithmetic (Linux: fphp and asimdhp) */
    int dotprod; /* FEAT_DotProd (Linux: asimddp) */
    int i8mm;    /* FEAT_I8MM */
    int bf16;    /* FEAT_BF16 */
    int sve;
} kstt__platform_cpu_flags;

/* Fills *f from the OS: Linux getauxval(AT_HWCAP / AT_HWCAP2), macOS
 * sysctlbyname("hw.optional.arm.FEAT_*"). Returns 0, or -1 (and zeros) where this OS or CPU has
 * no such query; the caller then falls back to what the compiler targets. */
int kstt__platform_cpu_flags_read(kstt__platform_cpu_flags *f);

/* CPUs this process may run on: the affinity mask on Linux (containers, taskset), the online
 * CPUs elsewhere; at least 1. */
int kstt__platform_ncpu(void);

/* Peak resident set size of the process in KiB (getrusage: KiB on Linux, bytes on macOS),
 * -1 when unknown. */
long long kstt__platform_peak_rss_kb(void);

/* A reusable barrier for a fixed number of threads (pthread_barrier_t is an optional POSIX
 * feature that macOS lacks): mutex + condition variable + generation count. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned n, waiting, gen;
} kstt__barrier;

/* n >= 1. Returns 0 or an errno value from the mutex / condition variable. */
int kstt__barrier_init(kstt__barrier *b, unsigned n);
/* Blocks until n threads have called it for this generation; then all return. */
void kstt__barrier_wait(kstt__barrier *b);
void kstt__barrier_destroy(kstt__barrier *b);

#endif
