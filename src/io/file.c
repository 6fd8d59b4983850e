/*
 * Whole-file reads (see file.h). The buffer doubles from 4 KiB up to max + 1 bytes; reading one
 * byte past the limit is how an oversized file is told from one of exactly `max` bytes without
 * trusting a size from stat or seek (pipes have none). strerror_r keeps the messages
 * thread-safe: loaders run on any thread.
 */
#include "io/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/status.h"

int kstt__read_file(const char *path, size_t max, const char *what, void **buf, size_t *len,
                    char *err, size_t errlen) {
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        const int e = errno;
        char why[128];
        if (strerror_r(e, why, sizeof why) != 0)
            snprintf(why, sizeof why, "errno %d", e);
        return kstt__errf(err, errlen, e == ENOENT ? KSTT_ENOTFOUND : KSTT_EIO,
                          "%s: cannot open%s%s: %s", path, what ? " " : "", what ? what : "", why);
    }
    unsigned char *b = NULL;
    size_t n = 0, cap = 0;
    int rc = KSTT_OK;
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                rc = kstt__errf(err, errlen, KSTT_EFORMAT, "%s: too large%s%s (over %zu bytes)",
                                path, what ? " for a " : "", what ? what : "", max);
                break;
            }
            size_t ncap = cap ? cap * 2 : 4096;
            if (ncap > max + 1 || ncap < cap)
                ncap = max + 1;
            unsigned char *nb = kstt__realloc(b, cap, ncap);
            if (!nb) {
                rc = kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory reading the file",
                                path);
                break;
            }
            b = nb;
            cap = ncap;
        }
        const size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                rc = kstt__errf(err, errlen, KSTT_EIO, "%s: read error", path);
            break;
        }
    }
    fclose(f);
    if (rc != KSTT_OK) {
        kstt__free(b);
        return rc;
    }
    *buf = b;
    *len = n;
    return KSTT_OK;
}

int kstt__map_file(const char *path, void **map, size_t *size, char *err, size_t errlen) {
    *map = NULL;
    *size = 0;
    if (!path)
        return kstt__errf(err, errlen, KSTT_EINVAL, "NULL path");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return kstt__errf(err, errlen, e == ENOENT ? KSTT_ENOTFOUND : KSTT_EIO,
                          "%s: cannot open: %s", path, strerror(e));
    }
    struct stat st;
    int rc = KSTT_OK;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        rc = kstt__errf(err, errlen, KSTT_EIO, "%s: cannot stat: %s", path, strerror(e));
    } else if (!S_ISREG(st.st_mode)) {
        rc = kstt__errf(err, errlen, KSTT_EIO, "%s: not a regular file", path);
    } else if ((uint64_t)st.st_size > SIZE_MAX) {
        rc = kstt__errf(err, errlen, KSTT_EIO, "%s: file too large to map", path);
    } else if (st.st_size > 0) {
        const size_t n = (size_t)st.st_size;
        void *m = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            rc = kstt__errf(err, errlen, KSTT_EIO, "%s: cannot mmap %zu bytes: %s", path, n,
                            strerror(e));
        } else {
            *map = m;
            *size = n;
        }
    }
    close(fd); /* the mapping stays valid without the descriptor */
    return rc;
}

void kstt__unmap_file(void *map, size_t size) {
    if (map)
        munmap(map, size);
}
