/*
 * JSON string escaping and a growable string (see app_json.h for the rules). The escaper hands
 * out runs of bytes that need no change in one call, so writing to a FILE or a buffer costs a
 * call per run, not per byte.
 */
#include "app_json.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

size_t app_utf8_len(const unsigned char *s) {
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0; /* also stops at the NUL */
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

void app_json_escape(const char *str, void (*put)(void *user, const char *p, size_t n),
                     void *user) {
    const unsigned char *s = (const unsigned char *)str, *run = s;
    put(user, "\"", 1);
    while (*s) {
        unsigned char c = *s;
        size_t k = c >= 0x80 ? app_utf8_len(s) : (c >= 0x20 && c != '"' && c != '\\');
        if (k) { /* copied as it is: extend the run */
            s += k;
            continue;
        }
        if (s > run)
            put(user, (const char *)run, (size_t)(s - run));
        char b[8];
        if (c >= 0x80) {
            put(user, "\xEF\xBF\xBD", 3); /* U+FFFD for an ill-formed byte */
        } else if (c == '"' || c == '\\') {
            b[0] = '\\';
            b[1] = (char)c;
            put(user, b, 2);
        } else if (c == '\n') {
            put(user, "\\n", 2);
        } else if (c == '\r') {
            put(user, "\\r", 2);
        } else if (c == '\t') {
            put(user, "\\t", 2);
        } else {
            snprintf(b, sizeof b, "\\u%04x", c);
            put(user, b, 6);
        }
        run = ++s;
    }
    if (s > run)
        put(user, (const char *)run, (size_t)(s - run));
    put(user, "\"", 1);
}

static void put_file(void *user, const char *p, size_t n) {
    fwrite(p, 1, n, (FILE *)user);
}

void app_json_string(FILE *f, const char *s) {
    app_json_escape(s, put_file, f);
}

/* ---- growable string ------------------------------------------------------------------- */

static int sbuf_reserve(app_sbuf *b, size_t n) {
    if (b->oom)
        return -1;
    if (n > (size_t)-1 - b->len - 1) {
        b->oom = 1;
        return -1;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > (size_t)-1 / 2 ? need : cap * 2;
    char *q = realloc(b->s, cap);
    if (!q) {
        b->oom = 1;
        return -1;
    }
    b->s = q;
    b->cap = cap;
    return 0;
}

void app_sbuf_append(app_sbuf *b, const char *p, size_t n) {
    if (sbuf_reserve(b, n))
        return;
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void app_sbuf_puts(app_sbuf *b, const char *p) {
    app_sbuf_append(b, p, strlen(p));
}

void app_sbuf_printf(app_sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1; /* an encoding error: nothing sensible to append */
        return;
    }
    if (sbuf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void put_sbuf(void *user, const char *p, size_t n) {
    app_sbuf_append((app_sbuf *)user, p, n);
}

void app_sbuf_json_string(app_sbuf *b, const char *s) {
    app_json_escape(s, put_sbuf, b);
}

void app_sbuf_free(app_sbuf *b) {
    if (!b)
        return;
    free(b->s);
    memset(b, 0, sizeof *b);
}
