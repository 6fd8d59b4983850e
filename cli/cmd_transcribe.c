/* kstt transcribe: placeholder until implemented. */
#include <stdio.h>

#include "commands.h"

int kstt_cmd_transcribe(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "kstt transcribe: not implemented yet\n");
    return 2;
}
