/*
 * Audio files to mono float PCM at a chosen rate: libsndfile decodes (WAV, FLAC, OGG/Vorbis,
 * Opus, MP3 and the rest of its formats; Debian's libsndfile 1.2.0 reads MPEG audio through
 * libmpg123), channels are averaged to mono in place, and libsoxr resamples at high quality
 * (SOXR_HQ) when the file's rate differs from the target.
 *
 * A path is opened with open(2) first so that "not found" and "permission denied" are told
 * apart from "not an audio format"; libsndfile then reads from the descriptor. Standard input
 * ("-") is read whole into memory and decoded through sf_open_virtual, which needs seeking.
 *
 * Frames are read in chunks into a buffer that grows by doubling, starting from the header's
 * frame count capped at a modest size: headers can lie (truncated files, fuzzed input), and
 * some formats do not know their length. The length limit (24 hours at the file's rate) is
 * enforced on the header's claim and again while reading.
 *
 * libsndfile reports open failures only through its process-global error (sf_strerror(NULL));
 * two threads failing to open at the same moment may see each other's message. libsoxr
 * allocates its own scratch memory with the C heap; every buffer returned to the caller comes
 * from kstt__alloc.
 */
#include "audio/audio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/status.h"

#define MAX_CHANNELS 1024
#define INITIAL_FRAMES ((sf_count_t)1 << 16) /* cap on the header's claim for the first buffer */
#define READ_FRAMES 4096

void kstt_audio_free(float *pcm) {
    kstt__free(pcm);
}

static int check_target_rate(const char *name, int sample_rate, char *err, size_t errlen) {
    if (sample_rate < KSTT_AUDIO_MIN_RATE || sample_rate > KSTT_AUDIO_MAX_RATE)
        return kstt__errf(err, errlen, KSTT_EINVAL,
                          "%s: target sample rate %d Hz is outside [%d, %d]", name, sample_rate,
                          KSTT_AUDIO_MIN_RATE, KSTT_AUDIO_MAX_RATE);
    return KSTT_OK;
}

/* Reads every frame of an open file, mixes to mono and resamples. */
static int decode(SNDFILE *sf, const SF_INFO *info, const char *name, int sample_rate, float **pcm,
                  size_t *n, char *err, size_t errlen) {
    int ch = info->channels, rate = info->samplerate;
    if (ch < 1 || ch > MAX_CHANNELS)
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: unsupported channel count %d", name, ch);
    if (rate < KSTT_AUDIO_MIN_RATE || rate > KSTT_AUDIO_MAX_RATE)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: unreasonable sample rate %d Hz (accepted: %d to %d)", name, rate,
                          KSTT_AUDIO_MIN_RATE, KSTT_AUDIO_MAX_RATE);
    const sf_count_t max_frames = (sf_count_t)(KSTT_AUDIO_MAX_SECONDS * rate);
    /* Pipes and some formats report SF_COUNT_MAX or nothing useful; only trust a sane claim. */
    int seekable = info->seekable;
    if (seekable && info->frames > max_frames && info->frames != SF_COUNT_MAX)
        return kstt__errf(err, errlen, KSTT_ERANGE,
                          "%s: audio is %lld s long, more than the 24-hour limit", name,
                          (long long)((info->frames + rate - 1) / rate));

    sf_count_t cap =
        info->frames > 0 && info->frames < INITIAL_FRAMES ? info->frames + 1 : INITIAL_FRAMES;
    size_t frame_bytes = (size_t)ch * sizeof(float);
    float *buf = kstt__alloc((size_t)cap * frame_bytes);
    if (!buf)
        return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory decoding audio", name);
    sf_count_t total = 0;
    int rc = KSTT_OK;
    for (;;) {
        if (cap - total < READ_FRAMES) {
            if (cap > max_frames + READ_FRAMES) {
                rc = kstt__errf(err, errlen, KSTT_ERANGE,
                                "%s: audio is more than the 24-hour limit", name);
                goto fail;
            }
            sf_count_t ncap = cap * 2;
            float *nb = kstt__realloc(buf, (size_t)cap * frame_bytes, (size_t)ncap * frame_bytes);
            if (!nb) {
                rc = kstt__errf(err, errlen, KSTT_ENOMEM,
                                "%s: out of memory decoding audio (%lld frames so far)", name,
                                (long long)total);
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        sf_count_t want = cap - total < READ_FRAMES ? cap - total : READ_FRAMES;
        sf_count_t got = sf_readf_float(sf, buf + (size_t)total * (size_t)ch, want);
        if (got <= 0)
            break;
        total += got;
    }
    if (sf_error(sf) != SF_ERR_NO_ERROR) {
        rc = kstt__errf(err, errlen, KSTT_EIO, "%s: error decoding audio: %s", name,
                        sf_strerror(sf));
        goto fail;
    }
    if (total == 0) {
        rc = kstt__errf(err, errlen, KSTT_EFORMAT, "%s: contains no audio samples", name);
        goto fail;
    }
    if (total > max_frames) {
        rc = kstt__errf(err, errlen, KSTT_ERANGE, "%s: audio is more than the 24-hour limit", name);
        goto fail;
    }

    /* Mix to mono in place: frame i is read before output i (<= i * ch) is written. */
    if (ch > 1) {
        float inv = 1.0f / (float)ch;
        for (sf_count_t i = 0; i < total; i++) {
            const float *fr = buf + (size_t)i * (size_t)ch;
            float s = 0.0f;
            for (int c = 0; c < ch; c++)
                s += fr[c];
            buf[i] = s * inv;
        }
    }

    if (rate == sample_rate) {
        *pcm = buf;
        *n = (size_t)total;
        return KSTT_OK;
    }

    double ratio = (double)sample_rate / rate;
    size_t olen = (size_t)ceil((double)total * ratio) + 16;
    float *out = kstt__alloc(olen * sizeof *out);
    if (!out) {
        rc = kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory resampling %d to %d Hz", name,
                        rate, sample_rate);
        goto fail;
    }
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    size_t odone = 0;
    soxr_error_t se = soxr_oneshot(rate, sample_rate, 1, buf, (size_t)total, NULL, out, olen,
                                   &odone, &io, &q, NULL);
    if (se) {
        kstt__free(out);
        rc = kstt__errf(err, errlen, KSTT_EIO, "%s: resampling %d to %d Hz failed: %s", name, rate,
                        sample_rate, se);
        goto fail;
    }
    kstt__free(buf);
    if (odone == 0) {
        kstt__free(out);
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: contains no audio samples after resampling %d to %d Hz", name, rate,
                          sample_rate);
    }
    *pcm = out;
    *n = odone;
    return KSTT_OK;

fail:
    kstt__free(buf);
    return rc;
}

/* ---- memory images (standard input, fuzzer) ---------------------------------------------- */

typedef struct {
    const unsigned char *p;
    sf_count_t size, pos;
} membuf;

static sf_count_t mem_len(void *user) {
    return ((membuf *)user)->size;
}

static sf_count_t mem_seek(sf_count_t off, int whence, void *user) {
    membuf *m = user;
    sf_count_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->size : 0;
    /* Past the end is allowed (reads there return 0), before the start is not. */
    if ((off < 0 && -off > base) || (off > 0 && off > INT64_MAX - base))
        return -1;
    m->pos = base + off;
    return m->pos;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *user) {
    membuf *m = user;
    sf_count_t left = m->size - m->pos;
    if (count > left)
        count = left;
    if (count <= 0)
        return 0;
    memcpy(ptr, m->p + m->pos, (size_t)count);
    m->pos += count;
    return count;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *user) {
    return 0;
}

static sf_count_t mem_tell(void *user) {
    return ((membuf *)user)->pos;
}

int kstt__audio_decode_memory(const void *buf, size_t size, const char *name, int sample_rate,
                              float **pcm, size_t *n, char *err, size_t errlen) {
    if (!name)
        name = "(memory)";
    if (!pcm || !n || (!buf && size))
        return kstt__errf(err, errlen, KSTT_EINVAL, "%s: invalid arguments", name);
    *pcm = NULL;
    *n = 0;
    int rc = check_target_rate(name, sample_rate, err, errlen);
    if (rc)
        return rc;
    if (size == 0)
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: is empty", name);
    if (size > (uint64_t)INT64_MAX)
        return kstt__errf(err, errlen, KSTT_EINVAL, "%s: too large", name);
    membuf m = {buf, (sf_count_t)size, 0};
    SF_VIRTUAL_IO vio = {mem_len, mem_seek, mem_read, mem_write, mem_tell};
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open_virtual(&vio, SFM_READ, &info, &m);
    if (!sf)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: not an audio format libsndfile can read (%s)", name,
                          sf_strerror(NULL));
    rc = decode(sf, &info, name, sample_rate, pcm, n, err, errlen);
    sf_close(sf);
    return rc;
}

/* Reads all of standard input into a kstt__alloc buffer. */
static int read_stdin(unsigned char **out, size_t *size, char *err, size_t errlen) {
    size_t cap = 1 << 16, len = 0;
    unsigned char *b = kstt__alloc(cap);
    if (!b)
        return kstt__errf(err, errlen, KSTT_ENOMEM, "stdin: out of memory");
    for (;;) {
        if (len == cap) {
            if (cap > SIZE_MAX / 2) {
                kstt__free(b);
                return kstt__errf(err, errlen, KSTT_ENOMEM, "stdin: input too large");
            }
            unsigned char *nb = kstt__realloc(b, cap, cap * 2);
            if (!nb) {
                kstt__free(b);
                return kstt__errf(err, errlen, KSTT_ENOMEM, "stdin: out of memory after %zu bytes",
                                  len);
            }
            b = nb;
            cap *= 2;
        }
        ssize_t r = read(STDIN_FILENO, b + len, cap - len);
        if (r == 0)
            break;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            kstt__free(b);
            return kstt__errf(err, errlen, KSTT_EIO, "stdin: read error: %s", strerror(e));
        }
        len += (size_t)r;
    }
    *out = b;
    *size = len;
    return KSTT_OK;
}

int kstt_audio_load(const char *path, int sample_rate, float **pcm, size_t *n, char *err,
                    size_t errlen) {
    if (!path || !pcm || !n)
        return kstt__errf(err, errlen, KSTT_EINVAL, "audio: NULL %s",
                          !path ? "path" : "output pointer");
    *pcm = NULL;
    *n = 0;

    if (strcmp(path, "-") == 0) {
        int rc = check_target_rate("stdin", sample_rate, err, errlen);
        if (rc)
            return rc;
        unsigned char *b = NULL;
        size_t size = 0;
        rc = read_stdin(&b, &size, err, errlen);
        if (rc)
            return rc;
        rc = kstt__audio_decode_memory(b, size, "stdin", sample_rate, pcm, n, err, errlen);
        kstt__free(b);
        return rc;
    }

    int rc = check_target_rate(path, sample_rate, err, errlen);
    if (rc)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT)
            return kstt__errf(err, errlen, KSTT_ENOTFOUND, "%s: file not found", path);
        return kstt__errf(err, errlen, KSTT_EIO, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return kstt__errf(err, errlen, KSTT_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return kstt__errf(err, errlen, KSTT_EIO, "%s: is a directory", path);
    }
    if (S_ISREG(st.st_mode) && st.st_size == 0) {
        close(fd);
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: is empty", path);
    }
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open_fd(fd, SFM_READ, &info, 0);
    if (!sf) {
        rc =
            kstt__errf(err, errlen, KSTT_EFORMAT,
                       "%s: not an audio format libsndfile can read (%s)", path, sf_strerror(NULL));
        close(fd);
        return rc;
    }
    rc = decode(sf, &info, path, sample_rate, pcm, n, err, errlen);
    sf_close(sf);
    close(fd);
    return rc;
}
