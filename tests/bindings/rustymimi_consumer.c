/*
 * A program written against the ORIGINAL rustymimi-c interface, as an app that links
 * `-lrustymimi_c` declares it (include/mimi.h documents these five functions; this file does
 * not include it). Encodes raw float32 PCM in uneven chunks, prints the codes one frame per
 * line, then checks that reset + one whole call gives the same codes.
 *
 *     rustymimi_consumer MIMI.safetensors PCM.f32 NUM_CODEBOOKS > codes.txt
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct MimiTokenizer MimiTokenizer;
MimiTokenizer *mimi_tokenizer_new(const char *path, size_t num_codebooks);
int32_t mimi_encode_step(MimiTokenizer *tokenizer, const float *pcm, size_t samples,
                         uint32_t **out_codes, size_t *out_codebooks, size_t *out_steps);
void mimi_free_codes(uint32_t *codes, size_t len);
void mimi_reset(MimiTokenizer *tokenizer);
void mimi_tokenizer_free(MimiTokenizer *tokenizer);

static float *read_pcm(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    float *pcm = malloc((size_t)size + 4);
    *n = fread(pcm, 4, (size_t)size / 4, f);
    fclose(f);
    return pcm;
}

/* Encodes pcm in chunks (lengths cycling through `chunks`); returns the codes, step-major. */
static uint32_t *encode(MimiTokenizer *t, const float *pcm, size_t n, const size_t *chunks,
                        size_t nchunks, size_t *steps, size_t *k) {
    uint32_t *all = NULL;
    size_t total = 0;
    *k = 0;
    for (size_t i = 0, c = 0; i < n; c++) {
        size_t len = chunks[c % nchunks];
        if (len > n - i)
            len = n - i;
        uint32_t *codes = NULL;
        size_t cb = 0, st = 0;
        int32_t r = mimi_encode_step(t, pcm + i, len, &codes, &cb, &st);
        i += len;
        if (r != 0) {
            if (codes) {
                fprintf(stderr, "FAIL: -1 but outputs were written\n");
                exit(1);
            }
            continue; /* no frame complete yet */
        }
        *k = cb;
        all = realloc(all, (total + st) * cb * sizeof *all);
        memcpy(all + total * cb, codes, st * cb * sizeof *codes);
        total += st;
        mimi_free_codes(codes, st * cb);
    }
    *steps = total;
    return all;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MIMI.safetensors PCM.f32 NUM_CODEBOOKS\n", argv[0]);
        return 2;
    }
    if (mimi_tokenizer_new(NULL, 8) || mimi_tokenizer_new("/nonexistent/mimi.safetensors", 8)) {
        fprintf(stderr, "FAIL: a bad path gave a tokenizer\n");
        return 1;
    }
    mimi_tokenizer_free(NULL);
    MimiTokenizer *t = mimi_tokenizer_new(argv[1], (size_t)atoi(argv[3]));
    if (!t) {
        fprintf(stderr, "FAIL: mimi_tokenizer_new(%s) returned NULL\n", argv[1]);
        return 1;
    }
    size_t n;
    float *pcm = read_pcm(argv[2], &n);
    if (!pcm || n < 1920) {
        fprintf(stderr, "FAIL: cannot read %s\n", argv[2]);
        return 1;
    }
    /* fewer samples than a frame: -1, nothing written */
    uint32_t *codes = NULL;
    size_t cb = 7, st = 7;
    if (mimi_encode_step(t, pcm, 100, &codes, &cb, &st) != -1 || codes || cb != 7 || st != 7) {
        fprintf(stderr, "FAIL: a partial frame did not return -1 with untouched outputs\n");
        return 1;
    }
    mimi_reset(t);
    const size_t uneven[] = {1000, 3000, 1, 1919, 5000, 480};
    size_t steps, k;
    uint32_t *a = encode(t, pcm, n, uneven, 6, &steps, &k);
    mimi_reset(t);
    const size_t whole[] = {n};
    size_t steps2, k2;
    uint32_t *b = encode(t, pcm, n, whole, 1, &steps2, &k2);
    if (steps != n / 1920 || steps2 != steps || k2 != k || memcmp(a, b, steps * k * sizeof *a)) {
        fprintf(stderr, "FAIL: chunked and whole encodes differ (%zu/%zu steps)\n", steps, steps2);
        return 1;
    }
    for (size_t s = 0; s < steps; s++)
        for (size_t j = 0; j < k; j++)
            printf("%u%c", a[s * k + j], j + 1 < k ? ' ' : '\n');
    free(a);
    free(b);
    free(pcm);
    mimi_tokenizer_free(t);
    return 0;
}
