/*
 * Random full-size STT LM, tokenizer and config in the real formats (see gen_lm.h), and
 * `kstt bench generate`, which writes model directories and checks that one loads and steps
 * within its memory budget (peak RSS against the file sizes).
 *
 * The LM file is written as the Python safetensors writer lays it out (JSON header with
 * `__metadata__` first and tensors in name order, padded with spaces to 8 bytes, data back to
 * back), streamed tensor by tensor so that writing a 2 GB model needs a few MB of memory.
 * Values come from a seeded xorshift generator, so a (dims, seed) pair always gives the same
 * bytes.
 */
#include "gen_lm.h"
#include "gen_mimi.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "asr/model.h"
#include "core/alloc.h"
#include "core/pool.h"
#include "core/status.h"
#include "kernels/kernels.h"
#include "kstt.h"

/* ---- dimensions ----------------------------------------------------------------------- */

static const bench_gen_lm_dims DIMS[] = {
    {"1b", 2048, 16, 16, 750, 32, 2048, 8000, 5632, 4, 0.5, 0.0},
    {"2.6b", 2048, 32, 48, 375, 32, 2048, 4000, 5632, 0, 2.5, 1.0},
    {"tiny", 64, 4, 2, 16, 8, 64, 128, 176, 4, 0.5, 1.0},
};

int bench_gen_lm_dims_get(const char *name, bench_gen_lm_dims *out) {
    for (size_t i = 0; i < sizeof DIMS / sizeof DIMS[0]; i++)
        if (!strcmp(DIMS[i].name, name)) {
            *out = DIMS[i];
            return 0;
        }
    return -1;
}

/* ---- random numbers ------------------------------------------------------------------- */

typedef struct {
    uint64_t s;
} rng;

static inline float rng_uniform(rng *r) { /* [-1, 1) */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (float)(((r->s * 2685821657736338717ull) >> 40) * (1.0 / 8388608.0) - 1.0);
}

/* ---- the LM file ---------------------------------------------------------------------- */

typedef enum { FILL_UNIFORM, FILL_NORM } fill_kind;

typedef struct {
    char name[96];
    int ndim;
    int64_t shape[3];
    fill_kind fill;
    float scale; /* uniform in [-scale, scale) or 1 + scale * u for norms */
    uint64_t begin, end;
} spec;

static int cmp_spec(const void *a, const void *b) {
    return strcmp(((const spec *)a)->name, ((const spec *)b)->name);
}

static void add(spec *v, int *n, const char *name, int ndim, int64_t a, int64_t b, int64_t c,
                fill_kind fill, float scale) {
    spec *s = &v[(*n)++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->ndim = ndim;
    s->shape[0] = a;
    s->shape[1] = b;
    s->shape[2] = c;
    s->fill = fill;
    s->scale = scale;
}

static int64_t numel(const spec *s) {
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= s->shape[i];
    return n;
}

/* A uniform U(-a, a) has std a / sqrt(3): a = sqrt(3 / fan_in) gives std 1 / sqrt(fan_in). */
static float uni_for(int64_t fan_in) {
    return sqrtf(3.0f / (float)fan_in);
}

static int build_specs(const bench_gen_lm_dims *d, spec **out) {
    const int64_t D = d->dim, H = d->hidden;
    const int cap = 8 + d->n_q + 6 * d->num_layers + d->extra_heads;
    spec *v = calloc((size_t)cap, sizeof *v);
    if (!v)
        return -1;
    int n = 0;
    char name[96];
    add(v, &n, "text_emb.weight", 2, d->text_card + 1, D, 0, FILL_UNIFORM, 0.5f);
    for (int q = 0; q < d->n_q; q++) {
        snprintf(name, sizeof name, "emb.%d.weight", q);
        add(v, &n, name, 2, d->card + 1, D, 0, FILL_UNIFORM, 1.0f / sqrtf((float)d->n_q));
    }
    for (int l = 0; l < d->num_layers; l++) {
#define LNAME(s) (snprintf(name, sizeof name, "transformer.layers.%d.%s", l, s), name)
        add(v, &n, LNAME("norm1.alpha"), 3, 1, 1, D, FILL_NORM, 0.1f);
        add(v, &n, LNAME("norm2.alpha"), 3, 1, 1, D, FILL_NORM, 0.1f);
        add(v, &n, LNAME("self_attn.in_proj_weight"), 2, 3 * D, D, 0, FILL_UNIFORM, uni_for(D));
        add(v, &n, LNAME("self_attn.out_proj.weight"), 2, D, D, 0, FILL_UNIFORM, uni_for(D));
        add(v, &n, LNAME("gating.linear_in.weight"), 2, 2 * H, D, 0, FILL_UNIFORM, uni_for(D));
        add(v, &n, LNAME("gating.linear_out.weight"), 2, D, H, 0, FILL_UNIFORM, uni_for(H));
#undef LNAME
    }
    add(v, &n, "out_norm.alpha", 3, 1, 1, D, FILL_NORM, 0.1f);
    add(v, &n, "text_linear.weight", 2, d->text_card, D, 0, FILL_UNIFORM, uni_for(D));
    for (int h = 0; h < d->extra_heads; h++) {
        snprintf(name, sizeof name, "extra_heads.%d.weight", h);
        add(v, &n, name, 2, 6, D, 0, FILL_UNIFORM, uni_for(D));
    }
    qsort(v, (size_t)n, sizeof *v, cmp_spec);
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        v[i].begin = off;
        off += (uint64_t)numel(&v[i]) * 2;
        v[i].end = off;
    }
    *out = v;
    return n;
}

/* Appends to a growing string; returns -1 when out of memory. */
typedef struct {
    char *p;
    size_t n, cap;
} sbuf;

static int sb_printf(sbuf *b, const char *fmt, ...) KSTT__PRINTF(2, 3);
static int sb_printf(sbuf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            return -1;
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return 0;
        }
        size_t nc = b->cap ? b->cap * 2 : 4096;
        while (nc < b->n + (size_t)k + 1)
            nc *= 2;
        char *q = realloc(b->p, nc);
        if (!q)
            return -1;
        b->p = q;
        b->cap = nc;
    }
}

static int write_all(FILE *f, const void *p, size_t n, const char *path, char *err, size_t errlen) {
    if (fwrite(p, 1, n, f) != n)
        return kstt__errf(err, errlen, KSTT_EIO, "%s: write failed: %s", path, strerror(errno));
    return KSTT_OK;
}

int bench_gen_lm_write(const char *path, const bench_gen_lm_dims *d, uint64_t seed, char *err,
                       size_t errlen) {
    spec *v = NULL;
    int n = build_specs(d, &v);
    if (n < 0)
        return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
    sbuf h = {0};
    int rc = KSTT_OK;
    if (sb_printf(&h, "{\"__metadata__\":{\"format\":\"pt\"}"))
        rc = KSTT_ENOMEM;
    for (int i = 0; !rc && i < n; i++) {
        if (sb_printf(&h, ",\"%s\":{\"dtype\":\"BF16\",\"shape\":[", v[i].name))
            rc = KSTT_ENOMEM;
        for (int k = 0; !rc && k < v[i].ndim; k++)
            if (sb_printf(&h, "%s%lld", k ? "," : "", (long long)v[i].shape[k]))
                rc = KSTT_ENOMEM;
        if (!rc && sb_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)v[i].begin,
                             (unsigned long long)v[i].end))
            rc = KSTT_ENOMEM;
    }
    if (!rc && sb_printf(&h, "}"))
        rc = KSTT_ENOMEM;
    while (!rc && (8 + h.n) % 8 != 0)
        if (sb_printf(&h, " "))
            rc = KSTT_ENOMEM;
    if (rc) {
        free(h.p);
        free(v);
        return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        rc = kstt__errf(err, errlen, KSTT_EIO, "%s: cannot open for writing: %s", path,
                        strerror(errno));
        free(h.p);
        free(v);
        return rc;
    }
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
    rc = write_all(f, len, 8, path, err, errlen);
    if (!rc)
        rc = write_all(f, h.p, h.n, path, err, errlen);
    enum { CHUNK = 1 << 20 };
    uint16_t *buf = malloc(CHUNK * sizeof(uint16_t));
    if (!buf && !rc)
        rc = kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
    rng r = {seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull};
    for (int i = 0; !rc && i < n; i++) {
        int64_t left = numel(&v[i]);
        while (!rc && left > 0) {
            int64_t k = left < CHUNK ? left : CHUNK;
            for (int64_t j = 0; j < k; j++) {
                float x = rng_uniform(&r) * v[i].scale;
                buf[j] = kstt__f32_to_bf16(v[i].fill == FILL_NORM ? 1.0f + x : x);
            }
            rc = write_all(f, buf, (size_t)k * 2, path, err, errlen);
            left -= k;
        }
    }
    if (fclose(f) != 0 && !rc)
        rc = kstt__errf(err, errlen, KSTT_EIO, "%s: write failed: %s", path, strerror(errno));
    free(buf);
    free(h.p);
    free(v);
    return rc;
}

/* ---- the tokenizer -------------------------------------------------------------------- */

static int pb_bytes(sbuf *b, const void *p, size_t n) {
    while (b->n + n + 1 > b->cap) {
        size_t nc = b->cap * 2 + 64;
        char *q = realloc(b->p, nc);
        if (!q)
            return -1;
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    return 0;
}

static int pb_varint(sbuf *b, uint64_t v) {
    unsigned char c[10];
    size_t n = 0;
    do {
        c[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            c[n] |= 0x80;
        n++;
    } while (v);
    return pb_bytes(b, c, n);
}

static int pb_key(sbuf *b, int field, int wire) {
    return pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

/* One SentencePiece message (field 1 of ModelProto). */
static int pb_piece(sbuf *b, const char *piece, float score, int type) {
    sbuf m = {0};
    uint32_t bits;
    memcpy(&bits, &score, 4);
    unsigned char sc[4] = {(unsigned char)bits, (unsigned char)(bits >> 8),
                           (unsigned char)(bits >> 16), (unsigned char)(bits >> 24)};
    int rc = pb_key(&m, 1, 2) || pb_varint(&m, strlen(piece)) ||
             pb_bytes(&m, piece, strlen(piece)) || pb_key(&m, 2, 5) || pb_bytes(&m, sc, 4);
    if (!rc && type != 1)
        rc = pb_key(&m, 3, 0) || pb_varint(&m, (uint64_t)type);
    if (!rc)
        rc = pb_key(b, 1, 2) || pb_varint(b, m.n) || pb_bytes(b, m.p, m.n);
    free(m.p);
    return rc ? -1 : 0;
}

int bench_gen_tokenizer_write(const char *path, int n_pieces, uint64_t seed, char *err,
                              size_t errlen) {
    static const char *const cons = "bcdfghjklmnprstvwz", *const vow = "aeiou";
    sbuf b = {0};
    int rc = 0;
    rng r = {seed * 0x9e3779b97f4a7c15ull + 77};
    rc |= pb_piece(&b, "<unk>", 0.0f, 2);
    rc |= pb_piece(&b, "<s>", 0.0f, 3);
    rc |= pb_piece(&b, "</s>", 0.0f, 3);
    rc |= pb_piece(&b, "<pad>", 0.0f, 3);
    for (int i = 4; !rc && i < n_pieces; i++) {
        /* "▁" (U+2581) + syllables for word starts, bare syllables otherwise; the index is
         * encoded in the syllables so every piece is distinct */
        char p[64];
        size_t k = 0;
        if (i % 3 != 0) {
            memcpy(p, "\xe2\x96\x81", 3);
            k = 3;
        }
        int x = i;
        do {
            p[k++] = cons[x % 18];
            x /= 18;
            p[k++] = vow[x % 5];
            x /= 5;
        } while (x > 0);
        p[k] = 0;
        rc |= pb_piece(&b, p, -1.0f - (float)i * 0.001f + 0.0001f * rng_uniform(&r), 1);
    }
    /* TrainerSpec: model_type 1 (unigram), vocab_size, unk 0, bos 1, eos 2, pad 3 */
    sbuf t = {0};
    if (!rc)
        rc = pb_key(&t, 3, 0) || pb_varint(&t, 1) || pb_key(&t, 4, 0) ||
             pb_varint(&t, (uint64_t)n_pieces) || pb_key(&t, 40, 0) || pb_varint(&t, 0) ||
             pb_key(&t, 41, 0) || pb_varint(&t, 1) || pb_key(&t, 42, 0) || pb_varint(&t, 2) ||
             pb_key(&t, 43, 0) || pb_varint(&t, 3);
    if (!rc)
        rc = pb_key(&b, 2, 2) || pb_varint(&b, t.n) || pb_bytes(&b, t.p, t.n);
    /* NormalizerSpec: name "identity", add_dummy_prefix, remove_extra_whitespaces */
    sbuf ns = {0};
    if (!rc)
        rc = pb_key(&ns, 1, 2) || pb_varint(&ns, 8) || pb_bytes(&ns, "identity", 8) ||
             pb_key(&ns, 3, 0) || pb_varint(&ns, 1) || pb_key(&ns, 4, 0) || pb_varint(&ns, 1);
    if (!rc)
        rc = pb_key(&b, 3, 2) || pb_varint(&b, ns.n) || pb_bytes(&b, ns.p, ns.n);
    free(t.p);
    free(ns.p);
    if (rc) {
        free(b.p);
        return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(b.p);
        return kstt__errf(err, errlen, KSTT_EIO, "%s: cannot open for writing: %s", path,
                          strerror(errno));
    }
    rc = write_all(f, b.p, b.n, path, err, errlen);
    if (fclose(f) != 0 && !rc)
        rc = kstt__errf(err, errlen, KSTT_EIO, "%s: write failed: %s", path, strerror(errno));
    free(b.p);
    return rc;
}

/* ---- config.json ---------------------------------------------------------------------- */

int bench_gen_config_write(const char *path, const bench_gen_lm_dims *d, const char *mimi_name,
                           const char *mimi_config_name, const char *tokenizer_name, char *err,
                           size_t errlen) {
    FILE *f = fopen(path, "wb");
    if (!f)
        return kstt__errf(err, errlen, KSTT_EIO, "%s: cannot open for writing: %s", path,
                          strerror(errno));
    fprintf(f, "{\n  \"moshi_name\": \"model.safetensors\",\n  \"mimi_name\": \"%s\",\n",
            mimi_name);
    if (mimi_config_name)
        fprintf(f, "  \"mimi_config_name\": \"%s\",\n", mimi_config_name);
    fprintf(f,
            "  \"tokenizer_name\": \"%s\",\n  \"model_type\": \"stt\",\n"
            "  \"lm_gen_config\": {\"temp\": 0.0, \"temp_text\": 0.0, \"top_k\": 250, "
            "\"top_k_text\": 50},\n"
            "  \"stt_config\": {\"audio_delay_seconds\": %.2f, "
            "\"audio_silence_prefix_seconds\": %.2f},\n"
            "  \"dim\": %d,\n  \"text_card\": %d,\n  \"existing_text_padding_id\": 3,\n"
            "  \"n_q\": %d,\n  \"dep_q\": 0,\n  \"card\": %d,\n  \"num_heads\": %d,\n"
            "  \"num_layers\": %d,\n  \"hidden_scale\": 4.125,\n  \"causal\": true,\n"
            "  \"layer_scale\": null,\n  \"context\": %d,\n  \"max_period\": 100000.0,\n"
            "  \"gating\": \"silu\",\n  \"norm\": \"rms_norm_f32\",\n"
            "  \"positional_embedding\": \"rope\",\n  \"conditioners\": {},\n"
            "  \"cross_attention\": false",
            tokenizer_name, d->delay_s, d->prefix_s, d->dim, d->text_card, d->n_q, d->card,
            d->num_heads, d->num_layers, d->context);
    if (d->extra_heads)
        fprintf(f, ",\n  \"extra_heads_num_heads\": %d,\n  \"extra_heads_dim\": 6", d->extra_heads);
    fprintf(f, "\n}\n");
    if (ferror(f) | (fclose(f) != 0))
        return kstt__errf(err, errlen, KSTT_EIO, "%s: write failed", path);
    return KSTT_OK;
}

/* ---- kstt bench generate -------------------------------------------------------------- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long long vm_hwm_kb(void) {
#if defined(__linux__)
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = atoll(line + 6);
    fclose(f);
    return kb;
#else
    return -1; /* no /proc: unknown */
#endif
}

static long long file_size(const char *dir, const char *name) {
    char p[4096];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 ? (long long)st.st_size : 0;
}

#define REAL_MIMI "mimi-pytorch-e351c8d8@125.safetensors"

static int usage(void) {
    fprintf(stderr,
            "usage: kstt bench generate lm|mimi|model DIR [--dims 1b|2.6b|tiny] [--seed N]\n"
            "                                [--mimi-name FILE] [--mimi-config-name FILE]\n"
            "       kstt bench generate check DIR [--steps N] [--threads N]\n"
            "  lm     DIR/model.safetensors (bf16, random), DIR/tokenizer.model and\n"
            "         DIR/config.json naming the Mimi file (--mimi-name, default the real one)\n"
            "  mimi   DIR/" REAL_MIMI " (full size, random)\n"
            "  model  lm + mimi: a complete model directory (with --mimi-name, the Mimi file\n"
            "         is not generated: supply it, and its config with --mimi-config-name)\n"
            "  check  loads DIR, runs N steps, prints step times, peak RSS and file sizes\n");
    return 2;
}

static int cmd_check(const char *dir, int steps, int threads) {
    char err[1024];
    kstt_pool *pool = NULL;
    if (threads != 1 && kstt_pool_new(&pool, threads)) {
        fprintf(stderr, "kstt bench generate: cannot start %d threads\n", threads);
        return 1;
    }
    kstt_model_params mp = kstt_model_params_default();
    mp.pool = pool;
    kstt_model *m;
    double t0 = now_s();
    if (kstt_model_load(&m, dir, &mp, err, sizeof err)) {
        fprintf(stderr, "kstt bench generate: %s\n", err);
        kstt_pool_free(pool);
        return 1;
    }
    double t_load = now_s() - t0;
    kstt_stream_params sp = kstt_stream_params_default();
    sp.pad = 0;
    kstt_stream *s;
    if (kstt_stream_new(&s, m, &sp)) {
        fprintf(stderr, "kstt bench generate: cannot create a stream\n");
        kstt_model_free(m);
        kstt_pool_free(pool);
        return 1;
    }
    kstt_model_info info;
    kstt_model_get_info(m, &info);
    const int nq = info.num_codebooks;
    int32_t *codes = malloc((size_t)nq * sizeof(int32_t));
    float *pcm = malloc((size_t)info.frame_size * sizeof(float));
    rng r = {12345};
    int rc = 0;
    /* LM alone (recorded-code path), then the full pipeline from PCM */
    double lm_first = 0, lm_sum = 0, pipe_sum = 0;
    for (int i = 0; i < steps && !rc; i++) {
        for (int k = 0; k < nq; k++) {
            int32_t c = (int32_t)((rng_uniform(&r) + 1.0f) * 0.5f * (float)m->cfg.card);
            codes[k] = c < m->cfg.card ? c : m->cfg.card - 1;
        }
        double t = now_s();
        if (kstt__stream_feed_codes(s, codes, 1) != 1)
            rc = 1;
        t = now_s() - t;
        if (i == 0)
            lm_first = t;
        else
            lm_sum += t;
    }
    kstt_stream_reset(s);
    for (int i = 0; i < steps && !rc; i++) {
        for (int j = 0; j < info.frame_size; j++)
            pcm[j] = 0.1f * rng_uniform(&r);
        double t = now_s();
        if (kstt_stream_feed(s, pcm, (size_t)info.frame_size) != 1)
            rc = 1;
        pipe_sum += now_s() - t;
        kstt_event ev[16];
        while (kstt_stream_read(s, ev, 16) > 0) {
        }
    }
    if (rc)
        fprintf(stderr, "kstt bench generate: step failed: %s\n", kstt_stream_errmsg(s));
    long long files = file_size(dir, "config.json") + file_size(dir, m->cfg.moshi_name) +
                      file_size(dir, m->cfg.mimi_name) + file_size(dir, m->cfg.tokenizer_name) +
                      (m->cfg.mimi_config_name[0] ? file_size(dir, m->cfg.mimi_config_name) : 0);
    printf("kernels %s\n", m->lm->kernels);
    printf("threads %d\n", kstt__pool_size(pool));
    printf("load_s %.3f\n", t_load);
    printf("lm_first_step_ms %.1f\n", lm_first * 1e3);
    printf("lm_step_ms %.1f\n", steps > 1 ? lm_sum / (steps - 1) * 1e3 : 0.0);
    printf("pipeline_step_ms %.1f\n", steps > 0 ? pipe_sum / steps * 1e3 : 0.0);
    printf("file_bytes %lld\n", files);
    printf("vm_hwm_kb %lld\n", vm_hwm_kb());
    free(codes);
    free(pcm);
    kstt_stream_free(s);
    kstt_model_free(m);
    kstt_pool_free(pool);
    return rc;
}

int bench_generate(int argc, char **argv) {
    if (argc < 3)
        return usage();
    const char *what = argv[1], *dir = argv[2];
    const char *dims_name = "1b", *mimi_name = REAL_MIMI;
    const char *mimi_cfg = NULL;
    unsigned long long seed = 1;
    int mimi_given = 0;
    int steps = 4, threads = 0;
    for (int i = 3; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage();
        if (!strcmp(a, "--dims"))
            dims_name = v;
        else if (!strcmp(a, "--seed"))
            seed = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--mimi-name")) {
            mimi_name = v;
            mimi_given = 1;
        } else if (!strcmp(a, "--mimi-config-name"))
            mimi_cfg = v;
        else if (!strcmp(a, "--steps"))
            steps = atoi(v);
        else if (!strcmp(a, "--threads"))
            threads = atoi(v);
        else
            return usage();
    }
    if (!strcmp(what, "check"))
        return cmd_check(dir, steps > 0 ? steps : 1, threads);
    const int do_lm = !strcmp(what, "lm") || !strcmp(what, "model");
    const int do_mimi = !strcmp(what, "mimi") || (!strcmp(what, "model") && !mimi_given);
    if (!do_lm && !do_mimi)
        return usage();
    bench_gen_lm_dims d;
    if (bench_gen_lm_dims_get(dims_name, &d)) {
        fprintf(stderr, "kstt bench generate: unknown --dims %s (1b, 2.6b or tiny)\n", dims_name);
        return 2;
    }
    if (do_lm && do_mimi && d.n_q > 32) {
        fprintf(stderr, "kstt bench generate: the real Mimi gives 32 codebooks, not %d\n", d.n_q);
        return 2;
    }
    if (do_lm && do_mimi && d.card < 2048) {
        fprintf(stderr,
                "kstt bench generate: --dims %s reads codes below %d but the real Mimi "
                "gives codes up to 2047: pass --mimi-name (and --mimi-config-name) and supply "
                "a matching Mimi\n",
                d.name, d.card);
        return 2;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "kstt bench generate: %s: cannot create: %s\n", dir, strerror(errno));
        return 1;
    }
    char p[4096], err[1024];
    const char *tok = "tokenizer.model";
    double t0 = now_s();
    int rc = KSTT_OK;
    if (do_lm) {
        snprintf(p, sizeof p, "%s/model.safetensors", dir);
        rc = bench_gen_lm_write(p, &d, seed, err, sizeof err);
        if (!rc) {
            snprintf(p, sizeof p, "%s/%s", dir, tok);
            rc = bench_gen_tokenizer_write(p, d.text_card, seed, err, sizeof err);
        }
        if (!rc) {
            snprintf(p, sizeof p, "%s/config.json", dir);
            rc = bench_gen_config_write(p, &d, mimi_name, mimi_cfg, tok, err, sizeof err);
        }
    }
    if (!rc && do_mimi) {
        snprintf(p, sizeof p, "%s/%s", dir, REAL_MIMI);
        rc = bench_gen_mimi_write(p, seed, err, sizeof err);
    }
    if (rc) {
        fprintf(stderr, "kstt bench generate: %s\n", err);
        return 1;
    }
    fprintf(stderr, "kstt bench generate: %s%s%s written to %s in %.1f s\n", do_lm ? d.name : "",
            do_lm ? " LM, tokenizer and config" : "", do_mimi ? (do_lm ? " and Mimi" : "Mimi") : "",
            dir, now_s() - t0);
    if (do_lm && !do_mimi && !strcmp(what, "model"))
        fprintf(stderr, "kstt bench generate: add the Mimi file %s%s%s to complete the model\n",
                mimi_name, mimi_cfg ? " and its config " : "", mimi_cfg ? mimi_cfg : "");
    return 0;
}
