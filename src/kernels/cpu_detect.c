/* CPU feature detection. __builtin_cpu_supports reads cpuid (and the OS's XSAVE state); the
 * features it has no name for on every supported compiler (AVX-VNNI) are read from cpuid
 * directly, with the OS's AVX state checked through xgetbv. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "kernels/cpu.h"

#if defined(KSTT_HAVE_X86) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>

/* XCR0 through xgetbv (no -mxsave needed); call only when cpuid reports OSXSAVE. */
static unsigned long long read_xcr0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

/* AVX-VNNI (VEX-encoded vpdpbusd on 256-bit registers): cpuid leaf 7 subleaf 1, EAX bit 4, and
 * the OS saving the SSE and AVX register state (XCR0 bits 1 and 2). */
static int has_avxvnni(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) /* OSXSAVE */
        return 0;
    if ((read_xcr0() & 0x6) != 0x6)
        return 0;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 1, a, b, c, d);
    return (a >> 4) & 1u;
}
#endif

static kstt__cpu_features g_f;
static char g_desc[192];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void detect(void) {
#if defined(KSTT_HAVE_X86) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    g_f.avx2 = __builtin_cpu_supports("avx2");
    g_f.fma = __builtin_cpu_supports("fma");
    g_f.f16c = 1; /* every AVX2 CPU has F16C; no builtin name on older compilers */
    g_f.avx512f = __builtin_cpu_supports("avx512f");
    g_f.avx512bw = __builtin_cpu_supports("avx512bw");
    g_f.avx512vl = __builtin_cpu_supports("avx512vl");
    g_f.avx512dq = __builtin_cpu_supports("avx512dq");
    g_f.avx512vnni = __builtin_cpu_supports("avx512vnni");
#if defined(__clang__) && __clang_major__ < 15
    g_f.avx512bf16 = 0;
#else
    g_f.avx512bf16 = __builtin_cpu_supports("avx512bf16");
#endif
    g_f.avxvnni = has_avxvnni();
    snprintf(g_desc, sizeof g_desc, "x86-64%s%s%s%s%s%s%s%s%s", g_f.avx2 ? " avx2" : "",
             g_f.fma ? " fma" : "", g_f.avx512f ? " avx512f" : "", g_f.avx512bw ? " avx512bw" : "",
             g_f.avx512vl ? " avx512vl" : "", g_f.avx512dq ? " avx512dq" : "",
             g_f.avx512bf16 ? " avx512bf16" : "", g_f.avx512vnni ? " avx512vnni" : "",
             g_f.avxvnni ? " avxvnni" : "");
#else
    snprintf(g_desc, sizeof g_desc, "generic");
#endif
}

const kstt__cpu_features *kstt__cpu_detect(void) {
    pthread_once(&g_once, detect);
    return &g_f;
}

const char *kstt__cpu_describe(void) {
    pthread_once(&g_once, detect);
    return g_desc;
}
