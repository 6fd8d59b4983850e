/*
 * kstt_audio_load: the golden WAV decodes to exactly the golden float samples; files written
 * here with libsndfile (WAV 16 kHz stereo, FLAC 44.1 kHz, OGG/Vorbis 48 kHz, MP3) come back
 * mono at 24 kHz with the right length, the channel mean, and a sine's frequency preserved;
 * standard input; every error message; and allocation failures at every step.
 */
#include <fcntl.h>
#include <sndfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/audio.h"
#include "core/alloc.h"
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

/* ---- decoding ---------------------------------------------------------------------------- */

static void test_golden_wav_exact(void) {
    size_t nraw;
    float *ref = test_read_file(test_golden("bria_10s_24k.f32"), &nraw);
    ASSERT_TRUE(ref != NULL);
    ASSERT_INT_EQ(nraw, 960000);
    float *pcm;
    size_t n;
    char err[512];
    long long live = kstt__alloc_live_bytes();
    ASSERT_INT_EQ(
        kstt_audio_load(test_golden("bria_10s_24k.wav"), 24000, &pcm, &n, err, sizeof err),
        KSTT_OK);
    ASSERT_INT_EQ(n, 240000);
    ASSERT_INT_EQ(memcmp(pcm, ref, nraw), 0);
    kstt_audio_free(pcm);
    ASSERT_INT_EQ(kstt__alloc_live_bytes(), live);

    /* Same file to 16 kHz: two thirds the samples, same signal energy. */
    ASSERT_INT_EQ(
        kstt_audio_load(test_golden("bria_10s_24k.wav"), 16000, &pcm, &n, err, sizeof err),
        KSTT_OK);
    ASSERT_INT_EQ(n, 160000);
    ASSERT_NEAR(rms(pcm, 0, n), rms(ref, 0, 240000), 0.02 * rms(ref, 0, 240000));
    kstt_audio_free(pcm);
    free(ref);
    kstt_audio_free(NULL);
}

/* 16 kHz stereo WAV: both channels carry the same 440 Hz sine at different gains. */
static void test_wav_16k_stereo(void) {
    const char *path = tmp_path("stereo16k.wav");
    double amp[2] = {0.2, 0.6};
    ASSERT_INT_EQ(write_tone(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2, 16000, 440, amp), 0);
    float *pcm;
    size_t n;
    char err[512];
    ASSERT_INT_EQ(kstt_audio_load(path, 24000, &pcm, &n, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(n, 24000);
    /* 440 Hz over the middle 0.5 s (12000 samples): 440 crossings. */
    int zc = zero_crossings(pcm, 6000, 18000);
    ASSERT_TRUE(zc >= 439 && zc <= 441);
    /* Mono mean amplitude 0.4: RMS 0.4 / sqrt(2). */
    ASSERT_NEAR(rms(pcm, 6000, 18000), 0.4 / sqrt(2.0), 2e-3);
    kstt_audio_free(pcm);
}

/* Mono mixing is the exact channel mean (float WAV, no resampling). */
static void test_mono_mix_exact(void) {
    const char *path = tmp_path("mix4.wav");
    double amp[4] = {0.25, 0.75, -0.5, 0.5};
    ASSERT_INT_EQ(write_tone(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 24000, 4, 1000, 0, amp), 0);
    float *pcm;
    size_t n;
    char err[512];
    ASSERT_INT_EQ(kstt_audio_load(path, 24000, &pcm, &n, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(n, 1000);
    for (size_t i = 0; i < n; i++) {
        if (pcm[i] != 0.25f) {
            TEST_FAIL_("sample %zu: %.9g, want 0.25", i, pcm[i]);
            break;
        }
    }
    kstt_audio_free(pcm);
}

static void test_flac_44k(void) {
    const char *path = tmp_path("tone44k.flac");
    double amp[1] = {0.5};
    ASSERT_INT_EQ(write_tone(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1, 88200, 1000, amp),
                  0);
    float *pcm;
    size_t n;
    char err[512];
    ASSERT_INT_EQ(kstt_audio_load(path, 24000, &pcm, &n, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(n, 48000);
    int zc = zero_crossings(pcm, 12000, 36000); /* 1 s of 1 kHz */
    ASSERT_TRUE(zc >= 1999 && zc <= 2001);
    ASSERT_NEAR(rms(pcm, 12000, 36000), 0.5 / sqrt(2.0), 2e-3);
    kstt_audio_free(pcm);
}

static void test_ogg_vorbis_48k(void) {
    const char *path = tmp_path("tone48k.ogg");
    double amp[2] = {0.5, 0.5};
    ASSERT_INT_EQ(write_tone(path, SF_FORMAT_OGG | SF_FORMAT_VORBIS, 48000, 2, 48000, 300, amp), 0);
    float *pcm;
    size_t n;
    char err[512];
    ASSERT_INT_EQ(kstt_audio_load(path, 24000, &pcm, &n, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(n, 24000);
    int zc = zero_crossings(pcm, 6000, 18000); /* 0.5 s of 300 Hz */
    ASSERT_TRUE(zc >= 299 && zc <= 301);
    ASSERT_NEAR(rms(pcm, 6000, 18000), 0.5 / sqrt(2.0), 0.02);
    kstt_audio_free(pcm);
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
    ASSERT_INT_EQ(kstt_audio_load(path, 24000, &pcm, &n, err, sizeof err), KSTT_OK);
    /* Encoder delay and padding may add or remove up to a couple of MP3 frames. */
    ASSERT_TRUE(n >= 46000 && n <= 50000);
    int zc = zero_crossings(pcm, 12000, 36000); /* 1 s of 500 Hz */
    ASSERT_TRUE(zc >= 998 && zc <= 1002);
    ASSERT_NEAR(rms(pcm, 12000, 36000), 0.5 / sqrt(2.0), 0.03);
    kstt_audio_free(pcm);
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
    int rc = kstt_audio_load("-", 24000, &pcm, &n, err, sizeof err);
    dup2(saved, STDIN_FILENO);
    close(saved);
    if (rc != KSTT_OK)
        TEST_FAIL_("stdin: %s", err);
    ASSERT_INT_EQ(rc, KSTT_OK);
    ASSERT_INT_EQ(n, 12000);
    int zc = zero_crossings(pcm, 3000, 9000); /* 0.25 s of 250 Hz */
    ASSERT_TRUE(zc >= 124 && zc <= 126);
    kstt_audio_free(pcm);

    /* Standard input that is not audio. */
    const char *txt = tmp_path("stdin.txt");
    FILE *f = fopen(txt, "w");
    fputs("this is not audio at all, just some text\n", f);
    fclose(f);
    saved = dup(STDIN_FILENO), fd = open(txt, O_RDONLY);
    dup2(fd, STDIN_FILENO);
    close(fd);
    rc = kstt_audio_load("-", 24000, &pcm, &n, err, sizeof err);
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
    ASSERT_INT_EQ(kstt__audio_decode_memory(img, size, "fr.wav", 16000, &a, &na, err, sizeof err),
                  KSTT_OK);
    ASSERT_INT_EQ(kstt_audio_load(test_golden("fr_6s_24k.wav"), 16000, &b, &nb, err, sizeof err),
                  KSTT_OK);
    ASSERT_INT_EQ(na, 96000);
    ASSERT_INT_EQ(nb, na);
    ASSERT_INT_EQ(memcmp(a, b, na * sizeof *a), 0);
    kstt_audio_free(a);
    kstt_audio_free(b);
    /* A truncated image loads the samples that are there. */
    ASSERT_INT_EQ(
        kstt__audio_decode_memory(img, 80 + 4000, "cut.wav", 24000, &a, &na, err, sizeof err),
        KSTT_OK);
    ASSERT_INT_EQ(na, 1000);
    kstt_audio_free(a);
    ASSERT_INT_EQ(kstt__audio_decode_memory(img, 0, "nothing.wav", 24000, &a, &na, err, sizeof err),
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
        long long live_ = kstt__alloc_live_bytes();                                                \
        ASSERT_INT_EQ(kstt_audio_load(path, rate, &p_, &n_, e_, sizeof e_), code);                 \
        snprintf(w_, sizeof w_, "%s: %s", path, text);                                             \
        ASSERT_STR_EQ(e_, w_);                                                                     \
        ASSERT_TRUE(p_ == NULL && n_ == 0);                                                        \
        ASSERT_INT_EQ(kstt__alloc_live_bytes(), live_);                                            \
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
    ASSERT_INT_EQ(kstt_audio_load(bad, 24000, &p, &n, e, sizeof e), KSTT_EFORMAT);
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
    ASSERT_INT_EQ(kstt_audio_load("-", 5, &p, &n, e, sizeof e), KSTT_EINVAL);
    ASSERT_STR_EQ(e, "stdin: target sample rate 5 Hz is outside [1000, 768000]");
    ASSERT_INT_EQ(kstt_audio_load(NULL, 24000, &p, &n, e, sizeof e), KSTT_EINVAL);
    ASSERT_STR_EQ(e, "audio: NULL path");
    ASSERT_INT_EQ(kstt_audio_load(ok, 24000, &p, &n, NULL, 0), KSTT_OK); /* err may be NULL */
    ASSERT_INT_EQ(n, 100);
    kstt_audio_free(p);
}

/* Every allocation failing in turn, with and without resampling: a clean ENOMEM, no leak. */
static void test_alloc_failures(void) {
    const char *path = tmp_path("fi.wav");
    double amp[2] = {0.3, 0.3};
    ASSERT_INT_EQ(write_tone(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2, 100000, 100, amp),
                  0);
    for (int rate = 16000; rate <= 24000; rate += 8000) {
        long long live = kstt__alloc_live_bytes();
        int failures = 0;
        for (long k = 0; k < 64; k++) {
            float *p = NULL;
            size_t n = 0;
            char e[512] = "";
            kstt__alloc_fail_after(k);
            int rc = kstt_audio_load(path, rate, &p, &n, e, sizeof e);
            kstt__alloc_fail_after(-1);
            if (rc == KSTT_OK) {
                ASSERT_INT_EQ(n, rate == 16000 ? 100000 : 150000);
                kstt_audio_free(p);
                break;
            }
            ASSERT_INT_EQ(rc, KSTT_ENOMEM);
            ASSERT_TRUE(p == NULL);
            ASSERT_TRUE(strncmp(e, path, strlen(path)) == 0);
            ASSERT_INT_EQ(kstt__alloc_live_bytes(), live);
            failures++;
        }
        ASSERT_TRUE(failures >= 2);
    }
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
        int rc =
            kstt__audio_decode_memory(img, size, cases[i].file, 24000, &p, &n, err, sizeof err);
        free(img);
        if (rc != cases[i].rc || (rc == KSTT_OK && n != cases[i].n)) {
            TEST_FAIL_("%s: rc %d n %zu (%s), want rc %d n %zu", cases[i].file, rc,
                       rc ? (size_t)0 : n, err, cases[i].rc, cases[i].n);
            return;
        }
        if (rc == KSTT_OK)
            kstt_audio_free(p);
        snprintf(want, sizeof want, "%s: %s", cases[i].file, cases[i].msg ? cases[i].msg : "");
        if (rc != KSTT_OK && strncmp(err, want, strlen(want)) != 0) {
            TEST_FAIL_("%s: message \"%s\", want \"%s\"", cases[i].file, err, want);
            return;
        }
    }
}

static void remove_tmpdir(void) {
    static const char *files[] = {
        "stereo16k.wav",   "mix4.wav",    "tone44k.flac", "tone48k.ogg", "tone.mp3",  "stdin.flac",
        "stdin.txt",       "locked.wav",  "empty.wav",    "notes.wav",   "nofmt.wav", "silent.wav",
        "header_only.wav", "rate500.wav", "rate2M.wav",   "long.wav",    "ok.wav",    "fi.wav"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        unlink(tmp_path(files[i]));
    rmdir(tmpdir);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kstt_audio_XXXXXX");
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
    RUN(test_alloc_failures);
    RUN(test_fuzz_corpus);
    if (!getenv("KSTT_KEEP_TMP"))
        remove_tmpdir();
    return test_summary();
}
