/*
 * The STT language model (reference-model.md section 3): weights, the per-stream KV ring, and
 * one batched step.
 *
 * One step of B streams takes, per stream, one text token and n_q audio tokens and produces
 * the text logits and the VAD probabilities (when the model has the extra heads):
 *
 *   x  = emb_0[a_0] + ... + emb_{n_q-1}[a_{n_q-1}] + text_emb[t]     (this order, f32)
 *   per layer: x += out_proj(attn(rope(in_proj(rms1(x)))))
 *              x += linear_out(silu(g[0:H]) * g[H:2H]),  g = linear_in(rms2(x))
 *   y = out_norm(x); logits = text_linear y; vad[h] = softmax(extra_heads.h y)
 *
 * The weights come from a safetensors or a GGUF file (io/weights.h; the format is detected
 * from the file). Weight matrices stay in the mmapped file in their stored type (BF16, F16,
 * F32, or the block types Q8_0/Q4_0/Q4_K of a GGUF) and are used through kstt__matmul with
 * batch = streams; embeddings are row lookups converted to f32 per step (any of those types);
 * only the RMSNorm alphas are converted to f32 at load (they are small). Activations and
 * attention are f32; the KV ring is f32 or IEEE half (kv_type, chosen at load: see
 * kstt_kv_type in kstt.h), widened to f32 as the attention reads it.
 *
 * KV ring memory per stream: 2 (K, V) x n_layers x context x dim elements of 4 (f32) or 2
 * (f16) bytes; the 1B model (16 x 750 x 2048): 196.6 MB f32, 98.3 MB f16. The layout is
 * head-major, [n_layers][n_heads][context][head_dim], so that the attention of one (layer,
 * head) streams one contiguous block of context x head_dim elements (two runs when the ring
 * has wrapped).
 *
 * Invariants: a kstt__lm is immutable after load and may be shared by threads; a cache belongs
 * to one stream; a work area belongs to one caller at a time and is sized for a maximum batch.
 * kstt__lm_step allocates nothing.
 */
#ifndef KSTT_LM_LM_H
#define KSTT_LM_LM_H

#include <stdint.h>

#include "io/weights.h"
#include "kernels/kernels.h"
#include "kstt.h"
#include "lm/config.h"

typedef struct {
    const float *norm1, *norm2; /* [D] f32 (model-owned copies) */
    kstt__wmat in_proj;         /* [3D, D]: rows q, k, v */
    kstt__wmat out_proj;        /* [D, D] */
    kstt__wmat linear_in;       /* [2H, D] */
    kstt__wmat linear_out;      /* [D, H] */
} kstt__lm_layer;

typedef struct kstt__lm {
    int dim, n_heads, head_dim, n_layers, hidden; /* hidden = H, from the weight shapes */
    int n_q, card, text_card, context;
    float max_period;
    int n_vad, vad_dim;   /* extra heads (0 when the file has none) */
    kstt_kv_type kv_type; /* KSTT_KV_F32 or KSTT_KV_F16 (never AUTO: resolved at load) */

    kstt__wmat text_emb;    /* [text_card + 1, D], any weight type, in the mapping */
    kstt__wmat *emb;        /* n_q x [card + 1, D] */
    kstt__lm_layer *layers; /* n_layers */
    const float *out_norm;  /* [D] f32 */
    kstt__wmat text_linear; /* [text_card, D] */
    kstt__wmat *vad;        /* n_vad x [vad_dim, D] */

    float *alphas; /* owned block holding every norm alpha in f32 */
    const kstt__kernels *k;
    kstt_pool *pool;           /* borrowed */
    const kstt__weights *file; /* borrowed: the weights point into its mapping */
} kstt__lm;

/* Per-stream state: the KV ring of every layer and the stream position. */
typedef struct {
    int64_t pos; /* steps run since reset = RoPE position of the next step */
    void *k;     /* [n_layers, n_heads, context, head_dim] rotated keys, f32 or f16, owned */
    void *v;     /* [n_layers, n_heads, context, head_dim] values, f32 or f16, owned */
} kstt__lm_cache;

/* Scratch for one batched step, sized for up to `cap` streams. The outputs of the last step
 * are read from `logits`, `vad` and `out`. */
typedef struct {
    int cap;
    int nth;       /* threads of the pool the scratch was sized for */
    float *x;      /* [cap, D] residual stream */
    float *xn;     /* [cap, D] normalised input of a sub-block */
    float *qkv;    /* [cap, 3D] */
    float *att;    /* [cap, D] attention output (heads concatenated) */
    float *g;      /* [cap, 2H] gate and value of the FFN */
    float *h;      /* [cap, H] */
    float *proj;   /* [cap, D] output of out_proj / linear_out */
    float *scores; /* [nth, context] attention weights per thread */
    float *out;    /* [cap, D] out_norm output */
    float *logits; /* [cap, text_card] */
    float *vad;    /* [cap, n_vad, vad_dim] probabilities */
    float *erow;   /* [D] one embedding row in f32 */
    kstt__ws ws;   /* matmul workspace */
} kstt__lm_work;

/* Optional observer of intermediate tensors (tests): called with what = "emb_in", "layer"
 * (with the layer index) and "out_norm"; x is [B, D]. */
typedef void (*kstt__lm_trace_fn)(void *user, const char *what, int layer, const float *x,
                                  int batch);

/* Builds the model from an open weights file, safetensors or GGUF (borrowed: it must outlive
 * the model). Tensor names are looked up under the PyTorch/candle names, then the MLX ones.
 * Errors name the file and the tensor. */
int kstt__lm_load(kstt__lm **out, const kstt__weights *file, const kstt__stt_config *cfg,
                  kstt_pool *pool, kstt_kernels kernels, char *err, size_t errlen);
/* The same with a KV ring storage type; kstt__lm_load is this with KSTT_KV_AUTO. AUTO gives
 * f16 when any matrix of the LM is stored in a block-quantized type, else f32. KSTT_EINVAL for
 * a value outside kstt_kv_type. */
int kstt__lm_load_kv(kstt__lm **out, const kstt__weights *file, const kstt__stt_config *cfg,
                     kstt_pool *pool, kstt_kernels kernels, kstt_kv_type kv, char *err,
                     size_t errlen);
/* Bytes of one stream's KV ring (both K and V) for this model. */
size_t kstt__lm_kv_bytes(const kstt__lm *lm);
void kstt__lm_free(kstt__lm *lm);

int kstt__lm_cache_init(kstt__lm_cache *c, const kstt__lm *lm);
void kstt__lm_cache_reset(kstt__lm_cache *c);
void kstt__lm_cache_free(kstt__lm_cache *c);

int kstt__lm_work_new(kstt__lm_work **out, const kstt__lm *lm, int cap);
void kstt__lm_work_free(kstt__lm_work *w);

/* One step of `batch` streams (batch <= w->cap): tokens[b * (1 + n_q) + 0] is stream b's text
 * input, [1 + k] its audio input of codebook k. Advances every cache by one position. Returns
 * KSTT_EINVAL (nothing changed) when a token is out of range or batch is out of bounds. */
int kstt__lm_step(const kstt__lm *lm, kstt__lm_work *w, kstt__lm_cache *const *caches,
                  const int32_t *tokens, int batch, kstt__lm_trace_fn trace, void *user);

#endif
