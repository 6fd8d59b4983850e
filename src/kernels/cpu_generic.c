/*
 * CPUs with no kernel level of their own (neither x86-64 nor aarch64): no features, no tables;
 * the reference level runs. cmake/kernels.cmake sets KSTT_HAVE_X86 / KSTT_HAVE_ARM64 when it
 * compiles x86/cpu_x86.c or arm/cpu_arm.c instead.
 */
#include <stdio.h>

#include "kernels/cpu.h"

#if !defined(KSTT_HAVE_X86) && !defined(KSTT_HAVE_ARM64)
static uint64_t detect_generic(char *desc, size_t cap) {
    snprintf(desc, cap, "generic");
    return 0;
}

const kstt__cpu_arch_desc kstt__cpu_arch = {detect_generic, NULL, 0};
#else
typedef int kstt__cpu_generic_unused; /* ISO C: a translation unit is not empty */
#endif
