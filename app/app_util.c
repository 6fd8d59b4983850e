/* Helpers shared by the app/ files (see app_util.h). */
#include "app_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "kstt.h"

int app_errf(char *err, size_t errlen, int status, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

int app_fmt(char *out, size_t cap, char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap)
        return app_errf(err, errlen, KSTT_ERANGE, "path too long (over %zu bytes): %.200s...",
                        cap - 1, out);
    return KSTT_OK;
}

double app_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
