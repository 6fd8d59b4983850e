/*
 * Microphone capture for `kstt listen`: PortAudio (the same API on Linux, macOS and Windows)
 * at the device's own rate, mixed to mono in the real-time callback, handed over through a
 * lock-free ring (ring.h), and resampled to 24 kHz on the reading side with libsoxr's
 * streaming interface (skipped when the device already runs at 24 kHz, so the samples are
 * then exactly the device's).
 *
 * The callback never blocks or allocates; if the reader falls behind by more than the ring
 * (30 s), the excess is counted (app_mic_dropped) rather than stalling the audio thread.
 */
#ifndef APP_MIC_H
#define APP_MIC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct app_mic app_mic;

/* Writes one line per input device ("index: name (channels ch, rate Hz)", the default marked
 * with '*') to out. Returns 0, or -1 with a message in err. */
int app_mic_list(FILE *out, char *err, size_t errlen);

/* Opens and starts capturing from `device` (NULL: the default input; else a device index or
 * a case-insensitive substring of its name). Output: 24 kHz mono float samples. */
int app_mic_open(app_mic **out, const char *device, int sample_rate, char *err, size_t errlen);

/* Copies up to max resampled samples into out, waiting up to timeout_ms for the first ones.
 * Returns the count (0 on time-out), or -1 with app_mic_errmsg() set. */
long app_mic_read(app_mic *m, float *out, size_t max, int timeout_ms);

/* Samples that arrived while the ring was full (lost): a warning for the user. */
uint64_t app_mic_dropped(app_mic *m);
const char *app_mic_device_name(const app_mic *m);
double app_mic_device_rate(const app_mic *m);
const char *app_mic_errmsg(const app_mic *m);

/* Stops the device and releases everything (NULL ok). */
void app_mic_close(app_mic *m);

#endif
