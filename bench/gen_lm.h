/*
 * Random STT models in the real file formats, for benchmarks and the full-size load test:
 * the LM (`model.safetensors`, bf16, the PyTorch/candle tensor names and shapes), a
 * SentencePiece `.model` with Kyutai's special ids, and the `config.json` that ties a model
 * directory together. `kstt bench generate` drives them (see bench_generate).
 */
#ifndef KSTT_BENCH_GEN_LM_H
#define KSTT_BENCH_GEN_LM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name; /* "1b", "2.6b", "tiny" */
    int dim, num_heads, num_layers, context, n_q, card, text_card, hidden;
    int extra_heads; /* VAD heads (4 in the 1B candle release, 0 otherwise) */
    double delay_s, prefix_s;
} bench_gen_lm_dims;

/* The dimensions of a named model; -1 for an unknown name. */
int bench_gen_lm_dims_get(const char *name, bench_gen_lm_dims *out);

/* Writes a bf16 LM with seeded random weights (uniform, std 1/sqrt(fan_in); norms near 1),
 * streaming it to disk tensor by tensor (memory use is a small buffer, not the file). */
int bench_gen_lm_write(const char *path, const bench_gen_lm_dims *d, uint64_t seed, char *err,
                       size_t errlen);
/* Writes a SentencePiece unigram model of n pieces: <unk> <s> </s> <pad>, then pseudo-words. */
int bench_gen_tokenizer_write(const char *path, int n_pieces, uint64_t seed, char *err,
                              size_t errlen);
/* Writes config.json (the Hugging Face repo schema) for these dimensions and file names;
 * mimi_config_name may be NULL. */
int bench_gen_config_write(const char *path, const bench_gen_lm_dims *d, const char *mimi_name,
                           const char *mimi_config_name, const char *tokenizer_name, char *err,
                           size_t errlen);

/* `kstt bench generate lm|mimi|model DIR [--dims 1b|2.6b|tiny] [--seed N] [--mimi-name F]
 *  [--mimi-config-name F]` (model = lm + the full-size random Mimi of bench/gen_mimi.c, unless
 * --mimi-name names a Mimi the caller supplies) and `kstt bench generate check DIR [--steps N]
 * [--threads N]` (load a model directory, step it, print the step times and the peak RSS). */
int bench_generate(int argc, char **argv);

#endif
