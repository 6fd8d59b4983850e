/* kstt download: placeholder until implemented. */
#include <stdio.h>

#include "commands.h"

int kstt_cmd_download(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "kstt download: not implemented yet\n");
    return 2;
}
