/* The subcommands of the `kstt` tool; each lives in its own file and returns an exit code. */
#ifndef KSTT_CLI_COMMANDS_H
#define KSTT_CLI_COMMANDS_H

int kstt_cmd_codes(int argc, char **argv);      /* cli/cmd_codes.c */
int kstt_cmd_transcribe(int argc, char **argv); /* cli/cmd_transcribe.c */
int kstt_cmd_download(int argc, char **argv);   /* cli/cmd_download.c */
int kstt_cmd_quantize(int argc, char **argv);   /* cli/cmd_quantize.c */
int kstt_cmd_bench(int argc, char **argv);      /* bench/bench.c */

#endif
