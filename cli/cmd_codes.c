/* kstt codes: placeholder until implemented. */
#include <stdio.h>

#include "commands.h"

int kstt_cmd_codes(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "kstt codes: not implemented yet\n");
    return 2;
}
