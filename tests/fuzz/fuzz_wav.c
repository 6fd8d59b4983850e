/*
 * Fuzz target for audio decoding: any byte string goes through the app layer's streaming
 * reader (app_audio_open_memory, the path uploads take), with libsndfile guessing the format,
 * then mono mixing and, for files not at 24 kHz, libsoxr's streaming resampler, read in
 * pieces to the end. A rejected input must give a message naming the input and no reader; an
 * accepted one readable samples, or a read error with a message (never a crash).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app_audio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    app_audio *a = (app_audio *)1;
    char err[512];
    err[0] = 0;
    if (app_audio_open_memory(&a, data, size, "fuzz.wav", 24000, NULL, err, sizeof err) != 0) {
        if (a != NULL || strncmp(err, "fuzz.wav", 8) != 0)
            abort();
        return 0;
    }
    if (!a)
        abort();
    float buf[4096];
    volatile float sum = 0;
    long n;
    while ((n = app_audio_read(a, buf, 4096)) > 0)
        for (long i = 0; i < n; i++)
            sum += buf[i];
    if (n < 0 && app_audio_errmsg(a)[0] == 0)
        abort();
    (void)sum;
    app_audio_close(a);
    return 0;
}
