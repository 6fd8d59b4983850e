/* srv_util: allocation that dies on OOM, logging to stderr. */
#include "srv_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int srv_log_level = 1;

_Noreturn void srv_die_oom(void) {
    fputs("kstt serve: out of memory\n", stderr);
    abort();
}

void *srv_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p)
        srv_die_oom();
    return p;
}

void *srv_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        srv_die_oom();
    return p;
}

void *srv_xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p)
        srv_die_oom();
    return p;
}

char *srv_xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = srv_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

void srv_log(int level, const char *fmt, ...) {
    if (level > srv_log_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%02d:%02d:%02d.%03ld kstt serve: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
            ts.tv_nsec / 1000000, buf);
}
