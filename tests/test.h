/*
 * Minimal test harness: ASSERT_* macros that print both operands and the location, a seeded
 * RNG whose seed is printed on failure, and helpers to find the golden vectors. Each test file
 * is one executable: main() calls RUN(test_fn) for each case and returns test_summary().
 */
#ifndef KSTT_TEST_H
#define KSTT_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures_;
static int test_cases_failed_;
static int test_cases_;
static uint64_t test_seed_ = 0x9e3779b97f4a7c15ull;

#define TEST_FAIL_(...)                                                                            \
    do {                                                                                           \
        fprintf(stderr, "  FAIL %s:%d: ", __FILE__, __LINE__);                                     \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        test_failures_++;                                                                          \
    } while (0)

#define ASSERT_TRUE(c)                                                                             \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            TEST_FAIL_("expected true: %s", #c);                                                   \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define ASSERT_INT_EQ(a, b)                                                                        \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            TEST_FAIL_("%s == %s: %lld vs %lld", #a, #b, a_, b_);                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define ASSERT_STR_EQ(a, b)                                                                        \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            TEST_FAIL_("%s == %s: \"%s\" vs \"%s\"", #a, #b, a_ ? a_ : "(null)",                   \
                       b_ ? b_ : "(null)");                                                        \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define ASSERT_STR_CONTAINS(hay, needle)                                                           \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!h_ || !strstr(h_, n_)) {                                                              \
            TEST_FAIL_("\"%s\" should contain \"%s\"", h_ ? h_ : "(null)", n_);                    \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define ASSERT_NEAR(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (double)(a), b_ = (double)(b);                                                 \
        if (!(fabs(a_ - b_) <= (tol))) {                                                           \
            TEST_FAIL_("%s ~ %s: %.9g vs %.9g (tol %g)", #a, #b, a_, b_, (double)(tol));           \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        int before_ = test_failures_;                                                              \
        test_cases_++;                                                                             \
        fn();                                                                                      \
        if (test_failures_ != before_) {                                                           \
            test_cases_failed_++;                                                                  \
            fprintf(stderr, "[FAIL] %s (seed %llu)\n", #fn, (unsigned long long)test_seed_);       \
        } else {                                                                                   \
            printf("[ ok ] %s\n", #fn);                                                            \
        }                                                                                          \
    } while (0)

static inline int test_summary(void) {
    printf("%d passed, %d failed\n", test_cases_ - test_cases_failed_, test_cases_failed_);
    return test_cases_failed_ ? 1 : 0;
}

/* xorshift64*: deterministic; tests print the seed they used on failure. */
static inline uint64_t test_rand_u64(void) {
    test_seed_ ^= test_seed_ >> 12;
    test_seed_ ^= test_seed_ << 25;
    test_seed_ ^= test_seed_ >> 27;
    return test_seed_ * 2685821657736338717ull;
}
static inline float test_rand_uniform(void) { /* [-1, 1) */
    return (float)((test_rand_u64() >> 40) * (1.0 / 8388608.0) - 1.0);
}
static inline int test_rand_int(int lo, int hi) { /* [lo, hi] */
    return lo + (int)(test_rand_u64() % (uint64_t)(hi - lo + 1));
}

/* Path of a file in the golden directory (KSTT_GOLDEN_DIR, else ../shared/golden). Aborts the
 * test program if the directory is missing: golden tests must not pass vacuously. */
static inline const char *test_golden(const char *name) {
    static char buf[8][1024];
    static int k;
    const char *dir = getenv("KSTT_GOLDEN_DIR");
    if (!dir)
        dir = "../shared/golden";
    char *out = buf[k++ & 7];
    snprintf(out, 1024, "%s/%s", dir, name);
    FILE *f = fopen(out, "rb");
    if (!f) {
        fprintf(stderr, "golden file missing: %s (set KSTT_GOLDEN_DIR)\n", out);
        exit(1);
    }
    fclose(f);
    return out;
}

/* Reads a whole file into a malloc'd buffer; NULL on failure. */
static inline void *test_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf && size)
        *size = (size_t)n;
    return buf;
}

#endif
