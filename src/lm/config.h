/*
 * The STT model's config.json (the Hugging Face repo's file: moshi LMModel kwargs plus the
 * extras naming the other files and the STT delays), parsed with cJSON into a flat struct.
 *
 * Unknown keys are ignored (the real files carry depformer_* and conditioner keys that have no
 * effect on an STT model). Required keys that are missing or of the wrong type are errors whose
 * message names the file and the key. Keys that would change the architecture to something this
 * code does not implement (dep_q > 0, another gating/norm/positional embedding) are rejected
 * with KSTT_EUNSUPPORTED rather than silently computing something else.
 *
 * File names are stored in fixed buffers so that the struct is plain data (no ownership).
 */
#ifndef KSTT_LM_CONFIG_H
#define KSTT_LM_CONFIG_H

#include <stddef.h>

#include "kstt.h"

#define KSTT__CFG_NAME_MAX 256

typedef struct {
    char moshi_name[KSTT__CFG_NAME_MAX];       /* LM weights; default "model.safetensors" */
    char mimi_name[KSTT__CFG_NAME_MAX];        /* required */
    char mimi_config_name[KSTT__CFG_NAME_MAX]; /* optional; "" when absent */
    char tokenizer_name[KSTT__CFG_NAME_MAX];   /* required */

    int dim;       /* d_model */
    int num_heads; /* dim % num_heads == 0, head_dim even */
    int num_layers;
    int context;   /* attention context in steps (KV ring size) */
    int n_q;       /* audio codebooks read by the LM */
    int card;      /* audio vocabulary; input id `card` is the audio start/pad token */
    int text_card; /* text output vocabulary; input id `text_card` is the text start token */
    int pad_id;    /* existing_text_padding_id, default 3 */
    double max_period;
    int extra_heads_num_heads; /* 0 when absent */
    int extra_heads_dim;       /* default 6 */

    double audio_delay_seconds;          /* stt_config */
    double audio_silence_prefix_seconds; /* stt_config */
    int asr_delay_in_tokens;             /* -1 when the key is absent */
} kstt__stt_config;

/* Parses a config image (borrowed, len bytes, need not be NUL-terminated). `name` is used in
 * messages ("<name>: missing key \"dim\""). Returns KSTT_OK, KSTT_EFORMAT (bad JSON, missing
 * or mistyped key, value out of range), KSTT_EUNSUPPORTED or KSTT_ENOMEM. */
int kstt__stt_config_parse(kstt__stt_config *cfg, const char *json, size_t len, const char *name,
                           char *err, size_t errlen);
/* Reads and parses a file. KSTT_ENOTFOUND / KSTT_EIO: "<path>: cannot open: <reason>". */
int kstt__stt_config_load(kstt__stt_config *cfg, const char *path, char *err, size_t errlen);

#endif
