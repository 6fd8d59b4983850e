/*
 * Internal error helpers. Every fallible internal call returns a kstt_status and, where it has
 * one, writes a readable message (naming the file and the problem) into a caller's buffer.
 */
#ifndef KSTT_CORE_STATUS_H
#define KSTT_CORE_STATUS_H

#include <stdarg.h>
#include <stddef.h>

#include "kstt.h"

#if defined(__GNUC__) || defined(__clang__)
#define KSTT__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define KSTT__PRINTF(a, b)
#endif

/* Formats a message into err (may be NULL, errlen may be 0) and returns status, so that
 * `return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: ...", path);` reads naturally. */
int kstt__errf(char *err, size_t errlen, int status, const char *fmt, ...) KSTT__PRINTF(4, 5);
int kstt__verrf(char *err, size_t errlen, int status, const char *fmt, va_list ap);

/* Returns the status of x from the calling function when it is not KSTT_OK (loaders: each
 * step has already written its message). */
#define KSTT__TRY(x)                                                                               \
    do {                                                                                           \
        int kstt_try_rc_ = (x);                                                                    \
        if (kstt_try_rc_ != KSTT_OK)                                                               \
            return kstt_try_rc_;                                                                   \
    } while (0)

/* Internal invariant check: calls the abort hook (default abort()) with file and line. Only
 * for broken invariants, never for bad input. */
void kstt__assert_fail(const char *expr, const char *file, int line);
#define KSTT_ASSERT(x) ((x) ? (void)0 : kstt__assert_fail(#x, __FILE__, __LINE__))

#endif
