/*
 * Streaming audio input: files and standard input, decoded in chunks (libsndfile), mixed to
 * mono and resampled to the model's rate (libsoxr's streaming interface, high quality) as they
 * are read, so memory stays flat whatever the length. Standard input also takes raw PCM
 * (s16le or f32le, interleaved, with its rate and channel count given by the caller).
 *
 *     app_audio *a;
 *     app_audio_opts o = app_audio_opts_default();
 *     if (app_audio_open(&a, "talk.flac", 24000, &o, err, sizeof err)) die(err);
 *     float buf[48000]; long n;
 *     while ((n = app_audio_read(a, buf, 48000)) > 0) feed(buf, n);
 *     if (n < 0) die(app_audio_errmsg(a));
 *     app_audio_close(a);
 *
 * Errors name the input ("stdin" for "-") and the problem: not found, not audio, a NaN or
 * infinite sample (an error for files and standard input alike, naming the time of the first
 * bad sample: a transcript of corrupt audio would silently differ), an input over 24 hours.
 * Resampled output is bit-identical to resampling the whole input at once (soxr with the same
 * quality spec, flushed at the end). Not thread-safe per reader; readers are independent.
 * Memory comes from the C heap (this is not the library).
 */
#ifndef APP_AUDIO_H
#define APP_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#define APP_AUDIO_MIN_RATE 1000
#define APP_AUDIO_MAX_RATE 768000
#define APP_AUDIO_MAX_CHANNELS 64
#define APP_AUDIO_MAX_SECONDS (24.0 * 3600.0)

typedef enum {
    APP_RAW_NONE = 0, /* a container libsndfile reads: WAV, FLAC, OGG/Vorbis, Opus, MP3, ... */
    APP_RAW_S16LE,    /* headerless signed 16-bit little-endian, interleaved */
    APP_RAW_F32LE,    /* headerless 32-bit float little-endian, interleaved */
} app_raw_format;

typedef struct {
    app_raw_format raw; /* headerless input (any path, typically "-") */
    int raw_rate;       /* Hz, required with raw */
    int raw_channels;   /* required with raw */
} app_audio_opts;

typedef struct app_audio app_audio;

/* Defaults: not raw (raw_rate 0, raw_channels 1). */
app_audio_opts app_audio_opts_default(void);

/* Parses "s16le" / "f32le"; -1 for anything else. */
int app_raw_format_parse(const char *s);

/* Opens path ("-" = standard input) for reading as mono float PCM at out_rate Hz. Reads the
 * header only; the samples come with app_audio_read. Returns 0, or a negative kstt status
 * (KSTT_ENOTFOUND, KSTT_EIO, KSTT_EFORMAT, KSTT_EINVAL, KSTT_ERANGE) with a message in err.
 * opts may be NULL (defaults). */
int app_audio_open(app_audio **out, const char *path, int out_rate, const app_audio_opts *opts,
                   char *err, size_t errlen);

/* The same for an audio file image in memory (borrowed until app_audio_close); name is used in
 * messages. For the fuzzer and for callers that hold a file already (an upload). */
int app_audio_open_memory(app_audio **out, const void *buf, size_t size, const char *name,
                          int out_rate, const app_audio_opts *opts, char *err, size_t errlen);

/* Copies up to max resampled samples into out. Returns the count (> 0), 0 at the end of the
 * input, or a negative status with app_audio_errmsg set (decode error, NaN/Inf, over 24 h). */
long app_audio_read(app_audio *a, float *out, size_t max);

/* The input's name in messages ("stdin" for "-"), its rate and channels, and the length its
 * header announces in seconds (< 0 when unknown: pipes, raw input, some formats). */
const char *app_audio_name(const app_audio *a);
int app_audio_in_rate(const app_audio *a);
int app_audio_in_channels(const app_audio *a);
double app_audio_duration(const app_audio *a);
/* Output samples returned so far. */
uint64_t app_audio_samples(const app_audio *a);

/* A warning found at open (a WAV header announcing more data than the file holds), or NULL.
 * Valid until app_audio_close. */
const char *app_audio_warning(const app_audio *a);
const char *app_audio_errmsg(const app_audio *a);

/* Releases the reader (NULL ok). Does not close standard input. */
void app_audio_close(app_audio *a);

/* The whole input at once, through the same reader: *pcm is malloc'd (release with free()).
 * An input with no samples is KSTT_EFORMAT. */
int app_audio_load(const char *path, int out_rate, const app_audio_opts *opts, float **pcm,
                   size_t *n, char *err, size_t errlen);

#endif
