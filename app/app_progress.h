/*
 * The one progress bar of the front ends (audio transcription and model downloads), drawn on
 * a stream (stderr) only when that stream is a terminal, so pipes, files and CI logs never see
 * carriage returns. Redraws at most ten times a second; app_progress_end erases the line. The
 * line is, for audio (APP_PROGRESS_SECONDS):
 *
 *     talk.flac [##########----------]  50%  1:05/2:10  3.1x
 *
 * (label, bar, percentage, position / length, speed in audio seconds per wall second), and for
 * downloads (APP_PROGRESS_BYTES):
 *
 *     model.safetensors [#####---------------]  25%  1.2 GB/4.8 GB  85.3 MB/s
 *
 * fitted to the terminal width. An unknown total (<= 0) draws the position and speed without
 * a bar. app_progress_format is the pure part, for the tests.
 */
#ifndef APP_PROGRESS_H
#define APP_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

typedef enum { APP_PROGRESS_SECONDS = 0, APP_PROGRESS_BYTES = 1 } app_progress_unit;

typedef struct {
    FILE *out;
    int enabled; /* out is a terminal (a caller may set it to force the bar) */
    app_progress_unit unit;
    char label[48];
    double total;     /* seconds of audio or bytes; <= 0: unknown */
    double start;     /* position when the bar started (a resumed download) */
    double t0;        /* wall clock at start */
    double last_draw; /* wall clock of the last redraw, < 0 before the first */
    int width;        /* terminal columns */
} app_progress;

/* Starts a bar; label is typically the file's base name. out NULL: a disabled bar. */
void app_progress_start(app_progress *p, FILE *out, const char *label, app_progress_unit unit,
                        double total);
/* Sets where counting starts (speed is measured from there; e.g. resumed downloads). */
void app_progress_set_start(app_progress *p, double start);
/* Reports `done` units processed (redraws when due). */
void app_progress_update(app_progress *p, double done);
/* Erases the bar. */
void app_progress_end(app_progress *p);
/* Draws the final state (done) and keeps the line (a newline ends it): finished downloads. */
void app_progress_done(app_progress *p, double done);
/* A drawn line that an error message is about to interrupt: ends it with a newline. */
void app_progress_break(app_progress *p);

/* Formats the line into buf (at most `width` columns, no newline). elapsed = wall seconds,
 * rate = units per second (<= 0: not shown). */
void app_progress_format(char *buf, size_t cap, const char *label, app_progress_unit unit,
                         double done, double total, double rate, int width);

/* "306.4 kB": decimal units, as Hugging Face pages print them. */
void app_human_size(char *out, size_t cap, double bytes);

#endif
