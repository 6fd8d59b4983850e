/*
 * x86-64 CPU detection and the list of x86 kernel tables (kernels/cpu.h). Compiled without ISA
 * flags (no suffix): __builtin_cpu_supports reads cpuid (and the OS's XSAVE state); the
 * features it has no name for on every supported compiler (AVX-VNNI) are read from cpuid
 * directly, with the OS's AVX state checked through xgetbv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "kernels/cpu.h"

#if defined(__GNUC__) || defined(__clang__)
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

/* AMX-TILE and AMX-INT8 (cpuid leaf 7 EDX bits 24 and 25), the OS managing the tile state
 * (XCR0 bits 17 and 18), and, on Linux, this process allowed to use it: the kernel gives the
 * 8 KB tile state only on request (arch_prctl ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA),
 * which is per process and lasts for its life. KSTT_AMX=0 in the environment keeps the
 * library from asking (and from the AMX products). Elsewhere (no such request) AMX is off. */
static int has_amx_int8(void) {
#if defined(__linux__) && defined(SYS_arch_prctl)
    const char *e = getenv("KSTT_AMX");
    if (e && !strcmp(e, "0"))
        return 0;
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) /* OSXSAVE */
        return 0;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    if (((d >> 24) & 3u) != 3u)
        return 0;
    if ((read_xcr0() & (3ull << 17)) != (3ull << 17))
        return 0;
    const long arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
    return syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) == 0;
#else
    return 0;
#endif
}

/* AMX-BF16 (cpuid leaf 7 EDX bit 22), asked only once AMX-INT8 is enabled: the same tile state. */
static int has_amx_bf16(void) {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (d >> 22) & 1u;
}
#endif

static uint64_t detect_x86(char *desc, size_t cap) {
    uint64_t f = 0;
#if defined(__GNUC__) || defined(__clang__)
    __builtin_cpu_init();
    static const struct {
        uint64_t bit;
        const char *name;
    } names[] = {
        {KSTT_CPU_AVX2, "avx2"},
        {KSTT_CPU_FMA, "fma"},
        {KSTT_CPU_AVX512F, "avx512f"},
        {KSTT_CPU_AVX512BW, "avx512bw"},
        {KSTT_CPU_AVX512VL, "avx512vl"},
        {KSTT_CPU_AVX512DQ, "avx512dq"},
        {KSTT_CPU_AVX512BF16, "avx512bf16"},
        {KSTT_CPU_AVX512VNNI, "avx512vnni"},
        {KSTT_CPU_AVXVNNI, "avxvnni"},
        {KSTT_CPU_AMXINT8, "amx-int8"},
        {KSTT_CPU_AMXBF16, "amx-bf16"},
    };
    if (__builtin_cpu_supports("avx2"))
        f |= KSTT_CPU_AVX2 | KSTT_CPU_F16C; /* AVX2 CPUs have F16C */
    if (__builtin_cpu_supports("fma"))
        f |= KSTT_CPU_FMA;
    if (__builtin_cpu_supports("avx512f"))
        f |= KSTT_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512bw"))
        f |= KSTT_CPU_AVX512BW;
    if (__builtin_cpu_supports("avx512vl"))
        f |= KSTT_CPU_AVX512VL;
    if (__builtin_cpu_supports("avx512dq"))
        f |= KSTT_CPU_AVX512DQ;
    if (__builtin_cpu_supports("avx512vnni"))
        f |= KSTT_CPU_AVX512VNNI;
#if !(defined(__clang__) && __clang_major__ < 15)
    if (__builtin_cpu_supports("avx512bf16"))
        f |= KSTT_CPU_AVX512BF16;
#endif
    if (has_avxvnni())
        f |= KSTT_CPU_AVXVNNI;
    if ((f & KSTT_CPU_AVX512BW) && has_amx_int8()) {
        f |= KSTT_CPU_AMXINT8;
        if (has_amx_bf16())
            f |= KSTT_CPU_AMXBF16;
    }
    size_t used = (size_t)snprintf(desc, cap, "x86-64");
    for (size_t i = 0; i < sizeof names / sizeof names[0] && used < cap; i++)
        if (f & names[i].bit)
            used += (size_t)snprintf(desc + used, cap - used, " %s", names[i].name);
#else
    snprintf(desc, cap, "x86-64");
#endif
    return f;
}

extern const kstt__kernels kstt__table_avx2, kstt__table_avx512, kstt__table_avx512_vnni,
    kstt__table_avx512_bf16, kstt__table_avx512_amx;

static const kstt__kernels *const g_tables[] = {
    &kstt__table_avx2,        &kstt__table_avx512,     &kstt__table_avx512_vnni,
    &kstt__table_avx512_bf16, &kstt__table_avx512_amx,
};

const kstt__cpu_arch_desc kstt__cpu_arch = {detect_x86, g_tables,
                                            (int)(sizeof g_tables / sizeof g_tables[0])};
