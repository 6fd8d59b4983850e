/*
 * kstt.h: streaming speech-to-text for Kyutai's STT models, in C.
 *
 * This header is the whole public contract of libkstt. What is not declared here is private.
 *
 * Objects
 *   kstt_pool         a persistent worker-thread pool owned by the caller; passed in params.
 *   kstt_mimi         Mimi codec weights (encoder side). Immutable after load, shareable.
 *   kstt_mimi_stream  one audio stream through the Mimi encoder: PCM in, codes out.
 *   kstt_model        an STT model (Mimi + LM + tokenizer + config). Immutable, shareable.
 *   kstt_stream       one audio stream through the whole model: PCM in, events out.
 *   kstt_batch        scratch to step many streams of one model together (one model step
 *                     serves all of them); holds no stream between calls.
 *
 * Threading: a model may be used by many threads at once. A stream is used by one thread at
 * a time (any thread; hand it over with your own synchronisation) and has no internal locks.
 * A pool runs one job at a time: calls that share a pool take turns on it.
 *
 * Errors: fallible functions return KSTT_OK (0) or a negative KSTT_E* code (or, for calls that
 * return a count, the count when >= 0). Constructors write a message into the caller's `err`
 * buffer (may be NULL); other objects keep their last message, readable with *_errmsg() and
 * valid until the next call on that object. The library never prints and never exits.
 *
 * Usage loop (transcribe audio arriving in pieces):
 *
 *     kstt_model *model; char err[256];
 *     kstt_model_params mp = kstt_model_params_default();
 *     if (kstt_model_load(&model, "path/to/model_dir", &mp, err, sizeof err)) die(err);
 *     kstt_stream *s;
 *     kstt_stream_params sp = kstt_stream_params_default();
 *     if (kstt_stream_new(&s, model, &sp)) ...;
 *     while (have_audio(&pcm, &n)) {              // 24 kHz mono float in [-1, 1], any n
 *         if (kstt_stream_feed(s, pcm, n) < 0) fail(kstt_stream_errmsg(s));
 *         kstt_event ev[64]; int k;
 *         while ((k = kstt_stream_read(s, ev, 64)) > 0)
 *             for (int i = 0; i < k; i++) if (ev[i].type == KSTT_EVENT_WORD) puts(ev[i].text);
 *     }
 *     if (kstt_stream_flush(s) < 0) fail(kstt_stream_errmsg(s)); // end: the last words
 *     ... read the remaining events as above ...
 *     kstt_stream_free(s); kstt_model_free(model);
 */
#ifndef KSTT_H
#define KSTT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define KSTT_WUR __attribute__((warn_unused_result))
#else
#define KSTT_WUR
#endif

/* KSTT_API marks the exported functions: the library is built with hidden visibility, so only
 * what this header (and mimi.h) declares with it is part of libkstt's dynamic symbol table. */
#ifndef KSTT_API
#if defined(_WIN32) && defined(KSTT_BUILDING_SHARED)
#define KSTT_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define KSTT_API __attribute__((visibility("default")))
#else
#define KSTT_API
#endif
#endif

/* ---- status codes -------------------------------------------------------------------- */

/* X-macro: one list generates the enum and kstt_strerror(). */
#define KSTT_STATUS_LIST(X)                                                                        \
    X(OK, 0, "success")                                                                            \
    X(EINVAL, -1, "invalid argument")                                                              \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(EIO, -3, "input/output error")                                                               \
    X(EFORMAT, -4, "malformed or inconsistent file")                                               \
    X(EUNSUPPORTED, -5, "unsupported feature or format")                                           \
    X(ESTATE, -6, "call not valid in the current state")                                           \
    X(EABORTED, -7, "aborted")                                                                     \
    X(ERANGE, -8, "output buffer too small or value out of range")                                 \
    X(ENOTFOUND, -9, "not found")                                                                  \
    X(ENETWORK, -10, "network error")

typedef enum {
#define KSTT_STATUS_ENUM_(name, value, text) KSTT_##name = value,
    KSTT_STATUS_LIST(KSTT_STATUS_ENUM_)
#undef KSTT_STATUS_ENUM_
} kstt_status;

/* A static description of a status code; "unknown status" for values not in the list. */
KSTT_API const char *kstt_strerror(int status);
/* "MAJOR.MINOR.PATCH". */
KSTT_API const char *kstt_version(void);
/* A static one-line description: CPU features found and the kernel level in use by default. */
KSTT_API const char *kstt_system_info(void);

/* ---- thread pool --------------------------------------------------------------------- */

typedef struct kstt_pool kstt_pool;

/* Starts n_threads - 1 workers (the calling thread is the n-th); n_threads <= 0 means one per
 * CPU the process may run on (its affinity mask on Linux). Owned: release with kstt_pool_free.
 * Returns KSTT_EINVAL if out is NULL or n_threads > 256, KSTT_ENOMEM if memory or threads run out.
 */
KSTT_API KSTT_WUR int kstt_pool_new(kstt_pool **out, int n_threads);
KSTT_API void kstt_pool_free(kstt_pool *pool);
KSTT_API int kstt_pool_threads(const kstt_pool *pool);

/* ---- kernels ------------------------------------------------------------------------- */

/* Kernel levels. KSTT_KERNELS_AUTO picks the best the CPU has, capped by the environment
 * variable KSTT_KERNELS=ref|avx2|avx512 (x86-64) or ref|neon|dotprod|i8mm (aarch64) when set.
 * A level the CPU lacks falls back to the best one below it of the same architecture. */
typedef enum {
    KSTT_KERNELS_AUTO = 0,
    KSTT_KERNELS_REF = 1,
    KSTT_KERNELS_AVX2 = 2,    /* x86-64: AVX2 + FMA + F16C */
    KSTT_KERNELS_AVX512 = 3,  /* x86-64: AVX-512 F/BW/VL/DQ, with VNNI/BF16 where present */
    KSTT_KERNELS_NEON = 4,    /* aarch64: Advanced SIMD (every ARMv8.0 core) */
    KSTT_KERNELS_DOTPROD = 5, /* aarch64: + sdot (FEAT_DotProd) */
    KSTT_KERNELS_I8MM = 6, /* aarch64: + smmla (FEAT_I8MM), with bfdot (FEAT_BF16) where present */
} kstt_kernels;

/* ---- Mimi codec (encoder) ------------------------------------------------------------ */

typedef struct kstt_mimi kstt_mimi;
typedef struct kstt_mimi_stream kstt_mimi_stream;

/* Storage of the Mimi encoder's matrices (convolutions, transformer, projections), converted at
 * load from the f32 file. A streaming frame reads every matrix once (~157 MB in f32), so bf16
 * halves that traffic, at the price of approximate codes: on the golden clips with the
 * real-size Mimi (random weights) 91% of the semantic codes and 82% of all codes equal the f32
 * ones, fewer on the deeper acoustic levels. The codebooks stay f32 in every mode. */
typedef enum {
    KSTT_MIMI_WEIGHTS_AUTO = 0, /* kstt_mimi_load: f32. kstt_model_load: bf16 when the LM has
                                   4-bit matrices (q4_0, q4_K), else f32 (also for q8_0) */
    KSTT_MIMI_WEIGHTS_F32 = 1,  /* exact: the reference's codes */
    KSTT_MIMI_WEIGHTS_BF16 = 2, /* rounded to bf16 (8 significant bits), products in f32 */
} kstt_mimi_weights;

typedef struct {
    const char *config_path;   /* Mimi config JSON overriding the built-in real dimensions, or
                                  NULL for the real Mimi (mimi-pytorch-e351c8d8@125). */
    int num_codebooks;         /* codebooks to produce, 1..n_q of the file (a prefix); 0 = all */
    kstt_pool *pool;           /* borrowed, may be NULL (single-threaded); must outlive the model */
    kstt_kernels kernels;      /* kernel level cap */
    kstt_mimi_weights weights; /* matrix storage (default KSTT_MIMI_WEIGHTS_AUTO = f32) */
} kstt_mimi_params;

KSTT_API kstt_mimi_params kstt_mimi_params_default(void);

/* Loads the encoder weights of a Mimi safetensors file (decoder tensors are ignored). */
KSTT_API KSTT_WUR int kstt_mimi_load(kstt_mimi **out, const char *path,
                                     const kstt_mimi_params *params, char *err, size_t errlen);
KSTT_API void kstt_mimi_free(kstt_mimi *mimi);
KSTT_API int kstt_mimi_num_codebooks(const kstt_mimi *mimi);
KSTT_API int kstt_mimi_sample_rate(const kstt_mimi *mimi); /* 24000 */
KSTT_API int kstt_mimi_frame_size(const kstt_mimi *mimi);  /* samples per code frame: 1920 */

KSTT_API KSTT_WUR int kstt_mimi_stream_new(kstt_mimi_stream **out, const kstt_mimi *mimi);
KSTT_API void kstt_mimi_stream_free(kstt_mimi_stream *s);
/* Back to the state of a fresh stream. */
KSTT_API void kstt_mimi_stream_reset(kstt_mimi_stream *s);
/* Number of whole frames that feeding n more samples would complete. */
KSTT_API size_t kstt_mimi_stream_frames_after(const kstt_mimi_stream *s, size_t n);
/* Feeds n samples (any n, including 0); encodes every frame they complete and writes its codes
 * to codes[frame * num_codebooks + k]. Returns the number of frames written (>= 0) or a
 * negative status. If max_frames < kstt_mimi_stream_frames_after(s, n) it returns KSTT_ERANGE
 * and consumes nothing. Many frames in one call take the batched path (same results). */
KSTT_API KSTT_WUR int kstt_mimi_stream_encode(kstt_mimi_stream *s, const float *pcm, size_t n,
                                              int32_t *codes, size_t max_frames);
KSTT_API const char *kstt_mimi_stream_errmsg(const kstt_mimi_stream *s);

/* ---- STT model ----------------------------------------------------------------------- */

typedef struct kstt_model kstt_model;

/* Storage type of the LM's KV cache (per stream: 2 x layers x context x dim elements; the
 * 1B model at context 750: 196 MB in f32, 98 MB in f16, 51 MB in q8). Attention reads all of
 * it every step, so f16 halves the step's KV traffic; it rounds keys and values to IEEE half
 * (11 significant bits), an error well under that of 8- or 4-bit weights but not f32-exact.
 * q8 quarters it: each head's key or value row (head_dim elements) as int8 with one f32 scale
 * (amax / 127), the rounding of q8_0 weights; for many long streams (at a full context the KV
 * of 10 streams of the 1B model outweighs its q8_0 weights). */
typedef enum {
    KSTT_KV_AUTO = 0, /* f32 when every LM matrix is f32/bf16/f16, f16 when any is quantized */
    KSTT_KV_F32 = 1,
    KSTT_KV_F16 = 2,
    KSTT_KV_Q8 = 3,
} kstt_kv_type;

typedef struct {
    kstt_pool *pool;         /* borrowed, may be NULL; must outlive the model */
    kstt_kernels kernels;    /* kernel level cap */
    int asr_delay_in_tokens; /* < 0: from config.json, else floor(audio_delay_seconds * 12.5) */
    kstt_kv_type kv_type;    /* KV cache storage (default KSTT_KV_AUTO, see above) */
    kstt_mimi_weights mimi_weights; /* Mimi matrix storage (default AUTO: kstt_mimi_weights) */
    int num_codebooks; /* audio codebooks Mimi produces and the LM reads (moshi-server's
                          audio_codebooks): K in 1..n_q uses the first K (an RVQ prefix; the
                          LM sums only their embeddings), 0 = all n_q (default), else
                          KSTT_EINVAL; kstt_model_info.num_codebooks gives the one in effect */
} kstt_model_params;

KSTT_API kstt_model_params kstt_model_params_default(void);

/* Loads a model directory laid out as a Hugging Face snapshot of a Kyutai STT repo:
 * config.json, the LM weights (`moshi_name`, default model.safetensors, or a .gguf), the Mimi
 * file (`mimi_name`, optional `mimi_config_name`) and the tokenizer (`tokenizer_name`). */
KSTT_API KSTT_WUR int kstt_model_load(kstt_model **out, const char *dir,
                                      const kstt_model_params *params, char *err, size_t errlen);
KSTT_API void kstt_model_free(kstt_model *model);

typedef struct {
    int sample_rate;            /* 24000 */
    int frame_size;             /* 1920 samples per step */
    double frame_rate;          /* 12.5 steps per second */
    int asr_delay_in_tokens;    /* in effect */
    double audio_delay_seconds; /* stt_config */
    double silence_prefix_seconds;
    int64_t prefix_frames; /* zero frames a pad-mode stream inserts before the audio */
    int has_vad;           /* 1 when the model has the end-of-turn heads */
    int num_codebooks;
    int text_vocab;  /* text output vocabulary (8000 / 4000) */
    int64_t context; /* LM attention context in steps */
} kstt_model_info;

KSTT_API void kstt_model_get_info(const kstt_model *model, kstt_model_info *info);

/* Decodes token ids to UTF-8 text as SentencePiece does, into out[cap] (NUL-terminated).
 * Returns the byte length written (excluding the NUL), or KSTT_ERANGE if cap is too small:
 * out then holds a truncated, NUL-terminated prefix cut at a character boundary (nothing is
 * written when cap is 0; out may be NULL with cap 0 to only measure). When needed is not NULL,
 * *needed gets the capacity the whole text takes, NUL included (length + 1), on success and on
 * KSTT_ERANGE, so a retry with cap = *needed succeeds; 0 on other errors. KSTT_EINVAL for a
 * NULL model, NULL ids with n > 0, or NULL out with cap > 0. Thread-safe; allocates nothing. */
KSTT_API KSTT_WUR int kstt_model_decode(const kstt_model *model, const int32_t *ids, size_t n,
                                        char *out, size_t cap, size_t *needed);

/* ---- streams and events -------------------------------------------------------------- */

typedef struct kstt_stream kstt_stream;

typedef enum {
    KSTT_EVENT_WORD = 1,     /* a word is complete: text, start */
    KSTT_EVENT_END_WORD = 2, /* the end of the previous word(s): stop */
    KSTT_EVENT_STEP = 3,     /* one LM step ran: end-of-turn probabilities (VAD models) */
} kstt_event_type;

typedef struct {
    kstt_event_type type;
    int64_t step;          /* 1-based LM step count of the stream when the event was emitted */
    double start;          /* WORD: start time in seconds */
    double stop;           /* END_WORD: stop time in seconds */
    float prs[4];          /* STEP: probability of a pause of at least 0.5, 1, 2, 3 s (VAD) */
    const char *text;      /* WORD: UTF-8, NUL-terminated; borrowed until the next call on
                              the stream */
    const int32_t *tokens; /* WORD: its token ids, borrowed likewise */
    int32_t n_tokens;
} kstt_event;

typedef struct {
    /* 1 (default): the stream inserts the model's silence prefix (ceil(prefix_s * 12.5) zero
     * frames) before the first audio and, at flush, ceil((delay_s + 1) * 12.5) zero frames so
     * the delayed text comes out; times are seconds from the start of the caller's audio (a
     * time that would fall inside the prefix is reported as 0). 0: raw stream as moshi-server
     * runs it: no padding, times count from the first sample fed (the protocol's convention). */
    int pad;
    int step_events;   /* 1 (default): emit KSTT_EVENT_STEP for models with VAD heads */
    float temperature; /* 0 (default): greedy argmax; > 0: sampling, seeded */
    uint64_t seed;
    /* Optional callback: when set, events are delivered from inside feed/flush instead of
     * being queued for kstt_stream_read. Event pointers are valid during the call only. */
    void (*on_event)(void *user, const kstt_event *ev);
    void *user;
    /* Optional cancellation: called before every model step (a long pad-mode flush runs 19-44
     * steps); a nonzero return stops feed/flush/kstt_batch_feed with KSTT_EABORTED (the steps
     * run so far keep their events; reset the stream to start again). Receives `user`. */
    int (*abort)(void *user);
} kstt_stream_params;

KSTT_API kstt_stream_params kstt_stream_params_default(void);

KSTT_API KSTT_WUR int kstt_stream_new(kstt_stream **out, kstt_model *model,
                                      const kstt_stream_params *params);
KSTT_API void kstt_stream_free(kstt_stream *s);
/* Feeds n samples of 24 kHz mono PCM (any n). Runs one LM step per completed 1920-sample frame
 * and queues the events (or calls on_event). Returns the number of steps run or a status. */
KSTT_API KSTT_WUR int kstt_stream_feed(kstt_stream *s, const float *pcm, size_t n);
/* End of input: zero-pads the last partial frame, feeds the trailing silence (pad mode), then
 * emits the word still pending and a closing END_WORD (the reference never reports that last
 * word; kstt does, so it is not lost). A stream that received no audio since reset runs and
 * reports nothing. The stream then accepts no audio until kstt_stream_reset. Returns the
 * number of steps run or a status. A WORD whose text decodes to nothing is never reported. */
KSTT_API KSTT_WUR int kstt_stream_flush(kstt_stream *s);
/* Copies up to max queued events to out, oldest first; returns the count (0 when none), or
 * KSTT_EINVAL for a NULL stream or a NULL out with max > 0. Text and token pointers stay valid
 * until the next call on the stream. */
KSTT_API KSTT_WUR int kstt_stream_read(kstt_stream *s, kstt_event *out, size_t max);
/* Back to the state of a fresh stream (same params). */
KSTT_API void kstt_stream_reset(kstt_stream *s);
KSTT_API const char *kstt_stream_errmsg(const kstt_stream *s);

/* ---- batches: many streams, one model step ------------------------------------------ */

/* A batch holds the scratch to step up to max_streams streams of one model together: each
 * model step serves every stream that has a complete frame, as one batched step (the server's
 * and multi-file path), and the weight-heavy half of the Mimi encoder runs once over the
 * frames of all of them. Results are identical to feeding each stream alone.
 *
 * All memory is allocated in kstt_batch_new; kstt_batch_feed allocates nothing. A batch keeps
 * no reference to the streams between calls: streams may be created, freed and reordered
 * freely between feeds, in any order. A batch is used by one thread at a time, and the streams
 * of a call must not be used elsewhere during it. kstt_stream_feed is a batch of one (each
 * stream owns one). */
typedef struct kstt_batch kstt_batch;

/* max_streams 1..65536 (the scratch grows with it: the LM's batch work and, above 1, the Mimi
 * batch, ~20 MB at full size). Owned: release with kstt_batch_free (NULL ok). KSTT_EINVAL for
 * a NULL out/model or max_streams out of range, KSTT_ENOMEM; the message goes to err. */
KSTT_API KSTT_WUR int kstt_batch_new(kstt_batch **out, kstt_model *model, size_t max_streams,
                                     char *err, size_t errlen);
KSTT_API void kstt_batch_free(kstt_batch *b);
/* Feeds count <= max_streams streams of the batch's model: streams[i] gets n[i] samples from
 * pcm[i] (24 kHz mono; pcm[i] may be NULL when n[i] is 0). Returns the number of model steps
 * run (each serving up to count streams) or a status; arguments are checked first, and one bad
 * stream (NULL samples, flushed, another model, listed twice) fails the call before any stream
 * runs (kstt_batch_errmsg names it). Events are queued on each stream (or delivered through its
 * on_event). The abort callbacks of the streams are checked before every model step (of the
 * streams about to step): when one returns nonzero the call stops there with KSTT_EABORTED,
 * the message "aborted by the stream's abort callback" on that stream (kstt_batch_errmsg: the
 * same, prefixed with its index). The events of the steps run are kept; the audio already
 * taken in is not reported back, so reset the streams to start again. A count of 0 returns 0;
 * NULL b, streams, pcm or n, a NULL stream or count > max_streams: KSTT_EINVAL; a flushed
 * stream: KSTT_ESTATE. */
KSTT_API KSTT_WUR int kstt_batch_feed(kstt_batch *b, kstt_stream *const *streams,
                                      const float *const *pcm, const size_t *n, size_t count);
/* The message of the last failed call on b (valid until the next call on it). */
KSTT_API const char *kstt_batch_errmsg(const kstt_batch *b);

#ifdef __cplusplus
}
#endif

#endif /* KSTT_H */
