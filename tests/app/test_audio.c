/*
 * app_audio (the streaming reader and app_audio_load over it): the golden WAV decodes to
 * exactly the golden float samples; files written here with libsndfile (WAV 16 kHz stereo,
 * FLAC 44.1 kHz, OGG/Vorbis 48 kHz, MP3) come back mono at 24 kHz with the right length, the
 * channel mean, and a sine's frequency preserved; reading in small pieces gives the same
 * samples as soxr_oneshot on the whole input; standard input as a file and as a pipe (WAV,
 * FLAC, raw s16le/f32le with channels); NaN/Inf named with their time; a WAV header promising
 * more than the file holds warns; every error message; no descriptor leaks.
 */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app_audio.h"
#include "kstt.h"
#include "test.h"

static char tmpdir[256];

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

/* Writes `frames` frames of `channels` channels: channel c holds amp[c] * sin(2 pi f t)
 * (f = 0: the constant amp[c]). */
static int write_tone(const char *path, int format, int rate, int channels, sf_count_t frames,
                      double freq, const double *amp) {
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) {
        fprintf(stderr, "cannot write %s: %s\n", path, sf_strerror(NULL));
        return -1;
    }
    float *buf = malloc((size_t)frames * (size_t)channels * sizeof *buf);
    for (sf_count_t i = 0; i < frames; i++)
        for (int c = 0; c < channels; c++)
            buf[i * channels + c] =
                (float)(amp[c] * (freq > 0 ? sin(2 * M_PI * freq * (double)i / rate) : 1.0));
    sf_count_t w = sf_writef_float(sf, buf, frames);
    free(buf);
    sf_close(sf);
    return w == frames ? 0 : -1;
}

/* Sign changes in x[from, to). */
static int zero_crossings(const float *x, size_t from, size_t to) {
    int n = 0;
    for (size_t i = from + 1; i < to; i++)
        if ((x[i - 1] < 0) != (x[i] < 0))
            n++;
    return n;
}

static double rms(const float *x, size_t from, size_t to) {
    double s = 0;
    for (size_t i = from; i < to; i++)
        s += (double)x[i] * x[i];
    return sqrt(s / (double)(to - from));
}

/* A canonical 44-byte PCM WAV header followed by data_bytes of zeros (written sparse when
 * `sparse`): lets tests claim any rate, channel count or length. */
static int write_wav_header(const char *path, int rate, int channels, int bits, uint32_t data_bytes,
                            int sparse) {
    unsigned char h[44];
    uint32_t block = (uint32_t)channels * (uint32_t)bits / 8, byte_rate = block * (uint32_t)rate;
    memcpy(h, "RIFF", 4);
    uint32_t riff = 36 + data_bytes;
    for (int i = 0; i < 4; i++)
        h[4 + i] = (unsigned char)(riff >> (8 * i));
    memcpy(h + 8, "WAVEfmt ", 8);
    h[16] = 16, h[17] = h[18] = h[19] = 0;
    h[20] = 1, h[21] = 0; /* PCM */
    h[22] = (unsigned char)channels, h[23] = (unsigned char)(channels >> 8);
    for (int i = 0; i < 4; i++)
        h[24 + i] = (unsigned char)((uint32_t)rate >> (8 * i));
    for (int i = 0; i < 4; i++)
        h[28 + i] = (unsigned char)(byte_rate >> (8 * i));
    h[32] = (unsigned char)block, h[33] = (unsigned char)(block >> 8);
    h[34] = (unsigned char)bits, h[35] = 0;
    memcpy(h + 36, "data", 4);
    for (int i = 0; i < 4; i++)
        h[40 + i] = (unsigned char)(data_bytes >> (8 * i));
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fwrite(h, 1, 44, f);
    if (!sparse) {
        for (uint32_t i = 0; i < data_bytes; i++)
            fputc(bits == 8 ? 0x80 : 0, f);
    }
    fclose(f);
    if (sparse && truncate(path, 44 + (off_t)data_bytes) != 0)
        return -1;
    return 0;
}

/* app_audio_open_memory, read to the end (as app_audio_load does for a path). */
static int load_memory(const void *img, size_t size, const char *name, int rate, float **pcm,
                       size_t *n, char *err, size_t errlen) {
    *pcm = NULL;
    *n = 0;
    app_audio *a;
    int rc = app_audio_open_memory(&a, img, size, name, rate, NULL, err, errlen);
    if (rc)
        return rc;
    size_t cap = 4096, len = 0;
    float *buf = malloc(cap * sizeof *buf);
    for (;;) {
        if (len == cap)
            buf = realloc(buf, (cap *= 2) * sizeof *buf);
        long k = app_audio_read(a, buf + len, cap - len);
        if (k < 0) {
            snprintf(err, errlen, "%s", app_audio_errmsg(a));
            app_audio_close(a);
            free(buf);
            return (int)k;
        }
        if (k == 0)
            break;
        len += (size_t)k;
    }
    app_audio_close(a);
    *pcm = buf;
    *n = len;
    return KSTT_OK;
}

/* ---- decoding ---------------------------------------------------------------------------- */

static void test_golden_wav_exact(void) {
    size_t nraw;
    float *ref = test_read_file(test_golden("bria_10s_24k.f32"), &nraw);
    ASSERT_TRUE(ref != NULL);
    ASSERT_INT_EQ(nraw, 960000);
    float *pcm;
    size_t n;
    char err[512];
    ASSERT_INT_EQ(
        app_audio_load(test_golden("bria_10s_24k.wav"), 24000, NULL, &pcm, &n, err, sizeof err),
        KSTT_OK);
    ASSERT_INT_EQ(n, 240000);
    ASSERT_INT_EQ(memcmp(pcm, ref, nraw), 0);
    free(pcm);

    /* Same file to 16 kHz: two thirds the samples, same signal energy. */
    ASSERT_INT_EQ(
        app_audio_load(test_golden("bria_10s_24k.wav"), 16000, NULL, &pcm, &n, err, sizeof err),
        KSTT_OK);
    ASSERT_INT_EQ(n, 160000);
    ASSERT_NEAR(rms(pcm, 0, n), rms(ref, 0, 240000), 0.02 * rms(ref, 0, 240000));
    free(pcm);
    free(ref);
    free(NULL);
}

/* 16 kHz stereo WAV: both channels carry the same 440 Hz sine at different gains. */
static void test_wav_16k_stereo(void) {
    const char *path = tmp_path("stereo16k.wav");
    double amp[2] = {0.2, 0.6};
    ASSERT_INT_EQ(write_tone(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2, 16000, 440, amp), 0);
    float *pcm;
    size_t n;
    char err[512];
    ASSERT_INT_EQ(app_audio_load(path, 24000, NULL, &pcm, &n, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(n, 24000);
    /* 440 Hz over the middle 0.5 s (12000 samples): 440 crossings. */
    int zc = zero_crossings(pcm, 6000, 18000);
    ASSERT_TRUE(zc >= 439 && zc <= 441);
    /* Mono mean amplitude 0.4: RMS 0.4 / sqrt(2). */
    ASSERT_NEAR(rms(pcm, 6000, 18000), 0.4 / sqrt(2.0), 2e-3);
    free(pcm);
}

/* Mono mixing is the exact channel mean (float WAV, no resampling). */
static void test_mono_mix_exact(void) {
    const char *path = tmp_path("mix4.wav");
    double amp[4] = {0.25, 0.75, -0.5, 0.5};
    ASSERT_INT_EQ(write_tone(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 24000, 4, 1000, 0, amp), 0);
    float *pcm;
    size_t n;
    char err[512];
    ASSERT_INT_EQ(app_audio_load(path, 24000, NULL, &pcm, &n, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(n, 1000);
    for (size_t i = 0; i < n; i++) {
        if (pcm[i] != 0.25f) {
            TEST_FAIL_("sample %zu: %.9g, want 0.25", i, pcm[i]);
            break;
        }
    }
    free(pcm);
}

static void test_flac_44k(void) {
    const char *path = tmp_path("tone44k.flac");
    double amp[1] = {0.5};
    ASSERT_INT_EQ(write_tone(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1, 88200, 1000, amp),
                  0);
    float *pcm;
    size_t n;
    char err[512];
    ASSERT_INT_EQ(app_audio_load(path, 24000, NULL, &pcm, &n, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(n, 48000);
    int zc = zero_crossings(pcm, 12000, 36000); /* 1 s of 1 kHz */
    ASSERT_TRUE(zc >= 1999 && zc <= 2001);
    ASSERT_NEAR(rms(pcm, 12000, 36000), 0.5 / sqrt(2.0), 2e-3);
    free(pcm);
}

static void test_ogg_vorbis_48k(void) {
    const char *path = tmp_path("tone48k.ogg");
    double amp[2] = {0.5, 0.5};
    ASSERT_INT_EQ(write_tone(path, SF_FORMAT_OGG | SF_FORMAT_VORBIS, 48000, 2, 48000, 300, amp), 0);
    float *pcm;
    size_t n;
    char err[512];
    ASSERT_INT_EQ(app_audio_load(path, 24000, NULL, &pcm, &n, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(n, 24000);
    int zc = zero_crossings(pcm, 6000, 18000); /* 0.5 s of 300 Hz */
    ASSERT_TRUE(zc >= 299 && zc <= 301);
    ASSERT_NEAR(rms(pcm, 6000, 18000), 0.5 / sqrt(2.0), 0.02);
    free(pcm);
}

/* libsndfile 1.2.0 reads (and, through LAME, writes) MPEG layer III itself. */
static void test_mp3(void) {
    const char *path = tmp_path("tone.mp3");
    double amp[1] = {0.5};
    ASSERT_INT_EQ(
        write_tone(path, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 1, 88200, 500, amp), 0);
    float *pcm;
    size_t n;
    char err[512];
    ASSERT_INT_EQ(app_audio_load(path, 24000, NULL, &pcm, &n, err, sizeof err), KSTT_OK);
    /* Encoder delay and padding may add or remove up to a couple of MP3 frames. */
    ASSERT_TRUE(n >= 46000 && n <= 50000);
    int zc = zero_crossings(pcm, 12000, 36000); /* 1 s of 500 Hz */
    ASSERT_TRUE(zc >= 998 && zc <= 1002);
    ASSERT_NEAR(rms(pcm, 12000, 36000), 0.5 / sqrt(2.0), 0.03);
    free(pcm);
}

static void test_stdin(void) {
    const char *path = tmp_path("stdin.flac");
    double amp[1] = {0.5};
    ASSERT_INT_EQ(write_tone(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, 8000, 250, amp), 0);
    int saved = dup(STDIN_FILENO), fd = open(path, O_RDONLY);
    ASSERT_TRUE(saved >= 0 && fd >= 0);
    dup2(fd, STDIN_FILENO);
    close(fd);
    float *pcm;
    size_t n;
    char err[512] = "";
    int rc = app_audio_load("-", 24000, NULL, &pcm, &n, err, sizeof err);
    dup2(saved, STDIN_FILENO);
    close(saved);
    if (rc != KSTT_OK)
        TEST_FAIL_("stdin: %s", err);
    ASSERT_INT_EQ(rc, KSTT_OK);
    ASSERT_INT_EQ(n, 12000);
    int zc = zero_crossings(pcm, 3000, 9000); /* 0.25 s of 250 Hz */
    ASSERT_TRUE(zc >= 124 && zc <= 126);
    free(pcm);

    /* Standard input that is not audio. */
    const char *txt = tmp_path("stdin.txt");
    FILE *f = fopen(txt, "w");
    fputs("this is not audio at all, just some text\n", f);
    fclose(f);
    saved = dup(STDIN_FILENO), fd = open(txt, O_RDONLY);
    dup2(fd, STDIN_FILENO);
    close(fd);
    rc = app_audio_load("-", 24000, NULL, &pcm, &n, err, sizeof err);
    dup2(saved, STDIN_FILENO);
    close(saved);
    ASSERT_INT_EQ(rc, KSTT_EFORMAT);
    ASSERT_STR_EQ(err, "stdin: not an audio format libsndfile can read (Format not recognised.)");
    ASSERT_TRUE(pcm == NULL && n == 0);
}

/* The in-memory decoder gives the same samples as the file path. */
static void test_decode_memory(void) {
    size_t size;
    void *img = test_read_file(test_golden("fr_6s_24k.wav"), &size);
    ASSERT_TRUE(img != NULL);
    float *a, *b;
    size_t na, nb;
    char err[512];
    ASSERT_INT_EQ(load_memory(img, size, "fr.wav", 16000, &a, &na, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(
        app_audio_load(test_golden("fr_6s_24k.wav"), 16000, NULL, &b, &nb, err, sizeof err),
        KSTT_OK);
    ASSERT_INT_EQ(na, 96000);
    ASSERT_INT_EQ(nb, na);
    ASSERT_INT_EQ(memcmp(a, b, na * sizeof *a), 0);
    free(a);
    free(b);
    /* A truncated image loads the samples that are there. */
    ASSERT_INT_EQ(load_memory(img, 80 + 4000, "cut.wav", 24000, &a, &na, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(na, 1000);
    free(a);
    ASSERT_INT_EQ(load_memory(img, 0, "nothing.wav", 24000, &a, &na, err, sizeof err),
                  KSTT_EFORMAT);
    ASSERT_STR_EQ(err, "nothing.wav: is empty");
    free(img);
}

/* ---- errors ------------------------------------------------------------------------------ */

#define EXPECT_LOAD_ERR(path, rate, code, text)                                                    \
    do {                                                                                           \
        float *p_ = (float *)1;                                                                    \
        size_t n_ = 7;                                                                             \
        char e_[1024] = "", w_[1024];                                                              \
        ASSERT_INT_EQ(app_audio_load(path, rate, NULL, &p_, &n_, e_, sizeof e_), code);            \
        snprintf(w_, sizeof w_, "%s: %s", path, text);                                             \
        ASSERT_STR_EQ(e_, w_);                                                                     \
        ASSERT_TRUE(p_ == NULL && n_ == 0);                                                        \
    } while (0)

static int count_fds(void) {
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

static void test_err_open(void) {
    int fds = count_fds();
    EXPECT_LOAD_ERR(tmp_path("absent.wav"), 24000, KSTT_ENOTFOUND, "file not found");
    EXPECT_LOAD_ERR(tmpdir, 24000, KSTT_EIO, "is a directory");
    const char *locked = tmp_path("locked.wav");
    double amp[1] = {0.5};
    ASSERT_INT_EQ(write_tone(locked, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 24000, 1, 100, 0, amp), 0);
    chmod(locked, 0);
    if (geteuid() != 0) /* root reads it anyway */
        EXPECT_LOAD_ERR(locked, 24000, KSTT_EIO, "cannot open: Permission denied");
    const char *empty = tmp_path("empty.wav");
    fclose(fopen(empty, "wb"));
    EXPECT_LOAD_ERR(empty, 24000, KSTT_EFORMAT, "is empty");
    ASSERT_INT_EQ(count_fds(), fds);
}

static void test_err_not_audio(void) {
    int fds = count_fds();
    const char *txt = tmp_path("notes.wav");
    FILE *f = fopen(txt, "w");
    fputs("these are not the samples you are looking for\n", f);
    fclose(f);
    EXPECT_LOAD_ERR(txt, 24000, KSTT_EFORMAT,
                    "not an audio format libsndfile can read (Format not recognised.)");
    /* A RIFF/WAVE header with no fmt chunk: libsndfile's own diagnosis is passed on. */
    const char *bad = tmp_path("nofmt.wav");
    f = fopen(bad, "wb");
    fwrite("RIFF\x24\x00\x00\x00WAVEdata\x10\x00\x00\x00", 1, 20, f);
    for (int i = 0; i < 16; i++)
        fputc(0, f);
    fclose(f);
    float *p;
    size_t n;
    char e[1024];
    ASSERT_INT_EQ(app_audio_load(bad, 24000, NULL, &p, &n, e, sizeof e), KSTT_EFORMAT);
    char want[1024];
    snprintf(want, sizeof want, "%s: not an audio format libsndfile can read (", bad);
    ASSERT_TRUE(strncmp(e, want, strlen(want)) == 0);
    ASSERT_TRUE(strlen(e) > strlen(want) + 2);
    ASSERT_INT_EQ(count_fds(), fds);
}

static void test_err_no_samples(void) {
    const char *path = tmp_path("silent.wav");
    double amp[1] = {0};
    ASSERT_INT_EQ(write_tone(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 24000, 1, 0, 0, amp), 0);
    EXPECT_LOAD_ERR(path, 24000, KSTT_EFORMAT, "contains no audio samples");
    EXPECT_LOAD_ERR(path, 16000, KSTT_EFORMAT, "contains no audio samples");
    const char *hdr = tmp_path("header_only.wav");
    ASSERT_INT_EQ(write_wav_header(hdr, 16000, 1, 16, 0, 0), 0);
    EXPECT_LOAD_ERR(hdr, 24000, KSTT_EFORMAT, "contains no audio samples");
}

static void test_err_rates_and_length(void) {
    const char *slow = tmp_path("rate500.wav");
    ASSERT_INT_EQ(write_wav_header(slow, 500, 1, 16, 200, 0), 0);
    EXPECT_LOAD_ERR(slow, 24000, KSTT_EFORMAT,
                    "unreasonable sample rate 500 Hz (accepted: 1000 to 768000)");
    const char *fast = tmp_path("rate2M.wav");
    ASSERT_INT_EQ(write_wav_header(fast, 2000000, 1, 16, 200, 0), 0);
    EXPECT_LOAD_ERR(fast, 24000, KSTT_EFORMAT,
                    "unreasonable sample rate 2000000 Hz (accepted: 1000 to 768000)");

    /* 24 h + 1 s of 8-bit mono at 1 kHz: 86.4 MB, written sparse. */
    const char *longf = tmp_path("long.wav");
    ASSERT_INT_EQ(write_wav_header(longf, 1000, 1, 8, 86401000u, 1), 0);
    EXPECT_LOAD_ERR(longf, 24000, KSTT_ERANGE,
                    "audio is 86401 s long, more than the 24-hour limit");
    unlink(longf);

    const char *ok = tmp_path("ok.wav");
    ASSERT_INT_EQ(write_wav_header(ok, 24000, 1, 16, 200, 0), 0);
    EXPECT_LOAD_ERR(ok, 0, KSTT_EINVAL, "target sample rate 0 Hz is outside [1000, 768000]");
    EXPECT_LOAD_ERR(ok, -24000, KSTT_EINVAL,
                    "target sample rate -24000 Hz is outside [1000, 768000]");
    EXPECT_LOAD_ERR(ok, 1000000, KSTT_EINVAL,
                    "target sample rate 1000000 Hz is outside [1000, 768000]");

    float *p;
    size_t n;
    char e[256];
    ASSERT_INT_EQ(app_audio_load("-", 5, NULL, &p, &n, e, sizeof e), KSTT_EINVAL);
    ASSERT_STR_EQ(e, "stdin: target sample rate 5 Hz is outside [1000, 768000]");
    ASSERT_INT_EQ(app_audio_load(NULL, 24000, NULL, &p, &n, e, sizeof e), KSTT_EINVAL);
    ASSERT_STR_EQ(e, "audio: NULL path");
    ASSERT_INT_EQ(app_audio_load(ok, 24000, NULL, &p, &n, NULL, 0), KSTT_OK); /* err may be NULL */
    ASSERT_INT_EQ(n, 100);
    free(p);
}

/* The fuzz seed corpus decodes as intended: sample counts at 24 kHz, or the error. */
static void test_fuzz_corpus(void) {
    static const struct {
        const char *file;
        int rc;
        size_t n;
        const char *msg; /* after "NAME: " */
    } cases[] = {
        {"valid_pcm16_mono_24k", KSTT_OK, 64, NULL},
        {"valid_pcm16_stereo_16k", KSTT_OK, 48, NULL},
        {"valid_u8_8k", KSTT_OK, 144, NULL},
        {"valid_float_44k", KSTT_OK, 17, NULL},
        {"odd_huge_data_size", KSTT_OK, 8, NULL}, /* libsndfile clamps to the file */
        {"bad_no_data", KSTT_EFORMAT, 0, "contains no audio samples"},
        {"bad_text", KSTT_EFORMAT, 0,
         "not an audio format libsndfile can read (Format not recognised.)"},
        {"bad_zero_channels", KSTT_EFORMAT, 0,
         "not an audio format libsndfile can read (Channel count is zero.)"},
        {"bad_riff_only", KSTT_EFORMAT, 0,
         "not an audio format libsndfile can read (Error in WAV file. No 'data' chunk marker.)"},
        {"bad_truncated_fmt", KSTT_EFORMAT, 0, NULL},
        {"bad_rate_zero", KSTT_EFORMAT, 0, NULL},
        {"bad_format_tag", KSTT_EFORMAT, 0, NULL},
    };
    const char *src = getenv("KSTT_SOURCE_DIR");
    ASSERT_TRUE(src != NULL);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[1024], err[1024] = "", want[1200];
        snprintf(path, sizeof path, "%s/tests/fuzz/corpus/wav/%s", src, cases[i].file);
        size_t size;
        void *img = test_read_file(path, &size);
        ASSERT_TRUE(img != NULL);
        float *p;
        size_t n;
        int rc = load_memory(img, size, cases[i].file, 24000, &p, &n, err, sizeof err);
        free(img);
        if (rc != cases[i].rc || (rc == KSTT_OK && n != cases[i].n)) {
            TEST_FAIL_("%s: rc %d n %zu (%s), want rc %d n %zu", cases[i].file, rc,
                       rc ? (size_t)0 : n, err, cases[i].rc, cases[i].n);
            return;
        }
        if (rc == KSTT_OK)
            free(p);
        snprintf(want, sizeof want, "%s: %s", cases[i].file, cases[i].msg ? cases[i].msg : "");
        if (rc != KSTT_OK && strncmp(err, want, strlen(want)) != 0) {
            TEST_FAIL_("%s: message \"%s\", want \"%s\"", cases[i].file, err, want);
            return;
        }
    }
}

/* ---- streaming ----------------------------------------------------------------------------- */

/* Reading in pieces of `piece` samples: the same samples as soxr_oneshot on the whole input
 * (what the whole-file loader did before the reader streamed). */
static void test_streaming_equals_oneshot(void) {
    const char *path = tmp_path("chunks.wav");
    double amp[2] = {0.3, -0.2};
    ASSERT_INT_EQ(write_tone(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 2, 70001, 310, amp), 0);
    /* the reference: decode all, mix, one soxr call */
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    ASSERT_TRUE(sf != NULL);
    float *in = malloc(70001 * 2 * sizeof *in), *mono = malloc(70001 * sizeof *mono);
    ASSERT_INT_EQ(sf_readf_float(sf, in, 70001), 70001);
    sf_close(sf);
    for (int i = 0; i < 70001; i++) {
        float acc = in[2 * i] + in[2 * i + 1];
        mono[i] = acc * (1.0f / 2.0f);
    }
    size_t olen = 70001 * 3 / 2 + 64, odone = 0;
    float *ref = malloc(olen * sizeof *ref);
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    ASSERT_TRUE(
        soxr_oneshot(16000, 24000, 1, mono, 70001, NULL, ref, olen, &odone, &io, &q, NULL) == NULL);
    static const size_t pieces[] = {1, 7, 1000, 48000, 1 << 20};
    for (size_t k = 0; k < sizeof pieces / sizeof *pieces; k++) {
        app_audio *a;
        char err[512];
        ASSERT_INT_EQ(app_audio_open(&a, path, 24000, NULL, err, sizeof err), KSTT_OK);
        ASSERT_INT_EQ(app_audio_in_rate(a), 16000);
        ASSERT_INT_EQ(app_audio_in_channels(a), 2);
        ASSERT_NEAR(app_audio_duration(a), 70001 / 16000.0, 1e-9);
        float *got = malloc((odone + pieces[k] + 8) * sizeof *got);
        size_t n = 0;
        long r;
        while ((r = app_audio_read(a, got + n, pieces[k])) > 0) {
            ASSERT_TRUE((size_t)r <= pieces[k]);
            n += (size_t)r;
            if (n > odone)
                break;
        }
        ASSERT_INT_EQ(r >= 0, 1);
        ASSERT_INT_EQ(n, odone);
        ASSERT_INT_EQ(app_audio_samples(a), odone);
        ASSERT_INT_EQ(memcmp(got, ref, odone * sizeof *ref), 0);
        ASSERT_INT_EQ(app_audio_read(a, got, 10), 0); /* stays at the end */
        app_audio_close(a);
        free(got);
    }
    free(in);
    free(mono);
    free(ref);
}

/* Runs `fn` reading from a pipe that a child process fills with the file's bytes. */
static pid_t pipe_stdin_from(const char *path, int *saved) {
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        int fd = open(path, O_RDONLY);
        char buf[3000]; /* small writes: the reader sees many short reads */
        ssize_t r;
        while (fd >= 0 && (r = read(fd, buf, sizeof buf)) > 0)
            if (write(fds[1], buf, (size_t)r) != r)
                break;
        _exit(0);
    }
    close(fds[1]);
    *saved = dup(STDIN_FILENO);
    dup2(fds[0], STDIN_FILENO);
    close(fds[0]);
    return pid;
}

static void restore_stdin(int saved, pid_t pid) {
    dup2(saved, STDIN_FILENO);
    close(saved);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static void test_stdin_pipe(void) {
    /* WAV and FLAC through a pipe: the same samples as from the file. */
    const char *wav = tmp_path("pipe.wav"), *flac = tmp_path("pipe.flac");
    double amp[1] = {0.4};
    ASSERT_INT_EQ(write_tone(wav, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 40000, 200, amp), 0);
    ASSERT_INT_EQ(write_tone(flac, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, 40000, 200, amp),
                  0);
    const char *files[2] = {wav, flac};
    for (int i = 0; i < 2; i++) {
        float *a, *b;
        size_t na, nb;
        char err[512] = "";
        ASSERT_INT_EQ(app_audio_load(files[i], 24000, NULL, &a, &na, err, sizeof err), KSTT_OK);
        int saved;
        pid_t pid = pipe_stdin_from(files[i], &saved);
        ASSERT_TRUE(pid > 0);
        int rc = app_audio_load("-", 24000, NULL, &b, &nb, err, sizeof err);
        restore_stdin(saved, pid);
        if (rc)
            TEST_FAIL_("%s through a pipe: %s", files[i], err);
        ASSERT_INT_EQ(rc, KSTT_OK);
        ASSERT_INT_EQ(nb, na);
        ASSERT_INT_EQ(memcmp(a, b, na * sizeof *a), 0);
        free(a);
        free(b);
    }
}

static void test_raw(void) {
    /* s16le stereo at 16 kHz, f32le mono at 24 kHz: through a file and a pipe. */
    const char *s16 = tmp_path("raw.s16"), *f32 = tmp_path("raw.f32");
    FILE *f = fopen(s16, "wb");
    for (int i = 0; i < 16000; i++) {
        int16_t l = (int16_t)(8000 * sin(2 * M_PI * 250 * i / 16000.0)), r = l;
        fwrite(&l, 2, 1, f);
        fwrite(&r, 2, 1, f);
    }
    fputc(0x7f, f); /* a trailing partial frame: dropped */
    fclose(f);
    f = fopen(f32, "wb");
    for (int i = 0; i < 24000; i++) {
        float v = (float)(0.25 * sin(2 * M_PI * 500 * i / 24000.0));
        fwrite(&v, 4, 1, f);
    }
    fclose(f);
    app_audio_opts o = app_audio_opts_default();
    o.raw = APP_RAW_S16LE;
    o.raw_rate = 16000;
    o.raw_channels = 2;
    float *p;
    size_t n;
    char err[512];
    ASSERT_INT_EQ(app_audio_load(s16, 24000, &o, &p, &n, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(n, 24000);
    int zc = zero_crossings(p, 6000, 18000);
    ASSERT_TRUE(zc >= 249 && zc <= 251);
    ASSERT_NEAR(rms(p, 6000, 18000), 8000 / 32768.0 / sqrt(2.0), 2e-3);
    free(p);
    o.raw = APP_RAW_F32LE;
    o.raw_rate = 24000;
    o.raw_channels = 1;
    int saved;
    pid_t pid = pipe_stdin_from(f32, &saved);
    int rc = app_audio_load("-", 24000, &o, &p, &n, err, sizeof err);
    restore_stdin(saved, pid);
    ASSERT_INT_EQ(rc, KSTT_OK);
    ASSERT_INT_EQ(n, 24000);
    ASSERT_NEAR(p[1000], (float)(0.25 * sin(2 * M_PI * 500 * 1000 / 24000.0)), 0); /* exact */
    free(p);
    /* Bad raw descriptions. */
    o.raw_rate = 10;
    ASSERT_INT_EQ(app_audio_load(f32, 24000, &o, &p, &n, err, sizeof err), KSTT_EINVAL);
    char want[1024];
    snprintf(want, sizeof want, "%s: raw sample rate 10 Hz is outside [1000, 768000]", f32);
    ASSERT_STR_EQ(err, want);
    o.raw_rate = 24000;
    o.raw_channels = 0;
    ASSERT_INT_EQ(app_audio_load(f32, 24000, &o, &p, &n, err, sizeof err), KSTT_EINVAL);
    ASSERT_INT_EQ(app_raw_format_parse("s16le"), APP_RAW_S16LE);
    ASSERT_INT_EQ(app_raw_format_parse("f32le"), APP_RAW_F32LE);
    ASSERT_INT_EQ(app_raw_format_parse("wav"), -1);
}

static void test_nonfinite(void) {
    /* A float WAV with a NaN at 1.5 s (sample 36000 at 24 kHz): an error with the time. */
    const char *path = tmp_path("nan.wav");
    SF_INFO info = {.samplerate = 24000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    ASSERT_TRUE(sf != NULL);
    float *buf = calloc(48000, sizeof *buf);
    buf[36000] = NAN;
    buf[40000] = INFINITY;
    sf_writef_float(sf, buf, 48000);
    sf_close(sf);
    float *p;
    size_t n;
    char err[1024], want[1024];
    ASSERT_INT_EQ(app_audio_load(path, 24000, NULL, &p, &n, err, sizeof err), KSTT_EFORMAT);
    snprintf(want, sizeof want, "%s: sample 36000 (at 1.500 s) is NaN: the audio is corrupt", path);
    ASSERT_STR_EQ(err, want);
    /* raw f32le on standard input: the same error, named stdin */
    const char *raw = tmp_path("inf.f32");
    buf[36000] = 0;
    FILE *f = fopen(raw, "wb");
    fwrite(buf, sizeof *buf, 48000, f);
    fclose(f);
    app_audio_opts o = app_audio_opts_default();
    o.raw = APP_RAW_F32LE;
    o.raw_rate = 16000;
    int saved;
    pid_t pid = pipe_stdin_from(raw, &saved);
    int rc = app_audio_load("-", 24000, &o, &p, &n, err, sizeof err);
    restore_stdin(saved, pid);
    ASSERT_INT_EQ(rc, KSTT_EFORMAT);
    ASSERT_STR_EQ(err, "stdin: sample 40000 (at 2.500 s) is infinite: the audio is corrupt");
    free(buf);
}

static void test_truncated_wav_warns(void) {
    /* A header claiming 2 s of 16-bit mono 24 kHz, 0.5 s present. */
    const char *path = tmp_path("short.wav");
    ASSERT_INT_EQ(write_wav_header(path, 24000, 1, 16, 96000, 0), 0);
    ASSERT_INT_EQ(truncate(path, 44 + 24000), 0);
    app_audio *a;
    char err[512], want[1024];
    ASSERT_INT_EQ(app_audio_open(&a, path, 24000, NULL, err, sizeof err), KSTT_OK);
    ASSERT_TRUE(app_audio_warning(a) != NULL);
    snprintf(want, sizeof want,
             "%s: the WAV header announces 2.00 s of audio but the file holds only 0.50 s (a "
             "truncated file?); reading what is there",
             path);
    ASSERT_STR_EQ(app_audio_warning(a), want);
    float buf[30000];
    ASSERT_INT_EQ(app_audio_read(a, buf, 30000), 12000);
    ASSERT_INT_EQ(app_audio_read(a, buf, 30000), 0);
    app_audio_close(a);
    /* A complete file: no warning. */
    ASSERT_INT_EQ(app_audio_open(&a, test_golden("fr_6s_24k.wav"), 24000, NULL, err, sizeof err),
                  KSTT_OK);
    ASSERT_TRUE(app_audio_warning(a) == NULL);
    app_audio_close(a);
}

static void remove_tmpdir(void) {
    static const char *files[] = {
        "stereo16k.wav",   "mix4.wav",    "tone44k.flac", "tone48k.ogg", "tone.mp3",  "stdin.flac",
        "stdin.txt",       "locked.wav",  "empty.wav",    "notes.wav",   "nofmt.wav", "silent.wav",
        "header_only.wav", "rate500.wav", "rate2M.wav",   "long.wav",    "ok.wav",    "fi.wav",
        "chunks.wav",      "pipe.wav",    "pipe.flac",    "raw.s16",     "raw.f32",   "nan.wav",
        "inf.f32",         "short.wav"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        unlink(tmp_path(files[i]));
    rmdir(tmpdir);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/app_audio_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_golden_wav_exact);
    RUN(test_wav_16k_stereo);
    RUN(test_mono_mix_exact);
    RUN(test_flac_44k);
    RUN(test_ogg_vorbis_48k);
    RUN(test_mp3);
    RUN(test_stdin);
    RUN(test_decode_memory);
    RUN(test_err_open);
    RUN(test_err_not_audio);
    RUN(test_err_no_samples);
    RUN(test_err_rates_and_length);
    RUN(test_fuzz_corpus);
    RUN(test_streaming_equals_oneshot);
    RUN(test_stdin_pipe);
    RUN(test_raw);
    RUN(test_nonfinite);
    RUN(test_truncated_wav_warns);
    if (!getenv("KSTT_KEEP_TMP"))
        remove_tmpdir();
    return test_summary();
}
