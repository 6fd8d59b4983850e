/*
 * A model is read-only and shareable (kstt.h, STYLE.md "Threading"): streams of one kstt_model,
 * and Mimi streams of one kstt_mimi, run on several threads at once give exactly the events and
 * codes of the same streams run one after the other. Checked on the golden tiny model with and
 * without a (shared) pool, each thread feeding its own clip in its own chunk sizes, several
 * rounds, so that anything mutable hidden in the model (scratch, caches, counters) shows up as a
 * difference. Also run under ASan/TSan builds by CI.
 */
#include <pthread.h>

#include "core/alloc.h"
#include "kstt.h"
#include "test.h"

#define N_THREADS 2
#define MAX_EV 4096

typedef struct {
    kstt_event_type type;
    int64_t step;
    double start, stop;
    float prs[4];
    char text[128];
    int32_t toks[32];
    int32_t n_tokens;
} rec;

typedef struct {
    rec *ev;
    int n;
} log_t;

typedef struct {
    kstt_model *model;
    const float *pcm;
    size_t n;
    size_t chunk; /* feed size; the flush comes after */
    log_t out;
    int rc;
} job;

static void add(log_t *l, const kstt_event *e) {
    if (l->n >= MAX_EV)
        return;
    rec *r = &l->ev[l->n++];
    memset(r, 0, sizeof *r);
    r->type = e->type;
    r->step = e->step;
    r->start = e->start;
    r->stop = e->stop;
    memcpy(r->prs, e->prs, sizeof r->prs);
    if (e->type == KSTT_EVENT_WORD) {
        snprintf(r->text, sizeof r->text, "%s", e->text);
        r->n_tokens = e->n_tokens;
        memcpy(r->toks, e->tokens, (size_t)(e->n_tokens < 32 ? e->n_tokens : 32) * 4);
    }
}

static void drain(kstt_stream *s, log_t *l) {
    kstt_event ev[16];
    int k;
    while ((k = kstt_stream_read(s, ev, 16)) > 0)
        for (int i = 0; i < k; i++)
            add(l, &ev[i]);
}

/* One whole transcription on a fresh stream: feed in chunks, flush, read everything. */
static void *transcribe(void *arg) {
    job *j = arg;
    j->out.n = 0;
    kstt_stream *s;
    if ((j->rc = kstt_stream_new(&s, j->model, NULL)) != KSTT_OK)
        return NULL;
    for (size_t off = 0; off < j->n; off += j->chunk) {
        size_t k = j->n - off < j->chunk ? j->n - off : j->chunk;
        if ((j->rc = kstt_stream_feed(s, j->pcm + off, k)) < 0)
            goto done;
        drain(s, &j->out);
    }
    if ((j->rc = kstt_stream_flush(s)) < 0)
        goto done;
    drain(s, &j->out);
    j->rc = KSTT_OK;
done:
    kstt_stream_free(s);
    return NULL;
}

static int same_log(const log_t *a, const log_t *b) {
    if (a->n != b->n) {
        fprintf(stderr, "  %d vs %d events\n", a->n, b->n);
        return 0;
    }
    for (int i = 0; i < a->n; i++) {
        const rec *x = &a->ev[i], *y = &b->ev[i];
        if (x->type != y->type || x->step != y->step || x->start != y->start ||
            x->stop != y->stop || memcmp(x->prs, y->prs, sizeof x->prs) != 0 ||
            strcmp(x->text, y->text) != 0 || x->n_tokens != y->n_tokens ||
            memcmp(x->toks, y->toks, sizeof x->toks) != 0) {
            fprintf(stderr, "  event %d differs (type %d/%d, step %lld/%lld, \"%s\"/\"%s\")\n", i,
                    x->type, y->type, (long long)x->step, (long long)y->step, x->text, y->text);
            return 0;
        }
    }
    return 1;
}

static float *clip[N_THREADS];
static size_t clip_n[N_THREADS];

static void run_model(kstt_pool *pool) {
    char err[512];
    kstt_model_params mp = kstt_model_params_default();
    mp.pool = pool;
    kstt_model *m;
    ASSERT_INT_EQ(kstt_model_load(&m, test_golden("stt_tiny"), &mp, err, sizeof err), KSTT_OK);
    static const size_t chunks[N_THREADS] = {4000, 1920 * 3 + 17};
    job serial[N_THREADS], par[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        serial[t] = (job){m, clip[t], clip_n[t], chunks[t], {calloc(MAX_EV, sizeof(rec)), 0}, 0};
        par[t] = serial[t];
        par[t].out.ev = calloc(MAX_EV, sizeof(rec));
        transcribe(&serial[t]);
        ASSERT_INT_EQ(serial[t].rc, KSTT_OK);
    }
    int words = 0;
    for (int t = 0; t < N_THREADS; t++)
        for (int i = 0; i < serial[t].out.n; i++)
            words += serial[t].out.ev[i].type == KSTT_EVENT_WORD;
    ASSERT_TRUE(words > 0);
    for (int round = 0; round < 3; round++) {
        pthread_t th[N_THREADS];
        for (int t = 0; t < N_THREADS; t++)
            ASSERT_INT_EQ(pthread_create(&th[t], NULL, transcribe, &par[t]), 0);
        for (int t = 0; t < N_THREADS; t++)
            pthread_join(th[t], NULL);
        for (int t = 0; t < N_THREADS; t++) {
            ASSERT_INT_EQ(par[t].rc, KSTT_OK);
            ASSERT_TRUE(same_log(&serial[t].out, &par[t].out));
        }
    }
    printf("  %d words over %d streams, identical on %d threads (pool of %d)\n", words, N_THREADS,
           N_THREADS, kstt_pool_threads(pool));
    for (int t = 0; t < N_THREADS; t++) {
        free(serial[t].out.ev);
        free(par[t].out.ev);
    }
    kstt_model_free(m);
}

static void test_model_no_pool(void) {
    run_model(NULL);
}

static void test_model_shared_pool(void) {
    kstt_pool *pool;
    ASSERT_INT_EQ(kstt_pool_new(&pool, 2), KSTT_OK);
    run_model(pool);
    kstt_pool_free(pool);
}

/* ---- Mimi alone ------------------------------------------------------------------------- */

typedef struct {
    const kstt_mimi *mimi;
    const float *pcm;
    size_t n, chunk;
    int32_t *codes;
    long frames;
    int rc;
} mjob;

static void *encode(void *arg) {
    mjob *j = arg;
    kstt_mimi_stream *s;
    j->frames = 0;
    if ((j->rc = kstt_mimi_stream_new(&s, j->mimi)) != KSTT_OK)
        return NULL;
    const int k = kstt_mimi_num_codebooks(j->mimi);
    const size_t cap = j->n / 1920;
    for (size_t off = 0; off < j->n; off += j->chunk) {
        size_t len = j->n - off < j->chunk ? j->n - off : j->chunk;
        int r = kstt_mimi_stream_encode(s, j->pcm + off, len, j->codes + j->frames * k,
                                        cap - (size_t)j->frames);
        if (r < 0) {
            j->rc = r;
            break;
        }
        j->frames += r;
    }
    kstt_mimi_stream_free(s);
    return NULL;
}

static void test_mimi_shared(void) {
    char err[512];
    kstt_pool *pool;
    ASSERT_INT_EQ(kstt_pool_new(&pool, 2), KSTT_OK);
    kstt_mimi_params p = kstt_mimi_params_default();
    p.config_path = test_golden("stt_tiny/mimi_tiny_config.json");
    p.pool = pool;
    kstt_mimi *mimi;
    ASSERT_INT_EQ(
        kstt_mimi_load(&mimi, test_golden("stt_tiny/mimi_tiny.safetensors"), &p, err, sizeof err),
        KSTT_OK);
    const int k = kstt_mimi_num_codebooks(mimi);
    static const size_t chunks[N_THREADS] = {1920 * 40, 999};
    mjob serial[N_THREADS], par[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        const size_t cap = clip_n[t] / 1920;
        serial[t] = (mjob){mimi, clip[t], clip_n[t], chunks[t], calloc(cap * k, 4), 0, 0};
        par[t] = serial[t];
        par[t].codes = calloc(cap * k, 4);
        encode(&serial[t]);
        ASSERT_INT_EQ(serial[t].rc, KSTT_OK);
        ASSERT_INT_EQ(serial[t].frames, (long)cap);
    }
    for (int round = 0; round < 3; round++) {
        pthread_t th[N_THREADS];
        for (int t = 0; t < N_THREADS; t++)
            ASSERT_INT_EQ(pthread_create(&th[t], NULL, encode, &par[t]), 0);
        for (int t = 0; t < N_THREADS; t++)
            pthread_join(th[t], NULL);
        for (int t = 0; t < N_THREADS; t++) {
            ASSERT_INT_EQ(par[t].rc, KSTT_OK);
            ASSERT_INT_EQ(par[t].frames, serial[t].frames);
            ASSERT_TRUE(memcmp(par[t].codes, serial[t].codes,
                               (size_t)serial[t].frames * k * sizeof(int32_t)) == 0);
        }
    }
    for (int t = 0; t < N_THREADS; t++) {
        free(serial[t].codes);
        free(par[t].codes);
    }
    kstt_mimi_free(mimi);
    kstt_pool_free(pool);
}

int main(void) {
    size_t bytes;
    clip[0] = test_read_file(test_golden("bria_10s_24k.f32"), &bytes);
    clip_n[0] = bytes / sizeof(float);
    clip[1] = test_read_file(test_golden("fr_6s_24k.f32"), &bytes);
    clip_n[1] = bytes / sizeof(float);
    if (!clip[0] || !clip[1])
        return 1;
    RUN(test_model_no_pool);
    RUN(test_model_shared_pool);
    RUN(test_mimi_shared);
    free(clip[0]);
    free(clip[1]);
    if (kstt__alloc_live_bytes() != 0) {
        fprintf(stderr, "leak: %lld bytes\n", kstt__alloc_live_bytes());
        return 1;
    }
    return test_summary();
}
