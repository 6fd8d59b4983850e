/*
 * The ASR decoding state (src/asr/asr.c) on crafted LM outputs: input alignment (start tokens,
 * one-frame audio lag), the delay gate, Word/EndWord assembly and times, ties, seeded sampling,
 * the empty-word rule, pad-mode time offsets, finish(), the event queue (partial reads,
 * pointer lifetime, growth) and allocation failures.
 */
#include "asr/asr.h"
#include "core/alloc.h"
#include "test.h"

#define V 16
#define NQ 2

static kstt__asr_params params(int delay) {
    kstt__asr_params p;
    memset(&p, 0, sizeof p);
    p.n_q = NQ;
    p.card = 32;
    p.text_card = V;
    p.pad_id = 3;
    p.epad_id = 0;
    p.delay = delay;
    p.n_vad = 2;
    p.vad_dim = 3;
    p.step_events = 0;
    return p;
}

/* One step whose argmax is `tok`. */
static void step(kstt__asr *a, int tok) {
    float logits[V];
    int32_t codes[NQ] = {1, 2}, in[1 + NQ];
    for (int i = 0; i < V; i++)
        logits[i] = -(float)i * 0.01f;
    logits[tok] = 5.0f;
    kstt__asr_input(a, codes, in);
    float vad[6] = {0.25f, 0.5f, 0.25f, 0.75f, 0.125f, 0.125f};
    kstt__asr_output(a, logits, vad);
}

static int read_all(kstt__asr *a, kstt_event *ev, int max) {
    kstt__asr_release(a);
    return (int)kstt__asr_read(a, ev, (size_t)max);
}

static void test_inputs(void) {
    kstt__asr_params p = params(2);
    kstt__asr a;
    ASSERT_INT_EQ(kstt__asr_init(&a, &p), KSTT_OK);
    int32_t in[1 + NQ], c0[NQ] = {5, 6}, c1[NQ] = {7, 8}, c2[NQ] = {9, 10};
    float logits[V] = {0};
    logits[11] = 1.0f;
    kstt__asr_input(&a, c0, in);
    ASSERT_INT_EQ(in[0], V);
    ASSERT_INT_EQ(in[1], 32);
    ASSERT_INT_EQ(in[2], 32);
    kstt__asr_output(&a, logits, NULL);
    kstt__asr_input(&a, c1, in);
    ASSERT_INT_EQ(in[0], 11);
    ASSERT_INT_EQ(in[1], 5);
    ASSERT_INT_EQ(in[2], 6);
    logits[11] = 0;
    logits[12] = 1.0f;
    kstt__asr_output(&a, logits, NULL);
    kstt__asr_input(&a, c2, in);
    ASSERT_INT_EQ(in[0], 12);
    ASSERT_INT_EQ(in[1], 7);
    ASSERT_INT_EQ(in[2], 8);
    /* reset: back to the start tokens */
    kstt__asr_reset(&a);
    kstt__asr_input(&a, c2, in);
    ASSERT_INT_EQ(in[0], V);
    ASSERT_INT_EQ(in[1], 32);
    kstt__asr_free(&a);
}

static void test_words_and_times(void) {
    kstt__asr_params p = params(2);
    kstt__asr a;
    ASSERT_INT_EQ(kstt__asr_init(&a, &p), KSTT_OK);
    /* step 1 (< delay): ignored; then PAD, 7 8, PAD -> Word; EPAD -> EndWord; 9, EPAD. */
    const int seq[] = {5, 3, 7, 8, 3, 0, 9, 0, 3, 10};
    for (int i = 0; i < 10; i++)
        step(&a, seq[i]);
    kstt_event ev[16];
    int n = read_all(&a, ev, 16);
    ASSERT_INT_EQ(n, 4);
    ASSERT_INT_EQ(ev[0].type, KSTT_EVENT_WORD);
    ASSERT_INT_EQ(ev[0].step, 5);
    ASSERT_INT_EQ(ev[0].n_tokens, 2);
    ASSERT_INT_EQ(ev[0].tokens[0], 7);
    ASSERT_INT_EQ(ev[0].tokens[1], 8);
    ASSERT_STR_EQ(ev[0].text, ""); /* no tokenizer */
    ASSERT_TRUE(ev[0].start == 0.0);
    ASSERT_INT_EQ(ev[1].type, KSTT_EVENT_END_WORD);
    ASSERT_INT_EQ(ev[1].step, 6);
    ASSERT_TRUE(ev[1].stop == 4 / 12.5);
    ASSERT_INT_EQ(ev[2].type, KSTT_EVENT_WORD);
    ASSERT_INT_EQ(ev[2].n_tokens, 1);
    ASSERT_INT_EQ(ev[2].tokens[0], 9);
    ASSERT_TRUE(ev[2].start == 4 / 12.5);
    ASSERT_INT_EQ(ev[3].type, KSTT_EVENT_END_WORD);
    ASSERT_TRUE(ev[3].stop == 6 / 12.5);
    /* the pending word [10] comes out at finish, with a closing EndWord */
    kstt__asr_release(&a);
    ASSERT_INT_EQ(kstt__asr_finish(&a, 9), KSTT_OK);
    n = read_all(&a, ev, 16);
    ASSERT_INT_EQ(n, 2);
    ASSERT_INT_EQ(ev[0].type, KSTT_EVENT_WORD);
    ASSERT_INT_EQ(ev[0].tokens[0], 10);
    ASSERT_TRUE(ev[0].start == 6 / 12.5);
    ASSERT_INT_EQ(ev[1].type, KSTT_EVENT_END_WORD);
    ASSERT_TRUE(ev[1].stop == 9 / 12.5);
    /* nothing pending: finish adds nothing */
    ASSERT_INT_EQ(kstt__asr_finish(&a, 9), KSTT_OK);
    ASSERT_INT_EQ(read_all(&a, ev, 16), 0);
    kstt__asr_free(&a);
}

/* Pad-separated words share the next EndWord; a word never ended before a PAD stays unended. */
static void test_shared_end_word(void) {
    kstt__asr_params p = params(1);
    kstt__asr a;
    ASSERT_INT_EQ(kstt__asr_init(&a, &p), KSTT_OK);
    const int seq[] = {7, 3, 8, 3, 3, 0};
    for (int i = 0; i < 6; i++)
        step(&a, seq[i]);
    kstt_event ev[8];
    ASSERT_INT_EQ(read_all(&a, ev, 8), 3);
    ASSERT_INT_EQ(ev[0].type, KSTT_EVENT_WORD);
    ASSERT_INT_EQ(ev[1].type, KSTT_EVENT_WORD);
    ASSERT_INT_EQ(ev[2].type, KSTT_EVENT_END_WORD);
    ASSERT_TRUE(ev[2].stop == 5 / 12.5);
    kstt__asr_free(&a);
}

static void test_ties_lowest_id(void) {
    kstt__asr_params p = params(0);
    kstt__asr a;
    ASSERT_INT_EQ(kstt__asr_init(&a, &p), KSTT_OK);
    float logits[V] = {0};
    logits[9] = logits[6] = logits[12] = 2.0f;
    int32_t codes[NQ] = {0, 0}, in[3];
    kstt__asr_input(&a, codes, in);
    kstt__asr_output(&a, logits, NULL);
    ASSERT_INT_EQ(a.prev, 6);
    for (int i = 0; i < V; i++)
        logits[i] = 1.0f;
    kstt__asr_input(&a, codes, in);
    kstt__asr_output(&a, logits, NULL);
    ASSERT_INT_EQ(a.prev, 0);
    kstt__asr_free(&a);
}

static void sample_run(uint64_t seed, float temp, int32_t *toks, int n) {
    kstt__asr_params p = params(0);
    p.temperature = temp;
    p.seed = seed;
    kstt__asr a;
    if (kstt__asr_init(&a, &p))
        return;
    float logits[V];
    for (int i = 0; i < V; i++)
        logits[i] = (float)(i % 5) * 0.3f;
    int32_t codes[NQ] = {0, 0}, in[3];
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < n; i++) {
            kstt__asr_input(&a, codes, in);
            kstt__asr_output(&a, logits, NULL);
            toks[k * n + i] = a.prev;
        }
        kstt__asr_reset(&a); /* the second half repeats after a reset */
    }
    kstt__asr_free(&a);
}

static void test_sampling_seeded(void) {
    int32_t a[400], b[400], c[400];
    sample_run(42, 1.0f, a, 200);
    sample_run(42, 1.0f, b, 200);
    sample_run(43, 1.0f, c, 200);
    ASSERT_TRUE(memcmp(a, b, sizeof a) == 0);
    ASSERT_TRUE(memcmp(a, a + 200, 200 * sizeof(int32_t)) == 0); /* reset reseeds */
    ASSERT_TRUE(memcmp(a, c, sizeof a) != 0);
    /* the maximal logits (i % 5 == 4: ids 4, 9, 14) come out most often; every draw is valid */
    int hist[V] = {0};
    for (int i = 0; i < 400; i++) {
        ASSERT_TRUE(a[i] >= 0 && a[i] < V);
        hist[a[i]]++;
    }
    ASSERT_TRUE(hist[4] + hist[9] + hist[14] > hist[0] + hist[5] + hist[10]);
    /* a tiny temperature is argmax (lowest of the tied maxima... or one of them) */
    sample_run(1, 1e-6f, a, 50);
    for (int i = 0; i < 100; i++)
        ASSERT_TRUE(a[i] == 4 || a[i] == 9 || a[i] == 14);
}

static void test_step_events(void) {
    kstt__asr_params p = params(5);
    p.step_events = 1;
    kstt__asr a;
    ASSERT_INT_EQ(kstt__asr_init(&a, &p), KSTT_OK);
    step(&a, 3);
    step(&a, 3);
    kstt_event ev[4];
    ASSERT_INT_EQ(read_all(&a, ev, 4), 2);
    ASSERT_INT_EQ(ev[0].type, KSTT_EVENT_STEP);
    ASSERT_INT_EQ(ev[0].step, 1);
    ASSERT_INT_EQ(ev[1].step, 2);
    ASSERT_TRUE(ev[0].prs[0] == 0.25f && ev[0].prs[1] == 0.75f);
    ASSERT_TRUE(ev[0].prs[2] == 0.0f && ev[0].prs[3] == 0.0f); /* only two heads */
    kstt__asr_free(&a);
    p.n_vad = 0; /* no heads: no Step events even when asked */
    ASSERT_INT_EQ(kstt__asr_init(&a, &p), KSTT_OK);
    step(&a, 3);
    ASSERT_INT_EQ(read_all(&a, ev, 4), 0);
    kstt__asr_free(&a);
}

/* With the golden tokenizer: texts are decoded; a word made of the lone boundary piece "▁"
 * (id 4) decodes to "" and is not reported, nor does it wait for an EndWord. */
static void test_texts_and_empty_words(void) {
    kstt__spm *spm;
    char err[256];
    ASSERT_INT_EQ(kstt__spm_load(&spm, test_golden("stt_tiny/tokenizer_tiny_en_fr_audio_128.model"),
                                 err, sizeof err),
                  KSTT_OK);
    kstt__asr_params p = params(1);
    p.text_card = V;
    p.spm = spm;
    kstt__asr a;
    ASSERT_INT_EQ(kstt__asr_init(&a, &p), KSTT_OK);
    /* pieces 13 "the" ... 4 "▁" alone, then EPAD: no Word and no EndWord for it */
    const int seq[] = {4, 0, 4, 3, 13, 0};
    for (int i = 0; i < 6; i++)
        step(&a, seq[i]);
    kstt_event ev[8];
    int n = read_all(&a, ev, 8);
    ASSERT_INT_EQ(n, 2);
    ASSERT_INT_EQ(ev[0].type, KSTT_EVENT_WORD);
    ASSERT_STR_EQ(ev[0].text, kstt__spm_piece(spm, 13));
    ASSERT_INT_EQ(ev[1].type, KSTT_EVENT_END_WORD);
    kstt__asr_free(&a);
    kstt__spm_free(spm);
}

static void test_time_offset_and_clamp(void) {
    kstt__asr_params p = params(1);
    p.offset_steps = 3;
    p.clamp_times = 1;
    kstt__asr a;
    ASSERT_INT_EQ(kstt__asr_init(&a, &p), KSTT_OK);
    const int seq[] = {7, 0, 3, 3, 3, 8, 0};
    for (int i = 0; i < 7; i++)
        step(&a, seq[i]);
    kstt_event ev[8];
    ASSERT_INT_EQ(read_all(&a, ev, 8), 4);
    ASSERT_TRUE(ev[0].start == 0.0); /* -3 steps, clamped */
    ASSERT_TRUE(ev[1].stop == 0.0);  /* EPAD at 1 step, before the offset: clamped */
    ASSERT_TRUE(ev[2].start == 0.0);
    ASSERT_TRUE(ev[3].stop == 3 / 12.5); /* EPAD at (7 - 1) = 6 steps, minus 3 */
    kstt__asr_free(&a);
}

/* Many events without reading grow the queue; partial reads and steps between reads keep the
 * order and the texts. */
static void test_queue(void) {
    kstt__spm *spm;
    char err[256];
    ASSERT_INT_EQ(kstt__spm_load(&spm, test_golden("stt_tiny/tokenizer_tiny_en_fr_audio_128.model"),
                                 err, sizeof err),
                  KSTT_OK);
    kstt__asr_params p = params(0);
    p.step_events = 1;
    p.spm = spm;
    kstt__asr a;
    ASSERT_INT_EQ(kstt__asr_init(&a, &p), KSTT_OK);
    const int N = 3000;
    for (int i = 0; i < N; i++) {
        step(&a, 13);
        step(&a, 0);
    }
    /* per pair: Step, Step, Word, EndWord */
    ASSERT_INT_EQ(kstt__asr_pending_events(&a), 4 * N);
    kstt_event ev[7];
    int total = 0, words = 0;
    for (;;) {
        kstt__asr_release(&a);
        size_t k = kstt__asr_read(&a, ev, 7);
        if (!k)
            break;
        for (size_t j = 0; j < k; j++, total++) {
            ASSERT_INT_EQ(ev[j].step, 2 * (total / 4) + (total % 4 == 0 ? 1 : 2));
            if (ev[j].type == KSTT_EVENT_WORD) {
                ASSERT_STR_EQ(ev[j].text, kstt__spm_piece(spm, 13));
                ASSERT_INT_EQ(ev[j].tokens[0], 13);
                words++;
            }
        }
        /* more steps between reads (as feeds between reads do) keep the order */
        if (total < 40) {
            step(&a, 13);
            step(&a, 0);
        }
    }
    ASSERT_TRUE(words >= N);
    kstt__asr_free(&a);
    kstt__spm_free(spm);
}

static void test_alloc_failures(void) {
    kstt__asr_params p = params(0);
    for (long n = 0; n < 10; n++) {
        long long live = kstt__alloc_live_bytes();
        kstt__asr a;
        kstt__alloc_fail_after(n);
        int rc = kstt__asr_init(&a, &p);
        kstt__alloc_fail_after(-1);
        if (rc == KSTT_OK) {
            kstt__asr_free(&a);
            ASSERT_TRUE(n >= 5);
            break;
        }
        ASSERT_INT_EQ(rc, KSTT_ENOMEM);
        ASSERT_INT_EQ(kstt__alloc_live_bytes(), live);
    }
    /* queue growth failing: the step reports ENOMEM, the state stays usable */
    kstt__asr a;
    p.step_events = 1;
    ASSERT_INT_EQ(kstt__asr_init(&a, &p), KSTT_OK);
    for (int i = 0; i < 64; i++)
        step(&a, 3);
    kstt__alloc_fail_after(0);
    float logits[V] = {0};
    int32_t codes[NQ] = {0, 0}, in[3];
    float vad[6] = {0};
    kstt__asr_input(&a, codes, in);
    int rc = kstt__asr_output(&a, logits, vad);
    kstt__alloc_fail_after(-1);
    ASSERT_INT_EQ(rc, KSTT_ENOMEM);
    ASSERT_INT_EQ(a.step, 65);
    step(&a, 3);
    ASSERT_INT_EQ(kstt__asr_pending_events(&a), 65);
    kstt__asr_free(&a);
}

int main(void) {
    RUN(test_inputs);
    RUN(test_words_and_times);
    RUN(test_shared_end_word);
    RUN(test_ties_lowest_id);
    RUN(test_sampling_seeded);
    RUN(test_step_events);
    RUN(test_texts_and_empty_words);
    RUN(test_time_offset_and_clamp);
    RUN(test_queue);
    RUN(test_alloc_failures);
    if (kstt__alloc_live_bytes() != 0) {
        fprintf(stderr, "leak: %lld bytes\n", kstt__alloc_live_bytes());
        return 1;
    }
    return test_summary();
}
