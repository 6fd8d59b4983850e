/* kstt: command-line front end. Dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "kstt.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} cmds[] = {
    {"transcribe", cli_cmd_transcribe,
     "speech to text of files and pipes: txt, json, jsonl, srt or vtt"},
    {"listen", cli_cmd_listen, "live speech to text from the microphone"},
    {"serve", cli_cmd_serve, "streaming speech-to-text server (moshi-server protocol)"},
    {"codes", cli_cmd_codes, "Mimi codes of an audio file (json or safetensors)"},
    {"download", cli_cmd_download, "fetch a model repo into the Hugging Face cache"},
    {"quantize", cli_cmd_quantize, "write a model's weights as GGUF q8_0/q4_0/q4_k"},
    {"bench", bench_cmd_bench, "speed against the machine's memory bandwidth"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: kstt COMMAND [options]   (kstt COMMAND --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(f, "  %-11s %s\n", cmds[i].name, cmds[i].help);
    fprintf(f, "\n%s\n", kstt_system_info());
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("kstt %s\n", kstt_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "kstt: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
