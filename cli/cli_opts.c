/* Option-value parsing shared by the kstt commands (see cli_opts.h). */
#include "cli_opts.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int cli_parse_int(const char *cmd, const char *opt, const char *val, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (!*val || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "kstt %s: %s wants an integer in %ld..%ld, not '%s'\n", cmd, opt, lo, hi,
                val);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *val, double lo, double hi,
                     int open_lo, int open_hi, double *out) {
    char *end;
    double v = strtod(val, &end);
    int bad = !*val || *end || !isfinite(v) || (open_lo ? v <= lo : v < lo) ||
              (open_hi ? v >= hi : v > hi);
    if (bad) {
        fprintf(stderr, "kstt %s: %s wants a number in %s%g, %g%s, not '%s'\n", cmd, opt,
                open_lo ? "(" : "[", lo, hi, open_hi ? ")" : "]", val);
        return -1;
    }
    *out = v;
    return 0;
}
