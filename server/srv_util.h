/* srv_util: allocation that dies on OOM (the server may; the library may not), logging. */
#ifndef SRV_UTIL_H
#define SRV_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "app_util.h" /* app_now: the monotonic clock, in seconds */

void *srv_xmalloc(size_t n);
void *srv_xcalloc(size_t n, size_t size);
void *srv_xrealloc(void *p, size_t n);
char *srv_xstrdup(const char *s);
_Noreturn void srv_die_oom(void);

/* Log levels: 0 errors, 1 info (default), 2 debug, 3 trace. Messages go to stderr with a
 * timestamp. */
extern int srv_log_level;
void srv_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
