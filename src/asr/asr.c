/*
 * ASR decoding state: LM inputs, token choice, Word/EndWord assembly and the event queue. See
 * asr.h for the rules; they follow Kyutai's Rust asr.rs step for step (the golden README
 * section 7 restates it), except for the two documented additions (flush emits the pending
 * word; empty words are dropped).
 */
#include "asr/asr.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"

#define FRAME_RATE 12.5

/* ---- growable arrays ------------------------------------------------------------------ */

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap)
        return KSTT_OK;
    size_t n = *cap ? *cap : 16;
    while (n < need) {
        if (n > ((size_t)-1) / 2 / elem)
            return KSTT_ENOMEM;
        n *= 2;
    }
    void *q = kstt__realloc(*p, *cap * elem, n * elem);
    if (!q)
        return KSTT_ENOMEM;
    *p = q;
    *cap = n;
    return KSTT_OK;
}

/* ---- lifetime ------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int kstt__asr_init(kstt__asr *a, const kstt__asr_params *p) {
    memset(a, 0, sizeof *a);
    a->p = *p;
    a->pending = kstt__calloc((size_t)p->n_q, sizeof(int32_t));
    int rc = a->pending ? KSTT_OK : KSTT_ENOMEM;
    if (!rc)
        rc = grow((void **)&a->word, &a->cap_word, 64, sizeof(int32_t));
    if (!rc)
        rc = grow((void **)&a->q, &a->cap_q, 64, sizeof(kstt__asr_qevent));
    if (!rc)
        rc = grow((void **)&a->text, &a->cap_text, 1024, 1);
    if (!rc)
        rc = grow((void **)&a->toks, &a->cap_toks, 256, sizeof(int32_t));
    if (rc) {
        kstt__asr_free(a);
        return rc;
    }
    kstt__asr_reset(a);
    return KSTT_OK;
}

void kstt__asr_free(kstt__asr *a) {
    if (!a)
        return;
    kstt__free(a->pending);
    kstt__free(a->word);
    kstt__free(a->q);
    kstt__free(a->text);
    kstt__free(a->toks);
    memset(a, 0, sizeof *a);
}

void kstt__asr_reset(kstt__asr *a) {
    a->step = 0;
    a->prev = a->p.text_card;
    for (int k = 0; k < a->p.n_q; k++)
        a->pending[k] = a->p.card;
    a->n_word = 0;
    a->unended = 0;
    a->last_stop = 0;
    a->rng = a->p.seed;
    a->n_q_ev = a->head = a->n_text = a->n_toks = 0;
}

/* ---- events --------------------------------------------------------------------------- */

static double report_time(const kstt__asr *a, int64_t steps) {
    double t = (double)(steps - a->p.offset_steps) / FRAME_RATE;
    return (a->p.clamp_times && t < 0) ? 0.0 : t;
}

static void to_public(const kstt__asr *a, const kstt__asr_qevent *q, kstt_event *e) {
    memset(e, 0, sizeof *e);
    e->type = q->type;
    e->step = q->step;
    e->start = q->start;
    e->stop = q->stop;
    memcpy(e->prs, q->prs, sizeof e->prs);
    if (q->type == KSTT_EVENT_WORD) {
        e->text = a->text + q->text_off;
        e->tokens = a->toks + q->tok_off;
        e->n_tokens = q->n_tokens;
    }
}

/* Queues (or delivers) an event. For a word, its text and tokens are appended to the arenas
 * first; *empty is set when the word decodes to nothing (it is then not emitted). */
static int emit(kstt__asr *a, kstt__asr_qevent *ev, int *empty) {
    size_t text_mark = a->n_text, tok_mark = a->n_toks;
    int rc;
    ev->text_off = a->n_text;
    ev->tok_off = a->n_toks;
    if (ev->type == KSTT_EVENT_WORD) {
        const size_t n = a->n_word;
        if ((rc = grow((void **)&a->toks, &a->cap_toks, a->n_toks + n, sizeof(int32_t))))
            return rc;
        memcpy(a->toks + a->n_toks, a->word, n * sizeof(int32_t));
        a->n_toks += n;
        ev->n_tokens = (int32_t)n;
        int len = 0;
        if (a->p.spm) {
            size_t want = a->n_text + 64 + 16 * n;
            for (;;) {
                if ((rc = grow((void **)&a->text, &a->cap_text, want, 1)))
                    goto undo;
                len = kstt__spm_decode(a->p.spm, a->word, n, a->text + a->n_text,
                                       a->cap_text - a->n_text);
                if (len != KSTT_ERANGE)
                    break;
                want = a->cap_text * 2;
            }
            if (len < 0)
                len = 0;
        } else {
            if ((rc = grow((void **)&a->text, &a->cap_text, a->n_text + 1, 1)))
                goto undo;
            a->text[a->n_text] = 0;
        }
        a->n_text += (size_t)len + 1;
        if (a->p.spm && len == 0) {
            *empty = 1;
            a->n_text = text_mark;
            a->n_toks = tok_mark;
            return KSTT_OK;
        }
    }
    if (a->p.on_event) {
        kstt_event e;
        to_public(a, ev, &e);
        a->p.on_event(a->p.user, &e);
        a->n_text = text_mark;
        a->n_toks = tok_mark;
        return KSTT_OK;
    }
    if ((rc = grow((void **)&a->q, &a->cap_q, a->n_q_ev + 1, sizeof *a->q)))
        goto undo;
    a->q[a->n_q_ev++] = *ev;
    return KSTT_OK;
undo:
    a->n_text = text_mark;
    a->n_toks = tok_mark;
    return rc;
}

/* Reports the word being assembled (if any) and clears it. */
static int close_word(kstt__asr *a) {
    if (a->n_word == 0)
        return KSTT_OK;
    kstt__asr_qevent ev = {.type = KSTT_EVENT_WORD, .step = a->step};
    ev.start = report_time(a, a->last_stop);
    int empty = 0;
    int rc = emit(a, &ev, &empty);
    a->n_word = 0;
    if (!empty)
        a->unended = 1;
    return rc;
}

static int end_word(kstt__asr *a, int64_t stop_steps) {
    if (!a->unended)
        return KSTT_OK;
    a->unended = 0;
    kstt__asr_qevent ev = {.type = KSTT_EVENT_END_WORD, .step = a->step};
    ev.stop = report_time(a, stop_steps);
    int empty = 0;
    return emit(a, &ev, &empty);
}

/* ---- steps ---------------------------------------------------------------------------- */

void kstt__asr_input(kstt__asr *a, const int32_t *codes, int32_t *tokens) {
    const int first = a->step == 0;
    tokens[0] = first ? a->p.text_card : a->prev;
    for (int k = 0; k < a->p.n_q; k++) {
        tokens[1 + k] = first ? a->p.card : a->pending[k];
        a->pending[k] = codes[k];
    }
}

static int32_t choose(kstt__asr *a, const float *logits) {
    const int n = a->p.text_card;
    int32_t best = 0;
    if (a->p.temperature <= 0.0f) {
        for (int i = 1; i < n; i++)
            if (logits[i] > logits[best])
                best = i;
        return best;
    }
    /* Gumbel-max: argmax(logit / T + g), g = -log(-log(u)) with u uniform in (0, 1). */
    const double inv_t = 1.0 / a->p.temperature;
    double best_v = -INFINITY;
    for (int i = 0; i < n; i++) {
        double u = ((double)(splitmix64(&a->rng) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
        double v = logits[i] * inv_t - log(-log(u));
        if (v > best_v) {
            best_v = v;
            best = i;
        }
    }
    return best;
}

int kstt__asr_output(kstt__asr *a, const float *logits, const float *vad) {
    int rc = KSTT_OK, r;
    const int32_t tok = choose(a, logits);
    a->prev = tok;
    a->step++;
    if (a->p.step_events && a->p.n_vad > 0 && vad) {
        kstt__asr_qevent ev = {.type = KSTT_EVENT_STEP, .step = a->step};
        for (int h = 0; h < a->p.n_vad && h < 4; h++)
            ev.prs[h] = vad[h * a->p.vad_dim];
        int empty = 0;
        if ((r = emit(a, &ev, &empty)))
            rc = r;
    }
    if (a->step < a->p.delay)
        return rc;
    if (tok == a->p.pad_id || tok == a->p.epad_id) {
        if ((r = close_word(a)))
            rc = r;
    } else {
        if ((r = grow((void **)&a->word, &a->cap_word, a->n_word + 1, sizeof(int32_t))))
            return r;
        a->word[a->n_word++] = tok;
    }
    if (tok == a->p.epad_id) {
        const int64_t stop = a->step - a->p.delay;
        if ((r = end_word(a, stop)))
            rc = r;
        a->last_stop = stop;
    }
    return rc;
}

int kstt__asr_finish(kstt__asr *a, int64_t stop_steps) {
    int rc = close_word(a);
    int r = end_word(a, stop_steps);
    return rc ? rc : r;
}

/* ---- reading -------------------------------------------------------------------------- */

void kstt__asr_release(kstt__asr *a) {
    if (a->head == 0)
        return;
    if (a->head >= a->n_q_ev) {
        a->n_q_ev = a->head = a->n_text = a->n_toks = 0;
        return;
    }
    /* Arena offsets grow with the queue order, so the first unread event marks where the
     * unread texts and tokens begin. */
    const size_t t0 = a->q[a->head].text_off, k0 = a->q[a->head].tok_off;
    const size_t left = a->n_q_ev - a->head;
    memmove(a->q, a->q + a->head, left * sizeof *a->q);
    memmove(a->text, a->text + t0, a->n_text - t0);
    memmove(a->toks, a->toks + k0, (a->n_toks - k0) * sizeof(int32_t));
    for (size_t i = 0; i < left; i++) {
        a->q[i].text_off -= t0;
        a->q[i].tok_off -= k0;
    }
    a->n_q_ev = left;
    a->n_text -= t0;
    a->n_toks -= k0;
    a->head = 0;
}

size_t kstt__asr_read(kstt__asr *a, kstt_event *out, size_t max) {
    size_t n = 0;
    while (n < max && a->head < a->n_q_ev)
        to_public(a, &a->q[a->head++], &out[n++]);
    return n;
}

size_t kstt__asr_pending_events(const kstt__asr *a) {
    return a->n_q_ev - a->head;
}
