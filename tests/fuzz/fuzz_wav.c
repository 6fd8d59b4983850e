/*
 * Fuzz target for audio decoding: any byte string goes through kstt__audio_decode_memory (the
 * path standard input takes), with libsndfile guessing the format, then mono mixing and, for
 * files not at 24 kHz, libsoxr resampling. Accepted input must yield at least one sample and
 * readable memory; rejected input a message naming the input and no buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    float *pcm = (float *)1;
    size_t n = 7;
    char err[512];
    err[0] = 0;
    int rc = kstt__audio_decode_memory(data, size, "fuzz.wav", 24000, &pcm, &n, err, sizeof err);
    if (rc != KSTT_OK) {
        if (pcm != NULL || n != 0 || strncmp(err, "fuzz.wav: ", 10) != 0)
            abort();
        return 0;
    }
    if (!pcm || n == 0)
        abort();
    volatile float sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += pcm[i];
    (void)sum;
    kstt_audio_free(pcm);
    return 0;
}
