/*
 * Fuzz target: the GGUF header parser. Any input must either be rejected with a message or
 * yield tensors whose every byte is readable and whose sizes agree with their shapes and types
 * (the reader's contract); the sums below make ASan check each byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "io/gguf.h"
#include "quant/quant.h"

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kstt__gguf *f;
    char err[256];
    if (kstt__gguf_open_memory(&f, data, size, "fuzz.gguf", err, sizeof err) != 0) {
        if (!strstr(err, "fuzz.gguf"))
            __builtin_trap(); /* errors name the file */
        return 0;
    }
    unsigned sum = 0;
    for (size_t i = 0; i < kstt__gguf_count(f); i++) {
        const kstt__gguf_tensor *t = kstt__gguf_at(f, i);
        if (kstt__gguf_find(f, t->name) != t)
            __builtin_trap();
        const int64_t row = t->shape[t->ndim - 1];
        if (t->nbytes != kstt__wtype_row_bytes(t->type, row) * (size_t)(t->numel / row))
            __builtin_trap();
        const unsigned char *p = t->data;
        for (size_t b = 0; b < t->nbytes; b++)
            sum += p[b];
    }
    sink = sum;
    int64_t v;
    (void)kstt__gguf_meta_int(f, "general.alignment", &v);
    (void)kstt__gguf_meta_str(f, "general.architecture");
    kstt__gguf_close(f);
    return 0;
}
