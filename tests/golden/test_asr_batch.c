/*
 * kstt_batch on the golden tiny model (pool of 2 threads):
 *   - four streams fed together, one live-sized piece per call, with the order of the streams
 *     rotating between calls (as a server does), give bit-identical events to separate runs
 *     (every field, VAD probabilities compared as bits);
 *   - after warm-up, batched feeds allocate nothing (the counting allocator);
 *   - no stream keeps batch scratch: streams fed identically through one batch, in any
 *     position, each free the same number of bytes, freeing them in any order mid-run leaves
 *     the others running, and everything returns to the starting live bytes;
 *   - the abort callback: checked before every model step, in a feed, in a long pad-mode flush
 *     and in a batch (the batch's message names the stream); after a reset the stream gives
 *     the events of a fresh one.
 */
#include <math.h>

#include "asr_test_util.h"
#include "core/alloc.h"
#include "kstt.h"
#include "test.h"

#define NS 4
#define PIECE 1920

static kstt_model *model;
static float *bria, *fr;
static size_t nb, nf;

static float *load_clip(const char *name, size_t *n) {
    size_t bytes = 0;
    float *pcm = test_read_file(test_golden(name), &bytes);
    *n = bytes / sizeof(float);
    return pcm;
}

/* Every field equal, floats as bits. */
static int identical(const event_log *a, const event_log *b) {
    if (a->n != b->n) {
        fprintf(stderr, "event counts differ: %d vs %d\n", a->n, b->n);
        return 0;
    }
    for (int i = 0; i < a->n; i++) {
        const kstt_event *x = &a->ev[i], *y = &b->ev[i];
        int ok = x->type == y->type && x->step == y->step &&
                 !memcmp(&x->start, &y->start, sizeof x->start) &&
                 !memcmp(&x->stop, &y->stop, sizeof x->stop) &&
                 !memcmp(x->prs, y->prs, sizeof x->prs) && x->n_tokens == y->n_tokens &&
                 !strcmp(a->text[i], b->text[i]);
        if (x->type == KSTT_EVENT_WORD)
            ok = ok && !memcmp(a->toks[i], b->toks[i],
                               (size_t)(x->n_tokens < 128 ? x->n_tokens : 128) * sizeof(int32_t));
        if (!ok) {
            fprintf(stderr, "event %d differs (type %d/%d, step %lld/%lld)\n", i, (int)x->type,
                    (int)y->type, (long long)x->step, (long long)y->step);
            return 0;
        }
    }
    return 1;
}

typedef struct {
    const float *pcm;
    size_t n;
    int pad;
} input;

static input inputs[NS];

static void setup_inputs(void) {
    inputs[0] = (input){bria, nb, 1};
    inputs[1] = (input){fr, nf, 1};
    inputs[2] = (input){bria + 7000, nb - 7000, 0};
    inputs[3] = (input){fr + 12345, nf - 12345, 1};
}

static kstt_stream *new_stream(int pad) {
    kstt_stream_params p = kstt_stream_params_default();
    p.pad = pad;
    kstt_stream *s = NULL;
    if (kstt_stream_new(&s, model, &p))
        return NULL;
    return s;
}

/* One stream alone: fed in one call, flushed. */
static void separate(const input *in, event_log *log) {
    kstt_stream *s = new_stream(in->pad);
    ASSERT_TRUE(s != NULL);
    ASSERT_TRUE(kstt_stream_feed(s, in->pcm, in->n) >= 0);
    event_log_drain(s, log);
    ASSERT_TRUE(kstt_stream_flush(s) >= 0);
    event_log_drain(s, log);
    kstt_stream_free(s);
}

static void test_batch_equals_separate(void) {
    event_log *want = calloc(NS, sizeof *want), *got = calloc(NS, sizeof *got);
    for (int i = 0; i < NS; i++)
        separate(&inputs[i], &want[i]);
    kstt_stream *s[NS];
    for (int i = 0; i < NS; i++)
        ASSERT_TRUE((s[i] = new_stream(inputs[i].pad)) != NULL);
    kstt_batch *b;
    char err[256];
    ASSERT_INT_EQ(kstt_batch_new(&b, model, NS, err, sizeof err), KSTT_OK);
    size_t off[NS] = {0};
    int left = NS, calls = 0, steps = 0;
    while (left) {
        kstt_stream *order[NS];
        const float *p[NS];
        size_t k[NS];
        for (int j = 0; j < NS; j++) {
            const int i = (j + calls) % NS; /* rotate which stream comes first */
            order[j] = s[i];
            k[j] = inputs[i].n - off[i] < PIECE ? inputs[i].n - off[i] : PIECE;
            p[j] = inputs[i].pcm + off[i];
            off[i] += k[j];
        }
        const int r = kstt_batch_feed(b, order, p, k, NS);
        ASSERT_TRUE(r >= 0);
        steps += r;
        left = 0;
        for (int i = 0; i < NS; i++) {
            event_log_drain(s[i], &got[i]);
            left += off[i] < inputs[i].n;
        }
        calls++;
    }
    for (int i = 0; i < NS; i++) {
        ASSERT_TRUE(kstt_stream_flush(s[i]) >= 0);
        event_log_drain(s[i], &got[i]);
    }
    printf("  %d batched calls, %d batched model steps\n", calls, steps);
    /* the longest stream's frames (bria: 10 s, plus the prefix) bound the steps from below */
    ASSERT_TRUE(steps >= (int)(nb / 1920));
    for (int i = 0; i < NS; i++) {
        ASSERT_TRUE(want[i].n > 0);
        if (!identical(&want[i], &got[i]))
            TEST_FAIL_("stream %d: batched events differ from its separate run", i);
    }
    kstt_batch_free(b);
    for (int i = 0; i < NS; i++)
        kstt_stream_free(s[i]);
    free(want);
    free(got);
}

/* Feeds every stream of s[0..n) the same piece (order rotated by `rot`), reading all events. */
static int feed_all(kstt_batch *b, kstt_stream **s, int n, const float *pcm, size_t k, int rot) {
    kstt_stream *order[NS] = {0};
    const float *p[NS] = {0};
    size_t kk[NS] = {0};
    for (int j = 0; j < n && j < NS; j++) {
        order[j] = s[(j + rot) % n];
        p[j] = pcm;
        kk[j] = k;
    }
    const int r = kstt_batch_feed(b, order, p, kk, (size_t)n);
    kstt_event ev[16];
    for (int j = 0; j < n; j++)
        while (kstt_stream_read(s[j], ev, 16) > 0) {
        }
    return r;
}

static void test_no_alloc_after_warmup(void) {
    kstt_stream *s[NS];
    for (int i = 0; i < NS; i++)
        ASSERT_TRUE((s[i] = new_stream(1)) != NULL);
    kstt_batch *b;
    ASSERT_INT_EQ(kstt_batch_new(&b, model, NS, NULL, 0), KSTT_OK);
    long long before = 0;
    int steps = 0;
    for (size_t off = 0, call = 0; off + 3000 <= nb / 2; off += 3000, call++) {
        if (call == 4)
            before = kstt__alloc_count(); /* warmed up */
        const int r = feed_all(b, s, NS, bria + off, 3000, (int)call);
        ASSERT_TRUE(r >= 0);
        if (call >= 4)
            steps += r;
    }
    printf("  %d model steps after warm-up, %lld allocations\n", steps,
           kstt__alloc_count() - before);
    ASSERT_TRUE(steps > 25);
    ASSERT_INT_EQ(kstt__alloc_count(), before);
    kstt_batch_free(b);
    for (int i = 0; i < NS; i++)
        kstt_stream_free(s[i]);
}

static void test_free_any_order(void) {
    const long long live0 = kstt__alloc_live_bytes();
    kstt_stream *s[NS];
    for (int i = 0; i < NS; i++)
        ASSERT_TRUE((s[i] = new_stream(1)) != NULL);
    kstt_batch *b;
    ASSERT_INT_EQ(kstt_batch_new(&b, model, NS, NULL, 0), KSTT_OK);
    for (int call = 0; call < 20; call++)
        ASSERT_TRUE(feed_all(b, s, NS, bria + (size_t)call * 2500, 2500, call) >= 0);
    /* fed the same audio, in every position of the batch: each holds the same bytes */
    long long freed[NS];
    const int order[NS] = {2, 0, 3, 1};
    kstt_stream *rest[NS];
    for (int j = 0; j < NS; j++) {
        const long long l = kstt__alloc_live_bytes();
        kstt_stream_free(s[order[j]]);
        s[order[j]] = NULL;
        freed[j] = l - kstt__alloc_live_bytes();
        /* the others go on through the same batch */
        int n = 0;
        for (int i = 0; i < NS; i++)
            if (s[i])
                rest[n++] = s[i];
        if (n)
            ASSERT_TRUE(feed_all(b, rest, n, bria + 60000, 1920 * (size_t)(j + 1), j) >= 0);
    }
    printf("  bytes freed per stream: %lld %lld %lld %lld\n", freed[0], freed[1], freed[2],
           freed[3]);
    ASSERT_TRUE(freed[0] > 0); /* a stream's own state, freed with it */
    for (int j = 1; j < NS; j++)
        ASSERT_TRUE(freed[j] == freed[0]);
    kstt_batch_free(b);
    ASSERT_INT_EQ(kstt__alloc_live_bytes(), live0);
}

/* The abort callback: answers nonzero from its `after`-th call on (1-based; 0: never). */
typedef struct {
    int calls, after;
} aborter;

static int abort_cb(void *user) {
    aborter *a = user;
    a->calls++;
    return a->after > 0 && a->calls >= a->after;
}

static kstt_stream *abortable(aborter *a) {
    kstt_stream_params p = kstt_stream_params_default();
    p.abort = abort_cb;
    p.user = a;
    kstt_stream *s = NULL;
    if (kstt_stream_new(&s, model, &p))
        return NULL;
    return s;
}

static int count_steps(kstt_stream *s) {
    kstt_event ev[16];
    int k, n = 0;
    while ((k = kstt_stream_read(s, ev, 16)) > 0)
        for (int i = 0; i < k; i++)
            n += ev[i].type == KSTT_EVENT_STEP;
    return n;
}

static void test_abort(void) {
    event_log *want = calloc(1, sizeof *want), *got = calloc(1, sizeof *got);
    separate(&(input){fr, nf, 1}, want);
    aborter a = {0, 6};
    kstt_stream *s = abortable(&a);
    ASSERT_TRUE(s != NULL);
    /* a feed: asked before every step; the 6th answer stops it after 5 steps */
    ASSERT_INT_EQ(kstt_stream_feed(s, fr, nf), KSTT_EABORTED);
    ASSERT_STR_EQ(kstt_stream_errmsg(s), "aborted by the stream's abort callback");
    ASSERT_INT_EQ(a.calls, 6);
    ASSERT_INT_EQ(count_steps(s), 5);
    /* reset: a fresh stream's events */
    kstt_stream_reset(s);
    a = (aborter){0, 0};
    ASSERT_TRUE(kstt_stream_feed(s, fr, nf) >= 0);
    event_log_drain(s, got);
    const int feed_calls = a.calls;
    /* a long pad-mode flush (the partial frame and 19 frames of silence): stopped at its 8th
     * step, not flushed (feeding still works after a reset) */
    a = (aborter){0, 8};
    ASSERT_INT_EQ(kstt_stream_flush(s), KSTT_EABORTED);
    ASSERT_INT_EQ(a.calls, 8);
    ASSERT_INT_EQ(count_steps(s), 7);
    kstt_stream_reset(s);
    memset(got, 0, sizeof *got);
    a = (aborter){0, 0};
    ASSERT_TRUE(kstt_stream_feed(s, fr, nf) >= 0);
    event_log_drain(s, got);
    const int flush_steps = kstt_stream_flush(s);
    event_log_drain(s, got);
    printf("  %d checks in the feed, %d steps in the flush\n", feed_calls, flush_steps);
    ASSERT_TRUE(flush_steps >= 19);
    ASSERT_INT_EQ(a.calls, feed_calls + flush_steps); /* one check per step */
    ASSERT_TRUE(identical(want, got));

    /* in a batch: the call stops, the batch's message names the stream */
    aborter a2 = {0, 3};
    kstt_stream *t = abortable(&a2);
    ASSERT_TRUE(t != NULL);
    kstt_stream_reset(s);
    a = (aborter){0, 0};
    kstt_batch *b;
    ASSERT_INT_EQ(kstt_batch_new(&b, model, 2, NULL, 0), KSTT_OK);
    kstt_stream *st[2] = {s, t};
    const float *p[2] = {fr, bria};
    size_t k[2] = {nf, nb};
    ASSERT_INT_EQ(kstt_batch_feed(b, st, p, k, 2), KSTT_EABORTED);
    ASSERT_STR_EQ(kstt_batch_errmsg(b), "stream 1: aborted by the stream's abort callback");
    ASSERT_INT_EQ(count_steps(s), 2);
    ASSERT_INT_EQ(count_steps(t), 2);
    kstt_batch_free(b);
    kstt_stream_free(t);
    kstt_stream_free(s);
    free(want);
    free(got);
}

int main(void) {
    char err[512];
    kstt_pool *pool;
    if (kstt_pool_new(&pool, 2))
        return 1;
    kstt_model_params mp = kstt_model_params_default();
    mp.pool = pool;
    if (kstt_model_load(&model, test_golden("stt_tiny"), &mp, err, sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    bria = load_clip("bria_10s_24k.f32", &nb);
    fr = load_clip("fr_6s_24k.f32", &nf);
    setup_inputs();
    const long long live = kstt__alloc_live_bytes();
    RUN(test_batch_equals_separate);
    RUN(test_no_alloc_after_warmup);
    RUN(test_free_any_order);
    RUN(test_abort);
    if (kstt__alloc_live_bytes() != live) {
        fprintf(stderr, "leak: %lld bytes\n", kstt__alloc_live_bytes() - live);
        return 1;
    }
    kstt_model_free(model);
    kstt_pool_free(pool);
    free(bria);
    free(fr);
    return test_summary();
}
