/*
 * kstt_model_params.num_codebooks (moshi-server's audio_codebooks) on the golden tiny model
 * (n_q = 8), checked against an exact equivalent: a copy of the model whose audio embedding
 * tables of codebooks >= K are zeroed (moshi's zero token) and which reads all 8 codebooks.
 *   - the LM step with K codebooks equals the full step of the zeroed copy bit for bit (logits
 *     and VAD probabilities, over several positions of a batch of two), whatever the tokens
 *     of the unread codebooks; the original model's step differs (the check can fail);
 *   - Mimi's codes with K are the first K codes of each frame of the full run;
 *   - whole streams (pad mode, audio in) give the same events with K as the zeroed copy;
 *   - K = n_q given explicitly gives the events of the default (0 = all);
 *   - K < 0 and K > n_q are refused with KSTT_EINVAL and a message naming the range.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asr/model.h"
#include "asr_test_util.h"
#include "io/safetensors.h"
#include "kstt.h"
#include "lm/lm.h"
#include "test.h"

#define K 3
#define NQ 8

static char g_tmp[256];
static char g_err[1024];
static kstt_model *g_full, *g_k, *g_zero; /* all 8; K of 8; zeroed tables >= K, all 8 */

static const char *const g_links[] = {"config.json", "mimi_tiny.safetensors",
                                      "mimi_tiny_config.json",
                                      "tokenizer_tiny_en_fr_audio_128.model"};

/* A scratch model directory: links to the golden files, and model.safetensors with the audio
 * embedding tables of codebooks K..NQ-1 set to zero. */
static int make_zeroed_dir(void) {
    char gold[PATH_MAX];
    if (!realpath(test_golden("stt_tiny/config.json"), gold))
        return -1;
    *strrchr(gold, '/') = 0;
    const char *tmpdir = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/kstt_codebooks_XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(g_tmp))
        return -1;
    char src[PATH_MAX + 64], dst[512];
    for (size_t i = 0; i < sizeof g_links / sizeof g_links[0]; i++) {
        snprintf(src, sizeof src, "%s/%s", gold, g_links[i]);
        snprintf(dst, sizeof dst, "%s/%s", g_tmp, g_links[i]);
        if (symlink(src, dst))
            return -1;
    }
    size_t n = 0;
    unsigned char *buf = test_read_file(test_golden("stt_tiny/model.safetensors"), &n);
    kstt__st_file *st = NULL;
    if (!buf || kstt__st_open_memory(&st, buf, n, "model.safetensors", g_err, sizeof g_err)) {
        free(buf);
        return -1;
    }
    int zeroed = 0;
    for (int q = K; q < NQ; q++) {
        char name[64];
        snprintf(name, sizeof name, "emb.%d.weight", q);
        const kstt__tensor *t = kstt__st_find(st, name);
        if (t) { /* data points into buf */
            memset(buf + ((const unsigned char *)t->data - buf), 0, t->nbytes);
            zeroed++;
        }
    }
    kstt__st_close(st);
    snprintf(dst, sizeof dst, "%s/model.safetensors", g_tmp);
    FILE *f = fopen(dst, "wb");
    int ok = f && fwrite(buf, 1, n, f) == n;
    if (f && fclose(f))
        ok = 0;
    free(buf);
    if (zeroed != NQ - K)
        fprintf(stderr, "zeroed %d of %d embedding tables\n", zeroed, NQ - K);
    return ok && zeroed == NQ - K ? 0 : -1;
}

static void remove_zeroed_dir(void) {
    char p[512];
    for (size_t i = 0; i < sizeof g_links / sizeof g_links[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", g_tmp, g_links[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/model.safetensors", g_tmp);
    unlink(p);
    rmdir(g_tmp);
}

/* The golden tiny model's directory. */
static const char *tiny_dir(void) {
    static char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", test_golden("stt_tiny/config.json"));
    *strrchr(dir, '/') = 0;
    return dir;
}

static kstt_model *load(const char *dir, int num_codebooks) {
    kstt_model_params mp = kstt_model_params_default();
    mp.num_codebooks = num_codebooks;
    kstt_model *m = NULL;
    if (kstt_model_load(&m, dir, &mp, g_err, sizeof g_err)) {
        fprintf(stderr, "load %s (K %d): %s\n", dir, num_codebooks, g_err);
        exit(1);
    }
    return m;
}

static float *load_clip(const char *name, size_t *n) {
    size_t bytes = 0;
    float *pcm = test_read_file(test_golden(name), &bytes);
    if (!pcm) {
        fprintf(stderr, "cannot read %s\n", name);
        exit(1);
    }
    *n = bytes / sizeof(float);
    return pcm;
}

/* ---- cases ------------------------------------------------------------------------------ */

static void test_default_is_zero(void) {
    kstt_model_params mp = kstt_model_params_default();
    ASSERT_INT_EQ(mp.num_codebooks, 0);
    kstt_model_info info;
    kstt_model_get_info(g_full, &info);
    ASSERT_INT_EQ(info.num_codebooks, NQ);
    kstt_model_get_info(g_k, &info);
    ASSERT_INT_EQ(info.num_codebooks, K);
    ASSERT_INT_EQ(kstt_mimi_num_codebooks(g_k->mimi), K);
    ASSERT_INT_EQ(g_k->lm->n_q, NQ); /* the weights are all there; only K are read */
    ASSERT_INT_EQ(g_k->lm->n_q_used, K);
    ASSERT_INT_EQ(g_full->lm->n_q_used, NQ);
}

static void test_bad_codebooks(void) {
    const char *dir = g_tmp; /* any loadable directory */
    const int bad[] = {-1, NQ + 1, -1000, 1 << 20};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kstt_model_params mp = kstt_model_params_default();
        mp.num_codebooks = bad[i];
        kstt_model *m = (kstt_model *)&g_err; /* must be cleared */
        g_err[0] = 0;
        ASSERT_INT_EQ(kstt_model_load(&m, dir, &mp, g_err, sizeof g_err), KSTT_EINVAL);
        ASSERT_TRUE(m == NULL);
        char want[128];
        snprintf(want, sizeof want, "num_codebooks %d out of range 1..%d (0 = all", bad[i], NQ);
        ASSERT_STR_CONTAINS(g_err, want);
        ASSERT_STR_CONTAINS(g_err, dir);
    }
    /* the seam refuses out-of-range values and leaves the model as it was */
    ASSERT_INT_EQ(kstt__lm_set_codebooks(g_k->lm, 0), KSTT_EINVAL);
    ASSERT_INT_EQ(kstt__lm_set_codebooks(g_k->lm, NQ + 1), KSTT_EINVAL);
    ASSERT_INT_EQ(g_k->lm->n_q_used, K);
    /* the edges are accepted */
    kstt_model *one = load(tiny_dir(), 1);
    kstt_model_info info;
    kstt_model_get_info(one, &info);
    kstt_model_free(one);
    ASSERT_INT_EQ(info.num_codebooks, 1);
}

/* Runs `steps` LM steps of a batch of two fresh streams on tokens[steps][2][1 + NQ]. */
static int run_lm(const kstt__lm *lm, const int32_t *tokens, int steps, float *logits, float *vad) {
    kstt__lm_state *st[2] = {NULL, NULL};
    kstt__lm_work *w = NULL;
    int rc = kstt__lm_state_new(&st[0], lm);
    if (!rc)
        rc = kstt__lm_state_new(&st[1], lm);
    if (!rc)
        rc = kstt__lm_work_new(&w, lm, 2);
    const size_t nl = 2 * (size_t)lm->text_card, nv = 2 * (size_t)(lm->n_vad * lm->vad_dim);
    for (int s = 0; s < steps && !rc; s++)
        rc = kstt__lm_step(lm, w, st, tokens + (size_t)s * 2 * (1 + NQ), 2, logits + s * nl,
                           vad + s * nv);
    kstt__lm_work_free(lm, w);
    kstt__lm_state_free(lm, st[0]);
    kstt__lm_state_free(lm, st[1]);
    return rc;
}

static void test_lm_step_equals_zeroed_tables(void) {
    enum { STEPS = 24 }; /* beyond the tiny model's context of 16: the ring wraps */
    const kstt__lm *lk = g_k->lm, *lz = g_zero->lm, *lf = g_full->lm;
    ASSERT_INT_EQ(lk->n_q, NQ);
    const size_t stride = 1 + NQ, nt = (size_t)STEPS * 2 * stride;
    const size_t nl = (size_t)STEPS * 2 * (size_t)lk->text_card;
    const size_t nv = (size_t)STEPS * 2 * (size_t)(lk->n_vad * lk->vad_dim) + 1;
    int32_t *tz = malloc(nt * sizeof *tz), *tk = malloc(nt * sizeof *tk);
    float *lgk = malloc(nl * sizeof(float)), *lgz = malloc(nl * sizeof(float));
    float *lgf = malloc(nl * sizeof(float));
    float *vk = calloc(nv, sizeof(float)), *vz = calloc(nv, sizeof(float));
    float *vf = calloc(nv, sizeof(float));
    ASSERT_TRUE(tz && tk && lgk && lgz && lgf && vk && vz && vf);
    for (size_t i = 0; i < nt; i++) {
        const size_t j = i % stride;
        tz[i] = j == 0 ? test_rand_int(0, lk->text_card) : test_rand_int(0, lk->card);
        /* the K-codebook model does not read codebooks >= K: give it other (even invalid)
         * tokens there */
        tk[i] = j >= 1 + K ? -7 - (int32_t)(i % 5) : tz[i];
    }
    ASSERT_INT_EQ(run_lm(lk, tk, STEPS, lgk, vk), KSTT_OK);
    ASSERT_INT_EQ(run_lm(lz, tz, STEPS, lgz, vz), KSTT_OK);
    ASSERT_INT_EQ(run_lm(lf, tz, STEPS, lgf, vf), KSTT_OK);
    ASSERT_TRUE(memcmp(lgk, lgz, nl * sizeof(float)) == 0);
    ASSERT_TRUE(memcmp(vk, vz, nv * sizeof(float)) == 0);
    /* the unread codebooks matter to the model that reads them */
    ASSERT_TRUE(memcmp(lgf, lgz, nl * sizeof(float)) != 0);
    /* out-of-range tokens of the codebooks read are still refused */
    tk[1 + K - 1] = lk->card + 1;
    ASSERT_INT_EQ(run_lm(lk, tk, 1, lgk, vk), KSTT_EINVAL);
    free(tz);
    free(tk);
    free(lgk);
    free(lgz);
    free(lgf);
    free(vk);
    free(vz);
    free(vf);
}

static void test_codes_are_prefix(void) {
    size_t n = 0;
    float *pcm = load_clip("bria_10s_24k.f32", &n);
    kstt_mimi_stream *sf = NULL, *sk = NULL;
    ASSERT_INT_EQ(kstt_mimi_stream_new(&sf, g_full->mimi), KSTT_OK);
    ASSERT_INT_EQ(kstt_mimi_stream_new(&sk, g_k->mimi), KSTT_OK);
    const size_t frames = kstt_mimi_stream_frames_after(sf, n);
    ASSERT_TRUE(frames >= 100);
    int32_t *cf = malloc(frames * NQ * sizeof *cf), *ck = malloc(frames * K * sizeof *ck);
    ASSERT_TRUE(cf && ck);
    /* the full run in one call (batched path), the K run in 3-frame pieces (streaming) */
    ASSERT_INT_EQ(kstt_mimi_stream_encode(sf, pcm, n, cf, frames), (int)frames);
    size_t got = 0, piece = 3 * 1920;
    for (size_t off = 0; off < n; off += piece) {
        const size_t m = n - off < piece ? n - off : piece;
        int r = kstt_mimi_stream_encode(sk, pcm + off, m, ck + got * K, frames - got);
        ASSERT_TRUE(r >= 0);
        got += (size_t)r;
    }
    ASSERT_INT_EQ(got, frames);
    for (size_t f = 0; f < frames; f++) {
        for (int k = 0; k < K; k++)
            if (ck[f * K + k] != cf[f * NQ + k]) {
                TEST_FAIL_("frame %zu codebook %d: %d with K = %d, %d with all", f, k,
                           ck[f * K + k], K, cf[f * NQ + k]);
                goto out;
            }
    }
out:
    free(cf);
    free(ck);
    kstt_mimi_stream_free(sf);
    kstt_mimi_stream_free(sk);
    free(pcm);
}

/* Transcribes a clip in pad mode, fed in pieces of 3000 samples, with step events. */
static int transcribe(kstt_model *m, const float *pcm, size_t n, event_log *log) {
    kstt_stream_params sp = kstt_stream_params_default();
    sp.step_events = 1;
    kstt_stream *s = NULL;
    int rc = kstt_stream_new(&s, m, &sp);
    for (size_t off = 0; off < n && !rc; off += 3000) {
        const size_t k = n - off < 3000 ? n - off : 3000;
        rc = kstt_stream_feed(s, pcm + off, k) < 0 ? -1 : 0;
        event_log_drain(s, log);
    }
    if (!rc)
        rc = kstt_stream_flush(s) < 0 ? -1 : 0;
    event_log_drain(s, log);
    kstt_stream_free(s);
    return rc;
}

/* Same events: types, steps, times, texts, tokens, VAD probabilities, all exact. Returns the
 * number of words. */
static int same_events(const event_log *a, const event_log *b, const char *what) {
    if (a->n != b->n) {
        TEST_FAIL_("%s: %d events vs %d", what, a->n, b->n);
        return -1;
    }
    int words = 0;
    for (int i = 0; i < a->n; i++) {
        const kstt_event *x = &a->ev[i], *y = &b->ev[i];
        if (x->type != y->type || x->step != y->step || x->start != y->start ||
            x->stop != y->stop || memcmp(x->prs, y->prs, sizeof x->prs) ||
            x->n_tokens != y->n_tokens || strcmp(a->text[i], b->text[i]) ||
            memcmp(a->toks[i], b->toks[i],
                   (size_t)(x->n_tokens < 128 ? x->n_tokens : 128) * sizeof(int32_t))) {
            TEST_FAIL_("%s: event %d differs (type %d/%d, step %lld/%lld, '%s'/'%s')", what, i,
                       x->type, y->type, (long long)x->step, (long long)y->step, a->text[i],
                       b->text[i]);
            return -1;
        }
        words += x->type == KSTT_EVENT_WORD;
    }
    return words;
}

static event_log g_la, g_lb; /* large: static */

static void test_stream_equals_zeroed_tables(void) {
    const char *clips[] = {"bria_10s_24k.f32", "fr_6s_24k.f32"};
    for (int c = 0; c < 2; c++) {
        size_t n = 0;
        float *pcm = load_clip(clips[c], &n);
        memset(&g_la, 0, sizeof g_la);
        memset(&g_lb, 0, sizeof g_lb);
        int ra = transcribe(g_k, pcm, n, &g_la), rb = transcribe(g_zero, pcm, n, &g_lb);
        free(pcm);
        ASSERT_INT_EQ(ra, 0);
        ASSERT_INT_EQ(rb, 0);
        ASSERT_TRUE(g_la.n > 100); /* one Step event per model step at least */
        ASSERT_TRUE(same_events(&g_la, &g_lb, clips[c]) >= 0);
    }
}

static void test_explicit_nq_equals_default(void) {
    kstt_model *m8 = load(tiny_dir(), NQ);
    const char *clips[] = {"bria_10s_24k.f32", "fr_6s_24k.f32"};
    int words = 0;
    for (int c = 0; c < 2; c++) {
        size_t n = 0;
        float *pcm = load_clip(clips[c], &n);
        memset(&g_la, 0, sizeof g_la);
        memset(&g_lb, 0, sizeof g_lb);
        int ra = transcribe(m8, pcm, n, &g_la), rb = transcribe(g_full, pcm, n, &g_lb);
        free(pcm);
        if (ra || rb)
            break;
        int w = same_events(&g_la, &g_lb, clips[c]);
        if (w < 0)
            break;
        words += w;
    }
    kstt_model_free(m8);
    ASSERT_TRUE(words > 0); /* the golden clips give words: the comparison is not vacuous */
}

/* Codes handed in directly (the tool hook): K codes per frame for the K model, all 8 for the
 * zeroed copy, same events. */
static void test_feed_codes_stride(void) {
    enum { FRAMES = 40 };
    int32_t *cf = malloc(FRAMES * NQ * sizeof *cf), *ck = malloc(FRAMES * K * sizeof *ck);
    ASSERT_TRUE(cf && ck);
    for (int f = 0; f < FRAMES; f++)
        for (int q = 0; q < NQ; q++) {
            cf[f * NQ + q] = test_rand_int(0, g_full->cfg.card - 1);
            if (q < K)
                ck[f * K + q] = cf[f * NQ + q];
        }
    kstt_stream_params sp = kstt_stream_params_default();
    sp.pad = 0;
    sp.step_events = 1;
    kstt_stream *sk = NULL, *sz = NULL;
    int ok = !kstt_stream_new(&sk, g_k, &sp) && !kstt_stream_new(&sz, g_zero, &sp);
    ok = ok && kstt__stream_feed_codes(sk, ck, FRAMES) == FRAMES &&
         kstt__stream_feed_codes(sz, cf, FRAMES) == FRAMES;
    memset(&g_la, 0, sizeof g_la);
    memset(&g_lb, 0, sizeof g_lb);
    if (ok) {
        event_log_drain(sk, &g_la);
        event_log_drain(sz, &g_lb);
    }
    kstt_stream_free(sk);
    kstt_stream_free(sz);
    free(cf);
    free(ck);
    ASSERT_TRUE(ok);
    ASSERT_TRUE(g_la.n >= FRAMES); /* one Step event per frame, and words */
    ASSERT_TRUE(same_events(&g_la, &g_lb, "codes") >= 0);
}

int main(void) {
    if (make_zeroed_dir()) {
        fprintf(stderr, "cannot build the zeroed model copy: %s\n", g_err);
        remove_zeroed_dir();
        return 1;
    }
    g_full = load(tiny_dir(), 0);
    g_k = load(tiny_dir(), K);
    g_zero = load(g_tmp, 0);
    RUN(test_default_is_zero);
    RUN(test_bad_codebooks);
    RUN(test_lm_step_equals_zeroed_tables);
    RUN(test_codes_are_prefix);
    RUN(test_stream_equals_zeroed_tables);
    RUN(test_explicit_nq_equals_default);
    RUN(test_feed_codes_stride);
    kstt_model_free(g_full);
    kstt_model_free(g_k);
    kstt_model_free(g_zero);
    remove_zeroed_dir();
    return test_summary();
}
