/*
 * The stream object behind the public kstt_stream handle and the batch's step loop, shared by
 * stream.c (lifetime, feed, flush, read) and batch.c (kstt_batch: the one loop that steps
 * streams, alone or together).
 */
#ifndef KSTT_ASR_STREAM_H
#define KSTT_ASR_STREAM_H

#include <stdint.h>

#include "asr/asr.h"
#include "asr/model.h"
#include "kstt.h"
#include "lm/lm.h"

#define KSTT__STREAM_MAX_FRAMES 16 /* code frames per Mimi call */

struct kstt_stream {
    kstt_model *model;
    kstt_stream_params params;
    kstt_mimi_stream *mimi;
    kstt__lm_state *lm; /* the LM's state of this stream (KV ring, position) */
    kstt__asr asr;
    kstt_batch *own; /* batch of one: kstt_stream_feed / flush */
    int32_t *codes;  /* [MAX_FRAMES, n_q] codes not yet stepped */
    int n_codes, codes_pos;
    float *zeros;        /* [MAX_FRAMES * frame_size] */
    int64_t prefix_left; /* pad mode: zero frames still to insert before the audio */
    int64_t samples;     /* caller samples since reset */
    int flushed;
    char errmsg[512];
};

/* One stream's input to a run of the batch: samples (pcm, n) or, with codes set, n frames of
 * Mimi codes stepped as they are (no pad prefix: the test and tool hook). */
typedef struct {
    kstt_stream *s;
    const float *pcm;
    const int32_t *codes;
    size_t n;
    int user_audio; /* samples count toward the caller's audio (0 for flush padding) */
} kstt__batch_input;

/* Steps the streams of in[0..count) (count <= the batch's max_streams, valid and distinct:
 * the caller checked) until all of their input is consumed. *steps gets the number of model
 * steps run (also on failure). On failure the failing streams' messages are set. */
int kstt__batch_run(kstt_batch *b, const kstt__batch_input *in, int count, int64_t *steps);

/* The start of every call that takes input: the events handed out by the last read die, the
 * last message is cleared, and a flushed stream refuses (KSTT_ESTATE, with a message). */
int kstt__stream_begin(kstt_stream *s);
/* Sets the message "what: <status text>" and returns rc. */
int kstt__stream_fail(kstt_stream *s, int rc, const char *what);

#endif
