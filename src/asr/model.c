/*
 * kstt_model: loads a model directory laid out as a Hugging Face snapshot of a Kyutai STT repo
 * (config.json, the LM weights named by `moshi_name`: safetensors, or GGUF as `kstt quantize`
 * writes it, told apart by the file's magic; the Mimi file `mimi_name` with an optional
 * `mimi_config_name`, the tokenizer `tokenizer_name`) and derives the streaming constants:
 * asr_delay_in_tokens (params, else config key, else floor(delay * 12.5)) and the pad-mode
 * silence lengths (golden README 7.1).
 *
 * Every error message names the file at fault: config errors come from the config parser,
 * weight errors from the safetensors/GGUF readers and the LM loader, Mimi and tokenizer errors
 * from their loaders, and the cross-checks between them are written here.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "asr/model.h"
#include "codec/mimi_internal.h"
#include "core/alloc.h"
#include "core/status.h"

#define FRAME_RATE 12.5

kstt_model_params kstt_model_params_default(void) {
    kstt_model_params p;
    memset(&p, 0, sizeof p);
    p.pool = NULL;
    p.kernels = KSTT_KERNELS_AUTO;
    p.asr_delay_in_tokens = -1;
    p.kv_type = KSTT_KV_AUTO;
    p.mimi_weights = KSTT_MIMI_WEIGHTS_AUTO;
    return p;
}

/* KSTT_MIMI_WEIGHTS_AUTO: bf16 Mimi matrices when an LM layer matrix is 4-bit (q4_0, q4_K),
 * else exact f32. bf16 halves the encoder's per-frame weight traffic but moves codes (on the
 * golden pipeline with a q8_0 LM: 157/157 golden tokens with f32 Mimi, 140/157 with bf16), so
 * it is only chosen where the LM's own error is already larger (tiny golden q4_0: logits 23%
 * relative RMS error, argmax 84%). */
static kstt_mimi_weights resolve_mimi_weights(const kstt__lm *lm, kstt_mimi_weights w) {
    if (w != KSTT_MIMI_WEIGHTS_AUTO)
        return w;
    return lm->layers_4bit ? KSTT_MIMI_WEIGHTS_BF16 : KSTT_MIMI_WEIGHTS_F32;
}

static int join(char *out, size_t cap, const char *dir, const char *name, char *err,
                size_t errlen) {
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] != '/';
    int n = snprintf(out, cap, "%s%s%s", dir, slash ? "/" : "", name);
    if (n < 0 || (size_t)n >= cap)
        return kstt__errf(err, errlen, KSTT_EINVAL, "%s/%s: path too long", dir, name);
    return KSTT_OK;
}

/* Seconds to a whole number of 80 ms frames, tolerant of decimal inputs such as 0.08 * 12.5
 * landing a hair off an integer. */
static int frames_floor(double seconds) {
    return (int)floor(seconds * FRAME_RATE + 1e-6);
}
static int frames_ceil(double seconds) {
    return (int)ceil(seconds * FRAME_RATE - 1e-6);
}

int kstt_model_load(kstt_model **out, const char *dir, const kstt_model_params *params, char *err,
                    size_t errlen) {
    if (err && errlen)
        err[0] = 0;
    if (!out)
        return kstt__errf(err, errlen, KSTT_EINVAL, "kstt_model_load: NULL output");
    *out = NULL;
    if (!dir)
        return kstt__errf(err, errlen, KSTT_EINVAL, "kstt_model_load: NULL directory");
    kstt_model_params dp = kstt_model_params_default();
    if (!params)
        params = &dp;
    if (params->kernels < KSTT_KERNELS_AUTO || params->kernels > KSTT_KERNELS_AVX512)
        return kstt__errf(err, errlen, KSTT_EINVAL, "kstt_model_load: kernels %d out of range",
                          (int)params->kernels);
    if (params->kv_type < KSTT_KV_AUTO || params->kv_type > KSTT_KV_Q8)
        return kstt__errf(err, errlen, KSTT_EINVAL, "kstt_model_load: kv_type %d out of range",
                          (int)params->kv_type);
    if (params->mimi_weights < KSTT_MIMI_WEIGHTS_AUTO ||
        params->mimi_weights > KSTT_MIMI_WEIGHTS_BF16)
        return kstt__errf(err, errlen, KSTT_EINVAL, "kstt_model_load: mimi_weights %d out of range",
                          (int)params->mimi_weights);

    kstt_model *m = kstt__calloc(1, sizeof *m);
    if (!m)
        return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", dir);
    m->pool = params->pool;
    char path[4096];
    int rc;

    if ((rc = join(path, sizeof path, dir, "config.json", err, errlen)))
        goto fail;
    if ((rc = kstt__stt_config_load(&m->cfg, path, err, errlen)))
        goto fail;
    const kstt__stt_config *c = &m->cfg;
    /* moshi-server's audio_codebooks: the first K codebooks of Mimi's RVQ feed the LM */
    if (params->num_codebooks < 0 || params->num_codebooks > c->n_q) {
        rc = kstt__errf(err, errlen, KSTT_EINVAL,
                        "%s: num_codebooks %d out of range 1..%d (0 = all; the model has n_q = %d "
                        "audio codebooks)",
                        dir, params->num_codebooks, c->n_q, c->n_q);
        goto fail;
    }
    m->n_codebooks = params->num_codebooks ? params->num_codebooks : c->n_q;

    if ((rc = join(path, sizeof path, dir, c->moshi_name, err, errlen)))
        goto fail;
    /* safetensors or GGUF, told apart by the file's magic, not its name */
    if ((rc = kstt__weights_open(&m->weights, path, err, errlen)))
        goto fail;
    if ((rc = kstt__lm_load_kv(&m->lm, m->weights, c, m->pool, params->kernels, params->kv_type,
                               err, errlen)))
        goto fail;
    if ((rc = kstt__lm_set_codebooks(m->lm, m->n_codebooks))) {
        rc = kstt__errf(err, errlen, rc, "%s: the LM cannot read %d codebooks (n_q = %d)", path,
                        m->n_codebooks, m->lm->n_q);
        goto fail;
    }

    char cfg_path[4096];
    kstt_mimi_params mp = kstt_mimi_params_default();
    if (c->mimi_config_name[0]) {
        if ((rc = join(cfg_path, sizeof cfg_path, dir, c->mimi_config_name, err, errlen)))
            goto fail;
        mp.config_path = cfg_path;
    }
    mp.num_codebooks = m->n_codebooks;
    mp.pool = m->pool;
    mp.kernels = params->kernels;
    mp.weights = resolve_mimi_weights(m->lm, params->mimi_weights);
    if ((rc = join(path, sizeof path, dir, c->mimi_name, err, errlen)))
        goto fail;
    if ((rc = kstt_mimi_load(&m->mimi, path, &mp, err, errlen)))
        goto fail;
    if (kstt_mimi_num_codebooks(m->mimi) != m->n_codebooks) {
        rc = kstt__errf(err, errlen, KSTT_EFORMAT,
                        "%s: the Mimi model gives %d codebooks but the LM reads %d (n_q = %d)",
                        path, kstt_mimi_num_codebooks(m->mimi), m->n_codebooks, c->n_q);
        goto fail;
    }
    /* Codes index the LM's audio embeddings, whose row `card` is the audio pad token: a code
     * >= card would be refused by every step (or, == card, read as padding). */
    if (m->mimi->cfg.bins > c->card) {
        rc = kstt__errf(err, errlen, KSTT_EFORMAT,
                        "%s: the Mimi codebooks have %d entries but the LM's audio vocabulary "
                        "(card) is %d",
                        path, m->mimi->cfg.bins, c->card);
        goto fail;
    }
    m->frame_size = kstt_mimi_frame_size(m->mimi);
    m->sample_rate = kstt_mimi_sample_rate(m->mimi);
    if (m->frame_size <= 0 || m->sample_rate <= 0) {
        rc = kstt__errf(err, errlen, KSTT_EFORMAT, "%s: Mimi reports frame size %d at %d Hz", path,
                        m->frame_size, m->sample_rate);
        goto fail;
    }

    if ((rc = join(path, sizeof path, dir, c->tokenizer_name, err, errlen)))
        goto fail;
    if ((rc = kstt__spm_load(&m->spm, path, err, errlen)))
        goto fail;
    if (kstt__spm_size(m->spm) < c->text_card) {
        rc = kstt__errf(err, errlen, KSTT_EFORMAT,
                        "%s: the tokenizer has %d pieces but the model's text vocabulary "
                        "(text_card) is %d",
                        path, kstt__spm_size(m->spm), c->text_card);
        goto fail;
    }

    if (params->asr_delay_in_tokens >= 0)
        m->delay = params->asr_delay_in_tokens;
    else if (c->asr_delay_in_tokens >= 0)
        m->delay = c->asr_delay_in_tokens;
    else
        m->delay = frames_floor(c->audio_delay_seconds);
    m->prefix_frames = frames_ceil(c->audio_silence_prefix_seconds);
    m->suffix_frames = frames_ceil(c->audio_delay_seconds + 1.0);
    *out = m;
    return KSTT_OK;
fail:
    kstt_model_free(m);
    return rc;
}

void kstt_model_free(kstt_model *m) {
    if (!m)
        return;
    kstt__spm_free(m->spm);
    kstt_mimi_free(m->mimi);
    kstt__lm_free(m->lm);
    kstt__weights_close(m->weights);
    kstt__free(m);
}

void kstt_model_get_info(const kstt_model *m, kstt_model_info *info) {
    memset(info, 0, sizeof *info);
    info->sample_rate = m->sample_rate;
    info->frame_size = m->frame_size;
    info->frame_rate = FRAME_RATE;
    info->asr_delay_in_tokens = m->delay;
    info->audio_delay_seconds = m->cfg.audio_delay_seconds;
    info->silence_prefix_seconds = m->cfg.audio_silence_prefix_seconds;
    info->prefix_frames = m->prefix_frames;
    info->has_vad = m->lm->n_vad > 0;
    info->num_codebooks = m->n_codebooks; /* in effect: codes per frame */
    info->text_vocab = m->cfg.text_card;
    info->context = m->cfg.context;
}

int kstt_model_decode(const kstt_model *m, const int32_t *ids, size_t n, char *out, size_t cap,
                      size_t *needed) {
    if (needed)
        *needed = 0;
    if (!m || (!ids && n) || (!out && cap))
        return KSTT_EINVAL;
    size_t len = 0;
    const int rc = kstt__spm_decode_len(m->spm, ids, n, out, cap, &len);
    if (needed && (rc >= 0 || rc == KSTT_ERANGE))
        *needed = len + 1;
    return rc;
}
