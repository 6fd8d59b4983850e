/*
 * Transcripts: words with start and end times assembled from a stream's events, end-of-turn
 * probabilities, and the streaming writer for txt, JSON, JSON lines, SRT and WebVTT
 * (app_writer: output as the words come; its JSON is app_write_json of the assembled input).
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
 * longer than the limits gets a cue of its own. Every decision about a cue needs only its own
 * words and the first word of the next cue, so the writer prints each cue as soon as the next
 * one starts.
 *
 * JSON lines (one object per line, flushed per line; `kstt transcribe --format jsonl` and
 * `kstt listen --format jsonl`), times in seconds with 2 decimals, prs with 4:
 *   {"type":"word","text":"hello","start":1.28}
 *   {"type":"end_word","stop":1.60}
 *   {"type":"end_of_turn","time":3.92,"prs":[0.98,0.95,0.71,0.40]}
 * and from `kstt transcribe` also {"type":"file","file":"a.wav"} before each input when there
 * are several, and {"type":"end","file":"a.wav","duration":12.34} after each input.
 *
 * Everything here is pure (no globals, output through a FILE *), so the tests drive it with
 * open_memstream. Memory comes from malloc: this is not the library.
 */
#ifndef APP_TRANSCRIPT_H
#define APP_TRANSCRIPT_H

#include <stddef.h>
#include <stdio.h>

#include "app_json.h" /* app_json_string: JSON strings (escaped, UTF-8 checked) */

typedef struct {
    char *text;   /* UTF-8, owned */
    double start; /* seconds */
    double end;   /* seconds, >= start once known */
} app_tr_word;

typedef struct {
    double time;  /* seconds of the caller's audio consumed when the model step ran */
    float prs[4]; /* probability of a pause of at least 0.5, 1, 2, 3 s */
} app_tr_vad;

typedef struct {
    const char *name; /* the input as given on the command line ("-" = stdin); borrowed */
    double duration;  /* seconds of audio, set by app_transcript_finish */
    app_tr_word *words;
    size_t n_words, cap_words;
    app_tr_vad *vad;
    size_t n_vad, cap_vad;
    int open; /* 1 while the last word's end is unknown */
} app_transcript;

void app_transcript_init(app_transcript *t, const char *name);
void app_transcript_free(app_transcript *t);

/* Event handlers, in stream order. Return 0, or -1 when out of memory (t stays valid). */
int app_transcript_word(app_transcript *t, const char *text, double start);
void app_transcript_end_word(app_transcript *t, double stop);
int app_transcript_vad(app_transcript *t, double time, const float prs[4]);
/* End of input: closes the last word at the end of the audio if no EndWord did. */
void app_transcript_finish(app_transcript *t, double duration);

/* The words joined by single spaces, malloc'd (NULL when out of memory). */
char *app_transcript_text(const app_transcript *t);

/* Subtitle cue limits (app_cue_opts_default gives the values above). */
typedef struct {
    double max_gap;      /* a pause this long starts a new cue (0.8 s) */
    double max_duration; /* seconds (7) */
    int max_line_chars;  /* code points per line (42) */
    int max_lines;       /* 1 or 2 (2) */
    int sentence_chars;  /* a sentence end closes a cue this long (20); 0 = never */
    double min_duration; /* shortest display time, when the next cue allows (0.5 s) */
} app_cue_opts;

app_cue_opts app_cue_opts_default(void);

/* {"file", "text", "words": [{"word", "start", "end"}], "vad": [{"time", "prs"}]}, "vad" only
 * with with_vad; indent = spaces before each line (to nest it in an array). Returns 0, or -1
 * when out of memory or writing failed. (app_writer's JSON output.) */
int app_write_json(FILE *f, const app_transcript *t, int with_vad, int indent);

/* JSON lines events (see the file comment); each writes one line and flushes. */
int app_jsonl_word(FILE *f, const char *text, double start);
int app_jsonl_end_word(FILE *f, double stop);
int app_jsonl_end_of_turn(FILE *f, double time, const float prs[4]);

/* End of turn: the probability of a pause of at least 2 s (prs[2]) reaching a threshold once
 * at least one word was heard since the previous end of turn. */
typedef struct {
    float threshold; /* e.g. 0.6, the level unmute ends a user's turn at */
    int words;       /* words since the last end of turn */
} app_eot;
void app_eot_init(app_eot *e, float threshold);
void app_eot_word(app_eot *e);
/* 1 when this step ends a turn (and the word count restarts), else 0. */
int app_eot_step(app_eot *e, const float prs[4]);

/* ---- streaming writer ------------------------------------------------------------------ */

typedef enum { APP_FMT_TXT, APP_FMT_JSON, APP_FMT_SRT, APP_FMT_VTT, APP_FMT_JSONL } app_format;

/* Parses "txt", "json", "srt", "vtt", "jsonl"; -1 for anything else. */
int app_format_parse(const char *s);

typedef struct {
    app_format format;
    int timestamps;      /* txt: one word per line */
    int vad;             /* json: the "vad" array; jsonl: end_of_turn events */
    float eot_threshold; /* jsonl with vad: app_eot threshold */
    int multi;           /* several inputs: txt headers, a JSON array, jsonl file events */
    app_cue_opts cues;
} app_writer_opts;

app_writer_opts app_writer_opts_default(void);

typedef struct app_writer app_writer;

/* A writer printing to f (borrowed). Output appears as soon as the format allows it: txt
 * word by word (with timestamps: per closed word), jsonl per event, srt/vtt per completed cue;
 * JSON keeps its field order ("text" before "words"), so each object is written when its
 * input ends (memory: the words and VAD steps of one input, never the audio). Every write is
 * flushed. Returns 0 or -1 (out of memory). */
int app_writer_new(app_writer **out, FILE *f, const app_writer_opts *o);
/* Starts an input (name borrowed until app_writer_end). */
int app_writer_begin(app_writer *w, const char *name);
/* Stream events of the current input, in order; time in seconds of its audio. */
int app_writer_word(app_writer *w, const char *text, double start);
int app_writer_end_word(app_writer *w, double stop);
int app_writer_step(app_writer *w, double time, const float prs[4]);
/* Ends the current input (duration: seconds of audio). failed: the input stopped on an error;
 * what was printed is closed off (txt: a newline), a JSON object is not written. */
int app_writer_end(app_writer *w, double duration, int failed);
/* Writes what closes the output (the JSON array's "]"). */
int app_writer_finish(app_writer *w);
/* Every app_writer call returns -1 once a write failed or memory ran out (ferror on the FILE
 * tells which). Releases the writer (NULL ok); the FILE stays open. */
void app_writer_free(app_writer *w);

/* Helpers exposed for the tests. */
/* "HH:MM:SS,mmm" (SRT, sep ',') or "HH:MM:SS.mmm" (VTT, sep '.'); negative times print as 0. */
void app_format_timestamp(char *buf, size_t cap, double seconds, char sep);
/* Seconds with at least 2 and at most 3 decimals ("1.84", "2.00", "1.845"). */
void app_format_seconds(char *buf, size_t cap, double seconds);
/* Code points in a UTF-8 string (each ill-formed byte counts as one). */
size_t app_utf8_chars(const char *s);

#endif
