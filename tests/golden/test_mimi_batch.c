/*
 * Mimi encoding across streams (kstt__mimi_encode, codec/mimi_internal.h): every
 * stream of a batched call must get bit for bit the codes of its own kstt_mimi_stream_encode
 * with the same pieces of audio. Streams get different audio (two clips, different start
 * offsets), different piece sizes per call (none, less than a frame, one frame, many frames:
 * some calls carry more than one back pass of KSTT_MIMI_BACK frames in all, so passes are
 * split between streams) and start at different rounds, so streams sit at different
 * positions and some have no complete frame in a call. Run on the golden tiny Mimi, single
 * threaded and with a 2-thread pool, and on the real-size Mimi of the golden set when its
 * weights are present (test_mimi_medium.c says how to make them). Test taps and timers work in
 * a batch: each tapped stream gets exactly the intermediates of its own encoding, and the
 * codes of every stream (tapped or not) stay those of its own encoding.
 */
#include <sys/stat.h>

#include "core/alloc.h"
#include "test.h"

#include "golden/mimi_test_util.h"

#define MAXS 8

static float *g_clip[2];
static size_t g_clip_n[2];

/* One scenario: `count` streams (at most `limit` samples each, 0: the whole clip from its
 * offset), `rounds` calls of random pieces (none, < 1 frame, 1 frame, up to max_frames
 * frames), then the rest in pieces of up to max_frames frames. Failures through TEST_FAIL_;
 * *frames_out gets the frames encoded over all streams. */
static void scenario(kstt_mimi *m, int count, int max_frames, int rounds, size_t limit,
                     long *frames_out) {
    const int K = kstt_mimi_num_codebooks(m);
    kstt_mimi_stream *a[MAXS], *b[MAXS];
    const float *src[MAXS];
    size_t left[MAXS], done[MAXS], cap_f[MAXS], pos[MAXS]; /* pos: frames so far */
    int start[MAXS];
    int32_t *ca[MAXS], *cb[MAXS];
    kstt__mimi_batch *bt = NULL;
    ASSERT_INT_EQ(kstt__mimi_batch_new(&bt, m, count), KSTT_OK);
    for (int i = 0; i < count; i++) {
        ASSERT_INT_EQ(kstt_mimi_stream_new(&a[i], m), KSTT_OK);
        ASSERT_INT_EQ(kstt_mimi_stream_new(&b[i], m), KSTT_OK);
        const int c = i % 2;
        const size_t off = (size_t)test_rand_int(0, 6000);
        src[i] = g_clip[c] + off;
        left[i] = g_clip_n[c] - off;
        if (limit && left[i] > limit)
            left[i] = limit;
        done[i] = pos[i] = 0;
        cap_f[i] = left[i] / 1920 + 2;
        start[i] = test_rand_int(0, 2); /* rounds without audio */
        ca[i] = malloc(cap_f[i] * K * sizeof(int32_t));
        cb[i] = malloc(cap_f[i] * K * sizeof(int32_t));
    }
    long total = 0;
    int ok = 1;
    for (int round = 0; ok; round++) {
        kstt__mimi_job jobs[MAXS];
        int pending = 0;
        for (int i = 0; i < count; i++) {
            size_t len = 0;
            if (round >= start[i] && left[i] > 0) {
                const int kind = round < rounds ? test_rand_int(0, 3) : 3;
                len = kind == 0   ? 0
                      : kind == 1 ? (size_t)test_rand_int(1, 1919)
                      : kind == 2 ? 1920
                                  : (size_t)test_rand_int(1920, max_frames * 1920);
                if (len > left[i])
                    len = left[i];
            }
            jobs[i] = (kstt__mimi_job){
                a[i], src[i] + done[i], len, ca[i] + pos[i] * K, cap_f[i] - pos[i], -1};
            pending += left[i] > 0;
        }
        if (!pending)
            break;
        int rc = kstt__mimi_encode(bt, jobs, count);
        if (rc != KSTT_OK) {
            TEST_FAIL_("round %d: kstt__mimi_encode %d: %s", round, rc,
                       kstt_mimi_stream_errmsg(a[0]));
            ok = 0;
            break;
        }
        for (int i = 0; i < count; i++) {
            const size_t n = jobs[i].n;
            const int r = kstt_mimi_stream_encode(b[i], jobs[i].pcm, n, cb[i] + pos[i] * K,
                                                  cap_f[i] - pos[i]);
            if (r != jobs[i].frames) {
                TEST_FAIL_("round %d stream %d (%zu samples): batched %d frames, alone %d", round,
                           i, n, jobs[i].frames, r);
                ok = 0;
                break;
            }
            if (memcmp(ca[i] + pos[i] * K, cb[i] + pos[i] * K, (size_t)r * K * sizeof(int32_t))) {
                TEST_FAIL_("round %d stream %d: batched codes differ from the stream's own", round,
                           i);
                ok = 0;
                break;
            }
            pos[i] += (size_t)r;
            total += r;
            done[i] += n;
            left[i] -= n;
        }
    }
    *frames_out = total;
    for (int i = 0; i < count; i++) {
        kstt_mimi_stream_free(a[i]);
        kstt_mimi_stream_free(b[i]);
        free(ca[i]);
        free(cb[i]);
    }
    kstt__mimi_batch_free(bt);
}

static kstt_mimi *load_tiny(kstt_pool *pool) {
    char err[512];
    kstt_mimi_params p = kstt_mimi_params_default();
    p.config_path = test_golden("stt_tiny/mimi_tiny_config.json");
    p.pool = pool;
    kstt_mimi *m = NULL;
    if (kstt_mimi_load(&m, test_golden("stt_tiny/mimi_tiny.safetensors"), &p, err, sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        exit(1);
    }
    return m;
}

/* count = first, first + step, ... <= MAXS; 3 s per stream (37 frames). */
static void run_tiny(kstt_pool *pool, int first, int step) {
    kstt_mimi *m = load_tiny(pool);
    const size_t limit = 3 * 24000;
    for (int count = first; count <= MAXS; count += step) {
        /* small pieces: few frames per pass; large ones: passes split between streams */
        long frames = 0;
        scenario(m, count, count & 1 ? 3 : 30, 6, limit, &frames);
        ASSERT_INT_EQ(frames, (long)count * (long)(limit / 1920));
    }
    kstt_mimi_free(m);
}

static void test_tiny_one_thread(void) {
    run_tiny(NULL, 2, 1);
}

static void test_tiny_pool(void) {
    kstt_pool *pool = NULL;
    ASSERT_INT_EQ(kstt_pool_new(&pool, 2), KSTT_OK);
    run_tiny(pool, 2, 3);
    kstt_pool_free(pool);
}

/* Argument errors are reported before any work: the streams stay as they were. */
static void test_errors(void) {
    kstt_mimi *m = load_tiny(NULL);
    const int K = kstt_mimi_num_codebooks(m);
    kstt_mimi_stream *s[3], *ref;
    kstt__mimi_batch *bt;
    ASSERT_INT_EQ(kstt__mimi_batch_new(&bt, m, 2), KSTT_OK);
    for (int i = 0; i < 3; i++)
        ASSERT_INT_EQ(kstt_mimi_stream_new(&s[i], m), KSTT_OK);
    ASSERT_INT_EQ(kstt_mimi_stream_new(&ref, m), KSTT_OK);
    int32_t c0[4 * 64], c1[4 * 64], want[4 * 64];
    kstt__mimi_job jobs[3] = {{s[0], g_clip[0], 3 * 1920, c0, 4, -1},
                              {s[1], g_clip[1], 2 * 1920, c1, 1, -1},
                              {s[2], g_clip[1], 1920, c1, 4, -1}};
    ASSERT_INT_EQ(kstt__mimi_encode(bt, jobs, 3), KSTT_EINVAL);
    kstt__mimi_job dup[2] = {jobs[0], jobs[0]};
    ASSERT_INT_EQ(kstt__mimi_encode(bt, dup, 2), KSTT_EINVAL);
    /* stream 1 has room for 1 frame of 2: nothing is encoded, stream 0 included */
    ASSERT_INT_EQ(kstt__mimi_encode(bt, jobs, 2), KSTT_ERANGE);
    ASSERT_STR_CONTAINS(kstt_mimi_stream_errmsg(s[1]), "room for 1");
    jobs[1].max_frames = 4;
    ASSERT_INT_EQ(kstt__mimi_encode(bt, jobs, 2), KSTT_OK);
    ASSERT_INT_EQ(jobs[0].frames, 3);
    ASSERT_INT_EQ(jobs[1].frames, 2);
    ASSERT_INT_EQ(kstt_mimi_stream_encode(ref, g_clip[0], 3 * 1920, want, 4), 3);
    ASSERT_TRUE(memcmp(c0, want, 3 * (size_t)K * sizeof(int32_t)) == 0);
    ASSERT_INT_EQ(kstt__mimi_encode(bt, NULL, 0), KSTT_OK);
    kstt__mimi_batch *bad = NULL;
    ASSERT_INT_EQ(kstt__mimi_batch_new(&bad, m, 0), KSTT_EINVAL);
    ASSERT_INT_EQ(kstt__mimi_batch_new(&bad, NULL, 2), KSTT_EINVAL);
    /* every allocation failure of the constructor: KSTT_ENOMEM, nothing leaked */
    int rc = KSTT_ENOMEM, fails = 0;
    for (long k = 0; rc == KSTT_ENOMEM && k < 100; k++) {
        const long long live = kstt__alloc_live_bytes();
        kstt__alloc_fail_after(k);
        rc = kstt__mimi_batch_new(&bad, m, 3);
        kstt__alloc_fail_after(-1);
        if (rc == KSTT_ENOMEM) {
            fails++;
            ASSERT_TRUE(bad == NULL && kstt__alloc_live_bytes() == live);
        }
    }
    ASSERT_INT_EQ(rc, KSTT_OK);
    ASSERT_TRUE(fails >= 7);
    kstt__mimi_batch_free(bad);
    for (int i = 0; i < 3; i++)
        kstt_mimi_stream_free(s[i]);
    kstt_mimi_stream_free(ref);
    kstt__mimi_batch_free(bt);
    kstt_mimi_free(m);
}

/* Taps and timers in a batch of 4 streams (0, 1 tapped; 1, 3 timed; 2 neither), against 4
 * streams encoding alone (0, 1 tapped): the same codes for every stream, the same
 * intermediates, bit for bit, for the tapped ones; every part timed for the timed ones; no
 * allocation while encoding. */
static void run_taps(kstt_pool *pool) {
    kstt_mimi *m = load_tiny(pool);
    const int K = kstt_mimi_num_codebooks(m), count = 4;
    const size_t total = 2 * 24000, cap_f = total / 1920 + 2;
    kstt_mimi_stream *a[4], *b[4];
    mt_taps ta[2], tb[2];
    memset(ta, 0, sizeof ta);
    memset(tb, 0, sizeof tb);
    kstt__mimi_prof pa[2], pbt;
    memset(pa, 0, sizeof pa);
    memset(&pbt, 0, sizeof pbt);
    kstt__mimi_batch *bt = NULL;
    ASSERT_INT_EQ(kstt__mimi_batch_new(&bt, m, count), KSTT_OK);
    kstt__mimi_batch_set_prof(bt, &pbt);
    int32_t *ca[4], *cb[4];
    const float *src[4];
    for (int i = 0; i < count; i++) {
        ASSERT_INT_EQ(kstt_mimi_stream_new(&a[i], m), KSTT_OK);
        ASSERT_INT_EQ(kstt_mimi_stream_new(&b[i], m), KSTT_OK);
        ca[i] = malloc(cap_f * K * sizeof(int32_t));
        cb[i] = malloc(cap_f * K * sizeof(int32_t));
        src[i] = g_clip[i % 2] + 1000 * i;
    }
    for (int i = 0; i < 2; i++) {
        kstt__mimi_stream_set_tap(a[i], mt_tap_fn, &ta[i]);
        kstt__mimi_stream_set_tap(b[i], mt_tap_fn, &tb[i]);
        kstt__mimi_stream_set_prof(a[2 * i + 1], &pa[i]);
    }
    size_t done[4] = {0}, pos[4] = {0};
    const long long allocs = kstt__alloc_count(); /* encoding allocates nothing */
    int ok = 1;
    for (int round = 0; ok; round++) {
        kstt__mimi_job jobs[4];
        int pending = 0;
        for (int i = 0; i < count; i++) {
            size_t len = round % 3 == 2 ? (size_t)test_rand_int(1920, 40 * 1920)
                                        : (size_t)test_rand_int(0, 3 * 1920);
            if (len > total - done[i])
                len = total - done[i];
            jobs[i] = (kstt__mimi_job){
                a[i], src[i] + done[i], len, ca[i] + pos[i] * K, cap_f - pos[i], -1};
            pending += done[i] < total;
        }
        if (!pending)
            break;
        ASSERT_INT_EQ(kstt__mimi_encode(bt, jobs, count), KSTT_OK);
        for (int i = 0; i < count; i++) {
            const int r = kstt_mimi_stream_encode(b[i], jobs[i].pcm, jobs[i].n, cb[i] + pos[i] * K,
                                                  cap_f - pos[i]);
            if (r != jobs[i].frames ||
                memcmp(ca[i] + pos[i] * K, cb[i] + pos[i] * K, (size_t)r * K * sizeof(int32_t))) {
                TEST_FAIL_("round %d stream %d: batched %d frames, alone %d, or codes differ",
                           round, i, jobs[i].frames, r);
                ok = 0;
            }
            pos[i] += (size_t)r;
            done[i] += jobs[i].n;
        }
    }
    ASSERT_INT_EQ(kstt__alloc_count(), allocs);
    for (int i = 0; i < count; i++)
        ASSERT_INT_EQ((long)pos[i], (long)(total / 1920));
    for (int i = 0; i < 2; i++) {
        /* input conv, 4 stages x 3 + 2, transformer layers, and the named points */
        ASSERT_TRUE(ta[i].n >= 20);
        ASSERT_INT_EQ(ta[i].n, tb[i].n);
        for (int j = 0; j < ta[i].n && j < tb[i].n; j++) {
            const mt_tap_buf *x = &ta[i].b[j], *y = mt_find(&tb[i], x->name);
            if (!y || x->rows != y->rows || x->cols != y->cols ||
                memcmp(x->data, y->data, (size_t)x->rows * x->cols * sizeof(float))) {
                TEST_FAIL_("stream %d tap %s: batched differs from alone", i, x->name);
                continue;
            }
        }
        ASSERT_TRUE(mt_find(&ta[i], "proj_acoustic") && mt_find(&ta[i], "seanet_layer00_out"));
        ASSERT_INT_EQ(mt_find(&ta[i], "latent")->rows, (long)(total / 1920));
        mt_taps_free(&ta[i]);
        mt_taps_free(&tb[i]);
        ASSERT_TRUE(pa[i].front > 0 && pa[i].seanet > 0 && pa[i].transformer > 0 &&
                    pa[i].quant > 0);
    }
    ASSERT_TRUE(pbt.front > 0 && pbt.seanet > 0 && pbt.transformer > 0 && pbt.quant > 0);
    /* the batch's timer has every stream's front, a stream's only its own */
    ASSERT_TRUE(pbt.front > pa[0].front && pbt.front > pa[1].front);
    for (int i = 0; i < count; i++) {
        kstt_mimi_stream_free(a[i]);
        kstt_mimi_stream_free(b[i]);
        free(ca[i]);
        free(cb[i]);
    }
    kstt__mimi_batch_free(bt);
    kstt_mimi_free(m);
}

static void test_taps_timers(void) {
    run_taps(NULL);
    kstt_pool *pool = NULL;
    ASSERT_INT_EQ(kstt_pool_new(&pool, 2), KSTT_OK);
    run_taps(pool);
    kstt_pool_free(pool);
}

/* The real-size Mimi: 3 and 8 streams, a few seconds each (fewer with reference kernels). */
static void test_medium(void) {
    char path[1024];
    const char *env = getenv("KSTT_MIMI_MEDIUM"), *srcdir = getenv("KSTT_SOURCE_DIR");
    if (env)
        snprintf(path, sizeof path, "%s", env);
    else
        snprintf(path, sizeof path, "%s/.ref/medium/mimi_medium.safetensors",
                 srcdir ? srcdir : ".");
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("  real-size Mimi weights not found (%s): skipped\n", path);
        return;
    }
    kstt_pool *pool = NULL;
    ASSERT_INT_EQ(kstt_pool_new(&pool, 0), KSTT_OK);
    kstt_mimi_params p = kstt_mimi_params_default();
    p.pool = pool;
    kstt_mimi *m = NULL;
    char err[512];
    if (kstt_mimi_load(&m, path, &p, err, sizeof err)) {
        TEST_FAIL_("load: %s", err);
        kstt_pool_free(pool);
        return;
    }
    const char *lvl = getenv("KSTT_KERNELS");
    const int slow = lvl && strcmp(lvl, "ref") == 0;
    long frames = 0;
    scenario(m, 3, 4, 3, (size_t)(slow ? 4 : 12) * 1920, &frames);
    ASSERT_TRUE(frames >= 3 * (slow ? 3 : 10));
    if (!slow) {
        scenario(m, 8, 2, 4, 6 * 1920, &frames);
        ASSERT_TRUE(frames >= 8 * 5);
    }
    kstt_mimi_free(m);
    kstt_pool_free(pool);
}

int main(void) {
    g_clip[0] = mt_read_pcm(test_golden("bria_10s_24k.f32"), &g_clip_n[0]);
    g_clip[1] = mt_read_pcm(test_golden("fr_6s_24k.f32"), &g_clip_n[1]);
    if (!g_clip[0] || !g_clip[1]) {
        fprintf(stderr, "clips missing\n");
        return 1;
    }
    RUN(test_errors);
    RUN(test_tiny_one_thread);
    RUN(test_tiny_pool);
    RUN(test_taps_timers);
    RUN(test_medium);
    free(g_clip[0]);
    free(g_clip[1]);
    return test_summary();
}
