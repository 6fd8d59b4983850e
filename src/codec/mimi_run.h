/*
 * What the encoder's files share inside src/codec (not used outside it): the stream (state
 * only), the batch (all scratch), the pass (segments of streams over the rows of one back
 * pass) and the operations each file provides.
 *
 *   mimi_stream.c       stream lifetime (new, reset, free), argument checks, the public
 *                       kstt_mimi_stream_* calls (a batch of one: the stream's own batch)
 *   mimi_driver.c       the one driver: intake and front per stream, back passes over the
 *                       frames of 1..n streams; batch scratch; taps and timers of a pass
 *   mimi_seanet.c       convolutions, residual blocks, the SEANet front and back
 *   mimi_transformer.c  the transformer over a pass
 *   mimi_rvq.c          the quantizer
 *
 * Rows of a pass: each op runs once over the rows of all segments, stream 0's rows first,
 * then stream 1's, ... (a segment of nf frames has nf * rows-per-frame rows at every point of
 * the model). Per-stream state (convolution carry rows, key/value ring, position) stays in
 * each stream; products are bitwise independent of their row count (kernels.h), element-wise
 * ops are per element and attention is per query, so a stream's codes do not depend on the
 * batch composition or on the chunking of its input.
 */
#ifndef KSTT_CODEC_MIMI_RUN_H
#define KSTT_CODEC_MIMI_RUN_H

#include "codec/mimi_internal.h"

struct kstt_mimi_stream {
    const kstt_mimi *m;
    char err[256];
    float *pcm;                       /* conv_in input: [conv_in.state + FRONT * frame] samples */
    size_t fill;                      /* samples after the state (always < frame between calls) */
    float *xin[KSTT_MIMI_MAX_RATIOS]; /* stage input x = down conv input [down.state + cap, C] */
    float *ain[KSTT_MIMI_MAX_RATIOS]; /* res_a input [res_a.state + cap, C] */
    float *oin;                       /* conv_out input [conv_out.state + BACK * ds, C_last] */
    float *tx;     /* downsample input = transformer stream [ds.state + BACK * ds, D] */
    int back_fill; /* frames waiting in xin[split] */
    int ds_primed; /* downsample state set (replicate padding) */
    int64_t pos;   /* 25 Hz steps through the transformer since reset */
    void *kc, *vc; /* [layers][cap_kv][D] keys (after RoPE) and values: f32, or half (kv_half) */
    int cap_kv;
    float *arena;
    kstt__mimi_batch *own; /* batch of one: the scratch of kstt_mimi_stream_encode */
    kstt__mimi_prof *prof; /* bench only */
    kstt__mimi_tap_fn tap; /* tests only */
    void *tap_user;
};

/* One stream's share of a pass. */
typedef struct {
    kstt_mimi_stream *s;
    int nf;         /* frames */
    int f0;         /* first frame (latent row) in the pass */
    int32_t *codes; /* [nf, K] destination */
} kstt__mimi_seg;

typedef struct {
    const kstt__mimi_seg *sg;
    int n;   /* segments */
    int nf;  /* frames of all segments */
    int tap; /* some segment's stream has a tap: element-wise ops run unfused */
} kstt__mimi_pass;

/* Gives each tapped stream of the pass its rows of x [rows, cols], rows = p->nf * (rows per
 * frame at that point of the model). A kstt__mimi_tap_fn with user = the pass. */
void kstt__mimi_pass_tap(void *pass, const char *name, const float *x, int rows, int cols);

struct kstt__mimi_batch {
    const kstt_mimi *m;
    int cap;        /* streams per call */
    int cap_frames; /* frames per back pass, all streams together (KSTT_MIMI_BACK) */
    int n_threads;
    float *g;         /* gathered receptive fields (cap > 1) */
    float *y, *aux;   /* back conv outputs [rows, c_out] and second outputs (ELU copy / x);
                         y: res_a output of the front too */
    float *tmp;       /* res_b output (front and back) */
    float *fy, *ftmp; /* [n_threads][fy_n], [n_threads][ftmp_n]: the y and tmp of fronts run
                         one stream per thread (cap > 1 and a pool; else NULL) */
    size_t fy_n, ftmp_n;
    float *x, *h, *qkv, *att, *o, *ff; /* transformer [T, D], [T, D], [T, 3D], [T, D], [T, D],
                                          [T, FF] with T = cap_frames * ds */
    float *rope;           /* [T, head_dim] RoPE cosines then sines of each row's position */
    float *latent;         /* [cap_frames, D] */
    float *scores;         /* [n_threads, context] */
    kstt__mimi_rvq_ws rvq; /* cap_frames rows */
    int32_t *codes;        /* [cap_frames, K] (cap > 1) */
    kstt__mimi_seg *segs;  /* [cap] */
    float **in;            /* [cap] conv inputs of one batched conv */
    int *tin;              /* [cap] their new rows */
    const float **cur;     /* [cap] next sample of each stream's call */
    size_t *left;          /* [cap] samples left of each stream's call */
    kstt__mimi_prof *prof; /* bench only */
    float *arena;
};

/* ---- mimi_driver.c ---- */

/* kstt__mimi_encode after its argument checks (each job checked, frames = 0). */
void kstt__mimi_drive(kstt__mimi_batch *b, kstt__mimi_job *jobs, int count);

/* ---- mimi_stream.c ---- */

/* The argument checks of one encode call for stream s (fn: the public name in messages);
 * clears s's message first. */
int kstt__mimi_check_call(kstt_mimi_stream *s, const char *fn, const float *pcm, size_t n,
                          const int32_t *codes, size_t max_frames);

/* ---- mimi_seanet.c ---- */

/* What runs on a convolution's output rows right after the product, in the same job. */
typedef enum {
    KSTT__POST_BIAS,      /* y += b */
    KSTT__POST_BIAS_ELU,  /* y = ELU(y + b) */
    KSTT__POST_BIAS_COPY, /* y += b; aux = ELU(y): a stage's x and its residual branch input */
    KSTT__POST_RES_ELU,   /* aux = ELU(aux + (y + b)): residual add (aux = x), then stage ELU */
    KSTT__POST_RES,       /* aux = aux + (y + b), no ELU (tap runs only) */
} kstt__mimi_post;

/* out[t] = W * in[t * S .. t * S + K) (+ the post-op) for t < t_in / S, where `in` holds the
 * state rows then t_in new rows. The state is not updated (kstt__mimi_conv_roll). */
void kstt__mimi_conv_run(const kstt_mimi *m, int n_threads, const kstt__mimi_conv *c,
                         const float *in, int t_in, float *out, kstt__mimi_post post, float *aux);
/* After a call over t_in new rows: the last `state` rows of the buffer become the state. */
void kstt__mimi_conv_roll(const kstt__mimi_conv *c, float *in, int t_in);

/* Front: nf frames of s->pcm through the input conv and stages 0 .. split, appended to
 * s->xin[split] after its back_fill frames, on n_threads of the pool (1: this thread only),
 * with scratch y and tmp (b->y and b->tmp, or a thread's front scratch). Reads b->m only. */
void kstt__mimi_front(kstt__mimi_batch *b, kstt_mimi_stream *s, int nf, int n_threads, float *y,
                      float *tmp);

/* Back SEANet over the pass: the down conv of stage split, the last stages and the output
 * conv. Returns where the SEANet output [p->nf * ds, D] is: the transformer input rows of
 * the stream's tx for one stream, else b->x. */
float *kstt__mimi_seanet_back(kstt__mimi_batch *b, const kstt__mimi_pass *p);

/* Conv c over the buffers b->in[i] (state, then b->tin[i] new rows) of the pass's n
 * streams into out [sum of t_out, c_out] (segment order); in place for one stream, else over
 * their receptive fields gathered into b->g. Returns the output rows. */
int kstt__mimi_conv_pass(kstt__mimi_batch *b, const kstt__mimi_conv *c, int n, float *out,
                         kstt__mimi_post post, float *aux);

/* ---- mimi_transformer.c ---- */

/* The transformer over x [T, D] in place, T = p->nf * ds rows; each stream's position
 * advances by its rows. Scratch from b. Taps get every layer's output. */
void kstt__mimi_transformer(kstt__mimi_batch *b, const kstt__mimi_pass *p, float *x);

#endif
