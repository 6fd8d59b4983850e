/*
 * Private structures of the Mimi encoder, for the library and its tests and benches (model:
 * mimi_load.c; the encoder's own shared structures are in mimi_run.h, which says which file
 * does what).
 *
 * Layout conventions. Activations are time-major [T, C] f32. Every convolution keeps its input
 * in one buffer: `state` rows carried from the previous call (the last K - S input rows), then
 * the new rows, so the product reads each output's receptive field in place with
 * ldx = stride * C_in, and after the call the last `state` rows move to the front. Weights are
 * repacked at load from PyTorch's [C_out, C_in, K] to [C_out, K, C_in] (row = receptive field).
 */
#ifndef KSTT_CODEC_MIMI_INTERNAL_H
#define KSTT_CODEC_MIMI_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "codec/mimi_config.h"
#include "kernels/kernels.h"
#include "kstt.h"

/* Frames per pass: the front of the SEANet (high time resolution, small weights) runs at most
 * KSTT_MIMI_FRONT frames at a time, the back (its last stages, the transformer, the downsample
 * and the quantizer: large weights, few rows per frame) batches up to KSTT_MIMI_BACK frames, so
 * a long input is computed with large matrix batches while the per-stream memory stays small.
 * KSTT_MIMI_BACK must be a multiple of KSTT_MIMI_FRONT. */
#define KSTT_MIMI_FRONT 2
#define KSTT_MIMI_BACK 64

typedef struct {
    int c_in, c_out, k, stride;
    int state;         /* k - stride: input rows carried between calls */
    kstt__wmat w;      /* [c_out, k * c_in] f32, row o = W[o][j][i] at j * c_in + i */
    const float *bias; /* [c_out] or NULL */
} kstt__mimi_conv;

/* One SEANet stage: residual block on C channels, then ELU and the strided conv C -> 2C. */
typedef struct {
    int channels, ratio;
    int t_frame;           /* input rows per code frame at this stage */
    kstt__mimi_conv res_a; /* C -> C / compress, K = residual kernel */
    kstt__mimi_conv res_b; /* C / compress -> C, K = 1 */
    kstt__mimi_conv down;  /* C -> 2C, K = 2 * ratio, stride ratio */
} kstt__mimi_stage;

typedef struct {
    const float *norm1_w, *norm1_b, *norm2_w, *norm2_b; /* [D] */
    const float *ls1, *ls2;                             /* [D] or NULL (no layer scale) */
    kstt__wmat in_proj;                                 /* [3D, D]: q, k, v rows */
    kstt__wmat out_proj;                                /* [D, D] */
    kstt__wmat lin1;                                    /* [FF, D] */
    kstt__wmat lin2;                                    /* [D, FF] */
} kstt__mimi_layer;

typedef struct {
    kstt__wmat cb;      /* [bins, q_dim] f32 row-major: embedding_sum / max(cluster_usage, 1e-5) */
    const float *norm2; /* [bins]: squared norms of the rows */
    /* The screening copy (mimi_rvq.c, kstt__mimi_vq_prepare): cb as int8 with a scale per row
     * (or as bf16 tiles where the level has AMX-BF16 products), and per row the error-bound
     * coefficients of its distances: |exact - screened| <= c1 ||x|| + c0. */
    kstt__wmat cb_lo;     /* [bins, q_dim] KSTT_WT_I8S or KSTT_WT_BF16X */
    const float *c1, *c0; /* [bins] */
} kstt__mimi_vq;

struct kstt_mimi {
    kstt__mimi_config cfg;
    int num_codebooks;
    int n_stages;
    int split; /* first back op: the down conv of stage `split` */
    kstt_pool *pool;
    const kstt__kernels *k;
    /* the transformer's keys and values kept as IEEE half (bf16 weights: half the bytes its
     * attention reads per step, moshi-server's precision or better), else f32 */
    int kv_half;
    kstt__mimi_conv conv_in; /* 1 -> n_filters, K = kernel_size */
    kstt__mimi_stage stages[KSTT_MIMI_MAX_RATIOS];
    kstt__mimi_conv conv_out;         /* n_filters * 2^n -> dimension, K = last_kernel_size */
    kstt__mimi_layer *layers;         /* [num_layers] */
    kstt__mimi_conv downsample;       /* D -> D, K = 2 * ds_stride, no bias, replicate padding */
    kstt__wmat proj_first, proj_rest; /* [q_dim, D] (NULL data: identity) */
    kstt__mimi_vq *vq;                /* [num_codebooks]: 0 semantic, then acoustic levels */
    float *arena;                     /* every weight above */
};

/* Test hook: called with every intermediate the golden files record, time-major [rows, cols]
 * (the stream's rows of each pass, also when it is encoded in a batch with other streams):
 * "seanet_layerNN_out" (SEANet module NN's output), "seanet_out", "tr_layerL_out",
 * "transformer_out", "latent", "proj_semantic", "proj_acoustic". With a tap set the fused
 * element-wise ops run unfused (same values; for every stream of a pass). NULL fn removes it. */
typedef void (*kstt__mimi_tap_fn)(void *user, const char *name, const float *data, int rows,
                                  int cols);
void kstt__mimi_stream_set_tap(kstt_mimi_stream *s, kstt__mimi_tap_fn fn, void *user);

/* ---- residual vector quantizer (mimi_rvq.c) ---- */

/* Scratch of kstt__mimi_rvq_encode, owned by the caller: buf holds
 * kstt__mimi_rvq_ws_floats(m, n_max) floats, 64-byte aligned. One encode at a time per ws. */
typedef struct {
    float *buf;
    int n_max; /* rows per pass (>= 1); longer inputs are taken in passes of n_max rows */
} kstt__mimi_rvq_ws;

size_t kstt__mimi_rvq_ws_floats(const kstt_mimi *m, int n_max);

/* Fills vq's screening copy from vq->cb and vq->norm2: lo (kstt__mimi_vq_lo_bytes(bins, q_dim)
 * bytes) and c1, c0 [bins], caller-owned (64-byte aligned), become vq->cb_lo, vq->c1, vq->c0. */
size_t kstt__mimi_vq_lo_bytes(const kstt__kernels *k, long bins, long q_dim);
void kstt__mimi_vq_prepare(const kstt__kernels *k, kstt__mimi_vq *vq, void *lo, float *c1,
                           float *c0);

/* codes [n, num_codebooks] for latent [n, d_model] (n rows, any mix of frames and streams:
 * every row is quantized independently, bitwise the same whatever n). tap (NULL: none) gets
 * "proj_semantic" and "proj_acoustic" [rows, q_dim] once per pass. Allocates nothing; uses
 * m->pool. */
void kstt__mimi_rvq_encode(const kstt_mimi *m, const float *latent, int n, int32_t *codes,
                           const kstt__mimi_rvq_ws *ws, kstt__mimi_tap_fn tap, void *user);

/* ---- several streams at once (mimi_stream.c) ---- */

/* Scratch of kstt__mimi_encode for up to max_streams streams of model m (~20 MB at
 * full size: one back pass of KSTT_MIMI_BACK frames over all streams). One call at a time. */
typedef struct kstt__mimi_batch kstt__mimi_batch;
int kstt__mimi_batch_new(kstt__mimi_batch **out, const kstt_mimi *m, int max_streams);
void kstt__mimi_batch_free(kstt__mimi_batch *b); /* NULL ok */

/* One stream's share of a kstt__mimi_encode call: the arguments of
 * kstt_mimi_stream_encode(s, pcm, n, codes, max_frames), and the result, frames, the codes
 * written to codes ([frames, num_codebooks]). */
typedef struct {
    kstt_mimi_stream *s;
    const float *pcm;
    size_t n;
    int32_t *codes;
    size_t max_frames;
    int frames; /* out */
} kstt__mimi_job;

/* kstt_mimi_stream_encode for count jobs on distinct streams of b's model (count <=
 * max_streams); each stream gets bit for bit the codes of its own call. Each stream's front
 * runs alone; the back (last SEANet stages, transformer linears, downsample, quantizer) runs
 * once over the frames of all streams that have some (at most KSTT_MIMI_BACK frames per pass),
 * so its weights are read once per pass, not once per stream. Returns KSTT_OK, or the first
 * failing job's error (argument checks run before any work; its message in
 * kstt_mimi_stream_errmsg). Allocates nothing. */
int kstt__mimi_encode(kstt__mimi_batch *b, kstt__mimi_job *jobs, int count);

/* Bench hook: when set, each encode call adds the wall seconds of its parts to *p (front:
 * input conv and the first SEANet stages; seanet: the rest of the SEANet; transformer;
 * quant: downsample and quantizer). In a batch, a stream gets its own front and the whole
 * time of each back pass it takes part in. NULL removes it. */
typedef struct {
    double front, seanet, transformer, quant;
} kstt__mimi_prof;
void kstt__mimi_stream_set_prof(kstt_mimi_stream *s, kstt__mimi_prof *p);
/* The same for kstt__mimi_encode calls on b: the parts of all streams together. */
void kstt__mimi_batch_set_prof(kstt__mimi_batch *b, kstt__mimi_prof *p);

#endif
