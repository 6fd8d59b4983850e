/* kstt bench: placeholder until implemented. */
#include <stdio.h>

#include "commands.h"

int kstt_cmd_bench(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "kstt bench: not implemented yet\n");
    return 2;
}
