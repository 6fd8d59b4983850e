/*
 * What the AMX kernels (x86/q8_amx.c, x86/bf16_amx.c) share: the tile configuration that
 * ldtilecfg reads (palette 1). Each kernel fills its own shapes, loads it per call and
 * releases the tiles at the call's end (the tile state is per thread).
 */
#ifndef KSTT_KERNELS_X86_AMX_H
#define KSTT_KERNELS_X86_AMX_H

#include <stdint.h>

typedef struct {
    uint8_t palette, start_row;
    uint8_t reserved[14];
    uint16_t colsb[16]; /* bytes per row of tile t */
    uint8_t rows[16];   /* rows of tile t */
} kstt__amx_tilecfg;

#endif
