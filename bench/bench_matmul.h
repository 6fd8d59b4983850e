/* kstt bench matmul (bench/bench_matmul.c): per-matrix bandwidth of the quantised products. */
#ifndef KSTT_BENCH_MATMUL_H
#define KSTT_BENCH_MATMUL_H

int bench_matmul(int argc, char **argv);

#endif
