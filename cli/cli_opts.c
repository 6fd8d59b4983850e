/* Option-value parsing shared by the kstt commands (see cli_opts.h). */
#include "cli_opts.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The index of val in names[0..n), or -1 after the message. */
static int pick(const char *cmd, const char *opt, const char *val, const char *const *names,
                int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(val, names[i]))
            return i;
    fprintf(stderr, "kstt %s: %s wants one of", cmd, opt);
    for (int i = 0; i < n; i++)
        fprintf(stderr, "%s %s", i ? "," : "", names[i]);
    fprintf(stderr, ", not '%s'\n", val);
    return -1;
}

int cli_parse_kv(const char *cmd, const char *opt, const char *val, kstt_kv_type *out) {
    static const char *const names[] = {"auto", "f32", "f16", "q8"};
    static const kstt_kv_type types[] = {KSTT_KV_AUTO, KSTT_KV_F32, KSTT_KV_F16, KSTT_KV_Q8};
    const int i = pick(cmd, opt, val, names, 4);
    if (i < 0)
        return -1;
    *out = types[i];
    return 0;
}

int cli_parse_mimi_weights(const char *cmd, const char *opt, const char *val,
                           kstt_mimi_weights *out) {
    static const char *const names[] = {"auto", "f32", "bf16"};
    static const kstt_mimi_weights types[] = {KSTT_MIMI_WEIGHTS_AUTO, KSTT_MIMI_WEIGHTS_F32,
                                              KSTT_MIMI_WEIGHTS_BF16};
    const int i = pick(cmd, opt, val, names, 3);
    if (i < 0)
        return -1;
    *out = types[i];
    return 0;
}
