/*
 * The LM's backend seam (lm.h): loading picks a backend and every other call goes through its
 * operations table. Only the CPU backend exists today (src/lm/cpu/); a device backend adds an
 * entry here (chosen by a build option or a load parameter) and nothing in src/asr changes.
 */
#include "lm/lm.h"

#include "core/alloc.h"
#include "core/status.h"
#include "lm/cpu/lm_cpu.h"

int kstt__lm_load(kstt__lm **out, const kstt__weights *f, const kstt__stt_config *cfg,
                  kstt_pool *pool, kstt_kernels kernels, char *err, size_t errlen) {
    return kstt__lm_load_kv(out, f, cfg, pool, kernels, KSTT_KV_AUTO, err, errlen);
}

int kstt__lm_load_kv(kstt__lm **out, const kstt__weights *f, const kstt__stt_config *cfg,
                     kstt_pool *pool, kstt_kernels kernels, kstt_kv_type kv, char *err,
                     size_t errlen) {
    *out = NULL;
    const char *path = kstt__weights_path(f);
    if (kv != KSTT_KV_AUTO && kv != KSTT_KV_F32 && kv != KSTT_KV_F16 && kv != KSTT_KV_Q8)
        return kstt__errf(err, errlen, KSTT_EINVAL, "%s: KV type %d out of range", path, (int)kv);
    kstt__lm *lm = kstt__calloc(1, sizeof *lm);
    if (!lm)
        return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
    lm->ops = &kstt__lm_cpu_ops;
    int rc = kstt__lm_cpu_load(lm, f, cfg, pool, kernels, kv, err, errlen);
    if (rc) {
        kstt__free(lm);
        return rc;
    }
    lm->n_q_used = lm->n_q;
    *out = lm;
    return KSTT_OK;
}

int kstt__lm_set_codebooks(kstt__lm *lm, int k) {
    if (!lm || k < 1 || k > lm->n_q)
        return KSTT_EINVAL;
    lm->n_q_used = k;
    return KSTT_OK;
}

void kstt__lm_free(kstt__lm *lm) {
    if (!lm)
        return;
    lm->ops->free(lm);
    kstt__free(lm);
}

size_t kstt__lm_kv_bytes(const kstt__lm *lm) {
    return lm->ops->kv_bytes(lm);
}

int kstt__lm_state_new(kstt__lm_state **out, const kstt__lm *lm) {
    return lm->ops->state_new(out, lm);
}

void kstt__lm_state_reset(const kstt__lm *lm, kstt__lm_state *s) {
    lm->ops->state_reset(s);
}

int64_t kstt__lm_state_pos(const kstt__lm *lm, const kstt__lm_state *s) {
    return lm->ops->state_pos(s);
}

void kstt__lm_state_seek(const kstt__lm *lm, kstt__lm_state *s, int64_t pos) {
    lm->ops->state_seek(s, pos < 0 ? 0 : pos);
}

void kstt__lm_state_free(const kstt__lm *lm, kstt__lm_state *s) {
    if (lm && s)
        lm->ops->state_free(s);
}

int kstt__lm_work_new(kstt__lm_work **out, const kstt__lm *lm, int cap) {
    return lm->ops->work_new(out, lm, cap);
}

void kstt__lm_work_free(const kstt__lm *lm, kstt__lm_work *w) {
    if (lm && w)
        lm->ops->work_free(w);
}

int kstt__lm_step(const kstt__lm *lm, kstt__lm_work *w, kstt__lm_state *const *states,
                  const int32_t *tokens, int n, float *logits, float *vad) {
    return lm->ops->step(lm, w, states, tokens, n, logits, vad);
}
