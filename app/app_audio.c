/*
 * Streaming audio input (see app_audio.h): libsndfile decodes WAV, FLAC, OGG/Vorbis, Opus, MP3
 * and the rest of its formats in chunks of READ_FRAMES frames; raw s16le/f32le is converted
 * here; channels are averaged to mono (sum, then times 1/channels, as before); libsoxr's
 * streaming interface resamples (SOXR_HQ) when the input rate differs from the output rate.
 * Memory is a few chunk buffers, whatever the length.
 *
 * A regular file is opened with open(2) first, so that "not found" and "permission denied"
 * are told apart from "not an audio format"; libsndfile then reads from the descriptor. Pipes
 * (standard input, a FIFO) go through sf_open_virtual with a reader that keeps the first
 * HEAD_KEEP bytes, so a format whose header parser seeks back a little (FLAC's) can still be
 * read from a pipe; a format that needs the end of the file first cannot, and says so.
 *
 * soxr's output does not depend on how its input is cut into pieces: chunked input flushed at
 * the end gives the same samples as soxr_oneshot on the whole input (tests/app/test_audio.c).
 *
 * libsndfile reports open failures only through its process-global error (sf_strerror(NULL));
 * two threads failing to open at the same moment may see each other's message.
 */
#include "app_audio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_resample.h"
#include "app_util.h"
#include "kstt.h"

#define READ_FRAMES 4096
#define HEAD_KEEP (1 << 20) /* bytes of a pipe kept for the header parser's backward seeks */

typedef struct {
    int fd;
    unsigned char *head; /* the first bytes read (up to HEAD_KEEP), for backward seeks */
    sf_count_t head_len;
    sf_count_t pos;   /* logical position */
    sf_count_t avail; /* bytes read from fd so far */
    int eof;
} pipe_io;

typedef struct {
    const unsigned char *p;
    sf_count_t size, pos;
} mem_io;

struct app_audio {
    char name[1024];
    int fd, own_fd;
    SNDFILE *sf;
    pipe_io pio;
    mem_io mio;
    int mem; /* reading a memory image */
    app_raw_format raw;
    int in_rate, ch, out_rate;
    double duration; /* header's claim, < 0 unknown */
    soxr_t soxr;
    float *in;   /* READ_FRAMES * ch */
    float *mono; /* READ_FRAMES */
    unsigned char *rawbuf;
    size_t raw_have; /* bytes of a partial frame kept from the last read */
    float *out;      /* resampled samples not yet returned */
    size_t out_cap, out_n, out_off;
    uint64_t frames_in, samples_out;
    int eof, flushed, failed;
    char err[1024];
    char warn[1400];
};

app_audio_opts app_audio_opts_default(void) {
    app_audio_opts o;
    memset(&o, 0, sizeof o);
    o.raw_channels = 1;
    return o;
}

int app_raw_format_parse(const char *s) {
    if (s && !strcmp(s, "s16le"))
        return APP_RAW_S16LE;
    if (s && !strcmp(s, "f32le"))
        return APP_RAW_F32LE;
    return -1;
}

static int fail(app_audio *a, int status, const char *fmt, ...) APP_PRINTF(3, 4);
static int fail(app_audio *a, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->err, sizeof a->err, fmt, ap);
    va_end(ap);
    a->failed = status;
    return status;
}

/* ---- pipes through sf_open_virtual ------------------------------------------------------- */

/* Reads from the descriptor until n more bytes are available or the input ends. */
static sf_count_t pipe_fill(pipe_io *p, void *dst, sf_count_t n) {
    sf_count_t got = 0;
    unsigned char *d = dst;
    while (got < n && !p->eof) {
        ssize_t r = read(p->fd, d + got, (size_t)(n - got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            p->eof = 1;
            break;
        }
        got += r;
    }
    /* Keep what falls inside the head window. */
    if (p->head && p->avail < HEAD_KEEP) {
        sf_count_t keep = got;
        if (p->avail + keep > HEAD_KEEP)
            keep = HEAD_KEEP - p->avail;
        memcpy(p->head + p->avail, d, (size_t)keep);
        p->head_len = p->avail + keep;
    }
    p->avail += got;
    return got;
}

static sf_count_t pio_len(void *user) {
    (void)user;
    return SF_COUNT_MAX; /* unknown: a pipe */
}

static sf_count_t pio_read(void *ptr, sf_count_t count, void *user) {
    pipe_io *p = user;
    sf_count_t done = 0;
    unsigned char *d = ptr;
    if (p->pos < p->avail) { /* replay from the head window */
        if (p->pos >= p->head_len)
            return 0; /* a seek back beyond the window: refused in pio_seek */
        sf_count_t k = p->head_len - p->pos;
        if (k > count)
            k = count;
        memcpy(d, p->head + p->pos, (size_t)k);
        p->pos += k;
        done += k;
    }
    if (done < count && p->pos == p->avail) {
        sf_count_t got = pipe_fill(p, d + done, count - done);
        p->pos += got;
        done += got;
    }
    return done;
}

static sf_count_t pio_seek(sf_count_t off, int whence, void *user) {
    pipe_io *p = user;
    sf_count_t target = whence == SEEK_CUR ? p->pos + off : whence == SEEK_SET ? off : -1;
    if (target < 0)
        return -1; /* SEEK_END: the end of a pipe is not known */
    if (target < p->avail) {
        if (target > p->head_len)
            return -1;
        p->pos = target;
        return p->pos;
    }
    /* forward: read and discard */
    p->pos = p->avail;
    unsigned char junk[4096];
    while (p->pos < target) {
        sf_count_t want = target - p->pos;
        if (want > (sf_count_t)sizeof junk)
            want = sizeof junk;
        sf_count_t got = pipe_fill(p, junk, want);
        p->pos += got;
        if (got < want)
            break;
    }
    return p->pos;
}

static sf_count_t pio_write(const void *ptr, sf_count_t count, void *user) {
    (void)ptr, (void)count, (void)user;
    return 0;
}

static sf_count_t pio_tell(void *user) {
    return ((pipe_io *)user)->pos;
}

/* ---- memory images ------------------------------------------------------------------------ */

static sf_count_t mem_len(void *user) {
    return ((mem_io *)user)->size;
}

static sf_count_t mem_seek(sf_count_t off, int whence, void *user) {
    mem_io *m = user;
    sf_count_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->size : 0;
    /* Past the end is allowed (reads there return 0), before the start is not. */
    if ((off < 0 && -off > base) || (off > 0 && off > INT64_MAX - base))
        return -1;
    m->pos = base + off;
    return m->pos;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *user) {
    mem_io *m = user;
    sf_count_t left = m->size - m->pos;
    if (count > left)
        count = left;
    if (count <= 0)
        return 0;
    memcpy(ptr, m->p + m->pos, (size_t)count);
    m->pos += count;
    return count;
}

static sf_count_t mem_tell(void *user) {
    return ((mem_io *)user)->pos;
}

/* ---- WAV header claims --------------------------------------------------------------------- */

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A RIFF/WAVE file whose data chunk announces more bytes than the file holds: a warning. */
static void check_wav_length(app_audio *a, off_t file_size) {
    unsigned char h[4096];
    ssize_t n = pread(a->fd, h, sizeof h, 0);
    if (n < 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4))
        return;
    unsigned block = 0, rate = 0;
    for (ssize_t off = 12; off + 8 <= n;) {
        uint32_t size = le32(h + off + 4);
        if (!memcmp(h + off, "fmt ", 4) && off + 8 + 16 <= n) {
            rate = le32(h + off + 12);
            block = (unsigned)h[off + 20] | (unsigned)h[off + 21] << 8;
        } else if (!memcmp(h + off, "data", 4)) {
            long long have = (long long)file_size - (long long)(off + 8);
            if (size != 0xFFFFFFFFu && size != 0 && (long long)size > have && block && rate) {
                if (have < 0)
                    have = 0;
                snprintf(
                    a->warn, sizeof a->warn,
                    "%.1024s: the WAV header announces %.2f s of audio but the file holds only "
                    "%.2f s (a truncated file?); reading what is there",
                    a->name, (double)size / block / rate, (double)have / block / rate);
            }
            return;
        }
        off += 8 + (ssize_t)size + (size & 1);
        if (size > (uint32_t)n)
            return;
    }
}

/* ---- open ------------------------------------------------------------------------------ */

static int finish_open(app_audio *a, app_audio **out, char *err, size_t errlen);

static int open_err(app_audio *a, char *err, size_t errlen, int status) {
    app_errf(err, errlen, status, "%s", a->err);
    app_audio_close(a);
    return status;
}

/* Rate, channels and length from an open libsndfile handle. */
static int sf_info_check(app_audio *a, const SF_INFO *info) {
    a->in_rate = info->samplerate;
    a->ch = info->channels;
    if (a->ch < 1 || a->ch > APP_AUDIO_MAX_CHANNELS)
        return fail(a, KSTT_EFORMAT, "%s: unsupported channel count %d", a->name, a->ch);
    if (a->in_rate < APP_AUDIO_MIN_RATE || a->in_rate > APP_AUDIO_MAX_RATE)
        return fail(a, KSTT_EFORMAT, "%s: unreasonable sample rate %d Hz (accepted: %d to %d)",
                    a->name, a->in_rate, APP_AUDIO_MIN_RATE, APP_AUDIO_MAX_RATE);
    if (info->seekable && info->frames > 0 && info->frames != SF_COUNT_MAX) {
        a->duration = (double)info->frames / a->in_rate;
        if (a->duration > APP_AUDIO_MAX_SECONDS)
            return fail(a, KSTT_ERANGE, "%s: audio is %lld s long, more than the 24-hour limit",
                        a->name, (long long)ceil(a->duration));
    }
    return KSTT_OK;
}

int app_audio_open_memory(app_audio **out, const void *buf, size_t size, const char *name,
                          int out_rate, const app_audio_opts *opts, char *err, size_t errlen) {
    (void)opts;
    if (!out || (!buf && size))
        return app_errf(err, errlen, KSTT_EINVAL, "audio: invalid arguments");
    *out = NULL;
    app_audio *a = calloc(1, sizeof *a);
    if (!a)
        return app_errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", name ? name : "(memory)");
    a->fd = -1;
    a->duration = -1;
    a->mem = 1;
    a->out_rate = out_rate;
    snprintf(a->name, sizeof a->name, "%s", name ? name : "(memory)");
    if (out_rate < APP_AUDIO_MIN_RATE || out_rate > APP_AUDIO_MAX_RATE)
        return open_err(a, err, errlen,
                        fail(a, KSTT_EINVAL, "%s: target sample rate %d Hz is outside [%d, %d]",
                             a->name, out_rate, APP_AUDIO_MIN_RATE, APP_AUDIO_MAX_RATE));
    if (size == 0)
        return open_err(a, err, errlen, fail(a, KSTT_EFORMAT, "%s: is empty", a->name));
    a->mio = (mem_io){buf, (sf_count_t)size, 0};
    SF_VIRTUAL_IO vio = {mem_len, mem_seek, mem_read, pio_write, mem_tell};
    SF_INFO info;
    memset(&info, 0, sizeof info);
    a->sf = sf_open_virtual(&vio, SFM_READ, &info, &a->mio);
    if (!a->sf)
        return open_err(a, err, errlen,
                        fail(a, KSTT_EFORMAT, "%s: not an audio format libsndfile can read (%s)",
                             a->name, sf_strerror(NULL)));
    int rc = sf_info_check(a, &info);
    if (rc)
        return open_err(a, err, errlen, rc);
    return finish_open(a, out, err, errlen);
}

int app_audio_open(app_audio **out, const char *path, int out_rate, const app_audio_opts *opts,
                   char *err, size_t errlen) {
    app_audio_opts def = app_audio_opts_default();
    if (!opts)
        opts = &def;
    if (!out || !path)
        return app_errf(err, errlen, KSTT_EINVAL, "audio: NULL %s", !path ? "path" : "out");
    *out = NULL;
    app_audio *a = calloc(1, sizeof *a);
    if (!a)
        return app_errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
    a->fd = -1;
    a->duration = -1;
    int is_stdin = !strcmp(path, "-");
    snprintf(a->name, sizeof a->name, "%s", is_stdin ? "stdin" : path);
    a->out_rate = out_rate;
    a->raw = opts->raw;
    if (out_rate < APP_AUDIO_MIN_RATE || out_rate > APP_AUDIO_MAX_RATE)
        return open_err(a, err, errlen,
                        fail(a, KSTT_EINVAL, "%s: target sample rate %d Hz is outside [%d, %d]",
                             a->name, out_rate, APP_AUDIO_MIN_RATE, APP_AUDIO_MAX_RATE));
    if (is_stdin) {
        a->fd = STDIN_FILENO;
    } else {
        a->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (a->fd < 0) {
            int e = errno;
            return open_err(a, err, errlen,
                            e == ENOENT
                                ? fail(a, KSTT_ENOTFOUND, "%s: file not found", path)
                                : fail(a, KSTT_EIO, "%s: cannot open: %s", path, strerror(e)));
        }
        a->own_fd = 1;
    }
    struct stat st;
    if (fstat(a->fd, &st) != 0)
        return open_err(a, err, errlen,
                        fail(a, KSTT_EIO, "%s: cannot stat: %s", a->name, strerror(errno)));
    if (S_ISDIR(st.st_mode))
        return open_err(a, err, errlen, fail(a, KSTT_EIO, "%s: is a directory", a->name));
    int regular = S_ISREG(st.st_mode);
    if (regular && st.st_size == 0)
        return open_err(a, err, errlen, fail(a, KSTT_EFORMAT, "%s: is empty", a->name));

    if (a->raw != APP_RAW_NONE) {
        if (a->raw != APP_RAW_S16LE && a->raw != APP_RAW_F32LE)
            return open_err(a, err, errlen,
                            fail(a, KSTT_EINVAL, "%s: unknown raw format", a->name));
        if (opts->raw_rate < APP_AUDIO_MIN_RATE || opts->raw_rate > APP_AUDIO_MAX_RATE)
            return open_err(a, err, errlen,
                            fail(a, KSTT_EINVAL, "%s: raw sample rate %d Hz is outside [%d, %d]",
                                 a->name, opts->raw_rate, APP_AUDIO_MIN_RATE, APP_AUDIO_MAX_RATE));
        if (opts->raw_channels < 1 || opts->raw_channels > APP_AUDIO_MAX_CHANNELS)
            return open_err(a, err, errlen,
                            fail(a, KSTT_EINVAL, "%s: raw channel count %d is outside [1, %d]",
                                 a->name, opts->raw_channels, APP_AUDIO_MAX_CHANNELS));
        a->in_rate = opts->raw_rate;
        a->ch = opts->raw_channels;
        size_t bps = a->raw == APP_RAW_S16LE ? 2 : 4;
        a->rawbuf = malloc((size_t)READ_FRAMES * (size_t)a->ch * bps);
        if (!a->rawbuf)
            return open_err(a, err, errlen, fail(a, KSTT_ENOMEM, "%s: out of memory", a->name));
        if (regular)
            a->duration = (double)st.st_size / (double)(bps * (size_t)a->ch) / a->in_rate;
    } else {
        SF_INFO info;
        memset(&info, 0, sizeof info);
        if (regular) {
            check_wav_length(a, st.st_size);
            a->sf = sf_open_fd(a->fd, SFM_READ, &info, 0);
        } else {
            a->pio.fd = a->fd;
            a->pio.head = malloc(HEAD_KEEP);
            if (!a->pio.head)
                return open_err(a, err, errlen, fail(a, KSTT_ENOMEM, "%s: out of memory", a->name));
            SF_VIRTUAL_IO vio = {pio_len, pio_seek, pio_read, pio_write, pio_tell};
            a->sf = sf_open_virtual(&vio, SFM_READ, &info, &a->pio);
            if (!a->sf && a->pio.avail == 0)
                return open_err(a, err, errlen, fail(a, KSTT_EFORMAT, "%s: is empty", a->name));
        }
        if (!a->sf)
            return open_err(a, err, errlen,
                            fail(a, KSTT_EFORMAT,
                                 "%s: not an audio format libsndfile can read%s (%s)", a->name,
                                 regular ? "" : " from a pipe", sf_strerror(NULL)));
        int rc = sf_info_check(a, &info);
        if (rc)
            return open_err(a, err, errlen, rc);
    }
    return finish_open(a, out, err, errlen);
}

/* Buffers and the resampler, once the input's rate and channels are known. */
static int finish_open(app_audio *a, app_audio **out, char *err, size_t errlen) {
    const int out_rate = a->out_rate;
    a->in = malloc((size_t)READ_FRAMES * (size_t)a->ch * sizeof *a->in);
    a->mono = malloc((size_t)READ_FRAMES * sizeof *a->mono);
    double ratio = (double)out_rate / a->in_rate;
    a->out_cap = (size_t)ceil(READ_FRAMES * ratio) + 1024;
    a->out = malloc(a->out_cap * sizeof *a->out);
    if (!a->in || !a->mono || !a->out)
        return open_err(a, err, errlen, fail(a, KSTT_ENOMEM, "%s: out of memory", a->name));
    if (a->in_rate != out_rate) {
        const char *why;
        a->soxr = app_resampler_new(a->in_rate, out_rate, &why);
        if (!a->soxr)
            return open_err(a, err, errlen,
                            fail(a, KSTT_EIO, "%s: cannot resample %d to %d Hz: %s", a->name,
                                 a->in_rate, out_rate, why));
    }
    *out = a;
    return KSTT_OK;
}

/* ---- reading ---------------------------------------------------------------------------- */

/* Reads up to READ_FRAMES interleaved frames into a->in. Returns the count, 0 at the end, or
 * a negative status. */
static long read_frames(app_audio *a) {
    if (a->sf) {
        sf_count_t got = sf_readf_float(a->sf, a->in, READ_FRAMES);
        if (got > 0)
            return (long)got;
        if (sf_error(a->sf) != SF_ERR_NO_ERROR)
            return fail(a, KSTT_EIO, "%s: error decoding audio: %s", a->name, sf_strerror(a->sf));
        return 0;
    }
    size_t bps = a->raw == APP_RAW_S16LE ? 2 : 4, frame = bps * (size_t)a->ch;
    size_t want = (size_t)READ_FRAMES * frame;
    while (a->raw_have < frame) {
        ssize_t r = read(a->fd, a->rawbuf + a->raw_have, want - a->raw_have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return fail(a, KSTT_EIO, "%s: read error: %s", a->name, strerror(errno));
        if (r == 0)
            return 0; /* a trailing partial frame is dropped */
        a->raw_have += (size_t)r;
    }
    size_t frames = a->raw_have / frame, n = frames * (size_t)a->ch;
    const unsigned char *p = a->rawbuf;
    if (a->raw == APP_RAW_S16LE) {
        for (size_t i = 0; i < n; i++) {
            int16_t v = (int16_t)((uint16_t)p[2 * i] | (uint16_t)p[2 * i + 1] << 8);
            a->in[i] = (float)v * (1.0f / 32768.0f);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            uint32_t u = le32(p + 4 * i);
            memcpy(&a->in[i], &u, 4);
        }
    }
    size_t used = frames * frame;
    memmove(a->rawbuf, a->rawbuf + used, a->raw_have - used);
    a->raw_have -= used;
    return (long)frames;
}

/* Decodes the next chunk into a->out (resampled). Sets a->flushed at the very end. */
static int refill(app_audio *a) {
    a->out_n = a->out_off = 0;
    long got = read_frames(a);
    if (got < 0)
        return (int)got;
    if (got > 0) {
        const int ch = a->ch;
        for (long i = 0; i < got * ch; i++)
            if (!isfinite(a->in[i])) {
                uint64_t f = a->frames_in + (uint64_t)(i / ch);
                return fail(a, KSTT_EFORMAT,
                            "%s: sample %llu (at %.3f s) is %s: the audio is corrupt", a->name,
                            (unsigned long long)f, (double)f / a->in_rate,
                            isnan(a->in[i]) ? "NaN" : "infinite");
            }
        float *mono = a->in;
        if (ch > 1) {
            float inv = 1.0f / (float)ch;
            for (long i = 0; i < got; i++) {
                const float *fr = a->in + (size_t)i * (size_t)ch;
                float s = 0.0f;
                for (int c = 0; c < ch; c++)
                    s += fr[c];
                a->mono[i] = s * inv;
            }
            mono = a->mono;
        }
        a->frames_in += (uint64_t)got;
        if ((double)a->frames_in > APP_AUDIO_MAX_SECONDS * a->in_rate)
            return fail(a, KSTT_ERANGE, "%s: audio is more than the 24-hour limit", a->name);
        if (!a->soxr) {
            memcpy(a->out, mono, (size_t)got * sizeof *a->out);
            a->out_n = (size_t)got;
            return KSTT_OK;
        }
        size_t idone = 0, odone = 0;
        soxr_error_t se =
            soxr_process(a->soxr, mono, (size_t)got, &idone, a->out, a->out_cap, &odone);
        if (se)
            return fail(a, KSTT_EIO, "%s: resampling %d to %d Hz failed: %s", a->name, a->in_rate,
                        a->out_rate, se);
        if (idone != (size_t)got)
            return fail(a, KSTT_EIO, "%s: resampler took %zu of %ld frames", a->name, idone, got);
        a->out_n = odone;
        return KSTT_OK;
    }
    /* End of input. */
    if (a->frames_in == 0)
        return fail(a, KSTT_EFORMAT, "%s: contains no audio samples", a->name);
    a->eof = 1;
    if (!a->soxr) {
        a->flushed = 1;
        return KSTT_OK;
    }
    size_t odone = 0;
    soxr_error_t se = soxr_process(a->soxr, NULL, 0, NULL, a->out, a->out_cap, &odone);
    if (se)
        return fail(a, KSTT_EIO, "%s: resampling %d to %d Hz failed: %s", a->name, a->in_rate,
                    a->out_rate, se);
    a->out_n = odone;
    if (odone == 0)
        a->flushed = 1;
    return KSTT_OK;
}

long app_audio_read(app_audio *a, float *out, size_t max) {
    if (!a)
        return KSTT_EINVAL;
    if (a->failed)
        return a->failed;
    size_t done = 0;
    while (done < max) {
        if (a->out_off < a->out_n) {
            size_t k = a->out_n - a->out_off;
            if (k > max - done)
                k = max - done;
            memcpy(out + done, a->out + a->out_off, k * sizeof *out);
            a->out_off += k;
            done += k;
            continue;
        }
        if (a->flushed)
            break;
        int rc = refill(a);
        if (rc) {
            if (done)
                break; /* return what came before the error; the error comes next call */
            return rc;
        }
        if (a->eof && a->out_n == 0)
            a->flushed = 1;
    }
    if (done == 0 && a->flushed && a->samples_out == 0 && !a->failed)
        return fail(a, KSTT_EFORMAT, "%s: contains no audio samples after resampling %d to %d Hz",
                    a->name, a->in_rate, a->out_rate);
    a->samples_out += done;
    return (long)done;
}

const char *app_audio_name(const app_audio *a) {
    return a->name;
}
int app_audio_in_rate(const app_audio *a) {
    return a->in_rate;
}
int app_audio_in_channels(const app_audio *a) {
    return a->ch;
}
double app_audio_duration(const app_audio *a) {
    return a->duration;
}
uint64_t app_audio_samples(const app_audio *a) {
    return a->samples_out;
}
const char *app_audio_warning(const app_audio *a) {
    return a->warn[0] ? a->warn : NULL;
}
const char *app_audio_errmsg(const app_audio *a) {
    return a->err;
}

void app_audio_close(app_audio *a) {
    if (!a)
        return;
    if (a->sf)
        sf_close(a->sf);
    if (a->own_fd && a->fd >= 0)
        close(a->fd);
    if (a->soxr)
        soxr_delete(a->soxr);
    free(a->pio.head);
    free(a->in);
    free(a->mono);
    free(a->rawbuf);
    free(a->out);
    free(a);
}

int app_audio_load(const char *path, int out_rate, const app_audio_opts *opts, float **pcm,
                   size_t *n, char *err, size_t errlen) {
    if (!pcm || !n)
        return app_errf(err, errlen, KSTT_EINVAL, "audio: NULL output pointer");
    *pcm = NULL;
    *n = 0;
    app_audio *a;
    int rc = app_audio_open(&a, path, out_rate, opts, err, errlen);
    if (rc)
        return rc;
    size_t cap = 1 << 16, len = 0;
    float *buf = malloc(cap * sizeof *buf);
    if (!buf) {
        rc = app_errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", app_audio_name(a));
        app_audio_close(a);
        return rc;
    }
    for (;;) {
        if (len == cap) {
            float *nb = realloc(buf, 2 * cap * sizeof *buf);
            if (!nb) {
                rc = app_errf(err, errlen, KSTT_ENOMEM, "%s: out of memory decoding audio",
                              app_audio_name(a));
                break;
            }
            buf = nb;
            cap *= 2;
        }
        long k = app_audio_read(a, buf + len, cap - len);
        if (k < 0) {
            rc = app_errf(err, errlen, (int)k, "%s", app_audio_errmsg(a));
            break;
        }
        if (k == 0)
            break;
        len += (size_t)k;
    }
    app_audio_close(a);
    if (rc) {
        free(buf);
        return rc;
    }
    *pcm = buf;
    *n = len;
    return KSTT_OK;
}
