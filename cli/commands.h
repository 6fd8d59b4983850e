/* The subcommands of the `kstt` tool; each lives in its own file and returns an exit code. */
#ifndef CLI_COMMANDS_H
#define CLI_COMMANDS_H

int cli_cmd_codes(int argc, char **argv);      /* cli/cmd_codes.c */
int cli_cmd_transcribe(int argc, char **argv); /* cli/cmd_transcribe.c */
int cli_cmd_listen(int argc, char **argv);     /* cli/cmd_listen.c */
int cli_cmd_download(int argc, char **argv);   /* cli/cmd_download.c */
int cli_cmd_quantize(int argc, char **argv);   /* cli/cmd_quantize.c */
int bench_cmd_bench(int argc, char **argv);    /* bench/bench.c */
int cli_cmd_serve(int argc, char **argv);      /* server/srv_main.c */

#endif
