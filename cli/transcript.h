/*
 * Transcripts for `kstt transcribe`: words with start and end times assembled from the stream's
 * events, end-of-turn probabilities, and the writers for txt, JSON, SRT and WebVTT.
 *
 * Word ends. The stream reports a Word with its start (the boundary before it) and, separately,
 * EndWord events with a stop time; several words can share one EndWord (pad-separated words),
 * so a word's end is:
 *   - the stop of the next EndWord when that EndWord comes before the next Word;
 *   - else the start of the next Word (words may then touch, or have zero length when the model
 *     gave them the same start);
 *   - for the last word when no EndWord follows: the end of the audio (never before its start).
 * Times are seconds from the start of the caller's audio, on the model's 80 ms grid.
 *
 * Subtitle cues (SRT, VTT) group consecutive words; a new cue starts when
 *   - the pause since the previous word's end is >= 0.8 s, or
 *   - adding the word would make the cue last more than 7 s, or
 *   - its text would no longer fit in 2 lines of 42 characters (code points), or
 *   - the previous word ends a sentence (. ? ! ...) and the cue already holds 20 characters.
 * A cue of more than 42 characters is split into two lines at the word boundary that balances
 * them best. A cue is shown for at least 0.5 s where the next cue leaves room. A single word
 * longer than the limits gets a cue of its own.
 *
 * Everything here is pure (no globals, output through a FILE *), so the unit tests drive it with
 * open_memstream. Memory comes from malloc: the CLI is not the library.
 */
#ifndef KSTT_CLI_TRANSCRIPT_H
#define KSTT_CLI_TRANSCRIPT_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    char *text;   /* UTF-8, owned */
    double start; /* seconds */
    double end;   /* seconds, >= start once known */
} kstt_tr_word;

typedef struct {
    double time;  /* seconds of the caller's audio consumed when the model step ran */
    float prs[4]; /* probability of a pause of at least 0.5, 1, 2, 3 s */
} kstt_tr_vad;

typedef struct {
    const char *name; /* the input as given on the command line ("-" = stdin); borrowed */
    double duration;  /* seconds of audio, set by kstt_transcript_finish */
    kstt_tr_word *words;
    size_t n_words, cap_words;
    kstt_tr_vad *vad;
    size_t n_vad, cap_vad;
    int open; /* 1 while the last word's end is unknown */
} kstt_transcript;

void kstt_transcript_init(kstt_transcript *t, const char *name);
void kstt_transcript_free(kstt_transcript *t);

/* Event handlers, in stream order. Return 0, or -1 when out of memory (t stays valid). */
int kstt_transcript_word(kstt_transcript *t, const char *text, double start);
void kstt_transcript_end_word(kstt_transcript *t, double stop);
int kstt_transcript_vad(kstt_transcript *t, double time, const float prs[4]);
/* End of input: closes the last word at the end of the audio if no EndWord did. */
void kstt_transcript_finish(kstt_transcript *t, double duration);

/* The words joined by single spaces, malloc'd (NULL when out of memory). */
char *kstt_transcript_text(const kstt_transcript *t);

/* Subtitle cue limits (kstt_cue_opts_default gives the values above). */
typedef struct {
    double max_gap;      /* a pause this long starts a new cue (0.8 s) */
    double max_duration; /* seconds (7) */
    int max_line_chars;  /* code points per line (42) */
    int max_lines;       /* 1 or 2 (2) */
    int sentence_chars;  /* a sentence end closes a cue this long (20); 0 = never */
    double min_duration; /* shortest display time, when the next cue allows (0.5 s) */
} kstt_cue_opts;

typedef struct {
    size_t first, count; /* words[first .. first + count) */
    size_t line2;        /* index (absolute) of the first word of line 2; first + count if one */
    double start, end;
} kstt_cue;

kstt_cue_opts kstt_cue_opts_default(void);
/* Groups the words into cues. *out is malloc'd (NULL when there are no words); returns the
 * number of cues or -1 when out of memory. */
long kstt_transcript_cues(const kstt_transcript *t, const kstt_cue_opts *o, kstt_cue **out);

/* Writers. Each returns 0, or -1 when out of memory or when writing failed (check ferror). */

/* The text and a newline; with timestamps, one word per line: "[1.84 - 2.40] word". */
int kstt_write_txt(FILE *f, const kstt_transcript *t, int timestamps);
/* {"file", "text", "words": [{"word", "start", "end"}], "vad": [{"time", "prs"}]}, "vad" only
 * with with_vad; indent = spaces before each line (to nest it in an array). */
int kstt_write_json(FILE *f, const kstt_transcript *t, int with_vad, int indent);
int kstt_write_srt(FILE *f, const kstt_transcript *t, const kstt_cue_opts *o);
int kstt_write_vtt(FILE *f, const kstt_transcript *t, const kstt_cue_opts *o);

/* Helpers exposed for the tests. */
/* "HH:MM:SS,mmm" (SRT, sep ',') or "HH:MM:SS.mmm" (VTT, sep '.'); negative times print as 0. */
void kstt_format_timestamp(char *buf, size_t cap, double seconds, char sep);
/* Seconds with at least 2 and at most 3 decimals ("1.84", "2.00", "1.845"). */
void kstt_format_seconds(char *buf, size_t cap, double seconds);
/* Code points in a UTF-8 string (each ill-formed byte counts as one). */
size_t kstt_utf8_chars(const char *s);

#endif
