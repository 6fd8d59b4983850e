/*
 * aarch64 CPU detection and the list of ARM kernel tables (kernels/cpu.h). Compiled without
 * ISA flags (no suffix), so it runs on any AArch64 CPU:
 *   Linux / Android  getauxval(AT_HWCAP / AT_HWCAP2) (the kernel's view: features the OS
 *                    enables), through core/platform.h
 *   macOS / iOS      sysctlbyname("hw.optional.arm.FEAT_*"), through core/platform.h
 *   anything else    the features the compiler was told the target has (__ARM_FEATURE_*)
 * Advanced SIMD is part of every AArch64 CPU the library targets (the compilers' default).
 */
#include <stdio.h>

#include "core/platform.h"
#include "kernels/cpu.h"

static uint64_t detect_arm(char *desc, size_t cap) {
    uint64_t f = KSTT_CPU_NEON;
    kstt__platform_cpu_flags pf;
    if (kstt__platform_cpu_flags_read(&pf) == 0) {
        if (pf.fp16)
            f |= KSTT_CPU_FP16;
        if (pf.dotprod)
            f |= KSTT_CPU_DOTPROD;
        if (pf.i8mm)
            f |= KSTT_CPU_I8MM;
        if (pf.bf16)
            f |= KSTT_CPU_BF16;
        if (pf.sve)
            f |= KSTT_CPU_SVE;
    } else {
#if defined(__ARM_FEATURE_FP16_VECTOR_ARITHMETIC)
        f |= KSTT_CPU_FP16;
#endif
#if defined(__ARM_FEATURE_DOTPROD)
        f |= KSTT_CPU_DOTPROD;
#endif
#if defined(__ARM_FEATURE_MATMUL_INT8)
        f |= KSTT_CPU_I8MM;
#endif
#if defined(__ARM_FEATURE_BF16_VECTOR_ARITHMETIC) || defined(__ARM_FEATURE_BF16)
        f |= KSTT_CPU_BF16;
#endif
    }
    static const struct {
        uint64_t bit;
        const char *name;
    } names[] = {
        {KSTT_CPU_NEON, "neon"}, {KSTT_CPU_FP16, "fp16"}, {KSTT_CPU_DOTPROD, "dotprod"},
        {KSTT_CPU_I8MM, "i8mm"}, {KSTT_CPU_BF16, "bf16"}, {KSTT_CPU_SVE, "sve"},
    };
    size_t used = (size_t)snprintf(desc, cap, "aarch64");
    for (size_t i = 0; i < sizeof names / sizeof names[0] && used < cap; i++)
        if (f & names[i].bit)
            used += (size_t)snprintf(desc + used, cap - used, " %s", names[i].name);
    return f;
}

/* arm/table_neon.c, arm/table_dotprod.c, arm/table_i8mm.c (kernels.h, "HOW LEVELS ARE MADE") */
extern const kstt__kernels kstt__table_neon, kstt__table_dotprod, kstt__table_i8mm,
    kstt__table_i8mm_bf16;

static const kstt__kernels *const g_tables[] = {
    &kstt__table_neon,
    &kstt__table_dotprod,
    &kstt__table_i8mm,
    &kstt__table_i8mm_bf16,
};

const kstt__cpu_arch_desc kstt__cpu_arch = {detect_arm, g_tables,
                                            (int)(sizeof g_tables / sizeof g_tables[0])};
