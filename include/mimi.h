/*
 * mimi.h: the Mimi audio codec's encoder behind the C interface of `rustymimi-c` (the Rust
 * library the macOS app links today), ABI-compatible with it: same names, types and
 * conventions, so the app can switch libraries without code changes. Implemented over the
 * kstt_mimi_* API of kstt.h (see there for the native interface).
 *
 * Usage:
 *     MimiTokenizer *tok = mimi_tokenizer_new("mimi.safetensors", 32);
 *     uint32_t *codes; size_t k, steps;
 *     while (have_audio(&pcm, &n))                      // 24 kHz mono float, any n
 *         if (mimi_encode_step(tok, pcm, n, &codes, &k, &steps) == 0) {
 *             use(codes, k, steps);                     // codes[step * k + codebook]
 *             mimi_free_codes(codes, k * steps);
 *         }
 *     mimi_tokenizer_free(tok);
 *
 * Threading: a tokenizer is used by one thread at a time; different tokenizers are
 * independent. The library never prints and never exits.
 */
#ifndef KSTT_MIMI_H
#define KSTT_MIMI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exported from libkstt (and librustymimi_c); see KSTT_API in kstt.h. */
#ifndef MIMI_API
#if defined(__GNUC__) || defined(__clang__)
#define MIMI_API __attribute__((visibility("default")))
#else
#define MIMI_API
#endif
#endif

typedef struct MimiTokenizer MimiTokenizer;

/* Loads the real Mimi (mimi-pytorch-e351c8d8@125 layout) from a safetensors file and returns
 * a fresh streaming encoder producing the first num_codebooks codebooks (1..32). NULL on error
 * (bad path, bad file, num_codebooks out of range, out of memory); mimi_tokenizer_new_ex says
 * why. Owned: release with mimi_tokenizer_free. Runs on all CPU cores. */
MIMI_API MimiTokenizer *mimi_tokenizer_new(const char *path, size_t num_codebooks);

/* Feeds `samples` samples (any count) and encodes every 1920-sample frame they complete.
 * Returns 0 when at least one frame came out: *out_codes is then an array of
 * (*out_steps) x (*out_codebooks) codes, step-major (codes[step * codebooks + k]), owned by
 * the caller and released with mimi_free_codes(codes, steps * codebooks). Returns -1 on error
 * (NULL arguments, out of memory) and also when no frame is complete yet (the samples are kept
 * for the next call); the outputs are then untouched. */
MIMI_API int32_t mimi_encode_step(MimiTokenizer *tokenizer, const float *pcm, size_t samples,
                                  uint32_t **out_codes, size_t *out_codebooks, size_t *out_steps);

/* Releases codes returned by mimi_encode_step; len is their count (NULL is accepted). */
MIMI_API void mimi_free_codes(uint32_t *codes, size_t len);

/* Back to the state of a fresh tokenizer (buffered samples are dropped). */
MIMI_API void mimi_reset(MimiTokenizer *tokenizer);

/* Accepts NULL. */
MIMI_API void mimi_tokenizer_free(MimiTokenizer *tokenizer);

/* ---- kstt extensions (not in rustymimi-c) ----------------------------------------------- */

/* mimi_tokenizer_new with a Mimi config JSON (NULL: the real Mimi) and an error message:
 * on failure returns NULL and writes a message naming the file and the problem into err
 * (errlen bytes, may be NULL / 0). */
MIMI_API MimiTokenizer *mimi_tokenizer_new_ex(const char *path, size_t num_codebooks,
                                              const char *config_path, char *err, size_t errlen);

/* The message of the last failed call on the tokenizer ("" when it succeeded, or when it
 * returned -1 only because no frame was complete). Borrowed until the next call on it. */
MIMI_API const char *mimi_last_error(const MimiTokenizer *tokenizer);

#ifdef __cplusplus
}
#endif

#endif /* KSTT_MIMI_H */
