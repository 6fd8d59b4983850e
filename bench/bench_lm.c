/* kstt bench (LM): placeholder until implemented. */
#include <stdio.h>

#include "bench.h"

int kstt_bench_lm(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "kstt bench: not implemented yet\n");
    return 2;
}
