/* PortAudio capture -> SPSC ring -> libsoxr streaming resampler (see mic.h). */
#include "mic.h"

#include <ctype.h>
#include <fcntl.h>
#include <portaudio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app_resample.h"
#include "ring.h"

#define RING_SECONDS 30
#define CHUNK 4096 /* device-rate samples pulled from the ring per resampler call */

struct app_mic {
    PaStream *stream;
    int channels;
    double rate;   /* device rate */
    int out_rate;  /* 24000 */
    soxr_t soxr;   /* NULL when rate == out_rate */
    app_ring ring; /* mono samples at the device rate */
    float chunk[CHUNK];
    float resampled[CHUNK * 8]; /* room for CHUNK device samples at any rate >= 3 kHz */
    size_t res_pos, res_len;    /* resampled samples not yet handed out */
    char name[128];
    char errmsg[256];
    int pa_up;
};

/* PortAudio's ALSA host prints probe noise (cards it cannot open) on stderr while it
 * initialises; that is not the user's business, so stderr is muted around Pa_Initialize
 * unless KSTT_MIC_DEBUG is set. */
static PaError pa_init_quiet(void) {
    if (getenv("KSTT_MIC_DEBUG"))
        return Pa_Initialize();
    fflush(stderr);
    int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
    if (saved >= 0 && devnull >= 0)
        dup2(devnull, 2);
    PaError e = Pa_Initialize();
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
    if (devnull >= 0)
        close(devnull);
    return e;
}

static int on_audio(const void *input, void *output, unsigned long frames,
                    const PaStreamCallbackTimeInfo *time, PaStreamCallbackFlags flags, void *user) {
    app_mic *m = user;
    const float *in = input;
    if (!in)
        return paContinue;
    if (m->channels == 1) {
        app_ring_write(&m->ring, in, frames);
        return paContinue;
    }
    /* Mix to mono in small blocks on the stack (no allocation in the callback). */
    float mono[256];
    for (unsigned long f = 0; f < frames;) {
        unsigned long k = frames - f < 256 ? frames - f : 256;
        for (unsigned long i = 0; i < k; i++) {
            float s = 0;
            for (int c = 0; c < m->channels; c++)
                s += in[(f + i) * (unsigned long)m->channels + (unsigned long)c];
            mono[i] = s / (float)m->channels;
        }
        app_ring_write(&m->ring, mono, k);
        f += k;
    }
    return paContinue;
}

static int ci_contains(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

static PaDeviceIndex find_device(const char *spec, char *err, size_t errlen) {
    int count = Pa_GetDeviceCount();
    if (count < 0) {
        snprintf(err, errlen, "audio devices: %s", Pa_GetErrorText(count));
        return paNoDevice;
    }
    if (!spec) {
        PaDeviceIndex d = Pa_GetDefaultInputDevice();
        if (d == paNoDevice)
            snprintf(err, errlen, "no default input device (try kstt listen --list-devices)");
        return d;
    }
    char *end;
    long idx = strtol(spec, &end, 10);
    if (*spec && !*end) {
        const PaDeviceInfo *info = idx >= 0 && idx < count ? Pa_GetDeviceInfo((int)idx) : NULL;
        if (!info || info->maxInputChannels < 1) {
            snprintf(err, errlen, "device %ld: no such input device (see --list-devices)", idx);
            return paNoDevice;
        }
        return (PaDeviceIndex)idx;
    }
    for (int i = 0; i < count; i++) {
        const PaDeviceInfo *info = Pa_GetDeviceInfo(i);
        if (info && info->maxInputChannels > 0 && ci_contains(info->name, spec))
            return i;
    }
    snprintf(err, errlen, "no input device matches \"%s\" (see --list-devices)", spec);
    return paNoDevice;
}

int app_mic_list(FILE *out, char *err, size_t errlen) {
    PaError e = pa_init_quiet();
    if (e != paNoError) {
        snprintf(err, errlen, "audio system: %s", Pa_GetErrorText(e));
        return -1;
    }
    int count = Pa_GetDeviceCount();
    PaDeviceIndex def = Pa_GetDefaultInputDevice();
    int shown = 0;
    for (int i = 0; i < count; i++) {
        const PaDeviceInfo *info = Pa_GetDeviceInfo(i);
        if (!info || info->maxInputChannels < 1)
            continue;
        fprintf(out, "%c %d: %s (%d ch, %.0f Hz)\n", i == def ? '*' : ' ', i, info->name,
                info->maxInputChannels, info->defaultSampleRate);
        shown++;
    }
    if (!shown)
        fprintf(out, "no input devices\n");
    Pa_Terminate();
    return 0;
}

int app_mic_open(app_mic **out, const char *device, int sample_rate, char *err, size_t errlen) {
    *out = NULL;
    app_mic *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    m->out_rate = sample_rate;
    PaError e = pa_init_quiet();
    if (e != paNoError) {
        snprintf(err, errlen, "audio system: %s", Pa_GetErrorText(e));
        free(m);
        return -1;
    }
    m->pa_up = 1;
    PaDeviceIndex dev = find_device(device, err, errlen);
    if (dev == paNoDevice)
        goto fail;
    const PaDeviceInfo *info = Pa_GetDeviceInfo(dev);
    snprintf(m->name, sizeof m->name, "%s", info->name);
    /* Mono when the device takes it (the audio system then mixes, exactly for a mono
     * source), else stereo mixed here. Prefer the model's rate when the device takes it (no
     * resampling at all), else the device's default rate. */
    PaStreamParameters in = {.device = dev,
                             .channelCount = 1,
                             .sampleFormat = paFloat32,
                             .suggestedLatency = info->defaultLowInputLatency};
    if (Pa_IsFormatSupported(&in, NULL, info->defaultSampleRate) != paFormatIsSupported &&
        info->maxInputChannels >= 2)
        in.channelCount = 2;
    m->channels = in.channelCount;
    m->rate = Pa_IsFormatSupported(&in, NULL, sample_rate) == paFormatIsSupported
                  ? sample_rate
                  : info->defaultSampleRate;
    if (app_ring_init(&m->ring, (size_t)(m->rate * RING_SECONDS))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (m->rate != sample_rate) {
        const char *why;
        m->soxr = app_resampler_new(m->rate, sample_rate, &why);
        if (!m->soxr) {
            snprintf(err, errlen, "resampler %.0f -> %d Hz: %s", m->rate, sample_rate, why);
            goto fail;
        }
    }
    e = Pa_OpenStream(&m->stream, &in, NULL, m->rate, paFramesPerBufferUnspecified, paNoFlag,
                      on_audio, m);
    if (e == paNoError)
        e = Pa_StartStream(m->stream);
    if (e != paNoError) {
        snprintf(err, errlen, "%s: cannot capture at %.0f Hz: %s", m->name, m->rate,
                 Pa_GetErrorText(e));
        goto fail;
    }
    *out = m;
    return 0;
fail:
    app_mic_close(m);
    return -1;
}

long app_mic_read(app_mic *m, float *out, size_t max, int timeout_ms) {
    /* Poll: the callback cannot signal a condition variable without risking a block. 5 ms is
     * far below a model frame (80 ms). */
    for (int waited = 0; app_ring_available(&m->ring) == 0; waited += 5) {
        if (waited >= timeout_ms)
            return 0;
        if (Pa_IsStreamActive(m->stream) != 1) {
            snprintf(m->errmsg, sizeof m->errmsg, "%s: capture stopped", m->name);
            return -1;
        }
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (!m->soxr)
        return (long)app_ring_read(&m->ring, out, max);
    size_t produced = 0;
    while (produced < max) {
        if (m->res_pos < m->res_len) { /* hand out what the resampler gave before */
            size_t k = m->res_len - m->res_pos;
            if (k > max - produced)
                k = max - produced;
            memcpy(out + produced, m->resampled + m->res_pos, k * sizeof *out);
            m->res_pos += k;
            produced += k;
            continue;
        }
        size_t got = app_ring_read(&m->ring, m->chunk, CHUNK);
        if (got == 0)
            break;
        /* The output room is ample, so the resampler takes the whole chunk. */
        size_t done_in = 0, done_out = 0;
        soxr_error_t se = soxr_process(m->soxr, m->chunk, got, &done_in, m->resampled,
                                       sizeof m->resampled / sizeof *m->resampled, &done_out);
        if (se || done_in != got) {
            snprintf(m->errmsg, sizeof m->errmsg, "resampler: %s", se ? se : "input left over");
            return -1;
        }
        m->res_pos = 0;
        m->res_len = done_out;
    }
    return (long)produced;
}

uint64_t app_mic_dropped(app_mic *m) {
    return atomic_load_explicit(&m->ring.dropped, memory_order_relaxed);
}
const char *app_mic_device_name(const app_mic *m) {
    return m->name;
}
double app_mic_device_rate(const app_mic *m) {
    return m->rate;
}
const char *app_mic_errmsg(const app_mic *m) {
    return m->errmsg;
}

void app_mic_close(app_mic *m) {
    if (!m)
        return;
    if (m->stream) {
        Pa_AbortStream(m->stream); /* drop what is queued: the reader has stopped */
        Pa_CloseStream(m->stream);
    }
    if (m->pa_up)
        Pa_Terminate();
    if (m->soxr)
        soxr_delete(m->soxr);
    app_ring_free(&m->ring);
    free(m);
}
