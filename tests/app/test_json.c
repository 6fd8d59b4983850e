/*
 * JSON output helpers (app/app_json.c): the escaper's exact bytes (short escapes, \u00XX,
 * U+FFFD for ill-formed UTF-8, well-formed UTF-8 copied), the FILE and growable-string
 * variants giving the same bytes, and the growable string itself (appends across many
 * reallocations, printf, free).
 */
#include <stdlib.h>
#include <string.h>

#include "app_json.h"
#include "test.h"

static char *to_file(const char *s) {
    char *out = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&out, &size);
    if (!f)
        return NULL;
    app_json_string(f, s);
    fclose(f);
    return out;
}

static void test_escape_bytes(void) {
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", "\"\""},
        {"plain text", "\"plain text\""},
        {"\"q\"\\", "\"\\\"q\\\"\\\\\""},
        {"a\nb\rc\td", "\"a\\nb\\rc\\td\""},
        {"\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\""},
        {"caf\xC3\xA9 \xF0\x9F\x98\x80", "\"caf\xC3\xA9 \xF0\x9F\x98\x80\""},
        /* ill-formed: a lone continuation, an overlong lead, a truncated sequence */
        {"\x80x\xC0\xAFy\xE2\x82", "\"\xEF\xBF\xBDx\xEF\xBF\xBD\xEF\xBF\xBDy\xEF\xBF\xBD"
                                   "\xEF\xBF\xBD\""},
        /* surrogates (ED A0..BF) are not UTF-8 */
        {"\xED\xA0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *f = to_file(cases[i].in);
        ASSERT_STR_EQ(f, cases[i].want);
        free(f);
        app_sbuf b = {0};
        app_sbuf_json_string(&b, cases[i].in);
        ASSERT_INT_EQ(b.oom, 0);
        ASSERT_INT_EQ(b.len, strlen(cases[i].want));
        ASSERT_STR_EQ(b.s, cases[i].want);
        app_sbuf_free(&b);
        ASSERT_TRUE(b.s == NULL && b.len == 0 && b.cap == 0);
    }
}

/* Random bytes: the FILE and buffer variants agree, and the output never holds a raw control
 * character. */
static void test_escape_random(void) {
    char in[64];
    for (int it = 0; it < 2000; it++) {
        size_t n = (size_t)test_rand_int(0, 62);
        for (size_t i = 0; i < n; i++) {
            int c = test_rand_int(1, 255);
            in[i] = (char)c;
        }
        in[n] = '\0';
        char *f = to_file(in);
        ASSERT_TRUE(f != NULL);
        app_sbuf b = {0};
        app_sbuf_json_string(&b, in);
        ASSERT_STR_EQ(b.s, f);
        for (const unsigned char *p = (const unsigned char *)f; *p; p++)
            ASSERT_TRUE(*p >= 0x20);
        free(f);
        app_sbuf_free(&b);
    }
}

static void test_sbuf(void) {
    app_sbuf b = {0};
    app_sbuf_free(&b); /* empty is fine */
    app_sbuf_free(NULL);
    app_sbuf_append(&b, "", 0);
    ASSERT_STR_EQ(b.s, "");
    for (int i = 0; i < 1000; i++)
        app_sbuf_printf(&b, "%d,", i % 10);
    ASSERT_INT_EQ(b.len, 2000);
    ASSERT_INT_EQ(strlen(b.s), 2000);
    ASSERT_TRUE(!strncmp(b.s, "0,1,2,", 6) && !strcmp(b.s + 1994, "7,8,9,"));
    app_sbuf_puts(&b, "[");
    app_sbuf_append(&b, "xyz", 2);
    app_sbuf_printf(&b, "%s%zu]", "n=", (size_t)42);
    ASSERT_STR_EQ(b.s + 2000, "[xyn=42]");
    ASSERT_INT_EQ(b.oom, 0);
    app_sbuf_free(&b);
}

int main(void) {
    RUN(test_escape_bytes);
    RUN(test_escape_random);
    RUN(test_sbuf);
    return test_summary();
}
