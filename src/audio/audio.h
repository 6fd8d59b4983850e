/*
 * Private audio-file helpers behind kstt_audio_load (see include/kstt.h).
 */
#ifndef KSTT_AUDIO_AUDIO_H
#define KSTT_AUDIO_AUDIO_H

#include <stddef.h>

#include "kstt.h"

/* Sample rates accepted for files and for the target (Hz), and the longest input accepted. */
#define KSTT_AUDIO_MIN_RATE 1000
#define KSTT_AUDIO_MAX_RATE 768000
#define KSTT_AUDIO_MAX_SECONDS (24.0 * 3600.0)

/* Decodes a whole audio file image held in memory (borrowed for the duration of the call) as
 * kstt_audio_load does for a path: any format libsndfile reads, mixed to mono, resampled to
 * sample_rate. `name` is used in error messages. *pcm is owned: release with kstt_audio_free.
 * Used for standard input and by the fuzzer. */
int kstt__audio_decode_memory(const void *buf, size_t size, const char *name, int sample_rate,
                              float **pcm, size_t *n, char *err, size_t errlen);

#endif
