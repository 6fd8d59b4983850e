/*
 * A one-line progress bar for long transcriptions, drawn on a stream (stderr) only when that
 * stream is a terminal, so pipes, files and CI logs never see carriage returns. Redraws at most
 * ten times a second; kstt_progress_end erases the line. The line is
 *
 *     talk.flac [##########----------]  50%  1:05/2:10  3.1x
 *
 * (label, bar, percentage, audio position / length, speed in audio seconds per wall second),
 * fitted to the terminal width. kstt_progress_format is the pure part, for the tests.
 */
#ifndef KSTT_CLI_PROGRESS_H
#define KSTT_CLI_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    FILE *out;
    int enabled;      /* out is a terminal and total > 0 */
    char label[48];
    double total;     /* seconds of audio */
    double t0;        /* wall clock at start */
    double last_draw; /* wall clock of the last redraw, < 0 before the first */
    int width;        /* terminal columns */
} kstt_progress;

/* Starts a bar for `total` seconds of audio; label is typically the file's base name. */
void kstt_progress_start(kstt_progress *p, FILE *out, const char *label, double total);
/* Reports `done` seconds processed (redraws when due). */
void kstt_progress_update(kstt_progress *p, double done);
/* Erases the bar. */
void kstt_progress_end(kstt_progress *p);

/* Formats the line into buf (at most `width` columns, no newline). elapsed = wall seconds. */
void kstt_progress_format(char *buf, size_t cap, const char *label, double done, double total,
                          double elapsed, int width);

#endif
