/* kstt bench mimi: placeholder until implemented. */
#include <stdio.h>

#include "bench.h"

int kstt_bench_mimi(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "kstt bench mimi: not implemented yet\n");
    return 2;
}
