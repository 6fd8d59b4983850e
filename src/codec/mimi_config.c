/*
 * Mimi config JSON -> kstt__mimi_config. Keys absent from the document keep the real Mimi's
 * values, so a file only needs what differs; present keys are type- and range-checked, and
 * values naming a variant this encoder does not implement are refused (KSTT_EUNSUPPORTED).
 * cJSON allocates with the C library's malloc during the parse (its hooks are process-global,
 * so the library installs none); the tree is freed before returning.
 */
#include "codec/mimi_config.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "io/file.h"

void kstt__mimi_config_default(kstt__mimi_config *c) {
    memset(c, 0, sizeof *c);
    c->sample_rate = 24000;
    c->frame_rate = 12.5;
    c->n_filters = 64;
    c->dimension = 512;
    c->kernel_size = 7;
    c->residual_kernel_size = 3;
    c->last_kernel_size = 3;
    c->compress = 2;
    c->n_ratios = 4;
    c->ratios[0] = 8;
    c->ratios[1] = 6;
    c->ratios[2] = 5;
    c->ratios[3] = 4;
    c->d_model = 512;
    c->num_heads = 8;
    c->num_layers = 8;
    c->dim_feedforward = 2048;
    c->context = 250;
    c->max_period = 10000.0f;
    c->layer_scale = 1;
    c->q_dim = 256;
    c->n_q = 32;
    c->bins = 2048;
    int rc = kstt__mimi_config_finish(c, "built-in", NULL, 0);
    (void)rc; /* the built-in values are consistent */
}

/* ---- typed getters: absent keys leave *out unchanged ------------------------------------ */

static int get_int(const cJSON *obj, const char *sect, const char *key, int lo, int hi, int *out,
                   const char *name, char *err, size_t errlen) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it)
        return KSTT_OK;
    if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble))
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: key \"%s%s\" must be an integer", name,
                          sect, key);
    if (it->valuedouble < lo || it->valuedouble > hi)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: key \"%s%s\" out of range (got %.17g; expected %d..%d)", name, sect,
                          key, it->valuedouble, lo, hi);
    *out = (int)it->valuedouble;
    return KSTT_OK;
}

static int get_num(const cJSON *obj, const char *sect, const char *key, double lo, double hi,
                   double *out, const char *name, char *err, size_t errlen) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it)
        return KSTT_OK;
    if (!cJSON_IsNumber(it))
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: key \"%s%s\" must be a number", name,
                          sect, key);
    if (!(it->valuedouble >= lo && it->valuedouble <= hi))
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: key \"%s%s\" out of range (got %.17g; expected %g..%g)", name, sect,
                          key, it->valuedouble, lo, hi);
    *out = it->valuedouble;
    return KSTT_OK;
}

/* A key that, when present, must have one supported value (string or boolean). */
static int need_str(const cJSON *obj, const char *sect, const char *key, const char *const *ok,
                    int n_ok, const char *name, char *err, size_t errlen) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it)
        return KSTT_OK;
    if (!cJSON_IsString(it))
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: key \"%s%s\" must be a string", name,
                          sect, key);
    for (int i = 0; i < n_ok; i++)
        if (!strcmp(it->valuestring, ok[i]))
            return KSTT_OK;
    return kstt__errf(err, errlen, KSTT_EUNSUPPORTED,
                      "%s: key \"%s%s\" = \"%s\" is not supported (expected \"%s\")", name, sect,
                      key, it->valuestring, ok[0]);
}

static int need_bool(const cJSON *obj, const char *sect, const char *key, int want,
                     const char *name, char *err, size_t errlen) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it)
        return KSTT_OK;
    if (!cJSON_IsBool(it))
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: key \"%s%s\" must be true or false", name,
                          sect, key);
    if (cJSON_IsTrue(it) != want)
        return kstt__errf(err, errlen, KSTT_EUNSUPPORTED, "%s: key \"%s%s\" = %s is not supported",
                          name, sect, key, want ? "false" : "true");
    return KSTT_OK;
}

/* An object member (absent: NULL and OK; present but not an object: error). */
static int section(const cJSON *root, const char *key, const cJSON **out, const char *name,
                   char *err, size_t errlen) {
    *out = cJSON_GetObjectItemCaseSensitive(root, key);
    if (*out && !cJSON_IsObject(*out))
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: key \"%s\" must be an object", name, key);
    return KSTT_OK;
}

#define TRY(x) KSTT__TRY(x)

static int parse_tree(kstt__mimi_config *c, const cJSON *root, const char *name, char *err,
                      size_t errlen) {
    static const char *const elu[] = {"ELU"};
    static const char *const norms[] = {"none", "weight_norm"};
    static const char *const pad[] = {"constant"};
    static const char *const gating[] = {"none"};
    static const char *const lnorm[] = {"layer_norm"};
    static const char *const rope[] = {"rope"};
    const int big = 1 << 20;
    if (!cJSON_IsObject(root))
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: the document must be a JSON object",
                          name);
    TRY(get_int(root, "", "sample_rate", 1000, 768000, &c->sample_rate, name, err, errlen));
    TRY(get_num(root, "", "frame_rate", 0.01, 1000.0, &c->frame_rate, name, err, errlen));
    int ch = 1;
    TRY(get_int(root, "", "channels", 1, 64, &ch, name, err, errlen));
    if (ch != 1)
        return kstt__errf(err, errlen, KSTT_EUNSUPPORTED,
                          "%s: key \"channels\" = %d is not supported (mono only)", name, ch);

    const cJSON *s;
    TRY(section(root, "seanet", &s, name, err, errlen));
    if (s) {
        const char *p = "seanet.";
        ch = 1;
        TRY(get_int(s, p, "channels", 1, 64, &ch, name, err, errlen));
        if (ch != 1)
            return kstt__errf(err, errlen, KSTT_EUNSUPPORTED,
                              "%s: key \"seanet.channels\" = %d is not supported (mono only)", name,
                              ch);
        TRY(get_int(s, p, "dimension", 1, big, &c->dimension, name, err, errlen));
        TRY(get_int(s, p, "n_filters", 1, big, &c->n_filters, name, err, errlen));
        TRY(get_int(s, p, "kernel_size", 1, 4096, &c->kernel_size, name, err, errlen));
        TRY(get_int(s, p, "residual_kernel_size", 1, 4096, &c->residual_kernel_size, name, err,
                    errlen));
        TRY(get_int(s, p, "last_kernel_size", 1, 4096, &c->last_kernel_size, name, err, errlen));
        TRY(get_int(s, p, "compress", 1, 1024, &c->compress, name, err, errlen));
        int nres = 1, dil = 2;
        TRY(get_int(s, p, "n_residual_layers", 0, 64, &nres, name, err, errlen));
        if (nres != 1)
            return kstt__errf(err, errlen, KSTT_EUNSUPPORTED,
                              "%s: key \"seanet.n_residual_layers\" = %d is not supported "
                              "(expected 1)",
                              name, nres);
        TRY(get_int(s, p, "dilation_base", 1, 64, &dil, name, err, errlen));
        TRY(need_bool(s, p, "causal", 1, name, err, errlen));
        TRY(need_bool(s, p, "true_skip", 1, name, err, errlen));
        TRY(need_str(s, p, "activation", elu, 1, name, err, errlen));
        TRY(need_str(s, p, "norm", norms, 2, name, err, errlen));
        TRY(need_str(s, p, "pad_mode", pad, 1, name, err, errlen));
        const cJSON *ap = cJSON_GetObjectItemCaseSensitive(s, "activation_params");
        if (ap) {
            const cJSON *al =
                cJSON_IsObject(ap) ? cJSON_GetObjectItemCaseSensitive(ap, "alpha") : NULL;
            if (!cJSON_IsObject(ap) || (al && (!cJSON_IsNumber(al) || al->valuedouble != 1.0)))
                return kstt__errf(err, errlen, KSTT_EUNSUPPORTED,
                                  "%s: key \"seanet.activation_params\" is not supported "
                                  "(expected {\"alpha\": 1.0})",
                                  name);
        }
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(s, "ratios");
        if (r) {
            const int n = cJSON_IsArray(r) ? cJSON_GetArraySize(r) : -1;
            if (n < 1 || n > KSTT_MIMI_MAX_RATIOS)
                return kstt__errf(err, errlen, KSTT_EFORMAT,
                                  "%s: key \"seanet.ratios\" must be an array of 1..%d integers",
                                  name, KSTT_MIMI_MAX_RATIOS);
            for (int i = 0; i < n; i++) {
                const cJSON *v = cJSON_GetArrayItem(r, i);
                if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
                    v->valuedouble < 1 || v->valuedouble > 64)
                    return kstt__errf(err, errlen, KSTT_EFORMAT,
                                      "%s: key \"seanet.ratios\" must hold integers in 1..64 "
                                      "(item %d)",
                                      name, i);
                c->ratios[i] = (int)v->valuedouble;
            }
            c->n_ratios = n;
        }
    }

    const cJSON *q;
    TRY(section(root, "quantizer", &q, name, err, errlen));
    if (q) {
        const char *p = "quantizer.";
        TRY(get_int(q, p, "dimension", 1, big, &c->q_dim, name, err, errlen));
        TRY(get_int(q, p, "n_q", 1, 1024, &c->n_q, name, err, errlen));
        TRY(get_int(q, p, "bins", 1, big, &c->bins, name, err, errlen));
        int in_dim = c->dimension;
        TRY(get_int(q, p, "input_dimension", 1, big, &in_dim, name, err, errlen));
        if (in_dim != c->dimension)
            return kstt__errf(err, errlen, KSTT_EFORMAT,
                              "%s: key \"quantizer.input_dimension\" = %d differs from "
                              "\"seanet.dimension\" = %d",
                              name, in_dim, c->dimension);
    }

    const cJSON *t;
    TRY(section(root, "transformer", &t, name, err, errlen));
    if (t) {
        const char *p = "transformer.";
        TRY(get_int(t, p, "d_model", 1, big, &c->d_model, name, err, errlen));
        TRY(get_int(t, p, "num_heads", 1, 4096, &c->num_heads, name, err, errlen));
        TRY(get_int(t, p, "num_layers", 0, 1024, &c->num_layers, name, err, errlen));
        TRY(get_int(t, p, "dim_feedforward", 1, big, &c->dim_feedforward, name, err, errlen));
        TRY(get_int(t, p, "context", 1, big, &c->context, name, err, errlen));
        double mp = c->max_period;
        TRY(get_num(t, p, "max_period", 1.0, 1e12, &mp, name, err, errlen));
        c->max_period = (float)mp;
        TRY(need_bool(t, p, "causal", 1, name, err, errlen));
        TRY(need_str(t, p, "gating", gating, 1, name, err, errlen));
        TRY(need_str(t, p, "norm", lnorm, 1, name, err, errlen));
        TRY(need_str(t, p, "positional_embedding", rope, 1, name, err, errlen));
        const cJSON *ls = cJSON_GetObjectItemCaseSensitive(t, "layer_scale");
        if (ls) {
            if (cJSON_IsNull(ls))
                c->layer_scale = 0;
            else if (cJSON_IsNumber(ls))
                c->layer_scale = 1;
            else
                return kstt__errf(err, errlen, KSTT_EFORMAT,
                                  "%s: key \"transformer.layer_scale\" must be a number or null",
                                  name);
        }
        int in_dim = c->d_model;
        TRY(get_int(t, p, "input_dimension", 1, big, &in_dim, name, err, errlen));
        if (in_dim != c->d_model)
            return kstt__errf(err, errlen, KSTT_EUNSUPPORTED,
                              "%s: key \"transformer.input_dimension\" = %d differs from "
                              "\"transformer.d_model\" = %d (projections are not supported)",
                              name, in_dim, c->d_model);
    }
    return kstt__mimi_config_finish(c, name, err, errlen);
}

int kstt__mimi_config_finish(kstt__mimi_config *c, const char *name, char *err, size_t errlen) {
    long hop = 1;
    for (int i = 0; i < c->n_ratios; i++)
        hop *= c->ratios[i];
    const double fs = (double)c->sample_rate / c->frame_rate;
    if (fs != floor(fs) || fs < 1 || fs > 1e7)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: sample_rate %d / frame_rate %g is not a whole number of samples",
                          name, c->sample_rate, c->frame_rate);
    const long frame = (long)fs;
    if (frame % hop != 0 || frame / hop < 2)
        return kstt__errf(err, errlen, KSTT_EUNSUPPORTED,
                          "%s: a frame of %ld samples is not a multiple of 2 x the SEANet hop %ld "
                          "(product of seanet.ratios)",
                          name, frame, hop);
    if (c->dimension != c->d_model)
        return kstt__errf(err, errlen, KSTT_EUNSUPPORTED,
                          "%s: seanet.dimension %d differs from transformer.d_model %d "
                          "(projections are not supported)",
                          name, c->dimension, c->d_model);
    if (c->d_model % c->num_heads != 0 || (c->d_model / c->num_heads) % 2 != 0)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: transformer.d_model %d must be num_heads %d times an even head "
                          "dimension",
                          name, c->d_model, c->num_heads);
    long ch = (long)c->n_filters << c->n_ratios;
    if (ch > (1L << 20))
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: seanet.n_filters %d too large", name,
                          c->n_filters);
    for (int i = 0; i <= c->n_ratios; i++)
        if (((long)c->n_filters << i) % c->compress != 0)
            return kstt__errf(err, errlen, KSTT_EFORMAT,
                              "%s: seanet.compress %d does not divide the channel count %ld", name,
                              c->compress, (long)c->n_filters << i);
    /* A query sees the steps of its frame written so far plus the context before them; with
     * fewer than a frame's steps of context the first query of a frame would see none. */
    if (c->context < frame / hop)
        return kstt__errf(err, errlen, KSTT_EUNSUPPORTED,
                          "%s: transformer.context %d is shorter than the %ld transformer steps of "
                          "a frame",
                          name, c->context, frame / hop);
    c->hop = (int)hop;
    c->frame_size = (int)frame;
    c->ds_stride = (int)(frame / hop);
    c->head_dim = c->d_model / c->num_heads;
    return KSTT_OK;
}

int kstt__mimi_config_parse(kstt__mimi_config *c, const char *json, size_t len, const char *name,
                            char *err, size_t errlen) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        long at = end && end >= json ? (long)(end - json) : 0;
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: not valid JSON (error near byte %ld)",
                          name, at);
    }
    int rc = parse_tree(c, root, name, err, errlen);
    cJSON_Delete(root);
    return rc;
}

int kstt__mimi_config_load(kstt__mimi_config *c, const char *path, char *err, size_t errlen) {
    void *buf;
    size_t len;
    int rc = kstt__read_file(path, (size_t)16 << 20, NULL, &buf, &len, err, errlen);
    if (rc == KSTT_OK)
        rc = kstt__mimi_config_parse(c, buf, len, path, err, errlen);
    kstt__free(buf);
    return rc;
}
