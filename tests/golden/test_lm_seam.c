/*
 * The LM is used only through its backend seam (lm/lm.h): the golden tiny model's LM is put
 * behind a wrapping backend whose `be` is not the CPU model (it holds the CPU LM one level
 * down and counts the calls), and whole streams, alone and batched, still give bit-identical
 * events to the plain model. Were src/asr reading the CPU backend's data (weights, work
 * buffers, KV rings) instead of calling the seam, it would read the wrapper's struct and fail.
 * The counts also pin the batching: one seam step per model step, rows = streams stepped.
 */
#include "asr/model.h"
#include "asr_test_util.h"
#include "kstt.h"
#include "lm/lm.h"
#include "test.h"

typedef struct {
    kstt__lm inner; /* the CPU LM as loaded */
    long steps, rows, states, works, max_n;
} wrap;

static wrap *g_wrap; /* the state/work calls get no lm: the one wrapper of this test */

static size_t w_kv_bytes(const kstt__lm *lm) {
    const wrap *w = lm->be;
    return w->inner.ops->kv_bytes(&w->inner);
}
static int w_state_new(kstt__lm_state **out, const kstt__lm *lm) {
    wrap *w = lm->be;
    w->states++;
    return w->inner.ops->state_new(out, &w->inner);
}
static void w_state_reset(kstt__lm_state *s) {
    g_wrap->inner.ops->state_reset(s);
}
static int64_t w_state_pos(const kstt__lm_state *s) {
    return g_wrap->inner.ops->state_pos(s);
}
static void w_state_seek(kstt__lm_state *s, int64_t pos) {
    g_wrap->inner.ops->state_seek(s, pos);
}
static void w_state_free(kstt__lm_state *s) {
    g_wrap->inner.ops->state_free(s);
}
static int w_work_new(kstt__lm_work **out, const kstt__lm *lm, int cap) {
    wrap *w = lm->be;
    w->works++;
    return w->inner.ops->work_new(out, &w->inner, cap);
}
static void w_work_free(kstt__lm_work *wk) {
    g_wrap->inner.ops->work_free(wk);
}
static int w_step(const kstt__lm *lm, kstt__lm_work *wk, kstt__lm_state *const *st,
                  const int32_t *tokens, int n, float *logits, float *vad) {
    wrap *w = lm->be;
    w->steps++;
    w->rows += n;
    if (n > w->max_n)
        w->max_n = n;
    return w->inner.ops->step(&w->inner, wk, st, tokens, n, logits, vad);
}
static void w_free(kstt__lm *lm) {
    (void)lm; /* the test restores the CPU LM before freeing the model */
}

static const kstt__lm_ops wrap_ops = {
    .name = "wrap",
    .free = w_free,
    .kv_bytes = w_kv_bytes,
    .state_new = w_state_new,
    .state_reset = w_state_reset,
    .state_pos = w_state_pos,
    .state_seek = w_state_seek,
    .state_free = w_state_free,
    .work_new = w_work_new,
    .work_free = w_work_free,
    .step = w_step,
};

static kstt_model *model;
static float *bria, *fr;
static size_t nb, nf;

static float *load_clip(const char *name, size_t *n) {
    size_t bytes = 0;
    float *pcm = test_read_file(test_golden(name), &bytes);
    *n = bytes / sizeof(float);
    return pcm;
}

static int same(const event_log *a, const event_log *b) {
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++) {
        const kstt_event *x = &a->ev[i], *y = &b->ev[i];
        if (x->type != y->type || x->step != y->step || memcmp(&x->start, &y->start, 8) ||
            memcmp(&x->stop, &y->stop, 8) || memcmp(x->prs, y->prs, sizeof x->prs) ||
            x->n_tokens != y->n_tokens || strcmp(a->text[i], b->text[i]))
            return 0;
    }
    return 1;
}

/* bria alone (returns the steps run) and, with both non-NULL, bria + fr in one batch. */
static int run(event_log *alone, event_log *b0, event_log *b1) {
    kstt_stream *s, *t;
    if (kstt_stream_new(&s, model, NULL) || kstt_stream_new(&t, model, NULL))
        return -1;
    int steps = kstt_stream_feed(s, bria, nb);
    event_log_drain(s, alone);
    steps += kstt_stream_flush(s);
    event_log_drain(s, alone);
    kstt_stream_reset(s);
    kstt_batch *bt;
    if (kstt_batch_new(&bt, model, 2, NULL, 0))
        return -1;
    for (size_t off = 0; off < nb; off += 4000) {
        kstt_stream *st[2] = {s, t};
        const float *p[2] = {bria + off, fr + (off < nf ? off : nf)};
        size_t k[2] = {nb - off < 4000 ? nb - off : 4000,
                       off < nf ? (nf - off < 4000 ? nf - off : 4000) : 0};
        if (kstt_batch_feed(bt, st, p, k, 2) < 0)
            return -1;
        event_log_drain(s, b0);
        event_log_drain(t, b1);
    }
    if (kstt_stream_flush(s) < 0 || kstt_stream_flush(t) < 0)
        return -1;
    event_log_drain(s, b0);
    event_log_drain(t, b1);
    kstt_batch_free(bt);
    kstt_stream_free(s);
    kstt_stream_free(t);
    return steps;
}

static void test_wrapped_backend(void) {
    event_log *want = calloc(3, sizeof *want), *got = calloc(3, sizeof *got);
    const int steps = run(&want[0], &want[1], &want[2]);
    ASSERT_TRUE(steps > 100);
    wrap w = {.inner = *model->lm};
    g_wrap = &w;
    model->lm->ops = &wrap_ops;
    model->lm->be = &w;
    ASSERT_INT_EQ(run(&got[0], &got[1], &got[2]), steps);
    *model->lm = w.inner; /* the CPU LM back */
    printf("  %ld seam steps (%ld rows, up to %ld at once), %ld states, %ld works\n", w.steps,
           w.rows, w.max_n, w.states, w.works);
    for (int i = 0; i < 3; i++)
        ASSERT_TRUE(want[i].n > 0 && same(&want[i], &got[i]));
    ASSERT_INT_EQ(w.states, 2); /* one LM state per stream */
    ASSERT_INT_EQ(w.works, 3);  /* each stream's batch of one, and the batch */
    ASSERT_INT_EQ(w.max_n, 2);
    ASSERT_TRUE(w.rows > w.steps);
    /* the batched pass: bria's steps again plus fr's, fewer seam steps than rows */
    ASSERT_TRUE(w.steps >= 2 * steps && w.steps < w.rows);
    free(want);
    free(got);
}

int main(void) {
    char err[512];
    if (kstt_model_load(&model, test_golden("stt_tiny"), NULL, err, sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    bria = load_clip("bria_10s_24k.f32", &nb);
    fr = load_clip("fr_6s_24k.f32", &nf);
    RUN(test_wrapped_backend);
    kstt_model_free(model);
    free(bria);
    free(fr);
    return test_summary();
}
