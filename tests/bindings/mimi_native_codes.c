/*
 * The reference for test_rustymimi_c.sh: the same codes through libkstt's native API
 * (kstt_mimi_*, whose codes the golden Mimi tests check against the PyTorch reference),
 * printed in rustymimi_consumer's format. With a config JSON (the tiny golden Mimi) it also
 * prints them, so the golden codes can be checked the same way.
 *
 *     mimi_native_codes MIMI.safetensors PCM.f32 NUM_CODEBOOKS [CONFIG.json]
 */
#include <stdio.h>
#include <stdlib.h>

#include "kstt.h"

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MIMI.safetensors PCM.f32 NUM_CODEBOOKS [CONFIG.json]\n",
                argv[0]);
        return 2;
    }
    char err[512];
    kstt_mimi_params p = kstt_mimi_params_default();
    p.num_codebooks = atoi(argv[3]);
    p.config_path = argc > 4 ? argv[4] : NULL;
    kstt_mimi *m;
    if (kstt_mimi_load(&m, argv[1], &p, err, sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f)
        return 1;
    fseek(f, 0, SEEK_END);
    size_t n = (size_t)ftell(f) / 4;
    fseek(f, 0, SEEK_SET);
    float *pcm = malloc(n * 4 + 4);
    if (fread(pcm, 4, n, f) != n)
        return 1;
    fclose(f);
    kstt_mimi_stream *s;
    if (kstt_mimi_stream_new(&s, m))
        return 1;
    const int k = kstt_mimi_num_codebooks(m);
    int32_t *codes = malloc((n / 1920 + 1) * (size_t)k * sizeof *codes);
    int frames = kstt_mimi_stream_encode(s, pcm, n, codes, n / 1920 + 1);
    if (frames < 0) {
        fprintf(stderr, "encode: %s\n", kstt_mimi_stream_errmsg(s));
        return 1;
    }
    for (int t = 0; t < frames; t++)
        for (int j = 0; j < k; j++)
            printf("%d%c", codes[t * k + j], j + 1 < k ? ' ' : '\n');
    free(codes);
    free(pcm);
    kstt_mimi_stream_free(s);
    kstt_mimi_free(m);
    return 0;
}
