/*
 * The STT language model (reference-model.md section 3) as the backend seam: what the ASR
 * (src/asr) and the tools see of the LM. A backend owns its weights, the per-stream state (the
 * KV ring and position) and the scratch of a batched step; one step of n streams takes, per
 * stream, one text token and n_q audio tokens and returns the text logits and the VAD
 * probabilities in host memory. Nothing else of a backend is visible here, so a later backend
 * (CUDA: a whole step with tensors resident on the device) plugs in behind the same calls
 * without touching src/asr. The backend is chosen at load (today: the CPU one, src/lm/cpu/).
 *
 * The computation of a step:
 *
 *   x  = emb_0[a_0] + ... + emb_{K-1}[a_{K-1}] + text_emb[t]     (this order, f32)
 *        K = n_q_used (moshi-server's audio_codebooks; default n_q): the codebooks >= K
 *        contribute nothing, as moshi's zero token, and their input tokens are not read
 *   per layer: x += out_proj(attn(rope(in_proj(rms1(x)))))
 *              x += linear_out(silu(g[0:H]) * g[H:2H]),  g = linear_in(rms2(x))
 *   y = out_norm(x); logits = text_linear y; vad[h] = softmax(extra_heads.h y)
 *
 * KV ring memory per stream: 2 (K, V) x n_layers x context x dim elements of 4 (f32), 2 (f16)
 * or 1 (q8, plus an f32 scale per head row) bytes (kstt_kv_type in kstt.h); the 1B model
 * (16 x 750 x 2048): 196.6 MB f32, 98.3 MB f16, 50.7 MB q8.
 *
 * Invariants: a kstt__lm is immutable after load and may be shared by threads; a state belongs
 * to one stream; a work area belongs to one caller at a time and is sized for a maximum batch.
 * kstt__lm_step allocates nothing.
 */
#ifndef KSTT_LM_LM_H
#define KSTT_LM_LM_H

#include <stddef.h>
#include <stdint.h>

#include "io/weights.h"
#include "kstt.h"
#include "lm/config.h"

/* Per-stream state and batch scratch: opaque, owned by the backend. */
typedef struct kstt__lm_state kstt__lm_state;
typedef struct kstt__lm_work kstt__lm_work;
typedef struct kstt__lm kstt__lm;

/* The operations a backend provides (chosen at load; see lm.c). */
typedef struct {
    const char *name; /* "cpu" */
    void (*free)(kstt__lm *lm);
    size_t (*kv_bytes)(const kstt__lm *lm);
    int (*state_new)(kstt__lm_state **out, const kstt__lm *lm);
    void (*state_reset)(kstt__lm_state *s);
    int64_t (*state_pos)(const kstt__lm_state *s);
    void (*state_seek)(kstt__lm_state *s, int64_t pos);
    void (*state_free)(kstt__lm_state *s);
    int (*work_new)(kstt__lm_work **out, const kstt__lm *lm, int cap);
    void (*work_free)(kstt__lm_work *w);
    int (*step)(const kstt__lm *lm, kstt__lm_work *w, kstt__lm_state *const *states,
                const int32_t *tokens, int n, float *logits, float *vad);
} kstt__lm_ops;

/* What every backend's model tells its users; the backend's own data is behind `be`. */
struct kstt__lm {
    int dim, n_heads, head_dim, n_layers, hidden; /* hidden = H, from the weight shapes */
    int n_q, card, text_card, context;
    int n_q_used;            /* audio codebooks summed at the input, 1..n_q (n_q after load;
                                kstt__lm_set_codebooks) */
    int n_vad, vad_dim;      /* extra heads (0 when the file has none) */
    kstt_kv_type kv_type;    /* KSTT_KV_F32, _F16 or _Q8 (never AUTO: resolved at load) */
    int quantized;           /* some matrix is stored in a block-quantized type */
    int layers_4bit;         /* some layer matrix is 4-bit (q4_0, q4_K) */
    const char *kernels;     /* name of the kernel level in use */
    const kstt__lm_ops *ops; /* the backend */
    void *be;                /* the backend's model, owned */
};

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
/* Makes the model read only the first k audio codebooks (1 <= k <= n_q; n_q = all, as after
 * load). Call before the model is shared: a kstt__lm is otherwise immutable. KSTT_EINVAL
 * (nothing changed) for k out of range. */
int kstt__lm_set_codebooks(kstt__lm *lm, int k);
/* Bytes of one stream's KV ring (both K and V) for this model. */
size_t kstt__lm_kv_bytes(const kstt__lm *lm);
void kstt__lm_free(kstt__lm *lm); /* NULL ok */

/* One stream's state: position 0 (fresh) after new and reset. Owned: kstt__lm_state_free. */
int kstt__lm_state_new(kstt__lm_state **out, const kstt__lm *lm);
void kstt__lm_state_reset(const kstt__lm *lm, kstt__lm_state *s);
/* Steps run since reset (the RoPE position of the next step). */
int64_t kstt__lm_state_pos(const kstt__lm *lm, const kstt__lm_state *s);
/* Moves a state to position pos (>= 0) without running steps; the ring keeps its contents.
 * The next step attends over min(pos + 1, context) ring entries: benchmarks time a full
 * context this way without stepping through it. */
void kstt__lm_state_seek(const kstt__lm *lm, kstt__lm_state *s, int64_t pos);
void kstt__lm_state_free(const kstt__lm *lm, kstt__lm_state *s); /* NULL ok */

/* Scratch of one batched step for up to cap streams. Owned: kstt__lm_work_free. */
int kstt__lm_work_new(kstt__lm_work **out, const kstt__lm *lm, int cap);
void kstt__lm_work_free(const kstt__lm *lm, kstt__lm_work *w); /* NULL ok */

/* One step of n streams (1 <= n <= the work's cap): tokens[b * (1 + n_q) + 0] is stream b's
 * text input, [1 + k] its audio input of codebook k (only k < n_q_used are read; the stride
 * stays 1 + n_q). Writes logits[b * text_card + v] and,
 * when the model has VAD heads, vad[b * n_vad * vad_dim + h * vad_dim + i] (probabilities;
 * vad may be NULL when n_vad is 0), both host memory of the caller. Advances every state by
 * one position. Returns KSTT_EINVAL (nothing changed) when a token is out of range or n is
 * out of bounds. */
int kstt__lm_step(const kstt__lm *lm, kstt__lm_work *w, kstt__lm_state *const *states,
                  const int32_t *tokens, int n, float *logits, float *vad);

#endif
