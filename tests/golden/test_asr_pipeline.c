/*
 * The whole pipeline through the public API (PCM -> Mimi -> LM -> events) on the golden tiny
 * model against stt_tiny_asr_events.json (golden README 7 and 7.1):
 *   - pad mode (the default), the clip fed at once then flushed: the golden events with times
 *     minus the 1.04 s prefix (a time inside the prefix reads 0), then the word the reference
 *     leaves pending and its EndWord;
 *   - raw mode fed exactly the golden stream (zeros, clip, zeros): the golden events and times;
 *   - random chunk sizes, callback delivery, reset and re-run: identical events;
 *   - bria and fr batched in one kstt_batch (random chunks): identical to separate runs;
 *     five streams at different positions, piece sizes and modes: the same.
 * Words whose text is empty are not reported (kstt's rule); Step probabilities within 1e-5 of
 * the reference, everything else exact. Near-ties: the Mimi codes of the golden stream are
 * compared first with the README's rule; a legitimate flip limits the event comparison to the
 * steps before the flipped code is used (none flips in practice).
 */
#include <cJSON.h>
#include <math.h>

#include "asr_test_util.h"
#include "core/alloc.h"
#include "io/safetensors.h"
#include "kstt.h"
#include "test.h"

#define PREFIX 24960
#define SUFFIX 36480

static kstt_model *model;
static cJSON *golden;
static kstt__st_file *reff;

static float *load_clip(const char *name, size_t *n) {
    size_t bytes;
    float *pcm = test_read_file(test_golden(name), &bytes);
    *n = bytes / sizeof(float);
    return pcm;
}

/* The golden stream: zeros, clip, zeros. */
static float *golden_stream(const float *clip, size_t n, size_t *total) {
    *total = PREFIX + n + SUFFIX;
    float *s = calloc(*total, sizeof(float));
    memcpy(s + PREFIX, clip, n * sizeof(float));
    return s;
}

/* Feeds pcm in chunks (chunk 0: all at once; < 0: random sizes up to -chunk) then flushes. */
static int run(kstt_stream *s, const float *pcm, size_t n, long chunk, event_log *c, int flush) {
    size_t off = 0;
    while (off < n) {
        size_t k = n - off;
        if (chunk > 0 && (size_t)chunk < k)
            k = (size_t)chunk;
        if (chunk < 0) {
            size_t r = (size_t)test_rand_int(0, (int)-chunk);
            if (r < k)
                k = r;
        }
        if (kstt_stream_feed(s, pcm + off, k) < 0)
            return -1;
        off += k;
        event_log_drain(s, c);
    }
    if (flush && kstt_stream_flush(s) < 0)
        return -1;
    event_log_drain(s, c);
    return 0;
}

/* First step (1-based) whose events may legitimately differ because a Mimi code of the golden
 * stream flipped at a near-tie (margin < 1e-3); INT32_MAX when none did. */
static int64_t near_tie_limit(const char *clip, const float *stream, size_t total) {
    char name[64];
    snprintf(name, sizeof name, "asr.%s.codes", clip);
    const kstt__tensor *tc = kstt__st_find(reff, name);
    snprintf(name, sizeof name, "asr.%s.code_margin", clip);
    const kstt__tensor *tm = kstt__st_find(reff, name);
    const int32_t *rc = tc->data;
    const float *rm = tm->data;
    const int frames = (int)(total / 1920), nq = 8;
    kstt_mimi *mimi;
    kstt_mimi_params mp = kstt_mimi_params_default();
    mp.config_path = test_golden("stt_tiny/mimi_tiny_config.json");
    char err[512];
    if (kstt_mimi_load(&mimi, test_golden("stt_tiny/mimi_tiny.safetensors"), &mp, err,
                       sizeof err)) {
        fprintf(stderr, "mimi: %s\n", err);
        return -1;
    }
    kstt_mimi_stream *ms;
    if (kstt_mimi_stream_new(&ms, mimi))
        return -1;
    int32_t *codes = calloc((size_t)frames * nq, sizeof(int32_t));
    int got = kstt_mimi_stream_encode(ms, stream, total, codes, (size_t)frames);
    int64_t limit = INT32_MAX;
    int flips = 0;
    if (got != frames)
        limit = -1;
    for (int f = 0; got == frames && f < frames; f++)
        for (int k = 0; k < nq; k++) {
            if (codes[f * nq + k] == rc[f * nq + k])
                continue;
            if (rm[f * nq + k] >= 1e-3f) {
                fprintf(stderr, "%s: code (%d, %d) is %d, reference %d (margin %g)\n", clip, f, k,
                        codes[f * nq + k], rc[f * nq + k], rm[f * nq + k]);
                limit = -1;
            } else if (limit > f + 2) {
                limit = f + 2; /* frame f is the LM input of step f + 2 (1-based) */
                flips++;
            }
            break; /* later levels of a flipped frame depend on the residual */
        }
    free(codes);
    kstt_mimi_stream_free(ms);
    kstt_mimi_free(mimi);
    if (flips)
        printf("  %s: %d near-tie code flip(s); events compared up to step %lld\n", clip, flips,
               (long long)limit);
    return limit;
}

/* Compares with the golden list of `clip` (event_log_compare). */
static int compare(const event_log *c, const char *clip, double shift, int64_t limit) {
    const cJSON *list = cJSON_GetObjectItem(cJSON_GetObjectItem(golden, clip), "events");
    return event_log_compare(c, list, clip, shift, limit);
}

static int same_events(const event_log *a, const event_log *b, double prs_tol) {
    if (a->n != b->n) {
        fprintf(stderr, "event counts differ: %d vs %d\n", a->n, b->n);
        return 0;
    }
    for (int i = 0; i < a->n; i++) {
        const kstt_event *x = &a->ev[i], *y = &b->ev[i];
        int ok = x->type == y->type && x->step == y->step && x->start == y->start &&
                 x->stop == y->stop && x->n_tokens == y->n_tokens &&
                 !strcmp(a->text[i], b->text[i]);
        for (int h = 0; h < 4; h++)
            ok = ok && fabs(x->prs[h] - y->prs[h]) <= prs_tol;
        if (x->type == KSTT_EVENT_WORD)
            ok = ok && !memcmp(a->toks[i], b->toks[i],
                               (size_t)(x->n_tokens < 128 ? x->n_tokens : 128) * sizeof(int32_t));
        if (!ok) {
            fprintf(stderr, "event %d differs (type %d/%d step %lld/%lld)\n", i, (int)x->type,
                    (int)y->type, (long long)x->step, (long long)y->step);
            return 0;
        }
    }
    return 1;
}

/* The golden tokens after the last PAD/EPAD: the word the reference never reports. */
static int pending_word(const char *clip, int32_t *out) {
    char name[64];
    snprintf(name, sizeof name, "asr.%s.tokens", clip);
    const kstt__tensor *t = kstt__st_find(reff, name);
    const int32_t *tk = t->data;
    int n = 0;
    for (int64_t i = 5; i < t->numel; i++) {
        if (tk[i] == 0 || tk[i] == 3)
            n = 0;
        else if (n < 128)
            out[n++] = tk[i];
    }
    return n;
}

static event_log *ev_a, *ev_b, *ev_c, *ev_d;
static event_log *ev_pad[2]; /* pad-mode single-feed runs of bria and fr, reused by test_batched */

static void check_clip(const char *clip, const char *file, int slot, int all) {
    size_t n, total;
    float *pcm = load_clip(file, &n);
    float *stream = golden_stream(pcm, n, &total);
    int64_t limit = near_tie_limit(clip, stream, total);
    ASSERT_TRUE(limit > 0);
    kstt_stream *s;
    kstt_stream_params sp = kstt_stream_params_default();

    /* pad mode, one feed */
    memset(ev_a, 0, sizeof *ev_a);
    ASSERT_INT_EQ(kstt_stream_new(&s, model, &sp), KSTT_OK);
    ASSERT_INT_EQ(run(s, pcm, n, 0, ev_a, 1), 0);
    int m = compare(ev_a, clip, 1.04, limit);
    ASSERT_TRUE(m > 0);
    if (limit == INT32_MAX) {
        int32_t pend[128];
        int np = pending_word(clip, pend);
        int words = 0;
        for (int i = 0; i < m; i++)
            words += ev_a->ev[i].type == KSTT_EVENT_WORD;
        printf("  %s: %d events, %d words as the reference; pending word of %d tokens: \"%s\"\n",
               clip, m, words, np, np ? ev_a->text[m] : "");
        ASSERT_INT_EQ(ev_a->n, m + (np ? 2 : 0));
        if (np) {
            ASSERT_INT_EQ(ev_a->ev[m].type, KSTT_EVENT_WORD);
            ASSERT_INT_EQ(ev_a->ev[m].n_tokens, np);
            ASSERT_TRUE(!memcmp(ev_a->toks[m], pend, (size_t)np * sizeof(int32_t)));
            ASSERT_INT_EQ(ev_a->ev[m + 1].type, KSTT_EVENT_END_WORD);
            /* stops at the end of the audio rounded up to a frame, or at the word's start if
             * the model placed that later (bria's random model does) */
            ASSERT_NEAR(ev_a->ev[m + 1].stop,
                        fmax(ceil((double)n / 1920) / 12.5, ev_a->ev[m].start), 1e-9);
        }
    }

    *ev_pad[slot] = *ev_a;
    if (!all) { /* the chunking and delivery variants run on bria only (they cost Mimi time) */
        kstt_stream_free(s);
        goto raw;
    }

    /* reset and again, in random chunks: identical */
    kstt_stream_reset(s);
    memset(ev_b, 0, sizeof *ev_b);
    ASSERT_INT_EQ(run(s, pcm, n, -5000, ev_b, 1), 0);
    ASSERT_TRUE(same_events(ev_a, ev_b, 0.0));
    kstt_stream_reset(s);
    memset(ev_b, 0, sizeof *ev_b);
    /* the first 0.5 s one sample at a time, then tiny random pieces, then the rest */
    ASSERT_INT_EQ(run(s, pcm, 12000, 1, ev_b, 0), 0);
    ASSERT_INT_EQ(run(s, pcm + 12000, 24000, -100, ev_b, 0), 0);
    ASSERT_INT_EQ(run(s, pcm + 36000, n - 36000, 0, ev_b, 1), 0);
    ASSERT_TRUE(same_events(ev_a, ev_b, 0.0));
    kstt_stream_free(s);

    /* callback delivery */
    memset(ev_b, 0, sizeof *ev_b);
    sp.on_event = event_log_on_event;
    sp.user = ev_b;
    ASSERT_INT_EQ(kstt_stream_new(&s, model, &sp), KSTT_OK);
    ASSERT_INT_EQ(run(s, pcm, n, 7777, ev_b, 1), 0);
    kstt_event dummy;
    ASSERT_INT_EQ(kstt_stream_read(s, &dummy, 1), 0);
    ASSERT_TRUE(same_events(ev_a, ev_b, 0.0));
    kstt_stream_free(s);

raw:
    /* raw mode, fed the golden stream: golden times as they are */
    sp = kstt_stream_params_default();
    sp.pad = 0;
    memset(ev_c, 0, sizeof *ev_c);
    ASSERT_INT_EQ(kstt_stream_new(&s, model, &sp), KSTT_OK);
    ASSERT_INT_EQ(run(s, stream, total, -20000, ev_c, 1), 0);
    m = compare(ev_c, clip, 0.0, limit);
    ASSERT_TRUE(m > 0);
    kstt_stream_free(s);
    free(stream);
    free(pcm);
}

static void test_bria(void) {
    check_clip("bria", "bria_10s_24k.f32", 0, 1);
}
static void test_fr(void) {
    check_clip("fr", "fr_6s_24k.f32", 1, 0);
}

/* bria and fr in one batch (random chunk sizes per call, flushed separately) give the same
 * events as their separate runs in test_bria / test_fr. */
static void test_batched(void) {
    size_t nb, nf;
    float *bria = load_clip("bria_10s_24k.f32", &nb), *fr = load_clip("fr_6s_24k.f32", &nf);
    kstt_stream *s[2];
    ASSERT_INT_EQ(kstt_stream_new(&s[0], model, NULL), KSTT_OK);
    ASSERT_INT_EQ(kstt_stream_new(&s[1], model, NULL), KSTT_OK);
    kstt_batch *bt;
    ASSERT_INT_EQ(kstt_batch_new(&bt, model, 2, NULL, 0), KSTT_OK);
    /* batched */
    memset(ev_c, 0, sizeof *ev_c);
    memset(ev_d, 0, sizeof *ev_d);
    size_t ob = 0, of = 0;
    int calls = 0;
    while (ob < nb || of < nf) {
        size_t kb = (size_t)test_rand_int(0, 30000), kf = (size_t)test_rand_int(0, 30000);
        if (kb > nb - ob)
            kb = nb - ob;
        if (kf > nf - of)
            kf = nf - of;
        const float *p[2] = {bria + ob, fr + of};
        size_t k[2] = {kb, kf};
        ASSERT_TRUE(kstt_batch_feed(bt, s, p, k, 2) >= 0);
        ob += kb;
        of += kf;
        event_log_drain(s[0], ev_c);
        event_log_drain(s[1], ev_d);
        calls++;
    }
    ASSERT_TRUE(kstt_stream_flush(s[0]) >= 0);
    ASSERT_TRUE(kstt_stream_flush(s[1]) >= 0);
    event_log_drain(s[0], ev_c);
    event_log_drain(s[1], ev_d);
    printf("  %d batched calls\n", calls);
    ASSERT_TRUE(ev_pad[0]->n > 0 && ev_pad[1]->n > 0);
    ASSERT_TRUE(same_events(ev_pad[0], ev_c, 1e-6));
    ASSERT_TRUE(same_events(ev_pad[1], ev_d, 1e-6));
    kstt_batch_free(bt);
    kstt_stream_free(s[0]);
    kstt_stream_free(s[1]);
    free(bria);
    free(fr);
}

/* Five streams in one batch at different positions (one starts late, the audio of two starts
 * at an offset into the clip), with different piece sizes (up to 2.5 s, up to 1/8 s, always
 * less than a frame) and one in raw mode: the Mimi of all streams that have frames runs as one
 * batched pass, and every stream's events equal its own separate run. */
#define NMANY 5
static void test_batched_many(void) {
    size_t nb, nf;
    float *bria = load_clip("bria_10s_24k.f32", &nb), *fr = load_clip("fr_6s_24k.f32", &nf);
    const struct {
        const float *pcm;
        size_t n;
        int max_chunk, late, pad;
        const event_log *want; /* NULL: a separate run gives it */
    } sp[NMANY] = {
        {bria, nb, 60000, 0, 1, ev_pad[0]},          {fr, nf, 3000, 0, 1, ev_pad[1]},
        {bria + 7000, nb - 7000, 30000, 3, 1, NULL}, {fr + 12345, nf - 12345, 20000, 1, 0, NULL},
        {bria, nb, 1919, 0, 1, ev_pad[0]},
    };
    kstt_stream *s[NMANY];
    event_log *got[NMANY], *want[NMANY];
    size_t off[NMANY] = {0};
    for (int i = 0; i < NMANY; i++) {
        kstt_stream_params p = kstt_stream_params_default();
        p.pad = sp[i].pad;
        ASSERT_INT_EQ(kstt_stream_new(&s[i], model, &p), KSTT_OK);
        got[i] = calloc(1, sizeof *got[i]);
        want[i] = NULL;
        if (!sp[i].want) { /* its separate run, in one feed */
            want[i] = calloc(1, sizeof *want[i]);
            ASSERT_INT_EQ(run(s[i], sp[i].pcm, sp[i].n, 0, want[i], 1), 0);
            kstt_stream_reset(s[i]);
        }
    }
    kstt_batch *bt;
    ASSERT_INT_EQ(kstt_batch_new(&bt, model, NMANY + 1, NULL, 0), KSTT_OK);
    int calls = 0, left = NMANY;
    while (left > 0) {
        const float *p[NMANY];
        size_t k[NMANY];
        for (int i = 0; i < NMANY; i++) {
            k[i] = calls < sp[i].late ? 0 : (size_t)test_rand_int(0, sp[i].max_chunk);
            if (k[i] > sp[i].n - off[i])
                k[i] = sp[i].n - off[i];
            p[i] = sp[i].pcm + off[i];
        }
        ASSERT_TRUE(kstt_batch_feed(bt, s, p, k, NMANY) >= 0);
        left = 0;
        for (int i = 0; i < NMANY; i++) {
            off[i] += k[i];
            left += off[i] < sp[i].n;
            event_log_drain(s[i], got[i]);
        }
        calls++;
    }
    printf("  %d batched calls\n", calls);
    for (int i = 0; i < NMANY; i++) {
        ASSERT_TRUE(kstt_stream_flush(s[i]) >= 0);
        event_log_drain(s[i], got[i]);
        const event_log *w = sp[i].want ? sp[i].want : want[i];
        ASSERT_TRUE(w->n > 0);
        if (!same_events(w, got[i], 1e-6)) {
            TEST_FAIL_("stream %d: batched events differ from its separate run", i);
            break;
        }
    }
    kstt_batch_free(bt);
    for (int i = 0; i < NMANY; i++) {
        kstt_stream_free(s[i]);
        free(got[i]);
        free(want[i]);
    }
    free(bria);
    free(fr);
}

/* All of a batch's scratch is allocated in kstt_batch_new: every allocation failure there is
 * reported as KSTT_ENOMEM with a message and nothing leaked, and a later call succeeds. */
static void test_batch_new_alloc_fail(void) {
    int rc = KSTT_ENOMEM, fails = 0;
    kstt_batch *bt = NULL;
    char err[256];
    for (long n = 0; rc == KSTT_ENOMEM && n < 1000; n++) {
        const long long live = kstt__alloc_live_bytes();
        kstt__alloc_fail_after(n);
        rc = kstt_batch_new(&bt, model, 3, err, sizeof err);
        kstt__alloc_fail_after(-1);
        if (rc == KSTT_ENOMEM) {
            fails++;
            ASSERT_TRUE(bt == NULL);
            ASSERT_TRUE(kstt__alloc_live_bytes() == live);
            ASSERT_STR_CONTAINS(err, "scratch for 3 streams");
        }
    }
    ASSERT_INT_EQ(rc, KSTT_OK);
    printf("  %d failing allocations checked\n", fails);
    ASSERT_TRUE(fails >= 8); /* the LM work, the Mimi batch and the rows */
    kstt_batch_free(bt);
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
    if (kstt__st_open(&reff, test_golden("stt_tiny_ref.safetensors"), err, sizeof err))
        return 1;
    size_t n;
    char *js = test_read_file(test_golden("stt_tiny_asr_events.json"), &n);
    golden = cJSON_ParseWithLength(js, n);
    free(js);
    ev_a = calloc(1, sizeof *ev_a);
    ev_b = calloc(1, sizeof *ev_b);
    ev_c = calloc(1, sizeof *ev_c);
    ev_d = calloc(1, sizeof *ev_d);
    ev_pad[0] = calloc(1, sizeof *ev_pad[0]);
    ev_pad[1] = calloc(1, sizeof *ev_pad[1]);
    RUN(test_bria);
    RUN(test_fr);
    RUN(test_batched);
    RUN(test_batched_many);
    RUN(test_batch_new_alloc_fail);
    free(ev_a);
    free(ev_b);
    free(ev_c);
    free(ev_d);
    free(ev_pad[0]);
    free(ev_pad[1]);
    cJSON_Delete(golden);
    kstt__st_close(reff);
    kstt_model_free(model);
    kstt_pool_free(pool);
    if (kstt__alloc_live_bytes() != 0) {
        fprintf(stderr, "leak: %lld bytes\n", kstt__alloc_live_bytes());
        return 1;
    }
    return test_summary();
}
