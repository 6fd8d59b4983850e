/*
 * Full-size random Mimi writer (see gen_mimi.h). The tensor list follows the real encoder's
 * structure (reference-model.md 2.5); values come from a splitmix64 stream per tensor (seeded
 * by the seed and the tensor's index), so the file is deterministic.
 */
#include "gen_mimi.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "kstt.h"

typedef struct {
    uint64_t s;
} rng;

static uint64_t next(rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double uni(rng *r) {
    return ((double)(next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
static double normal(rng *r) { /* Box-Muller */
    return sqrt(-2.0 * log(uni(r))) * cos(6.283185307179586 * uni(r));
}

typedef enum { W_FANIN, W_BIAS, W_LN_W, W_LN_B, W_SCALE, W_ONE } wkind;

typedef struct {
    kstt__st_writer *w;
    uint64_t seed;
    int index;
    int rc;
} gen;

static void add(gen *g, const char *name, wkind kind, int ndim, int64_t d0, int64_t d1,
                int64_t d2) {
    if (g->rc != KSTT_OK)
        return;
    const int64_t shape[3] = {d0, d1, d2};
    size_t n = 1;
    double fan_in = 1;
    for (int i = 0; i < ndim; i++) {
        n *= (size_t)shape[i];
        if (i)
            fan_in *= (double)shape[i];
    }
    float *p = malloc(n * sizeof *p);
    if (!p) {
        g->rc = KSTT_ENOMEM;
        return;
    }
    rng r = {g->seed * 1000003ull + (uint64_t)g->index++};
    const double sd = 1.0 / sqrt(fan_in);
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case W_FANIN:
            p[i] = (float)(normal(&r) * sd);
            break;
        case W_BIAS:
            p[i] = (float)(0.05 * normal(&r));
            break;
        case W_LN_W:
            p[i] = (float)(1.0 + 0.1 * normal(&r));
            break;
        case W_LN_B:
            p[i] = (float)(0.1 * normal(&r));
            break;
        case W_SCALE:
            p[i] = (float)(0.2 + 0.6 * uni(&r));
            break;
        case W_ONE:
            p[i] = 1.0f;
            break;
        }
    }
    g->rc = kstt__st_writer_add(g->w, name, KSTT_DT_F32, ndim, shape, p);
    free(p);
}

static void conv(gen *g, const char *prefix, int cout, int cin, int k, int bias) {
    char name[160];
    snprintf(name, sizeof name, "%s.weight", prefix);
    add(g, name, W_FANIN, 3, cout, cin, k);
    if (bias) {
        snprintf(name, sizeof name, "%s.bias", prefix);
        add(g, name, W_BIAS, 1, cout, 0, 0);
    }
}

static void codebook(gen *g, const char *prefix, int bins, int dim) {
    if (g->rc != KSTT_OK)
        return;
    char name[160];
    rng r = {g->seed * 1000003ull + (uint64_t)g->index++};
    float *usage = malloc((size_t)bins * sizeof *usage),
          *sum = malloc((size_t)bins * dim * sizeof *sum);
    if (!usage || !sum) {
        free(usage);
        free(sum);
        g->rc = KSTT_ENOMEM;
        return;
    }
    for (int j = 0; j < bins; j++)
        usage[j] = (float)(0.5 + 1.5 * uni(&r));
    for (int j = 0; j < bins; j++)
        for (int i = 0; i < dim; i++)
            sum[(size_t)j * dim + i] = (float)normal(&r) * usage[j];
    const int64_t es[2] = {bins, dim}, us[1] = {bins}, is[1] = {1};
    const float one = 1.0f;
    snprintf(name, sizeof name, "%s._codebook.embedding_sum", prefix);
    g->rc = kstt__st_writer_add(g->w, name, KSTT_DT_F32, 2, es, sum);
    snprintf(name, sizeof name, "%s._codebook.cluster_usage", prefix);
    if (g->rc == KSTT_OK)
        g->rc = kstt__st_writer_add(g->w, name, KSTT_DT_F32, 1, us, usage);
    snprintf(name, sizeof name, "%s._codebook._initialized", prefix);
    if (g->rc == KSTT_OK)
        g->rc = kstt__st_writer_add(g->w, name, KSTT_DT_F32, 1, is, &one);
    free(usage);
    free(sum);
}

int bench_gen_mimi_write(const char *path, uint64_t seed, char *err, size_t errlen) {
    /* the real Mimi: n_filters 64, ratios applied 4, 5, 6, 8, dimension 512, 8 layers,
     * FFN 2048, downsample stride 2, 32 codebooks of 2048 x 256 */
    static const int ratios[4] = {4, 5, 6, 8};
    const int D = 512, FF = 2048, dq = 256, bins = 2048;
    gen g = {NULL, seed, 0, KSTT_OK};
    char p[160];
    g.rc = kstt__st_writer_new(&g.w);
    if (g.rc != KSTT_OK) {
        if (err && errlen)
            snprintf(err, errlen, "%s: out of memory", path);
        return g.rc;
    }
    kstt__st_writer_set_metadata(g.w, "format", "pt");
    kstt__st_writer_set_metadata(g.w, "kstt", "random full-size Mimi (bench/gen_mimi.c)");
    int ch = 64;
    conv(&g, "encoder.model.0.conv.conv", ch, 1, 7, 1);
    for (int s = 0; s < 4; s++) {
        const int idx = 1 + 3 * s;
        snprintf(p, sizeof p, "encoder.model.%d.block.1.conv.conv", idx);
        conv(&g, p, ch / 2, ch, 3, 1);
        snprintf(p, sizeof p, "encoder.model.%d.block.3.conv.conv", idx);
        conv(&g, p, ch, ch / 2, 1, 1);
        snprintf(p, sizeof p, "encoder.model.%d.conv.conv", idx + 2);
        conv(&g, p, 2 * ch, ch, 2 * ratios[s], 1);
        ch *= 2;
    }
    conv(&g, "encoder.model.14.conv.conv", D, ch, 3, 1);
    for (int l = 0; l < 8; l++) {
        const char *pre = "encoder_transformer.transformer.layers";
        snprintf(p, sizeof p, "%s.%d.norm1.weight", pre, l);
        add(&g, p, W_LN_W, 1, D, 0, 0);
        snprintf(p, sizeof p, "%s.%d.norm1.bias", pre, l);
        add(&g, p, W_LN_B, 1, D, 0, 0);
        snprintf(p, sizeof p, "%s.%d.self_attn.in_proj_weight", pre, l);
        add(&g, p, W_FANIN, 2, 3 * D, D, 0);
        snprintf(p, sizeof p, "%s.%d.self_attn.out_proj.weight", pre, l);
        add(&g, p, W_FANIN, 2, D, D, 0);
        snprintf(p, sizeof p, "%s.%d.norm2.weight", pre, l);
        add(&g, p, W_LN_W, 1, D, 0, 0);
        snprintf(p, sizeof p, "%s.%d.norm2.bias", pre, l);
        add(&g, p, W_LN_B, 1, D, 0, 0);
        snprintf(p, sizeof p, "%s.%d.linear1.weight", pre, l);
        add(&g, p, W_FANIN, 2, FF, D, 0);
        snprintf(p, sizeof p, "%s.%d.linear2.weight", pre, l);
        add(&g, p, W_FANIN, 2, D, FF, 0);
        snprintf(p, sizeof p, "%s.%d.layer_scale_1.scale", pre, l);
        add(&g, p, W_SCALE, 1, D, 0, 0);
        snprintf(p, sizeof p, "%s.%d.layer_scale_2.scale", pre, l);
        add(&g, p, W_SCALE, 1, D, 0, 0);
    }
    conv(&g, "downsample.conv.conv.conv", D, D, 4, 0);
    add(&g, "quantizer.rvq_first.input_proj.weight", W_FANIN, 3, dq, D, 1);
    add(&g, "quantizer.rvq_first.output_proj.weight", W_FANIN, 3, D, dq, 1);
    add(&g, "quantizer.rvq_rest.input_proj.weight", W_FANIN, 3, dq, D, 1);
    add(&g, "quantizer.rvq_rest.output_proj.weight", W_FANIN, 3, D, dq, 1);
    codebook(&g, "quantizer.rvq_first.vq.layers.0", bins, dq);
    for (int l = 0; l < 31; l++) {
        snprintf(p, sizeof p, "quantizer.rvq_rest.vq.layers.%d", l);
        codebook(&g, p, bins, dq);
    }
    int rc = g.rc;
    if (rc == KSTT_OK)
        rc = kstt__st_writer_save(g.w, path, err, errlen);
    else if (err && errlen)
        snprintf(err, errlen, "%s: %s", path, kstt_strerror(rc));
    kstt__st_writer_free(g.w);
    return rc;
}
