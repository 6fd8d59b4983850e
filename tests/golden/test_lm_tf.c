/*
 * The tiny STT LM (golden stt_tiny/) against the PyTorch reference, teacher-forced
 * (stt_tiny_ref.safetensors, tf.*): 126 steps from a fresh state, past the context of 16.
 * Tolerances from the golden README section 9: text logits max abs <= 1e-4, summed embeddings,
 * layer outputs and out_norm relative L2 <= 1e-5, VAD probabilities max abs <= 1e-5, argmax
 * equal (no margin below 1e-3 in these files). Also: every kernel level gives the same within
 * tolerance, batched streams at different positions equal single runs, and the ASR inputs of
 * both clips (asr.*.inputs) reproduce their recorded logits, tokens and VAD probabilities.
 */
#include <math.h>

#include "core/alloc.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "lm/config.h"
#include "lm/cpu/lm_cpu.h"
#include "lm/lm.h"
#include "test.h"

typedef struct {
    kstt__stt_config cfg;
    kstt__weights *wf;
    kstt__st_file *rf;
    kstt__lm *lm;
    kstt_pool *pool;
} fixture;

static int fx_open(fixture *fx, kstt_kernels level, int threads) {
    char err[512] = "";
    memset(fx, 0, sizeof *fx);
    if (kstt__stt_config_load(&fx->cfg, test_golden("stt_tiny/config.json"), err, sizeof err) ||
        kstt__weights_open(&fx->wf, test_golden("stt_tiny/model.safetensors"), err, sizeof err) ||
        kstt__st_open(&fx->rf, test_golden("stt_tiny_ref.safetensors"), err, sizeof err)) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    if (threads > 1 && kstt_pool_new(&fx->pool, threads))
        return -1;
    if (kstt__lm_load(&fx->lm, fx->wf, &fx->cfg, fx->pool, level, err, sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        return -1;
    }
    return 0;
}

static void fx_close(fixture *fx) {
    kstt__lm_free(fx->lm);
    kstt__weights_close(fx->wf);
    kstt__st_close(fx->rf);
    kstt_pool_free(fx->pool);
}

static const void *ref(fixture *fx, const char *name, int64_t numel) {
    const kstt__tensor *t = kstt__st_find(fx->rf, name);
    if (!t || t->numel != numel) {
        fprintf(stderr, "reference tensor %s missing or of the wrong size\n", name);
        exit(1);
    }
    return t->data;
}

static double max_abs(const float *a, const float *b, long n) {
    double m = 0;
    for (long i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static double rel_l2(const float *a, const float *b, long n) {
    double num = 0, den = 0;
    for (long i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return sqrt(num / (den > 0 ? den : 1));
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

/* Captures layer outputs of batch row `row` for the current step. */
typedef struct {
    int row, D;
    float emb[64], layer[2][64], out[64];
} capture;

static void trace_fn(void *user, const char *what, int layer, const float *x, int batch) {
    capture *c = user;
    if (c->row >= batch)
        return;
    const float *r = x + (size_t)c->row * c->D;
    if (!strcmp(what, "emb_in"))
        memcpy(c->emb, r, sizeof c->emb);
    if (!strcmp(what, "layer") && layer < 2)
        memcpy(c->layer[layer], r, sizeof c->layer[0]);
    if (!strcmp(what, "out_norm"))
        memcpy(c->out, r, sizeof c->out);
}

/* Runs the teacher-forced sequence and compares every step. */
static void run_tf(kstt_kernels level, int threads) {
    fixture fx;
    ASSERT_TRUE(fx_open(&fx, level, threads) == 0);
    const kstt__lm *lm = fx.lm;
    ASSERT_INT_EQ(lm->dim, 64);
    ASSERT_INT_EQ(lm->hidden, 176);
    ASSERT_INT_EQ(lm->n_vad, 4);
    ASSERT_INT_EQ(lm->vad_dim, 6);
    const int T = 126, V = 128;
    const int32_t *in = ref(&fx, "tf.input_tokens", T * 9);
    const float *emb = ref(&fx, "tf.emb_in", T * 64), *l0 = ref(&fx, "tf.layer0_out", T * 64),
                *l1 = ref(&fx, "tf.layer1_out", T * 64), *on = ref(&fx, "tf.out_norm", T * 64),
                *lg = ref(&fx, "tf.text_logits", T * V), *vp = ref(&fx, "tf.extra_probs", T * 24);
    const int32_t *am = ref(&fx, "tf.argmax", T);
    kstt__lm_state *cp;
    kstt__lm_work *w;
    float logits[128], vad[24];
    ASSERT_INT_EQ(kstt__lm_state_new(&cp, lm), KSTT_OK);
    ASSERT_INT_EQ(kstt__lm_work_new(&w, lm, 1), KSTT_OK);
    capture cap = {.row = 0, .D = 64};
    double worst_logit = 0, worst_rel = 0, worst_vad = 0;
    for (int t = 0; t < T; t++) {
        ASSERT_INT_EQ(
            kstt__lm_cpu_step_traced(lm, w, &cp, in + t * 9, 1, logits, vad, trace_fn, &cap),
            KSTT_OK);
        worst_rel = fmax(worst_rel, rel_l2(cap.emb, emb + t * 64, 64));
        worst_rel = fmax(worst_rel, rel_l2(cap.layer[0], l0 + t * 64, 64));
        worst_rel = fmax(worst_rel, rel_l2(cap.layer[1], l1 + t * 64, 64));
        worst_rel = fmax(worst_rel, rel_l2(cap.out, on + t * 64, 64));
        worst_logit = fmax(worst_logit, max_abs(logits, lg + t * V, V));
        worst_vad = fmax(worst_vad, max_abs(vad, vp + t * 24, 24));
        if (argmax(logits, V) != am[t]) {
            TEST_FAIL_("step %d: argmax %d, reference %d", t, argmax(logits, V), am[t]);
            break;
        }
    }
    printf("  %s, %d thread(s): logits max abs %.3g, rel L2 %.3g, VAD max abs %.3g\n", lm->kernels,
           threads, worst_logit, worst_rel, worst_vad);
    ASSERT_INT_EQ(kstt__lm_state_pos(lm, cp), T);
    kstt__lm_work_free(lm, w);
    kstt__lm_state_free(lm, cp);
    fx_close(&fx);
    ASSERT_TRUE(worst_logit <= 1e-4);
    ASSERT_TRUE(worst_rel <= 1e-5);
    ASSERT_TRUE(worst_vad <= 1e-5);
}

static void test_tf_ref(void) {
    run_tf(KSTT_KERNELS_REF, 1);
}
static void test_tf_best(void) {
    run_tf(KSTT_KERNELS_AUTO, 1);
}
static void test_tf_pool(void) {
    run_tf(KSTT_KERNELS_AUTO, 2);
}

/* Three streams in one batch, starting at different steps (0, 5 and 40) of the teacher-forced
 * sequence, so that their positions, rings and wrap-arounds differ: each must equal the
 * single-stream reference at its own step. */
static void test_tf_batched(void) {
    fixture fx;
    ASSERT_TRUE(fx_open(&fx, KSTT_KERNELS_AUTO, 2) == 0);
    const kstt__lm *lm = fx.lm;
    const int T = 126, V = 128, B = 3, start[3] = {0, 5, 40};
    const int32_t *in = ref(&fx, "tf.input_tokens", T * 9);
    const float *lg = ref(&fx, "tf.text_logits", T * V), *vp = ref(&fx, "tf.extra_probs", T * 24);
    kstt__lm_state *cp[3];
    kstt__lm_work *w;
    float logits[3 * 128], vad[3 * 24];
    ASSERT_INT_EQ(kstt__lm_work_new(&w, lm, B), KSTT_OK);
    for (int b = 0; b < B; b++)
        ASSERT_INT_EQ(kstt__lm_state_new(&cp[b], lm), KSTT_OK);
    /* stream b is at reference step t - start[b]; it joins when that is 0, rows are the inputs
     * of step (t - start[b]) of the reference run, which starts from a fresh state */
    double worst = 0, worst_vad = 0;
    int32_t tok[3 * 9];
    for (int t = 0; t < T + 40; t++) {
        kstt__lm_state *act[3];
        int idx[3], n = 0;
        for (int b = 0; b < B; b++) {
            int s = t - start[b];
            if (s < 0 || s >= T)
                continue;
            memcpy(tok + n * 9, in + s * 9, 9 * sizeof(int32_t));
            act[n] = cp[b];
            idx[n++] = s;
        }
        if (!n)
            continue;
        ASSERT_INT_EQ(kstt__lm_step(lm, w, act, tok, n, logits, vad), KSTT_OK);
        for (int i = 0; i < n; i++) {
            worst = fmax(worst, max_abs(logits + i * V, lg + idx[i] * V, V));
            worst_vad = fmax(worst_vad, max_abs(vad + i * 24, vp + idx[i] * 24, 24));
        }
    }
    for (int b = 0; b < B; b++)
        kstt__lm_state_free(lm, cp[b]);
    kstt__lm_work_free(lm, w);
    fx_close(&fx);
    printf("  batched: logits max abs %.3g, VAD %.3g\n", worst, worst_vad);
    ASSERT_TRUE(worst <= 1e-4);
    ASSERT_TRUE(worst_vad <= 1e-5);
}

/* The recorded inputs of the streaming ASR runs (asr.{bria,fr}.inputs) reproduce their logits,
 * VAD probabilities and chosen tokens. */
static void run_asr_inputs(const char *clip, int T) {
    fixture fx;
    ASSERT_TRUE(fx_open(&fx, KSTT_KERNELS_AUTO, 1) == 0);
    const int V = 128;
    char n[64];
    snprintf(n, sizeof n, "asr.%s.inputs", clip);
    const int32_t *in = ref(&fx, n, T * 9);
    snprintf(n, sizeof n, "asr.%s.text_logits", clip);
    const float *lg = ref(&fx, n, T * V);
    snprintf(n, sizeof n, "asr.%s.vad_probs", clip);
    const float *vp = ref(&fx, n, T * 24);
    snprintf(n, sizeof n, "asr.%s.tokens", clip);
    const int32_t *tk = ref(&fx, n, T);
    kstt__lm_state *cp;
    kstt__lm_work *w;
    float logits[128], vad[24];
    ASSERT_INT_EQ(kstt__lm_state_new(&cp, fx.lm), KSTT_OK);
    ASSERT_INT_EQ(kstt__lm_work_new(&w, fx.lm, 1), KSTT_OK);
    double worst = 0, worst_vad = 0;
    int bad = -1;
    for (int t = 0; t < T; t++) {
        ASSERT_INT_EQ(kstt__lm_step(fx.lm, w, &cp, in + t * 9, 1, logits, vad), KSTT_OK);
        worst = fmax(worst, max_abs(logits, lg + t * V, V));
        worst_vad = fmax(worst_vad, max_abs(vad, vp + t * 24, 24));
        if (bad < 0 && argmax(logits, V) != tk[t])
            bad = t;
    }
    kstt__lm_state_free(fx.lm, cp);
    kstt__lm_work_free(fx.lm, w);
    fx_close(&fx);
    printf("  asr.%s: logits max abs %.3g, VAD %.3g\n", clip, worst, worst_vad);
    ASSERT_INT_EQ(bad, -1);
    ASSERT_TRUE(worst <= 1e-4);
    ASSERT_TRUE(worst_vad <= 1e-5);
}

static void test_asr_inputs_bria(void) {
    run_asr_inputs("bria", 157);
}
static void test_asr_inputs_fr(void) {
    run_asr_inputs("fr", 107);
}

/* Out-of-range tokens are rejected without touching the state. */
static void test_bad_tokens(void) {
    fixture fx;
    ASSERT_TRUE(fx_open(&fx, KSTT_KERNELS_AUTO, 1) == 0);
    kstt__lm_state *cp;
    kstt__lm_work *w;
    float logits[128], vad[24];
    ASSERT_INT_EQ(kstt__lm_state_new(&cp, fx.lm), KSTT_OK);
    ASSERT_INT_EQ(kstt__lm_work_new(&w, fx.lm, 1), KSTT_OK);
    int32_t tok[9] = {129, 64, 64, 64, 64, 64, 64, 64, 64};
    ASSERT_INT_EQ(kstt__lm_step(fx.lm, w, &cp, tok, 1, logits, vad), KSTT_EINVAL);
    tok[0] = 128;
    tok[8] = 65;
    ASSERT_INT_EQ(kstt__lm_step(fx.lm, w, &cp, tok, 1, logits, vad), KSTT_EINVAL);
    tok[8] = -1;
    ASSERT_INT_EQ(kstt__lm_step(fx.lm, w, &cp, tok, 1, logits, vad), KSTT_EINVAL);
    tok[8] = 64;
    ASSERT_INT_EQ(kstt__lm_step(fx.lm, w, &cp, tok, 2, logits, vad), KSTT_EINVAL);
    ASSERT_INT_EQ(kstt__lm_state_pos(fx.lm, cp), 0);
    ASSERT_INT_EQ(kstt__lm_step(fx.lm, w, &cp, tok, 1, logits, vad), KSTT_OK);
    ASSERT_INT_EQ(kstt__lm_state_pos(fx.lm, cp), 1);
    kstt__lm_state_free(fx.lm, cp);
    kstt__lm_work_free(fx.lm, w);
    fx_close(&fx);
}

int main(void) {
    long long live = kstt__alloc_live_bytes();
    RUN(test_tf_ref);
    RUN(test_tf_best);
    RUN(test_tf_pool);
    RUN(test_tf_batched);
    RUN(test_asr_inputs_bria);
    RUN(test_asr_inputs_fr);
    RUN(test_bad_tokens);
    if (kstt__alloc_live_bytes() != live) {
        fprintf(stderr, "leak: %lld bytes\n", kstt__alloc_live_bytes() - live);
        return 1;
    }
    return test_summary();
}
