/* kstt bench mimi-batch (bench/bench_mimi_batch.c): Mimi of B live streams, per-stream
 * encode calls against one batched call. */
#ifndef KSTT_BENCH_MIMI_BATCH_H
#define KSTT_BENCH_MIMI_BATCH_H

int bench_mimi_batch(int argc, char **argv);

#endif
