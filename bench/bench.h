/* Shared pieces of `kstt bench`: the sub-benchmarks and the machine measurements. */
#ifndef KSTT_BENCH_H
#define KSTT_BENCH_H

#include <stdio.h>

int kstt_bench_mimi(int argc, char **argv); /* bench/bench_mimi.c */
int kstt_bench_lm(int argc, char **argv);   /* bench/bench_lm.c */

/* Real-time factors (seconds of audio per second) of the full-size random Mimi encoder (f32,
 * cached like `kstt bench mimi`), offline (one call) and streaming (one 1920-sample call per
 * frame), on one thread and on `threads`. Nonzero on failure (message on stderr). */
typedef struct {
    double offline_1t, offline_all, stream_1t, stream_all;
} kstt_bench_mimi_speed;
int kstt_bench_mimi_speeds(int threads, double seconds, int reps, FILE *log,
                           kstt_bench_mimi_speed *out);

/* Sustained read bandwidth of main memory in GB/s (all cores, buffer >> caches). */
double kstt_bench_read_bandwidth_gbs(int n_threads);
/* Monotonic seconds. */
double kstt_bench_now(void);

#endif
