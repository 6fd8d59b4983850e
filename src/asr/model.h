/*
 * The STT model object behind the public kstt_model handle, shared by model.c (loading) and
 * stream.c (streams). Immutable after kstt_model_load: streams only read it.
 */
#ifndef KSTT_ASR_MODEL_H
#define KSTT_ASR_MODEL_H

#include <stdint.h>

#include "io/weights.h"
#include "kstt.h"
#include "lm/config.h"
#include "lm/lm.h"
#include "tokenizer/sentencepiece.h"

struct kstt_model {
    kstt__stt_config cfg;
    kstt__weights *weights; /* LM weights (safetensors or GGUF), mmapped; the LM uses them */
    kstt__lm *lm;
    kstt_mimi *mimi;
    kstt__spm *spm;
    kstt_pool *pool;   /* borrowed */
    int delay;         /* asr_delay_in_tokens in effect */
    int n_codebooks;   /* audio codebooks in effect (params num_codebooks, else n_q): Mimi's
                          codes per frame and the ones the LM reads */
    int frame_size;    /* samples per LM step (1920) */
    int sample_rate;   /* 24000 */
    int prefix_frames; /* pad mode: ceil(audio_silence_prefix_seconds * 12.5) */
    int suffix_frames; /* pad mode: ceil((audio_delay_seconds + 1) * 12.5) */
};

/* Internal test and tool hook: runs one LM step per frame of given Mimi codes
 * (codes[frame * n_codebooks + k]), bypassing the audio path and the pad-mode prefix. Returns the
 * number of steps run or a status. */
int kstt__stream_feed_codes(kstt_stream *s, const int32_t *codes, size_t n_frames);

#endif
