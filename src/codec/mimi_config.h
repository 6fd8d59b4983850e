/*
 * Mimi encoder configuration: the real Mimi's dimensions built in (mimi-pytorch-e351c8d8@125,
 * reference-model.md section 2), overridable by a Mimi config JSON in the reference's schema
 * (the one of golden/stt_tiny/mimi_tiny_config.json). Only what the encoder computes is kept;
 * settings this implementation does not support (non-causal, several residual layers per
 * stage, other norms or activations, gating) are rejected with KSTT_EUNSUPPORTED rather than
 * silently computed differently.
 */
#ifndef KSTT_CODEC_MIMI_CONFIG_H
#define KSTT_CODEC_MIMI_CONFIG_H

#include <stddef.h>

#define KSTT_MIMI_MAX_RATIOS 8

typedef struct {
    int sample_rate;   /* 24000 */
    double frame_rate; /* 12.5 code frames per second */
    /* SEANet encoder */
    int n_filters;            /* 64: channels after the input conv */
    int dimension;            /* 512: latent channels (= d_model) */
    int kernel_size;          /* 7: input conv */
    int residual_kernel_size; /* 3 */
    int last_kernel_size;     /* 3 */
    int compress;             /* 2: residual hidden = C / compress */
    int n_ratios;
    int ratios[KSTT_MIMI_MAX_RATIOS]; /* decoder order [8, 6, 5, 4]; the encoder runs them reversed
                                       */
    /* encoder transformer */
    int d_model, num_heads, num_layers, dim_feedforward;
    int context;      /* 250 25-Hz steps */
    float max_period; /* RoPE: 10000 */
    int layer_scale;  /* 1: layer_scale_{1,2}.scale tensors exist */
    /* split RVQ */
    int q_dim; /* 256: codebook dimension */
    int n_q;   /* 32: 1 semantic + n_q - 1 acoustic */
    int bins;  /* 2048 */
    /* derived by kstt__mimi_config_finish */
    int hop;        /* prod(ratios): samples per 25-Hz step (960) */
    int frame_size; /* samples per code frame (1920) */
    int ds_stride;  /* 25 Hz -> 12.5 Hz downsample stride (2) */
    int head_dim;
} kstt__mimi_config;

/* The real Mimi (already finished). */
void kstt__mimi_config_default(kstt__mimi_config *c);
/* Overrides c with the keys of a JSON document (others keep their value), then finishes it.
 * `name` (a path) is used in messages. */
int kstt__mimi_config_parse(kstt__mimi_config *c, const char *json, size_t len, const char *name,
                            char *err, size_t errlen);
/* Reads a JSON file and parses it as above. */
int kstt__mimi_config_load(kstt__mimi_config *c, const char *path, char *err, size_t errlen);
/* Checks consistency and fills the derived fields. */
int kstt__mimi_config_finish(kstt__mimi_config *c, const char *name, char *err, size_t errlen);

#endif
