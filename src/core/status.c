/* Status strings, version, and the formatted-error helper. */
#include "core/status.h"

#include <stdio.h>
#include <stdlib.h>

const char *kstt_strerror(int status) {
    switch (status) {
#define KSTT_STATUS_CASE_(name, value, text)                                                       \
    case value:                                                                                    \
        return text;
        KSTT_STATUS_LIST(KSTT_STATUS_CASE_)
#undef KSTT_STATUS_CASE_
    }
    return "unknown status";
}

const char *kstt_version(void) {
    return KSTT_VERSION_STRING;
} /* from CMake's project() */

int kstt__verrf(char *err, size_t errlen, int status, const char *fmt, va_list ap) {
    if (err && errlen > 0)
        vsnprintf(err, errlen, fmt, ap);
    return status;
}

int kstt__errf(char *err, size_t errlen, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    kstt__verrf(err, errlen, status, fmt, ap);
    va_end(ap);
    return status;
}

void kstt__assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "kstt: internal invariant broken: %s (%s:%d)\n", expr, file, line);
    abort();
}
