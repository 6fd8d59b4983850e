/*
 * A full-size random Mimi in the real file format (mimi-pytorch-e351c8d8@125's key names,
 * shapes and F32 dtype; encoder, encoder transformer, downsample and the whole split quantizer;
 * no decoder), for `kstt bench mimi` and load tests. Weights follow the golden generator's
 * recipe so activations stay in a realistic range: conv/linear weights N(0, 1/fan_in), biases
 * 0.05 N(0, 1), LayerNorm weight 1 + 0.1 N, bias 0.1 N, layer scales U(0.2, 0.8), codebook
 * usage U(0.5, 2) and embedding sums N(0, 1) * usage. Deterministic for a seed.
 */
#ifndef KSTT_BENCH_GEN_MIMI_H
#define KSTT_BENCH_GEN_MIMI_H

#include <stddef.h>
#include <stdint.h>

/* Writes the file (about 210 MB). Returns KSTT_OK or a status with a message in err. */
int bench_gen_mimi_write(const char *path, uint64_t seed, char *err, size_t errlen);

#endif
