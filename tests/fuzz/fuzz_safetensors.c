/*
 * Fuzz target for the safetensors reader: any byte string goes through kstt__st_open_memory;
 * when it is accepted, every tensor is looked up by name, read byte by byte (ASan catches any
 * range the validation let through wrongly), converted to f32 when it is a float tensor, and
 * checked against the invariants the reader promises (numel * dtype size == nbytes, data inside
 * the input). Rejections must come with a message naming the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"

static void check(int cond) {
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kstt__st_file *f = NULL;
    char err[512];
    err[0] = 0;
    int rc = kstt__st_open_memory(&f, data, size, "fuzz.safetensors", err, sizeof err);
    if (rc != KSTT_OK) {
        check(f == NULL);
        check(strncmp(err, "fuzz.safetensors: ", 18) == 0);
        return 0;
    }
    volatile unsigned sum = 0;
    for (size_t i = 0; i < kstt__st_count(f); i++) {
        const kstt__tensor *t = kstt__st_at(f, i);
        check(kstt__st_find(f, t->name) == t);
        check(t->ndim >= 0 && t->ndim <= KSTT_ST_MAX_DIMS);
        int64_t numel = 1;
        for (int k = 0; k < t->ndim; k++)
            numel *= t->shape[k];
        check(numel == t->numel);
        check((size_t)t->numel * kstt__dtype_size(t->dtype) == t->nbytes);
        const uint8_t *p = t->data;
        check(p >= data && p + t->nbytes <= data + size);
        for (size_t b = 0; b < t->nbytes; b++)
            sum += p[b];
        const kstt__tensor *g;
        check(kstt__st_get(f, t->name, t->ndim, t->shape, &g, err, sizeof err) == KSTT_OK);
        check(g == t);
        if (t->dtype == KSTT_DT_F32 || t->dtype == KSTT_DT_F16 || t->dtype == KSTT_DT_BF16 ||
            t->dtype == KSTT_DT_F64) {
            float *out = malloc(t->numel ? (size_t)t->numel * sizeof *out : 1);
            if (out) {
                check(kstt__st_to_f32(f, t, out, err, sizeof err) == KSTT_OK);
                for (int64_t k = 0; k < t->numel; k++)
                    sum += out[k] == out[k];
                free(out);
            }
        } else {
            check(kstt__st_to_f32(f, t, NULL, err, sizeof err) == KSTT_EFORMAT);
        }
    }
    (void)kstt__st_metadata(f, "format");
    (void)sum;
    kstt__st_close(f);
    return 0;
}
