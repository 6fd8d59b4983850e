/* Option-value parsing shared by the kstt commands: numbers are validated with a message that
 * names the command, the option, the accepted range and what was given. */
#ifndef CLI_OPTS_H
#define CLI_OPTS_H

#include "kstt.h"

/* Parses a decimal integer in [lo, hi]. Returns 0, or prints
 * "kstt CMD: OPT wants an integer in LO..HI, not 'VAL'" on stderr and returns -1. */
int cli_parse_int(const char *cmd, const char *opt, const char *val, long lo, long hi, int *out);

/* Parses a finite number in [lo, hi] (open at either end when the flag says so). */
int cli_parse_double(const char *cmd, const char *opt, const char *val, double lo, double hi,
                     int open_lo, int open_hi, double *out);

/* --kv auto|f32|f16|q8 and --mimi-weights auto|f32|bf16. Return 0, or print
 * "kstt CMD: OPT wants one of ..., not 'VAL'" on stderr and return -1. */
int cli_parse_kv(const char *cmd, const char *opt, const char *val, kstt_kv_type *out);
int cli_parse_mimi_weights(const char *cmd, const char *opt, const char *val,
                           kstt_mimi_weights *out);

#endif
