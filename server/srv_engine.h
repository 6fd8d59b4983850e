/* srv_engine: the per-model inference loop and the streams it serves.
 *
 * One engine thread owns the model's compute: each iteration it takes one 1920-sample frame
 * from every stream that has one and steps them all in one batched call (srv_feed), turns the
 * events into encoded protocol messages on each stream's output queue, and wakes the I/O
 * thread. The I/O thread pushes audio, markers and resets into streams and pops their output;
 * one mutex guards the shared parts. A stream with no full frame is not in the batch; under
 * load the loop waits a bounded time (at most a frame period) for the live streams whose next
 * frame is due, so that they step together, but a slow or silent client is never waited for
 * past its due time and never holds up the others. */
#ifndef SRV_ENGINE_H
#define SRV_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "kstt.h"
#include "srv_metrics.h"
#include "srv_msg.h"

typedef struct srv_engine srv_engine;
typedef struct srv_stream srv_stream;

typedef struct {
    size_t max_streams;       /* slots */
    size_t backlog_samples;   /* per-stream backlog above which input is paused */
    double batch_wait;        /* longest wait for more streams to gather a batch, seconds:
                                 < 0 auto (a frame period, while steps take over half of one),
                                 0 never (see gather_until_locked in srv_engine.c) */
    size_t out_pre;           /* spare bytes before each encoded message (LWS_PRE) */
    void (*wake)(void *user); /* new output or resumable input: wake the I/O loop */
    void *wake_user;
    srv_metrics *metrics;
} srv_engine_config;

typedef enum { SRV_STREAM_WS = 0, SRV_STREAM_POST = 1 } srv_stream_kind;

int srv_engine_new(srv_engine **out, kstt_model *model, const srv_engine_config *cfg, char *err,
                   size_t errlen);
/* Stops the thread and frees every stream. */
void srv_engine_free(srv_engine *e);
size_t srv_engine_used(srv_engine *e);
size_t srv_engine_total(const srv_engine *e);
int srv_engine_delay(const srv_engine *e); /* D, in frames */

/* I/O side. srv_stream_open takes a slot (NULL with err "no free channels" when none). */
srv_stream *srv_stream_open(srv_engine *e, srv_stream_kind kind, char *err, size_t errlen);
/* Appends samples; returns the backlog in samples afterwards. */
size_t srv_stream_push_audio(srv_stream *s, const float *pcm, size_t n);
/* Returns -1 when too many markers are pending. */
int srv_stream_push_marker(srv_stream *s, int64_t id);
void srv_stream_reset(srv_stream *s);
/* POST: no more audio; the engine flushes the stream, then srv_stream_done() turns 1, or -1
 * when the transcription failed (the JSON is then incomplete: answer 500). */
void srv_stream_end_input(srv_stream *s);
int srv_stream_done(srv_stream *s);
/* POST result: a JSON array (owned by the stream, valid until srv_stream_close). */
const char *srv_stream_json(srv_stream *s, size_t *len);
srv_out_msg *srv_stream_pop(srv_stream *s);
int srv_stream_has_output(srv_stream *s);
/* 1 once (and clears it) when input paused for back-pressure may resume. */
int srv_stream_take_resume(srv_stream *s);
void srv_stream_set_paused(srv_stream *s);
size_t srv_stream_backlog(srv_stream *s);
size_t srv_stream_out_bytes(srv_stream *s);
/* 1 when no full frame waits, no step is running for it and its output queue is empty. */
int srv_stream_idle(srv_stream *s);
/* 1 while a full frame waits or a step runs for it (the server, not the client, is behind). */
int srv_stream_busy(srv_stream *s);
/* The I/O side lets go: queued audio is dropped and the slot freed after the current step. */
void srv_stream_close(srv_stream *s);

#endif
