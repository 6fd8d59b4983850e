/*
 * The ASR state machine driving the tiny LM from the recorded Mimi codes of the golden
 * streaming runs (asr.{bria,fr}.codes): the LM inputs it builds must equal asr.*.inputs, the
 * tokens asr.*.tokens, and the events must equal stt_tiny_asr_events.json (Step with its four
 * probabilities within 1e-5, Word with tokens, text and start time, EndWord with stop time;
 * times exact), except that a Word whose text is empty is not reported (kstt's documented
 * addition; bria has one). Both delivery modes (queue with partial reads, callback) are
 * checked, and finish() must report the word the reference leaves pending.
 */
#include <cJSON.h>
#include <math.h>

#include "asr/asr.h"
#include "asr_test_util.h"
#include "core/alloc.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "lm/config.h"
#include "lm/lm.h"
#include "test.h"

typedef struct {
    kstt__stt_config cfg;
    kstt__weights *wf;
    kstt__st_file *rf;
    kstt__lm *lm;
    kstt__spm *spm;
    cJSON *events;
} fixture;

static fixture fx;

static int setup(void) {
    char err[512] = "";
    if (kstt__stt_config_load(&fx.cfg, test_golden("stt_tiny/config.json"), err, sizeof err) ||
        kstt__weights_open(&fx.wf, test_golden("stt_tiny/model.safetensors"), err, sizeof err) ||
        kstt__st_open(&fx.rf, test_golden("stt_tiny_ref.safetensors"), err, sizeof err) ||
        kstt__lm_load(&fx.lm, fx.wf, &fx.cfg, NULL, KSTT_KERNELS_AUTO, err, sizeof err) ||
        kstt__spm_load(&fx.spm, test_golden("stt_tiny/tokenizer_tiny_en_fr_audio_128.model"), err,
                       sizeof err)) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    size_t n;
    char *js = test_read_file(test_golden("stt_tiny_asr_events.json"), &n);
    fx.events = js ? cJSON_ParseWithLength(js, n) : NULL;
    free(js);
    return fx.events ? 0 : -1;
}

static void teardown(void) {
    cJSON_Delete(fx.events);
    kstt__spm_free(fx.spm);
    kstt__lm_free(fx.lm);
    kstt__weights_close(fx.wf);
    kstt__st_close(fx.rf);
}

static const void *ref(const char *clip, const char *what, int64_t numel) {
    char name[64];
    snprintf(name, sizeof name, "asr.%s.%s", clip, what);
    const kstt__tensor *t = kstt__st_find(fx.rf, name);
    if (!t || t->numel != numel) {
        fprintf(stderr, "reference tensor %s missing or of the wrong size\n", name);
        exit(1);
    }
    return t->data;
}

static void run_clip(const char *clip, int T, int callback) {
    const int nq = 8, V = 128;
    const int32_t *codes = ref(clip, "codes", T * nq), *inputs = ref(clip, "inputs", T * 9),
                  *tokens = ref(clip, "tokens", T);
    kstt__asr_params p = {.n_q = nq,
                          .card = 64,
                          .text_card = V,
                          .pad_id = 3,
                          .epad_id = 0,
                          .delay = 6,
                          .n_vad = 4,
                          .vad_dim = 6,
                          .step_events = 1,
                          .spm = fx.spm};
    event_log *c = calloc(1, sizeof *c);
    if (callback) {
        p.on_event = event_log_on_event;
        p.user = c;
    }
    kstt__asr a;
    ASSERT_INT_EQ(kstt__asr_init(&a, &p), KSTT_OK);
    kstt__lm_state *cp;
    kstt__lm_work *w;
    float logits[128], vad[24];
    ASSERT_INT_EQ(kstt__lm_state_new(&cp, fx.lm), KSTT_OK);
    ASSERT_INT_EQ(kstt__lm_work_new(&w, fx.lm, 1), KSTT_OK);
    int32_t in[9];
    kstt_event buf[3];
    for (int t = 0; t < T; t++) {
        kstt__asr_release(&a);
        kstt__asr_input(&a, codes + t * nq, in);
        for (int k = 0; k < 9; k++)
            if (in[k] != inputs[t * 9 + k]) {
                TEST_FAIL_("%s step %d: input %d is %d, reference %d", clip, t, k, in[k],
                           inputs[t * 9 + k]);
                goto done;
            }
        ASSERT_INT_EQ(kstt__lm_step(fx.lm, w, &cp, in, 1, logits, vad), KSTT_OK);
        ASSERT_INT_EQ(kstt__asr_output(&a, logits, vad), KSTT_OK);
        ASSERT_INT_EQ(a.prev, tokens[t]);
        /* read in small pieces, sometimes not at all, to exercise the queue compaction */
        if (!callback && t % 3 != 1) {
            size_t k = kstt__asr_read(&a, buf, (size_t)(1 + t % 3));
            for (size_t j = 0; j < k; j++)
                event_log_add(c, &buf[j]);
        }
    }
    if (!callback) {
        kstt__asr_release(&a);
        size_t k;
        while ((k = kstt__asr_read(&a, buf, 3)) > 0)
            for (size_t j = 0; j < k; j++)
                event_log_add(c, &buf[j]);
    }
    {
        const cJSON *golden = cJSON_GetObjectItem(cJSON_GetObjectItem(fx.events, clip), "events");
        int matched = event_log_compare(c, golden, clip, 0.0, INT64_MAX);
        ASSERT_TRUE(matched > 0);
        ASSERT_INT_EQ(matched, c->n);
        int words = 0, ends = 0;
        for (int i = 0; i < c->n; i++) {
            words += c->ev[i].type == KSTT_EVENT_WORD;
            ends += c->ev[i].type == KSTT_EVENT_END_WORD;
        }
        printf("  %s (%s): %d events, %d words, %d end words\n", clip,
               callback ? "callback" : "queue", c->n, words, ends);

        /* The word the reference leaves pending: the tokens after the last PAD/EPAD. */
        int32_t pend[128];
        int np = 0;
        for (int t = 5; t < T; t++) {
            if (tokens[t] == 0 || tokens[t] == 3)
                np = 0;
            else if (np < 128)
                pend[np++] = tokens[t];
        }
        int before = c->n;
        if (!callback)
            kstt__asr_release(&a);
        ASSERT_INT_EQ(kstt__asr_finish(&a, a.step - 6), KSTT_OK);
        if (!callback) {
            size_t k;
            while ((k = kstt__asr_read(&a, buf, 3)) > 0)
                for (size_t j = 0; j < k; j++)
                    event_log_add(c, &buf[j]);
        }
        if (np > 0) {
            ASSERT_TRUE(c->n == before + 2);
            ASSERT_INT_EQ(c->ev[before].type, KSTT_EVENT_WORD);
            ASSERT_INT_EQ(c->ev[before].n_tokens, np);
            for (int k = 0; k < np; k++)
                ASSERT_INT_EQ(c->toks[before][k], pend[k]);
            ASSERT_INT_EQ(c->ev[before + 1].type, KSTT_EVENT_END_WORD);
            ASSERT_NEAR(c->ev[before + 1].stop, (T - 6) / 12.5, 1e-12);
            printf("  %s: finish reports \"%s\"\n", clip, c->text[before]);
        }
    }
done:
    kstt__lm_state_free(fx.lm, cp);
    kstt__lm_work_free(fx.lm, w);
    kstt__asr_free(&a);
    free(c);
}

static void test_bria_queue(void) {
    run_clip("bria", 157, 0);
}
static void test_bria_callback(void) {
    run_clip("bria", 157, 1);
}
static void test_fr_queue(void) {
    run_clip("fr", 107, 0);
}
static void test_fr_callback(void) {
    run_clip("fr", 107, 1);
}

int main(void) {
    if (setup() != 0)
        return 1;
    RUN(test_bria_queue);
    RUN(test_bria_callback);
    RUN(test_fr_queue);
    RUN(test_fr_callback);
    teardown();
    if (kstt__alloc_live_bytes() != 0) {
        fprintf(stderr, "leak: %lld bytes live after teardown\n", kstt__alloc_live_bytes());
        return 1;
    }
    return test_summary();
}
