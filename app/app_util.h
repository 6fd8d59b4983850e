/*
 * Small helpers shared by the app/ files: error messages into a caller's buffer (the same
 * convention as the library's constructors: a status code returned, a sentence in err).
 */
#ifndef APP_UTIL_H
#define APP_UTIL_H

#include <stddef.h>

#if defined(__GNUC__) || defined(__clang__)
#define APP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define APP_PRINTF(a, b)
#endif

/* Formats a message into err (when err and errlen are non-zero) and returns status. */
int app_errf(char *err, size_t errlen, int status, const char *fmt, ...) APP_PRINTF(4, 5);

/* snprintf into a path buffer; KSTT_ERANGE with a message if it does not fit. */
int app_fmt(char *out, size_t cap, char *err, size_t errlen, const char *fmt, ...) APP_PRINTF(5, 6);

/* Monotonic wall clock in seconds. */
double app_now(void);

#endif
