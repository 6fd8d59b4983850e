/*
 * The golden tiny LM teacher-forced: shared by the golden LM tests (one translation unit each,
 * so the state below is per test program). tf_setup opens stt_tiny's config and weights and
 * the reference file; teacher_force runs tf.input_tokens (126 steps, past the context of 16)
 * through the LM of any weights file and compares its text logits with tf.text_logits.
 */
#ifndef KSTT_TESTS_LM_TEACHER_H
#define KSTT_TESTS_LM_TEACHER_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "io/weights.h"
#include "lm/config.h"
#include "lm/lm.h"
#include "test.h"

enum { TF_STEPS = 126, TF_VOCAB = 128 };

static char err[1024];
static kstt__stt_config cfg;
static kstt__st_file *golden, *reff; /* stt_tiny/model.safetensors, stt_tiny_ref.safetensors */

static int tf_setup(void) {
    if (kstt__stt_config_load(&cfg, test_golden("stt_tiny/config.json"), err, sizeof err) ||
        kstt__st_open(&golden, test_golden("stt_tiny/model.safetensors"), err, sizeof err) ||
        kstt__st_open(&reff, test_golden("stt_tiny_ref.safetensors"), err, sizeof err)) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    return 0;
}

static void tf_teardown(void) {
    kstt__st_close(golden);
    kstt__st_close(reff);
}

/* A tensor of the reference file; exits when it is missing (the golden files are broken). */
static const void *ref(const char *name, int64_t numel) {
    const kstt__tensor *t = kstt__st_find(reff, name);
    if (!t || t->numel != numel) {
        fprintf(stderr, "reference tensor %s missing or of the wrong size\n", name);
        exit(1);
    }
    return t->data;
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

typedef struct {
    double rel_rms, max_abs;
    int argmax_equal, steps;
    kstt_kv_type kv; /* the ring type the LM resolved */
    size_t kv_bytes; /* kstt__lm_kv_bytes */
    float logits[TF_STEPS * TF_VOCAB];
} tf_result;

/* Teacher-forces the golden inputs through the LM of `path` (safetensors or GGUF) at kernel
 * level `level` with KV ring type kv. 0 on success. */
static int teacher_force(const char *path, kstt_kernels level, kstt_kv_type kv, tf_result *r) {
    enum { T = TF_STEPS, V = TF_VOCAB };
    kstt__weights *wf;
    kstt__lm *lm;
    if (kstt__weights_open(&wf, path, err, sizeof err))
        return -1;
    if (kstt__lm_load_kv(&lm, wf, &cfg, NULL, level, kv, err, sizeof err)) {
        kstt__weights_close(wf);
        return -1;
    }
    const int32_t *in = ref("tf.input_tokens", T * 9);
    const float *lg = ref("tf.text_logits", T * V);
    const int32_t *am = ref("tf.argmax", T);
    kstt__lm_state *st = NULL;
    kstt__lm_work *w = NULL;
    float logits[TF_VOCAB], vad[64];
    int rc = kstt__lm_state_new(&st, lm) || kstt__lm_work_new(&w, lm, 1) || lm->text_card != V ||
                     lm->n_vad * lm->vad_dim > 64
                 ? -1
                 : 0;
    double num = 0, den = 0;
    memset(r, 0, sizeof *r);
    r->kv = lm->kv_type;
    r->kv_bytes = kstt__lm_kv_bytes(lm);
    for (int t = 0; t < T && !rc; t++) {
        if (kstt__lm_step(lm, w, &st, in + t * 9, 1, logits, vad)) {
            rc = -1;
            break;
        }
        for (int v = 0; v < V; v++) {
            const double d = (double)logits[v] - lg[t * V + v];
            num += d * d;
            den += (double)lg[t * V + v] * lg[t * V + v];
            r->max_abs = fmax(r->max_abs, fabs(d));
            r->logits[t * V + v] = logits[v];
        }
        r->argmax_equal += argmax(logits, V) == am[t];
    }
    r->steps = T;
    r->rel_rms = sqrt(num / den);
    kstt__lm_work_free(lm, w);
    kstt__lm_state_free(lm, st);
    kstt__lm_free(lm);
    kstt__weights_close(wf);
    return rc;
}

#endif
