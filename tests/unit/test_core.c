/* Core pieces: status strings, aligned counted allocation with fault injection, the thread
 * pool (every index runs exactly once per job, jobs from two threads serialise), element ops
 * against hand-computed values, f16/bf16 conversions. */
#include <pthread.h>
#include <stdatomic.h>

#include "core/alloc.h"
#include "core/pool.h"
#include "core/status.h"
#include "kernel_levels.h" /* kstt_test_iters */
#include "kernels/kernels.h"
#include "test.h"

static void test_strerror(void) {
    ASSERT_STR_EQ(kstt_strerror(KSTT_OK), "success");
    ASSERT_STR_EQ(kstt_strerror(KSTT_EFORMAT), "malformed or inconsistent file");
    ASSERT_STR_EQ(kstt_strerror(12345), "unknown status");
    char buf[32];
    ASSERT_INT_EQ(kstt__errf(buf, sizeof buf, KSTT_EIO, "%s: %d", "file.bin", 7), KSTT_EIO);
    ASSERT_STR_EQ(buf, "file.bin: 7");
    ASSERT_INT_EQ(kstt__errf(NULL, 0, KSTT_EINVAL, "x"), KSTT_EINVAL);
}

static void test_alloc(void) {
    long long live0 = kstt__alloc_live_bytes();
    unsigned char *p = kstt__alloc(100);
    ASSERT_TRUE(p != NULL);
    ASSERT_INT_EQ((uintptr_t)p % 64, 0);
    for (int i = 0; i < 100; i++)
        ASSERT_INT_EQ(p[i], 0);
    ASSERT_INT_EQ(kstt__alloc_live_bytes() - live0, 100);
    p = kstt__realloc(p, 100, 300);
    ASSERT_TRUE(p != NULL);
    ASSERT_INT_EQ(kstt__alloc_live_bytes() - live0, 300);
    kstt__free(p);
    ASSERT_INT_EQ(kstt__alloc_live_bytes(), live0);
    ASSERT_TRUE(kstt__calloc((size_t)-1, 16) == NULL);

    kstt__alloc_fail_after(2);
    void *a = kstt__alloc(8), *b = kstt__alloc(8), *c = kstt__alloc(8), *d = kstt__alloc(8);
    kstt__alloc_fail_after(-1);
    ASSERT_TRUE(a && b && !c && !d);
    kstt__free(a);
    kstt__free(b);
    void *e = kstt__alloc(8);
    ASSERT_TRUE(e != NULL);
    kstt__free(e);
}

typedef struct {
    atomic_int hits[8];
    atomic_long sum;
} pool_job;

static void pool_task(void *arg, int ith, int nth) {
    pool_job *j = arg;
    atomic_fetch_add(&j->hits[ith], 1);
    long b, e;
    kstt__split_range(1000, 16, ith, nth, &b, &e);
    for (long i = b; i < e; i++)
        atomic_fetch_add(&j->sum, i);
}

static void test_pool(void) {
    kstt_pool *pool;
    ASSERT_INT_EQ(kstt_pool_new(&pool, 4), KSTT_OK);
    ASSERT_INT_EQ(kstt_pool_threads(pool), 4);
    for (int rep = 0; rep < kstt_test_iters(2000); rep++) {
        pool_job j = {0};
        kstt__pool_run(pool, pool_task, &j);
        for (int t = 0; t < 4; t++)
            ASSERT_INT_EQ(atomic_load(&j.hits[t]), 1);
        ASSERT_INT_EQ(atomic_load(&j.sum), 999 * 1000 / 2);
    }
    kstt_pool_free(pool);
    pool_job j = {0};
    kstt__pool_run(NULL, pool_task, &j);
    ASSERT_INT_EQ(atomic_load(&j.hits[0]), 1);
    ASSERT_INT_EQ(atomic_load(&j.sum), 999 * 1000 / 2);
    kstt_pool_free(NULL);
    /* argument errors are reported, not crashed on */
    ASSERT_INT_EQ(kstt_pool_new(NULL, 2), KSTT_EINVAL);
    ASSERT_INT_EQ(kstt_pool_new(NULL, 0), KSTT_EINVAL);
    kstt_pool *bad = (kstt_pool *)&j;
    ASSERT_INT_EQ(kstt_pool_new(&bad, 257), KSTT_EINVAL);
    ASSERT_TRUE(bad == NULL);
}

static kstt_pool *g_shared_pool;
static void *pool_client(void *arg) {
    long *bad = arg;
    for (int rep = 0; rep < kstt_test_iters(500); rep++) {
        pool_job j = {0};
        kstt__pool_run(g_shared_pool, pool_task, &j);
        if (atomic_load(&j.sum) != 999 * 1000 / 2)
            (*bad)++;
    }
    return NULL;
}

static void test_pool_shared_by_two_threads(void) {
    ASSERT_INT_EQ(kstt_pool_new(&g_shared_pool, 2), KSTT_OK);
    long bad1 = 0, bad2 = 0;
    pthread_t t;
    pthread_create(&t, NULL, pool_client, &bad1);
    pool_client(&bad2);
    pthread_join(t, NULL);
    kstt_pool_free(g_shared_pool);
    ASSERT_INT_EQ(bad1 + bad2, 0);
}

static void test_split_range(void) {
    long b, e, covered = 0, prev = 0;
    for (int i = 0; i < 3; i++) {
        kstt__split_range(100, 16, i, 3, &b, &e);
        ASSERT_INT_EQ(b, prev);
        ASSERT_TRUE(b % 16 == 0 || b == 100);
        covered += e - b;
        prev = e;
    }
    ASSERT_INT_EQ(covered, 100);
}

static void test_ops(void) {
    float x[4] = {1, 2, 3, 4}, a[4] = {1, 1, 2, 2}, y[4];
    kstt__rmsnorm(x, a, 1e-8f, y, 4);
    const float r = sqrtf(30.0f / 4.0f);
    ASSERT_NEAR(y[0], 1 / r, 1e-6);
    ASSERT_NEAR(y[3], 8 / r, 1e-6);

    float w[4] = {1, 1, 1, 1}, bias[4] = {0, 0, 0, 1};
    kstt__layernorm(x, w, bias, 1e-5f, y, 4);
    ASSERT_NEAR(y[0], -1.5 / sqrt(1.25 + 1e-5), 1e-5);
    ASSERT_NEAR(y[3], 1.5 / sqrt(1.25 + 1e-5) + 1, 1e-5);

    /* RoPE, head_dim 4: pair 0 rotates by pos, pair 1 by pos * max_period^-0.5 */
    float q[4] = {1, 0, 1, 0}, rc[2], rs[2];
    kstt__rope_table(4, 3, 10000.0f, rc, rs);
    kstt__rope_apply(q, 1, 4, rc, rs);
    ASSERT_NEAR(q[0], cos(3.0), 1e-5);
    ASSERT_NEAR(q[1], sin(3.0), 1e-5);
    ASSERT_NEAR(q[2], cos(0.03), 1e-5);
    ASSERT_NEAR(q[3], sin(0.03), 1e-5);

    float s[3] = {1, 2, 3};
    kstt__softmax(s, 3);
    const double z = exp(1) + exp(2) + exp(3);
    ASSERT_NEAR(s[2], exp(3) / z, 1e-6);

    float e[2] = {-1, 2};
    kstt__elu(e, 2);
    ASSERT_NEAR(e[0], exp(-1.0) - 1, 1e-7);
    ASSERT_NEAR(e[1], 2, 0);
    float g[2] = {1, -2};
    kstt__gelu_erf(g, 2);
    ASSERT_NEAR(g[0], 0.8413447460685429, 1e-6);
    ASSERT_NEAR(g[1], -0.04550026389635842, 1e-6);
    float sa[1] = {2}, sb[1] = {3}, so[1];
    kstt__silu_mul(sa, sb, so, 1);
    ASSERT_NEAR(so[0], 2 / (1 + exp(-2.0)) * 3, 1e-6);
}

static void test_half_conversions(void) {
    ASSERT_NEAR(kstt__bf16_to_f32(0x3f80), 1.0, 0);
    ASSERT_INT_EQ(kstt__f32_to_bf16(1.0f), 0x3f80);
    ASSERT_INT_EQ(kstt__f32_to_bf16(1.00390625f), 0x3f80); /* tie to even */
    ASSERT_INT_EQ(kstt__f32_to_bf16(1.01171875f), 0x3f82); /* tie to even, upwards */
    ASSERT_NEAR(kstt__f16_to_f32(0x3c00), 1.0, 0);
    ASSERT_NEAR(kstt__f16_to_f32(0xc000), -2.0, 0);
    ASSERT_NEAR(kstt__f16_to_f32(0x0001), ldexp(1, -24), 0);
    ASSERT_NEAR(kstt__f16_to_f32(0x7bff), 65504.0, 0);
    ASSERT_INT_EQ(kstt__f32_to_f16(1.0f), 0x3c00);
    ASSERT_INT_EQ(kstt__f32_to_f16(65504.0f), 0x7bff);
    ASSERT_INT_EQ(kstt__f32_to_f16(1e6f), 0x7c00);
    /* every finite f16 survives f16 -> f32 -> f16 */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00)
            continue;
        ASSERT_INT_EQ(kstt__f32_to_f16(kstt__f16_to_f32((uint16_t)h)), h);
    }
}

static void test_matmul_ref_types(void) {
    /* 3x5 weights in f32/bf16/f16 holding exactly representable values; batch 2, strided x */
    float wf[15];
    uint16_t wb[15], wh[15];
    for (int i = 0; i < 15; i++) {
        wf[i] = (float)(i % 7) - 3.0f;
        wb[i] = kstt__f32_to_bf16(wf[i]);
        wh[i] = kstt__f32_to_f16(wf[i]);
    }
    float x[2 * 8];
    for (int i = 0; i < 16; i++)
        x[i] = 0.5f * (float)(i % 5);
    float expect[2][3];
    for (int b = 0; b < 2; b++)
        for (int r = 0; r < 3; r++) {
            float acc = 0;
            for (int c = 0; c < 5; c++)
                acc += wf[r * 5 + c] * x[b * 8 + c];
            expect[b][r] = acc;
        }
    const kstt__wmat mats[3] = {
        {KSTT_WT_F32, 3, 5, 20, wf}, {KSTT_WT_BF16, 3, 5, 10, wb}, {KSTT_WT_F16, 3, 5, 10, wh}};
    for (int lvl = KSTT_KERNELS_REF; lvl <= KSTT_KERNELS_AVX512; lvl++) {
        const kstt__kernels *k = kstt__kernels_get((kstt_kernels)lvl);
        for (int m = 0; m < 3; m++) {
            float y[2 * 4] = {0};
            kstt__matmul(NULL, k, &mats[m], x, 8, y, 4, 2, NULL);
            for (int b = 0; b < 2; b++)
                for (int r = 0; r < 3; r++)
                    ASSERT_NEAR(y[b * 4 + r], expect[b][r], 1e-5);
        }
    }
}

static void test_kernel_level_cap(void) {
    ASSERT_INT_EQ(kstt__kernels_get(KSTT_KERNELS_REF)->level, KSTT_KERNELS_REF);
    ASSERT_STR_EQ(kstt__kernels_ref()->name, "ref");
    ASSERT_TRUE(kstt__kernels_get(KSTT_KERNELS_AUTO)->level >= KSTT_KERNELS_REF);
    ASSERT_STR_CONTAINS(kstt_system_info(), "kernels:");
    /* the info names the level in use (the best under the KSTT_KERNELS cap) and the CPU */
    char want[64];
    snprintf(want, sizeof want, "kernels: %s (", kstt__kernels_get(KSTT_KERNELS_AUTO)->name);
    ASSERT_STR_CONTAINS(kstt_system_info(), want);
#if defined(__aarch64__)
    ASSERT_STR_CONTAINS(kstt_system_info(), "cpu: aarch64 neon");
#elif defined(__x86_64__)
    ASSERT_STR_CONTAINS(kstt_system_info(), "cpu: x86-64");
#endif
    printf("  %s\n", kstt_system_info());
}

/* kstt_system_info reports AVX-VNNI exactly when the kernel lists it (Linux /proc/cpuinfo
 * "avx_vnni" is set from the same cpuid bit, and only with the OS's AVX state enabled). */
static void test_cpu_avxvnni(void) {
#if defined(__linux__) && defined(__x86_64__) /* under qemu-user /proc is the host's */
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) {
        printf("  no /proc/cpuinfo: skipped\n");
        return;
    }
    char line[8192];
    int listed = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        listed = strstr(line, " avx_vnni ") != NULL || strstr(line, " avx_vnni\n") != NULL;
        break;
    }
    fclose(f);
    if (listed < 0) {
        printf("  no x86 flags line: skipped\n");
        return;
    }
    const char *info = kstt_system_info();
    printf("  %s\n", info);
    ASSERT_INT_EQ(strstr(info, " avxvnni") != NULL, listed);
#else
    printf("  not x86-64 Linux: skipped\n");
#endif
}

int main(void) {
    RUN(test_strerror);
    RUN(test_alloc);
    RUN(test_pool);
    RUN(test_pool_shared_by_two_threads);
    RUN(test_split_range);
    RUN(test_ops);
    RUN(test_half_conversions);
    RUN(test_matmul_ref_types);
    RUN(test_kernel_level_cap);
    RUN(test_cpu_avxvnni);
    return test_summary();
}
