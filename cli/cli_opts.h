/* Option-value parsing shared by the kstt commands: numbers are validated with a message that
 * names the command, the option, the accepted range and what was given. */
#ifndef CLI_OPTS_H
#define CLI_OPTS_H

/* Parses a decimal integer in [lo, hi]. Returns 0, or prints
 * "kstt CMD: OPT wants an integer in LO..HI, not 'VAL'" on stderr and returns -1. */
int cli_parse_int(const char *cmd, const char *opt, const char *val, long lo, long hi, int *out);

/* Parses a finite number in [lo, hi] (open at either end when the flag says so). */
int cli_parse_double(const char *cmd, const char *opt, const char *val, double lo, double hi,
                     int open_lo, int open_hi, double *out);

#endif
