/*
 * OS-specific code of core/platform.h. Each function has a Linux branch, an Apple branch
 * where the answer differs, and a portable fallback; nothing outside this file (and the arch
 * detection files that call it) may use a Linux-only API (scripts/lint-portability.sh).
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#endif
#if defined(__APPLE__) && !defined(_DARWIN_C_SOURCE)
#define _DARWIN_C_SOURCE /* sysctlbyname under _POSIX_C_SOURCE */
#endif
#include "core/platform.h"

#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#if defined(__linux__)
#include <sched.h>
#if defined(__aarch64__)
#include <sys/auxv.h>
#endif
#elif defined(__APPLE__)
#include <sys/sysctl.h>
#include <sys/types.h>
#endif

#if defined(__APPLE__)
/* 1 when the sysctl exists and is non-zero */
static int sysctl_flag(const char *name) {
    int v = 0;
    size_t n = sizeof v;
    if (sysctlbyname(name, &v, &n, NULL, 0) != 0)
        return 0;
    return v != 0;
}
#endif

int kstt__platform_cpu_flags_read(kstt__platform_cpu_flags *f) {
    memset(f, 0, sizeof *f);
#if defined(__linux__) && defined(__aarch64__)
    /* bit numbers of the Linux arm64 ABI (asm/hwcap.h), spelled out so that old headers do */
    const unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    f->fp16 = (hw & (1ul << 9)) && (hw & (1ul << 10)); /* FPHP, ASIMDHP */
    f->dotprod = (hw & (1ul << 20)) != 0;              /* ASIMDDP */
    f->sve = (hw & (1ul << 22)) != 0;                  /* SVE */
    f->i8mm = (hw2 & (1ul << 13)) != 0;                /* HWCAP2_I8MM */
    f->bf16 = (hw2 & (1ul << 14)) != 0;                /* HWCAP2_BF16 */
    return 0;
#elif defined(__APPLE__) && defined(__aarch64__)
    f->fp16 = sysctl_flag("hw.optional.arm.FEAT_FP16");
    f->dotprod = sysctl_flag("hw.optional.arm.FEAT_DotProd");
    f->i8mm = sysctl_flag("hw.optional.arm.FEAT_I8MM");
    f->bf16 = sysctl_flag("hw.optional.arm.FEAT_BF16");
    return 0;
#else
    return -1;
#endif
}

int kstt__platform_ncpu(void) {
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        const int n = CPU_COUNT(&set);
        if (n > 0)
            return n;
    }
#endif
    const long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)c : 1;
}

long long kstt__platform_peak_rss_kb(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
#if defined(__APPLE__)
    return (long long)ru.ru_maxrss / 1024; /* bytes */
#else
    return (long long)ru.ru_maxrss; /* KiB (Linux, the BSDs) */
#endif
}

int kstt__barrier_init(kstt__barrier *b, unsigned n) {
    b->n = n ? n : 1;
    b->waiting = 0;
    b->gen = 0;
    int e = pthread_mutex_init(&b->mu, NULL);
    if (e)
        return e;
    e = pthread_cond_init(&b->cv, NULL);
    if (e)
        pthread_mutex_destroy(&b->mu);
    return e;
}

void kstt__barrier_wait(kstt__barrier *b) {
    pthread_mutex_lock(&b->mu);
    const unsigned gen = b->gen;
    if (++b->waiting == b->n) {
        b->waiting = 0;
        b->gen++;
        pthread_cond_broadcast(&b->cv);
    } else {
        while (gen == b->gen)
            pthread_cond_wait(&b->cv, &b->mu);
    }
    pthread_mutex_unlock(&b->mu);
}

void kstt__barrier_destroy(kstt__barrier *b) {
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
}
