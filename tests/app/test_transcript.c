/*
 * Transcript output (app/app_transcript.c, app/app_progress.c from kstt_app): word assembly
 * from events (the word-end rule), the txt / JSON / SRT / WebVTT output of the streaming writer
 * (exact bytes for small transcripts, written through write_as: each word closed by its own
 * EndWord; escaping of hostile text), cue grouping by pause, duration, line length and sentence
 * end, timestamp formats, the writer on raw random event sequences (the same bytes as on the
 * assembled transcript: its word ends follow app_transcript's rule), output before the input
 * ends, JSON lines and the end-of-turn detector, and the progress-bar line.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app_progress.h"
#include "app_transcript.h"
#include "test.h"

/* Runs a writer into memory; returns the malloc'd output. */
#define CAPTURE(out, call)                                                                         \
    do {                                                                                           \
        size_t size_;                                                                              \
        FILE *f = open_memstream(&(out), &size_);                                                  \
        ASSERT_TRUE(f != NULL);                                                                    \
        int rc_ = (call);                                                                          \
        fclose(f);                                                                                 \
        ASSERT_INT_EQ(rc_, 0);                                                                     \
    } while (0)

static void add(app_transcript *t, const char *w, double start, double stop) {
    app_transcript_word(t, w, start);
    if (stop >= 0)
        app_transcript_end_word(t, stop);
}

/* Writes a finished transcript in fmt through the streaming writer, each word closed by an
 * EndWord at its end (co NULL: the default cue limits). Returns 0 or -1. */
static int write_as(FILE *f, const app_transcript *t, app_format fmt, int timestamps,
                    const app_cue_opts *co) {
    app_writer_opts o = app_writer_opts_default();
    o.format = fmt;
    o.timestamps = timestamps;
    if (co)
        o.cues = *co;
    app_writer *w;
    if (app_writer_new(&w, f, &o))
        return -1;
    int rc = app_writer_begin(w, t->name);
    for (size_t i = 0; i < t->n_words && !rc; i++) {
        rc = app_writer_word(w, t->words[i].text, t->words[i].start);
        if (!rc)
            rc = app_writer_end_word(w, t->words[i].end);
    }
    rc |= app_writer_end(w, t->duration, 0);
    rc |= app_writer_finish(w);
    app_writer_free(w);
    return rc ? -1 : 0;
}

/* n copies of word joined by spaces, in one of 4 static buffers (4 calls per expression). */
static const char *times(const char *word, int n) {
    static char buf[4][512];
    static int which;
    char *b = buf[which++ % 4];
    size_t o = 0;
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(b + o, sizeof buf[0] - o, "%s%s", i ? " " : "", word);
    return b;
}

static void test_word_ends(void) {
    app_transcript t;
    app_transcript_init(&t, "a.wav");
    app_transcript_end_word(&t, 0.5);    /* EndWord before any word: ignored */
    app_transcript_word(&t, "one", 0.0); /* closed by the next word's start */
    app_transcript_word(&t, "two", 0.4); /* closed by the EndWord below */
    app_transcript_end_word(&t, 0.72);
    app_transcript_end_word(&t, 0.9);      /* a second EndWord: nothing open, ignored */
    app_transcript_word(&t, "", 1.0);      /* empty words are not words */
    app_transcript_word(&t, "three", 1.2); /* a later stop before its start: end = start */
    app_transcript_end_word(&t, 1.0);
    app_transcript_word(&t, "four", 2.0); /* no EndWord follows: the end of the audio */
    app_transcript_finish(&t, 3.5);
    ASSERT_INT_EQ(t.n_words, 4);
    ASSERT_STR_EQ(t.words[0].text, "one");
    ASSERT_NEAR(t.words[0].end, 0.4, 0);
    ASSERT_NEAR(t.words[1].end, 0.72, 0);
    ASSERT_NEAR(t.words[2].start, 1.2, 0);
    ASSERT_NEAR(t.words[2].end, 1.2, 0);
    ASSERT_NEAR(t.words[3].end, 3.5, 0);
    char *text = app_transcript_text(&t);
    ASSERT_STR_EQ(text, "one two three four");
    free(text);
    app_transcript_free(&t);

    /* Pad-separated words share one EndWord: the first ones end where the next starts. */
    app_transcript_init(&t, "b.wav");
    app_transcript_word(&t, "a", 6.24);
    app_transcript_word(&t, "b", 6.24);
    app_transcript_word(&t, "c", 6.24);
    app_transcript_end_word(&t, 9.36);
    app_transcript_word(&t, "d", 9.5);
    app_transcript_finish(&t, 9.0); /* audio shorter than the last start: end = start */
    ASSERT_NEAR(t.words[0].end, 6.24, 0);
    ASSERT_NEAR(t.words[2].end, 9.36, 0);
    ASSERT_NEAR(t.words[3].end, 9.5, 0);
    ASSERT_NEAR(t.duration, 9.0, 0);
    app_transcript_free(&t);
}

static void test_formats(void) {
    char buf[64];
    app_format_seconds(buf, sizeof buf, 1.84);
    ASSERT_STR_EQ(buf, "1.84");
    app_format_seconds(buf, sizeof buf, 2.0);
    ASSERT_STR_EQ(buf, "2.00");
    app_format_seconds(buf, sizeof buf, 1.8449999);
    ASSERT_STR_EQ(buf, "1.845");
    app_format_seconds(buf, sizeof buf, (157 - 13) / 12.5);
    ASSERT_STR_EQ(buf, "11.52");
    app_format_seconds(buf, sizeof buf, -0.3);
    ASSERT_STR_EQ(buf, "0.00");
    app_format_seconds(buf, sizeof buf, NAN);
    ASSERT_STR_EQ(buf, "0.00");
    app_format_timestamp(buf, sizeof buf, 0, ',');
    ASSERT_STR_EQ(buf, "00:00:00,000");
    app_format_timestamp(buf, sizeof buf, 3725.0796, ',');
    ASSERT_STR_EQ(buf, "01:02:05,080");
    app_format_timestamp(buf, sizeof buf, 59.9996, '.');
    ASSERT_STR_EQ(buf, "00:01:00.000");
    app_format_timestamp(buf, sizeof buf, 360000.5, '.');
    ASSERT_STR_EQ(buf, "100:00:00.500");
    app_format_timestamp(buf, sizeof buf, -1, '.');
    ASSERT_STR_EQ(buf, "00:00:00.000");
    ASSERT_INT_EQ(app_utf8_chars(""), 0);
    ASSERT_INT_EQ(app_utf8_chars("caf\xC3\xA9"), 4);
    ASSERT_INT_EQ(app_utf8_chars("\xF0\x9F\x98\x80!"), 2);
    ASSERT_INT_EQ(app_utf8_chars("\xC3(\xFF"), 3); /* ill-formed bytes count one each */
}

static app_transcript sample(void) {
    app_transcript t;
    app_transcript_init(&t, "talk.wav");
    add(&t, "Hello", 0.0, 0.48);
    add(&t, "world.", 0.48, 1.04);
    add(&t, "Fine", 2.0, -1);
    add(&t, "day", 2.32, 2.8);
    app_transcript_finish(&t, 3.0);
    return t;
}

static void test_txt(void) {
    app_transcript t = sample();
    char *out = NULL;
    CAPTURE(out, write_as(f, &t, APP_FMT_TXT, 0, NULL));
    ASSERT_STR_EQ(out, "Hello world. Fine day\n");
    free(out);
    CAPTURE(out, write_as(f, &t, APP_FMT_TXT, 1, NULL));
    ASSERT_STR_EQ(out, "[0.00 - 0.48] Hello\n[0.48 - 1.04] world.\n[2.00 - 2.32] Fine\n"
                       "[2.32 - 2.80] day\n");
    free(out);
    app_transcript_free(&t);

    /* Control characters in a word cannot break the lines. */
    app_transcript_init(&t, "x");
    add(&t, "a\nb\tc", 0, 1);
    app_transcript_finish(&t, 1);
    CAPTURE(out, write_as(f, &t, APP_FMT_TXT, 0, NULL));
    ASSERT_STR_EQ(out, "a b c\n");
    free(out);
    app_transcript_free(&t);

    app_transcript_init(&t, "silence.wav");
    app_transcript_finish(&t, 2);
    CAPTURE(out, write_as(f, &t, APP_FMT_TXT, 0, NULL));
    ASSERT_STR_EQ(out, "\n");
    free(out);
    CAPTURE(out, write_as(f, &t, APP_FMT_TXT, 1, NULL));
    ASSERT_STR_EQ(out, "");
    free(out);
    app_transcript_free(&t);
}

static void test_json(void) {
    app_transcript t = sample();
    float p1[4] = {0.5f, 0.25f, 0.125f, 1e-7f}, p2[4] = {1, 0, 0.333333343f, NAN};
    app_transcript_vad(&t, 0.0, p1);
    app_transcript_vad(&t, 0.08, p2);
    char *out = NULL;
    CAPTURE(out, app_write_json(f, &t, 1, 0));
    ASSERT_STR_EQ(out, "{\n"
                       "  \"file\": \"talk.wav\",\n"
                       "  \"text\": \"Hello world. Fine day\",\n"
                       "  \"words\": [\n"
                       "    {\"word\": \"Hello\", \"start\": 0.00, \"end\": 0.48},\n"
                       "    {\"word\": \"world.\", \"start\": 0.48, \"end\": 1.04},\n"
                       "    {\"word\": \"Fine\", \"start\": 2.00, \"end\": 2.32},\n"
                       "    {\"word\": \"day\", \"start\": 2.32, \"end\": 2.80}\n"
                       "  ],\n"
                       "  \"vad\": [\n"
                       "    {\"time\": 0.00, \"prs\": [0.5, 0.25, 0.125, 1e-07]},\n"
                       "    {\"time\": 0.08, \"prs\": [1, 0, 0.333333, null]}\n"
                       "  ]\n"
                       "}");
    free(out);
    /* Without --vad, nested in an array (indent 2). */
    CAPTURE(out, app_write_json(f, &t, 0, 2));
    ASSERT_STR_CONTAINS(out, "  {\n    \"file\": \"talk.wav\",\n");
    ASSERT_STR_CONTAINS(out,
                        "      {\"word\": \"day\", \"start\": 2.32, \"end\": 2.80}\n    ]\n  }");
    ASSERT_TRUE(strstr(out, "vad") == NULL);
    free(out);
    app_transcript_free(&t);

    /* Escaping: quotes, backslash, control characters, ill-formed UTF-8; empty lists. */
    app_transcript_init(&t, "we\"ird\\name");
    add(&t, "\"q\"\\\n\t\x01\xC3\xA9\xFF\xE2\x82", 0, 1);
    app_transcript_finish(&t, 1);
    CAPTURE(out, app_write_json(f, &t, 1, 0));
    ASSERT_STR_CONTAINS(out, "\"file\": \"we\\\"ird\\\\name\"");
    ASSERT_STR_CONTAINS(out, "{\"word\": \"\\\"q\\\"\\\\\\n\\t\\u0001\xC3\xA9\xEF\xBF\xBD"
                             "\xEF\xBF\xBD\xEF\xBF\xBD\", \"start\": 0.00, \"end\": 1.00}");
    ASSERT_STR_CONTAINS(out, "\"vad\": []\n}");
    free(out);
    app_transcript_free(&t);

    app_transcript_init(&t, "empty.wav");
    app_transcript_finish(&t, 1);
    CAPTURE(out, app_write_json(f, &t, 0, 0));
    ASSERT_STR_EQ(out, "{\n  \"file\": \"empty.wav\",\n  \"text\": \"\",\n  \"words\": []\n}");
    free(out);
    app_transcript_free(&t);
}

static void test_srt_vtt(void) {
    app_transcript t = sample();
    app_cue_opts o = app_cue_opts_default();
    char *out = NULL;
    /* "world." ends a sentence but the cue is short (12 < 20 chars): the 0.96 s pause splits. */
    CAPTURE(out, write_as(f, &t, APP_FMT_SRT, 0, &o));
    ASSERT_STR_EQ(out, "1\n00:00:00,000 --> 00:00:01,040\nHello world.\n\n"
                       "2\n00:00:02,000 --> 00:00:02,800\nFine day\n\n");
    free(out);
    CAPTURE(out, write_as(f, &t, APP_FMT_VTT, 0, &o));
    ASSERT_STR_EQ(out, "WEBVTT\n\n00:00:00.000 --> 00:00:01.040\nHello world.\n\n"
                       "00:00:02.000 --> 00:00:02.800\nFine day\n\n");
    free(out);
    app_transcript_free(&t);

    /* VTT escapes markup; zero-length words get a cue of at least 0.5 s when room allows. */
    app_transcript_init(&t, "m.wav");
    add(&t, "<b>&", 1.0, 1.0);
    app_transcript_finish(&t, 1.0);
    CAPTURE(out, write_as(f, &t, APP_FMT_VTT, 0, &o));
    ASSERT_STR_EQ(out, "WEBVTT\n\n00:00:01.000 --> 00:00:01.500\n&lt;b&gt;&amp;\n\n");
    free(out);
    app_transcript_free(&t);

    app_transcript_init(&t, "none.wav");
    app_transcript_finish(&t, 1.0);
    CAPTURE(out, write_as(f, &t, APP_FMT_SRT, 0, &o));
    ASSERT_STR_EQ(out, "");
    free(out);
    CAPTURE(out, write_as(f, &t, APP_FMT_VTT, 0, &o));
    ASSERT_STR_EQ(out, "WEBVTT\n\n");
    free(out);
    app_transcript_free(&t);
}

/* A run of words each 0.3 s long with no pauses. */
static app_transcript run_of(const char *const *words, size_t n, double step) {
    app_transcript t;
    app_transcript_init(&t, "r.wav");
    for (size_t i = 0; i < n; i++)
        app_transcript_word(&t, words[i], (double)i * step);
    app_transcript_finish(&t, (double)n * step);
    return t;
}

/* The SRT output of t with cue limits o, compared with want. */
#define SRT_EQ(t, o, want)                                                                         \
    do {                                                                                           \
        char *out_ = NULL;                                                                         \
        CAPTURE(out_, write_as(f, &(t), APP_FMT_SRT, 0, &(o)));                                    \
        ASSERT_STR_EQ(out_, want);                                                                 \
        free(out_);                                                                                \
    } while (0)

static void test_cue_grouping(void) {
    app_cue_opts o = app_cue_opts_default();
    char want[2048];
    /* 20 words of 6 letters: 41 chars per 6 words, so 12 words fill 2 lines (83 chars), split
     * where the lines balance (41 + 41); the other 8 words make 27 + 27. */
    const char *w6[20];
    for (int i = 0; i < 20; i++)
        w6[i] = "abcdef";
    app_transcript t = run_of(w6, 20, 0.3);
    snprintf(want, sizeof want,
             "1\n00:00:00,000 --> 00:00:03,600\n%s\n%s\n\n"
             "2\n00:00:03,600 --> 00:00:06,000\n%s\n%s\n\n",
             times("abcdef", 6), times("abcdef", 6), times("abcdef", 4), times("abcdef", 4));
    SRT_EQ(t, o, want);
    app_transcript_free(&t);

    /* Duration: 30 two-letter words at 0.5 s each: cues of 14 words (7 s, 41 chars: one
     * line), 14, 2. */
    const char *w2[30];
    for (int i = 0; i < 30; i++)
        w2[i] = "ab";
    t = run_of(w2, 30, 0.5);
    snprintf(want, sizeof want,
             "1\n00:00:00,000 --> 00:00:07,000\n%s\n\n"
             "2\n00:00:07,000 --> 00:00:14,000\n%s\n\n"
             "3\n00:00:14,000 --> 00:00:15,000\nab ab\n\n",
             times("ab", 14), times("ab", 14));
    SRT_EQ(t, o, want);
    app_transcript_free(&t);

    /* Sentence end: a cue of 20+ characters closes after a word ending in . ? ! or ...; the
     * limits count code points, not bytes. "été quite lovely indeed!" is 24 chars, so a new
     * cue starts; "Then rain fell…" is only 15 chars, so "Wet" stays. */
    const char *ws[] = {"\xC3\xA9t\xC3\xA9", "quite", "lovely", "indeed!", "Then", "rain",
                        "fell\xE2\x80\xA6",  "Wet",   "shoes",  "again."};
    t = run_of(ws, 10, 0.3);
    SRT_EQ(t, o,
           "1\n00:00:00,000 --> 00:00:01,200\n\xC3\xA9t\xC3\xA9 quite lovely indeed!\n\n"
           "2\n00:00:01,200 --> 00:00:03,000\nThen rain fell\xE2\x80\xA6 Wet shoes again.\n\n");
    app_transcript_free(&t);

    /* A pause of exactly 0.8 s splits; 0.79 s does not. */
    app_transcript_init(&t, "p.wav");
    add(&t, "a", 0, 0.5);
    add(&t, "b", 1.29, 1.5);
    add(&t, "c", 2.3, 2.5);
    app_transcript_finish(&t, 3);
    SRT_EQ(t, o,
           "1\n00:00:00,000 --> 00:00:01,500\na b\n\n"
           "2\n00:00:02,300 --> 00:00:02,800\nc\n\n");
    app_transcript_free(&t);

    /* A word longer than a line gets a cue (and a line) of its own. */
    const char *wl[] = {"short", "a_very_long_word_that_does_not_fit_on_one_line_at_all", "x"};
    t = run_of(wl, 3, 0.3);
    SRT_EQ(t, o,
           "1\n00:00:00,000 --> 00:00:00,300\nshort\n\n"
           "2\n00:00:00,300 --> 00:00:00,600\n"
           "a_very_long_word_that_does_not_fit_on_one_line_at_all\n\n"
           "3\n00:00:00,600 --> 00:00:01,100\nx\n\n");
    app_transcript_free(&t);

    /* One line only, 10 characters: "ab ab ab" is 8, a fourth word would make 11. */
    o.max_lines = 1;
    o.max_line_chars = 10;
    t = run_of(w2, 6, 0.3);
    SRT_EQ(t, o,
           "1\n00:00:00,000 --> 00:00:00,900\nab ab ab\n\n"
           "2\n00:00:00,900 --> 00:00:01,800\nab ab ab\n\n");
    app_transcript_free(&t);

    /* Two lines of 10: "ab ab ab ab ab" (14) splits 5 + 8 or 8 + 5; on a tie the shorter line
     * goes on top. */
    o.max_lines = 2;
    t = run_of(w2, 5, 0.3);
    SRT_EQ(t, o, "1\n00:00:00,000 --> 00:00:01,500\nab ab\nab ab ab\n\n");
    app_transcript_free(&t);
}

static void test_min_duration(void) {
    app_cue_opts o = app_cue_opts_default();
    app_transcript t;
    app_transcript_init(&t, "z.wav");
    add(&t, "a", 1.0, 1.0);
    add(&t, "b", 2.2, 2.2); /* 1.2 s pause: new cue */
    add(&t, "c", 3.2, 3.4); /* 1.0 s pause: new cue */
    add(&t, "d", 4.3, 4.3); /* 0.9 s pause: new cue */
    app_transcript_finish(&t, 4.3);
    SRT_EQ(t, o,
           "1\n00:00:01,000 --> 00:00:01,500\na\n\n"
           "2\n00:00:02,200 --> 00:00:02,700\nb\n\n"
           "3\n00:00:03,200 --> 00:00:03,700\nc\n\n"
           "4\n00:00:04,300 --> 00:00:04,800\nd\n\n");
    /* A longer minimum stops at the next cue's start. */
    o.min_duration = 2.0;
    SRT_EQ(t, o,
           "1\n00:00:01,000 --> 00:00:02,200\na\n\n"
           "2\n00:00:02,200 --> 00:00:03,200\nb\n\n"
           "3\n00:00:03,200 --> 00:00:04,300\nc\n\n"
           "4\n00:00:04,300 --> 00:00:06,300\nd\n\n");
    app_transcript_free(&t);
}

static void test_progress_format(void) {
    char line[256];
    app_progress_format(line, sizeof line, "talk.flac", APP_PROGRESS_SECONDS, 65, 130, 65 / 20.0,
                        80);
    ASSERT_STR_EQ(line, "talk.flac [######################-----------------------]  50%  "
                        "1:05/2:10  3.2x");
    ASSERT_INT_EQ(strlen(line), 79);
    app_progress_format(line, sizeof line, "a.wav", APP_PROGRESS_SECONDS, 0, 4000, 0, 40);
    ASSERT_STR_EQ(line, "a.wav [------------]   0%  0:00/1:06:40");
    app_progress_format(line, sizeof line, "a-rather-long-name-for-an-audio-file.wav",
                        APP_PROGRESS_SECONDS, 10, 10, 10, 40);
    ASSERT_STR_EQ(line, "a-r [##########] 100%  0:10/0:10  10.0x");
    /* Unknown length (a pipe): position and speed, no bar. */
    app_progress_format(line, sizeof line, "stdin", APP_PROGRESS_SECONDS, 65, 0, 3.25, 80);
    ASSERT_STR_EQ(line, "stdin  1:05  3.2x");
    /* Downloads: bytes. */
    app_progress_format(line, sizeof line, "model.safetensors", APP_PROGRESS_BYTES, 1.2e9, 4.8e9,
                        85.3e6, 80);
    ASSERT_STR_EQ(line, "model.safetensors [#######---------------------]  25%  "
                        "1.2 GB/4.8 GB  85.3 MB/s");
    ASSERT_INT_EQ(strlen(line), 79);
    /* Not a terminal: nothing is drawn. */
    char *out = NULL;
    size_t size;
    FILE *f = open_memstream(&out, &size);
    app_progress p;
    app_progress_start(&p, f, "x", APP_PROGRESS_SECONDS, 10);
    ASSERT_INT_EQ(p.enabled, 0);
    app_progress_update(&p, 5);
    app_progress_end(&p);
    fclose(f);
    ASSERT_STR_EQ(out, "");
    free(out);
}

/* ---- streaming writer ------------------------------------------------------------------ */

typedef struct {
    int type; /* 1 word, 2 end word, 3 step */
    char text[32];
    double t;
    float prs[4];
} ev_t;

static unsigned rng_state = 12345;
static unsigned rnd(unsigned n) {
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 8) % n;
}

/* A random but plausible event sequence on the 80 ms grid. */
static int make_events(ev_t *ev, int max) {
    static const char *const words[] = {
        "a",           "hello", "world.", "Fine", "day!", "extraordinarily",
        "caf\xC3\xA9", "x<y&z", "no",     "yes?"};
    int n = 0;
    double t = 0;
    for (int i = 0; n < max - 3 && i < 200; i++) {
        t += 0.08 * (1 + rnd(rnd(5) ? 6 : 40));
        ev[n] = (ev_t){1, "", t, {0}};
        snprintf(ev[n].text, sizeof ev[n].text, "%s", words[rnd(10)]);
        n++;
        if (rnd(3)) {
            ev[n++] = (ev_t){2, "", t + 0.08 * (1 + rnd(8)), {0}};
            if (!rnd(6))
                ev[n++] = (ev_t){2, "", t + 0.9, {0}}; /* a second EndWord: ignored */
        }
        if (rnd(2)) {
            ev_t s = {3, "", t, {0.9f, 0.8f, rnd(3) ? 0.2f : 0.7f, 0.1f}};
            ev[n++] = s;
        }
    }
    return n;
}

static void test_streaming_writer_matches(void) {
    static ev_t ev[800];
    for (int round = 0; round < 40; round++) {
        int n = make_events(ev, 800);
        double duration = ev[n - 1].t + 0.5 * rnd(4);
        app_transcript t;
        app_transcript_init(&t, "in.wav");
        for (int i = 0; i < n; i++) {
            if (ev[i].type == 1)
                app_transcript_word(&t, ev[i].text, ev[i].t);
            else if (ev[i].type == 2)
                app_transcript_end_word(&t, ev[i].t);
            else
                app_transcript_vad(&t, ev[i].t, ev[i].prs);
        }
        app_transcript_finish(&t, duration);
        for (int fmt = 0; fmt < 5; fmt++) {
            app_writer_opts o = app_writer_opts_default();
            o.format = fmt <= 1   ? APP_FMT_TXT
                       : fmt == 2 ? APP_FMT_JSON
                       : fmt == 3 ? APP_FMT_SRT
                                  : APP_FMT_VTT;
            o.timestamps = fmt == 1;
            o.vad = fmt == 2;
            char *want = NULL, *got = NULL;
            size_t size;
            FILE *f = open_memstream(&want, &size);
            if (o.format == APP_FMT_JSON)
                app_write_json(f, &t, 1, 0), fputc('\n', f);
            else
                write_as(f, &t, o.format, o.timestamps, NULL);
            fclose(f);
            f = open_memstream(&got, &size);
            app_writer *w;
            ASSERT_INT_EQ(app_writer_new(&w, f, &o), 0);
            ASSERT_INT_EQ(app_writer_begin(w, "in.wav"), 0);
            for (int i = 0; i < n; i++) {
                int rc = ev[i].type == 1   ? app_writer_word(w, ev[i].text, ev[i].t)
                         : ev[i].type == 2 ? app_writer_end_word(w, ev[i].t)
                                           : app_writer_step(w, ev[i].t, ev[i].prs);
                ASSERT_INT_EQ(rc, 0);
            }
            ASSERT_INT_EQ(app_writer_end(w, duration, 0), 0);
            ASSERT_INT_EQ(app_writer_finish(w), 0);
            app_writer_free(w);
            fclose(f);
            if (strcmp(want, got))
                fprintf(stderr, "round %d format %d differs:\n--- whole\n%s--- streamed\n%s", round,
                        fmt, want, got);
            ASSERT_STR_EQ(got, want);
            free(want);
            free(got);
        }
        app_transcript_free(&t);
    }
}

/* Output appears before the input ends: txt per word, srt per completed cue, jsonl per event. */
static void test_streaming_is_early(void) {
    char *buf = NULL;
    size_t size;
    FILE *f = open_memstream(&buf, &size);
    app_writer_opts o = app_writer_opts_default();
    app_writer *w;
    ASSERT_INT_EQ(app_writer_new(&w, f, &o), 0);
    app_writer_begin(w, "x");
    app_writer_word(w, "Hello", 0.0);
    app_writer_word(w, "world", 0.4);
    ASSERT_STR_EQ(buf, "Hello world"); /* flushed: open_memstream updates buf on fflush */
    app_writer_end(w, 1.0, 0);
    app_writer_finish(w);
    ASSERT_STR_EQ(buf, "Hello world\n");
    app_writer_free(w);
    fclose(f);
    free(buf);

    f = open_memstream(&buf, &size);
    o.format = APP_FMT_SRT;
    ASSERT_INT_EQ(app_writer_new(&w, f, &o), 0);
    app_writer_begin(w, "x");
    app_writer_word(w, "One.", 0.0);
    app_writer_end_word(w, 0.4);
    app_writer_word(w, "Two", 3.0); /* a 2.6 s pause: the first cue is complete */
    app_writer_end_word(w, 3.4);
    ASSERT_STR_EQ(buf, "1\n00:00:00,000 --> 00:00:00,500\nOne.\n\n");
    app_writer_end(w, 4.0, 0);
    ASSERT_STR_EQ(buf, "1\n00:00:00,000 --> 00:00:00,500\nOne.\n\n"
                       "2\n00:00:03,000 --> 00:00:03,500\nTwo\n\n");
    app_writer_free(w);
    fclose(f);
    free(buf);

    f = open_memstream(&buf, &size);
    o = app_writer_opts_default();
    o.format = APP_FMT_JSONL;
    o.vad = 1;
    o.multi = 1;
    ASSERT_INT_EQ(app_writer_new(&w, f, &o), 0);
    app_writer_begin(w, "a \"b\".wav");
    float quiet[4] = {0.99f, 0.98f, 0.5f, 0.1f}, pause[4] = {1, 0.99f, 0.75f, 0.25f};
    app_writer_step(w, 0.08, pause); /* no word yet: no end of turn */
    app_writer_word(w, "hi", 0.16);
    app_writer_step(w, 0.24, quiet);
    app_writer_end_word(w, 0.4);
    app_writer_step(w, 0.48, pause);
    app_writer_step(w, 0.56, pause); /* one end of turn per turn */
    app_writer_end(w, 1.0, 0);
    ASSERT_STR_EQ(buf, "{\"type\":\"file\",\"file\":\"a \\\"b\\\".wav\"}\n"
                       "{\"type\":\"word\",\"text\":\"hi\",\"start\":0.16}\n"
                       "{\"type\":\"end_word\",\"stop\":0.40}\n"
                       "{\"type\":\"end_of_turn\",\"time\":0.48,\"prs\":[1.0000,0.9900,0.7500,"
                       "0.2500]}\n"
                       "{\"type\":\"end\",\"file\":\"a \\\"b\\\".wav\",\"duration\":1.00}\n");
    app_writer_free(w);
    fclose(f);
    free(buf);
}

static void test_writer_failed_input(void) {
    char *buf = NULL;
    size_t size;
    FILE *f = open_memstream(&buf, &size);
    app_writer_opts o = app_writer_opts_default();
    o.format = APP_FMT_JSON;
    o.multi = 1;
    app_writer *w;
    ASSERT_INT_EQ(app_writer_new(&w, f, &o), 0);
    app_writer_begin(w, "bad.wav");
    app_writer_word(w, "lost", 0.0);
    app_writer_end(w, 0.5, 1); /* failed: no object */
    app_writer_begin(w, "good.wav");
    app_writer_word(w, "kept", 0.0);
    app_writer_end(w, 0.5, 0);
    app_writer_finish(w);
    fflush(f);
    ASSERT_TRUE(strstr(buf, "lost") == NULL);
    ASSERT_TRUE(strstr(buf, "\"file\": \"good.wav\"") != NULL);
    ASSERT_TRUE(buf[0] == '[' && strstr(buf, "\n]\n") != NULL);
    app_writer_free(w);
    fclose(f);
    free(buf);
    ASSERT_INT_EQ(app_format_parse("jsonl"), APP_FMT_JSONL);
    ASSERT_INT_EQ(app_format_parse("doc"), -1);
}

int main(void) {
    RUN(test_word_ends);
    RUN(test_formats);
    RUN(test_txt);
    RUN(test_json);
    RUN(test_srt_vtt);
    RUN(test_cue_grouping);
    RUN(test_min_duration);
    RUN(test_progress_format);
    RUN(test_streaming_writer_matches);
    RUN(test_streaming_is_early);
    RUN(test_writer_failed_input);
    return test_summary();
}
