/*
 * The ASR decoding state of one stream (reference-model.md 4.1, golden README 7): which tokens
 * the LM sees at each step, how the chosen text tokens become Word / EndWord events, and the
 * event queue the public stream hands out. It knows nothing about audio or the LM's math, so
 * tests can drive it with recorded inputs and outputs.
 *
 * Per step (D = asr_delay_in_tokens, START = text_card, APAD = card):
 *   input:  step 0 -> (START, APAD x n_q); step k >= 1 -> (token of step k-1, codes of frame
 *           k-1): the audio lags one frame, the codes of the frame given at step k are held
 *           back (`pending`) until step k+1;
 *   output: token = argmax (ties -> lowest id) or, with temperature > 0, Gumbel-max sampling;
 *           Step event (VAD models); then, once step >= D (1-based), PAD/EPAD close the word
 *           being assembled (Word, start = last EPAD time), other ids extend it, and an EPAD
 *           emits EndWord for words not yet ended and sets the EPAD time (step - D) / 12.5.
 *
 * Times are kept as integer step counts and reported as (count - offset) / 12.5, so they are
 * exact multiples of 80 ms; `offset_steps` is the pad-mode silence prefix, and with
 * `clamp_times` a time before the caller's audio is reported as 0.
 *
 * Beyond the reference: kstt__asr_finish emits the word still being assembled at end of input
 * and a closing EndWord, and a Word whose decoded text is empty (a lone boundary piece) is not
 * reported (nor marked as waiting for an EndWord).
 *
 * Memory: buffers are allocated at init; the word buffer and the event queue (events, their
 * texts and tokens) grow geometrically when a burst outgrows them, which is the only
 * allocation after init.
 */
#ifndef KSTT_ASR_ASR_H
#define KSTT_ASR_ASR_H

#include <stddef.h>
#include <stdint.h>

#include "kstt.h"
#include "tokenizer/sentencepiece.h"

typedef struct {
    int n_q, card, text_card; /* audio codebooks in use (the model's n_codebooks), audio
                                 vocabulary, text output vocabulary */
    int pad_id, epad_id;      /* 3 and 0 */
    int delay;                /* asr_delay_in_tokens */
    int n_vad, vad_dim;       /* extra heads (0: no Step events) */
    int step_events;
    float temperature;
    uint64_t seed;
    int64_t offset_steps; /* subtracted from event times (pad mode: the prefix frames) */
    int clamp_times;      /* report negative times as 0 */
    const kstt__spm *spm; /* word texts; NULL: no text (and no empty-word filter) */
    void (*on_event)(void *user, const kstt_event *ev);
    void *user;
} kstt__asr_params;

typedef struct {
    kstt_event_type type;
    int64_t step;
    double start, stop;
    float prs[4];
    size_t text_off, tok_off; /* into the arenas */
    int32_t n_tokens;
} kstt__asr_qevent;

typedef struct {
    kstt__asr_params p;
    int64_t step;     /* LM steps run since reset */
    int32_t prev;     /* token chosen at the last step */
    int32_t *pending; /* [n_q] codes of the last frame, fed at the next step */
    int32_t *word;    /* tokens of the word being assembled */
    size_t n_word, cap_word;
    int unended;       /* a reported word waits for its EndWord */
    int64_t last_stop; /* step count (step - D) of the last EPAD */
    uint64_t rng;

    kstt__asr_qevent *q; /* queued events; [head, n) not yet read */
    size_t n_q_ev, cap_q, head;
    char *text; /* NUL-terminated word texts */
    size_t n_text, cap_text;
    int32_t *toks; /* word tokens */
    size_t n_toks, cap_toks;
} kstt__asr;

int kstt__asr_init(kstt__asr *a, const kstt__asr_params *p);
void kstt__asr_free(kstt__asr *a);
/* Fresh state (same params): step 0, start tokens, empty word and queue, RNG reseeded. */
void kstt__asr_reset(kstt__asr *a);

/* The LM input of the next step given the codes of the newest frame (n_q ids; NULL at a step
 * that has no new frame is not allowed: every step consumes one frame). Writes 1 + n_q ids. */
void kstt__asr_input(kstt__asr *a, const int32_t *codes, int32_t *tokens);
/* Consumes the LM outputs of the step whose input was built last: text logits [text_card] and
 * VAD probabilities [n_vad, vad_dim] (may be NULL when n_vad is 0). Emits the step's events.
 * Returns KSTT_OK or KSTT_ENOMEM (queue growth failed; the token is still taken). */
int kstt__asr_output(kstt__asr *a, const float *logits, const float *vad);
/* End of input: reports the word being assembled and, if a reported word has no EndWord yet,
 * one stopping at `stop_steps` (a step count on the same scale as EPAD times). */
int kstt__asr_finish(kstt__asr *a, int64_t stop_steps);

/* Frees the space of events handed out by the last read (their pointers die here). Call at
 * the start of every call on the owning stream. */
void kstt__asr_release(kstt__asr *a);
/* Copies up to max queued events to out; pointers valid until the next release. */
size_t kstt__asr_read(kstt__asr *a, kstt_event *out, size_t max);
/* Number of queued events not yet read. */
size_t kstt__asr_pending_events(const kstt__asr *a);

#endif
