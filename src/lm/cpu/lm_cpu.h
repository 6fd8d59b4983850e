/*
 * The CPU backend of the LM (lm/lm.h): weights used in place from the mapped file (or repacked
 * at load for the block-quantized kernels), per-stream KV rings in host memory, and the step as
 * a loop over layers of kstt__matmul calls through the model's kernel table.
 *
 * Visible to src/lm and to tests/tools that inspect the CPU model (storage types, traces);
 * src/asr uses lm/lm.h only.
 */
#ifndef KSTT_LM_CPU_LM_CPU_H
#define KSTT_LM_CPU_LM_CPU_H

#include "kernels/kernels.h"
#include "lm/lm.h"

typedef struct {
    const float *norm1, *norm2; /* [D] f32 (model-owned copies) */
    kstt__wmat in_proj;         /* [3D, D]: rows q, k, v */
    kstt__wmat out_proj;        /* [D, D] */
    kstt__wmat linear_in;       /* [2H, D] */
    kstt__wmat linear_out;      /* [D, H] */
} kstt__lm_layer;

typedef struct {
    kstt__wmat text_emb;    /* [text_card + 1, D], any weight type, in the mapping */
    kstt__wmat *emb;        /* n_q x [card + 1, D] */
    kstt__lm_layer *layers; /* n_layers */
    const float *out_norm;  /* [D] f32 */
    kstt__wmat text_linear; /* [text_card, D] */
    kstt__wmat *vad;        /* n_vad x [vad_dim, D] */
    float max_period;

    float *alphas; /* owned block holding every norm alpha in f32 */
    const kstt__kernels *k;
    kstt_pool *pool;           /* borrowed */
    const kstt__weights *file; /* borrowed: the weights point into its mapping */
} kstt__lm_cpu;

/* The CPU model behind lm (which must have been loaded by the CPU backend). */
static inline const kstt__lm_cpu *kstt__lm_cpu_of(const kstt__lm *lm) {
    return (const kstt__lm_cpu *)lm->be;
}

/* Fills lm->be (and the shape fields of lm) from the file; lm->ops is set by the caller. */
int kstt__lm_cpu_load(kstt__lm *lm, const kstt__weights *file, const kstt__stt_config *cfg,
                      kstt_pool *pool, kstt_kernels kernels, kstt_kv_type kv, char *err,
                      size_t errlen);

/* Frees what kstt__lm_cpu_load made (lm->be); lm itself stays. */
void kstt__lm_cpu_free(kstt__lm *lm);

/* Optional observer of intermediate tensors (tests): called with what = "emb_in", "layer"
 * (with the layer index) and "out_norm"; x is [n, D]. */
typedef void (*kstt__lm_trace_fn)(void *user, const char *what, int layer, const float *x, int n);

/* kstt__lm_step with an observer (trace may be NULL). */
int kstt__lm_cpu_step_traced(const kstt__lm *lm, kstt__lm_work *w, kstt__lm_state *const *states,
                             const int32_t *tokens, int n, float *logits, float *vad,
                             kstt__lm_trace_fn trace, void *user);

extern const kstt__lm_ops kstt__lm_cpu_ops;

#endif
