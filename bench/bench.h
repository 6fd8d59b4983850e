/* Shared pieces of `kstt bench`: the sub-benchmarks and the machine measurements. */
#ifndef KSTT_BENCH_H
#define KSTT_BENCH_H

#include <stdio.h>

int bench_mimi(int argc, char **argv); /* bench/bench_mimi.c */
int bench_lm(int argc, char **argv);   /* bench/bench_lm.c */

/* Real-time factors (seconds of audio per second) of the full-size random Mimi encoder (f32,
 * cached like `kstt bench mimi`), offline (one call) and streaming (one 1920-sample call per
 * frame), on one thread and on `threads`. Nonzero on failure (message on stderr). */
typedef struct {
    double offline_1t, offline_all, stream_1t, stream_all;
} bench_mimi_speed;
int bench_mimi_speeds(int threads, double seconds, int reps, FILE *log, bench_mimi_speed *out);

/* bench_mimi_speeds on another Mimi file (with its config JSON, or NULL for the real
 * dimensions) instead of the cached full-size random Mimi: `kstt bench lm --mimi-model FILE
 * --mimi-config JSON`, e.g. a tiny Mimi for a smoke run under emulation. */
void bench_mimi_set_model(const char *path, const char *config);

/* Sustained read bandwidth of main memory in GB/s (all cores, buffer >> caches). */
double bench_read_bandwidth_gbs(int n_threads);
/* The probe's buffer in MiB (default 512, far beyond any cache; `--probe-mb M` of kstt bench
 * lm/matmul/mimi: a smaller one for a smoke run under emulation, where the figure means
 * nothing). */
void bench_set_probe_mb(int mb);
/* The directory of the bench's generated models, created if needed: $KSTT_CACHE_DIR/bench,
 * else $XDG_CACHE_HOME/kstt/bench, else ~/.cache/kstt/bench. */
void bench_cache_dir(char *out, size_t cap);
/* Monotonic seconds. */
double bench_now(void);

#endif
