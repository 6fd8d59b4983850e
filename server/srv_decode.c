/* srv_decode: POST bodies through the front-end's streaming audio reader (app_audio: libsndfile
 * + libsoxr, straight from memory), bounded in decoded length. */
#include "srv_decode.h"

#include <stdio.h>
#include <stdlib.h>

#include "app_audio.h"
#include "srv_util.h"

int srv_decode_file(const unsigned char *data, size_t len, size_t max_samples, float **pcm,
                    size_t *n, char *err, size_t errlen) {
    app_audio *a = NULL;
    char e[256];
    if (app_audio_open_memory(&a, data, len, "upload", 24000, NULL, e, sizeof e)) {
        snprintf(err, errlen, "cannot decode the audio: %s", e);
        return -1;
    }
    size_t cap = 24000 * 10, got = 0;
    float *buf = srv_xmalloc(cap * sizeof(float));
    for (;;) {
        if (got == cap) {
            if (cap >= max_samples) {
                snprintf(err, errlen, "audio longer than %.0f s", (double)max_samples / 24000.0);
                goto fail;
            }
            cap = cap * 2 < max_samples ? cap * 2 : max_samples;
            buf = srv_xrealloc(buf, cap * sizeof(float));
        }
        long r = app_audio_read(a, buf + got, cap - got);
        if (r < 0) {
            snprintf(err, errlen, "cannot decode the audio: %s", app_audio_errmsg(a));
            goto fail;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    app_audio_close(a);
    if (!got) {
        free(buf);
        snprintf(err, errlen, "the file holds no audio");
        return -1;
    }
    *pcm = buf;
    *n = got;
    return 0;
fail:
    app_audio_close(a);
    free(buf);
    return -1;
}
