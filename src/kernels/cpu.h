/*
 * CPU features and the per-architecture list of kernel tables. Each architecture has one
 * detection file defining kstt__cpu_arch (x86/cpu_x86.c, arm/cpu_arm.c; cpu_generic.c for any
 * other CPU); cmake/kernels.cmake compiles the one of the target. dispatch.c knows nothing of
 * any architecture: it picks, per public level, the last listed table whose .requires the CPU
 * has (kernels.h, "HOW LEVELS ARE MADE").
 */
#ifndef KSTT_KERNELS_CPU_H
#define KSTT_KERNELS_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

/* Feature bits (kstt__kernels.requires). x86 in the low 16 bits, aarch64 above. */
enum {
    KSTT_CPU_AVX2 = 1u << 0,
    KSTT_CPU_FMA = 1u << 1,
    KSTT_CPU_F16C = 1u << 2,
    KSTT_CPU_AVX512F = 1u << 3,
    KSTT_CPU_AVX512BW = 1u << 4,
    KSTT_CPU_AVX512VL = 1u << 5,
    KSTT_CPU_AVX512DQ = 1u << 6,
    KSTT_CPU_AVX512BF16 = 1u << 7,
    KSTT_CPU_AVX512VNNI = 1u << 8,
    KSTT_CPU_AVXVNNI = 1u << 9,  /* VEX vpdpbusd; reported, no kernel yet */
    KSTT_CPU_AMXINT8 = 1u << 10, /* AMX-TILE + AMX-INT8, enabled by the OS for this process */
    KSTT_CPU_AMXBF16 = 1u << 11, /* AMX-BF16 as well (the same enabled tile state) */
    KSTT_CPU_NEON = 1u << 16,    /* Advanced SIMD (every AArch64 CPU) */
    KSTT_CPU_FP16 = 1u << 17,    /* FEAT_FP16: half-precision arithmetic (ARMv8.2) */
    KSTT_CPU_DOTPROD = 1u << 18, /* FEAT_DotProd: sdot/udot */
    KSTT_CPU_I8MM = 1u << 19,    /* FEAT_I8MM: smmla/usmmla/usdot */
    KSTT_CPU_BF16 = 1u << 20,    /* FEAT_BF16: bfdot/bfmmla/bfcvt */
    KSTT_CPU_SVE = 1u << 21,     /* reported, no kernel */
};

/* What an architecture's detection file provides. */
typedef struct {
    /* Reads the CPU (once, from dispatch.c's one-time init): returns the KSTT_CPU_* bits and
     * writes a description into desc (e.g. "x86-64 avx2 fma ...", "aarch64 neon fp16 dotprod"). */
    uint64_t (*detect)(char *desc, size_t cap);
    /* The arch's tables in increasing order (variants of a level after the level's base);
     * the reference table is not listed (dispatch.c always has it). */
    const kstt__kernels *const *tables;
    int ntables;
} kstt__cpu_arch_desc;

extern const kstt__cpu_arch_desc kstt__cpu_arch;

/* The features found (detected once; 0 before any kernels_get / system_info call is fine: it
 * detects on first use). */
uint64_t kstt__cpu_features(void);

#endif
