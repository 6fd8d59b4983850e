/*
 * kstt bench: performance figures, each next to the machine's physical limit. A benchmark, not
 * a test: it generates full-size random weights in the real file formats (cached), measures,
 * and prints a table (or JSON).
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "bench_matmul.h"
#include "bench_mimi_batch.h"
#include "commands.h"
#include "gen_lm.h"

int kstt_cmd_bench(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "mimi")) return kstt_bench_mimi(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "mimi-batch"))
        return kstt_bench_mimi_batch(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "lm")) return kstt_bench_lm(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "matmul")) return kstt_bench_matmul(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "generate")) return kstt_bench_generate(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: kstt bench [mimi|lm|matmul|generate] [options]  (kstt bench mimi --help)\n");
        return 0;
    }
    return kstt_bench_lm(argc, argv);
}
