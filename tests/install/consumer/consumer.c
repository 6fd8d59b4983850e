/* Built against an installed kstt (tests/install/test_install.sh): loads the golden tiny
 * model given on the command line, transcribes one second of silence and prints the
 * version, so the link line, the headers and the runtime library are all exercised. */
#include <kstt.h>
#include <mimi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: consumer MODEL_DIR\n");
        return 2;
    }
    char err[256];
    kstt_model_params mp = kstt_model_params_default();
    kstt_model *model;
    if (kstt_model_load(&model, argv[1], &mp, err, sizeof err)) {
        fprintf(stderr, "consumer: %s\n", err);
        return 1;
    }
    kstt_stream_params sp = kstt_stream_params_default();
    kstt_stream *s;
    if (kstt_stream_new(&s, model, &sp)) {
        kstt_model_free(model);
        return 1;
    }
    static float pcm[24000];
    int steps = kstt_stream_feed(s, pcm, 24000);
    int flushed = kstt_stream_flush(s);
    printf("kstt %s steps %d flush %d mimi %p\n", kstt_version(), steps, flushed,
           (void *)&mimi_tokenizer_new);
    kstt_stream_free(s);
    kstt_model_free(model);
    return steps >= 12 && flushed >= 0 ? 0 : 1; /* 12 frames, plus the model's prefix */
}
