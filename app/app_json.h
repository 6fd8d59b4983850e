/*
 * JSON output shared by the front ends: one string escaper (to a FILE or into a growable
 * string) and that growable string. The transcript writers (app_transcript.h), the server's
 * POST results and its /api/build_info and /api/modules_info answers all escape through
 * app_json_escape, so every JSON string the project prints follows the same rules:
 *   - '"' and '\' are backslash-escaped;
 *   - \n, \r and \t use their short escapes, other bytes below 0x20 are \u00XX;
 *   - well-formed UTF-8 is copied, each ill-formed byte becomes U+FFFD (so the output always
 *     parses; the text comes from a model and from the command line: untrusted bytes).
 * Memory comes from malloc: this is not the library.
 */
#ifndef APP_JSON_H
#define APP_JSON_H

#include <stddef.h>
#include <stdio.h>

#include "app_util.h" /* APP_PRINTF */

/* Length of the well-formed UTF-8 character at s (stops at NUL), 0 if it is ill-formed. */
size_t app_utf8_len(const unsigned char *s);

/* Writes the JSON string literal of s (with its quotes) through put(user, bytes, n). */
void app_json_escape(const char *s, void (*put)(void *user, const char *p, size_t n), void *user);

/* A JSON string literal of s (with its quotes) to f. */
void app_json_string(FILE *f, const char *s);

/* A growable NUL-terminated string. Zero-initialise it ({0}); s stays NULL until the first
 * append. On out of memory the append is dropped and oom is set (sticky), so a caller may check
 * once at the end. Free with app_sbuf_free. */
typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} app_sbuf;

void app_sbuf_append(app_sbuf *b, const char *p, size_t n);
void app_sbuf_puts(app_sbuf *b, const char *p);
void app_sbuf_printf(app_sbuf *b, const char *fmt, ...) APP_PRINTF(2, 3);
/* Appends the JSON string literal of s (app_json_escape). */
void app_sbuf_json_string(app_sbuf *b, const char *s);
/* Releases the memory and zeroes b (NULL ok). */
void app_sbuf_free(app_sbuf *b);

#endif
