/*
 * config.json of an STT model directory -> kstt__stt_config (see config.h for the rules).
 *
 * Which keys are required follows Kyutai's Rust `stt-rs`, the strictest reader of these files:
 * the dimensions, the vocabularies, the context, max_period, mimi_name, tokenizer_name and
 * stt_config. Everything else has the reference default. cJSON allocates with the C library's
 * malloc during the parse (its hooks are process-global, so the library does not install any);
 * the tree is freed before returning, so nothing outlives the call.
 */
#include "lm/config.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "io/file.h"

static int get_int(const cJSON *obj, const char *key, const char *prefix, int required, int def,
                   int lo, int hi, int *out, const char *name, char *err, size_t errlen) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it) {
        if (!required) {
            *out = def;
            return KSTT_OK;
        }
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: missing key \"%s%s\"", name, prefix, key);
    }
    if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble))
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: key \"%s%s\" must be an integer", name,
                          prefix, key);
    double v = it->valuedouble;
    if (v < lo || v > hi)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: key \"%s%s\" out of range (got %.17g; expected %d..%d)", name,
                          prefix, key, v, lo, hi);
    *out = (int)v;
    return KSTT_OK;
}

static int get_num(const cJSON *obj, const char *key, const char *prefix, int required, double def,
                   double lo, double hi, double *out, const char *name, char *err, size_t errlen) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it) {
        if (!required) {
            *out = def;
            return KSTT_OK;
        }
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: missing key \"%s%s\"", name, prefix, key);
    }
    if (!cJSON_IsNumber(it))
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: key \"%s%s\" must be a number", name,
                          prefix, key);
    double v = it->valuedouble;
    if (!(v >= lo && v <= hi))
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: key \"%s%s\" out of range (got %.17g; expected %g..%g)", name,
                          prefix, key, v, lo, hi);
    *out = v;
    return KSTT_OK;
}

static int get_str(const cJSON *obj, const char *key, int required, const char *def, char *out,
                   const char *name, char *err, size_t errlen) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    const char *v = def;
    if (!it) {
        if (required)
            return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: missing key \"%s\"", name, key);
    } else if (!cJSON_IsString(it) || !it->valuestring) {
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: key \"%s\" must be a string", name, key);
    } else {
        v = it->valuestring;
    }
    size_t n = strlen(v);
    if (n >= KSTT__CFG_NAME_MAX)
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: key \"%s\" is too long (%zu bytes)", name,
                          key, n);
    if (it && n == 0)
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: key \"%s\" is empty", name, key);
    memcpy(out, v, n + 1);
    return KSTT_OK;
}

/* An optional string key that must have one of the given values when present. */
static int check_choice(const cJSON *obj, const char *key, const char *const *ok, int n_ok,
                        const char *name, char *err, size_t errlen) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it || cJSON_IsNull(it))
        return KSTT_OK;
    if (!cJSON_IsString(it) || !it->valuestring)
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: key \"%s\" must be a string", name, key);
    for (int i = 0; i < n_ok; i++)
        if (!strcmp(it->valuestring, ok[i]))
            return KSTT_OK;
    return kstt__errf(err, errlen, KSTT_EUNSUPPORTED, "%s: %s \"%.64s\" is not supported", name,
                      key, it->valuestring);
}

static int parse_tree(kstt__stt_config *c, const cJSON *root, const char *name, char *err,
                      size_t errlen) {
#define TRY(x) KSTT__TRY(x)
    if (!cJSON_IsObject(root))
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: top level is not a JSON object", name);

    TRY(get_str(root, "moshi_name", 0, "model.safetensors", c->moshi_name, name, err, errlen));
    TRY(get_str(root, "mimi_name", 1, "", c->mimi_name, name, err, errlen));
    TRY(get_str(root, "mimi_config_name", 0, "", c->mimi_config_name, name, err, errlen));
    TRY(get_str(root, "tokenizer_name", 1, "", c->tokenizer_name, name, err, errlen));

    TRY(get_int(root, "dim", "", 1, 0, 2, 65536, &c->dim, name, err, errlen));
    TRY(get_int(root, "num_heads", "", 1, 0, 1, 4096, &c->num_heads, name, err, errlen));
    TRY(get_int(root, "num_layers", "", 1, 0, 1, 4096, &c->num_layers, name, err, errlen));
    TRY(get_int(root, "context", "", 1, 0, 1, 1 << 20, &c->context, name, err, errlen));
    TRY(get_int(root, "n_q", "", 1, 0, 1, 1024, &c->n_q, name, err, errlen));
    TRY(get_int(root, "card", "", 1, 0, 1, 1 << 24, &c->card, name, err, errlen));
    TRY(get_int(root, "text_card", "", 1, 0, 5, 1 << 24, &c->text_card, name, err, errlen));
    TRY(get_num(root, "max_period", "", 1, 0, 1.0, 1e30, &c->max_period, name, err, errlen));
    TRY(get_int(root, "existing_text_padding_id", "", 0, 3, 0, c->text_card - 1, &c->pad_id, name,
                err, errlen));
    TRY(get_int(root, "extra_heads_num_heads", "", 0, 0, 0, 64, &c->extra_heads_num_heads, name,
                err, errlen));
    TRY(get_int(root, "extra_heads_dim", "", 0, 6, 1, 1024, &c->extra_heads_dim, name, err,
                errlen));
    TRY(get_int(root, "asr_delay_in_tokens", "", 0, -1, 0, 1 << 20, &c->asr_delay_in_tokens, name,
                err, errlen));

    if (c->dim % c->num_heads != 0 || (c->dim / c->num_heads) % 2 != 0)
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: dim %d is not a multiple of num_heads %d with an even head size",
                          name, c->dim, c->num_heads);

    int dep_q = 0;
    TRY(get_int(root, "dep_q", "", 0, 0, 0, 1024, &dep_q, name, err, errlen));
    if (dep_q != 0)
        return kstt__errf(err, errlen, KSTT_EUNSUPPORTED,
                          "%s: dep_q %d is not supported (an STT model has no depformer)", name,
                          dep_q);
    static const char *const gating[] = {"silu"};
    static const char *const norm[] = {"rms_norm_f32", "rms_norm"};
    static const char *const pos[] = {"rope"};
    TRY(check_choice(root, "gating", gating, 1, name, err, errlen));
    TRY(check_choice(root, "norm", norm, 2, name, err, errlen));
    TRY(check_choice(root, "positional_embedding", pos, 1, name, err, errlen));

    const cJSON *stt = cJSON_GetObjectItemCaseSensitive(root, "stt_config");
    if (!stt)
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: missing key \"stt_config\"", name);
    if (!cJSON_IsObject(stt))
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: key \"stt_config\" must be an object",
                          name);
    TRY(get_num(stt, "audio_delay_seconds", "stt_config.", 1, 0, 0.0, 3600.0,
                &c->audio_delay_seconds, name, err, errlen));
    TRY(get_num(stt, "audio_silence_prefix_seconds", "stt_config.", 1, 0, 0.0, 3600.0,
                &c->audio_silence_prefix_seconds, name, err, errlen));
#undef TRY
    return KSTT_OK;
}

int kstt__stt_config_parse(kstt__stt_config *cfg, const char *json, size_t len, const char *name,
                           char *err, size_t errlen) {
    memset(cfg, 0, sizeof *cfg);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        long at = end && end >= json ? (long)(end - json) : 0;
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: not valid JSON (error near byte %ld)",
                          name, at);
    }
    int rc = parse_tree(cfg, root, name, err, errlen);
    cJSON_Delete(root);
    if (rc != KSTT_OK)
        memset(cfg, 0, sizeof *cfg);
    return rc;
}

int kstt__stt_config_load(kstt__stt_config *cfg, const char *path, char *err, size_t errlen) {
    memset(cfg, 0, sizeof *cfg);
    void *buf;
    size_t len;
    int rc = kstt__read_file(path, (size_t)64 << 20, NULL, &buf, &len, err, errlen);
    if (rc == KSTT_OK)
        rc = kstt__stt_config_parse(cfg, buf, len, path, err, errlen);
    kstt__free(buf);
    return rc;
}
