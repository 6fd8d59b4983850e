/* Shared pieces of `kstt bench`: the sub-benchmarks and the machine measurements. */
#ifndef KSTT_BENCH_H
#define KSTT_BENCH_H

int kstt_bench_mimi(int argc, char **argv); /* bench/bench_mimi.c */
int kstt_bench_lm(int argc, char **argv);   /* bench/bench_lm.c */

/* Sustained read bandwidth of main memory in GB/s (all cores, buffer >> caches). */
double kstt_bench_read_bandwidth_gbs(int n_threads);
/* Monotonic seconds. */
double kstt_bench_now(void);

#endif
