/*
 * The one libsoxr set-up of the front ends (file and stdin readers in app_audio.c, the
 * microphone in mic.c): mono, 32-bit float interleaved in and out, high quality (SOXR_HQ). One
 * definition so every path resamples the same way: soxr's output depends on these parameters,
 * and app_audio's promise (chunked output bit-identical to resampling the whole input) and the
 * tests that check it (tests/app/test_audio.c) rest on them.
 */
#ifndef APP_RESAMPLE_H
#define APP_RESAMPLE_H

#include <soxr.h>

/* A streaming resampler from in_rate to out_rate Hz (feed with soxr_process, flush with a NULL
 * input, release with soxr_delete). NULL on failure, with libsoxr's reason in *why. */
soxr_t app_resampler_new(double in_rate, double out_rate, const char **why);

#endif
