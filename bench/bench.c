/*
 * kstt bench: performance figures, each next to the machine's physical limit. A benchmark, not
 * a test: it generates full-size random weights in the real file formats (cached), measures,
 * and prints a table (or JSON).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "bench_matmul.h"
#include "bench_mimi_batch.h"
#include "commands.h"
#include "gen_lm.h"

void bench_cache_dir(char *out, size_t cap) {
    const char *k = getenv("KSTT_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    if (k && *k)
        snprintf(out, cap, "%s/bench", k);
    else if (x && *x)
        snprintf(out, cap, "%s/kstt/bench", x);
    else
        snprintf(out, cap, "%s/.cache/kstt/bench", h && *h ? h : "/tmp");
    /* mkdir -p */
    for (char *p = out + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(out, 0755) != 0 && errno != EEXIST) {
            *p = '/';
            return;
        }
        *p = '/';
    }
    (void)mkdir(out, 0755);
}

static void usage(FILE *f) {
    fprintf(f, "usage: kstt bench COMMAND [options]   (kstt bench COMMAND --help)\n"
               "  lm          the LM step per weight type and batch against memory bandwidth,\n"
               "              the quantised types' logit errors, optionally end to end\n"
               "              (--quick: batch 1 and 8, minutes; the full run takes longer and\n"
               "              generates a 5 GB random 1B model into the bench cache once)\n"
               "  mimi        the Mimi encoder's real-time factors\n"
               "  mimi-batch  Mimi encoding of many streams per step, batched and not\n"
               "  matmul      the matrix-vector kernels against memory bandwidth\n"
               "  generate    write random full-size models (lm, mimi, model) or check one\n");
}

int bench_cmd_bench(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "mimi"))
        return bench_mimi(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "mimi-batch"))
        return bench_mimi_batch(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "lm"))
        return bench_lm(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "matmul"))
        return bench_matmul(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "generate"))
        return bench_generate(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    /* no command: the choices, not a multi-minute run */
    if (argc < 2) {
        usage(stdout);
        return 2;
    }
    /* options alone: `kstt bench lm` with them (the earlier default) */
    if (argv[1][0] == '-')
        return bench_lm(argc, argv);
    fprintf(stderr, "kstt bench: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
