/*
 * kstt__read_file (src/io/file.h), the whole-file reader behind the config and tokenizer
 * loaders: exact contents, the size limit at its edge (max bytes pass, max + 1 are refused),
 * empty files, the status and text of each error, no leak on any path, and every allocation
 * failing in turn; and kstt__map_file, the read-only mapping behind the safetensors and GGUF
 * readers: contents, empty file, and the status and text of each error.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "io/file.h"
#include "test.h"

static char dir[64];

static const char *path_of(const char *name) {
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static void write_bytes(const char *name, size_t n) {
    FILE *f = fopen(path_of(name), "wb");
    for (size_t i = 0; i < n; i++)
        fputc((int)(i * 7 % 251), f);
    fclose(f);
}

static void test_contents_and_limit(void) {
    char err[256];
    void *buf;
    size_t len;
    const size_t sizes[] = {0, 1, 4095, 4096, 4097, 10000, 70000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        write_bytes("f", sizes[k]);
        ASSERT_INT_EQ(kstt__read_file(path_of("f"), 70000, NULL, &buf, &len, err, sizeof err),
                      KSTT_OK);
        ASSERT_INT_EQ(len, sizes[k]);
        for (size_t i = 0; i < len; i++)
            ASSERT_INT_EQ(((unsigned char *)buf)[i], i * 7 % 251);
        kstt__free(buf);
    }
    /* max bytes exactly: accepted; one more: refused */
    write_bytes("f", 5000);
    ASSERT_INT_EQ(kstt__read_file(path_of("f"), 5000, NULL, &buf, &len, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(len, 5000);
    kstt__free(buf);
    char want[256];
    ASSERT_INT_EQ(kstt__read_file(path_of("f"), 4999, "tokenizer", &buf, &len, err, sizeof err),
                  KSTT_EFORMAT);
    snprintf(want, sizeof want, "%s: too large for a tokenizer (over 4999 bytes)", path_of("f"));
    ASSERT_STR_EQ(err, want);
    ASSERT_TRUE(buf == NULL && len == 0);
    unlink(path_of("f"));
}

static void test_errors(void) {
    char err[256], want[256];
    void *buf = (void *)1;
    size_t len = 1;
    ASSERT_INT_EQ(kstt__read_file(path_of("none"), 100, NULL, &buf, &len, err, sizeof err),
                  KSTT_ENOTFOUND);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path_of("none"));
    ASSERT_STR_EQ(err, want);
    ASSERT_TRUE(buf == NULL && len == 0);
    ASSERT_INT_EQ(kstt__read_file(path_of("none"), 100, "tokenizer", &buf, &len, err, sizeof err),
                  KSTT_ENOTFOUND);
    snprintf(want, sizeof want, "%s: cannot open tokenizer: No such file or directory",
             path_of("none"));
    ASSERT_STR_EQ(err, want);
    /* a directory opens but cannot be read */
    ASSERT_INT_EQ(kstt__read_file(dir, 100, NULL, &buf, &len, err, sizeof err), KSTT_EIO);
    snprintf(want, sizeof want, "%s: read error", dir);
    ASSERT_STR_EQ(err, want);
    ASSERT_TRUE(buf == NULL);
}

static void test_alloc_failures(void) {
    char err[256];
    write_bytes("g", 20000); /* several doublings */
    int failures = 0;
    for (long k = 0;; k++) {
        void *buf;
        size_t len;
        const long long live = kstt__alloc_live_bytes();
        kstt__alloc_fail_after(k);
        int rc = kstt__read_file(path_of("g"), 1 << 20, NULL, &buf, &len, err, sizeof err);
        kstt__alloc_fail_after(-1);
        if (rc == KSTT_OK) {
            ASSERT_INT_EQ(len, 20000);
            kstt__free(buf);
            break;
        }
        ASSERT_INT_EQ(rc, KSTT_ENOMEM);
        ASSERT_TRUE(buf == NULL);
        ASSERT_INT_EQ(kstt__alloc_live_bytes(), live);
        failures++;
    }
    ASSERT_TRUE(failures >= 3);
    unlink(path_of("g"));
}

static void test_map_file(void) {
    char err[256], want[256];
    void *map;
    size_t size;
    write_bytes("m", 1000);
    ASSERT_INT_EQ(kstt__map_file(path_of("m"), &map, &size, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(size, 1000);
    const unsigned char *b = map;
    for (size_t i = 0; i < 1000; i++)
        ASSERT_INT_EQ(b[i], (int)(i * 7 % 251));
    kstt__unmap_file(map, size);
    unlink(path_of("m"));

    write_bytes("empty", 0);
    ASSERT_INT_EQ(kstt__map_file(path_of("empty"), &map, &size, err, sizeof err), KSTT_OK);
    ASSERT_TRUE(map == NULL);
    ASSERT_INT_EQ(size, 0);
    kstt__unmap_file(map, size); /* accepts the empty mapping */
    unlink(path_of("empty"));

    ASSERT_INT_EQ(kstt__map_file(path_of("absent"), &map, &size, err, sizeof err), KSTT_ENOTFOUND);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path_of("absent"));
    ASSERT_STR_EQ(err, want);
    ASSERT_TRUE(map == NULL);

    ASSERT_INT_EQ(kstt__map_file(dir, &map, &size, err, sizeof err), KSTT_EIO);
    snprintf(want, sizeof want, "%s: not a regular file", dir);
    ASSERT_STR_EQ(err, want);
    ASSERT_INT_EQ(kstt__map_file(NULL, &map, &size, err, sizeof err), KSTT_EINVAL);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/kstt_io_file_XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_contents_and_limit);
    RUN(test_errors);
    RUN(test_alloc_failures);
    RUN(test_map_file);
    rmdir(dir);
    if (kstt__alloc_live_bytes() != 0) {
        fprintf(stderr, "leak: %lld bytes\n", kstt__alloc_live_bytes());
        return 1;
    }
    return test_summary();
}
