/* kstt quantize: placeholder until implemented. */
#include <stdio.h>

#include "commands.h"

int kstt_cmd_quantize(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "kstt quantize: not implemented yet\n");
    return 2;
}
