/*
 * Shared by the ASR golden tests: an event log that copies events out of a stream (texts and
 * tokens duplicated, since the stream's pointers are borrowed), and the comparison of a log
 * with the golden event list of stt_tiny_asr_events.json (golden README 7).
 */
#ifndef KSTT_TEST_ASR_UTIL_H
#define KSTT_TEST_ASR_UTIL_H

#include <cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kstt.h"

#define EVENT_LOG_MAX 1024

typedef struct {
    kstt_event ev[EVENT_LOG_MAX]; /* text/tokens cleared: see text[], toks[] */
    char text[EVENT_LOG_MAX][160];
    int32_t toks[EVENT_LOG_MAX][128];
    int n;
} event_log;

static inline void event_log_add(event_log *c, const kstt_event *e) {
    if (c->n >= EVENT_LOG_MAX)
        return;
    c->ev[c->n] = *e;
    c->ev[c->n].text = NULL;
    c->ev[c->n].tokens = NULL;
    if (e->type == KSTT_EVENT_WORD) {
        snprintf(c->text[c->n], sizeof c->text[0], "%s", e->text);
        int k = e->n_tokens < 128 ? e->n_tokens : 128;
        memcpy(c->toks[c->n], e->tokens, (size_t)k * sizeof(int32_t));
    }
    c->n++;
}

/* kstt_stream_params.on_event with user = the log. */
static inline void event_log_on_event(void *user, const kstt_event *e) {
    event_log_add(user, e);
}

static inline void event_log_drain(kstt_stream *s, event_log *c) {
    kstt_event buf[5]; /* small on purpose: reads span several calls */
    int k;
    while ((k = kstt_stream_read(s, buf, 5)) > 0)
        for (int i = 0; i < k; i++)
            event_log_add(c, &buf[i]);
}

/* Golden time t shifted by `shift` seconds (clamped at 0 when shifted, as pad mode reports). A
 * zero shift must match exactly: times are step counts / 12.5 on both sides. */
static inline int event_time_ok(double got, double golden, double shift) {
    if (shift == 0.0)
        return got == golden;
    double t = golden - shift;
    if (t < 0)
        t = 0;
    return fabs(got - t) < 1e-9;
}

/* Compares the log with the golden list: empty-text words skipped (kstt does not report them),
 * golden events at steps >= limit not compared, VAD probabilities within 1e-5. Returns the
 * number of log events matched, or -1 after printing the first difference. */
static inline int event_log_compare(const event_log *c, const cJSON *list, const char *clip,
                                    double shift, int64_t limit) {
    int i = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, list) {
        const char *type = cJSON_GetObjectItem(g, "type")->valuestring;
        int step = cJSON_GetObjectItem(g, "step_idx")->valueint;
        if (step >= limit)
            break;
        if (!strcmp(type, "Word") && !cJSON_GetObjectItem(g, "text")->valuestring[0])
            continue;
        if (i >= c->n) {
            fprintf(stderr, "%s: only %d events, golden has more\n", clip, c->n);
            return -1;
        }
        const kstt_event *e = &c->ev[i];
        int ok = e->step == step;
        if (!strcmp(type, "Step")) {
            const cJSON *prs = cJSON_GetObjectItem(g, "prs");
            ok = ok && e->type == KSTT_EVENT_STEP;
            for (int h = 0; h < 4; h++)
                ok = ok && fabs(e->prs[h] - cJSON_GetArrayItem(prs, h)->valuedouble) <= 1e-5;
        } else if (!strcmp(type, "Word")) {
            const cJSON *toks = cJSON_GetObjectItem(g, "tokens");
            ok =
                ok && e->type == KSTT_EVENT_WORD &&
                event_time_ok(e->start, cJSON_GetObjectItem(g, "start_time")->valuedouble, shift) &&
                e->n_tokens == cJSON_GetArraySize(toks) &&
                !strcmp(c->text[i], cJSON_GetObjectItem(g, "text")->valuestring);
            for (int k = 0; ok && k < e->n_tokens && k < 128; k++)
                ok = c->toks[i][k] == cJSON_GetArrayItem(toks, k)->valueint;
        } else {
            ok = ok && e->type == KSTT_EVENT_END_WORD &&
                 event_time_ok(e->stop, cJSON_GetObjectItem(g, "stop_time")->valuedouble, shift);
        }
        if (!ok) {
            fprintf(stderr,
                    "%s: event %d differs: golden %s at step %d; got type %d step %lld "
                    "start %.9g stop %.9g text \"%s\"\n",
                    clip, i, type, step, (int)e->type, (long long)e->step, e->start, e->stop,
                    e->type == KSTT_EVENT_WORD ? c->text[i] : "");
            return -1;
        }
        i++;
    }
    return i;
}

#endif
