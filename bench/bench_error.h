/*
 * Quantisation error of real model directories (bench/bench_error.c): `kstt quantize` each
 * type into a temporary directory, teacher-force the same token inputs through the original
 * LM (bf16 weights, f32 arithmetic), the quantised LM and the quantised weights dequantised to
 * f32, and compare the text logits; for a model with sample clips, also the transcripts. And
 * the per-product error of each quantiser on real and random matrices.
 */
#ifndef KSTT_BENCH_ERROR_H
#define KSTT_BENCH_ERROR_H

#include <stdio.h>

#include "kstt.h"

typedef struct {
    char model[24];      /* "golden-tiny", "demo", ... */
    char weights[16];    /* "q8_0", "q4_0", "q4_k" */
    char head[16];       /* the text head's type in the file */
    double rel_rms;      /* logits, relative RMS error vs the original weights in f32 */
    double weights_only; /* the same with the quantised weights dequantised to f32 */
    double max_abs;      /* largest absolute logit difference */
    int argmax_equal, steps;
    double lm_mb;           /* LM weight file */
    int word_errors, words; /* transcripts vs the reference words (words 0: no samples) */
    int same_transcripts, n_transcripts; /* transcripts equal to the original model's */
} bench_err;

/* Measures `types` (comma-separated q8_0,q4_0,q4_k) on the model directory `dir`, quantised
 * by kstt quantize with the extra options `qopts` (space-separated, e.g. "--head-type same
 * --max-scale"; NULL: none). The token inputs: the
 * golden teacher-forcing inputs when `ref_file` (a golden *_ref.safetensors with
 * tf.input_tokens) is given, else the original model's own decoding of the clips listed in
 * DIR/samples/expected.tsv (whose word errors are counted too, unless `transcripts` is 0: the
 * clips' streams through the public API are most of the time). Appends up to cap rows;
 * returns the number appended, or -1 with a message on `log`. */
int bench_error_model(const char *label, const char *dir, const char *ref_file, const char *types,
                      const char *qopts, int transcripts, kstt_pool *pool, FILE *log,
                      bench_err *rows, int cap);

/* Per-product error of each quantiser (max-based and searched scales, q4_K) on the matmul
 * weights of the model directory `dir` (NULL: skipped) and on random uniform and Gaussian
 * matrices: weights' relative RMS error, and the product's with f32 and with the kernels'
 * 8-bit activations; quantisation time per element. Prints a table on `out`. */
void bench_error_products(const char *dir, kstt_pool *pool, FILE *out);

#endif
