/*
 * Thread pool with a spin-then-sleep wait. An LM step issues ~100 short jobs (one per matrix),
 * so waking workers through a condition variable each time would cost more than the work on
 * small models: workers spin on the job generation counter for a while (a few tens of
 * microseconds) before they block. Jobs are serialised by `submit` so that several callers
 * (streams on different threads) can share one pool safely.
 */
#include "core/pool.h"
#include "core/platform.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "core/alloc.h"

#define SPIN_ITERS 200000
/* While spinning, give the CPU away every YIELD_EVERY pauses: on a machine with more runnable
 * threads than cores (builds next to a transcription, several streams' pools), a pure spin
 * keeps the descheduled thread we wait for off the CPU for a whole time slice per job, which
 * measured ~10x slower LM steps; a sched_yield every few microseconds costs nothing when the
 * cores are free. */
#define YIELD_EVERY 256

struct kstt_pool {
    int n; /* threads including the caller */
    pthread_t *threads;
    pthread_mutex_t submit; /* one job at a time */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_uint gen;    /* incremented per job */
    atomic_int pending; /* workers still running the current job */
    atomic_int quit;
    kstt__task_fn fn;
    void *arg;
};

typedef struct {
    kstt_pool *pool;
    int ith;
} worker_arg;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static void *worker_main(void *p) {
    worker_arg *wa = p;
    kstt_pool *pool = wa->pool;
    int ith = wa->ith;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&pool->gen, memory_order_acquire)) == seen &&
               !atomic_load(&pool->quit)) {
            if (++spins < SPIN_ITERS) {
                if (spins % YIELD_EVERY == 0)
                    sched_yield();
                else
                    cpu_relax();
                continue;
            }
            pthread_mutex_lock(&pool->mu);
            while (atomic_load(&pool->gen) == seen && !atomic_load(&pool->quit))
                pthread_cond_wait(&pool->wake, &pool->mu);
            pthread_mutex_unlock(&pool->mu);
        }
        if (atomic_load(&pool->quit))
            break;
        seen = g;
        pool->fn(pool->arg, ith, pool->n);
        atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel);
    }
    return NULL;
}

int kstt_pool_new(kstt_pool **out, int n_threads) {
    if (!out)
        return KSTT_EINVAL;
    *out = NULL;
    if (n_threads <= 0)
        n_threads = kstt__platform_ncpu();
    if (n_threads > 256)
        return KSTT_EINVAL;
    kstt_pool *pool = kstt__calloc(1, sizeof *pool);
    if (!pool)
        return KSTT_ENOMEM;
    pool->n = n_threads;
    pthread_mutex_init(&pool->submit, NULL);
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->wake, NULL);
    worker_arg *args = NULL;
    if (n_threads > 1) {
        pool->threads = kstt__calloc((size_t)n_threads, sizeof(pthread_t) + sizeof(worker_arg));
        if (!pool->threads)
            goto fail;
        args = (worker_arg *)(pool->threads + n_threads);
        for (int i = 1; i < n_threads; i++) {
            args[i].pool = pool;
            args[i].ith = i;
            if (pthread_create(&pool->threads[i], NULL, worker_main, &args[i]) != 0) {
                pool->n = i; /* only threads 1..i-1 exist; free joins them */
                goto fail;
            }
        }
    }
    *out = pool;
    return KSTT_OK;
fail:
    kstt_pool_free(pool);
    return KSTT_ENOMEM;
}

void kstt_pool_free(kstt_pool *pool) {
    if (!pool)
        return;
    if (pool->threads) {
        pthread_mutex_lock(&pool->mu);
        atomic_store(&pool->quit, 1);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mu);
        for (int i = 1; i < pool->n; i++)
            pthread_join(pool->threads[i], NULL);
        kstt__free(pool->threads);
    }
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mu);
    pthread_mutex_destroy(&pool->submit);
    kstt__free(pool);
}

int kstt_pool_threads(const kstt_pool *pool) {
    return pool ? pool->n : 1;
}
int kstt__pool_size(const kstt_pool *pool) {
    return pool ? pool->n : 1;
}

void kstt__pool_run(kstt_pool *pool, kstt__task_fn fn, void *arg) {
    if (!pool || pool->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    pthread_mutex_lock(&pool->submit);
    pool->fn = fn;
    pool->arg = arg;
    atomic_store(&pool->pending, pool->n - 1);
    pthread_mutex_lock(&pool->mu);
    atomic_fetch_add_explicit(&pool->gen, 1, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    fn(arg, 0, pool->n);
    for (unsigned spins = 1; atomic_load_explicit(&pool->pending, memory_order_acquire) > 0;
         spins++) {
        if (spins % YIELD_EVERY == 0)
            sched_yield();
        else
            cpu_relax();
    }
    pthread_mutex_unlock(&pool->submit);
}
